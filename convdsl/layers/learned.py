"""A learnable tensor declared with the `param` statement: no input, its shape its one output."""

from __future__ import annotations

from .. import diagnostics as codes
from .base import Arg, Inferred, LayerKind, ShapeError, fmt_count, fmt_shape, prod
from .ops import Unsupported

# A tensor of learnable values past this many entries is a mistake (2^40 floats are 4 TB), and refusing it
# keeps every count below the 2^53 that inference's totals allow.
MAX_VALUES = 2**40


class Parameter(LayerKind):
    """`param NAME: shape`: made by the statement, never called in a chain (lowering says so)."""

    name = "parameter"
    family = "linear"
    summary = "a learnable tensor (`param cls: 1 x 768`): broadcast over the batch, counted once"
    args = (
        Arg("shape", "dims", doc="the tensor's shape without the batch"),
        Arg("init", "float", 0.0, positional=False, doc="the value every entry starts from"),
    )
    takes_input = False
    statement = True

    def describe(self, args):
        return fmt_shape(args["shape"])

    def infer(self, args, inputs, ctx):
        shape = tuple(args["shape"])
        if not shape or len(shape) > 4:
            raise ShapeError(
                codes.INVALID_INPUT,
                f"a param has 1 to 4 sizes, got {len(shape)}",
                f"{len(shape)} sizes",
                "write its shape without the batch, as an input's: `param pos: 197 x 768`",
                arg="shape",
            )
        for size in shape:
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ShapeError(
                    codes.INVALID_INPUT,
                    f"a param's sizes are whole numbers of at least 1, got {size!r}",
                    "not a size",
                    arg="shape",
                )
        count = prod(shape)
        if count > MAX_VALUES:
            raise ShapeError(
                codes.LIMIT_EXCEEDED,
                f"this param has {fmt_count(count)} values, beyond the limit of 2^40",
                "too large",
                "check its sizes",
                arg="shape",
            )
        return Inferred(outputs=(shape,), params=count)

    def to_torch(self, args, inputs, ctx):
        # written by the export's class writer as an nn.Parameter attribute (export/compiler.py), not as a layer
        raise Unsupported("a param is written as an nn.Parameter of the class that declares it")


KINDS = (Parameter,)

__all__ = ["KINDS"]
