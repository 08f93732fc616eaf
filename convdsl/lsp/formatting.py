"""Formatting requests, answered by convdsl's formatter (convdsl.fmt.format_text) as one edit of the whole text."""

from __future__ import annotations

import importlib.util
import logging

from lsprotocol import types

log = logging.getLogger(__name__)


def available() -> bool:
    """Whether this convdsl has the formatter (the server offers formatting only then)."""
    try:
        return importlib.util.find_spec("convdsl.fmt") is not None
    except (ImportError, ValueError):
        return False


def format_document(text: str, path: str) -> list[types.TextEdit] | None:
    """The edit that replaces the text with its formatted form: none when it is formatted already, None when
    it cannot be formatted (a syntax error: the diagnostics say where)."""
    from ..fmt import FormatError, format_text

    try:
        formatted = format_text(text, path=path)
    except FormatError:
        return None
    except Exception as err:
        log.error("formatting %s failed: %r", path, err)
        return None
    if formatted == text:
        return []
    from .convert import _BREAK

    breaks = [m.end() for m in _BREAK.finditer(text)]  # LSP's line breaks: \n, \r\n and a lone \r
    last = text[breaks[-1] :] if breaks else text
    end = types.Position(len(breaks), len(last.encode("utf-16-le")) // 2)
    return [types.TextEdit(types.Range(types.Position(0, 0), end), formatted)]
