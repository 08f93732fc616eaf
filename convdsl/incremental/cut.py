"""What lowering leaves of a top-level chain after an element that gives no tensor (a name no kind has, E005):
found on the syntax of the elements after it and the nodes the lowering before made for them.

Lowering passes None on as the tensor flowing in (lower/statements.py, blocks.py, repeats.py):
- a layer call makes its node as before, without that input (`incomplete`), and a tensor flows on from it;
- a block call makes nothing (no instance, and no name claimed), and None flows on;
- a group passes None to its first element; a condition that held (its element made nodes before) to its
  element;
- a repeat's first copy takes it; a copy that made no layer stops the repeat there, so every copy's layers
  go; one that made a layer passes a tensor on to the next copy, made as before.
`walk` follows None through the elements in turn until a tensor flows again, and collects the nodes that go.
It declines (None) where what is left is not that: a name claimed by place after a block that made nothing
(in a labelled group or repeat, its later elements' places, their names, would move), a merge or `reuse`
reached by None, a repeat within a repeat or with an index (copies may differ), a labelled block call.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

from ..layers import KINDS
from ..syntax import Call, Group, Labelled, Repeat, When


@dataclass
class _Names:
    """A scope of names as lowering keeps it: by place (a labelled group's or repeat's) or by kind."""

    positional: bool
    skipped: bool = False  # a block that made nothing: later places in this scope would move


@dataclass
class Cut:
    """What None flowing into `elements` leaves: the nodes that go, the nodes made by the elements walked (the
    region the flowing tensor fed), and the blocks whose unlabelled instances at the top level lose a number."""

    candidates: dict  # name -> LayerNode: the nodes the elements made (made_by over all of them)
    blocks: object  # the file's block names
    gone: set = field(default_factory=set)
    region: set = field(default_factory=set)
    unnumbered: set = field(default_factory=set)
    _in_repeat: bool = False
    _places: Places | None = None

    def __post_init__(self):
        self._places = Places(self.candidates)

    def walk(self, elements) -> bool | None:
        """Whether None still flows after the elements (True), a tensor flows again (False), or None where
        what lowering leaves is not known here."""
        names = _Names(positional=False)
        for element in elements:
            still = self._element(element, names, None)
            if still is not True:
                return still
        return True

    def _element(self, element, names: _Names, label: str | None) -> bool | None:
        if isinstance(element, Labelled):
            if label is not None:
                return None  # two labels: lowering's error
            if isinstance(element.element, (Group, Repeat)):
                if names.positional and names.skipped:
                    return None  # its label is claimed by place after a block that made nothing
                return self._element(element.element, _Names(positional=True), element.label.id)
            return self._element(element.element, names, element.label.id)
        if isinstance(element, Call):
            return self._call(element, names, label)
        if isinstance(element, When):
            if not self._places.made_by(element.span):
                return None  # a condition that did not hold (or an element that made nothing): lowering's to say
            return self._element(element.element, names, label)
        if isinstance(element, Group):
            for inner in element.chain.elements:
                still = self._element(inner, names, None)
                if still is not True:
                    return still
            return True
        if isinstance(element, Repeat):
            return self._repeat(element, names)
        return None

    def _call(self, call: Call, names: _Names, label: str | None) -> bool | None:
        name = call.name.id
        made = self._places.made_by(call.span)
        if name in self.blocks:
            if label is not None:
                return None  # its label is not claimed: a later use of it is no longer a duplicate
            self.gone.update(made)
            self.region.update(made)
            names.skipped = True
            if not names.positional:
                self.unnumbered.add(name)
            return True
        kind = KINDS.get(name)
        if kind is None or kind.variadic or kind.statement or not made:
            return None  # `reuse`, a name no kind has, a merge (its inputs would be its arguments alone)
        if names.positional and names.skipped:
            return None  # named by its place, which moved
        self.region.update(made)
        return False

    def _repeat(self, repeat: Repeat, names: _Names) -> bool | None:
        if self._in_repeat or repeat.index is not None:
            return None
        made = self._places.made_by(repeat.span)
        gone = len(self.gone)
        self._in_repeat = True
        try:
            still = self._element(repeat.element, names, None)
        finally:
            self._in_repeat = False
        if still is True:
            # the first copy made no layer (a layer reached by None is made and passes a tensor on): lowering
            # stops the repeat there, and no copy is made
            self.gone.update(made)
            self.region.update(made)
        elif still is False and len(self.gone) != gone:
            return None  # the first copy lost nodes and the others did not: which are whose, lowering knows
        return still


class Places:
    """made_by for many elements of one chain: each node's places (its span, and the calls of the block instances
    it is in) sorted by where they begin, so that the nodes an element made are found by bisection, not by a
    pass over every node (500 uses of a block after a cut: 500 passes over 1,500 nodes)."""

    def __init__(self, nodes: dict):
        self.nodes = nodes
        self.position = {name: index for index, name in enumerate(nodes)}
        places = [
            ((span.path, span.line, span.column), (span.end_line, span.end_column), name)
            for name, data in nodes.items()
            for span in _written_at(data)
        ]
        places.sort(key=lambda place: place[0])
        self.starts = [place[0] for place in places]
        self.places = places

    def made_by(self, span) -> dict:
        """As made_by(nodes, span), in the nodes' order."""
        low = bisect_left(self.starts, (span.path, span.line, span.column))
        high = bisect_left(self.starts, (span.path, span.end_line, span.end_column), low)
        end = (span.end_line, span.end_column)
        found = {name for _, place_end, name in self.places[low:high] if place_end <= end}
        return {name: self.nodes[name] for name in sorted(found, key=self.position.__getitem__)}


def made_by(nodes: dict, span) -> dict:
    """The nodes (name -> LayerNode) an element written at `span` made: those written in it, and those of block
    instances used in it (at any depth)."""
    # `_written_at` written out: asked on every splice before a group, and through the generator a pass over
    # ResNet-152's nodes takes 0.46 ms against 0.23
    found = {}
    for name, data in nodes.items():
        if data.kind in ("input", "output"):
            continue
        if data.span is not None and _within(data.span, span):
            found[name] = data
            continue
        site = data.site
        while site is not None:
            call = site.call_span
            if call is not None and _within(call, span):
                found[name] = data
                break
            site = site.parent
    return found


def _written_at(data):
    """Where a layer's node was written: its own span, then the calls of the block instances it is in, innermost
    first (none for an input or an output)."""
    if data.kind in ("input", "output"):
        return
    if data.span is not None:
        yield data.span
    site = data.site
    while site is not None:
        if site.call_span is not None:
            yield site.call_span
        site = site.parent


def _within(inner, outer) -> bool:
    return (
        inner.path == outer.path
        and (outer.line, outer.column) <= (inner.line, inner.column)
        and (inner.end_line, inner.end_column) <= (outer.end_line, outer.end_column)
    )
