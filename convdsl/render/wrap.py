"""Long chains folded into columns (rows when drawn left to right), so a deep
network is not drawn as a ribbon many metres long.

Graphviz puts every layer of a chain on its own rank. Here the drawing is cut
into columns placed side by side, their first boxes on one rank; the writer
turns the links from one column to another into numbered connectors. A cut
may fall inside a labelled group (a ResNet stage, VGG's `features`), which is
then drawn in parts, but never inside a block: a block reads as one unit.
The number of columns is chosen so that the drawing comes close to a page's
proportions. Columns exist only at the top of the drawing because that is
the one place Graphviz keeps clusters in the order they are written.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from itertools import accumulate
from operator import itemgetter

from .diagram import Diagram

# The size of one rank and of one box across the ranks, in points, by direction,
# measured on the examples' drawings (a rank holds a box and an edge label).
_UNITS = {"TB": (65.0, 120.0), "LR": (125.0, 110.0)}
_TARGET = {"TB": 1.1, "LR": 0.4}  # height / width that the number of columns aims at
_PAD = (0.45, 0.15)  # a cluster's title and border, in ranks and boxes
_COLUMN_COUNTS = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40)  # the ones tried
_LONGEST_UNCUT = {"TB": 1000.0, "LR": 1800.0}  # points: a drawing this long needs no columns
_SPLIT_GROUP = 1.25  # a cut inside a group only when keeping groups whole makes columns this much taller


@dataclass(frozen=True)
class Wrapping:
    """The drawing's units (box ids, and ids of clusters drawn whole) by column, left to right."""

    columns: tuple[tuple[str, ...], ...]
    column_of: dict[str, int] = field(default_factory=dict, hash=False)  # box id -> its column
    tops: tuple[str, ...] = ()  # the first box of each column, in drawing order


@dataclass(frozen=True)
class _Unit:
    id: str  # a box id, or the id of a cluster drawn whole
    start: float  # in ranks, from the top of the unwrapped drawing
    height: float
    width: float
    group: str | None = None  # the outermost group it is drawn in


def plan(diagram: Diagram, direction: str) -> Wrapping:
    units = _units(diagram)
    if not units:
        return Wrapping(((),))
    rank_unit, cross_unit = _UNITS[direction]
    total = _height(units)
    if total * rank_unit <= _LONGEST_UNCUT[direction]:
        return Wrapping((tuple(u.id for u in units),), {box.id: 0 for box in diagram.boxes}, ())
    order = sorted(units, key=lambda u: u.start)
    bottoms = [u.start + u.height for u in order]
    cut_free, cut_whole = _cutter(order, total, whole_groups=False), _cutter(order, total, whole_groups=True)

    def height_of(bounds):  # the tallest column's; a column's top is its first unit's start
        return max(max(bottoms[a:b]) - order[a].start for a, b in zip(bounds, bounds[1:]))

    best = None
    for parts in (n for n in _COLUMN_COUNTS if n <= len(units)):
        bounds = cut_free(parts)
        height = height_of(bounds)
        whole = cut_whole(parts)
        # the same cuts would pass the test below anyway: no column is taller
        if whole != bounds and height_of(whole) <= _SPLIT_GROUP * height:
            bounds, height = whole, height_of(whole)
        columns = _slices(order, bounds)
        width = sum(_width(column) for column in columns)
        along, across = height * rank_unit, width * cross_unit
        aspect = along / across if direction == "TB" else across / along  # the drawing's height / width
        score = abs(math.log(aspect / _TARGET[direction]))
        if best is None or score < best[0] - 1e-9:
            best = (score, columns)
    columns = best[1]
    drawn = {unit.id: i for i, unit in enumerate(units)}
    columns = [sorted(column, key=lambda u: drawn[u.id]) for column in columns]  # drawing order within a column
    column_of = _columns(diagram, columns)
    tops = {}
    for box in diagram.boxes:
        tops.setdefault(column_of[box.id], box.id)
    return Wrapping(tuple(tuple(u.id for u in column) for column in columns), column_of,
                    tuple(tops[i] for i in range(len(columns))))


def _units(diagram: Diagram) -> list[_Unit]:
    """Boxes and blocks with their place in the drawing before any cut, nested groups opened."""
    children: dict[str | None, list] = {}  # scope -> its items in drawing order: box ids and clusters
    clusters = {c.id: c for c in diagram.clusters}
    seen = set()
    for box in diagram.boxes:
        path, at = [], box.cluster
        while at is not None:
            path.append(at)
            at = clusters[at].parent
        for cluster_id in reversed(path):
            if cluster_id not in seen:
                seen.add(cluster_id)
                children.setdefault(clusters[cluster_id].parent, []).append(clusters[cluster_id])
        children.setdefault(box.cluster, []).append(box.id)
    before = _before(diagram, clusters)

    def place(scope_id, offset: float, opened: bool) -> tuple[float, float, list[_Unit]]:
        """(height, width, units) of a scope; `opened`: its groups are opened into their units."""
        sizes, units = {}, {}
        for item in children.get(scope_id, ()):
            key = item if isinstance(item, str) else item.id
            if isinstance(item, str):
                sizes[key], units[key] = (1.0, 1.0), []
            else:
                height, width, found = place(item.id, 0.0, opened and item.role == "group")
                sizes[key], units[key] = (height + _PAD[0], width + _PAD[1]), found
        start = {}
        for item in children.get(scope_id, ()):  # drawing order is topological
            key = item if isinstance(item, str) else item.id
            start[key] = max((start[p] + sizes[p][0] for p in before.get((scope_id, key), ()) if p in start),
                             default=0.0)
        placed = []
        for item in children.get(scope_id, ()):
            key = item if isinstance(item, str) else item.id
            at = offset + start[key]
            if isinstance(item, str) or not (opened and item.role == "group"):
                placed.append(_Unit(key, at, *sizes[key]))
            else:
                placed += [_Unit(u.id, u.start + at + _PAD[0], u.height, u.width, key) for u in units[key]]
        if not placed:
            return 0.0, 0.0, []
        height, width = _extent(placed)
        return height, width, placed

    return place(None, 0.0, True)[2]


