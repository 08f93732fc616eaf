"""check --dependents, the pre-commit hook's mode, and the version/changelog scheme its `rev:` names."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import convdsl

ROOT = Path(__file__).resolve().parent.parent

BLOCKS = "block bad(c) = conv(c, 3, groups=3)\n"  # groups=3 cannot divide 8 or 16 channels: only a use shows it
NET = 'include "lib/blocks.cdsl"\ninput x: 8 x 16 x 16\ny = x -> bad(16)\n'
OUTER = 'include "net_blocks.cdsl"\ninput x: 8 x 16 x 16\ny = x -> again(16)\n'
MIDDLE = 'include "lib/blocks.cdsl"\nblock again(c) = bad(c)\n'


def _check(tmp_path, *args):
    return subprocess.run(
        [sys.executable, "-m", "convdsl", "check", "--format", "concise", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_a_changed_file_of_blocks_checks_the_networks_that_include_it(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.cdsl").write_text(BLOCKS)
    (tmp_path / "net.cdsl").write_text(NET)
    (tmp_path / "net_blocks.cdsl").write_text(MIDDLE)
    (tmp_path / "outer.cdsl").write_text(OUTER)  # includes it through net_blocks.cdsl
    (tmp_path / "other.cdsl").write_text("input x: 3 x 8 x 8\ny = x -> relu\n")
    alone = _check(tmp_path, "lib/blocks.cdsl")
    assert alone.returncode == 0  # a file of blocks alone: nothing to infer
    hooked = _check(tmp_path, "--dependents", "lib/blocks.cdsl")
    assert hooked.returncode == 1, hooked.stdout + hooked.stderr
    # the mistake is on the block's line, found once through each network that uses the block
    assert hooked.stdout.count("lib/blocks.cdsl:1:27: error[E104]") == 2
    assert "checked 4 files: 2 errors" in hooked.stderr  # blocks, net, net_blocks, outer; not other.cdsl


def test_the_hooks_use_dependents_and_name_a_real_tag_form():
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert hooks.count("--dependents") == 2
    tag = f"v{convdsl.__version__}"
    assert f"rev: {tag}" in (ROOT / "README.md").read_text()
    assert f"rev: {tag}" in hooks
    changelog = (ROOT / "CHANGELOG.md").read_text()
    versions = re.findall(r"^## (\S+)", changelog, re.M)
    # the version in the package is the newest released one; work since goes under Unreleased
    assert versions[0] == "Unreleased" and versions[1] == convdsl.__version__
