"""Blocks that compute: `in.shape[d]`, `const` in a block body, and the functions `max`, `min`, `round`
and `make_divisible`, against hand arithmetic, torchvision's `_make_divisible` and plain-PyTorch modules
written here; misuse and hostile input give diagnostics with line and column, never a hang."""

from __future__ import annotations

import math

import pytest
from conftest import require

import convdsl
from convdsl.functions import make_divisible

torch = require("torch")
nn = torch.nn


def _analysis(text):
    analysis = convdsl.loads(text, "net.cdsl").analyze()
    assert not analysis.has_errors, [d.message for d in analysis.diagnostics]
    return analysis


def _errors(text, **options):
    analysis = convdsl.loads(text, "net.cdsl", **options).analyze()
    return [(d.code.code, d.span.line, d.span.column, d.message, d.help) for d in analysis.diagnostics if d.is_error]


# make_divisible ---------------------------------------------------------------------------------
# torchvision/models/_utils.py:
#     def _make_divisible(v: float, divisor: int, min_value: Optional[int] = None) -> int:
#         if min_value is None:
#             min_value = divisor
#         new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
#         # Make sure that round down does not go down by more than 10%.
#         if new_v < 0.9 * v:
#             new_v += divisor
#         return new_v


@pytest.mark.parametrize(
    "v, divisor, min_value, expected",
    [
        # 32 * 0.75 = 24.0: int(24 + 4) // 8 * 8 = 28 // 8 * 8 = 24; 24 >= 21.6: 24
        (24.0, 8, None, 24),
        # MobileNetV2 at width 0.35, 32 channels: 11.2: int(15.2) = 15, 15 // 8 * 8 = 8; 8 < 10.08: 8 + 8 = 16
        (32 * 0.35, 8, None, 16),
        # 3.5: int(7.5) // 8 * 8 = 0; max(8, 0) = 8; 8 >= 3.15: 8
        (3.5, 8, None, 8),
        # 91.2: int(95.2) = 95, 95 // 8 * 8 = 88; 88 >= 82.08: 88
        (91.2, 8, None, 88),
        # 100 with divisor 16: int(108) // 16 * 16 = 96; 96 >= 90: 96
        (100, 16, None, 96),
        # min_value: max(64, int(20 + 4) // 8 * 8 = 24) = 64
        (20, 8, 64, 64),
        # MobileNetV3's squeeze channels: 960 // 4 = 240: int(244) // 8 * 8 = 240
        (240, 8, None, 240),
    ],
)
def test_make_divisible_is_torchvisions(v, divisor, min_value, expected):
    args = (v, divisor) if min_value is None else (v, divisor, min_value)
    assert make_divisible(*args) == expected
    text = f"const c = make_divisible({', '.join(repr(a) for a in args)})\ninput x: 3 x 8 x 8\ny = x -> conv(c, 1)\n"
    assert _analysis(text).output_shapes()["y"] == (expected, 8, 8)


def test_max_min_round():
    text = "const a = max(3, 7, 5)\nconst b = min(a, 4)\nconst c = round(2.5) + round(3.5) + round(2.4)\n"
    text += "input x: 3 x 8 x 8\ny = x -> conv(a + b + c, 1)\n"
    # 7 + 4 + (2 + 4 + 2): round is Python's, half to even
    assert _analysis(text).output_shapes()["y"] == (19, 8, 8)


# in.shape and const in blocks ------------------------------------------------------------------

INVERTED = """\
input x: 24 x 56 x 56
block inverted(c, expand) {
    const hidden = make_divisible(in.shape[1] * expand, 8)
    r = in -> conv(hidden, 1, bias=false) -> bn -> relu6
        -> conv(hidden, 3, p=1, g=hidden, bias=false) -> bn -> relu6
        -> conv(c, 1, bias=false) -> bn
    out = r -> add(in) if c == in.shape[1]
}
y = x -> inverted(24, 6) -> inverted(32, 6) -> inverted(32, 4.5)
"""


