"""Linear layers and the layers that reshape a tensor without computing."""

from __future__ import annotations

import keyword

from .. import diagnostics as codes
from .ops import Function, Module, Unsupported, keyword_args, rank_of
from .pyexpr import Lit, product
from .base import Arg, Inferred, LayerKind, RF, ShapeError, fmt_shape, prod


def _dim_index(dim: int, ndim: int, name: str) -> int:
    """A PyTorch dim (counting the batch as 0) as an index into a shape without the batch."""
    full = ndim + 1
    d = dim + full if dim < 0 else dim
    if not 1 <= d < full:
        raise ShapeError(
            codes.ARGUMENT_TYPE,
            f"{name}={dim} is out of range for a tensor of {full} dimensions (with the batch)",
            f"{name}={dim}",
            f"use a dim from 1 to {full - 1} (0 is the batch)",
            arg=name,
        )
    return d - 1


def resolve_sizes(sizes, total: int, *, verb: str, source: str, arg: str, help: str | None = None, empty=True):
    """Sizes that must hold `total` values, one of them -1 (inferred), as reshape and unflatten take them.

    verb, source: the message reads "cannot {verb} {source} {sizes}" ("an axis of 12 into", or the
    shape and its values followed by "to"); help: the advice when the sizes multiply to another count.
    """
    sizes = list(sizes)
    if sizes.count(-1) > 1 or any(s < 1 and s != -1 for s in sizes) or (not sizes and not empty):
        raise ShapeError(
            codes.INVALID_RESHAPE,
            f"cannot {verb} to {tuple(sizes)}",
            "sizes must be positive, with at most one -1",
            arg=arg,
        )
    if -1 in sizes:
        known = prod(s for s in sizes if s != -1)
        if total % known:
            raise ShapeError(
                codes.INVALID_RESHAPE,
                f"cannot {verb} {source} {tuple(sizes)}",
                f"{total} is not a multiple of {known}",
                arg=arg,
            )
        sizes[sizes.index(-1)] = total // known
    if prod(sizes) != total:
        raise ShapeError(
            codes.INVALID_RESHAPE,
            f"cannot {verb} {source} {fmt_shape(sizes)} ({prod(sizes)} values)",
            "sizes differ",
            help,
            arg=arg,
        )
    return sizes


class Linear(LayerKind):
    name = "linear"
    aliases = ("fc", "dense")
    family = "linear"
    summary = "fully connected layer on the last axis"
    torch_input_size = "in_features"
    args = (
        Arg("out_features", "int", aliases=("out", "units", "features")),
        Arg("bias", "bool", True),
        Arg("in_features", "int", None, positional=False, aliases=("in",)),
        Arg(
            "tie",
            "str",
            None,
            positional=False,
            doc="the label of an embedding or linear layer whose weight this one shares (a tied head)",
        ),
    )

    def describe(self, args):
        return str(args["out_features"])

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        features = shape[-1]
        declared = args.get("in_features")
        if declared is not None and declared != features:
            raise ShapeError(
                codes.LINEAR_MISMATCH,
                f"linear expects {declared} input features, got {features}",
                f"declared in_features={declared}",
                f"the input is {fmt_shape(shape)}" + ("; flatten it first" if len(shape) > 1 else ""),
                arg="in_features",
            )
        if len(shape) > 1 and declared is None and not ctx.extra.get("features_last"):
            ctx.report(
                codes.LINEAR_ON_SPATIAL,
                f"linear acts on the last axis only (size {features}) of a {fmt_shape(shape)} tensor",
                "not flattened",
                "add `flatten` before it, or `in_features=` to say this is meant",
            )
        out = args["out_features"]
        if out < 1:
            raise ShapeError(codes.ARGUMENT_TYPE, "out_features must be at least 1", "out_features", arg="out_features")
        weight = features * out
        rf = RF(whole=True, sees_all=True) if len(shape) == 1 else None
        return Inferred(
            outputs=((*shape[:-1], out),),
            params=weight + (out if args["bias"] else 0),
            macs=weight * prod(shape[:-1]),
            rf=rf,
        )

    def to_torch(self, args, inputs, ctx):
        shape = inputs[0]
        if not args["tie"].is_(None):
            # the shared weight is read from the other layer: inference allows `tie` only between
            # layers of the network itself, so it is an attribute of `self` under its own name
            if not args["bias"].is_(False):
                raise Unsupported(
                    "a tied linear layer with a bias of its own is not exported",
                    "write `bias=false`, as tied heads have",
                )
            source = args["tie"].known()
            path = ctx.module_path(source) if isinstance(source, str) and source.isidentifier() else ""
            if not path.isidentifier() or keyword.iskeyword(path) or path.startswith("__"):
                # `class` is added with add_module, and is no attribute syntax; a mangled `__x` neither
                raise Unsupported(
                    f"the tied layer `{source}` has a name that is not a Python attribute",
                    "rename the layer it shares its weight with",
                )
            return Function(
                lambda xs: f"F.linear({xs[0]}, self.{path}.weight)",
                channels=(args["out_features"] if rank_of(shape) == 0 else None,),
                helpers=("F",),
            )
        kwargs = keyword_args(self.args, args, skip=("out_features", "in_features", "tie"))
        vector = rank_of(shape) == 0  # (C,): the features are the channels
        return Module(
            "nn.Linear", (shape[-1], args["out_features"]), kwargs, channels=args["out_features"] if vector else None
        )


