"""Long chains folded into columns (rows when drawn left to right), so a deep
network is not drawn as a ribbon many metres long.

Graphviz puts every layer of a chain on its own rank. A drawing that fits a
page at a legible size (its 10 pt text no smaller than 6 pt) is drawn whole;
a longer one is cut into columns placed side by side, their first boxes on
one rank, and the writer turns the links from one column to another into
numbered connectors. A cut may fall inside a labelled group (a ResNet stage,
VGG's `features`), which is then drawn in parts, but never inside a block (a
block reads as one unit) and never across a skip: where it falls, one tensor
alone goes on. The number of columns is chosen so that the drawing comes
close to a page's proportions. Columns exist only at the top of the drawing
because that is the one place Graphviz keeps clusters in the order they are written.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from itertools import accumulate
from operator import itemgetter

from . import measure
from .diagram import Diagram
from .registry import LAYOUTS, LayoutUnavailable
from .styles import DEFAULT, Style, margins
from .ushape import UShape, find

_TARGET = {"TB": 1.2, "LR": 0.7}  # height / width that the number of columns aims at: a page, or a page turned
# Graphviz draws columns longer than the sum of their boxes (a rank is as tall as its tallest
# box in any column, and the columns begin below their titles) and narrower than their widest
# bands side by side (an edge label sits in room left beside a box): measured on the zoo
_DRAWN = {"TB": (1.25, 0.85), "LR": (1.25, 1.1)}  # along, across
_PAD = (12.0, 16.0)  # a cluster's border and margins, in points, along and across the ranks
_COLUMN_COUNTS = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40)  # the ones tried
# points: a drawing no longer than this needs no columns: a page's text area (6.5 x 9 in)
# at 60%, where 10 pt text is 6 pt, the smallest a figure's text should be printed
_LONGEST_UNCUT = {"TB": 1080.0, "LR": 1080.0}
_WORTH_IT = 0.75  # columns only when the tallest is at most this part of the uncut drawing
_SPLIT_GROUP = 1.25  # a cut inside a group only when keeping groups whole makes columns this much taller


@dataclass(frozen=True)
class Wrapping:
    """The drawing's units (box ids, and ids of clusters drawn whole) by column, left to right."""

    columns: tuple[tuple[str, ...], ...]
    column_of: dict[str, int] = field(default_factory=dict, hash=False)  # box id -> its column
    tops: tuple[str, ...] = ()  # the first box of each column, in drawing order
    ushape: UShape | None = None  # drawn as a U (then in one column)
    too_long: bool = False  # longer than a page, and drawn in one column all the same


@dataclass(frozen=True)
class _Unit:
    id: str  # a box id, or the id of a cluster drawn whole
    start: float  # in points along the ranks, from the top of the unwrapped drawing
    height: float
    width: float
    group: str | None = None  # the outermost group it is drawn in


