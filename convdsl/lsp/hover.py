"""Hover text (Markdown): what the position index finds at a place, with the analysis's numbers."""

from __future__ import annotations

from .. import positions as P
from ..layers import KINDS
from ..layers.base import REQUIRED, Arg
from ..layers.window import Window, axis_names, resolve_padding
from ..summary import display_shape
from ..syntax import Call
from .snapshot import Snapshot

MAX_INSTANCES = 4  # instances of a block (or copies of a repeat) shown one by one


def _count(n) -> str:
    return f"{n:,}" if isinstance(n, int) else str(n)


def _shape(snapshot: Snapshot, shape) -> str:
    layout = snapshot.network.settings.layout if snapshot.network is not None else "NCHW"
    return display_shape(shape, layout)


def needs_sizes(snapshot: Snapshot, line: int, column: int) -> bool:
    """Whether a hover here shows an input's valid sizes (a sweep, worth running off the event loop)."""
    item = snapshot.index.first_at(snapshot.path, line, column)
    return item is not None and (
        item.kind == P.INPUT
        or (item.kind == P.TENSOR and item.role == P.DEFINITION and type(item.node).__name__ == "InputDecl")
    )


def hover(snapshot: Snapshot, line: int, column: int) -> tuple[str, P.Item] | None:
    items = snapshot.index.at(snapshot.path, line, column)
    for number, item in enumerate(items):
        text = _describe(snapshot, item, line, column)
        if text:
            # a name that is an argument: what it names, then the argument it fills
            filled = next((i for i in items[number + 1 :] if i.kind == P.ARGUMENT and i.span == item.span), None)
            if filled is not None and item.kind != P.ARGUMENT:
                more = _describe(snapshot, filled, line, column)
                if more:
                    text += "\n\n---\n\n" + more
            return text, item
    return None


def _describe(snapshot: Snapshot, item: P.Item, line: int, column: int) -> str | None:
    if item.kind == P.TENSOR:
        if item.role == P.DEFINITION and type(item.node).__name__ == "InputDecl":
            return _input(snapshot, item) or _tensor(snapshot, item)
        return _tensor(snapshot, item)
    if item.kind == P.ARGUMENT:
        return _argument(snapshot, item)
    if (item.kind == P.LAYER and item.name == "reuse") or (item.kind == P.LABEL and item.role == P.USE):
        return _reuse(snapshot, item.node)
    if item.kind == P.LAYER:
        return _layer(snapshot, item)
    if item.kind == P.BLOCK_CALL:
        return _block_call(snapshot, item)
    if item.kind == P.BLOCK:
        if item.role == P.USE and isinstance(item.node, Call):  # a call: its expansion, under the signature
            called = _block_call(snapshot, P.Item(item.node.span, P.BLOCK_CALL, item.name, item.scope, node=item.node))
            return _block_def(snapshot, item) + "\n\n---\n\n" + (called or "")
        return _block_def(snapshot, item)
    if item.kind == P.INPUT:
        return _input(snapshot, item)
    if item.kind == P.CONSTANT:
        definition = snapshot.index.constants.get(item.name)
        env_value = _constant_value(snapshot, item.name)
        return f"```convdsl\nconst {item.name} = {env_value}\n```" + (
            f"\n\ndefined at {_where(definition.name.span)}" if definition is not None else ""
        )
    if item.kind == P.PARAM:
        return f"parameter `{item.name}` of block `{item.scope}`"
    if item.kind == P.INCLUDE:
        return f"includes `{item.target or item.name}`"
    if item.kind == P.LABEL:
        return _label(snapshot, item)
    if item.kind == P.SETTING:
        from ..model import LAYOUTS, ROUNDINGS

        choices = {"rounding": ROUNDINGS, "layout": LAYOUTS}.get(item.name)
        if choices is None:
            return None
        what = {"rounding": "each framework's output-size rules", "layout": "how shapes are displayed"}[item.name]
        return f"setting `{item.name}` ({what}): one of {', '.join(f'`{c}`' for c in choices)}"
    return None


