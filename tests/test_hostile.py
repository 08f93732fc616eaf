"""Fuzzing the classes of issue 14 (tests/fuzz/hostile.py): encodings, names, nesting of blocks and of
includes, huge numbers and symbolic chains. Every case is written to disk under its (hostile) names
and must keep every promise of SECURITY.md: an answer within the budgets, diagnostics and nothing
else, terminal text without control characters, counts below 2^53, an export whose first two lines
are fixed and whose names and strings stay inert, an include never read from outside the project.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import subprocess
import sys
import tokenize

import pytest
from conftest import ROOT
from fuzz import oracle
from fuzz.hostile import CLASSES, make

import convdsl
from convdsl import report
from convdsl.export import export_pytorch
from convdsl.model import Limits
from convdsl.summary import to_json

# Small: a bomb reaches the limits (and their budgets) in a fraction of the default's time, and the
# diagram and export of what it made stay quick. test_security.py and test_resources.py use the defaults.
LIMITS = Limits(max_layers=2_000)
CASES_PER_CLASS = 30 * int(os.environ.get("CONVDSL_FUZZ_SOAK", "1"))
CLI_EVERY = 16
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _write(case, tmp_path):
    (tmp_path / "pyproject.toml").write_text("")  # the project the includes must stay in
    folder = tmp_path / case.folder if case.folder.strip(".") else tmp_path  # never `..`: stay in tmp_path
    folder.mkdir(exist_ok=True)
    for name, data in case.includes.items():
        (folder / name).write_bytes(data)
    main = folder / case.name
    main.write_bytes(case.data)
    return main


def _ints(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _ints(item)
    elif isinstance(value, list):
        for item in value:
            yield from _ints(item)
    elif type(value) is int:
        yield value


@pytest.mark.parametrize("cls", CLASSES)
def test_hostile_inputs_of_each_class(tmp_path, cls):
    for seed in range(CASES_PER_CLASS):
        case = make(cls, seed)
        where = tmp_path / f"{seed}"
        where.mkdir()
        main = _write(case, where)
        try:
            with oracle.deadline(oracle.CASE_SECONDS):
                _check(case, main, where, cli=seed % CLI_EVERY == 0)
        except AssertionError as failure:
            raise AssertionError(f"{cls}:{seed} ({case.name!r}): {failure}") from None


def _check(case, main, project, cli: bool):
    network = convdsl.load(main, limits=LIMITS)
    analysis = network.analyze()
    for diag in analysis.diagnostics:
        oracle.check_diagnostic(diag, network.sources)
        for text in (report.text(diag, network.sources), report.concise(diag), report.github(diag, str(main))):
            assert not RAW_CONTROL.search(text), repr(text)
        for line in diag.notes:  # nothing from a file outside the project is ever shown
            assert "root:" not in line
    summary = to_json(analysis)
    assert json.loads(json.dumps(summary)) == summary
    assert all(abs(n) < 2**53 for n in _ints(summary)), "a count beyond 2^53"
    for source in network.sources:
        assert os.path.realpath(source).startswith(os.path.realpath(project)), source
    oracle.check_generators(analysis, str(main))
    exported = export_pytorch(analysis, source_label=str(main))
    if exported.source is not None:
        lines = exported.source.split("\n")
        assert lines[0] == "# -*- coding: utf-8 -*-" and lines[1].startswith("# PyTorch model exported by convdsl")
        data = exported.source.encode("utf-8")
        assert tokenize.detect_encoding(io.BytesIO(data).readline)[0] == "utf-8"
        tree = ast.parse(data)
        called = {
            node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert not called & {"open", "exec", "eval", "__import__", "print", "compile"}, called
    if cli:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
        for args in (
            ["check", main.name],
            ["check", "--format", "github", main.name],
            ["summary", main.name],
            ["export", main.name],
        ):
            args += ["--max-layers", str(LIMITS.max_layers)]
            result = subprocess.run(
                [sys.executable, "-m", "convdsl", *args],
                cwd=main.parent,
                capture_output=True,
                env=env,
                stdin=subprocess.DEVNULL,
                timeout=120,
            )
            assert result.returncode in (0, 1, 2), result.stderr
            for stream in (result.stdout, result.stderr):
                text = stream.decode("utf-8", "replace")
                assert not RAW_CONTROL.search(text), repr(text[:300])
                assert "Traceback" not in text and "internal error" not in text


def test_every_kind_takes_hostile_argument_values_without_an_internal_error():
    # tests/fuzz/kind_arguments.py: every numeric argument of every kind at 0, -1, 2^31, 2^53 + 1, 2^62,
    # +-1e308, ... Found: gru(num_layers=2**31) looped 2^31 times, upsample(scale_factor=1e308) raised
    # OverflowError, select of a flat tensor's only axis broke the export. The CPU limit turns work
    # that grows with an argument's value into a failure instead of a stuck suite.
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_CPU, (120, 120))  # the sweep takes about 6 s of CPU

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "fuzz" / "kind_arguments.py")],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=limit,
    )
    assert result.returncode == 0, (result.stdout[-4000:], result.stderr[-2000:])
    assert " 0 failures" in result.stdout
    assert int(result.stdout.split()[-4]) > 3000  # the cases really ran: every kind, argument and value
