"""Shape inference: walks the graph once, asks the catalogue about each layer,
and returns an Analysis. After an error a layer's outputs are unknown, so one
mistake gives one diagnostic, not a cascade."""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from . import diagnostics as codes
from .diagnostics import Diagnostic, Severity
from .layers import KINDS, InferContext, ShapeError
from .layers.base import fmt_shape, prod
from .layers.merge import MergeError, axis_label
from .network import Network, topological_order

BYTES_PER_VALUE = 4  # float32


@dataclass(frozen=True)
class LayerInfo:
    name: str
    kind: str
    input_shapes: tuple
    output_shapes: tuple  # one per output; None where unknown
    params: int
    buffers: int
    macs: int
    receptive_field: tuple[int, ...] | None  # per spatial axis of the network input
    effective_stride: tuple[Fraction, ...] | None

    @property
    def output_shape(self):
        return self.output_shapes[0] if self.output_shapes else None

    @property
    def activations(self) -> int:
        """Values this layer writes (batch of 1)."""
        return sum(prod(s) for s in self.output_shapes if s is not None)


@dataclass
class Analysis:
    network: Network
    layers: dict[str, LayerInfo]
    shapes: dict[tuple[str, int], tuple | None]  # (node, output port) -> shape
    diagnostics: tuple[Diagnostic, ...]
    strict: bool

    @property
    def params(self) -> int:
        return sum(info.params for info in self.layers.values())

    @property
    def buffers(self) -> int:
        return sum(info.buffers for info in self.layers.values())

    @property
    def macs(self) -> int:
        return sum(info.macs for info in self.layers.values())

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    def input_shapes(self) -> dict[str, tuple]:
        return {name: spec.dims for name, spec in self.network.inputs.items()}

    def output_shapes(self) -> dict[str, tuple | None]:
        graph = self.network.graph
        out = {}
        for name in self.network.outputs:
            node = f"output:{name}"
            edges = list(graph.in_edges(node, data=True))
            out[name] = self.shapes.get((edges[0][0], edges[0][2]["src_port"])) if edges else None
        return out


def analyze(network: Network, *, strict: bool = False) -> Analysis:
    return _Inference(network, strict).run()


