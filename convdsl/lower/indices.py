"""The repeat index, `* N as i`: its name checked where the repeat is, and a help for a use outside it."""

from __future__ import annotations

from .. import diagnostics as codes
from ..syntax import Repeat, walk


class RepeatIndex:
    """Lowering's repeat indices, as a mixin: it reports through Lowering.error."""

    def _repeat_index(self, element: Repeat, scope):
        """The index's name (None without one); False, reported, when the name is taken where the repeat is."""
        ident = element.index
        if ident is None:
            return None
        name = ident.id
        if name in scope.env:
            self.error(
                codes.DUPLICATE_DEFINITION,
                ident.span,
                f"`{name}` is already a constant or parameter here",
                "name taken",
                f"give the repeat index a name of its own: `* N as {_fresh(name, scope.env)}`",
            )
            return False
        if name in scope.tensors or name == "in":
            self.error(
                codes.DUPLICATE_DEFINITION,
                ident.span,
                f"`{name}` is a tensor here",
                "name taken",
                f"give the repeat index a name of its own: `* N as {_fresh(name, scope.env)}`",
            )
            return False
        return name

    def _index_help(self, name: str) -> str | None:
        """A help for an undefined `name` that is some repeat's index, read outside it."""
        if self.index_sites is None:
            self.index_sites = {}
            for stmt in self.program_statements:
                _collect(stmt, self.index_sites)
        span = self.index_sites.get(name)
        if span is None:
            return None
        return (
            f"`{name}` is the index of a repeat (`* N as {name}`), defined only inside the repeated element; "
            "a block reads it through a parameter: `(b(shift=i % 2) * 4 as i)`"
        )


def _fresh(name: str, env: dict) -> str:
    for candidate in ("i", "j", "k", "index", f"{name}_"):
        if candidate not in env:
            return candidate
    return f"{name}_index"


def _collect(node, found: dict) -> None:
    """Every `as NAME` of the statements (block bodies included), first span kept, without recursion."""
    for item in walk([node]):
        if isinstance(item, Repeat) and item.index is not None:
            found.setdefault(item.index.id, item.index.span)