def plan(diagram: Diagram, direction: str, style: Style = DEFAULT, layout: str = "auto") -> Wrapping:
    """How the drawing is laid out. layout: `auto` (a U for an encoder-decoder network,
    columns when too long), `columns`, or `unet` (raises LayoutUnavailable without that shape).

    Blocks are kept whole; only a drawing that is too long and cannot be cut so (ViT's `encoder`, one
    block a page long by itself) is planned again with each block longer than a page opened, so that
    a column may begin inside it where one tensor alone goes on."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    found = _plan(diagram, direction, style, layout, math.inf)
    if len(found.columns) == 1 and found.ushape is None and found.too_long:
        opened = _plan(diagram, direction, style, layout, _LONGEST_UNCUT[direction])
        if len(opened.columns) > 1:
            return opened
    return found


def _plan(diagram: Diagram, direction: str, style: Style, layout: str, longest: float) -> Wrapping:
    units = _units(diagram, _sizes(diagram, direction, style), _titles(diagram, direction, style), longest)
    uncut = Wrapping((tuple(u.id for u in units),), {box.id: 0 for box in diagram.boxes}, ())
    if layout != "columns" and units:
        order = sorted(units, key=lambda u: u.start)
        ushape = find(diagram, order, _unit_index(diagram, order), rows_across=direction == "TB")
        if ushape is not None:
            return Wrapping(uncut.columns, uncut.column_of, (), ushape)
    if layout == "unet":
        raise LayoutUnavailable(
            "the network is not an encoder-decoder: drawing it as a U needs a chain with at "
            "least two skips from it to a later point of it, nested like brackets; "
            "use --layout auto or columns"
        )
    if not units:
        return Wrapping(((),))
    total = _height(units)
    title = max((measure.width(line, style.font_size + 2) for line in (diagram.name, diagram.totals)), default=0.0)
    title = title if style.title else 0.0
    if direction == "LR":
        total = max(total, title)
    if total <= _LONGEST_UNCUT[direction]:
        return uncut
    uncut = Wrapping(uncut.columns, uncut.column_of, (), too_long=True)
    order = sorted(units, key=lambda u: u.start)
    bottoms = [u.start + u.height for u in order]
    skips = _across_skips(diagram, order)
    if len(skips) >= len(order) - 1:  # no cut leaves one tensor alone: drawn whole however long
        return uncut
    cut_free = _cutter(order, total, whole_groups=False, blocked=skips)
    cut_whole = _cutter(order, total, whole_groups=True, blocked=skips)

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
        if parts > 1 and height > _WORTH_IT * total:
            continue  # cuts that only take a little off the ends: not worth the connectors
        columns = _slices(order, bounds)
        width = max(sum(_width(column) + _PAD[1] for column in columns), title)
        along, across = height * _DRAWN[direction][0], width * _DRAWN[direction][1]
        aspect = along / across if direction == "TB" else across / along  # the drawing's height / width
        score = abs(math.log(aspect / _TARGET[direction]))
        if best is None or score < best[0] - 1e-9:
            best = (score, columns)
    columns = best[1]
    if len(columns) == 1:
        return uncut
    drawn = {unit.id: i for i, unit in enumerate(units)}
    columns = [sorted(column, key=lambda u: drawn[u.id]) for column in columns]  # drawing order within a column
    column_of = _columns(diagram, columns)
    tops = {}
    for box in diagram.boxes:
        tops.setdefault(column_of[box.id], box.id)
    return Wrapping(
        tuple(tuple(u.id for u in column) for column in columns), column_of, tuple(tops[i] for i in range(len(columns)))
    )


def _across_skips(diagram: Diagram, order: list[_Unit]) -> set[int]:
    """The indices in `order` before which a column may not begin: where more than one
    tensor goes on from the units above to those below, or one goes on past the first
    unit below (a skip would be cut: only the main line may go on to the next column)."""
    unit_of = _unit_index(diagram, order)
    reach: dict[str, tuple[int, int]] = {}  # tail box -> (its unit's index, the furthest head's)
    for link in diagram.links:
        tail, head = unit_of[link.tail], unit_of[link.head]
        if head > tail:
            first, last = reach.get(link.tail, (tail, tail))
            reach[link.tail] = (first, max(last, head))
    crossing = [0] * (len(order) + 2)  # tensors that go on past the start of each unit
    passing = [0] * (len(order) + 2)  # tensors that go on past it, to a later unit
    for first, last in reach.values():
        crossing[first + 1] += 1
        crossing[last + 1] -= 1
        passing[first + 1] += 1
        passing[last] -= 1
    blocked, running, past = set(), 0, 0
    for index in range(len(order)):
        running += crossing[index]
        past += passing[index]
        if running > 1 or past > 0:
            blocked.add(index)
    return blocked


def _unit_index(diagram: Diagram, order: list[_Unit]) -> dict[str, int]:
    """Box id -> the index in `order` of its unit: itself, or the block it is drawn in."""
    at = {unit.id: index for index, unit in enumerate(order)}
    parents = {c.id: c.parent for c in diagram.clusters}
    found = {}
    for box in diagram.boxes:
        key, up = box.id, box.cluster
        while key not in at:
            key, up = up, parents.get(up)
        found[box.id] = at[key]
    return found


def _sizes(diagram: Diagram, direction: str, style: Style) -> dict[str, tuple[float, float]]:
    """Each box's room along and across the ranks, in points: the box, and the gap to the
    next rank with the edge label in it (beside the edge when TB, across the gap when LR)."""
    labels: dict[str, float] = {}
    for link in diagram.links:
        labels[link.tail] = max(labels.get(link.tail, 0.0), measure.width(link.label, style.edge_font_size) + 4)
    found = {}
    for box in diagram.boxes:
        width, height = measure.box((box.heading, *box.lines, *box.errors), style.font_size, margins(style))
        label = labels.get(box.id, 0.0)
        if direction == "TB":  # the edge label beside the edge, which leaves the box's middle
            found[box.id] = (
                height + style.ranksep * 72 + style.edge_font_size * 1.2,
                max(width, width / 2 + label) + style.nodesep * 72,
            )
        else:  # the edge label above the edge
            found[box.id] = (
                width + style.ranksep * 72 + label,
                max(height, height / 2 + style.edge_font_size * 1.2 * bool(label)) + style.nodesep * 72,
            )
    return found


def _titles(diagram: Diagram, direction: str, style: Style) -> dict[str, tuple[float, float, float, float]]:
    """What each cluster's title adds to its content along and across the ranks, and the
    least room it needs along and across them, in points. Graphviz puts it above the content."""
    found = {}
    for cluster in diagram.clusters:
        width, height = measure.width(cluster.title, style.font_size) + 8, style.font_size * 1.2 + 4
        found[cluster.id] = (height, 0.0, 0.0, width) if direction == "TB" else (0.0, height, width, 0.0)
    return found


def _units(diagram: Diagram, box_sizes: dict, titles: dict, longest: float = math.inf) -> list[_Unit]:
    """Boxes and blocks with their place in the drawing before any cut, nested groups opened, and a block
    longer than `longest` too (ViT's `encoder`, a page long by itself): a column may then begin inside it,
    where one tensor alone goes on, as inside a group."""
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
        sizes, units, cut = {}, {}, set()  # cut: the groups (and long blocks) opened into their units
        for item in children.get(scope_id, ()):
            key = item if isinstance(item, str) else item.id
            if isinstance(item, str):
                sizes[key], units[key] = box_sizes[key], []
            else:
                height, width, found = place(item.id, 0.0, opened and item.role == "group")
                add_along, add_across, least_along, least_across = titles[key]
                sizes[key] = (
                    max(height + add_along, least_along) + _PAD[0],
                    max(width + add_across, least_across) + _PAD[1],
                )
                units[key] = found
                if opened and item.role == "group":
                    cut.add(key)
                elif opened and sizes[key][0] > longest:  # a block a page long: opened as a group is
                    units[key] = place(item.id, 0.0, True)[2]
                    cut.add(key)
        start = {}
        for item in children.get(scope_id, ()):  # drawing order is topological
            key = item if isinstance(item, str) else item.id
            start[key] = max(
                (start[p] + sizes[p][0] for p in before.get((scope_id, key), ()) if p in start), default=0.0
            )
        placed = []
        for item in children.get(scope_id, ()):
            key = item if isinstance(item, str) else item.id
            at = offset + start[key]
            if isinstance(item, str) or key not in cut:
                placed.append(_Unit(key, at, *sizes[key]))
            else:
                placed += (
                    [
                        _Unit(u.id, u.start + at + sizes[key][0] - _height(units[key]), u.height, u.width, key)
                        for u in units[key]
                    ]
                    if units[key]
                    else []
                )
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
    # rounded, so that a unit that starts where another ends is not counted beside it
    events = [(round(u.start, 6), 1, u.width) for u in units]
    events += [(round(u.start + u.height, 6), 0, -u.width) for u in units]
    events.sort()
    return max(accumulate(map(itemgetter(2), events), initial=0.0))  # the running sum of the changes


def _cutter(order: list[_Unit], height: float, *, whole_groups: bool, blocked: set[int] = frozenset()):
    """A function of `parts`: where to cut `order` (the units by start; `height` their
    extent's) into at most that many columns of consecutive units, as even in height
    as can be, only where nothing above reaches below (and, with whole_groups, not
    inside a group; nor before an index in `blocked`). The cuts come as bounds: 0, the
    index in `order` where each later column begins, and len(order)."""
    # Where a column may begin does not depend on the height sought: before a unit
    # that nothing above reaches past (and, with whole_groups, that does not go on
    # the group of the unit above it). The first unit only ever starts the first column.
    cuts, ends, bottom = [], [], 0.0
    for index, unit in enumerate(order):
        if (
            index
            and index not in blocked
            and unit.start >= bottom - 1e-9
            and (not whole_groups or unit.group is None or unit.group != order[index - 1].group)
        ):
            cuts.append(index)
            ends.append(unit.start + unit.height)
        bottom = max(bottom, unit.start + unit.height)

    def first_past(at: int, top: float, most: float) -> int:
        """The first possible cut from `at` whose unit would end more than `most` below
        `top`, or len(cuts). Every unit has some height, so the possible cuts'
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
