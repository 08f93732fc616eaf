"""The `param` statement: learnable tensors declared in the language (ViT's class token and position
embedding, a layer-scale gamma), against plain-PyTorch modules written here: parameter counts,
shapes, the exported state_dict keys (torchvision's `class_token`, `encoder.pos_embedding`), and a
diagnostic with line and column for every misuse."""

from __future__ import annotations

import pytest
from conftest import require

import convdsl
from convdsl.export import export_pytorch

torch = require("torch")
nn = torch.nn

TINY_VIT = """\
input image: 3 x 32 x 32
block encoder(length, dim) {
    param pos_embedding: length x dim
    out = in -> add(pos_embedding) -> ln: layernorm(dim, eps=1e-6)
}
param class_token: 1 x 64
p = image -> conv_proj: conv(64, 8, s=8) -> flatten(2) -> transpose(1, 2)
x = concat(class_token, p, dim=1) -> encoder: encoder(17, 64)
output logits = x -> select(1, 0) -> head: linear(10)
"""


class TinyViT(nn.Module):
    """torchvision's VisionTransformer's stem and tensors, at 32 x 32 with 8 x 8 patches."""

    def __init__(self):
        super().__init__()
        self.conv_proj = nn.Conv2d(3, 64, 8, stride=8)
        self.class_token = nn.Parameter(torch.zeros(1, 1, 64))
        self.encoder = nn.Module()
        self.encoder.pos_embedding = nn.Parameter(torch.zeros(1, 17, 64))
        self.encoder.ln = nn.LayerNorm(64, eps=1e-6)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
        return self.head(self.encoder.ln(x + self.encoder.pos_embedding)[:, 0])


def _analysis(text: str):
    analysis = convdsl.loads(text, "net.cdsl").analyze()
    assert not analysis.has_errors, [d.message for d in analysis.diagnostics]
    return analysis


def _module(analysis):
    exported = export_pytorch(analysis)
    namespace: dict = {}
    exec(compile(exported.source, "export.py", "exec"), namespace)
    return namespace[exported.class_name]().eval()


def test_tiny_vit_has_the_reference_counts_and_state_dict_keys():
    analysis = _analysis(TINY_VIT)
    reference = TinyViT()
    assert analysis.params == sum(p.numel() for p in reference.parameters())
    # by hand: conv 64*3*8*8 + 64, class token 64, positions 17*64, layernorm 2*64, head 64*10 + 10
    assert analysis.params == 12_352 + 64 + 1_088 + 128 + 650 == 14_282
    assert analysis.layers["class_token"].params == 64
    assert analysis.layers["encoder.pos_embedding"].params == 17 * 64
    assert analysis.layers["encoder.pos_embedding"].output_shapes == ((17, 64),)
    model = _module(analysis)
    assert set(model.state_dict()) == set(reference.state_dict())
    assert tuple(model.state_dict()["class_token"].shape) == (1, 1, 64)
    assert tuple(model.state_dict()["encoder.pos_embedding"].shape) == (1, 17, 64)
    model.load_state_dict(reference.state_dict())  # the same keys and shapes: torchvision's weights load
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x), reference.eval()(x), atol=1e-5)


def test_tiny_vit_verifies():
    from convdsl.export.verify import verify

    result = verify(_analysis(TINY_VIT), batch=2)
    assert result.ok, result.report()


def test_a_param_read_twice_is_counted_once():
    analysis = _analysis("input x: 8 x 4 x 4\nparam g: 8 x 1 x 1\ny = x -> mul(g) -> add(g) -> mul(g)\n")
    assert analysis.params == 8


LAYER_SCALE = """\
input x: 16 x 8 x 8
block scaled(c) {
    param gamma: c x 1 x 1, init=1e-6
    r = in -> conv(c, 3, p=1)
    out = mul(r, gamma) -> add(in)
}
y = x -> stage: (scaled(16) * 3)
"""


class Scaled(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((1, c, 1, 1), 1e-6))
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv1(x) * self.gamma + x


