"""Normalisation layers: batch, group, layer and instance norm."""

from __future__ import annotations

from .. import diagnostics as codes
from .ops import Module, Unsupported, keyword_args, rank_of
from .pyexpr import Lit, tup
from .base import Arg, Inferred, LayerKind, ShapeError, fmt_shape, prod

_COMMON = (Arg("eps", "float", 1e-5, positional=False), Arg("affine", "bool", True, positional=False))


def _check_single_value(kind: str, values: int, per: str, fix: str) -> None:
    """Normalising one value gives (x - x)/sigma = 0: the output is its bias whatever the input."""
    if values == 1:
        raise ShapeError(
            codes.SINGLE_VALUE_NORM,
            f"{kind} normalises a single value per {per}: every output is 0 before the affine "
            "shift, whatever the input (and PyTorch refuses it when training)",
            f"1 value per {per}",
            fix,
        )


def _check_declared(args, c):
    declared = args.get("num_features")
    if declared is not None and declared != c:
        raise ShapeError(
            codes.CHANNEL_MISMATCH,
            f"expected {declared} channels, got {c}",
            f"declared num_features={declared}",
            f"the input has {c} channels",
            arg="num_features",
        )


class BatchNorm(LayerKind):
    name = "batchnorm"
    aliases = ("bn", "batch_norm", "batchnorm1d", "batchnorm2d", "batchnorm3d")
    family = "norm"
    summary = "batch normalisation over the channels"
    args = (
        Arg("num_features", "int", None, positional=False, aliases=("channels", "in")),
        *_COMMON,
        Arg("momentum", "float", 0.1, positional=False),
        Arg("track_running_stats", "bool", True, positional=False),
    )

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        c = shape[0]
        _check_declared(args, c)
        if not args["track_running_stats"] and ctx.batch is not None:
            # without running statistics PyTorch normalises by the batch's even in eval mode, and refuses
            # one value per channel ("Expected more than 1 value per channel when training")
            _check_single_value(
                "batchnorm without running statistics",
                ctx.batch * prod(shape[1:]),
                "channel",
                "declare a batch of 2 or more (`, batch=8`), keep track_running_stats, "
                "or normalise before the pooling that makes it 1 x 1",
            )
        # running_mean, running_var and num_batches_tracked are buffers, not parameters
        buffers = 2 * c + 1 if args["track_running_stats"] else 0
        return Inferred(outputs=(shape,), params=2 * c if args["affine"] else 0, buffers=buffers)

    def to_torch(self, args, inputs, ctx):
        shape = inputs[0]
        rank = max(1, rank_of(shape))  # BatchNorm1d takes (N, C) and (N, C, L)
        return Module(f"nn.BatchNorm{rank}d", (shape[0],), keyword_args(self.args, args, skip=("num_features",)))


class GroupNorm(LayerKind):
    name = "groupnorm"
    aliases = ("group_norm", "gn")
    family = "norm"
    summary = "group normalisation"
    args = (
        Arg("groups", "int", aliases=("g", "num_groups")),
        *_COMMON,
        Arg("num_features", "int", None, positional=False, aliases=("channels", "in")),
    )

    def describe(self, args):
        return f"{args['groups']} groups"

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        c = shape[0]
        _check_declared(args, c)
        g = args["groups"]
        if g < 1 or c % g:
            raise ShapeError(
                codes.GROUPS_MISMATCH,
                f"groups={g} does not divide the {c} channels",
                f"{c} % {g} = {c % g if g else c}",
                "use a number of groups that divides the channels",
                arg="groups",
            )
        _check_single_value(
            "groupnorm",
            c // g * prod(shape[1:]),
            "group",
            "use fewer groups, or normalise before the pooling that makes it 1 x 1",
        )
        return Inferred(outputs=(shape,), params=2 * c if args["affine"] else 0)

    def to_torch(self, args, inputs, ctx):
        kwargs = keyword_args(self.args, args, skip=("groups", "num_features"))
        return Module("nn.GroupNorm", (args["groups"], inputs[0][0]), kwargs)


