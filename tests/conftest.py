"""Shared test helpers."""

from __future__ import annotations

import difflib
import importlib
import os
import pickle
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def required(module: str) -> bool:
    """Whether CI promised `module`: CONVDSL_REQUIRE_<MODULE>=1 (CONVDSL_REQUIRE_TORCH, _PYGLS, ...)."""
    return os.environ.get(f"CONVDSL_REQUIRE_{module.split('.')[0].upper()}") == "1"


def require(module: str, *, install: str = "pip install -e '.[test,torch]'"):
    """Import `module` for the tests that need it, or skip them where it is missing, unless CI promised
    it (CONVDSL_REQUIRE_<MODULE>=1, set by .ci/run): then a missing module fails, never skips.

    Usable at module level (the whole file is skipped or fails) and inside a test.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        if required(module):
            pytest.fail(f"{module} is required here (CONVDSL_REQUIRE_{module.upper()}=1) but: {err}", pytrace=False)
        pytest.skip(f"{module} is not installed ({install})", allow_module_level=True)


@pytest.fixture
def root() -> Path:
    return ROOT


def check_json(*paths, cwd: Path = ROOT) -> dict[str, list[dict]]:
    """`convdsl check --format json` run as its own process, in `cwd` (where pyproject.toml is looked for):
    the diagnostics of each file checked, by the file's resolved path."""
    import json
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "convdsl", "check", "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        cwd=str(cwd),
        check=False,
    )
    return {str(Path(cwd, f["path"]).resolve()): f["diagnostics"] for f in json.loads(run.stdout)["files"]}


# -- golden files ------------------------------------------------------------------------------------

UPDATE = "CONVDSL_UPDATE_GOLDEN"


def check_golden(path: Path, actual: str | bytes) -> None:
    """actual must be the committed golden file at path, byte for byte.

    A missing golden fails, like a changed one, with the diff and the command that accepts it:
    CONVDSL_UPDATE_GOLDEN=<the file's path in the repository> rewrites that one file, and the test
    then fails once more showing what changed, so that no update passes unseen (run again without
    it); the other goldens are compared as usual. A value that is not a path, such as 1, fails:
    goldens are updated one at a time. CI refuses to run
    with the variable set (.ci/run).
    """
    name = path.resolve().relative_to(ROOT).as_posix()
    wanted = os.environ.get(UPDATE)
    data = actual.encode("utf-8") if isinstance(actual, str) else actual
    old = path.read_bytes() if path.exists() else None
    if wanted == name:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if old == data:
            return
        pytest.fail(
            f"{name} rewritten ({UPDATE} names it); review the change, then run without it:\n" + _diff(old, data, name),
            pytrace=False,
        )
    if wanted and "/" not in wanted:  # 1, true, all: not one file's path
        pytest.fail(f"{UPDATE}={wanted!r}: give the path of one golden file, such as {name}", pytrace=False)
    if old is None:
        pytest.fail(
            f"no golden {name}; review the output, then write it with {UPDATE}={name}:\n" + _diff(None, data, name),
            pytrace=False,
        )
    if old != data:
        pytest.fail(
            f"{name} differs from the output; if the change is intended, {UPDATE}={name}:\n" + _diff(old, data, name),
            pytrace=False,
        )


def _diff(old: bytes | None, new: bytes, name: str, limit: int = 120) -> str:
    def lines(data):
        return [] if data is None else data.decode("utf-8", "replace").splitlines(keepends=True)

    diff = list(difflib.unified_diff(lines(old), lines(new), f"{name} (committed)", f"{name} (output)"))
    shown = "".join(diff[:limit])
    return shown + (f"\n... {len(diff) - limit} more lines of diff" if len(diff) > limit else "")


NOBODY = 65534  # the unprivileged user and group of Debian, Ubuntu, Fedora and Alpine


@pytest.fixture
def open_tmp():
    """A temporary folder every user may enter (pytest's own are root's alone): for as_unprivileged."""
    folder = Path(tempfile.mkdtemp(prefix="convdsl-unprivileged-"))
    folder.chmod(0o755)
    yield folder
    for path in [folder, *folder.rglob("*")]:
        try:
            path.chmod(0o755 if path.is_dir() else 0o644)
        except OSError:
            pass
    shutil.rmtree(folder, ignore_errors=True)


