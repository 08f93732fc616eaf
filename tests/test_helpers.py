"""The test suite's own helpers (conftest.py): a promised dependency fails rather than skips; the
unprivileged runner really drops root; the session's home and cache are temporary."""

from __future__ import annotations

import os
import tempfile

import pytest

import conftest
from conftest import as_unprivileged, require


def test_a_missing_module_skips_where_nothing_was_promised(monkeypatch):
    monkeypatch.delenv("CONVDSL_REQUIRE_NO_SUCH_MODULE_XYZ", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no_such_module_xyz is not installed"):
        require("no_such_module_xyz")


def test_a_missing_module_fails_where_ci_promised_it(monkeypatch):
    monkeypatch.setenv("CONVDSL_REQUIRE_NO_SUCH_MODULE_XYZ", "1")
    with pytest.raises(pytest.fail.Exception, match="required here"):
        require("no_such_module_xyz")


def test_a_present_module_is_returned():
    assert require("json").dumps([1]) == "[1]"


def test_ci_promises_every_module_of_its_extras():
    script = (conftest.ROOT / ".ci" / "run").read_text()
    for name in ("TORCH", "HYPOTHESIS", "PYGLS", "PYGMENTS", "BUILD", "ONNX"):
        assert f"CONVDSL_REQUIRE_{name}=1" in script, name


def test_as_unprivileged_runs_as_an_ordinary_user():
    uid = as_unprivileged(os.geteuid)
    assert uid != 0
    if os.geteuid() == 0:
        assert uid == conftest.NOBODY
    else:
        assert uid == os.geteuid()


def test_as_unprivileged_reports_an_exception():
    def fails():
        raise ValueError("from the child")

    with pytest.raises((AssertionError, ValueError), match="from the child"):
        as_unprivileged(fails)


def test_home_and_cache_are_the_sessions():
    temporary = os.path.realpath(tempfile.gettempdir())
    for variable in ("HOME", "XDG_CACHE_HOME"):
        assert os.path.realpath(os.environ[variable]).startswith(temporary), variable
    assert os.path.expanduser("~") == os.environ["HOME"]
