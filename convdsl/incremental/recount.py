"""The network of a new text whose edit is a repeat's count: `layer3: (bottleneck(256, stride=2) ->
bottleneck(256) * 35)` -> `* 36`, a stage's depth typed over.

Lowering makes a repeat's copies one after the other, each fed the one before's result, and stamps each copy
after the first from one lowered copy (lower/stamping.py): the same layers, arguments and wiring, named under
the copy's claim in the enclosing scope (`layer3.35.` then `layer3.36.`). So where the copies are a block's
instances that read nothing but the tensor flowing in, the new network is the old graph with copies put in
after the last one, made from it as the stamp makes them, or the last ones taken out; what read the last copy's
result reads the new last copy's. Every copy's layers have the repeat's scope with the new count (a diagram
folds the copies by it). The new copies are inferred, and whatever reads a shape that changed (inference.py),
with the wiring made again around them (`reinfer_rewired`).

Left to a whole analysis, where a copy's place or names could differ otherwise:
- the repeat is not the last element of a labelled group, nor labelled itself (an element after it in its
  scope would be numbered again), or has an index (`as i`: each copy's arguments may differ);
- its element is not an unlabelled block's use, or that block's body uses another block, a repeat (their ids
  number every repeat after it) or `reuse`;
- the copies were not lowered at the top level (in a block's body, they are made per instance of that block),
  or read anything but the tensor flowing in, or were not all made (an error upstream);
- the new count is beyond the limits (steps, layers, --max-repeat): lowering reports it;
- lowering reported on the line, a block call after the number on its line would move, or the network reads
  shapes while lowering.
"""

from __future__ import annotations

from dataclasses import replace

from ..layers import KINDS
from ..model import Scope
from ..syntax import Call, Group, Labelled, Literal, Repeat, walk
from .edit import NumberEdit
from . import sites
from .patch import Patched, _on_line, calls_reach, written_on_line


def repeat_count(state, edit: NumberEdit, source, program) -> Patched | None:
    """The new network (Patched: its expansion, and the nodes around the copies to wire again), or None where the
    edited number is not such a repeat's count (see the module's docstring)."""
    network, expansion, carry = state.network, state.expansion, state.carry
    if program is None or network.shape_reads or expansion is None or carry is None:
        return None
    path, line = state.path, edit.line
    if edit.delta and calls_reach(state, line, edit.column):
        return None
    if any(_on_line(diagnostic, path, line) for diagnostic in network.diagnostics):
        return None
    repeat = _repeat_counted(program.statements, (path, line, edit.column, line, edit.end_column + edit.delta))
    if repeat is None:
        return None
    old, new = edit.old_value, edit.value
    if not 1 <= new <= carry.limits.max_repeat:
        return None
    copies = _copies(network, repeat.element.span, old)
    if copies is None:
        return None
    top = copies[0].site.parent
    written = top.definitions.syntax(copies[0].site.block)
    if written is None or not _plain(written[0], set(top.definitions.names())):
        return None
    per_copy = _steps_per_copy(carry, state.source, repeat, edit)
    layers_per_copy = len(copies[-1].nodes)
    if per_copy is None or any(len(copy.nodes) != layers_per_copy for copy in copies):
        return None
    steps = expansion.steps + (new - old) * per_copy
    layers = expansion.layers + (new - old) * layers_per_copy
    if steps > expansion.step_budget or layers > expansion.max_layers:
        return None
    graph = network.layer_graph
    made = _Copies(graph, copies, old, new)
    if not made.wired():
        return None
    replaced = written_on_line(network, path, line, edit if edit.delta else None)
    # inferred again: the copies put in, and what is written on the line (moved); the copies kept differ in their
    # scopes alone, which inference does not read
    dirty = set(replaced)
    nodes, edges, touched = made.graph(replaced)
    if nodes is None:
        return None
    dirty.update(made.added)
    spliced = replace(
        network,
        layer_graph=graph.spliced(nodes, edges, touched),
        sources={**network.sources, path: source},
    )
    return Patched(spliced, dirty, touched, replace(expansion, steps=steps, layers=layers))


