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

    scope: _TensorScope
    name: str
    span: Span


@dataclass(eq=False)
class _TensorScope:
    """The names one scope sees: constants and parameters, and its tensors."""

    env: dict  # constants and block parameters
    tensors: dict = field(default_factory=dict)  # name -> (value, span)
    used: set = field(default_factory=set)
    refs: list = field(default_factory=list)  # forward references to check at the end
    warn_key: object = None  # block definition span: warn once per definition, not per use
    locals_: set = field(default_factory=set)  # a block's own constants (`const` in its body)


@frozen
class _Block:
    definition: BlockDef
    env: dict  # the constants visible where it was defined


class Records:
    """The definitions of one lowering (definition.Definition): the top level's and each block's, read from the
    syntax tree when first asked for (record.py)."""

    def __init__(self, program, blocks: dict, env: dict):
        self._program = program
        self._blocks = blocks  # name -> lower.state._Block (the BlockDef and the constants visible there)
        self._env = env
        self._made: dict[int, object] = {}  # id(syntax) -> definition.Definition

    def top(self):
        return self._read(self._program, None)

    def block(self, name: str):
        block = self._blocks[name]
        return self._read(block.definition, block.env)

    def names(self) -> list[str]:
        return list(self._blocks)

    def syntax(self, name: str):
        """The block's definition as written (syntax.BlockDef) and the constants visible where it is defined, or
        None for a name no block has."""
        block = self._blocks.get(name)
        return None if block is None else (block.definition, block.env)

    def _read(self, syntax, env):
        made = self._made.get(id(syntax))
        if made is None:
            from .record import (
                definition_of,  # only export reads definitions: checking never imports it
            )

            made = self._made[id(syntax)] = definition_of(syntax, env if env is not None else self._env, self._blocks)
        return made
