"""Fuzzing: bad input never breaks convdsl.

20,000 deterministic cases (the ids in tests/fuzz/cases.py; the same on
every run and machine): programs generated from the grammar, near-valid
programs (generated ones with tokens, lines or bytes corrupted), and mutations
of every example and fixture. Each goes through the API (which may only
return diagnostics, with valid spans, and results that repeat exactly and
survive a JSON round trip) and a sample through the CLI (which never exits 3).
The counts are printed at the end of the module.

The cases are split over two worker processes (CONVDSL_FUZZ_WORKERS=N to
change). CONVDSL_FUZZ_SOAK=N runs N times as many cases (new ids);
benchmarks/soak.py runs any number and replays a failing id.
"""
from __future__ import annotations

import os
import time

import pytest

import convdsl
from fuzz import oracle
from fuzz.cases import CATEGORIES, CORPUS, ids, make
from fuzz.generate import generate
from fuzz.oracle import Failure, check_case, check_cli
from fuzz.run import Stats, run, run_parallel

TARGETS = {"generated": 3_000, "near_valid": 5_000, "mutated": 12_000}
REQUIRED_TOTAL = 20_000
SCALE = int(os.environ.get("CONVDSL_FUZZ_SOAK", "1"))
CLI_EVERY = 40  # one case in 40 also goes through the CLI
WORKERS = int(os.environ.get("CONVDSL_FUZZ_WORKERS", min(2, os.cpu_count() or 1)))


class _Summary:
    """A plugin registered by the `stats` fixture: prints the counts in pytest's closing summary."""

    def __init__(self, stats: Stats):
        self.stats = stats

    def pytest_terminal_summary(self, terminalreporter):
        if self.stats.total:
            terminalreporter.write_line(self.stats.summary())


@pytest.fixture(scope="module")
def stats(request):
    collected = Stats()
    request.config.pluginmanager.register(_Summary(collected), "convdsl-fuzz-summary")
    return collected


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz cli ü")


def test_targets_add_up_to_the_required_total():
    assert sum(TARGETS.values()) >= REQUIRED_TOTAL
    # every example and fixture is mutated many times over
    assert TARGETS["mutated"] >= 100 * len(CORPUS)


@pytest.mark.parametrize("category", CATEGORIES)
def test_fuzz(category, stats, sandbox):
    count = TARGETS[category] * SCALE
    before = stats.cases[category]
    run_parallel(list(ids(category, 0, count)), stats, workers=WORKERS, cli_every=CLI_EVERY, directory=sandbox)
    assert not stats.found, "\n\n".join(map(str, stats.found))
    assert stats.cases[category] - before == count


def test_generated_programs_are_mostly_clean():
    """Most generated programs must analyse without errors, or the round-trip checks check little."""
    stats = run(ids("generated", 0, 300), Stats())
    assert not stats.found
    assert stats.outcomes["clean"] >= 0.8 * 300, stats.outcomes


def test_generated_programs_use_the_whole_language():
    texts = "\n".join(generate(seed) for seed in range(400))
    for construct in ("network ", "set rounding", "set layout", "const ", "block ", ") {", ") = ", "input ",
                      ", batch=", "output ", ": (", " * ", " if ", "add(", "concat(", "mul(", "chunk(2)", "\n    -> ",
                      "\t", "\r\n", "\ufeff", "\\\n", "#", "conv_transpose", "pixel_shuffle", "upsample", "linear",
                      "flatten", "groupnorm", "3x1", "p=same", "//", " / "):
        assert construct in texts, construct


def test_mutations_reach_every_outcome():
    stats = run(ids("mutated", 0, 600), Stats())
    assert not stats.found
    assert stats.outcomes["clean"] and stats.outcomes["errors"] and stats.outcomes["unreadable"], stats.outcomes
    assert {"E002", "E001", "E003", "E005"} <= set(stats.codes), stats.codes


def test_cases_are_deterministic():
    for case_id in ("generated:17", "near_valid:5", "mutated:123"):
        assert make(case_id) == make(case_id)
    assert make("generated:1").data != make("generated:2").data


# The oracle must be able to fail: each of its rules, broken on purpose.

def test_oracle_reports_an_exception_escaping_the_api(monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(convdsl, "loads", broken)
    with pytest.raises(Failure, match="the API raised KeyError"):
        check_case(b"input x: 3 x 8 x 8\n", "a.cdsl")


def test_oracle_reports_a_span_outside_the_file(monkeypatch):
    from convdsl.diagnostics import NO_INPUT, Diagnostic
    from convdsl.source import Span

    real = convdsl.loads

    def shifted(text, path):
        network = real(text, path)
        bad = Diagnostic(NO_INPUT, Span(path, 9, 1, 9, 2), "a message")
        network.diagnostics = (*network.diagnostics, bad)
        return network

    monkeypatch.setattr(convdsl, "loads", shifted)
    with pytest.raises(Failure, match="a span outside the file"):
        check_case(b"input x: 3 x 8 x 8\n", "a.cdsl")


def test_oracle_reports_a_hang(monkeypatch):
    monkeypatch.setattr(oracle, "CASE_SECONDS", 0.2)
    monkeypatch.setattr(convdsl, "loads", lambda text, path: time.sleep(5))
    started = time.perf_counter()
    with pytest.raises(Failure, match="hang"):
        check_case(b"input x: 3 x 8 x 8\n", "a.cdsl")
    assert time.perf_counter() - started < 2


def test_oracle_reports_exit_3(tmp_path, monkeypatch):
    from convdsl import cli

    path = tmp_path / "a.cdsl"
    path.write_text("input x: 3 x 8 x 8\ny = x -> relu\n")
    assert check_cli(str(path), ["check"]) == 0
    monkeypatch.setattr(cli, "_check", lambda args: 1 // 0)
    with pytest.raises(Failure, match="exited 3"):
        check_cli(str(path), ["check"])
