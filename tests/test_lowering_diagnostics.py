"""Lowering's diagnostics, each in full: code, place, message, label, help and notes.

Each expectation is written here by hand: the code from the registry's meaning
(docs: E004 a name defined twice, E018 a layer without its tensors, ...), the
place counted on the line (columns from 1, the end just past the last
character), the text as a reader should see it. The arithmetic in the messages
(layers a repeat makes) is worked out in the comments.
"""

from __future__ import annotations

import pytest

import convdsl
from convdsl.model import Limits

NET = "input x: 3 x 8 x 8\n"


def _errors(text, **limits):
    """Every error lowering reports for text, as (code, (line, column, end line, end column), message, label,
    help, notes)."""
    network = convdsl.loads(text, "net.cdsl", limits=Limits(**limits))
    return [
        (
            d.code.code,
            (d.span.line, d.span.column, d.span.end_line, d.span.end_column),
            d.message,
            d.label,
            d.help,
            d.notes,
        )
        for d in network.diagnostics
        if d.is_error
    ]


CASES = {
    # names ------------------------------------------------------------------------------------------------
    "a label used twice in a group": (
        NET + "y = x -> g: (a: relu -> a: relu)\n",
        #              the second `a` is column 25
        [
            (
                "E004",
                (2, 25, 2, 26),
                "`g.a` is defined twice",
                "label used again",
                "labels are unique in their scope; inside a repeat, label the repeat instead: `a: (...) * 3`",
                (),
            )
        ],
    ),
    "a param with the name of an input": (
        NET + "param x: 4\ny = x -> relu\n",
        [
            (
                "E004",
                (2, 7, 2, 8),
                "`x` is defined twice",
                "defined again here",
                "give the param its own name; tensors are never reassigned",
                (),
            )
        ],
    ),
    # both of a param's wrong options are reported, in order, not only the first
    "two wrong param options": (
        NET + "param g: 3 x 1 x 1, init=true, foo=1\ny = x -> mul(g)\n",
        [
            (
                "E008",
                (2, 26, 2, 30),
                "`init` takes a number, got a boolean",
                "not a number",
                "write the value every entry starts from: `init=1e-6`",
                (),
            ),
            (
                "E006",
                (2, 32, 2, 35),
                "unknown param option `foo`",
                "not an option",
                "the only option is `init` (the value every entry starts from): `param g: 96, init=1e-6`",
                (),
            ),
        ],
    ),
    "an input declared twice": (
        NET + "input x: 3 x 4 x 4\ny = x -> relu\n",
        [("E004", (2, 7, 2, 8), "`x` is defined twice", "defined again here", None, ())],
    ),
    "a constant defined twice": (
        "const c = 4\nconst c = 5\n" + NET + "y = x -> conv(c, 1)\n",
        [("E004", (2, 7, 2, 8), "constant `c` is defined twice", "defined again here", None, ())],
    ),
    "a block defined twice": (
        NET + "block b = relu\nblock b = relu6\ny = x -> b\n",
        [
            (
                "E004",
                (3, 7, 3, 8),
                "block `b` is defined twice",
                "defined again here",
                None,
                ("first defined at net.cdsl:2",),
            )
        ],
    ),
    "a block named as a layer kind": (
        NET + "block conv = relu\ny = x -> relu\n",
        [
            (
                "E004",
                (2, 7, 2, 11),
                "block `conv` has the name of a built-in layer kind",
                "hides a layer kind",
                "rename the block, e.g. `my_conv`",
                (),
            )
        ],
    ),
    "a block named reuse": (
        NET + "block reuse = relu\ny = x -> relu\n",
        [
            (
                "E004",
                (2, 7, 2, 12),
                "a block cannot be named `reuse`: `reuse(LABEL)` calls a labelled layer again",
                "a word of the language",
                "rename the block, e.g. `my_reuse`",
                (),
            )
        ],
    ),
    # `in` is the name of a block's input: refused as a repeat index even where no block is around
    "a repeat index named in": (
        NET + "y = x -> (relu * 3 as in)\n",
        [
            (
                "E004",
                (2, 23, 2, 25),
                "`in` is a tensor here",
                "name taken",
                "give the repeat index a name of its own: `* N as i`",
                (),
            )
        ],
    ),
    # i, j and k are taken: the help offers the next free name, `index`
    "a repeat index named as a constant, i j k taken": (
        "const i = 1\nconst j = 2\nconst k = 3\n" + NET + "y = x -> (relu * 3 as i)\n",
        [
            (
                "E004",
                (5, 23, 5, 24),
                "`i` is already a constant or parameter here",
                "name taken",
                "give the repeat index a name of its own: `* N as index`",
                (),
            )
        ],
    ),
    # inputs ----------------------------------------------------------------------------------------------
    "no input": (
        "y = x -> relu\n",
        [
            (
                "E020",
                (1, 5, 1, 6),
                "the network declares no input",
                "`x` is never declared",
                "declare it: `input x: 3 x 224 x 224`",
                (),
            )
        ],
    ),
    "an input size of zero": (
        "input x: 3 x 0 x 8\ny = x -> relu\n",
        [("E014", (1, 14, 1, 15), "input size 0 is out of range", "sizes must be at least 1", None, ())],
    ),
    # 2^40 = 1,099,511,627,776 is the largest size; one more is refused
    "an input size over 2^40": (
        "input x: 3 x 1099511627777 x 8\ny = x -> relu\n",
        [
            (
                "E014",
                (1, 14, 1, 27),
                "input size 1099511627777 is out of range",
                "sizes are at most 2^40 (1,099,511,627,776)",
                None,
                (),
            )
        ],
    ),
    "a batch of zero": (
        "input x: 3 x 8 x 8, batch=0\ny = x -> relu\n",
        [("E014", (1, 27, 1, 28), "batch must be a positive integer or a name", "batch", None, ())],
    ),
    "an unknown dtype": (
        "input x: 8 x 4, dtype=int8\ny = x -> relu\n",
        [
            (
                "E014",
                (1, 23, 1, 27),
                "`dtype` is one of `float`, `long`, got int8",
                "not a dtype",
                "`dtype=long`: token ids, read by `embedding`; `dtype=float`: values (the default)",
                (),
            )
        ],
    ),
    # chains ----------------------------------------------------------------------------------------------
    "a chain that starts with reuse": (
        NET + "y = reuse(t)\n",
        [
            (
                "E018",
                (2, 5, 2, 13),
                "`reuse` calls a layer again on the tensor flowing in: a chain must start from a tensor",
                "no input for this reuse",
                "write `y = x -> reuse(t)`, with x the tensor it applies to",
                (),
            )
        ],
    ),
    "a chain that starts with a layer": (
        NET + "y = relu(2)\n",
        [
            (
                "E018",
                (2, 5, 2, 12),
                "a chain must start from a tensor",
                "no input for this layer",
                "write `y = x -> layer(...)`, or start with a merge such as `add(a, b)`",
                (),
            )
        ],
    ),
    # `interpolat` is near no layer's own name, only the alias `interpolate` (of upsample)
    "a misspelt alias": (
        NET + "y = x -> interpolat\n",
        [
            (
                "E005",
                (2, 10, 2, 20),
                "unknown layer `interpolat`",
                "not a layer kind or block",
                "did you mean `interpolate`?",
                (),
            )
        ],
    ),
    # `towr` is near the block `tower`, and near no layer kind or alias
    "a misspelt block": (
        NET + "block tower(c) = conv(c, 3)\ny = x -> towr(4)\n",
        [("E005", (3, 10, 3, 14), "unknown layer `towr`", "not a layer kind or block", "did you mean `tower`?", ())],
    ),
    "an undefined tensor argument": (
        NET + "y = x -> attention(1, memory=zz)\n",
        [("E003", (2, 30, 2, 32), "undefined tensor `zz`", "not defined", None, ())],
    ),
    "a tensor defined from itself": (
        NET + "t = t\ny = x -> add(t)\n",
        [
            (
                "E010",
                (2, 5, 2, 6),
                "tensors depend on themselves",
                "defined from itself",
                "a tensor cannot be computed from itself; break the loop",
                ("cycle: `t` -> `t`",),
            )
        ],
    ),
    "an undefined repeat count": (
        NET + "y = x -> relu * n\n",
        [("E003", (2, 17, 2, 18), "undefined name `n`", "not defined", None, ())],
    ),
    # reuse -----------------------------------------------------------------------------------------------
    "a reuse inside what it reuses": (
        NET + "y = x -> tower: (conv(3, 1) -> reuse(tower))\n",
        #                                        `tower` in reuse(...) is columns 38 to 42
        [
            (
                "E011",
                (2, 38, 2, 43),
                "`reuse(tower)` is inside `tower` itself: it would call itself without end",
                "reused from inside",
                "reuse `tower` after it, outside its own layers",
                (),
            )
        ],
    ),
    "a reuse of a label nothing has": (
        NET + "y = x -> reuse(qqq)\n",
        [
            (
                "E003",
                (2, 16, 2, 19),
                "no layer, labelled group or block instance `qqq` to reuse here",
                "not defined",
                "label what you reuse and name it: `a = x -> tower: conv(64, 3)`, then `b = y -> reuse(tower)`",
                (),
            )
        ],
    ),
    # blocks ----------------------------------------------------------------------------------------------
    "an unknown block parameter": (
        NET + "block b(c) = conv(c, 1)\ny = x -> b(4, cc=3)\n",
        [("E006", (3, 15, 3, 17), "block `b` has no parameter `cc`", "unknown parameter", "did you mean `c`?", ())],
    ),
    "a number for a tensor parameter": (
        NET + "block b(s: tensor) {\n    out = in -> add(s)\n}\ny = x -> b(3)\n",
        [("E008", (5, 12, 5, 13), "`s` takes a tensor name", "not a tensor name", None, ())],
    ),
}


