"""Folding: which scopes a diagram opens as clusters, and which it draws as one node."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Scope


@dataclass(frozen=True)
class Folding:
    """collapse folds every block instance and every repeat; depth N opens N levels
    of blocks and labelled groups and folds what is deeper (None: no limit)."""

    collapse: bool = False
    depth: int | None = None

    def fold_at(self, scopes: tuple[Scope, ...]) -> int | None:
        """The index of the outermost scope a layer is folded into, or None when it is drawn itself."""
        level = 0  # blocks and groups around this point; repeats do not nest a level
        for index, scope in enumerate(scopes):
            if scope.kind == "repeat":
                # a repeat of one copy is just its content
                if scope.count > 1 and (self.collapse or self._too_deep(level + 1)):
                    return index
                continue
            level += 1
            if (self.collapse and scope.kind == "block") or self._too_deep(level):
                return index
        return None

    def _too_deep(self, level: int) -> bool:
        return self.depth is not None and level > self.depth
