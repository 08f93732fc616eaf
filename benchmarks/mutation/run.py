"""Mutation testing of convdsl's core modules with mutmut 3, one module at a time (issue 18).

    pip install -e '.[test,torch,mutation]'
    nice -n 19 python benchmarks/mutation/run.py quoting names output     # modules by short name
    nice -n 19 python benchmarks/mutation/run.py --list                   # the modules and their tests

Each run copies the tree (without .git and node_modules) to a temporary folder, so the checkout
is never touched, writes the module's mutmut configuration into the copy's pyproject.toml (the
module to mutate, and the fast tests that exercise it: never the slow fuzz and packaging runs),
runs `mutmut run` with one worker, and prints mutmut's counts and the surviving mutants, each
with its diff (`mutmut show`). Too slow for CI: run it by hand after changing a core module, and
record the figures in benchmarks/mutation/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# short name: (file to mutate, test files (or node ids) that exercise it)
MODULES = {
    "quoting": ("convdsl/render/quoting.py", ["tests/test_quoting.py"]),
    "names": (
        "convdsl/export/names.py",
        ["tests/test_names.py", "tests/test_oracles.py::test_a_private_looking_layer_name_keeps_its_state_dict_key"],
    ),
    "output": ("convdsl/output.py", ["tests/test_output.py"]),
    "window": (
        "convdsl/layers/window.py",
        [
            "tests/test_rounding_reference.py",
            "tests/test_oracles.py::test_lost_rows_by_enumeration",
            "tests/test_oracles.py::test_lost_rows_the_issue_case",
            "tests/test_window.py",
        ],
    ),
    "symbolic": (
        "convdsl/symbolic.py",
        ["tests/test_symbolic_trust.py"]
        + [
            f"tests/test_sizes.py::{name}"
            for name in (
                "test_symbolic_shapes_are_expressions_that_match_numeric_inference",
                "test_symbolic_check_reports_constraints_not_a_verdict",
                "test_symbolic_summary_shows_expressions",
                "test_expression_arithmetic_matches_integers",
                "test_axes_that_interact_are_reported_as_coupled",
                "test_symbols_shared_by_two_inputs_move_together",
                "test_symbolic_unet_output_is_h_minus_184",
            )
        ],
    ),
    "sizes": ("convdsl/sizes.py", ["tests/test_sizes.py", "tests/test_oracles.py::test_sizes_agree_with_torch"]),
    "infer": ("convdsl/infer.py", ["tests/test_oracles.py", "tests/test_receptive_field.py", "tests/test_zoo.py"]),
    "layers": (
        "convdsl/layers/*",
        ["tests/test_catalogue_vs_torch.py", "tests/test_window_properties.py", "tests/test_oracles.py"],
    ),
    "lower": ("convdsl/lower/*", ["tests/test_build.py", "tests/test_readme_language.py", "tests/test_zoo.py"]),
}

# Prints every mutant not killed (survived, or no test reaches it) with its diff.
SHOW = """
from mutmut.__main__ import SourceFileMutationData, get_diff_for_mutant, status_by_exit_code, walk_mutatable_files
for path in walk_mutatable_files():
    data = SourceFileMutationData(path=path)
    data.load()
    for key, code in data.exit_code_by_key.items():
        status = status_by_exit_code[code]
        if status in ("survived", "no tests"):
            print(f"# {key}: {status}")
            print(get_diff_for_mutant(key, path=path))
"""

IGNORE = shutil.ignore_patterns(".git", "node_modules", ".venv", "__pycache__", "mutants", ".hypothesis", "*.vsix")


def configure(copy: Path, module: str, tests: list[str]) -> None:
    pyproject = copy / "pyproject.toml"
    text = pyproject.read_text()
    text += (
        "\n[tool.mutmut]\n"
        'source_paths = ["convdsl"]\n'
        f"only_mutate = {json.dumps([module])}\n"
        'also_copy = ["grammar", "examples", "README.md", "docs", "benchmarks", "editors"]\n'
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        'pytest_add_cli_args = ["-p", "no:randomly", "-m", "not slow"]\n'
    )
    pyproject.write_text(text)


def run(name: str, keep: Path | None) -> dict:
    module, tests = MODULES[name]
    folder = Path(tempfile.mkdtemp(prefix=f"convdsl-mutation-{name}-"))
    try:
        copy = folder / "tree"
        shutil.copytree(ROOT, copy, ignore=IGNORE)
        configure(copy, module, tests)
        # mutmut puts its copy (mutants/) first on the path; PYTHONPATH must not name another tree (nor
        # mutants/ itself, which does not exist yet when Python starts and would be cached as missing)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CONVDSL_UPDATE_GOLDEN")}
        mutmut = [sys.executable, "-m", "mutmut"]
        subprocess.run([*mutmut, "run", "--max-children", "1"], cwd=copy, env=env, check=False)
        subprocess.run([*mutmut, "export-cicd-stats"], cwd=copy, env=env, check=False)
        stats = json.loads((copy / "mutants" / "mutmut-cicd-stats.json").read_text())
        # the mutants no test noticed, each with its diff, in one process (`mutmut show` per mutant is slow)
        shown = subprocess.run([sys.executable, "-c", SHOW], cwd=copy, env=env, capture_output=True, text=True)
        survivors = [line[2:].split(":")[0] for line in shown.stdout.splitlines() if line.startswith("# ")]
        print(f"\n== {name} ({module}): {json.dumps(stats)}")
        print(shown.stdout, shown.stderr[-2000:] if shown.returncode else "")
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            (keep / f"{name}.json").write_text(json.dumps({"module": module, "stats": stats, "survivors": survivors}))
        return stats
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=", ".join(MODULES))
    parser.add_argument("--list", action="store_true", help="the modules and the tests each is run against")
    parser.add_argument("--keep", type=Path, help="a folder for each module's counts and survivors (JSON)")
    args = parser.parse_args(argv)
    if args.list or not args.modules:
        for name, (module, tests) in MODULES.items():
            print(f"{name:10} {module:28} {' '.join(tests)}")
        return 0
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    for name in args.modules:
        run(name, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
