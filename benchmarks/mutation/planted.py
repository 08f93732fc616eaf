"""The four bugs an audit planted (issue 18), each applied to a copy of the tree, and the tests
that must fail with it.

    PYTHONPATH=$PWD python benchmarks/mutation/planted.py          # every bug
    PYTHONPATH=$PWD python benchmarks/mutation/planted.py names    # one of them

Each bug is a text replacement in one file of a temporary copy of convdsl/ (the source tree is
never touched); the named tests then run against the copy. Exit status 1 when a bug survives,
that is when every test named for it still passes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# name: (file, original text, planted text, tests that must fail)
BUGS = {
    "rf-jump": (
        "convdsl/infer.py",
        "(r + (k - 1) * j, j * (s if type(s) is int else _whole(s)))",
        "(r + (k - 1), j * (s if type(s) is int else _whole(s)))",
        ["tests/test_oracles.py::test_zoo_receptive_fields_by_hand", "tests/test_receptive_field.py"],
    ),
    "rf-stride": (
        "convdsl/infer.py",
        "(r + (k - 1) * j, j * (s if type(s) is int else _whole(s)))",
        "(r + (k - 1) * j, j)",
        ["tests/test_oracles.py::test_zoo_receptive_fields_by_hand", "tests/test_receptive_field.py"],
    ),
    "lint-left-padding": (
        "convdsl/layers/window.py",
        "first_real, last_real = self.pad_begin, self.pad_begin + self.size - 1",
        "first_real, last_real = 0, self.size - 1",
        [
            "tests/test_oracles.py::test_lost_rows_the_issue_case",
            "tests/test_oracles.py::test_lost_rows_by_enumeration",
        ],
    ),
    "names-mangling": (
        "convdsl/export/names.py",
        'name.isidentifier() and not keyword.iskeyword(name) and not (name.startswith("__") and not name.endswith("__"))',
        "name.isidentifier() and not keyword.iskeyword(name)",
        ["tests/test_oracles.py::test_a_private_looking_layer_name_keeps_its_state_dict_key", "tests/test_names.py"],
    ),
    "output-flush": (
        "convdsl/output.py",
        "            handle.flush()\n",
        "",
        ["tests/test_output.py::test_every_byte_is_on_disk_before_fsync_and_before_the_rename"],
    ),
}


def run(name: str) -> bool:
    """True when the bug is caught (some named test fails)."""
    relative, original, planted, tests = BUGS[name]
    with tempfile.TemporaryDirectory(prefix=f"convdsl-planted-{name}-") as folder:
        copy = Path(folder) / "tree"
        # the whole tree but git's files and the editors' node modules: the tests read examples, README, ...
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", "node_modules", ".venv", "__pycache__"))
        target = copy / relative
        text = target.read_text()
        if text.count(original) != 1:
            raise SystemExit(f"{name}: the original text is not in {relative} exactly once; update BUGS")
        target.write_text(text.replace(original, planted))
        env = {**os.environ, "PYTHONPATH": str(copy)}
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", *tests],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
        )
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    caught = result.returncode == 1 and bool(failed)
    print(f"{name}: {'caught' if caught else 'SURVIVED'} ({relative}), {len(failed)} tests fail")
    for line in failed[:4]:
        print(f"    {line}")
    if len(failed) > 4:
        print(f"    ... and {len(failed) - 4} more")
    if not caught and result.returncode not in (0, 1):
        print(result.stdout[-2000:], result.stderr[-2000:])
    return caught


def main(argv: list[str]) -> int:
    names = argv or list(BUGS)
    results = [run(name) for name in names]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
