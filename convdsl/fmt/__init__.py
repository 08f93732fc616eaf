"""`convdsl fmt`: the canonical layout of a convdsl file (the style is in README.md, "Formatting").

The one entry point is `format_text`; the language server calls it for
formatting requests, the command line for files:

    from convdsl.fmt import FormatError, format_text

    try:
        new_text = format_text(text, path="model.cdsl")   # line_length=100
    except FormatError as err:      # the text does not parse: nothing is formatted
        err.diagnostics             # convdsl.diagnostics.Diagnostic, as `check` reports them

format_text is pure (no files, no output), safe to call from any thread, and
idempotent: format_text(format_text(t)) == format_text(t). It changes only
blanks and line breaks: the tokens stay the same and in the same order, every
comment is kept with its text, and each call checks this by parsing its result
again (a difference would be a bug, raised as FormatterBug, never returned).
"""

from __future__ import annotations

import itertools

from ..diagnostics import Diagnostic

LINE_LENGTH = 100

__all__ = ["LINE_LENGTH", "FormatError", "FormatterBug", "format_text"]


class FormatError(Exception):
    """The text cannot be formatted (a syntax error, a limit); `diagnostics` say where and why."""

    def __init__(self, diagnostics: tuple[Diagnostic, ...]):
        super().__init__(diagnostics[0].message if diagnostics else "the text cannot be formatted")
        self.diagnostics = tuple(diagnostics)


class FormatterBug(RuntimeError):
    """The layout would have changed the tokens or lost a comment: a bug in convdsl, never the file's."""


def format_text(text: str, *, path: str = "<string>", line_length: int = LINE_LENGTH) -> str:
    """The text in the canonical layout. Raises FormatError, with diagnostics, when it does not parse.

    path names the text in diagnostics. Line endings (LF or CRLF, as the first
    line has) and a byte-order mark are kept; the result ends with one line break
    (an empty text stays empty).
    """
    from .. import diagnostics as codes
    from ..frontend import parse, prepared_text
    from ..source import Source
    from . import cst
    from .comments import find_comments
    from .layout import MAX_DEPTH, Layout, TooDeep, join

    if line_length < 20:
        raise ValueError(f"line_length must be at least 20, got {line_length}")
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    first_break = text.find("\n")
    crlf = first_break > 0 and text[first_break - 1] == "\r"
    source = Source(path, text[len(bom) :].replace("\r\n", "\n").replace("\r", "\n"))
    program, found = parse(source)
    if program is None:
        raise FormatError(tuple(found))
    tree = _parse_all(source, cst)
    comments = find_comments(source.text)
    layout = Layout(source.text, comments, line_length)
    try:
        lines = layout.render(tree)
    except TooDeep:
        raise FormatError(
            (
                Diagnostic(
                    codes.LIMIT_EXCEEDED,
                    source.span(0, 1),
                    f"groups and blocks are nested more than {MAX_DEPTH} deep, too deep to format",
                    "in this file",
                    "assign an inner part to a tensor, or make it a block",
                ),
            )
        ) from None
    result = join(lines, line_length)
    if layout.next_comment != len(comments):
        raise FormatterBug(f"{path}: {len(comments) - layout.next_comment} comment(s) were not written")
    _check_same(tree, source, result, comments, cst, prepared_text, find_comments)
    if crlf:
        result = result.replace("\n", "\r\n")
    return bom + result


def _parse_all(source, cst):
    from lark.exceptions import UnexpectedInput

    from ..frontend import prepared_text

    try:
        return cst.parse(prepared_text(source))
    except (UnexpectedInput, cst.NestingTooDeep):  # the fast parser accepted what Lark does not: Lark decides
        from ..grammar import parse_with_lark

        _, found = parse_with_lark(source, prepared_text(source))
        raise FormatError(tuple(found)) from None


def _check_same(tree, source, result: str, comments, cst, prepared_text, find_comments) -> None:
    """Raise FormatterBug unless `result` parses to the same tokens and rules and has the same comments."""
    from ..source import Source

    try:
        again = cst.parse(prepared_text(Source(source.path, result)))
    except Exception as err:
        raise FormatterBug(f"{source.path}: the formatted text does not parse: {err}") from None
    for before, after in itertools.zip_longest(_signature(tree), _signature(again)):
        if before != after:
            raise FormatterBug(f"{source.path}: formatting would change {before} into {after}")
    if [c.text for c in comments] != [c.text for c in find_comments(result)]:
        raise FormatterBug(f"{source.path}: formatting would change the comments")


def _signature(tree):
    """The rules and tokens of a full-token tree in order, without line breaks and blanks (iterative)."""
    from lark import Tree

    stack = [iter((tree,))]
    while stack:
        for node in stack[-1]:
            if node is None:
                yield None
            elif isinstance(node, Tree):
                yield ("rule", node.data, len([c for c in node.children if not _is_break(c)]))
                stack.append(iter(node.children))
                break
            elif node.type == "_ARROW":
                yield ("->",)
            elif node.type != "_NL":
                yield (node.type, node.value)
        else:
            stack.pop()


def _is_break(node) -> bool:
    return node is not None and not hasattr(node, "data") and node.type == "_NL"
