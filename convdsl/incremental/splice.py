"""The network of a new text where one element of a chain at the top level or in a block's body was put in or
taken out.

`-> relu -> maxpool` -> `-> relu -> gelu -> maxpool` (a paste, a layer typed in) and back (an undo), and the
texts on the way while a layer is typed: ` -> g` (a name no kind has: lowering's E005, and the layer after it
has no input), ` -> gel` -> ` -> gelu` (a layer where E005 was) and back, `drop` -> `drop: d` (a label typed on
such a name).

Lowering makes, for an element between two others of a chain (A before it, B after it):
- a layer call: one node, named by its label, else after its kind as written and numbered in its scope
  (`gelu1`), made just before B's first node, its input what fed B (the tensor flowing out of A), and B's
  input it; the edges are made in the order the nodes are (lower/statements.py: pending edges, resolved in
  order);
- a name no kind or block has: no node, E005 at the name (lower.statements.unknown_layer); the chain is cut:
  B has no input. Where B is a layer call, it is made without it (`incomplete`); where B is a group, a block's
  use, a repeat or a condition, cut.py says what lowering leaves of it and of the elements after it (a block's
  use makes nothing);
- nothing: A's tensor flows into B.
So the new network is the old one with the old element's work undone and the new element's done, where
- the chain is a statement's at the top level, or in the body of a block (`{ ... }`, whose layers are named by
  kind, not by place: a chain-form block's are numbered), where its work is done once in each of the block's
  instances (B's node in each, the new layer named in each instance's scope); not in a group (named by place);
  A and B are on either side of the edit, and the old and the new element are on the edited line;
- B is a layer call taking one tensor (the one flowing in); or, at the top level, any other element on a later
  line after an element whose tensor has no name (its nodes' places do not move, and it reads that tensor as
  the one flowing in alone);
- the new element is a call (labelled or not; no condition, no repeat) of a layer kind whose arguments read no
  name and bind without a diagnostic (rebind.py's rules), with one output; or a name no kind, block or tensor
  has, written without arguments;
- no other layer's name moves: an automatic name is taken only where no layer of the scope, and no label in
  the file, is a name of the kind's numbering; a label must be new and not end in a digit (a label keeps an
  automatic name free, even on a name no kind has), and no label is used twice;
- lowering said nothing else on the line, no block call is written there, and the expansion stays within its
  limits (the steps and layers the last lowering counted, one more or less: incremental.Expansion; a cut's
  uses of blocks that make nothing are counted still).
The nodes written on the line are moved as the text after the edit moved. The wiring of the nodes whose
edges changed is made again (`reinfer_rewired`: what feeds the element has another consumer, whose lints
read it). Where a cut chain is mended, the state before the cut is the start (incremental.State.before_cut):
its inference where B is a layer call (B's node is there, without an input); its network where what B made
was left out, from which the mended text is spliced (incremental.reanalyse: `_mended`).
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
from ..syntax import Assign, BlockDef, Call, Labelled, OutputDecl
from .cut import Cut, _within, made_by
from .edit import SpaceEdit
from .patch import Patched, _on_line, calls_reach, written_on_line
from .rebind import _bound, _names_written, _numbering, _tensor_names


MAX_DIAGNOSTICS = 100  # lowering's diagnostics a cut before a group or a block's use is checked against


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
    of it), or None where the edit is not one element put into or taken out of a chain at the top level or in a
    block's body as the module's docstring says."""
    network, expansion = state.network, state.expansion
    if program is None or network.shape_reads or expansion is None or state.carry is None:
        return None
    if any(diagnostic.code is codes.DUPLICATE_DEFINITION for diagnostic in network.diagnostics):
        return None  # a label used twice: which use is named by it moves with the element put in or taken out
    path, old, new = state.path, state.source.text, source.text
    line_start = new.rfind("\n", 0, change.start) + 1
    line = new.count("\n", 0, change.start) + 1
    delta = change.new_end - change.old_end
    column, end_column = change.start - line_start + 1, change.new_end - line_start + 1
    if calls_reach(state, line, column):
        return None  # a block call on the line after the edit's start: its instances' sites hold its span
    found = _chain_on(program.statements, line)
    if found is None:
        return None
    chain, statement, in_body = found
    elements = chain.elements
    # an element ending where the edit begins is edited if the edit joins its name (`gelu` -> `g`) or makes it a
    # label (`drop` -> `drop: d` and back), and so is one beginning where it ends (`elu` -> `gelu`)
    stretches = (old[change.start : change.old_end], new[change.start : change.new_end])
    joined_left = (
        change.start > 0
        and _word(new[change.start - 1])
        and any(_word(s[:1]) or s.lstrip(" \t")[:1] == ":" for s in stretches)
    )
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
    b_layer = isinstance(b_call, Call) and b_call.name.id in KINDS
    if not b_layer and (in_body or b.span.line <= line or (before == 1 and _named(a))):
        # B a group, a block's use, a repeat or a condition: at the top level (one of each), on a line of its
        # own after the edit (its nodes' places do not move), after an element whose tensor has no name (B
        # reads it as the tensor flowing in alone)
        return None
    blocks = state.carry.blocks
    now = _new_element(elements[before] if after > before else None, program, blocks)
    if now is None:
        return None
    graph = network.layer_graph
    nodes = graph.nodes
    # the nodes written on the line, moved as the text after the edit moves (the stretch changed moves what
    # follows it as spaces typed there would); the new element's own are made so
    moved = written_on_line(network, path, line, SpaceEdit(line, column, change.old_end - line_start + 1, delta))
    on_line = list(moved)
    if b_layer:
        # B's node: one at the top level, one per instance of the block in whose body the chain is
        b_span = _old_span(b_call.span, line, delta)
        b_nodes = [name for name in (on_line if b_span.line == line else nodes) if nodes[name].span == b_span]
        if not b_nodes or (len(b_nodes) != 1 and not in_body):
            return None
    else:
        b_nodes = list(made_by(nodes, b.span))
        if not b_nodes:
            return None  # a condition that did not hold, a block that made nothing: lowering's to say
    after_b = _After(b_nodes, a, elements[after:], blocks, statement.span, program)
    reported = [d for d in network.diagnostics if _on_line(d, path, line)]
    old_text = state.source
    a_end = old_text.offset(a.span.end_line, a.span.end_column)
    b_old = source.offset(b.span.line, b.span.column) - delta
    was = _old_element(old, a_end, b_old, old_text, line, nodes, on_line, reported)
    if was is None or any(d is not was.diagnostic for d in reported):
        return None  # lowering said something else on the line (it may read what moves)
    if was.what == now.what and was.what != "unknown":
        return None  # nothing put in or taken out: an element edited in place is rebind.py's
    if any(label is not None and label[-1].isdigit() for label in (was.label, now.label)):
        # a label, even on a name no kind has, keeps an automatic name free (`relu1:`): which, lowering knows
        return None
    times = len(b_nodes) if b_layer else 1  # the element is lowered once per instance
    steps = expansion.steps + times * ((now.what != "none") - (was.what != "none"))
    layers = expansion.layers + times * ((now.what == "layer") - (was.what == "layer"))
    if steps > expansion.step_budget or layers > expansion.max_layers:
        return None  # lowering would stop at a limit (a cut's uses of blocks that make nothing are counted still)
    edges = list(graph._edges)
    order = dict(nodes)
    diagnostics = list(network.diagnostics)
    touched: set = set()  # the ends of every edge put in or taken out, every node put in or taken out
    if was.what == now.what:  # a name no kind has, labelled otherwise (`drop` -> `drop: d`): still cut
        diagnostics.remove(was.diagnostic)
        diagnostics.append(unknown_layer(now.call.name.id, now.call.name.span, blocks, False))
    elif b_layer:
        if not _layers_spliced(was, now, after_b, edges, order, diagnostics, touched):
            return None
    else:
        producer = _undone(was, after_b, edges, order, touched)
        if producer is None or not _done(now, after_b, producer, edges, order, diagnostics, touched):
            return None
    for name, node in moved.items():
        if name in order:
            node.incomplete = order[name].incomplete  # B's, as the element before it now leaves it
            order[name] = node
    diagnostics.sort(key=Diagnostic.sort_key)
    spliced = replace(
        network,
        layer_graph=graph.spliced(order, edges, touched),
        sources={**network.sources, path: source},
        diagnostics=tuple(diagnostics),
    )
    # a name no kind has put in cuts the chain (the layers after it lose their shapes); taken out, it mends it
    cut = None  # as it was
    if was.what != now.what and "unknown" in (was.what, now.what):
        cut = now.what == "unknown"
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
            return _Element("unknown", diagnostic=diagnostic, label=label)
    return None


