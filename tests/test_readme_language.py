"""README's language tour runs as written, and the layer names the examples use are documented."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path


from conftest import require

import convdsl
from convdsl.layers import KINDS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_the_tour_checks_as_written(tmp_path):
    tour = README[README.index("## A tour of the language") :].split("```")[1]
    shutil.copy(ROOT / "examples" / "resnet_blocks.cdsl", tmp_path / "resnet_blocks.cdsl")
    (tmp_path / "tour.cdsl").write_text(tour)
    analysis = convdsl.load(tmp_path / "tour.cdsl").analyze()
    assert not analysis.diagnostics, [f"{d.code.code} {d.span.line}: {d.message}" for d in analysis.diagnostics]


def test_every_layer_name_the_examples_use_is_in_the_readme():
    used = set()
    for path in (ROOT / "examples").glob("*.cdsl"):
        used |= {
            name for name in re.findall(r"([a-z_][a-z0-9_]*)\s*(?:\(|$|\s*->)", path.read_text(), re.M) if name in KINDS
        }
    missing = sorted(name for name in used if f"`{name}`" not in README)
    assert not missing


def test_the_documented_language_features_work():
    text = """input x: 32 x 8 x 8
input e: 16 x 8 x 8
block b(c, w=c * 2, down=false) = conv(w, 3, p=1, s=2 if down else 1)
block up(skip: tensor, c) {
    out = concat(in, skip) -> conv(c, 1)
}
g = x -> global_avgpool -> flatten -> reshape((32, 1, 1))
y = mul(x, g) -> b(4) -> up(e, 8) -> (relu) * 2
"""
    analysis = convdsl.loads(text).analyze()
    assert not analysis.diagnostics, [d.message for d in analysis.diagnostics]
    # b(4): w = 8 channels; up: 8 + 16 = 24 channels in, 8 out
    assert analysis.output_shapes()["y"] == (8, 8, 8)
    assert any(d.code.code == "E012" for d in convdsl.loads(text.replace("* 2", "* 0")).analyze().diagnostics)


def test_verify_takes_numbers_for_symbolic_sizes(tmp_path):
    require("torch")
    path = tmp_path / "s.cdsl"
    path.write_text("input x: 3 x H x 33\noutput y = x -> conv(8, 3, s=2)\n")
    run = [sys.executable, "-m", "convdsl", "verify", str(path)]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    without = subprocess.run(run, capture_output=True, text=True, env=env)
    assert without.returncode == 1 and "--size H=N" in without.stdout + without.stderr
    # H = 101 (odd, as the rule 2k + 1 asks): (101 - 3)/2 + 1 = 50
    with_size = subprocess.run(run + ["--size", "H=101"], capture_output=True, text=True, env=env)
    assert with_size.returncode == 0, with_size.stdout + with_size.stderr
    assert "y 1 x 8 x 50 x 16" in with_size.stdout
    wrong = subprocess.run(run + ["--size", "Q=5"], capture_output=True, text=True, env=env)
    assert wrong.returncode == 2 and "its symbols are H" in wrong.stderr
