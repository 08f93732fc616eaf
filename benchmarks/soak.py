"""The fuzzing soak run (issue 8): as many cases as asked for, beyond the 20,000 the tests run.

    .venv/bin/python benchmarks/soak.py --cases 1000000            # a million, all categories, every core
    .venv/bin/python benchmarks/soak.py --cases 50000 --start 10000000 --categories mutated
    .venv/bin/python benchmarks/soak.py --replay near_valid:123456  # one case again, with its failure in full

The cases are the tests' (tests/fuzz/), with ids the tests do not reach
(from --start, default 1,000,000), so a soak run finds what CI has not tried.
It runs in rounds of --round cases per category, printing the counts after
each, and stops early after --max-found failures. Each failure is printed
shrunk to a small input, with the id that makes it again. Exit status: 0
when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fuzz.cases import CATEGORIES, ids, make
from fuzz.oracle import Failure, check_case
from fuzz.run import Stats, run_parallel


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases in all (default 1,000,000)")
    parser.add_argument("--start", type=int, default=1_000_000, help="first case number (default 1,000,000)")
    parser.add_argument(
        "--categories", default=",".join(CATEGORIES), help="comma-separated, of: " + ", ".join(CATEGORIES)
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--round", type=int, default=10_000, help="cases per category per round (default 10,000)")
    parser.add_argument("--cli-every", type=int, default=100, help="one case in N also through the CLI (0: none)")
    parser.add_argument("--max-found", type=int, default=20)
    parser.add_argument("--replay", metavar="ID", help="run one case (e.g. mutated:1234) and show it in full")
    args = parser.parse_args(argv)
    if args.replay:
        return replay(args.replay)
    categories = [c for c in args.categories.split(",") if c]
    unknown = set(categories) - set(CATEGORIES)
    if unknown:
        parser.error(f"unknown categories: {', '.join(sorted(unknown))}")
    per_category = args.cases // len(categories)
    stats = Stats()
    with tempfile.TemporaryDirectory(prefix="convdsl soak ") as directory:
        for offset in range(0, per_category, args.round):
            for category in categories:
                count = min(args.round, per_category - offset)
                run_parallel(
                    list(ids(category, args.start + offset, count)),
                    stats,
                    workers=args.workers,
                    cli_every=args.cli_every,
                    directory=Path(directory) / f"{category} {offset}",
                    max_found=args.max_found,
                )
            print(stats.summary(), flush=True)
            if len(stats.found) >= args.max_found:
                break
    for found in stats.found:
        print("\n" + "=" * 78 + "\n" + str(found))
    return 1 if stats.found else 0


def replay(case_id: str) -> int:
    case = make(case_id)
    print(f"{case_id}: {len(case.data):,} bytes, loaded as {case.path}, mutations: {', '.join(case.mutations) or '-'}")
    print("-" * 78)
    print(case.data.decode("utf-8", "backslashreplace"))
    print("-" * 78)
    try:
        outcome = check_case(case.data, case.path, consistency=True, reload=True)
    except Failure as failure:
        print(f"FAILS: {failure}")
        return 1
    print(f"passes: {outcome.kind}, codes {', '.join(outcome.codes) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
