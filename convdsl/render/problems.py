"""Which layer each error belongs to, so the diagram can draw it in place."""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Diagnostic
from ..model import Analysis
from ..source import Span


@dataclass(frozen=True)
class Problems:
    """Errors by the layer they are drawn on, failing layers, and errors tied to no layer."""

    by_node: dict[str, tuple[Diagnostic, ...]]
    failed: frozenset[str]  # layers whose output is unknown although their inputs are known
    loose: tuple[Diagnostic, ...]


def _contains(outer: Span, inner: Span) -> bool:
    return (
        outer.path == inner.path
        and (outer.line, outer.column) <= (inner.line, inner.column)
        and (inner.end_line, inner.end_column) <= (outer.end_line, outer.end_column)
    )


def locate(analysis: Analysis) -> Problems:
    """Map each error to the layers whose call contains its span.

    A layer written once inside a block is one call for every instance of the
    block; where some instances failed and others did not, the error is drawn
    on the failing ones only.
    """
    graph = analysis.network.layer_graph
    failed = set()
    for name, info in analysis.layers.items():
        inputs_known = bool(info.input_shapes) and all(s is not None for s in info.input_shapes)
        if graph.nodes[name].get("incomplete") or (inputs_known and any(s is None for s in info.output_shapes)):
            failed.add(name)
    by_span: dict[Span, list[str]] = {}
    for name in analysis.layers:
        span = graph.nodes[name].get("span")
        if span is not None:
            by_span.setdefault(span, []).append(name)
    by_node: dict[str, list[Diagnostic]] = {}
    loose = []
    for diag in analysis.diagnostics:
        if not diag.is_error:
            continue
        nodes = []
        if diag.span is not None:
            nodes = [n for span, names in by_span.items() if _contains(span, diag.span) for n in names]
            failing = [n for n in nodes if n in failed]
            nodes = failing or nodes
        if not nodes:
            loose.append(diag)
        for node in nodes:
            by_node.setdefault(node, []).append(diag)
    return Problems({n: tuple(d) for n, d in by_node.items()}, frozenset(failed), tuple(loose))
