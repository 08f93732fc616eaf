"""Hostile files: one test (or more) per item of issue 14, each with the attack in it.

Files with hostile names are made at test time. What a file says must never
run code, damage a file that is not the output, exhaust the machine, or reach
a terminal, XML or Python as anything but inert text. The bombs themselves are
run under memory limits in tests/test_resources.py.
"""
from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
import sys
import threading
import tokenize
from io import BytesIO
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT

NET = "input x: 3 x 8 x 8\noutput y = x -> conv(4, 3, p=1)\n"


def run(*args, cwd=ROOT, env=None, stdin=subprocess.DEVNULL, timeout=120):
    environment = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "convdsl", *map(str, args)], capture_output=True, cwd=cwd,
                          env=environment, stdin=stdin, timeout=timeout)


# 1. a coding declaration smuggled into the export ----------------------------------------------------------

UTF7_PAYLOAD = '# +AAo-open("pwned.txt", "w").write("x") +ACM-\n'


@pytest.mark.parametrize("folder, name", [(".", "coding=utf-7.cdsl"), ("coding:unicode_escape", "net.cdsl"),
                                          ("coding:utf-7", "coding=utf-7.cdsl"),
                                          (".", "x\\u000aopen('pwned.txt','w').cdsl")])
def test_the_export_never_takes_its_encoding_from_a_name_or_a_path(tmp_path, folder, name):
    (tmp_path / folder).mkdir(exist_ok=True)
    source = tmp_path / folder / name
    source.write_text(UTF7_PAYLOAD + NET)
    relative = os.path.join(folder, name)
    result = run("export", relative, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split(b"\n")
    # Python reads lines 1 and 2 for the encoding: both are convdsl's fixed text
    assert lines[0] == b"# -*- coding: utf-8 -*-"
    assert lines[1].startswith(b"# PyTorch model exported by convdsl ") and b"coding" not in lines[1]
    assert tokenize.detect_encoding(BytesIO(result.stdout).readline)[0] == "utf-8"
    tree = ast.parse(result.stdout)  # as Python reads the file: bytes, with their declared encoding
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert "open" not in names  # the payload never became code
    docstrings = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(
        node.value, str)]
    assert all("\n" not in text or "pwned" not in text for text in docstrings)


def test_verify_of_a_hostile_name_runs_no_code_from_it(tmp_path):
    pytest.importorskip("torch")
    folder = tmp_path / "coding:unicode_escape"
    folder.mkdir()
    (folder / "coding=utf-7.cdsl").write_text(UTF7_PAYLOAD + NET)
    result = run("verify", "coding:unicode_escape/coding=utf-7.cdsl", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not list(tmp_path.rglob("pwned.txt"))


# 2. pickles and an unsafe cache directory ------------------------------------------------------------------

# In a fresh process: any unpickling at all is recorded, then a file with a syntax error is checked (Lark
# describes it, so Lark's parser is built, from the cache or not).
_NO_PICKLE = """
import pickle, sys
def refuse(*args, **kwargs):
    open(sys.argv[2], "w").write("unpickled")
    raise RuntimeError("pickle used")
pickle.load = pickle.loads = refuse
pickle.Unpickler = refuse
import convdsl.cli
code = convdsl.cli.main(["check", "--format", "json", sys.argv[1]])
print("EXIT", code)
"""


def _check_in_fresh_process(path, cache_home, tmp, marker):
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home), "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", _NO_PICKLE, str(path), str(marker)], capture_output=True,
                          text=True, env=env, timeout=120)


@pytest.mark.parametrize("cache_state", ["missing", "not a directory", "private"])
def test_no_pickle_is_ever_loaded_and_nothing_lands_in_the_shared_temporary_directory(tmp_path, cache_state):
    bad = tmp_path / "bad.cdsl"
    bad.write_text("input x: 3 x 8 x 8\ny = x -> conv(4, 3\n")
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    cache_home = tmp_path / "cache"
    if cache_state == "not a directory":
        cache_home.write_text("")
    elif cache_state == "missing":
        cache_home = Path("relative/so/unusable")
    marker = tmp_path / "unpickled"
    for _ in range(2):  # the second run reads what the first saved
        result = _check_in_fresh_process(bad, cache_home, shared, marker)
        assert "EXIT 1" in result.stdout, result.stderr
        assert "E002" in result.stdout
    assert not marker.exists()
    assert list(shared.iterdir()) == []  # Lark's own cache (a pickle at a guessable name) is never written
    if cache_state == "private":
        saved = list((cache_home / "convdsl").iterdir())
        assert saved and all(p.suffix == ".marshal" for p in saved)


def _planted_cache(tmp_path, monkeypatch):
    from convdsl import cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    directory = tmp_path / "convdsl"
    return cache, directory


