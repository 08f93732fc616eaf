"""The writer of the graph styles through Graphviz: DOT text, and SVG, PDF or PNG drawn from it."""
from __future__ import annotations

from .backends import backend_for, produce
from .diagram import Diagram
from .dot import write as write_dot
from .registry import Options, Style
from .styles import STYLES as LOOKS
from .wrap import plan


def available(fmt: str, style: Style) -> None:
    backend_for(fmt)


def dot_text(diagram: Diagram, options: Options) -> str:
    look = LOOKS[options.style]
    return write_dot(diagram, look, plan(diagram, options.direction, look, options.layout), direction=options.direction)


def write(diagram: Diagram, fmt: str, options: Options) -> bytes:
    return produce(dot_text(diagram, options), fmt)
