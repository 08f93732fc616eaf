"""Layers that move values between axes without computing: permute, transpose,
unflatten, select, roll, pixel_unshuffle, channel_shuffle, and the embedding lookup.

Dims are PyTorch's, counting the batch as 0 (as flatten's and chunk's are), so
`permute(0, 2, 3, 1)` reads as in torchvision's ConvNeXt and Swin code.
"""

from __future__ import annotations

from .. import diagnostics as codes
from .ops import Function, Module
from .pyexpr import Lit
from .base import RF, Arg, Inferred, LayerKind, ShapeError, fmt_shape, prod
from .dense import _dim_index, resolve_sizes

MAX_PERMUTE_DIMS = 8  # torch tensors of more than a few axes are not written by hand


def _permutation(args, ndim: int) -> tuple[int, ...]:
    """The permutation written as permute(0, 2, 3, 1) or dims=(0, 2, 3, 1), over dims with the batch."""
    given = args.get("dims")
    positional = tuple(args[f"d{i}"] for i in range(MAX_PERMUTE_DIMS) if args.get(f"d{i}") is not None)
    if given is not None and positional:
        raise ShapeError(
            codes.DUPLICATE_DEFINITION,
            "permute's dims are given twice",
            "dims",
            "write them either as `permute(0, 2, 3, 1)` or as `dims=(0, 2, 3, 1)`",
            arg="dims",
        )
    dims = tuple(given) if given is not None else positional
    full = ndim + 1
    if len(dims) != full:
        raise ShapeError(
            codes.ARGUMENT_TYPE,
            f"permute needs one dim per axis of the tensor with its batch ({full}), got {len(dims)}",
            f"{len(dims)} dims",
            f"the input has {full} dims with its batch: give {full} dims, e.g. "
            f"`permute({', '.join(map(str, range(full)))})`",
        )
    normal = tuple(d + full if d < 0 else d for d in dims)
    if sorted(normal) != list(range(full)):
        raise ShapeError(
            codes.ARGUMENT_TYPE,
            f"permute({', '.join(map(str, dims))}) is not a permutation of 0..{full - 1}",
            "not a permutation",
            "give every dim once",
            arg="dims",
        )
    if normal[0] != 0:
        raise ShapeError(
            codes.ARGUMENT_TYPE,
            "permute must keep the batch as dim 0",
            f"dim {normal[0]} first",
            "start with 0: convdsl's tensors, and the export's, are batch-first",
        )
    return normal


class Permute(LayerKind):
    name = "permute"
    # every element kept: every row an input read reaches the output (a global pool after it claims the whole
    # input only where the dims are back in place: infer._receptive_field)
    family = "reshape"
    summary = "reorder axes, as torch.permute (dims count the batch as 0, which stays first)"
    args = (
        *(Arg(f"d{i}", "int", None, doc="a dim, in the new order") for i in range(MAX_PERMUTE_DIMS)),
        Arg("dims", "dims", None, positional=False),
    )

    def describe(self, args):
        dims = args.get("dims") or tuple(
            args[f"d{i}"] for i in range(MAX_PERMUTE_DIMS) if args.get(f"d{i}") is not None
        )
        return ", ".join(map(str, dims))

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        order = _permutation(args, len(shape))
        return Inferred(outputs=(tuple(shape[d - 1] for d in order[1:]),))

    def to_torch(self, args, inputs, ctx):
        shape = inputs[0]
        known = {name: value.known() for name, value in args.items()}
        order = _permutation(known, len(shape))
        text = ", ".join(map(str, order))
        return Function(lambda xs: f"{xs[0]}.permute({text})", channels=(shape[order[1] - 1],))


class Transpose(LayerKind):
    name = "transpose"
    # every element kept, as permute
    family = "reshape"
    summary = "swap two axes, as torch.transpose (dims count the batch as 0)"
    args = (Arg("dim0", "int"), Arg("dim1", "int"))

    def describe(self, args):
        return f"{args['dim0']}, {args['dim1']}"

    @staticmethod
    def _axes(args, ndim):
        a = _dim_index(args["dim0"], ndim, "dim0")
        b = _dim_index(args["dim1"], ndim, "dim1")
        return a, b

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        a, b = self._axes(args, len(shape))
        out = list(shape)
        out[a], out[b] = out[b], out[a]
        return Inferred(outputs=(tuple(out),))

    def to_torch(self, args, inputs, ctx):
        shape = inputs[0]
        d0, d1 = args["dim0"].known(), args["dim1"].known()
        a, b = self._axes({"dim0": d0, "dim1": d1}, len(shape))
        channels = shape[b] if a == 0 else shape[a] if b == 0 else None
        return Function(lambda xs: f"{xs[0]}.transpose({d0}, {d1})", channels=(channels,))


