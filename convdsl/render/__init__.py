"""Diagrams of a network: DOT text, and SVG, PDF or PNG drawn by Graphviz.

    from convdsl.render import render, to_dot
    svg = render(net.analyze(), "svg", style="paper", collapse=True)

Importing this package loads no Graphviz and no WebAssembly runtime; they
are loaded by the first render that needs them.
"""
from __future__ import annotations

from ..network import gc_paused
from .backends import FORMATS, FormatUnavailable, RenderError, backend_for, produce
from .diagram import build
from .dot import DIRECTIONS, write
from .fold import Folding
from .styles import STYLES
from .wrap import plan


def to_dot(analysis, *, style: str = "default", direction: str = "TB", collapse: bool = False,
           depth: int | None = None) -> str:
    """The diagram as DOT text: the same analysis always gives the same bytes.

    style: `default` (coloured by layer family) or `paper` (greyscale, serif,
    compact); direction: `TB` (top to bottom) or `LR`; collapse: draw each block
    instance and each repeat as one node; depth: open only this many levels of
    blocks and labelled groups, folding deeper ones.
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, not {style!r}")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise ValueError(f"depth must be a whole number from 0, not {depth!r}")
    with gc_paused():  # many small objects and no cycles: see network.gc_paused
        diagram = build(analysis, Folding(collapse=bool(collapse), depth=depth))
        return write(diagram, STYLES[style], plan(diagram, direction), direction=direction)


def render(analysis, fmt: str, **options) -> bytes:
    """The diagram in `fmt` (svg, pdf, png or dot); options as for to_dot.

    Raises FormatUnavailable when this machine cannot make the format (the
    message says what to install), RenderError when Graphviz fails.
    """
    backend_for(fmt)  # fail before the work when the format is impossible
    return produce(to_dot(analysis, **options), fmt)


def render_svg(analysis, **options) -> str:
    """The diagram as SVG text (what Jupyter shows for a Network)."""
    return render(analysis, "svg", **options).decode("utf-8")


__all__ = ["FORMATS", "DIRECTIONS", "STYLES", "FormatUnavailable", "RenderError", "backend_for", "render",
           "render_svg", "to_dot"]
