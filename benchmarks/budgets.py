"""Time budgets for bad input (issue 8), measured here rather than asserted in the unit tests
(a loaded machine must not fail a test; a slow change must still be seen).

    .venv/bin/python benchmarks/budgets.py            # the 10 MB files and the quick cases
    .venv/bin/python benchmarks/budgets.py --dense    # also the dense 10 MB networks (minutes each)

Each case runs `convdsl check` in a child process (tests/test_bad_input.py's `measure`) or in
this one, and is printed with its time, memory and budget. Exit status 1 when any case is over
its budget, or exits with the wrong code.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import convdsl
from test_bad_input import NET, TEN_MB, TEN_MB_CASES, measure

# (text, --max-layers, seconds, MB): valid text all the way, every byte parsed (2-core machine figures:
# see issue 8's closing note)
DENSE = ("dense network", "dense network, errors at the end", "one long chain")


def _dense(shape: str) -> str:
    if shape == "one long chain":
        return NET + "y = x" + " -> relu" * (TEN_MB // 8) + "\n"  # beyond --max-layers: E019
    lines, size, i = [NET.replace("x:", "x0:").strip()], 0, 0
    while size < TEN_MB:
        lines.append(f"x{i + 1} = x{i} -> conv(3, 3, p=1, bias=false) -> bn -> relu   # layer {i}")
        size += len(lines[-1]) + 1
        i += 1
    if shape.endswith("at the end"):
        lines += ["oops = = ="] * 12
    return "\n".join(lines) + "\n"


# In-process cases: (what, function, seconds)
def _quick_cases():
    cases = []
    for chain in ("relu * 1000000", "(relu * 1000) * 1000", "(((relu * 100) * 100) * 100) * 100"):
        cases.append((f"repeat {chain}", lambda c=chain: convdsl.loads(NET + f"y = x -> {c}\n").analyze(), 5))
    for chain in ("(conv(1e-400, 3) * 1000) * 1001", "((foo) * 1000) * 1000", "(relu if false) * 1000000"):
        cases.append((f"repeat {chain}", lambda c=chain: convdsl.loads(NET + f"y = x -> {c}\n").analyze(), 2))
    body = NET + "".join(f"y{i} = x -> relu\n" for i in range(60_000)) + "oops = = =\n" * 20
    cases.append(("syntax errors after 1.1 MB", lambda: convdsl.loads(body).analyze(), 120))
    return cases


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dense", action="store_true", help="also the dense 10 MB networks (minutes each)")
    args = parser.parse_args(argv)
    over = []
    with tempfile.TemporaryDirectory(prefix="convdsl-budgets-") as folder:
        path = Path(folder) / "big.cdsl"
        for shape, (make, expected, exit_code, seconds) in TEN_MB_CASES.items():
            path.write_text(make())
            code, elapsed, memory, _ = measure(path)
            ok = code == exit_code and elapsed < seconds and memory < 512
            print(f"{'ok ' if ok else 'OVER'} 10 MB {shape}: {elapsed:.1f} s of {seconds}, {memory:.0f} MB of 512")
            if not ok:
                over.append(shape)
        if args.dense:
            for shape in DENSE:
                path.write_text(_dense(shape))
                code, elapsed, memory, _ = measure(path, "--max-layers", "1000000", timeout=900)
                ok = code in (0, 1) and elapsed < 600 and memory < 4096
                print(f"{'ok ' if ok else 'OVER'} {shape}: {elapsed:.1f} s of 600, {memory:.0f} MB of 4096")
                if not ok:
                    over.append(shape)
    for what, run, seconds in _quick_cases():
        started = time.perf_counter()
        run()
        elapsed = time.perf_counter() - started
        ok = elapsed < seconds
        print(f"{'ok ' if ok else 'OVER'} {what}: {elapsed:.2f} s of {seconds}")
        if not ok:
            over.append(what)
    if over:
        print(f"{len(over)} over budget: {', '.join(over)}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