class Unflatten(LayerKind):
    name = "unflatten"
    drops_rows = True  # some input rows may reach no output (see LayerKind.drops_rows)
    family = "reshape"
    summary = "split one axis into several, as nn.Unflatten (dim counts the batch as 0; one size may be -1)"
    args = (Arg("dim", "int"), Arg("sizes", "dims", aliases=("unflattened_size",)))

    def describe(self, args):
        return f"dim {args['dim']} to {' x '.join(map(str, args['sizes']))}"

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        axis = _dim_index(args["dim"], len(shape), "dim")
        size = shape[axis]
        sizes = resolve_sizes(
            args["sizes"],
            size,
            verb="unflatten",
            source=f"an axis of {size} into",
            arg="sizes",
            help="the sizes must multiply to the axis",
            empty=False,
        )
        return Inferred(outputs=((*shape[:axis], *sizes, *shape[axis + 1 :]),))

    def to_torch(self, args, inputs, ctx):
        shape = inputs[0]
        dim, sizes = args["dim"].known(), args["sizes"].known()
        axis = _dim_index(dim, len(shape), "dim")
        channels = None
        if axis == 0:  # the first of the new axes becomes dim 1
            channels = Lit(sizes[0]) if sizes[0] != -1 else shape[0] // prod(s for s in sizes if s != -1)
        return Module("nn.Unflatten", (Lit(dim), Lit(tuple(sizes))), channels=channels)


class Select(LayerKind):
    name = "select"
    family = "reshape"
    summary = "one index of an axis, dropping the axis, as torch.select (x[:, 0] is select(1, 0))"
    args = (Arg("dim", "int"), Arg("index", "int"))

    def describe(self, args):
        return f"dim {args['dim']}, {args['index']}"

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        axis = _dim_index(args["dim"], len(shape), "dim")
        size, index = shape[axis], args["index"]
        if not -size <= index < size:
            raise ShapeError(
                codes.INVALID_RESHAPE,
                f"index {index} is out of range for an axis of {size}",
                f"index {index}",
                f"use an index from {-size} to {size - 1}",
                arg="index",
            )
        return Inferred(outputs=((*shape[:axis], *shape[axis + 1 :]),), rf=RF(whole=True))

    def to_torch(self, args, inputs, ctx):
        shape = inputs[0]
        dim, index = args["dim"].known(), args["index"].known()
        axis = _dim_index(dim, len(shape), "dim")
        channels = (shape[1] if len(shape) > 1 else None) if axis == 0 else None
        return Function(lambda xs: f"{xs[0]}.select({dim}, {index})", channels=(channels,))


class Roll(LayerKind):
    name = "roll"
    family = "reshape"
    summary = "shift values cyclically along axes, as torch.roll (dims count the batch as 0)"
    args = (Arg("shifts", "dims"), Arg("dims", "dims"))

    def describe(self, args):
        return f"{', '.join(map(str, args['shifts']))} on {', '.join(map(str, args['dims']))}"

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        shifts, dims = args["shifts"], args["dims"]
        if len(shifts) != len(dims):
            raise ShapeError(
                codes.ARGUMENT_TYPE,
                f"roll has {len(shifts)} shifts for {len(dims)} dims",
                "one shift per dim",
                arg="shifts",
            )
        for d in dims:
            _dim_index(d, len(shape), "dims")
        return Inferred(outputs=(shape,), rf=RF(whole=True))

    def to_torch(self, args, inputs, ctx):
        shifts, dims = args["shifts"].known(), args["dims"].known()
        return Function(lambda xs: f"torch.roll({xs[0]}, {Lit(tuple(shifts)).src()}, {Lit(tuple(dims)).src()})")


