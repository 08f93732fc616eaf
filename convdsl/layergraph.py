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
        The adjacency of the nodes not renamed nor next to one is shared with this graph: neither may be
        changed afterwards (incremental/rebind.py)."""
        name = names.get
        nodes = {name(node, node): replaced.get(node, data) for node, data in self.nodes.items()}
        if not names:
            return self.spliced(nodes, self._edges, set())
        edges = [(name(u, u), name(v, v), key, attr) for u, v, key, attr in self._edges]
        touched = {*names, *names.values()}
        for old in names:
            touched.update(name(node, node) for node in self._pred[old])
            touched.update(name(node, node) for node in self._succ[old])
        return self.spliced(nodes, edges, touched)

    def spliced(self, nodes: dict, edges: list, touched: set) -> LayerGraph:
        """A graph of `nodes` (name -> model.LayerNode, in order) and `edges` ((u, v, key, data), as made), which
        differ from this one's only at the `touched` nodes: every edge put in or taken out has its ends among
        them, and so has every node put in or taken out. Their adjacency is made again from the edges; every
        other node's is shared with this graph, so neither may be changed afterwards (incremental/splice.py)."""
        graph = LayerGraph.__new__(LayerGraph)
        graph.nodes, graph._edges = nodes, edges
        # in the nodes' order, as a graph built afresh has them (edges() goes by it)
        old_pred, old_succ = self._pred, self._succ
        pred = {node: {} if node in touched else old_pred[node] for node in nodes}
        succ = {node: {} if node in touched else old_succ[node] for node in nodes}
        for u, v, key, attr in edges:
            if u in touched or v in touched:
                keys = succ[u].get(v) if u in touched else pred[v].get(u)
                if keys is None:
                    keys = {}
                if u in touched:
                    succ[u][v] = keys
                if v in touched:
                    pred[v][u] = keys
                keys[key] = attr
        graph._pred, graph._succ = pred, succ
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
