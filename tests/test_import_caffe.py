"""Caffe prototxt import: the published totals of the deploy files in shared/realworld (their numbers are in
shared/reference/README.md, "Real-world description files"), per-layer shapes, and the round trip through
`convdsl import`.

GoogLeNet 6,998,552 parameters and 1,582,671,872 MACs per image with Caffe's ceil pooling; AlexNet (group=2
convolutions) 60,965,224 and 724,406,816; ResNet-50 25,557,096 (torchvision's 25,557,032 + 64: conv1 keeps
its bias; BatchNorm+Scale hold gamma and beta) and 3,857,973,248 (v1: the stride on the first 1x1).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import require

import convdsl
from convdsl.importers import load, translate

REALWORLD = Path(__file__).parent / "fixtures" / "realworld"  # unmodified copies, each with a header naming its source

CASES = [
    # file, batch written in the file, params, MACs per image
    ("caffe-bvlc_googlenet-deploy.prototxt", 10, 6_998_552, 1_582_671_872),
    ("caffe-bvlc_alexnet-deploy.prototxt", 10, 60_965_224, 724_406_816),
    ("caffe-ResNet-50-deploy.prototxt", 1, 25_557_096, 3_857_973_248),
]


@pytest.mark.parametrize(("name", "batch", "params", "macs"), CASES, ids=[c[0] for c in CASES])
def test_published_totals(name, batch, params, macs):
    analysis = load(REALWORLD / name).analyze()
    assert not [d for d in analysis.diagnostics if d.is_error]
    assert analysis.params == params
    assert analysis.macs == macs  # per image; the file's batch (10 crops) is kept on the input
    assert analysis.network.inputs["data"].batch == (batch if batch != 1 else None)


def test_googlenet_shapes_follow_caffe_ceil_pooling():
    analysis = load(REALWORLD / "caffe-bvlc_googlenet-deploy.prototxt").analyze()
    shape = {name: info.output_shape for name, info in analysis.layers.items()}
    # reference README: conv1 112x112x64 -> 56 -> conv2 56x56x192 -> 28 (3a 256, 3b 480) -> 14 (4a 512 ... 4e 832)
    # -> 7 (5a 832, 5b 1024) -> 1x1x1024 -> fc 1000; with floor pooling it would be 55/27/13/6
    assert shape["conv1_7x7_s2"] == (64, 112, 112)
    assert shape["pool1_3x3_s2"] == (64, 56, 56)
    assert shape["conv2_3x3"] == (192, 56, 56)
    assert shape["pool2_3x3_s2"] == (192, 28, 28)
    assert shape["inception_3a.output_"] == (256, 28, 28)
    assert shape["inception_3b.output_"] == (480, 28, 28)
    assert shape["inception_4a.output_"] == (512, 14, 14)
    assert shape["inception_4e.output_"] == (832, 14, 14)
    assert shape["inception_5a.output_"] == (832, 7, 7)
    assert shape["inception_5b.output_"] == (1024, 7, 7)
    assert shape["pool5_7x7_s1"] == (1024, 1, 1)
    assert analysis.output_shapes()["prob"] == (1000,)


def test_googlenet_inception_modules_are_one_block():
    """The nine `inception_*/...` runs have one structure: one block, called with each module's channels
    (torchvision's googlenet.py Inception(192, 64, 96, 128, 16, 32, 32) for 3a)."""
    text = translate(REALWORLD / "caffe-bvlc_googlenet-deploy.prototxt").text
    assert text.count("block inception(") == 1
    assert "-> inception_3a: inception(64, 96, 128, 16, 32, 32)" in text
    assert "-> inception_5b: inception(384, 192, 384, 48, 128, 128)" in text
    assert len([line for line in text.splitlines() if line.strip() and not line.startswith("#")]) < 60


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_round_trip(name, tmp_path):
    """The written .cdsl checks clean of errors and gives the same numbers and shapes as the prototxt."""
    translation = translate(REALWORLD / name)
    target = tmp_path / (Path(name).stem + ".cdsl")
    target.write_text(translation.text)
    again = convdsl.load(target).analyze()
    direct = load(REALWORLD / name).analyze()
    assert not [d for d in again.diagnostics if d.is_error]
    assert (again.params, again.macs) == (direct.params, direct.macs)
    assert {n: i.output_shapes for n, i in again.layers.items()} == {
        n: i.output_shapes for n, i in direct.layers.items()
    }


def _write(tmp_path, text, name="net.prototxt"):
    path = tmp_path / name
    path.write_text(text)
    return path


HEAD = 'name: "t"\ninput: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: 32\ninput_dim: 32\n'


def test_pooling_rounds_up_and_clips_as_caffe(tmp_path):
    # reference README test vectors: (32, 1, 2, 0) Caffe 17 (PyTorch 16); (13, 2, 2, 0) Caffe 7
    text = HEAD + (
        'layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { pool: MAX kernel_size: 1 stride: 2 } }\n'
        'layer { name: "q" type: "Pooling" bottom: "data" top: "q" pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }\n'
    )
    analysis = load(_write(tmp_path, text)).analyze()
    assert analysis.layers["p"].output_shape == (3, 17, 17)
    # ceil((32 + 2 - 3)/2) + 1 = 17, then (17-1)*2 = 32 >= 32 + 1? no: stays 17 (PyTorch's rule gives 16 + 1 = 17 too)
    assert analysis.layers["q"].output_shape == (3, 17, 17)


def test_batchnorm_scale_inplace_and_eltwise(tmp_path):
    text = HEAD + (
        'layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 8 kernel_size: 3 pad: 1 bias_term: false } }\n'
        'layer { name: "bn" type: "BatchNorm" bottom: "c" top: "c" }\n'
        'layer { name: "sc" type: "Scale" bottom: "c" top: "c" scale_param { bias_term: true } }\n'
        'layer { name: "r" type: "ReLU" bottom: "c" top: "c" }\n'
        'layer { name: "c2" type: "Convolution" bottom: "c" top: "c2" convolution_param { num_output: 8 kernel_size: 1 } }\n'
        'layer { name: "sum" type: "Eltwise" bottom: "c" bottom: "c2" top: "sum" }\n'
        'layer { name: "bn2" type: "BatchNorm" bottom: "sum" top: "sum" }\n'
        'layer { name: "fc" type: "InnerProduct" bottom: "sum" top: "fc" inner_product_param { num_output: 10 } }\n'
    )
    analysis = load(_write(tmp_path, text)).analyze()
    assert not analysis.diagnostics
    # conv 8*3*9 = 216; bn+scale 16; conv2 8*8 + 8 = 72; lone BatchNorm: no affine, 0; fc 8*32*32*10 + 10
    assert analysis.params == 216 + 16 + 72 + 0 + 8 * 32 * 32 * 10 + 10
    assert analysis.layers["bn2"].buffers == 2 * 8 + 1  # running mean, var, batches tracked


def test_mistakes_point_into_the_prototxt(tmp_path):
    text = HEAD + (
        'layer {\n  name: "c"\n  type: "Convolution"\n  bottom: "data"\n  top: "c"\n'
        "  convolution_param { num_output: 8 kernel_size: 3 }\n}\n"  # lines 7-13
        'layer {\n  name: "cat"\n  type: "Concat"\n  bottom: "c"\n  bottom: "data"\n  top: "cat"\n}\n'  # 14-20
        'layer {\n  name: "p"\n  type: "Pooling"\n  bottom: "missing"\n  top: "p"\n  pooling_param { kernel_size: 2 }\n}\n'
        'layer { name: "w" type: "Weird" bottom: "cat" top: "w" }\n'  # line 28
    )
    path = _write(tmp_path, text)
    found = {(d.code.code, d.span.path, d.span.line) for d in load(path).analyze().diagnostics}
    assert found == {("E107", str(path), 15), ("E403", str(path), 22), ("E402", str(path), 28)}


def test_syntax_error_has_line_and_column(tmp_path):
    path = _write(tmp_path, HEAD + 'layer {\n  name: "c"\n  type: "Convolution"\n')
    (diag,) = load(path).analyze().diagnostics
    assert (diag.code.code, diag.span.line) == ("E401", 7)
    path = _write(tmp_path, HEAD + "layer {\n  name: @\n}\n")
    (diag,) = load(path).analyze().diagnostics
    assert (diag.code.code, diag.span.line, diag.span.column) == ("E401", 8, 9)


def test_hostile_prototxt_is_bounded(tmp_path):
    deep = "a { " * 10_000 + "}" * 10_000
    (diag,) = load(_write(tmp_path, HEAD + deep)).analyze().diagnostics
    assert diag.code.code == "E401" and "nested" in diag.message
    many = HEAD + "x: 1\n" * 250_000
    (diag,) = load(_write(tmp_path, many, "many.prototxt")).analyze().diagnostics
    assert diag.code.code == "E401" and "fields" in diag.message
    long_string = HEAD + 'name: "' + "a" * 5_000_000 + '"\n'
    network = load(_write(tmp_path, long_string, "long.prototxt"))
    assert len(network.name) <= 64


def test_hostile_names_stay_text(tmp_path):
    """A layer name with a line break, quotes and markup cannot add a statement to the translation."""
    text = HEAD + (
        'layer { name: "c\\n# x\\ninput evil: 3 x 9 x 9\\n<b>" type: "Convolution" bottom: "data" top: "y\\"; z" '
        "convolution_param { num_output: 4 kernel_size: 1 } }\n"
    )
    path = _write(tmp_path, text)
    translation = translate(path)
    assert "evil" not in translation.text.replace("c_x_input_evil", "")
    network = load(path)
    assert list(network.inputs) == ["data"]
    analysis = network.analyze()
    assert not analysis.diagnostics
    from convdsl.render import to_dot

    assert "<b>" not in to_dot(analysis)


def _cli(*args):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "convdsl", *map(str, args)], capture_output=True, text=True)


