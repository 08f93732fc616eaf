"""Error recovery for files being typed: the syntax tree of everything outside the broken spans.

`check` reports a file's syntax errors and stops there (frontend.parse). An
editor needs more: while one line is half typed, the rest of the file should
keep its shapes, hovers and definitions. parse_recovering reports exactly the
syntax errors frontend.parse reports, and also returns the syntax tree of the
text with each broken piece blanked out (spaces, so every offset, line and
column stays where it was).

After each syntax error the smallest repair that lets the parse get past it is
kept, tried in this order:
-. text left unfinished above a statement that starts in column 1 (a '->' at a
   line's end, a '(' or a block's '{' never closed) ends before that line: the
   dangling arrow, or the unfinished statement or block, is left out;
0. where the error is a ')' or ',' in a call, leave out only the argument before
   it (`conv(8, 3, p=)` is read as `conv(8, 3)`);
1. cut the chain at the last '->' before the error, to the end of that arrow's
   line (the layers before a half-typed one keep their shapes), closing the
   parentheses the cut leaves open;
2. the same cut, to the end of the line of the error;
3. blank the statement's lines up to the end of the line of the error;
4. blank the whole top-level statement (grammar._blank_statement's rule), or
   everything from it to the end of the file.
A repair "gets past" the error when the next parse succeeds or fails after the
blanked text. Valid files never come here: their parse is frontend.parse's.
"""

from __future__ import annotations

from dataclasses import dataclass

from .diagnostics import Diagnostic
from .frontend import fast_parser, parse, prepared_text
from .source import Source, Span
from .syntax import NumberTooLong, Program

# Repairs tried for one file: each costs a parse (about a millisecond for ResNet-152 written with blocks).
MAX_REPAIRS = 40
# Characters parsed in all while repairing: a huge broken file is repaired for its first errors only.
REPAIR_BUDGET = 4_000_000


@dataclass(frozen=True)
class Recovered:
    """A parse for an editor: the syntax errors `check` reports, and a tree of what could be read."""

    program: Program | None  # None only when nothing could be read
    diagnostics: tuple[Diagnostic, ...]  # frontend.parse's, unchanged
    broken: tuple[Span, ...]  # the blanked regions (empty for a valid file)


def parse_recovering(source: Source, parsed: tuple | None = None) -> Recovered:
    """parsed: frontend.parse's answer for this source, if the caller has it (a failed parse is not cheap:
    Lark describes every syntax error)."""
    program, found = parsed if parsed is not None else parse(source)
    if program is not None:
        return Recovered(program, tuple(found), ())
    if not any(d.code.code == "E002" for d in found):  # nesting or a number too long: nothing to repair
        return Recovered(None, tuple(found), ())
    text = prepared_text(source)
    repaired, broken = _repair(source, text)
    return Recovered(repaired, tuple(found), tuple(broken))


class _Failed(Exception):
    def __init__(self, offset: int | None):
        super().__init__(offset)
        self.offset = offset


def _try_parse(text: str, path: str) -> Program:
    """The tree of text, or _Failed with the offset of its first syntax error (None: not a syntax error)."""
    fast = fast_parser()
    if fast is not None:
        from .fastparse import GiveUp

        try:
            return fast.parse(text, path)
        except GiveUp as error:
            raise _Failed(error.offset) from None
        except NumberTooLong as error:
            raise _Failed(_offset_of(text, error.span.line, error.span.column)) from None
        except RecursionError:
            raise _Failed(None) from None
    from lark import UnexpectedInput  # no fast parser here: Lark says where

    from .grammar import parser, to_syntax

    try:
        return to_syntax(parser().parse(text), path)
    except UnexpectedInput as error:
        raise _Failed(getattr(error, "pos_in_stream", None) or 0) from None
    except NumberTooLong as error:
        raise _Failed(_offset_of(text, error.span.line, error.span.column)) from None
    except Exception:
        raise _Failed(None) from None


def _offset_of(text: str, line: int, column: int) -> int:
    offset = 0
    for _ in range(line - 1):
        offset = text.find("\n", offset) + 1
    return offset + column - 1


def _repair(source: Source, text: str) -> tuple[Program | None, list[Span]]:
    broken: list[Span] = []
    spent = 0
    for _ in range(MAX_REPAIRS):
        spent += len(text)
        try:
            return _try_parse(text, source.path), broken
        except _Failed as failed:
            offset = failed.offset
        if offset is None or spent > REPAIR_BUDGET:
            return None, broken
        offset = min(offset, len(text) - 1)
        for start, end, fill in _candidates(text, offset):
            attempt = _blank(text, start, end, fill)
            spent += len(attempt)
            try:
                _try_parse(attempt, source.path)
                past = True
            except _Failed as again:
                past = again.offset is not None and again.offset >= end
            if past:
                break
        else:  # nothing gets past it: everything from the statement on is left out
            start, end, fill = _statement_to_end(text, offset)
        text = _blank(text, start, end, fill)
        broken.append(source.span(start, end))
    return None, broken


def _blank(text: str, start: int, end: int, fill: str = "") -> str:
    """Replace text[start:end] with `fill` then spaces, keeping line breaks (and so every position)."""
    blanked = [c if c == "\n" else " " for c in text[start:end]]
    for i, c in enumerate(fill[: len(blanked)]):
        if blanked[i] == " ":
            blanked[i] = c
    return text[:start] + "".join(blanked) + text[end:]


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def _line_end(text: str, offset: int) -> int:
    end = text.find("\n", offset)
    return len(text) if end == -1 else end