@pytest.mark.parametrize("attack", ["other owner", "group writable", "world writable", "symlink"])
def test_a_cache_directory_another_user_controls_is_not_used(tmp_path, monkeypatch, attack):
    from convdsl import frontend
    from convdsl.fastparse import FORMAT

    cache, directory = _planted_cache(tmp_path, monkeypatch)
    if attack == "symlink":
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir(mode=0o700)
        directory.symlink_to(elsewhere)
    else:
        directory.mkdir(mode=0o700)
    if attack == "other owner":
        if os.getuid() != 0:
            pytest.skip("making a directory of another user takes root")
        os.chown(directory, 65534, 65534)
    elif attack == "group writable":
        directory.chmod(0o770)
    elif attack == "world writable":
        directory.chmod(0o777)
    assert cache.cache_dir() is None
    cache.write_tables(frontend.grammar_text(), FORMAT, (FORMAT, "planted"))
    assert list(directory.iterdir()) == []  # nothing written through it ...
    # ... and a file planted there is not read
    (directory / cache._tables_file(frontend.grammar_text(), FORMAT)).write_bytes(
        __import__("marshal").dumps((frontend.grammar_text(), (FORMAT, "planted"))))
    assert cache.read_tables(frontend.grammar_text(), FORMAT) is None


def test_a_symlink_in_the_cache_is_never_written_through(tmp_path, monkeypatch):
    from convdsl import frontend
    from convdsl.fastparse import FORMAT

    cache, directory = _planted_cache(tmp_path, monkeypatch)
    directory.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    name = cache._tables_file(frontend.grammar_text(), FORMAT)
    (directory / name).symlink_to(victim)
    (directory / f".{name}.{os.getpid()}.tmp").symlink_to(victim)  # the temporary name too
    assert cache.read_tables(frontend.grammar_text(), FORMAT) is None  # a link is not read
    cache.write_tables(frontend.grammar_text(), FORMAT, (FORMAT, "data"))
    assert victim.read_text() == "precious"


def test_a_cache_file_of_another_user_or_holding_code_is_not_read(tmp_path, monkeypatch):
    import marshal

    from convdsl import frontend
    from convdsl.fastparse import FORMAT

    cache, directory = _planted_cache(tmp_path, monkeypatch)
    grammar = frontend.grammar_text()
    cache.write_tables(grammar, FORMAT, (FORMAT, "data"))
    assert cache.read_tables(grammar, FORMAT) == (FORMAT, "data")
    path = directory / cache._tables_file(grammar, FORMAT)
    path.write_bytes(marshal.dumps((grammar, (FORMAT, compile("1", "x", "eval")))))  # a code object
    assert cache.read_tables(grammar, FORMAT) is None
    if os.getuid() == 0:
        cache.write_tables(grammar, FORMAT, (FORMAT, "data"))
        os.chown(path, 65534, 65534)
        assert cache.read_tables(grammar, FORMAT) is None


# 3. output targets that are not regular files ---------------------------------------------------------------

@pytest.fixture
def net(tmp_path):
    path = tmp_path / "net.cdsl"
    path.write_text(NET)
    return path


@pytest.mark.skipif(os.getuid() != 0, reason="only root can replace /dev/null")
def test_dev_null_as_root_stays_a_device(net):
    before = os.stat("/dev/null")
    result = run("export", net, "-o", "/dev/null")
    assert result.returncode == 0, result.stderr
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino


@pytest.mark.parametrize("command", [("export",), ("render", "--format", "dot")])
def test_a_link_to_a_device_stays_a_link(tmp_path, net, command):
    link = tmp_path / "out.py"
    link.symlink_to("/dev/null")
    result = run(*command, net, "-o", link)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == "/dev/null"


def test_dev_stdout_is_written_into(net):
    result = run("export", net, "-o", "/dev/stdout")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"# -*- coding: utf-8 -*-")
    assert os.path.islink("/dev/stdout") or not os.path.exists("/dev/stdout")


def test_a_link_to_a_regular_file_keeps_the_link_and_replaces_the_file(tmp_path, net):
    real = tmp_path / "real.py"
    real.write_text("old")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    assert run("export", net, "-o", link).returncode == 0
    assert link.is_symlink() and real.read_text().startswith("# -*- coding: utf-8 -*-")


def test_a_fifo_is_written_into_not_replaced(tmp_path, net):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    try:
        result = run("export", net, "-o", fifo, timeout=60)
    finally:
        if reader.is_alive():  # unblock the reader if convdsl never opened the FIFO
            with open(fifo, "wb", opener=lambda p, f: os.open(p, f | os.O_NONBLOCK)):
                pass
        reader.join(10)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert received and received[0].startswith(b"# -*- coding: utf-8 -*-")


def test_a_fifo_no_one_reads_is_an_error_not_a_hang(tmp_path, net):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = run("export", net, "-o", fifo, timeout=60)
    assert result.returncode == 2
    assert b"no process is reading" in result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