@pytest.mark.parametrize("text, expected", CASES.values(), ids=CASES.keys())
def test_lowering_reports(text, expected):
    assert _errors(text) == expected


def test_the_largest_input_size_is_two_to_the_fortieth():
    assert _errors("input x: 3 x 1099511627776 x 8\ny = x -> relu\n") == []


def test_a_batch_of_one_is_a_batch():
    network = convdsl.loads("input x: 3 x 8 x 8, batch=1\ny = x -> relu\n", "net.cdsl")
    assert [d.message for d in network.diagnostics] == []
    assert network.inputs["x"].batch == 1


@pytest.mark.parametrize(
    "text, message",
    [("", "the file is empty"), ("\n  \n", "the file is empty"), ("# only a comment\n", "the file has only comments")],
    ids=["empty", "blank", "comments"],
)
def test_a_file_without_statements_points_at_its_start_without_a_width(text, message):
    # no character to underline: the span starts and ends at line 1, column 1
    assert _errors(text) == [
        (
            "E020",
            (1, 1, 1, 1),
            message,
            "no statements",
            "declare an input and a chain: `input x: 3 x 32 x 32` and `y = x -> conv(16, 3)`",
            (),
        )
    ]


def test_a_repeat_over_the_layer_limit_says_how_many_layers_it_would_make():
    # relu, then 1,500 copies of (conv, relu): 1 + 1,500 * 2 = 3,001 layers
    text = NET + "y = x -> relu -> (conv(3, 1) -> relu) * 1500\n"
    assert _errors(text, max_layers=1000) == [
        (
            "E019",
            (2, 18, 2, 45),
            "this repeat expands the network to 3,001 layers, more than the limit of 1,000",
            "1,500 copies",
            "check the repeat count, or raise the limit with --max-layers",
            (),
        )
    ]
    # the innermost repeat's first copy makes 2 layers, to be copied 3 * 1,000 times: at least 6,000
    text = NET + "y = x -> ((relu * 2) * 3) * 1000\n"
    assert _errors(text, max_layers=1000) == [
        (
            "E019",
            (2, 12, 2, 20),
            "this repeat expands the network to at least 6,000 layers, more than the limit of 1,000",
            "2 copies",
            "check the repeat count, or raise the limit with --max-layers",
            (),
        )
    ]


