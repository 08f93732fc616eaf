"""The blocks style: the figure of the AlexNet, VGG and U-Net papers and of PlotNeuralNet.

Each layer, or each folded block or repeat, is a 3-D box whose height and depth
follow the height and width of its output tensor and whose width follows its
channels, on the logarithmic scales stated in the legend; the boxes run left
to right along the longest path of the network, parallel branches stack below
it, and skip connections arc over it. Activations, normalisations and dropout
are drawn as part of the box before them (`conv 3×3, 64 + relu`), as the
papers do. Every size comes from inference.

layout() turns a Diagram into a Figure (render/figure.py) that the SVG and
TikZ writers draw; it decides every coordinate, so both draw the same picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .diagram import Box, Diagram
from .figure import Circle, Figure, Path, Polygon, Text, text_width

SPATIAL = 12.0  # points of height (and of depth, before it is projected) per doubling of a spatial size
CHANNELS = 5.0  # points of width per doubling of the channels
FLOOR = 6.0  # the size of an axis of length 1
DEPTH = (0.45, -0.32)  # the depth axis, projected: right and up
FONT = 9.0
TITLE_FONT = 11.0
GAP = 26.0  # between columns, beyond the widest box or label
ROW_GAP = 18.0
MERGE_RADIUS = 8.0
ABSORBED = ("activation", "norm", "regularization")  # drawn as part of the box before them
MERGE_SIGNS = {"add": "+", "mul": "×", "concat": "‖"}
FONT_FAMILY = "DejaVu Sans, Helvetica, Arial, sans-serif"

FILLS = {  # front faces; the top is lighter and the side darker
    "conv": "#f3c98b",
    "pool": "#e8837e",
    "linear": "#a9c9e8",
    "resample": "#9fd3c7",
    "reshape": "#d9d9d9",
    "merge": "#ffffff",
    "block": "#c9b6e4",
    "io": "#bdbdbd",
    "other": "#e0e0e0",
    "norm": "#fbf1c4",
    "activation": "#f4dbe7",
    "regularization": "#efefef",
}
LEGEND_NAMES = {
    "conv": "convolution",
    "pool": "pooling",
    "linear": "fully connected",
    "resample": "resampling",
    "block": "folded block",
    "io": "input",
    "reshape": "reshape",
    "other": "other",
}
INK, GREY, ERROR = "#202020", "#707070", "#c62828"


@dataclass
class _Unit:
    """One thing drawn: a box with the layers absorbed into it, a merge circle, or an output's name."""

    id: str
    shape: str  # box | merge | output
    box: Box
    absorbed: list[str] = field(default_factory=list)
    rank: int = 0
    row: int = 0
    x: float = 0.0  # left edge of the column
    width: float = 0.0  # of the drawing, box with depth (or circle)
    height: float = 0.0
    front: tuple[float, float, float] = (0.0, 0.0, 0.0)  # w, h, d of a box
    label: tuple[str, ...] = ()
    label_width: float = 0.0
    cy: float = 0.0  # centre line of its row


def layout(diagram: Diagram, *, custom_labels: bool = False, colour: bool = True) -> Figure:
    return _Layout(diagram, custom_labels, colour).run()


def _log_size(n, per: float) -> float:
    if isinstance(n, int) and n >= 1:
        return FLOOR + per * math.log2(n)
    return FLOOR + per * 5  # symbolic or unknown: drawn dashed at a nominal size


def box_size(dims) -> tuple[float, float, float, bool]:
    """(width, height, depth, exact) of the box for an output shape, channels first."""
    if not dims:
        return 10.0, 30.0, 10.0, False
    exact = all(isinstance(d, int) for d in dims)
    channels = _log_size(dims[0], CHANNELS)
    if len(dims) == 1:  # a vector: a thin slab as tall as its length
        return 8.0, _log_size(dims[0], SPATIAL * 0.75), 8.0, exact
    if len(dims) == 2:  # a sequence
        return channels, _log_size(dims[1], SPATIAL), FLOOR, exact
    height, width = dims[-2], dims[-1]
    return channels, _log_size(height, SPATIAL), _log_size(width, SPATIAL), exact


