"""A repeat's copies after the first, stamped from one lowered copy rather than lowered again.

`bottleneck(256) * 35` lowers one block instance 35 times, and every copy walks the same syntax, binds the
same arguments and takes the same decisions: only the names differ (`layer3.1.` then `layer3.2.`), the repeat
copy's index, and the tensor that flows in. That walk was most of an editor's analysis of a large network
(ResNet-152: 42 of its 50 bottleneck instances are such copies). Once a copy has been lowered, what it left
behind is known exactly: the layers it added to the graph, the edges waiting to be resolved, the block
instances (sites) and their tensor scopes, what each name made (for reuse), the names it claimed in the
enclosing scope, the steps and layers it counted. `_template` records that, each name split into the claim it
lies under and the rest; `_stamp` makes the next copy from it: the claims made again as lowering makes them
(`1` -> `2`, `conv1` -> `conv2`), every name moved under its new claim, the ids of the repeats nested in it
moved past the ones used so far, and the tensor that flowed into the lowered copy replaced by the one flowing
into this. The layers' arguments are the lowered copy's own `args` (lowering would bind the same values to
the same shared dict: binding.py).

Stamping applies only where the copies cannot differ, which the lowered copy shows by what it did:
- no `as i` index (each copy's arguments may differ by it);
- it reported nothing (its diagnostics are said once per copy, or once per span: reporting is left to
  lowering);
- it read no tensor of the scopes around it by name (only the tensor flowing in reaches it), took no label
  in the enclosing scope, made no `reuse` and no `param`, and read no tensor's shape (`in.shape`: the early
  shapes are lowering's own);
- a tensor flowed in (after an error upstream, lowering runs each copy);
- the limits (steps, layers) leave room for the whole copy (else lowering runs it, and reports where).

tests/test_lowering_stamp.py holds it to lowering each copy afresh, on every file of the repository and on
repeats written to reach each of these cases.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import islice

from ..evaluate import SHAPES
from ..model import LayerNode, Scope, Site, TensorRef
from .reuse import _Extent
from .state import _Deferred, _TensorScope


@dataclass
class _Mark:
    """Lowering's counters before a copy: what the copy adds is what lies past them afterwards."""

    nodes: int
    pending: int
    made: int
    sites: int
    tensor_scopes: int
    extents: int
    diagnostics: int
    warned: int
    steps: int
    repeats: int
    layers: int
    claims: int
    reads: int
    reuses: int
    shape_reads: int
    depth: int  # scopes open around the copy's layers (the repeat copy's own included)
    withheld: int


@dataclass
class _Template:
    """A lowered copy, as every later copy is stamped from it: each name split into the claim it lies under
    (an index into `claims`) and the rest, each tensor value numbered once (`values`), so that a copy is a
    pass over lists, with no lookups by name."""

    claims: list  # what each claim in the enclosing scope was written as (`_auto_name`'s `written`), in order
    values: list  # ("entry",) | ("ref", node index, port, name) | ("deferred", site index, name, span) | None
    nodes: list  # (LayerNode, claim, rest of its name, claim of its label or -1, inner scopes index, site index)
    inner: list  # the distinct tuples of scopes inside the copy that its layers are in, as indices into `scopes`
    scopes: list  # (Scope, (claim, rest of its id)) for each block or group in the copy; (Scope, None): a repeat
    sites: list  # (Site, _TensorScope, claim, rest, parent site index or -1, inputs, tensors, refs)
    pending: list  # (value index, node index, port)
    made: list  # node indices, in Lowering.made's order
    node_inputs: list  # (node index, [(port, value index)])
    # (claim, rest, start, end (both from the copy's first made), entry, outputs, kind, depth: a group's or
    # block's beyond the copy's, as the same text is stamped at other depths (a call in a repeat and out of
    # it: carrying.py); a layer's is none)
    extents: list
    result: list  # value indices
    steps: int
    repeats: int  # repeats it expanded (their ids run consecutively)
    first_repeat: int  # the id number of the first
    layers: int
    depth: int
    # a diagnostic an earlier copy said was not said again while it was lowered: a template for the copies
    # after it, not for a first copy (carrying.py)
    withheld: bool

    def moved(self, move) -> _Template:
        """The template with every place it holds put through `move` (Span -> Span): its element, or a block
        definition it was lowered from, is written elsewhere in the text of the next lowering (carrying.py).
        Only places are held as it was written: names, values and counts are the same wherever it is."""

        def place(span):
            return move(span) if span is not None else None

        sites = []
        for site, scope, claim, rest, parent, inputs, tensors, refs in self.sites:
            sites.append(
                (
                    replace(site, call_span=place(site.call_span)),
                    replace(scope, warn_key=place(scope.warn_key)),  # a block's definition
                    claim,
                    rest,
                    parent,
                    inputs,
                    [(key, value, place(span)) for key, value, span in tensors],
                    refs,
                )
            )
        return replace(
            self,
            values=[
                (*value[:3], place(value[3])) if value is not None and value[0] == "deferred" else value
                for value in self.values
            ],
            nodes=[(data.moved(move), *rest) for data, *rest in self.nodes],
            sites=sites,
        )