@dataclass(frozen=True)
class _After:
    """B, the element after the edited one, and what the edit's tensor flows into: B's nodes (its one node
    where B is a layer call), A, the elements from B to the chain's end, and what may read the cut."""

    nodes: list  # the nodes B made, in order
    a: object  # the element before the edited one
    elements: list  # B and the elements after it
    blocks: object  # the file's blocks
    statement: object  # the span of the chain's statement
    program: object  # the new text's syntax tree


def _layers_spliced(
    was: _Element, now: _Element, after: _After, edges: list, order: dict, diagnostics, touched
) -> bool:
    """B a layer call: the old element's work undone and the new one's done at each of B's nodes (one at the top
    level, one per instance of the block in whose body the chain is), in a pass over the nodes and one or two
    over the edges. False where the graph is not as the old element leaves it, or where lowering would name a
    layer otherwise."""
    b_nodes = after.nodes
    b_set = set(b_nodes)
    into: dict = {b: [] for b in b_nodes}
    for edge in edges:
        if edge[1] in b_set:
            into[edge[1]].append(edge)
    feeds = {}  # B's node -> (node, port): what feeds it once the old element's work is undone
    xs = {}  # the old element's nodes -> the B node each fed
    if was.what == "none":
        for b in b_nodes:
            ins = into[b]
            if len(ins) != 1 or ins[0][2] != 0:
                return False  # B takes more than the tensor flowing in, or that is missing (A made none)
            feeds[b] = (ins[0][0], ins[0][3]["src_port"])
    elif was.what == "layer":
        x_span = order[was.node].span
        for b in b_nodes:
            ins = into[b]
            if len(ins) != 1 or ins[0][2] != 0 or order[ins[0][0]].span != x_span or order[ins[0][0]].incomplete:
                return False
            xs[ins[0][0]] = b
        into_x: dict = {x: [] for x in xs}
        out_of_x: dict = {x: 0 for x in xs}
        for edge in edges:
            if edge[1] in into_x:
                into_x[edge[1]].append(edge)
            if edge[0] in out_of_x:
                out_of_x[edge[0]] += 1
        for x, b in xs.items():
            ins = into_x[x]
            if len(ins) != 1 or ins[0][2] != 0 or out_of_x[x] != 1:
                return False  # it takes more than the tensor flowing in, or what it made feeds more than B
            feeds[b] = (ins[0][0], ins[0][3]["src_port"])
        if was.label is None and _numbers(order, order[was.node].written, xs) is None:
            return False  # a layer named after the same kind after it: its number moves
    else:  # a name no kind has: B had no input; what A made feeds it again
        a_call = after.a.element if isinstance(after.a, Labelled) else after.a
        if not isinstance(a_call, Call) or KINDS.get(a_call.name.id) is None:
            return False  # A's tensor is a block's, a group's or a name's: found by lowering
        a_span = a_call.span
        by_site: dict = {}  # A's nodes, by the instance (site) they are in
        for name, data in order.items():
            if data.span == a_span:
                by_site.setdefault(id(data.site), []).append(name)
        for b in b_nodes:
            made = by_site.get(id(order[b].site), ())
            if into[b] or not order[b].incomplete or len(made) != 1:
                return False
            producer = order[made[0]]
            if KINDS[producer.written].output_count(producer.args) != 1:
                return False
            feeds[b] = (made[0], 0)
    made_nodes = {}  # B's node -> (the new layer's name, its node)
    if now.what == "layer":
        made_nodes = _made_layers(now, b_nodes, order, after.program)
        if made_nodes is None:
            return False
    # the nodes: the old element's taken out, the new one's made just before B's, B's input found or lost
    incomplete = {b: now.what == "unknown" for b in b_nodes}
    spliced = {}
    for name, data in order.items():
        if name in xs:
            continue
        made = made_nodes.get(name)
        if made is not None:
            spliced[made[0]] = made[1]
        if name in incomplete and data.incomplete != incomplete[name]:
            data = data.copy()
            data.incomplete = incomplete[name]
        spliced[name] = data
    # the edges: B's node fed by what fed the old element, where its edge was
    if was.what == "layer":
        edges[:] = [
            (feeds[xs[edge[0]]][0], edge[1], edge[2], {"port": edge[3]["port"], "src_port": feeds[xs[edge[0]]][1]})
            if edge[0] in xs
            else edge
            for edge in edges
            if edge[1] not in xs
        ]
    elif was.what == "unknown":
        # B's edge in where lowering makes it: after every edge into a node made before B
        position = {name: index for index, name in enumerate(order)}
        pending = sorted(b_nodes, key=position.__getitem__)
        joined, at = [], 0
        for edge in edges:
            while at < len(pending) and position.get(edge[1], -1) > position[pending[at]]:
                b = pending[at]
                joined.append((feeds[b][0], b, 0, {"port": 0, "src_port": feeds[b][1]}))
                at += 1
            joined.append(edge)
        joined.extend((feeds[b][0], b, 0, {"port": 0, "src_port": feeds[b][1]}) for b in pending[at:])
        edges[:] = joined
        diagnostics.remove(was.diagnostic)
    # ... then the new element's: a layer between them, or nothing (B without an input)
    if now.what != "none":
        done = []
        for edge in edges:
            b = edge[1]
            if b in b_set and edge[2] == 0 and (edge[0], edge[3]["src_port"]) == feeds[b]:
                if now.what == "unknown":
                    continue
                local = made_nodes[b][0]
                done.append((edge[0], local, 0, {"port": 0, "src_port": edge[3]["src_port"]}))
                done.append((local, b, 0, {"port": 0, "src_port": 0}))
            else:
                done.append(edge)
        edges[:] = done
    if now.what == "unknown":
        call = now.call
        diagnostics.append(unknown_layer(call.name.id, call.name.span, after.blocks, False))
    order.clear()
    order.update(spliced)
    touched.update(b_nodes, xs, (made[0] for made in made_nodes.values()), (feed[0] for feed in feeds.values()))
    return True


