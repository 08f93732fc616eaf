"""Formatting requests, answered by convdsl's formatter (convdsl.fmt) as one edit of the whole text."""
from __future__ import annotations

import importlib.util

from lsprotocol import types


def available() -> bool:
    return importlib.util.find_spec("convdsl.fmt") is not None and _formatter() is not None


def _formatter():
    from convdsl import fmt

    return getattr(fmt, "format_text", None)


def format_document(text: str, path: str) -> list[types.TextEdit] | None:
    """The edit that replaces the text with its formatted form; none when it is formatted already or cannot
    be formatted (a syntax error: the diagnostics say where)."""
    try:
        formatted = _formatter()(text)
    except Exception:  # noqa: BLE001 - text the formatter refuses (a syntax error) is left as it is
        return None
    if formatted == text:
        return []
    lines = text.split("\n")
    end = types.Position(len(lines) - 1, len(lines[-1].encode("utf-16-le")) // 2)
    return [types.TextEdit(types.Range(types.Position(0, 0), end), formatted)]
