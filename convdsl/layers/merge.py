"""Layers that combine or split tensors: add, mul, concat, chunk, split."""

from __future__ import annotations

from .. import diagnostics as codes
from .ops import Function, NotGeneric
from .pyexpr import Lit
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


def _dim(args) -> str:
    """`dim=2` for diagrams, nothing for the channels (dim 1, the default)."""
    return "" if args["dim"] == 1 else f"dim={args['dim']}"


class _Broadcast(LayerKind):
    family = "merge"
    variadic = True

    def infer(self, args, inputs, ctx):
        ndim = max(len(s) for s in inputs)
        for shape in inputs:
            if len(shape) != ndim:
                # with the batch axis in front, a shorter tensor would be matched against the batch
                wider = next(s for s in inputs if len(s) == ndim)
                fitted = tuple(shape) + (1,) * (ndim - len(shape))  # its own sizes first, then 1s to broadcast
                raise ShapeError(
                    codes.MERGE_MISMATCH,
                    f"{self.name} of tensors with different ranks: {fmt_shape(wider)} and {fmt_shape(shape)}",
                    "ranks differ",
                    f"reshape the {fmt_shape(shape)} tensor to {len(fitted)} axes first: "
                    f"`-> reshape(({', '.join(map(str, fitted))}))`",
                )
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
                    "sizes must be equal, or 1 to broadcast",
                    ports=(first, other),
                    axis=axis,
                )
            out.append(wide.pop() if wide else 1)
        return Inferred(outputs=(tuple(out),))


class Add(_Broadcast):
    name = "add"
    aliases = ("sum",)
    summary = "elementwise sum (with broadcasting), e.g. a residual connection"

    def to_torch(self, args, inputs, ctx):
        return Function(lambda xs: " + ".join(xs))


class Mul(_Broadcast):
    name = "mul"
    aliases = ("multiply",)
    summary = "elementwise product (with broadcasting), e.g. squeeze-and-excitation"

    def to_torch(self, args, inputs, ctx):
        return Function(lambda xs: " * ".join(xs))


class Concat(LayerKind):
    name = "concat"
    aliases = ("cat",)
    family = "merge"
    variadic = True
    summary = "join tensors along an axis (dim counts the batch as 0; default 1, the channels)"
    args = (Arg("dim", "int", 1, positional=False, aliases=("axis",)),)

    def describe(self, args):
        return _dim(args)

    def infer(self, args, inputs, ctx):
        ndim = len(inputs[0])
        for i, s in enumerate(inputs[1:], 1):
            if len(s) != ndim:
                raise ShapeError(
                    codes.MERGE_MISMATCH,
                    f"concat of tensors with different ranks: {fmt_shape(inputs[0])} and {fmt_shape(s)}",
                    "ranks differ",
                )
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
                        f"{sizes[0]} vs {x}",
                        "all axes but the joined one must be equal; crop or pad one side",
                        ports=(0, i),
                        axis=other,
                    )
        out = list(inputs[0])
        out[axis] = sum(s[axis] for s in inputs)
        return Inferred(outputs=(tuple(out),))

    def to_torch(self, args, inputs, ctx):
        dim = args["dim"].known()
        channels = None
        if _dim_index(dim, len(inputs[0]), "dim") == 0:
            channels = inputs[0][0]
            for shape in inputs[1:]:
                channels = channels + shape[0]
        return Function(lambda xs: f"torch.cat([{', '.join(xs)}], dim={dim})", channels=(channels,))


def _value(size) -> int:
    """A size as a number: itself, or a symbolic size's value at the sample (symbolic.Expr)."""
    return size if isinstance(size, int) else size.value


def _parts(shape, axis: int, sizes) -> tuple:
    """The shapes of `shape` cut along `axis` into pieces of the given sizes."""
    return tuple((*shape[:axis], size, *shape[axis + 1 :]) for size in sizes)


# Each part of a chunk is a tensor of its own, and lowering makes one output per part before
# shapes are known: `chunk(10**9)` must fail at once, not allocate a billion outputs.
MAX_CHUNKS = 4096


