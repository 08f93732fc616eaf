"""What lowering's errors say and where they point (convdsl/lower), written out by hand from the input.

Each case gives a file, and the code, the text the span covers (checked against the file itself), the
label and words of the message and help that follow from it. Lowering's own behaviour besides its
errors (settings, batch sizes, repeat limits) is checked by the arithmetic it implies.
"""

from __future__ import annotations

import pytest

import convdsl


def _found(text: str):
    analysis = convdsl.loads(text, "net.cdsl").analyze()
    lines = text.splitlines()
    out = []
    for d in analysis.diagnostics:
        span = d.span
        written = lines[span.line - 1][span.column - 1 : span.end_column - 1] if span.line == span.end_line else None
        out.append((d, span.line, written))
    return out


def _error(text: str):
    """The one error of `text` (warnings aside): (diagnostic, line, the text its span covers)."""
    (found,) = [f for f in _found(text) if f[0].is_error]
    return found


# (file, code, line, the text the span covers, label, [the message], words of the help or None)
CASES = {
    "a label used twice": (
        "input x: 3 x 8 x 8\ny = x -> a: conv(8, 3) -> a: relu\noutput y\n",
        "E004",
        2,
        "a",
        "label used again",
        ["`a` is defined twice"],
        ["label the repeat instead: `a: (...) * 3`"],
    ),
    "a param defined twice": (
        "input x: 3 x 8 x 8\nparam w: 3 x 8 x 8\nparam w: 3 x 8 x 8\ny = add(x, w)\noutput y\n",
        "E004",
        3,
        "w",
        "defined again here",
        ["`w` is defined twice"],
        ["give the param its own name; tensors are never reassigned"],
    ),
    "an input declared twice points at the second": (
        "input x: 3 x 8 x 8\ninput x: 3 x 8 x 8\noutput y = x -> relu\n",
        "E004",
        2,
        "x",
        "defined again here",
        ["`x` is defined twice"],
        None,
    ),
    "an input size of 0": (
        "input x: 3 x 0 x 8\noutput y = x -> relu\n",
        "E014",
        1,
        "0",
        "sizes must be at least 1",
        ["input size 0 is out of range"],
        None,
    ),
    "an input size one above 2^40": (
        "input x: 3 x 1099511627777 x 8\noutput y = x -> relu\n",  # 2**40 + 1
        "E014",
        1,
        "1099511627777",
        "sizes are at most 2^40 (1,099,511,627,776)",
        ["input size 1099511627777 is out of range"],
        None,
    ),
    "a reuse with nothing flowing in": (
        "input x: 3 x 8 x 8\nt = x -> tower: conv(8, 3)\ny = reuse(tower)\noutput y, t\n",
        "E018",
        3,
        "reuse(tower)",
        "no input for this reuse",
        ["`reuse` calls a layer again on the tensor flowing in: a chain must start from a tensor"],
        ["write `y = x -> reuse(tower)`"],
    ),
    "a reuse of a label that does not exist, with none near it": (
        "input x: 3 x 8 x 8\noutput y = x -> reuse(tower)\n",
        "E003",
        2,
        "tower",
        "not defined",
        ["no layer, labelled group or block instance `tower` to reuse here"],
        ["label what you reuse and name it: `a = x -> tower: conv(64, 3)`, then `b = y -> reuse(tower)`"],
    ),
    "a reuse inside what it reuses": (
        "input x: 8 x 8 x 8\noutput y = x -> tower: (conv(8, 3, p=1) -> reuse(tower))\n",
        "E011",
        2,
        "tower",
        "reused from inside",
        ["`reuse(tower)` is inside `tower` itself: it would call itself without end"],
        ["reuse `tower` after it, outside its own layers"],
    ),
    "a chain that starts with a layer": (
        "input x: 3 x 8 x 8\ny = conv(8, 3)\noutput y, x\n",
        "E018",
        2,
        "conv(8, 3)",
        "no input for this layer",
        ["a chain must start from a tensor"],
        ["write `y = x -> layer(...)`, or start with a merge such as `add(a, b)`"],
    ),
    "an unknown layer near a block's name": (
        "block stem() = conv(8, 3)\ninput x: 3 x 8 x 8\noutput y = x -> stemm\n",
        "E005",
        3,
        "stemm",
        "not a layer kind or block",
        ["unknown layer `stemm`"],
        ["did you mean `stem`"],
    ),
    "an unknown layer near an alias only": (
        "input x: 3 x 8 x 8\noutput y = x -> gapp\n",  # gap: global_avgpool's alias
        "E005",
        2,
        "gapp",
        "not a layer kind or block",
        ["unknown layer `gapp`"],
        ["did you mean `gap`?"],
    ),
    "a batch of 0": (
        "input x: 3 x 8 x 8, batch=0\noutput y = x -> relu\n",
        "E014",
        1,
        "0",
        "batch",
        ["batch must be a positive integer or a name"],
        None,
    ),
    "an unknown input option": (
        "input x: 3 x 8 x 8, colour=1\noutput y = x -> relu\n",
        "E006",
        1,
        "colour",
        "not an option",
        ["unknown input option `colour`"],
        ["the options are `batch=8`, `layout=tokens` (or `channels`) and `dtype=long` (or `float`)"],
    ),
    "an unknown dtype": (
        "input x: 3 x 8 x 8, dtype=int\noutput y = x -> relu\n",
        "E014",
        1,
        "int",
        "not a dtype",
        ["`dtype` is one of `float`, `long`, got int"],
        ["`dtype=long`: token ids, read by `embedding`"],
    ),
    "an undefined tensor given as an argument": (
        "input x: 3 x 8 x 8\noutput y = x -> upsample(like=nope)\n",
        "E003",
        2,
        "nope",
        "not defined",
        ["undefined tensor `nope`"],
        None,
    ),
    "a repeat index named in": (
        "input x: 3 x 8 x 8\noutput y = x -> (conv(3, 3, p=1)) * 2 as in\n",
        "E004",
        2,
        "in",
        "name taken",
        ["`in` is a tensor here"],
        ["`* N as i`"],
    ),
    "a repeat index named like a constant, i, j and k taken": (
        "const i = 1\nconst j = 2\nconst k = 3\ninput x: 3 x 8 x 8\noutput y = x -> (conv(3, 3, p=1)) * 2 as k\n",
        "E004",
        5,
        "k",
        "name taken",
        ["`k` is already a constant or parameter here"],
        ["`* N as index`"],
    ),
    "an undefined repeat count": (
        "input x: 3 x 8 x 8\noutput y = x -> (conv(3, 3, p=1)) * n\n",
        "E003",
        2,
        "n",
        "not defined",
        ["undefined name `n`"],
        None,
    ),
    "repeats past the layer limit": (
        "input x: 3 x 8 x 8\noutput y = x -> ((relu) * 1000) * 1000\n",
        "E019",
        2,
        "(relu) * 1000",
        "1,000 copies",  # the inner repeat, reached first: 1,000 x 1,000 = 1,000,000 > 100,000
        ["this repeat expands the network to at least 1,000,000 layers, more than the limit of 100,000"],
        ["--max-layers"],
    ),
    "a block given a parameter it does not have": (
        "block b(c) = conv(c, 3)\ninput x: 3 x 8 x 8\noutput y = x -> b(8, d=2)\n",
        "E006",
        3,
        "d",
        "unknown parameter",
        ["block `b` has no parameter `d`"],
        ["usage: b(c)"],
    ),
    "a block's tensor parameter given a number": (
        "block b(t: tensor) = add(in, t)\ninput x: 3 x 8 x 8\noutput y = x -> b(3)\n",
        "E008",
        3,
        "3",
        "not a tensor name",
        ["`t` takes a tensor name"],
        None,
    ),
    "a constant defined twice": (
        "const c = 1\nconst c = 2\ninput x: 3 x 8 x 8\noutput y = x -> relu\n",
        "E004",
        2,
        "c",
        "defined again here",
        ["constant `c` is defined twice"],
        None,
    ),
    "a block named like a layer kind": (
        "block conv() = relu\ninput x: 3 x 8 x 8\noutput y = x -> relu\n",
        "E004",
        1,
        "conv",
        "hides a layer kind",
        ["block `conv` has the name of a built-in layer kind"],
        ["rename the block, e.g. `my_conv`"],
    ),
    "a block named reuse": (
        "block reuse() = relu\ninput x: 3 x 8 x 8\noutput y = x -> relu\n",
        "E004",
        1,
        "reuse",
        "a word of the language",
        ["a block cannot be named `reuse`: `reuse(LABEL)` calls a labelled layer again"],
        ["rename the block, e.g. `my_reuse`"],
    ),
    "a network without an input": (
        "output y = x -> relu\n",
        "E020",
        1,
        "x",
        "`x` is never declared",
        ["the network declares no input"],
        ["declare it: `input x: 3 x 224 x 224`"],
    ),
    "a file of comments only": (
        "# only a comment\n",
        "E020",
        1,
        "",  # an empty span at the start of the file
        "no statements",
        ["the file has only comments"],
        ["declare an input and a chain"],
    ),
    "tensors defined from each other": (
        "input x: 3 x 8 x 8\na = b\nb = a\noutput a\n",
        "E010",
        2,
        "b",
        "defined from itself",
        ["tensors depend on themselves"],
        ["a tensor cannot be computed from itself"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_lowering_error_names_the_fault_and_points_at_it(case):
    text, code, line, written, label, message, help_ = CASES[case]
    diagnostic, at_line, at = _error(text)
    assert (diagnostic.code.code, at_line, at, diagnostic.label) == (code, line, written, label)
    assert [diagnostic.message] == message
    if help_ is None:
        assert diagnostic.help is None
    for words in help_ or ():
        assert words in diagnostic.help


def test_a_block_defined_twice_notes_where_it_was_first():
    diagnostic, line, at = _error("block b() = relu\nblock b() = relu\ninput x: 3 x 8 x 8\noutput y = x -> b\n")
    assert (diagnostic.code.code, line, at, diagnostic.label) == ("E004", 2, "b", "defined again here")
    assert diagnostic.message == "block `b` is defined twice"
    assert diagnostic.notes == ("first defined at net.cdsl:1",)


def test_a_cycle_of_tensors_is_noted_with_the_names_on_it():
    diagnostic, _, _ = _error("input x: 3 x 8 x 8\na = b\nb = a\noutput a\n")
    (note,) = diagnostic.notes
    assert note.startswith("cycle: ") and "`b`" in note


def test_a_batch_of_one_is_a_batch():
    analysis = convdsl.loads("input x: 3 x 8 x 8, batch=1\noutput y = x -> relu\n", "net.cdsl").analyze()
    assert not analysis.diagnostics


def test_tensors_named_from_each_other_in_order_are_the_same_tensor():
    # a = x, b = a: b is x; a 3 x 3 convolution of it without padding gives 8 - 3 + 1 = 6 rows
    analysis = convdsl.loads("input x: 3 x 8 x 8\na = x\nb = a\noutput y = b -> c: conv(4, 3)\n", "net.cdsl").analyze()
    assert not analysis.diagnostics
    assert analysis.layers["c"].output_shapes == ((4, 6, 6),)


def test_a_quoted_rounding_setting_is_the_rounding():
    # Caffe rounds a pooling up: 5 rows, a 2 x 2 window at stride 2: ceil((5 - 2) / 2) + 1 = 3 (PyTorch: 2)
    text = 'set rounding = "caffe"\ninput x: 3 x 5 x 5\noutput y = x -> p: maxpool(2)\n'
    analysis = convdsl.loads(text, "net.cdsl").analyze()
    assert not [d for d in analysis.diagnostics if d.is_error]
    assert analysis.layers["p"].output_shapes == ((3, 3, 3),)


def test_a_layout_setting_is_kept_in_capitals():
    analysis = convdsl.loads("set layout = nhwc\ninput x: 3 x 5 x 5\noutput y = x -> relu\n", "net.cdsl").analyze()
    assert analysis.network.settings.layout == "NHWC"


def test_every_bad_option_of_a_param_is_reported():
    # two faults on one line: an `init` that is no number, then an option params do not have
    text = "input x: 8 x 4 x 4\nparam g: 8 x 1 x 1, init=true, colour=1\noutput y = mul(x, g)\n"
    found = [(d.code.code, at) for d, _, at in _found(text)]
    assert found == [("E008", "true"), ("E006", "colour")]


def test_a_repeat_folds_into_one_box_of_its_copies():
    from convdsl.render.diagram import build
    from convdsl.render.fold import Folding

    text = "input x: 8 x 8 x 8\noutput y = x -> (conv(8, 3, p=1) -> relu) * 3\n"
    boxes = build(convdsl.loads(text, "net.cdsl").analyze(), Folding(collapse=True)).boxes
    assert [(box.heading, box.role) for box in boxes][1:-1] == [("(conv 3×3, 8 → relu) ×3", "repeat")]


def test_a_missing_file_included_by_an_included_file_is_reported_at_the_first_include(tmp_path):
    # main.cdsl line 1 includes a.cdsl, whose line 2 includes a file that does not exist: the error is
    # where the user's file includes (main.cdsl:1), with a note of where the missing file is named
    (tmp_path / "main.cdsl").write_text('include "a.cdsl"\ninput x: 3 x 8 x 8\noutput y = x -> relu\n')
    (tmp_path / "a.cdsl").write_text('\ninclude "missing.cdsl"\n')
    (diagnostic,) = convdsl.load(tmp_path / "main.cdsl").analyze().diagnostics
    assert (diagnostic.code.code, diagnostic.label) == ("E016", "included here")
    assert (diagnostic.span.path, diagnostic.span.line) == (str(tmp_path / "main.cdsl"), 1)
    assert diagnostic.message.startswith("cannot include `missing.cdsl`")
    assert diagnostic.notes == (f"at {tmp_path / 'a.cdsl'}:2",)


def test_a_reuse_in_a_block_inside_a_block_finds_the_label_of_its_own_block():
    # inner's `tower` is made once per copy of inner; its reuse in the same copy shares the weights:
    # one 3 x 3 convolution of 8 to 8 channels, 8 * 8 * 9 + 8 = 584 parameters
    text = (
        "block inner() {\n    t = in -> tower: conv(8, 3, p=1)\n    out = t -> reuse(tower)\n}\n"
        "block outer() = inner\ninput x: 8 x 8 x 8\noutput y = x -> outer\n"
    )
    analysis = convdsl.loads(text, "net.cdsl").analyze()
    assert not analysis.diagnostics
    assert analysis.params == 8 * 8 * 9 + 8


def test_a_block_called_with_different_tensors_follows_each():
    # upsample(like=t) to a 2 x 2 pooling of 4 x 4 (2 x 2), then to a 4 x 4 padded by 2 (8 x 8)
    text = (
        "block up(t: tensor) = upsample(like=t)\ninput x: 3 x 4 x 4\na = x -> maxpool(2)\nb = x -> pad(2)\n"
        "y = x -> u1: up(a)\nz = x -> u2: up(b)\noutput y, z\n"
    )
    layers = convdsl.loads(text, "net.cdsl").analyze().layers
    assert (layers["u1.0"].output_shapes, layers["u2.0"].output_shapes) == (((3, 2, 2),), ((3, 8, 8),))
