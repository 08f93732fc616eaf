"""The words and numbers a diagram shows: counts, shapes, layer headings, block calls."""

from __future__ import annotations

import re
import textwrap

from ..layers import KINDS
from ..summary import display_shape

# `3x3`, `4 x 2` and a scale `x2` take a multiplication sign; `x` in a name does not
_TIMES = re.compile(r"(?<=\d)x(?=\d)|(?<=\d) x (?=\d)|(?<![\w.])x(?=\d)")


_SHORT_EXPRESSION = 24  # characters


def count(n: int) -> str:
    """A count to three significant figures: 512, 9.41K, 147K, 2.36M, 25.6M, 4.09G.

    A count that depends on a symbolic input size (`6912*H`) is shown as that expression.
    """
    if not isinstance(n, int):
        return str(n)
    rounded = float(f"{n:.3g}")  # first, so that 999,999 becomes 1M and not 1000K
    for unit, size in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if rounded >= size:
            value = rounded / size
            return (f"{value:.3g}" if value < 1000 else f"{value:.0f}") + unit
    return str(n)


def macs(n) -> str:
    """A MAC count as a diagram shows it: `4.09G MACs`. One that depends on a symbolic input
    size is shown as its expression when that is short (`3456*H*W MACs`), else by the sizes it
    depends on (`MACs depend on H, W`): a long expression would be the widest line of the figure."""
    if isinstance(n, int):
        return f"{count(n)} MACs"
    written = str(n)
    symbols = sorted(n.symbols()) if hasattr(n, "symbols") else []
    if len(written) <= _SHORT_EXPRESSION or not symbols:
        return f"{written} MACs"
    return f"MACs depend on {', '.join(symbols)}"


def shape(dims, layout: str) -> str:
    """A tensor shape in the file's display layout, `64×56×56`; `?` when unknown."""
    return display_shape(dims, layout).replace(" x ", "×")


def telling(name: str, written: str) -> bool:
    """Whether a layer's own name says more than its kind: `fc` does, `relu2`, `bn` and `3` do not."""
    return not re.fullmatch(rf"[0-9]+|{re.escape(written)}_?[0-9]*", name)


def pretty(text: str) -> str:
    """Multiplication signs where the catalogue's plain-text descriptions write `x`."""
    return _TIMES.sub("×", text)


def heading(written: str, args: dict) -> str:
    """A layer's kind as written and its key hyper-parameters: `conv 3×3/2, 64`."""
    detail = KINDS[written].describe(args)
    return f"{written} {pretty(detail)}" if detail else written


def value(v) -> str:
    """An argument value as the language writes it."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, str):
        return f'"{v}"' if not v.isidentifier() else v
    if isinstance(v, tuple):
        return "(" + ", ".join(value(x) for x in v) + ")"
    return str(v)


def call(name: str, args: tuple) -> str:
    """A block call with the arguments it was given: `bottleneck(128, stride=2, down=true)`."""
    return f"{name}(" + ", ".join(value(v) if k is None else f"{k}={value(v)}" for k, v in args) + ")"


def span_of_names(first: str, last: str) -> str:
    """`layer1.1–2` for the names layer1.1 to layer1.2; `a … b` when they share no numbered prefix."""
    if first == last:
        return first
    head_a, _, tail_a = first.rpartition(".")
    head_b, _, tail_b = last.rpartition(".")
    if head_a == head_b and tail_a.isdigit() and tail_b.isdigit():
        return f"{head_a + '.' if head_a else ''}{tail_a}–{tail_b}"
    return f"{first} … {last}"


def wrap(text: str, width: int = 44) -> list[str]:
    """Diagnostic messages broken into lines a box can hold."""
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]
