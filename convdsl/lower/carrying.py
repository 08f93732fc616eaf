"""Block instances and repeat copies stamped from the lowering of the text before (an editor's next version).

An editor's analysis lowers the whole file again after most edits, though the edit changed one line: for
ResNet-152 written with blocks, most of lowering is its 50 bottleneck instances, and the 8 of them that are
not copies of another (each repeat's first copy, each `down=true` instance) are walked from their syntax.
What such a walk left behind is recorded as a template (stamping.py), position-independent: the next version,
meeting the same syntax in the same context, stamps the instance from it instead of walking it.

The same context: a template was made by lowering one syntax element (a block call, or a repeat's copy) with
- the element as it is now: its text, at the same place (a call on a line the edit moved is not the same
  element);
- the constants it was lowered with (`scope.env`: the top level's, or the block instance's) equal, with the
  same types (True == 1 == 1.0, but not as arguments);
- inside the same blocks (a block's body is lowered once per instance, in whatever blocks call it: the
  template's layers keep the block path they were made with);
- every block defined alike, with equal constants where it was defined (blocks compare once per lowering),
  under the same limits (the nesting depth, the layers and steps allowed);
and what it read of its surroundings was only the tensor flowing in (else `_template` refuses, as for a
repeat's later copies). A copy that said nothing only because a copy before it had said it (an unused tensor
in a block, warned once) is a template for later copies, not for a first one: it is not carried. Names,
repeat ids and the tensor flowing in are given by the stamp, as lowering gives them.
tests/test_lowering_carry.py holds it to lowering afresh, on edits of every file in the repository.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..arguments import same_value
from ..evaluate import SHAPES
from ..model import Limits


@dataclass
class Carry:
    """What one lowering leaves for the lowering of the file's next text: its templates and its blocks."""

    limits: Limits  # what it was lowered under (a template is stamped only under the same)
    blocks: dict  # name -> (its definition as written (_written), its constants without SHAPES)
    # syntax element as written -> (the constants it was lowered with, without SHAPES; the blocks it was nested
    # in; its template)
    templates: dict


class Carrying:
    """Lowering's templates carried from the lowering before, as a mixin (used by repeats.py and blocks)."""

    carried: Carry | None = None  # the lowering before's (None: no editor, or nothing to carry)
    carrying: dict | None = None  # the templates this lowering leaves (None: it leaves none)
    _carried_valid: bool | None = None  # whether the blocks are as they were (found at the first lookup)

    def _carried_template(self, element, env: dict, blocks: tuple):
        """The template of `element` lowered with `env` inside `blocks` (the blocks it is nested in, outermost
        first: the layers' block paths are the template's own) in the lowering before, or None."""
        carried = self.carried
        if carried is None or not self.stamping:
            return None
        if self._carried_valid is None:
            self._carried_valid = (
                carried.limits == self.limits and self.blocks.keys() == carried.blocks.keys()
            ) and all(
                definition == self._written(self.blocks[name].definition)
                and _same_env(constants, self.blocks[name].env)
                for name, (definition, constants) in carried.blocks.items()
            )
        if not self._carried_valid:
            return None
        found = carried.templates.get(self._written(element))
        if found is None or found[1] != blocks or not _same_env(found[0], env):
            return None
        return found[2]

    def _carry(self, element, env: dict, blocks: tuple, template) -> None:
        """Leave `template` (of `element`, lowered with `env` inside `blocks`) for the next lowering."""
        if self.carrying is not None and template is not None and not template.withheld:
            key = self._written(element)
            if key is not None:
                self.carrying[key] = (_without_shapes(env), blocks, template)

    def _written(self, syntax) -> tuple | None:
        """A syntax element as written: its kind, place and text. Syntax trees compare by identity (syntax.py);
        the same text at the same place parses to the same tree, spans included."""
        span = syntax.span
        source = self.sources.get(span.path)
        if source is None:
            return None
        text = source.text[source.offset(span.line, span.column) : source.offset(span.end_line, span.end_column)]
        return (type(syntax), span.path, span.line, span.column, span.end_line, span.end_column, text)

    def _carried_block(self, call, current, scope, names):
        """A block call (unlabelled): stamped from the lowering before's template of it, else lowered and
        recorded, for the next lowering."""
        template = self._carried_template(call, scope.env, names.block_path)
        if template is not None and current:
            stamped = self._stamp(template, current, names, call.span)
            if stamped is not None:
                self.stamped += 1
                self._carry(call, scope.env, names.block_path, template)
                return stamped
        mark = self._mark()
        self.recording += 1
        try:
            result = self._block(call, current, scope, names, None)
        finally:
            self.recording -= 1
        self._carry(call, scope.env, names.block_path, self._template(mark, names, current, result))
        if not self.recording:  # the logs serve the copy being recorded, and those around it
            self.claims.clear()
            self.reads.clear()
        return result

    def carry(self) -> Carry | None:
        """What this lowering leaves for the next (None where it leaves nothing)."""
        if self.carrying is None:
            return None
        blocks = {
            name: (self._written(block.definition), _without_shapes(block.env)) for name, block in self.blocks.items()
        }
        return Carry(self.limits, blocks, dict(self.carrying))


def _without_shapes(env: dict) -> dict:
    return {name: value for name, value in env.items() if name != SHAPES}


def _same_env(constants: dict, env: dict) -> bool:
    """Whether `env` (SHAPES aside) holds the same constants, with the same types all the way down."""
    if len(constants) != len(env) - (SHAPES in env):
        return False
    for name, value in constants.items():
        other = env.get(name, _ABSENT)
        if other is _ABSENT or not same_value(value, other):
            return False
    return True


_ABSENT = object()
