"""Evaluation of argument arithmetic: integers, floats, booleans, strings, tuples."""

from __future__ import annotations

import math

from . import diagnostics as codes
from .functions import FUNCTIONS, arity_problem
from .source import Span
from .syntax import BinOp, FuncCall, IfExpr, Literal, Name, ShapeOf, TupleExpr, UnaryOp

# Sizes beyond this are mistakes, and refusing them keeps arithmetic cheap.
MAX_INT = 2**62
# The key under which an environment holds its tensors' shapes (a ShapeReader): not a name anyone can write.
SHAPES = "<shapes>"


class Symbol(str):
    """A bare name that is not a constant: accepted where a word is expected (`padding=same`)."""

    span: Span

    def __new__(cls, text: str, span: Span):
        obj = super().__new__(cls, text)
        obj.span = span
        return obj


class EvalError(Exception):
    def __init__(self, code, message: str, span: Span, label: str = "", help: str | None = None):
        super().__init__(message)
        self.code, self.message, self.span, self.label, self.help = code, message, span, label, help


class AlreadyReported(EvalError):
    """An expression reads a constant whose own definition failed: that failure is the one to report."""


class _Failed:
    """The value of a constant whose definition failed (and was reported): reading it reports nothing more."""

    def __repr__(self) -> str:
        return "FAILED"


FAILED = _Failed()


def _in_range(value, span):
    """The value, if it is a size convdsl can work with: an int within ±2^62, or a finite float."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise EvalError(
            codes.INVALID_EXPRESSION,
            f"integer {_short(value)} is too large",
            span,
            "out of range",
            "integers must stay within ±2^62",
        )
    if isinstance(value, float) and not math.isfinite(value):
        # `1e400`, `1e308 * 10` or `1e400 - 1e400`: an infinite size would crash the layers that round it
        raise EvalError(
            codes.INVALID_EXPRESSION,
            "this number is too large" if not math.isnan(value) else "this is not a number",
            span,
            "out of range",
            "numbers must stay within ±1.8e308",
        )
    return value


def _short(value: int) -> str:
    text = str(value)
    return text if len(text) <= 24 else f"{text[:10]}...{text[-6:]} ({len(text)} digits)"


def _number(value, span, what="a number"):
    if isinstance(value, Symbol):
        raise undefined(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EvalError(codes.INVALID_EXPRESSION, f"expected {what}, got {describe(value)}", span, "not a number")
    return value


def undefined(symbol: Symbol, candidates=()) -> EvalError:
    from .diagnostics import did_you_mean

    err = EvalError(
        codes.UNDEFINED_NAME, f"undefined name `{symbol}`", symbol.span, "not defined", did_you_mean(symbol, candidates)
    )
    err.name = str(symbol)  # lowering adds a help when it is a repeat's index read outside the repeat
    return err


def describe(value) -> str:
    if isinstance(value, Symbol):
        return f"the name `{value}`"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value:g}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    return type(value).__name__


def evaluate(expr, env: dict):
    """The value of an expression; undefined bare names become Symbols."""
    if type(expr) is Literal:  # the usual argument, and no recursion to guard
        return _in_range(expr.value, expr.span)
    try:
        return _evaluate(expr, env)
    except RecursionError:
        # The parser bounds parentheses; a chain of thousands of operators can still be this deep.
        raise EvalError(
            codes.INVALID_EXPRESSION,
            "this expression is too long to evaluate",
            expr.span,
            "too many operators",
            "split it into constants: `const a = ...`",
        ) from None


def _evaluate(expr, env: dict):
    if isinstance(expr, Literal):
        return _in_range(expr.value, expr.span)
    if isinstance(expr, Name):
        if expr.id in env:
            value = env[expr.id]
            if value is FAILED:
                raise AlreadyReported(codes.UNDEFINED_NAME, f"`{expr.id}` failed where it is defined", expr.span)
            return value
        return Symbol(expr.id, expr.span)
    if isinstance(expr, TupleExpr):
        return tuple(_evaluate(item, env) for item in expr.items)
    if isinstance(expr, IfExpr):
        condition = _evaluate(expr.condition, env)
        return _evaluate(expr.then if _truth(condition, expr.condition.span, env) else expr.otherwise, env)
    if isinstance(expr, UnaryOp):
        value = _evaluate(expr.operand, env)
        if expr.op == "not":
            return not _truth(value, expr.operand.span, env)
        value = _number(value, expr.operand.span)
        return -value if expr.op == "-" else value
    if isinstance(expr, BinOp):
        return _binary(expr, env)
    if isinstance(expr, FuncCall):
        _function_name(expr)  # an unknown function first: its arguments' own errors would hide it
        return _call(expr, [_evaluate(arg, env) for arg in expr.args])
    if isinstance(expr, ShapeOf):
        return _shape_of(expr, env)
    raise TypeError(expr)


def _function_name(expr: FuncCall) -> None:
    if expr.name.id not in FUNCTIONS:
        from .diagnostics import did_you_mean

        raise EvalError(
            codes.UNDEFINED_NAME,
            f"unknown function `{expr.name.id}`",
            expr.name.span,
            "not a function",
            did_you_mean(expr.name.id, FUNCTIONS) or f"the functions are {', '.join(f'`{n}`' for n in FUNCTIONS)}",
        )


def _call(expr: FuncCall, args: list):
    """`max(a, b)`, `make_divisible(v, 8)`: the value of a function of the arithmetic (functions.py)."""
    name = expr.name.id
    usage = FUNCTIONS[name][3]
    problem = arity_problem(name, len(args))
    if problem is not None:
        raise EvalError(codes.INVALID_EXPRESSION, problem, expr.span, "wrong number of arguments", f"usage: {usage}")
    for value, arg in zip(args, expr.args):
        if isinstance(value, Symbol):
            raise undefined(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise EvalError(
                codes.INVALID_EXPRESSION,
                f"`{name}` takes numbers, got {describe(value)}",
                arg.span,
                "not a number",
                f"usage: {usage}",
            )
    try:
        return _in_range(FUNCTIONS[name][2](args), expr.span)
    except (ValueError, OverflowError) as err:
        raise EvalError(
            codes.INVALID_EXPRESSION, f"`{name}` cannot compute this: {err}", expr.span, "no value", f"usage: {usage}"
        ) from None


def _shape_of(expr: ShapeOf, env: dict):
    """`t.shape[d]`: PyTorch's dims, 0 the batch, negative from the end."""
    name, attribute = expr.tensor.id, expr.attribute.id
    if attribute != "shape":
        raise EvalError(
            codes.INVALID_EXPRESSION,
            f"a tensor has no `.{attribute}`",
            expr.attribute.span,
            "not an attribute",
            f"read a size with `{name}.shape[d]` (d as PyTorch counts dims: 0 is the batch)",
        )
    reader = env.get(SHAPES)
    if reader is None:
        raise EvalError(
            codes.INVALID_EXPRESSION,
            f"`{name}.shape` is read only inside a block",
            expr.span,
            "outside a block",
            "inside a block, `in.shape[1]` is its input's channels; at the top level, write the size",
        )
    index = _evaluate(expr.index, env)
    if isinstance(index, Symbol):
        raise undefined(index, env)
    if isinstance(index, bool) or not isinstance(index, int):
        raise EvalError(
            codes.INVALID_EXPRESSION,
            f"a dim is a whole number, got {describe(index)}",
            expr.index.span,
            "not a dim",
            "write `in.shape[1]` for the channels, `in.shape[-1]` for the last axis",
        )
    shape, batch = reader(expr.tensor)  # raises EvalError when the tensor or its shape is unknown
    rank = len(shape) + 1  # with the batch, as PyTorch counts
    if not -rank <= index < rank:
        raise EvalError(
            codes.INVALID_EXPRESSION,
            f"dim {index} is out of range: `{name}` has {rank} dims with the batch",
            expr.index.span,
            "out of range",
            f"use a dim from 0 to {rank - 1} (0 is the batch), or from -1 to -{rank}",
        )
    index %= rank
    if index == 0:
        if not isinstance(batch, int):
            raise EvalError(
                codes.INVALID_EXPRESSION,
                "the batch size is not a number here",
                expr.index.span,
                "dim 0 is the batch",
                "declare a batch on the input (`, batch=8`), or read another dim",
            )
        return batch
    size = shape[index - 1]
    noted = getattr(reader, "noted", None)
    if noted is not None:  # lowering remembers which sizes were read, so `sizes` can tell when they change
        noted(expr.tensor, index - 1, size)
    if not isinstance(size, int):
        raise EvalError(
            codes.INVALID_EXPRESSION,
            f"`{name}.shape[{index}]` is the symbolic size `{size}`, not a number",
            expr.span,
            "symbolic size",
            "an argument needs a number: give the input a number for that axis, or read a dim that is one",
        )
    return size


