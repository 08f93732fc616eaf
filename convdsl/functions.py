"""The functions argument arithmetic may call: `max`, `min`, `round`, `make_divisible` (evaluate.py calls them)."""

from __future__ import annotations

import math


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


def arity_problem(name: str, count: int) -> str | None:
    """Why `count` arguments do not fit function `name`, or None."""
    fewest, most, _, _ = FUNCTIONS[name]
    if count >= fewest and (most is None or count <= most):
        return None
    wanted = f"{fewest}" if most == fewest else f"{fewest} to {most}" if most else f"at least {fewest}"
    return f"`{name}` takes {wanted} argument{'s' if (most or fewest) > 1 else ''}, got {count}"
