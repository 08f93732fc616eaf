"""Shape inference: walks the graph once, asks the catalogue about each layer,
and returns an Analysis. After an error a layer's outputs are unknown, so one
mistake gives one diagnostic, not a cascade."""

from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction

from . import diagnostics as codes
from .cancel import checkpoint
from .diagnostics import Diagnostic, Severity
from .evaluate import MAX_INT
from .fixes import Edit, Fix, set_argument
from .layers import KINDS, InferContext, ShapeError
from .layers.base import fmt_count, fmt_shape
from .layers.merge import MergeError, axis_label
from .model import SWEEP_BUDGET, Analysis, LayerInfo, LayerNode
from .provenance import input_dims, output_dims
from .source import Span
from .walk import declared_batch, gc_paused, rank_problem, topological_order, wiring


CHECK_EVERY = 64  # layers between two cancellation checkpoints (half a millisecond or so)


def analyze(network, *, strict: bool = False, size_hints: bool = True) -> Analysis:
    """size_hints: a division error's help names the nearest input sizes that work (a short sweep)."""
    with gc_paused():
        return _Inference(network, strict, size_hints).run()


class _Inference:
    def __init__(self, network, strict: bool, size_hints: bool = True):
        self.size_hints = size_hints
        self.network = network
        self.graph = network.layer_graph
        self.strict = strict
        self.rounding = network.settings.rounding
        self.batch = declared_batch(network)
        self.shapes: dict[tuple[str, int], tuple | None] = {}
        # (node, port) -> (per spatial axis (receptive field, jump), receptive field, effective stride):
        # the last two as LayerInfo shows them, made once and passed on through elementwise layers
        self.rf: dict[tuple[str, int], tuple | None] = {}
        # (node, port) -> per dim, the input spatial axes it runs along (provenance.py); None where unknown
        self.axes: dict[tuple[str, int], tuple | None] = {}
        self.extent: dict[int, int] = {}  # input spatial axis -> its size at the first input: `whole` on tokens
        self.rounded: dict[str, dict[int, str]] = {}  # node -> shape axis -> arithmetic, for provenance
        self.layers: dict[str, LayerInfo] = {}
        # (node, inference result, sources, input shapes, kind, input dims, outputs): for `fields`, run later
        self.fields_to_do: list[tuple] = []
        self.found: list[Diagnostic] = []
        self.symbolic = False  # inputs have named sizes, traced as expressions
        self.unwritable = False  # a layer's rule could not be written in the symbols (N002, said once)
        self.sizes = None  # the sizes sweep behind symbolic inputs
        self.divisions: list[tuple[int, str, int]] = []  # (index in found, node, spatial axis): size errors
        self.inferred: dict[tuple, object] = {}  # results shared by equal layers: see _layer
        self.shared: set[int] = set()  # ids of the args dicts several layers have (_wire)
        self.sources: dict[str, list] = {}  # node -> its inputs by port, (source, output port) (_wire)
        self.next_kinds: dict[str, tuple] = {}  # node -> the kinds of the layers it feeds (_wire)
        self.sample = None  # a sample of the symbolic sizes (sizehints.symbolic_sample), for a symbolic network
        self.order: list[str] = []  # the nodes in the order propagation met them

    def run(self) -> Analysis:
        self._propagate()
        return self._conclude()

    def _propagate(self) -> None:
        """Every node's shapes, counts and diagnostics, in topological order (`self.order`)."""
        graph = self.graph
        cyclic = any(d.code is codes.CYCLE for d in self.network.diagnostics)
        if not cyclic and self._has_symbols():
            from .sizehints import (
                symbolic_sample,  # the sweeps: only for a network with symbolic sizes
            )

            self.sample = symbolic_sample(self)
        checkpoint()
        self._wire()
        self.order = [] if cyclic else topological_order(graph)
        for count, node in enumerate(self.order):
            if not count % CHECK_EVERY:
                checkpoint()  # an editor's stale analysis stops here (cancel.py)
            data = graph.nodes[node]
            kind = data.kind
            if kind == "input":
                self._input(node, data)
            elif kind == "output":
                if "shape" in data.args:
                    self._check_output(node, data)
            else:
                self._layer(node, data)

    def _input(self, node: str, data: LayerNode) -> None:
        dims = _input_dims(data.args["shape"], self.sample, self.symbolic)
        if dims and all(type(d) is int for d in dims) and math.prod(dims) >= MAX_COUNT:
            self.found.append(
                Diagnostic(
                    codes.LIMIT_EXCEEDED,
                    data.span,
                    f"input `{node}` has {fmt_count(math.prod(dims))} elements, beyond the limit of 2^53",
                    "too large",
                    "tensors must stay below 2^53 elements",
                )
            )
            dims = None
        self.shapes[(node, 0)] = dims
        spec = self.network.inputs.get(node)
        spatial = list(spec.spatial_indices()) if spec is not None else list(range(1, len(dims or ())))
        if spec is not None:
            self.axes[(node, 0)] = input_dims(spec)
            for axis, index in enumerate(spatial):
                if dims and isinstance(dims[index], int):
                    self.extent.setdefault(axis, dims[index])
        self.rf[(node, 0)] = (
            _field(tuple((1, 1) for _ in spatial), None, (True,) * len(spatial)) if dims else None
        )  # ints: see _receptive_field

    def _conclude(self) -> Analysis:
        """The passes over the whole network after propagation, and the Analysis."""
        graph = self.graph
        # one pass (attributes, not the mapping form: this runs over every node) for the rarer passes below
        ties = reuses = embeddings = False
        for data in graph.nodes.values():
            kind = data.kind
            if kind == "linear" and data.args.get("tie") is not None:
                ties = True
            elif kind == "embedding":
                embeddings = True
            if data.shares is not None:
                reuses = True
        if ties:
            from .tying import apply_ties

            apply_ties(self)
        if reuses:
            from .reusing import apply_reuses

            apply_reuses(self)
        if embeddings or any(spec.dtype == "long" for spec in self.network.inputs.values()):
            from .dtypes import dtype_problems

            self.found.extend(dtype_problems(self.network))
        if self.symbolic:
            from .sizehints import verify_expressions

            verify_expressions(self)
        total = _totals_problem(self.network, self.layers)
        if total is not None:
            self.found.append(total)
        if self.divisions and self.size_hints and not self.network.has_errors:
            from .sizehints import suggest_input_sizes

            suggest_input_sizes(self)
        diagnostics = sorted((*self.network.diagnostics, *_dedupe(self.found)), key=Diagnostic.sort_key)
        analysis = Analysis(self.network, self.layers, self.shapes, tuple(diagnostics), self.strict, self.fields)
        if self.size_hints and any(d.fixes for d in diagnostics):
            from .fixcheck import keep_working_fixes

            strict = self.strict
            analysis.diagnostics = keep_working_fixes(
                analysis,
                budget=SWEEP_BUDGET // 4,
                reanalyze=lambda network: analyze(network, strict=strict, size_hints=False),
            )
        return analysis

    def _has_symbols(self) -> bool:
        """An input with a named size, in a network lowered without errors: the case for a sweep."""
        return self.network.has_symbolic_inputs and not self.network.has_errors

    def _layer_count(self) -> int:
        """Layers in the graph (at least 1): what one swept size costs, for the sweeps' work budget."""
        return max(1, sum(1 for data in self.graph.nodes.values() if data.kind not in ("input", "output")))

    def _wire(self) -> None:
        self.sources, self.next_kinds = wiring(self.graph)
        # args dicts that more than one layer has: only their results are worth keeping (see _layer)
        seen: set = set()
        for data in self.graph.nodes.values():
            if "args" in data:
                args = id(data.args)
                if args in seen:
                    self.shared.add(args)
                seen.add(args)

    def _inputs(self, node):
        return self.sources.get(node, [])

    def _layer(self, node: str, data: dict) -> None:
        kind = KINDS[data.written]
        sources = self._inputs(node)
        shapes = [self.shapes.get(s) for s in sources]
        dims = [self.axes.get(s) for s in sources]
        # W104 is for a last dim that runs along the input (C x H x W), not for L x D tokens
        last_spatial = not dims or dims[0] is None or not dims[0] or bool(dims[0][-1])
        result = None
        if (shapes or not kind.takes_input) and None not in shapes and not data.incomplete:
            next_kinds = self.next_kinds.get(node, ())
            # Lowering gives the layers of equal calls one `args` (lower.binding, build.share_args): with equal inputs
            # and consumers they infer alike. Only a result that reported nothing is shared.
            args = id(data.args)
            key = (
                (args, data.written, next_kinds, last_spatial, *shapes)
                if args in self.shared and not self.symbolic
                else None
            )
            result = self.inferred.get(key) if key is not None else None
            if result is None:
                reported, divisions = len(self.found), len(self.divisions)
                result = self._infer(node, data, kind, shapes, sources, next_kinds, last_spatial)
                if (
                    key is not None
                    and result is not None
                    and len(self.found) == reported
                    and len(self.divisions) == divisions
                    and node not in self.rounded
                ):
                    self.inferred[key] = result
        outputs = result.outputs if result is not None else (None,) * kind.output_count(data.args)
        made = output_dims(kind.name, data.args, dims, outputs)
        for port, shape in enumerate(outputs):
            self.shapes[(node, port)] = shape
            self.axes[(node, port)] = made[port]
        self.fields_to_do.append((node, result, sources, shapes, kind, dims, len(outputs)))
        # LayerInfo's fields in order, not by keyword: this runs once per layer, and keywords cost more. The
        # receptive field is filled in by `fields`, when the analysis's layers are first read.
        self.layers[node] = LayerInfo(
            node,
            kind.name,
            tuple(shapes),
            tuple(outputs),
            result.params if result else 0,
            result.buffers if result else 0,
            result.macs if result else 0,
            None,
            None,
            None,
        )

    def fields(self) -> None:
        """Every layer's receptive field, effective stride and whole-input axes, in the order inference met
        the layers, set on the LayerInfo each has now (later passes may have replaced the first one)."""
        graph, layers, rf_of = self.graph, self.layers, self.rf
        for node, result, sources, shapes, kind, dims, outputs in self.fields_to_do:
            try:
                # a tensor read for its shape only (`like=`) reaches no output position with its values, nor
                # its field
                shaped = kind.shape_only
                args = graph.nodes[node].args
                donor = len(sources) - 1 if shaped and args.get(shaped) is not None and len(sources) > 1 else None
                rf = self._receptive_field(result, sources, shapes, kind, dims, donor)
            except TypeError:  # a receptive field over a symbolic size
                rf = None
            for port in range(outputs):
                rf_of[(node, port)] = rf
            if rf is not None:
                info = layers[node]
                # set once, before any reader sees the layer (Analysis.layers waits for this pass)
                object.__setattr__(info, "receptive_field", rf[1])
                object.__setattr__(info, "effective_stride", rf[2])
                object.__setattr__(info, "whole_input", rf[3])
        self.fields_to_do = []

    def _infer(self, node, data, kind, shapes, sources, next_kinds, last_spatial=True):
        spans = data.arg_spans

        def report(code, message, label="", help=None, arg=None, severity=None, fixes=(), axis=None):
            if data.shares is not None and (severity or code.severity) is not Severity.ERROR:
                return  # a reused layer: a lint of how it is written is said once, where it is written
            span = spans.get(arg, data.span) if arg else data.span
            notes = (f"in layer `{node}`",) if data.block_path else ()
            if axis is not None:
                self.divisions.append((len(self.found), node, axis))
            self.found.append(Diagnostic(code, span, message, label, help, notes, severity, tuple(fixes)))

        def fix(description, changes):
            return argument_fix(self.network.sources, data, description, changes)

        problem = rank_problem(kind, data.written, shapes)
        if problem:
            report(codes.RANK_MISMATCH, *problem)
            return None
        ctx = InferContext(self.rounding, self.strict, data.explicit, report, next_kinds, fix=fix, batch=self.batch)
        if not last_spatial:
            ctx.extra["features_last"] = True  # provenance: the last dim is features (tokens), for W104
        try:
            result = kind.infer(data.args, shapes, ctx)
        except ArithmeticError as err:
            if type(err).__name__ != "ExpressionTooLarge":  # symbolic.py's: not imported for plain sizes
                if not self.symbolic:
                    raise
                self._report_unwritable(report)
                return None
            from .symbolic import MAX_EXPRESSION_SIZE

            report(
                codes.LIMIT_EXCEEDED,
                f"this layer's output size, as an expression of the input's symbols, "
                f"would have more than {MAX_EXPRESSION_SIZE:,} terms",
                "expression too large",
                "give the input a number for that axis (`convdsl sizes` lists the sizes that work), or "
                "split the network",
            )
            return None
        except (TypeError, ValueError):
            if not self.symbolic:
                raise
            self._report_unwritable(report)
            return None
        except MergeError as err:
            notes = self._provenance(node, sources, err.ports, err.axis)
            report(err.code, err.message, err.label, err.help)
            if notes:
                last = self.found.pop()
                self.found.append(replace(last, notes=(*last.notes, *notes)))
            return None
        except ShapeError as err:
            report(err.code or codes.ARGUMENT_TYPE, err.message, err.label, err.help, err.arg)
            return None
        rounded = ctx.extra.get("rounded")
        if rounded:
            self.rounded[node] = rounded
        for shape in result.outputs:
            if shape is None or _plain(shape):  # the usual case: nothing below applies
                continue
            if any(d < 1 for d in shape):
                report(
                    codes.NON_POSITIVE_SIZE,
                    f"the output shape {fmt_shape(shape)} has a size below 1",
                    "empty output",
                    "the input is too small for this layer",
                )
                return None
            if shape is not None and any(isinstance(d, int) and d > MAX_INT for d in shape):
                # `upsample(scale=1e300)`: no tensor is this large, and counts built on it overflow a float
                largest = max(d for d in shape if isinstance(d, int))
                report(
                    codes.ARGUMENT_TYPE,
                    f"an output size of {fmt_count(largest)} is beyond any tensor",
                    "too large",
                    "an argument of this layer is far too large",
                )
                return None
        over = _beyond_counts(result)
        if over:
            report(
                codes.LIMIT_EXCEEDED,
                over,
                "too large",
                "an argument of this layer is far too large: tensors "
                "and counts must stay below 2^53, so that every JSON reader gets them exactly",
            )
            return None
        return result

    def _report_unwritable(self, report) -> None:
        """A rule that cannot be written in the input's symbols: the shape stays unknown, and says why.

        Only the first such layer is named (those after it are unknown because of it). The sizes are
        still checked value by value (N001, `convdsl sizes`); the totals are partial.
        """
        if self.unwritable:
            return
        self.unwritable = True
        report(
            codes.SYMBOLIC_UNKNOWN,
            "this layer's output size cannot be written in the input's symbols, so the shapes from here on "
            "are unknown and the totals leave these layers out",
            "shape unknown",
            "give the input numbers for its axes to see every shape (`convdsl sizes` lists the sizes that work)",
        )

    def _check_output(self, node: str, data: LayerNode) -> None:
        """`output y: 3 x 64 x 64 = ...`: the shape the network gives must be the one declared (E115).

        Fixes tried: output_padding on the transposed convolutions before it (the usual
        cause in a decoder: each rounds its size down by up to stride - 1), and the
        declaration itself changed to what the network gives."""
        sources = self._inputs(node)
        if not sources:
            return
        actual = self.shapes.get(sources[0])
        declared = data.args["shape"]
        if actual is None:
            return
        env = self.sizes.sample if self.sizes is not None else {}
        from .symbolic import is_symbolic

        def value(d):
            if isinstance(d, str):
                return env.get(d)
            return d.evaluate(env) if is_symbolic(d) else d

        if len(actual) == len(declared) and all(value(a) == value(d) for a, d in zip(actual, declared)):
            return
        name = data.label
        shown = " x ".join(map(str, actual))
        fixes = self._output_padding_fixes(sources[0], actual, declared, value)
        spans = data.dim_spans
        if len(actual) == len(declared) and spans and all(isinstance(a, int) for a in actual):
            edit = Edit(spans[0].to(spans[-1]), shown)
            fixes.append(Fix(f"declare `{name}` as {shown}", (edit,)))
        span = spans[0].to(spans[-1]) if spans else data.span
        self.found.append(
            Diagnostic(
                codes.OUTPUT_SHAPE,
                span,
                f"output `{name}` is {shown}, not the declared {' x '.join(map(str, declared))}",
                f"the network gives {shown}",
                None,
                (),
                None,
                tuple(f for f in fixes if f is not None),
            )
        )

    def _output_padding_fixes(self, source, actual, declared, value) -> list:
        """output_padding on the transposed convolutions on the way to an output that is too small: on the
        last of them, or the same on each (every one rounds down by up to its stride - 1). Each is tried."""
        if len(actual) != len(declared):
            return []
        short = [
            value(d) - value(a) if isinstance(value(d), int) and isinstance(value(a), int) else None
            for a, d in zip(actual[1:], declared[1:])
        ]
        if any(s is None or s < 0 for s in short) or not any(short):
            return []
        node, chain = source[0], []  # the transposed convolutions along the first inputs, back from the output
        for _ in range(10_000):
            data = self.graph.nodes[node]
            if data.kind == "conv_transpose":
                chain.append(node)
            inputs = self._inputs(node) if data.kind != "input" else []
            if not inputs:
                break
            node = inputs[0][0]
        fixes = []
        for p in range(1, 8):
            for members in ([chain[0]], chain) if len(chain) > 1 else ([chain[0]],) if chain else ():
                calls = {}
                for member in members:  # one edit per call written (a block's call makes several layers)
                    data = self.graph.nodes[member]
                    stride = data.args.get("stride", 1)
                    if p < min(stride if isinstance(stride, tuple) else (stride,)):
                        calls.setdefault(data.span, data)
                if len(calls) != len({self.graph.nodes[m].span for m in members}):
                    continue
                edits = []
                for data in calls.values():
                    fix = argument_fix(self.network.sources, data, "", {"output_padding": str(p)})
                    if fix is None:
                        break
                    edits.extend(fix.edits)
                else:
                    where = f"on `{members[0]}`" if len(members) == 1 else "on each transposed convolution"
                    fixes.append(Fix(f"use `output_padding={p}` {where}", tuple(edits)))
            if len(fixes) >= 4:
                break
        return fixes

    def _receptive_field(self, result, sources, shapes, kind, dims=None, donor=None):
        """The output's receptive field, as kept in self.rf: see _field.

        Whole numbers are kept as ints, Fractions only where upsampling makes
        them fractional: Fraction arithmetic was a third of inference.
        """
        if result is None or not sources:
            return None
        # a param is the same at every position: it widens no view (and has no field of its own); nor does the
        # input at port `donor`, read for its shape only
        kept = [i for i, s in enumerate(sources) if i != donor and self.graph.nodes[s[0]].kind != "parameter"]
        if len(kept) != len(sources):
            sources, shapes = [sources[i] for i in kept], [shapes[i] for i in kept]
            dims = [dims[i] for i in kept] if dims else dims
        if not sources:
            return None
        fields = [self.rf.get(s) for s in sources]
        if None in fields:
            return None
        if len(fields) > 1:  # merges: the widest view of their inputs
            before = None
            state = _merged_field(fields, shapes, result.outputs[0])
            # an output position sees the whole input along an axis if any merged input does there (a
            # squeeze-and-excitation gate: every position is scaled by a global pool); the rows the
            # output reads are the union of its inputs'
            whole = tuple(any(axes) for axes in zip(*(f[3] for f in fields)))
            reads = tuple(any(axes) for axes in zip(*(f[4] for f in fields)))
        else:
            before = fields[0]
            state, whole, reads = before[0], before[3], before[4]
        rf = result.rf
        if rf is not None and rf.dims is not None:
            along = next((d for d in dims if d is not None), None) if dims else None
            return self._field_along(rf, state, along, before, whole, reads)
        if rf is not None:
            if rf.whole:
                spatial = shapes[0][1:]
                if len(spatial) == len(state):
                    if not all(isinstance(size, int) for size in spatial):
                        return None  # the whole of a symbolic size: no number to give
                    # every output reads every row its input read: the whole input, if that read all of it; the
                    # tensor's spatial dims must be the input's axes (in any order: a permute may have moved them,
                    # and a global pool reads them all) to say so
                    along = dims[0] if dims else None
                    order = _axes_order(along, len(state))
                    aligned = along is None or order is not None
                    if order is not None:  # each input axis's size, wherever its dim is now
                        spatial = tuple(spatial[order.index(axis)] for axis in range(len(state)))
                    sees = tuple(w or (rf.sees_all and r and aligned) for w, r in zip(whole, reads))
                    return _field(
                        tuple((r + (size - 1) * j, j * size) for (r, j), size in zip(state, spatial)), sees, sees
                    )
            elif len(rf.windows) == len(state):
                if rf.reads_all is not None:
                    reads = tuple(r and a for r, a in zip(reads, rf.reads_all))
                return _field(
                    tuple(
                        [
                            (r + (k - 1) * j, j * (s if type(s) is int else _whole(s)))
                            for (r, j), (k, s) in zip(state, rf.windows)
                        ]
                    ),
                    whole,
                    reads,
                )
        elif kind.drops_rows:
            reads = (False,) * len(state)
        if before is not None and reads == before[4]:
            return before  # elementwise: the input's, as it is
        return _field(state, whole, reads)

    def _field_along(self, rf, state, dims, before, whole, reads):
        """A receptive field change on named dims (rf.dims), applied to the input axes those dims run along
        (provenance.py): attention on L x D sees the whole of every axis L was made of; a window on H x W x C
        grows H and W. A dim that runs along no axis, or along several (a window over a flattened sequence),
        changes nothing that one axis could show. Whether each input axis is seen whole, and read in every
        row, carries over (window attention and patch merging read every row, `rf.reads_all` says where not)."""
        if dims is None:
            return before if before is not None else _field(state, whole, reads)
        new, read = list(state), list(reads)
        changed = False
        for position, dim in enumerate(rf.dims):
            axes = dims[dim] if dim < len(dims) else ()
            if rf.reads_all is not None and position < len(rf.reads_all) and not rf.reads_all[position]:
                for axis in axes:
                    if axis < len(read):
                        read[axis] = False
            if rf.whole:
                for axis in axes:
                    size = self.extent.get(axis)
                    if axis < len(new) and isinstance(size, int):
                        new[axis] = (max(new[axis][0], size), new[axis][1])
                        changed = True
            elif len(axes) == 1 and axes[0] < len(new) and position < len(rf.windows):
                (r, j), (k, s) = new[axes[0]], rf.windows[position]
                new[axes[0]] = (r + (k - 1) * j, j * (s if type(s) is int else _whole(s)))
                changed = True
        reads = tuple(read)
        if not changed:
            return before if before is not None and reads == before[4] else _field(state, whole, reads)
        return _field(tuple(new), whole, reads)

    def _provenance(self, node, sources, ports, axis) -> tuple[str, ...]:
        """Where two merged branches' sizes on `axis` came apart, back to a common tensor."""
        chains = [self._history(sources[p], axis) for p in ports]
        ancestors = [{entry[0] for entry in chain} for chain in chains]
        common = ancestors[0] & ancestors[1]
        notes = []
        for index, (port, chain) in enumerate(zip(ports, chains)):
            steps = []
            for producer, size, how in chain:
                if producer in common:
                    steps.append(f"{size} at `{producer}`")
                    break
                steps.append(f"{size} at `{producer}`" + (f" ({how})" if how else ""))
            steps.reverse()
            word = axis_label(axis, len(self.shapes.get(sources[port]) or ()) or 1)
            notes.append(f"input {port + 1} {word}: " + " -> ".join(steps))
        return tuple(notes)

    def _history(self, source, axis, limit=50):
        """(node, size on axis, how it was rounded) back along first inputs."""
        out = []
        node, port = source
        for _ in range(limit):
            shape = self.shapes.get((node, port))
            if shape is None or axis >= len(shape):
                break
            how = self.rounded.get(node, {}).get(axis)
            out.append((node, shape[axis], how))
            preds = self._inputs(node) if self.graph.nodes[node].kind != "input" else []
            if not preds:
                break
            node, port = preds[0]
        # collapse runs of the same size to where the size was set
        collapsed = []
        for entry in out:
            if collapsed and collapsed[-1][1] == entry[1] and not collapsed[-1][2]:
                collapsed[-1] = entry
            else:
                collapsed.append(entry)
        return collapsed


