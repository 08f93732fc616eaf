"""Diagnostic reporters: rustc-style text, concise lines, JSON objects, GitHub annotations."""

from __future__ import annotations

from .diagnostics import Diagnostic, Severity
from .fixes import as_json as fix_json
from .printable import printable
from .source import Source

_COLORS = {Severity.ERROR: "\033[1;31m", Severity.WARNING: "\033[1;33m", Severity.NOTE: "\033[1;36m"}
_BOLD, _BLUE, _RESET = "\033[1m", "\033[1;34m", "\033[0m"


def _paint(text: str, style: str, color: bool) -> str:
    return f"{style}{text}{_RESET}" if color else text


def text(diag: Diagnostic, sources: dict[str, Source], *, color: bool = False) -> str:
    """The rustc layout: header, location, the source line, a caret under the span, help."""
    # Every piece that may hold text from a file (names, strings, paths, the source line) is made
    # printable before colour is added: a file cannot send the terminal an escape sequence.
    level = diag.level
    header = _paint(f"{level.value}[{diag.code.code}]", _COLORS[level], color) + _paint(
        f": {printable(diag.message)}", _BOLD, color
    )
    lines = [header]
    span = diag.span
    if span is None:
        for note in diag.notes:
            lines.append(f"  = note: {printable(note)}")
        if diag.help_text:
            lines.append(f"  = help: {printable(diag.help_text)}")
        return "\n".join(lines)
    source = sources.get(span.path)
    gutter = len(str(span.line))
    pad = " " * gutter
    bar = _paint("|", _BLUE, color)
    anchor = getattr(span, "anchor", None)  # a file without lines: what in it (an ONNX node)
    if anchor:
        lines.append(f"{pad}{_paint('-->', _BLUE, color)} {printable(span.path)}: {printable(anchor)}")
    else:
        lines.append(f"{pad}{_paint('-->', _BLUE, color)} {printable(span.path)}:{span.line}:{span.column}")
    if source is not None and not anchor:
        code_line = source.line_text(span.line).expandtabs(1)
        if len(code_line) > 200:  # keep one pathological line from flooding the terminal
            start = max(0, span.column - 60)
            code_line = ("..." if start else "") + code_line[start : start + 160] + "..."
            column = span.column - start + (3 if start else 0)
        else:
            column = span.column
        end = span.end_column if span.end_line == span.line else len(code_line) + 1
        end = min(end, len(code_line) + 1)
        if not code_line.isprintable():  # escapes are wider than what they stand for: move the caret too
            column, end = len(printable(code_line[: column - 1])) + 1, len(printable(code_line[: end - 1])) + 1
            code_line = printable(code_line)
        width = max(1, end - column)
        caret = " " * (column - 1) + "^" * width
        lines.append(f"{pad} {bar}")
        lines.append(f"{_paint(str(span.line), _BLUE, color)} {bar} {code_line}")
        label = f" {printable(diag.label)}" if diag.label else ""
        lines.append(f"{pad} {bar} " + _paint(caret + label, _COLORS[level], color))
    for note in diag.notes:
        lines.append(f"{pad} = note: {printable(note)}")
    if diag.help_text:
        lines.append(f"{pad} = {_paint('help', _BOLD, color)}: {printable(diag.help_text)}")
    return "\n".join(lines)


def concise(diag: Diagnostic) -> str:
    span = diag.span
    where = f"{span.path}:{span.line}:{span.column}" if span else "-"
    if getattr(span, "anchor", None):
        where = f"{span.path}: {span.anchor}"
    help_ = f" (help: {diag.help_text})" if diag.help_text else ""
    return printable(f"{where}: {diag.level.value}[{diag.code.code}] {diag.code.name}: {diag.message}{help_}")


def as_json(diag: Diagnostic, path: str) -> dict:
    """The diagnostic object of the JSON output (a public interface: only add keys)."""
    span = diag.span
    found = {
        "code": diag.code.code,
        "name": diag.code.name,
        "severity": diag.level.value,
        "message": diag.message,
        "path": span.path if span else path,
        "line": span.line if span else 1,
        "column": span.column if span else 1,
        "end_line": span.end_line if span else 1,
        "end_column": span.end_column if span else 1,
        "label": diag.label or None,
        "help": diag.help_text,
        "notes": list(diag.notes),
        "fixes": [fix_json(f) for f in diag.fixes],
    }
    if getattr(span, "anchor", None):  # a file without lines (an ONNX graph): what in it the diagnostic is about
        found["anchor"] = span.anchor
    return found


def _escape_data(value: str) -> str:
    # line breaks are the command's own syntax (%0A); other control characters are made visible
    value = "\n".join(printable(line) for line in value.replace("\r", "").split("\n"))
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(diag: Diagnostic, path: str) -> str:
    """A GitHub Actions workflow command, shown as an annotation on the pull request."""
    command = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}[diag.level]
    span = diag.span
    props = [f"file={_escape_property(span.path if span else path)}"]
    if span:
        props += [f"line={span.line}", f"col={span.column}", f"endLine={span.end_line}", f"endColumn={span.end_column}"]
    props.append(f"title={_escape_property(f'{diag.code.code} {diag.code.name}')}")
    message = diag.message + (f"\nhelp: {diag.help_text}" if diag.help_text else "")
    if getattr(span, "anchor", None):
        message = f"{span.anchor}: {message}"
    return f"::{command} {','.join(props)}::{_escape_data(message)}"


def tally(diagnostics) -> str:
    errors = sum(1 for d in diagnostics if d.level is Severity.ERROR)
    warnings = sum(1 for d in diagnostics if d.level is Severity.WARNING)
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return " and ".join(parts)
