"""Between convdsl's spans (1-based lines, columns in characters) and LSP ranges (0-based, UTF-16 units)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types

from ..diagnostics import Diagnostic, Severity
from ..source import Source, Span

SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.NOTE: types.DiagnosticSeverity.Information,
}


def uri_to_path(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return uri  # an untitled buffer: its URI names it
    return unquote(parsed.path)


def path_to_uri(path: str) -> str:
    """The file URI of a path, with `..` and `.` taken out (an include written `../lib.cdsl` names the same
    document the editor has open)."""
    scheme = path.split(":", 1)[0] if ":" in path.split("/", 1)[0] else ""
    if len(scheme) > 1:  # already a URI (an untitled buffer's `untitled:Untitled-1`); `C:` is a drive
        return path
    try:
        return Path(os.path.abspath(path)).as_uri()
    except ValueError:  # not an absolute path after all (an untitled buffer's name)
        return path


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2 if not text.isascii() else len(text)


def to_position(source: Source | None, line: int, column: int) -> types.Position:
    """The LSP position of a 1-based line and character column."""
    if source is None:
        return types.Position(max(0, line - 1), max(0, column - 1))
    text = source.line_text(line)
    return types.Position(max(0, line - 1), _utf16(text[: max(0, column - 1)]))


def to_range(source: Source | None, span: Span | None) -> types.Range:
    if span is None:
        return types.Range(types.Position(0, 0), types.Position(0, 0))
    return types.Range(to_position(source, span.line, span.column), to_position(source, span.end_line, span.end_column))


def from_position(source: Source, position: types.Position) -> tuple[int, int]:
    """1-based line and character column of an LSP position (UTF-16 units on its line)."""
    line = position.line + 1
    text = source.line_text(line)
    if text.isascii():
        return line, min(position.character, len(text)) + 1
    units = 0
    for index, char in enumerate(text):
        if units >= position.character:
            return line, index + 1
        units += 2 if ord(char) > 0xFFFF else 1
    return line, len(text) + 1


_BREAK = re.compile(r"\r\n|\r|\n")


def text_offset(text: str, position: types.Position) -> int:
    """The offset in text of an LSP position: lines broken at \n, \r\n or \r only (not at what Python's
    splitlines() also takes for one: U+2028, a form feed...), UTF-16 units, past a line's end its end, past
    the last line the text's end."""
    if "\r" not in text:  # the usual case, split at C speed (a 20,000-line file: 7 ms line by line)
        parts = text.split("\n", position.line)
        if len(parts) <= position.line:
            return len(text)
        start = len(text) - len(parts[-1])
    else:
        start = 0
        for _ in range(position.line):
            found = _BREAK.search(text, start)
            if found is None:
                return len(text)
            start = found.end()
    found = _BREAK.search(text, start)
    line = text[start : found.start() if found is not None else len(text)]
    if line.isascii():
        return start + min(position.character, len(line))
    units = 0
    for index, char in enumerate(line):
        if units >= position.character:
            return start + index
        units += 2 if ord(char) > 0xFFFF else 1
    return start + len(line)


def apply_change(text: str, change) -> str:
    """A didChange content change applied to text (a whole new text, or a range replaced)."""
    range_ = getattr(change, "range", None)
    if range_ is None:
        return change.text
    start, end = text_offset(text, range_.start), text_offset(text, range_.end)
    return text[:start] + change.text + text[max(start, end) :]


def offset_of(source: Source, line: int, column: int) -> int:
    return source._line_starts[line - 1] + column - 1 if line - 1 < len(source._line_starts) else len(source.text)


_NAMED = re.compile(r"`([^`\s]+)`")
_AT = re.compile(r"\bat (?:line (\d+)\b|(\S+):(\d+)\b)")


def _note_locations(note: str, span: Span, sources: dict[str, Source], locate) -> list[types.Location]:
    """Where a note points: the layers it names in backticks (a branch trace names each step), or a
    `first defined at file:line` / `at line N` place."""
    found = []
    for name in _NAMED.findall(note):
        target = locate(name) if locate is not None else None
        if target is not None:
            found.append(types.Location(path_to_uri(target.path), to_range(sources.get(target.path), target)))
    for match in _AT.finditer(note):
        line, path, other = match.groups()
        if line:
            target_path, number = span.path, int(line)
        else:
            target_path = next((p for p in sources if p == path or p.endswith("/" + path)), None)
            number = int(other)
            if target_path is None:
                continue
        source = sources.get(target_path)
        found.append(
            types.Location(
                path_to_uri(target_path),
                types.Range(
                    types.Position(number - 1, 0),
                    types.Position(number - 1, _utf16(source.line_text(number)) if source is not None else 0),
                ),
            )
        )
    return found


def diagnostic(diag: Diagnostic, sources: dict[str, Source], data: object = None, locate=None) -> types.Diagnostic:
    """The LSP diagnostic: code, range, severity and message as `check --format json` has them; the label,
    notes and help as related information (editors show them under the message): a note that names layers
    or a place is shown there, the others at the diagnostic. locate: a layer's name -> its span, or None."""
    span = diag.span
    source = sources.get(span.path) if span is not None else None
    where = to_range(source, span)
    related = []
    if span is not None:
        location = types.Location(path_to_uri(span.path), where)
        if diag.label:
            related.append(types.DiagnosticRelatedInformation(location, diag.label))
        for note in diag.notes:
            places = _note_locations(note, span, sources, locate) or [location]
            related += [types.DiagnosticRelatedInformation(place, f"note: {note}") for place in places]
        help_ = getattr(diag, "help_text", diag.help)
        if help_:
            related.append(types.DiagnosticRelatedInformation(location, f"help: {help_}"))
    return types.Diagnostic(
        range=where,
        message=diag.message,
        severity=SEVERITY[diag.level],
        code=diag.code.code,
        source="convdsl",
        related_information=related or None,
        data=data,
        tags=[types.DiagnosticTag.Unnecessary] if diag.code.code == "W001" else None,
    )
