"""The summary: a torchinfo-style table, and the JSON contract scripts rely on."""

from __future__ import annotations

from .layers.base import prod
from .model import BYTES_PER_VALUE, Analysis
from .report import as_json
from .symbolic import is_sum, is_symbolic
from .walk import gc_paused


def display_shape(shape, layout: str = "NCHW") -> str:
    if shape is None:
        return "?"
    dims = list(shape)
    if layout == "NHWC" and len(dims) > 1:
        dims = dims[1:] + dims[:1]
    # an expression with spaces in it is bracketed, so `x` still separates the axes
    return " x ".join(f"({d})" if is_sum(d) else str(d) for d in dims)


def _json_shape(shape, batch, layout):
    if shape is None:
        return None
    dims = [_number(d) for d in shape]
    if layout == "NHWC" and len(dims) > 1:
        dims = dims[1:] + dims[:1]
    return ([batch] if batch is not None else []) + dims


def _count(n) -> str:
    return str(n) if is_symbolic(n) else f"{n:,}"


def _number(n):
    """For JSON: an int, or an expression of the input's symbols as a string."""
    return str(n) if is_symbolic(n) else n


def _human(n: float) -> str:
    if is_symbolic(n):
        return "depends on the input size"
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return str(int(n))


def _batch(analysis: Analysis):
    batches = {spec.batch for spec in analysis.network.inputs.values()}
    return batches.pop() if len(batches) == 1 else None


def _times(value, batch):
    """A per-sample figure at the declared batch (an int batch only: a named one leaves it per sample)."""
    return value * batch if isinstance(batch, int) else value


def _shared(analysis: Analysis, info) -> str:
    """A reused layer's parameters are its owner's: "shared with tower.0", where the owner has any."""
    owner = analysis.layers.get(info.shares) if info.shares is not None else None
    return f"shared with {info.shares}" if owner is not None and (owner.params or owner.buffers) else "-"


@gc_paused()  # many small objects and no cycles: see network.gc_paused
def to_json(analysis: Analysis) -> dict:
    net = analysis.network
    layout = net.settings.layout
    batch = _batch(analysis)
    layers = []
    for info in analysis.layers.values():
        layer = {
            "name": info.name,
            "kind": info.kind,
            "output_shape": _json_shape(info.output_shape, batch, layout),
            "output_shapes": [_json_shape(s, batch, layout) for s in info.output_shapes],
            "params": _number(info.params),
            "buffers": _number(info.buffers),
            "macs": _number(_times(info.macs, batch)),
            "receptive_field": list(info.receptive_field) if info.receptive_field is not None else None,
            "whole_input": list(info.whole_input) if info.receptive_field is not None else None,
            "effective_stride": [float(j) if j.denominator != 1 else int(j) for j in info.effective_stride]
            if info.effective_stride is not None
            else None,
        }
        if info.shares is not None:  # made by `reuse(...)`: its parameters are the named layer's, counted there
            layer["shares"] = info.shares
        layers.append(layer)
    return {
        "network": net.name,
        "path": net.path,
        "rounding": net.settings.rounding,
        "layout": layout,
        "inputs": {name: _json_shape(spec.dims, spec.batch, layout) for name, spec in net.inputs.items()},
        "outputs": {name: _json_shape(shape, batch, layout) for name, shape in analysis.output_shapes().items()},
        "batch": batch if isinstance(batch, int) else 1,
        "params": _number(analysis.params),
        "buffers": _number(analysis.buffers),
        "macs": _number(_times(analysis.macs, batch)),
        "flops": _number(_times(analysis.flops, batch)),
        "partial": analysis.partial,
        "layers": layers,
        "diagnostics": [as_json(d, net.path) for d in analysis.diagnostics],
    }


@gc_paused()
def receptive_field_text(info) -> str:
    """`7x7`; `whole` where every output position sees all of the input (after a global pool, or through
    a squeeze-and-excitation gate), as the field counted with padding would only suggest; `-` if none."""
    if not info.receptive_field:
        return "-"
    whole = info.whole_input or (False,) * len(info.receptive_field)
    if all(whole):
        return "whole"
    return "x".join("whole" if w else str(r) for r, w in zip(info.receptive_field, whole))


def table(analysis: Analysis) -> str:
    net = analysis.network
    layout = net.settings.layout
    batch = _batch(analysis) or 1
    shown_batch = str(batch)
    if not isinstance(batch, int):  # a named batch (`batch=N`): the totals are per sample
        shown_batch, batch = f"1 (per sample; the batch is `{batch}`)", 1
    declared = isinstance(_batch(analysis), int)  # shapes then show the batch, as JSON's do

    def shown(shape):
        text = display_shape(shape, layout)
        return f"{batch} x {text}" if declared and shape is not None else text

    rows = [("Layer", "Kind", "Output shape", "Params", "MACs", "RF")]
    for info in analysis.layers.values():
        rf = receptive_field_text(info)
        shapes = ", ".join(shown(s) for s in info.output_shapes)
        rows.append(
            (
                info.name,
                info.kind,
                shapes,
                _count(info.params) if info.params else _shared(analysis, info),
                _count(info.macs * batch) if info.macs else "-",
                rf,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {3, 4}

    def fmt(row):
        return "  ".join(cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))

    rule = "-" * len(fmt(rows[0]))
    inputs = ", ".join(f"{name}: {shown(spec.dims)}" for name, spec in net.inputs.items())
    outputs = ", ".join(f"{name}: {shown(shape)}" for name, shape in analysis.output_shapes().items())
    input_values = sum(prod(d for d in spec.dims if isinstance(d, int)) for spec in net.inputs.values())
    mb = BYTES_PER_VALUE * batch / 1e6
    symbolic = net.has_symbolic_inputs
    activations = 0 if symbolic else sum(info.activations for info in analysis.layers.values())

    def megabytes(values):
        return "depends on the input size" if symbolic or is_symbolic(values) else f"{values * mb:.2f} MB"

    lines = [f"{net.name} ({net.path})", f"inputs: {inputs}", f"outputs: {outputs}", "", fmt(rows[0]), rule]
    lines += [fmt(r) for r in rows[1:]]
    partial = f"; {analysis.partial_note}" if analysis.partial else ""
    lines += [
        rule,
        f"Params:      {_count(analysis.params)} ({_human(analysis.params)}{partial})",
        f"Buffers:     {_count(analysis.buffers)} (running statistics and index tables, not parameters)",
        f"MACs:        {_count(analysis.macs * batch)} ({_human(analysis.macs * batch)}; FLOPs = 2 x MACs = "
        f"{_human(2 * analysis.macs * batch)}{partial}) at batch {shown_batch}",
        *(
            ["             attention: its projections, plus q.k^T and attn.v (torchvision's convention)"]
            if any(info.kind in ("attention", "window_attention") for info in analysis.layers.values())
            else []
        ),
        f"Input size:  {megabytes(input_values)}",
        f"Activations: {megabytes(activations)} (every layer's output, float32)",
        # a linear layer after flattening a symbolic size has a symbolic number of parameters
        "Params size: "
        + (
            "depends on the input size"
            if is_symbolic(analysis.params)
            else f"{analysis.params * BYTES_PER_VALUE / 1e6:.2f} MB"
        ),
    ]
    return "\n".join(lines)