def _made_layers(now: _Element, b_nodes: list, order: dict, program, scopes: dict | None = None) -> dict | None:
    """The new layer's node made before each of B's nodes (B's node -> (its name, its node)), named as lowering
    names it in B's scope (or in `scopes[B's node]`, a name prefix); None where it would be named otherwise
    (another layer's number would move)."""
    call = now.call
    written = call.name.id
    kind = KINDS[written]
    bound = _bound(kind, call)
    if bound is None or kind.output_count(bound[0]) != 1:
        return None
    args, arg_spans, explicit = bound
    if now.label is None:
        if any(_numbering(written).fullmatch(label) for label in _names_written(program.statements)):
            return None  # a label of the kind's numbering keeps a name free: which one, lowering knows
        numbers = _numbers(order, written, b_nodes, scopes)
        if numbers is None:
            return None
    named = {name[:i] for name in order for i, char in enumerate(name) if char == "."}  # groups', instances'
    made = {}
    for b in b_nodes:
        data = order[b]
        prefix = scopes[b] if scopes is not None else b[: len(b) - len(data.label)]
        local = now.label if now.label is not None else written + number_separator(written) + str(numbers[b] + 1)
        name = prefix + local
        if name in order or name in named:
            return None  # defined twice, or a group's or a block instance's name
        node = LayerNode(
            kind.name, written, args, call.span, local, data.block_path, data.scopes, data.site, arg_spans, explicit
        )
        made[b] = (name, node)
    return made