def _depths(text: str, stop: int) -> tuple[list[int], dict[int, int]]:
    """Open '(' (their offsets, innermost last) at `stop`, and the depth at each line start before it."""
    opened: list[int] = []
    at_line: dict[int, int] = {0: 0}
    quote = None
    for i in range(stop):
        c = text[i]
        if quote:
            if c == quote or c == "\n":
                quote = None
            continue
        if c in "\"'":
            quote = c
        elif c == "(":
            opened.append(i)
        elif c == ")" and opened:
            opened.pop()
        elif c == "\n":
            at_line[i + 1] = len(opened)
    return opened, at_line


def _logical_start(text: str, offset: int, at_line: dict[int, int]) -> int:
    """The start of the line where the statement around offset begins: back over continuation lines
    (inside parentheses, starting with '->', or after a line that ends with '->')."""
    start = _line_start(text, offset)
    while start > 0:
        previous = _line_start(text, start - 1)
        above = text[previous : start - 1].rstrip()
        if (
            at_line.get(start, 0) > 0
            or text[start : _line_end(text, start)].lstrip().startswith("->")
            or above.endswith("->")
            or not text[start : _line_end(text, start)].strip()
        ):
            start = previous
            continue
        break
    # leading blank lines belong to no statement
    while start < offset and not text[start : _line_end(text, start)].strip():
        start = _line_end(text, start) + 1
    return min(start, offset)


def _candidates(text: str, offset: int):
    """(start, end, fill) repairs for a syntax error at offset, smallest first."""
    opened, at_line = _depths(text, offset)
    statement = _logical_start(text, offset, at_line)
    yield from _unfinished_above(text, offset, opened, statement)
    if opened and offset < len(text) and text[offset] in "),":
        # a broken argument (`p=` before ')' or ','): only it is left out, the call keeps its others
        inner = opened[-1]
        comma = text.rfind(",", inner, offset)
        if comma != -1 and "\n" not in text[comma:offset]:
            yield comma, offset, ""
        elif comma == -1 and "\n" not in text[inner:offset]:
            yield inner + 1, offset + (text[offset] == ","), ""
    arrow = text.rfind("->", statement, offset)
    if arrow != -1:
        still_open = [p for p in opened if p < arrow]
        # the parentheses open at the arrow that opened inside this statement are closed again
        closing = ")" * sum(1 for p in still_open if p >= statement)
        first = _line_end(text, arrow)
        yield arrow, first, closing
        last = _line_end(text, offset)
        if last > first:
            yield arrow, last, closing
    yield statement, _line_end(text, offset), ""
    whole = _statement_to_end(text, offset)
    if whole[0] <= statement:
        yield whole


def _unfinished_above(text: str, offset: int, opened: list[int], statement: int):
    """Repairs for text left unfinished above a statement that starts in column 1, as typing leaves it: a
    '->' at the end of a line (blank or comment lines after it), a '(' or a block's '{' not yet closed. The
    unfinished statement ends before the line that starts in column 1 (else it swallows what follows)."""
    line = _line_start(text, offset)
    if _starts_statement(text, line):
        above = line - 1
        while above > 0:
            start = _line_start(text, above)
            code = _without_comment(text[start:above]).rstrip()
            if code.endswith("->"):
                arrow = start + len(code) - 2
                yield arrow, arrow + 2, ""
                break
            if code.strip():
                break
            above = start - 1
    if opened:
        cut = _next_statement_line(text, _line_end(text, opened[0]) + 1, offset)
        # not past the '}' of a block the statement is in (its closing line is not the statement's end)
        if cut is not None and len(_open_braces(text, cut)) == len(_open_braces(text, statement)):
            arrow = text.rfind("->", statement, cut)
            if arrow != -1:
                yield arrow, cut - 1, ")" * sum(1 for p in opened if statement <= p < arrow)
            yield statement, cut - 1, ""
    braces = _open_braces(text, len(text))  # a block's '{' never closed
    if braces and braces[-1] < offset:
        cut = _next_statement_line(text, _line_end(text, braces[-1]) + 1, len(text))
        if cut is not None:
            yield _line_start(text, braces[-1]), cut - 1, ""


def _without_comment(line: str) -> str:
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            return line[:i]
    return line


def _next_statement_line(text: str, start: int, stop: int) -> int | None:
    """The first line start in [start, stop] where a statement starts in column 1."""
    while start <= min(stop, len(text) - 1):
        if _starts_statement(text, start):
            return start
        start = _line_end(text, start) + 1
    return None


def _open_braces(text: str, stop: int) -> list[int]:
    """The offsets of the blocks' '{' still open at stop (strings and comments skipped)."""
    opened: list[int] = []
    quote = None
    comment = False
    for i in range(min(stop, len(text))):
        c = text[i]
        if comment:
            comment = c != "\n"
        elif quote:
            if c == quote or c == "\n":
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            comment = True
        elif c == "{":
            opened.append(i)
        elif c == "}" and opened:
            opened.pop()
    return opened


def _statement_to_end(text: str, offset: int) -> tuple[int, int, str]:
    """The top-level statement around offset (a statement starts at a line that begins with a letter),
    or from it to the end of the text."""
    start = _line_start(text, offset)
    while start > 0 and not _starts_statement(text, start):
        start = _line_start(text, start - 1)
    end = _line_end(text, offset)
    while end + 1 < len(text) and not _starts_statement(text, end + 1):
        end = _line_end(text, end + 1)
    return start, end, ""


def _starts_statement(text: str, start: int) -> bool:
    return start < len(text) and (text[start].isalpha() or text[start] == "_")
