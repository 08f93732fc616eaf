"""Fixture files: each line that should produce a diagnostic says so.

A line ending in `# expect: E005` (or `# expect: E005, W001`) must produce
exactly those codes on that line; every other line none. A fixture whose name
ends in `_strict.cdsl` is checked with --strict. Feature fixtures must be
clean and may state their totals with `# params: N` and `# macs: N` lines
(computed by hand in the fixture's comments).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import convdsl

FIXTURES = Path(__file__).parent / "fixtures"
EXPECT = re.compile(r"#\s*expect:\s*([A-Z0-9, ]+)")
TOTAL = re.compile(r"^#\s*(params|macs|output):\s*(.+)$", re.M)


def _expected(text: str) -> set[tuple[int, str]]:
    out = set()
    for number, line in enumerate(text.splitlines(), 1):
        match = EXPECT.search(line)
        if match:
            out.update((number, code.strip()) for code in match.group(1).split(",") if code.strip())
    return out


def _fixtures(folder: str):
    return sorted((FIXTURES / folder).rglob("*.cdsl"), key=str)


def _ids(paths):
    return [str(p.relative_to(FIXTURES)) for p in paths]


DIAGNOSTIC_FIXTURES = _fixtures("diagnostics")
# Files of other tools (convdsl.importers): the same `# expect:` comments, since YAML, .cfg and .prototxt
# all comment with `#`; each diagnostic points into the foreign file.
FOREIGN_FIXTURES = sorted((p for p in (FIXTURES / "foreign").iterdir() if p.is_file()), key=str)
FEATURE_FIXTURES = _fixtures("features")


@pytest.mark.parametrize("path", DIAGNOSTIC_FIXTURES, ids=_ids(DIAGNOSTIC_FIXTURES))
def test_diagnostic_fixture(path: Path):
    text = path.read_text()
    analysis = convdsl.load(path).analyze(strict=path.stem.endswith("_strict"))
    diagnostics = analysis.diagnostics
    if path.stem.startswith("export_"):  # what only the PyTorch export finds (E3xx)
        from convdsl.export import export_pytorch

        diagnostics += export_pytorch(analysis).diagnostics
    found = {(d.span.line, d.code.code) for d in diagnostics if d.span and d.span.path == str(path)}
    expected = _expected(text)
    assert expected, "a diagnostic fixture must expect something"
    assert found == expected, "\n".join(f"{d.code.code} line {d.span.line}: {d.message}" for d in diagnostics)


@pytest.mark.parametrize("path", FEATURE_FIXTURES, ids=_ids(FEATURE_FIXTURES))
def test_feature_fixture(path: Path):
    text = path.read_text()
    analysis = convdsl.load(path).analyze()
    assert not analysis.diagnostics, [f"{d.code.code} {d.span.line}: {d.message}" for d in analysis.diagnostics]
    for key, value in TOTAL.findall(text):
        if key == "params":
            assert analysis.params == int(value.replace(",", "")), key
        elif key == "macs":
            assert analysis.macs == int(value.replace(",", "")), key
        else:
            name, shape = value.split("=")
            expected = tuple(int(d) for d in shape.strip().split("x"))
            assert analysis.output_shapes()[name.strip()] == expected


@pytest.mark.parametrize("path", FOREIGN_FIXTURES, ids=_ids(FOREIGN_FIXTURES))
def test_foreign_fixture(path: Path):
    from convdsl.importers import load

    diagnostics = load(path).analyze().diagnostics
    found = {(d.span.line, d.code.code) for d in diagnostics if d.span and d.span.path == str(path)}
    expected = _expected(path.read_text())
    assert expected, "a diagnostic fixture must expect something"
    assert found == expected, "\n".join(f"{d.code.code} {d.span}: {d.message}" for d in diagnostics)


def test_every_code_has_a_fixture():
    from convdsl.diagnostics import registry

    covered = set()
    for path in DIAGNOSTIC_FIXTURES + FOREIGN_FIXTURES:
        covered.update(code for _, code in _expected(path.read_text()))
    # E001 (unreadable file) is tested in test_cli.py: a fixture is a readable file by definition. The
    # import codes E43x/W430 come from a Python model or an ONNX file, which a text fixture cannot hold
    # (a .py fixture would run code): each must be asserted in the importers' own tests instead.
    importing = {c.code for c in registry() if c.code.startswith(("E43", "W43"))}
    tests = Path(__file__).parent
    asserted = "".join((tests / name).read_text() for name in ("test_import_torch.py", "test_import_onnx.py"))
    assert all(f'"{code}"' in asserted for code in importing), sorted(c for c in importing if f'"{c}"' not in asserted)
    missing = {c.code for c in registry()} - covered - {"E001"} - importing
    assert not missing, f"codes without a fixture: {sorted(missing)}"
