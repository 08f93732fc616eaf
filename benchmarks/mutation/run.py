"""Mutation testing of convdsl's core modules with mutmut 3, one module at a time (issue 18).

    pip install -e '.[test,torch,mutation]'
    nice -n 19 python benchmarks/mutation/run.py quoting names output     # modules by short name
    nice -n 19 python benchmarks/mutation/run.py --list                   # the modules and their tests
    nice -n 19 python benchmarks/mutation/run.py infer --sample 150 --seed 18  # a random sample of the mutants
    nice -n 19 python benchmarks/mutation/run.py window --mutants NAME ...     # only these mutants (re-checks)

Each run copies the tree (without .git and node_modules) to a temporary folder, so the checkout
is never touched, writes the module's mutmut configuration into the copy's pyproject.toml (the
module to mutate, and the fast tests that exercise it: never the slow fuzz and packaging runs),
runs `mutmut run` with one worker, and prints mutmut's counts and the surviving mutants, each
with its diff (`mutmut show`). Too slow for CI: run it by hand after changing a core module, and
record the figures in benchmarks/mutation/RESULTS.md.

`--sample N --seed S` runs N mutants drawn at random (Python's `random.Random(S).sample` over the
sorted mutant names) instead of all of them; the counts printed are then those of the sample only,
and must be reported as a sample. `--workdir` keeps the copy (with mutmut's results) for inspection.
"""

from __future__ import annotations

import argparse
import json
import os
import random
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
        ["tests/test_symbolic_trust.py", "tests/test_poly_text.py"]
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
    "infer": (
        "convdsl/infer.py",
        [
            "tests/test_oracles.py",
            "tests/test_receptive_field.py",
            "tests/test_zoo.py",
            "tests/test_fixes.py",
            "tests/test_provenance.py",
            "tests/test_root_causes.py",
            # what inference reports itself, read whole: an empty output, counts past 2^53, a merge's shapes
            "tests/test_infer_reports.py",
        ],
    ),
    "layers": (
        "convdsl/layers/*",
        [
            "tests/test_catalogue_vs_torch.py",
            "tests/test_window_properties.py",
            "tests/test_oracles.py",
            "tests/test_window.py",
            "tests/test_rounding_reference.py",
            # the export (`to_torch`, the code expressions of pyexpr) run by PyTorch and held against inference
            "tests/test_export.py",
            # the codes and lines each diagnostic fixture expects, written by hand in the fixture
            "tests/test_fixtures.py",
            "tests/test_layer_headings.py",
            "tests/test_layer_diagnostics.py",
            "tests/test_layer_semantics.py",
            "tests/test_pyexpr_text.py",
        ],
    ),
    "lower": (
        "convdsl/lower/*",
        [
            "tests/test_build.py",
            "tests/test_zoo.py",
            "tests/test_repeat_index.py",
            "tests/test_block_arithmetic.py",
            "tests/test_tie_in_blocks.py",
            "tests/test_param.py",
            # weight sharing against plain PyTorch models that call one module twice
            "tests/test_reuse.py",
            # each example's export run by PyTorch, layer by layer; the diagnostic fixtures' codes by hand
            "tests/test_export.py",
            "tests/test_fixtures.py",
            # the language's forms that lowering reads: merges written first, tensors as first arguments,
            # input options, blocks without parentheses (hand arithmetic and nn.MultiheadAttention)
            "tests/test_merge_form.py",
            "tests/test_tensor_first.py",
            "tests/test_input_options.py",
            "tests/test_block_no_parens.py",
            # lowering's diagnostics in full (code, place, message, label, help, notes) and its rules (settings,
            # forward references, what a reuse copies, bindings shared), by hand, PyTorch and enumeration
            "tests/test_lowering_diagnostics.py",
            "tests/test_lowering_errors.py",
            "tests/test_lowering_rules.py",
            "tests/test_bad_input.py::test_blocks_nested_past_pythons_stack_are_reported_not_raised",
            # the sizes a block reads (`in.shape[2]`), noted by lowering, against PyTorch at each size
            "tests/test_sizes_shape_reads.py",
            # a repeat's copies stamped, against lowering every copy afresh
            "tests/test_lowering_stamp.py",
        ],
    ),
    # stamping alone: its one comparison with lowering every copy afresh (lower/* above runs it too)
    "stamping": ("convdsl/lower/stamping.py", ["tests/test_lowering_stamp.py"]),
    # an edit analysed from the version before: its comparison with the whole analysis, and the server's use
    "incremental-edit": ("convdsl/incremental/edit.py", ["tests/test_incremental.py"]),
    "incremental-patch": ("convdsl/incremental/patch.py", ["tests/test_incremental.py"]),
    "incremental-inference": ("convdsl/incremental/inference.py", ["tests/test_incremental.py"]),
}

