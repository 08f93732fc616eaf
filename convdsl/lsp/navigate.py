"""Definitions, references, the outline, rename and inlay hints: answers read off the position index."""

from __future__ import annotations

import os
import re

from .. import positions as P
from ..source import Span
from .. import syntax
from ..syntax import Assign, OutputDecl
from .snapshot import Snapshot

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
KEYWORDS = syntax.KEYWORDS  # a rename may not make one of these


def definition(snapshot: Snapshot, line: int, column: int) -> list[Span]:
    item = snapshot.index.symbol_at(snapshot.path, line, column)
    if item is None:
        return []
    if item.kind == P.INCLUDE:  # the file, if there is one to open (not a folder, not a missing file)
        return [Span(item.target, 1, 1, 1, 1)] if item.target and os.path.isfile(item.target) else []
    found = snapshot.index.definitions.get(item.key)
    if found is None and item.kind == P.LABEL and item.scope:  # `reuse(tower)` in a block: a label around it
        found = snapshot.index.definitions.get((P.LABEL, "", item.name))
    if found is None and item.kind == P.TENSOR and item.scope:  # `in`, or a name the block gets from outside
        block = snapshot.index.blocks.get(item.scope)
        return [block.name.span] if block is not None and item.name == "in" else []
    return [found.span] if found is not None else []


def references(snapshot: Snapshot, line: int, column: int, include_declaration: bool = True) -> list[Span]:
    item = snapshot.index.symbol_at(snapshot.path, line, column)
    if item is None or item.kind == P.INCLUDE:
        return []
    return [i.span for i in snapshot.index.references(item.key) if include_declaration or i.role != P.DEFINITION]


def rename_target(snapshot: Snapshot, line: int, column: int) -> P.Item | None:
    """The tensor or block at a position, if it can be renamed (not `in`/`out`, which the language names)."""
    item = snapshot.index.first_at(snapshot.path, line, column, (P.TENSOR, P.BLOCK))
    if item is None or (item.kind == P.TENSOR and item.name in ("in", "out") and item.scope):
        return None
    return item


def rename(snapshot: Snapshot, line: int, column: int, new_name: str) -> dict[str, list[Span]] | str:
    """Spans to replace, by file; or why not."""
    item = rename_target(snapshot, line, column)
    if item is None:
        return "only tensors and blocks can be renamed"
    from ..layers import KINDS

    if not _IDENTIFIER.match(new_name):
        return f"`{new_name}` is not a name: letters, digits and `_`, not starting with a digit"
    if new_name in KEYWORDS:
        return f"`{new_name}` is a keyword of convdsl"
    if new_name in KINDS or new_name == "reuse":
        # a tensor so named would read as that layer at the start of a chain (`y = conv -> relu`)
        return f"`{new_name}` is a layer kind"
    if item.kind == P.BLOCK:
        if new_name in snapshot.index.blocks:
            return f"a block `{new_name}` exists already"
    else:
        if snapshot.index.definitions.get((P.TENSOR, item.scope, new_name)) is not None:
            return f"a tensor `{new_name}` exists already"
    out: dict[str, list[Span]] = {}
    for ref in snapshot.index.references(item.key):
        out.setdefault(ref.span.path, []).append(ref.span)
    return out


# The outline -------------------------------------------------------------------


