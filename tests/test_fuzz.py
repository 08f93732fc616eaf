"""Fuzzing: bad input never breaks convdsl.

20,000 deterministic cases (the ids in tests/fuzz/cases.py; the same on
every run and machine): programs generated from the grammar, near-valid
programs (generated ones with tokens, lines or bytes corrupted), and mutations
of every example and fixture; a third of the generated programs use names
that mean something to Python, torch or DOT, some come from hostile file
names. Each goes through the API (which may only return diagnostics, with
valid spans, and results that repeat exactly and survive a JSON round trip),
a quarter also through the diagram and the PyTorch export (which must stay
inert), and one in 40 through the CLI (check, summary, sizes, render, export:
never exit 3, never a partial output). Each category's counts are printed at the end.
FOUND keeps what fuzzing found, shrunk, as cases of its own.

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


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz cli ü")


def test_targets_add_up_to_the_required_total():
    assert sum(TARGETS.values()) >= REQUIRED_TOTAL
    # every example and fixture is mutated many times over
    assert TARGETS["mutated"] >= 100 * len(CORPUS)


@pytest.mark.slow
@pytest.mark.parametrize("category", CATEGORIES)
def test_fuzz(category, sandbox, record_property):
    count = TARGETS[category] * SCALE
    stats = Stats()
    run_parallel(list(ids(category, 0, count)), stats, workers=WORKERS, cli_every=CLI_EVERY, directory=sandbox)
    # printed in pytest's closing summary (conftest.py), from whichever process ran it (pytest-xdist's too)
    record_property("fuzz", stats.summary())
    assert not stats.found, "\n\n".join(map(str, stats.found))
    assert stats.cases[category] == count


def test_generated_programs_are_mostly_clean():
    """Most generated programs must analyse without errors, or the round-trip checks check little."""
    stats = run(ids("generated", 0, 300), Stats())
    assert not stats.found
    assert stats.outcomes["clean"] >= 0.8 * 300, stats.outcomes


def test_generated_programs_use_the_whole_language():
    texts = "\n".join(generate(seed, hostile=seed % 3 == 0) for seed in range(400))
    for construct in (
        "network ",
        "set rounding",
        "set layout",
        "const ",
        "block ",
        ") {",
        ") = ",
        "input ",
        ", batch=",
        "output ",
        ": (",
        " * ",
        " if ",
        "add(",
        "concat(",
        "mul(",
        "chunk(2)",
        "\n    -> ",
        "\t",
        "\r\n",
        "\ufeff",
        "\\\n",
        "#",
        "conv_transpose",
        "pixel_shuffle",
        "upsample",
        "linear",
        "flatten",
        "groupnorm",
        "3x1",
        "p=same",
        "//",
        " / ",
        # broadcast merges, one-axis padding (Caffe), dilated strides, small inputs, negative pads
        "adaptive_avgpool(1) -> sigmoid",
        "p=(0, 1)",
        "d=3",
        "avgpool(5, p=2)",
        "pad((3, -3))",
        # hostile names for the generators: Python, torch and DOT words
        "class",
        "__init__",
        "forward",
        "self",
        "torch",
        "digraph",
        "subgraph",
        "node",
    ):
        assert construct in texts, construct


def test_mutations_reach_every_outcome():
    stats = run(ids("mutated", 0, 600), Stats())
    assert not stats.found
    assert stats.outcomes["clean"] and stats.outcomes["errors"] and stats.outcomes["unreadable"], stats.outcomes
    assert {"E002", "E001", "E003", "E005"} <= set(stats.codes), stats.codes


# What this suite and the soak run found, shrunk, kept as cases: (input, the codes it must give).
FOUND = {
    "help naming a size of another input (IndexError)": (
        "input x0: 8 x 16\ninput x1: 3 x 32 x 16\n"
        "t4 = x0 -> conv_transpose(8, 2, s=2) -> maxpool(3, s=2, round=floor) -> avgpool(2)\nt5 = x1 -> relu\n",
        ("W001", "E101"),
    ),
    "a span past the end of a file without a final line break": ("out", ("E002",)),
    "a syntax error at the first token (AttributeError)": (",", ("E002",)),
    "the receptive field of a whole symbolic size (TypeError)": (
        "input x: 3 x output\ny = features -> gap -> flatten -> fc(10)\nfeatures = x -> conv(16, 3, p=1) -> relu",
        ("N001", "W001"),
    ),
    "outputs declared before a limit stopped lowering (KeyError)": (
        "output z\ny = x -> (conv(8, 3, p=1) * 1000) * 1001",
        ("E019",),
    ),
    "a symbolic number of parameters, in the summary table and the export (TypeError)": (
        "input x: 3 x H x 32, batch=8\nlogits = x -> conv(16, 3, p=1) -> relu -> maxpool(2) -> flatten -> fc(10)",
        ("N001",),
    ),
    "a million copies of a failing layer (a hang)": (
        "input x: 8 x 16 x 16\ny = x -> (conv(1e-400, 3, p=1) * 1000) * 1001",
        ("E008",),
    ),
    "a size beyond a float in the summary table (OverflowError)": (
        "input x: 3 x 8 x 8\ny = x -> upsample(scale=1e300)\n",
        ("E008",),
    ),
    "a batch given as a name, in the summary table (TypeError)": (
        "input volume: 4 x 16, batch=crop\ny = volume -> conv(8, 3)\n",
        (),
    ),
    "an input size from a constant that is a tuple (a non-JSON value)": (
        # one error: the input that failed is not also "the network declares no input" (E020)
        "const nz = 0x1\ninput z: nz x 1\nimage = z -> relu\n",
        ("E014",),
    ),
    "a symbolic height beside a declared width of a million (a hang: the size sweep went up to it)": (
        "input x: 3 x H x 1000000\na = x -> conv(8, 3)\nb = x -> conv(8, 4)\ny = add(a, b)\n",
        ("E113", "E107"),
    ),
    "a tensor defined as itself (no error, then NotGeneric from the export)": (
        "input x: 3 x 8 x 8\ny = x -> relu\nt = t\n",
        ("W001", "E010"),
    ),
    "two tensors defined as each other": ("input x: 3 x 8 x 8\na = b\nb = a\n", ("W001", "E010")),
    "a block parameter named `in` (AttributeError)": (
        "block f(in) = conv(1) -> relu\ninput x: 3 x 8 x 8\ny = x -> f(8) -> f()\n",
        ("E004", "E007", "E007"),
    ),
    "an unused block default out of range (NotGeneric from the export)": (
        "block blk(c, n=4611686018427387905) = (conv(c, 3, p=1) -> relu) * n\ninput t: 4 x 16\n"
        "y = t -> upsample(2) -> blk(8, n=2)\n",
        (),
    ),
    "a linear layer after flattening a symbolic size (TypeError from the export)": (
        "input x0: 1 x x4\nt2 = x0\n    -> flatten() -> groupnorm(1) -> flatten -> stage1: linear(out=10)\n",
        ("N001",),
    ),
}


@pytest.mark.parametrize("name", FOUND)
def test_what_fuzzing_found(name):
    text, expected = FOUND[name]
    outcome = check_case(text.encode("utf-8"), "found.cdsl", consistency=True, reload=True)
    assert outcome.codes == expected


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

    def shifted(text, path, **kwargs):
        network = real(text, path, **kwargs)
        bad = Diagnostic(NO_INPUT, Span(path, 9, 1, 9, 2), "a message")
        network.diagnostics = (*network.diagnostics, bad)
        return network

    monkeypatch.setattr(convdsl, "loads", shifted)
    with pytest.raises(Failure, match="a span outside the file"):
        check_case(b"input x: 3 x 8 x 8\n", "a.cdsl")


def test_oracle_reports_a_hang(monkeypatch):
    monkeypatch.setattr(oracle, "CASE_SECONDS", 0.2)
    finished = []

    def stuck(text, path, **kwargs):
        time.sleep(30)
        finished.append(True)  # reached only if the deadline did not interrupt the case

    monkeypatch.setattr(convdsl, "loads", stuck)
    with pytest.raises(Failure, match="hang"):
        check_case(b"input x: 3 x 8 x 8\n", "a.cdsl")
    assert not finished


def test_oracle_reports_markup_escaping_the_dot_text(monkeypatch):
    real = oracle.to_dot
    monkeypatch.setattr(
        oracle, "to_dot", lambda analysis: real(analysis).replace('label="', 'image="/etc/passwd", label="', 1)
    )
    with pytest.raises(Failure, match="escaped its quotes"):
        check_case(b"input x: 3 x 8 x 8\ny = x -> relu\n", "a.cdsl", consistency=True)
    monkeypatch.setattr(oracle, "to_dot", lambda analysis: real(analysis).replace('label="', "label=<<b>", 1))
    with pytest.raises(Failure, match="escaped its quotes"):
        check_case(b"input x: 3 x 8 x 8\ny = x -> relu\n", "a.cdsl", consistency=True)


def test_oracle_reports_code_escaping_the_export(monkeypatch):
    class Injected:
        source = "import os\nos.system('echo pwned')\n"

    monkeypatch.setattr(oracle, "export_pytorch", lambda analysis, source_label: Injected())
    with pytest.raises(Failure, match="imports more than torch"):
        check_case(b"input x: 3 x 8 x 8\ny = x -> relu\n", "a.cdsl", consistency=True)
    Injected.source = "class (nn.Module):\n"
    with pytest.raises(Failure, match="does not compile"):
        check_case(b"input x: 3 x 8 x 8\ny = x -> relu\n", "a.cdsl", consistency=True)


def test_oracle_reports_exit_3(tmp_path, monkeypatch):
    from convdsl import cli

    path = tmp_path / "a.cdsl"
    path.write_text("input x: 3 x 8 x 8\ny = x -> relu\n")
    assert check_cli(str(path), ["check"]) == 0
    monkeypatch.setattr(cli, "_check", lambda args: 1 // 0)
    with pytest.raises(Failure, match="exited 3"):
        check_cli(str(path), ["check"])
