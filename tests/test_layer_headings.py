"""The heading each kind of layer gets in a diagram (`LayerKind.describe`), written out by hand.

A heading is the kind as written and its key hyper-parameters: the kernel once per spatial axis
(`3×3`, one number for a 1-D layer), the stride after a slash when it is not the kernel's (pooling)
or not 1 (convolution), a convolution's groups and dilation when not 1, an activation's arguments
that differ from their defaults under their shortest name, a window attention's shift when not 0.
"""

from __future__ import annotations

import pytest

import convdsl
from convdsl.render.diagram import build
from convdsl.render.fold import Folding


def _headings(text: str) -> list[str]:
    analysis = convdsl.loads(text, "net.cdsl").analyze()
    assert not analysis.has_errors, [d.message for d in analysis.diagnostics]
    return [box.heading for box in build(analysis, Folding()).boxes][1:-1]  # without the input and output


@pytest.mark.parametrize(
    ("layer", "heading"),
    [
        ("maxpool(2, p=(0, 1))", "maxpool 2×2"),  # the stride is the kernel: not shown
        ("maxpool(2, s=2, p=(0, 1))", "maxpool 2×2"),
        ("maxpool(3, s=2, p=(1, 0))", "maxpool 3×3/2"),
        ("avgpool(2, s=1)", "avgpool 2×2/1"),
        ("maxpool((2, 3), s=(1, 2))", "maxpool 2×3/1×2"),
        ("maxpool((2, 2), s=(2, 2), p=(0, 1))", "maxpool 2×2"),
    ],
)
def test_a_pooling_heading_shows_the_kernel_and_a_stride_other_than_the_kernel(layer, heading):
    assert _headings(f"input x: 3 x 16 x 17\ny = x -> {layer}\noutput y\n") == [heading]


def test_a_one_dimensional_pooling_heading_shows_one_kernel_size():
    text = "input x: 3 x 16\ny = x -> maxpool1d(2) -> maxpool1d(3, s=1)\noutput y\n"
    assert _headings(text) == ["maxpool1d 2", "maxpool1d 3/1"]


def test_a_convolution_heading_shows_stride_channels_groups_and_dilation():
    text = "input x: 4 x 16 x 16\ny = x -> conv(8, 3, p=1) -> conv(8, 3, s=(2, 1), g=2, d=2)\noutput y\n"
    assert _headings(text) == ["conv 3×3, 8", "conv 3×3/2×1, 8, g2, d2"]


def test_an_activation_heading_shows_arguments_off_their_default_by_the_shortest_name():
    # leaky_relu's slope is PyTorch's negative_slope (default 0.01): the heading uses the shorter name
    text = "input x: 3 x 8 x 8\ny = x -> leaky_relu(0.2) -> leaky_relu(0.01) -> relu\noutput y\n"
    assert _headings(text) == ["leaky_relu slope=0.2", "leaky_relu", "relu"]


def test_a_permute_heading_lists_its_dims_in_either_form():
    text = "input x: 3 x 8 x 6\ny = x -> permute(0, 1, 3, 2) -> permute(dims=(0, 1, 3, 2))\noutput y\n"
    assert _headings(text) == ["permute 0, 1, 3, 2", "permute 0, 1, 3, 2"]


def test_a_window_attention_heading_shows_heads_window_and_a_shift_other_than_zero():
    text = "input x: 14 x 14 x 32\ny = x -> window_attention(4, 7) -> window_attention(4, (7, 7), shift=3)\noutput y\n"
    assert _headings(text) == [
        "window_attention 4 heads, 7",
        "window_attention 4 heads, 7×7, shift 3",
    ]


def test_a_crop_heading_names_the_size_it_crops_to():
    # to another tensor's size (here 3 x 8 x 8, a 2 x 2 pooling of 3 x 16 x 16), or to a size written out
    text = "input x: 3 x 16 x 16\ng = x -> maxpool(2)\ny = x -> center_crop(g) -> center_crop(size=(4, 6))\noutput y\n"
    assert _headings(text)[1:] == ["center_crop like 3×8×8", "center_crop to 4×6"]