def test_every_command_reads_a_prototxt(tmp_path):
    path = REALWORLD / "caffe-ResNet-50-deploy.prototxt"
    assert _cli("check", path).returncode == 0  # W101 on conv1's bias: a warning
    result = _cli("summary", path, "--format", "json")
    assert result.returncode == 0
    import json

    data = json.loads(result.stdout)
    assert (data["params"], data["macs"]) == (25_557_096, 3_857_973_248)
    sizes = _cli("sizes", path, "--max", "300")
    assert sizes.returncode == 0 and "224 passes" in sizes.stdout
    svg = tmp_path / "r.svg"
    assert _cli("render", path, "--collapse", "-o", svg).returncode == 0 and svg.read_text().startswith("<?xml")
    exported = _cli("export", path)
    assert exported.returncode == 0 and "class ResNet50(nn.Module)" in exported.stdout
    out = tmp_path / "r.cdsl"
    assert _cli("import", path, "-o", out).returncode == 0
    assert out.read_text() == _cli("import", path).stdout
    assert _cli("import", path, "-o", path).returncode == 2  # never over the input
    assert path.read_text().startswith("# Source:")


def test_verify_runs_the_imported_network(tmp_path):
    require("torch")
    from convdsl.export.verify import verify

    result = verify(load(REALWORLD / "caffe-bvlc_alexnet-deploy.prototxt").analyze(), batch=1, device="meta")
    assert result.ok, result.report()
    small = _write(
        tmp_path,
        HEAD
        + 'layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 4 kernel_size: 3 } }\n'
        + 'layer { name: "p" type: "Pooling" bottom: "c" top: "p" pooling_param { pool: MAX kernel_size: 3 stride: 2 } }\n',
    )
    cli = _cli("verify", small)
    assert cli.returncode == 0 and "agrees" in cli.stdout, cli.stdout + cli.stderr