# Prints every mutant not killed (survived, or no test reaches it) with its diff.
SHOW = """
from mutmut.__main__ import SourceFileMutationData, get_diff_for_mutant, status_by_exit_code, walk_mutatable_files
for path in walk_mutatable_files():
    data = SourceFileMutationData(path=path)
    data.load()
    for key, code in data.exit_code_by_key.items():
        status = status_by_exit_code[code]
        if status in ("survived", "no tests", "suspicious"):
            print(f"# {key}: {status}")
            print(get_diff_for_mutant(key, path=path))
"""

# Prints every mutant's name (mutmut's generation, without running anything), one a line.
NAMES = """
from pathlib import Path
from mutmut.__main__ import mutate_file_contents
from mutmut.utils.file_utils import walk_mutatable_files
from mutmut.utils.format_utils import get_mutant_name
for path in sorted(walk_mutatable_files()):
    for name in mutate_file_contents(str(path), path.read_text(), None, None).mutant_names:
        print(get_mutant_name(path, name))
"""

# The counts of the named mutants only (mutmut's own totals count every mutant, run or not).
COUNT = """
import json, sys
from collections import Counter
from mutmut.__main__ import SourceFileMutationData, status_by_exit_code, walk_mutatable_files
wanted = set(sys.stdin.read().split())
counts = Counter()
for path in walk_mutatable_files():
    data = SourceFileMutationData(path=path)
    data.load()
    for key, code in data.exit_code_by_key.items():
        if key in wanted:
            counts[status_by_exit_code[code]] += 1
print(json.dumps(counts))
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
        'pytest_add_cli_args = ["-p", "no:randomly", "-n", "0", "-m", "not slow"]\n'
        # a mutant that makes a test loop is stopped after 2 x 2 x (its tests' time under mutmut's tracing,
        # slower than a plain run, + 20 s) of CPU time, not mutmut's default 2 x 15 x: on a shared machine
        # the CPU that hanging mutants burn is the cost. mutmut also stops it after half that in wall-clock
        # time: with its default 1 s constant, a mutant whose tests take 0.1 s had 2.2 s of wall clock to start
        # pytest and import torch, and on a loaded machine most such mutants were recorded as timeouts
        # (benchmarks/mutation/RESULTS.md, 3 Dec 2026)
        "timeout_multiplier = 2.0\n"
        "timeout_constant = 20.0\n"
        # workers forked from the process that ran the tests inherit torch's thread pool without its threads
        # and hang on its lock (no CPU used, so no timeout); mutmut's fork server is fork-safe for torch
        'process_isolation = "forkserver"\n'
    )
    pyproject.write_text(text)


def run(
    name: str,
    keep: Path | None,
    sample: int | None = None,
    seed: int = 18,
    only: list[str] | None = None,
    workdir: Path | None = None,
) -> dict:
    module, tests = MODULES[name]
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"convdsl-mutation-{name}-", dir=workdir))
    try:
        copy = folder / "tree"
        shutil.copytree(ROOT, copy, ignore=IGNORE)
        configure(copy, module, tests)
        # mutmut puts its copy (mutants/) first on the path; PYTHONPATH must not name another tree (nor
        # mutants/ itself, which does not exist yet when Python starts and would be cached as missing)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CONVDSL_UPDATE_GOLDEN")}
        mutmut = [sys.executable, "-m", "mutmut"]
        chosen = list(only or [])
        if sample is not None:
            listed = subprocess.run([sys.executable, "-c", NAMES], cwd=copy, env=env, capture_output=True, text=True)
            names = sorted(listed.stdout.split())
            chosen = random.Random(seed).sample(names, min(sample, len(names)))
            print(f"== {name}: a sample of {len(chosen)} of {len(names)} mutants (seed {seed})")
        subprocess.run([*mutmut, "run", "--max-children", "1", *sorted(chosen)], cwd=copy, env=env, check=False)
        if chosen:
            counted = subprocess.run(
                [sys.executable, "-c", COUNT],
                cwd=copy,
                env=env,
                input="\n".join(chosen),
                capture_output=True,
                text=True,
            )
            stats = {"sampled": len(chosen), **json.loads(counted.stdout)}
        else:
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
        if workdir is None:
            shutil.rmtree(folder, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=", ".join(MODULES))
    parser.add_argument("--list", action="store_true", help="the modules and the tests each is run against")
    parser.add_argument("--keep", type=Path, help="a folder for each module's counts and survivors (JSON)")
    parser.add_argument("--sample", type=int, help="run only this many mutants, drawn at random")
    parser.add_argument("--seed", type=int, default=18, help="the seed of --sample (default 18)")
    parser.add_argument("--mutants", nargs="+", help="run only these mutants (names as mutmut prints them)")
    parser.add_argument("--workdir", type=Path, help="keep the copy (and mutmut's results) in this folder")
    args = parser.parse_args(argv)
    if args.list or not args.modules:
        for name, (module, tests) in MODULES.items():
            print(f"{name:10} {module:28} {' '.join(tests)}")
        return 0
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    for name in args.modules:
        run(name, args.keep, args.sample, args.seed, args.mutants, args.workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
