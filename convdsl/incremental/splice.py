"""The network of a new text where one element of a chain at the top level was put in or taken out.

`-> relu -> maxpool` -> `-> relu -> gelu -> maxpool` (a paste, a layer typed in) and back (an undo), and the
texts on the way while a layer is typed: ` -> g` (a name no kind has: lowering's E005, and the layer after it
has no input), ` -> gel` -> ` -> gelu` (a layer where E005 was) and back.

Lowering makes, for an element between two others of a chain (A before it, B after it):
- a layer call: one node, named by its label, else after its kind as written and numbered in its scope
  (`gelu1`), made just before B's node, its input what fed B (the tensor flowing out of A), and B's input
  it; the edges are made in the order the nodes are (lower/statements.py: pending edges, resolved in order);
- a name no kind or block has: no node, E005 at the name (lower.statements.unknown_layer); B has no input
  (`incomplete`) and no edge in;
- nothing: A's tensor flows into B.
So the new network is the old one with the old element's work undone and the new element's done, where
- the chain is a statement's at the top level (not in a block's body or a group, whose instances and copies
  are named by place or stamped from templates), A and B are on either side of the edit, B is a layer call
  taking one tensor (the one flowing in), and the old and the new element are on the edited line;
- the new element is a call (labelled or not; no condition, no repeat) of a layer kind whose arguments read no
  name and bind without a diagnostic (rebind.py's rules), with one output; or a name no kind, block or tensor
  has, written without arguments;
- no other layer's name moves: an automatic name is taken only where no layer of the scope, and no label in
  the file, is a name of the kind's numbering; a label must be new and not end in a digit (a label keeps an
  automatic name free);
- lowering said nothing else on the line, no block call is written there, and the expansion stays within its
  limits (the steps and layers the last lowering counted, one more or less: incremental.Expansion).
The nodes written on the line are moved as the text after the edit moved. The wiring of the nodes whose
edges changed is made again (`reinfer_rewired`: what feeds the element has another consumer, whose lints
read it); where a cut chain is mended, the state before the cut is the start (incremental.State.before_cut).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .. import diagnostics as codes
from ..build import number_separator
from ..diagnostics import Diagnostic
from ..layers import KINDS
from ..lower.binding import names_read
from ..lower.statements import unknown_layer
from ..model import LayerNode
from ..syntax import Assign, Call, Labelled, OutputDecl
from .edit import SpaceEdit
from .patch import Patched, _on_line, written_on_line
from .rebind import _bound, _names_written, _numbering, _tensor_names


@dataclass(frozen=True)
class _Element:
    """What one text has between A and B: nothing, a layer call or a name no kind has."""

    what: str  # "none", "layer" or "unknown"
    node: str | None = None  # the old text's: the layer's node
    diagnostic: Diagnostic | None = None  # the old text's: the E005 said of a name no kind has
    call: Call | None = None  # the new text's: the call
    label: str | None = None  # the layer's label, if it has one


def splice(state, change, source, program):
    """The new network (Patched: its expansion, and whether a name no kind has cut the chain or was taken out
    of it), or None where the edit is not one element put into or taken out of a top-level chain as the
    module's docstring says."""
    network, expansion = state.network, state.expansion
    if program is None or network.shape_reads or expansion is None or state.carry is None:
        return None
    path, old, new = state.path, state.source.text, source.text
    line_start = new.rfind("\n", 0, change.start) + 1
    line = new.count("\n", 0, change.start) + 1
    if line in state.call_lines:
        return None  # a block call on the line: its instances' sites hold its span
    delta = change.new_end - change.old_end
    column, end_column = change.start - line_start + 1, change.new_end - line_start + 1
    chain = _chain_on(program.statements, line)
    if chain is None:
        return None
    elements = chain.elements
    # an element ending where the edit begins is edited if the edit joins its name (`gelu` -> `g`), and so is
    # one beginning where it ends (`elu` -> `gelu`)
    stretches = (old[change.start : change.old_end], new[change.start : change.new_end])
    joined_left = change.start > 0 and _word(new[change.start - 1]) and any(_word(s[:1]) for s in stretches)
    joined_right = change.new_end < len(new) and _word(new[change.new_end]) and any(_word(s[-1:]) for s in stretches)
    before = 0
    while before < len(elements) and (
        _end(elements[before]) < (line, column) or (_end(elements[before]) == (line, column) and not joined_left)
    ):
        before += 1
    after = before
    while after < len(elements) and (
        _start(elements[after]) < (line, end_column) or (_start(elements[after]) == (line, end_column) and joined_right)
    ):
        after += 1
    if before == 0 or after == len(elements) or after - before > 1:
        return None  # at a chain's start or end, or more than one element in between
    a, b = elements[before - 1], elements[after]
    b_call = b.element if isinstance(b, Labelled) else b
    if not isinstance(b_call, Call) or b_call.name.id not in KINDS:
        return None  # B must be a layer call (one node); that it takes the tensor flowing in alone, its edges say
    now = _new_element(elements[before] if after > before else None, program, state.carry.blocks)
    if now is None:
        return None
    graph = network.layer_graph
    nodes = graph.nodes
    # the nodes written on the line, moved as the text after the edit moves (the stretch changed moves what
    # follows it as spaces typed there would); the new element's own are made so
    moved = written_on_line(network, path, line, SpaceEdit(line, column, change.old_end - line_start + 1, delta))
    on_line = list(moved)
    b_span = _old_span(b_call.span, line, delta)
    made_b = [name for name in (on_line if b_span.line == line else nodes) if nodes[name].span == b_span]
    if len(made_b) != 1:
        return None
    b_node = made_b[0]
    reported = [d for d in network.diagnostics if _on_line(d, path, line)]
    old_text = state.source
    a_end = old_text.offset(a.span.end_line, a.span.end_column)
    b_old = source.offset(b.span.line, b.span.column) - delta
    was = _old_element(old, a_end, b_old, old_text, line, nodes, on_line, reported)
    if was is None or any(d is not was.diagnostic for d in reported):
        return None  # lowering said something else on the line (it may read what moves)
    if was.what == now.what:
        return None  # nothing put in or taken out: an element edited in place is rebind.py's
    steps = expansion.steps + (now.what != "none") - (was.what != "none")
    layers = expansion.layers + (now.what == "layer") - (was.what == "layer")
    if steps > expansion.step_budget or layers > expansion.max_layers:
        return None  # lowering would stop at a limit
    edges = list(graph._edges)
    order = dict(nodes)
    diagnostics = list(network.diagnostics)
    producer = _undone(was, a, b_node, edges, order, diagnostics, on_line)
    if producer is None:
        return None
    made = _done(now, b_node, producer, edges, order, diagnostics, program, state.carry.blocks)
    if made is None:
        return None
    for name, node in moved.items():
        if name in order:
            node.incomplete = order[name].incomplete  # B's, as the element before it now leaves it
            order[name] = node
    touched = {b_node, producer[0], *made}
    if was.node is not None:
        touched.add(was.node)
    diagnostics.sort(key=Diagnostic.sort_key)
    spliced = replace(
        network,
        layer_graph=graph.spliced(order, edges, touched),
        sources={**network.sources, path: source},
        diagnostics=tuple(diagnostics),
    )
    # a name no kind has put in cuts the chain (the layers after it lose their shapes); taken out, it mends it
    cut = True if now.what == "unknown" else False if was.what == "unknown" else None
    return Patched(spliced, set(moved), touched, replace(expansion, steps=steps, layers=layers), cut)