class PixelUnshuffle(LayerKind):
    name = "pixel_unshuffle"
    aliases = ("pixelunshuffle", "space_to_depth")
    family = "resample"
    summary = "rearrange C x rH x rW into C*r^2 x H x W"
    rank = 2
    min_rank = 2
    args = (Arg("downscale_factor", "int", aliases=("factor", "r")),)

    def describe(self, args):
        return f"/{args['downscale_factor']}"

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        c, h, w = shape
        r = args["downscale_factor"]
        if r < 1:
            raise ShapeError(
                codes.ARGUMENT_TYPE, "downscale_factor must be at least 1", "factor", arg="downscale_factor"
            )
        if h % r or w % r:
            raise ShapeError(
                codes.INVALID_RESHAPE,
                f"pixel_unshuffle by {r} needs a height and width divisible by {r}, got {h} x {w}",
                f"{h} x {w}",
                f"give the input sizes that are multiples of {r}",
                arg="downscale_factor",
            )
        return Inferred(outputs=((c * r * r, h // r, w // r),), rf=RF(((r, r), (r, r))))

    def to_torch(self, args, inputs, ctx):
        r = args["downscale_factor"]
        return Module("nn.PixelUnshuffle", (r,), channels=inputs[0][0] * (r * r))


class ChannelShuffle(LayerKind):
    name = "channel_shuffle"
    aliases = ("channelshuffle",)
    family = "reshape"
    summary = "interleave the channels of g groups (ShuffleNet), as nn.ChannelShuffle"
    args = (Arg("groups", "int", aliases=("g",)),)

    def describe(self, args):
        return f"{args['groups']} groups"

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        g, c = args["groups"], shape[0]
        if g < 1 or c % g:
            raise ShapeError(
                codes.GROUPS_MISMATCH,
                f"groups={g} does not divide the {c} channels",
                f"{c} % {g} = {c % g if g > 0 else c}",
                "use a number of groups that divides the channels",
                arg="groups",
            )
        return Inferred(outputs=(shape,))

    def to_torch(self, args, inputs, ctx):
        return Module("nn.ChannelShuffle", (args["groups"],))


class Embedding(LayerKind):
    name = "embedding"
    aliases = ("embed",)
    family = "linear"
    summary = "a learned vector per token id: (*) ids give (*, embedding_dim), as nn.Embedding"
    args = (
        Arg("num_embeddings", "int", aliases=("num", "vocab")),
        Arg("embedding_dim", "int", aliases=("dim",)),
        Arg("padding_idx", "int", None, positional=False),
    )

    def describe(self, args):
        return f"{args['num_embeddings']} x {args['embedding_dim']}"

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        num, dim = args["num_embeddings"], args["embedding_dim"]
        if num < 1 or dim < 1:
            raise ShapeError(
                codes.ARGUMENT_TYPE,
                "embedding needs at least one id and one feature",
                "num_embeddings" if num < 1 else "embedding_dim",
                arg="num_embeddings" if num < 1 else "embedding_dim",
            )
        padding = args["padding_idx"]
        if padding is not None and not -num <= padding < num:
            raise ShapeError(
                codes.ARGUMENT_TYPE,
                f"padding_idx={padding} is not an id of {num}",
                "padding_idx",
                f"use an id from {-num} to {num - 1}",
                arg="padding_idx",
            )
        return Inferred(outputs=((*shape, dim),), params=num * dim)

    def to_torch(self, args, inputs, ctx):
        kwargs = () if args["padding_idx"].is_(None) else (("padding_idx", args["padding_idx"]),)
        return Module("nn.Embedding", (args["num_embeddings"], args["embedding_dim"]), kwargs)


class ClassToken(LayerKind):
    name = "class_token"
    aliases = ("cls_token",)
    family = "linear"
    summary = "learned tokens put before an L x D sequence (ViT's class token): L + n x D"
    args = (Arg("tokens", "int", 1, aliases=("n",)),)

    def describe(self, args):
        return "" if args["tokens"] == 1 else f"{args['tokens']} tokens"

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        if len(shape) != 2:
            raise ShapeError(
                codes.RANK_MISMATCH,
                f"class_token takes L x D tokens, got a {fmt_shape(shape)} tensor",
                f"{len(shape)} axes",
                "make tokens first, e.g. `flatten(2) -> transpose(1, 2)`",
            )
        n = args["tokens"]
        if n < 1:
            raise ShapeError(codes.ARGUMENT_TYPE, "class_token needs at least 1 token", "tokens", arg="tokens")
        return Inferred(outputs=((shape[0] + n, shape[1]),), params=n * shape[1])

    def to_torch(self, args, inputs, ctx):
        return Module(
            "ClassToken",
            (inputs[0][-1], args["tokens"]),
            channels=inputs[0][0] + args["tokens"],
            helpers=("ClassToken",),
        )


class PositionEmbedding(LayerKind):
    name = "position_embedding"
    aliases = ("pos_embedding",)
    family = "linear"
    summary = (
        "a learned L x D tensor added to L x D tokens (ViT's and GPT-2's absolute positions); "
        "the input must have exactly `length` tokens"
    )
    args = (Arg("length", "int", aliases=("positions", "max_length")),)

    def describe(self, args):
        return f"{args['length']} positions"

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        if len(shape) != 2:
            raise ShapeError(
                codes.RANK_MISMATCH,
                f"position_embedding takes L x D tokens, got a {fmt_shape(shape)} tensor",
                f"{len(shape)} axes",
                "make tokens first, e.g. `flatten(2) -> transpose(1, 2)`",
            )
        length = args["length"]
        if length < 1:
            raise ShapeError(
                codes.ARGUMENT_TYPE, "position_embedding needs at least 1 position", "length", arg="length"
            )
        if shape[0] != length:
            raise ShapeError(
                codes.MERGE_MISMATCH,
                f"the position embedding has {length} positions, the input {shape[0]} tokens",
                f"{shape[0]} vs {length}",
                "give the input the size the embedding was made for, or change `length`",
                arg="length",
            )
        return Inferred(outputs=(shape,), params=length * shape[1])

    def to_torch(self, args, inputs, ctx):
        return Module("PositionEmbedding", (args["length"], inputs[0][-1]), helpers=("PositionEmbedding",))


KINDS = (
    ClassToken,
    PositionEmbedding,
    Permute,
    Transpose,
    Unflatten,
    Select,
    Roll,
    PixelUnshuffle,
    ChannelShuffle,
    Embedding,
)

__all__ = ["KINDS"]