class Stamping:
    """Lowering's stamping of repeat copies, as a mixin (used by repeats.py)."""

    stamping = True  # tests switch it off to compare with lowering every copy

    def _mark(self) -> _Mark:
        return _Mark(
            len(self.graph.nodes),
            len(self.pending_edges),
            len(self.made),
            len(self.sites),
            len(self.tensor_scopes),
            len(self.extents),
            len(self.diagnostics),
            len(self.warned),
            self.steps,
            self.repeats,
            self.builder.layer_count,
            len(self.claims),
            len(self.reads),
            self.reuse_count,
            len(self.shape_reads),
            len(self.scopes),
            self.withheld,
        )

    def _template(self, mark: _Mark, names, entry: list | None, result: list | None) -> _Template | None:
        """What a copy just lowered left behind, as the later copies can be stamped from; None if they cannot
        (see the module's docstring)."""
        if (
            entry is None
            or result is None
            or len(entry) != 1
            or entry[0] is None
            or len(self.diagnostics) != mark.diagnostics
            or len(self.warned) != mark.warned
            or self.reuse_count != mark.reuses
            or len(self.shape_reads) != mark.shape_reads
            or len(self.sites) - mark.sites != len(self.tensor_scopes) - mark.tensor_scopes
        ):
            return None
        claims, claim_of = [], {}
        for claimed_in, written, local, labelled in self.claims[mark.claims :]:
            if claimed_in is names:
                if labelled:
                    return None
                claim_of[local] = len(claims)
                claims.append(written)
        sites = self.tensor_scopes[mark.tensor_scopes :]
        site_index = {id(site): i for i, (site, _) in enumerate(sites)}
        scope_index = {id(scope): i for i, (_, scope) in enumerate(sites)}
        if any(id(scope) not in scope_index for scope in self.reads[mark.reads :]):
            return None  # a tensor of the scopes around it, read by name
        cut = len(names.prefix)

        def split(name: str):
            """(claim, rest) of a name the copy made; None if it lies under no claim of the copy's."""
            if not name.startswith(names.prefix):
                return None
            head, dot, tail = name[cut:].partition(".")
            claim = claim_of.get(head)
            return None if claim is None else (claim, dot + tail)

        graph = self.graph.nodes
        node_names = _last(graph, len(graph) - mark.nodes)
        made = self.made[mark.made :]
        node_index = {name: i for i, name in enumerate(node_names)}
        if not node_names or len(made) != len(node_names) or any(name not in node_index for name in made):
            return None
        values = _Values(entry[0], node_index, scope_index)
        number = values.number
        scopes_inside: list = []
        scope_number: dict[int, int] = {}  # id(Scope) -> its index in scopes_inside
        inner: list = []
        inner_index: dict[tuple, int] = {}
        depth = mark.depth
        first_repeat, last_repeat = mark.repeats + 1, self.repeats
        nodes = []
        for name in node_names:
            data = graph[name]
            if data.kind == "parameter" or data.shares is not None:
                return None
            where = split(name)
            if where is None:
                return None
            scopes = data.scopes[depth:]
            key = tuple(map(id, scopes))
            index = inner_index.get(key)
            if index is None:
                for scope in scopes:
                    if id(scope) in scope_number:
                        continue
                    if scope.kind == "repeat":
                        if not (scope.id[:1] == "#" and first_repeat <= int(scope.id[1:]) <= last_repeat):
                            return None
                        where_ = None
                    else:
                        where_ = split(scope.id)
                        if where_ is None:
                            return None
                    scope_number[id(scope)] = len(scopes_inside)
                    scopes_inside.append((scope, where_))
                index = inner_index[key] = len(inner)
                inner.append(tuple(map(scope_number.__getitem__, key)))
            label = claim_of.get(data.label, -1) if name == names.prefix + data.label else -1
            site = site_index.get(id(data.site), -1)
            if site < 0 and data.site is not self.site:
                return None
            nodes.append((data, *where, label, index, site))
        template_sites = []
        for site, scope in sites:
            where = split(site.prefix[:-1])
            parent = site_index.get(id(site.parent), -1)
            if where is None or (parent < 0 and site.parent is not self.site) or scope.env is not site.env:
                return None
            inputs = [(key, number(value)) for key, value in site.inputs.items()]
            tensors = [(key, number(value), span) for key, (value, span) in scope.tensors.items()]
            refs = [number(ref) for ref in scope.refs]
            template_sites.append((site, scope, *where, parent, inputs, tensors, refs))
        pending = [(number(value), node_index[node], port) for value, node, port in self.pending_edges[mark.pending :]]
        node_inputs = [
            (node_index[name], [(port, number(value)) for port, value in inputs])
            for name in made
            if (inputs := self.node_inputs.get(name))
        ]
        extents = []
        for name in _last(self.extents, len(self.extents) - mark.extents):
            extent = self.extents[name]
            where = split(name)
            if where is None or extent.origin is not None:
                return None
            outputs = [number(v) for v in extent.outputs] if extent.outputs is not None else None
            start, end = extent.start - mark.made, extent.end - mark.made
            scoped = extent.depth - depth if extent.kind in _SCOPED else extent.depth
            extents.append((*where, start, end, number(extent.entry), outputs, extent.kind, scoped))
        result_values = [number(v) for v in result]
        if values.unmovable:
            return None  # a tensor value from outside the copy, other than its entry
        return _Template(
            claims,
            values.described,
            nodes,
            inner,
            scopes_inside,
            template_sites,
            pending,
            [node_index[name] for name in made],
            node_inputs,
            extents,
            result_values,
            self.steps - mark.steps,
            self.repeats - mark.repeats,
            first_repeat,
            self.builder.layer_count - mark.layers,
            depth,
            self.withheld != mark.withheld,
        )

    def _stamp(self, template: _Template, entry: list, names, span) -> list | None:
        """The next copy, stamped from `template`, fed entry[0]: its result; None if the limits would stop it
        part way (lowering then runs the copy, and reports where)."""
        if (
            len(entry) != 1
            or entry[0] is None  # a missing input makes each layer incomplete: as the copy was, it must be
            or self.steps + template.steps > self.step_budget
            or self.builder.layer_count + template.layers > self.limits.max_layers
        ):
            return None
        new_entry = entry[0]
        prefix = names.prefix
        # the names this copy claims, as lowering would claim them, in the same order
        locals_ = [self._auto_name(names, written) for written in template.claims]
        heads = [prefix + local for local in locals_]
        shift = self.repeats + 1 - template.first_repeat  # this copy's repeats take the next ids
        moved = [
            Scope(
                f"#{int(scope.id[1:]) + shift}" if where is None else heads[where[0]] + where[1],
                scope.kind,
                scope.name,
                scope.args,
                scope.index,
                scope.count,
            )
            for scope, where in template.scopes
        ]
        outer = tuple(self.scopes)
        inner = [outer + tuple(map(moved.__getitem__, indices)) for indices in template.inner]
        # block instances first: the tensor values below may be names read in their scopes
        sites, scopes = [], []
        for site, scope, claim, rest, parent, _, _, _ in template.sites:
            env = dict(site.env)
            new_scope = _TensorScope(env, {}, set(scope.used), [], scope.warn_key, set(scope.locals_))
            # every block instance reads `in.shape` through its own (a template carried from the lowering
            # before may have had its own taken out since: Snapshot.release)
            env[SHAPES] = self._shape_reader(new_scope.tensors)
            new_site = Site(
                heads[claim] + rest + ".",
                site.block,
                env,
                site.call_span,
                site.block_path,
                sites[parent] if parent >= 0 else self.site,
            )
            sites.append(new_site)
            scopes.append(new_scope)
        node_names = [heads[claim] + rest for _, claim, rest, _, _, _ in template.nodes]
        values = []
        for described in template.values:
            if described is None:
                values.append(None)
            elif described[0] == "ref":
                values.append(TensorRef(node_names[described[1]], described[2], described[3]))
            elif described[0] == "entry":
                values.append(new_entry)
            else:
                values.append(_Deferred(scopes[described[1]], described[2], described[3]))
        for site, scope, (_, _, _, _, _, inputs, tensors, refs) in zip(sites, scopes, template.sites):
            site.inputs = {key: values[i] for key, i in inputs}
            scope.tensors.update((key, (values[i], span)) for key, i, span in tensors)
            scope.refs.extend(values[i] for i in refs)
        self.sites.extend(sites)
        self.tensor_scopes.extend(zip(sites, scopes))
        add = self.graph.add
        here = self.site
        for (data, _, _, label, scoped, site), name in zip(template.nodes, node_names):
            add(
                name,
                LayerNode(
                    data.kind,
                    data.written,
                    data.args,
                    data.span,
                    data.label if label < 0 else locals_[label],
                    data.block_path,
                    inner[scoped],
                    sites[site] if site >= 0 else here,
                    data.arg_spans,
                    data.explicit,
                    data.incomplete,
                    data.dim_spans,
                    None,
                ),
            )
        self.pending_edges.extend((values[v], node_names[n], port) for v, n, port in template.pending)
        start = len(self.made)
        self.made.extend([node_names[i] for i in template.made])
        node_inputs = self.node_inputs
        for node, inputs in template.node_inputs:
            node_inputs[node_names[node]] = [(port, values[v]) for port, v in inputs]
        extents = self.extents
        for claim, rest, first, last, entry_, outputs, kind, depth in template.extents:
            if kind in _SCOPED:
                depth += len(outer)
            extents[heads[claim] + rest] = _Extent(
                start + first,
                start + last,
                values[entry_],
                [values[v] for v in outputs] if outputs is not None else None,
                kind,
                depth,
            )
        self.builder.layer_count += template.layers
        self.repeats += template.repeats
        self._spend(template.steps, span)  # room for them was checked above
        return [values[v] for v in template.result]


