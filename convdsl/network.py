"""The Network: the graph of layer instances lowering (or a builder) made, and what was found wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable

from .diagnostics import Diagnostic
from .layergraph import LayerGraph
from .model import InputSpec, Settings
from .source import Source
from .walk import topological_order


@dataclass(frozen=True)
class ShapeRead:
    """One `t.shape[d]` read while lowering: the size `value` on axis `dim` (without the batch) of output
    `port` of `node`, read when the graph had `made` nodes (the layers made later may depend on it)."""

    node: str
    port: int
    dim: int
    value: object
    made: int


@dataclass
class Network:
    """A network, loaded from a file or built in Python (convdsl.build): the graph of layer instances and
    what was found wrong.

    layer_graph is convdsl's own LayerGraph: nodes are layer instances named by
    their path (`layer1.0.conv1`), inputs by their own name and outputs
    `output:NAME`, each with its model.LayerNode (kind, args, span, block_path,
    scopes, site, label...). An edge carries one tensor into input `port` of its
    target from output `src_port` of its source. `graph` is the same as a networkx
    MultiDiGraph with the node data as dicts, made on first use (a copy), so that
    checking never imports networkx.
    """

    name: str
    path: str
    layer_graph: LayerGraph
    inputs: dict[str, InputSpec]
    outputs: tuple[str, ...]
    settings: Settings
    diagnostics: tuple[Diagnostic, ...]
    sources: dict[str, Source] = field(repr=False)
    # How to build this network again with some of its files' texts replaced, (network, {path: text}) ->
    # Network: how a fix is tried (fixcheck.py). None where the network was not built from text.
    rebuild: Callable[[Network, dict[str, str]], Network] | None = field(default=None, repr=False, compare=False)
    # The sizes `in.shape[d]` read while lowering, at the declared input sizes: a layer's arguments may
    # depend on them, so a sweep that changes one must build the network again (sizes.py).
    shape_reads: tuple[ShapeRead, ...] = field(default=(), repr=False, compare=False)

    @property
    def graph(self):
        """The layer graph as a networkx MultiDiGraph, made on first use."""
        graph = self.__dict__.get("_networkx_graph")
        if graph is None:
            graph = self.__dict__["_networkx_graph"] = self.layer_graph.to_networkx()
        return graph

    @property
    def has_symbolic_inputs(self) -> bool:
        """An input has a named size (`input x: 3 x H x W`): shapes are expressions, and sizes are swept."""
        return any(isinstance(d, str) for spec in self.inputs.values() for d in spec.dims)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    def layers(self) -> list[str]:
        """Layer nodes in a deterministic topological order."""
        nodes = self.layer_graph.nodes
        return [n for n in topological_order(self.layer_graph) if nodes[n].kind not in ("input", "output")]

    def analyze(self, *, strict: bool = False):
        """Shapes, parameters, MACs, receptive fields and shape diagnostics."""
        from .infer import analyze

        return analyze(self, strict=strict)

    def _repr_svg_(self):  # Jupyter shows the diagram inline
        try:
            from .render import FormatUnavailable, render_svg
        except ImportError:
            return None
        try:
            return render_svg(self.analyze())
        except FormatUnavailable:  # no Graphviz of either kind here: Jupyter shows the text instead
            return None
