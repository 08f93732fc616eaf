"""ultralytics model YAMLs: every scale of yolov8.yaml, yolov8-p6.yaml and yolo11.yaml gives the parameter
count ultralytics writes in the file's own comments (`YOLOv8n summary: ... 3157200 parameters`), computed
by ultralytics' parse_model on its own modules. The files are unmodified copies from the ultralytics 8.4.190
wheel (tests/fixtures/ultralytics/SOURCE.md).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

import convdsl
from conftest import require
from convdsl.importers import load, load_translation, translate_source
from convdsl.source import Source

FILES = Path(__file__).parent / "fixtures" / "ultralytics"


def _analyze(path: Path, scale: str | None = None, text: str | None = None, name: str | None = None):
    source = Source(name or str(path), text if text is not None else path.read_text())
    return load_translation(translate_source(source, options={"scale": scale})).analyze()


def _published(name: str) -> dict[str, int]:
    """The counts in the file's own comments, one per scale."""
    text = (FILES / name).read_text()
    found = dict(re.findall(r"^\s+([nslmx]): \[[^\]]*\]\s*#.*?(\d+) parameters", text, re.M))
    return {scale: int(count) for scale, count in found.items()}


def test_the_published_counts_are_read():
    assert _published("yolov8.yaml")["n"] == 3_157_200
    assert _published("yolov8.yaml")["s"] == 11_166_560
    assert _published("yolo11.yaml")["n"] == 2_624_080
    assert len(_published("yolov8-p6.yaml")) == 5


CASES = [(name, scale) for name in ("yolov8.yaml", "yolo11.yaml", "yolov8-p6.yaml") for scale in "nslmx"]


