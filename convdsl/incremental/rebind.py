"""The network of a new text whose edit lies within one layer call: that call's layers bound again.

`conv(64, 7, s=2, p=3, bias=false)` -> `bias=true`, `p=3` -> `p=(3, 2)`, an argument typed or taken out, `bn` ->
`bn(eps=0.001)`, `relu` -> `gelu`. Lowering reads such a call for its layers' kind, `args`, `arg_spans` and
`explicit` (binding.py), and for their names, when:
- the call is of a layer kind (not a block or `reuse`, which lower otherwise), one that takes the tensor
  flowing in (not a merge, whose inputs are its arguments), before and after;
- its arguments read no name, no tensor and no shape (`names_read`): a constant, a block's parameter or a
  repeat's index may differ by where the call is lowered. So every layer the call made, in every block
  instance and repeat copy, binds the same values, bound here with no names at all;
- binding reports nothing (an unknown argument, a wrong type, PyTorch's argument order: lowering's
  diagnostics are left to lowering), and lowering reported nothing on the edited line;
- the layer has as many outputs as before;
- where the kind changed, the layers' names are known without lowering (`_renamed`): a label or a place in a
  positional scope is kept; an automatic name follows the kind (`relu1` -> `gelu1`) where no other layer's
  number moves with it.
A name no kind has typed over another (` -> ge` -> ` -> gel`, a kind's name being typed) makes no layer before
or after: the network is the old one with lowering's E005 said of the new name (`_unknown_again`).
The new network is the old graph, with the call's layers bound again and every node written on the edited line
moved; those are inferred again (inference.py), and whatever reads a shape that changed. Where the kind
changed, the layers feeding the call have another consumer (their lints read it) and the call's layers
perhaps other names: the graph is renamed, and the wiring of the call's layers and their neighbours made
again (`reinfer_rewired`).

Found on the new text's syntax tree: the innermost call whose span holds the changed text. Its place in the
old text follows (the text after the edit is as it was), and the old layers are those lowering made at exactly
that place: the same call, its kind perhaps written otherwise.
"""

from __future__ import annotations

import re
from dataclasses import replace

from .. import diagnostics as codes
from ..arguments import bind
from ..build import number_separator
from ..evaluate import evaluate
from ..layers import KINDS
from ..lower.binding import call_arguments, names_read
from ..lower.statements import unknown_layer
from ..source import Span
from ..syntax import (
    Assign,
    BlockDef,
    Call,
    Chain,
    Group,
    InputDecl,
    Labelled,
    OutputDecl,
    ParamDecl,
    Repeat,
    When,
    walk,
)
from .edit import Change, _shifted
from .patch import Patched, _on_line, calls_reach, written_on_line


class _Shift:
    """Spans of the old text as they are in the new one: on the edited line, what begins or ends at or after
    the call's end moves (the call's own spans are made again from the new syntax tree)."""

    def __init__(self, line: int, call_end: int, delta: int):
        self.line, self.call_end, self.delta = line, call_end, delta

    def shift(self, span):
        return _shifted(span, self.line, self.delta, self.call_end, self.call_end)