def _label(snapshot: Snapshot, item: P.Item) -> str | None:
    """A label names what it labels: a layer, a block call, or a group (its layers' totals)."""
    from ..syntax import Call

    element = item.node
    if isinstance(element, Call):
        kind = P.BLOCK_CALL if element.name.id in snapshot.index.blocks else P.LAYER
        return _describe(snapshot, P.Item(element.span, kind, element.name.id, item.scope, node=element), 0, 0)
    analysis = snapshot.analysis
    if analysis is None or item.scope:
        return None
    prefix = item.name + "."
    layers = [info for name, info in analysis.layers.items() if name.startswith(prefix)]
    if not layers:
        return None
    return (
        f"group `{item.name}`: {len(layers):,} layers, {_count(sum(i.params for i in layers))} params, "
        f"{_count(sum(i.macs for i in layers))} MACs\n\n"
        f"{', '.join(_shape(snapshot, s) for s in layers[0].input_shapes)} -> "
        f"**{', '.join(_shape(snapshot, s) for s in layers[-1].output_shapes)}**"
    )


def _reuse(snapshot: Snapshot, call) -> str | None:
    """`reuse(tower)`: what it calls again, and its uses' layers: MACs of their own, the parameters `tower`'s."""
    analysis = snapshot.analysis
    lowering = snapshot.lowering
    if analysis is None or lowering is None:
        return None
    lines = []
    for site in lowering.sites:
        for record in site.reuses.get(call.span, ())[:MAX_INSTANCES]:
            prefix = record.name + "."
            layers = [i for n, i in analysis.layers.items() if n == record.name or n.startswith(prefix)]
            if not layers:
                continue
            owners = [analysis.layers.get(i.shares) for i in layers if i.shares]
            shared = sum(o.params for o in owners if o is not None)
            lines.append(
                f"`{record.name}` calls `{record.target}` again: {len(layers):,} layer{'s' if len(layers) != 1 else ''}, "
                f"{_count(sum(i.macs for i in layers))} MACs, {_count(shared)} params shared with `{record.target}` "
                f"(counted there)\n\n"
                f"{', '.join(_shape(snapshot, s) for s in layers[0].input_shapes)} -> "
                f"**{', '.join(_shape(snapshot, s) for s in layers[-1].output_shapes)}**"
            )
    return "\n\n---\n\n".join(lines) or None


def _where(span) -> str:
    return f"{span.path.rsplit('/', 1)[-1]}:{span.line}"


def _constant_value(snapshot: Snapshot, name: str) -> str:
    lowering = snapshot.lowering
    if lowering is not None and lowering.sites:
        value = lowering.sites[0].env.get(name)
        if value is not None:
            return {True: "true", False: "false"}.get(value, str(value)) if isinstance(value, bool) else str(value)
    return "?"


def _tensor(snapshot: Snapshot, item: P.Item) -> str:
    values = snapshot.tensor_values(item.scope, item.name)
    head = f"tensor `{item.name}`" + (f" in block `{item.scope}`" if item.scope else "")
    if not values:
        return head + ": not computed (an error before it, or outside the recovered text)"
    if len(values) == 1 and not item.scope:
        where = values[0][1]
        shape = snapshot.shape_of(where)
        made = f" (from `{where[0]}`)" if where is not None else ""
        return f"{head}: **{_shape(snapshot, shape)}**{made}"
    lines = [f"{head}, in {len(values)} instance{'s' if len(values) != 1 else ''}:"]
    for prefix, where in values[:MAX_INSTANCES]:
        lines.append(f"- `{prefix.rstrip('.') or '(top)'}`: {_shape(snapshot, snapshot.shape_of(where))}")
    if len(values) > MAX_INSTANCES:
        distinct = {_shape(snapshot, snapshot.shape_of(w)) for _, w in values}
        lines.append(f"- ... {len(values) - MAX_INSTANCES} more ({len(distinct)} distinct shapes in all)")
    return "\n".join(lines)


def _arg_doc(spec: Arg) -> str:
    default = "" if spec.default is REQUIRED else f" = {_literal(spec.default)}"
    aliases = f" (also {', '.join(f'`{a}`' for a in spec.aliases)})" if spec.aliases else ""
    choices = f"; one of {', '.join(spec.choices)}" if spec.choices else ""
    doc = f": {spec.doc}" if spec.doc else ""
    return f"`{spec.name}: {spec.type}{default}`{aliases}{choices}{doc}"


