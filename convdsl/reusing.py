"""Inference's part of `reuse(LABEL)`: a reused layer's parameters are counted once, at the layer that owns them.

Lowering made each reuse a copy of the layers it calls again, each marked with
its owner (model.LayerNode.shares). Here each copy's parameters and buffers
become 0 (its MACs stay: the computation happens at every use), and a copy
whose input would build the layer otherwise (other input channels, other
features for a linear or layer norm) is an error (E116): one weight cannot
serve both. "Built otherwise" is the catalogue's own answer: the PyTorch module
the layer would be constructed as, for its input, differs from the owner's.
"""

from __future__ import annotations

from dataclasses import replace

from . import diagnostics as codes
from .diagnostics import Diagnostic
from .layers import KINDS
from .layers.base import fmt_shape


def apply_reuses(inference) -> None:
    graph = inference.graph
    layers = inference.layers
    reported = set()  # (span, the reuse's name): one error per use of reuse(...)
    for node, data in graph.nodes.items():
        owner = data.get("shares")
        info = layers.get(node)
        if owner is None or info is None:
            continue
        layers[node] = replace(info, params=0, buffers=0, shares=owner)
        original = layers.get(owner)
        if original is None or None in info.input_shapes or None in original.input_shapes:
            continue
        if original.output_shapes and None in original.output_shapes:
            continue
        same, built = _same_module(inference, data, info.input_shapes, original.input_shapes, info, original)
        if same:
            continue
        span = data.span
        key = (span, _reuse_name(node, data))
        if key in reported:
            continue
        reported.add(key)
        inference.found.append(_mismatch(inference.network, owner, data, info, original, built))


def _reuse_name(node: str, data) -> str:
    """The name the reuse took (`reuse1`), from one of its copies (`reuse1.0.conv1`)."""
    for scope in data.scopes:
        if scope.name == "reuse" and scope.args:
            return scope.id
    return node


def _same_module(inference, data, shapes, owner_shapes, info, original):
    """Whether the layer, given `shapes`, is the module it is given `owner_shapes` (the same constructor), and
    the two constructors as text where they differ."""
    if tuple(shapes) == tuple(owner_shapes):
        return True, None
    kind = KINDS[data.written]
    try:
        mine = _constructor(inference, kind, data, shapes)
        theirs = _constructor(inference, kind, data, owner_shapes)
    except Exception:  # a kind PyTorch cannot build, a symbolic size: the counts decide
        mine = theirs = None
    if mine is None or theirs is None:
        # no module to compare (an expression in forward): the same parameters, on features of one width
        return info.params == original.params and _features(shapes) == _features(owner_shapes), None
    return mine == theirs, (_text(mine), _text(theirs))


def _text(constructor) -> str:
    ctor, args, kwargs = constructor
    return f"{ctor}({', '.join([*args, *(f'{k}={v}' for k, v in kwargs)])})"


def _features(shapes):
    """The first and last size of each input (channels, a token's width); a symbolic size is any size."""
    return tuple(tuple(d if isinstance(d, int) else None for d in (s[0], s[-1])) if s else () for s in shapes)


def _constructor(inference, kind, data, shapes):
    from .layers.ops import Function, TorchContext
    from .layers.pyexpr import Lit

    args = {name: Lit(value) for name, value in data.args.items()}
    inputs = [tuple(Lit(d) for d in shape) for shape in shapes]
    ctx = TorchContext(inference.rounding, data.written, (0,), str, explicit=data.explicit)
    op = kind.to_torch(args, inputs, ctx)
    if isinstance(op, Function):
        return None
    return (op.ctor, tuple(a.src() for a in op.args), tuple((k, v.src()) for k, v in op.kwargs))


def _mismatch(network, owner, data, info, original, built) -> Diagnostic:
    got = " and ".join(fmt_shape(s) for s in info.input_shapes)
    made = " and ".join(fmt_shape(s) for s in original.input_shapes)
    inside = f"`{owner}` ({data.written})"
    span = original_span(network, owner)
    source = network.sources.get(span.path) if span is not None else None
    call = ""
    owner_data = network.layer_graph.nodes[owner]
    if source is not None and span.line == span.end_line and not owner_data.block_path:
        text = source.line_text(span.line)[span.column - 1 : span.end_column - 1]
        if text.isprintable() and len(text) <= 80:
            call = f", or give this use a layer of its own: `{text}`"
    notes = [f"`{owner}` is made at line {span.line}"] if span is not None else []
    if built is not None:
        notes.append(f"in PyTorch it would be {built[0]} here, and it is {built[1]}")
    return Diagnostic(
        codes.REUSE_MISMATCH,
        data.span,
        f"the reused layer {inside} would need other parameters here: it gets {got}, its weights were made for {made}",
        f"{got}, not {made}",
        f"reuse it on a tensor of the shape its weights were made for ({made}){call}",
        notes=tuple(notes),
    )


def original_span(network, node):
    graph = network.layer_graph
    return graph.nodes[node].span if node in graph.nodes else None
