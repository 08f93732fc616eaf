"""The functions argument arithmetic may call: `max`, `min`, `round`, `make_divisible`."""

from __future__ import annotations

import math

from . import diagnostics as codes
from .evaluate import EvalError, Symbol, _in_range, describe, undefined


def _numbers(name, args, spans):
    for value, span in zip(args, spans):
        if isinstance(value, Symbol):
            raise undefined(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise EvalError(
                codes.INVALID_EXPRESSION,
                f"`{name}` takes numbers, got {describe(value)}",
                span,
                "not a number",
                f"usage: {FUNCTIONS[name][3]}",
            )
    return args


def _max(args):
    return max(args)


def _min(args):
    return min(args)


def _round(args):
    (value,) = args
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("not finite")
    return round(value)  # Python's: half to even, an int


def make_divisible(v, divisor, min_value=None):
    """torchvision's `_make_divisible` (torchvision/models/_utils.py), exactly: the nearest multiple of
    divisor, at least min_value (divisor if not given), and not more than 10% below v."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _make_divisible(args):
    if args[1] <= 0 or isinstance(args[1], float):
        raise ValueError("the divisor must be a whole number of at least 1")
    return make_divisible(*args)


# name -> (fewest arguments, most arguments or None, function, usage)
FUNCTIONS = {
    "max": (1, None, _max, "max(a, b, ...)"),
    "min": (1, None, _min, "min(a, b, ...)"),
    "round": (1, 1, _round, "round(x)"),
    "make_divisible": (2, 3, _make_divisible, "make_divisible(v, divisor, min_value=divisor)"),
}


def check_name(expr) -> None:
    """Raise the unknown-function error for a FuncCall of no function."""
    if expr.name.id not in FUNCTIONS:
        call(expr, [])


def call(expr, args: list):
    """The value of a FuncCall whose arguments are evaluated (`args`)."""
    name = expr.name.id
    found = FUNCTIONS.get(name)
    if found is None:
        from .diagnostics import did_you_mean

        raise EvalError(
            codes.UNDEFINED_NAME,
            f"unknown function `{name}`",
            expr.name.span,
            "not a function",
            did_you_mean(name, FUNCTIONS) or f"the functions are {', '.join(f'`{n}`' for n in FUNCTIONS)}",
        )
    fewest, most, function, usage = found
    if len(args) < fewest or (most is not None and len(args) > most):
        count = f"{fewest}" if most == fewest else f"{fewest} to {most}" if most else f"at least {fewest}"
        raise EvalError(
            codes.INVALID_EXPRESSION,
            f"`{name}` takes {count} argument{'s' if (most or fewest) > 1 else ''}, got {len(args)}",
            expr.span,
            "wrong number of arguments",
            f"usage: {usage}",
        )
    _numbers(name, args, [a.span for a in expr.args])
    try:
        return _in_range(function(args), expr.span)
    except (ValueError, OverflowError) as err:
        raise EvalError(
            codes.INVALID_EXPRESSION, f"`{name}` cannot compute this: {err}", expr.span, "no value", f"usage: {usage}"
        ) from None