def _literal(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


def _argument(snapshot: Snapshot, item: P.Item) -> str | None:
    call = item.node
    kind = KINDS.get(call.name.id)
    if kind is not None:
        spec = next((a for a in kind.args if a.name == item.name), None)
        if spec is None:
            return None
        text = f"argument of `{call.name.id}`: {_arg_doc(spec)}"
        nodes = snapshot.nodes_at(call.span)
        if nodes and snapshot.network is not None:
            value = snapshot.network.layer_graph.nodes[nodes[0]]["args"].get(spec.name)
            text += f"\n\nvalue: `{_literal(value)}`"
        return text
    block = snapshot.index.blocks.get(call.name.id)
    if block is not None:
        return f"parameter `{item.name}` of block `{block.name.id}`"
    return None


def _layer(snapshot: Snapshot, item: P.Item) -> str | None:
    call = item.node
    kind = KINDS.get(call.name.id)
    nodes = snapshot.nodes_at(call.span)
    if kind is None:
        return None
    lines = [f"**{call.name.id}**: {kind.summary}" if kind.summary else f"**{call.name.id}**"]
    analysis = snapshot.analysis
    if not nodes or analysis is None:
        lines.append("\nnot computed here (an error before it, or a condition that leaves it out)")
        return "\n".join(lines)
    infos = [analysis.layers.get(n) for n in nodes]
    info = infos[0]
    if info is None:
        return "\n".join(lines)
    more = f" (and {len(nodes) - 1} more made from this call)" if len(nodes) > 1 else ""
    lines.append(f"\nlayer `{nodes[0]}`{more}\n")
    ins = ", ".join(_shape(snapshot, s) for s in info.input_shapes) or "-"
    outs = ", ".join(_shape(snapshot, s) for s in info.output_shapes)
    lines.append(f"| | |\n|---|---|\n| input | {ins} |\n| output | **{outs}** |")
    lines.append(f"| params | {_count(info.params)} |")
    lines.append(f"| MACs | {_count(info.macs)} |")
    if info.receptive_field:  # none without spatial axes (attention, linear on tokens)
        counted = "x".join(map(str, info.receptive_field))
        if info.whole_input and all(info.whole_input):
            counted = f"the whole input ({counted}, counting padding)"
        lines.append(f"| receptive field | {counted} |")
    arithmetic = _arithmetic(snapshot, nodes[0], kind, info)
    if arithmetic:
        lines.append("\n" + "\n".join(f"- {a}" for a in arithmetic))
    distinct = {tuple(map(str, i.output_shapes)) for i in infos if i is not None}
    if len(distinct) > 1:
        lines.append(f"\nthe {len(nodes)} layers made here have {len(distinct)} different output shapes")
    return "\n".join(lines)


def _arithmetic(snapshot: Snapshot, node: str, kind, info) -> list[str]:
    """The output-size arithmetic of a sliding window, per spatial axis: `H: (113 + 0 - 2)/2 + 1 = 56.5 -> 56`."""
    args = snapshot.network.layer_graph.nodes[node]["args"]
    if (
        "kernel" not in args
        or not info.input_shapes
        or info.input_shapes[0] is None
        or not info.output_shapes
        or info.output_shapes[0] is None
    ):
        return []
    spatial = info.input_shapes[0][1:]
    out = info.output_shapes[0][1:]
    rank = len(spatial)
    if not all(isinstance(s, int) for s in spatial):
        return []

    def axes(value):
        return value if isinstance(value, tuple) else (value,) * rank

    try:
        k = axes(args["kernel"])
        s = axes(args.get("stride") if args.get("stride") is not None else args["kernel"])
        d = axes(args.get("dilation", 1))
        names = axis_names(rank)
        if "output_padding" in args:  # transposed: (I - 1)s - 2p + d(k - 1) + output_padding + 1
            p, op = axes(args["padding"]), axes(args["output_padding"])
            return [
                f"{n}: ({i} - 1)x{ss} - 2x{pp} + {dd}x({kk} - 1) + {oo} + 1 = {o}"
                for n, i, ss, pp, dd, kk, oo, o in zip(names, spatial, s, p, d, k, op, out)
            ]
        pads = resolve_padding(args.get("padding", 0), spatial, k, s, d, snapshot.network.settings.rounding)
        lines = []
        for n, i, kk, ss, (pb, pe), dd, o in zip(names, spatial, k, s, pads, d, out):
            w = Window(i, kk, ss, pb, pe, dd)
            lines.append(f"{n}: {w.arithmetic()}" + (f" -> {o}" if not w.exact else ""))
        return lines
    except Exception:
        return []


def _block_call(snapshot: Snapshot, item: P.Item) -> str | None:
    call = item.node
    instances = snapshot.block_nodes(call.span)
    analysis = snapshot.analysis
    definition = snapshot.index.blocks.get(call.name.id)
    head = f"block **{call.name.id}**" + (f"({', '.join(p.name.id for p in definition.params)})" if definition else "")
    if not instances or analysis is None:
        return head + "\n\nnot expanded here (an error before it, or a condition that leaves it out)"
    layers = [analysis.layers[n] for nodes in instances for n in nodes if n in analysis.layers]
    params = sum(i.params for i in layers)
    macs = sum(i.macs for i in layers)
    plural = "s" if len(instances) != 1 else ""
    totals = f"{len(instances)} instance{plural}, {len(layers):,} layers, {_count(params)} params, {_count(macs)} MACs"
    lines = [head, "", totals]
    first = instances[0]
    first_info = [analysis.layers[n] for n in first if n in analysis.layers]
    if first_info:
        ins = first_info[0].input_shapes
        last = first_info[-1].output_shapes
        lines.append(
            f"\n`{_common_prefix(first)}`: {', '.join(_shape(snapshot, s) for s in ins)} -> "
            f"**{', '.join(_shape(snapshot, s) for s in last)}**"
        )
    return "\n".join(lines)


def _common_prefix(nodes: list[str]) -> str:
    parts = [n.split(".") for n in nodes]
    common = []
    for column in zip(*parts):
        if len(set(column)) != 1:
            break
        common.append(column[0])
    return ".".join(common) or nodes[0]


def _block_def(snapshot: Snapshot, item: P.Item) -> str | None:
    definition = snapshot.index.blocks.get(item.name)
    if definition is None:
        return None
    uses = [i for i in snapshot.index.references((P.BLOCK, "", item.name)) if i.role == P.USE]
    return (
        f"```convdsl\nblock {signature(snapshot, definition)}\n```\ndefined at {_where(definition.name.span)}; "
        f"called {len(uses)} time{'s' if len(uses) != 1 else ''} in the files read"
    )


def signature(snapshot: Snapshot, definition) -> str:
    """`cbr(c, k=3, s=1)`: a block's name and parameters, with their defaults as written."""
    parts = []
    for param in definition.params:
        text = param.name.id + (f": {param.type.id}" if param.type else "")
        if param.default is not None:
            text += (" = " if param.type else "=") + _written(snapshot, getattr(param.default, "span", None))
        parts.append(text)
    return f"{definition.name.id}({', '.join(parts)})"


def _written(snapshot: Snapshot, span) -> str:
    """The source text of a one-line span (in this file or one it includes), else `...`."""
    source = snapshot.source if span is not None and span.path == snapshot.path else None
    if source is None and span is not None and snapshot.network is not None:
        source = snapshot.network.sources.get(span.path)
    if source is None or span.line != span.end_line:
        return "..."
    return source.line_text(span.line)[span.column - 1 : span.end_column - 1] or "..."


def _input(snapshot: Snapshot, item: P.Item) -> str | None:
    network = snapshot.network
    if network is None or item.name not in network.inputs:
        return None
    spec = network.inputs[item.name]
    lines = [
        f"input `{item.name}`: **{_shape(snapshot, spec.dims)}**"
        + (f", batch {spec.batch}" if spec.batch is not None else "")
    ]
    lines += sizes_lines(snapshot, item.name)
    return "\n".join(lines)


def sizes_lines(snapshot: Snapshot, input_name: str) -> list[str]:
    """The valid sizes of an input's spatial axes, as `convdsl sizes` finds them (computed once per version)."""
    report = snapshot.sizes_report()
    if report is None:
        return ["", "valid sizes: not known while the network has errors"]
    if report.problem:
        return ["", f"valid sizes: {report.problem}"]
    from ..sizes_format import _axes_of, compact

    lines = ["", f"valid sizes (no input rows lost, 1 to {report.limit}):"]
    for axis in _axes_of(report, input_name):
        var = axis.variable
        near = ""
        if var.declared is not None and axis.declared_failure is not None:
            near = " — " + ", ".join(
                f"nearest {where}: {n}" for n, where in ((axis.below, "below"), (axis.above, "above")) if n
            )
        lines.append(f"- {var.name}: {axis.rule.text} ({compact(axis.valid, width=6)}){near}")
    return lines