def _repeat_counted(statements, where: tuple) -> Repeat | None:
    """The repeat whose count is the number written at `where` (path, line, column, end line, end column), if it
    is one this answers: unindexed, of an unlabelled block's use, the last element of a labelled group or
    labelled itself."""
    for item in walk(statements):
        if not isinstance(item, Labelled):
            continue
        element = item.element
        if isinstance(element, Group):
            element = element.chain.elements[-1]
        if not isinstance(element, Repeat) or not isinstance(element.count, Literal):
            continue
        span = element.count.span
        if (span.path, span.line, span.column, span.end_line, span.end_column) != where:
            continue
        call = element.element
        if element.index is not None or not isinstance(call, Call) or call.name.id in KINDS or call.name.id == "reuse":
            return None
        return element
    return None


class _Copy:
    """One copy the last lowering made: the block instance (model.Site) and its nodes, in order."""

    def __init__(self, site, claim: int, nodes: list[str]):
        self.site, self.claim, self.nodes = site, claim, nodes


def _copies(network, call_span, count: int) -> list[_Copy] | None:
    """The repeat's copies, in order, or None unless there are `count`, block instances at the top level named
    under consecutive claims of one scope (`layer3.1.` to `layer3.35.`), each with its nodes written
    consecutively."""
    made = sites.instances(network, call_span)
    if made is None:
        return None
    order: list[_Copy] = []
    for site, nodes in made:
        _, _, claim = site.prefix[:-1].rpartition(".")
        if not claim.isdigit() or site.parent is None or site.parent.parent is not None:
            return None
        order.append(_Copy(site, int(claim), nodes))
    if len(order) != count or not order:
        return None
    scope = order[0].site.prefix[: -len(str(order[0].claim)) - 1]
    top = order[0].site.parent
    if top.definitions is None or top.reuses:
        return None
    for index, copy in enumerate(order):
        if (
            copy.claim != order[0].claim + index
            or copy.site.prefix != f"{scope}{copy.claim}."
            or copy.site.parent is not top
        ):
            return None
    return order


def _plain(definition, blocks: set) -> bool:
    """Whether a block's definition uses no other block, no repeat and no `reuse`: its instance is one site whose
    layers are its own, and lowering it counts no repeat id."""
    body = definition.body if definition.body is not None else (definition.chain,)
    for item in walk(body):
        if isinstance(item, Repeat):
            return False
        if isinstance(item, Call) and (item.name.id in blocks or item.name.id == "reuse"):
            return False
    return True


def _steps_per_copy(carry, old_source, repeat: Repeat, edit: NumberEdit) -> int | None:
    """The steps one copy counted against the budget, as a lowering's template of the repeat recorded them
    (lower/carrying.py: by the repeat's text), or None where none is left. The last whole lowering may have seen
    another count (quick edits since): any count serves, as one copy is the same whatever the count."""
    span, count = repeat.span, repeat.count.span
    text = old_source.text
    start = old_source.offset(span.line, span.column)
    count_start = old_source.offset(count.line, count.column)
    count_end = count_start + (count.end_column - count.column - edit.delta)
    end = old_source.offset(span.end_line, span.end_column - (edit.delta if span.end_line == edit.line else 0))
    before, after = text[start:count_start], text[count_end:end]
    places = carry.templates.get((Repeat, span.path, text[start:end]))
    if not places:
        for (kind, where, written), found in carry.templates.items():
            if (
                kind is Repeat
                and where == span.path
                and written.startswith(before)
                and written.endswith(after)
                and written[len(before) : len(written) - len(after)].isdigit()
            ):
                places = found
                break
    if not places:
        return None
    return next(iter(places.values())).template.steps