@pytest.mark.parametrize(("name", "scale"), CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_every_scale_gives_ultralytics_count(name, scale):
    analysis = _analyze(FILES / name, scale)
    assert not analysis.diagnostics, [d.message for d in analysis.diagnostics]
    assert analysis.params == _published(name)[scale]


def test_detect_output_is_ultralytics_shape():
    # ultralytics' exported YOLOv8n gives (1, 84, 8400) at 640: 4 box sides + 80 classes, 80² + 40² + 20² anchors
    analysis = _analyze(FILES / "yolov8.yaml", "n")
    assert analysis.output_shapes() == {"m22": (84, 80 * 80 + 40 * 40 + 20 * 20)}


def test_scale_from_the_file_name(tmp_path):
    # ultralytics' guess_model_scale: yolov8s.yaml is yolov8.yaml at scale s; yolo11x.yaml is yolo11.yaml at x
    (tmp_path / "yolov8s.yaml").write_text((FILES / "yolov8.yaml").read_text())
    assert load(tmp_path / "yolov8s.yaml").analyze().params == 11_166_560
    (tmp_path / "yolo11x.yaml").write_text((FILES / "yolo11.yaml").read_text())
    network = load(tmp_path / "yolo11x.yaml")
    assert network.name == "yolo11x" and network.analyze().params == 56_966_176
    # no letter: the first scale, as ultralytics does (with a warning)
    assert load(FILES / "yolov8.yaml").analyze().params == 3_157_200


def test_yolov5_files_work():
    """yolov5.yaml (YOLOv5u: Conv 6x6 stem, C3, SPPF, the v8 Detect) carries no counts: it must translate and
    check clean at every scale, with the Detect output of the v8 head."""
    for scale in "nslmx":
        analysis = _analyze(FILES / "yolov5.yaml", scale)
        assert not analysis.diagnostics, scale
        assert analysis.output_shapes() == {"m24": (84, 8400)}
    for name in ("yolov5-p6.yaml", "yolov8-p2.yaml"):
        assert not _analyze(FILES / name, "n").diagnostics


def test_c3_by_hand():
    # C3(c2=16, n=1, shortcut=True, e=0.5): c_ = 8; cv1, cv2: 1x1 c1 -> 8; m: Bottleneck(8, 8, k=(1, 3), e=1.0);
    # cv3: 1x1 16 -> 16. Each Conv: weight + batch norm gamma and beta.
    text = "nc: 1\nbackbone:\n  - [-1, 1, Conv, [16, 6, 2, 2]]\nhead:\n  - [-1, 1, C3, [16]]\n"
    analysis = _analyze(Path("t.yaml"), text=text)
    assert not analysis.diagnostics
    stem = 16 * 3 * 36 + 32
    c3 = 2 * (16 * 8 + 16) + (8 * 8 + 16) + (8 * 8 * 9 + 16) + (16 * 16 + 32)
    assert analysis.params == stem + c3
    assert analysis.output_shapes() == {"m1": (16, 320, 320)}  # (640 + 4 - 6)/2 + 1


def test_compound_scaling_by_hand():
    # repeats max(round(3 * 0.33), 1) = 1; channels make_divisible(min(64, 48) * 0.5, 8) = 24
    text = (
        "nc: 2\nscales:\n  a: [0.33, 0.5, 48]\n"
        "backbone:\n  - [-1, 1, Conv, [64, 3, 2]]\n  - [-1, 3, C2f, [64, True]]\n"
        "head:\n  - [-1, 1, Conv, [5, 1]]\n"
    )
    analysis = _analyze(Path("t.yaml"), text=text)
    assert not analysis.diagnostics
    conv0 = 24 * 3 * 9 + 2 * 24  # Conv: weight, bn gamma and beta (no bias)
    c = 12  # C2f hidden: int(24 * 0.5)
    cv1 = 24 * 2 * c + 2 * 2 * c
    bottleneck = 2 * (c * c * 9 + 2 * c)  # two 3x3 Convs, hidden c (e=1.0)
    cv2 = 3 * c * 24 + 2 * 24  # (2 + n) * c channels in
    head = 24 * 8 + 2 * 8  # make_divisible(min(5, 48) * 0.5, 8) = 8
    assert analysis.params == conv0 + cv1 + bottleneck + cv2 + head
    assert [info.output_shape for name, info in analysis.layers.items() if name == "m2.conv"] == [(8, 320, 320)]


def test_sizes_on_yolov8():
    """Each stride-2 Conv (k 3, p 1) makes ceil(H/2); an upsampled level must meet the one it is concatenated
    with, so ceil(H/8) must be a multiple of 4 (of 8 with the P6 level): 32k+25 to 32k+32. Every multiple of
    32 passes (ultralytics' check_imgsz asks for those: its letterbox and anchor grid assume them)."""
    from convdsl.sizes import analyze_sizes

    for name, levels in (("yolov8.yaml", 4), ("yolov8-p6.yaml", 8)):
        network = load(FILES / name)
        result = analyze_sizes(network, limit=700)
        for axis in result.axes:
            assert list(axis.valid) == [h for h in range(1, 701) if math.ceil(h / 8) % levels == 0], name
            assert all(h in axis.valid for h in range(8 * levels, 701, 8 * levels))
            assert 640 in axis.valid


def _yaml(tmp_path, text, name="m.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


HEAD = "nc: 80\nscales:\n  n: [0.33, 0.25, 1024]\n"


def test_mistakes_point_at_the_row(tmp_path):
    text = HEAD + (
        "backbone:\n"  # 4
        "  - [-1, 1, Conv, [64, 3, 2]]\n"  # 5: row 0
        "  - [-1, 1, Conv, [128, 3, 2]]\n"  # 6: row 1
        "  - [[-1, 7], 1, Concat, [1]]\n"  # 7: row 2, 7 is not before it
        "head:\n"  # 8
        "  - [-1, 1, Conv9000, [64]]\n"  # 9: row 3
        "  - [-1, two, Conv, [64]]\n"  # 10: row 4
    )
    found = {(d.code.code, d.span.line) for d in load(_yaml(tmp_path, text)).analyze().diagnostics}
    assert found == {("E403", 7), ("E402", 9), ("E404", 10)}


def test_concat_mismatch_from_the_analysis_points_at_the_row(tmp_path):
    text = HEAD + (
        "backbone:\n"
        "  - [-1, 1, Conv, [64, 3, 2]]\n"  # 5: 320
        "  - [-1, 1, Conv, [128, 3, 2]]\n"  # 6: 160
        "head:\n"
        "  - [[-1, 0], 1, Concat, [1]]\n"  # 8: 160 with 320
    )
    path = _yaml(tmp_path, text)
    (diag,) = load(path).analyze().diagnostics
    assert (diag.code.code, diag.span.path, diag.span.line, diag.span.column) == ("E107", str(path), 8, 5)


def test_a_mistake_inside_a_module_points_at_its_row(tmp_path):
    # C2PSA asserts c1 == c2; a Bottleneck in a C2f at 1 x 1 is fine, but a SPPF of kernel 9 at 3 x 3 is not
    text = "nc: 1\nbackbone:\n  - [-1, 1, Conv, [8, 3, 2]]\nhead:\n  - [-1, 1, SPPF, [8, 1000]]\n"
    (diag,) = load(_yaml(tmp_path, text)).analyze().diagnostics
    assert diag.span.line == 5 and diag.code.code.startswith("E1")


def test_hostile_yaml_is_bounded(tmp_path):
    base = HEAD + "backbone:\n  - [-1, 1, Conv, [64, 3, 2]]\nhead:\n"
    cases = {
        "repeats": (base + "  - [-1, 1000000000, C2f, [64]]\n", "E019"),
        "width": (
            "nc: 80\nscales:\n  n: [0.33, 1000000, 1000000000]\n" + base[len(HEAD) :] + "  - [-1, 1, Conv, [1024]]\n",
            "E019",
        ),
        "deep": ("a: " + "[" * 5000 + "]" * 5000 + "\n", "E401"),
        "big": ("# " + "x" * (2 << 20) + "\n" + base, "E019"),
        "laughs": (
            "a: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(9))
            + base,
            "E019",
        ),
        "object": ("!!python/object/apply:os.system [echo hi]\n", "E404"),
        "nan": (HEAD.replace("0.33", ".nan") + base, "E404"),
    }
    for name, (text, code) in cases.items():
        diags = load(_yaml(tmp_path, text, f"{name}.yaml")).analyze().diagnostics
        assert [d.code.code for d in diags] == [code], (name, [d.message for d in diags])


def test_every_command_reads_a_yaml(tmp_path):
    path = tmp_path / "yolov8n.yaml"
    path.write_text((FILES / "yolov8.yaml").read_text())

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "convdsl", *map(str, args)], capture_output=True, text=True)

    assert cli("check", path).returncode == 0
    data = json.loads(cli("summary", path, "--format", "json", "--scale", "s").stdout)
    assert data["params"] == 11_166_560 and data["network"] == "yolov8s"
    assert cli("render", path, "--collapse", "-o", tmp_path / "y.svg").returncode == 0
    assert "class Yolov8n(nn.Module)" in cli("export", path).stdout
    out = tmp_path / "y.cdsl"
    assert cli("import", path, "-o", out).returncode == 0
    again = convdsl.load(out).analyze()
    assert not again.diagnostics and again.params == 3_157_200
    assert cli("summary", path, "--scale", "q").returncode == 1  # no such scale: E404 at the scales


