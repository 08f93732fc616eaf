"""The graph styles as a Figure of plain shapes (render/figure.py), placed where Graphviz lays out
their DOT: so that TikZ draws the same graph as the SVG, with the text set by LaTeX.

Graphviz is asked for its layout only (`json0`: positions, sizes and edge
splines); the shapes and colours are read back from the attributes convdsl
wrote, and the text from the labels, undoing only the escapes quoting.quote()
made.
"""

from __future__ import annotations

from .backends import backend_for
from .dotlabels import dot_lines as _dot_lines
from .diagram import Diagram
from .figure import Circle, Figure, Path, Polygon, Text
from .registry import Options

INCH = 72.0


def available() -> None:
    backend_for("json0")


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.replace(",", " ").split()]


def layout(diagram: Diagram, options: Options) -> Figure:
    from .graphviz import laid_out

    _, graph = laid_out(diagram, options)
    _, _, width, height = _floats(graph["bb"])
    shapes: list = []

    def point(x: float, y: float) -> tuple[float, float]:
        return x, height - y

    def colour(value, default="#000000"):
        return value if isinstance(value, str) and value.startswith("#") and len(value) == 7 else default

    objects = graph.get("objects", [])
    # clusters first (behind), outermost first: Graphviz lists them in the order they were written
    for item in objects:
        if (
            "bb" in item
            and str(item.get("name", "")).startswith("cluster")
            and not item["name"].startswith("cluster_column")
        ):
            x1, y1, x2, y2 = _floats(item["bb"])
            corners = (point(x1, y2), point(x2, y2), point(x2, y1), point(x1, y1))
            shapes.append(
                Polygon(
                    corners,
                    colour(item.get("fillcolor"), "#ffffff"),
                    colour(item.get("color")),
                    width=float(item.get("penwidth", 0.8)),
                    rounded=4.0,
                )
            )
            if item.get("label") and "lp" in item:
                lx, ly = _floats(item["lp"])
                size = float(item.get("fontsize", graph.get("fontsize", 11)))
                lwidth = float(item.get("lwidth", 0)) * INCH
                shapes.append(
                    Text(
                        point(lx - lwidth / 2, ly - size * 0.3),
                        _dot_lines(item["label"])[:1],
                        size,
                        anchor="start",
                        colour=colour(item.get("fontcolor")),
                    )
                )
    for edge in graph.get("edges", []):
        _edge(edge, shapes, point, colour)
    for item in objects:
        if "pos" in item and "bb" not in item:
            _node(item, shapes, point, colour)
    if graph.get("label") and "lp" in graph:
        lx, ly = _floats(graph["lp"])
        size = float(graph.get("fontsize", 13))
        lines = _dot_lines(graph["label"])
        top = ly + (len(lines) - 1) * size * 1.2 / 2
        shapes.append(
            Text(point(lx, top - size * 0.3), lines, size, colour=colour(graph.get("fontcolor")), line_gap=1.2)
        )
    return Figure(width, height, tuple(shapes), f"{diagram.name}: {diagram.totals}", "")


def _node(item: dict, shapes: list, point, colour) -> None:
    x, y = _floats(item["pos"])
    w, h = float(item["width"]) * INCH, float(item["height"]) * INCH
    stroke, fill = colour(item.get("color"), "#404040"), colour(item.get("fillcolor"), "#ffffff")
    pen = float(item.get("penwidth", 0.8))
    if item.get("shape") == "circle":
        shapes.append(Circle(point(x, y), w / 2, fill, stroke, width=pen))
    else:
        rounded = 4.0 if "rounded" in item.get("style", "") else 0.0
        for ring in range(int(item.get("peripheries", 1)) - 1, -1, -1):
            grow = ring * 3.0
            corners = (
                point(x - w / 2 - grow, y + h / 2 + grow),
                point(x + w / 2 + grow, y + h / 2 + grow),
                point(x + w / 2 + grow, y - h / 2 - grow),
                point(x - w / 2 - grow, y - h / 2 - grow),
            )
            shapes.append(Polygon(corners, fill if ring == 0 else None, stroke, width=pen, rounded=rounded))
    lines = _dot_lines(item.get("label", ""))
    size = float(item.get("fontsize", 11))
    gap = 1.2
    first = y + (len(lines) - 1) * size * gap / 2  # Graphviz centres the block of lines
    shapes.append(Text(point(x, first - size * 0.3), lines, size, colour=colour(item.get("fontcolor")), line_gap=gap))


def _edge(edge: dict, shapes: list, point, colour) -> None:
    if "pos" not in edge:
        return
    end = None
    numbers = []
    for part in edge["pos"].split():
        if part.startswith("e,"):
            end = tuple(_floats(part[2:]))
        elif not part.startswith("s,"):
            numbers.append(tuple(_floats(part)))
    if not numbers:
        return
    start = point(*numbers[0])
    pieces = tuple(tuple(point(*p) for p in numbers[i : i + 3]) for i in range(1, len(numbers) - 2, 3))
    if end is not None:
        pieces += ((point(*end),),)
    stroke = colour(edge.get("color"), "#505050")
    shapes.append(
        Path(
            start,
            pieces,
            stroke,
            width=float(edge.get("penwidth", 0.8)),
            arrow=end is not None,
            dashed="dashed" in edge.get("style", ""),
        )
    )
    if edge.get("label") and "lp" in edge:
        lx, ly = _floats(edge["lp"])
        size = float(edge.get("fontsize", 10))
        shapes.append(
            Text(
                point(lx, ly - size * 0.3),
                _dot_lines(edge["label"]),
                size,
                colour=colour(edge.get("fontcolor"), "#303030"),
            )
        )
