"""Lark's parser for the grammar: it parses the files the fast parser gives up on and describes their
syntax errors, and its tables are what the fast parser runs on (frontend.py, fastparse.py)."""

from __future__ import annotations

import functools
import marshal

from lark import Lark, Token, Tree, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.grammar import Rule
from lark.lexer import TerminalDef

from . import diagnostics as codes
from .diagnostics import Diagnostic
from .grammarfile import MAX_NESTING, grammar_text
from .source import Source
from .syntax import NumberTooLong, Program, ToSyntax, builder_functions

MAX_SYNTAX_ERRORS = 10
# After the first syntax error the file is parsed again to find the next one. A parse
# costs as much as the text before its error, so past this many characters re-parsed
# the first errors are reported alone: a 10 MB file costs one parse, not ten.
RETRY_BUDGET = 1_000_000


class _TooDeep(Exception):
    """Raised by the post-lexer at the '(' that opens one level too many."""

    def __init__(self, token: Token):
        super().__init__("parentheses nested too deeply")
        self.token = token


class _ParenLines:
    """Post-lexer: a line break inside parentheses does not end a statement."""

    always_accept = ("_NL",)

    def __init__(self):
        self.open_parens: list[Token] = []  # of the parse under way, for error messages

    def process(self, stream):
        open_parens = self.open_parens = []
        for token in stream:
            if token.type == "LPAR":
                open_parens.append(token)
                if len(open_parens) > MAX_NESTING:
                    raise _TooDeep(token)
            elif token.type == "RPAR":
                if open_parens:
                    open_parens.pop()
            elif token.type == "_NL" and open_parens:
                continue
            yield token


class _Lark(Lark):
    """Lark, without the position bookkeeping that cannot move a position.

    A rule such as `?sum: product` hands its one child up unchanged, and
    propagate_positions then copies that child's positions onto itself: most
    reductions in an argument list are such rules, and the copying was a third
    of parsing. Only rules whose one symbol is a rule of its own, with nothing
    filtered out and no alias, lose it, so every position is as before.
    """

    def _prepare_callbacks(self) -> None:
        super()._prepare_callbacks()
        try:
            from lark.grammar import NonTerminal, Rule
            from lark.parse_tree_builder import ExpandSingleChild, PropagatePositions
        except ImportError:  # another Lark: keep its callbacks as they are
            return
        callbacks = getattr(self, "_callbacks", None)
        if not isinstance(callbacks, dict):
            return
        for rule, callback in callbacks.items():
            if (
                isinstance(rule, Rule)
                and type(callback) is PropagatePositions
                and type(callback.node_builder) is ExpandSingleChild
                and not rule.alias
                and len(rule.expansion) == 1
                and isinstance(rule.expansion[0], NonTerminal)
                and not rule.expansion[0].name.startswith("_")
            ):
                callbacks[rule] = callback.node_builder


LARK_FORMAT = 1  # of the saved Lark data: a file written in another format is not read


def _lark_file(text: str, prefix: str = "grammar-") -> str:
    from .cache import keyed_name

    return keyed_name(prefix, LARK_FORMAT, text, ".marshal")


@functools.lru_cache(maxsize=1)
def parser() -> Lark:
    """Lark's parser for the grammar: rebuilt from the user's cache (~10 ms) or compiled (~150 ms) and saved.

    Never Lark's own cache (`cache=True`): that is a pickle, which runs code when read, at a predictable
    name in the shared temporary directory when no path is given. Lark's serialised form is plain data
    (dicts, lists, strings, numbers), so it is kept as marshal data in convdsl's private cache directory
    (cache.py), and read back only if it still is plain data.
    """
    return cached_lark("grammar-", propagate_positions=True)


