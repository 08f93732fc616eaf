"""Axis provenance (docs/design/transformers.md, section 4): which input axes each dim of a tensor runs
along, so that receptive fields and the W104 lint mean something on tokens. Expected fields by hand."""

from __future__ import annotations

import convdsl
from conftest import EXAMPLES


def _analysis(text):
    analysis = convdsl.loads(text, "net.cdsl").analyze()
    assert not [d for d in analysis.diagnostics if d.is_error], [d.message for d in analysis.diagnostics]
    return analysis


def test_vit_attention_sees_the_whole_image():
    analysis = convdsl.load(EXAMPLES / "vit_b_16.cdsl").analyze()
    # the patch embedding: 16 x 16; flatten and transpose keep it, per token
    assert analysis.layers["transpose1"].receptive_field == (16, 16)
    # after self-attention every token has seen all 224 x 224 (L was made of H and W)
    assert analysis.layers["encoder.layers.0.self_attention"].receptive_field == (224, 224)


def test_swin_windows_grow_the_field_of_the_axes_they_run_along():
    analysis = convdsl.load(EXAMPLES / "swin_t.cdsl").analyze()
    layers = analysis.layers
    # by hand: the 4 x 4 stem (jump 4), then 7 x 7 windows on the 56 x 56 grid, each token seeing its window:
    # 4 + 6 * 4 = 28, then the shifted block 28 + 6 * 4 = 52; patch merging 2 x 2 by 2: 52 + 1 * 4 = 56, jump 8
    assert layers["features.1"].receptive_field == (4, 4)  # the permute to H x W x C moves no field
    assert layers["features.3.attn"].receptive_field == (28, 28)
    assert layers["features.4.attn"].receptive_field == (52, 52)
    assert layers["features.5"].receptive_field == (56, 56)
    assert layers["features.5"].effective_stride == (8, 8)


def test_w104_is_for_a_last_dim_along_the_input_not_for_tokens():
    def w104(text):
        return [d for d in convdsl.loads(text).analyze().diagnostics if d.code.code == "W104"]

    assert w104("input x: 3 x 8 x 8\ny = x -> linear(4)\n")  # along W: meant to be flattened?
    assert not w104("input t: 10 x 64, layout=tokens\ny = t -> linear(4)\n")
    assert not w104("input ids: 10, dtype=long\ny = ids -> embedding(100, 8) -> linear(4)\n")
    assert not w104("input x: 3 x 8 x 8\ny = x -> conv(16, 1) -> permute(0, 2, 3, 1) -> linear(4)\n")
    assert not w104("input x: 3 x 8 x 8\ny = x -> conv(16, 1) -> flatten(2) -> transpose(1, 2) -> linear(4)\n")
    # flattened but not transposed: the last dim is the grid, the linear mixes positions
    assert w104("input x: 3 x 8 x 8\ny = x -> conv(16, 1) -> flatten(2) -> linear(4)\n")


def test_a_window_on_a_flattened_sequence_shows_no_per_axis_field():
    # conv1d over L = H * W mixes rows and columns: no one axis can show it, the field stays as it was
    analysis = _analysis("input x: 3 x 8 x 8\ny = x -> conv(4, 3, p=1) -> flatten(2) -> conv1d(4, 3, p=1)\n")
    assert analysis.layers["conv1d1"].receptive_field == (3, 3)


def test_tokens_inputs_have_a_field_along_their_sequence():
    analysis = _analysis("input t: 16 x 32, layout=tokens\ny = t -> attention(4)\n")
    assert analysis.layers["attention1"].receptive_field == (16,)


def test_a_merge_error_traces_each_input_back_to_the_common_tensor():
    # height 17: conv 3/2 without padding gives (17 - 3)/2 + 1 = 8 (relu keeps it); conv 3 with padding 1 and
    # conv 1 keep 17. The notes follow each input back to `x`, where both branches start, naming the layer
    # that set each size (the relu and the second branch's convolutions keep theirs and are not named)
    text = (
        "input x: 3 x 17 x 16\na = x -> c1: conv(8, 3, s=2) -> r: relu\n"
        "b = x -> c2: conv(8, 3, p=1) -> c3: conv(8, 1)\noutput y = add(a, b)\n"
    )
    (error,) = [d for d in convdsl.loads(text).analyze().diagnostics if d.code.code == "E107"]
    assert error.notes == ("input 1 height: 17 at `x` -> 8 at `c1`", "input 2 height: 17 at `x`")


def test_a_merge_error_stops_tracing_where_the_axis_did_not_exist():
    # the second input's height 6 comes from a reshape of a flatten (3 * 16 * 16 = 768 = 8 * 6 * 16): the
    # flatten's output has one axis, no height, so the trace stops at the reshape
    text = (
        "input x: 3 x 16 x 16\na = x -> c1: conv(8, 3, p=1)\n"
        "b = x -> f: flatten -> r: reshape((8, 6, 16))\noutput y = add(a, b)\n"
    )
    (error,) = [d for d in convdsl.loads(text).analyze().diagnostics if d.code.code == "E107"]
    assert error.notes == ("input 1 height: 16 at `x`", "input 2 height: 6 at `r`")
