"""A kind of one flowing tensor and a tensor argument written as a merge at the start of a chain:
`matmul(a, b)` is `a -> matmul(b)`, `attention(x, memory, heads)` is cross-attention,
`x -> attention(heads, memory=memory)`; checked against nn.MultiheadAttention and hand arithmetic."""

from __future__ import annotations

import pytest
from conftest import require

import convdsl

torch = require("torch")


def _analysis(text):
    analysis = convdsl.loads(text, "net.cdsl").analyze()
    assert not [d for d in analysis.diagnostics if d.is_error], [d.message for d in analysis.diagnostics]
    return analysis


def _codes(text):
    return [(d.code.code, d.span.line) for d in convdsl.loads(text, "net.cdsl").analyze().diagnostics]


def test_matmul_of_two_tensors_starts_a_chain():
    text = "input a: 4 x 8, layout=tokens\ninput b: 8 x 6, layout=tokens\ny = matmul(a, b)\n"
    assert _codes(text) == []  # not E018 "a chain must start from a tensor" and W001 for a and b
    analysis = _analysis(text)
    assert analysis.output_shapes()["y"] == (4, 6)
    assert analysis.macs == 4 * 8 * 6  # n * k * m
    flowing = _analysis("input a: 4 x 8, layout=tokens\ninput b: 8 x 6, layout=tokens\ny = a -> matmul(b)\n")
    assert repr(flowing.layers) == repr(analysis.layers)


def test_attention_by_hand_written_as_merges_verifies():
    text = (
        "input x: 10 x 64, layout=tokens\n"
        "q = x -> linear(16, in_features=64)\nk = x -> linear(16, in_features=64)\n"
        "s = matmul(q, k, transpose_b=true) -> softmax(dim=-1)\n"
        "y = matmul(s, x)\n"
    )
    analysis = _analysis(text)
    assert analysis.output_shapes()["y"] == (10, 64)
    # by hand: two projections 10*64*16 each, q.k^T 10*16*10, s.x 10*10*64
    assert analysis.macs == 2 * 10 * 64 * 16 + 10 * 16 * 10 + 10 * 10 * 64
    from convdsl.export.verify import verify

    assert verify(analysis, batch=2).ok


CROSS = "input x: 10 x 64, layout=tokens\ninput memory: 7 x 32, layout=tokens\n"


def test_cross_attention_as_a_merge_is_nn_multihead_attention_with_kdim():
    merged = _analysis(CROSS + "y = attention(x, memory, 4)\n")
    keyword = _analysis(CROSS + "y = x -> attention(4, memory=memory)\n")
    assert repr(merged.layers) == repr(keyword.layers)
    reference = torch.nn.MultiheadAttention(64, 4, kdim=32, vdim=32, batch_first=True)
    assert merged.params == sum(p.numel() for p in reference.parameters())
    # by hand (torchvision's convention): q 10*64*64, k and v 2*7*32*64, out 10*64*64, q.k^T and attn.v 2*10*7*64
    assert merged.macs == 10 * 64 * 64 + 2 * 7 * 32 * 64 + 10 * 64 * 64 + 2 * 10 * 7 * 64
    from convdsl.export.verify import verify

    assert verify(merged, batch=2).ok


def test_a_labelled_merge_and_keywords_after_it():
    analysis = _analysis(CROSS + "y = ca: attention(x, memory, heads=4, bias=false)\n")
    assert "ca" in analysis.layers
    reference = torch.nn.MultiheadAttention(64, 4, kdim=32, vdim=32, bias=False, batch_first=True)
    assert analysis.params == sum(p.numel() for p in reference.parameters())


@pytest.mark.parametrize(
    "line, code",
    [
        ("y = attention(x, memory, 4, 5)", "E009"),  # one more than the kind takes
        ("y = attention(x, memory, 4, memory=x)", "E004"),  # the tensor given twice
        ("y = matmul(x, 3)", "E018"),  # the second is no tensor: not a merge
    ],
    ids=["too many", "twice", "not a tensor"],
)
def test_misuse_is_reported(line, code):
    assert code in [c for c, _ in _codes(CROSS + line + "\n")]
