"""Inference's size sweeps: the sample behind symbolic input sizes, the check of the expressions traced
with them, and the nearest input sizes offered for a division error.

infer.py imports this module only when a network has symbolic sizes or a division error, so checking a
plain file imports neither the sweeps nor the symbolic algebra. Each function takes the inference under
way (infer._Inference) and reads or amends what it found.
"""

from __future__ import annotations

from dataclasses import replace

from . import diagnostics as codes
from .diagnostics import Diagnostic
from .fixes import Edit, Fix
from .layers.window import axis_word
from .model import SWEEP_BUDGET
from .sizes import SweepBudget, Sweeper, analyze_sizes
from .sizes_format import compact
from .symbolic import Expr, simplify_on


def symbolic_sample(inference) -> dict[str, int] | None:
    """Sizes for the input's symbols at which the network works; notes on what each symbol may be.

    Shapes are then traced as expressions of the symbols (see symbolic.py). If
    no size works, inference runs with plain numbers at a nominal size so its
    errors say what goes wrong there.
    """
    if not inference.network.has_symbolic_inputs or inference.network.has_errors:
        return None
    # a work budget: every swept size runs the whole network once
    report = analyze_sizes(
        inference.network, strict=inference.strict, limit=max(32, min(1024, SWEEP_BUDGET // inference._layer_count()))
    )
    if report.problem:
        return None
    inference.sizes = report
    spans = {var.name: inference.network.inputs[var.members[0][0]].span for var in (a.variable for a in report.axes)}
    if not report.sample_found:
        sample = {var.variable.name: report.sample[var.variable.name] for var in report.axes}
        symbols = [a.variable for a in report.axes if a.variable.symbolic]
        names = " and ".join(f"`{v.name}`" for v in symbols)
        inference.found.append(
            Diagnostic(
                codes.NO_VALID_SIZE,
                spans[symbols[0].name],
                f"no value of {names} from 1 to {report.limit} passes through the network",
                "no size works",
                "fix the errors reported for " + ", ".join(f"{v.name} = {sample[v.name]}" for v in symbols),
            )
        )
        return sample
    inference.symbolic = True
    for axis in report.axes:
        var = axis.variable
        if not var.symbolic:
            continue
        when = "".join(
            f" when {other} = {report.sample[other]}" for other in axis.coupled_with[:1] if other in report.sample
        )
        inference.found.append(
            Diagnostic(
                codes.SIZE_CONSTRAINT,
                spans[var.name],
                f"`{var.name}` may be {axis.rule.text}{when}",
                f"{var.name}: {axis.rule.text}",
                "run `convdsl sizes` for the list and the rule on every axis",
                (
                    f"values from 1 to {report.limit}: {compact(axis.valid)}"
                    + (
                        " (a shorter sweep than `convdsl sizes` makes, for a network this large)"
                        if report.limit < 1024
                        else ""
                    ),
                )
                + ((f"which values are valid depends on {', '.join(axis.coupled_with)}",) if axis.coupled_with else ()),
            )
        )
    return report.sample


def verify_expressions(inference) -> None:
    """Drop any traced expression that disagrees with the Probe at other accepted sizes."""
    report = inference.sizes
    points = []
    for axis in report.axes:
        if not axis.variable.symbolic:
            continue
        valid = axis.valid
        picks = sorted({valid[i * (len(valid) - 1) // 7] for i in range(8)}) if valid else []
        points += [(axis.variable, n) for n in picks]
    wrong: set[str] = set()
    for var, n in points:
        shapes: dict = {}
        if report.sweeper.run(var, n) is not None:
            continue
        report.sweeper.probe.run(report.sweeper.dims({**report.sweeper.base, report.sweeper._key(var): n}), shapes)
        env = {**report.sample, var.name: n}
        for (node, port), shape in inference.shapes.items():
            if shape is None or node in wrong:
                continue
            numeric = shapes.get((node, port))
            if (
                numeric is None
                or len(numeric) != len(shape)
                or any((d.evaluate(env) if isinstance(d, Expr) else d) != m for d, m in zip(shape, numeric))
            ):
                wrong.add(node)
    for node in wrong:
        info = inference.layers.get(node)
        for owner, port in list(inference.shapes):
            if owner == node:
                inference.shapes[(owner, port)] = None
        if info is not None:
            inference.layers[node] = replace(info, output_shapes=tuple(None for _ in info.output_shapes))
    simplify_expressions(inference)


def simplify_expressions(inference) -> None:
    """Where a symbol may only take sizes at which a floor never rounds, drop the floor: (H + 4)/16."""
    accepted = {
        axis.variable.name: axis.valid
        for axis in inference.sizes.axes
        if axis.variable.symbolic and not axis.coupled_with
    }

    def simpler(shape):
        if shape is None:
            return None
        out = []
        for d in shape:
            names = d.symbols() if isinstance(d, Expr) else set()
            out.append(
                simplify_on(d, next(iter(names)), accepted[next(iter(names))])
                if len(names) == 1 and next(iter(names)) in accepted
                else d
            )
        return tuple(out)

    for key, shape in inference.shapes.items():
        inference.shapes[key] = simpler(shape)
    for name, info in inference.layers.items():
        inference.layers[name] = replace(
            info,
            input_shapes=tuple(simpler(s) for s in info.input_shapes),
            output_shapes=tuple(simpler(s) for s in info.output_shapes),
        )
    simplify_counts(inference, accepted)


def simplify_counts(inference, accepted) -> None:
    """MACs and parameters as polynomials in the symbols where every symbolic count is one at the
    accepted sizes (then totals are too): all of them, or none, so that they still add up."""
    from .symbolic import fit_polynomial

    fitted = {}
    for name, info in inference.layers.items():
        for field_ in ("macs", "params"):
            value = getattr(info, field_)
            if isinstance(value, Expr):
                poly = fit_polynomial(value, accepted)
                if poly is None:
                    return
                fitted[(name, field_)] = poly
    for (name, field_), poly in fitted.items():
        inference.layers[name] = replace(inference.layers[name], **{field_: poly})


def suggest_input_sizes(inference) -> None:
    """Rewrite a division error's help with the nearest input sizes that pass the whole network."""
    if inference.network.has_errors or inference.symbolic:
        return
    reach = min(256, SWEEP_BUDGET // inference._layer_count())
    if reach < 8:  # too large a network for a quick sweep: `convdsl sizes` still answers
        return
    sweeper = Sweeper(inference.network, strict=inference.strict, limit=reach, budget=4 * SWEEP_BUDGET)
    try:
        _suggest_with(inference, sweeper, reach)
    except SweepBudget:  # a hint, not a finding: without it the layer's own help stays
        return


def _suggest_with(inference, sweeper, reach) -> None:
    if not sweeper.probe.usable or not sweeper.choose_base(each_axis=True):
        return
    order = list(inference.network.inputs)
    for index, node, axis in inference.divisions:
        ancestors = inference.graph.ancestors(node)
        candidates = [
            v for v in sweeper.variables if any(name in ancestors and dim == axis + 1 for name, dim in v.members)
        ]
        candidates.sort(key=lambda v: order.index(v.members[0][0]))
        if not candidates:
            continue
        var = candidates[0]
        below, above = sweeper.nearest(var, var.declared, reach=reach)
        sizes = [n for n in (below, above) if n is not None]
        if not sizes:
            continue
        name, dim = var.members[0]
        rank = len(inference.network.inputs[name].dims) - 1
        word = axis_word(rank, dim - 1) if var.name in ("L", "D", "H", "W") else f"`{var.name}`"
        moved = [
            (v, sweeper.base[sweeper._key(v)])
            for v in sweeper.variables
            if v is not var and sweeper.base[sweeper._key(v)] != v.declared
        ]
        fixes = []
        for size in sizes:
            # A square input stays square where the other axes work at the same size: 222 x 222 and 229 x 229,
            # not 229 with the width held at 222 (which also works, but is not what a square image wants).
            alike = _alike(inference, sweeper, var, size, moved)
            keep = [(v, held_size) for v, held_size in moved if v not in alike]
            edits = _size_edits(inference, [(var, size), *((v, size) for v in alike), *keep])
            if edits is None:
                break
            words = " and ".join([word, *(_axis_name(inference, v) for v in alike)])
            rest = [f"{_axis_name(inference, v)} of {held_size}" for v, held_size in keep]
            fixes.append(
                Fix(f"give `{name}` a {words} of {size}" + (f" (with a {', '.join(rest)})" if rest else ""), edits)
            )
        else:
            old = inference.found[index]
            # the network's sizes replace the layer's own (`help`), which only this layer needs
            inference.found[index] = replace(old, fixes=(*old.fixes, *fixes), help=None if fixes else old.help)


def _axis_name(inference, var) -> str:
    """`width`, or the symbol's name: each named by the rank of its own input, which may differ from another's."""
    name, dim = var.members[0]
    return axis_word(_rank(inference, name), dim - 1) if var.name in ("L", "D", "H", "W") else f"`{var.name}`"


def _alike(inference, sweeper, var, size: int, moved) -> list:
    """The moved variables of the same input, declared at var's size, that can take `size` too: all of them at
    once, or none (the network is run once more to know)."""
    name = var.members[0][0]
    alike = [v for v, _ in moved if v.declared == var.declared and v.members[0][0] == name]
    if not alike:
        return []
    values = dict(sweeper.base)
    for v in (var, *alike):
        values[sweeper._key(v)] = size
    return alike if sweeper._probe_values(values) is None else []


def _size_edits(inference, sizes) -> tuple | None:
    """The edits of the input declarations that give each variable its size; None where one is not a number."""
    edits = []
    for var, size in sizes:
        for name, dim in var.members:
            spec = inference.network.inputs[name]
            if dim >= len(spec.dim_spans) or not isinstance(spec.dims[dim], int):
                return None
            edits.append(Edit(spec.dim_spans[dim], str(size)))
    return tuple(edits)


def _rank(inference, input_name: str) -> int:
    return len(inference.network.inputs[input_name].dims) - 1
