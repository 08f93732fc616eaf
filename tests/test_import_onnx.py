"""`convdsl import model.onnx`: models written in plain torch, exported with torch.onnx.export, import with torch's
own parameters, MACs (hooks) and output shapes; hostile files give diagnostics, never a hang or a traceback.

The files are made here: by torch.onnx.export (the TorchScript exporter, dynamo=False, without constant folding
so that batch norms stay batch norms), and by onnx.helper for the malformed ones.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from conftest import require

import convdsl

torch = require("torch")  # to write the files: torch.onnx.export of models written in torch
onnx = require("onnx", install="pip install -e '.[test,onnx]'")

from onnx import TensorProto, helper

from convdsl.importers import onnx as onnx_import
from convdsl.importers.onnx import import_onnx
from convdsl.importers.pytorch import InputSpec

ROOT = Path(__file__).resolve().parent.parent
MODELS = Path(__file__).resolve().parent / "torch_models.py"


def _models():
    spec = importlib.util.spec_from_file_location("torch_models_onnx", MODELS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _export(model, shape, path, opset=17, folding=False, **options):
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (torch.randn(1, *shape),),
            str(path),
            dynamo=False,
            opset_version=opset,
            do_constant_folding=folding,
            **options,
        )
    return path


def _analysis(result):
    errors = [d for d in result.diagnostics if d.is_error]
    assert not errors and result.text, [(d.code.code, d.message) for d in result.diagnostics]
    analysis = convdsl.loads(result.text, "imported.cdsl").analyze()
    assert not analysis.has_errors, [d.message for d in analysis.diagnostics if d.is_error]
    return analysis


# the ViT at opset 20, where GELU is one operator (before, it is written out as Div, Erf, Add and Mul); its
# nn.MultiheadAttention is some sixty operators under the module's scope, read back as one attention layer
PLAIN = [("resnet18", (3, 64, 64), 17), ("senet", (3, 32, 32), 17), ("unet", (3, 64, 64), 17), ("vit", (3, 32, 32), 20)]


@pytest.mark.parametrize("factory, shape, opset", PLAIN, ids=[p[0] for p in PLAIN])
def test_exported_models_import_with_torchs_numbers(factory, shape, opset, tmp_path):
    models = _models()
    params, macs, out = models.figures(getattr(models, factory)(), shape)
    path = _export(getattr(models, factory)(), shape, tmp_path / f"{factory}.onnx", opset=opset)
    analysis = _analysis(import_onnx(str(path)))
    assert analysis.params == params
    assert analysis.macs == macs
    assert list(analysis.output_shapes().values()) == [out]


def test_attention_exported_with_torchs_defaults_imports_as_attention(tmp_path):
    """torch.onnx.export's defaults fold constants: nn.MultiheadAttention's in-projection weight is stored
    transposed under another name (its bias keeps its name), and the layers of an nn.TransformerEncoder, deep
    copies of one layer, share their equal initializers through Identity nodes. Each attention is still one
    layer; the numbers are torch's (parameters()), the MACs by hand for the encoder (torch's fused fast path
    runs no hooks)."""
    models = _models()
    params, macs, out = models.figures(models.weights_unpacked(), (10, 32))
    path = _export(models.weights_unpacked(), (10, 32), tmp_path / "mha.onnx", folding=True)
    result = import_onnx(str(path))
    analysis = _analysis(result)
    assert ": 10 x 32, layout=tokens" in result.text and "attn: attention(4)" in result.text
    assert (analysis.params, analysis.macs) == (params, macs)
    assert list(analysis.output_shapes().values()) == [out]

    encoder = models.encoder_classifier()
    path = _export(models.encoder_classifier(), (16, 64), tmp_path / "encoder.onnx", folding=True)
    analysis = _analysis(import_onnx(str(path)))
    assert analysis.params == sum(p.numel() for p in encoder.parameters())
    # per layer: four 64 x 64 projections of 16 tokens, q.k^T and attn.v, the 64 -> 128 -> 64 feed-forward
    per_layer = 4 * 16 * 64 * 64 + 2 * 16 * 16 * 64 + 2 * 16 * 64 * 128
    assert analysis.macs == 2 * per_layer + 64 * 10
    assert [layer.kind for layer in analysis.layers.values()].count("attention") == 2

    # the tokens averaged (ReduceMean over axis 1 of B x L x D), then the head
    pooled = models.mean_pooled()
    path = _export(models.mean_pooled(), (16, 64), tmp_path / "pooled.onnx", folding=True)
    result = import_onnx(str(path))
    analysis = _analysis(result)
    assert "transpose(1, 2)\n    -> global_avgpool\n    -> flatten" in result.text
    assert analysis.params == sum(p.numel() for p in pooled.parameters())
    assert analysis.macs == 2 * per_layer + 64 * 10
    assert list(analysis.output_shapes().values()) == [(10,)]


def test_the_same_model_from_python_and_from_onnx_agrees(tmp_path):
    """Both routes of the same U-Net (torch.cat, transposed convolutions) give the same network figures."""
    from convdsl.importers.pytorch import import_python

    python = _analysis(import_python(f"{MODELS}:unet", [InputSpec((3, 32, 32))]))
    path = _export(_models().unet(), (3, 32, 32), tmp_path / "unet.onnx")
    from_onnx = _analysis(import_onnx(str(path)))
    assert (python.params, python.buffers, python.macs) == (from_onnx.params, from_onnx.buffers, from_onnx.macs)
    assert list(python.output_shapes().values()) == list(from_onnx.output_shapes().values())


def test_input_is_needed_only_without_static_shapes(tmp_path):
    path = _export(
        _models().senet(),
        (3, 32, 32),
        tmp_path / "dynamic.onnx",
        input_names=["image"],
        dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}},
    )
    result = import_onnx(str(path))
    assert result.text is None
    assert "no static shape" in result.diagnostics[0].message and "--input" in result.diagnostics[0].help
    analysis = _analysis(import_onnx(str(path), [InputSpec((3, 64, 64))]))
    assert list(analysis.output_shapes().values()) == [(10,)]


# -- hostile and unsupported files ------------------------------------------------------------------------------


def _model(nodes, inputs, outputs, initializers=(), path=None):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path.write_bytes(model.SerializeToString())
    return str(path)


def _x(name="x", dims=(1, 3, 8, 8)):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(dims))


def _only_error(result):
    errors = [d for d in result.diagnostics if d.is_error]
    assert result.text is None and len(errors) == 1, [(d.code.code, d.message) for d in result.diagnostics]
    return errors[0]


def test_not_onnx(tmp_path):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01not protobuf" * 10)
    diag = _only_error(import_onnx(str(path)))
    assert diag.code.code == "E433" and "not an ONNX model" in diag.message


def test_truncated_file(tmp_path):
    full = _export(_models().senet(), (3, 32, 32), tmp_path / "full.onnx")
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(full.read_bytes()[:5000])
    diag = _only_error(import_onnx(str(cut)))
    assert diag.code.code == "E433"


def test_an_initializer_claiming_a_billion_elements(tmp_path):
    weight = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1000, 1000, 1000, 1], raw_data=b"\0" * 16)
    node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[1000, 1])
    path = _model([node], [_x()], [_x("y")], [weight], tmp_path / "claim.onnx")
    diag = _only_error(import_onnx(path))
    assert (
        diag.code.code == "E433" and "`w` claims 1,000,000,000 elements" in diag.message and "holds 4" in diag.message
    )


def test_sizes_beyond_2_53(tmp_path):
    node = helper.make_node("Relu", ["x"], ["y"])
    path = _model([node], [_x(dims=(1, 2**40, 2**40))], [_x("y")], path=tmp_path / "huge.onnx")
    diag = _only_error(import_onnx(path))
    assert diag.code.code == "E433" and "2^53" in diag.message


def test_a_cycle(tmp_path):
    a = helper.make_node("Add", ["x", "b"], ["a"], name="first")
    b = helper.make_node("Relu", ["a"], ["b"], name="second")
    path = _model([a, b], [_x()], [_x("b")], path=tmp_path / "cycle.onnx")
    diag = _only_error(import_onnx(path))
    assert "cycle" in diag.message


def test_a_missing_input(tmp_path):
    node = helper.make_node("Add", ["x", "nowhere"], ["y"], name="adder")
    path = _model([node], [_x()], [_x("y")], path=tmp_path / "missing.onnx")
    diag = _only_error(import_onnx(path))
    assert "`adder` reads `nowhere`, which nothing produces" in diag.message


def test_a_file_over_the_size_limit(tmp_path, monkeypatch):
    path = _export(_models().senet(), (3, 32, 32), tmp_path / "big.onnx")
    monkeypatch.setattr(onnx_import, "MAX_BYTES", 1000)
    diag = _only_error(import_onnx(str(path)))
    assert "at most 1,000 bytes" in diag.message


def test_an_unsupported_operator_names_the_node_and_opaque_keeps_it(tmp_path):
    conv_w = helper.make_tensor("conv.weight", TensorProto.FLOAT, [4, 3, 3, 3], [0.0] * 108)
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Erf", ["c"], ["e"], name="the_erf"),
        helper.make_node("GlobalAveragePool", ["e"], ["y"]),
    ]
    path = _model(nodes, [_x()], [_x("y", (1, 4, 1, 1))], [conv_w], tmp_path / "erf.onnx")
    diag = _only_error(import_onnx(path))
    assert diag.code.code == "E432" and "`the_erf` (Erf)" in diag.message and "--allow-opaque" in diag.help
    result = import_onnx(path, allow_opaque=True)
    assert 'opaque((4, 8, 8), source="Erf")' in result.text
    analysis = _analysis(result)
    assert analysis.params == 108
    assert list(analysis.output_shapes().values()) == [(4, 1, 1)]


def test_onnx_through_the_command_line(tmp_path):
    """check, summary and import read an .onnx file; import writes the .cdsl file."""
    path = _export(_models().senet(), (3, 32, 32), tmp_path / "senet.onnx")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-m", "convdsl"]
    check = subprocess.run([*run, "check", str(path)], capture_output=True, text=True, env=env, timeout=300)
    assert check.returncode == 0, check.stderr
    out = tmp_path / "senet.cdsl"
    done = subprocess.run(
        [*run, "import", str(path), "-o", str(out)], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert convdsl.load(out).analyze().params == _models().figures(_models().senet(), (3, 32, 32))[0]


# -- where a diagnostic points: an ONNX file has no lines, so at the node (index, name, operator) --------------


def test_a_diagnostic_about_a_node_is_located_at_the_node(tmp_path):
    conv_w = helper.make_tensor("conv.weight", TensorProto.FLOAT, [4, 3, 3, 3], [0.0] * 108)
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Erf", ["c"], ["e"], name="the_erf"),
        helper.make_node("GlobalAveragePool", ["e"], ["y"]),
    ]
    path = _model(nodes, [_x()], [_x("y", (1, 4, 1, 1))], [conv_w], tmp_path / "erf.onnx")
    diag = _only_error(import_onnx(path))
    # the second node of the file's graph.node (index 1), as onnx.helper.printable_graph and Netron list it
    assert diag.span.path == path and diag.span.anchor == "node 1 `the_erf` (Erf)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-m", "convdsl", "check", path]
    text = subprocess.run(run, capture_output=True, text=True, env=env, timeout=300)
    assert f"--> {path}: node 1 `the_erf` (Erf)" in text.stdout + text.stderr
    concise = subprocess.run([*run, "--format", "concise"], capture_output=True, text=True, env=env, timeout=300)
    assert f"{path}: node 1 `the_erf` (Erf): error[E432]" in concise.stdout + concise.stderr
    found = subprocess.run([*run, "--format", "json"], capture_output=True, text=True, env=env, timeout=300)
    assert '"anchor": "node 1 `the_erf` (Erf)"' in found.stdout


@pytest.mark.parametrize(
    "nodes, anchor",
    [
        # a cycle: reported at a node on it
        (
            [
                helper.make_node("Add", ["x", "b"], ["a"], name="first"),
                helper.make_node("Relu", ["a"], ["b"], name="second"),
            ],
            ("node 0 `first` (Add)", "node 1 `second` (Relu)"),
        ),
        # an unnamed node reading what nothing produces: its index and operator
        ([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["r", "nowhere"], ["b"])], ("node 1 (Add)",)),
    ],
    ids=["cycle", "unnamed"],
)
def test_a_malformed_graph_names_the_node(tmp_path, nodes, anchor):
    path = _model(nodes, [_x()], [_x("b")], path=tmp_path / "bad.onnx")
    diag = _only_error(import_onnx(path))
    assert diag.code.code == "E433" and diag.span.anchor in anchor


def test_a_finding_of_the_analysis_points_at_the_node_behind_it(tmp_path):
    """`check model.onnx`: W101 (a convolution's bias cancelled by the batch norm after it) is about the Conv
    node; the translation's line is a note."""
    c = 4
    tensors = [
        helper.make_tensor("w", TensorProto.FLOAT, [c, 3, 3, 3], [0.1] * (c * 27)),
        helper.make_tensor("b", TensorProto.FLOAT, [c], [0.0] * c),
        *(helper.make_tensor(n, TensorProto.FLOAT, [c], [1.0] * c) for n in ("scale", "shift", "mean", "var")),
    ]
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="pre"),
        helper.make_node("Conv", ["r", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="stem_conv"),
        helper.make_node("BatchNormalization", ["c", "scale", "shift", "mean", "var"], ["y"], name="stem_bn"),
    ]
    path = _model(nodes, [_x()], [_x("y", (1, c, 8, 8))], tensors, tmp_path / "bias.onnx")
    from convdsl.importers import load

    analysis = load(path).analyze()
    (w101,) = [d for d in analysis.diagnostics if d.code.code == "W101"]
    assert w101.span.path == path and w101.span.anchor == "node 1 `stem_conv` (Conv)"
    assert any(note.startswith("in the translation:") for note in w101.notes)