_SCOPED = frozenset({"group", "block"})  # what a label makes that has a depth (reuse.py's _Extent)


class _Values:
    """The tensor values a lowered copy holds, each numbered once, as `_Template.values` describes them."""

    def __init__(self, entry, nodes: dict, scopes: dict):
        self.entry = entry  # the value that flowed into the copy
        self.nodes = nodes  # name -> index, of the layers the copy made
        self.scopes = scopes  # id(_TensorScope) -> index, of the block instances it made
        self.described: list = []
        self.index: dict[int, int] = {}  # id(value) -> its number
        self.unmovable = False  # a value from outside the copy other than the entry: no stamping

    def number(self, value) -> int:
        found = self.index.get(id(value))
        if found is not None:
            return found
        entry = self.entry
        if value is None:  # an input missing after an error
            described = None
        elif value is entry or (type(value) is TensorRef and type(entry) is TensorRef and value == entry):
            described = ("entry",)
        elif type(value) is TensorRef and value.node in self.nodes:
            described = ("ref", self.nodes[value.node], value.port, value.name)
        elif type(value) is _Deferred and id(value.scope) in self.scopes:
            described = ("deferred", self.scopes[id(value.scope)], value.name, value.span)
        else:
            self.unmovable = True
            described = None
        self.index[id(value)] = len(self.described)
        self.described.append(described)
        return len(self.described) - 1


def _last(mapping: dict, count: int) -> list:
    """The last `count` keys of a dict, in insertion order (without walking the ones before)."""
    if count <= 0:
        return []
    keys = list(islice(reversed(mapping), count))
    keys.reverse()
    return keys
