"""`convdsl import` from PyTorch: every example round-trips through export and import, and models written in
plain torch import with torch's own parameter counts, MACs (counted with forward hooks) and output shapes.

The oracle is torch itself: the state_dict keys of the modules, `parameters()`, the shapes a forward pass
gives, and MACs counted by hooks on convolutions, linear layers and attention (torchvision's convention,
which convdsl follows), written out below independently of convdsl's catalogue.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require

import convdsl
from convdsl.export import export_pytorch

torch = require("torch")

from convdsl.importers.pytorch import InputSpec, import_python, parse_input

ROOT = Path(__file__).resolve().parent.parent
MODELS = Path(__file__).resolve().parent / "torch_models.py"
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.cdsl") if p.name != "resnet_blocks.cdsl")


def _module(source: str, path: Path):
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"exported_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _state_dict_keys(cls) -> list:
    with torch.device("meta"):
        return list(cls().state_dict().keys())


def _imported(reference: str, inputs, **options):
    result = import_python(reference, inputs, **options)
    errors = [d for d in result.diagnostics if d.is_error]
    assert not errors and result.text, [(d.code.code, d.message) for d in result.diagnostics]
    analysis = convdsl.loads(result.text, "imported.cdsl").analyze()
    assert not analysis.has_errors, ([d.message for d in analysis.diagnostics if d.is_error], result.text)
    return result, analysis


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_round_trips(example, tmp_path):
    """export -> import -> the same shapes, params, buffers, MACs and state_dict keys as the example."""
    network = convdsl.load(example)
    original = network.analyze()
    exported = export_pytorch(original)
    module = _module(exported.source, tmp_path / f"{example.stem}.py")
    inputs = [InputSpec(tuple(spec.dims), None, name) for name, spec in network.inputs.items()]
    result, imported = _imported(f"{tmp_path / example.stem}.py:{exported.class_name}", inputs)
    assert (imported.params, imported.buffers, imported.macs) == (original.params, original.buffers, original.macs)
    assert list(original.output_shapes().values()) == list(imported.output_shapes().values())
    again = export_pytorch(imported)
    assert again.source is not None
    module_b = _module(again.source, tmp_path / f"{example.stem}_again.py")
    keys_a = _state_dict_keys(getattr(module, exported.class_name))
    keys_b = _state_dict_keys(getattr(module_b, again.class_name))
    assert keys_a == keys_b


# -- torch as the oracle for plain-torch models (figures(): hooks, in torch_models.py) ------------------------


def _load_models():
    spec = importlib.util.spec_from_file_location("torch_models_oracle", MODELS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PLAIN = [
    ("resnet18", (3, 64, 64)),
    ("senet", (3, 32, 32)),
    ("unet", (3, 64, 64)),
    ("vit", (3, 32, 32)),
    ("torchvision_vit", (3, 32, 32)),
    ("convnext", (3, 32, 32)),
]


@pytest.mark.parametrize("factory, shape", PLAIN, ids=[p[0] for p in PLAIN])
def test_plain_torch_models_import_with_torchs_numbers(factory, shape):
    params, macs, out = _load_models().figures(getattr(_load_models(), factory)(), shape)
    _, analysis = _imported(f"{MODELS}:{factory}", [InputSpec(shape)])
    assert analysis.params == params
    assert analysis.macs == macs
    assert list(analysis.output_shapes().values()) == [out]


def test_blocks_and_names_follow_the_module_hierarchy():
    """One block per structure of a class used more than once, its parameter named after the constructor's;
    children labelled with their attribute names; nn.Sequential numbered by position."""
    result, analysis = _imported(f"{MODELS}:resnet18", [InputSpec((3, 64, 64))])
    text = result.text
    assert "block basic_block(planes) {" in text
    assert "block basic_block_2(planes) {" in text  # the variant with a downsample branch
    assert "layer1: (basic_block(64) * 2)" in text
    names = set(analysis.layers)
    assert {"conv1", "layer1.0.conv1", "layer2.0.downsample.0", "layer2.0.downsample.1", "fc"} <= names
    # the state_dict keys of the export of the import are the original's
    exported = export_pytorch(analysis)
    scope: dict = {}
    exec(compile(exported.source, "imported_export.py", "exec"), scope)
    keys_b = _state_dict_keys(scope[exported.class_name])
    keys_a = list(_load_models().resnet18().state_dict().keys())
    assert keys_a == keys_b


def test_se_block_parameters_are_constructor_expressions():
    result, _ = _imported(f"{MODELS}:senet", [InputSpec((3, 32, 32))])
    assert "block squeeze_excite(channels) {" in result.text
    assert "conv(channels // 4, 1)" in result.text


def test_an_unsupported_module_is_named_with_its_line():
    result = import_python(f"{MODELS}:with_prelu", [InputSpec((3, 16, 16))])
    assert result.text is None
    (diag,) = [d for d in result.diagnostics if d.is_error]
    assert diag.code.code == "E430"
    assert "`act`" in diag.message and "PReLU" in diag.message
    source = MODELS.read_text().splitlines()
    assert diag.span.path == str(MODELS) and "self.act(" in source[diag.span.line - 1]
    assert "--allow-opaque" in diag.help


def test_an_unsupported_function_is_named_with_its_line():
    result = import_python(f"{MODELS}:with_cumsum", [InputSpec((3, 16, 16))])
    (diag,) = [d for d in result.diagnostics if d.is_error]
    assert "torch.cumsum" in diag.message
    assert "torch.cumsum(" in MODELS.read_text().splitlines()[diag.span.line - 1]


def test_allow_opaque_keeps_the_shape_and_the_parameters():
    params, _, out = _load_models().figures(_load_models().with_prelu(), (3, 16, 16))
    result, analysis = _imported(f"{MODELS}:with_prelu", [InputSpec((3, 16, 16))], allow_opaque=True)
    assert re.search(
        r"act: opaque\(\(8, 16, 16\), params=8, source=\"torch\.nn\.modules\.activation\.PReLU\"\)", result.text
    )
    assert analysis.params == params
    assert list(analysis.output_shapes().values()) == [out]
    # the export refuses it rather than write something else
    assert export_pytorch(analysis).source is None


def test_a_factory_that_fails_is_a_diagnostic():
    result = import_python(f"{MODELS}:broken", [InputSpec((3, 8, 8))])
    (diag,) = result.diagnostics
    assert diag.code.code == "E431" and "the checkpoint is missing" in diag.message
    assert "raise RuntimeError" in MODELS.read_text().splitlines()[diag.span.line - 1]
    result = import_python(f"{MODELS}:not_a_module", [InputSpec((3, 8, 8))])
    assert "returned int, not a torch.nn.Module" in result.diagnostics[0].message
    result = import_python(f"{MODELS}:missing", [InputSpec((3, 8, 8))])
    assert "has no `missing`" in result.diagnostics[0].message
    result = import_python("no/such/file.py:build", [InputSpec((3, 8, 8))])
    assert "is not a file" in result.diagnostics[0].message


def test_an_input_shape_is_required():
    result = import_python(f"{MODELS}:senet", None)
    assert result.text is None and "--input" in result.diagnostics[0].help


@pytest.mark.parametrize(
    "text, dims, dtype",
    [("3 x 224 x 224", (3, 224, 224), None), ("3x32x32", (3, 32, 32), None), ("1024, dtype=long", (1024,), "long")],
)
def test_parse_input(text, dims, dtype):
    spec = parse_input(text)
    assert (spec.dims, spec.dtype) == (dims, dtype)


@pytest.mark.parametrize("text", ["", "3 x -1", "3 x a", "0 x 4", "100000 x 100000", "3, dtype=int8", "1x1x1x1x1x1"])
def test_parse_input_rejects(text):
    with pytest.raises(ValueError):
        parse_input(text)


def test_import_never_runs_code_for_check(tmp_path):
    """check, summary and the other commands read .cdsl only: a Python reference is not a file they run."""
    marker = tmp_path / "ran"
    model = tmp_path / "evil.py"
    model.write_text(f"open({str(marker)!r}, 'w').write('x')\ndef build():\n    pass\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-m", "convdsl", "check", f"{model}:build"], capture_output=True, env=env, timeout=120
    )
    assert not marker.exists()


def test_the_command_line(tmp_path):
    """`convdsl import file.py:factory --input ... -o OUT`: exit 0 and a file check accepts; 1 with the diagnostic
    and nothing written for an unsupported module; 2 for a malformed --input."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-m", "convdsl", "import"]
    out = tmp_path / "senet.cdsl"
    done = subprocess.run(
        [*run, f"{MODELS}:senet", "--input", "3x32x32", "-o", str(out)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert convdsl.load(out).analyze().params == _load_models().figures(_load_models().senet(), (3, 32, 32))[0]
    bad = tmp_path / "prelu.cdsl"
    done = subprocess.run(
        [*run, f"{MODELS}:with_prelu", "--input", "3x8x8", "-o", str(bad)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 1 and "error[E430]" in done.stderr and "`act`" in done.stderr
    assert not bad.exists()
    done = subprocess.run(
        [*run, f"{MODELS}:with_prelu", "--input", "3x8x8", "--allow-opaque", "-o", str(bad)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0 and "opaque(" in bad.read_text()
    done = subprocess.run([*run, f"{MODELS}:senet", "--input", "3 by 32"], capture_output=True, text=True, env=env)
    assert done.returncode == 2 and "--input" in done.stderr
    helped = subprocess.run([*run, "--help"], capture_output=True, text=True, env=env)
    assert "RUNS ITS CODE" in " ".join(helped.stdout.split())


def _exported_keys(analysis) -> list:
    exported = export_pytorch(analysis)
    assert exported.source is not None, exported.diagnostics
    scope: dict = {}
    exec(compile(exported.source, "imported_export.py", "exec"), scope)
    return _state_dict_keys(scope[exported.class_name])


@pytest.mark.parametrize(
    "factory, own",
    [
        ("vit", {"class_token", "pos_embedding"}),
        ("torchvision_vit", {"class_token", "encoder.pos_embedding"}),
        ("convnext", {"stages.0.gamma", "stages.1.gamma", "stages.2.layer_scale"}),
    ],
)
def test_bare_parameters_keep_their_state_dict_keys(factory, own):
    """ViT's class token and position embedding, ConvNeXt's layer-scale gammas: `param` statements, so the
    export of the import has torch's state_dict keys, the bare parameters' among them."""
    model = getattr(_load_models(), factory)()
    keys = list(model.state_dict().keys())
    assert own <= set(keys)
    result, analysis = _imported(f"{MODELS}:{factory}", [InputSpec((3, 32, 32))])
    assert _exported_keys(analysis) == keys
    assert not [d for d in result.diagnostics if d.code.code == "W430"]
    # each bare parameter counts what torch holds for it
    params = dict(model.named_parameters())
    for key in own:
        assert analysis.layers[key].params == params[key].numel()


def test_a_parameter_in_a_block_is_one_per_instance():
    result, _ = _imported(f"{MODELS}:convnext", [InputSpec((3, 32, 32))])
    # gamma (32,) meets channels-last features N x H x W x 32: PyTorch broadcasts from the right
    assert "param gamma: 1 x 1 x 32" in result.text
    assert "param layer_scale: 32 x 1 x 1" in result.text
    assert result.text.count("param gamma:") == 1  # declared in the block, called twice


def test_a_parameter_named_as_a_keyword_is_renamed_with_a_warning(tmp_path):
    source = tmp_path / "named.py"
    source.write_text(
        "import torch\nfrom torch import nn\n\n"
        "class M(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 8, 3, padding=1)\n"
        "        self.input = nn.Parameter(torch.zeros(1, 8, 1, 1))\n"
        "    def forward(self, x):\n"
        "        return self.conv(x) + self.input\n\n"
        "def build():\n"
        "    return M()\n"
    )
    result, analysis = _imported(f"{source}:build", [InputSpec((3, 8, 8))])
    (warning,) = [d for d in result.diagnostics if d.code.code == "W430"]
    assert "`input`" not in warning.message and "input" in warning.message and "p_input" in warning.message
    assert analysis.params == 3 * 8 * 9 + 8 + 8


@pytest.mark.parametrize(
    "forward, words",
    [
        # a buffer is a constant, not a learnable tensor
        ("return self.conv(x) + self.table", "the buffer `table`"),
        # the child's parameter read by the parent: convdsl declares it where it is owned
        ("return self.conv(x) * self.child.scale", "`child.scale`"),
        # expanded along an axis that is not the batch: a param would count fewer values
        ("return self.conv(x) + self.bias_map.expand(-1, -1, 8, 8) + self.bias_map", "expand"),
    ],
    ids=["buffer", "child's", "expanded"],
)
def test_parameters_convdsl_cannot_declare_are_named(tmp_path, forward, words):
    source = tmp_path / "bad.py"
    source.write_text(
        "import torch\nfrom torch import nn\n\n"
        "class Child(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.scale = nn.Parameter(torch.ones(1, 8, 1, 1))\n\n"
        "class M(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 8, 3, padding=1)\n"
        "        self.child = Child()\n"
        "        self.register_buffer('table', torch.zeros(1, 8, 1, 1))\n"
        "        self.bias_map = nn.Parameter(torch.zeros(1, 8, 1, 1))\n"
        "    def forward(self, x):\n"
        f"        {forward}\n\n"
        "def build():\n"
        "    return M()\n"
    )
    result = import_python(f"{source}:build", [InputSpec((3, 8, 8))])
    assert result.text is None
    errors = [d for d in result.diagnostics if d.is_error]
    assert errors and all(d.code.code == "E430" for d in errors)
    assert words in errors[0].message, errors[0].message
    assert errors[0].span.path == str(source) and errors[0].span.line == 17


# -- a module called more than once (shared weights): `reuse(LABEL)` ------------------------------------------

SHARED = [
    ("siamese", [(3, 16, 16), (3, 16, 16)], "reuse(tower)"),
    ("shared_head", [(3, 32, 32)], "reuse(head)"),
    # a block instance reused, in a statement after the one that labels it though forward uses it first
    ("siamese_blocks", [(3, 8, 8), (3, 8, 8)], "b -> reuse(stem) -> reuse(tower)"),
]


def _same_as_torch(model, factory: str, shapes, written) -> None:
    """The model imported from tests/torch_models.py:factory writes each text in `written`, and has torch's
    parameters (parameters(): shared ones once), MACs (hooks, per call), output shape and state_dict keys (the
    export's in the order of first use, torch's in the order of __init__: compared as sets of keys)."""
    params, macs, out = _load_models().figures(model, shapes)
    result, analysis = _imported(f"{MODELS}:{factory}", [InputSpec(s) for s in shapes])
    for text in written:
        assert text in result.text, result.text
    assert (analysis.params, analysis.macs) == (params, macs)
    assert list(analysis.output_shapes().values()) == [out]
    assert sorted(_exported_keys(analysis)) == sorted(model.state_dict().keys())


@pytest.mark.parametrize("factory, shapes, written", SHARED, ids=[s[0] for s in SHARED])
def test_a_module_called_again_is_reused(factory, shapes, written):
    """A Siamese tower, a head shared across FPN levels, a convolution applied twice: the second call is
    `reuse(label)`, the parameters count once (torch's parameters()), the MACs per call (hooks), and the export
    calls the one module again, with torch's state_dict keys."""
    _same_as_torch(getattr(_load_models(), factory)(), factory, shapes, [written])


def test_a_convolution_applied_twice_is_reused():
    result, _ = _imported(f"{MODELS}:shared_head", [InputSpec((3, 32, 32))])
    assert "refine: conv(16, 3, p=1) -> reuse(refine)" in result.text


def test_a_shared_module_numbered_in_a_sequential_is_refused():
    """nn.Sequential(conv, relu, conv) with one conv object: its first call has no label to reuse."""
    result = import_python(f"{MODELS}:shared_in_sequential", [InputSpec((3, 8, 8))])
    assert result.text is None
    (error,) = [d for d in result.diagnostics if d.is_error]
    assert error.code.code == "E430" and "is called more than once" in error.message and "`body.0`" in error.message
    assert "class SharedInSequential" in MODELS.read_text().splitlines()[error.span.line - 1]


def test_one_module_in_two_parents_is_refused_with_both_names():
    result = import_python(f"{MODELS}:shared_across", [InputSpec((3, 16, 16))])
    assert result.text is None
    (error,) = [d for d in result.diagnostics if d.is_error]
    assert error.code.code == "E430" and "`b.1`" in error.message and "`a.1` again" in error.message
    # inside nn.Sequential's own forward: the diagnostic points at the user's class around it, not torch's code
    assert error.span.path == str(MODELS)
    assert "class SharedAcross" in MODELS.read_text().splitlines()[error.span.line - 1]


# -- attention: cross-attention and causal masks ------------------------------------------------------------

ATTENTION = [
    ("cross_attention", [(10, 32), (7, 48)], ["cross: attention(ln_, memory, 4)", "same: attention("]),
    ("causal_bool", [(10, 32)], ["attn: attention(4, causal=true)"]),
    ("causal_square", [(10, 32)], ["attn: attention(4, causal=true)"]),
    # `y, _ = attn(y, y, y)`: the weights (need_weights=True) unpacked into `_` and never read
    ("weights_unpacked", [(10, 32)], ["attn: attention(4)"]),
]


@pytest.mark.parametrize("factory, shapes, written", ATTENTION, ids=[a[0] for a in ATTENTION])
def test_attention_calls_import_with_torchs_numbers(factory, shapes, written):
    """nn.MultiheadAttention(q, kv, kv) is the merge form attention(q, kv, heads), with kdim=vdim from the
    memory's width; a causal mask (triu of ones above the diagonal, generate_square_subsequent_mask with
    is_causal=True) is causal=true."""
    _same_as_torch(getattr(_load_models(), factory)(), factory, shapes, written)


def test_attention_weights_that_are_read_are_refused():
    result = import_python(f"{MODELS}:weights_returned", [InputSpec((10, 32))])
    assert result.text is None
    (error,) = [d for d in result.diagnostics if d.is_error]
    assert error.code.code == "E430" and "need_weights" in error.message


@pytest.mark.parametrize(
    "factory, words",
    [("lower_mask", "not recognisably causal"), ("padding_mask", "key_padding_mask")],
    ids=["not causal", "padding"],
)
def test_attention_masks_convdsl_cannot_say_are_refused(factory, words):
    result = import_python(f"{MODELS}:{factory}", [InputSpec((10, 32))])
    assert result.text is None
    errors = [d for d in result.diagnostics if d.is_error and "`attn`" in d.message]
    assert len(errors) == 1 and words in errors[0].message and "MultiheadAttention" in errors[0].message
    assert "self.attn(" in MODELS.read_text().splitlines()[errors[0].span.line - 1]


# -- an input's layout ----------------------------------------------------------------------------------------

LAYOUTS = [
    # (factory, input shape, whether the first layer that reads it takes its last axis as features)
    ("weights_unpacked", (10, 32), True),  # nn.LayerNorm(32) first
    ("tokens_through_child", (12, 24), True),  # Dropout, then a Sequential whose first layer is LayerNorm(24)
    ("recurrent_tagger", (9, 16), True),  # nn.GRU(16, 32, batch_first=True): L x D steps
    ("conv1d_classifier", (4, 20), False),  # nn.Conv1d(4, ...): C x L
]


@pytest.mark.parametrize("factory, shape, tokens", LAYOUTS, ids=[f[0] for f in LAYOUTS])
def test_an_input_read_as_tokens_is_written_with_layout_tokens(factory, shape, tokens):
    """A model's L x D input is written `layout=tokens`, so check does not take its features for a spatial
    axis: no W104 on its linears (they act on the last axis, as PyTorch's Linear does); a C x L input stays
    channels first. The numbers are torch's either way."""
    model = getattr(_load_models(), factory)()
    result, analysis = _imported(f"{MODELS}:{factory}", [InputSpec(shape)])
    line = next(t for t in result.text.splitlines() if t.startswith("input "))
    assert line.endswith(", layout=tokens") == tokens, line
    assert not [d for d in analysis.diagnostics if d.code.code == "W104"], result.text
    params, macs, out = _load_models().figures(model, [shape])
    assert (analysis.params, analysis.macs) == (params, macs)
    assert next(iter(analysis.output_shapes().values())) == out


def test_recurrent_layers_whose_sequence_is_read_import_with_every_output_named():
    """nn.GRU gives (y, h), nn.LSTM (y, (h, c)): convdsl's gru and lstm give the same tensors, so the statement
    names each, the states unread (`_`, no W001); torch's parameters and MACs (the gates' matrices per step)."""
    factory = "stacked_recurrent"
    _same_as_torch(
        getattr(_load_models(), factory)(),
        factory,
        [(9, 16)],
        [
            "input x: 9 x 16, layout=tokens",
            "gru_0, _gru_1 = x -> gru: gru(32)",
            "lstm_0, _lstm_1, _lstm_2 = gru_0 -> lstm: lstm(8, num_layers=2, bidirectional=true)",
        ],
    )
    _, analysis = _imported(f"{MODELS}:{factory}", [InputSpec((9, 16))])
    assert not [d for d in analysis.diagnostics if d.severity.name != "INFO"]


def test_a_recurrent_layers_hidden_state_read_is_refused_with_the_reason():
    result = import_python(f"{MODELS}:reads_hidden", [InputSpec((9, 16))])
    assert result.text is None
    error = next(d for d in result.diagnostics if d.is_error)  # then `h[-1]`, the layers axis indexed, is refused
    assert error.code.code == "E430" and "hidden state" in error.message and "batch-second" in error.message
    assert "_, h = self.gru(x)" in MODELS.read_text().splitlines()[error.span.line - 1]


# -- torch's transformer modules ----------------------------------------------------------------------------


def _encoder_macs(length, dim, ff, layers):
    """One encoder layer by hand: the attention's four D x D projections of L tokens, q.k^T and attn.v
    (L x L x D each), and the feed-forward's two L x D x FF linears."""
    return layers * (4 * length * dim * dim + 2 * length * length * dim + 2 * length * dim * ff)


TRANSFORMER_MODULES = [
    # factory, input, MACs by hand, what the translation says
    (
        "encoder_classifier",
        (16, 64),
        _encoder_macs(16, 64, 128, 2) + 64 * 10,
        ["norm1: layernorm(64)", "self_attn: attention(4, dropout=0.1)", "linear1: linear(128) -> relu"],
    ),
    (
        "pre_norm_layers",
        (10, 48),
        _encoder_macs(10, 48, 96, 1) + _encoder_macs(10, 48, 64, 1),
        ["-> gelu", "activation: gelu"],
    ),
    (
        "causal_decoder_only",
        (12,),
        _encoder_macs(12, 32, 128, 2) + 12 * 32 * 100,
        ["self_attn: attention(2, dropout=0.1, causal=true)"],
    ),
]


@pytest.mark.parametrize("factory, shape, macs, written", TRANSFORMER_MODULES, ids=[t[0] for t in TRANSFORMER_MODULES])
def test_torchs_transformer_encoder_modules_import(factory, shape, macs, written):
    """nn.TransformerEncoderLayer and nn.TransformerEncoder (post-norm and pre-norm, ReLU and GELU as a string or
    a module, a final norm, a causal mask): torch's parameters and state_dict keys, the MACs by hand (torch runs
    its fused fast path in eval, where hooks on the layers inside do not fire), torch's output shape."""
    model = getattr(_load_models(), factory)().eval()
    spec = InputSpec(shape, dtype="long") if len(shape) == 1 else InputSpec(shape)
    result, analysis = _imported(f"{MODELS}:{factory}", [spec])
    for text in written:
        assert text in result.text, result.text
    assert analysis.params == sum(p.numel() for p in model.parameters())
    assert analysis.macs == macs
    with torch.no_grad():
        example = torch.randint(0, 100, (2, *shape)) if len(shape) == 1 else torch.randn(2, *shape)
        out = model(example)
    assert next(iter(analysis.output_shapes().values())) == tuple(out.shape[1:])
    assert sorted(_exported_keys(analysis)) == sorted(model.state_dict().keys())
    assert not [d for d in analysis.diagnostics if d.is_error or d.severity.name == "WARNING"], result.text


@pytest.mark.parametrize(
    "factory, written, out",
    [
        ("mean_pooled", "-> transpose(1, 2) -> global_avgpool -> flatten -> head: linear(10)", (10,)),
        ("mean_kept", "-> transpose(1, 2) -> global_avgpool -> transpose(1, 2) -> head: linear(10)", (1, 10)),
    ],
)
def test_the_mean_over_the_tokens_is_a_pool_over_the_sequence(factory, written, out):
    """`x.mean(dim=1)` on B x L x D averages the L tokens: the sequence moved to the pooled axis, pooled, and
    flattened (or moved back, keepdim=True); no parameters, no MACs (as torch's hooks count them)."""
    model = getattr(_load_models(), factory)().eval()
    result, analysis = _imported(f"{MODELS}:{factory}", [InputSpec((16, 64))])
    assert written in result.text, result.text
    assert analysis.params == sum(p.numel() for p in model.parameters())
    assert analysis.macs == _encoder_macs(16, 64, 128, 2) + 64 * 10
    with torch.no_grad():
        assert tuple(model(torch.randn(2, 16, 64)).shape[1:]) == out
    assert next(iter(analysis.output_shapes().values())) == out


def test_torchs_decoder_layers_import_with_the_memory_and_a_causal_mask():
    """nn.TransformerDecoderLayer (post-norm and pre-norm) on a target and an encoder's memory: the self-attention
    causal (tgt_mask a causal triu; tgt_is_causal=True), the attention to the memory not; torch's numbers."""
    model = _load_models().encoder_decoder().eval()
    result, analysis = _imported(f"{MODELS}:encoder_decoder", [InputSpec((9, 32)), InputSpec((7, 32))])
    assert "block transformer_decoder_layer(memory: tensor)" in result.text
    assert "self_attn: attention(4, dropout=0.1, causal=true)" in result.text
    assert "multihead_attn: attention(norm1, memory, 4, dropout=0.1)" in result.text  # no causal=true
    assert "first: transformer_decoder_layer(encoder)" in result.text
    self_attention = 4 * 7 * 32 * 32 + 2 * 7 * 7 * 32  # four projections of 7 tokens, q.k^T and attn.v
    # queries and output projected over the 7 target tokens, keys and values over the 9 memory tokens
    cross = 2 * 7 * 32 * 32 + 2 * 9 * 32 * 32 + 2 * 7 * 9 * 32
    decoders = 2 * (self_attention + cross) + 2 * 7 * 32 * 64 + 2 * 7 * 32 * 48  # feed-forward 64, then 48 wide
    assert analysis.macs == _encoder_macs(9, 32, 64, 1) + decoders + 7 * 32 * 50
    assert analysis.params == sum(p.numel() for p in model.parameters())
    assert sorted(_exported_keys(analysis)) == sorted(model.state_dict().keys())
    with torch.no_grad():
        out = model(torch.randn(2, 9, 32), torch.randn(2, 7, 32))
    assert next(iter(analysis.output_shapes().values())) == tuple(out.shape[1:])


def test_torchs_transformer_decoder_is_refused_with_what_to_write_instead():
    result = import_python(f"{MODELS}:stacked_decoder", [InputSpec((7, 32)), InputSpec((9, 32))])
    assert result.text is None
    (error,) = [d for d in result.diagnostics if d.is_error]
    assert error.code.code == "E430" and "`decoder`" in error.message
    assert "nn.TransformerDecoderLayer" in error.message  # what to write instead
    assert "self.decoder(tgt, memory)" in MODELS.read_text().splitlines()[error.span.line - 1]


def test_a_padding_mask_passed_to_torchs_encoder_is_refused():
    result = import_python(f"{MODELS}:padded_encoder", [InputSpec((16, 64))])
    assert result.text is None
    # the mask's own computation is refused too (a comparison is no layer); the encoder says why it is refused
    (error,) = [d for d in result.diagnostics if d.is_error and "`encoder`" in d.message]
    assert error.code.code == "E430" and "src_key_padding_mask" in error.message
    assert "self.encoder(x, src_key_padding_mask=pad)" in MODELS.read_text().splitlines()[error.span.line - 1]


# -- where torch.fx cannot follow: torch.export ------------------------------------------------------------

EXPORTED = [
    # `if x.shape[-1] > 10:` and `for i in range(x.shape[1] // 4):` (fx: "cannot be used as inputs to control
    # flow"), with a ModuleList's members called, a bare parameter and a module of the user's
    ("size_dependent", [(3, 16, 16)], ["maxpool(2)", "blocks: (refine * 2)", "param gamma: 8 x 1 x 1"]),
    # `torch.ones(n, n)` of traced sizes (fx: "ones() takes 1 positional argument"): the causal mask is read
    # from the ATen graph, the attention's call rebuilt from its preserved signature
    ("mask_from_sizes", [(10, 32)], ["attn: attention(4, causal=true)"]),
]


@pytest.mark.parametrize("factory, shapes, written", EXPORTED, ids=[e[0] for e in EXPORTED])
def test_a_forward_fx_cannot_follow_is_read_through_torch_export(factory, shapes, written):
    model = getattr(_load_models(), factory)()
    with pytest.raises((torch.fx.proxy.TraceError, TypeError)):
        torch.fx.symbolic_trace(model)  # the premise: fx stops here
    _same_as_torch(model, factory, shapes, written)


def test_when_neither_fx_nor_torch_export_can_follow_the_diagnostic_names_both():
    """A branch on a tensor's values: the module, fx's error first, at the line of forward fx stopped at."""
    result = import_python(f"{MODELS}:neither_traces", [InputSpec((3, 16, 16))])
    assert result.text is None
    (error,) = [d for d in result.diagnostics if d.is_error]
    assert error.code.code == "E431" and error.message.startswith("`NeitherTraces`: torch.fx cannot trace")
    assert "nor can torch.export" in error.message
    assert error.message.index("torch.fx") < error.message.index("torch.export")
    assert "if x.sum() > 0:" in MODELS.read_text().splitlines()[error.span.line - 1]


def test_modules_forward_never_calls_are_named_with_their_parameters():
    """Nothing left out silently: a head built and never called, a ModuleList member never called (W431, with
    torch's count for each); the translation's parameters and theirs add up to torch's parameters()."""
    model = _load_models().spare_head()
    result, analysis = _imported(f"{MODELS}:spare_head", [InputSpec((3, 8, 8))])
    uncalled = {d.message.split("`")[1]: d for d in result.diagnostics if d.code.code == "W431"}
    assert set(uncalled) == {"aux", "blocks.1"}  # not the ReLU (no parameters), not blocks.0 (called)
    spare = sum(p.numel() for name in uncalled for p in model.get_submodule(name).parameters())
    assert f"{sum(p.numel() for p in model.aux.parameters()):,} parameters" in uncalled["aux"].message
    assert analysis.params + spare == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("factory, shape", PLAIN, ids=[p[0] for p in PLAIN])
def test_models_whose_forward_calls_everything_have_no_uncalled_warning(factory, shape):
    result, _ = _imported(f"{MODELS}:{factory}", [InputSpec(shape)])
    assert not [d.message for d in result.diagnostics if d.code.code == "W431"]


def test_a_multiple_of_a_parameter_reads_as_one(tmp_path):
    """ResNet-50's bottleneck: the expansion is `c * 4`, not a second parameter equal to in_channels."""
    exported = export_pytorch(convdsl.load(ROOT / "examples" / "resnet50.cdsl").analyze())
    (tmp_path / "r50.py").write_text(exported.source, encoding="utf-8")
    result, _ = _imported(f"{tmp_path / 'r50.py'}:{exported.class_name}", [InputSpec((3, 224, 224))])
    assert "block bottleneck(c) {" in result.text
    assert "conv3: conv(c * 4, 1, bias=false)" in result.text
