"""A layer convdsl cannot see into: an imported module or operator with its shape and counts given.

`convdsl import --allow-opaque` writes one where a PyTorch module or ONNX operator
has no layer kind, so that the rest of the network still checks. Nothing about it
is inferred: its output shape, parameters, buffers and MACs are what the import
measured (the traced shape, the module's parameter count) and are taken as given.
It has no PyTorch equivalent, so `export` refuses it (E301) rather than write a
module that would compute something else.
"""

from __future__ import annotations

from .. import diagnostics as codes
from .base import Arg, Inferred, LayerKind, RF, ShapeError, fmt_shape
from .ops import Unsupported


class Opaque(LayerKind):
    name = "opaque"
    family = "other"
    summary = "a layer convdsl cannot see into, with its output shape, parameters and MACs given"
    args = (
        Arg("shape", "dims", doc="the output shape without the batch, as measured where it came from"),
        Arg("params", "int", 0, positional=False, doc="its parameters, counted as given"),
        Arg("buffers", "int", 0, positional=False, doc="its buffers, counted as given"),
        Arg("macs", "int", 0, positional=False, doc="its multiply-accumulates, counted as given (0: not known)"),
        Arg("source", "str", "", positional=False, doc="what it stands for: a PyTorch class or an ONNX operator"),
    )

    def describe(self, args):
        return args["source"] or fmt_shape(args["shape"])

    def infer(self, args, inputs, ctx):
        shape = args["shape"]
        if any(d < 1 for d in shape):
            raise ShapeError(
                codes.ARGUMENT_TYPE, f"an opaque shape needs sizes of at least 1, got {fmt_shape(shape)}", arg="shape"
            )
        for name in ("params", "buffers", "macs"):
            if args[name] < 0:
                raise ShapeError(codes.ARGUMENT_TYPE, f"`{name}` cannot be negative, got {args[name]}", arg=name)
        # nothing is known about which inputs each output value reads: every output sees all of its input
        return Inferred(
            outputs=(tuple(shape),),
            params=args["params"],
            buffers=args["buffers"],
            macs=args["macs"],
            rf=RF(whole=True),
        )

    def to_torch(self, args, inputs, ctx):
        source = args["source"].known() if args["source"].static else ""
        what = f" (`{source}`)" if source else ""
        raise Unsupported(
            f"an opaque layer{what} has no PyTorch equivalent: convdsl only knows its shape and counts",
            "replace it with the layers it stands for, or export the original model instead",
        )


KINDS = [Opaque]
