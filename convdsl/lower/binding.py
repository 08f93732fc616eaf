"""A call's arguments bound to its kind's specs: matched, evaluated, checked and coerced."""
from __future__ import annotations

from .. import diagnostics as codes
from ..diagnostics import did_you_mean
from ..evaluate import EvalError, Symbol, describe, evaluate, undefined
from ..layers import Arg, LayerKind
from ..source import Span
from ..syntax import BinOp, BlockDef, Call, IfExpr, Literal, Name, TupleExpr, UnaryOp


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
            return self._equal_args(kind, self._bind_now(kind, call, scope))
        names = self.call_names.get(id(call), _UNKNOWN)
        if names is _UNKNOWN:  # call is part of the syntax tree, alive while lowering: its id stays its own
            names = self.call_names[id(call)] = _names_read(kind, call)
        key = _binding_key(call, names, scope.env) if names is not None else None
        if key is None:
            return self._equal_args(kind, self._bind_now(kind, call, scope))
        known = self.bound.get(key)
        if known is None:
            reported = len(self.diagnostics)
            known = self._equal_args(kind, self._bind_now(kind, call, scope))
            if known[0] is None or len(self.diagnostics) != reported:
                return known  # a failure, or a diagnostic: said again for every copy, as before
            self.bound[key] = known
        return known

    def _equal_args(self, kind: LayerKind, binding: tuple) -> tuple:
        """The binding with one `args` dict for all layers of a kind with equal values and equally
        written arguments (`relu`, every `bn` before a 3x3 convolution...), wherever they were called."""
        args, tensors, spans, explicit = binding
        if args is None:
            return binding
        try:  # types too: True == 1 == 1.0 as keys, not as arguments
            key = (kind.name, explicit, *[(name, type(value), value) for name, value in args.items()])
            shared = self.args.setdefault(key, args)
        except TypeError:  # a value that cannot be a key
            return binding
        return binding if shared is args else (shared, tensors, spans, explicit)

    def _bind_now(self, kind: LayerKind, call: Call, scope):
        ok = True
        given: dict[str, tuple] = {}  # spec name -> (expr, span)
        tensors = []
        positional, by_name, specs = _argument_tables(kind)
        if kind.variadic:
            for expr in call.args:
                if not isinstance(expr, Name):
                    self.error(codes.ARGUMENT_TYPE, expr.span, f"{call.name.id} takes tensor names, not values",
                               "not a tensor name", f"name the tensor first: `t = ...` then `{call.name.id}(t)`")
                    ok = False
                    continue
                tensors.append(self._ref(expr.id, expr.span, scope))
        else:
            for i, expr in enumerate(call.args):
                if i >= len(positional):
                    most = ("takes no positional arguments" if not positional else
                            f"takes at most {len(positional)} positional argument{'s' if len(positional) != 1 else ''}")
                    self.error(codes.TOO_MANY_ARGUMENTS, expr.span,
                               f"{call.name.id} {most}, got {len(call.args)}", "extra argument",
                               _signature(call.name.id, kind.args))
                    ok = False
                    break
                given[positional[i].name] = (expr, expr.span)
        for kw in call.kwargs:
            spec = by_name.get(kw.name.id)
            if spec is None:
                self.error(codes.UNKNOWN_ARGUMENT, kw.name.span, f"{call.name.id} has no argument `{kw.name.id}`",
                           "unknown argument",
                           did_you_mean(kw.name.id, by_name) or _signature(call.name.id, kind.args))
                ok = False
                continue
            if spec.name in given:
                self.error(codes.DUPLICATE_DEFINITION, kw.name.span, f"argument `{spec.name}` is given twice",
                           "given again here")
                ok = False
                continue
            given[spec.name] = (kw.value, kw.span)
        bound, spans = {}, {}
        for name, spec, required, default in specs:
            if name not in given:
                if required:
                    self.error(codes.MISSING_ARGUMENT, call.span,
                               f"{call.name.id} needs `{spec.name}`", f"`{spec.name}` missing",
                               _signature(call.name.id, kind.args))
                    ok = False
                bound[name] = default
                continue
            expr, span = given[name]
            spans[name] = span
            if spec.type == "tensor":
                if not isinstance(expr, Name):
                    self.error(codes.ARGUMENT_TYPE, expr.span, f"`{spec.name}` takes a tensor name",
                               "not a tensor name")
                    ok = False
                    continue
                tensors.append(self._ref(expr.id, expr.span, scope))
                bound[spec.name] = expr.id
                continue
            try:
                bound[name] = _coerce(spec, self._value(expr, scope.env), expr.span, scope.env)
            except EvalError as err:
                self.from_eval(err)
                ok = False
        if not ok:
            return None, None, None, None
        return bound, tensors, spans, frozenset(given)

    def _value(self, expr, env):
        return evaluate(expr, env)