class Flatten(LayerKind):
    name = "flatten"
    family = "reshape"
    summary = "merge axes into one (by default all but the batch)"
    args = (Arg("start_dim", "int", 1), Arg("end_dim", "int", -1))

    def describe(self, args):
        start, end = args["start_dim"], args["end_dim"]
        return "" if (start, end) == (1, -1) else f"dims {start} to {end}"

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        start = _dim_index(args["start_dim"], len(shape), "start_dim")
        end = _dim_index(args["end_dim"], len(shape), "end_dim")
        if end < start:
            raise ShapeError(codes.ARGUMENT_TYPE, "flatten's end_dim comes before its start_dim", "dims", arg="end_dim")
        out = (*shape[:start], prod(shape[start : end + 1]), *shape[end + 1 :])
        return Inferred(outputs=(out,), rf=RF(whole=True) if start == 0 else None)

    def to_torch(self, args, inputs, ctx):
        shape = inputs[0]
        start = _dim_index(args["start_dim"].known(), len(shape), "start_dim")
        end = _dim_index(args["end_dim"].known(), len(shape), "end_dim")
        channels = product(shape[start : end + 1]) if start == 0 else None
        return Module("nn.Flatten", kwargs=keyword_args(self.args, args), channels=channels)


class Reshape(LayerKind):
    name = "reshape"
    aliases = ("view",)
    family = "reshape"
    shape_only = "like"  # reshape_as: the other tensor's shape, none of its values
    summary = "a new shape with the same number of elements (-1: inferred), or another tensor's shape (like=)"
    args = (
        Arg("shape", "dims", None),
        Arg("like", "tensor", None, positional=False, doc="take this tensor's shape (PyTorch's reshape_as)"),
    )

    def describe(self, args):
        return f"like {args['like']}" if args["like"] is not None else fmt_shape(args["shape"])

    def infer(self, args, inputs, ctx):
        shape = inputs[0]
        total = prod(shape)
        if (args["like"] is None) == (args["shape"] is None):
            raise ShapeError(
                codes.MISSING_ARGUMENT,
                "reshape needs a shape or a tensor to match (not both)",
                "shape or like",
                "write `reshape((64, -1))` or `reshape(like=x)`",
            )
        if args["like"] is not None:
            target = inputs[1]
            if prod(target) != total:
                raise ShapeError(
                    codes.INVALID_RESHAPE,
                    f"cannot reshape {fmt_shape(shape)} ({total} values) like {fmt_shape(target)} "
                    f"({prod(target)} values)",
                    "a different number of values",
                    "reshape to a tensor with as many values",
                )
            return Inferred(outputs=(tuple(target),), rf=RF(whole=True))
        target = resolve_sizes(
            args["shape"], total, verb="reshape", source=f"{fmt_shape(shape)} ({total} values) to", arg="shape"
        )
        return Inferred(outputs=(tuple(target),), rf=RF(whole=True))

    def to_torch(self, args, inputs, ctx):
        if not args["like"].is_(None):
            return Function(lambda xs: f"{xs[0]}.reshape_as({xs[1]})", channels=(None,))
        target = args["shape"]
        first = target.items[0] if hasattr(target, "items") else Lit(target.known()[0])
        channels = None if first.is_(-1) else first
        if rank_of(inputs[0]) == 0:  # (N, C) to (N, *shape): a module, so it can sit in a Sequential
            return Module("nn.Unflatten", (Lit(1), target), channels=channels)
        dims = ", ".join(str(d) for d in target.known())
        return Function(lambda xs: f"{xs[0]}.reshape({xs[0]}.shape[0], {dims})", channels=(channels,))


class Identity(LayerKind):
    name = "identity"
    family = "other"
    summary = "passes its input through"
    torch_name = "Identity"

    def infer(self, args, inputs, ctx):
        return Inferred(outputs=(inputs[0],))


class Dropout(LayerKind):
    name = "dropout"
    aliases = ("dropout1d", "dropout2d", "dropout3d")
    family = "regularization"
    summary = "dropout (no effect on shapes)"
    args = (Arg("p", "float", 0.5, aliases=("rate",)),)

    def describe(self, args):
        return f"p={args['p']:g}"

    def to_torch(self, args, inputs, ctx):
        suffix = ctx.written[-2:] if ctx.written[-2:] in ("1d", "2d", "3d") else ""  # dropout2d drops channels
        return Module(f"nn.Dropout{suffix}", kwargs=keyword_args(self.args, args))

    def infer(self, args, inputs, ctx):
        if not 0 <= args["p"] <= 1:
            raise ShapeError(
                codes.ARGUMENT_TYPE, f"dropout probability must be between 0 and 1, got {args['p']}", "p", arg="p"
            )
        return Inferred(outputs=(inputs[0],))
