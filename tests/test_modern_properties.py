"""Property tests for the attention and permute kinds: convdsl's shapes, parameters and
MACs for random configurations equal what PyTorch builds and computes.

Attention's expected MACs are torchvision's convention, counted from the torch
module's own weights: every projection weight times the tokens it is applied
to, plus q·kᵀ and attn·v (Lq·Lk·D each).
"""

from __future__ import annotations


from conftest import require

torch = require("torch")
hypothesis = require("hypothesis")
from hypothesis import given, settings
from hypothesis import strategies as st

import convdsl

nn = torch.nn
PROPERTY = settings(max_examples=120, deadline=None, derandomize=True, database=None)


def _layer(inputs: dict, body: str):
    lines = [f"input {name}: {' x '.join(map(str, shape))}" for name, shape in inputs.items()]
    source = "\n".join(lines) + f"\ny = x -> t: {body}\n"
    analysis = convdsl.loads(source).analyze()
    info = analysis.layers.get("t")
    assert info is not None and not analysis.has_errors, f"{source}{analysis.diagnostics}"
    return info


@st.composite
def permutations(draw):
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=4)))
    rest = draw(st.permutations(range(1, len(shape) + 1)))
    negative = draw(st.booleans())
    full = len(shape) + 1
    dims = (0, *[d - full if negative and d % 2 else d for d in rest])
    return shape, dims


@PROPERTY
@given(permutations())
def test_permute_matches_torch(case):
    shape, dims = case
    info = _layer({"x": shape}, f"permute({', '.join(map(str, dims))})")
    expected = tuple(torch.empty((2, *shape), device="meta").permute(*dims).shape[1:])
    assert info.output_shapes == (expected,)
    assert info.params == info.macs == 0


@PROPERTY
@given(permutations())
def test_permute_then_its_inverse_is_the_input(case):
    shape, dims = case
    full = len(shape) + 1
    order = [d % full for d in dims]
    inverse = [order.index(i) for i in range(full)]
    source = (
        f"input x: {' x '.join(map(str, shape))}\n"
        f"y = x -> permute({', '.join(map(str, dims))}) -> t: permute({', '.join(map(str, inverse))})\n"
    )
    analysis = convdsl.loads(source).analyze()
    assert analysis.layers["t"].output_shapes == (shape,)


@st.composite
def attentions(draw):
    heads = draw(st.integers(1, 6))
    kv_heads = draw(st.sampled_from([k for k in range(1, heads + 1) if heads % k == 0]))
    head_dim = draw(st.integers(1, 5))
    d = heads * head_dim
    lq = draw(st.integers(1, 9))
    cross = draw(st.booleans())
    lk = draw(st.integers(1, 9)) if cross else lq
    dm = draw(st.sampled_from([d, draw(st.integers(1, 12))])) if cross else d
    bias = draw(st.booleans())
    causal = not cross and draw(st.booleans())
    return heads, kv_heads, d, lq, lk, dm, bias, causal, cross


class _Reference(nn.Module):
    """Attention written out with one linear layer per projection (grouped-query when kv_heads < heads)."""

    def __init__(self, d, dm, heads, kv_heads, bias, causal):
        super().__init__()
        dk = d // heads * kv_heads
        self.heads, self.kv_heads, self.causal = heads, kv_heads, causal
        self.q, self.k, self.v = nn.Linear(d, d, bias=bias), nn.Linear(dm, dk, bias=bias), nn.Linear(dm, dk, bias=bias)
        self.o = nn.Linear(d, d, bias=bias)
        self.matmul_macs = 0

    def forward(self, x, memory):
        n, lq, lk = x.shape[0], x.shape[1], memory.shape[1]
        q = self.q(x).view(n, lq, self.heads, -1).transpose(1, 2)
        k = self.k(memory).view(n, lk, self.kv_heads, -1).transpose(1, 2)
        v = self.v(memory).view(n, lk, self.kv_heads, -1).transpose(1, 2)
        k = k.repeat_interleave(self.heads // self.kv_heads, dim=1)
        v = v.repeat_interleave(self.heads // self.kv_heads, dim=1)
        scores = q @ k.transpose(-2, -1)
        if self.causal:
            scores = scores.masked_fill(torch.ones(lq, lk, dtype=torch.bool).triu(1), float("-inf"))
        y = scores.softmax(-1) @ v
        self.matmul_macs = (scores[0].numel() * q.shape[-1]) + (y[0].numel() * lk)  # per sample
        return self.o(y.transpose(1, 2).reshape(n, lq, -1))


@PROPERTY
@given(attentions())
def test_attention_matches_a_reference(case):
    heads, kv_heads, d, lq, lk, dm, bias, causal, cross = case
    inputs = {"x": (lq, d)}
    options = [f"bias={str(bias).lower()}", f"causal={str(causal).lower()}", f"kv_heads={kv_heads}"]
    if cross:
        inputs["memory"] = (lk, dm)
        options.append("memory=memory")
    info = _layer(inputs, f"attention({heads}, {', '.join(options)})")
    reference = _Reference(d, dm, heads, kv_heads, bias, causal).eval()
    x = torch.randn(2, lq, d)
    memory = torch.randn(2, lk, dm) if cross else x
    with torch.no_grad():
        out = reference(x, memory)
    assert info.output_shapes == (tuple(out.shape[1:]),)
    assert info.params == sum(p.numel() for p in reference.parameters())
    projections = lq * (reference.q.weight.numel() + reference.o.weight.numel()) + lk * (
        reference.k.weight.numel() + reference.v.weight.numel()
    )
    assert info.macs == projections + reference.matmul_macs
    if kv_heads == heads:  # nn.MultiheadAttention itself has the same parameters
        mha = nn.MultiheadAttention(d, heads, bias=bias, kdim=dm, vdim=dm, batch_first=True)
        assert info.params == sum(p.numel() for p in mha.parameters())
