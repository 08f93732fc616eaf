"""What a statement or call says, read from its syntax: targets, written arguments, tensors read, order."""
from __future__ import annotations

from ..syntax import Assign, Group, Labelled, Name, Repeat, When


def targets_of(stmt) -> list[str]:
    return [t.id for t in (stmt.targets if isinstance(stmt, Assign) else stmt.names)]


def written_args(kind, call) -> dict:
    """The argument expressions a call writes, by the kind's argument names (aliases resolved)."""
    if kind.variadic:
        written = {}
    else:
        positional = [a for a in kind.args if a.positional]
        written = {spec.name: expr for spec, expr in zip(positional, call.args)}
    by_name = {alias: spec.name for spec in kind.args for alias in (spec.name, *spec.aliases)}
    for kw in call.kwargs:
        written[by_name[kw.name.id]] = kw.value
    return written


def tensor_args(kind, call) -> list[str]:
    """The tensors a layer takes besides the one flowing in, in lowering's order."""
    if kind.variadic:
        return [expr.id for expr in call.args]
    written = written_args(kind, call)
    return [written[spec.name].id for spec in kind.args if spec.type == "tensor" and spec.name in written]


def reads(stmt) -> set[str]:
    names = set()
    for element in stmt.chain.elements:
        names |= element_names(element)
    return names


def element_names(element) -> set[str]:
    if isinstance(element, (Labelled, When, Repeat)):
        return element_names(element.element)
    if isinstance(element, Group):
        return set().union(*(element_names(e) for e in element.chain.elements))
    names = {element.name.id} if not element.args and not element.kwargs else set()
    for expr in (*element.args, *(kw.value for kw in element.kwargs)):
        if isinstance(expr, Name):
            names.add(expr.id)
    return names


def dependency_order(statements, known: set) -> list:
    """Statements so each comes after those computing what it reads (convdsl allows forward references)."""
    pending = list(statements)
    defined = set(known)
    produced = {name for s in statements for name in targets_of(s)}
    order = []
    while pending:
        for stmt in pending:
            if not (reads(stmt) & produced) - defined:
                break
        else:
            stmt = pending[0]
        pending.remove(stmt)
        order.append(stmt)
        defined.update(targets_of(stmt))
    return order
