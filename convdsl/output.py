"""Writing generated files safely: all or nothing, and never over an input.

Every generator (render, export) writes through write_atomic, so a crash, a
full disk or an interrupt leaves either the old file or the new one, never a
half-written one, and a mistyped `-o` cannot destroy the source it was made from.
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Iterable


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
    try:
        directory = _writable_place(target, inputs)
    except (OSError, ValueError) as err:  # the system refuses the name: too long, or a NUL byte in it
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise OutputError(f"{target!s}: not a usable file name: {reason}") from None
    payload = data.encode("utf-8") if isinstance(data, str) else data
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


def _writable_place(target: Path, inputs) -> Path:
    """The directory to write target in, after refusing an input, a directory or a missing folder."""
    if "\0" in str(target):  # pathlib's checks answer False for it rather than say so
        raise ValueError("it contains a NUL byte")
    for source in inputs:
        if _same_file(target, Path(source)) or target.resolve() == Path(source).resolve():
            raise OutputError(f"{target}: refusing to overwrite the input file; choose another output name")
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
