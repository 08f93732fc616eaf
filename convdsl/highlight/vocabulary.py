"""The words highlighters colour, taken from the grammar and the layer catalogue (not copied by hand).

Every word the grammar spells out (`"network"`, `"if"`, `"true"`, ...) is a
keyword; WORD_CLASSES only refines some of them. A word added to the grammar is
therefore highlighted as a keyword without a change here, and the generated
TextMate grammar's test (tests/test_highlight.py) notices that the committed
file must be made again.
"""

from __future__ import annotations

import functools
import re

# Words with a colour of their own; every other word of the grammar is a statement keyword.
CONSTANTS = ("true", "True", "false", "False")
OPERATOR_WORDS = ("and", "or", "not")
CONTROL = ("if", "else")
SHAPE_OPERATOR = "x"  # `3 x 224 x 224`: a keyword only between sizes, elsewhere a common tensor name

# Names the language gives a meaning to without the grammar spelling them.
PSEUDO_NAMES = ("in",)  # a block's input tensor
TYPE_NAMES = ("tensor",)  # a block parameter's type: `skip: tensor`
ATTRIBUTES = ("shape",)  # `in.shape[1]`
CHAIN_WORDS = ("reuse",)  # `reuse(LABEL)`: a chain step the language defines, not a layer kind; before `(` only


def functions() -> tuple[str, ...]:
    """The functions of argument arithmetic (convdsl/functions.py), longest first."""
    from ..functions import FUNCTIONS

    return tuple(sorted(FUNCTIONS, key=lambda name: (-len(name), name)))


@functools.lru_cache(maxsize=1)
def grammar_words() -> tuple[str, ...]:
    """Every word literal of grammar/convdsl.lark, sorted."""
    from ..grammarfile import grammar_text

    text = re.sub(r"//[^\n]*", "", grammar_text())
    return tuple(sorted(set(re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"', text))))


def keywords() -> tuple[str, ...]:
    """The grammar's words that start statements or otherwise stand alone."""
    special = {*CONSTANTS, *OPERATOR_WORDS, *CONTROL, SHAPE_OPERATOR}
    return tuple(w for w in grammar_words() if w not in special)


def constants() -> tuple[str, ...]:
    return tuple(w for w in grammar_words() if w in CONSTANTS)


def operator_words() -> tuple[str, ...]:
    return tuple(w for w in grammar_words() if w in OPERATOR_WORDS)


def control_words() -> tuple[str, ...]:
    return tuple(w for w in grammar_words() if w in CONTROL)


@functools.lru_cache(maxsize=1)
def layer_kinds() -> tuple[str, ...]:
    """Every layer kind and alias of the catalogue (convdsl/layers), longest first (for regex alternation)."""
    from ..layers import KINDS

    return tuple(sorted(KINDS, key=lambda name: (-len(name), name)))
