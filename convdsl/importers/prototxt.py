"""A small parser of protobuf text format (Caffe's .prototxt), with a line and column for every field.

No protobuf dependency and no schema: a message is a list of fields, each a name with a scalar (a
string, a number, an enum word) or a nested message. Bounded by construction: the text is at most the
loader's 10 MiB, nesting at most MAX_DEPTH deep, at most MAX_FIELDS fields; past a bound it stops with
a diagnostic. Strings are kept as text; nothing in them is ever interpreted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .. import diagnostics as codes
from ..diagnostics import Diagnostic
from ..source import Source, Span

MAX_DEPTH = 64
MAX_FIELDS = 200_000  # GoogLeNet's deploy file has about 2,500, ResNet-152's about 10,000

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n\f\v,;]+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"[^"\\\n]*(?:\\.[^"\\\n]*)*"|'[^'\\\n]*(?:\\.[^'\\\n]*)*')
  | (?P<number>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|inf|nan)[fF]?(?![A-Za-z_0-9]))
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<punct>[{}:\[\]<>])
    """,
    re.X,
)


@dataclass
class Field:
    name: str
    value: object  # str (a string's text), int, float, Word (an enum or bool), or Message
    span: Span  # the whole field: name to value (to the `{` of a message)
    value_span: Span


@dataclass(frozen=True)
class Word:
    """An unquoted identifier value (an enum such as MAX, or true/false)."""

    text: str


@dataclass
class Message:
    fields: list[Field] = field(default_factory=list)
    span: Span | None = None

    def all(self, name: str) -> list[Field]:
        return [f for f in self.fields if f.name == name]

    def first(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def get(self, name: str, default=None):
        f = self.first(name)
        return default if f is None else f.value

    def values(self, name: str) -> list:
        return [f.value for f in self.fields if f.name == name]


class ParseError(Exception):
    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


def _unescape(text: str) -> str:
    body = text[1:-1]
    if "\\" not in body:
        return body
    out, i = [], 0
    simple = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(simple.get(nxt, nxt))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


class _Parser:
    def __init__(self, source: Source):
        self.source = source
        self.text = source.text
        self.tokens = self._tokens()  # (kind, text, start, end), read one at a time: memory stays small
        self.ahead = None
        self.count = 0

    def span(self, start: int, end: int) -> Span:
        return self.source.span(start, end)

    def fail(self, message: str, start: int, end: int, help: str | None = None):
        raise ParseError(Diagnostic(codes.FOREIGN_SYNTAX, self.span(start, max(end, start + 1)), message, help=help))

    def _tokens(self):
        text, pos = self.text, 0
        match = _TOKEN.match
        while pos < len(text):
            m = match(text, pos)
            if m is None:
                self.fail(f"unexpected character {text[pos]!r}", pos, pos + 1)
            kind = m.lastgroup
            if kind not in ("space", "comment"):
                yield (kind, m.group(), pos, m.end())
            pos = m.end()

    def peek(self):
        if self.ahead is None:
            self.ahead = next(self.tokens, False)
        return self.ahead or None

    def advance(self) -> None:
        self.ahead = None

    def message(self, depth: int, closer: str | None, start: int) -> Message:
        if depth > MAX_DEPTH:
            self.fail(f"messages nested more than {MAX_DEPTH} deep", start, start + 1)
        msg = Message(span=None)
        while True:
            tok = self.peek()
            if tok is None:
                if closer is not None:
                    self.fail(f"a message opened here is never closed with `{closer}`", start, start + 1)
                break
            kind, text, s, e = tok
            if kind == "punct" and text == closer:
                self.advance()
                msg.span = self.span(start, e)
                return msg
            if kind != "word":
                self.fail(f"expected a field name, found `{text[:40]}`", s, e)
            self.advance()
            self.count += 1
            if self.count > MAX_FIELDS:
                self.fail(f"more than {MAX_FIELDS:,} fields: not a network description convdsl reads", s, e)
            colon = False
            nxt = self.peek()
            if nxt and nxt[0] == "punct" and nxt[1] == ":":
                colon = True
                self.advance()
                nxt = self.peek()
            if nxt is None:
                self.fail(f"field `{text}` has no value", s, e)
            if nxt[0] == "punct" and nxt[1] in "{<":
                self.advance()
                inner = self.message(depth + 1, "}" if nxt[1] == "{" else ">", nxt[2])
                msg.fields.append(Field(text, inner, self.span(s, nxt[3]), self.span(nxt[2], nxt[3])))
                continue
            if not colon:
                self.fail(f"expected `:` or `{{` after `{text}`", nxt[2], nxt[3])
            if nxt[0] == "punct" and nxt[1] == "[":  # a list: name: [1, 2, 3]
                self.advance()
                while True:
                    item = self.peek()
                    if item is None:
                        self.fail("a list is never closed with `]`", nxt[2], nxt[3])
                    if item[0] == "punct" and item[1] == "]":
                        self.advance()
                        break
                    value = self.scalar(item)
                    self.advance()
                    self.count += 1
                    msg.fields.append(Field(text, value, self.span(s, item[3]), self.span(item[2], item[3])))
                continue
            value = self.scalar(nxt)
            self.advance()
            msg.fields.append(Field(text, value, self.span(s, nxt[3]), self.span(nxt[2], nxt[3])))
        msg.span = self.span(start, len(self.text))
        return msg

    def scalar(self, tok):
        kind, text, s, e = tok
        if kind == "string":
            return _unescape(text)
        if kind == "number":
            body = text.rstrip("fF")
            if re.fullmatch(r"[-+]?\d+", body):
                if len(body) > 30:
                    self.fail("a number too large to be a size", s, e)
                return int(body)
            try:
                return float(body)
            except ValueError:
                self.fail(f"not a number: `{text[:40]}`", s, e)
        if kind == "word":
            return Word(text)
        self.fail(f"expected a value, found `{text[:40]}`", s, e)


def parse(source: Source) -> Message:
    """The top-level message of a prototxt text; raises ParseError with a diagnostic."""
    parser = _Parser(source)
    return parser.message(0, None, 0)
