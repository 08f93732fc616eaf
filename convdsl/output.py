"""Writing generated files safely: all or nothing, and never over an input.

Every generator (render, export) writes through write_atomic, so a crash, a
full disk or an interrupt leaves either the old file or the new one, never a
half-written one, and a mistyped `-o` cannot destroy the source it was made from.
A target that exists and is not a regular file (`/dev/null`, the link
`/dev/stdout`, a FIFO) is written into, never replaced; a block device is refused.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path
from collections.abc import Iterable


class OutputError(Exception):
    """The output cannot be written; the message says why and what to do."""


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def write_atomic(path: str | os.PathLike, data: bytes | str, *, inputs: Iterable[str | os.PathLike] = ()) -> None:
    """Write data to path through a temporary file in the same directory and a rename.

    Raises OutputError when path is one of `inputs` (the files the output was
    made from), is a directory, or cannot be written.
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if "\0" in str(target):  # pathlib's checks answer False for it rather than say so
            raise ValueError("it contains a NUL byte")
        special = _special(target)
        if special is not None:
            _refuse_inputs(target, inputs)
            _write_into(target, special, payload)
            return
        if target.is_symlink():  # the link stays; the file it names is replaced
            target = Path(os.path.realpath(target))
        directory = _writable_place(target, inputs)
    except (OSError, ValueError) as err:  # the system refuses the name: too long, or a NUL byte in it
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise OutputError(f"{target!s}: not a usable file name: {reason}") from None
    mode = _mode_for(target)
    try:
        # The temporary name is cut short, so that a target name near the system's limit still fits.
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{target.name[:64]}.", suffix=".tmp")
    except OSError as err:
        raise OutputError(f"{target}: cannot write in {directory}: {err.strerror or err}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException as err:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(err, OSError):
            raise OutputError(f"{target}: cannot write: {err.strerror or err}") from None
        raise


def _special(target: Path) -> os.stat_result | None:
    """What target is when it exists and is not a regular file or a directory (a device, a FIFO, ...).

    Those are written into, never replaced: renaming a file over `/dev/null` (as root) or over the
    link `/dev/stdout` would destroy it.
    """
    try:
        info = os.stat(target)  # through links: /dev/stdout is a link to what standard output is
    except OSError:
        return None
    if stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode):
        return None
    return info


def _write_into(target: Path, info: os.stat_result, payload: bytes) -> None:
    """Write into a character device or a FIFO; refuse a block device or a socket."""
    if not (stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
        what = "a block device" if stat.S_ISBLK(info.st_mode) else "not a regular file"
        raise OutputError(f"{target}: is {what}; refusing to write to it, give a file name")
    try:
        # Non-blocking open: a FIFO that no process reads fails at once (ENXIO) instead of waiting forever.
        fd = os.open(target, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        if err.errno == errno.ENXIO:
            raise OutputError(f"{target}: no process is reading this FIFO") from None
        raise OutputError(f"{target}: cannot write: {err.strerror or err}") from None
    try:
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
    except OSError as err:
        raise OutputError(f"{target}: cannot write: {err.strerror or err}") from None
    finally:
        os.close(fd)


def _refuse_inputs(target: Path, inputs) -> None:
    for source in inputs:
        if _same_file(target, Path(source)) or target.resolve() == Path(source).resolve():
            raise OutputError(f"{target}: refusing to overwrite the input file; choose another output name")


def _writable_place(target: Path, inputs) -> Path:
    """The directory to write target in, after refusing an input, a directory or a missing folder."""
    _refuse_inputs(target, inputs)
    if target.is_dir():
        raise OutputError(f"{target}: is a directory; give a file name")
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise OutputError(f"{target}: the directory {directory} does not exist")
    return directory


def _mode_for(target: Path) -> int:
    """A replaced file keeps its permissions; a new one gets what open() would give it."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except (OSError, ValueError):
        return 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
