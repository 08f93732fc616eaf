"""The syntax tree's definitions read into definition.py's records, for export (and whoever else writes code).

Read once per definition, on first request (state.Records): checking a file never imports this module.
"""

from __future__ import annotations

from ..definition import (
    BlockStep,
    Definition,
    Flow,
    GroupStep,
    LabelStep,
    LayerStep,
    Param,
    RepeatStep,
    ReuseStep,
    TensorDecl,
    WhenStep,
)
from ..layers import KINDS
from .merges import merge_form, tensor_first
from ..syntax import (
    Assign,
    BlockDef,
    Call,
    Group,
    Labelled,
    Name,
    OutputDecl,
    ParamDecl,
    Repeat,
    When,
)


def definition_of(syntax, env: dict, blocks: dict) -> Definition:
    """A BlockDef, or the Program's top level, as a definition.Definition."""
    if isinstance(syntax, BlockDef):
        params = tuple(Param(p.name.id, p.type is not None, p.default) for p in syntax.params)
        values = {*env, *(p.name for p in params if not p.tensor)}  # names that are values, not tensors
        if syntax.chain is not None:
            steps = _steps(syntax.chain.elements, blocks, values)
            return Definition(syntax.name.id, params, steps, (), env, syntax.span)
        flows = _flows(syntax.body, blocks, env, values)
        return Definition(syntax.name.id, params, None, flows, env, syntax.span, _tensors(syntax.body))
    flows = _flows(syntax.statements, blocks, env, set(env))
    return Definition(None, (), None, flows, env, None, _tensors(syntax.statements))


def _tensors(statements) -> tuple:
    return tuple(TensorDecl(s.name.id, s.span) for s in statements if isinstance(s, ParamDecl))


def _starts_merge(element) -> bool:
    while isinstance(element, Labelled):
        element = element.element
    kind = KINDS.get(element.name.id) if isinstance(element, Call) else None
    return kind is not None and kind.variadic


def _flows(statements, blocks: dict, env: dict, values: set) -> tuple:
    flows = []
    for stmt in statements:
        if isinstance(stmt, Assign):
            targets = stmt.targets
        elif isinstance(stmt, OutputDecl) and stmt.chain is not None:
            targets = stmt.names
        else:
            continue
        elements = stmt.chain.elements
        first = elements[0]
        source = None
        # as lowering reads a chain: a bare name that is no layer kind starts it from that tensor
        merged = merge_form(first, KINDS, env) if not _starts_merge(first) else None
        if isinstance(first, Call) and not first.args and not first.kwargs and first.name.id not in KINDS:
            source, elements = first.name.id, elements[1:]
        elif merged is not None:  # `matmul(a, b)`: `a -> matmul(b)`
            source, elements = merged[0].id, (merged[1], *elements[1:])
        reads = frozenset().union(*(_names(e) for e in stmt.chain.elements))
        local = values | {s.name.id for s in statements if type(s).__name__ == "Constant"}  # a block's own consts
        flows.append(Flow(tuple(t.id for t in targets), source, _steps(elements, blocks, local), reads))
    return tuple(flows)


def _steps(elements, blocks: dict, values: set) -> tuple:
    return tuple(_step(element, blocks, values) for element in elements)


def _step(element, blocks: dict, values: set):
    if isinstance(element, Call):
        name = element.name.id
        if name == "reuse":  # lowering read its label; export reads what each expansion named (Site.reuses)
            return ReuseStep(_label_text(element), element.span)
        if name in blocks:
            params = [p.name.id for p in blocks[name].definition.params]
            args = [(param, expr, True) for param, expr in zip(params, element.args)]
            args += [(kw.name.id, kw.value, False) for kw in element.kwargs]
            return BlockStep(name, tuple(args), element.span)
        kind = KINDS.get(name)
        rewritten = tensor_first(element, KINDS, values)
        if rewritten is not None:  # `x -> attention(m, heads=8)`, as lowering reads it
            element = rewritten
        if kind is None:
            # lowering reported any other name where it is used; in a block that is never used, it is not, and
            # export reads every block's definition but writes only the used ones: a step that is never written
            return LayerStep(name, {}, (), element.span)
        written = _written_args(kind, element)
        if kind.variadic:
            tensors = tuple(expr.id for expr in element.args if isinstance(expr, Name))
        else:
            tensors = tuple(
                written[spec.name].id
                for spec in kind.args
                if spec.type == "tensor" and isinstance(written.get(spec.name), Name)
            )
        return LayerStep(name, written, tensors, element.span)
    if isinstance(element, Labelled):
        return LabelStep(element.label.id, _step(element.element, blocks, values), element.span)
    if isinstance(element, When):
        return WhenStep(_step(element.element, blocks, values), element.condition, element.span)
    if isinstance(element, Repeat):
        index = element.index.id if element.index is not None else None
        # `* N as i`: the copy's number is a value in the repeated element
        inner = values | {index} if index is not None else values
        return RepeatStep(_step(element.element, blocks, inner), element.count, element.span, index)
    if isinstance(element, Group):
        return GroupStep(_steps(element.chain.elements, blocks, values), element.span)
    raise TypeError(element)


def _label_text(call: Call) -> str:
    arg = call.args[0] if call.args else None
    if isinstance(arg, Name):
        return arg.id
    return ""


def _written_args(kind, call: Call) -> dict:
    """The argument expressions a call writes, by the kind's argument names (aliases resolved)."""
    written = {}
    if not kind.variadic:
        positional = [a for a in kind.args if a.positional]
        written = {spec.name: expr for spec, expr in zip(positional, call.args)}
    by_name = {alias: spec.name for spec in kind.args for alias in (spec.name, *spec.aliases)}
    for kw in call.kwargs:
        if kw.name.id in by_name:  # an unknown one was reported; export never reads a network with errors
            written[by_name[kw.name.id]] = kw.value
    return written


def _names(element) -> set[str]:
    """The names an element reads: what orders flows (a tensor defined later in the file may be read)."""
    if isinstance(element, (Labelled, When, Repeat)):
        return _names(element.element)
    if isinstance(element, Group):
        return set().union(*(_names(e) for e in element.chain.elements))
    if element.name.id == "reuse":  # a label, not a tensor
        return set()
    names = {element.name.id} if not element.args and not element.kwargs else set()
    for expr in (*element.args, *(kw.value for kw in element.kwargs)):
        if isinstance(expr, Name):
            names.add(expr.id)
    return names
