"""convdsl's files in the user's cache directory: the compiled grammar, kept between runs.

The directory is `$XDG_CACHE_HOME/convdsl`, else `~/.cache/convdsl`, created
private. It is never the package directory (which may be read-only) nor a
predictable name in the shared temporary directory, where another user could
leave a file for convdsl to load. A directory that another user owns or may
write, or that is a symbolic link, is not used at all; files are opened
relative to the directory once checked (so it cannot be swapped afterwards),
without following symbolic links, and only a regular file of this user is
read. Files hold marshal data (plain values), never pickles. Everything here is
best effort: without a usable directory convdsl only runs slower.
"""

from __future__ import annotations

import binascii
import marshal
import os
import stat
import sys

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
MAX_FILE = 16 * 2**20  # a cache file larger than this is not one of ours


def _uid() -> int | None:
    return os.getuid() if hasattr(os, "getuid") else None


def private(info: os.stat_result) -> bool:
    """A directory this user owns that no one else may write in (lstat/fstat's answer)."""
    if not stat.S_ISDIR(info.st_mode):  # a symbolic link (lstat), a file
        return False
    uid = _uid()
    if uid is not None and info.st_uid != uid:
        return False
    return not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def cache_dir() -> str | None:
    """convdsl's cache directory, made if missing; None where there is none it can safely use."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None
    directory = os.path.join(base, "convdsl")
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass
        if not private(os.lstat(directory)):
            return None
    except (OSError, ValueError):
        return None
    if not os.access(directory, os.W_OK | os.X_OK):
        return None
    return directory


class _Directory:
    """The cache directory, opened once checked: every file is named relative to this descriptor."""

    def __init__(self, path: str):
        self.path = path
        self.fd = os.open(path, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
        if not private(os.fstat(self.fd)):  # swapped between cache_dir's check and the open
            os.close(self.fd)
            raise PermissionError(f"{path} is not private")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        os.close(self.fd)

    def _at(self, name: str) -> dict:
        return {"dir_fd": self.fd} if os.open in os.supports_dir_fd else {}

    def _name(self, name: str) -> str:
        return name if os.open in os.supports_dir_fd else os.path.join(self.path, name)

    def read(self, name: str) -> bytes | None:
        """A regular file of this user in the directory, or None."""
        try:
            fd = os.open(self._name(name), os.O_RDONLY | _NOFOLLOW | _CLOEXEC, **self._at(name))
        except OSError:
            return None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(fd)
            uid = _uid()
            if not stat.S_ISREG(info.st_mode) or (uid is not None and info.st_uid != uid) or info.st_size > MAX_FILE:
                return None
            return handle.read(MAX_FILE + 1)

    def write(self, name: str, data: bytes) -> bool:
        """Write a file whole: a new private file (never through a link), then a rename over the old one."""
        temporary = f".{name}.{os.getpid()}.tmp"
        try:
            fd = os.open(
                self._name(temporary),
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC,
                0o600,
                **self._at(temporary),
            )
        except OSError:  # not writable, or another writer in this process: it will save the same
            return False
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            if os.rename in os.supports_dir_fd:
                os.replace(temporary, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
            else:
                os.replace(self._name(temporary), self._name(name))
            return True
        except (OSError, ValueError):
            try:
                os.unlink(self._name(temporary), **self._at(temporary))
            except OSError:
                pass
            return False

    def prune(self, prefix: str, suffix: str, keep: str) -> None:
        """Remove all but the KEPT_FILES most recently written files of one kind (and `keep`), so the
        cache stays small however many environments come and go; one that still needs its file makes
        it again, once."""
        try:
            found = []
            with os.scandir(self.fd if os.scandir in os.supports_fd else self.path) as entries:
                for entry in entries:
                    if (
                        entry.name.startswith(prefix)
                        and entry.name.endswith(suffix)
                        and entry.is_file(follow_symlinks=False)
                    ):
                        found.append((entry.stat(follow_symlinks=False).st_mtime_ns, entry.name))
        except OSError:
            return
        found.sort(reverse=True)
        for _, name in found[KEPT_FILES:]:
            if name != keep:
                try:
                    os.unlink(self._name(name), **self._at(name))
                except OSError:
                    pass


def _open() -> _Directory | None:
    directory = cache_dir()
    if directory is None:
        return None
    try:
        return _Directory(directory)
    except OSError:
        return None


def read(name: str) -> bytes | None:
    """The bytes of a file in the cache, or None (no usable directory, no such file, not this user's)."""
    directory = _open()
    if directory is None:
        return None
    with directory:
        return directory.read(name)


def write(name: str, data: bytes, *, prune: tuple[str, str] | None = None) -> None:
    """Save a file in the cache; silently nothing where it cannot be written. `prune` (prefix, suffix):
    the kind of file of which only KEPT_FILES are kept."""
    directory = _open()
    if directory is None:
        return
    with directory:
        if directory.write(name, data) and prune is not None:
            directory.prune(*prune, keep=name)


def load_plain(data: bytes | None):
    """marshal data, only if it holds plain values (no code objects): None otherwise."""
    if data is None:
        return None
    try:
        value = marshal.loads(data)
    except (EOFError, ValueError, TypeError):  # damaged
        return None
    return value if _plain(value) else None


_PLAIN = (str, int, float, bool, bytes, type(None))


def _plain(value) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind in (tuple, list, set, frozenset):
            stack.extend(item)
        elif kind is dict:
            stack.extend(item.keys())
            stack.extend(item.values())
        elif kind not in _PLAIN:
            return False
    return True


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
        info = os.stat(spec.origin)
    except OSError:
        return spec.origin
    return f"{spec.origin}\0{info.st_size}\0{info.st_mtime_ns}"


def keyed_name(prefix: str, format_: int, identity: str, suffix: str) -> str:
    """A file name for data that depends on `identity` (with this Python and Lark)."""
    whole = f"{format_}\0{sys.version_info[:2]}\0{_lark_identity()}\0{identity}"
    key = binascii.crc32(whole.encode("utf-8", "surrogateescape"))
    return f"{prefix}{format_}-{sys.version_info[0]}{sys.version_info[1]}-{key:08x}{suffix}"


def _tables_file(grammar: str, format_: int) -> str:
    # Named by what the tables depend on, so that two versions of convdsl, of Lark or of Python never
    # take each other's; the file holds the grammar too, and is only used when that matches exactly.
    return keyed_name("parser-", format_, grammar, ".marshal")


def read_tables(grammar: str, format_: int):
    """The parse-table data saved for this grammar, or None if there is none usable.

    marshal, not pickle: it reads back plain values only, and makes no objects of
    any class. Only a file of this user is read.
    """
    saved = load_plain(read(_tables_file(grammar, format_)))
    if type(saved) is not tuple or len(saved) != 2 or saved[0] != grammar:
        return None
    return saved[1]


def write_tables(grammar: str, format_: int, data) -> None:
    """Save parse-table data for this grammar; silently nothing where the cache cannot be written."""
    try:
        payload = marshal.dumps((grammar, data))
    except ValueError:
        return
    write(_tables_file(grammar, format_), payload, prune=("parser-", ".marshal"))


KEPT_FILES = 16  # files of each kind kept: one per Lark, Python and grammar in use (environments, versions)
