"""The files that include a given file, directly or through others: what a change to it can break.

A pre-commit hook is given the files that changed; a changed file of blocks has no
input of its own, so checking it alone finds nothing, while every network that
includes it may now be broken. `convdsl check --dependents` checks those too.
Include statements are found by a plain scan of each .cdsl file's lines (no parse),
so that a tree of many files costs little; files that cannot be read are skipped.
"""

from __future__ import annotations

import os
import re

_INCLUDE = re.compile(r"""^[ \t]*include[ \t]+(?:"([^"\\\n]*)"|'([^'\\\n]*)')""", re.M)
_SKIP_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".nox", "build", "dist"}
MAX_FILES = 100_000  # .cdsl files scanned; a tree with more is a mistake (a home directory), not a project
MAX_BYTES = 10 * 1024 * 1024


def _real(path: str) -> str:
    return os.path.realpath(path)


def find_dependents(paths, root: str = ".") -> list[str]:
    """The .cdsl files under `root` that include one of `paths` (transitively), not among `paths`, sorted."""
    included_by: dict[str, set[str]] = {}  # real path of an included file -> the files that include it
    for count, path in enumerate(_cdsl_files(root)):
        if count >= MAX_FILES:
            break
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read(MAX_BYTES)
        except OSError:
            continue
        base = os.path.dirname(path)
        for match in _INCLUDE.finditer(text):
            target = match.group(1) if match.group(1) is not None else match.group(2)
            included_by.setdefault(_real(os.path.join(base, target)), set()).add(path)
    given = {_real(p) for p in paths}
    seen = set(given)
    found = []
    todo = list(given)
    while todo:
        for includer in sorted(included_by.get(todo.pop(), ())):
            real = _real(includer)
            if real not in seen:
                seen.add(real)
                found.append(includer)
                todo.append(real)
    return sorted(found)


def _cdsl_files(root: str):
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".cdsl"):
                path = os.path.join(folder, name)
                yield os.path.relpath(path) if not os.path.isabs(root) else path
