"""Code actions: one quick fix per Fix a diagnostic offers (the analysis makes them, as text edits)."""

from __future__ import annotations

from lsprotocol import types

from . import convert
from .snapshot import Snapshot, _real


def _overlaps(span, first: int, last: int) -> bool:
    return span is not None and span.line - 1 <= last and span.end_line - 1 >= first


def code_actions(
    snapshot: Snapshot, params: types.CodeActionParams, in_file: str | None = None
) -> list[types.CodeAction]:
    """The quick fixes of the snapshot's diagnostics in the requested range of its own file, or of the file
    `in_file` (a real path) it includes: the analysis of a network finds the errors of the blocks it calls."""
    wanted = params.context.only
    if wanted and not any(str(kind).startswith("quickfix") for kind in wanted):
        return []
    first, last = params.range.start.line, params.range.end.line
    sources = snapshot.network.sources if snapshot.network is not None else {snapshot.path: snapshot.source}
    sources = {**sources, snapshot.path: snapshot.source}

    def here(path: str) -> bool:
        return path == snapshot.path if in_file is None else _real(path) == in_file

    actions = []
    for diag in snapshot.diagnostics:
        fixes = getattr(diag, "fixes", ())
        if not fixes or diag.span is None or not here(diag.span.path) or not _overlaps(diag.span, first, last):
            continue
        shown = convert.diagnostic(diag, sources)
        for number, fix in enumerate(fixes):
            changes: dict[str, list] = {}
            for edit in fix.edits:
                uri = params.text_document.uri if here(edit.span.path) else convert.path_to_uri(edit.span.path)
                changes.setdefault(uri, []).append(
                    types.TextEdit(convert.to_range(sources.get(edit.span.path), edit.span), edit.text)
                )
            title = fix.text() if hasattr(fix, "text") else fix.description
            actions.append(
                types.CodeAction(
                    title=f"{diag.code.code}: {title}",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[shown],
                    edit=types.WorkspaceEdit(changes=changes),
                    is_preferred=number == 0,
                )
            )
    return actions
