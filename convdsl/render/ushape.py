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


def find(diagram: Diagram, units: list, unit_of: dict[str, int]) -> UShape | None:
    """The U of an encoder-decoder network, or None when the drawing has no such shape.

    units: the drawing's units in order; unit_of: box id -> the index of its unit.
    When every unit is one box (a collapsed drawing), each skip's two units make a level
    of the U, drawn on one rank, as in the U-Net paper; any other unit has its own (the
    input above the encoder, the output above the decoder)."""
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
        # a level of blocks drawn in full would run their layers across the page, where Graphviz
        # orders them to spare crossings, not left to right: only the skips' ends share a rank,
        # and each block is drawn downwards in the encoder and upwards in the decoder
        for pair in pairs:
            rows[pair[0]] = [long[pair].tail, long[pair].head]
    decoder = frozenset(box.id for box in diagram.boxes if unit_of[box.id] >= inner_head)
    skips = frozenset((long[pair].tail, long[pair].head) for pair in pairs)
    blocks = any(len(boxes) > 1 for boxes in boxes_of.values())
    return UShape(decoder, tuple(tuple(rows[key]) for key in sorted(rows)), skips, blocks)
