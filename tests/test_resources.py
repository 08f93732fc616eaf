"""Each bomb of issue 14 runs in a child process under resource.setrlimit limits (500 MB of address
space beyond the interpreter's start, and a CPU-time ceiling far above the target that only
turns a hang into a failure) and must finish by itself: its budget stops it, with an error that
names the limit. Exit 3, a MemoryError, a signal or the CPU ceiling fail the test.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import EXAMPLES, ROOT, require
from test_security import block_bomb, concat_inputs, include_fan_out, symbolic_growth

MEMORY = 500 * 2**20
CPU_CEILING = 60  # seconds of CPU: a safety net, not the limit under test (the targets are ~5 s)

_RUN = """
import resource, sys
used = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
limit = {memory} + 2 * used  # the interpreter's own start-up, then the budget under test
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
resource.setrlimit(resource.RLIMIT_CPU, ({cpu}, {cpu}))
import convdsl.cli
code = convdsl.cli.main(sys.argv[1:])
print("PEAK", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def run_limited(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    code = _RUN.format(memory=MEMORY, cpu=CPU_CEILING)
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=20 * CPU_CEILING,
    )


def _finished_naming(result, *words):
    assert result.returncode in (0, 1, 2), (result.returncode, result.stderr[-2000:])  # not 3, not a signal
    assert "MemoryError" not in result.stderr and "internal error" not in result.stderr
    output = result.stdout + result.stderr
    for word in words:
        assert word in output, output[-2000:]


@pytest.mark.parametrize("levels", [20, 60])
def test_block_bomb(tmp_path, levels):
    (tmp_path / "bomb.cdsl").write_text(block_bomb(levels))
    _finished_naming(run_limited("check", tmp_path / "bomb.cdsl"), "E019", "steps", "--max-layers")


def test_symbolic_growth(tmp_path):
    (tmp_path / "growth.cdsl").write_text(symbolic_growth(22))
    _finished_naming(run_limited("check", tmp_path / "growth.cdsl"), "E019", "2,000 terms")


def test_include_fan_out(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    main = include_fan_out(tmp_path)
    result = run_limited("check", main)
    assert result.returncode == 0, result.stdout  # read once each, so it is quick and clean


@pytest.mark.parametrize("count", [20, 50])
def test_sizes_of_many_inputs(tmp_path, count):
    (tmp_path / "cat.cdsl").write_text(concat_inputs(count))
    _finished_naming(run_limited("sizes", tmp_path / "cat.cdsl"), "limit of 3,000,000")


@pytest.mark.parametrize("example", ["resnet50", "unet"])
def test_sizes_with_a_million_sizes(example):
    _finished_naming(
        run_limited("sizes", EXAMPLES / f"{example}.cdsl", "--max", "1000000"), "limit of 3,000,000", "--max"
    )


def test_sizes_of_resnet50_at_the_default_fits_the_budget():
    result = run_limited("sizes", EXAMPLES / "resnet50.cdsl")
    assert result.returncode == 0 and "cannot sweep" not in result.stdout, result.stdout


@pytest.mark.parametrize(
    "text",
    [
        "conv(4611686018427387904, 3) -> conv(4611686018427387904, 3)",
        "adaptive_maxpool(4611686018427387904)",
        "upsample(size=4611686018427387904)",
    ],
)
def test_huge_numbers(tmp_path, text):
    (tmp_path / "huge.cdsl").write_text(f"input x: 3 x 8 x 8\noutput y = x -> {text}\n")
    _finished_naming(run_limited("summary", "--format", "json", tmp_path / "huge.cdsl"), "2^53")


def test_wide_concat_render(tmp_path):
    require("wasmtime")
    lines = [
        "input x: 3 x 8 x 8",
        *(f"b{i} = x -> relu" for i in range(5000)),
        "output y = concat(" + ", ".join(f"b{i}" for i in range(5000)) + ")",
    ]
    (tmp_path / "wide.cdsl").write_text("\n".join(lines) + "\n")
    result = run_limited("render", tmp_path / "wide.cdsl", "-o", tmp_path / "wide.svg")
    _finished_naming(result, "3,000", "--format dot")
    assert result.returncode == 2 and not (tmp_path / "wide.svg").exists()
    result = run_limited("render", tmp_path / "wide.cdsl", "-o", tmp_path / "wide.dot")  # no layout: no limit
    assert result.returncode == 0 and (tmp_path / "wide.dot").stat().st_size > 0
