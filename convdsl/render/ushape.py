"""Encoder-decoder networks drawn as a U, as in the U-Net paper's figure: the
encoder goes down, the decoder comes up beside it, and each skip runs straight
across from an encoder level to the decoder level it feeds.

The shape is found on the drawing's units (boxes, and blocks drawn whole, as
wrap.py sees them): a chain through every unit in order, and at least two
skips from the chain to a later point of it, nested like brackets (the first
skip leaves first and arrives last). What lies inside the innermost skip is
the bottom of the U. The writer then draws the decoder's links reversed (so
Graphviz ranks them upwards) and puts each skip's two ends on one rank.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from .diagram import Diagram, Link


@dataclass(frozen=True)
class UShape:
    decoder: frozenset[str]  # box ids on the way up
    rows: tuple[tuple[str, ...], ...]  # box ids drawn on one rank: a level of the U, left to right
    skips: frozenset[tuple[str, str]]  # (tail, head) of the skips' links
    blocks: bool = False  # the levels hold blocks drawn in full: only the skips' ends share a rank
    row_of: dict = field(default_factory=dict, hash=False, compare=False)  # box id -> its row

    def __post_init__(self):
        self.row_of.update({box: index for index, row in enumerate(self.rows) for box in row})

    def across(self, link: Link) -> bool:
        """Whether the link is a skip between blocks drawn in full (only its ends share a rank)."""
        return self.blocks and (link.tail, link.head) in self.skips

    def reversed(self, link: Link) -> bool:
        """Whether the link is drawn head first: it goes up the decoder from one level to the next,
        or turns into it. Links within a level run left to right; skips run across."""
        return (
            link.head in self.decoder
            and (link.tail, link.head) not in self.skips
            and self.row_of.get(link.tail, -1) != self.row_of.get(link.head, -2)
        )


def find(diagram: Diagram, units: list, unit_of: dict[str, int], rows_across: bool = True) -> UShape | None:
    """The U of an encoder-decoder network, or None when the drawing has no such shape.

    units: the drawing's units in order; unit_of: box id -> the index of its unit.
    When every unit is one box (a collapsed drawing), each skip's two units make a level
    of the U, drawn on one rank, as in the U-Net paper; any other unit has its own (the
    input above the encoder, the output above the decoder). rows_across: the layers of each innermost
    block on one rank (top to bottom only: drawn left to right, a rank's edges would run through their labels)."""
    count = len(units)
    if count < 5:
        return None
    steps, long = set(), {}
    for link in diagram.links:
        a, b = unit_of[link.tail], unit_of[link.head]
        if b == a + 1:
            steps.add(a)
        elif b > a + 1:
            long.setdefault((a, b), link)
        elif b < a:
            return None  # a link against the drawing order (a cycle): no U
    if len(steps) < count - 1 or len(long) < 2:
        return None  # not one chain through every unit, or too few skips
    pairs = sorted(long)
    for (a1, b1), (a2, b2) in pairwise(pairs):
        if not (a1 < a2 and b2 < b1):
            return None  # skips that share an end or cross: not nested like brackets
    inner_head = pairs[-1][1]
    boxes_of: dict[int, list[str]] = {}
    for box in diagram.boxes:
        boxes_of.setdefault(unit_of[box.id], []).append(box.id)
    level = {}  # unit index -> its row's key
    for a, b in pairs:
        level[a] = level[b] = a
    for index in range(count):
        level.setdefault(index, index)
    rows: dict[int, list[str]] = {}
    if not any(len(boxes) > 1 for boxes in boxes_of.values()):
        for index in range(count):
            rows.setdefault(level[index], []).extend(boxes_of.get(index, ()))
    else:
        # blocks drawn in full: each skip's two ends share a rank, and the layers of each innermost block
        # (U-Net's `double`: conv, relu, conv, relu) run across the page on one rank, as the U-Net paper
        # draws a level: a U of blocks drawn each downwards (encoder) or upwards (decoder) is three times
        # taller than wide. A block's row is merged with the skip that starts or ends in it.
        for pair in pairs:
            rows[pair[0]] = [long[pair].tail, long[pair].head]
        for number, row in enumerate(_block_rows(diagram) if rows_across else ()):
            touching = [key for key, ends in rows.items() if set(ends) & set(row)]
            key = touching[0] if touching else -1 - number
            merged = [b for k in touching for b in rows.pop(k)]
            rows[key] = list(row) + [b for b in merged if b not in row]
    decoder = frozenset(box.id for box in diagram.boxes if unit_of[box.id] >= inner_head)
    skips = frozenset((long[pair].tail, long[pair].head) for pair in pairs)
    blocks = any(len(boxes) > 1 for boxes in boxes_of.values())
    return UShape(decoder, tuple(tuple(rows[key]) for key in sorted(rows)), skips, blocks)


# The most layers a block may have to be drawn as a row: U-Net's double convolution has 4 (6 with batch
# norm); a longer block is drawn down the page, as a row of it would be wider than the U is tall.
ROW_MOST = 8


def _block_rows(diagram: Diagram) -> list[tuple[str, ...]]:
    """The boxes of each innermost block (one with no block or group inside) that is a plain chain, in
    drawing order: a row of the U."""
    inner = {c.id for c in diagram.clusters} - {c.parent for c in diagram.clusters}
    roles = {c.id: c.role for c in diagram.clusters}
    members: dict[str, list[str]] = {}
    for box in diagram.boxes:
        if box.cluster in inner and roles[box.cluster] == "block":
            members.setdefault(box.cluster, []).append(box.id)
    found = []
    for boxes in members.values():
        inside = set(boxes)
        steps = [(link.tail, link.head) for link in diagram.links if link.tail in inside and link.head in inside]
        chain = len(steps) == len(boxes) - 1 and all((a, b) in steps for a, b in zip(boxes, boxes[1:]))
        if chain and 1 < len(boxes) <= ROW_MOST:
            found.append(tuple(boxes))
    return found