def cached_lark(prefix: str, *, propagate_positions: bool = False, keep_all_tokens: bool = False) -> Lark:
    """A Lark (LALR, contextual lexer, placeholders, the parenthesis post-lexer) for the grammar, kept in the
    cache as plain data under files named `prefix...` (see parser(); the formatter keeps every token)."""
    from . import cache

    text = grammar_text()
    postlex = _ParenLines()
    options = dict(
        parser="lalr",
        lexer="contextual",
        propagate_positions=propagate_positions,
        maybe_placeholders=True,
        keep_all_tokens=keep_all_tokens,
    )
    name = _lark_file(text, prefix)
    saved = cache.load_plain(cache.read(name))
    if type(saved) is tuple and len(saved) == 3 and saved[0] == text:
        try:
            return _Lark._load_from_dict(saved[1], saved[2], postlex=postlex, propagate_positions=propagate_positions)
        except Exception:
            pass
    lark = _Lark(text, postlex=postlex, **options)
    try:
        from lark.lark import _LOAD_ALLOWED_OPTIONS

        data, memo = lark.memo_serialize([TerminalDef, Rule])
        data["options"] = {k: v for k, v in data["options"].items() if k not in _LOAD_ALLOWED_OPTIONS}
        payload = marshal.dumps((text, data, memo))
    except (ImportError, ValueError, AttributeError, TypeError):  # not plain data in this Lark: not kept
        return lark
    cache.write(name, payload, prune=(prefix, ".marshal"))
    return lark


def parse_with_lark(source: Source, text: str) -> tuple[Program | None, list[Diagnostic]]:
    """Parse one file with Lark (text: frontend.prepared_text). On syntax errors, report up to
    MAX_SYNTAX_ERRORS of them.

    After an error the statement that holds it is blanked out and the file is
    parsed again, so later, independent mistakes are reported too.
    """
    found: list[Diagnostic] = []
    scanned = 0
    while True:
        try:
            tree = parser().parse(text)
        except _TooDeep as deep:
            start = deep.token.start_pos
            found.append(
                Diagnostic(
                    codes.LIMIT_EXCEEDED,
                    source.span(start, start + 1),
                    f"parentheses are nested more than {MAX_NESTING} deep",
                    "too deep",
                    f"{MAX_NESTING} levels is a fixed limit; assign an inner part to a tensor, "
                    "or make it a constant or a block",
                )
            )
            return None, found
        except UnexpectedInput as error:
            offset = getattr(error, "pos_in_stream", None) or 0
            arrow = _dangling_arrow(error, text)
            if arrow is not None:
                span = source.span(arrow, arrow + 2)
                found.append(
                    Diagnostic(
                        codes.SYNTAX_ERROR,
                        span,
                        "a chain cannot end with '->'",
                        "nothing follows this arrow",
                        "add the next layer after '->', or remove the '->'",
                    )
                )
            else:
                described = _describe(error, source, text)
                # a '(' left open is met again by the retry after the next statement is blanked: said once
                if described not in found:
                    found.append(described)
            resumed = _blank_statement(text, offset, arrow)
            scanned += offset
            if resumed is None or len(found) >= MAX_SYNTAX_ERRORS or scanned > RETRY_BUDGET:
                return None, found
            text = resumed
            continue
        if found:
            return None, found
        try:
            return to_syntax(tree, source.path), []
        except NumberTooLong as too_long:
            return None, [
                Diagnostic(
                    codes.INVALID_EXPRESSION,
                    too_long.span,
                    f"an integer with {too_long.digits:,} digits is too large",
                    "out of range",
                    "integers must stay within ±2^62",
                )
            ]


def to_syntax(tree: Tree, path: str):
    """The syntax tree of Lark's parse tree: ToSyntax's function for each rule, bottom-up, without recursion
    (so deep nesting does not depend on Python's recursion limit)."""
    builder = ToSyntax(path)
    functions = builder_functions()
    stack = [(tree, iter(tree.children), [])]
    while True:
        node, pending, done = stack[-1]
        for child in pending:
            if isinstance(child, Tree):
                stack.append((child, iter(child.children), []))
                break
            done.append(child)
        else:
            stack.pop()
            function = functions.get(node.data)
            result = Tree(node.data, done, node.meta) if function is None else function(builder, node.meta, *done)
            if not stack:
                return result
            stack[-1][2].append(result)