def argument_fix(sources, data: dict, description: str, changes: dict[str, str]) -> Fix | None:
    """A fix that gives a layer's call new argument values (text), as edits of the call where it is written.

    Arguments the call does not write are added together, as keywords in one edit.
    """
    span = data.span
    source = sources.get(span.path) if span is not None else None
    if source is None:  # a layer built without a place in a text (convdsl.build): nothing to edit
        return None
    written = data.arg_spans
    edits, added = [], []
    for name, value in changes.items():
        if value is None:  # remove a written argument, up to the next one (a positional one shifts the rest)
            if name not in written:
                return None
            start = written[name]
            later = sorted(
                (s for s in written.values() if (s.line, s.column) > (start.line, start.column)),
                key=lambda s: (s.line, s.column),
            )
            if not later:
                return None
            edits.append(Edit(Span(span.path, start.line, start.column, later[0].line, later[0].column), ""))
        elif name in written:
            edit = set_argument(source, span, written[name], name, value)
            if edit is None:
                return None
            edits.append(edit)
        else:
            added.append(f"{name}={value}")
    if added:
        first, _, rest = added[0].partition("=")
        edit = set_argument(source, span, None, first, ", ".join([rest, *added[1:]]))
        if edit is None:
            return None
        edits.append(edit)
    return Fix(description, tuple(edits))


