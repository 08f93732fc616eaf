"""Layer names: labels claimed, automatic names (`conv1`, `0`) given, per scope."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import diagnostics as codes
from ..build import numbered_name
from ..source import Span
from ..syntax import BlockDef, Chain, Group, Labelled, ParamDecl, Repeat, When


@dataclass(eq=False)
class _NameScope:
    """How layers in one scope are named: the prefix, and the counters of automatic names."""

    prefix: str
    positional: bool
    block_path: tuple[str, ...]
    taken: set = field(default_factory=set)
    counts: dict = field(default_factory=dict)
    position: int = 0
    depth: int = 0

    def child(self, local: str, *, positional: bool, block: str | None = None) -> _NameScope:
        path = self.block_path + ((block,) if block else ())
        return _NameScope(self.prefix + local + ".", positional, path, depth=self.depth + 1)


class Naming:
    """Lowering's naming, as a mixin: it reports through Lowering.error."""

    def _labels(self, statements) -> set:
        """Explicit labels at the top of a scope, so automatic names avoid them."""
        found = set()

        def visit(element):
            if isinstance(element, Labelled):
                found.add(element.label.id)
            elif isinstance(element, (Repeat, When)):
                visit(element.element)
            elif isinstance(element, Group):
                for inner in element.chain.elements:
                    visit(inner)

        for stmt in statements:
            if isinstance(stmt, ParamDecl):  # a param's node has its name
                found.add(stmt.name.id)
            chain = getattr(stmt, "chain", None)
            if isinstance(chain, Chain) and not isinstance(stmt, BlockDef):
                for element in chain.elements:
                    visit(element)
        return found

    def _claim(self, names: _NameScope, local: str, span: Span) -> str:
        labels = names.counts.setdefault("__labels__", set())
        if local in labels:
            self.error(
                codes.DUPLICATE_DEFINITION,
                span,
                f"`{names.prefix}{local}` is defined twice",
                "label used again",
                "labels are unique in their scope; inside a repeat, label the repeat instead: `a: (...) * 3`",
            )
            return self._auto_name(names, local)  # keep going without merging two layers into one node
        labels.add(local)
        names.taken.add(local)
        names.position += 1
        if self.recording:
            self.claims.append((names, local, local, True))
        return local

    def _auto_name(self, names: _NameScope, written: str) -> str:
        if names.positional:
            while str(names.position) in names.taken:
                names.position += 1
            local = str(names.position)
            names.position += 1
        else:
            local = numbered_name(written, names.counts, names.taken)
        names.taken.add(local)
        if self.recording:
            self.claims.append((names, written, local, False))
        return local