def _before(diagram: Diagram, clusters) -> dict:
    """(scope id, item) -> the items of the same scope it takes a tensor from."""
    def path(box_id):
        out, at = [box_id], boxes[box_id].cluster
        while at is not None:
            out.append(at)
            at = clusters[at].parent
        return list(reversed(out))  # outermost cluster first, the box last

    boxes = {box.id: box for box in diagram.boxes}
    paths = {box.id: path(box.id) for box in diagram.boxes}
    found: dict = {}
    for link in diagram.links:
        a, b = paths[link.tail], paths[link.head]
        scope = None
        for x, y in zip(a, b):
            if x != y:
                found.setdefault((scope, y), set()).add(x)
                break
            scope = x
    return found


def _extent(units) -> tuple[float, float]:
    """Height, and the widest band of units side by side."""
    return _height(units), _width(units)


def _height(units) -> float:
    return max(u.start + u.height for u in units) - min(u.start for u in units)


def _width(units) -> float:
    """The widest band of units side by side: a sweep over their vertical extents."""
    events = [(u.start, 1, u.width) for u in units]
    events += [(u.start + u.height, 0, -u.width) for u in units]
    events.sort()
    return max(accumulate(map(itemgetter(2), events), initial=0.0))  # the running sum of the changes


def _cutter(order: list[_Unit], height: float, *, whole_groups: bool):
    """A function of `parts`: where to cut `order` (the units by start; `height` their
    extent's) into at most that many columns of consecutive units, as even in height
    as can be, only where nothing above reaches below (and, with whole_groups, not
    inside a group). The cuts come as bounds: 0, the index in `order` where each
    later column begins, and len(order)."""
    # Where a column may begin does not depend on the height sought: before a unit
    # that nothing above reaches past (and, with whole_groups, that does not go on
    # the group of the unit above it). The first unit only ever starts the first column.
    cuts, ends, bottom = [], [], 0.0
    for index, unit in enumerate(order):
        if index and unit.start >= bottom - 1e-9 and (
                not whole_groups or unit.group is None or unit.group != order[index - 1].group):
            cuts.append(index)
            ends.append(unit.start + unit.height)
        bottom = max(bottom, unit.start + unit.height)

    def first_past(at: int, top: float, most: float) -> int:
        """The first possible cut from `at` whose unit would end more than `most` below
        `top`, or len(cuts). Every unit is at least _PAD[0] tall, so the possible cuts'
        ends only grow down the drawing: bisection by `end > top + most`, which rounding
        may put an index off the exact test, then that test."""
        k = bisect.bisect_right(ends, top + most, at)
        while k > at and ends[k - 1] - top > most:
            k -= 1
        while k < len(ends) and not ends[k] - top > most:
            k += 1
        return k

    def greedy(most: float, limit: int) -> tuple[list[int], float, float]:
        """The indices in `order` where columns begin after the first, taking units
        until one that may begin a column would reach more than `most` below the
        column's top, given up once there are `limit` of them; and the heights
        [same_from, same_below) for which every choice made would be the same."""
        starts, top, at, same_from, same_below = [], 0.0, 0, -math.inf, math.inf
        while len(starts) < limit:
            k = first_past(at, top, most)
            if k > at:  # the possible cuts passed over end no further than this below the top
                same_from = max(same_from, ends[k - 1] - top)
            if k == len(cuts):
                break
            same_below = min(same_below, ends[k] - top)
            starts.append(cuts[k])
            top, at = order[cuts[k]].start, k + 1
        return starts, same_from, same_below

    def cut(parts: int) -> list[int]:
        # The same bisection as running greedy() at every middle, with fewer runs: the
        # number of columns only falls as the height allowed grows (a taller column
        # never ends before a lower one that starts with it), so a run that fits says
        # every height from its `same_from` fits, and one that does not, that none
        # below its `same_below` does; a middle so answered needs no run.
        low, high = 0.0, height
        fits_from, fails_below = math.inf, -math.inf
        for _ in range(30):  # the least column height that needs no more than `parts` columns
            middle = (low + high) / 2
            if fails_below <= middle < fits_from:
                starts, same_from, same_below = greedy(middle, parts)
                if len(starts) < parts:
                    fits_from = same_from
                else:
                    fails_below = same_below
            if middle >= fits_from:
                high = middle
            else:
                low = middle
        return [0, *greedy(high, len(order))[0], len(order)]

    return cut


def _slices(order: list[_Unit], bounds: list[int]) -> list[list[_Unit]]:
    return [order[a:b] for a, b in zip(bounds, bounds[1:])]


def _columns(diagram: Diagram, columns) -> dict[str, int]:
    """The column of every box: its own, or that of the block it is drawn in."""
    column_of = {unit.id: index for index, column in enumerate(columns) for unit in column}
    parents = {c.id: c.parent for c in diagram.clusters}
    found = {}
    for box in diagram.boxes:
        at, up = box.id, box.cluster
        while at not in column_of:
            at, up = up, parents.get(up)
        found[box.id] = column_of[at]
    return found
