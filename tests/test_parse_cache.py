"""The parse tables kept in the user's cache (convdsl/cache.py, frontend.fast_parser).

A valid file is checked without importing Lark once the tables are cached; a
missing, damaged or foreign cache file, or no usable cache directory, only costs
time: the result is the same.
"""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys

import pytest
from conftest import EXAMPLES

from convdsl import cache, frontend
from convdsl.fastparse import FORMAT, Tables

# In a fresh process: check a file, then say which of the heavy modules were imported.
_CHECK = (
    "import sys, convdsl.cli; code = convdsl.cli.main(['check', '--format', 'json', sys.argv[1]]); "
    "print('IMPORTED', sorted(m for m in ('lark', 'networkx', 'torch', 'numpy') if m in sys.modules))"
)


def _check(path, cache_home) -> tuple[str, list[str]]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    result = subprocess.run(
        [sys.executable, "-c", _CHECK, str(path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert "Traceback" not in result.stderr, result.stderr
    report, _, imported = result.stdout.rpartition("IMPORTED ")
    return report, eval(imported)


def _tables_files(cache_home) -> list:
    directory = cache_home / "convdsl"
    return sorted(directory.glob("parser-*.marshal")) if directory.exists() else []


def test_a_valid_file_is_checked_without_lark_once_the_tables_are_cached(tmp_path):
    first, imported_first = _check(EXAMPLES / "resnet50.cdsl", tmp_path)
    assert "lark" in imported_first  # no tables yet: they are taken from Lark, and saved
    assert len(_tables_files(tmp_path)) == 1
    second, imported_second = _check(EXAMPLES / "resnet50.cdsl", tmp_path)
    assert imported_second == []  # not lark, networkx, torch or numpy
    assert second == first  # the same report either way


def test_a_file_with_errors_is_still_described_by_lark(tmp_path):
    bad = tmp_path / "bad.cdsl"
    bad.write_text("input x: 3 x 8 x 8\ny = x -> conv(4, 3\n")
    _check(EXAMPLES / "lenet.cdsl", tmp_path)  # tables cached
    report, imported = _check(bad, tmp_path)
    assert "lark" in imported
    assert "E002" in report and "never closed" in report


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"\x00garbage",
        marshal.dumps(("another grammar", ())),
        marshal.dumps((frontend.grammar_text(), (FORMAT, 1, 2))),
    ],
)
def test_a_damaged_cache_file_is_replaced(tmp_path, damage):
    expected, _ = _check(EXAMPLES / "resnet50.cdsl", tmp_path / "clean")
    _check(EXAMPLES / "lenet.cdsl", tmp_path)
    (path,) = _tables_files(tmp_path)
    path.write_bytes(damage)
    report, imported = _check(EXAMPLES / "resnet50.cdsl", tmp_path)
    assert report.replace(str(tmp_path), "") == expected.replace(str(tmp_path / "clean"), "")
    assert "lark" in imported  # the tables were made again ...
    _, imported = _check(EXAMPLES / "resnet50.cdsl", tmp_path)
    assert imported == []  # ... and saved again


def test_no_usable_cache_directory_only_costs_time(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    report, imported = _check(EXAMPLES / "resnet50.cdsl", blocker)
    assert json.loads(report)["errors"] == 0 and json.loads(report)["files"][0]["network"] == "resnet50"
    assert "lark" in imported


def test_tables_are_read_only_for_the_same_grammar(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    grammar = frontend.grammar_text()
    cache.write_tables(grammar, FORMAT, (FORMAT, "anything"))
    assert cache.read_tables(grammar, FORMAT) == (FORMAT, "anything")
    assert cache.read_tables(grammar + "\n// changed\n", FORMAT) is None
    assert cache.read_tables(grammar, FORMAT + 1) is None
    monkeypatch.setattr(cache, "_lark_identity", lambda: "another Lark")  # upgraded, or another environment's
    assert cache.read_tables(grammar, FORMAT) is None
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (path,) = _tables_files(tmp_path)
    assert path.stat().st_mode & 0o077 == 0  # private to the user
    assert not [p for p in (tmp_path / "convdsl").iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    "data",
    [
        None,
        (),
        (FORMAT,) * 8,
        (FORMAT + 1, 0, 0, (), (), frozenset(), (), ()),
        (FORMAT, 0, 0, ({},), (), frozenset(), (5,), ()),
    ],
)
def test_damaged_tables_are_refused(data):
    with pytest.raises(ValueError):
        Tables.from_data(data)


def test_the_cache_keeps_a_bounded_number_of_table_files(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    directory = tmp_path / "convdsl"
    directory.mkdir()
    for i in range(cache.KEPT_FILES + 5):  # files of other environments, oldest first
        old = directory / f"parser-{FORMAT}-311-{i:08x}.marshal"
        old.write_bytes(b"")
        os.utime(old, ns=(i * 10**9, i * 10**9))
    (directory / "grammar-0123.lark").write_bytes(b"")  # not a table file: left alone
    cache.write_tables(frontend.grammar_text(), FORMAT, (FORMAT, "anything"))
    left = _tables_files(tmp_path)
    assert len(left) == cache.KEPT_FILES
    assert cache.read_tables(frontend.grammar_text(), FORMAT) == (FORMAT, "anything")  # the new one stays
    assert (directory / f"parser-{FORMAT}-311-{cache.KEPT_FILES + 4:08x}.marshal") in left  # the newest old ones
    assert (directory / f"parser-{FORMAT}-311-{0:08x}.marshal") not in left
    assert (directory / "grammar-0123.lark").exists()
