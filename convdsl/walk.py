"""What every walk over the layer graph shares: the order, each node's inputs and consumers, the rank
check both inference and the Probe make, and the garbage collector paused while a network is walked."""

from __future__ import annotations

import gc
from contextlib import contextmanager

from .layergraph import LayerGraph
from .layers.base import fmt_shape


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while a network is built, analysed, summarised or drawn.

    Each allocates many small objects and no reference cycles worth collecting;
    with the collector on, it walks every live object again and again: a
    20,000-layer network took twice as long to build, and the summary of a
    100,000-layer one spent 2.7 of its 3.4 s in the collector. Nests; usable as
    a decorator.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def topological_order(graph) -> list[str]:
    """Insertion order where it is already topological (the usual case), else a stable sort.

    graph: a LayerGraph, or a networkx MultiDiGraph. With a cycle, the insertion order.
    """
    if isinstance(graph, LayerGraph):
        order = graph.topological_order()
        return order if order is not None else list(graph.nodes)
    import networkx as nx

    order = {node: i for i, node in enumerate(graph.nodes)}
    try:
        return list(nx.lexicographical_topological_sort(graph, key=order.__getitem__))
    except nx.NetworkXUnfeasible:
        return list(graph.nodes)


def wiring(graph) -> tuple[dict, dict]:
    """Each node's inputs by port, [(source, its output port)], and the kinds of the layers it feeds
    (distinct layers, in the order of graph.successors; outputs left out): in one pass over the edges,
    rather than a graph query per node (node_wiring is that query, for the few nodes an edit rewires)."""
    nodes = graph.nodes
    inputs: dict = {}
    consumers: dict = {}
    # a LayerGraph's edges in the order they were made: a node's inputs are sorted by port below
    edges = graph.edges_as_made() if isinstance(graph, LayerGraph) else graph.edges(data=True)
    for u, v, data in edges:
        inputs.setdefault(v, []).append((data["port"], u, data["src_port"]))
        if nodes[v].kind != "output":
            consumers.setdefault(u, {})[v] = None
    sources = {
        v: [(u, port) for _, u, port in (edges if len(edges) == 1 else sorted(edges))] for v, edges in inputs.items()
    }
    next_kinds = {u: tuple([nodes[v].kind for v in targets]) for u, targets in consumers.items()}
    return sources, next_kinds


def node_wiring(graph: LayerGraph, node: str) -> tuple[list | None, tuple | None]:
    """One node's entries of `wiring`: its inputs by port, [(source, its output port)], and the kinds of the
    layers it feeds; None for either where wiring has no entry (no input; no layer fed)."""
    nodes = graph.nodes
    into = [(data["port"], u, data["src_port"]) for u, _, data in graph.in_edges(node, data=True)]
    sources = [(u, port) for _, u, port in (into if len(into) == 1 else sorted(into))] if into else None
    kinds = tuple([nodes[v].kind for v in graph.successors(node) if nodes[v].kind != "output"])
    return sources, kinds or None


def rank_problem(kind, written: str, shapes) -> tuple[str, str, str | None] | None:
    """(message, label, help) when a layer gets a tensor of a rank it cannot take."""
    for shape in shapes[:1] if not kind.variadic else shapes:
        spatial = len(shape) - 1
        if (kind.rank is not None and spatial != kind.rank) or spatial < kind.min_rank:
            want = kind.rank if kind.rank is not None else kind.min_rank
            layout = {0: "C", 1: "C x L", 2: "C x H x W", 3: "C x D x H x W"}.get(want, "")
            return (
                f"{written} needs {'at least ' if kind.rank is None else ''}{want} spatial "
                f"ax{'is' if want == 1 else 'es'} ({layout}), got a {fmt_shape(shape)} tensor",
                f"{spatial} spatial ax{'is' if spatial == 1 else 'es'}",
                "flatten happens too early, or the layer's dimension is wrong" if spatial < want else None,
            )
    return None


def declared_batch(network) -> int | None:
    """The batch every input declares (1 when none does); None when one is a name, or they differ."""
    batches = {spec.batch for spec in network.inputs.values()}
    batches.discard(None)
    if not batches:
        return 1
    (batch,) = batches if len(batches) == 1 else (None,)
    return batch if isinstance(batch, int) else None
