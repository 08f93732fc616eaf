"""Which cluster titles a line runs through, in Graphviz's layout (its `json0` output, as a dict).

Graphviz puts a cluster's title in a band above (or below) the cluster's
content, which it keeps free of boxes but not of edges: the edges into the
cluster's first layers run straight through it, and through the title
whenever the title is wider than the room beside them. Graphviz cannot route
around a cluster label, and a title made a node of its own rank staggered the
columns. So the figure is laid out, the titles crossed are found here, with
what tells how to clear them (the box the line goes into, the side it runs
on, whether the title is wider than half its cluster), and graphviz.laid_out
moves each up its ladder: another corner, the lines into the first box ending
at its far corner, room beside that box (dot.py); then lays it out again.
"""

from __future__ import annotations

from . import measure
from .dotlabels import dot_lines as _dot_lines

INCH = 72.0
_GAP = 2.0  # clearance around a title


def _floats(text: str) -> list[float]:
    return [float(v) for v in str(text).replace(",", " ").split()]


def _spline_points(pos: str) -> list[tuple[float, float]]:
    """Points along an edge's B-spline (`[e,x,y] [s,x,y] x,y x,y ...`), 40 per cubic piece."""
    points = []
    for part in pos.split():
        if part.startswith(("e,", "s,")):
            continue
        points.append(tuple(_floats(part)))
    out = []
    for i in range(0, len(points) - 3, 3):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points[i : i + 4]
        for k in range(41):
            t = k / 40
            a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t * t, t**3
            out.append((a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3))
    return out


def _text_box(item: dict, key: str, default_size: float) -> tuple[float, float, float, float] | None:
    """The box of a label at `key` (lp or xlp): its lines at about 0.6 of the font size a letter."""
    if key not in item or not item.get("label" if key == "lp" else "xlabel", item.get("label")):
        return None
    x, y = _floats(item[key])[:2]
    size = float(item.get("fontsize", default_size))
    lines = str(item.get("label" if key == "lp" else "xlabel", item.get("label", ""))).split("\\n")
    width = max(len(line.strip()) for line in lines) * size * 0.6
    height = len(lines) * size * 1.2
    return (x - width / 2, y - height / 2, x + width / 2, y + height / 2)


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def crossed(graph: dict) -> dict[str, tuple[str | None, str, bool]]:
    """The clusters whose title text a line or an edge's label runs through: cluster name -> (the box inside
    the cluster that the first such line goes into or comes from, None if it only passes; the side of that
    box the title is better on, `l` or `r`: away from where the line comes from; whether the title is wider
    than half its cluster, so that in any corner it reaches the middle, where a line into a chain runs)."""
    objects = graph.get("objects", [])
    clusters = [
        o
        for o in objects
        if str(o.get("name", "")).startswith("cluster") and "bb" in o and "lp" in o and o.get("label")
    ]
    if not clusters:
        return {}
    size = float(graph.get("fontsize", 14))
    where = {o["_gvid"]: (o["name"], _floats(o["pos"])[:2]) for o in objects if "pos" in o and "bb" not in o}
    lines, labels = [], []
    for edge in graph.get("edges", []):
        if "invis" in str(edge.get("style", "")):
            continue  # what keeps a title's room beside its box: not drawn
        if "pos" in edge:
            ends = [where[k] for k in (edge.get("head"), edge.get("tail")) if k in where]
            lines.append((_spline_points(edge["pos"]), ends))
        for key in ("lp", "xlp"):
            box = _text_box(edge, key, size)
            if box is not None:
                labels.append(box)
    found: dict[str, str | None] = {}
    for cluster in clusters:
        lx, ly = _floats(cluster["lp"])[:2]
        x1, y1, x2, y2 = _floats(cluster["bb"])
        height = float(cluster.get("lheight", 0)) * INCH
        # the text itself in a wide font (the label is padded with blanks to make Graphviz reserve room)
        text = max(_dot_lines(str(cluster["label"])) or ("",), key=len)
        font = float(cluster.get("fontsize", size))
        width = max(measure.width(text, font), 0.62 * font * len(text))  # no narrower than 0.62 em a letter
        box = (lx - width / 2 - _GAP, ly - height / 2 - _GAP, lx + width / 2 + _GAP, ly + height / 2 + _GAP)
        top = max((y for _, (x, y) in where.values() if x1 <= x <= x2 and y1 <= y <= y2), default=y2)
        middle = (x1 + x2) / 2
        entries, beside, first_side = [], [], None  # lines into the first rank; others, by where they cross
        for points, ends in lines:
            through = [x for x, y in points if box[0] <= x <= box[2] and box[1] <= y <= box[3]]
            if not through:
                continue
            inside = [(name, x, y) for name, (x, y) in ends if x1 <= x <= x2 and y1 <= y <= y2]
            outside = [x for name, (x, y) in ends if not (x1 <= x <= x2 and y1 <= y <= y2)]
            at = sum(through) / len(through)
            if inside and inside[0][2] >= top - 2:  # into a box of the first rank (a chain's first layer)
                entries.append(inside[0][0])
            else:  # a skip down beside the chain to a later layer, or a line passing: a corner clears it
                beside.append(at)
            if first_side is None:
                # away from where the line runs through the band; one down the middle: from where it comes
                if abs(at - middle) > 4:
                    first_side = "r" if at < middle else "l"
                else:
                    first_side = "r" if inside and outside and outside[0] < inside[0][1] - 1 else "l"
        if first_side is not None:
            left, right = any(at < middle for at in beside), any(at >= middle for at in beside)
            side = "r" if left and not right else "l" if right and not left else first_side
            first = entries[0] if entries else None
            wide = first is not None and width + 2 * _GAP > (x2 - x1) / 2 - 8.0
            found[str(cluster["name"])] = (first, side, wide)
            continue
        if any(_overlaps(box, other) for other in labels):
            found[str(cluster["name"])] = (None, "l", False)
    return found
