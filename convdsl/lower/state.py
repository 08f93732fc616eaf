"""The records lowering keeps while it walks: tensors, forward references, blocks."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..records import frozen
from ..source import Span
from ..syntax import BlockDef


class _Abort(Exception):
    """A limit was hit: stop lowering, keep what was reported."""


@dataclass(eq=False)
class _Deferred:
    """A tensor used before (or without) its definition in `scope`."""

    scope: "_TensorScope"
    name: str
    span: Span


@dataclass(eq=False)
class _TensorScope:
    env: dict  # constants and block parameters
    tensors: dict = field(default_factory=dict)  # name -> (value, span)
    used: set = field(default_factory=set)
    refs: list = field(default_factory=list)  # forward references to check at the end
    warn_key: object = None  # block definition span: warn once per definition, not per use


@frozen
class _Block:
    definition: BlockDef
    env: dict  # the constants visible where it was defined