def _input_dims(dims, sample, symbolic: bool):
    """An input's shape: numbers, expressions of its symbols, or None when unknown."""
    if all(isinstance(d, int) for d in dims):
        return tuple(dims)
    if sample is None:
        return None
    if symbolic:
        from .symbolic import Expr

        return tuple(Expr.symbol(d, sample[d]) if isinstance(d, str) else d for d in dims)
    return tuple(sample[d] if isinstance(d, str) else d for d in dims)


MAX_COUNT = 2**53  # elements of a tensor, parameters, FLOPs: exact in a double, so in every JSON reader


def _beyond_counts(result) -> str | None:
    """What of a layer's result reaches MAX_COUNT: its parameters, buffers, FLOPs or an output's elements."""
    for what, value in (("parameters", result.params), ("buffers", result.buffers), ("FLOPs", 2 * result.macs)):
        if type(value) is int and value >= MAX_COUNT:
            return f"{fmt_count(value)} {what}, beyond the limit of 2^53"
    for shape in result.outputs:
        if shape is not None and all(type(d) is int for d in shape):
            elements = math.prod(shape)
            if elements >= MAX_COUNT:
                return f"an output of {fmt_count(elements)} elements, beyond the limit of 2^53"
    return None


def _totals_problem(network, layers) -> Diagnostic | None:
    """The network's total parameters, buffers or FLOPs reaching MAX_COUNT, at the layer that takes them there.

    That layer and the ones after it then count nothing, as a layer with an error does, so every total
    stays below the limit too.
    """
    params = buffers = macs = 0
    names = list(layers)
    for index, node in enumerate(names):
        info = layers[node]
        if type(info.params) is int and type(info.macs) is int and type(info.buffers) is int:
            params += info.params
            buffers += info.buffers
            macs += info.macs
        if max(params, buffers, 2 * macs) >= MAX_COUNT:  # FLOPs, reported too, are twice the MACs
            what = "parameters" if params >= MAX_COUNT else "buffers" if buffers >= MAX_COUNT else "FLOPs"
            for later in names[index:]:
                old = layers[later]
                layers[later] = LayerInfo(
                    old.name,
                    old.kind,
                    old.input_shapes,
                    old.output_shapes,
                    0,
                    0,
                    0,
                    old.receptive_field,
                    old.effective_stride,
                    old.whole_input,
                )
            data = network.layer_graph.nodes[node]
            return Diagnostic(
                codes.LIMIT_EXCEEDED,
                data.span,
                f"the network's {what} reach {fmt_count(max(params, buffers, 2 * macs))} here, beyond the limit of 2^53",
                "too large",
                "counts must stay below 2^53, so that every JSON reader gets them exactly",
            )
    return None