class LayerNorm(LayerKind):
    name = "layernorm"
    aliases = ("layer_norm", "ln")
    family = "norm"
    summary = "layer normalisation over the last axes (by default all but the batch)"
    args = (
        Arg("normalized_shape", "dims", None, aliases=("shape",)),
        *_COMMON[:1],
        Arg("elementwise_affine", "bool", True, positional=False, aliases=("affine",)),
        Arg("bias", "bool", True, positional=False),
    )

    def describe(self, args):
        shape = args["normalized_shape"]
        return "" if shape is None else "over " + " x ".join(map(str, shape))

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        normalized = args["normalized_shape"]
        if normalized is None:
            normalized = tuple(shape)
            if len(shape) > 1 and args["elementwise_affine"]:
                # PyTorch has no default: nn.LayerNorm(C) on N x C x H x W normalises W alone. Say what this is.
                sizes = ", ".join(map(str, shape))
                fix = (
                    ctx.fix(
                        f"write `normalized_shape=({sizes})` to say it is meant", {"normalized_shape": f"({sizes})"}
                    )
                    if ctx.fix
                    else None
                )
                ctx.report(
                    codes.IMPLICIT_AXES,
                    f"layernorm normalises all of {fmt_shape(shape)} by default, with a weight"
                    f"{' and a bias' if args['bias'] else ''} for each of its {prod(shape):,} values",
                    f"{prod(shape) * (2 if args['bias'] else 1):,} parameters",
                    "`groupnorm(1)` normalises the same values with one weight and bias per channel",
                    fixes=(fix,) if fix else (),
                )
        if tuple(shape[len(shape) - len(normalized) :]) != tuple(normalized) or len(normalized) > len(shape):
            raise ShapeError(
                codes.INVALID_RESHAPE,
                f"layernorm over {tuple(normalized)} does not match the input's last axes {tuple(shape)}",
                "normalized_shape",
                "give the input's trailing sizes",
                arg="normalized_shape",
            )
        n = prod(normalized)
        params = (n + (n if args["bias"] else 0)) if args["elementwise_affine"] else 0
        return Inferred(outputs=(shape,), params=params)

    def to_torch(self, args, inputs, ctx):
        normalized = args["normalized_shape"]
        if normalized.is_(None):  # by default, all axes but the batch
            normalized = tup(inputs[0])
        if normalized.static and len(normalized.known()) == 1:
            normalized = Lit(normalized.known()[0])
        kwargs = keyword_args(self.args, args, skip=("normalized_shape",))
        return Module("nn.LayerNorm", (normalized,), kwargs)


class InstanceNorm(LayerKind):
    name = "instancenorm"
    aliases = ("instance_norm", "instancenorm1d", "instancenorm2d", "instancenorm3d")
    family = "norm"
    summary = "instance normalisation (affine off by default, as in PyTorch)"
    min_rank = 1
    args = (
        Arg("num_features", "int", None, positional=False, aliases=("channels", "in")),
        Arg("eps", "float", 1e-5, positional=False),
        Arg("affine", "bool", False, positional=False),
        Arg("track_running_stats", "bool", False, positional=False),
    )

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        c = shape[0]
        _check_declared(args, c)
        if not args["track_running_stats"]:
            _check_single_value(
                "instancenorm",
                prod(shape[1:]),
                "channel",
                "normalise before the pooling that makes it 1 x 1, or use batchnorm",
            )
        return Inferred(
            outputs=(shape,),
            params=2 * c if args["affine"] else 0,
            buffers=2 * c + 1 if args["track_running_stats"] else 0,
        )

    def to_torch(self, args, inputs, ctx):
        shape = inputs[0]
        if not args["track_running_stats"].known() and all(size.static and size.known() == 1 for size in shape[1:]):
            # it would normalise each value by itself; PyTorch refuses to, even in eval mode
            raise Unsupported(
                "PyTorch's instance norm needs more than one position per channel, and gets "
                f"{' x '.join('1' for _ in shape[1:])}",
                "normalise before the pooling that makes it 1 x 1",
            )
        kwargs = keyword_args(self.args, args, skip=("num_features",))
        return Module(f"nn.InstanceNorm{rank_of(shape)}d", (shape[0],), kwargs)


class LayerNorm2d(LayerKind):
    name = "layernorm2d"
    aliases = ("layer_norm2d", "ln2d")
    family = "norm"
    summary = "layer normalisation over the channels of C x H x W at each position (ConvNeXt's LayerNorm2d)"
    min_rank = 1
    args = (
        Arg("eps", "float", 1e-5, positional=False),
        Arg("elementwise_affine", "bool", True, positional=False, aliases=("affine",)),
        Arg("bias", "bool", True, positional=False),
    )

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        c = shape[0]
        params = (c + (c if args["bias"] else 0)) if args["elementwise_affine"] else 0
        return Inferred(outputs=(shape,), params=params)

    def to_torch(self, args, inputs, ctx):
        return Module("LayerNorm2d", (inputs[0][0],), keyword_args(self.args, args), helpers=("LayerNorm2d",))


class LocalResponseNorm(LayerKind):
    """AlexNet's and GoogLeNet's normalisation across neighbouring channels (Caffe's LRN, ACROSS_CHANNELS).

    PyTorch and Caffe both divide alpha by the window size: b = a / (k + alpha/n * sum a^2)^beta.
    """

    name = "lrn"
    aliases = ("local_response_norm",)
    family = "norm"
    summary = "local response normalisation across `size` neighbouring channels (nn.LocalResponseNorm)"
    min_rank = 0
    torch_name = "LocalResponseNorm"
    args = (
        Arg("size", "int", aliases=("local_size", "n")),
        Arg("alpha", "float", 1e-4, positional=False),
        Arg("beta", "float", 0.75, positional=False),
        Arg("k", "float", 1.0, positional=False),
    )

    def describe(self, args):
        return f"size {args['size']}"

    def infer(self, args, inputs, ctx):
        if args["size"] < 1:
            raise ShapeError(codes.ARGUMENT_TYPE, f"size must be at least 1, got {args['size']}", "size", arg="size")
        return Inferred(outputs=(inputs[0],))

    def to_torch(self, args, inputs, ctx):
        return Module("nn.LocalResponseNorm", (args["size"],), keyword_args(self.args, args, skip=("size",)))
