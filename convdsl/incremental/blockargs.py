"""The network of a new text whose edit is one number a block's use is given: `bottleneck(128, stride=2)` ->
`bottleneck(129, stride=2)`, a stage's width typed over.

Lowering reads a block's arguments for its parameters' values, and those for whatever the block's body reads
them in. Where the body reads the edited parameter only in its layer calls' arguments (`conv(c * 4, 1)`), the
instances the call made keep their layers, names, wiring and places: only those layers' `args` differ, bound
as lowering binds them, with the parameter's new value. So the new network is the old graph with, in each
instance of the call (one, or a repeat's copies):
- the layers whose call reads the parameter bound again (lower/binding.py: names a constant or parameter
  does not have are words, `padding=same`);
- the instance's model.Site with the new value among its constants, and its model.Scope with the arguments as
  given (what the export and the hovers read);
- where the number's length changed, the call's end moved (its instances' sites keep its span), and the nodes
  written on the line moved.
Those are inferred again, and whatever reads a shape that changed (inference.py).

Left to a whole analysis, where the number could change more than arguments:
- the body reads the parameter anywhere else: a condition (`if down`), a repeat's count, a constant, a
  `param`'s sizes, another block's use or `reuse` (their instances are sites of their own), a parameter's
  default, a layer call whose binding reads tensors, or one inside an indexed repeat that reads its index;
- the call is not lowered at the top level (in another block's body, its instances are made per instance of
  that block), the argument reads a name, or is not the parameter's value as written (`128` in `(128, 64)`);
- binding reports anything (`conv(0)`: lowering's diagnostic), or a layer's outputs change in number;
- lowering reported on the line or in the block's definition, or the network reads shapes while lowering.
"""

from __future__ import annotations

from dataclasses import replace

from ..arguments import argument_tables
from ..evaluate import EvalError, Symbol, evaluate
from ..layers import KINDS
from ..lower.binding import expression_names, names_read
from ..model import Scope
from ..syntax import Call, Constant, ParamDecl, Repeat, When, walk
from .edit import NumberEdit
from . import sites
from .cut import _within
from .patch import CALL_GOES_ON, Patched, _on_line, written_on_line
from .rebind import _bound as _rebound
from .rebind import _call_around, _holds


def block_argument(state, edit: NumberEdit, source, program) -> Patched | None:
    """The new network (Patched), or None where the edited number is not a block use's argument whose new value
    changes only its instances' layers' arguments (see the module's docstring)."""
    network = state.network
    if program is None or network.shape_reads:
        return None
    path, line = state.path, edit.line
    if any(_on_line(diagnostic, path, line) for diagnostic in network.diagnostics):
        return None
    found = _call_around(program.statements, (line, edit.column), (line, edit.end_column + edit.delta))
    if found is None or found[0].name.id in KINDS:
        return None
    call = found[0]
    given = _given(call, edit)
    if given is None:
        return None
    position, keyword, expression = given
    try:
        value = evaluate(expression, {})
    except EvalError:
        return None
    if isinstance(value, Symbol):
        return None
    span = call.span
    old_span = replace(span, end_column=span.end_column - edit.delta) if span.end_line == line else span
    call_ends = None
    if edit.delta:  # the block calls that end after the number on its line end elsewhere now
        end = state.call_ends.get(line)
        if end is not None and end != CALL_GOES_ON and end >= edit.end_column:
            call_ends = {**state.call_ends, line: end + edit.delta}
    nodes = network.layer_graph.nodes
    made = sites.instances(network, old_span)
    if not made:
        return None
    instances = {id(site): site for site, _ in made}  # the sites the call made
    first = made[0][0]
    top = first.parent
    if top is None or top.parent is not None or top.definitions is None or top.reuses:
        return None
    if any(site.parent is not top or site.block != first.block for site in instances.values()):
        return None
    written = top.definitions.syntax(first.block)
    if written is None:
        return None
    definition, _ = written
    parameter = _parameter(definition, position, keyword)
    if parameter is None:
        return None
    if definition.span.path == path and definition.span.line <= line <= definition.span.end_line:
        return None
    if any(d.span is not None and _within(d.span, definition.span) for d in network.diagnostics):
        return None
    reading = _calls_reading(definition, parameter, set(top.definitions.names()))
    if reading is None:
        return None
    replaced = written_on_line(network, path, line, edit if edit.delta else None)
    dirty = set(replaced)
    resited = sites.Resited(_SiteChange(instances, parameter, value, edit, path))
    scopes: dict[int, Scope] = {}  # id(old scope) -> the instance's block scope, its arguments as given now
    bound: dict = {}  # a layer call's span -> its layers' new args
    for name, data in nodes.items():
        site = data.site
        if site is None:
            continue
        new_site = resited(site)
        if new_site is None:
            return None
        if new_site is site:
            continue
        node = replaced.get(name)
        if node is None:
            node = replaced[name] = data.copy()
        node.site = new_site
        dirty.add(name)  # (its diagnostics may point at the call, which moved)
        if id(site) not in instances:
            continue
        node.scopes = tuple(
            _scope(scope, site, (position, keyword, value), scopes) if scope.kind == "block" else scope
            for scope in data.scopes
        )
        call_read = reading.get(data.span)
        if call_read is None or data.kind in ("input", "output"):
            if not edit.delta:
                dirty.discard(name)  # (as it was)
            continue
        # every instance of the call is given the same arguments, and its constants are those of its block's
        # definition: the same values, so one binding for each call of the body
        args = bound.get(data.span)
        if args is None:
            args = bound[data.span] = _bound(call_read, new_site.env, data)
            if args is None:
                return None
        node.args = args
    graph = network.layer_graph.with_nodes(replaced)
    sources = {**network.sources, path: source}
    return Patched(replace(network, layer_graph=graph, sources=sources), dirty, call_ends=call_ends)


