"""Shared test helpers."""

from __future__ import annotations

import importlib
import os
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


# -- hygiene: the tests write nothing into the source tree or the user's real home or cache -----------

# Made at import, before any test module imports hypothesis's database or convdsl's cache: HOME,
# XDG_CACHE_HOME and hypothesis's folder (its database and Unicode tables, `.hypothesis/` in the
# working directory by default) all point into one temporary folder for the session.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="convdsl-tests-home-"))
os.environ["HOME"] = str(_SESSION_HOME / "home")
os.environ["XDG_CACHE_HOME"] = str(_SESSION_HOME / "cache")
(_SESSION_HOME / "home").mkdir()
try:
    from hypothesis import configuration as _hypothesis_configuration

    _hypothesis_configuration.set_hypothesis_home_dir(str(_SESSION_HOME / "hypothesis"))
except ImportError:  # hypothesis is in the test extra; the tests that need it say so
    pass

# What the source tree may gain while the tests run: Python's bytecode, and what `npm ci` installs
# for the editor extension's own tests.
_MAY_APPEAR = {"__pycache__", "node_modules"}


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
    shutil.rmtree(_SESSION_HOME, ignore_errors=True)
    assert home.startswith(str(_SESSION_HOME)) and cache.startswith(str(_SESSION_HOME)), (home, cache)
    assert not new, f"the tests wrote into the source tree: {new[:20]}"
