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

from ..cancel import checkpoint
from ..infer import CHECK_EVERY, _Inference


class RecordingInference(_Inference):
    """_Inference, keeping per node its diagnostics and size errors (`reports`)."""

    def __init__(self, network, strict: bool, size_hints: bool = True):
        super().__init__(network, strict, size_hints)
        # node -> (its diagnostics, its size errors as (offset among those diagnostics, spatial axis))
        self.reports: dict[str, tuple] = {}

    def _layer(self, node, data) -> None:
        self._recorded(super()._layer, node, data)

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
        )


def reinfer(previous: RecordingInference, network, dirty: set[str]) -> RecordingInference:
    """Inference of `network` (the previous one's graph, some nodes' data replaced: the `dirty` ones), from
    `previous`'s results; `_conclude()` gives its Analysis.

    The receptive fields are not carried over: this Analysis is read for its diagnostics only."""
    new = RecordingInference(network, previous.strict, previous.size_hints)
    new.shapes = dict(previous.shapes)
    new.axes = dict(previous.axes)
    new.extent = dict(previous.extent)
    new.rounded = dict(previous.rounded)
    new.layers = dict(previous.layers)
    new.reports = reports = dict(previous.reports)
    new.sources, new.next_kinds = previous.sources, previous.next_kinds  # the same edges
    new.order = order = previous.order
    nodes, sources, axes, old_axes = network.layer_graph.nodes, new.sources, new.axes, previous.axes
    reported = previous.reports
    changed: set = set()  # (node, port) whose shape or axes differ from before
    inputs_again = any(nodes[node].kind == "input" for node in dirty)
    if inputs_again:
        new.extent = {}  # the first input's sizes: made again, by every input in turn
    for count, node in enumerate(order):
        if not count % CHECK_EVERY:
            checkpoint()
        data = nodes[node]
        kind = data.kind
        if kind == "input":
            if inputs_again:
                reports.pop(node, None)
                new._input(node, data)
                if new.shapes.get((node, 0)) != previous.shapes.get((node, 0)):
                    changed.add((node, 0))
            continue
        if kind == "output":
            if "shape" in data.args:
                reports.pop(node, None)
                new._check_output(node, data)
            continue
        if not (
            node in dirty
            or node in reported
            or (changed and any(source in changed for source in sources.get(node, ())))
        ):
            continue
        reports.pop(node, None)
        new.rounded.pop(node, None)
        before = previous.layers.get(node)
        new._layer(node, data)
        after = new.layers[node]
        for port in range(len(after.output_shapes)):
            if (
                before is None
                or port >= len(before.output_shapes)
                or after.output_shapes[port] != before.output_shapes[port]
                or axes.get((node, port)) != old_axes.get((node, port))
            ):
                changed.add((node, port))
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
