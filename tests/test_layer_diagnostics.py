"""What each layer's errors say and where they point, written out by hand from the input.

A diagnostic carries a code, a span (the argument at fault, as written in the text: the span is
checked against the text itself), a short label under it, a message naming what is wrong and a help
saying what to do. Each case states the values that follow from its input line.
"""

from __future__ import annotations

import pytest

import convdsl


def _only(text: str):
    analysis = convdsl.loads(text, "net.cdsl").analyze()
    (diagnostic,) = analysis.diagnostics
    span = diagnostic.span
    assert span.line == span.end_line
    written = text.splitlines()[span.line - 1][span.column - 1 : span.end_column - 1]
    return diagnostic, written


def _net(line: str, size: str = "3 x 8 x 8") -> str:
    return f"input x: {size}\ny = x -> {line}\noutput y\n"


# (layer, input size, code, the text the span covers, the label, the message)
CASES = {
    "a kernel larger than the padded input points at the kernel": (
        "conv(8, 7)",
        "3 x 5 x 5",
        "E106",
        "7",
        "input height 5 + padding 0",
        "kernel 7 is larger than the padded input height 5",
    ),
    "groups below 1 point at groups": (
        "conv(8, 3, groups=0)",
        "3 x 8 x 8",
        "E008",
        "groups=0",
        "groups",
        "groups must be at least 1, got 0",
    ),
    "no output channels point at out_channels": (
        "conv(0, 3)",
        "3 x 8 x 8",
        "E008",
        "0",
        "out_channels",
        "out_channels must be at least 1, got 0",
    ),
    "groups that do not divide the output channels": (
        "conv(8, 3, groups=3)",
        "3 x 8 x 8",
        "E104",
        "groups=3",
        "8 % 3 = 2",
        "groups=3 does not divide the 8 output channels",
    ),
    "a pooling padded more than half its kernel": (
        "maxpool(2, p=2)",
        "3 x 8 x 8",
        "E109",
        "p=2",
        "padding 2 > 2/2",
        "pooling padding 2 is more than half the kernel 2",
    ),
    "a dilation with one value too many is named": (
        "maxpool(2, dilation=(1, 1, 1))",
        "3 x 8 x 8",
        "E008",
        "dilation=(1, 1, 1)",
        "3 values for 2 axes",
        "`dilation` has 3 values but the input has 2 spatial axes",
    ),
    "an output padding with one value too many is named": (
        "conv_transpose(8, 3, output_padding=(1, 1, 1))",
        "3 x 8 x 8",
        "E008",
        "output_padding=(1, 1, 1)",
        "3 values for 2 axes",
        "`output_padding` has 3 values but the input has 2 spatial axes",
    ),
    "a flatten ending before it starts points at end_dim": (
        "flatten(start_dim=2, end_dim=1)",
        "3 x 8 x 8",
        "E008",
        "end_dim=1",
        "dims",
        "flatten's end_dim comes before its start_dim",
    ),
    "a linear layer without outputs points at out_features": (
        "linear(0)",
        "12",
        "E008",
        "0",
        "out_features",
        "out_features must be at least 1",
    ),
    "a reshape to a zero size points at the shape": (
        "reshape((0, 64))",
        "3 x 8 x 8",
        "E112",
        "(0, 64)",
        "sizes must be positive, with at most one -1",
        "cannot reshape to (0, 64)",
    ),
    "permute's dims given twice": (
        "permute(0, 1, 3, 2, dims=(0, 1, 3, 2))",
        "3 x 8 x 8",
        "E004",
        "dims=(0, 1, 3, 2)",
        "dims",
        "permute's dims are given twice",
    ),
    "a pixel unshuffle by 0": (
        "pixel_unshuffle(0)",
        "3 x 8 x 8",
        "E008",
        "0",
        "factor",
        "downscale_factor must be at least 1",
    ),
    "an embedding without ids": (
        "embedding(0, 4)",
        "8",
        "E008",
        "0",
        "num_embeddings",
        "embedding needs at least one id and one feature",
    ),
    "a position embedding for another number of tokens points at its length": (
        "position_embedding(4)",
        "5 x 8",
        "E107",
        "4",
        "5 vs 4",
        "the position embedding has 4 positions, the input 5 tokens",
    ),
    "an instance norm of one value per channel names the layer": (
        "instancenorm",
        "3 x 1 x 1",
        "E114",
        "instancenorm",
        "1 value per channel",
        "instancenorm normalises a single value per channel: every output is 0 before the affine shift, whatever the input (and PyTorch refuses it when training)",
    ),
    "an opaque layer with negative parameters": (
        "opaque(3 x 8 x 8, params=-1)",
        "3 x 8 x 8",
        "E008",
        "params=-1",
        "",
        "`params` cannot be negative, got -1",
    ),
    "a window that does not tile the grid is an inexact division": (
        "window_attention(4, 5)",
        "14 x 14 x 32",
        "E101",
        "5",
        "14 x 14 is not a multiple of 5 x 5",
        "the 5 x 5 window does not tile the 14 x 14 grid (height and width)",
    ),
    "an upsampling by 0 points at the scale": (
        "upsample(scale_factor=0)",
        "3 x 8 x 8",
        "E008",
        "scale_factor=0",
        "scale",
        "scale_factor must be positive",
    ),
    "an upsampling beyond any tensor points at the scale": (
        "upsample(scale_factor=1e308)",
        "3 x 8 x 8",
        "E019",
        "scale_factor=1e308",
        "too large",
        "scale_factor 1e+308 makes an output size beyond any tensor",
    ),
    "an upsampling to nothing": (
        "upsample(scale_factor=0.1)",  # floor(8 * 0.1) = 0
        "3 x 8 x 8",
        "E105",
        "upsample(scale_factor=0.1)",
        "size",
        "upsampling gives a size below 1: (0, 0)",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_layer_error_names_the_fault_and_points_at_the_argument(case):
    layer, size, code, written, label, message = CASES[case]
    diagnostic, at = _only(_net(layer, size))
    assert (diagnostic.code.code, at, diagnostic.label, diagnostic.message) == (code, written, label, message)


def test_linear_on_a_spatial_tensor_says_to_flatten():
    diagnostic, at = _only(_net("linear(10)"))
    assert (diagnostic.code.code, at, diagnostic.label) == ("W104", "linear(10)", "not flattened")
    assert diagnostic.message == "linear acts on the last axis only (size 8) of a 3 x 8 x 8 tensor"
    assert "add `flatten` before it" in diagnostic.help


def test_same_padding_with_an_even_kernel_is_called_asymmetric():
    diagnostic, at = _only(_net("conv(8, 4, p=same)"))
    assert (diagnostic.code.code, at, diagnostic.label) == ("W103", "p=same", "asymmetric padding")


def test_an_unflatten_whose_sizes_do_not_multiply_to_the_axis_says_so():
    diagnostic, at = _only(_net("unflatten(1, (5, 2))", "12 x 8"))
    assert (diagnostic.code.code, at) == ("E112", "(5, 2)")
    assert diagnostic.message == "cannot unflatten an axis of 12 into 5 x 2 (10 values)"
    assert diagnostic.help == "the sizes must multiply to the axis"


def test_an_upsampling_given_a_scale_and_like_points_at_like():
    text = "input x: 3 x 8 x 8\ng = x -> maxpool(2)\ny = x -> upsample(2, like=g)\noutput y\n"
    diagnostic, at = _only(text)
    assert (diagnostic.code.code, at, diagnostic.label) == ("E008", "like=g", "like")
    assert diagnostic.message == "upsample takes one of scale_factor, size and like"
