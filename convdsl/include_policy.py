"""Which files an `include` may read: inside the project, regular files, each read once, within a budget.

A spec checked in CI may come from a stranger, and diagnostics print lines of
the files it includes: an include of `/etc/shadow` or `../.env` would print
them. So an include must resolve (through every symbolic link) to a file inside
the project: the nearest folder above the checked file that holds `.git` or
`pyproject.toml`, else the checked file's own folder. Other folders are allowed
only when named (`--include-path DIR`), and a relative include not found beside
the file that includes it is looked for there. Only regular files are read (a
FIFO would block forever, `/dev/stdin` would read standard input); a file
included again (a diamond, or a fan-out) is not read again; and the included
text as a whole has a budget, like the one file.
"""

from __future__ import annotations

import os

PROJECT_MARKERS = (".git", "pyproject.toml")
MAX_INCLUDED_FILES = 1000
MAX_INCLUDED_BYTES = 32 * 2**20  # all included files together


def _real(path: str) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):  # a name too long, a NUL byte: reading it will say why
        return os.path.abspath(path) if "\0" not in path else path


def project_root(top: str) -> str:
    """The folder includes must stay in: the nearest ancestor of the checked file holding a project
    marker, else the checked file's folder."""
    folder = os.path.dirname(_real(top)) or os.getcwd()
    here = folder
    while True:
        if any(os.path.lexists(os.path.join(here, marker)) for marker in PROJECT_MARKERS):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return folder
        here = parent


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class IncludePolicy:
    """Where includes of one checked file may come from, and what they have cost so far."""

    def __init__(self, top: str, include_path=()):
        self.roots = [project_root(top), *(_real(str(folder)) for folder in include_path)]
        self.extra = [str(folder) for folder in include_path]
        self.read: set[str] = set()  # real paths of the files included so far
        self.files = 0
        self.bytes = 0

    def locate(self, written: str, including: str) -> str:
        """The path an include names: beside the including file, else in an --include-path folder."""
        if os.path.isabs(written):
            return written
        beside = os.path.join(os.path.dirname(including), written)
        if self.extra and not _lexists(beside):
            for folder in self.extra:
                candidate = os.path.join(folder, written)
                if _lexists(candidate):
                    return candidate
        return beside

    def outside(self, path: str) -> str | None:
        """Why path may not be included (it resolves outside every allowed folder), or None."""
        real = _real(path)
        if any(_inside(real, root) for root in self.roots):
            return None
        shown = ", ".join(self.roots)
        return f"it is outside the project ({shown})"

    def already(self, path: str) -> bool:
        """Whether this file was included before (its blocks and constants are defined already)."""
        return _real(path) in self.read

    def admit(self, path: str, size: int) -> str | None:
        """Count one more included file of `size` characters; why not, when over the budget."""
        self.read.add(_real(path))
        self.files += 1
        self.bytes += size
        if self.files > MAX_INCLUDED_FILES:
            return f"more than {MAX_INCLUDED_FILES:,} files are included"
        if self.bytes > MAX_INCLUDED_BYTES:
            return f"the included files hold more than {MAX_INCLUDED_BYTES // 2**20} MiB of text together"
        return None


def _lexists(path: str) -> bool:
    try:
        return os.path.lexists(path)
    except (OSError, ValueError):
        return False


__all__ = ["MAX_INCLUDED_BYTES", "MAX_INCLUDED_FILES", "IncludePolicy", "project_root"]