def _dangling_arrow(error: UnexpectedInput, text: str) -> int | None:
    """The offset of a '->' that ends a line and swallowed the next statement, if that is what went wrong.

    An arrow continues a chain over line breaks and comments, so `y = x -> a ->`
    followed by `z = ...` reads `z` as a layer and fails at its '='.
    """
    token = getattr(error, "token", None)
    history = getattr(error, "token_history", None) or []
    if token is None or not history:
        return None
    previous = history[-1]  # None when the error is at the first token of the file
    if previous is None or previous.type != "NAME" or previous.start_pos is None:
        return None
    before = text[: previous.start_pos]
    lines = before.split("\n")
    if len(lines) < 2 or lines[-1].strip():
        return None  # the name is not at the start of its line
    # `z = ...` fails at its '='; a statement that starts with a keyword (`output y = ...`, `block b(...)`)
    # fails at the name after it, which a chain's next layer written on its own line also could: that one is
    # taken for a new statement only in column 1, where fmt never puts a continued layer
    if token.type not in ("EQUAL", "COMMA", "COLON") and lines[-1]:
        return None
    for index in range(len(lines) - 2, -1, -1):
        code = lines[index].split("#", 1)[0].rstrip()
        if code:
            if not code.endswith("->"):
                return None
            return sum(len(line) + 1 for line in lines[:index]) + len(code) - 2
    return None


def _blank_statement(text: str, offset: int, start_at: int | None = None) -> str | None:
    """Replace the top-level statement around `offset` with spaces, keeping offsets.

    A top-level statement starts at a line that begins in column 1 with a
    letter; this is only used to resume after an error, so a heuristic is fine.
    `start_at` moves the start back, to the statement that really holds the error.
    """
    offset = min(offset, len(text) - 1)
    anchor = offset if start_at is None else min(start_at, offset)
    start = text.rfind("\n", 0, anchor + 1) + 1
    while start > 0 and not _starts_statement(text, start):
        start = text.rfind("\n", 0, start - 1) + 1
    end = text.find("\n", offset)
    while end != -1 and end + 1 < len(text) and not _starts_statement(text, end + 1):
        end = text.find("\n", end + 1)
    if end == -1 or end + 1 >= len(text):
        return None
    blanked = "".join(c if c in "\r\n" else " " for c in text[start:end])
    return text[:start] + blanked + text[end:]


def _starts_statement(text: str, start: int) -> bool:
    return start < len(text) and (text[start].isalpha() or text[start] == "_")


# Words for terminals, so messages never show Lark's names.
_WORDS = {
    "NAME": "a name",
    "INT": "a number",
    "FLOAT": "a number",
    "STRING": "a string",
    "COMPARE": "a comparison",
    "LPAR": "'('",
    "RPAR": "')'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "COLON": "':'",
    "COMMA": "','",
    "EQUAL": "'='",
    "STAR": "'*'",
    "SLASH": "'/'",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "PERCENT": "'%'",
    "_ARROW": "'->'",
    "_NL": "the end of the line",
    "$END": "the end of the file",
}
# Terminals not worth listing among the alternatives.
_QUIET = {"COMPARE", "PLUS", "MINUS", "SLASH", "PERCENT", "STAR", "FLOAT"}
_QUIET_LITERALS = {"//", "True", "False"}
# Terminals that can start a value; when they fit, say "a value".
_VALUE_START = {"NAME", "INT", "FLOAT", "STRING", "LPAR", "MINUS", "PLUS"}
_VALUE_LITERALS = {"true", "True", "false", "False", "not"}


def _word(terminal: str) -> str:
    if terminal in _WORDS:
        return _WORDS[terminal]
    pattern = _literal(terminal)
    return f"'{pattern}'" if pattern else terminal.lower()


@functools.cache
def _literal(terminal: str) -> str | None:
    for term in parser().terminals:
        if term.name == terminal and term.pattern.type == "str":
            return term.pattern.value
    return None


