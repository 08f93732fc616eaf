"""The command line as users run it: a real subprocess, exit codes, output formats, golden files.

A changed golden file is accepted one at a time: CONVDSL_UPDATE_GOLDEN=tests/golden/NAME (conftest.check_golden).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


from conftest import ROOT, check_golden

GOLDEN = Path(__file__).parent / "golden"


def run(*args, cwd=ROOT):
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "convdsl", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def golden(name: str, actual: str):
    check_golden(GOLDEN / name, actual)


def test_check_clean_example_exits_0():
    result = run("check", "examples/resnet50.cdsl")
    assert result.returncode == 0, result.stdout
    assert result.stdout == ""
    assert "no problems" in result.stderr


def test_check_text_golden():
    result = run("check", "tests/golden/mistakes.cdsl")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    golden("mistakes.check.txt", result.stdout)


def test_check_json_golden_and_contract():
    result = run("check", "--format", "json", "tests/golden/mistakes.cdsl")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    (file,) = data["files"]
    codes = [d["code"] for d in file["diagnostics"]]
    assert codes == ["E101", "E104", "E005"]
    for diag in file["diagnostics"]:
        assert set(diag) >= {"code", "name", "severity", "message", "line", "column", "end_line", "end_column", "help"}
        assert diag["severity"] in ("error", "warning", "note")
    assert data["errors"] == 3 and data["warnings"] == 0
    golden("mistakes.check.json", result.stdout)


def test_check_concise_and_github():
    concise = run("check", "--format", "concise", "tests/golden/mistakes.cdsl")
    lines = concise.stdout.splitlines()
    assert lines[0].startswith("tests/golden/mistakes.cdsl:6:18: error[E101] non-integer-division: ")
    gh = run("check", "--format", "github", "tests/golden/mistakes.cdsl")
    first = gh.stdout.splitlines()[0]
    assert first.startswith("::error file=tests/golden/mistakes.cdsl,line=6,col=18,")
    assert "title=E101 non-integer-division::" in first
    assert "\n" not in first and "%0Ahelp%3A" not in first  # data is escaped, only properties escape ':'


def test_several_files_are_all_checked():
    result = run(
        "check",
        "--format",
        "concise",
        "tests/golden/mistakes.cdsl",
        "examples/resnet18.cdsl",
        "tests/golden/mistakes.cdsl",
    )
    assert result.returncode == 1
    assert result.stdout.count("E101") == 2


def test_unreadable_file_exits_2(tmp_path):
    result = run("check", tmp_path / "missing.cdsl")
    assert result.returncode == 2
    assert "no such file" in result.stdout
    binary = tmp_path / "binary.cdsl"
    binary.write_bytes(b"\x00\x01\x02")
    result = run("check", binary)
    assert result.returncode == 2 and "binary" in result.stdout


def test_usage_error_exits_2():
    result = run("check")
    assert result.returncode == 2
    result = run("check", "--format", "xml", "examples/lenet.cdsl")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_summary_json_contract():
    result = run("summary", "--format", "json", "examples/resnet18.cdsl")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["network"] == "resnet18"
    assert data["inputs"] == {"image": [3, 224, 224]}
    assert data["outputs"] == {"logits": [1000]}
    # torchvision 0.29 resnet18 _meta: 11,689,512 params, 1.814 GMACs
    assert (data["params"], data["macs"]) == (11_689_512, 1_814_073_344)
    first = data["layers"][0]
    assert first == {
        **first,
        "name": "conv1",
        "kind": "conv",
        "output_shape": [64, 112, 112],
        "params": 64 * 3 * 7 * 7,
        "macs": 64 * 3 * 7 * 7 * 112 * 112,
        "receptive_field": [7, 7],
    }
    assert sum(layer["params"] for layer in data["layers"]) == data["params"]
    assert sum(layer["macs"] for layer in data["layers"]) == data["macs"]
    assert data["diagnostics"] == []


def test_summary_table_totals():
    result = run("summary", "examples/resnet18.cdsl")
    assert result.returncode == 0
    assert "Params:      11,689,512" in result.stdout
    assert "MACs:        1,814,073,344" in result.stdout


def test_python_dash_m_and_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.startswith("convdsl ")
