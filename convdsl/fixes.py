"""Fixes as data: a description and the text edits that make it, carried on a Diagnostic.

A fix is made where its diagnostic is made (the layer that finds a rounded size
knows which argument to change), as edits of the source text, so that `check`
can show it, an editor can apply it as a code action, and fixcheck.py can apply
it and run inference again: only a fix that removes its error without making a
new one is offered.
"""

from __future__ import annotations

import re

from .records import frozen
from .source import Source, Span


@frozen
class Edit:
    """Replace the text of `span` (empty for an insertion) with `text`."""

    span: Span
    text: str


@frozen
class Fix:
    """One way to fix a diagnostic: what it does, in words, and the edits that do it.

    `also` says what else the edits change (filled in when the fix is checked:
    "also changes output `y` to 3 x 64 x 64"), empty when nothing else changes.
    """

    description: str
    edits: tuple[Edit, ...]
    also: str = ""

    def text(self) -> str:
        return self.description + (f" ({self.also})" if self.also else "")


def help_text(diag) -> str | None:
    """The help a user reads: the diagnostic's fixes in words, then its own advice."""
    fixes = getattr(diag, "fixes", ())
    parts = []
    if fixes:
        words = [fix.text() for fix in fixes]
        parts.append(words[0] if len(words) == 1 else ", ".join(words[:-1]) + ", or " + words[-1])
    if diag.help:
        parts.append(diag.help)
    return "; ".join(parts) if parts else None


def as_json(fix: Fix) -> dict:
    return {
        "description": fix.description,
        "also": fix.also or None,
        "edits": [
            {
                "path": e.span.path,
                "line": e.span.line,
                "column": e.span.column,
                "end_line": e.span.end_line,
                "end_column": e.span.end_column,
                "text": e.text,
            }
            for e in fix.edits
        ],
    }


class EditError(ValueError):
    """Edits that cannot be applied: overlapping, or outside their file."""


def apply(sources: dict[str, Source], edits) -> dict[str, str]:
    """The new text of every file the edits touch, by path."""
    by_path: dict[str, list[Edit]] = {}
    for edit in edits:
        by_path.setdefault(edit.span.path, []).append(edit)
    out = {}
    for path, file_edits in by_path.items():
        source = sources.get(path)
        if source is None:
            raise EditError(f"no text for {path}")
        text = source.text
        placed = sorted(
            (
                (offset(source, e.span.line, e.span.column), offset(source, e.span.end_line, e.span.end_column), e.text)
                for e in file_edits
            ),
            reverse=True,
        )
        previous = len(text) + 1
        for start, end, replacement in placed:
            if end > previous or end < start:
                raise EditError("overlapping edits")
            text = text[:start] + replacement + text[end:]
            previous = start
        out[path] = text
    return out


def offset(source: Source, line: int, column: int) -> int:
    """The character offset of a 1-based line and column."""
    starts = source._line_starts
    if not 1 <= line <= len(starts):
        raise EditError(f"line {line} is outside {source.path}")
    end = starts[line] if line < len(starts) else len(source.text) + 1
    position = starts[line - 1] + column - 1
    if position >= end + 1:
        raise EditError(f"column {column} is outside line {line} of {source.path}")
    return position


def text_of(source: Source, span: Span) -> str:
    return source.text[offset(source, span.line, span.column) : offset(source, span.end_line, span.end_column)]


_KEYWORD = re.compile(r"\s*([A-Za-z_][A-Za-z_0-9]*)\s*=(?!=)")


def set_argument(source: Source | None, call: Span, written: Span | None, name: str, value: str) -> Edit | None:
    """The edit that gives a call's argument `name` the value `value` (text).

    written: the span of the argument where the call gives it (a keyword's whole
    `k=3`, or a positional value), None where it does not; the argument is then
    added as a keyword, inside the call's parentheses or with new ones. None when
    the text is not what the spans say (a file changed since it was read).
    """
    if source is None:
        return None
    try:
        if written is not None:
            current = text_of(source, written)
            keyword = _KEYWORD.match(current)
            return Edit(written, f"{keyword.group(1)}={value}" if keyword else value)
        whole = text_of(source, call)
    except EditError:
        return None
    end = Span(call.path, call.end_line, call.end_column, call.end_line, call.end_column)
    if whole.endswith(")"):
        inner = whole[whole.index("(") + 1 : -1] if "(" in whole else ""
        before = Span(call.path, call.end_line, call.end_column - 1, call.end_line, call.end_column - 1)
        return Edit(before, f"{', ' if inner.strip() else ''}{name}={value}")
    return Edit(end, f"({name}={value})")
