"""A class under construction: the tensors flowing, the child modules, the constructor's parameters."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ..layers.pyexpr import Py


@dataclass
class Tensor:
    expr: str  # the forward variable that holds it
    channels: Py


@dataclass(eq=False)
class Child:
    """A child module of a container (or, for merges and crops, the position they take)."""

    key: str  # the convdsl name: `conv1`, `0`, `downsample`
    ctor: object = None  # Ctor of its module
    container: Container | None = None  # a labelled group
    cond: Py | None = None  # a parameter-dependent condition it exists under
    flag: Py | None = None  # a condition forward tests, kept as an attribute
    functional: bool = False


@dataclass(eq=False)
class Container:
    """A scope of child modules: a class body, or a labelled group (nn.Sequential / nn.ModuleDict)."""

    positional: bool
    children: list = field(default_factory=list)
    pure: bool = True  # every element is a module applied to the one tensor flowing through: a Sequential
    dynamic: bool = False  # some children exist under a condition
    labelled: bool = False  # some children have names, not positions
    positions: dict = field(default_factory=lambda: defaultdict(int))  # use -> next position


@dataclass(frozen=True)
class FlagRef:
    child: Child


@dataclass
class Cx:
    """Where the walk is: the container, its path from the class, the uses it applies to."""

    container: Container
    path: tuple
    uses: tuple
    cond: Py | None
    sink: list  # forward statements
    targets: list  # the variables of the chain being written


@dataclass
class Param:
    name: str  # in Python
    default: str | None = None
    tensor: str | None = None  # the channel count of this tensor (`in` or a tensor parameter)
    source: str | None = None  # the convdsl parameter
    used: bool = True  # a channel count no layer needs is left out of the signature
    keyword_only: bool = False  # after a parameter with a default, one without (convdsl allows it)


@dataclass
class ClassCode:
    name: str
    base: str
    params: list  # Param, in the constructor's order
    init: list  # __init__'s body lines, indented for a method
    forward: list | None  # forward's lines (def included), None for a Sequential
    inputs: tuple  # convdsl tensors forward takes: `in`, then tensor parameters
    out_channels: Py
    definition: object
    helpers: set = field(default_factory=set)
    functional: set = field(default_factory=set)  # nodes written as expressions, not modules
    prepadded: set = field(default_factory=set)  # modules whose input goes through F.pad first
    note: str = ""  # why a block is written per use

    def param(self, tensor: str | None = None, source: str | None = None) -> Param | None:
        for p in self.params:
            if (tensor is not None and p.tensor == tensor) or (source is not None and p.source == source):
                return p
        return None

    def signature(self) -> list:
        return [p for p in self.params if p.used]


FORWARD_RESERVED = {"self", "torch", "nn", "F", "crop", "center_crop", "float", "getattr"}
INIT_RESERVED = {"self", "torch", "nn", "F", "super", "float"}
