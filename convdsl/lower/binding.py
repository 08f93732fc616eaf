"""A call's arguments bound to its kind's specs (through arguments.py), once per set of values they read."""

from __future__ import annotations

from .. import diagnostics as codes
from ..arguments import Argument, argument_tables
from ..diagnostics import Diagnostic
from ..evaluate import EvalError, evaluate
from ..fixes import Edit, Fix
from ..layers import LayerKind
from ..source import Span
from ..syntax import BinOp, BlockDef, Call, FuncCall, IfExpr, Literal, Name, TupleExpr, UnaryOp


class Binding:
    """Lowering's argument binding, as a mixin: it reports through Lowering.error."""

    def _bind(self, kind: LayerKind, call: Call, scope):
        """Arguments bound to the kind's specs: (values, tensor inputs, spans, explicit names).

        A call binds the same way wherever the names its arguments read have the same
        values: the copies of a block made with the same arguments share one result
        (never to be changed: it is each node's `args`), so they are bound once, and
        inference can tell equal layers by the identity of their `args`.
        """
        if not self.block_stack and not self.repeating:
            # Lowered once: nothing to remember of the call, and remembering every call of a long
            # network costs memory.
            return self._shared(kind, self._bind_now(kind, call, scope))
        names = self.call_names.get(id(call), _UNKNOWN)
        if names is _UNKNOWN:  # call is part of the syntax tree, alive while lowering: its id stays its own
            names = self.call_names[id(call)] = names_read(kind, call)
        key = _binding_key(call, names, scope.env) if names is not None else None
        if key is None:
            return self._shared(kind, self._bind_now(kind, call, scope))
        known = self.bound.get(key)
        if known is None:
            reported = len(self.diagnostics)
            known = self._shared(kind, self._bind_now(kind, call, scope))
            if known[0] is None or len(self.diagnostics) != reported:
                return known  # a failure, or a diagnostic: said again for every copy, as before
            self.bound[key] = known
        return known

    def _shared(self, kind: LayerKind, binding: tuple) -> tuple:
        """The binding with the builder's one `args` dict for equal values (NetworkBuilder.share_args)."""
        args, tensors, spans, explicit = binding
        if args is None:
            return binding
        shared = self.builder.share_args(kind, args, explicit)
        return binding if shared is args else (shared, tensors, spans, explicit)

    def _bind_now(self, kind: LayerKind, call: Call, scope):
        """The call's arguments checked through the catalogue, as the builder checks an importer's (arguments.py)."""
        positional, keywords = call_arguments(call)
        env = scope.env
        if (
            kind.torch_input_size
            and not kind.variadic
            and self._pytorch_order(kind, call, argument_tables(kind)[0], scope)
        ):
            return None, None, None, None

        def tensor_of(item):
            expr = item.value
            return (self._ref(expr.id, expr.span, scope), expr.id) if isinstance(expr, Name) else None

        return self.builder.bind(
            kind,
            call.name.id,
            call.span,
            positional,
            keywords,
            env=env,
            report_eval=self.from_eval,
            value_of=lambda item: self._value(item.value, env),
            tensor_of=tensor_of,
        )

    def _pytorch_order(self, kind: LayerKind, call: Call, positional, scope) -> bool:
        """`linear(100, 10)`: PyTorch's nn.Linear(in_features, out_features), where convdsl reads 10 as the bias.
        Reported (E008) with the call in convdsl's order as a fix; True if so."""
        if len(call.args) < 2 or len(positional) < 2 or positional[1].type != "bool":
            return False
        try:
            values = [self._value(expr, scope.env) for expr in call.args[:2]]
        except EvalError:
            return False
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return False
        first, second = call.args[0].span, call.args[1].span
        fix = Fix(
            f"drop the first argument, PyTorch's {kind.torch_input_size} ({values[0]})",
            (Edit(Span(first.path, first.line, first.column, second.line, second.column), ""),),
        )
        self.diagnostics.append(
            Diagnostic(
                codes.ARGUMENT_TYPE,
                second,
                f"`{positional[1].name}` must be true or false, got {values[1]}: "
                f"`{call.name.id}({values[0]}, {values[1]})` looks like PyTorch's order ({kind.torch_input_size}, "
                f"{positional[0].name})",
                "a number where a boolean goes",
                f"convdsl infers {kind.torch_input_size} from the tensor; its arguments start with {positional[0].name}",
                fixes=(fix,),
            )
        )
        return True

    def _value(self, expr, env):
        return evaluate(expr, env)


def call_arguments(call: Call) -> tuple[list[Argument], list[Argument]]:
    """A call's positional and keyword arguments, as arguments.bind takes them (their values: expressions)."""
    positional = [Argument(expr, expr.span) for expr in call.args]
    keywords = [Argument(kw.value, kw.span, kw.value.span, kw.name.id, kw.name.span) for kw in call.kwargs]
    return positional, keywords


_UNKNOWN = object()
_ABSENT = object()


def names_read(kind: LayerKind, call: Call) -> tuple | None:
    """The names a call's argument values read; None where its binding depends on more (tensor arguments, a
    shape read)."""
    if kind.variadic or any(spec.type == "tensor" for spec in kind.args):
        return None
    names = expression_names([*call.args, *(kw.value for kw in call.kwargs)])
    return tuple(sorted(names)) if names is not None else None


def expression_names(expressions) -> set | None:
    """The names the expressions read; None where one reads a shape (`in.shape[d]`: its value is not in the
    names it reads). Without recursion (expressions nest deep)."""
    names: set = set()
    pending = list(expressions)
    while pending:
        expr = pending.pop()
        if isinstance(expr, Name):
            names.add(expr.id)
        elif isinstance(expr, TupleExpr):
            pending.extend(expr.items)
        elif isinstance(expr, BinOp):
            pending += (expr.left, expr.right)
        elif isinstance(expr, UnaryOp):
            pending.append(expr.operand)
        elif isinstance(expr, IfExpr):
            pending += (expr.condition, expr.then, expr.otherwise)
        elif isinstance(expr, FuncCall):
            pending.extend(expr.args)
        elif not isinstance(expr, Literal):
            return None
    return names


def _binding_key(call: Call, names: tuple, env: dict) -> tuple | None:
    """(id(call), the values of its names), or None for a value that does not key safely.

    Ints and strings stand for themselves; a bool, float or None is tagged with its
    type (True == 1 == 1.0 as keys, but not as arguments); anything else is not keyed.
    """
    key = [id(call)]
    for name in names:
        value = env.get(name, _ABSENT)
        kind = type(value)
        if kind is int or kind is str:
            key.append(value)
        elif kind is bool or kind is float or value is None or value is _ABSENT:
            key.append((kind, value))
        else:
            return None
    return tuple(key)


def _block_signature(definition: BlockDef) -> str:
    parts = []
    for p in definition.params:
        text = p.name.id + (f": {p.type.id}" if p.type else "")
        parts.append(text if p.default is None else f"{text}=...")
    return f"usage: {definition.name.id}({', '.join(parts)})"
