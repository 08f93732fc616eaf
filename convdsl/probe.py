"""Ask "does the network accept these input sizes?" many times, quickly.

A Probe runs the catalogue's own shape rules (the same `LayerKind.infer` the
full inference uses, so the two cannot disagree) but skips what a yes/no
answer does not need: receptive fields, diagnostics objects, provenance. It
stops at the first error. `convdsl sizes`, symbolic inputs and the "nearest
input sizes" hint all sweep input sizes through it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .cancel import checkpoint
from .diagnostics import Severity
from .layers import KINDS, InferContext, ShapeError
from .walk import declared_batch, rank_problem, topological_order, wiring

if TYPE_CHECKING:  # for annotations only: the Network sits above this module
    from .network import Network


@dataclass(frozen=True)
class Failure:
    """Why a size is rejected: the first layer that reports an error."""

    node: str
    code: str
    message: str


class _Stop(Exception):
    def __init__(self, code: str, message: str):
        self.code, self.message = code, message


@dataclass(frozen=True)
class _Step:
    node: str
    kind: object
    args: dict
    sources: tuple[tuple[str, int], ...]
    ctx: InferContext
    written: str
    outputs: int
    key: object  # equal for layers with equal kind and arguments, so their results can be shared


def _hashable(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    hash(value)
    return value


def _step_key(node, written, args, ctx):
    try:
        return (written, _hashable(args), ctx.explicit, ctx.next_kinds)
    except TypeError:  # an argument that cannot be hashed: this layer is its own key
        return node


def _raise_on_error(code, message, label="", help=None, arg=None, severity=None, fixes=(), axis=None):
    if (severity or code.severity) is Severity.ERROR:
        raise _Stop(code.code, message)


class Probe:
    """The network's shape rules as a function of its input shapes."""

    def __init__(self, network: Network, *, strict: bool = False):
        self.network = network
        graph = network.layer_graph
        self.usable = not network.has_errors
        self.steps: list[_Step] = []
        sources, consumers = wiring(graph)
        batch = declared_batch(network)
        for node in topological_order(graph):
            data = graph.nodes[node]
            if data.kind in ("input", "output"):
                continue
            if data.incomplete:
                self.usable = False
            kind = KINDS[data.written]
            ctx = InferContext(
                network.settings.rounding, strict, data.explicit, _raise_on_error, consumers.get(node, ()), batch=batch
            )
            self.steps.append(
                _Step(
                    node,
                    kind,
                    data.args,
                    tuple(sources.get(node, ())),
                    ctx,
                    data.written,
                    kind.output_count(data.args),
                    _step_key(node, data.written, data.args, ctx),
                )
            )
        self._memo: dict[tuple, object] = {}
        # equal keys become one small int, so memo lookups do not re-hash argument tuples
        ids: dict = {}
        self.steps = [replace(step, key=ids.setdefault(step.key, len(ids))) for step in self.steps]
        self.inputs = list(network.inputs)

    def run(self, dims: dict[str, tuple], shapes: dict | None = None) -> Failure | None:
        """None when every layer accepts `dims` (input name -> (C, *spatial)), else the first failure.

        `shapes`, when given, receives every (node, port) -> shape computed.
        """
        return self.run_steps(dims, {}, range(len(self.steps)), shapes)

    @staticmethod
    def _step(step, inputs, shapes) -> Failure | None:
        problem = rank_problem(step.kind, step.written, inputs)
        if problem:
            return Failure(step.node, "E111", problem[0])
        step.ctx.extra.clear()
        try:
            result = step.kind.infer(step.args, inputs, step.ctx)
        except _Stop as stop:
            return Failure(step.node, stop.code, stop.message)
        except ShapeError as err:
            return Failure(step.node, err.code.code if err.code else "E008", err.message)
        for port, shape in enumerate(result.outputs):
            if shape is None or any(d < 1 for d in shape):
                return Failure(step.node, "E105", "an output size is below 1")
            shapes[(step.node, port)] = shape
        return None

    def downstream(self, inputs) -> tuple[int, ...]:
        """The indices of the steps that read, directly or not, any of these inputs (names), in order."""
        reached = set(inputs)
        found = []
        for index, step in enumerate(self.steps):
            if any(source in reached for source, _ in step.sources):
                reached.add(step.node)
                found.append(index)
        return tuple(found)

    def run_steps(self, dims: dict[str, tuple], base: dict, indices, shapes: dict | None = None) -> Failure | None:
        """As run, when only the steps `indices` can differ from a run that passed and gave `base`.

        Every other step reads what it read in that run, so it passes again with the same shapes: only
        the steps downstream of the inputs that changed are run (a network of twenty input towers is
        swept one tower at a time). `shapes` receives the shapes these steps computed.
        """
        checkpoint()  # each run of the layers: a sweep of an editor's stale version stops here (cancel.py)
        local = {} if shapes is None else shapes
        local.update({(name, 0): tuple(shape) for name, shape in dims.items()})
        memo = self._memo
        for index in indices:
            step = self.steps[index]
            inputs = [local[s] if s in local else base[s] for s in step.sources]
            if not inputs and step.kind.takes_input:
                return Failure(step.node, "E018", "the layer has no input")
            key = (step.key, *inputs)
            known = memo.get(key)
            if known is not None:
                if isinstance(known, Failure):
                    return Failure(step.node, known.code, known.message)
                for port, shape in enumerate(known):
                    local[(step.node, port)] = shape
                continue
            failure = self._step(step, inputs, local)
            memo[key] = failure or tuple(local[(step.node, port)] for port in range(step.outputs))
            # a failure is remembered without its node: the same layer elsewhere fails the same way
            if failure:
                return failure
        return None

    def accepts(self, dims: dict[str, tuple]) -> bool:
        return self.run(dims) is None