class _Copies:
    """The copies of the new count, made from the old graph: the last copy stamped again under the next claims, or
    the last ones taken out."""

    def __init__(self, graph, copies: list[_Copy], old: int, new: int):
        self.old_graph, self.copies, self.old, self.new = graph, copies, old, new
        self.added: list[str] = []
        self.entry = self.result = None  # the last copy's (node, port) in, and out

    def wired(self) -> bool:
        """Whether each copy kept reads only the tensor flowing in (one (node, port), from the copy before), and the
        last copy's result is known: found here."""
        graph, last = self.old_graph, self.copies[-1]
        inside = set(last.nodes)
        entries, results = set(), set()
        for name in last.nodes:
            for u, _, data in graph.in_edges(name, data=True):
                if u not in inside:
                    entries.add((u, data["src_port"]))
            for v in graph.successors(name):
                if v not in inside:
                    results.update((name, data["src_port"]) for u, _, data in graph.in_edges(v, data=True) if u == name)
        if len(entries) != 1 or len(results) > 1:
            return False
        self.entry = next(iter(entries))
        if len(self.copies) > 1:
            before = self.copies[-2]
            node, port = self.entry
            if not node.startswith(before.site.prefix):
                return False
            result = (last.site.prefix + node[len(before.site.prefix) :], port)
            if results and results != {result}:
                return False
            self.result = result
        elif results:
            self.result = next(iter(results))
        return self.result is not None

    def graph(self, replaced: dict):
        """(nodes in order, edges as made, the nodes whose adjacency changed) of the new network; `replaced`
        holds the nodes written on the edited line (moved), and takes every node whose data changes. (None, None,
        None) where the copies cannot be made so."""
        old_graph, copies, old, new = self.old_graph, self.copies, self.old, self.new
        repeat_scopes = _RepeatScopes(new)
        kept = copies[: min(old, new)]
        for index, copy in enumerate(kept):
            for name in copy.nodes:
                data = old_graph.nodes[name]
                scopes = repeat_scopes.of(data.scopes, copy, index)
                if scopes is None:
                    return None, None, None
                node = replaced.get(name) or data.copy()
                node.scopes = scopes
                replaced[name] = node
        if new > old:
            return self._grown(replaced, repeat_scopes)
        return self._shrunk(replaced)

    def _grown(self, replaced: dict, repeat_scopes):
        old_graph, copies, old, new = self.old_graph, self.copies, self.old, self.new
        last = copies[-1]
        inside = set(last.nodes)
        prefix = last.site.prefix
        scope = prefix[: -len(str(last.claim)) - 1]
        made_nodes: dict = {}
        made_edges: list = []
        last_edges = [edge for edge in old_graph._edges if edge[1] in inside]
        feed = self.result  # what the next copy is fed: the copy before's result
        for index in range(old, new):
            claim = last.claim + index - old + 1
            head = f"{scope}{claim}."

            def named(node: str, head=head) -> str:
                return head + node[len(prefix) :]

            inputs = {}
            for key, value in last.site.inputs.items():
                if value == self.entry:
                    inputs[key] = feed
                elif value is not None and value[0] in inside:
                    inputs[key] = (named(value[0]), value[1])
                else:
                    return None, None, None
            site = replace(last.site, prefix=head, env=dict(last.site.env), inputs=inputs, reuses={})
            for name in last.nodes:
                data = old_graph.nodes[name]
                node = data.copy()
                node.site = site
                node.scopes = repeat_scopes.of(data.scopes, last, index, head[:-1])
                if node.scopes is None:
                    return None, None, None
                made_nodes[named(name)] = node
            for u, v, _, data in last_edges:
                if u in inside:
                    source, port = named(u), data["src_port"]
                else:
                    source, port = feed
                made_edges.append((source, named(v), data["port"], {"port": data["port"], "src_port": port}))
            feed = (named(self.result[0]), self.result[1])
        self.added = list(made_nodes)
        nodes = {}
        for name, data in old_graph.nodes.items():
            nodes[name] = replaced.get(name, data)
            if name == last.nodes[-1]:
                nodes.update(made_nodes)
        rewired = self._rewired(self.result, feed, made_edges, set(), inside)
        if rewired is None:
            return None, None, None
        edges, touched = rewired
        touched.update(made_nodes)
        if not _resited(nodes, self.result, feed, set(), made_nodes):
            return None, None, None
        return nodes, edges, touched

    def _shrunk(self, replaced: dict):
        old_graph, copies, new = self.old_graph, self.copies, self.new
        gone = {name for copy in copies[new:] for name in copy.nodes}
        first_gone = set(copies[new].nodes)
        entries = {
            (u, data["src_port"])
            for name in copies[new].nodes
            for u, _, data in old_graph.in_edges(name, data=True)
            if u not in first_gone
        }
        if len(entries) != 1:
            return None, None, None
        result = next(iter(entries))  # the new last copy's: what fed the first copy taken out
        nodes = {name: replaced.get(name, data) for name, data in old_graph.nodes.items() if name not in gone}
        rewired = self._rewired(self.result, result, [], gone, gone)
        if rewired is None:
            return None, None, None
        edges, touched = rewired
        touched.update(gone)
        touched.add(result[0])
        if not _resited(nodes, self.result, result, gone, ()):
            return None, None, None
        return nodes, edges, touched

    def _rewired(self, was: tuple, now: tuple, put_in: list, gone: set, inside: set):
        """The edges as made: those out of `gone` nodes or into them taken out, `put_in` put in after the last
        edge into the last old copy, and every edge out of `was` (the old last copy's result) to a node after
        the copies made out of `now`; and the nodes whose adjacency changed."""
        last = set(self.copies[-1].nodes)
        edges, touched = [], {was[0], now[0]}
        after_last = 0  # where the edges after the last one into the last old copy begin
        for u, v, key, data in self.old_graph._edges:
            if v in last:
                after_last = len(edges) + (v not in gone)
            if v in gone:
                continue
            if u == was[0] and v not in inside and data["src_port"] == was[1]:
                edges.append((now[0], v, key, {"port": data["port"], "src_port": now[1]}))
                touched.add(v)
            elif u in gone:
                return None  # a copy taken out fed something other than through its result
            else:
                edges.append((u, v, key, data))
        edges[after_last:after_last] = put_in
        return edges, touched


