"""The layer graph while checking: a small directed multigraph, so `convdsl check` never imports networkx.

Importing networkx costs more than everything else `check` does (it imports
all its algorithms eagerly), so lowering and inference use this class, which
has the few networkx calls they need with networkx's meaning and order.
`Network.graph` turns it into a real networkx MultiDiGraph on first use.
"""

from __future__ import annotations

import heapq


class LayerGraph:
    """Nodes with data dicts in insertion order; keyed parallel edges with data dicts.

    The subset of networkx.MultiDiGraph used by convdsl: add_node, add_edge,
    nodes[n], in_edges(n, data=True), successors(n); iteration orders as in
    networkx (nodes and edges in insertion order, grouped by neighbour).
    """

    __slots__ = ("_edges", "_pred", "_succ", "nodes")

    def __init__(self):
        self.nodes: dict[str, dict] = {}
        self._pred: dict[str, dict[str, dict]] = {}  # v -> u -> key -> data
        self._succ: dict[str, dict[str, dict]] = {}  # u -> v -> key -> data
        self._edges: list[tuple] = []  # (u, v, key, data) in insertion order

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self):
        return iter(self.nodes)

    def __contains__(self, node) -> bool:
        return node in self.nodes

    def add_node(self, node, **attr) -> None:
        data = self.nodes.get(node)
        if data is None:
            self.nodes[node] = attr
            self._pred[node] = {}
            self._succ[node] = {}
        else:
            data.update(attr)

    def add(self, node, data) -> None:
        """Add a node with its data (a model.LayerNode), or replace the data of one already here."""
        if node not in self.nodes:
            self._pred[node] = {}
            self._succ[node] = {}
        self.nodes[node] = data

    def with_nodes(self, replaced: dict) -> LayerGraph:
        """A graph with the same edges and the data of some nodes replaced (name -> model.LayerNode): this one's
        edges are shared with it, so neither graph may be changed afterwards (incremental/patch.py)."""
        graph = LayerGraph.__new__(LayerGraph)
        graph.nodes = {**self.nodes, **replaced}
        graph._pred, graph._succ, graph._edges = self._pred, self._succ, self._edges
        return graph

    def renamed(self, names: dict, replaced: dict) -> LayerGraph:
        """A graph with some nodes renamed (old name -> new), each in its place, and the data of some replaced
        (old name -> model.LayerNode); the edges as they were, between the nodes' new names, in the same order.
        The edges' data are shared with this graph: neither may be changed afterwards (incremental/rebind.py)."""
        graph = LayerGraph()
        name = names.get
        graph.nodes = {name(node, node): replaced.get(node, data) for node, data in self.nodes.items()}
        pred = graph._pred = {node: {} for node in graph.nodes}
        succ = graph._succ = {node: {} for node in graph.nodes}
        edges = graph._edges
        for u, v, key, attr in self._edges:
            u, v = name(u, u), name(v, v)
            keys = succ[u].get(v)
            if keys is None:
                keys = succ[u][v] = pred[v][u] = {}
            keys[key] = attr
            edges.append((u, v, key, attr))
        return graph

    def add_edge(self, u, v, key=None, **attr) -> None:
        if u not in self.nodes:
            self.add_node(u)
        if v not in self.nodes:
            self.add_node(v)
        keys = self._succ[u].get(v)
        if keys is None:
            keys = self._succ[u][v] = {}
            self._pred[v][u] = keys
        if key is None:
            key = len(keys)
            while key in keys:
                key += 1
        data = keys.get(key)
        if data is None:
            keys[key] = attr
            self._edges.append((u, v, key, attr))
        else:
            data.update(attr)

    def add_port_edge(self, u, v, port: int, src_port: int) -> None:
        """add_edge(u, v, key=port, port=port, src_port=src_port): output src_port of u feeds input port of v.

        The one edge lowering makes per input, once per layer: without add_edge's keyword dict and checks."""
        succ = self._succ.get(u)
        if succ is None or v not in self.nodes:
            self.add_edge(u, v, key=port, port=port, src_port=src_port)
            return
        keys = succ.get(v)
        if keys is None:
            keys = succ[v] = {}
            self._pred[v][u] = keys
        elif port in keys:  # the edge is there: its data updated, as add_edge does
            keys[port].update(port=port, src_port=src_port)
            return
        attr = {"port": port, "src_port": src_port}
        keys[port] = attr
        self._edges.append((u, v, port, attr))

    def in_edges(self, node, data: bool = False) -> list[tuple]:
        """Edges into `node`; none for a node not in the graph, as in networkx."""
        pred = self._pred.get(node)
        if not pred:
            return []
        if data:
            return [(u, node, d) for u, keys in pred.items() for d in keys.values()]
        return [(u, node) for u, keys in pred.items() for _ in keys]

    def edges(self, data: bool = False):
        """Every edge, (u, v) or (u, v, data), grouped by source as networkx gives them."""
        for u, targets in self._succ.items():
            for v, keys in targets.items():
                for d in keys.values():
                    yield (u, v, d) if data else (u, v)

    def edges_as_made(self):
        """Every edge as (u, v, data), in the order the edges were made (not grouped by source: cheaper, and
        each node's consumers still come first-edge first, as successors gives them)."""
        return ((u, v, data) for u, v, _, data in self._edges)

    def successors(self, node):
        return iter(self._succ[node])

    def predecessors(self, node):
        return iter(self._pred[node])

    def ancestors(self, node) -> set:
        """Every node with a path to `node` (networkx.ancestors)."""
        seen: set = set()
        stack = [node]
        while stack:
            for u in self._pred[stack.pop()]:
                if u not in seen:
                    seen.add(u)
                    stack.append(u)
        seen.discard(node)
        return seen

    def topological_order(self) -> list | None:
        """Nodes so that every edge points forward, smallest insertion index first; None if there is a cycle.

        The same order as networkx's lexicographical_topological_sort keyed by
        insertion order. Where the insertion order is already topological (the
        usual case) that is the insertion order itself.
        """
        index = {node: i for i, node in enumerate(self.nodes)}
        if all(index[u] < index[v] for u, v, _, _ in self._edges):
            return list(self.nodes)
        indegree = {node: 0 for node in self.nodes}
        for _, v, _, _ in self._edges:
            indegree[v] += 1
        ready = [index[node] for node, degree in indegree.items() if degree == 0]
        heapq.heapify(ready)
        names = list(self.nodes)
        order = []
        while ready:
            node = names[heapq.heappop(ready)]
            order.append(node)
            for v, keys in self._succ[node].items():
                indegree[v] -= len(keys)
                if indegree[v] == 0:
                    heapq.heappush(ready, index[v])
        return order if len(order) == len(names) else None

    def to_networkx(self):
        """The same graph as a networkx MultiDiGraph (a copy)."""
        import networkx as nx

        graph = nx.MultiDiGraph()
        graph.add_nodes_from((node, dict(data)) for node, data in self.nodes.items())
        graph.add_edges_from((u, v, key, dict(data)) for u, v, key, data in self._edges)
        return graph
