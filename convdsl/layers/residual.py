"""What sits on a residual branch of a modern block: a learned per-channel scale
(ConvNeXt's and CaiT's layer scale) and stochastic depth (identity in eval)."""

from __future__ import annotations

from .. import diagnostics as codes
from .ops import Module
from .base import Arg, Inferred, LayerKind, ShapeError
from .dense import _dim_index


class LayerScale(LayerKind):
    name = "layer_scale"
    aliases = ("layerscale",)
    family = "norm"
    summary = (
        "a learned scale per entry of one axis (dim counts the batch as 0; 1, the default, is the "
        "channels of C x H x W, -1 the features of tokens), initialised to `init`"
    )
    args = (
        Arg("init", "float", 1e-6, aliases=("init_values", "value")),
        Arg("dim", "int", 1, positional=False, aliases=("axis",)),
    )

    def describe(self, args):
        return f"{args['init']:g}"

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        axis = _dim_index(args["dim"], len(shape), "dim")
        return Inferred(outputs=(shape,), params=shape[axis])

    def to_torch(self, args, inputs, ctx):
        shape = inputs[0]
        dim = args["dim"].known()
        axis = _dim_index(dim, len(shape), "dim")
        # gamma's shape broadcasts over the axes after `dim`: (C, 1, 1) for channels, (D,) for tokens
        trailing = len(shape) - 1 - axis
        return Module(
            "LayerScale",
            (shape[axis], args["init"]),
            (("trailing", trailing),) if trailing else (),
            helpers=("LayerScale",),
        )


class StochasticDepth(LayerKind):
    name = "stochastic_depth"
    aliases = ("drop_path", "droppath")
    family = "regularization"
    summary = "drops the whole residual branch with probability p per sample (row) or batch; identity in eval"
    args = (
        Arg("p", "float", aliases=("rate", "drop_prob")),
        Arg("mode", "str", "row", positional=False, choices=("row", "batch")),
    )

    def describe(self, args):
        return f"p={args['p']:g}"

    def infer(self, args, inputs, ctx):
        if not 0 <= args["p"] <= 1:
            raise ShapeError(
                codes.ARGUMENT_TYPE, f"the drop probability must be between 0 and 1, got {args['p']}", "p", arg="p"
            )
        return Inferred(outputs=(inputs[0],))

    def to_torch(self, args, inputs, ctx):
        return Module("StochasticDepth", (args["p"], args["mode"]), helpers=("StochasticDepth",))


KINDS = (LayerScale, StochasticDepth)

__all__ = ["KINDS"]
