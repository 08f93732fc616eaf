"""Writing generated files safely: all or nothing, and never over an input.

Every generator (render, export) writes through write_atomic, so a crash, a
full disk or an interrupt leaves either the old file or the new one, never a
half-written one, and a mistyped `-o` cannot destroy the source it was made from.
"""
from __future__ import annotations

import os
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
    for source in inputs:
        if _same_file(target, Path(source)) or target.resolve() == Path(source).resolve():
            raise OutputError(f"{target}: refusing to overwrite the input file; choose another output name")
    if target.is_dir():
        raise OutputError(f"{target}: is a directory; give a file name")
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise OutputError(f"{target}: the directory {directory} does not exist")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as err:
        raise OutputError(f"{target}: cannot write in {directory}: {err.strerror or err}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except BaseException as err:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(err, OSError):
            raise OutputError(f"{target}: cannot write: {err.strerror or err}") from None
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
