"""Sizes as expressions of the input's symbols: `floor((H + 1)/2)`.

An Expr is an integer-valued expression over named sizes, kept in a normal
form (a constant plus integer multiples of atoms: symbols, floor divisions,
products) so equal expressions print alike and `floor((floor(x/2) + c)/2)`
folds into one floor.

It also carries `value`: what it equals at one sample size the network
accepts. The catalogue's shape rules run unchanged on Exprs; where a rule
compares sizes (`if numerator % stride == 0`), the comparison is decided at the
sample. Inference checks every expression it keeps against the Probe at other
accepted sizes (see sizehints.py), so a branch that goes the other way elsewhere
cannot leave a wrong expression behind.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Atoms in an expression, counting a shared one each time it is used (what printing and evaluating it cost).
# `(conv(3, 3, s=2, p=1) -> upsample(scale=3)) * 22` doubles its expression at every step: past this bound
# the shape is not traced as an expression, and the layer says so.
MAX_EXPRESSION_SIZE = 2_000


class ExpressionTooLarge(ArithmeticError):
    """An expression would grow past MAX_EXPRESSION_SIZE atoms."""


@dataclass(frozen=True)
class Symbol:
    name: str
    value: int = field(compare=False)  # the sample size

    def text(self) -> str:
        return self.name

    def evaluate(self, env: dict[str, int]) -> int:
        return env[self.name]


@dataclass(frozen=True)
class Floor:
    numerator: "Expr"
    divisor: int

    def text(self) -> str:
        return f"floor({_grouped(self.numerator)}/{self.divisor})"

    @property
    def size(self) -> int:
        return self.numerator.size + 1

    def evaluate(self, env) -> int:
        return self.numerator.evaluate(env) // self.divisor

    @property
    def value(self) -> int:
        return self.numerator.value // self.divisor


@dataclass(frozen=True)
class Product:
    factors: tuple["Expr", ...]

    @property
    def size(self) -> int:
        return 1 + sum(f.size for f in self.factors)

    def text(self) -> str:
        return "*".join(f"({f})" if f.terms and (len(f.terms) > 1 or f.constant) else str(f) for f in self.factors)

    def evaluate(self, env) -> int:
        out = 1
        for f in self.factors:
            out *= f.evaluate(env)
        return out

    @property
    def value(self) -> int:
        out = 1
        for f in self.factors:
            out *= f.value
        return out


def _sort_key(atom) -> tuple:
    order = {Symbol: 0, Floor: 1, Product: 2}[type(atom)]
    return (order, atom.text())


class Expr:
    """constant + sum(coefficient * atom), with its value at the sample size."""

    __slots__ = ("terms", "constant", "value", "size")

    def __init__(self, terms: tuple, constant: int = 0):
        self.terms = terms  # ((atom, coefficient), ...) sorted, coefficients non-zero
        self.constant = constant
        self.value = constant + sum(c * atom.value for atom, c in terms)
        size = 1
        for atom, _ in terms:
            size += 1 if type(atom) is Symbol else atom.size
        if size > MAX_EXPRESSION_SIZE:
            raise ExpressionTooLarge(size)
        self.size = size

    @classmethod
    def symbol(cls, name: str, value: int) -> "Expr":
        return cls(((Symbol(name, value), 1),))

    @staticmethod
    def make(terms: dict, constant: int):
        kept = tuple(sorted(((a, c) for a, c in terms.items() if c), key=lambda t: _sort_key(t[0])))
        return Expr(kept, constant) if kept else constant

    # arithmetic ------------------------------------------------------------
    def __add__(self, other):
        if isinstance(other, Expr):
            terms = dict(self.terms)
            for atom, c in other.terms:
                terms[atom] = terms.get(atom, 0) + c
            return Expr.make(terms, self.constant + other.constant)
        if isinstance(other, int) and not isinstance(other, bool):
            return Expr(self.terms, self.constant + other)
        return NotImplemented

    __radd__ = __add__

    def __neg__(self):
        return Expr(tuple((a, -c) for a, c in self.terms), -self.constant)

    def __sub__(self, other):
        if isinstance(other, (Expr, int)) and not isinstance(other, bool):
            return self + (-other)
        return NotImplemented

    def __rsub__(self, other):
        if isinstance(other, int) and not isinstance(other, bool):
            return (-self) + other
        return NotImplemented

    def __mul__(self, other):
        if isinstance(other, bool):
            return NotImplemented
        if isinstance(other, float) and other.is_integer():  # an upsampling factor written 2.0
            other = int(other)
        if isinstance(other, int):
            if other == 0:
                return 0
            return Expr(tuple((a, c * other) for a, c in self.terms), self.constant * other)
        if isinstance(other, Expr):
            factors = []
            for f in (self, other):
                factors.extend(f.terms[0][0].factors if _is_bare_product(f) else (f,))
            factors.sort(key=str)
            return Expr(((Product(tuple(factors)), 1),))
        return NotImplemented

    __rmul__ = __mul__

    def __floordiv__(self, divisor):
        if not isinstance(divisor, int) or isinstance(divisor, bool) or divisor == 0:
            return NotImplemented
        if divisor < 0:
            return (-self) // (-divisor)
        if divisor == 1:
            return self
        # self = divisor*whole + rest, with rest's coefficients and constant in [0, divisor)
        whole, rest = {}, {}
        for atom, c in self.terms:
            q = c // divisor if c >= 0 else -(-c // divisor)  # towards zero: -H stays whole, for ceil()
            r = c - q * divisor
            if q:
                whole[atom] = q
            if r:
                rest[atom] = r
        q, r = divmod(self.constant, divisor)
        if not rest:
            return Expr.make(whole, q)
        inner = Expr.make(rest, r)
        if all(c < 0 for c in rest.values()):
            # floor(-y/d) = -floor((y + d - 1)/d): keep every floor's numerator positive, so ceilings fold too
            return Expr.make(whole, q) - ((-inner) + (divisor - 1)) // divisor
        folded = _fold(inner, divisor)
        if folded is None:
            folded = Expr(((Floor(inner, divisor), 1),))
        return Expr.make(whole, q) + folded

    def __mod__(self, divisor):
        if not isinstance(divisor, int) or isinstance(divisor, bool) or divisor == 0:
            return NotImplemented
        return self - (self // divisor) * divisor

    def __pow__(self, other):
        return NotImplemented

    def __floor__(self):  # already an integer
        return self

    # comparisons are decided at the sample size ---------------------------
    def _v(self, other):
        return other.value if isinstance(other, Expr) else other

    def __eq__(self, other):
        if isinstance(other, (Expr, int)):
            return self.value == self._v(other)
        return NotImplemented

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __lt__(self, other):
        return self.value < self._v(other)

    def __le__(self, other):
        return self.value <= self._v(other)

    def __gt__(self, other):
        return self.value > self._v(other)

    def __ge__(self, other):
        return self.value >= self._v(other)

    def __hash__(self):
        return hash(self.value)

    def __bool__(self):
        return self.value != 0

    def __str__(self) -> str:
        parts = []
        for atom, c in self.terms:
            text = atom.text()
            if c == 1:
                parts.append(("+", text))
            elif c == -1:
                parts.append(("-", text))
            else:
                parts.append(("-" if c < 0 else "+", f"{abs(c)}*{text}"))
        if self.constant:
            parts.append(("-" if self.constant < 0 else "+", str(abs(self.constant))))
        first_sign, first = parts[0]
        out = ("-" if first_sign == "-" else "") + first
        for sign, text in parts[1:]:
            out += f" {sign} {text}"
        return out

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return str(self)

    def evaluate(self, env: dict[str, int]) -> int:
        return self.constant + sum(c * atom.evaluate(env) for atom, c in self.terms)

    def symbols(self) -> set[str]:
        found = set()
        for atom, _ in self.terms:
            _collect(atom, found)
        return found


def _grouped(e) -> str:
    simple = not isinstance(e, Expr) or (len(e.terms) == 1 and not e.constant and e.terms[0][1] == 1)
    return str(e) if simple else f"({e})"


def _collect(atom, found):
    if isinstance(atom, Symbol):
        found.add(atom.name)
    elif isinstance(atom, Floor):
        found |= atom.numerator.symbols()
    else:
        for f in atom.factors:
            found |= f.symbols()


def _is_bare_product(e: Expr) -> bool:
    return len(e.terms) == 1 and e.constant == 0 and e.terms[0][1] == 1 and isinstance(e.terms[0][0], Product)


def _fold(inner: Expr, divisor: int):
    """floor((floor(x/a) + c)/b) = floor((x + a*c)/(a*b)) for integers; None when inner is not of that form."""
    if len(inner.terms) == 1 and inner.terms[0][1] == 1 and isinstance(inner.terms[0][0], Floor):
        atom = inner.terms[0][0]
        return (atom.numerator + atom.divisor * inner.constant) // (atom.divisor * divisor)
    return None


class Exact:
    """(numerator)/divisor where the division is known to be exact at every accepted size.

    Inference rewrites `floor((H + 4)/16)` as `(H + 4)/16` when H may only be
    16k + 12: the floor never rounds there, and the plain fraction reads better.
    """

    __slots__ = ("numerator", "divisor", "value")

    def __init__(self, numerator, divisor: int):
        self.numerator, self.divisor = numerator, divisor
        value = numerator.value if isinstance(numerator, Expr) else numerator
        self.value = value // divisor

    def evaluate(self, env: dict[str, int]) -> int:
        top = self.numerator.evaluate(env) if isinstance(self.numerator, Expr) else self.numerator
        return top // self.divisor

    def __str__(self) -> str:
        if self.divisor == 1:
            return str(self.numerator)
        return f"{_grouped(self.numerator)}/{self.divisor}"

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return str(self)


def simplify_on(expr: Expr, symbol: str, accepted: list[int]):
    """expr as (a*symbol + b)/d if that equals it at every accepted size of `symbol`, else expr itself."""
    if not isinstance(expr, Expr) or expr.symbols() != {symbol} or len(accepted) < 2:
        return expr
    from fractions import Fraction

    x0, x1 = accepted[0], accepted[-1]
    y0, y1 = expr.evaluate({symbol: x0}), expr.evaluate({symbol: x1})
    slope = Fraction(y1 - y0, x1 - x0)
    intercept = y0 - slope * x0
    if any(slope * x + intercept != expr.evaluate({symbol: x}) for x in accepted):
        return expr
    divisor = slope.denominator * intercept.denominator // _gcd(slope.denominator, intercept.denominator)
    a, b = int(slope * divisor), int(intercept * divisor)
    numerator = Expr.symbol(symbol, expr.value) * a + b if a else b
    if isinstance(numerator, Expr):
        numerator = _resample(numerator, symbol, expr, divisor)
    simpler = numerator if divisor == 1 else Exact(numerator, divisor)
    return simpler if len(str(simpler)) <= len(str(expr)) else expr


def _resample(numerator: Expr, symbol: str, expr: Expr, divisor: int) -> Expr:
    # the symbol's sample value makes `numerator` equal divisor * expr at the sample
    sample = next(atom.value for atom in _symbols_in(expr) if atom.name == symbol)
    return Expr(tuple((Symbol(a.name, sample) if isinstance(a, Symbol) else a, c) for a, c in numerator.terms),
                numerator.constant)


def _symbols_in(expr: Expr):
    for atom, _ in expr.terms:
        if isinstance(atom, Symbol):
            yield atom
        elif isinstance(atom, Floor):
            yield from _symbols_in(atom.numerator)
        else:
            for f in atom.factors:
                yield from _symbols_in(f)


def _gcd(a: int, b: int) -> int:
    import math
    return math.gcd(a, b)


def is_sum(value) -> bool:
    """Whether printing `value` next to other axes needs brackets: `64 x (H - 2) x W`."""
    return isinstance(value, Expr) and len(value.terms) + (value.constant != 0) > 1


def is_symbolic(value) -> bool:
    return isinstance(value, (Expr, Exact))