class _SiteChange:
    """What a site of the new network changes (sites.Resited): an instance of the call, the parameter's new value
    among its constants; where the number's length changed, a site whose call is written after it on its line,
    its place. None for an instance that lacks the parameter."""

    def __init__(self, instances: dict, parameter: str, value, edit: NumberEdit, path: str):
        self.instances, self.parameter, self.value, self.edit, self.path = instances, parameter, value, edit, path

    def __call__(self, site) -> dict | None:
        changes = {}
        if id(site) in self.instances:
            if self.parameter not in site.env:
                return None
            changes["env"] = {**site.env, self.parameter: self.value}
        span = site.call_span
        if self.edit.delta and span is not None and span.path == self.path:
            moved = self.edit.shift(span)
            if moved is not span:
                changes["call_span"] = moved
        return changes


def _scope(scope: Scope, site, given: tuple, scopes: dict) -> Scope:
    """The scope, or where it is the instance's own (lower/blocks.py: its id is the instance's prefix), the same
    with the argument's new value among those given: (keyword, or None if positional, value), positional ones
    first."""
    if scope.id + "." != site.prefix:
        return scope
    made = scopes.get(id(scope))
    if made is None:
        position, keyword, value = given
        index = position if keyword is None else next(i for i, (k, _) in enumerate(scope.args) if k == keyword)
        args = (*scope.args[:index], (keyword, value), *scope.args[index + 1 :])
        made = scopes[id(scope)] = replace(scope, args=args)
    return made


def _given(call: Call, edit: NumberEdit):
    """(position or None, keyword or None, expression) of the argument the edited number is written in, all of
    it, reading no name; None otherwise."""
    start, end = (edit.line, edit.column), (edit.line, edit.end_column + edit.delta)
    for index, expression in enumerate(call.args):
        if _holds(expression.span, start, end):
            return (index, None, expression) if expression_names((expression,)) == set() else None
    for keyword in call.kwargs:
        if _holds(keyword.value.span, start, end):
            return (None, keyword.name.id, keyword.value) if expression_names((keyword.value,)) == set() else None
    return None


def _parameter(definition, position, keyword) -> str | None:
    """The name of the value parameter an argument is given to, or None (a tensor's, too many arguments, a
    name the block has no parameter of: lowering reports those)."""
    params = definition.params
    if keyword is None:
        param = params[position] if position < len(params) else None
    else:
        param = next((p for p in params if p.name.id == keyword), None)
    if param is None or param.type is not None:
        return None
    return param.name.id


def _calls_reading(definition, parameter: str, blocks: set) -> dict | None:
    """The layer calls of the block's definition that read the parameter, by span; None where anything else in
    it reads it (or could: a block's use, `reuse`, a shape read), or a call that reads it reads a repeat's
    index as well."""
    for param in definition.params:
        if param.default is not None and _reads(param.default, parameter):
            return None
    body = definition.body if definition.body is not None else (definition.chain,)
    indices = set()
    reading: dict = {}
    for item in walk(body):
        if isinstance(item, Call):
            name = item.name.id
            if name in blocks or name == "reuse":
                return None
            expressions = [*item.args, *(keyword.value for keyword in item.kwargs)]
            if not any(_reads(expression, parameter) for expression in expressions):
                continue
            kind = KINDS.get(name)
            if kind is None or kind.statement or names_read(kind, item) is None:
                return None
            reading[item.span] = item
        elif isinstance(item, Repeat):
            if _reads(item.count, parameter):
                return None
            if item.index is not None:
                indices.add(item.index.id)
        elif isinstance(item, When):
            if _reads(item.condition, parameter):
                return None
        elif isinstance(item, Constant):
            if item.name.id == parameter or _reads(item.value, parameter):
                return None  # (a constant of the parameter's name is what the body's layers read)
        elif isinstance(item, ParamDecl) and any(
            _reads(expression, parameter) for expression in (*item.dims, *(o.value for o in item.options))
        ):
            return None
    if indices and any(indices.intersection(names_read(KINDS[call.name.id], call)) for call in reading.values()):
        return None
    return reading


def _reads(expression, parameter: str) -> bool:
    """Whether an expression reads the parameter (or a tensor's shape, which may be computed from it)."""
    names = expression_names((expression,))
    return names is None or parameter in names


def _bound(call: Call, env: dict, data) -> dict | None:
    """The layer's arguments bound again with the instance's constants, as lowering binds them (binding.py);
    None where binding reports anything, where lowering would report PyTorch's argument order, or where the
    layer's outputs would change in number."""
    kind = KINDS.get(call.name.id)
    if kind is None or kind.name != data.kind:
        return None
    if kind.torch_input_size and not kind.variadic and len(call.args) >= 2:
        positional = argument_tables(kind)[0]
        if len(positional) >= 2 and positional[1].type == "bool":
            return None  # (binding.Binding._pytorch_order reads the values)
    bound = _rebound(kind, call, env)
    if bound is None or bound[2] != data.explicit:
        return None
    args = bound[0]
    if kind.output_count(args) != kind.output_count(data.args):
        return None
    return args
