"""Which diagnostics to report: `--select`/`--ignore`, `[tool.convdsl]` in pyproject.toml, inline comments.

A code is selected by its code (`W101`), its name (`redundant-bias`) or a
prefix of codes (`W`, `W1`). `select` keeps only the codes it names; `ignore`
then drops codes. A comment `# convdsl: ignore[W101]` (several codes separated
by commas; names work too) silences those codes on its own line, where a
diagnostic's span starts. Syntax errors and unreadable files (E001, E002) are
never silenced: there is nothing else to show for such a file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import Diagnostic, registry
from .source import Source

UNSILENCEABLE = frozenset({"E001", "E002"})
_INLINE = re.compile(r"#.*?convdsl:\s*ignore\[([^\]\n]*)\]")
_MARK = "convdsl:"


class SelectionError(ValueError):
    """A code or name in a selection that names no diagnostic."""


@dataclass(frozen=True)
class Selection:
    select: tuple[str, ...] = ()  # empty: every code
    ignore: tuple[str, ...] = ()
    origin: str = ""  # where it was read (a pyproject.toml), for messages

    def allows(self, code: str) -> bool:
        if code in UNSILENCEABLE:
            return True
        if self.select and not any(_matches(code, s) for s in self.select):
            return False
        return not any(_matches(code, s) for s in self.ignore)

    def merged(self, select=(), ignore=()) -> Selection:
        """This selection with the command line's on top: its --select replaces, its --ignore adds."""
        return Selection(tuple(select) or self.select, (*self.ignore, *ignore), self.origin)


def _matches(code: str, selector: str) -> bool:
    return code.startswith(selector)


def normalise(entries, where: str) -> tuple[str, ...]:
    """Codes, names and prefixes as codes and prefixes; SelectionError names what is unknown."""
    codes = {c.code: c for c in registry()}
    names = {c.name: c.code for c in registry()}
    out = []
    for entry in entries:
        entry = str(entry).strip()
        if not entry:
            continue
        upper = entry.upper()
        if entry in names:
            out.append(names[entry])
        elif upper in codes or (any(code.startswith(upper) for code in codes) and re.fullmatch(r"[EWN]\d*", upper)):
            out.append(upper)
        else:
            raise SelectionError(f"{where}: `{entry}` is not a diagnostic code or name (e.g. W101 or redundant-bias)")
    return tuple(out)


def parse_list(text: str) -> list[str]:
    return [part for part in re.split(r"[,\s]+", text) if part]


def inline_ignores(source: Source) -> dict[int, frozenset[str]]:
    """Line -> the codes a `# convdsl: ignore[...]` comment on it silences (unknown entries are skipped)."""
    text = source.text
    if _MARK not in text:
        return {}
    from .frontend import _COMMENT_OR_STRING

    out: dict[int, frozenset[str]] = {}
    for match in _COMMENT_OR_STRING.finditer(text):
        comment = match.group()
        if not comment.startswith("#") or _MARK not in comment:
            continue
        found = _INLINE.match(comment)
        if found is None:
            continue
        entries = []
        for entry in parse_list(found.group(1)):
            try:
                entries += normalise([entry], "")
            except SelectionError:
                continue
        line = text.count("\n", 0, match.start()) + 1
        out[line] = out.get(line, frozenset()) | frozenset(entries)
    return out


def apply(diagnostics, sources: dict[str, Source], selection: Selection | None = None) -> list[Diagnostic]:
    """The diagnostics the selection and the files' inline comments let through, in their order."""
    inline: dict[str, dict] = {}
    out = []
    for diag in diagnostics:
        code = diag.code.code
        if code in UNSILENCEABLE:
            out.append(diag)
            continue
        if selection is not None and not selection.allows(code):
            continue
        span = diag.span
        if span is not None and span.path in sources:
            lines = inline.get(span.path)
            if lines is None:
                lines = inline[span.path] = inline_ignores(sources[span.path])
            if any(code.startswith(s) for s in lines.get(span.line, ())):
                continue
        out.append(diag)
    return out


def find_config(path: str) -> Path | None:
    """The nearest pyproject.toml with a [tool.convdsl] table, from the file's folder upward."""
    try:
        folder = Path(os.path.abspath(path)).parent
    except (OSError, ValueError):
        return None
    for directory in (folder, *folder.parents):
        candidate = directory / "pyproject.toml"
        try:
            if candidate.is_file() and "[tool.convdsl" in candidate.read_text(encoding="utf-8", errors="replace"):
                return candidate
        except OSError:
            continue
    return None


def load_config(path: str) -> Selection:
    """The selection of the pyproject.toml that governs `path` (empty without one); SelectionError if it
    cannot be read or names unknown codes."""
    config = find_config(path)
    if config is None:
        return Selection()
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise SelectionError(f"{config}: reading [tool.convdsl] needs Python 3.11 or the tomli package") from None
    try:
        with open(config, "rb") as handle:
            table = tomllib.load(handle).get("tool", {}).get("convdsl", {})
    except (OSError, ValueError) as err:
        raise SelectionError(f"{config}: cannot read it: {err}") from None
    if not isinstance(table, dict):
        raise SelectionError(f"{config}: [tool.convdsl] must be a table")
    unknown = sorted(set(table) - {"select", "ignore"})
    if unknown:
        raise SelectionError(
            f"{config}: [tool.convdsl] has no setting `{unknown[0]}` (the settings are select and ignore)"
        )
    lists = {}
    for key in ("select", "ignore"):
        value = table.get(key, [])
        if isinstance(value, str):
            value = parse_list(value)
        if not isinstance(value, list):
            raise SelectionError(f'{config}: [tool.convdsl] {key} must be a list of codes, e.g. ["W101"]')
        lists[key] = normalise(value, f"{config}: [tool.convdsl] {key}")
    return Selection(lists["select"], lists["ignore"], str(config))
