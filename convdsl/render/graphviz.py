"""The writer of the graph styles through Graphviz: DOT text, and SVG, PDF or PNG drawn from it."""

from __future__ import annotations

from .backends import backend_for, produce
from .diagram import Diagram
from .dot import write as write_dot
from .registry import FormatUnavailable, Options, Style
from .styles import STYLES as LOOKS
from .wrap import plan


def available(fmt: str, style: Style) -> None:
    backend_for(fmt)


def dot_text(diagram: Diagram, options: Options) -> str:
    look = LOOKS[options.style]
    return write_dot(diagram, look, plan(diagram, options.direction, look, options.layout), direction=options.direction)


# Boxes and edges Graphviz is given to lay out. Its layout grows faster than the graph (a 1,000-branch
# concat takes seconds, 5,000 branches over a minute), so a larger drawing is refused, by count, before
# any work: the DOT text (`--format dot`) has no such limit, and --collapse or --depth draw fewer boxes.
MAX_LAYOUT = 3_000


class DiagramTooLarge(FormatUnavailable):
    """The diagram has more boxes and edges than Graphviz lays out in seconds."""


def write(diagram: Diagram, fmt: str, options: Options) -> bytes:
    if fmt != "dot":
        size = len(diagram.boxes) + len(diagram.links)
        if size > MAX_LAYOUT:
            raise DiagramTooLarge(
                f"the diagram has {len(diagram.boxes):,} boxes and {len(diagram.links):,} edges, more than the "
                f"{MAX_LAYOUT:,} in all that Graphviz lays out in seconds; draw fewer with --collapse or --depth N, "
                "or write the Graphviz source with --format dot"
            )
    return produce(dot_text(diagram, options), fmt)
