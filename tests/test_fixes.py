"""Fixes as data (convdsl/fixes.py) and the rule that every fix offered works (convdsl/fixcheck.py).

Expectations come from hand arithmetic written out here, or from PyTorch.
"""

from __future__ import annotations

import json

import pytest

from conftest import require

import convdsl
from convdsl.fixes import Edit, EditError, Fix, apply, help_text, set_argument
from convdsl.source import Source, Span


def _span(source: Source, text: str) -> Span:
    start = source.text.index(text)
    return source.span(start, start + len(text))


@pytest.mark.parametrize(
    "call, written, name, value, expected",
    [
        ("maxpool(2, s=2)", "s=2", "stride", "1", "maxpool(2, s=1)"),  # a keyword keeps its spelling
        ("maxpool(2, s=2)", "2", "kernel", "3", "maxpool(3, s=2)"),  # a positional value is replaced
        ("maxpool(2)", None, "ceil", "true", "maxpool(2, ceil=true)"),  # a new keyword is added
        ("maxpool()", None, "kernel", "2", "maxpool(kernel=2)"),
        ("bn", None, "eps", "0.1", "bn(eps=0.1)"),  # parentheses where there were none
    ],
)
def test_set_argument(call, written, name, value, expected):
    source = Source("f.cdsl", f"y = x -> {call}\n")
    edit = set_argument(source, _span(source, call), _span(source, written) if written else None, name, value)
    assert apply({"f.cdsl": source}, [edit])["f.cdsl"] == f"y = x -> {expected}\n"


def test_edits_apply_from_the_end_and_refuse_overlaps():
    source = Source("f.cdsl", "abcdef\n")
    edits = [Edit(Span("f.cdsl", 1, 1, 1, 2), "X"), Edit(Span("f.cdsl", 1, 4, 1, 6), "YY")]
    assert apply({"f.cdsl": source}, edits)["f.cdsl"] == "XbcYYf\n"
    with pytest.raises(EditError):
        apply({"f.cdsl": source}, [Edit(Span("f.cdsl", 1, 1, 1, 4), ""), Edit(Span("f.cdsl", 1, 2, 1, 3), "")])


def test_help_is_made_from_the_fixes():
    fix = Fix("use `ceil=true`", (), "also changes output `y` to 1 x 2")
    from convdsl.diagnostics import NON_INTEGER_DIVISION

    diag = convdsl.Diagnostic(NON_INTEGER_DIVISION, None, "m", fixes=(fix, Fix("use `padding=1`", ())), help="advice")
    assert help_text(diag) == "use `ceil=true` (also changes output `y` to 1 x 2), or use `padding=1`; advice"


def _apply_fix(network, fix) -> convdsl.Analysis:
    from convdsl.loading import rebuild

    return rebuild(network, apply(network.sources, fix.edits)).analyze()


def _division(text: str):
    network = convdsl.loads(text, "t.cdsl")
    analysis = network.analyze()
    (diag,) = [d for d in analysis.diagnostics if d.code.code == "E101"]
    return network, diag


def test_pooling_kernel_fix_keeps_the_stride():
    # maxpool(2) on 113 rows: (113 - 2)/2 + 1 = 56.5. kernel=3 alone would make the stride 3 as well:
    # (113 - 3)/3 + 1 = 37.67, still inexact; kernel 3 with stride 2 gives (113 - 3)/2 + 1 = 56 exactly.
    network, diag = _division("input x: 4 x 113 x 113\ny = x -> maxpool(2)\n")
    words = [f.description for f in diag.fixes]
    assert "use `kernel=3, stride=2`" in words
    assert "use `kernel=3`" not in words
    fix = diag.fixes[words.index("use `kernel=3, stride=2`")]
    after = _apply_fix(network, fix)
    assert not after.diagnostics
    assert after.output_shapes()["y"] == (4, 56, 56)