def give_away(path: Path) -> None:
    """Make path belong to the user as_unprivileged runs as (a no-op when the tests are not root)."""
    if os.name == "posix" and os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)


def as_unprivileged(fn):
    """fn() with an ordinary user's rights, whoever runs the tests, so that permission tests need not
    skip under root (CI runs as root): called directly when the tests are not root, else in a forked
    child that drops to nobody first. Its result comes back pickled; an exception in it is re-raised
    as an AssertionError with its text. Call fn once as root first where it imports anything lazily:
    the child may not read the interpreter's own files (a Python under /root)."""
    if os.name != "posix" or os.geteuid() != 0:
        return fn()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            result = ("value", fn())
        except BaseException as err:
            result = ("error", f"{type(err).__name__}: {err}")
        try:
            data = pickle.dumps(result)
        except Exception as err:
            data = pickle.dumps(("error", f"unpicklable result: {err}"))
        view = memoryview(data)
        while view:
            view = view[os.write(write, view) :]
        os._exit(0)
    os.close(write)
    chunks = []
    with os.fdopen(read, "rb") as handle:
        for chunk in iter(lambda: handle.read(65536), b""):
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    assert status == 0 and chunks, f"the unprivileged child failed (status {status})"
    kind, value = pickle.loads(b"".join(chunks))
    if kind == "error":
        raise AssertionError(f"as an unprivileged user: {value}")
    return value


# -- hygiene: the tests write nothing into the source tree or the user's real home or cache -----------

_SESSION_HOME = Path(tempfile.gettempdir())  # replaced by pytest_configure


def pytest_configure(config):
    """Before any test module is imported: HOME, XDG_CACHE_HOME and hypothesis's folder (its database
    and Unicode tables, `.hypothesis/` in the working directory by default) all point into one
    temporary folder for the session, so that no test reaches the user's real home or cache."""
    global _SESSION_HOME
    _SESSION_HOME = Path(tempfile.mkdtemp(prefix="convdsl-tests-home-"))
    (_SESSION_HOME / "home").mkdir()
    os.environ["HOME"] = str(_SESSION_HOME / "home")
    os.environ["XDG_CACHE_HOME"] = str(_SESSION_HOME / "cache")
    try:
        from hypothesis import configuration

        configuration.set_hypothesis_home_dir(str(_SESSION_HOME / "hypothesis"))
    except ImportError:  # hypothesis is in the test extra; the tests that need it say so
        pass


def pytest_unconfigure(config):
    shutil.rmtree(_SESSION_HOME, ignore_errors=True)


# -- counts a test records for the closing summary (the fuzz run's: tests/test_fuzz.py) -----------------

_SUMMARY_LINES: list[str] = []


def pytest_runtest_logreport(report):
    """In the process that reports (pytest-xdist's controller, or the one process): a test's
    `record_property("fuzz", line)`, kept for the closing summary."""
    if report.when == "call":
        _SUMMARY_LINES.extend(str(value) for name, value in report.user_properties if name == "fuzz")


def pytest_terminal_summary(terminalreporter):
    for line in _SUMMARY_LINES:
        terminalreporter.write_line(line)


# What the source tree may gain while the tests run: Python's bytecode, what `npm ci` installs for
# the editor extension's own tests, and the caches of tools a developer runs meanwhile.
_MAY_APPEAR = {"__pycache__", "node_modules", ".ruff_cache", ".pytest_cache", ".mypy_cache"}


def _tree_files() -> set[str]:
    found = set()
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in _MAY_APPEAR and d not in (".git", ".venv")]
        relative = Path(folder).relative_to(ROOT)
        found.update(str(relative / name) for name in files)
        found.update(str(relative / name) + "/" for name in subfolders)
    return found


@pytest.fixture(scope="session", autouse=True)
def _hygiene():
    """HOME and XDG_CACHE_HOME point into the session's temporary folder; at the end, the source
    tree has no file it did not have at the start (a test that writes into the checkout fails here)."""
    before = _tree_files()
    yield
    home, cache = os.environ.get("HOME", ""), os.environ.get("XDG_CACHE_HOME", "")
    new = sorted(_tree_files() - before)
    assert home.startswith(str(_SESSION_HOME)) and cache.startswith(str(_SESSION_HOME)), (home, cache)
    assert not new, f"the tests wrote into the source tree: {new[:20]}"