@pytest.mark.parametrize("name", ["yolov8.yaml", "yolo11.yaml"])
def test_round_trip(name, tmp_path):
    translation = translate_source(Source(str(FILES / name), (FILES / name).read_text()), options={"scale": "s"})
    target = tmp_path / "net.cdsl"
    target.write_text(translation.text)
    again = convdsl.load(target).analyze()
    direct = load_translation(translation).analyze()
    assert not again.diagnostics
    assert (again.params, again.macs) == (direct.params, direct.macs)
    assert {n: i.output_shapes for n, i in again.layers.items()} == {
        n: i.output_shapes for n, i in direct.layers.items()
    }


def test_verify_yolo11_against_pytorch():
    require("torch")
    from convdsl.export.verify import verify

    result = verify(_analyze(FILES / "yolo11.yaml", "n"), device="meta")
    assert result.ok, result.report()


def test_hostile_text_reaches_the_terminal_escaped(tmp_path):
    """A module name with terminal escapes and markup is untrusted: it appears only in a diagnostic, escaped."""
    text = 'nc: 1\nbackbone:\n  - [-1, 1, "Conv\\e[2J<script>", [8]]\nhead:\n  - [-1, 1, Conv, [8]]\n'
    path = _yaml(tmp_path, text)
    result = subprocess.run([sys.executable, "-m", "convdsl", "check", str(path)], capture_output=True, text=True)
    assert result.returncode == 1 and "E402" in result.stdout
    assert "\x1b" not in result.stdout and "Conv?[2J<script>" in result.stdout


@pytest.mark.parametrize("scale", "nslmx")
def test_yolo11_cls_counts(scale):
    """yolo11-cls.yaml's comments were counted with 80 classes (the file says nc: 1000): with nc 80 the counts
    are the comments'; with the file's 1000 the classifier's linear layer adds 1280 x 920 + 920."""
    text = (FILES / "yolo11-cls.yaml").read_text()
    published = _published("yolo11-cls.yaml")[scale]
    eighty = _analyze(FILES / "yolo11-cls.yaml", scale, text=text.replace("nc: 1000", "nc: 80"))
    assert not eighty.diagnostics and eighty.params == published
    thousand = _analyze(FILES / "yolo11-cls.yaml", scale)
    assert thousand.params == published + 1280 * 920 + 920
    assert thousand.output_shapes() == {"m10": (1000,)}
    assert thousand.network.inputs["images"].dims == (3, 224, 224)  # ultralytics' classification default