class Chunk(LayerKind):
    name = "chunk"
    drops_rows = True  # some input rows may reach no output (see LayerKind.drops_rows)
    family = "merge"
    summary = "split into n parts along an axis, as torch.chunk (several outputs)"
    args = (Arg("chunks", "int", aliases=("n",)), Arg("dim", "int", 1, positional=False, aliases=("axis",)))

    def describe(self, args):
        return ", ".join(part for part in (str(args["chunks"]), _dim(args)) if part)

    def output_count(self, args):
        return args["chunks"] if 1 <= args["chunks"] <= MAX_CHUNKS else 1  # infer() reports the bad count

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        axis = _dim_index(args["dim"], len(shape), "dim")
        n, size = args["chunks"], shape[axis]
        if not 1 <= n <= MAX_CHUNKS:
            raise ShapeError(
                codes.ARGUMENT_TYPE,
                f"chunks must be from 1 to {MAX_CHUNKS:,}, got {n}",
                "number of parts",
                arg="chunks",
            )
        # torch.chunk: parts of ceil(size/n), the last one smaller; fewer than n parts if that runs out
        step = -(-size // n)
        # how many parts there are is decided at the size itself (for a symbolic size, at its sample,
        # as every comparison is: `sizes` checks each value); each part's size is an expression
        count = -(-_value(size) // _value(step))
        sizes = [step] * (count - 1) + [size - (count - 1) * step]
        if count != n:
            raise ShapeError(
                codes.INVALID_RESHAPE,
                f"chunk({n}) of {size} gives {len(sizes)} parts, not {n} (torch.chunk uses parts of {step})",
                f"{len(sizes)} parts",
                "use split with explicit sizes",
                arg="chunks",
            )
        return Inferred(outputs=_parts(shape, axis, sizes))

    def to_torch(self, args, inputs, ctx):
        n, dim = args["chunks"].known(), args["dim"].known()
        channels = (None,) * n
        if _dim_index(dim, len(inputs[0]), "dim") == 0:
            c = inputs[0][0]
            if c.static and not isinstance(c.known(), int):
                pass  # a count that depends on a symbolic input size: the parts' counts are not numbers either
            elif c.static:
                step = -(-c.known() // n)
                channels = tuple(Lit(min(step, c.known() - start)) for start in range(0, c.known(), step))
            elif all(c.sample(i) % n == 0 for i in ctx.uses):
                channels = (c // n,) * n
            else:
                raise NotGeneric(f"chunk({n}) splits {c.src()} channels unevenly in some uses")
        return Function(lambda xs: f"{xs[0]}.chunk({n}, dim={dim})", outputs=n, channels=channels)


class Split(LayerKind):
    name = "split"
    drops_rows = True  # some input rows may reach no output (see LayerKind.drops_rows)
    family = "merge"
    summary = "split into parts of given sizes along an axis (several outputs)"
    args = (Arg("sizes", "dims"), Arg("dim", "int", 1, positional=False, aliases=("axis",)))

    def describe(self, args):
        return ", ".join(part for part in ("/".join(map(str, args["sizes"])), _dim(args)) if part)

    def output_count(self, args):
        return max(1, len(args["sizes"]))

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        axis = _dim_index(args["dim"], len(shape), "dim")
        sizes = args["sizes"]
        if any(s < 1 for s in sizes) or sum(sizes) != shape[axis]:
            raise ShapeError(
                codes.INVALID_RESHAPE,
                f"split sizes {tuple(sizes)} add up to {sum(sizes)}, but the axis has {shape[axis]}",
                "sizes",
                "the sizes must add up to the axis",
                arg="sizes",
            )
        return Inferred(outputs=_parts(shape, axis, sizes))

    def to_torch(self, args, inputs, ctx):
        sizes, dim = args["sizes"].known(), args["dim"].known()
        channels = tuple(map(Lit, sizes)) if _dim_index(dim, len(inputs[0]), "dim") == 0 else (None,) * len(sizes)
        return Function(
            lambda xs: f"{xs[0]}.split({Lit(list(sizes)).src()}, dim={dim})", outputs=len(sizes), channels=channels
        )
