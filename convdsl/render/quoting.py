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
    undecodable file name), and the noncharacters XML forbids (U+FFFE,
    U+FFFF), are replaced.
    """
    # Printable text (almost all) has none of those characters: no Cc, Zl, Zp nor lone
    # surrogate is printable. Checking that first saves a look-up per character.
    if not text.isprintable():
        text = text.encode("utf-8", "replace").decode("utf-8")
        text = "".join(
            " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else "\ufffd" if _noncharacter(c) else c for c in text
        )
    return Quoted('"' + text.replace("&", "&amp;").replace("\\", "\\\\").replace('"', '\\"') + '"')


def _noncharacter(c: str) -> bool:
    """U+FFFE, U+FFFF (which XML 1.0 forbids: the SVG would not be well-formed) and the other
    noncharacters (U+FDD0-U+FDEF, the last two of every plane), which no text should carry."""
    code = ord(c)
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


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


# Other drawing languages: SVG text, LaTeX and Mermaid ----------------------------------------


def _one_line(text: str) -> str:
    """Text as one line of valid characters: control characters and line breaks become spaces,
    text that is not valid UTF-8 (a lone surrogate) is replaced."""
    if text.isprintable():
        return text
    text = text.encode("utf-8", "replace").decode("utf-8")
    return "".join(
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs") or c in "\ufffe\uffff" else c for c in text
    )


def xml_text(text: str) -> str:
    """Character data or an attribute value in XML (SVG) that shows exactly this text on one line:
    `&`, `<`, `>` and both quotes are escaped, and no character XML 1.0 forbids is left."""
    return (
        _one_line(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


# What pdflatex's default OT1 fonts cannot show, and the signs convdsl writes, as LaTeX that needs
# no package beyond LaTeX itself (so the same text works in any paper's preamble). Straight quotes
# come from the typewriter font, which has them; TS1 symbols are avoided, as they make TeX build
# bitmap fonts where the EC fonts are not installed.
_LATEX = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    '"': r"\texttt{\char34}",
    "-": "-{}",
    "'": r"\texttt{\char13}",
    "`": r"\texttt{\char18}",
    "[": "{[}",
    "]": "{]}",
    "×": r"\ensuremath{\times}",
    "·": r"\ensuremath{\cdot}",
    "–": "--",
    "—": "---",
    "…": r"\ldots{}",
    "→": r"\ensuremath{\rightarrow}",
    "‖": r"\ensuremath{\|}",
    "÷": r"\ensuremath{\div}",
    "≤": r"\ensuremath{\le}",
    "≥": r"\ensuremath{\ge}",
    "±": r"\ensuremath{\pm}",
    "−": r"\ensuremath{-}",
}


def latex_text(text: str) -> str:
    r"""LaTeX that typesets exactly this text, in any document and in any font.

    Every character TeX gives a meaning (`\ { } $ & # ^ _ % ~`) is written as
    the command that prints it, so no text can run a command (`\input`,
    `\write18`), open a group, start maths, end a table cell or a line, or
    use `^^5c` to spell a backslash. Characters the default fonts lack, and
    any other non-ASCII character, become their accent-free ASCII letters or
    a `?` (pdflatex stops on a character it has no definition for).
    """
    import unicodedata as ud

    out = []
    for c in _one_line(text):
        if c in _LATEX:
            out.append(_LATEX[c])
        elif " " <= c <= "~":
            out.append(c)
        else:
            plain = "".join(x for x in ud.normalize("NFKD", c) if " " <= x <= "~")
            out.append("".join(_LATEX.get(x, x) for x in plain) if plain else "?")
    return "".join(out)


def mermaid_text(text: str) -> str:
    """Text for inside a double-quoted Mermaid label that shows exactly this text on one line.

    Mermaid's entity codes (`#35;`) stand for the characters that end the
    label or mean something inside it (`"`, `#`, `|`, backticks for Markdown
    strings) and for `<`, `>` and `&`, which it would otherwise read as HTML.
    """
    codes = {'"': "#quot;", "#": "#35;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "|": "#124;", "`": "#96;"}
    return "".join(codes.get(c, c) for c in _one_line(text))
