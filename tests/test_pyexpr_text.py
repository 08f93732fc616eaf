"""The export's expressions (convdsl/layers/pyexpr.py) against Python itself.

Random expression trees over two variables are built twice: as pyexpr objects, and as the value the
test computes from the same tree with Python's operators. The text an expression writes (`src`), run
by Python's `eval` with the variables' values, must give that value; so must the expression's own
`sample`, for each instance. The variables it names and a substitution are checked the same way.
"""

from __future__ import annotations

import operator
import random

import pytest

from convdsl.layers.pyexpr import BinOp, Cond, Lit, Unary, Var

SAMPLES = {"a": (3, -2, 0, 7), "b": (-5, 4, 1, 0)}
ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul}
COMPARISON = {"<": operator.lt, "==": operator.eq, ">=": operator.ge}


def tree(rng: random.Random, depth: int):
    """(pyexpr, value per instance as a function of the variables, the variables it reads)."""
    if depth == 0 or rng.random() < 0.2:
        if rng.random() < 0.6:
            name = rng.choice(sorted(SAMPLES))
            return Var(name, SAMPLES[name]), (lambda env, n=name: env[n]), {name}
        value = rng.randint(-3, 5)
        return Lit(value), (lambda env, v=value: v), set()
    choice = rng.choice(["arith", "arith", "floordiv", "compare", "logic", "neg", "not", "if"])
    left, lf, lv = tree(rng, depth - 1)
    if choice in ("neg", "not"):
        if choice == "neg":
            return Unary("-", left), (lambda env: -lf(env)), lv
        return Unary("not", left), (lambda env: not lf(env)), lv
    right, rf, rv = tree(rng, depth - 1)
    if choice == "arith":
        op = rng.choice(sorted(ARITHMETIC))
        f = ARITHMETIC[op]
        return BinOp(op, left, right), (lambda env: f(lf(env), rf(env))), lv | rv
    if choice == "floordiv":  # by a positive literal: no division by zero
        d = rng.randint(1, 4)
        return BinOp("//", left, Lit(d)), (lambda env: lf(env) // d), lv
    if choice == "compare":
        op = rng.choice(sorted(COMPARISON))
        f = COMPARISON[op]
        return BinOp(op, left, right), (lambda env: f(lf(env), rf(env))), lv | rv
    if choice == "logic":
        if rng.random() < 0.5:
            return BinOp("and", left, right), (lambda env: lf(env) and rf(env)), lv | rv
        return BinOp("or", left, right), (lambda env: lf(env) or rf(env)), lv | rv
    other, of, ov = tree(rng, depth - 1)
    return Cond(left, right, other), (lambda env: rf(env) if lf(env) else of(env)), lv | rv | ov


def _env(index: int) -> dict:
    return {name: values[index] for name, values in SAMPLES.items()}


@pytest.mark.parametrize("seed", range(300))
def test_an_expression_means_what_python_computes(seed):
    expr, value, names = tree(random.Random(seed), 4)
    text = expr.src()
    for index in range(4):
        env = _env(index)
        expected = value(env)
        assert eval(text, {}, dict(env)) == expected, text
        assert expr.sample(index) == expected, text
    assert expr.variables() == names, text


@pytest.mark.parametrize("seed", range(100))
def test_a_substituted_expression_reads_the_new_value(seed):
    expr, value, _ = tree(random.Random(seed), 4)
    replaced = expr.substitute({"a": Lit(6)})
    for index in range(4):
        env = {**_env(index), "a": 6}
        assert eval(replaced.src(), {}, dict(env)) == value(env), replaced.src()
        assert replaced.sample(index) == value(env), replaced.src()


def test_a_negated_sum_and_a_negated_comparison_keep_their_parentheses():
    a, b = Var("a", (3,)), Var("b", (-5,))
    assert Unary("-", BinOp("+", a, b)).src() == "-(a + b)"
    assert BinOp("*", Lit(2), Unary("-", a)).src() == "2 * -a"
    assert Unary("not", BinOp("<", a, b)).src() == "not a < b"
    assert BinOp("<", BinOp("<", a, b), Lit(1)).src() == "(a < b) < 1"  # not the chain a < b < 1
