"""Python expressions in the exported code, and their value wherever a class is used.

A block's class is written once for all its instances, so an argument such as
`c * 4` stays an expression over the constructor's parameters. Each expression
also knows its value in every instance (`sample(i)`), which is how the export
checks what it writes against convdsl's own inference, and how a layer kind can
see whether a value is the same everywhere (`known()`) before deciding on it.
"""

from __future__ import annotations

import math
import operator

# Python's operator precedence, lowest first (the language reference, "Operator precedence").
_PRECEDENCE = {
    "if": 1,
    "or": 2,
    "and": 3,
    "not": 4,
    "==": 5,
    "!=": 5,
    "<": 5,
    "<=": 5,
    ">": 5,
    ">=": 5,
    "+": 10,
    "-": 10,
    "*": 11,
    "/": 11,
    "//": 11,
    "%": 11,
    "neg": 12,
    "pos": 12,
}
ATOM = 16

_BINARY = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class SymbolicValue(TypeError):
    """A constructor argument that depends on a symbolic input size (a Linear's in_features after
    flattening H x W): there is no number to write, so the layer cannot be exported."""


class NotGeneric(Exception):
    """The code for a block would depend on something its instances do not share.

    The export then writes the block out once per distinct use instead; the
    message says why, for a comment above those classes.
    """


