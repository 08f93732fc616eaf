"""The TextMate grammar of the VS Code extension (editors/vscode/syntaxes/convdsl.tmLanguage.json).

Made from the same words as the Pygments lexer (vocabulary.py: the grammar's
keywords, the catalogue's layer kinds), with the same rules in the same order.
The committed file is this module's output; a test fails when they differ:

    python -m convdsl.highlight.textmate > editors/vscode/syntaxes/convdsl.tmLanguage.json
"""

from __future__ import annotations

import json
import re
import sys

from . import vocabulary

SCOPE = "source.convdsl"
NAME = r"[A-Za-z_][A-Za-z0-9_]*"
INT = r"[0-9][0-9_]*"
FLOAT = r"[0-9][0-9_]*\.[0-9_]*(?:[eE][+-]?[0-9]+)?|[0-9][0-9_]*[eE][+-]?[0-9]+"


def _scope(name: str) -> str:
    return f"{name}.convdsl"


def _words(words) -> str:
    return r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b"


def _definition(keyword: str, scope: str) -> dict:
    return {
        "match": rf"\b({keyword})[ \t]+({NAME})",
        "captures": {"1": {"name": _scope("keyword.other.declaration")}, "2": {"name": _scope(scope)}},
    }


def grammar() -> dict:
    """The grammar, as the JSON object VS Code reads."""
    assignment = {
        "match": rf"\b({NAME})[ \t]*(=)(?!=)",
        "captures": {
            "1": {"name": _scope("variable.other.assignment")},
            "2": {"name": _scope("keyword.operator.assignment")},
        },
    }
    keyword_argument = {
        "match": rf"\b({NAME})[ \t]*(=)(?!=)",
        "captures": {
            "1": {"name": _scope("variable.parameter.keyword")},
            "2": {"name": _scope("keyword.operator.assignment")},
        },
    }
    common = [
        {"include": "#comment"},
        {"include": "#string"},
        {"match": "->", "name": _scope("keyword.operator.arrow")},
        {"include": "#parens"},
        _definition("network", "entity.name.namespace"),
        _definition("block", "entity.name.function.block"),
        _definition("input", "variable.other.input"),
        _definition("param", "variable.other.param"),
        _definition("const", "variable.other.constant"),
        _definition("set", "variable.other.setting"),
        _definition("output", "variable.other.output"),
        # No \b before numbers: in `3x32` the 32 follows a letter. A name that holds digits is matched
        # from its first letter, which comes first (TextMate takes the leftmost match).
        {
            "match": rf"({INT})[ \t]*(x)(?=[ \t]*[0-9A-Za-z_])",
            "captures": {
                "1": {"name": _scope("constant.numeric.integer")},
                "2": {"name": _scope("keyword.operator.shape")},
            },
        },
        {"match": rf"(?:{FLOAT})", "name": _scope("constant.numeric.float")},
        {"match": INT, "name": _scope("constant.numeric.integer")},
        {"match": _words(vocabulary.constants()), "name": _scope("constant.language.boolean")},
        {"match": _words(vocabulary.operator_words()), "name": _scope("keyword.operator.logical")},
        {"match": _words(vocabulary.control_words()), "name": _scope("keyword.control.conditional")},
        {"match": _words(vocabulary.keywords()), "name": _scope("keyword.other")},
        {
            "match": rf"\b({NAME})([ \t]+)(x)(?=[ \t]+[0-9A-Za-z_]|[0-9])",
            "captures": {"1": {"name": _scope("variable.other.size")}, "3": {"name": _scope("keyword.operator.shape")}},
        },
        {
            "match": rf"\b({NAME})[ \t]*(:)",
            "captures": {
                "1": {"name": _scope("entity.name.label")},
                "2": {"name": _scope("punctuation.separator.colon")},
            },
        },
        {"match": _words(vocabulary.CHAIN_WORDS) + r"(?=[ \t]*\()", "name": _scope("keyword.other.reuse")},
        {"match": _words(vocabulary.PSEUDO_NAMES), "name": _scope("variable.language.in")},
        {"match": _words(vocabulary.TYPE_NAMES), "name": _scope("storage.type")},
        {"match": _words(vocabulary.layer_kinds()), "name": _scope("support.function.layer")},
        {"match": _words(vocabulary.functions()) + r"(?=[ \t]*\()", "name": _scope("support.function.builtin")},
        {"match": r"(?<=\.)" + _words(vocabulary.ATTRIBUTES), "name": _scope("variable.other.property")},
        {"match": r"\.", "name": _scope("punctuation.accessor")},
        {"match": rf"\b{NAME}", "name": _scope("variable.other")},
        {"match": r"==|!=|<=|>=|<|>", "name": _scope("keyword.operator.comparison")},
        {"match": r"//|[-+*/%]", "name": _scope("keyword.operator.arithmetic")},
        {"match": r"=", "name": _scope("keyword.operator.assignment")},
        {"match": r",", "name": _scope("punctuation.separator.comma")},
        {"match": r":", "name": _scope("punctuation.separator.colon")},
        {"match": r"\{", "name": _scope("punctuation.section.block.begin")},
        {"match": r"\}", "name": _scope("punctuation.section.block.end")},
        {"match": r"\\[ \t]*$", "name": _scope("punctuation.separator.continuation.line")},
        {"match": r"\)", "name": _scope("invalid.illegal.unmatched")},
    ]
    return {
        "$schema": "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
        "name": "convdsl",
        "scopeName": SCOPE,
        "fileTypes": ["cdsl"],
        "comment": "Generated by `python -m convdsl.highlight.textmate` from grammar/convdsl.lark and the "
        "layer catalogue; do not edit by hand.",
        "patterns": [assignment, {"include": "#common"}],
        "repository": {
            "common": {"patterns": common},
            "comment": {
                "match": r"(#).*$",
                "name": _scope("comment.line.number-sign"),
                "captures": {"1": {"name": _scope("punctuation.definition.comment")}},
            },
            "string": {
                "patterns": [
                    {"match": r'"[^"\\]*(?:\\.[^"\\]*)*"', "name": _scope("string.quoted.double")},
                    {"match": r"'[^'\\]*(?:\\.[^'\\]*)*'", "name": _scope("string.quoted.single")},
                ]
            },
            "parens": {
                "begin": r"\(",
                "end": r"\)",
                "name": _scope("meta.parens"),
                "beginCaptures": {"0": {"name": _scope("punctuation.parenthesis.begin")}},
                "endCaptures": {"0": {"name": _scope("punctuation.parenthesis.end")}},
                "patterns": [keyword_argument, {"include": "#common"}],
            },
        },
    }


def text() -> str:
    return json.dumps(grammar(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    sys.stdout.write(text())


if __name__ == "__main__":
    main()
