"""LayerGraph answers as networkx does: the checking path uses it so that it never imports networkx."""

from __future__ import annotations

import random
import subprocess
import sys

import networkx as nx
import pytest

import convdsl
from convdsl.layergraph import LayerGraph

from conftest import EXAMPLES


def _random_pair(seed):
    rng = random.Random(seed)
    names = [f"n{i}" for i in range(rng.randint(1, 12))]
    inserted = names[:]
    rng.shuffle(inserted)  # forward references: insertion order is not always topological
    ours, theirs = LayerGraph(), nx.MultiDiGraph()
    for graph in (ours, theirs):
        for name in inserted:
            graph.add_node(name, kind="x")
    for _ in range(rng.randint(0, 20) if len(names) > 1 else 0):
        i, j = sorted(rng.sample(range(len(names)), 2))
        u, v = (names[j], names[i]) if seed % 5 == 0 and rng.random() < 0.1 else (names[i], names[j])  # cycles
        key = rng.randint(0, 2)
        for graph in (ours, theirs):
            graph.add_edge(u, v, key=key, port=key)
    return names, ours, theirs


@pytest.mark.parametrize("seed", range(300))
def test_same_answers_as_networkx(seed):
    names, ours, theirs = _random_pair(seed)
    index = {n: i for i, n in enumerate(theirs.nodes)}
    try:
        expected = list(nx.lexicographical_topological_sort(theirs, key=index.__getitem__))
    except nx.NetworkXUnfeasible:
        expected = None
    assert ours.topological_order() == expected
    for name in names:
        assert ours.in_edges(name, data=True) == list(theirs.in_edges(name, data=True))
        assert list(ours.successors(name)) == list(theirs.successors(name))
        assert ours.ancestors(name) == nx.ancestors(theirs, name)
    assert ours.in_edges("missing", data=True) == list(theirs.in_edges("missing", data=True)) == []
    assert list(ours.edges(data=True)) == list(theirs.edges(data=True))
    assert list(ours.edges()) == list(theirs.edges())
    copy = ours.to_networkx()
    assert list(copy.nodes(data=True)) == list(theirs.nodes(data=True))
    assert list(copy.edges(keys=True, data=True)) == list(theirs.edges(keys=True, data=True))


def test_network_graph_is_networkx():
    net = convdsl.load(EXAMPLES / "resnet50.cdsl")
    assert isinstance(net.graph, nx.MultiDiGraph) and net.graph is net.graph
    assert list(net.graph.nodes) == list(net.layer_graph.nodes)
    assert net.graph.number_of_edges() == len(net.layer_graph._edges)


