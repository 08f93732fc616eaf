"""The order a class's forward computes its statements in."""

from __future__ import annotations


def dependency_order(flows, known: set) -> list:
    """Flows (definition.Flow) so each comes after those computing what it reads (convdsl allows forward
    references)."""
    pending = list(flows)
    defined = set(known)
    produced = {name for flow in flows for name in flow.targets}
    order = []
    while pending:
        for flow in pending:
            if not (flow.reads & produced) - defined:
                break
        else:
            flow = pending[0]
        pending.remove(flow)
        order.append(flow)
        defined.update(flow.targets)
    return order