def _expected_words(expected: set[str], after: Token | None) -> list[str]:
    if "_NL" in expected:
        expected = expected - {"$END"}
    prefix = []
    value_starts = {t for t in expected if t in _VALUE_START or _literal(t) in _VALUE_LITERALS}
    if {"INT", "STRING"} <= value_starts:
        prefix = ["a value"]
        expected = expected - value_starts
    shown = prefix + [t for t in expected if t not in _QUIET and _literal(t) not in _QUIET_LITERALS]
    if not shown:
        shown = sorted(expected)
    after_arrow = after is not None and after.type in ("_ARROW", "COLON")
    words = []
    for terminal in sorted(shown, key=lambda t: (t != "a value", t != "NAME", t == "_NL", t)):
        if terminal == "a value":
            words.append(terminal)
            continue
        word = "a layer name" if terminal == "NAME" and after_arrow else _word(terminal)
        if word not in words:
            words.append(word)
    if len(words) > 6:
        words = words[:6] + ["..."]
    return words


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    if words[-1] == "...":
        return ", ".join(words[:-1]) + ", ..."
    return ", ".join(words[:-1]) + " or " + words[-1]


def _describe(error: UnexpectedInput, source: Source, text: str) -> Diagnostic:
    if isinstance(error, UnexpectedCharacters):
        offset = error.pos_in_stream
        char = text[offset] if offset < len(text) else ""
        span = source.span(offset, offset + 1)
        label = f"unexpected character {char!r}"
        help_ = _character_help(char, text, offset)
        return Diagnostic(codes.SYNTAX_ERROR, span, f"unexpected character {char!r}", label, help_)
    token: Token = error.token
    expected = set(error.expected) if isinstance(error, UnexpectedToken) else set(getattr(error, "expected", ()) or ())
    interactive = getattr(error, "interactive_parser", None)
    if interactive is not None:
        try:
            # LALR lookahead sets are merged between states; ask what really fits here.
            expected = set(interactive.accepts()) or expected
        except Exception:
            pass
    open_parens = parser().options.postlex.open_parens
    # An error on a later line that starts in column 1 is in the next statement: the '(' before it was left
    # open (line breaks inside parentheses are not ends of statements, so the parser read on). The error
    # may come after the statement's first word: `output y` reads as two arguments in a row.
    next_statement = (
        bool(open_parens)
        and token.line is not None
        and token.start_pos is not None
        and token.line > open_parens[-1].line
        and _starts_statement(text, text.rfind("\n", 0, token.start_pos) + 1)
    )
    if open_parens and (token.type in ("_ARROW", "$END", "RBRACE") or next_statement) and "RPAR" in expected:
        opened = open_parens[-1]
        span = source.span(opened.start_pos, opened.start_pos + 1)
        return Diagnostic(codes.SYNTAX_ERROR, span, "this '(' is never closed", "opened here", "add the missing ')'")
    previous = getattr(error, "token_history", None)
    previous = previous[-1] if previous else None
    if isinstance(error, UnexpectedEOF) or token.type == "$END":
        offset = len(source.text)
        span = source.span(max(0, offset - 1), offset)
        found = "the end of the file"
    else:
        start = token.start_pos or 0
        if token.type in ("_NL", "_ARROW"):
            # Point at the end of the line rather than at the blank space after it.
            stripped = token.value.lstrip(" \t")
            start = start + (len(token.value) - len(stripped))
            if token.type == "_ARROW":
                start = token.start_pos + token.value.index("->")
        span = source.span(start, start + max(1, len(token.value.strip()) if token.type != "_NL" else 1))
        found = _found(token)
    message, help_ = _curated(token, expected, previous, text)
    if message is None and token.type in ("_NL", "$END"):
        before = text[: token.start_pos if token.type == "_NL" and token.start_pos is not None else len(text)]
        if before.rstrip().endswith("->"):
            message, help_ = "a chain cannot end with '->'", "add the next layer after '->', or remove the '->'"
    if message is None:
        message = f"expected {_join(_expected_words(expected, previous))}, found {found}"
    return Diagnostic(codes.SYNTAX_ERROR, span, message, f"unexpected {found}", help_)