def test_check_does_not_import_networkx():
    code = (
        "import sys, convdsl.cli; code = convdsl.cli.main(['check', sys.argv[1]]); "
        "print(sorted(m for m in ('networkx', 'torch', 'numpy', 'graphviz') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(EXAMPLES / "resnet50.cdsl")], capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


@pytest.mark.parametrize("seed", range(100))
def test_a_port_edge_is_the_edge_add_edge_makes(seed):
    """add_port_edge(u, v, port, src) against networkx's add_edge(u, v, key=port, port=port, src_port=src),
    with an endpoint not yet in the graph, parallel edges, and the same port again (its data replaced)."""
    rng = random.Random(seed)
    names = [f"n{i}" for i in range(rng.randint(2, 8))]
    ours, theirs = LayerGraph(), nx.MultiDiGraph()
    for name in names[:-1]:  # the last is made by an edge
        ours.add_node(name, kind="x")
        theirs.add_node(name, kind="x")
    for _ in range(rng.randint(1, 25)):
        u, v = rng.sample(names, 2)
        port, src = rng.randint(0, 2), rng.randint(0, 1)
        ours.add_port_edge(u, v, port, src)
        theirs.add_edge(u, v, key=port, port=port, src_port=src)
    assert list(ours.nodes) == list(theirs.nodes)
    assert list(ours.edges(data=True)) == list(theirs.edges(data=True))
    for name in theirs.nodes:
        assert ours.in_edges(name, data=True) == list(theirs.in_edges(name, data=True))
        assert list(ours.successors(name)) == list(theirs.successors(name))
    from types import SimpleNamespace

    from convdsl.walk import wiring

    for name in theirs.nodes:  # wiring reads a layer node's kind
        ours.add(name, SimpleNamespace(kind=f"kind-{name}"))
    sources, next_kinds = wiring(ours)
    for name in theirs.nodes:
        edges = sorted((d["port"], u, d["src_port"]) for u, _, d in theirs.in_edges(name, data=True))
        assert sources.get(name, []) == [(u, src) for _, u, src in edges]
        after = tuple(f"kind-{v}" for v in theirs.successors(name))
        assert next_kinds.get(name, ()) == after


def _assert_same_graph(new: LayerGraph, expected: LayerGraph) -> None:
    """The same nodes, edges and answers, in the same orders."""
    assert list(new.nodes.items()) == list(expected.nodes.items())
    assert list(new.edges(data=True)) == list(expected.edges(data=True))
    assert list(new.edges_as_made()) == list(expected.edges_as_made())
    for node in expected.nodes:
        assert new.in_edges(node, data=True) == expected.in_edges(node, data=True)
        assert list(new.successors(node)) == list(expected.successors(node))
        assert list(new.predecessors(node)) == list(expected.predecessors(node))
    assert new.topological_order() == expected.topological_order()


@pytest.mark.parametrize("seed", range(100))
def test_a_renamed_graph_is_the_graph_made_with_the_new_names(seed):
    """renamed(names, replaced) against the same graph built afresh under the new names (networkx's
    relabel_nodes with copy keeps neither the order nor the edges' data objects: built here in full)."""
    _, ours, _ = _random_pair(seed)
    rng = random.Random(seed)
    chosen = rng.sample(list(ours.nodes), rng.randint(0, len(ours.nodes)))
    names = {old: f"m{old}" for old in chosen}
    replaced = {old: {"kind": "y"} for old in rng.sample(list(ours.nodes), rng.randint(0, len(ours.nodes)))}
    before = (list(ours.nodes.items()), list(ours._edges))
    new = ours.renamed(names, replaced)
    expected = LayerGraph()
    for node, data in ours.nodes.items():
        expected.add_node(names.get(node, node), **replaced.get(node, data))
    for u, v, key, data in ours._edges:
        expected.add_edge(names.get(u, u), names.get(v, v), key=key, **data)
    _assert_same_graph(new, expected)
    assert (list(ours.nodes.items()), list(ours._edges)) == before  # the graph renamed is as it was


@pytest.mark.parametrize("seed", range(100))
def test_a_spliced_graph_is_the_graph_made_afresh(seed):
    """spliced(nodes, edges, touched): nodes taken out and put in (anywhere in the order), edges taken out and
    put in between touched nodes (the ends of every edge that changes are: what spliced asks); against the same nodes and edges added to an empty graph."""
    _, ours, _ = _random_pair(seed)
    rng = random.Random(seed)
    before = (list(ours.nodes.items()), list(ours._edges))
    order = dict(ours.nodes)
    touched = set(rng.sample(list(order), rng.randint(0, min(3, len(order)))))
    gone = {node for node in touched if rng.random() < 0.3}
    for node in gone:
        del order[node]
        touched.update(ours.predecessors(node))  # the ends of the edges going with it
        touched.update(ours.successors(node))
    items = list(order.items())
    for i in range(rng.randint(0, 2)):  # new nodes, somewhere in the order
        name = f"new{i}"
        items.insert(rng.randint(0, len(items)), (name, {"kind": "new"}))
        touched.add(name)
    order = dict(items)
    # an edge stays unless both its ends are touched: then it may go (and goes with a node gone)
    edges = [
        edge
        for edge in ours._edges
        if not {edge[0], edge[1]} <= touched or (not {edge[0], edge[1]} & gone and rng.random() < 0.7)
    ]
    live = [node for node in touched if node in order]
    for _ in range(rng.randint(0, 4) if live else 0):  # new edges between touched nodes, anywhere in the order
        u, v = rng.choice(live), rng.choice(live)
        key = rng.randint(3, 5)
        if not any(e[:3] == (u, v, key) for e in edges):
            edges.insert(rng.randint(0, len(edges)), (u, v, key, {"port": key}))
    new = ours.spliced(order, edges, touched)
    expected = LayerGraph()
    for node, data in order.items():
        expected.add_node(node, **data)
    for u, v, key, data in edges:
        expected.add_edge(u, v, key=key, **data)
    _assert_same_graph(new, expected)
    assert (list(ours.nodes.items()), list(ours._edges)) == before  # the graph spliced is as it was
