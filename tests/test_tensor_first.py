"""`x -> attention(m, heads=8)`: a tensor's name as the first positional argument fills the kind's keyword
tensor argument (attention's memory, upsample's and reshape's `like`), read alike by lowering and the export;
a constant's name stays the kind's own first argument."""

from __future__ import annotations

from conftest import require

import convdsl

HEAD = """\
const h = 4
input x: 16 x 32, layout=tokens
input m: 10 x 32, layout=tokens
"""


def _layers(text):
    analysis = convdsl.loads(HEAD + text, "net.cdsl").analyze()
    assert not analysis.diagnostics, [d.message for d in analysis.diagnostics]
    return analysis, [(i.kind, i.output_shapes, i.params, i.macs) for i in analysis.layers.values()]


def test_a_tensor_first_is_the_memory_and_a_constant_first_is_the_heads():
    _, written = _layers("y = x -> attention(m, heads=8) -> attention(h) -> attention(m, h)\n")
    _, keywords = _layers("y = x -> attention(8, memory=m) -> attention(4) -> attention(4, memory=m)\n")
    assert written == keywords
    # cross-attention, queries 16 from x, keys and values 10 from m, width 32: the projections (q and out over
    # 16 positions, k and v over 10) and the two products, 16·10·32 each
    assert written[0][3] == 16 * 32 * 32 * 2 + 10 * 32 * 32 * 2 + 2 * 16 * 10 * 32


def test_in_a_block_a_parameter_is_a_value_and_a_tensor_of_the_body_a_tensor():
    text = """\
block cross(k) {
    mem = in -> linear(32)
    out = in -> attention(mem, heads=k) -> (attention(m2, heads=i + 1) * 2 as i)
    m2 = in -> relu
}
y = x -> cross(4)
n = m -> relu
output y, n
"""
    analysis, _ = _layers(text)
    attention = 4 * 32 * 32 + 4 * 32  # nn.MultiheadAttention(32, k): in-projection 3·D² + 3D, out D² + D
    assert sorted(info.params for info in analysis.layers.values()) == [0, 0, 32 * 32 + 32] + [attention] * 3
    require("torch")
    from convdsl.export.verify import verify

    result = verify(analysis)
    assert result.ok, result.report()


def test_like_as_the_first_argument():
    analysis, _ = _layers("g = m -> reshape(t)\nt = x -> linear(20) -> transpose(1, 2)\noutput g\n")
    assert analysis.output_shapes()["g"] == (20, 16)


def test_an_unknown_name_first_is_an_undefined_tensor():
    analysis = convdsl.loads(HEAD + "y = x -> attention(mem, heads=8)\n", "net.cdsl").analyze()
    assert [(d.code.code, d.message) for d in analysis.diagnostics if d.is_error] == [
        ("E003", "undefined tensor `mem`")
    ]
