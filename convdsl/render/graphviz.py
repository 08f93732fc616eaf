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


def dot_text(
    diagram: Diagram,
    options: Options,
    room: dict | None = None,
    places: dict | None = None,
    ports: dict | None = None,
) -> str:
    look = LOOKS[options.style]
    wrapping = plan(diagram, options.direction, look, options.layout)
    return write_dot(
        diagram, look, wrapping, direction=options.direction, room=room or {}, places=places or {}, ports=ports or {}
    )


# How much larger (its longer side) the room for titles may make a figure: a title crossed is better than a
# figure too large to read on a page.
TITLE_GROWTH = 1.25
# At most this many layouts of a figure: each title goes at most one step a layout (a ladder is at most 9
# long), a step taken for one may move the lines of others, and steps that make the figure too large are
# taken by halves. A layout's time grows with the boxes and edges laid out, so a larger figure gets fewer,
# LAYOUT_BUDGET boxes and edges in all (the largest Graphviz is given, MAX_LAYOUT, gets 4; GoogLeNet, 14).
LAYOUTS = 14
LAYOUT_BUDGET = 12_000


def _ladder(box: str | None, side: str, wide: bool) -> tuple[tuple, ...]:
    """What is tried, one step a layout, for a title a line runs through, the cheapest first: the corners of
    its cluster (no width, no rank added), away from the line first, unless the title is wider than half
    the cluster (it then reaches the middle in every corner); then the lines into the box they go to
    ending at its far top corner, the box as wide as the title (dot.py: ports), the title on one side, then
    on the other; then room of its own beside that box, wider each time (dot.py: _title_room)."""
    other = "r" if side == "l" else "l"
    steps: list[tuple] = [("tl",)]
    if not wide:
        steps += [(c,) for c in (f"t{side}", f"b{side}", f"t{other}", f"b{other}") if (c,) not in steps]
    if box is not None:  # on the side chosen, then on the other (a second line in may run on the first)
        steps += [("port", side), ("port", other)]
    steps += [("room", side, 1.0), ("room", side, 1.5), ("room", side, 2.25)]
    return tuple(steps)


def laid_out(diagram: Diagram, options: Options) -> tuple[str, dict]:
    """The DOT text to draw and Graphviz's layout of it, with no line through a cluster's title where that
    can be had. It is laid out, the titles a line runs through found (titles.py), and each of those moved
    one step up its ladder (_ladder), and laid out again, until none is crossed or none can go further; a
    step that would make the figure grow by more than TITLE_GROWTH is not taken (that title stays where it
    was). Of the layouts made, the one with the fewest titles crossed."""
    import json

    from .titles import crossed

    made = [0]
    most = max(2, min(LAYOUTS, LAYOUT_BUDGET // max(1, len(diagram.boxes) + len(diagram.links))))

    def layout(dot: str) -> dict:
        made[0] += 1
        try:
            return json.loads(produce(dot, "json0"))
        except ValueError as err:
            raise RenderError(f"Graphviz gave a layout that is not JSON: {err}") from None

    def size(graph: dict) -> float:
        x1, y1, x2, y2 = (float(v) for v in str(graph.get("bb", "0,0,0,0")).split(","))
        return max(x2 - x1, y2 - y1)

    def text(state: dict) -> str:
        places, room, ports = {}, {}, {}
        for name, (ladder, step) in state.items():
            kind = ladder[step]
            if kind[0] == "port":
                places[name], ports[name] = f"t{kind[1]}", (first[name][0], kind[1])
            elif kind[0] == "room":
                places[name], room[name] = f"t{kind[1]}", (first[name][0], kind[1], kind[2])
            elif kind[0] != "tl":
                places[name] = kind[0]
        return dot_text(diagram, options, room, places, ports)

    grows = ("port", "room")  # the steps that add width
    state: dict[str, tuple[tuple, int]] = {}  # cluster -> (its ladder, the step it is on)
    first: dict[str, tuple] = {}  # cluster -> (box, side) of the first line found through its title
    capped: set[str] = set()  # titles whose next step made the figure too large
    dot = dot_text(diagram, options)
    graph = layout(dot)
    found = crossed(graph)
    limit = size(graph) * TITLE_GROWTH
    best = (len(found), dot, graph)
    while made[0] < most:
        following = dict(state)
        for name, (box, side, wide) in found.items():
            if name not in state:
                first[name] = (box, side)
                following[name] = (_ladder(box, side, wide), 0)
            ladder, step = following[name]
            if name not in capped and step + 1 < len(ladder):
                following[name] = (ladder, step + 1)
        if following == state:
            break  # nothing left to try
        candidate = text(following)
        candidate_graph = layout(candidate)
        while size(candidate_graph) > limit and made[0] < most:
            # too large: of the steps that add width, the later half waits for the next layout (one alone
            # is given up), until the figure is small enough or only the steps that add none are left
            grown = sorted(
                n
                for n, (ladder, step) in following.items()
                if state.get(n) != following[n] and ladder[step][0] in grows
            )
            if not grown:
                break
            if len(grown) == 1:
                capped.add(grown[0])
            held = set(grown[len(grown) // 2 :])
            following = {
                n: (v[0], v[1] - 1) if n in held else v for n, v in following.items() if not (n in held and v[1] == 0)
            }
            candidate = text(following)
            candidate_graph = layout(candidate)
        if size(candidate_graph) > limit or following == state:
            if following == state and not found.keys() - capped:
                break
            continue
        state, dot, graph = following, candidate, candidate_graph
        found = crossed(graph)
        if len(found) < best[0]:
            best = (len(found), dot, graph)
        if not found:
            break
    return best[1], best[2]


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
        return produce(source(diagram, options), fmt)
    return produce(laid_out(diagram, options)[0], fmt)


def source(diagram: Diagram, options: Options) -> str:
    """The DOT text of `--format dot` and to_dot(): what SVG, PDF and PNG are drawn from, room for the cluster
    titles included, so that `dot -Tpdf` of it draws the same figure. That room comes from a layout, made by
    the in-process Graphviz as for SVG (or the `dot` program without it); where there is none to be had, or
    the diagram is larger than MAX_LAYOUT, the text is written without that room (every title at its
    cluster's top left), as Graphviz would lay it out by itself."""
    if len(diagram.boxes) + len(diagram.links) > MAX_LAYOUT:
        return dot_text(diagram, options)
    try:
        backend_for("json0")
    except FormatUnavailable:
        return dot_text(diagram, options)
    return laid_out(diagram, options)[0]
