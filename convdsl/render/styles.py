"""The two looks of a diagram: `default` (coloured by layer family) and `paper`
(greyscale, serif, compact). Sizes are in points; no size is ever shrunk to fit.

Fonts are given as a fallback list; every label is given the room it takes in
the widest common substitute (see measure.py), so it fits whichever font the
viewer draws it in."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Style:
    name: str
    font: str  # the font the figure is meant in (Helvetica, Times)
    fonts: str  # what a viewer without `font` should use, in order: the SVG's font-family list
    font_size: float  # at least 10, so text is legible at 100% zoom
    edge_font_size: float
    fills: dict[str, str] = field(hash=False)  # LayerKind.family, or io | block -> fill colour
    text: str = "#1a1a1a"
    io_text: str = "#1a1a1a"
    line: str = "#404040"
    edge: str = "#505050"
    edge_text: str = "#303030"
    cluster_line: str = "#9e9e9e"
    cluster_fill: str = "#fafafa"
    cluster_text: str = "#424242"
    error: str = "#d32f2f"
    error_fill: str = "#fde2e2"
    title: bool = True  # the network's name and totals above the drawing
    nodesep: float = 0.25  # inches, Graphviz's unit
    ranksep: float = 0.3
    margin: str = "0.12,0.05"


DEFAULT = Style(
    name="default",
    font="Helvetica",
    fonts="Helvetica,Arial,sans-serif",
    font_size=11,
    edge_font_size=10,
    fills={
        "conv": "#cfe0f3",
        "pool": "#d4ecd0",
        "linear": "#fbdcbf",
        "norm": "#fbf1c4",
        "activation": "#f4dbe7",
        "merge": "#e0dcef",
        "resample": "#cdeae6",
        "reshape": "#e8e8e8",
        "regularization": "#efefef",
        "other": "#ffffff",
        "block": "#e4e8f5",
        "io": "#37474f",
    },
    io_text="#ffffff",
)

PAPER = Style(
    name="paper",
    font="Times",
    fonts="Times,Times New Roman,serif",
    font_size=10,
    edge_font_size=10,
    fills={
        "conv": "#dcdcdc",
        "pool": "#f0f0f0",
        "linear": "#c8c8c8",
        "norm": "#ffffff",
        "activation": "#ffffff",
        "merge": "#ffffff",
        "resample": "#f0f0f0",
        "reshape": "#ffffff",
        "regularization": "#ffffff",
        "other": "#ffffff",
        "block": "#e8e8e8",
        "io": "#ffffff",
    },
    text="#000000",
    io_text="#000000",
    line="#000000",
    edge="#000000",
    edge_text="#000000",
    cluster_line="#808080",
    cluster_fill="#ffffff",
    cluster_text="#000000",
    title=False,
    nodesep=0.18,
    ranksep=0.22,
    margin="0.08,0.03",
)


def margins(style: Style) -> tuple[float, float]:
    """A box's margins around its text, across and along, in inches."""
    across, _, along = style.margin.partition(",")
    return float(across), float(along or across)


STYLES = {style.name: style for style in (DEFAULT, PAPER)}