def _inverted_reference(c_in, c, expand):
    hidden = make_divisible(c_in * expand, 8)
    return nn.Sequential(
        nn.Conv2d(c_in, hidden, 1, bias=False),
        nn.BatchNorm2d(hidden),
        nn.ReLU6(),
        nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden, bias=False),
        nn.BatchNorm2d(hidden),
        nn.ReLU6(),
        nn.Conv2d(hidden, c, 1, bias=False),
        nn.BatchNorm2d(c),
    )


def _macs(model, x):
    macs = 0

    def hook(module, args, output):
        nonlocal macs
        macs += module.weight.numel() * math.prod(output.shape[2:])

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(hook)
    with torch.no_grad():
        model(x)
    return macs


def test_an_inverted_residual_reads_its_input_channels():
    analysis = _analysis(INVERTED.replace(" -> add(in) if c == in.shape[1]", ""))
    blocks = [_inverted_reference(24, 24, 6), _inverted_reference(24, 32, 6), _inverted_reference(32, 32, 4.5)]
    reference = nn.Sequential(*blocks).eval()
    assert analysis.params == sum(p.numel() for p in reference.parameters())
    assert analysis.buffers == sum(b.numel() for b in reference.buffers())
    assert analysis.macs == _macs(reference, torch.randn(1, 24, 56, 56))
    # hidden widths by hand: 24 * 6 = 144, 24 * 6 = 144, 32 * 4.5 = 144.0
    graph = analysis.network.layer_graph
    assert [graph.nodes[f"inverted{i}.conv1"].args["out_channels"] for i in (1, 2, 3)] == [144, 144, 144]


def test_a_condition_reads_the_input_shape():
    analysis = _analysis(INVERTED)
    kinds = {info.kind for name, info in analysis.layers.items() if name.startswith("inverted2.")}
    assert "add" not in kinds  # 24 -> 32 channels: no residual
    assert "add" in {info.kind for name, info in analysis.layers.items() if name.startswith("inverted3.")}


def test_shape_reads_every_dim_as_pytorch_counts_them():
    text = (
        "input x: 6 x 10 x 12, batch=4\n"
        "block b() {\n"
        "    out = in -> conv(in.shape[0] + in.shape[1] + in.shape[2] + in.shape[3] + in.shape[-1] + in.shape[-3], 1)\n"
        "}\n"
        "y = x -> b()\n"
    )
    # 4 (batch) + 6 + 10 + 12 + 12 + 6
    assert _analysis(text).output_shapes()["y"] == (50, 10, 12)


def test_tokens_read_their_width_and_a_tensor_parameter_its_own_shape():
    text = (
        "input t: 197 x 768\ninput m: 50 x 512\n"
        "block mlp(skip: tensor) {\n"
        "    h = in -> linear(4 * in.shape[-1])\n"
        "    out = h -> linear(in.shape[-1] + skip.shape[-1] - 512 + h.shape[-1] - 4 * 768)\n"
        "}\n"
        "y = t -> mlp(m)\n"
    )
    analysis = _analysis(text)
    assert analysis.output_shapes()["y"] == (197, 768)
    assert analysis.params == 768 * 3072 + 3072 + 3072 * 768 + 768


def test_a_block_constant_reads_parameters_and_earlier_constants():
    text = (
        "input x: 16 x 8 x 8\n"
        "block b(c, ratio=4) {\n"
        "    const squeeze = max(8, c // ratio)\n"
        "    const wide = squeeze * 2\n"
        "    out = in -> conv(wide, 1)\n"
        "}\n"
        "y = x -> b(64) -> b(16)\n"
    )
    graph = _analysis(text).network.layer_graph
    assert graph.nodes["b1.conv1"].args["out_channels"] == 32
    assert graph.nodes["b2.conv1"].args["out_channels"] == 16


def test_the_export_of_blocks_that_read_their_shape_verifies():
    from convdsl.export.verify import verify

    result = verify(_analysis(INVERTED), batch=2)
    assert result.ok, result.report()