def _new_element(element, program, blocks) -> _Element | None:
    """What the new text has between A and B (`element`, or None), if it is what this module can take."""
    if element is None:
        return _Element("none")
    label, call = None, element
    if isinstance(element, Labelled):
        label, call = element.label.id, element.element
    # (on the edited line: it holds the edit, which is on one line, and it is new or was on one line)
    if not isinstance(call, Call):
        return None  # a condition, a repeat, a group
    name = call.name.id
    kind = KINDS.get(name)
    if kind is None:
        if call.args or call.kwargs or name in blocks or name == "reuse" or name in _tensor_names(program.statements):
            return None  # a block or `reuse` lowers otherwise; a tensor's name changes E005's help
        return _Element("unknown", call=call, label=label)
    if kind.statement or kind.variadic or names_read(kind, call) != ():
        return None  # a name read may bind otherwise; a merge's inputs are its arguments
    return _Element("layer", call=call, label=label)


def _old_element(old: str, a_end: int, b_old: int, text, line, nodes, on_line, reported) -> _Element | None:
    """What the old text has between A (ending at offset a_end) and B (starting at b_old): read from the text
    between them, and found among the nodes written on the line and lowering's diagnostics there."""
    at = _arrow(old, a_end, b_old)
    if at is None:
        return None
    if at == b_old:
        return _Element("none")
    label_end = _identifier(old, at, b_old)
    if label_end == at:
        return None
    name_start = at
    colon = _spaces(old, label_end, b_old)
    label = None
    if colon < b_old and old[colon] == ":":
        label = old[at:label_end]
        name_start = _spaces(old, colon + 1, b_old)
    name_end = _identifier(old, name_start, b_old)
    if name_end == name_start:
        return None
    where, column = text.position(name_start)
    if where != line:
        return None
    for name in on_line:
        data = nodes[name]
        span = data.span
        if span.line == line and span.column == column and data.kind not in ("input", "output"):
            if data.written != old[name_start:name_end] or (label is not None and data.label != label):
                return None
            if span.end_line != line or _arrow(old, text.offset(line, span.end_column), b_old) != b_old:
                return None
            return _Element("layer", node=name, label=label)
    for diagnostic in reported:
        span = diagnostic.span
        if (
            diagnostic.code is codes.UNKNOWN_LAYER
            and (span.line, span.column, span.end_line, span.end_column)
            == (line, column, line, column + name_end - name_start)
            and _arrow(old, name_end, b_old) == b_old
        ):
            return _Element("unknown", diagnostic=diagnostic)
    return None


