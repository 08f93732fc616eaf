"""Shapes during lowering, for `in.shape[d]`: the catalogue's own shape rules run on the layers made so far.

A block's arguments may read the shape of its input (or of a tensor computed
before, in the block). Lowering has made the layers that compute it, so their
shapes are inferred here, each layer once (memoised), with the same
`LayerKind.infer` the full inference runs, without recursion (a chain of
100,000 layers is a loop, not 100,000 frames). A layer that fails here fails
again in inference, which reports it: here the shape is only unknown.
"""

from __future__ import annotations

from .. import diagnostics as codes
from ..evaluate import AlreadyReported, EvalError
from ..layers import KINDS, InferContext, ShapeError
from ..model import TensorRef
from ..network import ShapeRead
from ..walk import rank_problem
from .state import _Deferred

_UNKNOWN = None


def _ignore(*args, **kwargs):
    """Lint and warnings of a layer, while its shape is read early: inference reports them, once."""


class Shapes:
    """Lowering's early shapes, as a mixin."""

    def _shape_reader(self, tensors: dict):
        """A reader for evaluate's SHAPES: (tensor name) -> ((sizes without the batch), batch)."""

        def read(ident):
            name = ident.id
            entry = tensors.get(name)
            if entry is None:
                raise EvalError(
                    codes.UNDEFINED_NAME,
                    f"`{name}` is not a tensor of this block (or not computed yet where its shape is read)",
                    ident.span,
                    "no such tensor here",
                    "read `in.shape[d]`, a tensor parameter's, or a tensor the block computes on an earlier line",
                )
            value = entry[0]
            if value is None:  # its definition failed, and was reported
                raise AlreadyReported(codes.UNDEFINED_NAME, f"`{name}` failed", ident.span)
            producer = self._resolve(value)
            if producer is None:
                if isinstance(value, _Deferred):
                    raise EvalError(
                        codes.UNDEFINED_NAME,
                        f"the shape of `{name}` is read before `{value.name}` is computed",
                        ident.span,
                        "not computed yet",
                        f"define `{value.name}` on a line before the one that uses this block",
                    )
                raise AlreadyReported(codes.UNDEFINED_NAME, f"`{name}` is unknown", ident.span)
            shape = self._early_shape(producer)
            if shape is _UNKNOWN:
                # an error upstream (reported by inference), or a symbolic size the early rules cannot follow
                symbols = self._symbolic_inputs()
                if symbols:
                    raise EvalError(
                        codes.INVALID_EXPRESSION,
                        f"the shape of `{name}` depends on the symbolic input size "
                        f"{', '.join(f'`{s}`' for s in symbols)}",
                        ident.span,
                        "shape not known as numbers",
                        "`.shape` needs numbers: declare the input with numbers (`convdsl sizes` sweeps them)",
                    )
                raise AlreadyReported(codes.INVALID_EXPRESSION, f"the shape of `{name}` is unknown", ident.span)
            return shape, self._early_batch()

        def noted(ident, dim, value):
            ref = self._resolve(tensors[ident.id][0])
            self.shape_reads.append(ShapeRead(ref.node, ref.port, dim, value, len(self.graph.nodes)))

        read.noted = noted
        return read

    def _symbolic_inputs(self) -> list[str]:
        return sorted({d for spec in self.inputs.values() for d in spec.dims if isinstance(d, str)})

    def _early_batch(self):
        batches = {spec.batch for spec in self.inputs.values()} - {None}
        if not batches:
            return 1
        return next(iter(batches)) if len(batches) == 1 else None

    def _early_shape(self, ref: TensorRef):
        memo = self.early_shapes
        key = (ref.node, ref.port)
        if key in memo:
            return memo[key]
        # the edges made since the last request, indexed by the node they feed
        inputs = self.early_inputs
        edges = self.pending_edges
        while self.early_indexed < len(edges):
            value, node, port = edges[self.early_indexed]
            inputs.setdefault(node, []).append((port, value))
            self.early_indexed += 1
        stack, visiting = [ref.node], set()
        while stack:
            node = stack[-1]
            if (node, 0) in memo:
                stack.pop()
                continue
            sources = self._early_sources(node, inputs)
            waiting = [s.node for s in sources if s is not None and (s.node, 0) not in memo]
            if waiting and node not in visiting:
                visiting.add(node)
                stack.extend(waiting)
                continue
            stack.pop()
            self._early_infer(node, sources, waiting)
        return memo.get(key, _UNKNOWN)

    def _early_sources(self, node, inputs) -> list:
        data = self.graph.nodes[node]
        if data.kind == "input":
            return []
        ports = sorted(inputs.get(node, []), key=lambda item: item[0])
        return [self._resolve(value) for _, value in ports]

    def _early_infer(self, node, sources, waiting) -> None:
        memo = self.early_shapes
        data = self.graph.nodes[node]
        if data.kind == "input":
            dims = tuple(data.args["shape"])
            memo[(node, 0)] = dims if all(isinstance(d, int) for d in dims) else _UNKNOWN
            return
        kind = KINDS[data.written]
        count = kind.output_count(data.args)
        outputs = (_UNKNOWN,) * count
        shapes = [memo.get((s.node, s.port), _UNKNOWN) if s is not None else _UNKNOWN for s in sources]
        ready = not waiting and not data.incomplete and _UNKNOWN not in shapes and (shapes or not kind.takes_input)
        if ready and not rank_problem(kind, data.written, shapes):
            ctx = InferContext(self.settings.rounding, False, data.explicit, _ignore, (), batch=self._early_batch())
            try:
                outputs = tuple(kind.infer(data.args, shapes, ctx).outputs)
            except (ShapeError, ArithmeticError, TypeError, ValueError):
                pass  # inference reports it
        for port in range(count):
            memo[(node, port)] = outputs[port] if port < len(outputs) else _UNKNOWN
        if count == 0:
            memo[(node, 0)] = _UNKNOWN
