"""DOT quoting: user text in, a string Graphviz shows literally out.

Every attribute value convdsl writes is a double-quoted DOT string made here,
never an HTML-like `<...>` label, so no text from a file can open markup, end
the string, add attributes or name a file for Graphviz to read.
"""
from __future__ import annotations

import unicodedata


class Quoted(str):
    """DOT text already quoted by quote() or label(): written as it is."""


def quote(text: str) -> Quoted:
    r"""A DOT string that Graphviz shows as exactly this text on one line.

    A backslash is doubled, so `\N`, `\G` or `\l` in a name stay literal
    instead of expanding to the node's name or moving the text; a quote is
    escaped; `&` becomes `&amp;`, because Graphviz decodes entities such as
    `&lt;` even in plain labels and tooltips; line breaks and other control
    characters become spaces (labels put their own breaks between escaped
    lines); text that is not valid UTF-8 (a lone surrogate from an
    undecodable file name) is replaced.
    """
    # Printable text (almost all) has none of those characters: no Cc, Zl, Zp nor lone
    # surrogate is printable. Checking that first saves a look-up per character.
    if not text.isprintable():
        text = text.encode("utf-8", "replace").decode("utf-8")
        text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    return Quoted('"' + text.replace("&", "&amp;").replace("\\", "\\\\").replace('"', '\\"') + '"')


def label(lines) -> Quoted:
    """A multi-line label: each line quoted on its own, joined by DOT's centred line break."""
    return Quoted('"' + "\\n".join(quote(line)[1:-1] for line in lines) + '"')


def attrs(**values) -> str:
    """`[key="value", ...]`, leaving out None; values not already quoted are quoted."""
    parts = []
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, float):
            value = f"{value:g}"
        parts.append(f"{key}={value if isinstance(value, Quoted) else quote(str(value))}")
    return "[" + ", ".join(parts) + "]"