def test_import_of_a_broken_file_writes_nothing(tmp_path):
    path = _write(tmp_path, HEAD + 'layer { name: "r" type: "ReLU" bottom: "nothing" top: "r" }\n')
    out = tmp_path / "out.cdsl"
    result = _cli("import", path, "-o", out)
    assert result.returncode == 1 and not out.exists()
    assert f"{path}:7:9" in result.stderr and "E403" in result.stderr


def test_resnet50_bottlenecks_are_blocks():
    """ResNet's layers are named by module (`res3b_branch2a`, `bn3b_branch2a`, `res3b_relu`): the identity
    bottlenecks are one block, the strided projection ones (3a, 4a, 5a) another; 2a, alone of its kind, stays."""
    text = translate(REALWORLD / "caffe-ResNet-50-deploy.prototxt").text
    assert text.count("\nblock ") == 2
    assert "-> res2b: res(64, 64, 256)" in text and "-> res4a: res_2(1024, 256, 256, 1024)" in text
    assert "res2a_branch2a: conv(64, 1, bias=false)" in text


def test_a_layer_named_like_a_keyword_is_renamed_so_the_translation_parses(tmp_path):
    # a Caffe layer "param" read twice needs an assignment statement, and `param = ...` at a statement's
    # start is the param declaration's keyword (the writer's own keyword list once lacked it: E002)
    path = _write(
        tmp_path,
        HEAD
        + 'layer { name: "param" type: "ReLU" bottom: "data" top: "param" }\n'
        + 'layer { name: "a" type: "ReLU" bottom: "param" top: "a" }\n'
        + 'layer { name: "b" type: "Sigmoid" bottom: "param" top: "b" }\n'
        + 'layer { name: "c" type: "Eltwise" bottom: "a" bottom: "b" top: "c" }\n',
    )
    analysis = load(path).analyze()
    assert not analysis.has_errors, [d.message for d in analysis.diagnostics]
    assert "\nparam =" not in translate(path).text