def rebind(state, change: Change, source, program):
    """The new network (Patched), or None where the edit is not within one layer
    call whose arguments bind alike wherever it is lowered (see the module's docstring)."""
    network = state.network
    if program is None or network.shape_reads:
        return None
    path, new = state.path, source.text
    line_start = new.rfind("\n", 0, change.start) + 1
    line = new.count("\n", 0, change.start) + 1
    column = change.start - line_start + 1
    end_column = change.new_end - line_start + 1  # in the new text
    delta = change.new_end - change.old_end
    found = _call_around(program.statements, (line, column), (line, end_column))
    if found is None:
        return None
    call, labelled = found
    span = call.span
    if delta and calls_reach(state, line, column):
        return None  # a block call on the line: its instances' sites hold its span
    written = call.name.id
    kind = KINDS.get(written)
    if kind is None:
        return _unknown_again(state, call, (line, column, end_column, delta), source, program)
    if any(_on_line(diagnostic, path, line) for diagnostic in network.diagnostics):
        return None  # lowering reported on the line: what it said may read the arguments
    # no name read (a constant, a block's parameter, a repeat's index: a bare name would bind as a word where a
    # string goes), no tensor, no shape (a merge's inputs are tensors: names_read is None); not a kind made by a
    # statement of its own (`param`), which lowering refuses in a chain
    if kind.statement or names_read(kind, call) != ():
        return None
    bound = _bound(kind, call)
    if bound is None:
        return None
    args, arg_spans, explicit = bound
    # where the call was: the text after the edit is as it was (the texts' common end), so the call ended as
    # far before the edit's end as it ends after it now
    old_span = span if span.end_line != line else replace(span, end_column=span.end_column - delta)
    shift = _Shift(line, old_span.end_column, delta) if span.end_line == line else None
    nodes = network.layer_graph.nodes
    # the nodes written on the line: inferred again (their fixes read the line's text)
    replaced = written_on_line(network, path, line, shift if delta else None)
    made = []
    for name, node in replaced.items():
        data = nodes[name]
        if data.span == old_span and data.kind not in ("input", "output"):
            before = KINDS.get(data.written)
            if before is None or kind.output_count(args) != before.output_count(data.args):
                return None
            node.args, node.span, node.arg_spans, node.explicit = args, span, arg_spans, explicit
            made.append(name)
    if not made:
        return None  # the call made no layer (a condition that is false, a block never used): lowered again
    sources = {**network.sources, path: source}
    if all(nodes[name].written == written for name in made):
        graph = network.layer_graph.with_nodes(replaced)
        return Patched(replace(network, layer_graph=graph, sources=sources), set(replaced))
    # another kind: each layer is named after it unless labelled, and what feeds it has another consumer (its
    # lints read it): the wiring of the layers and their neighbours made again
    renamed = _renamed(nodes, made, written, _names_written(program.statements), labelled)
    if renamed is None:
        return None
    for name in made:
        node = replaced[name]
        node.kind, node.written = kind.name, written
        node.label = renamed.get(name, name)[len(name) - len(node.label) :]
    old_graph = network.layer_graph
    graph = old_graph.renamed(renamed, replaced)
    # what feeds the call's layers reads their kind (its lints), what they feed reads their names
    rewired = {*made, *renamed.values()}
    for name in made:
        rewired.update(old_graph.predecessors(name))
        rewired.update(old_graph.successors(name))
    dirty = {renamed.get(name, name) for name in replaced}
    return Patched(replace(network, layer_graph=graph, sources=sources), dirty, rewired)


def _unknown_again(state, call: Call, edit: tuple, source, program):
    """The new network (Patched) where a kind no layer has is typed over another (` -> ge` ->
    ` -> gel`, a kind's name being typed), else None. Lowering makes no layer for either: it reports E005 at the
    name (lower.statements.unknown_layer), and the layers after it lack an input, as they did. So the network
    is the old one with that report made for the new name, and the places after it on the line moved."""
    line, column, end_column, delta = edit
    network, path = state.network, state.path
    name = call.name.span
    if not (name.line == name.end_line == line and name.column <= column and end_column <= name.end_column):
        return None  # an unknown call's arguments edited: rare, analysed whole (its name's old place is another)
    written = call.name.id
    blocks = state.carry.blocks if state.carry is not None else None
    if blocks is None or written in blocks or written == "reuse" or written in _tensor_names(program.statements):
        return None  # a block is lowered, `reuse` is a step, a tensor's name changes the help
    old_name = replace(name, end_column=name.end_column - delta)
    reported = [d for d in network.diagnostics if _on_line(d, path, line)]
    if not reported or any(d.code is not codes.UNKNOWN_LAYER or d.span != old_name for d in reported):
        return None  # the name was a kind's (a layer made), or lowering said more on the line
    now = unknown_layer(written, name, blocks, False)
    diagnostics = tuple(now if d in reported else d for d in network.diagnostics)
    replaced = written_on_line(network, path, line, _Shift(line, old_name.end_column, delta) if delta else None)
    graph = network.layer_graph.with_nodes(replaced)
    sources = {**network.sources, path: source}
    return Patched(replace(network, layer_graph=graph, sources=sources, diagnostics=diagnostics), set(replaced))


def _tensor_names(statements) -> set[str]:
    """Every name a tensor may have in statements: inputs, parameters, outputs, assignments' targets, blocks'
    parameters, `in` and `out`."""
    found = {"in", "out"}
    for item in walk(statements):
        if isinstance(item, (InputDecl, ParamDecl)):
            found.add(item.name.id)
        elif isinstance(item, Assign):
            found.update(target.id for target in item.targets)
        elif isinstance(item, OutputDecl):
            found.update(target.id for target in item.names)
        elif isinstance(item, BlockDef):
            found.update(param.name.id for param in item.params)
    return found


