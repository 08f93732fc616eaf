"""The canonical layout: lays out the full-token tree (cst.py) and the comments as lines of text.

The style (README.md, "Formatting"), in short:
- one statement per line; a chain continues on lines that start with `->`,
  indented one level (4 spaces) past its statement;
- a chain breaks before an `->` where the source had a line break at that
  arrow, and wherever the next element would pass the line length;
- a group `( ... )` that spanned lines, or does not fit, opens at the end of
  its line, holds its chain one level deeper, and closes on a line of its own;
- arguments that do not fit open after the `(`, one level deeper, on one line
  or one per line, and the `)` starts a line (see _arguments);
- no break goes inside the code before a `# convdsl: ignore[...]` comment;
- a block's `{ ... }` body is indented one level, with a blank line around
  the block; elsewhere at most one blank line, as the source had it;
- one space around `=`, `->`, `x` in shapes, `*`, `if` and binary operators;
  none around `=` in keyword arguments and defaults (`k=3`, `c=1`; but `skip: tensor = a`),
  none inside parentheses, before `,` and `:`, after unary `-`, nor around `x` in `3x1`;
- comments are kept, in order, with their text; a comment after code stays after
  it, aligned with the other such comments of its paragraph (lines without a blank
  line between them), two spaces past the longest code among them.

Only blanks and line breaks change: the tokens stay the same, in the same order
(the caller checks this on every run).

Rules of the grammar this module has no layout of its own for are laid out as
a run of tokens with the spacing above; `RULES` lists every rule it knows, and
a test fails when the grammar gains one it does not.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from lark import Token, Tree

from .comments import Comment

INDENT = 4
# The deepest nesting of groups and block bodies laid out (each level is a few Python frames).
MAX_DEPTH = 150

# Rules laid out by a method of their own.
STRUCTURAL = {"start", "block_body", "chain", "group", "arguments", "params"}
# Statements (children of `start` and `block_body`).
STATEMENTS = {
    "network",
    "setting",
    "constant",
    "include",
    "input_decl",
    "param_decl",
    "output_names",
    "output_assign",
    "output_shaped",
    "assignment",
    "block_def",
    "block_plain",
    "block_seq",
    "block_seq_plain",
}
# Rules laid out as a run of tokens (the spacing below decides each blank).
TOKEN_RUNS = {
    "shape",
    "function",
    "shape_of",
    "param_shape",
    "param_dim",
    "targets",
    "labelled",
    "when",
    "repeat",
    "call",
    "kwarg",
    "param",
    "if_expr",
    "or_op",
    "and_op",
    "not_op",
    "compare",
    "add_op",
    "sub_op",
    "mul_op",
    "floordiv_op",
    "div_op",
    "mod_op",
    "neg_op",
    "pos_op",
    "int",
    "float",
    "string",
    "true",
    "false",
    "name",
    "dims",
    "tuple",
    "atom",
    "count",
    "element",
    "guarded",
    "repeated",
    "primary",
    "expr",
    "disjunction",
    "conjunction",
    "negation",
    "comparison",
    "sum",
    "product",
    "unary",
    "output_decl",
}
RULES = STRUCTURAL | STATEMENTS | TOKEN_RUNS

# Binary operators and keywords written with no blank on one side.
_NO_SPACE_BEFORE = {"RPAR", "COMMA", "COLON"}
_UNARY = {"neg_op", "pos_op"}
_TIGHT_EQUAL = {"kwarg", "param"}  # `k=3`, `c=1`


class TooDeep(Exception):
    """Groups and blocks nested past MAX_DEPTH."""


@dataclass
class Line:
    """One output line: its indentation, its code, and a comment after the code (or only a comment)."""

    indent: int
    code: str = ""
    comment: str | None = None


def _first_token(node) -> Token | None:
    while isinstance(node, Tree):
        for child in node.children:
            if child is not None:
                node = child
                break
        else:
            return None
    return node


def _last_token(node) -> Token | None:
    while isinstance(node, Tree):
        for child in reversed(node.children):
            if child is not None:
                node = child
                break
        else:
            return None
    return node


def _arrow_offset(token: Token) -> int:
    """Where the `->` itself is in an arrow token, which also holds the blanks (and comments) around it."""
    value = token.value
    index = 0
    while True:
        while index < len(value) and value[index] in " \t\r\n":
            index += 1
        if index < len(value) and value[index] == "#":
            index = value.index("\n", index) + 1
            continue
        return token.start_pos + index


def _rule_of(tree: Tree) -> str:
    if tree.data == "param" and len(tree.children) > 2 and tree.children[1] is not None:
        return "param_typed"  # `skip: tensor = a`: PEP 8's blanks around an annotated default
    return tree.data


def _spaced(prev: tuple[str, str] | None, kind: str, rule: str) -> bool:
    """Whether a blank goes between the previous token (type, rule) and this one."""
    if prev is None:
        return False
    prev_kind, prev_rule = prev
    if kind in _NO_SPACE_BEFORE or prev_kind == "LPAR":
        return False
    if kind in ("DOT", "LSQB", "RSQB") or prev_kind in ("DOT", "LSQB"):
        return False  # `in.shape[1]`
    if kind == "LPAR" and prev_kind == "NAME":
        return False  # a call, a block's parameters
    if (kind == "EQUAL" and rule in _TIGHT_EQUAL) or (prev_kind == "EQUAL" and prev_rule in _TIGHT_EQUAL):
        return False
    if prev_rule in _UNARY and prev_kind in ("MINUS", "PLUS"):
        return False
    if rule == "dims" and (kind == "X" or (prev_kind == "X" and prev_rule == "dims")):
        return False
    return True


class Layout:
    """Lays out one parsed file. `lines()` gives the result; comments are consumed in order."""

    def __init__(self, text: str, comments: list[Comment], line_length: int):
        self.text = text
        self.comments = comments
        self.comment_starts = [c.start for c in comments]
        self.next_comment = 0
        self.line_length = line_length
        self.lines: list[Line | None] = []  # None: a blank line
        self.current: Line | None = None
        self.closed = False  # the current line ends in a comment: nothing more goes on it
        self.prev: tuple[str, str] | None = None
        self.cont = 0  # the indentation of a line the layout must start inside a statement
        self.last_end = 0  # where in the text the last token or comment written ends
        self.depth = 0
        # The code before each `# convdsl: ignore[...]` comment, as (start, end) offsets: a suppression applies
        # to the line it is on, so no line break of the layout may go inside one of these.
        self.kept = _suppressed_lines(text, comments)
        self.kept_starts = [start for start, _ in self.kept]

    # -- lines ---------------------------------------------------------------------------------
    def _finish(self) -> None:
        if self.current is not None and (self.current.code or self.current.comment is not None):
            self.lines.append(self.current)
        self.current = None
        self.closed = False

    def _newline(self, indent: int) -> None:
        self._finish()
        self.current = Line(indent)
        self.prev = None

    def _blank(self) -> None:
        self._finish()
        if self.lines and self.lines[-1] is not None:
            self.lines.append(None)

    def _column(self) -> int:
        return 0 if self.current is None else self.current.indent + len(self.current.code)

    def _write(self, text: str, kind: str, rule: str) -> None:
        if self.current is None or self.closed:
            self._newline(self.cont)
        if self.current.code and _spaced(self.prev, kind, rule):
            self.current.code += " "
        self.current.code += text
        self.prev = (kind, rule)

    # -- comments ------------------------------------------------------------------------------
    def _blank_in_source(self, start: int) -> bool:
        return self.text.count("\n", self.last_end, start) >= 2

    def _after(self, end: int) -> None:
        """Past a token ending at `end`: a comment after it on its line goes on this line's end."""
        self.last_end = end
        if self.next_comment < len(self.comments):
            comment = self.comments[self.next_comment]
            if (
                comment.trailing
                and comment.start >= end
                and not self.text[end : comment.start].strip(" \t\f")
                and self.current is not None
            ):
                self.current.comment = comment.text
                self.closed = True
                self.next_comment += 1
                self.last_end = comment.end

    def _comments_before(self, offset: int, indent: int, *, blanks: bool = False) -> None:
        """Write the comments before `offset` on lines of their own at `indent` (with a blank line
        before one where the source had one, if `blanks`)."""
        while self.next_comment < len(self.comments) and self.comments[self.next_comment].start < offset:
            comment = self.comments[self.next_comment]
            if comment.trailing and self.current is not None and self.current.code and not self.closed:
                self.current.comment = comment.text  # after a token this layout keeps on the line
                self.closed = True
            else:
                if blanks and self._blank_in_source(comment.start):
                    self._blank()
                self._finish()
                self.lines.append(Line(indent, "", comment.text))
            self.next_comment += 1
            self.last_end = comment.end

    def _has_comment(self, start: int, end: int) -> bool:
        index = bisect.bisect_left(self.comment_starts, start)
        return index < len(self.comment_starts) and self.comment_starts[index] < end

    def _kept(self, start: int, end: int) -> bool:
        """Whether the text from start to end lies within the code of one line a suppression comment ends:
        a line break between them would move code away from the comment."""
        index = bisect.bisect_right(self.kept_starts, start) - 1
        return index >= 0 and end <= self.kept[index][1]

    def _closing(self, offset: int) -> int:
        """Where the next `)` at or after offset is, past blanks, line continuations and comments."""
        text = self.text
        index = bisect.bisect_left(self.comment_starts, offset)
        while offset < len(text) and text[offset] != ")":
            if index < len(self.comments) and self.comments[index].start == offset:
                offset = self.comments[index].end
                index += 1
            else:
                offset += 1
        return offset

    # -- tokens and generic rules --------------------------------------------------------------
    def _token(self, token: Token, rule: str) -> None:
        self._comments_before(token.start_pos, self.cont)
        self._write(token.value, token.type, rule)
        self._after(token.end_pos)

    def _walk(self, tree: Tree) -> None:
        """Lay out a rule as its tokens in order, handing structural rules to their methods.

        Iterative: expressions such as `1 + 1 + ... + 1` nest as deep as they are long.
        """
        stack = [(_rule_of(tree), iter(tree.children))]
        while stack:
            rule, children = stack[-1]
            for child in children:
                if child is None:
                    continue
                if isinstance(child, Token):
                    if child.type != "_NL":
                        self._token(child, rule)
                    continue
                if child.data in STRUCTURAL:
                    getattr(self, "_" + child.data)(child)
                    continue
                stack.append((_rule_of(child), iter(child.children)))
                break
            else:
                stack.pop()

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise TooDeep()

    # -- statements ----------------------------------------------------------------------------
    def _statements(self, children: list, indent: int, end: int, *, top: bool = False) -> None:
        """Statements at `indent`, then the comments before `end` (the '}' or the end of the file).

        top: the file's statements, where blank lines between the first comments are kept too.
        """
        previous_braced = False
        first = True
        for statement in children:
            if not isinstance(statement, Tree):
                continue  # a line break
            start = _first_token(statement).start_pos
            braced = statement.data in ("block_def", "block_plain")
            if not first and (braced or previous_braced):
                self._blank()  # a `{ ... }` block has a blank line on either side
            if first:
                self._comments_before(start, indent, blanks=top)
                if top and self._blank_in_source(start) and self.lines:
                    self._blank()
            else:
                self._comments_before(start, indent, blanks=True)
            if self._blank_in_source(start) and not first:
                self._blank()
            self._newline(indent)
            self.cont = indent + INDENT
            self._walk(statement)
            self._finish()
            self.cont = indent
            previous_braced = braced
            first = False
        self._comments_before(end, indent, blanks=top or not first)
        self._finish()

    def _start(self, tree: Tree) -> None:
        self._statements(tree.children, 0, len(self.text) + 1, top=True)

    def _block_body(self, tree: Tree) -> None:
        self._enter()
        indent = self.current.indent
        opening, closing = tree.children[0], tree.children[-1]
        self._token(opening, "block_body")
        self._statements(tree.children[1:-1], indent + INDENT, closing.start_pos)
        self._newline(indent)
        self.cont = indent + INDENT
        self._token(closing, "block_body")
        self.depth -= 1

    # -- chains and groups ---------------------------------------------------------------------
    def _chain(self, tree: Tree) -> None:
        cont = self.cont
        children = tree.children
        for index, child in enumerate(children):
            if isinstance(child, Token) and child.type == "_ARROW":
                offset = _arrow_offset(child)
                self._comments_before(offset, cont)
                following = children[index + 1]
                width = self._width(following, self.line_length)
                if (
                    self.current is None
                    or self.closed
                    or "\n" in child.value
                    or (self._column() + 4 + width > self.line_length and not self._kept(self.last_end, offset))
                ):
                    self._newline(cont)
                self.cont = cont
                self._write("->", "_ARROW", "chain")
                self._after(offset + 2)
            elif isinstance(child, Tree):
                self.cont = cont
                if child.data in STRUCTURAL:
                    getattr(self, "_" + child.data)(child)
                else:
                    self._walk(child)
            elif child is not None:
                self._token(child, "chain")
        self.cont = cont

    def _multiline(self, group: Tree) -> bool:
        """A group that spanned lines in the source (or holds a comment, which ends a line)."""
        opening, closing = group.children[0], group.children[-1]
        return "\n" in self.text[opening.start_pos : closing.start_pos]

    def _group(self, tree: Tree) -> None:
        self._enter()
        opening, chain, closing = tree.children
        spread = self._multiline(tree)
        if not spread and not self._kept(self.last_end, closing.start_pos):
            width = self._width(tree, self.line_length)
            space = 1 if self.current is not None and self.current.code and _spaced(self.prev, "LPAR", "group") else 0
            spread = self._column() + space + width > self.line_length
        if not spread:
            self._token(opening, "group")
            saved = self.cont
            self._chain(chain)
            self.cont = saved
            self._token(closing, "group")
        else:
            self._token(opening, "group")
            indent = self.current.indent
            inner = indent + INDENT
            self._comments_before(_first_token(chain).start_pos, inner)
            self._newline(inner)
            self.cont = inner
            self._chain(chain)
            self._comments_before(closing.start_pos, inner)
            self._newline(indent)
            self.cont = indent + INDENT
            self._token(closing, "group")
        self.depth -= 1

    def _arguments(self, tree: Tree) -> None:
        """Arguments and parameters (the `(` is written, the `)` is not).

        On one line when they fit with the `)`. Otherwise, as ruff and black lay out a call, the `(` ends its
        line and the `)` starts one at the call's indentation; between them the arguments go on one line one
        level deeper if it fits, else one argument per line (so does a list with a comment among them, as a
        comment ends a line). A line break is made only after a `,`, so each argument stays whole (a tuple,
        a conditional). On a line a suppression comment ends, nothing is broken: the arguments stay on one line
        and, after a comment among them, go on one level deeper.
        """
        saved = self.cont
        base = self.current.indent if self.current is not None else saved
        opened = self.last_end  # just past the `(`
        close = self._closing(_last_token(tree).end_pos)
        commented = self._has_comment(opened, close)
        width = self._width(tree, self.line_length)
        fits = not commented and self._column() + width + 1 <= self.line_length
        if fits or self._kept(opened, close) or self.current is None or self.closed:
            self.cont = base + INDENT
            self._walk(tree)
            self.cont = saved
            return
        inner = base + INDENT
        first, last = _first_token(tree), _last_token(tree)
        hug = not self._kept(opened, first.start_pos) and not self._kept(last.end_pos, close)
        if hug and not commented and inner + width <= self.line_length:
            self._newline(inner)
            self.cont = inner + INDENT
            self._walk(tree)
        else:
            for child in tree.children:
                if child is None:
                    continue
                if isinstance(child, Token):
                    if child.type != "_NL":
                        self._token(child, tree.data)  # a `,`: a comment after it stays on its line
                    continue
                start = _first_token(child).start_pos
                self._comments_before(start, inner)
                if not self._kept(self.last_end, start) or self.closed:
                    self._newline(inner)
                self.cont = inner + INDENT
                self._walk(Tree(tree.data, [child]))
        self._comments_before(close, inner)
        if not self._kept(self.last_end, close) or self.closed:
            self._newline(base)
        self.cont = saved

    _params = _arguments

    # -- measuring -----------------------------------------------------------------------------
    def _width(self, node, limit: int) -> int:
        """How wide a node's first line is written on one line: up to a comment, or to the '(' of
        a group that spans lines. Stops counting past `limit`."""
        if isinstance(node, Token):
            return len(node.value)
        width = 0
        prev = None
        previous_end = None
        stack = [(_rule_of(node), iter(node.children))]
        while stack:
            rule, children = stack[-1]
            for child in children:
                if child is None:
                    continue
                if isinstance(child, Tree):
                    if child.data == "group" and self._multiline(child):
                        return width + (1 if prev else 0) + 1
                    stack.append((_rule_of(child), iter(child.children)))
                    break
                if child.type == "_NL":
                    continue
                if child.type == "_ARROW":
                    start, text, kind = _arrow_offset(child), "->", "_ARROW"
                else:
                    start, text, kind = child.start_pos, child.value, child.type
                if previous_end is not None and self._has_comment(previous_end, start):
                    return width
                if _spaced(prev, kind, rule):
                    width += 1
                width += len(text)
                if width > limit:
                    return width
                prev = (kind, rule)
                previous_end = start + len(text)
            else:
                stack.pop()
        return width

    # -- result --------------------------------------------------------------------------------
    def render(self, tree: Tree) -> list[Line | None]:
        self._start(tree)
        self._finish()
        while self.lines and self.lines[-1] is None:
            self.lines.pop()
        return self.lines


