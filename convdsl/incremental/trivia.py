"""White space and comments typed or taken out, line breaks included: the Enter key before ` -> maxpool`, a
continued line joined to the one before, a line's indentation, a comment line typed (its `#` too), pasted or
deleted. The text means what it meant; only places move.

Whether it means the same is read from the syntax trees: the new text's must be the old one's but for its
places (syntax.alike). A line break is not always white space to the grammar (it ends a statement, and
ends a comment), and a `#` typed before code makes it a comment, so the text alone cannot say. Lowering and
inference then give what they gave before with every place after the edit moved (no token lies in the
changed stretch: edit.trivia_change), and so do the diagnostics, but where a diagnostic depends on the text
around a place rather than the place alone:
- a diagnostic whose place or fix touches the changed stretch (a span quoting its text, a fix edit next to
  it: which side of the new text is it on?);
- the edit inside the call of a layer or block (help quotes a layer's call; a call broken over two lines is
  no longer quoted);
- a line number in a diagnostic's words (`first defined at line 12`), once lines moved;
- shapes read while lowering (`in.shape`: the early shapes keep their places).
There the text is analysed whole. The network given is for the diagnostics only (the layers' places, for
the notes that name them): its block instances keep the places of the text before, and no state is kept
(the server's whole analysis, which follows every quick one, makes the next).
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..diagnostics import Diagnostic
from ..frontend import parse
from ..source import Source, Span
from ..syntax import alike
from .edit import Change

_LINE_NUMBER = re.compile(r"\bline \d|:\d")


class Mover:
    """Places of the old text as they are in the new: a place at or after the changed stretch's end moves
    by what the edit added; an end after its start moves too (no token ends in white space or a comment)."""

    def __init__(self, path: str, old: Source, new: Source, change: Change):
        self.path = path
        self.old, self.new = old, new
        self.start, self.old_end = change.start, change.old_end
        self.delta = change.new_end - change.old_end
        self.first_line = old.position(change.start)[0]
        self.last_line = old.position(change.old_end)[0]
        self.lines = new.text.count("\n", change.start, change.new_end) - old.text.count(
            "\n", change.start, change.old_end
        )

    def offsets(self, span) -> tuple[int, int]:
        old = self.old
        return old.offset(span.line, span.column), old.offset(span.end_line, span.end_column)

    def near(self, span) -> bool:
        """Whether the span may reach the changed lines (cheap: by lines)."""
        return span.path == self.path and span.line <= self.last_line and span.end_line >= self.first_line

    def __call__(self, span):
        if span.path != self.path or span.end_line < self.first_line:
            return span
        if span.line > self.last_line:
            lines = self.lines
            if not lines:
                return span
            return Span(span.path, span.line + lines, span.column, span.end_line + lines, span.end_column)
        start, end = self.offsets(span)
        if start >= self.old_end:
            start += self.delta
        if end > self.start:
            end += self.delta
        line, column = self.new.position(start)
        end_line, end_column = self.new.position(end)
        if (line, column, end_line, end_column) == (span.line, span.column, span.end_line, span.end_column):
            return span
        return Span(span.path, line, column, end_line, end_column)

    def touches(self, span) -> bool:
        """Whether the span reaches the changed stretch, or its ends (inclusive)."""
        if span is None or not self.near(span):
            return False
        start, end = self.offsets(span)
        return start <= self.old_end and end >= self.start

    def inside(self, span) -> bool:
        """Whether the changed stretch lies inside the span, between two of its tokens."""
        if span is None or not self.near(span):
            return False
        start, end = self.offsets(span)
        return start < self.start and self.old_end < end


def relaid(state, change: Change, source: Source, program):
    """(the diagnostics, the network for them) of the new text, whose change from state's text is white space
    and comments only (edit.trivia_change) and whose syntax tree is `program`; None where it is analysed whole
    (see the module's docstring)."""
    network = state.network
    if program is None or network.shape_reads:
        return None
    old_program = state.program
    if old_program is None:
        old_program, _ = parse(state.source)
    if old_program is None or not alike(old_program, program):
        return None
    move = Mover(state.path, state.source, source, change)
    for diagnostic in state.diagnostics:
        if move.touches(diagnostic.span) or any(
            move.touches(edit.span) for fix in diagnostic.fixes for edit in fix.edits
        ):
            return None
        if move.lines and _numbers_lines(diagnostic):
            return None
    sites = set()
    moved = {}
    for name, data in network.layer_graph.nodes.items():
        if move.inside(data.span):
            return None
        site = data.site
        while site is not None and id(site) not in sites:
            sites.add(id(site))
            if move.inside(site.call_span):
                return None
            site = site.parent
        node = data.moved(move)
        if node is not data:
            moved[name] = node
    inputs = {name: spec.moved(move) for name, spec in network.inputs.items()}
    network = replace(
        network,
        layer_graph=network.layer_graph.with_nodes(moved),
        inputs=inputs,
        diagnostics=tuple(_moved(d, move) for d in network.diagnostics),
        sources={**network.sources, state.path: source},
    )
    return tuple(_moved(d, move) for d in state.diagnostics), network


def _numbers_lines(diagnostic: Diagnostic) -> bool:
    words = [diagnostic.message, diagnostic.label, diagnostic.help or "", *diagnostic.notes]
    words += [fix.description for fix in diagnostic.fixes]
    return any(_LINE_NUMBER.search(text) for text in words)


def _moved(diagnostic: Diagnostic, move: Mover) -> Diagnostic:
    span = move(diagnostic.span) if diagnostic.span is not None else None
    fixes = tuple(
        replace(fix, edits=tuple(replace(edit, span=move(edit.span)) for edit in fix.edits)) for fix in diagnostic.fixes
    )
    if span is diagnostic.span and all(
        a.span is b.span for fix, new in zip(diagnostic.fixes, fixes) for a, b in zip(fix.edits, new.edits)
    ):
        return diagnostic
    return replace(diagnostic, span=span, fixes=fixes)