def _undone(was: _Element, a, b_node: str, edges: list, order: dict, diagnostics: list, on_line):
    """Undo the old element's work in `edges`, `order` and `diagnostics`: (the node that feeds B now, its
    output port), or None where the graph is not as that element leaves it."""
    into_b = [edge for edge in edges if edge[1] == b_node]
    if was.what == "none":
        if len(into_b) != 1 or into_b[0][2] != 0:
            return None  # B takes more than the tensor flowing in, or that is missing (A made none)
        return into_b[0][0], into_b[0][3]["src_port"]
    if was.what == "layer":
        x = was.node
        into_x = [edge for edge in edges if edge[1] == x]
        out_of_x = [edge for edge in edges if edge[0] == x]
        if (
            len(into_x) != 1
            or into_x[0][2] != 0
            or len(into_b) != 1
            or out_of_x != into_b
            or into_b[0][2] != 0
            or order[x].incomplete
        ):
            return None  # what it made feeds more than B, or it takes more than the tensor flowing in
        if was.label is None and _numbered_before(order, order[x].written, x) is None:
            return None  # a layer named after the same kind after it: its number moves
        if was.label is not None and was.label[-1].isdigit():
            return None  # a label that kept an automatic name free (`conv1:`): the next of that kind takes it
        source, port = into_x[0][0], into_x[0][3]["src_port"]
        edges[edges.index(into_b[0])] = (source, b_node, 0, {"port": 0, "src_port": port})
        edges.remove(into_x[0])
        del order[x]
        return source, port
    # a name no kind has: B had no input; what A made feeds it again
    if into_b or not order[b_node].incomplete:
        return None
    a_call = a.element if isinstance(a, Labelled) else a
    if not isinstance(a_call, Call) or KINDS.get(a_call.name.id) is None:
        return None  # A's tensor is a block's, a group's or a name's: found by lowering
    span = a_call.span
    made = [name for name in (on_line if span.line == was.diagnostic.span.line else order) if order[name].span == span]
    if len(made) != 1:
        return None
    producer = order[made[0]]
    if KINDS[producer.written].output_count(producer.args) != 1:
        return None
    diagnostics.remove(was.diagnostic)
    node = order[b_node].copy()
    node.incomplete = False
    order[b_node] = node
    # B's edge in where lowering makes it: after every edge into a node made before B
    position = {name: index for index, name in enumerate(order)}
    at = position[b_node]
    index = next((i for i, edge in enumerate(edges) if position.get(edge[1], -1) > at), len(edges))
    edges.insert(index, (made[0], b_node, 0, {"port": 0, "src_port": 0}))
    return made[0], 0