def _plain(shape) -> bool:
    """Every size from 1 to MAX_INT: a shape the checks after a kind's infer() have nothing to say about."""
    try:
        return min(shape) >= 1 and max(shape) <= MAX_INT
    except (TypeError, ValueError):  # sizes that do not compare, or none at all: the checks decide
        return False


def _axes_order(along, count: int) -> tuple | None:
    """The input spatial axis each spatial dim of a tensor runs along, when those dims are the input's
    `count` axes, one each, in some order (provenance's dims: `along` is the tensor's, its channel dim first);
    else None."""
    if along is None or len(along) != count + 1:
        return None
    order = tuple(dim[0] if len(dim) == 1 else None for dim in along[1:])
    return order if None not in order and sorted(order) == list(range(count)) else None


def _merged_field(fields, shapes, output) -> tuple:
    """Per spatial axis (receptive field, jump) of a merge's output.

    Each output position sees every input's field; but an input broadcast along an
    axis (size 1 there, a squeeze-and-excitation gate) is the same value at every
    position, so its jump (a global pool's: the whole input) moves nothing: the jump
    is the other inputs'. The widest field wins either way.
    """
    state = []
    for axis, per_input in enumerate(zip(*(f[0] for f in fields))):
        size = output[axis + 1] if output is not None and axis + 1 < len(output) else None
        moving = [
            rj
            for rj, shape in zip(per_input, shapes)
            if not (size != 1 and axis + 1 < len(shape) and shape[axis + 1] == 1 and type(size) is int)
        ]
        jumps = [j for _, j in (moving or per_input)]
        state.append((max(r for r, _ in per_input), max(jumps)))
    return tuple(state)


