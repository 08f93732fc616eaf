"""The network of the new text, made from the old one's: the edited number's layers take the new value.

Lowering reads a layer's argument values for nothing but the layer's own `args` (and the number of its
outputs, checked here), unless the network reads a shape while lowering (`in.shape`) or reuses
parameters: such networks are lowered again. So the new network is the old graph, with new node data for:
- the layers whose call writes the number as an argument (`conv(64)`, `s=2`): their `args` take the value
  as binding gives it (arguments.coerce);
- every node written on the edited line: their spans move with the text after the number, and their
  diagnostics read that line.
- an input whose size the number is (`input x: 3 x 224 x 224`): its `shape`, and the network's InputSpec;
  everything after it is inferred again.
A block's argument is answered by blockargs.py, a repeat's count by recount.py. Anything else the number
could be (a constant, an output's declared size, part of an expression) is not a layer's argument as written,
and the text is analysed whole.

Spaces typed or taken out between two tokens (`respace`) change no value: the new network is the old graph
with the nodes written on the line moved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..arguments import argument_tables, coerce, same_value
from ..evaluate import EvalError
from ..layers import KINDS
from ..model import LayerNode
from ..network import Network
from .edit import NumberEdit, SpaceEdit

# what a keyword argument's span holds before its value: `s=`, `stride = `
_KEYWORD = re.compile(r"[^\W\d]\w*\s*=\s*\Z")
# argument types whose value a whole number is, as written or converted by coerce (others: analysed whole)
_NUMERIC = frozenset({"int", "ints", "padding", "float", "floats", "dims"})


@dataclass(frozen=True)
class Patched:
    """A new text's network made from the old one's, and what inference must do again."""

    network: Network
    dirty: set  # the nodes whose data differ from the old network's
    # the nodes whose inputs or consumers (or their consumers' kinds) may differ, those gone included; None:
    # the wiring is the old one's
    rewired: set | None = None
    expansion: object = None  # incremental.Expansion, where it changed (an element put in or taken out)
    cut: bool | None = None  # a chain cut by a name no kind has (True) or mended (False): splice.py
    call_ends: dict | None = None  # State.call_ends of the new text, where a block call's end moved (blockargs.py)


def patch(state, edit: NumberEdit, source):
    """The new network (Patched), or None where this edit is not one layer argument's number, or where the
    network's lowering could depend on it otherwise."""
    network = state.network
    if network.shape_reads:
        return None
    path, line = state.path, edit.line
    if edit.delta and calls_reach(state, line, edit.column):
        return None  # a block call on the line: its instances' sites hold its span
    for diagnostic in network.diagnostics:
        if _on_line(diagnostic, path, line):
            return None  # lowering's own diagnostics there may quote the number (E008)
    line_text = state.source.line_text(line)
    nodes = network.layer_graph.nodes
    replaced: dict[str, LayerNode] = {}
    dirty: set[str] = set()
    new_args: dict[int, dict] = {}  # id(old args) -> new args: nodes that shared one dict share the new one
    argument = None  # the layers' argument the number is (or an input's `shape`), once found
    inputs = dict(network.inputs)
    for name, data in nodes.items():
        if not _touches(data, path, line):
            continue
        dirty.add(name)  # written on the line: inferred again (its fixes read the line's text)
        args = data.args
        if data.kind == "input" and name in inputs:
            sized = _input_sized(inputs[name], edit, path)
            if sized is False:
                return None
            if sized is not None:
                argument = "shape"
                inputs[name] = sized
                args = {**data.args, "shape": sized.dims}
        for arg, span in data.arg_spans.items():
            if span.path != path or not _contains(span, edit):
                continue
            if span.line != line or span.end_line != line or span.end_column != edit.end_column:
                return None  # inside a larger expression: `(3, 64)`, `64 * 2`
            written = line_text[span.column - 1 : edit.column - 1]
            if (written and not _KEYWORD.match(written)) or (argument is not None and argument != arg):
                return None
            argument = arg
            args = new_args.get(id(data.args))
            if args is None:
                args = new_args[id(data.args)] = _with_value(data, arg, edit)
            if args is None:
                return None
        if args is not data.args or edit.delta:
            node = _moved(data, edit, path) if edit.delta else data.copy()
            node.args = args
            replaced[name] = node
    if argument is None:
        return None  # the number is no layer's argument as written
    graph = network.layer_graph.with_nodes(replaced)
    return Patched(replace(network, layer_graph=graph, inputs=inputs, sources={**network.sources, path: source}), dirty)


