"""The writer of the graph styles through Graphviz: DOT text, and SVG, PDF or PNG drawn from it."""

from __future__ import annotations

from .backends import backend_for, produce
from .diagram import Diagram
from .dot import write as write_dot
from .registry import FormatUnavailable, Options, RenderError, Style
from .styles import STYLES as LOOKS
from .wrap import plan


def available(fmt: str, style: Style) -> None:
    backend_for(fmt)


def dot_text(diagram: Diagram, options: Options, room: dict | None = None) -> str:
    look = LOOKS[options.style]
    wrapping = plan(diagram, options.direction, look, options.layout)
    return write_dot(diagram, look, wrapping, direction=options.direction, room=room or {})


# Layouts made to find the cluster titles a line runs through: room given to some moves the lines of others.
TITLE_ROUNDS = 3
# How much larger (its longer side) the room for titles may make a figure: a title crossed is better than a
# figure too large to read on a page (GoogLeNet's would take 53%, ResNet-50's take 39%).
TITLE_GROWTH = 1.45


def laid_out(diagram: Diagram, options: Options) -> tuple[str, dict]:
    """The DOT text to draw and Graphviz's layout of it: laid out to find the cluster titles a line runs
    through (titles.py), and again with room for those titles, up to TITLE_ROUNDS times, while the figure
    grows by at most TITLE_GROWTH."""
    import json

    from .titles import crossed

    def layout(dot: str) -> dict:
        try:
            return json.loads(produce(dot, "json0"))
        except ValueError as err:
            raise RenderError(f"Graphviz gave a layout that is not JSON: {err}") from None

    def size(graph: dict) -> float:
        x1, y1, x2, y2 = (float(v) for v in str(graph.get("bb", "0,0,0,0")).split(","))
        return max(x2 - x1, y2 - y1)

    room: dict = {}
    dot = dot_text(diagram, options)
    graph = layout(dot)
    limit = size(graph) * TITLE_GROWTH
    for _ in range(TITLE_ROUNDS):
        found = crossed(graph)
        if not found:
            break
        wider = dict(room)
        for name, (box, side) in found.items():
            # a title crossed again, by a line that comes in aslant: its room half as wide again
            wider[name] = (*wider[name][:2], wider[name][2] * 1.5) if name in wider else (box, side, 1.0)
        candidate = dot_text(diagram, options, wider)
        candidate_graph = layout(candidate)
        if size(candidate_graph) > limit:
            break
        room, dot, graph = wider, candidate, candidate_graph
    return dot, graph


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
    if fmt == "dot":
        return produce(dot_text(diagram, options), fmt)
    return produce(laid_out(diagram, options)[0], fmt)
