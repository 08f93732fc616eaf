"""A block without parameters is defined and called without `()` (`block se = ...`, `x -> se`), exactly as
with them; a block that needs arguments, called bare, says which."""

from __future__ import annotations

import convdsl

WITH = """\
input x: 16 x 8 x 8
block se() = adaptive_avgpool(1) -> conv(4, 1) -> relu -> conv(16, 1) -> sigmoid
block gate() {
    g = in -> se()
    out = mul(in, g)
}
y = x -> gate() -> gate() -> relu
"""

WITHOUT = """\
input x: 16 x 8 x 8
block se = adaptive_avgpool(1) -> conv(4, 1) -> relu -> conv(16, 1) -> sigmoid
block gate {
    g = in -> se
    out = mul(in, g)
}
y = x -> gate -> gate -> relu
"""


def test_without_parentheses_is_the_same_network():
    a, b = convdsl.loads(WITH).analyze(), convdsl.loads(WITHOUT).analyze()
    assert not a.diagnostics and not b.diagnostics
    assert repr(a.layers) == repr(b.layers)
    # by hand: two gates of (16*4 + 4) + (4*16 + 16) parameters
    assert b.params == 2 * (68 + 80)


def test_a_bare_call_of_a_block_with_parameters_names_what_is_missing():
    text = "input x: 3 x 8 x 8\nblock b(c) {\n    out = in -> conv(c, 1)\n}\ny = x -> b\n"
    (diag,) = convdsl.loads(text, "net.cdsl").analyze().diagnostics
    assert (diag.code.code, diag.span.line, diag.span.column) == ("E007", 5, 10)
    assert "needs `c`" in diag.message and "usage: b(c)" in diag.help


def test_a_bare_block_exports_and_verifies():
    from convdsl.export.verify import verify

    result = verify(convdsl.loads(WITHOUT).analyze(), batch=2)
    assert result.ok, result.report()
