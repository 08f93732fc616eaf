"""Text to syntax tree: the table-driven parser for files without errors, Lark for the others.

A valid file is parsed by fastparse with tables kept in the user's cache, so
checking it never imports Lark. A file the fast parser gives up on (a syntax
error, nesting too deep, a number too long) goes to grammar.py, where Lark
parses it and every syntax error is described; the tables themselves are taken
from Lark the first time, and again whenever the grammar changes.
"""

from __future__ import annotations

import functools
import re

from .cancel import Cancelled
from .diagnostics import Diagnostic
from .grammarfile import MAX_NESTING, grammar_text
from .source import Source
from .syntax import Program

# A comment, or a string, whose '#' does not start one.
_COMMENT_OR_STRING = re.compile(r"""#[^\n]*|"[^"\\\n]*(?:\\.[^"\\\n]*)*"|'[^'\\\n]*(?:\\.[^'\\\n]*)*'""")


def parse(source: Source) -> tuple[Program | None, list[Diagnostic]]:
    """Parse one file: its syntax tree, or None and its syntax errors (up to grammar.MAX_SYNTAX_ERRORS)."""
    text = prepared_text(source)
    fast = fast_parser()
    if fast is not None:
        try:
            return fast.parse(text, source.path), []
        except Cancelled:
            raise  # the editor's text changed: no parse is wanted, not Lark's either
        except Exception:
            pass
    from .grammar import parse_with_lark

    return parse_with_lark(source, text)


def prepared_text(source: Source) -> str:
    """The text as both parsers read it: comments blanked, ending with a line break."""
    return blank_comments(source.text if source.text.endswith("\n") else source.text + "\n")


def blank_comments(text: str) -> str:
    """The text with each comment replaced by spaces, so offsets, lines and columns stay the same.

    The grammar allows comments wherever a line ends; but a line break token
    that takes in a million comment lines costs the regex engine a record per
    line (gigabytes), where a run of spaces and line breaks costs nothing.
    """
    if "#" not in text:
        return text
    return _COMMENT_OR_STRING.sub(lambda m: " " * len(m.group()) if m.group()[0] == "#" else m.group(), text)


def comment_start(text: str, start: int, end: int) -> int | None:
    """Where the first comment in text[start:end] begins (a `#` outside the strings), or None. `start` must be
    where a line or a token begins, and `end` where a line ends."""
    for match in _COMMENT_OR_STRING.finditer(text, start, end):
        if match.group()[0] == "#":
            return match.start()
    return None


def string_at(text: str, start: int, end: int, offset: int) -> bool:
    """Whether text[offset] is inside a string (or a comment) of text[start:end]: `start` must be where a line
    or a token begins, and `end` where a line ends."""
    for match in _COMMENT_OR_STRING.finditer(text, start, end):
        if match.start() > offset:
            break
        if match.start() < offset < match.end() or (match.group()[0] == "#" and match.start() <= offset):
            return True
    return False


@functools.lru_cache(maxsize=1)
def fast_parser():
    """The fast parser, from cached tables or from Lark's; None where Lark's tables cannot be read."""
    from . import cache
    from .fastparse import FORMAT, FastParser, GiveUp, Tables, parse_tables

    grammar = grammar_text()
    data = cache.read_tables(grammar, FORMAT)
    if data is not None:
        try:
            return FastParser(Tables.from_data(data), MAX_NESTING)
        except (ValueError, TypeError, IndexError, KeyError, re.error):  # a damaged file: made again below
            pass
    from .grammar import parser

    try:
        tables = parse_tables(parser())
        fast = FastParser(tables, MAX_NESTING)
    except GiveUp:  # a Lark laid out differently: Lark parses everything
        return None
    cache.write_tables(grammar, FORMAT, tables.to_data())
    return fast
