"""What a layer kind's `to_torch` returns: a module to construct, or an expression for forward.

The catalogue (convdsl/layers/) says how each kind is written in PyTorch with
these; convdsl/export/ turns them into classes, attributes and forward code.
Arguments arrive as expressions (pyexpr.Py): a literal where the value is fixed,
or an expression over a block's parameters. A kind decides on a value only
through `known()`, which refuses values that differ between a block's uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

from .pyexpr import NotGeneric, Py, as_py

__all__ = ["Function", "Module", "NotGeneric", "TorchContext", "Unsupported", "keyword_args", "rank_of", "text_of"]


class Unsupported(Exception):
    """PyTorch has no way to write this layer as convdsl computes it."""

    def __init__(self, message: str, help: str | None = None):
        super().__init__(message)
        self.message, self.help = message, help


@dataclass(frozen=True)
class TorchContext:
    """What a kind's to_torch may know beyond its arguments: the file's settings and how the layer is used."""

    rounding: str  # the file's rounding setting: pytorch | caffe | tensorflow | darknet
    written: str  # the kind's name as written (`dropout2d`, `conv`)
    uses: tuple[int, ...] = (0,)  # the instances this layer is made in, for Py.sample
    # a layer's name as an attribute path of the exported model (`forward` -> `forward_`), for a layer
    # that reads another's weight (`tie=`); the export's own naming, passed in so the catalogue needs no export
    module_path: Callable[[str], str] = str
    explicit: frozenset = frozenset()  # the arguments written, not defaulted (darknet's maxpool padding)


@dataclass(frozen=True)
class Module:
    """A layer that is an nn.Module: `ctor(*args, **kwargs)`.

    pad: an F.pad applied to the input first, in F.pad's order (last axis
    first), for padding the module itself cannot express; pad_value its value.
    channels: the output's channels, where they are not the input's (with
    several outputs, a tuple of them). helpers: the classes from
    convdsl/export/helpers.py the file must define (ctor is one of them).
    """

    ctor: str
    args: tuple = ()
    kwargs: tuple = ()  # (name, Py) pairs
    channels: Py | None = None
    pad: Py | None = None
    pad_value: Py | None = None
    outputs: int = 1
    helpers: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "args", tuple(as_py(a) for a in self.args))
        object.__setattr__(self, "kwargs", tuple((k, as_py(v)) for k, v in self.kwargs))


@dataclass(frozen=True)
class Function:
    """A layer written as an expression in forward, e.g. `torch.cat([a, b], dim=1)`.

    render gets the expressions of the inputs and returns the layer's
    expression; helpers names the functions from convdsl/export/helpers.py it
    calls. outputs: how many tensors it gives (chunk, split).
    """

    render: Callable[[list[str]], str]
    outputs: int = 1
    channels: tuple = ()  # per output: Py, or None where the first input's channels pass through
    helpers: tuple[str, ...] = ()


def keyword_args(kind_args, args: dict, *, skip=(), rename=None, defaults=None) -> list[tuple[str, Py]]:
    """Keyword arguments for the arguments that differ from their default.

    kind_args: the kind's Arg specs (their names are PyTorch's); skip: arguments
    written another way; rename: convdsl name -> PyTorch keyword; defaults:
    PyTorch's default where it differs from convdsl's.
    """
    out = []
    for spec in kind_args:
        if spec.name in skip or spec.type == "tensor":
            continue
        value = args[spec.name]
        default = (defaults or {}).get(spec.name, spec.default)
        if value.is_(default):
            continue
        out.append(((rename or {}).get(spec.name, spec.name), value))
    return out


def text_of(value: Py, ctx: TorchContext) -> str | None:
    """The word an argument holds ('same'), or None where it holds a number in every use."""
    if value.static:
        known = value.known()
        return known if isinstance(known, str) else None
    if any(isinstance(value.sample(i), str) for i in ctx.uses):
        raise NotGeneric(f"`{value.src()}` is a word in some uses")
    return None


def rank_of(shape) -> int:
    """Spatial axes of an input (its shape without the batch is channels, then the spatial axes)."""
    return len(shape) - 1
