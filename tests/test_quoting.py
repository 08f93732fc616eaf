"""The quoting of user text for DOT, SVG, LaTeX and Mermaid (convdsl/render/quoting.py), against
the languages' own rules: Python's XML parser reads the SVG text back; the DOT, LaTeX and Mermaid
cases are written out by hand from each language's documentation."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from convdsl.render.quoting import Quoted, attrs, label, latex_text, mermaid_text, quote, xml_text


# -- DOT: "In quoted strings in DOT, the only escaped character is double-quote"; Graphviz then reads
# backslash escapes (\N, \G, \l, \n) in labels and decodes HTML entities (&lt;) in strings.
@pytest.mark.parametrize(
    "text,dot",
    [
        ("conv1", '"conv1"'),
        ('a"b', '"a\\"b"'),
        ("a\\Nb", '"a\\\\Nb"'),  # \N would show the node's name
        ("&lt;", '"&amp;lt;"'),  # Graphviz decodes entities even in plain strings
        ("a\nb", '"a b"'),  # a line break becomes a space
        ("a\tb\x00c", '"a b c"'),
        ("a\u2028b\u2029c", '"a b c"'),  # line and paragraph separators
        ("\ud800x", '"?x"'),  # a lone surrogate: not UTF-8, replaced
        ("a\ufffeb\uffffc\ufdd0d\U0001fffee", '"a\ufffdb\ufffdc\ufffdd\ufffde"'),
        ("é×→", '"é×→"'),
        ("", '""'),
    ],
)
def test_quote(text, dot):
    quoted = quote(text)
    assert quoted == dot and isinstance(quoted, Quoted)


@pytest.mark.parametrize("code", [0xFDD0, 0xFDEF, *(plane * 0x10000 + 0xFFFE for plane in range(17))])
def test_every_noncharacter_is_replaced(code):
    # Unicode's 66 noncharacters: U+FDD0..U+FDEF and the last two code points of each of the 17 planes
    assert quote(chr(code)) == '"\ufffd"'
    assert quote(chr(code | 1)) == '"\ufffd"'


@pytest.mark.parametrize("code", [0xFDCF, 0xFDF0, 0xFFFD, 0x1FFFD, 0x10000, 0xFFEF, 0xEFFE])
def test_neighbours_of_noncharacters_stay(code):
    # a character that is not printable (unassigned) but not a noncharacter is kept as it is
    assert quote("\n" + chr(code)) == f'" {chr(code)}"'


def test_label_joins_quoted_lines_with_centred_breaks():
    assert label(["a", 'b"c', "d\\e"]) == '"a\\nb\\"c\\nd\\\\e"'
    assert label([]) == '""'


def test_attrs_quotes_what_is_not_quoted_and_leaves_out_none():
    assert attrs(label=quote("x"), width=1.5, color=None, shape="box", tip='a"') == (
        '[label="x", width="1.5", shape="box", tip="a\\""]'
    )
    assert attrs(n=2, f=0.1) == '[n="2", f="0.1"]'
    assert attrs() == "[]"


# -- SVG: whatever the text, an XML parser reads it back, as text and as an attribute, on one line
HOSTILE = [
    "plain",
    "<script>alert(1)</script>",
    "a & b &amp; c",
    'it\'s "quoted"',
    "]]> <!-- -->",
    "line\nbreak\rand\ttab",
    "nul\x00 and \x1b escape",
    "lone \ud800 surrogate",
    "\ufffe\uffff",
    "\u2028\u2029",
]


def _one_line_expected(text: str) -> str:
    """By hand: control characters, separators and characters XML forbids become spaces, a lone
    surrogate becomes U+FFFD (after the UTF-8 round trip, Python's 'replace' gives '?')."""
    out = []
    for c in text:
        if 0xD800 <= ord(c) <= 0xDFFF:
            out.append("?")
        elif ord(c) < 32 or ord(c) == 127 or 0x80 <= ord(c) < 0xA0 or c in "\u2028\u2029\ufffe\uffff":
            out.append(" ")
        else:
            out.append(c)
    return "".join(out)


@pytest.mark.parametrize("text", HOSTILE)
def test_xml_text_reads_back_exactly(text):
    escaped = xml_text(text)
    element = ET.fromstring(f"<t a=\"{escaped}\" b='{escaped}'>{escaped}</t>")
    expected = _one_line_expected(text)
    assert element.text == expected or (expected == "" and element.text is None)
    assert element.get("a") == expected and element.get("b") == expected


def test_xml_text_by_hand():
    assert xml_text("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&#39;"
    assert xml_text("XY\n") == "XY "  # only the forbidden characters change, never a letter beside them


# -- LaTeX: every special character as the command that prints it (The LaTeX Companion, "special characters")
@pytest.mark.parametrize(
    "text,tex",
    [
        ("a_b", r"a\_b"),
        ("\\input{x}", r"\textbackslash{}input\{x\}"),
        ("$5 & 10% #1", r"\$5 \& 10\% \#1"),
        ("^^5c ~", r"\textasciicircum{}\textasciicircum{}5c \textasciitilde{}"),
        ("<a|b>", r"\textless{}a\textbar{}b\textgreater{}"),
        ("\"'`", r"\texttt{\char34}\texttt{\char13}\texttt{\char18}"),
        ("--", "-{}-{}"),
        ("[x]", "{[}x{]}"),
        ("3 × 224 · 2", r"3 \ensuremath{\times} 224 \ensuremath{\cdot} 2"),
        ("a–b—c…", r"a--b---c\ldots{}"),
        (
            "→‖÷≤≥±−",
            r"\ensuremath{\rightarrow}\ensuremath{\|}\ensuremath{\div}\ensuremath{\le}"
            r"\ensuremath{\ge}\ensuremath{\pm}\ensuremath{-}",
        ),
        ("café", "cafe"),  # NFKD: the accent-free letter
        ("ﬁ", "fi"),  # a ligature decomposes to its letters
        ("α漢", "??"),  # no ASCII letter: a question mark
        ("line\nbreak", "line break"),
        ("é_", r"e\_"),
        ("½", "12"),  # NFKD: 1, U+2044 FRACTION SLASH (not ASCII: dropped), 2
        ("a\u00a0b", "a b"),  # NO-BREAK SPACE: NFKD gives a space, kept
        ("\uff04\uff5e\uff3f", r"\$\textasciitilde{}\_"),  # fullwidth $ ~ _: NFKD's ASCII, escaped in turn
    ],
)
def test_latex_text(text, tex):
    assert latex_text(text) == tex


# -- Mermaid: entity codes for what ends or means something in a double-quoted label
def test_mermaid_text():
    assert mermaid_text('a"b#c<d>e&f|g`h') == "a#quot;b#35;c#lt;d#gt;e#amp;f#124;g#96;h"
    assert mermaid_text("x\ny") == "x y"
    assert mermaid_text("plain (text) [ok]") == "plain (text) [ok]"