def _numbers(order: dict, written: str, places, scopes: dict | None = None) -> dict | None:
    """How many layers named after the kind `written` (automatic names, numbered in turn: labels of the
    numbering are ruled out before) come before each node of `places` in its scope (or in `scopes[place]`, a
    name prefix), by node; None if one comes after one of them (its number would move), or an input is named
    so."""
    numbering = _numbering(written)
    position, found = {}, {}
    for index, (name, data) in enumerate(order.items()):
        position[name] = index
        local = name.rfind(".") + 1
        if numbering.fullmatch(name, local):
            if data.kind == "input":
                return None
            found.setdefault(name[:local], []).append(index)
    numbers = {}
    for place in places:
        prefix = scopes[place] if scopes is not None else place[: place.rfind(".") + 1]
        indices = [index for index in found.get(prefix, ()) if index != position[place]]
        if indices and indices[-1] > position[place]:
            return None
        numbers[place] = len(indices)
    return numbers


def _undone(was: _Element, after: _After, edges: list, order: dict, touched: set):
    """Undo the old element's work before B (a group, a block's use, a repeat, a condition) in `edges` and
    `order`: (the node that feeds B now, its output port), or None where the graph is not as that element
    leaves it, or a chain cut before B is mended (the state before the cut is the start: incremental)."""
    b_set = set(after.nodes)
    into_b = [edge for edge in edges if edge[1] in b_set and edge[0] not in b_set]
    if was.what == "none":
        # what A made feeds B (B may read other tensors by their names)
        from_a = made_by({edge[0]: order[edge[0]] for edge in into_b}, after.a.span)
        ends = {(edge[0], edge[3]["src_port"]) for edge in into_b if edge[0] in from_a}
        return next(iter(ends)) if len(ends) == 1 else None
    if was.what != "layer":
        return None
    x = was.node
    into_x = [edge for edge in edges if edge[1] == x]
    out_of_x = [edge for edge in edges if edge[0] == x]
    if len(into_x) != 1 or into_x[0][2] != 0 or order[x].incomplete or not out_of_x:
        return None  # it takes more than the tensor flowing in
    if any(edge[1] not in b_set for edge in out_of_x):
        return None
    if was.label is None and _numbers(order, order[x].written, (x,)) is None:
        return None  # a layer named after the same kind after it: its number moves
    source, port = into_x[0][0], into_x[0][3]["src_port"]
    for i, edge in enumerate(edges):  # what it fed is fed by what fed it, where its edge was
        if edge[0] == x:
            edges[i] = (source, edge[1], edge[2], {"port": edge[3]["port"], "src_port": port})
            touched.add(edge[1])
    edges.remove(into_x[0])
    del order[x]
    touched.update((x, source))
    return source, port


