"""Inference that remembers what each node reported, and inference again of only what an edit can change.

A node's shapes, counts and diagnostics follow from its own data and the shapes (and axes) of its inputs;
the exceptions read further up the graph, and only when the node reports something (the provenance of a
size that does not divide, the output_padding fixes of a declared output). So after an edit, inference
visits the nodes in the order it met them before and infers again:
- the nodes the edit changed or moved (`dirty`),
- every node an input of which now has another shape or other axes,
- every node that reported something before (what it read further up may have changed),
- every output with a declared shape;
and every other node keeps its results. The whole-network passes (`_Inference._conclude`) then run as they
do after a full inference, over diagnostics collected in the same order.
"""

from __future__ import annotations

from .. import diagnostics as codes
from ..arguments import same_value
from ..cancel import checkpoint
from ..infer import CHECK_EVERY, _Inference
from ..model import LayerInfo
from ..walk import node_wiring, topological_order


class RecordingInference(_Inference):
    """_Inference, keeping per node its diagnostics and size errors (`reports`) and its entry for the
    receptive-field pass (`entries`), so that a later inference can take them over."""

    def __init__(self, network, strict: bool, size_hints: bool = True):
        super().__init__(network, strict, size_hints)
        # node -> (its diagnostics, its size errors as (offset among those diagnostics, spatial axis))
        self.reports: dict[str, tuple] = {}
        self.entries: dict[str, tuple] = {}  # node -> its entry of fields_to_do

    def _layer(self, node, data) -> None:
        self._recorded(super()._layer, node, data)
        self.entries[node] = self.fields_to_do[-1]

    def _input(self, node, data) -> None:
        self._recorded(super()._input, node, data)

    def _check_output(self, node, data) -> None:
        self._recorded(super()._check_output, node, data)

    def _recorded(self, step, node, data) -> None:
        found, divisions = self.found, self.divisions
        start, first = len(found), len(divisions)
        step(node, data)
        if len(found) != start or len(divisions) != first:
            self.reports[node] = (
                tuple(found[start:]),
                tuple((index - start, axis) for index, _, axis in divisions[first:]),
            )

    def reusable(self) -> bool:
        """Whether inference can start again from here: a network without symbolic sizes or cycles, whose
        layers no whole-network pass rewrote (tied or reused parameters, totals past the limit)."""
        from .. import diagnostics as codes

        return (
            self.sample is None
            and not self.symbolic
            and (bool(self.order) or not len(self.graph))
            and not any(d.code is codes.LIMIT_EXCEEDED for d in self.found)
            and not any(
                data.shares is not None or (data.kind == "linear" and data.args.get("tie") is not None)
                for data in self.graph.nodes.values()
            )
        )


def reinfer(previous: RecordingInference, network, dirty: set[str]) -> RecordingInference:
    """Inference of `network`, the previous one's graph with the data of the `dirty` nodes replaced (patch.py),
    from `previous`'s results; `_conclude()` gives its Analysis."""
    new = RecordingInference(network, previous.strict, previous.size_hints)
    new.sources, new.next_kinds = previous.sources, previous.next_kinds  # the same edges
    new.shared = previous.shared  # args dicts more than one layer has: a hint for sharing results, no more
    new.order = previous.order
    return _again(previous, new, dirty.__contains__)


def reinfer_rewired(previous: RecordingInference, network, rewired: set, dirty: set) -> RecordingInference:
    """Inference of `network`, the previous one's graph with nodes put in, taken out or renamed and edges
    rewired among the `rewired` nodes (every node whose inputs or consumers, or its consumers' kinds, may
    differ: splice.py, rebind.py), the data of the `dirty` ones replaced; from `previous`'s results. The
    wiring is the previous one's, made again for the rewired nodes only (walk.node_wiring)."""
    graph = network.layer_graph
    sources, next_kinds = dict(previous.sources), dict(previous.next_kinds)
    for node in rewired:
        sources.pop(node, None)
        next_kinds.pop(node, None)
        if node in graph.nodes:
            inputs, kinds = node_wiring(graph, node)
            if inputs is not None:
                sources[node] = inputs
            if kinds is not None:
                next_kinds[node] = kinds
    new = RecordingInference(network, previous.strict, previous.size_hints)
    new.sources, new.next_kinds = sources, next_kinds
    new.shared = previous.shared  # args dicts more than one layer has: a hint for sharing results, no more
    new.order = topological_order(graph)
    changed = rewired | dirty
    return _again(previous, new, changed.__contains__)