class _Inference:
    def __init__(self, network: Network, strict: bool):
        self.network = network
        self.graph = network.graph
        self.strict = strict
        self.rounding = network.settings.rounding
        self.shapes: dict[tuple[str, int], tuple | None] = {}
        self.rf: dict[tuple[str, int], tuple | None] = {}
        self.rounded: dict[str, dict[int, str]] = {}  # node -> shape axis -> arithmetic, for provenance
        self.layers: dict[str, LayerInfo] = {}
        self.found: list[Diagnostic] = []

    def run(self) -> Analysis:
        graph = self.graph
        cyclic = any(d.code is codes.CYCLE for d in self.network.diagnostics)
        for node in ([] if cyclic else topological_order(graph)):
            data = graph.nodes[node]
            kind = data["kind"]
            if kind == "input":
                dims = data["args"]["shape"]
                known = all(isinstance(d, int) for d in dims)
                self.shapes[(node, 0)] = tuple(dims) if known else None
                self.rf[(node, 0)] = tuple((Fraction(1), Fraction(1)) for _ in dims[1:]) if known else None
            elif kind == "output":
                continue
            else:
                self._layer(node, data)
        diagnostics = sorted((*self.network.diagnostics, *_dedupe(self.found)), key=Diagnostic.sort_key)
        return Analysis(self.network, self.layers, self.shapes, tuple(diagnostics), self.strict)

    def _inputs(self, node):
        edges = sorted(self.graph.in_edges(node, data=True), key=lambda e: e[2]["port"])
        return [(src, data["src_port"]) for src, _, data in edges]

    def _layer(self, node: str, data: dict) -> None:
        kind = KINDS[data["written"]]
        sources = self._inputs(node)
        shapes = [self.shapes.get(s) for s in sources]
        outputs_count = kind.output_count(data["args"])
        unknown = tuple(None for _ in range(outputs_count))
        result = None
        if not data.get("incomplete") and all(s is not None for s in shapes) and shapes:
            result = self._infer(node, data, kind, shapes, sources)
        outputs = result.outputs if result is not None else unknown
        for port, shape in enumerate(outputs):
            self.shapes[(node, port)] = shape
        rf = self._receptive_field(result, sources, shapes)
        for port in range(len(outputs)):
            self.rf[(node, port)] = rf
        self.layers[node] = LayerInfo(
            name=node, kind=kind.name, input_shapes=tuple(shapes), output_shapes=tuple(outputs),
            params=result.params if result else 0, buffers=result.buffers if result else 0,
            macs=result.macs if result else 0,
            receptive_field=tuple(math.ceil(r) for r, _ in rf) if rf is not None else None,
            effective_stride=tuple(j for _, j in rf) if rf is not None else None,
        )

    def _infer(self, node, data, kind, shapes, sources):
        spans = data.get("arg_spans", {})

        def report(code, message, label="", help=None, arg=None, severity=None):
            span = spans.get(arg, data["span"]) if arg else data["span"]
            notes = (f"in layer `{node}`",) if data["block_path"] else ()
            self.found.append(Diagnostic(code, span, message, label, help, notes, severity))

        for shape in shapes[:1] if not kind.variadic else shapes:
            spatial = len(shape) - 1
            if (kind.rank is not None and spatial != kind.rank) or spatial < kind.min_rank:
                want = kind.rank if kind.rank is not None else kind.min_rank
                layout = {0: "C", 1: "C x L", 2: "C x H x W", 3: "C x D x H x W"}.get(want, "")
                report(codes.RANK_MISMATCH,
                       f"{data['written']} needs {'at least ' if kind.rank is None else ''}{want} spatial "
                       f"ax{'is' if want == 1 else 'es'} ({layout}), got a {fmt_shape(shape)} tensor",
                       f"{spatial} spatial ax{'is' if spatial == 1 else 'es'}",
                       "flatten happens too early, or the layer's dimension is wrong" if spatial < want else None)
                return None
        next_kinds = tuple(self.graph.nodes[s]["kind"] for s in self.graph.successors(node)
                           if self.graph.nodes[s]["kind"] != "output")
        ctx = InferContext(self.rounding, self.strict, data.get("explicit", frozenset()), report, next_kinds)
        try:
            result = kind.infer(data["args"], shapes, ctx)
        except MergeError as err:
            notes = self._provenance(node, sources, err.ports, err.axis)
            report(err.code, err.message, err.label, err.help)
            if notes:
                last = self.found.pop()
                self.found.append(Diagnostic(last.code, last.span, last.message, last.label, last.help,
                                             (*last.notes, *notes), last.severity))
            return None
        except ShapeError as err:
            report(err.code or codes.ARGUMENT_TYPE, err.message, err.label, err.help, err.arg)
            return None
        rounded = ctx.extra.get("rounded")
        if rounded:
            self.rounded[node] = rounded
        for shape in result.outputs:
            if shape is not None and any(d < 1 for d in shape):
                report(codes.NON_POSITIVE_SIZE, f"the output shape {fmt_shape(shape)} has a size below 1",
                       "empty output", "the input is too small for this layer")
                return None
        return result

    def _receptive_field(self, result, sources, shapes):
        states = [self.rf.get(s) for s in sources]
        if result is None or not states or any(s is None for s in states):
            return None
        # merges: the widest view of their inputs
        state = tuple(max(axis) for axis in zip(*states)) if len(states) > 1 else states[0]
        rf = result.rf
        if rf is None:
            return state
        if rf.whole:
            spatial = shapes[0][1:]
            if len(spatial) != len(state):
                return state
            return tuple((r + (size - 1) * j, j * size) for (r, j), size in zip(state, spatial))
        if len(rf.windows) != len(state):
            return state
        return tuple((r + (k - 1) * j, j * s) for (r, j), (k, s) in zip(state, rf.windows))

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
            preds = self._inputs(node) if self.graph.nodes[node]["kind"] != "input" else []
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
        out[index] = Diagnostic(d.code, d.span, d.message, d.label, d.help,
                                (*d.notes, f"the same in {extra} more layer{'s' if extra != 1 else ''} made from this line"),
                                d.severity)
    return out


__all__ = ["Analysis", "LayerInfo", "analyze", "Severity"]
