"""A repeat's expansion, `element * N` and `element * N as i`: its count checked, its copies made in turn."""

from __future__ import annotations

from .. import diagnostics as codes
from ..evaluate import EvalError, Symbol, describe, evaluate, undefined
from ..model import Scope
from ..syntax import Repeat
from .state import _Abort


class Repeats:
    """Lowering's repeats, as a mixin: it expands each copy through Lowering._element."""

    def _repeat(self, element: Repeat, current, scope, names):
        count = self._count(element, scope)
        if count is None:
            return None
        index_name = self._repeat_index(element, scope)
        if index_name is False:
            return None
        outer_env = scope.env
        if index_name is not None:
            # the index lives in a copy of the scope's constants: the blocks defined with those constants
            # must not see it (a block reads it through a parameter)
            scope.env = dict(outer_env)
        try:
            return self._copies(element, count, index_name, current, scope, names)
        finally:
            scope.env = outer_env

    def _copies(self, element: Repeat, count: int, index_name, current, scope, names):
        before = self.builder.layer_count
        self.repeats += 1
        repeat_id = f"#{self.repeats}"
        enclosing = self.first_copies
        record = self.stamping and index_name is None  # copies without an index may be stamped (stamping.py)
        # a copy lowered, as the next ones are stamped from; the first too, if the lowering before left one
        # (carrying.py)
        template = self._carried_template(element, scope.env, names) if record else None
        for index in range(count):
            self.first_copies = enclosing * count if index == 0 else enclosing
            self.repeating += 1
            if index_name is not None:
                scope.env[index_name] = index  # `* N as i`: this copy's number, read by its arguments
            try:
                with self._scope(Scope(repeat_id, "repeat", index=index, count=count)):
                    stamped = (
                        self._stamp(template, current, names, element.span)
                        if template is not None and current
                        else None
                    )
                    if stamped is not None:
                        current = stamped
                        self.stamped += 1
                    elif record:
                        current, template = self._recorded(element, current, scope, names)
                    else:
                        current = self._element(element.element, current, scope, names)
            finally:
                self.first_copies = enclosing
                self.repeating -= 1
            if index == 0:
                # Project the expansion from the first copy, so a huge count fails at once.
                projected = before + (self.builder.layer_count - before) * count * enclosing
                if projected > self.limits.max_layers:
                    self.error(
                        codes.LIMIT_EXCEEDED,
                        element.span,
                        f"this repeat expands the network to {'at least ' if enclosing > 1 else ''}"
                        f"{projected:,} layers, more than the limit of {self.limits.max_layers:,}",
                        f"{count:,} copies",
                        "check the repeat count, or raise the limit with --max-layers",
                    )
                    raise _Abort
                if self.builder.layer_count == before and index_name is None:
                    # A copy that makes no layer passes its input on, or a fixed tensor, or fails: every
                    # copy would give the same, and a million failing copies would take minutes to say so.
                    # (Not with an index: each copy may differ, and the step budget bounds them.)
                    break
        if record:
            self._carry(element, scope.env, names, template)
        return current

    def _recorded(self, element: Repeat, current, scope, names):
        """A copy lowered, and what it left behind if the next can be stamped from it (else None)."""
        mark = self._mark()
        self.recording += 1
        try:
            result = self._element(element.element, current, scope, names)
        finally:
            self.recording -= 1
        template = self._template(mark, names, current, result)
        if not self.recording:  # the logs serve the copy being recorded, and those around it
            self.claims.clear()
            self.reads.clear()
        return result, template

    def _count(self, element: Repeat, scope):
        try:
            count = evaluate(element.count, scope.env)
        except EvalError as err:
            self.from_eval(err)
            return None
        if isinstance(count, Symbol):
            self.from_eval(undefined(count, scope.env))
            return None
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= self.limits.max_repeat:
            self.error(
                codes.REPEAT_COUNT,
                element.count.span,
                f"a repeat count must be an integer from 1 to {self.limits.max_repeat:,}, got {describe(count)}",
                "repeat count",
                "use `if` to leave an element out" if count == 0 else None,
            )
            return None
        return count
