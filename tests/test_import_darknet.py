"""Darknet .cfg import: the totals of shared/reference/README.md ("Real-world description files") for the
unmodified files in tests/fixtures/realworld, darknet's own size rules, and the round trip.

Params as darknet stores them (conv weights + batch-norm scales and biases, or conv biases); darknet prints
BFLOPs = 2 x MACs: yolov3 140.692 at 608, yolov3-tiny 5.565, yolov4-tiny 6.908, alexnet 2.271.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import convdsl
from conftest import require
from convdsl.importers import load, translate

REALWORLD = Path(__file__).parent / "fixtures" / "realworld"

CASES = [
    ("darknet-pjreddie-yolov3.cfg", 61_949_149, "140.692"),
    ("darknet-pjreddie-yolov3-tiny.cfg", 8_852_366, "5.565"),
    ("darknet-alexeyab-yolov4-tiny.cfg", 6_056_606, "6.908"),
    ("darknet-pjreddie-alexnet.cfg", 62_378_344, "2.271"),
]


@pytest.mark.parametrize(("name", "params", "bflops"), CASES, ids=[c[0] for c in CASES])
def test_published_totals(name, params, bflops):
    analysis = load(REALWORLD / name).analyze()
    assert not analysis.diagnostics, [d.message for d in analysis.diagnostics]
    assert analysis.params == params
    assert f"{2 * analysis.macs / 1e9:.3f}" == bflops


def test_yolov3_tiny_shapes_per_layer():
    # reference README, per layer (W x H x C) at 416
    analysis = load(REALWORLD / "darknet-pjreddie-yolov3-tiny.cfg").analyze()
    shape = {name: info.output_shape for name, info in analysis.layers.items()}
    expected = {
        "conv0.act": (16, 416, 416),
        "maxpool1": (16, 208, 208),
        "conv2.act": (32, 208, 208),
        "maxpool3": (32, 104, 104),
        "conv4.act": (64, 104, 104),
        "maxpool5": (64, 52, 52),
        "conv6.act": (128, 52, 52),
        "maxpool7": (128, 26, 26),
        "conv8.act": (256, 26, 26),
        "maxpool9": (256, 13, 13),
        "conv10.act": (512, 13, 13),
        "maxpool11": (512, 13, 13),  # size 2, stride 1: darknet's padding keeps 13
        "conv12.act": (1024, 13, 13),
        "conv13.act": (256, 13, 13),
        "conv14.act": (512, 13, 13),
        "conv15": (255, 13, 13),
        "conv18.act": (128, 13, 13),
        "upsample19": (128, 26, 26),
        "route20": (384, 26, 26),
        "conv21.act": (256, 26, 26),
        "conv22": (255, 26, 26),
    }
    assert {k: shape[k] for k in expected} == expected
    assert analysis.output_shapes() == {"yolo16": (255, 13, 13), "yolo23": (255, 26, 26)}


def test_yolov3_at_416():
    text = (REALWORLD / "darknet-pjreddie-yolov3.cfg").read_text().replace("width=608", "width=416")
    text = text.replace("height=608", "height=416")
    analysis = convdsl.loads(translate_text(text), "y.cdsl").analyze()
    assert f"{2 * analysis.macs / 1e9:.3f}" == "65.864"


def translate_text(text: str, name: str = "net.cfg") -> str:
    from convdsl.importers import translate_source
    from convdsl.source import Source

    return translate_source(Source(name, text)).text


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_round_trip(name, tmp_path):
    target = tmp_path / "net.cdsl"
    target.write_text(translate(REALWORLD / name).text)
    again = convdsl.load(target).analyze()
    direct = load(REALWORLD / name).analyze()
    assert not again.diagnostics
    assert (again.params, again.macs) == (direct.params, direct.macs)
    assert {n: i.output_shapes for n, i in again.layers.items()} == {
        n: i.output_shapes for n, i in direct.layers.items()
    }


# darknet's maxpool: out = (w + padding - size)/stride + 1, padding = size - 1 by default (maxpool_layer.c)
@pytest.mark.parametrize(
    ("size", "stride", "padding", "width", "out"),
    [
        (2, 2, None, 416, 208),
        (2, 2, None, 13, 7),
        (2, 1, None, 13, 13),
        (3, 2, None, 13, 7),
        (3, 2, 0, 55, 27),
        (3, 1, None, 9, 9),
    ],
)
def test_maxpool_follows_darknets_rule(size, stride, padding, width, out):
    pad = f"padding={padding}\n" if padding is not None else ""
    text = f"[net]\nwidth={width}\nheight={width}\nchannels=3\n[maxpool]\nsize={size}\nstride={stride}\n{pad}"
    analysis = convdsl.loads(translate_text(text), "m.cdsl").analyze()
    assert analysis.output_shapes()["maxpool0"] == (3, out, out)
    assert (width + (size - 1 if padding is None else padding) - size) // stride + 1 == out


def test_maxpool_size_defaults_to_its_stride():
    # darknet's parse_maxpool: `int size = option_find_int(options, "size", stride);` padding size - 1
    text = "[net]\nwidth=13\nheight=13\nchannels=3\n[maxpool]\nstride=2\n"
    analysis = convdsl.loads(translate_text(text), "m.cdsl").analyze()
    assert analysis.output_shapes()["maxpool0"] == (3, 7, 7)  # (13 + 1 - 2)/2 + 1
    assert "maxpool(2, s=2)" in translate_text(text)


def test_route_groups_take_a_slice():
    text = (
        "[net]\nwidth=8\nheight=8\nchannels=3\n"
        "[convolutional]\nfilters=12\nsize=1\nactivation=leaky\n"
        "[route]\nlayers=-1\ngroups=3\ngroup_id=2\n"
        "[shortcut]\nfrom=-2\nactivation=linear\n"
    )
    analysis = convdsl.loads(translate_text(text), "r.cdsl").analyze()
    assert analysis.layers["route1.1"].output_shape == (4, 8, 8)
    (diag,) = [d for d in analysis.diagnostics if d.is_error]
    assert diag.code.code == "E107"  # 12 channels added to 4


def _cfg(tmp_path, text, name="net.cfg"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_mistakes_point_into_the_cfg(tmp_path):
    text = (
        "[net]\nwidth=32\nheight=32\nchannels=3\n"  # 1-4
        "[convolutional]\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n"  # 5-10: layer 0
        "[route]\nlayers=-1, 5\n"  # 11-12: layer 1, 5 is not before it
        "[shortcut]\nfrom=-9\n"  # 13-14: layer 2
        "[bogus]\n"  # 15
        "[convolutional]\nfilters=ten\n"  # 16-17
    )
    found = {(d.code.code, d.span.line) for d in load(_cfg(tmp_path, text)).analyze().diagnostics}
    assert found == {("E403", 12), ("E403", 14), ("E402", 15), ("E404", 17)}


def test_shape_mistakes_from_the_analysis_point_at_the_section(tmp_path):
    text = (
        "[net]\nwidth=30\nheight=30\nchannels=3\n"
        "[convolutional]\nfilters=8\nsize=3\nstride=2\npad=1\nactivation=leaky\n"  # 5: 15x15
        "[upsample]\nstride=2\n"  # 11: 30
        "[route]\nlayers=-1, -2\n"  # 13: 30 and 15
    )
    path = _cfg(tmp_path, text)
    (diag,) = load(path).analyze().diagnostics
    assert (diag.code.code, diag.span.path, diag.span.line, diag.span.column) == ("E107", str(path), 13, 1)


def test_hostile_cfg_is_bounded(tmp_path):
    many = "[net]\nwidth=8\nheight=8\n" + "[dropout]\n" * 30_000
    (diag,) = load(_cfg(tmp_path, many)).analyze().diagnostics
    assert diag.code.code == "E019"
    huge = "[net]\nwidth=8\nheight=8\n[convolutional]\nfilters=1000000000000\nsize=3\n"
    (diag,) = load(_cfg(tmp_path, huge, "huge.cfg")).analyze().diagnostics
    assert diag.code.code == "E404"
    wide = "[net]\nwidth=8\nheight=8\n" + "[convolutional]\nfilters=1000000000\nsize=1\n" * 3
    diags = load(_cfg(tmp_path, wide, "wide.cfg")).analyze().diagnostics
    assert diags and all(d.code.code.startswith("E") for d in diags)


def test_every_command_reads_a_cfg(tmp_path):
    path = REALWORLD / "darknet-pjreddie-yolov3-tiny.cfg"

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "convdsl", *map(str, args)], capture_output=True, text=True)

    assert cli("check", path).returncode == 0
    data = json.loads(cli("summary", path, "--format", "json").stdout)
    assert data["params"] == 8_852_366
    sizes = cli("sizes", path, "--max", "640")
    # darknet's maxpools round up, so 13 -> 7 and the upsampled 14 meets 13 at route 20 only when
    # ceil(H/16) is even: H in 32k+17 .. 32k+32
    assert sizes.returncode == 0 and "416 passes" in sizes.stdout, sizes.stdout
    assert "valid: 17-32, 49-64, 81-96" in sizes.stdout and f"({path})" in sizes.stdout
    assert cli("render", path, "-o", tmp_path / "y.svg").returncode == 0
    assert "nn.MaxPool2d(2, stride=1)" in cli("export", path).stdout
    out = tmp_path / "y.cdsl"
    assert cli("import", path, "-o", out).returncode == 0 and "set rounding = darknet" in out.read_text()


def test_verify_agrees_with_pytorch():
    require("torch")
    from convdsl.export.verify import verify

    analysis = load(REALWORLD / "darknet-alexeyab-yolov4-tiny.cfg").analyze()
    result = verify(analysis, device="meta")
    assert result.ok, result.report()


def test_a_mistake_inside_a_block_points_at_the_section_that_calls_it(tmp_path):
    # (228 - 11)/4 + 1 = 55.25: darknet (floor) drops a row; the conv is inside the conv_relu block
    text = "[net]\nwidth=228\nheight=228\nchannels=3\n[convolutional]\nfilters=96\nsize=11\nstride=4\nactivation=relu\n"
    (diag,) = load(_cfg(tmp_path, text)).analyze().diagnostics
    assert (diag.code.code, diag.span.line) == ("E101", 5)
    assert "what darknet does" in diag.help


def test_rounding_darknet_is_a_language_setting():
    text = (
        "set rounding = darknet\ninput x: 3 x 13 x 13\ny = x -> maxpool(2) -> maxpool(2, s=1) -> maxpool(3, s=2, p=0)\n"
    )
    analysis = convdsl.loads(text).analyze()
    # 13 -> (13 + 1 - 2)/2 + 1 = 7 -> (7 + 1 - 2)/1 + 1 = 7 -> an explicit padding is PyTorch's: (7 - 3)/2 + 1 = 3
    assert [info.output_shape for info in analysis.layers.values()] == [(3, 7, 7), (3, 7, 7), (3, 3, 3)]
    assert not analysis.diagnostics


def test_net_without_a_size_is_a_diagnostic(tmp_path):
    (diag,) = load(_cfg(tmp_path, "[net]\nchannels=3\nheight=32\n[maxpool]\nsize=2\nstride=2\n")).analyze().diagnostics
    assert (diag.code.code, diag.span.line) == ("E404", 1) and "width" in diag.message
