"""Layers that combine or split tensors: add, mul, concat, chunk, split."""
from __future__ import annotations

from .. import diagnostics as codes
from .base import Arg, Inferred, LayerKind, ShapeError, fmt_shape
from .dense import _dim_index
from .window import axis_word


class MergeError(ShapeError):
    """A merge whose inputs disagree on one axis; inference adds where they diverged."""

    def __init__(self, message, label, help, *, ports, axis):
        super().__init__(codes.MERGE_MISMATCH, message, label, help)
        self.ports, self.axis = ports, axis


def axis_label(index: int, ndim: int) -> str:
    """'channels', 'height', ... for an index into a shape without the batch."""
    return "channels" if index == 0 else axis_word(ndim - 1, index - 1)


class _Broadcast(LayerKind):
    family = "merge"
    variadic = True

    def infer(self, args, inputs, ctx):
        ndim = max(len(s) for s in inputs)
        for shape in inputs:
            if len(shape) != ndim:
                # with the batch axis in front, a shorter tensor would be matched against the batch
                raise ShapeError(codes.MERGE_MISMATCH,
                                 f"{self.name} of tensors with different ranks: "
                                 f"{fmt_shape(inputs[0])} and {fmt_shape(shape)}",
                                 "ranks differ", "reshape the smaller one, e.g. `reshape(C, 1, 1)`")
        padded = [tuple(s) for s in inputs]
        out = []
        for axis in range(ndim):
            sizes = [s[axis] for s in padded]
            wide = {x for x in sizes if x != 1}
            if len(wide) > 1:
                first = next(i for i, x in enumerate(sizes) if x != 1)
                other = next(i for i, x in enumerate(sizes) if x != 1 and x != sizes[first])
                raise MergeError(
                    f"{self.name} of tensors with different {axis_label(axis, ndim)}: "
                    f"{fmt_shape(inputs[first])} and {fmt_shape(inputs[other])}",
                    f"{sizes[first]} vs {sizes[other]}",
                    "sizes must be equal, or 1 to broadcast", ports=(first, other), axis=axis)
            out.append(wide.pop() if wide else 1)
        return Inferred(outputs=(tuple(out),))


class Add(_Broadcast):
    name = "add"
    aliases = ("sum",)
    summary = "elementwise sum (with broadcasting), e.g. a residual connection"


class Mul(_Broadcast):
    name = "mul"
    aliases = ("multiply",)
    summary = "elementwise product (with broadcasting), e.g. squeeze-and-excitation"


class Concat(LayerKind):
    name = "concat"
    aliases = ("cat",)
    family = "merge"
    variadic = True
    summary = "join tensors along an axis (dim counts the batch as 0; default 1, the channels)"
    args = (Arg("dim", "int", 1, positional=False, aliases=("axis",)),)

    def infer(self, args, inputs, ctx):
        ndim = len(inputs[0])
        for i, s in enumerate(inputs[1:], 1):
            if len(s) != ndim:
                raise ShapeError(codes.MERGE_MISMATCH,
                                 f"concat of tensors with different ranks: {fmt_shape(inputs[0])} and {fmt_shape(s)}",
                                 "ranks differ")
        axis = _dim_index(args["dim"], ndim, "dim")
        for other in range(ndim):
            if other == axis:
                continue
            sizes = [s[other] for s in inputs]
            for i, x in enumerate(sizes[1:], 1):
                if x != sizes[0]:
                    raise MergeError(
                        f"concat along {axis_label(axis, ndim)} of tensors with different "
                        f"{axis_label(other, ndim)}: {fmt_shape(inputs[0])} and {fmt_shape(inputs[i])}",
                        f"{sizes[0]} vs {x}", "all axes but the joined one must be equal; crop or pad one side",
                        ports=(0, i), axis=other)
        out = list(inputs[0])
        out[axis] = sum(s[axis] for s in inputs)
        return Inferred(outputs=(tuple(out),))


def _parts(shape, axis: int, sizes) -> tuple:
    """The shapes of `shape` cut along `axis` into pieces of the given sizes."""
    return tuple((*shape[:axis], size, *shape[axis + 1:]) for size in sizes)


class Chunk(LayerKind):
    name = "chunk"
    family = "merge"
    summary = "split into n parts along an axis, as torch.chunk (several outputs)"
    args = (Arg("chunks", "int", aliases=("n",)), Arg("dim", "int", 1, positional=False, aliases=("axis",)))

    def output_count(self, args):
        return max(1, args["chunks"])

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        axis = _dim_index(args["dim"], len(shape), "dim")
        n, size = args["chunks"], shape[axis]
        # torch.chunk: parts of ceil(size/n), the last one smaller; fewer than n parts if that runs out
        step = -(-size // n) if n >= 1 else 0
        sizes = [min(step, size - start) for start in range(0, size, step)] if step else []
        if len(sizes) != n:
            raise ShapeError(codes.INVALID_RESHAPE,
                             f"chunk({n}) of {size} gives {len(sizes)} parts, not {n} (torch.chunk uses parts of "
                             f"{step})", f"{len(sizes)} parts", "use split with explicit sizes", arg="chunks")
        return Inferred(outputs=_parts(shape, axis, sizes))


class Split(LayerKind):
    name = "split"
    family = "merge"
    summary = "split into parts of given sizes along an axis (several outputs)"
    args = (Arg("sizes", "dims"), Arg("dim", "int", 1, positional=False, aliases=("axis",)))

    def output_count(self, args):
        return max(1, len(args["sizes"]))

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        axis = _dim_index(args["dim"], len(shape), "dim")
        sizes = args["sizes"]
        if any(s < 1 for s in sizes) or sum(sizes) != shape[axis]:
            raise ShapeError(codes.INVALID_RESHAPE,
                             f"split sizes {tuple(sizes)} add up to {sum(sizes)}, but the axis has {shape[axis]}",
                             "sizes", "the sizes must add up to the axis", arg="sizes")
        return Inferred(outputs=_parts(shape, axis, sizes))
