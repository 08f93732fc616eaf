"""A drawn figure as plain shapes in points (y grows downwards): what the SVG and
TikZ writers turn into their own syntax, so that both draw the same picture.

Text here is the user's text, unescaped; each writer escapes it for its own
language (render/quoting.py).
"""

from __future__ import annotations

from dataclasses import dataclass

Point = tuple[float, float]


@dataclass(frozen=True)
class Polygon:
    points: tuple[Point, ...]
    fill: str | None  # `#rrggbb`, or None for no fill
    stroke: str
    width: float = 0.6
    dashed: bool = False
    rounded: float = 0.0  # corner radius of a rectangle (4 points), in points


@dataclass(frozen=True)
class Path:
    """Line segments and cubic Bézier curves: `start`, then each piece is one point (a line to
    it) or three (two control points and the end)."""

    start: Point
    pieces: tuple[tuple[Point, ...], ...]
    stroke: str
    width: float = 0.8
    arrow: bool = True  # an arrowhead at the end
    dashed: bool = False


@dataclass(frozen=True)
class Circle:
    centre: Point
    radius: float
    fill: str
    stroke: str
    width: float = 0.8


@dataclass(frozen=True)
class Text:
    at: Point  # the anchor point; y is the baseline of the first line
    lines: tuple[str, ...]
    size: float  # points
    anchor: str = "middle"  # start | middle | end
    colour: str = "#000000"
    bold: bool = False
    line_gap: float = 1.25  # line pitch, in font sizes


@dataclass(frozen=True)
class Figure:
    width: float
    height: float
    shapes: tuple  # Polygon | Path | Circle | Text, drawn in order
    title: str  # for the SVG <title> and the TikZ comment
    font: str  # the SVG font family list; TikZ uses the document's font


def text_width(text: str, size: float) -> float:
    """A generous width of a line of text: the average advance of DejaVu Sans (the widest common
    fallback font) is about 0.55 em for digits and lower case; wide letters and signs count more."""
    wide = sum(1 for c in text if c in "MWmw@%×—–" or c.isupper())
    return size * (0.58 * len(text) + 0.3 * wide)