def _truth(value, span, env) -> bool:
    if isinstance(value, Symbol):
        raise undefined(value, env)
    if not isinstance(value, bool):
        raise EvalError(
            codes.INVALID_EXPRESSION,
            f"expected true or false, got {describe(value)}",
            span,
            "not a boolean",
            "compare it, e.g. `i == 0`",
        )
    return value


def _binary(expr: BinOp, env):
    op = expr.op
    if op in ("and", "or"):
        left = _truth(_evaluate(expr.left, env), expr.left.span, env)
        if (op == "and" and not left) or (op == "or" and left):
            return left
        return _truth(_evaluate(expr.right, env), expr.right.span, env)
    left, right = _evaluate(expr.left, env), _evaluate(expr.right, env)
    if op in ("==", "!="):
        for side in (left, right):
            if isinstance(side, Symbol) and side not in ("same", "valid"):
                raise undefined(side, env)
        equal = left == right
        return equal if op == "==" else not equal
    left = _number(left, expr.left.span)
    right = _number(right, expr.right.span)
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    if op == ">=":
        return left >= right
    if op == "+":
        return _in_range(left + right, expr.span)
    if op == "-":
        return _in_range(left - right, expr.span)
    if op == "*":
        if (
            isinstance(left, int)
            and isinstance(right, int)
            and left
            and right
            and abs(left).bit_length() + abs(right).bit_length() > 64
        ):
            raise EvalError(codes.INVALID_EXPRESSION, "the product is too large", expr.span, "out of range")
        return _in_range(left * right, expr.span)
    if right == 0:
        raise EvalError(codes.INVALID_EXPRESSION, "division by zero", expr.right.span, "this is zero")
    if op == "//":
        return _in_range(left // right, expr.span)
    if op == "%":
        return _in_range(left % right, expr.span)
    # `/`: exact for integers, so a size never silently becomes a fraction
    if isinstance(left, int) and isinstance(right, int):
        if left % right:
            raise EvalError(
                codes.INVALID_EXPRESSION,
                f"{left} / {right} is not a whole number",
                expr.span,
                f"= {left / right:g}",
                f"use `//` to round down ({left // right})",
            )
        return left // right
    return _in_range(left / right, expr.span)