def test_every_fix_offered_removes_its_error_and_adds_none():
    # U-Net with a 570 input (examples/unet.cdsl at 572 is exact): 570 - 4 = 566, /2 = 283,
    # 283 - 4 = 279, which a 2x2 pool halves to 139.5: rows are lost from the second pooling on.
    text = open("examples/unet.cdsl").read().replace("1 x 572 x 572", "1 x 570 x 570")
    network = convdsl.loads(text, "examples/unet570.cdsl")
    analysis = network.analyze()
    errors = [d for d in analysis.diagnostics if d.is_error]
    assert errors and all(d.code.code == "E101" for d in errors)
    offered = [f for d in errors for f in d.fixes]
    assert offered
    for fix in offered:
        after = _apply_fix(network, fix)
        assert not [d for d in after.diagnostics if d.is_error], fix.description
    words = {f.description for f in offered}
    # kernel 3 on the pooling gives 283 - 3 + 1 = 281 rows at stride 3 ... and the skip crops then disagree:
    assert not any("kernel=" in w for w in words)
    # the nearest input sizes: 572 (the paper's) and 556 = 572 - 16 (four 2x poolings: sizes step by 16)
    assert "give `image` a height and width of 572" in words and "give `image` a height and width of 556" in words


def test_squeezenet_stem_offers_pytorchs_own_rounding():
    torch = require("torch")
    # torchvision's squeezenet1_0 starts with Conv2d(3, 96, kernel_size=7, stride=2) on 224:
    # (224 - 7)/2 + 1 = 109.5, rounded down to 109, dropping a real row.
    network, diag = _division("input x: 3 x 224 x 224\ny = x -> conv(96, 7, s=2)\n")
    fix = next(f for f in diag.fixes if "round=floor" in f.description)
    after = _apply_fix(network, fix)
    expected = tuple(torch.nn.Conv2d(3, 96, kernel_size=7, stride=2)(torch.zeros(1, 3, 224, 224)).shape[1:])
    assert after.output_shapes()["y"] == expected == (96, 109, 109)
    assert not fix.also  # PyTorch's behaviour: the size stays


def test_json_diagnostics_carry_their_fixes(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "t.cdsl"
    path.write_text("input x: 4 x 113 x 113\ny = x -> maxpool(2)\n")
    result = subprocess.run(
        [sys.executable, "-m", "convdsl", "check", "--format", "json", str(path)], capture_output=True, text=True
    )
    (diag,) = json.loads(result.stdout)["files"][0]["diagnostics"]
    assert {
        "code",
        "name",
        "severity",
        "message",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "label",
        "help",
        "notes",
        "fixes",
    } <= set(diag)
    ceil = next(f for f in diag["fixes"] if f["description"] == "use `ceil=true`")
    # ceil: (113 - 2)/2 = 55.5 rounds up to 56, + 1 = 57
    assert ceil["also"] == "also changes output `y` to 4 x 57 x 57"
    assert ceil["edits"] == [
        {"path": str(path), "line": 2, "column": 19, "end_line": 2, "end_column": 19, "text": ", ceil=true"}
    ]


def test_a_declared_output_shape_error_points_at_the_declared_dims():
    # conv 3 with padding 1 keeps 16 x 16; declared 8 x 16 x 15. "output y: " is 10 characters, so the dims
    # `8 x 16 x 15` run from column 11 to 21 (the span's end is exclusive: 22)
    analysis = convdsl.loads("input x: 3 x 16 x 16\noutput y: 8 x 16 x 15 = x -> conv(8, 3, p=1)\n").analyze()
    (d,) = [d for d in analysis.diagnostics if d.code.code == "E115"]
    assert d.message == "output `y` is 8 x 16 x 16, not the declared 8 x 16 x 15"
    assert (d.span.line, d.span.column, d.span.end_column) == (2, 11, 22)


def test_a_declared_output_shape_of_a_network_built_without_text_is_checked_without_fixes():
    # convdsl.build, no text to edit: a 2 x 2 transposed convolution with stride 2 makes 8 rows
    # (8 - 1) * 2 + 2 = 16, not the 17 declared. No output_padding fix can be written (nowhere to write it),
    # and no declaration to change: the error stands alone.
    from convdsl.build import NetworkBuilder

    builder = NetworkBuilder("built")
    x = builder.input("x", (3, 8, 8))
    (y,) = builder.layer("conv_transpose", [x], 8, 2, stride=2)
    builder.add_output("y", y, None, shape=(8, 17, 17))
    (diagnostic,) = builder.network().analyze().diagnostics
    assert diagnostic.code.code == "E115"
    assert diagnostic.message == "output `y` is 8 x 16 x 16, not the declared 8 x 17 x 17"
    assert diagnostic.fixes == ()
