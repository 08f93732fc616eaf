"""The catalogue's building blocks: argument specs, the LayerKind base, results."""

from __future__ import annotations

import math

from dataclasses import dataclass, field
from fractions import Fraction
from typing import ClassVar
from collections.abc import Callable

from .ops import Module, Unsupported, keyword_args
from ..records import frozen

Shape = tuple  # (C, *spatial) without the batch dimension; None when unknown

REQUIRED = object()


@frozen
class Arg:
    """One argument a layer kind takes.

    type is one of: int, ints (an int or one per spatial axis), padding (ints,
    'same' or 'valid'), bool, float, floats, str (one of choices), dims (a tuple
    of ints of any length), tensor (a tensor reference).
    """

    name: str
    type: str
    default: object = REQUIRED
    aliases: tuple[str, ...] = ()
    positional: bool = True
    choices: tuple[str, ...] = ()
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@frozen
class RF:
    """How a layer changes the receptive field, per spatial axis.

    Either windows: ((effective kernel, stride), ...) with stride an int, or a Fraction
    (upsampling divides it), or whole=True: the output has no spatial positions of its own (a
    global pool, a flatten), so its field is all of the input's positions.

    sees_all: every output element reads every input element (a global pool, a linear layer on
    features), so that it sees all of the network input this layer's input sees. reads_all: per axis
    with windows, whether every input row is read by some window (a 1x1 kernel with stride 2 skips
    rows, a last window that does not fit drops some); None: all are.
    """

    windows: tuple[tuple[int, int | Fraction], ...] = ()
    whole: bool = False
    sees_all: bool = False
    reads_all: tuple[bool, ...] | None = None
    # the dims (without the batch) the windows or `whole` apply to; None: the spatial dims of a channels-first
    # tensor (1, 2, ...). Tokens kinds name theirs: attention (0,) of L x D, window attention (0, 1) of H x W x C.
    dims: tuple[int, ...] | None = None


@dataclass
class Inferred:
    """What inference learns about one layer."""

    outputs: tuple  # one Shape (or None) per output
    params: int = 0
    buffers: int = 0
    macs: int = 0
    rf: RF | None = None  # None: elementwise, the receptive field passes through


class ShapeError(Exception):
    """Raised by a kind's infer() for the one error that stops it."""

    def __init__(self, code, message: str, label: str = "", help: str | None = None, arg: str | None = None):
        super().__init__(message)
        self.code, self.message, self.label, self.help, self.arg = code, message, label, help, arg


class LayerKind:
    """A kind of layer. Subclasses declare their arguments and shape rule."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    family: ClassVar[str] = "other"  # colour group in diagrams
    summary: ClassVar[str] = ""
    args: ClassVar[tuple[Arg, ...]] = ()
    rank: ClassVar[int | None] = None  # spatial rank this kind requires (conv2d: 2)
    min_rank: ClassVar[int] = 0  # fewest spatial axes it works on
    variadic: ClassVar[bool] = False  # positional arguments are tensors to merge
    torch_name: ClassVar[str | None] = None
    # an output that passes the receptive field through (rf None) but may leave input rows out (a crop,
    # a split, a negative pad, axes moved): "the whole input" is not claimed after it
    drops_rows: ClassVar[bool] = False
    # the tensor argument read for its shape only (`like=`), always the last input: its values reach no output,
    # so it widens no receptive field
    shape_only: ClassVar[str | None] = None
    # PyTorch's first positional argument where it is an input size convdsl infers (Linear's in_features): a
    # call whose second value is a number where this kind takes a boolean was written in PyTorch's order
    torch_input_size: ClassVar[str | None] = None
    takes_input: ClassVar[bool] = True  # False: a source of its own (a `param`), with no tensor flowing in
    statement: ClassVar[bool] = False  # made by a statement of its own (`param`), never called in a chain

    def output_count(self, args: dict) -> int:
        return 1

    def infer(self, args: dict, inputs: list[Shape], ctx: InferContext) -> Inferred:
        raise NotImplementedError

    def describe(self, args: dict) -> str:
        """Key hyper-parameters in a few characters, for diagrams."""
        return ""

    def to_torch(self, args: dict, inputs: list, ctx):
        """This layer in PyTorch: a layers.ops.Module to construct, or a Function for forward.

        args: argument name -> layers.pyexpr.Py; inputs: per input tensor, its
        (channels, *spatial) as Py; ctx: a layers.ops.TorchContext. Raises
        Unsupported where PyTorch cannot compute what convdsl does. The default
        is the module nn.<torch_name> with every argument that differs from its
        default, by keyword: the catalogue's arguments have PyTorch's names.
        """
        if self.torch_name is None:
            raise Unsupported(f"`{self.name}` has no PyTorch equivalent")
        return Module(f"nn.{self.torch_name}", kwargs=keyword_args(self.args, args))


@dataclass
class InferContext:
    """What a kind's infer() may use besides its arguments and input shapes."""

    rounding: str  # pytorch | caffe | tensorflow
    strict: bool
    explicit: frozenset  # names of the arguments the user wrote
    # report(code, message, label="", help=None, arg=None, severity=None, fixes=(), axis=None): `axis`, a
    # spatial axis whose size is at fault, asks inference to add the nearest input sizes that work as fixes
    report: Callable
    next_kinds: tuple[str, ...] = ()  # kinds of the layers that consume this one's output
    extra: dict = field(default_factory=dict)
    # fix(description, {argument: value as text}) -> fixes.Fix | None: edits of this layer's call
    fix: Callable | None = None
    batch: int | None = 1  # the inputs' declared batch (1 when none is declared; None when it is a name)


def per_axis(value, rank: int, name: str) -> tuple[int, ...]:
    """Expand an int or a per-axis tuple to one value per spatial axis."""
    if isinstance(value, tuple):
        if len(value) != rank:
            raise ShapeError(
                None,
                f"`{name}` has {len(value)} values but the input has {rank} spatial ax{'is' if rank == 1 else 'es'}",
                f"{len(value)} values for {rank} axes",
                f"give one value, or {rank} values",
                arg=name,
            )
        return value
    return (value,) * rank


def fmt_shape(shape) -> str:
    return "unknown" if shape is None else " x ".join(str(d) for d in shape)


def fmt_count(n) -> str:
    """A count in a message, to 3 significant digits (`1.15e+77`), however large: an int past a float's range
    (the elements of a shape of hundreds of sizes) is written from its logarithm, not converted to a float."""
    try:
        return f"{n:.3g}"
    except OverflowError:
        exponent = int(math.log10(n))
        mantissa = n / 10**exponent  # exact int division: a float near 1 to 10
        if mantissa >= 10:
            mantissa, exponent = mantissa / 10, exponent + 1
        return f"{mantissa:.3g}e+{exponent}"


def prod(values) -> int:
    out = 1
    for v in values:
        out *= v
    return out
