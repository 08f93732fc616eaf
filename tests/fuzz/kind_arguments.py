"""Every layer kind, every numeric argument at hostile values (issue 14's second red-team pass).

For each case: analysis, the summary (table and JSON), the DOT text and, where the network has no
error, the PyTorch export (compiled, not run) must finish without an exception. The work a kind does
may not grow with an argument's value (gru(num_layers=2**31) once looped 2^31 times): the test runs
this in a child process under a CPU-time limit.

    python tests/fuzz/kind_arguments.py      # prints each failure, exits 1 if there was one
"""

from __future__ import annotations

import sys
import traceback

import convdsl
from convdsl.export import export_pytorch
from convdsl.layers import KINDS, canonical_kinds
from convdsl.render import to_dot
from convdsl.summary import table, to_json

INPUTS = ("input x: 3 x 32 x 32", "input x: 16 x 64", "input x: 64")
INTS = ("0", "-1", "2147483648", "9007199254740993", "4611686018427387904")
FLOATS = ("1e308", "-1e308", "1e-320", "0.0")
GOOD = {"int": "4", "ints": "2", "padding": "1", "dims": "(4, 4)", "float": "0.5", "floats": "0.5", "bool": "true"}


def _values(arg) -> tuple[str, ...]:
    if arg.type == "int":
        return INTS
    if arg.type in ("ints", "padding", "dims"):
        return (*INTS, *(f"({v}, {v})" for v in INTS[:3]), "()")
    if arg.type in ("float", "floats"):
        return FLOATS
    return ()


def cases():
    for name in sorted(kind.name for kind in canonical_kinds()):
        kind = KINDS[name]
        if kind.variadic:
            continue
        for arg in kind.args:
            for value in _values(arg):
                given = []
                for other in kind.args:
                    if other is arg:
                        given.append(f"{other.name}={value}")
                    elif other.required:
                        if other.type not in GOOD:
                            break
                        given.append(f"{other.name}={GOOD[other.type]}")
                else:
                    for declared in INPUTS:
                        yield f"{declared}\noutput y = x -> {name}({', '.join(given)})\n"


def run_case(text: str) -> None:
    network = convdsl.loads(text)
    analysis = network.analyze()
    table(analysis)
    to_json(analysis)
    to_dot(analysis)
    if not analysis.has_errors:
        source = export_pytorch(analysis).source
        if source:
            compile(source, "<export>", "exec")


def main() -> int:
    failures = 0
    count = 0
    for text in cases():
        count += 1
        try:
            run_case(text)
        except Exception:
            failures += 1
            print(f"FAILED {text!r}\n{traceback.format_exc(limit=4)}", flush=True)
    print(f"{count} cases, {failures} failures", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