def _field(state: tuple, whole: tuple | None = None, reads: tuple | None = None) -> tuple:
    """(state, receptive field, effective stride, whole, reads): state per spatial axis (receptive
    field, jump), then each as LayerInfo gives it (the field rounded up where upsampling made it
    fractional); per axis, whether every output position sees the whole network input there (a global
    pool of a tensor that read every row, directly or through a merge: a squeeze-and-excitation gate),
    and whether every input row reaches some position of this tensor (no stride skipped it, no last
    window left it out, no crop cut it off). Where unsure: False."""
    n = len(state)
    return (
        state,
        tuple([math.ceil(r) for r, _ in state]),
        tuple([j if type(j) is int else Fraction(j) for _, j in state]),
        whole if whole is not None and len(whole) == n else (False,) * n,
        reads if reads is not None and len(reads) == n else (False,) * n,
    )


def _whole(value):
    """An integral Fraction as an int (ints multiply many times faster); anything else as it is."""
    if type(value) is Fraction and value.denominator == 1:
        return value.numerator
    return value


def _dedupe(found: list[Diagnostic]) -> list[Diagnostic]:
    """A block used many times with the same mistake: one diagnostic, with a count."""
    seen: dict[tuple, int] = {}
    out: list[Diagnostic] = []
    counts: dict[int, int] = {}
    for diag in found:
        key = (diag.code.code, diag.span, diag.message)
        if key in seen:
            counts[seen[key]] = counts.get(seen[key], 0) + 1
            continue
        seen[key] = len(out)
        out.append(diag)
    for index, extra in counts.items():
        d = out[index]
        out[index] = replace(
            d, notes=(*d.notes, f"the same in {extra} more layer{'s' if extra != 1 else ''} made from this line")
        )
    return out


__all__ = ["analyze"]
