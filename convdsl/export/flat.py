"""A top level read from the graph itself, for a network built without definitions (convdsl.build).

Each layer is one statement of forward, in the graph's order, writing the
values its arguments were bound to; each output is the tensor it names. The
graph's node names are the modules' names, so they must be plain names (no
`.`, which would need the nesting only definitions describe).
"""

from __future__ import annotations

from ..definition import Definition, Flow, LayerStep
from ..layers import KINDS
from ..walk import topological_order, wiring


def graph_definition(graph, outputs) -> tuple[Definition | None, str | None]:
    """(the top level's definition, None), or (None, why it cannot be written from the graph)."""
    sources, _ = wiring(graph)
    names: dict[tuple, str] = {}  # (node, port) -> the tensor's name in forward
    taken = set(graph.nodes)
    flows = []
    for node in topological_order(graph):
        data = graph.nodes[node]
        if data.kind == "input":
            names[(node, 0)] = node
            continue
        if data.kind == "output":
            continue
        if "." in node or not node.isidentifier():
            return (
                None,
                f"the layer name `{node}` is not a plain name; a network built in Python is "
                "written with its layers' names as attributes",
            )
        kind = KINDS[data.written]
        count = kind.output_count(data.args)
        targets = (node,) if count == 1 else tuple(_fresh(f"{node}_{port}", taken) for port in range(count))
        for port, target in enumerate(targets):
            names[(node, port)] = target
        inputs = [names[source] for source in sources.get(node, [])]
        tensor_args = sum(1 for spec in kind.args if spec.type == "tensor" and data.args.get(spec.name) is not None)
        flowing = inputs[: len(inputs) - tensor_args] if not kind.variadic else []
        extra = inputs[len(flowing) :]
        source = flowing[0] if len(flowing) == 1 else None
        step = LayerStep(data.written, {}, tuple(extra), data.span, node)
        flows.append(Flow(targets, source, (step,), frozenset(inputs)))
    for name in outputs:
        edges = graph.in_edges(f"output:{name}", data=True)
        if edges:
            source = names[(edges[0][0], edges[0][2]["src_port"])]
            flows.append(Flow((name,), source, (), frozenset({source})))
    return Definition(None, (), None, tuple(flows), {}, None), None


def _fresh(wanted: str, taken: set) -> str:
    name, n = wanted, 1
    while name in taken:
        n += 1
        name = f"{wanted}_{n}"
    taken.add(name)
    return name
