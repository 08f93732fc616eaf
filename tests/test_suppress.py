"""Suppressions: `# convdsl: ignore[...]`, `check --select/--ignore` and `[tool.convdsl]` in pyproject.toml."""

from __future__ import annotations

import json

import pytest

from convdsl.cli import main

NET = (
    "input x: 3 x 32 x 32\n"
    "y = x -> conv(8, 3) -> bn  # convdsl: ignore[W101]\n"  # W001 (y unused) stays: another code
    "z = x -> conv(8, 3) -> bn  # convdsl: ignore[redundant-bias, unused-tensor]\n"
    "w = x -> conv(8, 3) -> bn\n"  # W101 here; w is the last tensor, so the output
    "v = x -> maxpool(2, s=3)\n"  # W102 stride over kernel... and W001
    "u = v -> relu\n"
)


def _codes(capsys, *args) -> tuple[list[tuple[str, int]], int]:
    code = main(["check", "--format", "json", *args])
    out = json.loads(capsys.readouterr().out)
    return sorted((d["code"], d["line"]) for f in out["files"] for d in f["diagnostics"]), code


@pytest.fixture
def net(tmp_path):
    path = tmp_path / "net.cdsl"
    path.write_text(NET)
    return path


def test_inline_comments_silence_their_codes_on_their_line(net, capsys):
    found, _ = _codes(capsys, str(net))
    assert ("W101", 2) not in found and ("W001", 2) in found
    assert ("W101", 3) not in found and ("W001", 3) not in found
    assert ("W101", 4) in found


def test_ignore_and_select_on_the_command_line(net, capsys):
    everything, _ = _codes(capsys, str(net))
    assert {code for code, _ in everything} >= {"W001", "W101"}
    found, _ = _codes(capsys, str(net), "--ignore", "W0")
    assert found and all(not code.startswith("W0") for code, _ in found)
    found, _ = _codes(capsys, str(net), "--select", "redundant-bias")
    assert found == [("W101", 4)]
    assert main(["check", str(net), "--select", "W999x"]) == 2
    assert "not a diagnostic code" in capsys.readouterr().err


def test_pyproject_table_from_the_folder_upward(tmp_path, capsys):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.convdsl]\nignore = ["W1"]\n')
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    path = folder / "net.cdsl"
    path.write_text(NET)
    found, _ = _codes(capsys, str(path))
    assert found and all(not code.startswith("W1") for code, _ in found)
    found, _ = _codes(capsys, str(path), "--select", "W101")  # the command line's select replaces the table's
    assert found == []  # ...but the table's ignore still holds
    (tmp_path / "pyproject.toml").write_text('[tool.convdsl]\nignore = ["nonsense"]\n')
    assert main(["check", str(path)]) == 2
    assert "nonsense" in capsys.readouterr().err


def test_silenced_errors_do_not_fail_the_check(tmp_path, capsys):
    path = tmp_path / "net.cdsl"
    path.write_text("input x: 3 x 227 x 227\ny = x -> maxpool(2)  # convdsl: ignore[E101]\n")
    found, code = _codes(capsys, str(path))
    assert found == [] and code == 0
    path.write_text("input x: 3 x 227 x 227\ny = x -> maxpool(2)\n")
    found, code = _codes(capsys, str(path))
    assert found == [("E101", 2)] and code == 1


def test_syntax_errors_cannot_be_silenced(tmp_path, capsys):
    path = tmp_path / "net.cdsl"
    path.write_text("input x: 3 x 32 x 32\ny = x -> -> relu  # convdsl: ignore[E002]\n")
    found, code = _codes(capsys, str(path), "--ignore", "E")
    assert [c for c, _ in found] == ["E002"] and code == 1
