"""How wide a label is drawn, and how to make Graphviz leave room for it.

Graphviz sizes boxes and edge labels with its own estimate of the font, but an
SVG is drawn by the viewer with whatever font it has: where Times or Helvetica
is missing, browsers substitute fonts such as DejaVu, up to a third wider. So
every label is measured here in the wider of DejaVu Sans and DejaVu Serif (the
widest of the common substitutes, sans or serif, whichever the viewer picks;
their advance widths ship in fontwidths.py, so no font file is needed), and
the DOT says how much room that takes: a box's `width`, and spaces around an
edge label or after a cluster title, whose room Graphviz estimates from the
characters. Drawing the text as paths would fix the font but make the text
unsearchable and uncopyable in a paper's PDF, so it stays text.
"""

from __future__ import annotations

import math

from . import fontwidths

_OTHER = 2048  # a character outside the table: one em, as wide as a CJK ideograph


def _wide() -> dict[int, int]:
    table = {}
    for first, values in fontwidths.WIDE:
        for offset, value in enumerate(values.split()):
            if value != "0":
                table[first + offset] = int(value)
    return table


_WIDE = _wide()
_ESTIMATE = [float(v) for v in fontwidths.GRAPHVIZ_ASCII.split()]


def width(text: str, size: float) -> float:
    """The width of `text` in points at `size`, in the wider of DejaVu Sans and DejaVu Serif."""
    return sum(_WIDE.get(ord(c), _OTHER) for c in text) * size / 2048


def estimate(text: str, size: float) -> float:
    """The width Graphviz reserves for `text` at `size` in points, for a font list it has no
    table for (it uses Times-Roman's widths, and one space per byte of other characters)."""
    total = 0.0
    for c in text:
        code = ord(c)
        total += (
            _ESTIMATE[code - 0x20]
            if 0x20 <= code <= 0x7E
            else fontwidths.GRAPHVIZ_OTHER * len(c.encode("utf-8", "replace"))
        )
    return total * size / 1000


def spaces(text: str, size: float, room: float) -> int:
    """How many spaces make Graphviz reserve at least `room` points for `text`."""
    short = room - estimate(text, size)
    return max(0, math.ceil(short / (_ESTIMATE[0] * size / 1000) + 1e-9))


def centred(text: str, size: float, gap: float = 0.0) -> str:
    """`text` with spaces on both sides, so that Graphviz reserves its wide width and `gap`
    on each side. As many spaces go on each side, so the text stays centred in that room
    however wide the viewer's font draws a space."""
    n = (spaces(text, size, width(text, size) + 2 * gap) + 1) // 2
    return " " * n + text + " " * n


def trailing(text: str, size: float, room: float | None = None) -> str:
    """`text` with spaces after it, so that Graphviz reserves at least `room` points
    (its wide width by default) for text drawn from its left end."""
    n = spaces(text, size, width(text, size) if room is None else room)
    return text + " " * n


def box(lines, size: float, margin: tuple[float, float]) -> tuple[float, float]:
    """The least width and height in points of a box holding `lines` at `size` with
    `margin` (inches, each side), as Graphviz draws it with that width: its widest line in a
    wide font, and Graphviz's line height, 1.2 times the size."""
    widest = max((width(line, size) for line in lines), default=0.0)
    return widest + 2 * margin[0] * 72 + 1.44, max(0.3 * 72, len(lines) * size * 1.2 + 2 * margin[1] * 72)
