"""Syntax highlighting: a Pygments lexer for convdsl (`pygmentize -l convdsl`, Sphinx, MkDocs).

Registered with Pygments by the entry point `pygments.lexers` (pyproject.toml),
so an installed convdsl gives `pygmentize -l convdsl model.cdsl` and
```` ```convdsl ```` code blocks in Sphinx and MkDocs. Its keywords come from the
grammar and its layer kinds from the catalogue (vocabulary.py); the VS Code
extension's TextMate grammar is made from the same words (textmate.py).
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, include, words
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text, Whitespace

from . import vocabulary

__all__ = ["ConvdslLexer"]

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
INT = r"[0-9][0-9_]*"
FLOAT = r"[0-9][0-9_]*\.[0-9_]*(?:[eE][+-]?[0-9]+)?|[0-9][0-9_]*[eE][+-]?[0-9]+"
# A size followed by `x` and another size: `3 x 224`, `3x1`, `nz x 1`, `H x W` (a name needs blanks around
# the `x`, else the two are one name, as the grammar reads them).
INT_X = rf"({INT})([ \t]*)(x)(?=[ \t]*[0-9A-Za-z_])"
NAME_X = rf"({NAME})([ \t]+)(x)(?=[ \t]+[0-9A-Za-z_]|[0-9])"


def _definition(keyword: str, kind) -> tuple:
    return (rf"\b({keyword})([ \t]+)({NAME})", bygroups(Keyword.Declaration, Whitespace, kind))


class ConvdslLexer(RegexLexer):
    """convdsl, the text language for neural-network architectures (.cdsl files)."""

    name = "convdsl"
    aliases = ["convdsl", "cdsl"]
    filenames = ["*.cdsl"]
    mimetypes = ["text/x-convdsl"]

    tokens = {
        "root": [
            (rf"({NAME})([ \t]*)(=)(?!=)", bygroups(Name.Variable, Whitespace, Operator)),  # x = ...
            include("common"),
        ],
        "parens": [
            (r"\)", Punctuation, "#pop"),
            (rf"({NAME})([ \t]*)(=)(?!=)", bygroups(Name.Attribute, Whitespace, Operator)),  # k=3
            include("common"),
        ],
        "common": [
            (r"\ufeff", Text),
            (r"[ \t\f\r\n]+", Whitespace),
            (r"\\[ \t]*\r?\n", Whitespace),
            (r"#[^\n]*", Comment.Single),
            (r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"', String.Double),
            (r"'[^'\\\n]*(?:\\.[^'\\\n]*)*'", String.Single),
            (r"->", Operator),
            (r"\(", Punctuation, "parens"),
            (r"\)", Punctuation),
            _definition("network", Name.Namespace),
            _definition("block", Name.Function),
            _definition("input", Name.Variable),
            _definition("param", Name.Variable),
            _definition("const", Name.Constant),
            _definition("set", Name.Attribute),
            _definition("output", Name.Variable),
            (INT_X, bygroups(Number.Integer, Whitespace, Operator.Word)),
            (FLOAT, Number.Float),
            (INT, Number.Integer),
            (words(vocabulary.constants(), prefix=r"\b", suffix=r"\b"), Keyword.Constant),
            (words(vocabulary.operator_words(), prefix=r"\b", suffix=r"\b"), Operator.Word),
            (words(vocabulary.control_words(), prefix=r"\b", suffix=r"\b"), Keyword),
            (words(vocabulary.keywords(), prefix=r"\b", suffix=r"\b"), Keyword),
            (NAME_X, bygroups(Name, Whitespace, Operator.Word)),
            (rf"({NAME})([ \t]*)(:)", bygroups(Name.Label, Whitespace, Punctuation)),  # conv1: conv(...)
            (words(vocabulary.CHAIN_WORDS, prefix=r"\b", suffix=r"(?=[ \t]*\()"), Keyword.Pseudo),
            (words(vocabulary.PSEUDO_NAMES, prefix=r"\b", suffix=r"\b"), Name.Builtin.Pseudo),
            (words(vocabulary.TYPE_NAMES, prefix=r"\b", suffix=r"\b"), Keyword.Type),
            (words(vocabulary.layer_kinds(), prefix=r"\b", suffix=r"\b"), Name.Builtin),
            (words(vocabulary.functions(), prefix=r"\b", suffix=r"(?=[ \t]*\()"), Name.Function.Builtin),
            (r"(\.)(shape)\b", bygroups(Punctuation, Name.Attribute)),
            (NAME, Name),
            (r"==|!=|<=|>=|<|>|//|[-+*/%=]", Operator),
            (r"[,:{}\[\].]", Punctuation),
        ],
    }
