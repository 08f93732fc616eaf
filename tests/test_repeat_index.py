"""The repeat index, `* N as i`: each copy reads its number (0 to N-1) in its arguments, against plain
PyTorch modules written here (a dilation schedule, Swin's alternating shift); misuse and hostile
counts give diagnostics, never a hang."""

from __future__ import annotations

import math

import pytest
from conftest import require

import convdsl
from convdsl.export import export_pytorch

torch = require("torch")
nn = torch.nn

DILATIONS = """\
input x: 16 x 32 x 32
y = x -> stage: (conv(16, 3, p=2 ** 0 * (i + 1), d=i + 1) -> relu) * 4 as i
"""


def _analysis(text):
    analysis = convdsl.loads(text, "net.cdsl").analyze()
    assert not analysis.has_errors, [d.message for d in analysis.diagnostics]
    return analysis


def _macs_by_hooks(model, x):
    macs = 0

    def hook(module, args, output):
        nonlocal macs
        macs += module.weight.numel() * math.prod(output.shape[2:]) * output.shape[0]

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(hook)
    with torch.no_grad():
        out = model(x)
    return macs, out


def test_a_dilation_schedule_matches_its_pytorch_module():
    reference = nn.Sequential()
    for i in range(4):
        reference.append(nn.Conv2d(16, 16, 3, padding=i + 1, dilation=i + 1))
        reference.append(nn.ReLU())
    macs, out = _macs_by_hooks(reference, torch.randn(1, 16, 32, 32))
    analysis = _analysis(DILATIONS.replace("2 ** 0 * ", ""))
    assert analysis.params == sum(p.numel() for p in reference.parameters()) == 4 * (16 * 16 * 9 + 16)
    assert analysis.macs == macs == 4 * 16 * 16 * 9 * 32 * 32
    assert analysis.output_shapes()["y"] == tuple(out.shape[1:])
    # the receptive field by hand: 1 + 2 * (1 + 2 + 3 + 4) = 21
    assert analysis.layers["stage.6"].receptive_field == (21, 21)
    assert [analysis.network.layer_graph.nodes[f"stage.{2 * i}"].args["dilation"] for i in range(4)] == [
        1,
        2,
        3,
        4,
    ]


def test_the_export_writes_each_copy_with_its_index():
    analysis = _analysis(DILATIONS.replace("2 ** 0 * ", ""))
    source = export_pytorch(analysis).source
    for d in (1, 2, 3, 4):
        assert f"padding={d}" in source
    from convdsl.export.verify import verify

    assert verify(analysis, batch=2).ok


SWIN = """\
input x: 56 x 56 x 96, layout_hint=0
block shifted(shift) {
    out = in -> roll(shifts=(-shift, -shift), dims=(1, 2)) -> linear(96, in_features=96)
}
y = x -> (shifted((i % 2) * 3) * 4 as i)
""".replace(", layout_hint=0", "")


def test_swins_alternating_shift_reads_the_index_through_a_block_parameter():
    analysis = _analysis(SWIN)
    graph = analysis.network.layer_graph
    shifts = [graph.nodes[f"shifted{n}.roll1"].args["shifts"] for n in range(1, 5)]
    assert shifts == [(0, 0), (-3, -3), (0, 0), (-3, -3)]
    from convdsl.export.verify import verify

    assert verify(analysis, batch=2).ok


def test_nested_repeats_each_have_their_index():
    text = "input x: 4 x 64\ny = x -> ((conv(4, 3, p=i + j + 1, d=i + j + 1) * 2 as j) * 3 as i)\n"
    graph = _analysis(text).network.layer_graph
    dilations = [data.args["dilation"] for data in graph.nodes.values() if data.kind == "conv"]
    assert dilations == [1 + i + j for i in range(3) for j in range(2)]


def _errors(text):
    analysis = convdsl.loads(text, "net.cdsl").analyze()
    return [(d.code.code, d.span.line, d.span.column, d.message, d.help) for d in analysis.diagnostics if d.is_error]


def test_the_index_read_outside_its_repeat_says_where_it_lives():
    errors = _errors("input x: 8 x 8 x 8\ny = x -> (conv(8, 3) * 2 as i)\nz = y -> conv(8 + i, 3)\n")
    assert errors[0][:4] == ("E003", 3, 19, "undefined name `i`")
    assert "the index of a repeat (`* N as i`)" in errors[0][4]


def test_the_index_inside_a_block_body_is_not_the_callers():
    text = "input x: 8 x 8 x 8\nblock b() {\n    out = in -> conv(8 + i, 1)\n}\ny = x -> (b() * 2 as i)\n"
    errors = _errors(text)
    assert errors[0][:4] == ("E003", 3, 26, "undefined name `i`")
    assert "through a parameter" in errors[0][4]


@pytest.mark.parametrize(
    "text, line, column, words",
    [
        ("const i = 2\ninput x: 8 x 8 x 8\ny = x -> (relu * 2 as i)\n", 3, 23, "already a constant"),
        ("input x: 8 x 8 x 8\ny = x -> (relu * 2 as x)\n", 2, 23, "is a tensor"),
        ("input x: 8 x 8 x 8\nblock b(c) {\n    out = in -> (relu * 2 as c)\n}\ny = x -> b(1)\n", 3, 30, "parameter"),
    ],
    ids=["constant", "tensor", "parameter"],
)
def test_an_index_that_shadows_a_name_is_an_error(text, line, column, words):
    errors = _errors(text)
    assert errors[0][:3] == ("E004", line, column)
    assert words in errors[0][3] and "as " in errors[0][4]


def test_a_huge_count_with_an_index_is_bounded_by_the_work_limits():
    # every copy reads i, so no copy can stand for the others: the step budget stops it, at once
    errors = _errors("input x: 8 x 8 x 8\ny = x -> (relu if i < 0) * 1000000 as i\n")
    assert errors[0][0] == "E019" and "steps" in errors[0][3]
    errors = _errors("input x: 8 x 8 x 8\ny = x -> (conv(8, 1, d=i + 1) * 1000000 as i)\n")
    assert errors[0][0] == "E019" and "layers" in errors[0][3]
    errors = _errors("input x: 8 x 8 x 8\ny = x -> relu * (2147483647 * 2147483647) as i\n")
    assert errors[0][0] == "E012"


def test_as_stays_a_name_elsewhere():
    assert _analysis("input x: 8 x 8 x 8\nas = x -> relu\ny = as -> (relu * 2 as i)\n")