def _done(now: _Element, after: _After, producer: tuple, edges, order: dict, diagnostics: list, touched) -> bool:
    """Do the new element's work before B (a group, a block's use, a repeat, a condition) in `edges`, `order`
    and `diagnostics`; False where lowering would do otherwise than this knows (name the new layer otherwise,
    leave other nodes of a cut chain)."""
    if now.what == "none":
        return True  # A's tensor flows into B: _undone made it so
    if now.what == "unknown":
        if not _cut(after, producer, edges, order, diagnostics, touched):
            return False
        diagnostics.append(unknown_layer(now.call.name.id, now.call.name.span, after.blocks, False))
        return True
    b_set = set(after.nodes)
    first = after.nodes[0]
    made = _made_layers(now, [first], order, after.program, {first: ""})  # named in the top level's scope
    if made is None:
        return False
    local, node = made[first]
    # B's first node is a block instance's or a group's: the new layer is the top level's
    site = node.site
    while site.parent is not None:
        site = site.parent
    node.site, node.block_path, node.scopes = site, (), ()
    # made just before B: its edge in before the first into B's nodes, then B's from it in place of A's
    items = list(order.items())
    at = next(i for i, (name, _) in enumerate(items) if name == first)
    items.insert(at, (local, node))
    order.clear()
    order.update(items)
    source, port = producer
    index = next(i for i, edge in enumerate(edges) if edge[1] in b_set)
    for i, edge in enumerate(edges):
        if edge[0] == source and edge[3]["src_port"] == port and edge[1] in b_set:
            edges[i] = (local, edge[1], edge[2], {"port": edge[3]["port"], "src_port": 0})
            touched.add(edge[1])
    edges.insert(index, (source, local, 0, {"port": 0, "src_port": port}))
    touched.update((local, source))
    return True