def _write(folder, files: dict):
    for name, text in files.items():
        (folder / name).write_text(text)


def test_an_include_that_cannot_be_read_is_reported_at_the_include(tmp_path):
    _write(tmp_path, {"main.cdsl": 'include "gone.cdsl"\n' + NET + "y = x -> relu\n"})
    (diag,) = convdsl.load(tmp_path / "main.cdsl").diagnostics
    assert (diag.code.code, diag.span.path, diag.span.line, diag.span.column, diag.span.end_column) == (
        "E016",
        str(tmp_path / "main.cdsl"),
        1,
        9,
        20,
    )
    assert diag.message == f"cannot include `gone.cdsl`: {tmp_path / 'gone.cdsl'}: no such file"
    assert (diag.label, diag.notes) == ("included here", ())


def test_a_nested_include_that_cannot_be_read_is_reported_at_the_first_include_with_where(tmp_path):
    # main includes lib, lib includes gone: the error is at main's include (the file being checked), and a
    # note says which include in lib failed
    _write(
        tmp_path,
        {
            "lib.cdsl": 'const w = 4\ninclude "gone.cdsl"\n',
            "main.cdsl": 'include "lib.cdsl"\n' + NET + "y = x -> conv(w, 1)\n",
        },
    )
    (diag,) = [d for d in convdsl.load(tmp_path / "main.cdsl").diagnostics if d.is_error]
    assert (diag.code.code, diag.span.path, diag.span.line, diag.span.column, diag.span.end_column) == (
        "E016",
        str(tmp_path / "main.cdsl"),
        1,
        9,
        19,
    )
    assert diag.message == f"cannot include `gone.cdsl`: {tmp_path / 'gone.cdsl'}: no such file"
    assert (diag.label, diag.notes) == ("included here", (f"at {tmp_path / 'lib.cdsl'}:2",))
