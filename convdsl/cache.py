"""convdsl's files in the user's cache directory: the compiled grammar, kept between runs.

The directory is `$XDG_CACHE_HOME/convdsl`, else `~/.cache/convdsl`, created
private. It is never the package directory (which may be read-only) nor a
predictable name in the shared temporary directory, where another user could
leave a file for convdsl to load. Everything here is best effort: without a
usable directory convdsl only runs slower.
"""
from __future__ import annotations

import marshal
import os
import sys
import binascii


def cache_dir() -> str | None:
    """convdsl's cache directory, made if missing; None where there is none it can write."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None
    directory = os.path.join(base, "convdsl")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError:
        return None
    if not os.access(directory, os.W_OK | os.X_OK):
        return None
    return directory


def _lark_identity() -> str:
    """Which Lark would be imported, without importing it: its file, size and time of change.

    The tables are Lark's work; a Lark installed, upgraded or in another virtual
    environment makes them again rather than use another Lark's.
    """
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("lark")
    if spec is None or not spec.origin:
        return "no lark"
    try:
        stat = os.stat(spec.origin)
    except OSError:
        return spec.origin
    return f"{spec.origin}\0{stat.st_size}\0{stat.st_mtime_ns}"


def _tables_file(directory: str, grammar: str, format_: int) -> str:
    # Named by what the tables depend on, so that two versions of convdsl, of Lark or of Python never
    # take each other's; the file holds the grammar too, and is only used when that matches exactly.
    identity = f"{format_}\0{sys.version_info[:2]}\0{_lark_identity()}\0{grammar}"
    key = binascii.crc32(identity.encode("utf-8", "surrogateescape"))
    return os.path.join(directory, f"parser-{format_}-{sys.version_info[0]}{sys.version_info[1]}-{key:08x}.marshal")


def read_tables(grammar: str, format_: int):
    """The parse-table data saved for this grammar, or None if there is none usable.

    marshal, not pickle: it reads back plain values only, and makes no objects of
    any class. Only a file of this user is read.
    """
    directory = cache_dir()
    if directory is None:
        return None
    path = _tables_file(directory, grammar, format_)
    try:
        with open(path, "rb") as handle:
            if hasattr(os, "getuid") and os.fstat(handle.fileno()).st_uid != os.getuid():
                return None
            saved = marshal.loads(handle.read())
    except (OSError, EOFError, ValueError, TypeError):  # missing, unreadable or damaged
        return None
    if type(saved) is not tuple or len(saved) != 2 or saved[0] != grammar:
        return None
    return saved[1]


def write_tables(grammar: str, format_: int, data) -> None:
    """Save parse-table data for this grammar; silently nothing where the cache cannot be written."""
    directory = cache_dir()
    if directory is None:
        return
    path = _tables_file(directory, grammar, format_)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:  # not writable, or another writer in this process: it will save the same
        return
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(marshal.dumps((grammar, data)))
        os.replace(temporary, path)  # whole or not at all: a reader never sees half a file
    except (OSError, ValueError):
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return
    prune(directory, "parser-", ".marshal", keep=path)


KEPT_FILES = 16  # files of each kind kept: one per Lark, Python and grammar in use (environments, versions)


def prune(directory: str, prefix: str, suffix: str, keep: str) -> None:
    """Remove all but the KEPT_FILES most recently written files of one kind (and `keep`), so the
    cache stays small however many environments come and go; one that still needs its file makes
    it again, once."""
    try:
        found = [(entry.stat().st_mtime_ns, entry.path) for entry in os.scandir(directory)
                 if entry.name.startswith(prefix) and entry.name.endswith(suffix) and entry.is_file()]
    except OSError:
        return
    found.sort(reverse=True)
    for _, path in found[KEPT_FILES:]:
        if path != keep:
            try:
                os.unlink(path)
            except OSError:
                pass
