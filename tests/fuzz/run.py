"""The driver: runs cases through the oracle, counts them, and shrinks each failure to a small input.

`run` works through a list of case ids in this process; `run_parallel` splits
them over worker processes (fork, where the platform has it) and merges what
they found, so a 2-core CI machine runs the suite in half the time.
"""

from __future__ import annotations

import collections
import multiprocessing
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import mutate
from .cases import ROOT, Case, make
from .oracle import Failure, check_case, check_cli

# The commands a sample of the cases also goes through, in turn; {out} is a file in the sandbox.
CLI_COMMANDS = (
    ["check", "--format", "json"],
    ["check"],
    ["summary", "--format", "json"],
    ["render", "--format", "dot", "-o", "{out}"],
    ["check", "--format", "github", "--strict"],
    ["summary"],
    ["export", "-o", "{out}"],
    ["check", "--format", "concise"],
    ["sizes", "--max", "48", "--format", "json"],
)
SHRINK_ATTEMPTS = 400
SHRINK_SECONDS = 60  # a case that hangs is not shrunk at all: every attempt would take the whole deadline


@dataclass
class Found:
    case_id: str
    reason: str
    mutations: tuple[str, ...]
    data: bytes  # the smallest input found that fails for the same reason
    detail: str

    def __str__(self) -> str:
        text = self.data.decode("utf-8", "backslashreplace")
        how = f" ({', '.join(self.mutations)})" if self.mutations else ""
        return (
            f"{self.case_id}{how}: {self.reason}\n--- smallest input ---\n{text}\n--- detail ---\n{self.detail[-3000:]}"
        )


@dataclass
class Stats:
    cases: collections.Counter = field(default_factory=collections.Counter)  # per category
    outcomes: collections.Counter = field(default_factory=collections.Counter)  # clean | errors | unreadable
    codes: collections.Counter = field(default_factory=collections.Counter)
    cli_runs: int = 0
    seconds: float = 0.0
    slowest: tuple[float, str] = (0.0, "")
    found: list[Found] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.cases.values())

    def merge(self, other: Stats) -> None:
        """Add another run's counts (its time is not added: parallel runs overlap)."""
        self.cases.update(other.cases)
        self.outcomes.update(other.outcomes)
        self.codes.update(other.codes)
        self.cli_runs += other.cli_runs
        self.slowest = max(self.slowest, other.slowest)
        self.found.extend(other.found)

    def summary(self) -> str:
        per = ", ".join(f"{name} {count:,}" for name, count in sorted(self.cases.items()))
        outcomes = ", ".join(f"{name} {count:,}" for name, count in sorted(self.outcomes.items()))
        return (
            f"fuzz: {self.total:,} cases ({per}; {self.cli_runs:,} also through the CLI) in {self.seconds:.1f} s; "
            f"outcomes: {outcomes}; {len(self.codes)} distinct codes; slowest {self.slowest[0]:.2f} s "
            f"({self.slowest[1]}); failures: {len(self.found)}"
        )


class CliSandbox:
    """A copy of the corpus' folders, where a case is written next to its original so includes still resolve.

    The case's file name has a space and non-ASCII letters in it, as users' files do.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        for folder in ("examples", "tests/fixtures", "tests/golden"):
            shutil.copytree(ROOT / folder, directory / folder, dirs_exist_ok=True)

    def write(self, case: Case) -> str:
        origin = Path(case.path)
        target = self.directory / origin.parent.relative_to(ROOT) / "fuzz case é.cdsl"
        target.write_bytes(case.data)
        return str(target)

    def run(self, case: Case, template: list[str]) -> None:
        """The command on the case; a generator's output must then be whole or absent, with no temporary file."""
        out = self.directory / "out put é"
        out.unlink(missing_ok=True)
        code = check_cli(self.write(case), [str(out) if part == "{out}" else part for part in template])
        left = [p.name for p in self.directory.iterdir() if p.name.endswith(".tmp")]
        if left:
            raise Failure(f"`convdsl {template[0]}` left a temporary file behind", ", ".join(left))
        if "{out}" in template and code == 0 and not out.is_file():
            raise Failure(f"`convdsl {template[0]}` exited 0 without writing its output")


def run(case_ids, stats: Stats, *, cli_every: int = 0, sandbox: CliSandbox | None = None, max_found: int = 20) -> Stats:
    """Run every case; a failure is shrunk and recorded, and the run goes on (up to max_found failures)."""
    started = time.perf_counter()
    for n, case_id in enumerate(case_ids):
        case = make(case_id)
        stats.cases[case_id.split(":")[0]] += 1
        began = time.perf_counter()
        try:
            outcome = check_case(case.data, case.path, consistency=case.consistency, reload=case.reload)
            stats.outcomes[outcome.kind] += 1
            stats.codes.update(outcome.codes)
            if cli_every and sandbox is not None and n % cli_every == 0:
                stats.cli_runs += 1
                sandbox.run(case, CLI_COMMANDS[(n // cli_every) % len(CLI_COMMANDS)])
        except Failure as failure:
            stats.slowest = max(stats.slowest, (time.perf_counter() - began, case_id))
            stats.found.append(_shrink(case, failure))
            if len(stats.found) >= max_found:
                break
            continue
        stats.slowest = max(stats.slowest, (time.perf_counter() - began, case_id))
    stats.seconds += time.perf_counter() - started
    return stats


def _run_part(case_ids: list[str], cli_every: int, directory: str | None, max_found: int) -> Stats:
    sandbox = CliSandbox(Path(directory)) if directory else None
    return run(case_ids, Stats(), cli_every=cli_every, sandbox=sandbox, max_found=max_found)


def run_parallel(
    case_ids: list[str],
    stats: Stats,
    *,
    workers: int,
    cli_every: int = 0,
    directory: Path | None = None,
    max_found: int = 20,
) -> Stats:
    """`run`, with the ids dealt round-robin to `workers` processes; the counts are merged into stats."""
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        sandbox = CliSandbox(directory) if directory and cli_every else None
        return run(case_ids, stats, cli_every=cli_every, sandbox=sandbox, max_found=max_found)
    started = time.perf_counter()
    parts = [
        (
            case_ids[w::workers],
            cli_every,
            str(directory / f"worker {w}") if directory and cli_every else None,
            max_found,
        )
        for w in range(workers)
    ]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for part in pool.starmap(_run_part, parts):
            stats.merge(part)
    stats.seconds += time.perf_counter() - started
    return stats


def _shrink(case: Case, failure: Failure) -> Found:
    """Delete lines, then tokens, while the input still fails for the same reason (API failures only)."""
    data = case.data
    attempts = 0
    if failure.reason.startswith("hang"):
        return Found(case.id, failure.reason, case.mutations, data, str(failure))
    give_up = time.perf_counter() + SHRINK_SECONDS

    def still_fails(candidate: bytes) -> bool:
        nonlocal attempts
        attempts += 1
        try:
            check_case(candidate, case.path, consistency=case.consistency, reload=case.reload)
        except Failure as again:
            return again.reason == failure.reason
        return False

    for split, join in ((lambda d: d.split(b"\n"), b"\n".join), (mutate.tokens, b"".join)):
        parts = split(data)
        i = len(parts) - 1
        while i >= 0 and attempts < SHRINK_ATTEMPTS and time.perf_counter() < give_up:
            candidate = join(parts[:i] + parts[i + 1 :])
            if still_fails(candidate):
                parts = parts[:i] + parts[i + 1 :]
                data = candidate
            i -= 1
    return Found(case.id, failure.reason, case.mutations, data, str(failure))
