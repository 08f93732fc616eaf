"""convdsl.output.write_atomic, which every generator writes through, and the CLI's use of it.

All or nothing: a failure at any moment leaves the old file (or none) and no
temporary file; an input is never overwritten, however it is named; a name
the system refuses is an OutputError (exit 2 from the CLI), never a crash.
"""

from __future__ import annotations

import os
import stat

import pytest

from conftest import as_unprivileged, give_away
from convdsl import cli
from convdsl.output import OutputError, write_atomic

NET = "input x: 3 x 8 x 8\noutput y = x -> conv(4, 3, p=1)\n"


def entries(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_writes_bytes_and_text(tmp_path):
    write_atomic(tmp_path / "a.bin", b"\x00\xff")
    write_atomic(str(tmp_path / "b.txt"), "ünïcødé\n")
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\xff"
    assert (tmp_path / "b.txt").read_bytes() == "ünïcødé\n".encode()
    assert entries(tmp_path) == ["a.bin", "b.txt"]


def test_replaces_a_file_whole(tmp_path):
    target = tmp_path / "out.svg"
    target.write_text("old " * 1000)
    write_atomic(target, "new")
    assert target.read_text() == "new" and entries(tmp_path) == ["out.svg"]


def test_a_relative_name_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_atomic("plain.dot", "digraph {}")
    assert (tmp_path / "plain.dot").read_text() == "digraph {}"


@pytest.mark.parametrize("stage", ["write", "fsync", "chmod", "replace"])
@pytest.mark.parametrize(
    "error",
    [OSError(28, "No space left on device"), KeyboardInterrupt(), RuntimeError("bug")],
    ids=["disk full", "interrupt", "bug"],
)
def test_a_failure_at_any_stage_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, stage, error):
    target = tmp_path / "out.svg"
    target.write_text("old")

    def fail(*args, **kwargs):
        raise error

    if stage == "write":
        real_fdopen = os.fdopen

        class Failing:
            def __init__(self, handle):
                self.handle = handle

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.handle.close()

            def write(self, data):
                self.handle.write(data[: len(data) // 2])  # half of it reaches the disk, then it fails
                raise error

        monkeypatch.setattr(os, "fdopen", lambda fd, mode: Failing(real_fdopen(fd, mode)))
    else:
        monkeypatch.setattr(os, stage, fail)
    expected = OutputError if isinstance(error, OSError) else type(error)
    with pytest.raises(expected) as raised:
        write_atomic(target, "new content " * 100)
    if expected is OutputError:
        assert "No space left on device" in str(raised.value)
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert entries(tmp_path) == ["out.svg"]


def test_every_byte_is_on_disk_before_fsync_and_before_the_rename(tmp_path, monkeypatch):
    """fsync makes durable only what the system has: Python's buffer must be flushed into the file
    before it (a file renamed into place after a power cut would otherwise be empty or cut short)."""
    target = tmp_path / "out.svg"
    # smaller than Python's buffer (8 KiB), so that it all sits in the buffer until flushed
    payload = ("<svg>" + "x" * 1000 + "</svg>").encode()
    seen = {}
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        seen["at fsync"] = os.pread(fd, len(payload) + 1, 0)
        return real_fsync(fd)

    def replace(src, dst):
        with open(src, "rb") as handle:
            seen["at rename"] = handle.read()
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_atomic(target, payload)
    assert seen == {"at fsync": payload, "at rename": payload}
    assert target.read_bytes() == payload


@pytest.mark.parametrize("crash_at", ["mkstemp", "fdopen", "write", "flush", "fsync", "chmod", "replace", "after"])
def test_a_crash_at_each_step_leaves_old_or_new_never_partial(tmp_path, monkeypatch, crash_at):
    """At every step of the write, the target on disk is the old file whole, or the new one whole;
    a crash at that step (an exception there, the process's last act) leaves one of them and, where
    the writer could still clean up, no temporary file."""
    import tempfile

    target = tmp_path / "out.svg"
    old, new = b"old " * 5000, b"new " * 7000
    target.write_bytes(old)
    states = []

    def look():
        states.append(target.read_bytes())

    class Crash(Exception):
        pass

    def wrap(owner, name):
        real = getattr(owner, name)

        def step(*args, **kwargs):
            look()
            if crash_at == name:
                raise Crash(name)
            result = real(*args, **kwargs)
            look()
            return result

        monkeypatch.setattr(owner, name, step)

    wrap(tempfile, "mkstemp")
    wrap(os, "fsync")
    wrap(os, "chmod")
    wrap(os, "replace")
    real_fdopen = os.fdopen

    class Handle:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def fileno(self):
            return self.handle.fileno()

        def write(self, data):
            look()
            if crash_at == "write":
                self.handle.write(data[: len(data) // 3])
                raise Crash("write")
            return self.handle.write(data)

        def flush(self):
            look()
            if crash_at == "flush":
                raise Crash("flush")
            return self.handle.flush()

    def fdopen(fd, mode):
        if crash_at == "fdopen":
            os.close(fd)
            raise Crash("fdopen")
        return Handle(real_fdopen(fd, mode))

    monkeypatch.setattr(os, "fdopen", fdopen)
    if crash_at == "after":
        write_atomic(target, new)
    else:
        with pytest.raises(Crash):
            write_atomic(target, new)
    monkeypatch.undo()
    look()
    assert states and all(state in (old, new) for state in states)
    assert states[-1] == (new if crash_at == "after" else old)
    assert entries(tmp_path) == ["out.svg"]


def test_no_file_at_all_after_a_failure_on_a_new_name(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "replace", lambda *a, **k: (_ for _ in ()).throw(OSError(5, "Input/output error")))
    with pytest.raises(OutputError, match="Input/output error"):
        write_atomic(tmp_path / "new.svg", "x")
    monkeypatch.undo()
    assert entries(tmp_path) == []


def test_refuses_to_overwrite_an_input_however_it_is_named(tmp_path, monkeypatch):
    source = tmp_path / "net.cdsl"
    source.write_text(NET)
    (tmp_path / "sub").mkdir()
    os.symlink(source, tmp_path / "link.cdsl")
    os.link(source, tmp_path / "hard.cdsl")
    monkeypatch.chdir(tmp_path)
    for name in (source, "net.cdsl", "./net.cdsl", "sub/../net.cdsl", tmp_path / "link.cdsl", "hard.cdsl"):
        with pytest.raises(OutputError, match="refusing to overwrite the input file"):
            write_atomic(name, "clobbered", inputs=[str(source)])
    with pytest.raises(OutputError, match="refusing to overwrite the input file"):
        write_atomic(source, "clobbered", inputs=["link.cdsl"])  # the input named through a link
    assert source.read_text() == NET


@pytest.mark.parametrize(
    "name, words",
    [
        ("", "is a directory"),
        ("missing/out.svg", "does not exist"),
        ("a\0b.svg", "NUL byte"),
        ("n" * 300 + ".svg", "File name too long"),
    ],
    ids=["a directory", "a missing folder", "nul byte", "too long"],
)
def test_unusable_names_are_output_errors(tmp_path, name, words):
    with pytest.raises(OutputError, match=words):
        write_atomic(f"{tmp_path}/{name}", "x")
    assert entries(tmp_path) == []


def test_a_name_near_the_systems_limit_still_works(tmp_path):
    target = tmp_path / ("n" * 250 + ".svg")
    write_atomic(target, "x")
    assert target.read_text() == "x" and entries(tmp_path) == [target.name]


def test_permissions_new_files_follow_the_umask_replaced_files_keep_theirs(tmp_path):
    previous = os.umask(0o027)
    try:
        write_atomic(tmp_path / "new.svg", "x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "new.svg").stat().st_mode) == 0o640
    kept = tmp_path / "kept.py"
    kept.write_text("old")
    kept.chmod(0o600)
    write_atomic(kept, "new")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600 and kept.read_text() == "new"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_read_only_folder_is_an_output_error(open_tmp):
    """As an ordinary user (root writes anywhere: see conftest.as_unprivileged)."""
    folder = open_tmp / "ro"
    folder.mkdir()
    give_away(folder)
    folder.chmod(0o500)

    def attempt():
        try:
            write_atomic(folder / "out.svg", "x")
        except OutputError as err:
            return str(err)
        return None

    message = as_unprivileged(attempt)
    assert message is not None and "cannot write in" in message, message
    assert entries(folder) == []


# The CLI's generators: render and export --------------------------------------------


@pytest.fixture
def net(tmp_path):
    path = tmp_path / "net.cdsl"
    path.write_text(NET)
    return path


GENERATORS = {
    "render": lambda src, out: ["render", str(src), "-o", str(out), "--format", "dot"],
    "export": lambda src, out: ["export", str(src), "-o", str(out)],
}


@pytest.mark.parametrize("generator", GENERATORS)
def test_cli_generators_leave_the_old_output_when_they_fail(net, tmp_path, monkeypatch, capsys, generator):
    """A bug in the middle of generating, and a disk that fills while writing: the old output stays."""
    import convdsl.export
    import convdsl.render

    out = tmp_path / "out.txt"
    out.write_text("old output")

    def crash(*args, **kwargs):
        raise RuntimeError("a bug half way through")

    monkeypatch.setattr(convdsl.render, "make_diagram", crash)  # every format goes through it
    monkeypatch.setattr(convdsl.export, "export_pytorch", crash)
    assert cli.main(GENERATORS[generator](net, out)) == 3
    assert "internal error" in capsys.readouterr().err
    monkeypatch.undo()
    assert out.read_text() == "old output" and entries(tmp_path) == ["net.cdsl", "out.txt"]

    monkeypatch.setattr(os, "replace", lambda *a, **k: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    assert cli.main(GENERATORS[generator](net, out)) == 2
    assert "No space left on device" in capsys.readouterr().err
    monkeypatch.undo()
    assert out.read_text() == "old output" and entries(tmp_path) == ["net.cdsl", "out.txt"]

    assert cli.main(GENERATORS[generator](net, out)) == 0
    assert out.read_text() != "old output" and entries(tmp_path) == ["net.cdsl", "out.txt"]


@pytest.mark.parametrize("generator", GENERATORS)
@pytest.mark.parametrize("target", ["the file", "an include", "a link to it", "a bad name", "a directory"])
def test_cli_generators_refuse_unusable_outputs_with_exit_2(tmp_path, capsys, generator, target):
    lib = tmp_path / "lib.cdsl"
    lib.write_text("block cbr(c) = conv(c, 3, p=1, bias=false) -> bn -> relu\n")
    net = tmp_path / "net.cdsl"
    net.write_text('include "lib.cdsl"\n' + NET.replace("conv(4, 3, p=1)", "cbr(4)"))
    os.symlink(net, tmp_path / "link.py")
    before = {p: p.read_bytes() for p in (lib, net)}
    out = {
        "the file": net,
        "an include": lib,
        "a link to it": tmp_path / "link.py",
        "a bad name": tmp_path / ("n" * 300),
        "a directory": tmp_path,
    }[target]
    code = cli.main(GENERATORS[generator](net, out))
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "internal error" not in err, err
    assert {p: p.read_bytes() for p in (lib, net)} == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# Targets that are not regular files, in this process (test_security.py runs them through the CLI) -----


def test_a_fifo_is_written_into_whole_and_stays_a_fifo(tmp_path):
    import threading
    import time

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    payload = b"digraph {}\n" * 20_000  # more than a pipe holds at once: written in several pieces
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open before the writer, so that it finds a reader
    received = bytearray()

    def read():
        os.set_blocking(reader, True)
        while True:
            chunk = os.read(reader, 65536)
            if chunk:
                received.extend(chunk)
            elif received:  # the writer has closed its end
                return
            else:  # the writer has not opened it yet: a FIFO without writers reads as empty
                time.sleep(0.005)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        write_atomic(fifo, payload)
    finally:
        thread.join(timeout=30)
        os.close(reader)
    assert bytes(received) == payload
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and entries(tmp_path) == ["pipe"]


def test_a_fifo_no_one_reads_is_an_output_error_at_once(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match=r"pipe: no process is reading this FIFO"):
        write_atomic(fifo, "x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_special_file_that_is_an_input_is_refused(tmp_path):
    # (not /dev/null itself: in some containers it is a regular file, which this would replace)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="refusing to overwrite the input file"):
        write_atomic(fifo, "x", inputs=[fifo])
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_link_stays_a_link_and_the_file_it_names_is_replaced(tmp_path):
    real = tmp_path / "real.svg"
    real.write_text("old")
    link = tmp_path / "link.svg"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real) and real.read_text() == "new"
    assert entries(tmp_path) == ["link.svg", "real.svg"]


@pytest.mark.parametrize("kind,words", [(stat.S_IFBLK, "is a block device"), (stat.S_IFSOCK, "is not a regular file")])
def test_block_devices_and_sockets_are_refused(tmp_path, monkeypatch, kind, words):
    target = tmp_path / "device"
    real_stat = os.stat

    def fake_stat(path, *args, **kwargs):
        if str(path) == str(target):
            return os.stat_result((kind | 0o600, 1, 1, 1, 0, 0, 0, 0, 0, 0))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", fake_stat)
    with pytest.raises(OutputError, match=f"device: {words}; refusing to write to it, give a file name"):
        write_atomic(target, "x")
    monkeypatch.undo()
    assert entries(tmp_path) == []


def test_a_directory_and_a_missing_folder_are_output_errors(tmp_path):
    with pytest.raises(OutputError, match=r"is a directory; give a file name"):
        write_atomic(tmp_path, "x")
    with pytest.raises(OutputError, match=r"the directory .*nowhere does not exist"):
        write_atomic(tmp_path / "nowhere" / "out.svg", "x")


# What the mutation run found unchecked (benchmarks/mutation/RESULTS.md) ------------------------------


def test_the_messages_say_exactly_why(tmp_path):
    with pytest.raises(OutputError) as raised:
        write_atomic(tmp_path / "a\0b.svg", "x")
    assert str(raised.value) == f"{tmp_path}/a\0b.svg: not a usable file name: it contains a NUL byte"


def test_with_no_umask_a_new_file_is_readable_and_writable_by_all(tmp_path):
    previous = os.umask(0)
    try:
        write_atomic(tmp_path / "new.svg", "x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "new.svg").stat().st_mode) == 0o666  # what open() gives: rw for all


def test_an_input_is_refused_even_where_the_system_cannot_compare_the_files(tmp_path, monkeypatch):
    """os.path.samefile can fail (a file that vanishes, a permission); the names are then compared."""
    source = tmp_path / "net.cdsl"
    source.write_text(NET)

    def cannot(a, b):
        raise PermissionError(13, "Permission denied")

    other = tmp_path / "other.svg"
    other.write_text("old")  # both exist: samefile is asked, and fails
    monkeypatch.setattr(os.path, "samefile", cannot)
    with pytest.raises(OutputError, match="refusing to overwrite the input file"):
        write_atomic(source, "x", inputs=[source])
    write_atomic(other, "x", inputs=[source])  # another name is still written
    assert other.read_text() == "x" and source.read_text() == NET


def test_a_fifo_is_opened_without_waiting_and_not_inherited(tmp_path, monkeypatch):
    """O_NONBLOCK: a FIFO no process reads fails at once; O_CLOEXEC: a program started meanwhile
    (another thread's subprocess) does not keep the FIFO open."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    flags = []
    real_open = os.open

    def spy(path, flag, *args, **kwargs):
        flags.append(flag)
        return real_open(path, flag, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    with pytest.raises(OutputError):
        write_atomic(fifo, "x")
    assert flags and flags[0] & os.O_NONBLOCK and flags[0] & os.O_CLOEXEC and flags[0] & os.O_WRONLY


@pytest.mark.parametrize("stage", ["open", "write"])
def test_a_fifo_that_fails_is_an_output_error_with_the_systems_words(tmp_path, monkeypatch, stage):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        failure = OSError(13, "Permission denied") if stage == "open" else OSError(32, "Broken pipe")

        def fail(*args, **kwargs):
            raise failure

        monkeypatch.setattr(os, stage, fail)
        with pytest.raises(OutputError) as raised:
            write_atomic(fifo, "x")
        monkeypatch.undo()
    finally:
        os.close(reader)
    assert str(raised.value) == f"{fifo}: cannot write: {failure.strerror}"


def test_the_temporary_file_is_hidden_beside_the_target_and_names_it(tmp_path, monkeypatch):
    """Beside the target, so that the rename is atomic (one file system); hidden, and named after the
    target (its first 64 characters, so that a name near the system's limit still fits)."""
    name = "n" * 100 + ".svg"
    seen = []
    real_replace = os.replace

    def replace(src, dst):
        seen.append(src)
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    write_atomic(tmp_path / name, "x")
    (temporary,) = seen
    assert os.path.dirname(temporary) == str(tmp_path)
    base = os.path.basename(temporary)
    assert base.startswith("." + "n" * 64 + ".") and not base.startswith("." + "n" * 65) and base.endswith(".tmp")


def test_a_folder_that_refuses_the_temporary_file_says_so_exactly(tmp_path, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(OutputError) as raised:
        write_atomic(tmp_path / "out.svg", "x")
    assert str(raised.value) == f"{tmp_path}/out.svg: cannot write in {tmp_path}: Permission denied"


def test_a_failed_write_says_the_systems_words_exactly(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError) as raised:
        write_atomic(tmp_path / "out.svg", "x")
    assert str(raised.value) == f"{tmp_path}/out.svg: cannot write: No space left on device"


def test_a_name_too_long_says_exactly_that(tmp_path):
    target = tmp_path / ("n" * 300 + ".svg")
    with pytest.raises(OutputError) as raised:
        write_atomic(target, "x")
    assert str(raised.value) == f"{target}: not a usable file name: File name too long"