def _found(token: Token) -> str:
    if token.type == "_NL":
        return "the end of the line"
    if token.type == "NAME" or (token.value.isidentifier() and token.type != "$END"):
        return f"name `{token.value}`"
    if token.type in ("INT", "FLOAT"):
        return f"number {token.value}"
    if token.type == "_ARROW":
        return "'->'"
    return f"'{token.value}'"


_KEYWORDS = ("network", "set", "const", "include", "input", "param", "output", "block")


def _line_of(text: str, token: Token) -> str:
    start = text.rfind("\n", 0, token.start_pos or 0) + 1
    end = text.find("\n", start)
    return text[start : end if end != -1 else len(text)]


def _curated(token: Token, expected: set[str], previous: Token | None, text: str) -> tuple[str | None, str | None]:
    """Messages for the mistakes people actually make."""
    kind = token.type
    if kind == "EQUAL" and text[token.start_pos : token.start_pos + 2] == "=>":
        return "layers in a chain are joined with '->', not '=>'", "write `a -> b`"
    if (
        kind not in ("EQUAL", "COMMA")
        and "EQUAL" in expected
        and previous is not None
        and previous.type == "NAME"
        and _line_of(text, previous).startswith(previous.value)
    ):
        import difflib

        close = difflib.get_close_matches(previous.value, _KEYWORDS, n=1, cutoff=0.6)
        if close:
            return (f"unknown statement `{previous.value}`", f"did you mean `{close[0]}`?")
    if kind == "_ARROW" and "EQUAL" in expected and previous is not None and previous.type == "NAME":
        return (
            "a chain must be assigned to a name",
            f"write `y = {previous.value} -> ...` and use `y` later (or `output y = ...`)",
        )
    if kind == "_NL" and "RPAR" in expected:
        return "this '(' is never closed", "add the missing ')'"
    if kind in ("$END",) and "RPAR" in expected:
        return "a '(' is never closed before the end of the file", "add the missing ')'"
    if kind == "$END" and "RBRACE" in expected:
        return "a block's '{' is never closed", "add the missing '}'"
    if "COLON" in expected and previous is not None and _line_of(text, previous).lstrip().startswith("input"):
        return "an input needs ':' before its shape", f"write `input {previous.value}: 3 x 224 x 224`"
    if kind == "NAME" and "EQUAL" in expected and previous is not None and previous.type == "NAME":
        return (
            f"expected '=' or ',' after `{previous.value}`",
            "a statement is `name = source -> layer -> ...`; a keyword such as `input` or `block` may be misspelled",
        )
    if kind == "COMMA" and "_ARROW" in expected and "RPAR" not in expected:
        return "layers in a chain are joined with '->', not ','", "write `a -> b`"
    if (
        kind == "EQUAL"
        and previous is not None
        and previous.type == "NAME"
        and text[: previous.start_pos].rstrip().endswith("->")
    ):
        return (
            "the line before ends with '->', so this line continues its chain",
            "remove the trailing '->' from the line before",
        )
    if kind in ("_NL", "$END") and previous is not None and previous.type == "_ARROW":
        return "a chain cannot end with '->'", "add the next layer after '->', or remove the '->'"
    if kind == "NAME" and "_ARROW" in expected:
        return None, "layers in a chain are joined with '->'; is one missing?"
    return None, None


def _character_help(char: str, text: str, offset: int) -> str | None:
    if char == ">" and offset > 0 and text[offset - 1] in "=-":
        return "layers in a chain are joined with '->'"
    if char == "=" and text[offset : offset + 2] == "=>":
        return "layers in a chain are joined with '->', not '=>'"
    if char == ";":
        return "statements end at the end of a line; remove the ';'"
    if char in "[]":
        return "per-axis values are written `(3, 1)` or `3x1`"
    if char == "\t":
        return None
    return None