def reinfer_lowered(previous: RecordingInference, network, size_hints: bool | None = None) -> RecordingInference | None:
    """Inference of `network`, lowered afresh from a later text of the previous one's file, from `previous`'s
    results where a node is as it was (the same data, as inference reads it, and the same inputs and
    consumers); None where nothing can be taken over (other settings, a cycle, shapes read while lowering).
    size_hints: as analyze() takes it (None: as the previous inference had it); a node's own results do not
    depend on it, only the whole-network passes do."""
    if (
        network.settings != previous.network.settings
        or network.shape_reads
        or any(d.code is codes.CYCLE for d in network.diagnostics)
        or network.has_symbolic_inputs
    ):
        return None
    new = RecordingInference(network, previous.strict, previous.size_hints if size_hints is None else size_hints)
    if new.batch != previous.batch:
        return None
    checkpoint()
    new._wire()
    new.order = topological_order(new.graph)
    old_nodes, old_sources, old_next = previous.graph.nodes, previous.sources, previous.next_kinds
    sources, next_kinds = new.sources, new.next_kinds
    rewired = sources != old_sources or next_kinds != old_next  # compared whole (in C) first: usually the same

    alike: dict[tuple[int, int], bool] = {}  # (id(args), id(old args)) -> same: equal layers share one dict
    new_nodes = new.graph.nodes

    def dirty(node: str) -> bool:
        old = old_nodes.get(node)
        if old is None:
            return True
        data = new_nodes[node]
        if data.args is not old.args:
            key = (id(data.args), id(old.args))
            same = alike.get(key)
            if same is None:
                same = alike[key] = same_value(data.args, old.args)
            if not same:
                return True
        return not same_node(data, old, args=False) or (
            rewired and (sources.get(node) != old_sources.get(node) or next_kinds.get(node) != old_next.get(node))
        )

    return _again(previous, new, dirty)


def _again(previous: RecordingInference, new: RecordingInference, dirty) -> RecordingInference:
    """`new`'s inference, its order and wiring set: each node in order is inferred again if `dirty(node)`, if
    it reported something before (what it read further up may have changed), or if one of its inputs has
    another shape or other axes now; every other node takes its results over from `previous`. Inputs and
    outputs with a declared shape are always done again (there are few)."""
    nodes = new.graph.nodes
    sources, order = new.sources, new.order
    old_shapes, old_axes, old_layers = previous.shapes, previous.axes, previous.layers
    old_rounded, old_reports, old_entries = previous.rounded, previous.reports, previous.entries
    shapes, axes, layers, rounded, reports = new.shapes, new.axes, new.layers, new.rounded, new.reports
    entries, fields_to_do = new.entries, new.fields_to_do
    changed: set = set()  # (node, port) whose shape or axes differ from before
    for count, node in enumerate(order):
        if not count % CHECK_EVERY:
            checkpoint()
        data = nodes[node]
        kind = data.kind
        if kind == "input":
            new._input(node, data)
            if shapes.get((node, 0)) != old_shapes.get((node, 0)) or axes.get((node, 0)) != old_axes.get((node, 0)):
                changed.add((node, 0))
            continue
        if kind == "output":
            if "shape" in data.args:
                new._check_output(node, data)
            continue
        before = old_layers.get(node)
        if (
            before is None
            or node in old_reports
            or node not in old_entries
            or dirty(node)
            or (changed and not changed.isdisjoint(sources.get(node, ())))
        ):
            new._layer(node, data)
            after = layers[node]
            for port in range(len(after.output_shapes)):
                if (
                    before is None
                    or port >= len(before.output_shapes)
                    or after.output_shapes[port] != before.output_shapes[port]
                    or axes.get((node, port)) != old_axes.get((node, port))
                ):
                    changed.add((node, port))
            continue
        # as it was: its results taken over (a LayerInfo of its own: the receptive-field pass sets its fields)
        for port in range(len(before.output_shapes)):
            shapes[(node, port)] = old_shapes[(node, port)]
            axes[(node, port)] = old_axes[(node, port)]
        layers[node] = LayerInfo(
            node,
            before.kind,
            before.input_shapes,
            before.output_shapes,
            before.params,
            before.buffers,
            before.macs,
            None,
            None,
            None,
        )
        if node in old_rounded:
            rounded[node] = old_rounded[node]
        entry = old_entries[node]
        entries[node] = entry
        fields_to_do.append(entry)
    # the diagnostics in the order a full inference reports them (each node's, in turn)
    found, divisions = [], []
    for node in order:
        report = reports.get(node)
        if report is not None:
            base = len(found)
            found.extend(report[0])
            divisions.extend((base + offset, node, axis) for offset, axis in report[1])
    new.found, new.divisions = found, divisions
    return new


def same_node(a, b, args: bool = True) -> bool:
    """Whether two nodes are alike as inference reads them (not their site or scopes: what made them); args:
    their arguments too (False: compared already)."""
    # `is` first: a span is a dataclass, whose == runs in Python, and a layer of an included file that did not
    # change has the very spans it had (its syntax tree is kept: snapshot.parse_included)
    return a is b or (
        a.kind == b.kind
        and a.written == b.written
        and (a.span is b.span or a.span == b.span)
        and a.label == b.label
        and a.incomplete == b.incomplete
        and a.shares == b.shares
        and a.explicit == b.explicit
        and a.block_path == b.block_path
        and (a.dim_spans is b.dim_spans or a.dim_spans == b.dim_spans)
        and (a.arg_spans is b.arg_spans or a.arg_spans == b.arg_spans)
        and (not args or a.args is b.args or same_value(a.args, b.args))
    )
