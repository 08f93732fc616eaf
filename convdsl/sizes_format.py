"""`convdsl sizes` output: a readable text report and the JSON contract."""

from __future__ import annotations

from .sizes import AxisSizes, SizesReport


def compact(values: list[int], *, width: int = 12) -> str:
    """1, 2, 3, 4 -> '1-4'; 188, 204, 220, 236 -> '188, 204, ..., 236'; long irregular lists elided."""
    parts, i = [], 0
    while i < len(values):
        j = i + 1
        if j < len(values):
            step = values[j] - values[i]
            while j + 1 < len(values) and values[j + 1] - values[j] == step:
                j += 1
            if j - i >= 3:
                first, last = values[i], values[j]
                parts.append(f"{first}-{last}" if step == 1 else f"{first}, {first + step}, ..., {last}")
                i = j + 1
                continue
        parts.append(str(values[i]))
        i += 1
    if len(parts) > width:
        parts = parts[: width - 3] + ["..."] + parts[-2:]
    return ", ".join(parts)


def _criterion(report: SizesReport) -> str:
    return "every division exact (--strict)" if report.strict else "no input rows lost"


def text(report: SizesReport) -> str:
    net = report.network
    lines = [f"{net.name} ({net.path}): input sizes with {_criterion(report)}, from 1 to {report.limit}"]
    if report.problem:
        lines.append(f"  cannot sweep sizes: {report.problem}")
        return "\n".join(lines)
    for name, spec in net.inputs.items():
        shown = " x ".join(str(d) for d in spec.dims)
        lines.append(f"input `{name}` ({shown})")
        for axis in _axes_of(report, name):
            lines += _axis_lines(axis)
    return "\n".join(lines)


def _axes_of(report: SizesReport, input_name: str) -> list[AxisSizes]:
    return [a for a in report.axes if any(member == input_name for member, _ in a.variable.members)]


def _axis_lines(axis: AxisSizes) -> list[str]:
    var = axis.variable
    pad = " " * (len(var.name) + 4)
    lines = [f"  {var.name}  {axis.rule.text}"]
    if var.declared is not None:
        failure = axis.declared_failure
        if failure is None:
            lines.append(f"{pad}{var.declared} passes")
        else:
            lines.append(f"{pad}{var.declared} fails: {failure.code} at `{failure.node}`: {failure.message}")
        near = " and ".join(f"{n} {where}" for n, where in ((axis.below, "below"), (axis.above, "above")) if n)
        lines.append(f"{pad}nearest valid: {near}" if near else f"{pad}no other valid size nearby")
    if axis.valid:
        lines.append(f"{pad}valid: {compact(axis.valid)} ({len(axis.valid)} size{'s' if len(axis.valid) != 1 else ''})")
    held = ", ".join(f"{k} = {v}" for k, v in axis.sampled_at.items())
    if axis.coupled_with:
        at = {**{name: value for name, value in axis.declared_others.items()}, **axis.sampled_at}
        shown = ", ".join(f"{k} = {at[k]}" for k in axis.coupled_with if k in at)
        lines.append(f"{pad}depends on {', '.join(axis.coupled_with)}: these are the sizes with {shown}")
    elif held:
        lines.append(f"{pad}(swept with {held})")
    return lines


def to_json(report: SizesReport) -> dict:
    net = report.network
    inputs = {}
    for name in net.inputs:
        axes = {}
        for axis in _axes_of(report, name):
            var = axis.variable
            failure = axis.declared_failure
            axes[var.name] = {
                "valid": axis.valid,
                "rule": axis.rule.text,
                "period": axis.rule.period,
                "nearest": {"below": axis.below, "above": axis.above},
                "declared": var.declared,
                "declared_valid": None if var.declared is None else failure is None,
                "declared_failure": None
                if failure is None
                else {"layer": failure.node, "code": failure.code, "message": failure.message},
                "symbolic": var.symbolic,
                "coupled_with": list(axis.coupled_with),
                "swept_with": axis.sampled_at,
            }
        inputs[name] = {"axes": axes}
    return {
        "network": net.name,
        "path": net.path,
        "strict": report.strict,
        "max": report.limit,
        "problem": report.problem,
        "inputs": inputs,
    }