def _cut(after: _After, producer: tuple, edges: list, order: dict, diagnostics: list, touched: set) -> bool:
    """A chain cut before B, a group, a block's use, a repeat or a condition: what lowering leaves of B and the
    elements after it (cut.py) made so; False where that is not known here."""
    if len(diagnostics) > MAX_DIAGNOSTICS:
        return False  # each is compared with the file's block definitions: many are left to lowering
    definitions = [item.span for item in after.program.statements if isinstance(item, BlockDef)]
    for diagnostic in diagnostics:
        span = diagnostic.span
        if (
            span is None
            or span.path != after.statement.path
            or _within(span, after.statement)
            or any(_within(span, definition) for definition in definitions)
        ):
            return False  # lowering said something the cut may change (a block's body, the chain's statement)
    elements = after.elements
    rest = elements[0].span.to(elements[-1].span)
    cut = Cut(made_by(order, rest), after.blocks)
    if cut.walk(elements) is None:
        return False
    source, port = producer
    flow = [edge for edge in edges if edge[0] == source and edge[3]["src_port"] == port and edge[1] in cut.region]
    if not flow:
        return False
    gone = cut.gone
    names = list(order)
    later = names[names.index(after.nodes[0]) :]
    for block in cut.unnumbered:  # a use of it that made nothing took no number: a later use's would move
        numbering = _numbering(block)
        if any(name not in gone and numbering.fullmatch(name.split(".", 1)[0]) for name in later):
            return False
    removed = {id(edge) for edge in flow}
    removed.update(id(edge) for edge in edges if edge[0] in gone or edge[1] in gone)
    kept = []
    for edge in edges:
        if id(edge) not in removed:
            kept.append(edge)
            continue
        touched.update(edge[:2])
        target = edge[1]
        if target not in gone and not order[target].incomplete:  # it lost an input
            node = order[target].copy()
            node.incomplete = True
            order[target] = node
    edges[:] = kept
    for name in gone:
        del order[name]
    touched.update(gone)
    return True


def _named(element) -> bool:
    """Whether a chain's first element is a tensor's name (lower.statements: `_chain`)."""
    return isinstance(element, Call) and not element.args and not element.kwargs and element.name.id not in KINDS


def _chain_on(statements, line: int):
    """(the chain, its statement, whether that is in a block's body) of the assignment or output written on
    `line`, at the top level or in a block's body (`{ ... }`: its layers are named by kind, not by place)."""
    statement = _statement_on(statements, line)
    in_body = isinstance(statement, BlockDef)
    if in_body:
        statement = _statement_on(statement.body or (), line)
    if isinstance(statement, (Assign, OutputDecl)) and statement.chain is not None:
        return statement.chain, statement, in_body
    return None


def _statement_on(statements, line: int):
    """The top-level statement written on `line`, or None."""
    for statement in statements:
        span = statement.span
        if span.line <= line <= span.end_line:
            return statement
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