def test_a_param_in_a_repeated_block_is_one_per_instance():
    analysis = _analysis(LAYER_SCALE)
    reference = nn.Sequential(*(Scaled(16) for _ in range(3)))
    assert analysis.params == sum(p.numel() for p in reference.parameters()) == 3 * (16 + 16 * 16 * 9 + 16)
    assert [n for n, i in analysis.layers.items() if i.kind == "parameter"] == [
        "stage.0.gamma",
        "stage.1.gamma",
        "stage.2.gamma",
    ]
    model = _module(analysis)
    assert set(model.state_dict()) == {
        f"stage.{i}.{k}" for i in range(3) for k in ("gamma", "conv1.weight", "conv1.bias")
    }
    assert float(model.state_dict()["stage.1.gamma"].flatten()[0]) == pytest.approx(1e-6)
    model.load_state_dict({f"stage.{k}": v for k, v in reference.state_dict().items()})
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        assert torch.allclose(model.stage(x) if hasattr(model, "stage") else model(x), reference(x), atol=1e-5)


def test_param_sizes_are_expressions_of_constants_and_parameters():
    text = "const d = 32\ninput x: 4 x 8\nparam p: (2 * 2) x (d // 4)\ny = x -> add(p)\n"
    assert _analysis(text).layers["p"].output_shapes == ((4, 8),)


def _errors(text: str):
    analysis = convdsl.loads(text, "net.cdsl").analyze()
    return [(d.code.code, d.span.line, d.span.column, d.message, d.help) for d in analysis.diagnostics if d.is_error]


@pytest.mark.parametrize(
    "text, code, line, column, words",
    [
        # a symbolic shape: the input's size H cannot size a learned tensor
        ("input x: 3 x H x W\nparam p: H x 3\ny = x -> relu\n", "E014", 2, 10, "symbolic input size `H`"),
        # 2^60 values: refused before anything is allocated
        ("input x: 3 x 8 x 8\nparam p: 1073741824 x 1073741824\ny = x -> relu\n", "E019", 2, 10, "2^40"),
        ("input x: 3 x 8 x 8\nparam p: 0 x 3\ny = x -> relu\n", "E014", 2, 10, "from 1 to 2^40"),
        ("input x: 3 x 8 x 8\nparam p: 3, std=0.02\ny = x -> relu\n", "E006", 2, 13, "unknown param option"),
        ("input x: 3 x 8 x 8\nparam p: 3, init=true\ny = x -> relu\n", "E008", 2, 18, "takes a number"),
        ("input x: 3 x 8 x 8\nparam x: 3\ny = x -> relu\n", "E004", 2, 7, "defined twice"),
        ("input x: 3 x 8 x 8\ny = x -> parameter((3,))\n", "E005", 2, 10, "statement of its own"),
        ("input x: 3 x 8 x 8\nparam p: c x 3\ny = x -> relu\n", "E003", 2, 10, "undefined name `c`"),
    ],
    ids=["symbolic", "2^60", "zero", "option", "init type", "duplicate", "called", "undefined size"],
)
def test_misuse_is_a_diagnostic_at_its_place(text, code, line, column, words):
    errors = _errors(text)
    assert errors, "no error"
    got = errors[0]
    assert got[:3] == (code, line, column), errors
    assert words in got[3], errors
    assert got[4], "every misuse says how to fix it"


@pytest.mark.parametrize(
    "old, new",
    [
        ("tests/fixtures/stand_ins/vit_b_16.cdsl", "examples/vit_b_16.cdsl"),
        ("tests/fixtures/stand_ins/gpt2_small.cdsl", "examples/gpt2_small.cdsl"),
    ],
    ids=["vit_b_16", "gpt2_small"],
)
def test_the_stand_in_kinds_and_param_give_the_same_numbers(old, new):
    from conftest import ROOT

    before, after = convdsl.load(ROOT / old).analyze(), convdsl.load(ROOT / new).analyze()
    assert not before.has_errors and not after.has_errors
    assert (before.params, before.buffers, before.macs) == (after.params, after.buffers, after.macs)


def test_vit_b_16_with_params_has_torchvisions_keys_for_its_tensors():
    from conftest import ROOT

    analysis = convdsl.load(ROOT / "examples" / "vit_b_16.cdsl").analyze()
    assert analysis.params == 86_567_656
    keys = set(_module(analysis).state_dict())
    assert {"class_token", "encoder.pos_embedding", "conv_proj.weight", "encoder.ln.weight"} <= keys
