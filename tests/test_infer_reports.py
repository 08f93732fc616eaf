"""What inference itself reports about a layer's result, each diagnostic read whole (code, message, label,
help), the values worked out by hand from the text: the checks after a kind's own rules (an empty output,
counts beyond 2^53), a merge's report, and nothing at all for a size left symbolic."""

from __future__ import annotations

import convdsl


def _reports(text: str) -> list[tuple]:
    return [(d.code.code, d.message, d.label, d.help) for d in convdsl.loads(text).analyze().diagnostics]


def test_a_transposed_convolution_that_makes_nothing_reports_the_empty_output():
    # (8 - 1) x 1 - 2 x 4 + (1 - 1) + 1 = 0 rows: PyTorch refuses it at run time
    assert _reports("input x: 3 x 8 x 8\ny = x -> conv_transpose(4, 1, s=1, p=4)\n") == [
        (
            "E105",
            "the output shape 4 x 0 x 0 has a size below 1",
            "empty output",
            "the input is too small for this layer",
        )
    ]


def test_buffers_beyond_2_53_are_named_as_buffers():
    # a 9,800 x 9,800 window: its relative-position index holds 9800^2 x 9800^2 = 9.2236816e15 entries,
    # past 2^53 = 9.007e15, while its parameters (4 x 8^2 + 4 x 8 + 19599^2 x 2) stay far below
    assert 9800**4 >= 2**53
    (report,) = _reports("input x: 9800 x 9800 x 8, layout=tokens\ny = x -> window_attention(2, 9800)\n")
    assert report[:3] == ("E019", "9.22e+15 buffers, beyond the limit of 2^53", "too large")


def test_a_concat_of_mismatched_widths_says_both_shapes():
    assert _reports("input a: 3 x 8 x 8\ninput b: 3 x 8 x 9\ny = concat(a, b)\n") == [
        (
            "E107",
            "concat along channels of tensors with different width: 3 x 8 x 8 and 3 x 8 x 9",
            "8 vs 9",
            "all axes but the joined one must be equal; crop or pad one side",
        )
    ]


def test_a_symbolic_size_is_no_size_beyond_the_limit():
    # H and W are symbols: a shape of expressions is not plain, and none of it is an int past 2^53
    codes = [r[0] for r in _reports("input x: 3 x H x W\ny = x -> conv(4, 3, p=1) -> relu\n")]
    assert codes == ["N001", "N001"]  # each axis: every size works (notes), no error


def test_a_shape_of_expressions_is_no_size_beyond_the_limit():
    # an error elsewhere (an unknown layer) leaves no sweep to sample H and W: the conv's output is 4 x H x W
    # in expressions, not plain sizes, and none of them is an int past 2^53: only the two findings written
    text = "input x: 3 x H x W\ny = x -> conv(4, 3, p=1) -> relu\nz = x -> no_such_layer\n"
    assert [r[0] for r in _reports(text)] == ["W001", "E005"]  # y unused; the unknown layer


def test_symbolic_sizes_keep_their_names_through_a_strided_convolution():
    # (H + 2 x 1 - 3) / 2 + 1 rounded down is floor((H - 1)/2) + 1 = floor((H + 1)/2): written in H and W
    from convdsl.layers.base import fmt_shape

    analysis = convdsl.loads("input x: 3 x H x W\ny = x -> c: conv(4, 3, s=2, p=1) -> relu\n").analyze()
    assert fmt_shape(analysis.layers["c"].output_shapes[0]) == "4 x floor((H + 1)/2) x floor((W + 1)/2)"


def test_a_global_pool_over_axes_moved_by_a_permute_claims_no_whole_input():
    # permute(0, 2, 3, 1) makes 8 x 8 x 1 (H x W x C): the pool then averages W and C, so each output row h
    # still sees only rows h-1..h+1 of the input (the 3x3 conv): never the whole height
    text = "input x: 1 x 8 x 8\ny = x -> conv(1, 3, p=1) -> permute(0, 2, 3, 1) -> p: adaptive_avgpool(1)\n"
    layer = convdsl.loads(text).analyze().layers["p"]
    assert layer.output_shapes == ((8, 1, 1),)
    assert layer.whole_input[0] is False


def test_an_input_past_2_53_elements_is_refused_whole():
    # 8 x 2^20 x 2^20 x 2^20 = 2^63 elements (each size within the 2^40 a size may be): 9.22e+18
    assert 8 * 2**60 >= 2**53
    assert _reports("input x: 8 x 1048576 x 1048576 x 1048576\ny = x -> relu\n") == [
        (
            "E019",
            "input `x` has 9.22e+18 elements, beyond the limit of 2^53",
            "too large",
            "tensors must stay below 2^53 elements",
        )
    ]