@pytest.mark.parametrize(
    "text, code, line, column, words",
    [
        (
            "input x: 3 x 8 x 8\nblock b() {\n    out = in -> conv(in.shape[5], 1)\n}\ny = x -> b()\n",
            "E013",
            3,
            31,
            "dim 5 is out of range",
        ),
        (
            "input x: 3 x 8 x 8\nblock b() {\n    out = in -> conv(in.shape[-5], 1)\n}\ny = x -> b()\n",
            "E013",
            3,
            31,
            "out of range",
        ),
        (
            "input x: 3 x 8 x 8\nblock b() {\n    out = in -> conv(in.size[1], 1)\n}\ny = x -> b()\n",
            "E013",
            3,
            25,
            "no `.size`",
        ),
        ("input x: 3 x 8 x 8\ny = x -> conv(x.shape[1], 1)\n", "E013", 2, 15, "only inside a block"),
        (
            "input x: 3 x H x W\nblock b() {\n    out = in -> conv(in.shape[2], 1)\n}\ny = x -> b()\n",
            "E013",
            3,
            22,
            "symbolic input size",
        ),
        (
            "input x: 3 x 8 x 8\nblock b() {\n    out = in -> conv(q.shape[1], 1)\n}\ny = x -> b()\n",
            "E003",
            3,
            22,
            "not a tensor of this block",
        ),
        ("input x: 3 x 8 x 8\ny = x -> conv(max(), 1)\n", "E013", 2, 15, "at least 1 argument,"),
        ("input x: 3 x 8 x 8\ny = x -> conv(maks(3, 4), 1)\n", "E003", 2, 15, "unknown function `maks`"),
        ("input x: 3 x 8 x 8\ny = x -> conv(make_divisible(8, 0), 1)\n", "E013", 2, 15, "cannot compute"),
        ("input x: 3 x 8 x 8\ny = x -> conv(max(1, true), 1)\n", "E013", 2, 22, "takes numbers"),
        (
            "input x: 3 x 8 x 8\nblock b(c) {\n    const c = 2\n    out = in -> relu\n}\ny = x -> b(1)\n",
            "E004",
            3,
            11,
            "already a parameter",
        ),
    ],
    ids=[
        "dim too large",
        "dim too small",
        "not shape",
        "top level",
        "symbolic",
        "unknown tensor",
        "no arguments",
        "unknown function",
        "divisor 0",
        "boolean",
        "const shadows a parameter",
    ],
)
def test_misuse_is_a_diagnostic_at_its_place(text, code, line, column, words):
    errors = _errors(text)
    assert errors, "no error"
    assert errors[0][:3] == (code, line, column), errors
    assert words in errors[0][3], errors
    assert errors[0][4], "every misuse says how to fix it"


def test_a_long_network_read_at_its_end_is_a_loop_not_a_recursion():
    depth = 5_000
    text = "input x: 8 x 8 x 8\nblock b() {\n    out = in -> conv(in.shape[1], 1)\n}\n"
    text += "y = x" + " -> relu" * depth + " -> b()\n"
    assert _analysis(text).output_shapes()["y"] == (8, 8, 8)


def test_nested_shape_reads_are_bounded():
    inner = "1"
    for _ in range(3_000):
        inner = f"in.shape[{inner}] // in.shape[{inner}]"  # not quite: grows; keep it linear below
        break
    nested = "1"
    for _ in range(2_000):
        nested = f"in.shape[{nested}] // 8"
    text = f"input x: 8 x 8 x 8\nblock b() {{\n    out = in -> conv({nested} + 8, 1)\n}}\ny = x -> b()\n"
    errors = _errors(text)
    # either too deeply nested to parse or too long to evaluate: a diagnostic either way
    assert errors and errors[0][0] in ("E002", "E013", "E019"), errors[:1]


def test_blocks_in_blocks_each_read_their_own_input():
    text = (
        "input x: 4 x 8 x 8\n"
        "block inner() {\n    out = in -> conv(2 * in.shape[1], 1)\n}\n"
        "block outer() {\n    out = in -> inner() -> inner() -> conv(in.shape[1], 1)\n}\n"
        "y = x -> outer() -> outer()\n"
    )
    # outer 1: 4 -> 8 -> 16 -> 4; outer 2 the same
    assert _analysis(text).output_shapes()["y"] == (4, 8, 8)