def _resited(nodes: dict, was: tuple, now: tuple, gone: set, made_here) -> bool:
    """The block instances fed the old last copy's result (`was`: the instance after the repeat, its `in`) fed
    `now` instead (sites.Resited: every site inside one made anew too), and the nodes in them given theirs (in
    `nodes`, copied), but for the copies `made_here` (fed `was` by right). False where a site reads a node taken
    out otherwise."""

    def change(site) -> dict | None:
        inputs = site.inputs
        if not any((value is not None and value[0] in gone) or value == was for value in inputs.values()):
            return {}
        if any(value is not None and value[0] in gone and value != was for value in inputs.values()):
            return None
        return {"inputs": {key: now if value == was else value for key, value in inputs.items()}}

    resited = sites.Resited(change)
    for name, data in nodes.items():
        site = data.site
        if site is None or name in made_here:
            continue
        new_site = resited(site)
        if new_site is None:
            return False
        if new_site is not site:
            node = data.copy()
            node.site = new_site
            nodes[name] = node
    return True


class _RepeatScopes:
    """The scopes of a copy's layers with the repeat's scope at the new count (one Scope per copy), and, for a
    copy made anew, its block instance's scope under its own name."""

    def __init__(self, count: int):
        self.count = count
        self.made: dict = {}  # (id(old scope), index, id) -> the new scope

    def of(self, scopes: tuple, copy: _Copy, index: int, instance: str | None = None) -> tuple | None:
        own = copy.site.prefix[:-1]
        at = next((i for i, scope in enumerate(scopes) if scope.id == own and scope.kind == "block"), None)
        if at is None or at == 0 or scopes[at - 1].kind != "repeat":
            return None
        result = list(scopes)
        result[at - 1] = self._scope(scopes[at - 1], index, None)
        if instance is not None:
            for i in range(at, len(scopes)):
                scope = scopes[i]
                if scope.id == own or scope.id.startswith(own + "."):
                    result[i] = self._scope(scope, None, instance + scope.id[len(own) :])
        return tuple(result)

    def _scope(self, scope: Scope, index: int | None, name: str | None) -> Scope:
        key = (id(scope), index, name)
        made = self.made.get(key)
        if made is None:
            if index is not None:
                made = replace(scope, index=index, count=self.count)
            else:
                made = replace(scope, id=name)
            self.made[key] = made
        return made
