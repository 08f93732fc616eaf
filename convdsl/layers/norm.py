"""Normalisation layers: batch, group, layer and instance norm."""
from __future__ import annotations

from .. import diagnostics as codes
from .base import Arg, Inferred, LayerKind, ShapeError, prod

_COMMON = (Arg("eps", "float", 1e-5, positional=False), Arg("affine", "bool", True, positional=False))


def _check_declared(args, c):
    declared = args.get("num_features")
    if declared is not None and declared != c:
        raise ShapeError(codes.CHANNEL_MISMATCH, f"expected {declared} channels, got {c}",
                         f"declared num_features={declared}", f"the input has {c} channels", arg="num_features")


class BatchNorm(LayerKind):
    name = "batchnorm"
    aliases = ("bn", "batch_norm", "batchnorm1d", "batchnorm2d", "batchnorm3d")
    family = "norm"
    summary = "batch normalisation over the channels"
    args = (Arg("num_features", "int", None, positional=False, aliases=("channels", "in")),
            *_COMMON, Arg("momentum", "float", 0.1, positional=False),
            Arg("track_running_stats", "bool", True, positional=False))

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        c = shape[0]
        _check_declared(args, c)
        # running_mean, running_var and num_batches_tracked are buffers, not parameters
        buffers = 2 * c + 1 if args["track_running_stats"] else 0
        return Inferred(outputs=(shape,), params=2 * c if args["affine"] else 0, buffers=buffers)


class GroupNorm(LayerKind):
    name = "groupnorm"
    aliases = ("group_norm", "gn")
    family = "norm"
    summary = "group normalisation"
    args = (Arg("groups", "int", aliases=("g", "num_groups")), *_COMMON,
            Arg("num_features", "int", None, positional=False, aliases=("channels", "in")))

    def describe(self, args):
        return f"{args['groups']} groups"

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        c = shape[0]
        _check_declared(args, c)
        g = args["groups"]
        if g < 1 or c % g:
            raise ShapeError(codes.GROUPS_MISMATCH, f"groups={g} does not divide the {c} channels",
                             f"{c} % {g} = {c % g if g else c}", "use a number of groups that divides the channels",
                             arg="groups")
        return Inferred(outputs=(shape,), params=2 * c if args["affine"] else 0)


class LayerNorm(LayerKind):
    name = "layernorm"
    aliases = ("layer_norm", "ln")
    family = "norm"
    summary = "layer normalisation over the last axes (by default all but the batch)"
    args = (Arg("normalized_shape", "dims", None, aliases=("shape",)), *_COMMON[:1],
            Arg("elementwise_affine", "bool", True, positional=False, aliases=("affine",)),
            Arg("bias", "bool", True, positional=False))

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        normalized = args["normalized_shape"]
        if normalized is None:
            normalized = tuple(shape)
        if tuple(shape[len(shape) - len(normalized):]) != tuple(normalized) or len(normalized) > len(shape):
            raise ShapeError(codes.INVALID_RESHAPE,
                             f"layernorm over {tuple(normalized)} does not match the input's last axes {tuple(shape)}",
                             "normalized_shape", "give the input's trailing sizes", arg="normalized_shape")
        n = prod(normalized)
        params = (n + (n if args["bias"] else 0)) if args["elementwise_affine"] else 0
        return Inferred(outputs=(shape,), params=params)


class InstanceNorm(LayerKind):
    name = "instancenorm"
    aliases = ("instance_norm", "instancenorm1d", "instancenorm2d", "instancenorm3d")
    family = "norm"
    summary = "instance normalisation (affine off by default, as in PyTorch)"
    min_rank = 1
    args = (Arg("num_features", "int", None, positional=False, aliases=("channels", "in")),
            Arg("eps", "float", 1e-5, positional=False), Arg("affine", "bool", False, positional=False),
            Arg("track_running_stats", "bool", False, positional=False))

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        c = shape[0]
        _check_declared(args, c)
        return Inferred(outputs=(shape,), params=2 * c if args["affine"] else 0,
                        buffers=2 * c + 1 if args["track_running_stats"] else 0)
