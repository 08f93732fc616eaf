"""A layer's arguments bound to its kind's specs (layers.Arg): matched, checked, coerced, defaults filled in.

The one place a call's arguments are checked, whoever makes the call: lowering
(a `.cdsl` call, whose values are expressions to evaluate) and the public
builder (an importer's values, given as they are). Both get the same
diagnostics, reported through the caller's `report`.
"""

from __future__ import annotations

from . import diagnostics as codes
from .diagnostics import did_you_mean
from .evaluate import EvalError, Symbol, describe, undefined
from .layers import Arg, LayerKind
from .records import frozen
from .source import Span


@frozen
class Argument:
    """One argument as given: what gives its value, where it is written, and its keyword if it has one.

    `value` is whatever the caller's `value_of` turns into a value (lowering: an
    expression; the builder: the value itself). `span` covers the whole argument
    (`stride=2`), `value_span` its value (`2`), `name_span` its keyword (`stride`).
    """

    value: object
    span: Span | None = None
    value_span: Span | None = None
    name: str | None = None
    name_span: Span | None = None


def bind(
    kind: LayerKind, written: str, call_span, positional, keywords, *, env, report, report_eval, value_of, tensor_of
):
    """(bound values by spec name, tensor inputs, spans of the given arguments, names given), or four Nones
    after reporting why not.

    positional, keywords: Argument. value_of(given) -> its value (may raise EvalError); tensor_of(given) ->
    (tensor, its name) for a given that names a tensor, else None. report(code, span, message, label, help)
    and report_eval(EvalError) take the diagnostics; env (names -> values) offers near names for typos.
    """
    ok = True
    given: dict[str, Argument] = {}  # spec name -> the argument
    tensors = []
    by_position, by_name, specs = argument_tables(kind)
    if kind.variadic:
        for item in positional:
            found = tensor_of(item)
            if found is None:
                report(
                    codes.ARGUMENT_TYPE,
                    _value_span(item),
                    f"{written} takes tensor names, not values",
                    "not a tensor name",
                    f"name the tensor first: `t = ...` then `{written}(t)`",
                )
                ok = False
                continue
            tensors.append(found[0])
    else:
        for i, item in enumerate(positional):
            if i >= len(by_position):
                most = (
                    "takes no positional arguments"
                    if not by_position
                    else f"takes at most {len(by_position)} positional argument{'s' if len(by_position) != 1 else ''}"
                )
                report(
                    codes.TOO_MANY_ARGUMENTS,
                    _value_span(item),
                    f"{written} {most}, got {len(positional)}",
                    "extra argument",
                    signature(written, kind.args),
                )
                ok = False
                break
            given[by_position[i].name] = item
    for item in keywords:
        spec = by_name.get(item.name)
        if spec is None:
            report(
                codes.UNKNOWN_ARGUMENT,
                item.name_span,
                f"{written} has no argument `{item.name}`",
                "unknown argument",
                did_you_mean(item.name, by_name) or signature(written, kind.args),
            )
            ok = False
            continue
        if spec.name in given:
            report(
                codes.DUPLICATE_DEFINITION,
                item.name_span,
                f"argument `{spec.name}` is given twice",
                "given again here",
                None,
            )
            ok = False
            continue
        given[spec.name] = item
    bound, spans = {}, {}
    for name, spec, required, default in specs:
        item = given.get(name)
        if item is None:
            if required:
                report(
                    codes.MISSING_ARGUMENT,
                    call_span,
                    f"{written} needs `{spec.name}`",
                    f"`{spec.name}` missing",
                    signature(written, kind.args),
                )
                ok = False
            bound[name] = default
            continue
        spans[name] = item.span
        if spec.type == "tensor":
            found = tensor_of(item)
            if found is None:
                report(
                    codes.ARGUMENT_TYPE,
                    _value_span(item),
                    f"`{spec.name}` takes a tensor name",
                    "not a tensor name",
                    None,
                )
                ok = False
                continue
            tensors.append(found[0])
            bound[name] = found[1]
            continue
        try:
            bound[name] = coerce(spec, value_of(item), _value_span(item), env)
        except EvalError as err:
            report_eval(err)
            ok = False
    if not ok:
        return None, None, None, None
    return bound, tensors, spans, frozenset(given)


def same_value(a, b) -> bool:
    """Equal, with the same types all the way down: True == 1 == 1.0, but not as arguments (a layer given 1
    where a boolean goes is told so), nor as constants they are computed from."""
    if type(a) is not type(b) or a != b:
        return False
    if type(a) is dict:
        return all(same_value(value, b[key]) for key, value in a.items())
    if type(a) is tuple or type(a) is list:
        return all(same_value(x, y) for x, y in zip(a, b))
    return True


def _value_span(item: Argument):
    return item.value_span if item.value_span is not None else item.span


_TABLES: dict = {}


def argument_tables(kind: LayerKind) -> tuple[list, dict, tuple]:
    """A kind's positional argument specs, its specs by name and alias, and (name, spec, required, value if
    not given) for each; made once per kind."""
    tables = _TABLES.get(kind)
    if tables is None:
        by_name = {}
        for spec in kind.args:
            for alias in (spec.name, *spec.aliases):
                by_name[alias] = spec
        specs = tuple((spec.name, spec, spec.required, None if spec.required else spec.default) for spec in kind.args)
        tables = _TABLES[kind] = ([a for a in kind.args if a.positional], by_name, specs)
    return tables


def coerce(spec: Arg, value, span: Span, env):
    """Check a value against an argument's type; return it in canonical form."""
    t = spec.type
    if type(value) is int and t in ("int", "ints", "padding"):  # the usual argument, as it is
        return value

    def fail(expected):
        if isinstance(value, Symbol) and t not in ("str", "padding"):
            raise undefined(value, env)
        raise EvalError(
            codes.ARGUMENT_TYPE,
            f"`{spec.name}` must be {expected}, got {describe(value)}",
            span,
            f"expected {expected}",
        )

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
            raise EvalError(
                codes.ARGUMENT_TYPE,
                f"`{spec.name}` must be a size, 'same' or 'valid', got `{value}`",
                span,
                "unknown padding",
                did_you_mean(value, ("same", "valid")),
            )
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
            raise EvalError(
                codes.ARGUMENT_TYPE,
                f"`{spec.name}` must be one of {', '.join(spec.choices)}; got `{value}`",
                span,
                "not a choice",
                did_you_mean(value, spec.choices),
            )
        return fail("one of " + ", ".join(spec.choices))
    raise AssertionError(t)


def signature(name: str, args) -> str:
    parts = []
    for a in args:
        text = a.name if a.required else f"{a.name}={default_text(a.default)}"
        parts.append(text)
    return f"usage: {name}({', '.join(parts)})"


def default_text(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