_ARGUMENT_TABLES: dict = {}


def _argument_tables(kind: LayerKind) -> tuple[list, dict, tuple]:
    """A kind's positional argument specs, its specs by name and alias, and (name, spec, required, value if
    not given) for each; made once per kind."""
    tables = _ARGUMENT_TABLES.get(kind)
    if tables is None:
        by_name = {}
        for spec in kind.args:
            for alias in (spec.name, *spec.aliases):
                by_name[alias] = spec
        specs = tuple((spec.name, spec, spec.required, None if spec.required else spec.default) for spec in kind.args)
        tables = _ARGUMENT_TABLES[kind] = ([a for a in kind.args if a.positional], by_name, specs)
    return tables


_UNKNOWN = object()
_ABSENT = object()


def _names_read(kind: LayerKind, call: Call) -> tuple | None:
    """The names a call's argument values read; None where its binding depends on more (tensor arguments)."""
    if kind.variadic or any(spec.type == "tensor" for spec in kind.args):
        return None
    names: set = set()
    pending = [*call.args, *(kw.value for kw in call.kwargs)]
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
        elif not isinstance(expr, Literal):
            return None
    return tuple(sorted(names))


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


def _coerce(spec: Arg, value, span: Span, env):
    """Check a value against an argument's type; return it in canonical form."""
    t = spec.type
    if type(value) is int and t in ("int", "ints", "padding"):  # the usual argument, as it is
        return value

    def fail(expected):
        if isinstance(value, Symbol) and t not in ("str", "padding"):
            raise undefined(value, env)
        raise EvalError(codes.ARGUMENT_TYPE, f"`{spec.name}` must be {expected}, got {describe(value)}", span,
                        f"expected {expected}")

    def is_int(v):
        return isinstance(v, int) and not isinstance(v, bool)

    if value is None:
        return None
    if t == "int":
        return value if is_int(value) else fail("an integer")
    if t == "ints":
        if is_int(value):
            return value
        if isinstance(value, tuple) and value and all(is_int(v) for v in value):
            return value
        return fail("an integer or one per axis, e.g. `3` or `(3, 1)`")
    if t == "padding":
        if is_int(value) or (isinstance(value, tuple) and value and all(is_int(v) for v in value)):
            return value
        if isinstance(value, str) and value in ("same", "valid"):
            return str(value)
        if isinstance(value, Symbol):
            raise EvalError(codes.ARGUMENT_TYPE, f"`{spec.name}` must be a size, 'same' or 'valid', got `{value}`",
                            span, "unknown padding", did_you_mean(value, ("same", "valid")))
        return fail("a size, one per axis, 'same' or 'valid'")
    if t == "bool":
        return value if isinstance(value, bool) else fail("true or false")
    if t == "float":
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else fail("a number")
    if t == "floats":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, tuple) and value and all(isinstance(v, (int, float)) for v in value):
            return tuple(float(v) for v in value)
        return fail("a number or one per axis")
    if t == "dims":
        if is_int(value):
            return (value,)
        if isinstance(value, tuple) and value and all(is_int(v) for v in value):
            return value
        return fail("a size or a tuple of sizes")
    if t == "str":
        if isinstance(value, str) and (not spec.choices or value in spec.choices):
            return str(value)
        if isinstance(value, str):
            raise EvalError(codes.ARGUMENT_TYPE, f"`{spec.name}` must be one of {', '.join(spec.choices)}; "
                            f"got `{value}`", span, "not a choice", did_you_mean(value, spec.choices))
        return fail("one of " + ", ".join(spec.choices))
    raise AssertionError(t)


def _signature(name: str, args) -> str:
    parts = []
    for a in args:
        text = a.name if a.required else f"{a.name}={_default(a.default)}"
        parts.append(text if a.positional else text)
    return f"usage: {name}({', '.join(parts)})"


def _default(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _block_signature(definition: BlockDef) -> str:
    parts = []
    for p in definition.params:
        text = p.name.id + (f": {p.type.id}" if p.type else "")
        parts.append(text if p.default is None else f"{text}=...")
    return f"usage: {definition.name.id}({', '.join(parts)})"