def respace(state, edit: SpaceEdit, source):
    """The new network (Patched: no node to infer again) for spaces typed or taken out between two tokens: the
    old graph, the nodes written on the line with their spans moved, an input declared there with its spans
    moved. None where lowering kept a place on the line elsewhere than in the nodes: a block call (its
    instances' sites), a diagnostic of its own, shapes read while lowering."""
    network = state.network
    if network.shape_reads:
        return None
    path, line = state.path, edit.line
    if calls_reach(state, line, edit.column):
        return None
    if any(_on_line(diagnostic, path, line) for diagnostic in network.diagnostics):
        return None
    replaced = written_on_line(network, path, line, edit)
    inputs = dict(network.inputs)
    for name, data in replaced.items():
        spec = inputs.get(name) if data.kind == "input" else None
        if spec is not None:
            inputs[name] = spec.moved(lambda span: edit.shift(span) if span.path == path else span)
    graph = network.layer_graph.with_nodes(replaced)
    network = replace(network, layer_graph=graph, inputs=inputs, sources={**network.sources, path: source})
    # nothing to infer again: a node's results read no place, but for what it reports (the text a fix edits, a
    # diagnostic's span), and every node that reported is inferred again anyway (inference.py)
    return Patched(network, set())


def _input_sized(spec, edit: NumberEdit, path: str):
    """The input with the new number for one of its sizes (`input x: 3 x 224 x 224`), its spans moved; None
    where the number is none of its sizes (`batch=8`: no layer's argument either, so the text is analysed
    whole), False where it is a size lowering would refuse (below 1)."""
    for index, span in enumerate(spec.dim_spans):
        if (span.path, span.line, span.column, span.end_line, span.end_column) == (
            path,
            edit.line,
            edit.column,
            edit.line,
            edit.end_column,
        ):
            old = spec.dims[index]
            if type(old) is not int or old != edit.old_value or edit.value < 1:
                return False
            dims = (*spec.dims[:index], edit.value, *spec.dims[index + 1 :])
            if not edit.delta:
                return replace(spec, dims=dims)
            return replace(spec, dims=dims).moved(lambda span: edit.shift(span) if span.path == path else span)
    return None


def _with_value(data: LayerNode, arg: str, edit: NumberEdit) -> dict | None:
    """The node's arguments with the new number, or None unless the old number, bound alike, is the value the
    argument has (it is not the whole argument otherwise: a parameter's span is its first size's)."""
    kind = KINDS.get(data.written)
    if kind is None:
        return None
    spec = argument_tables(kind)[1].get(arg)
    if spec is None or spec.type not in _NUMERIC:
        return None
    span = data.arg_spans[arg]
    try:
        if not same_value(coerce(spec, edit.old_value, span, {}), data.args.get(arg)):
            return None
        coerced = coerce(spec, edit.value, span, {})
    except EvalError:
        return None
    args = dict(data.args)
    args[arg] = coerced
    if kind.output_count(args) != kind.output_count(data.args):
        return None
    return args


def _contains(span, edit: NumberEdit) -> bool:
    """Whether the span holds the old number (all of it: a token is never cut)."""
    line = edit.line
    if (span.line, span.column) > (line, edit.column):
        return False
    return (span.end_line, span.end_column) >= (line, edit.end_column)


def _touches(data: LayerNode, path: str, line: int) -> bool:
    """Whether the node is written on the line: its call, an argument or a declared size. Asked of every
    node on each quick edit, so written out (a tuple of the spans and one test, as _on_line does, took 0.24
    ms for ResNet-152's nodes against 0.14)."""
    span = data.span
    if span is not None and span.path == path and span.line <= line <= span.end_line:
        return True
    for span in data.arg_spans.values():
        if span.path == path and span.line <= line <= span.end_line:
            return True
    return any(span.path == path and span.line <= line <= span.end_line for span in data.dim_spans)


CALL_GOES_ON = 1 << 62  # State.call_ends: a block call that goes on to the next line


def calls_reach(state, line: int, column: int) -> bool:
    """Whether a block call written on `line` ends after `column` (1-based): its instances' sites keep its span,
    which an edit there may move. One that ends before the edit keeps its place."""
    return state.call_ends.get(line, 0) > column


def _on_line(diagnostic, path: str, line: int) -> bool:
    spans = [diagnostic.span, *(edit.span for fix in diagnostic.fixes for edit in fix.edits)]
    return any(span is not None and span.path == path and span.line <= line <= span.end_line for span in spans)


def written_on_line(network, path: str, line: int, shift) -> dict[str, LayerNode]:
    """Copies of the nodes written on the line (`_touches`), by name, their spans in the file moved by
    `shift` (an edit's: its `shift(span)`; None: copied as they are)."""
    return {
        name: _moved(data, shift, path) if shift is not None else data.copy()
        for name, data in network.layer_graph.nodes.items()
        if _touches(data, path, line)
    }


def _moved(data: LayerNode, edit: NumberEdit, path: str) -> LayerNode:
    """A copy of the node with its spans in the edited file as they are in the new text."""
    node = data.moved(lambda span: edit.shift(span) if span.path == path else span)
    return node.copy() if node is data else node