def _suppressed_lines(text: str, comments: list[Comment]) -> list[tuple[int, int]]:
    """(start of the line, start of the comment) for each comment after code that suppresses diagnostics."""
    from ..suppress import _INLINE

    out = []
    for comment in comments:
        if comment.trailing and _INLINE.match(comment.text):
            out.append((text.rfind("\n", 0, comment.start) + 1, comment.start))
    return out


def join(lines: list[Line | None], line_length: int | None = None) -> str:
    """The text of the lines, with each paragraph's comments after code aligned (to a column that lines
    longer than line_length, kept long for a suppression comment, do not push out)."""
    out: list[str] = []
    index = 0
    while index < len(lines):
        if lines[index] is None:
            out.append("")
            index += 1
            continue
        end = index
        while end < len(lines) and lines[end] is not None:
            end += 1
        paragraph = lines[index:end]
        widths = [
            line.indent + len(line.code)
            for line in paragraph
            if line.code
            and line.comment is not None
            and (line_length is None or line.indent + len(line.code) + 2 + len(line.comment) <= line_length)
        ]
        column = max(widths) + 2 if widths else 0
        for line in paragraph:
            code = " " * line.indent + line.code if line.code else ""
            if line.comment is None:
                out.append(code)
            elif not line.code:
                out.append(" " * line.indent + line.comment)
            else:
                out.append(code.ljust(column) + line.comment if len(code) < column else code + "  " + line.comment)
        index = end
    return "\n".join(out) + "\n" if out else ""
