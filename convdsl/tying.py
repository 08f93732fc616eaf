"""Tied weights: `linear(V, bias=false, tie=LABEL)` shares the weight of the embedding (or linear layer)
labelled LABEL, counted once, where it is defined.

The label is looked up as a name is in a block: first among the layers of the
block instance the tied layer is in, then in the instance around it, out to the
network's top level. The shared layer must own its weight (a layer that is tied
itself is not one), so a cycle through `tie` cannot count a weight nowhere.
"""

from __future__ import annotations

from dataclasses import replace

from . import diagnostics as codes
from .diagnostics import Diagnostic


def resolve_tie(graph, node: str, data) -> str | None:
    """The node `tie=LABEL` names, from the tied layer's own block instance outwards; None if none."""
    label = data["args"].get("tie")
    site = data.site
    while site is not None:
        candidate = site.prefix + label
        if candidate in graph:
            return candidate
        site = site.parent
    return label if label in graph else None


def apply_ties(inference) -> None:
    graph = inference.graph
    found = inference.found
    for node, data in graph.nodes.items():
        # a copy made by `reuse(...)` shares all of its owner's parameters (reusing.py): the owner's tie holds
        tied = data.get("kind") == "linear" and data.get("shares") is None
        label = data["args"].get("tie") if tied else None
        info = inference.layers.get(node)
        if label is None or info is None or info.output_shapes[0] is None:
            continue
        span = data.get("arg_spans", {}).get("tie", data["span"])
        target_node = resolve_tie(graph, node, data)
        target = graph.nodes[target_node] if target_node is not None else None
        problem, help_ = None, "label the embedding (`wte: embedding(50257, 768)`) and tie to its label"
        if target is None:
            problem = f"no layer is labelled `{label}` here or around this layer's block"
        elif target_node == node:
            problem = "a layer cannot share its own weight"
        elif target.get("shares") is not None:
            problem = f"`{label}` is made by `reuse(...)`: its weight is `{target.shares}`'s"
            help_ = f"tie to the layer that owns the weight: `tie={target.shares.rsplit('.', 1)[-1]}`"
        elif target.get("kind") not in ("embedding", "linear"):
            problem = f"`{label}` is a {target.get('kind')} layer; `tie` shares an embedding's or linear layer's weight"
        elif target.get("kind") == "linear" and target["args"].get("tie") is not None:
            owner = resolve_tie(graph, target_node, target)
            problem = (
                f"`{label}` shares its weight too (tie={target['args']['tie']}): a tie must name the layer that owns it"
            )
            help_ = (
                "a cycle through `tie` has no owner: give one layer its own weight"
                if owner in (node, None) or _cycle(graph, target_node)
                else f"tie to the owner: `tie={target['args']['tie']}`"
            )
        if problem is not None:
            code = codes.CYCLE if "cycle" in help_ else codes.ARGUMENT_TYPE
            found.append(Diagnostic(code, span, problem, "not a layer to share", help_))
            continue
        shared = inference.layers.get(target_node)
        if shared is None or shared.output_shapes[0] is None:
            continue
        features = info.input_shapes[0][-1]
        out = data["args"]["out_features"]
        if target["kind"] == "embedding":
            weight = (target["args"]["num_embeddings"], target["args"]["embedding_dim"])
        else:
            weight = (target["args"]["out_features"], shared.input_shapes[0][-1])
        if weight != (out, features):
            found.append(
                Diagnostic(
                    codes.LINEAR_MISMATCH,
                    span,
                    f"`{node}` needs a {out} x {features} weight, `{target_node}`'s is {weight[0]} x {weight[1]}",
                    f"{weight[0]} x {weight[1]}",
                    f"tie it to a layer with {out} rows of {features}",
                )
            )
            continue
        inference.layers[node] = replace(info, params=info.params - out * features)


def _cycle(graph, start: str) -> bool:
    """Whether following `tie` from start comes back to a layer already seen."""
    seen, node = set(), start
    while node is not None and node not in seen:
        seen.add(node)
        data = graph.nodes[node]
        if data.get("kind") != "linear" or data["args"].get("tie") is None:
            return False
        node = resolve_tie(graph, node, data)
    return node is not None
