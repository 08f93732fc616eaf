"""Block instances and repeat copies stamped from the lowering of the text before (an editor's next version).

An editor's analysis lowers the whole file again after most edits, though the edit changed one line: for
ResNet-152 written with blocks, most of lowering is its 50 bottleneck instances, and the 8 of them that are
not copies of another (each repeat's first copy, each `down=true` instance) are walked from their syntax.
What such a walk left behind is recorded as a template (stamping.py), position-independent: the next version,
meeting the same syntax in the same context, stamps the instance from it instead of walking it.

The same context: a template was made by lowering one syntax element (a block call, or a repeat's copy) with
- the element as it is now: the same kind of syntax, with the same text, in the same file; wherever it is
  (a line broken or put in before it moves it): the places the template holds in it are moved with it;
- the constants it was lowered with (`scope.env`: the top level's, or the block instance's) equal, with the
  same types (True == 1 == 1.0, but not as arguments);
- inside the same blocks (a block's body is lowered once per instance, in whatever blocks call it: the
  template's layers keep the block path they were made with);
- every block defined alike (the same text, wherever it is: a definition moved moves the places in it the
  templates hold), with equal constants where it was defined (blocks compare once per lowering), under the
  same limits (the nesting depth, the layers and steps allowed);
and what it read of its surroundings was only the tensor flowing in (else `_template` refuses, as for a
repeat's later copies). Nothing else in a template depends on where it was: the names it made are split by
claim and given by the stamp, and so are repeat ids and the tensor flowing in. So where one text was lowered
at several places (`b(4)` twice), the template of any of them with the same constants and blocks serves.
A copy that said nothing only because a copy before it had said it (an unused tensor in a block, warned
once) is a template for later copies, not for a first one: it is not carried.
tests/test_lowering_carry.py holds it to lowering afresh, on edits of every file in the repository: numbers,
and line breaks and lines put in or taken out.
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
    blocks: dict  # name -> (its definition as written (_written), where it was, its constants without SHAPES)
    templates: dict  # syntax element as written (_written) -> {where it was (Span) -> _Carried}


@dataclass
class _Carried:
    """One template, and what it was made with."""

    env: dict  # the constants it was lowered with, without SHAPES
    blocks: tuple  # the blocks it was nested in
    depth: int  # the scopes of names it was nested in (lowering limits their nesting: --max-depth)
    template: object  # stamping._Template

    def fits(self, env: dict, names) -> bool:
        return self.blocks == names.block_path and self.depth == names.depth and _same_env(self.env, env)


# Places with the same text tried for a template, beyond the element's own: a file that writes one call at a
# thousand places must not compare each of them with all the others.
MAX_PLACES = 4


class Carrying:
    """Lowering's templates carried from the lowering before, as a mixin (used by repeats.py and blocks)."""

    carried: Carry | None = None  # the lowering before's (None: no editor, or nothing to carry)
    carrying: dict | None = None  # the templates this lowering leaves (None: it leaves none)
    _carried_valid: bool | None = None  # whether the blocks are as they were (found at the first lookup)
    _definitions_moved: tuple = ()  # (where a block's definition was, where it is) for each one that moved

    def _carried_template(self, element, env: dict, names):
        """The template of `element` lowered with `env` in `names` (the same blocks it is nested in, outermost
        first: the layers' block paths are the template's own; as deep) in the lowering before, its places moved
        to where the element and the blocks are now; or None."""
        carried = self.carried
        if carried is None or not self.stamping:
            return None
        if self._carried_valid is None:
            self._carried_valid = self._blocks_alike(carried)
        if not self._carried_valid:
            return None
        places = carried.templates.get(self._written(element))
        if not places:
            return None
        here = element.span
        found = places.get(here)
        was = here
        if found is None or not found.fits(env, names):
            found, tried = None, 0
            for place, candidate in places.items():
                if place == here:
                    continue
                if tried == MAX_PLACES:
                    break
                tried += 1
                if candidate.fits(env, names):
                    found, was = candidate, place
                    break
            if found is None:
                return None
        moves = self._definitions_moved + (((was, here),) if was != here else ())
        return found.template.moved(_Mover(moves)) if moves else found.template

    def _blocks_alike(self, carried: Carry) -> bool:
        """Whether the blocks are defined as they were, under the same limits (noting the definitions that
        moved)."""
        if carried.limits != self.limits or self.blocks.keys() != carried.blocks.keys():
            return False
        moved = []
        for name, (written, was, constants) in carried.blocks.items():
            block = self.blocks[name]
            if written != self._written(block.definition) or not _same_env(constants, block.env):
                return False
            if was != block.definition.span:
                moved.append((was, block.definition.span))
        self._definitions_moved = tuple(moved)
        return True

    def _carry(self, element, env: dict, names, template) -> None:
        """Leave `template` (of `element`, lowered with `env` in `names`) for the next lowering."""
        if self.carrying is not None and template is not None and not template.withheld:
            key = self._written(element)
            if key is not None:
                places = self.carrying.get(key)
                if places is None:
                    places = self.carrying[key] = {}
                places[element.span] = _Carried(_without_shapes(env), names.block_path, names.depth, template)

    def _written(self, syntax) -> tuple | None:
        """A syntax element as written, wherever it is: its kind, file and text. Syntax trees compare by
        identity (syntax.py); the same text parses to the same tree, but for its places."""
        span = syntax.span
        source = self.sources.get(span.path)
        if source is None:
            return None
        text = source.text[source.offset(span.line, span.column) : source.offset(span.end_line, span.end_column)]
        return (type(syntax), span.path, text)

    def _carried_block(self, call, current, scope, names):
        """A block call (unlabelled): stamped from the lowering before's template of it, else lowered and
        recorded, for the next lowering."""
        template = self._carried_template(call, scope.env, names)
        if template is not None and current:
            stamped = self._stamp(template, current, names, call.span)
            if stamped is not None:
                self.stamped += 1
                self._carry(call, scope.env, names, template)
                return stamped
        mark = self._mark()
        self.recording += 1
        try:
            result = self._block(call, current, scope, names, None)
        finally:
            self.recording -= 1
        self._carry(call, scope.env, names, self._template(mark, names, current, result))
        if not self.recording:  # the logs serve the copy being recorded, and those around it
            self.claims.clear()
            self.reads.clear()
        return result

    def carry(self) -> Carry | None:
        """What this lowering leaves for the next (None where it leaves nothing)."""
        if self.carrying is None:
            return None
        blocks = {
            name: (self._written(block.definition), block.definition.span, _without_shapes(block.env))
            for name, block in self.blocks.items()
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


class _Mover:
    """Places of the text before as they are in this one, for syntax that moved whole: each (where it was,
    where it is) pair moves what lies inside it. The text inside is the same, so a place on its first line
    moves by the line and column it moved by, and a place on a later line by the lines only."""

    def __init__(self, moves: tuple):
        self.moves = moves

    def __call__(self, span):
        for was, now in self.moves:
            if (
                span.path == was.path
                and (was.line, was.column) <= (span.line, span.column)
                and (span.end_line, span.end_column) <= (was.end_line, was.end_column)
            ):
                lines, columns = now.line - was.line, now.column - was.column
                return type(span)(
                    span.path,
                    span.line + lines,
                    span.column + (columns if span.line == was.line else 0),
                    span.end_line + lines,
                    span.end_column + (columns if span.end_line == was.line else 0),
                )
        return span
