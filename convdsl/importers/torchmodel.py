"""The data a traced PyTorch model becomes: scopes (modules) of elements (layer calls), with their shapes."""

from __future__ import annotations

from dataclasses import dataclass, field

from .torchmap import Mapped


@dataclass
class Element:
    """One layer call, or one child module's scope, in a scope's forward."""

    inputs: list  # value ids (fx nodes) of the tensors it reads, the chained one first
    outputs: list  # value ids it gives (several: chunk, split, lstm)
    mapped: Mapped | None = None
    child: Scope | None = None
    name: str | None = None  # the module's attribute path relative to the scope (`conv1`, `0`, `blocks.3`)
    what: str = ""  # the module class or function, for diagnostics (`torch.nn.PReLU`, `torch.sort`)
    problem: str | None = None  # why it has no layer kind
    shape: tuple | None = None  # the traced output shape, without the batch (for an opaque layer)
    params: int = 0
    buffers: int = 0
    location: tuple | None = None  # (path, line) of the code behind it
    tuple_output: bool = False  # one output, returned inside a tuple (nn.MultiheadAttention's)
    reuse_of: str | None = None  # a module with weights called again: the name (`name`) of its first call


@dataclass
class Scope:
    """A module traced on its own: its inputs, its elements in execution order, its outputs."""

    module: object
    path: str  # its path from the root (`layer1.0`)
    cls: type
    inputs: list
    elements: list
    outputs: list
    location: tuple | None = None
    constructor: dict = field(default_factory=dict)  # argument name -> value, as recorded when it was built
    problem: str | None = None  # the trace failed: why
    # the module's own nn.Parameters (not its children's), by attribute name: `param` statements
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ParamValue:
    """A bare nn.Parameter read in a forward, as a value an element reads: the `param` of that name."""

    target: str

    @property
    def name(self) -> str:
        return self.target


@dataclass
class ParamDecl:
    """A `param NAME: shape` statement: the shape in convdsl's terms (without the batch), where it is used."""

    name: str
    shape: tuple  # convdsl's sizes: the torch tensor's, without a leading 1 for the batch, padded as it broadcasts
    torch_shape: tuple
    location: tuple | None = None
    init: float | None = None  # every entry's value, where the model was built with real values and they agree
    used: bool = False


@dataclass(frozen=True)
class TensorSummary:
    shape: tuple
    dtype: str


def without_batch(summary, batch):
    if isinstance(summary, TensorSummary) and summary.shape and summary.shape[0] == batch:
        return summary.shape[1:]
    return None
