"""convdsl argument expressions as Python expressions over a class's constructor parameters."""

from __future__ import annotations

from ..evaluate import EvalError, Symbol, evaluate
from ..syntax import BinOp, FuncCall, IfExpr, Literal, Name, ShapeOf, TupleExpr, UnaryOp
from ..layers.pyexpr import Lit, NotGeneric, Py, binary, cond, tup, unary


def names_in(expr) -> set[str]:
    if isinstance(expr, Name):
        return {expr.id}
    if isinstance(expr, TupleExpr):
        return set().union(*(names_in(item) for item in expr.items))
    if isinstance(expr, IfExpr):
        return names_in(expr.condition) | names_in(expr.then) | names_in(expr.otherwise)
    if isinstance(expr, UnaryOp):
        return names_in(expr.operand)
    if isinstance(expr, BinOp):
        return names_in(expr.left) | names_in(expr.right)
    if isinstance(expr, FuncCall):
        return set().union(*(names_in(arg) for arg in expr.args))
    if isinstance(expr, ShapeOf):
        return names_in(expr.index)
    return set()


def reads_shape(expr) -> bool:
    """Whether expr reads a tensor's shape (`in.shape[1]`) anywhere."""
    pending = [expr]
    while pending:
        node = pending.pop()
        if isinstance(node, ShapeOf):
            return True
        for attr in ("left", "right", "operand", "condition", "then", "otherwise"):
            child = getattr(node, attr, None)
            if child is not None:
                pending.append(child)
        pending.extend(getattr(node, "items", ()))
        pending.extend(getattr(node, "args", ()) if isinstance(node, FuncCall) else ())
    return False


def expr_text(expr) -> str:
    """A short description of an expression, for a reason given in a comment of the export."""
    if isinstance(expr, ShapeOf):
        return f"{expr.tensor.id}.shape[...]"
    if isinstance(expr, Name):
        return expr.id
    if isinstance(expr, FuncCall):
        return f"{expr.name.id}(...)"
    return "an expression"


def value_of(expr, env: dict):
    """The value convdsl gives an expression; a bare word (`same`) is its text."""
    try:
        value = evaluate(expr, env)
    except EvalError as err:
        raise NotGeneric(err.message) from None
    return str(value) if isinstance(value, Symbol) else value


def translate(expr, params: dict[str, Py], env: dict, uses) -> Py:
    """expr with block parameters as `params` (name -> Py) and everything else evaluated in `env`.

    uses: the instances the expression is evaluated in (indices for Py.sample),
    which decide whether convdsl's exact `/` is Python's `//` (integers) or `/`.
    """
    if not names_in(expr) & params.keys():
        return Lit(value_of(expr, env))
    if isinstance(expr, Name):
        return params[expr.id]
    if isinstance(expr, TupleExpr):
        return tup([translate(item, params, env, uses) for item in expr.items])
    if isinstance(expr, IfExpr):
        return cond(
            translate(expr.condition, params, env, uses),
            translate(expr.then, params, env, uses),
            translate(expr.otherwise, params, env, uses),
        )
    if isinstance(expr, UnaryOp):
        return unary(expr.op, translate(expr.operand, params, env, uses))
    if isinstance(expr, BinOp):
        left, right = translate(expr.left, params, env, uses), translate(expr.right, params, env, uses)
        op = expr.op
        if op == "/" and all(
            isinstance(x.sample(i), int) and not isinstance(x.sample(i), bool) for i in uses for x in (left, right)
        ):
            op = "//"  # convdsl's `/` of integers is exact (it refuses a remainder), so this is the same
        return binary(op, left, right)
    if isinstance(expr, Literal):
        return Lit(expr.value)
    if isinstance(expr, (FuncCall, ShapeOf)):
        # a class per use (every parameter a literal) writes the value; a generic class would need the
        # function in Python, or the shape at run time: written per use instead
        if any(not isinstance(p, Lit) for p in params.values()):
            raise NotGeneric(f"`{expr_text(expr)}` depends on a parameter")
        return Lit(value_of(expr, env))
    raise TypeError(expr)
