"""The concrete syntax tree the formatter lays out: Lark's parse with every token kept.

The syntax tree (syntax.py) drops punctuation, line breaks and comments; the
formatter needs all of them. This parser reads the same grammar with the same
LALR tables and lexers (so it accepts exactly what `check` accepts) and keeps
every token, so the tree holds each keyword, parenthesis, comma and arrow.
Comments are not in it: both parsers read the text with comments blanked
(frontend.prepared_text), and comments.py finds them in the original text.
"""

from __future__ import annotations

import functools
import threading

# Lark's postlexer keeps per-parse state (the open parentheses), so one parse at a time.
_LOCK = threading.Lock()


class NestingTooDeep(Exception):
    """Parentheses nested past frontend.MAX_NESTING: the file's own parse reports it."""


@functools.lru_cache(maxsize=1)
def parser():
    """Lark, keeping every token; kept in convdsl's cache as plain data, as grammar.parser() is."""
    from ..grammar import cached_lark

    return cached_lark("fmtgrammar-", keep_all_tokens=True)


def parse(prepared: str):
    """The full-token tree of text as frontend.prepared_text gives it; Lark's errors propagate."""
    from ..grammar import _TooDeep

    with _LOCK:
        try:
            return parser().parse(prepared)
        except _TooDeep as deep:
            raise NestingTooDeep() from deep