def _done(now: _Element, b_node: str, producer: tuple, edges: list, order: dict, diagnostics: list, program, blocks):
    """Do the new element's work in `edges`, `order` and `diagnostics`: the names of the nodes it made, or None
    where lowering would name them otherwise."""
    if now.what == "none":
        return ()
    index = next(i for i, edge in enumerate(edges) if edge[1] == b_node)
    call = now.call
    written = call.name.id
    if now.what == "unknown":
        del edges[index]  # B has no input now
        node = order[b_node].copy()
        node.incomplete = True
        order[b_node] = node
        diagnostics.append(unknown_layer(written, call.name.span, blocks, False))
        return ()
    kind = KINDS[written]
    if now.label is not None:
        local = now.label
        if local in order or local[-1].isdigit():
            return None  # defined twice; or a label that keeps an automatic name free, which others may have
    else:
        if any(_numbering(written).fullmatch(label) for label in _names_written(program.statements)):
            return None  # a label of the kind's numbering keeps a name free: which one, lowering knows
        number = _numbered_before(order, written, b_node)
        if number is None:
            return None
        local = written + number_separator(written) + str(number + 1)
        if local in order:
            return None
    bound = _bound(kind, call)
    if bound is None or kind.output_count(bound[0]) != 1:
        return None
    args, arg_spans, explicit = bound
    b = order[b_node]
    node = LayerNode(
        kind.name, written, args, call.span, local, b.block_path, b.scopes, b.site, arg_spans, explicit, False
    )
    # made just before B: its edge in where B's was, then B's from it
    items = list(order.items())
    at = next(i for i, (name, _) in enumerate(items) if name == b_node)
    items.insert(at, (local, node))
    order.clear()
    order.update(items)
    source, port = producer
    edges[index] = (local, b_node, 0, {"port": 0, "src_port": 0})
    edges.insert(index, (source, local, 0, {"port": 0, "src_port": port}))
    return (local,)


def _numbered_before(order: dict, written: str, place: str) -> int | None:
    """How many top-level layers before the node `place` are named after the kind `written` (automatic names,
    numbered in turn: labels of the numbering are ruled out before), or None if one after it is (its number
    would move), or an input is."""
    numbering = _numbering(written)
    count, seen = 0, False
    for name, data in order.items():
        if name == place:
            seen = True
        elif "." not in name and numbering.fullmatch(name):
            if seen or data.kind == "input":
                return None
            count += 1
    return count


def _chain_on(statements, line: int):
    """The chain of the top-level statement written on `line`, if that is an assignment or an output's."""
    for statement in statements:
        span = statement.span
        if span.line <= line <= span.end_line:
            if isinstance(statement, (Assign, OutputDecl)) and statement.chain is not None:
                return statement.chain
            return None
    return None


def _start(element) -> tuple:
    return element.span.line, element.span.column


def _end(element) -> tuple:
    return element.span.end_line, element.span.end_column


def _old_span(span, line: int, delta: int):
    """A span after the edit, as it was in the old text (on the edited line, it moved by delta)."""
    if span.line != line:
        return span
    end_column = span.end_column - delta if span.end_line == line else span.end_column
    return type(span)(span.path, span.line, span.column - delta, span.end_line, end_column)


def _word(char: str) -> bool:
    return bool(char) and (char.isalnum() or char == "_")


def _spaces(text: str, index: int, limit: int) -> int:
    while index < limit and text[index] in " \t":
        index += 1
    return index


def _identifier(text: str, index: int, limit: int) -> int:
    """The end of the name starting at index (index itself where none does)."""
    if index < limit and (text[index].isalpha() or text[index] == "_"):
        index += 1
        while index < limit and (text[index].isalnum() or text[index] == "_"):
            index += 1
    return index


def _arrow(text: str, index: int, limit: int) -> int | None:
    """Where the text from index on is past one `->` with only spaces, line breaks and comments around it
    (before limit), or None."""
    index = _blank(text, index, limit)
    if not text.startswith("->", index) or index + 2 > limit:
        return None
    return _blank(text, index + 2, limit)


def _blank(text: str, index: int, limit: int) -> int:
    while index < limit:
        char = text[index]
        if char in " \t\r\n":
            index += 1
        elif char == "#":
            stop = text.find("\n", index, limit)
            index = limit if stop == -1 else stop
        else:
            break
    return index
