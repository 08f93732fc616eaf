"""The wheel carries the grammar: build it, install it in a fresh virtual
environment, and check an example from outside the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile

import pytest

from conftest import EXAMPLES, ROOT, require

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    require("build")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (path,) = out.glob("convdsl-*.whl")
    return path


def test_wheel_contains_grammar(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "convdsl/grammar/convdsl.lark" in names
    assert "convdsl/cli.py" in names


def test_installed_wheel_checks_an_example(wheel, tmp_path):
    # The fresh environment must see only the installed wheel, not a source tree on PYTHONPATH.
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, timeout=600)
    work = tmp_path / "elsewhere"
    work.mkdir()
    for name in ("resnet50.cdsl", "resnet_blocks.cdsl"):
        shutil.copy(EXAMPLES / name, work / name)
    result = subprocess.run(
        [str(env_dir / "bin" / "convdsl"), "check", "resnet50.cdsl"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no problems" in result.stderr
    # the installed package reads its own grammar, not the source tree's
    where = subprocess.run(
        [str(python), "-c", "import convdsl.grammar as g, pathlib; print(pathlib.Path(g.__file__).parent)"],
        cwd=work,
        capture_output=True,
        text=True,
        env=clean,
    )
    assert str(ROOT) not in where.stdout


def test_installed_wheel_registers_the_pygments_lexer(wheel, tmp_path):
    """`pip install convdsl[highlight]` gives `pygmentize -l convdsl` through the entry point."""
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"convdsl[highlight] @ {wheel.as_uri()}"],
        check=True,
        timeout=600,
        env=clean,
    )
    entry_points = next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith("entry_points.txt"))
    assert "convdsl = convdsl.highlight:ConvdslLexer" in zipfile.ZipFile(wheel).read(entry_points).decode()
    result = subprocess.run(
        [str(env_dir / "bin" / "pygmentize"), "-l", "convdsl", "-f", "raw", str(EXAMPLES / "resnet50.cdsl")],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Token.Keyword.Declaration\t'network'" in result.stdout
    assert "Token.Name.Builtin\t'conv'" in result.stdout
    assert "Token.Error" not in result.stdout
    guessed = subprocess.run(
        [str(env_dir / "bin" / "pygmentize"), "-N", "model.cdsl"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean,
        cwd=tmp_path,
    )
    assert guessed.stdout.strip() == "convdsl"
