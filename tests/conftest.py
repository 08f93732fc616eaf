"""Shared test helpers."""

from __future__ import annotations

import importlib
import os
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