def _renamed(nodes: dict, made: list[str], written: str, labels: set, labelled: bool) -> dict | None:
    """The names lowering gives the layers `made` by one call, now of kind `written`: old name -> new, for
    those whose name changes; None where the names of other layers would change too. labels: every name the
    file's syntax gives a layer, a group or a parameter (`_names_written`).

    A labelled layer keeps its label, one in a positional scope its place. Else a layer is named after its kind
    as written, numbered in its scope (`relu2` -> `gelu2`, a repeat's copies named in turn): that holds where
    no other layer of the scope is named after either kind (their numbers would move), and no label
    in the file is a name of either numbering (lowering keeps a label's name free in its scope, even one whose
    condition is false, and one inside a group in the scope above)."""
    if labelled:
        return {}
    old = nodes[made[0]].written
    numberings = (_numbering(old), _numbering(written))
    if any(numbering.fullmatch(label) for label in labels for numbering in numberings):
        return None
    mine = set(made)
    scopes: dict[str, list[str]] = {}
    for name in nodes:
        scopes.setdefault(name[: name.rfind(".") + 1], []).append(name)
    renamed = {}
    for name in made:
        data = nodes[name]
        local = data.label
        if local.isdigit():
            continue
        prefix = name[: len(name) - len(local)]
        if not numberings[0].fullmatch(local):
            return None
        for other in scopes.get(prefix, ()):
            # another layer named after either kind (a labelled one is not numbered: its label is its name)
            if other not in mine and any(numbering.fullmatch(other, len(prefix)) for numbering in numberings):
                return None
        number = local[len(old) + len(number_separator(old)) :]
        renamed[name] = prefix + written + number_separator(written) + number
    return renamed


def _numbering(written: str):
    """The automatic names of a kind as written (build.numbered_name): `conv1`, `conv2`..., `relu6_1`..."""
    return re.compile(re.escape(written) + number_separator(written) + r"\d+")


def _bound(kind, call: Call, env: dict | None = None):
    """(args, arg_spans, explicit) of a call whose arguments read no name but the constants in `env`, or None
    where binding reports anything: lowering's diagnostics are left to lowering. (Where it reports PyTorch's
    argument order, `linear(100, 10)`, binding reports the number where a boolean goes.)"""
    env = env if env is not None else {}
    reported = []

    def report(*said) -> None:
        reported.append(said)

    positional, keywords = call_arguments(call)
    args, _, spans, explicit = bind(
        kind,
        call.name.id,
        call.span,
        positional,
        keywords,
        env=env,
        report=report,
        report_eval=report,
        value_of=lambda item: evaluate(item.value, env),
        tensor_of=lambda item: None,
    )
    return None if args is None or reported else (args, spans, explicit)


def _names_written(statements) -> set[str]:
    """Every label and parameter's name in statements, the chains and block bodies in them."""
    return {
        item.label.id if isinstance(item, Labelled) else item.name.id
        for item in walk(statements)
        if isinstance(item, (Labelled, ParamDecl))
    }


def _call_around(statements, start: tuple, end: tuple) -> tuple[Call, bool] | None:
    """The innermost call whose span holds [start, end) ((line, column) pairs), in statements and the chains
    and block bodies in them, and whether it is labelled (`conv1: conv(...)`, or through a condition)."""
    labelled: set[int] = set()  # id() of the elements a label names
    pending = list(statements)
    while pending:
        item = pending.pop()
        if isinstance(item, Call):
            if _holds(item.span, start, end):
                return item, id(item) in labelled  # calls do not nest: the first that holds it is the one
            continue
        span = getattr(item, "span", None)
        if span is None or not _holds(span, start, end):
            continue
        if isinstance(item, (Assign, OutputDecl)):
            if item.chain is not None:
                pending.append(item.chain)
        elif isinstance(item, BlockDef):
            if item.body is not None:
                pending.extend(item.body)
            if item.chain is not None:
                pending.append(item.chain)
        elif isinstance(item, Chain):
            pending.extend(item.elements)
        elif isinstance(item, Group):
            pending.append(item.chain)
        elif isinstance(item, (Labelled, Repeat, When)):
            if isinstance(item, Labelled) or (isinstance(item, When) and id(item) in labelled):
                labelled.add(id(item.element))
            pending.append(item.element)
    return None


def _holds(span: Span, start: tuple, end: tuple) -> bool:
    return (span.line, span.column) <= start and end <= (span.end_line, span.end_column)
