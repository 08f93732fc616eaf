"""Writing .cdsl text from untrusted names: identifiers, comments and lines with their origins."""

from __future__ import annotations

import re

from .. import syntax
from ..source import Span

KEYWORDS = syntax.KEYWORDS  # words a .cdsl identifier cannot be
MAX_NAME = 64  # longer names are cut (and made unique): a label is shown in every table and diagram
MAX_COMMENT = 120

_NOT_IDENT = re.compile(r"[^A-Za-z0-9_]+")


def layer_words() -> frozenset:
    """Every layer kind and alias: a tensor named like one would read as a call at the head of a chain."""
    from ..layers import canonical_kinds

    words = set()
    for kind in canonical_kinds():
        words.add(kind.name)
        words.update(getattr(kind, "aliases", ()))
    return frozenset(words)


class Names:
    """Unique identifiers made from names in a foreign file (untrusted text)."""

    def __init__(self, reserved=()):
        self.used: set[str] = set(KEYWORDS) | set(reserved)

    def make(self, raw: str, fallback: str = "layer") -> str:
        """`raw` as an identifier: other characters become `_`, a leading digit gets a prefix, and a
        name already taken gets a number."""
        base = _NOT_IDENT.sub("_", str(raw)).strip("_")[:MAX_NAME] or fallback
        if base[0].isdigit():
            base = f"{fallback}_{base}"[:MAX_NAME]
        elif base in KEYWORDS:  # a keyword takes a trailing underscore, as in Python (`output_`)
            base += "_"
        name, n = base, 1
        while name in self.used:
            n += 1
            name = f"{base}_{n}"
        self.used.add(name)
        return name


def comment_text(text: str) -> str:
    """Text from a foreign file as one comment line: printable characters only, no line break."""
    text = "".join(c if c.isprintable() else "?" for c in str(text))
    return text[:MAX_COMMENT] + ("..." if len(text) > MAX_COMMENT else "")


def number(value) -> str:
    """A number as .cdsl writes it (floats keep their value: 1e-05, 0.5)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e15:
            return f"{value:.1f}"
        return repr(value)
    return str(value)


def call(kind: str, *args, **kwargs) -> str:
    """A layer call: kind(args, key=value); a tuple argument is written (a, b)."""

    def text(v):
        if isinstance(v, tuple):
            return "(" + ", ".join(text(x) for x in v) + ("," if len(v) == 1 else "") + ")"
        return number(v)

    parts = [text(a) for a in args] + [f"{k}={text(v)}" for k, v in kwargs.items() if v is not None]
    return f"{kind}({', '.join(parts)})" if parts else kind


class Writer:
    """Lines of .cdsl text, each with the foreign span it was written for."""

    def __init__(self):
        self.lines: list[str] = []
        self.origins: list[Span | None] = []

    def line(self, text: str = "", origin: Span | None = None) -> None:
        assert "\n" not in text
        self.lines.append(text)
        self.origins.append(origin)

    def comment(self, text: str, origin: Span | None = None) -> None:
        self.line(f"# {comment_text(text)}", origin)

    def chain(self, head: str, elements: list[str], origin: Span | None = None, origins=None) -> None:
        """`head = a -> b -> c`, one element per continued line past the first few, for readability."""
        if not elements:
            return
        first, *rest = elements
        self.line(f"{head}{first}", origin)
        for i, element in enumerate(rest):
            self.line(f"    -> {element}", origins[i + 1] if origins else origin)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"