def _mix(colour: str, other: str, amount: float) -> str:
    a = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(other[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * amount):02x}" for x, y in zip(a, b))


class _Layout:
    def __init__(self, diagram: Diagram, custom_labels: bool, colour: bool):
        self.diagram, self.custom, self.colour = diagram, custom_labels, colour
        self.units: dict[str, _Unit] = {}
        self.unit_of: dict[str, str] = {}  # box id -> unit id
        self.edges: list[tuple[str, str]] = []
        self.shapes: list = []

    # units and edges -----------------------------------------------------------
    def _units(self) -> None:
        into: dict[str, list[str]] = {}
        for link in self.diagram.links:
            into.setdefault(link.head, []).append(link.tail)
        for box in self.diagram.boxes:
            tails = into.get(box.id, [])
            if (
                box.role == "layer"
                and box.family in ABSORBED
                and len(tails) == 1
                and not box.errors
                and self.units.get(self.unit_of.get(tails[0], ""), None) is not None
                and self.units[self.unit_of[tails[0]]].shape in ("box", "merge")
                and self.units[self.unit_of[tails[0]]].box.role != "input"
            ):
                unit = self.units[self.unit_of[tails[0]]]
                unit.absorbed.append(box.kind)
                self.unit_of[box.id] = unit.id
                continue
            if box.role == "output":
                shape = "output"
            elif box.role == "layer" and box.kind in MERGE_SIGNS and not box.errors:
                shape = "merge"
            else:
                shape = "box"
            self.units[box.id] = _Unit(box.id, shape, box)
            self.unit_of[box.id] = box.id
        seen = set()
        for link in self.diagram.links:
            edge = (self.unit_of[link.tail], self.unit_of[link.head])
            if edge[0] != edge[1] and edge not in seen:
                seen.add(edge)
                self.edges.append(edge)

    def _label(self, unit: _Unit) -> tuple[str, ...]:
        box = unit.box
        if unit.shape == "merge":
            return ()
        if unit.shape == "output":
            return (box.heading, box.out)
        if box.role == "input":
            return (box.heading, *box.lines)
        if self.custom:
            return (box.heading, *box.lines, *box.errors)
        heading = [box.heading]
        if unit.absorbed:
            heading.append("+ " + " + ".join(dict.fromkeys(unit.absorbed)))
        return (*heading, box.out, *box.errors)

    # ranks, the spine, rows -------------------------------------------------------
    def _ranks(self) -> list[str]:
        order = list(self.units)  # boxes come in topological order
        preds: dict[str, list[str]] = {u: [] for u in order}
        for a, b in self.edges:
            preds[b].append(a)
        for u in order:
            self.units[u].rank = max((self.units[p].rank + 1 for p in preds[u]), default=0)
        # the spine: the longest path, followed back from its end
        position = {u: i for i, u in enumerate(order)}
        end = max(order, key=lambda u: (self.units[u].rank, -position[u]))
        spine = [end]
        while preds[spine[-1]]:
            rank = self.units[spine[-1]].rank
            spine.append(next(p for p in preds[spine[-1]] if self.units[p].rank == rank - 1))
        self.preds = preds
        return spine[::-1]

    def _rows(self, spine: list[str]) -> None:
        on_spine = set(spine)
        heads: dict[str, list[str]] = {}
        for a, b in self.edges:
            heads.setdefault(a, []).append(b)
        taken: dict[int, set[int]] = {}  # rank -> rows used there
        for unit_id in self.units:
            unit = self.units[unit_id]
            if unit_id in on_spine:
                unit.row = 0
            else:
                wanted = [self.units[p].row for p in self.preds[unit_id] if p not in on_spine]
                row = next((r for r in wanted if r not in taken.get(unit.rank, ())), None)
                if row is None:
                    row = 1
                    while row in taken.get(unit.rank, ()):
                        row += 1
                unit.row = row
            taken.setdefault(unit.rank, set()).add(unit.row)
            # a long edge from here keeps its row free in the columns it crosses
            if unit.row:
                for b in heads.get(unit_id, ()):
                    for rank in range(unit.rank + 1, self._rank_of(b)):
                        taken.setdefault(rank, set()).add(unit.row)
        self.on_spine = on_spine

    def _rank_of(self, unit_id: str) -> int:
        return self.units[unit_id].rank

    # sizes and places ---------------------------------------------------------------
    def _measure(self) -> None:
        for unit in self.units.values():
            unit.label = self._label(unit)
            unit.label_width = max((text_width(line, FONT) for line in unit.label), default=0.0)
            if unit.shape == "merge":
                unit.width = unit.height = 2 * MERGE_RADIUS
            elif unit.shape == "output":
                unit.width, unit.height = 0.0, 0.0
            else:
                w, h, d, _ = box_size(unit.box.dims)
                unit.front = (w, h, d)
                unit.width = w + d * DEPTH[0]
                unit.height = h - d * DEPTH[1]

    def _place(self) -> tuple[float, float]:
        ranks = sorted({u.rank for u in self.units.values()})
        column_width = {r: 0.0 for r in ranks}
        for unit in self.units.values():
            column_width[unit.rank] = max(column_width[unit.rank], unit.width, unit.label_width)
        rows = sorted({u.row for u in self.units.values()})
        above = {r: 0.0 for r in rows}  # room above and below each row's centre line
        below = {r: 0.0 for r in rows}
        for unit in self.units.values():
            # boxes are drawn with the centres of their front faces on the row's centre line
            _, h, d = unit.front
            up, down = (h / 2 - d * DEPTH[1], h / 2) if unit.shape == "box" else (unit.height / 2, unit.height / 2)
            above[unit.row] = max(above[unit.row], up)
            below[unit.row] = max(below[unit.row], down + 4 + FONT * 1.25 * len(unit.label))
        # arcs over the spine
        self.arcs = self._arcs()
        arc_room = (max((level for *_, level in self.arcs), default=0)) * 14.0 + (10.0 if self.arcs else 0.0)
        top = 12.0 + (TITLE_FONT * 1.3 * 2 + 6 if self._title_lines() else 0.0)
        top += FONT * 1.25 * len(self.diagram.loose)
        y = top + arc_room + above[rows[0]]
        centre = {}
        for row in rows:
            if row != rows[0]:
                y += above[row]
            centre[row] = y
            y += below[row] + ROW_GAP
        x = 16.0
        left = {}
        for rank in ranks:
            left[rank] = x
            x += column_width[rank] + GAP
        self.left, self.column_width = left, column_width
        for unit in self.units.values():
            unit.cy = centre[unit.row]
            unit.x = left[unit.rank] + (column_width[unit.rank] - unit.width) / 2
        self.top_of_boxes = top + arc_room
        return x - GAP + 16.0, y

    def _arcs(self) -> list[tuple[str, str, int]]:
        """Edges along the spine that skip columns, with the height level of each (nested ones lower)."""
        arcs = [
            (a, b)
            for a, b in self.edges
            if a in self.on_spine and b in self.on_spine and self._rank_of(b) - self._rank_of(a) > 1
        ]
        arcs.sort(key=lambda e: (self._rank_of(e[1]) - self._rank_of(e[0]), self._rank_of(e[0])))
        levels: list[tuple[str, str, int]] = []
        for a, b in arcs:
            lo, hi = self._rank_of(a), self._rank_of(b)
            inside = [lv for x, y, lv in levels if lo <= self._rank_of(x) and self._rank_of(y) <= hi]
            levels.append((a, b, 1 + max(inside, default=0)))
        return levels

    # drawing ------------------------------------------------------------------------------
    def _title_lines(self) -> tuple[str, ...]:
        return (self.diagram.name, self.diagram.totals)

    def run(self) -> Figure:
        self._units()
        spine = self._ranks()
        self._rows(spine)
        self._measure()
        width, height = self._place()
        legend_top = height
        arc_set = {(a, b) for a, b, _ in self.arcs}
        # edges under the boxes
        for a, b in self.edges:
            if (a, b) not in arc_set:
                self._edge(self.units[a], self.units[b])
        for a, b, level in self.arcs:
            self._arc(self.units[a], self.units[b], self.top_of_boxes - 6 - 14.0 * level)
        for unit in self.units.values():
            self._draw(unit)
        legend_height = self._legend(16.0, legend_top)
        self._heading(width)
        return Figure(
            max(width, self.legend_width + 32),
            legend_top + legend_height + 12,
            tuple(self.shapes),
            f"{self.diagram.name}: {self.diagram.totals}",
            FONT_FAMILY,
        )

    def _heading(self, width: float) -> None:
        y = 12.0 + TITLE_FONT
        name, totals = self._title_lines()
        self.shapes.append(Text((16.0, y), (name,), TITLE_FONT + 1, anchor="start", bold=True, colour=INK))
        self.shapes.append(Text((16.0, y + TITLE_FONT * 1.3), (totals,), TITLE_FONT - 1, anchor="start", colour=GREY))
        if self.diagram.loose:
            self.shapes.append(
                Text((16.0, y + TITLE_FONT * 2.6 + 4), self.diagram.loose, FONT, anchor="start", colour=ERROR)
            )

    def _fill(self, unit: _Unit) -> str:
        family = "io" if unit.box.role == "input" else unit.box.family
        fill = FILLS.get(family, FILLS["other"])
        if not self.colour:
            grey = {"conv": "#d0d0d0", "pool": "#a8a8a8", "linear": "#e8e8e8", "block": "#c0c0c0"}
            fill = grey.get(family, "#f0f0f0")
        return fill

    def _draw(self, unit: _Unit) -> None:
        box = unit.box
        line_colour = ERROR if box.errors else INK
        if unit.shape == "merge":
            cx, cy = unit.x + MERGE_RADIUS, unit.cy
            self.shapes.append(Circle((cx, cy), MERGE_RADIUS, "#ffffff", INK))
            self.shapes.append(Text((cx, cy + FONT * 0.36), (MERGE_SIGNS[box.kind],), FONT + 1, colour=INK))
            return
        if unit.shape == "output":
            self.shapes.append(Text((unit.x + unit.width / 2, unit.cy + 3), unit.label, FONT, colour=INK))
            return
        w, h, d = unit.front
        dx, dy = d * DEPTH[0], d * DEPTH[1]
        x0 = unit.x
        y0 = unit.cy - h / 2  # top of the front face
        fill = self._fill(unit)
        exact = box_size(box.dims)[3]
        copies = min(box.count, 3) if box.role == "repeat" else 1
        for copy in range(copies - 1, -1, -1):  # a folded repeat: its copies stacked behind it
            shift = copy * 4.0
            self._cuboid(x0 + shift, y0 - shift, w, h, dx, dy, fill, line_colour, dashed=not exact)
        self.shapes.append(
            Text(
                (unit.x + unit.width / 2, y0 + h + 4 + FONT),
                unit.label,
                FONT,
                colour=line_colour if box.errors else INK,
            )
        )

    def _cuboid(self, x0, y0, w, h, dx, dy, fill, stroke, *, dashed) -> None:
        front = ((x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h))
        top = ((x0, y0), (x0 + dx, y0 + dy), (x0 + w + dx, y0 + dy), (x0 + w, y0))
        side = ((x0 + w, y0), (x0 + w + dx, y0 + dy), (x0 + w + dx, y0 + h + dy), (x0 + w, y0 + h))
        self.shapes.append(Polygon(top, _mix(fill, "#ffffff", 0.45), stroke, dashed=dashed))
        self.shapes.append(Polygon(side, _mix(fill, "#000000", 0.18), stroke, dashed=dashed))
        self.shapes.append(Polygon(front, fill, stroke, dashed=dashed))

    def _ports(self, unit: _Unit) -> tuple[tuple[float, float], tuple[float, float]]:
        """Where edges leave (the right of the front face) and arrive (its left)."""
        if unit.shape == "merge":
            return (unit.x + 2 * MERGE_RADIUS, unit.cy), (unit.x, unit.cy)
        if unit.shape == "output":
            return (unit.x, unit.cy), (unit.x + unit.width / 2 - unit.label_width / 2 - 4, unit.cy)
        w = unit.front[0]
        return (unit.x + w, unit.cy), (unit.x, unit.cy)

    def _edge(self, a: _Unit, b: _Unit) -> None:
        """Along a row, a straight line; from one row to another, out along the tail's row, up or
        down the gap beside a column, and in along the head's row, so that no line crosses a box."""
        start, _ = self._ports(a)
        _, end = self._ports(b)
        if abs(start[1] - end[1]) < 0.5:
            self.shapes.append(Path(start, ((end,),), INK))
            return
        if a.row:  # from a branch below: in the gap before the head's column
            bus = self.left[b.rank] - GAP / 2
        else:  # from the main line down to a branch: in the gap after the tail's column
            bus = self.left[a.rank] + self.column_width[a.rank] + GAP / 2
        r = min(6.0, abs(end[1] - start[1]) / 2)
        down = 1 if end[1] > start[1] else -1
        pieces = (
            ((bus - r, start[1]),),
            ((bus, start[1]), (bus, start[1]), (bus, start[1] + down * r)),
            ((bus, end[1] - down * r),),
            ((bus, end[1]), (bus, end[1]), (bus + r, end[1])),
            (end,),
        )
        self.shapes.append(Path(start, pieces, INK))

    def _arc(self, a: _Unit, b: _Unit, y: float) -> None:
        ax = a.x + a.front[0] / 2 if a.shape == "box" else a.x + MERGE_RADIUS
        bx = b.x + b.front[0] / 2 if b.shape == "box" else b.x + MERGE_RADIUS
        ay = self._top(a)
        by = self._top(b)
        r = 8.0
        pieces = (
            ((ax, y + r),),
            ((ax, y), (ax, y), (ax + r, y)),
            ((bx - r, y),),
            ((bx, y), (bx, y), (bx, y + r)),
            ((bx, by),),
        )
        self.shapes.append(Path((ax, ay), pieces, GREY, width=0.9))

    def _top(self, unit: _Unit) -> float:
        if unit.shape == "merge":
            return unit.cy - MERGE_RADIUS
        _, h, d = unit.front
        return unit.cy - h / 2 + d * DEPTH[1]

    def _legend(self, x: float, y: float) -> float:
        families = []
        for unit in self.units.values():
            if unit.shape == "box":
                family = "io" if unit.box.role == "input" else unit.box.family
                if family not in families:
                    families.append(family)
        scale = (
            f"box height and depth: {SPATIAL:g} pt per doubling of the tensor's height and width; "
            f"width: {CHANNELS:g} pt per doubling of its channels"
        )
        lines = [scale]
        if any(u.shape == "merge" for u in self.units.values()):
            signs = sorted({u.box.kind for u in self.units.values() if u.shape == "merge"})
            lines.append("circles: " + ", ".join(f"{MERGE_SIGNS[k]} {k}" for k in signs))
        text_y = y + FONT
        self.shapes.append(Text((x, text_y), tuple(lines), FONT - 0.5, anchor="start", colour=GREY))
        swatch_y = text_y + FONT * 1.25 * len(lines) + 2
        sx = x
        for family in families:
            name = LEGEND_NAMES.get(family, family)
            fill = self._fill(
                _Unit("", "box", Box("", "input" if family == "io" else "layer", "", (), family, "", (), None))
            )
            self.shapes.append(
                Polygon(((sx, swatch_y), (sx + 10, swatch_y), (sx + 10, swatch_y + 10), (sx, swatch_y + 10)), fill, INK)
            )
            self.shapes.append(Text((sx + 14, swatch_y + 8.5), (name,), FONT - 0.5, anchor="start", colour=INK))
            sx += 14 + text_width(name, FONT - 0.5) + 14
        self.legend_width = max(sx - x, max(text_width(line, FONT - 0.5) for line in lines))
        return swatch_y + 12 - y