def symbols(snapshot: Snapshot):
    """(name, detail, kind, span, selection span, children) for the outline of the checked file."""
    program_items = snapshot.index.all(snapshot.path, (P.INPUT, P.TENSOR, P.BLOCK, P.CONSTANT, P.PARAM))
    out = []
    blocks: dict[str, list] = {}
    for item in program_items:
        if item.role != P.DEFINITION and item.kind != P.INPUT:
            continue
        if item.kind == P.INPUT:
            shape = snapshot.network.inputs.get(item.name) if snapshot.network is not None else None
            detail = "input " + (_shown(snapshot, shape.dims) if shape is not None else "")
            out.append((item.name, detail, "input", item.span, item.node.name.span, []))
        elif item.kind == P.TENSOR and item.node is not None and not item.scope:
            if (item.node is None) or type(item.node).__name__ == "InputDecl":
                continue
            values = snapshot.tensor_values("", item.name)
            shape = snapshot.shape_of(values[0][1]) if values else None
            output = isinstance(item.node, OutputDecl)
            detail = ("output " if output else "") + (_shown(snapshot, shape) if shape else "?")
            out.append((item.name, detail, "output" if output else "tensor", item.node.span, item.span, []))
        elif item.kind == P.BLOCK:
            children: list = []
            blocks[item.name] = children
            out.append((item.name, "block", "block", item.node.span, item.span, children))
        elif item.kind == P.CONSTANT:
            out.append((item.name, "const", "constant", item.node.span, item.span, []))
        elif item.scope in blocks:
            blocks[item.scope].append((item.name, "parameter", "param", item.span, item.span, []))
    for item in program_items:
        if (
            item.kind == P.TENSOR
            and item.role == P.DEFINITION
            and item.scope in blocks
            and isinstance(item.node, (Assign, OutputDecl))
        ):
            blocks[item.scope].append((item.name, "tensor", "tensor", item.node.span, item.span, []))
    # declared outputs (`output y`) of tensors defined by assignment
    for item in snapshot.index.all(snapshot.path, (P.TENSOR,)):
        if item.role == P.USE and isinstance(item.node, OutputDecl) and item.node.chain is None:
            out.append((item.name, "output", "output", item.node.span, item.span, []))
    return out


def _shown(snapshot: Snapshot, shape) -> str:
    """A shape as the file's layout shows it (`set layout = NHWC`), as hover and `summary` show it."""
    from ..summary import display_shape

    return display_shape(shape, snapshot.network.settings.layout if snapshot.network is not None else "NCHW")


# Inlay hints --------------------------------------------------------------------


def inlay_hints(snapshot: Snapshot, first_line: int, last_line: int) -> list[tuple[int, int, str]]:
    """(line, column, label): the shape after each element of a chain that the next '->' receives, and after
    the last, at the element's end, for the lines asked about."""
    out = []
    for item in snapshot.index.all(snapshot.path, (P.LAYER, P.BLOCK_CALL, P.TENSOR)):
        span = item.span
        if span.end_line < first_line or span.line > last_line:
            continue
        if item.kind == P.TENSOR:
            continue
        shape = _shape_after(snapshot, item)
        if shape is not None:
            out.append((span.end_line, span.end_column, shape))
    return _only_chain_ends(out)


def _shape_after(snapshot: Snapshot, item: P.Item) -> str | None:
    from ..summary import display_shape

    layout = snapshot.network.settings.layout if snapshot.network is not None else "NCHW"
    analysis = snapshot.analysis
    if analysis is None:
        return None
    if item.kind == P.LAYER:
        nodes = snapshot.nodes_at(item.span)
        infos = [analysis.layers.get(n) for n in nodes]
        shapes = {tuple(display_shape(s, layout) for s in i.output_shapes) for i in infos if i is not None}
    else:
        instances = snapshot.block_nodes(item.span)
        shapes = set()
        for nodes in instances:
            last = analysis.layers.get(_last_layer(snapshot, nodes))
            if last is not None:
                shapes.add(tuple(display_shape(s, layout) for s in last.output_shapes))
    if len(shapes) != 1:
        return None if not shapes else "(shapes differ per use)"
    (shown,) = shapes
    if any(s == "?" for s in shown):
        return None
    return ", ".join(shown)


def _last_layer(snapshot: Snapshot, nodes: list[str]) -> str:
    """The layer of a block instance whose output leaves it: the one no other layer of the instance reads."""
    graph = snapshot.network.layer_graph
    inside = set(nodes)
    for node in reversed(nodes):
        if not any(v in inside for v in graph.successors(node)):
            return node
    return nodes[-1]


def _only_chain_ends(hints: list) -> list:
    """One hint per place (a labelled group's last layer and the group can end at the same column)."""
    seen = {}
    for line, column, label in hints:
        seen[(line, column)] = label
    return [(line, column, label) for (line, column), label in sorted(seen.items())]
