"""The writer of the blocks style as SVG: laid out and drawn by convdsl itself, in-process."""

from __future__ import annotations

from . import blocks, svg
from .diagram import Diagram
from .registry import Options, Style


def available(fmt: str, style: Style) -> None:
    """Always: it needs nothing beyond Python."""


def write(diagram: Diagram, fmt: str, options: Options) -> bytes:
    return svg.write(blocks.layout(diagram, custom_labels=options.label is not None))
