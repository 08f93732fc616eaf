"""A symbolic count's text (convdsl.symbolic.Poly) means what it says: read back as arithmetic, at any
sizes, it gives the polynomial's value computed term by term; and the short forms by hand."""

from __future__ import annotations

import math
import re
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convdsl.symbolic import Poly

NAMES = ("D", "H", "W")


def _read_back(text: str, env: dict[str, int]) -> Fraction:
    """The text as arithmetic over Fractions (`^` is a power; `/` exact): an independent reading."""
    assert set(text) <= set("0123456789DHW+-*/^() "), text
    arithmetic = re.sub(r"\d+", lambda m: f"F({m.group()})", text.replace("^", "**"))
    arithmetic = re.sub(r"\*\*F\((\d+)\)", r"**\1", arithmetic)  # powers stay integers
    return eval(arithmetic, {"__builtins__": {}, "F": Fraction}, {n: Fraction(v) for n, v in env.items()})


def _value(terms: dict, env: dict[str, int]) -> Fraction:
    return sum((c * math.prod(env[n] ** p for n, p in m) for m, c in terms.items()), Fraction(0))


monomials = st.lists(st.tuples(st.sampled_from(NAMES), st.integers(1, 2)), max_size=3, unique_by=lambda t: t[0]).map(
    lambda m: tuple(sorted(m))
)
coefficients = st.builds(Fraction, st.integers(-400, 400), st.sampled_from([1, 1, 1, 2, 3, 4]))


@settings(max_examples=400, deadline=None)
@given(terms=st.dictionaries(monomials, coefficients, max_size=5), at=st.tuples(*[st.integers(-9, 40)] * 3))
def test_the_text_reads_back_as_the_polynomial(terms, at):
    env = dict(zip(NAMES, at))
    assert _read_back(str(Poly(terms)), env) == _value(terms, env)


@settings(max_examples=300, deadline=None)
@given(
    k=coefficients.filter(bool),
    shifts=st.lists(st.builds(Fraction, st.integers(-300, 300), st.sampled_from([1, 1, 2, 3])), min_size=1, max_size=3),
    at=st.tuples(*[st.integers(-9, 40)] * 3),
)
def test_a_product_of_linear_factors_reads_back(k, shifts, at):
    # k * (D + a)(H + b)(W + c), expanded by hand into its terms: the form the factored text is tried on
    names = NAMES[: len(shifts)]
    terms = {(): k}
    for name, shift in zip(names, shifts):
        grown = {}
        for m, c in terms.items():
            grown[tuple(sorted((*m, (name, 1))))] = grown.get(tuple(sorted((*m, (name, 1)))), 0) + c
            grown[m] = grown.get(m, 0) + c * shift
        terms = grown
    env = dict(zip(NAMES, at))
    assert _read_back(str(Poly(terms)), env) == _value(terms, env)


@pytest.mark.parametrize(
    ("terms", "text"),
    [
        # 18432*(H - 4)*(W - 4) = 18432*H*W - 73728*H - 73728*W + 294912: the factored form is shorter
        ({(("H", 1), ("W", 1)): 18432, (("H", 1),): -73728, (("W", 1),): -73728, (): 294912}, "18432*(H - 4)*(W - 4)"),
        ({}, "0"),
        ({(): 7}, "7"),
        ({(("H", 2),): 1, (): 1}, "H^2 + 1"),  # not a product of linear factors
        ({(("H", 1),): Fraction(1, 2)}, "H/2"),  # "(H)/2" expanded is longer
        ({(("H", 1),): -1}, "-H"),
        ({(("H", 1),): 3, (): -6}, "3*H - 6"),  # shorter than "3*(H - 2)"
        ({(("H", 1), ("W", 1)): 2, (("H", 1),): 2, (("W", 1),): 2, (): 2}, "2*(H + 1)*(W + 1)"),  # vs 2*H*W + ...
        # -(H + 100)(W + 100): a leading -1 is a sign, not a factor
        ({(("H", 1), ("W", 1)): -1, (("H", 1),): -100, (("W", 1),): -100, (): -10000}, "-(H + 100)*(W + 100)"),
        # (2H + 1)/2 * W: a half shift is written over its denominator
        ({(("H", 1), ("W", 1)): 1, (("W", 1),): Fraction(1, 2)}, "(2*H + 1)*W/2"),
        # 2*H^2*W - 3*W^2 + 5: the highest degree first, then by name
        ({(("H", 2), ("W", 1)): 2, (("W", 2),): -3, (): 5}, "2*H^2*W - 3*W^2 + 5"),
        # over a common denominator: H/2 + W/3 = (3*H + 2*W)/6
        ({(("H", 1),): Fraction(1, 2), (("W", 1),): Fraction(1, 3)}, "(3*H + 2*W)/6"),
    ],
)
def test_short_forms_by_hand(terms, text):
    poly = Poly({m: Fraction(c) for m, c in terms.items()})
    # the repr reads as the count too: records show it and the sharing tests compare reprs
    assert (str(poly), repr(poly), f"{poly}") == (text, text, text)


def test_a_shape_brackets_only_the_sums():
    # conv 3x3 without padding: H - 2 and W - 2 are sums (bracketed so `x` still separates the axes); a bare
    # symbol, a multiple of one and a number are not
    from convdsl.summary import display_shape
    from convdsl.symbolic import Expr, is_sum

    h, w = Expr.symbol("H", 20), Expr.symbol("W", 30)
    assert display_shape((64, h - 2, w)) == "64 x (H - 2) x W"
    assert display_shape((64, h * 2, 5)) == "64 x 2*H x 5"
    assert [is_sum(v) for v in (h, h * 2, h - 2, h + w, 7)] == [False, False, True, True, False]