def same(a, b) -> bool:
    """Equal values of the same kind: True is not 1, 1 equals 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, tuple) or isinstance(b, tuple):
        return isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) and all(map(same, a, b))
    return (type(a) is type(b) and a == b) or (isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b)


def literal(value) -> str:
    """A Python literal for a value: repr() for text, so no input can end the literal early."""
    if value is None or isinstance(value, (bool, int)):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f'float("{value}")'
    if isinstance(value, str):
        return quote(str(value))
    if isinstance(value, tuple):
        items = [literal(v) for v in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(value, list):
        return f"[{', '.join(literal(v) for v in value)}]"
    from ..symbolic import is_symbolic

    if is_symbolic(value):
        raise SymbolicValue(f"`{value}` depends on a symbolic input size")
    raise TypeError(f"no literal for {type(value).__name__}")


def quote(text: str) -> str:
    """A string literal, in double quotes where that needs no escape; built on repr(), so always a literal."""
    text = repr(text)
    if text[0] == "'" and '"' not in text:
        return '"' + text[1:-1] + '"'  # repr chose single quotes, so the text has no quote to escape
    return text


class Py:
    """An expression of the generated code."""

    precedence = ATOM

    def src(self) -> str:
        raise NotImplementedError

    def sample(self, index: int):
        """Its value in instance `index` of the class being written."""
        raise NotImplementedError

    def variables(self) -> set[str]:
        return set()

    def substitute(self, mapping: dict) -> Py:
        """The same expression with variables replaced (a callee's parameters by the caller's arguments)."""
        return self

    @property
    def static(self) -> bool:
        return False

    def known(self):
        """The value, if it is the same in every instance; else NotGeneric."""
        raise NotGeneric(f"`{self.src()}` differs between uses")

    def is_(self, value) -> bool:
        """Statically this value (a default that can be left out)."""
        return self.static and same(self.known(), value)

    def wrap(self, parent: int, right: bool = False) -> str:
        text = self.src()
        low = (
            self.precedence < parent or (right and self.precedence == parent) or (parent == 5 and self.precedence == 5)
        )  # comparisons would chain
        return f"({text})" if low else text

    def __add__(self, other):
        return binary("+", self, as_py(other))

    def __radd__(self, other):
        return binary("+", as_py(other), self)

    def __sub__(self, other):
        return binary("-", self, as_py(other))

    def __mul__(self, other):
        return binary("*", self, as_py(other))

    def __rmul__(self, other):
        return binary("*", as_py(other), self)

    def __floordiv__(self, other):
        return binary("//", self, as_py(other))

    def __repr__(self):
        try:
            return f"<Py {self.src()}>"
        except NotGeneric:
            return "<Py unknown>"


class Lit(Py):
    def __init__(self, value):
        self.value = value
        self.precedence = 12 if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0 else ATOM

    def src(self):
        return literal(self.value)

    def sample(self, index):
        return self.value

    @property
    def static(self):
        return True

    def known(self):
        return self.value


class Var(Py):
    """A constructor parameter (a block's argument, or a channel count it receives)."""

    def __init__(self, name: str, samples: tuple):
        self.name, self.samples = name, samples

    def src(self):
        return self.name

    def sample(self, index):
        value = self.samples[index]
        if value is None:
            raise NotGeneric(f"the value of `{self.name}` is not known")
        return value

    def variables(self):
        return {self.name}

    def substitute(self, mapping):
        return mapping.get(self.name, self)


class Unknown(Py):
    """A size that differs between uses, where no expression for it is known."""

    def __init__(self, reason: str):
        self.reason = reason

    def src(self):
        raise NotGeneric(self.reason)

    def sample(self, index):
        raise NotGeneric(self.reason)

    def known(self):
        raise NotGeneric(self.reason)


class BinOp(Py):
    def __init__(self, op: str, left: Py, right: Py):
        self.op, self.left, self.right = op, left, right
        self.precedence = _PRECEDENCE[op]

    def src(self):
        p = self.precedence
        return f"{self.left.wrap(p)} {self.op} {self.right.wrap(p, right=True)}"

    def sample(self, index):
        if self.op == "and":
            return self.left.sample(index) and self.right.sample(index)
        if self.op == "or":
            return self.left.sample(index) or self.right.sample(index)
        return _BINARY[self.op](self.left.sample(index), self.right.sample(index))

    def variables(self):
        return self.left.variables() | self.right.variables()

    def substitute(self, mapping):
        return binary(self.op, self.left.substitute(mapping), self.right.substitute(mapping))


class Unary(Py):
    def __init__(self, op: str, operand: Py):
        self.op, self.operand = op, operand
        self.precedence = _PRECEDENCE["not" if op == "not" else "neg"]

    def src(self):
        inner = self.operand.wrap(self.precedence)
        return f"not {inner}" if self.op == "not" else f"{self.op}{inner}"

    def sample(self, index):
        value = self.operand.sample(index)
        return {"not": operator.not_, "-": operator.neg, "+": operator.pos}[self.op](value)

    def variables(self):
        return self.operand.variables()

    def substitute(self, mapping):
        return unary(self.op, self.operand.substitute(mapping))


class Cond(Py):
    """`a if condition else b`."""

    precedence = _PRECEDENCE["if"]

    def __init__(self, condition: Py, then: Py, otherwise: Py):
        self.condition, self.then, self.otherwise = condition, then, otherwise

    def src(self):
        return f"{self.then.wrap(2)} if {self.condition.wrap(2)} else {self.otherwise.wrap(1)}"

    def sample(self, index):
        return self.then.sample(index) if self.condition.sample(index) else self.otherwise.sample(index)

    def variables(self):
        return self.condition.variables() | self.then.variables() | self.otherwise.variables()

    def substitute(self, mapping):
        return cond(
            self.condition.substitute(mapping), self.then.substitute(mapping), self.otherwise.substitute(mapping)
        )


class Tup(Py):
    def __init__(self, items: tuple, brackets: str = "()"):
        self.items, self.brackets = tuple(items), brackets

    def src(self):
        inner = ", ".join(item.src() for item in self.items)
        if self.brackets == "()" and len(self.items) == 1:
            inner += ","
        return self.brackets[0] + inner + self.brackets[1]

    def sample(self, index):
        values = tuple(item.sample(index) for item in self.items)
        return list(values) if self.brackets == "[]" else values

    def variables(self):
        return set().union(*(item.variables() for item in self.items))

    def substitute(self, mapping):
        return tup([item.substitute(mapping) for item in self.items], self.brackets)


def as_py(value) -> Py:
    return value if isinstance(value, Py) else Lit(value)


def binary(op: str, left: Py, right: Py) -> Py:
    """left op right, folded where both sides are known and simplified where one side is neutral."""
    if left.static and right.static:
        a, b = left.known(), right.known()
        if op in ("and", "or"):
            return Lit((a and b) if op == "and" else (a or b))
        try:
            return Lit(_BINARY[op](a, b))
        except (ArithmeticError, TypeError, ValueError):
            pass
    if op == "*" and left.is_(1):
        return right
    if op in ("*", "//", "/") and right.is_(1):
        return left
    if op in ("+", "-") and right.is_(0):
        return left
    if op == "+" and left.is_(0):
        return right
    return BinOp(op, left, right)


def unary(op: str, operand: Py) -> Py:
    if operand.static:
        value = operand.known()
        return Lit({"not": operator.not_, "-": operator.neg, "+": operator.pos}[op](value))
    return Unary(op, operand)


def cond(condition: Py, then: Py, otherwise: Py) -> Py:
    if condition.static:
        return then if condition.known() else otherwise
    return Cond(condition, then, otherwise)


def tup(items, brackets: str = "()") -> Py:
    items = [as_py(item) for item in items]
    if all(item.static for item in items):
        values = tuple(item.known() for item in items)
        return Lit(list(values) if brackets == "[]" else values)
    return Tup(tuple(items), brackets)


def product(values) -> Py:
    out: Py = Lit(1)
    for value in values:
        out = out * as_py(value)
    return out
