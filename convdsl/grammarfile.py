"""The grammar's text, and the bound on nesting both parsers keep (frontend.py's fast one, grammar.py's Lark)."""

from __future__ import annotations

import os

# Parentheses inside parentheses. Lowering recurses once per level, so a bound keeps
# a pathological file (10,000 '(') from exhausting Python's stack; real files nest a few.
MAX_NESTING = 100


def grammar_text() -> str:
    """The grammar: shipped inside the wheel, or read from the source tree."""
    here = os.path.dirname(os.path.abspath(__file__))
    for path in (
        os.path.join(here, "grammar", "convdsl.lark"),  # installed: the wheel puts it here
        os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "grammar", "convdsl.lark"),
    ):  # the source tree
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                return handle.read()
    from importlib import resources  # a package that is not a plain directory (a zip)

    return (resources.files("convdsl") / "grammar" / "convdsl.lark").read_text(encoding="utf-8")
