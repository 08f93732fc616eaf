"""`check --fix`: which of the analysis's fixes to apply, and the texts they give.

Each diagnostic that offers fixes (fixes.Fix, made and tried by the analysis)
has its first one applied: the one its help names first and an editor marks as
preferred. A fix whose edits overlap those of a fix already chosen is left for
the next run, so that every edit applies to the text it was made for.
"""

from __future__ import annotations

from dataclasses import dataclass

from .diagnostics import Diagnostic
from .fixes import EditError, apply, offset
from .source import Source


@dataclass(frozen=True)
class Plan:
    texts: dict[str, str]  # path -> its new text, for each file a chosen fix changes
    applied: tuple[tuple[Diagnostic, object], ...]  # (diagnostic, the fix chosen for it)
    left: tuple[Diagnostic, ...]  # diagnostics with fixes that could not be applied with the others


def plan(diagnostics, sources: dict[str, Source]) -> Plan:
    taken: dict[str, list[tuple[int, int]]] = {}  # path -> character ranges already edited
    chosen, left, edits = [], [], []
    for diag in diagnostics:
        fixes = getattr(diag, "fixes", ())
        if not fixes:
            continue
        fix = fixes[0]
        try:
            ranges = [
                (
                    e.span.path,
                    offset(sources[e.span.path], e.span.line, e.span.column),
                    offset(sources[e.span.path], e.span.end_line, e.span.end_column),
                )
                for e in fix.edits
            ]
        except (KeyError, EditError):
            left.append(diag)
            continue
        if any(_overlaps(start, end, other) for path, start, end in ranges for other in taken.get(path, ())):
            left.append(diag)
            continue
        for path, start, end in ranges:
            taken.setdefault(path, []).append((start, end))
        chosen.append((diag, fix))
        edits.extend(fix.edits)
    return Plan(apply(sources, edits) if edits else {}, tuple(chosen), tuple(left))


def _overlaps(start: int, end: int, other: tuple[int, int]) -> bool:
    """Two edits that touch the same characters, or insert at the same place (their order would be a guess)."""
    a, b = other
    return (start < b and a < end) or start == a or (start == end and a < start < b) or (a == b and start < a < end)
