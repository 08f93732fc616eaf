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

import math
from dataclasses import dataclass, field
from fractions import Fraction

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
    numerator: Expr
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
    factors: tuple[Expr, ...]

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

    __slots__ = ("constant", "size", "terms", "value")

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
    def symbol(cls, name: str, value: int) -> Expr:
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

    __slots__ = ("divisor", "numerator", "value")

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
    return Expr(
        tuple((Symbol(a.name, sample) if isinstance(a, Symbol) else a, c) for a, c in numerator.terms),
        numerator.constant,
    )


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
    return isinstance(value, (Expr, Exact, Poly))


class Poly:
    """A count (MACs, parameters) as a polynomial in the input's symbols, found where the traced
    expression with its floors equals one at every accepted size: `18432*(H - 4)*(W - 4)` rather
    than `294912*2*floor(H/8)*2*floor(W/8)`. Sums of them (totals) stay polynomials."""

    __slots__ = ("terms",)

    def __init__(self, terms: dict):
        # monomial (sorted tuple of (symbol, power)) -> Fraction; no zero coefficients
        self.terms = {m: c for m, c in terms.items() if c}

    def _add(self, other):
        if isinstance(other, int) and not isinstance(other, bool):
            other = Poly({(): Fraction(other)})
        if not isinstance(other, Poly):
            return NotImplemented
        out = dict(self.terms)
        for m, c in other.terms.items():
            out[m] = out.get(m, 0) + c
        return Poly(out)

    __add__ = __radd__ = _add

    def __mul__(self, other):
        if isinstance(other, int) and not isinstance(other, bool):
            return Poly({m: c * other for m, c in self.terms.items()})
        return NotImplemented

    __rmul__ = __mul__

    def __bool__(self):
        return bool(self.terms)

    def evaluate(self, env: dict[str, int]) -> int:
        total = Fraction(0)
        for monomial, c in self.terms.items():
            value = c
            for name, power in monomial:
                value *= env[name] ** power
            total += value
        return int(total)

    def symbols(self) -> set[str]:
        return {name for monomial in self.terms for name, _ in monomial}

    def __format__(self, spec: str) -> str:
        return str(self)

    def __repr__(self) -> str:  # as the count reads: reprs are compared (test_sharing) and shown in records
        return str(self)

    def __str__(self) -> str:
        factored = self._factored()
        expanded = self._expanded()
        return factored if factored is not None and len(factored) <= len(expanded) else expanded

    def _expanded(self) -> str:
        if not self.terms:
            return "0"
        denominator = 1
        for c in self.terms.values():
            denominator = denominator * c.denominator // math.gcd(denominator, c.denominator)
        parts = []
        for monomial in sorted(self.terms, key=lambda m: (-sum(p for _, p in m), m)):
            c = self.terms[monomial] * denominator
            names = "*".join(name if power == 1 else f"{name}^{power}" for name, power in monomial)
            magnitude = abs(int(c))
            word = names if magnitude == 1 and names else (f"{magnitude}*{names}" if names else str(magnitude))
            parts.append(("- " if c < 0 else "+ ") + word)
        text = " ".join(parts)
        text = text[2:] if text.startswith("+ ") else "-" + text[2:]
        return text if denominator == 1 else f"({text})/{denominator}"

    def _factored(self) -> str | None:
        """k*(A + a)*(B + b)*... when the polynomial is a product of one linear factor per symbol."""
        names = sorted(self.symbols())
        if not names or any(p != 1 for m in self.terms for _, p in m):
            return None
        top = tuple((n, 1) for n in names)
        k = self.terms.get(top)
        if k is None:
            return None
        shifts = {}
        for n in names:  # the coefficient of the product without n, over k: n's shift
            without = tuple((m, 1) for m in names if m != n)
            shifts[n] = self.terms.get(without, Fraction(0)) / k
        # check: expanding k * prod(n + shift) gives every term
        expected = {(): k}
        for n in names:
            grown = {}
            for m, c in expected.items():
                grown[tuple(sorted((*m, (n, 1))))] = grown.get(tuple(sorted((*m, (n, 1)))), 0) + c
                grown[m] = grown.get(m, 0) + c * shifts[n]
            expected = grown
        if Poly(expected).terms != self.terms:
            return None
        factors = []
        denominator = k.denominator
        for n in names:
            s = shifts[n]
            if s.denominator != 1:  # (n + p/q) = (q*n + p)/q
                denominator *= s.denominator
                inner = f"{s.denominator}*{n} {'+' if s > 0 else '-'} {abs(s.numerator)}"
            else:
                inner = n if s == 0 else f"{n} {'+' if s > 0 else '-'} {abs(int(s))}"
            factors.append(inner if s == 0 else f"({inner})")
        numerator = k.numerator
        text = "*".join(([str(numerator)] if abs(numerator) != 1 else []) + factors)
        if numerator == -1:  # a sign, not a factor: "-(H + 1)*W", never "--1*(H + 1)*W"
            text = "-" + text
        return text if denominator == 1 else f"{text}/{denominator}"


def fit_polynomial(expr, accepted: dict[str, list[int]], *, degree: int = 2):
    """`expr` (an Expr or Exact of the symbols) as a Poly if one of degree <= `degree` in each symbol equals
    it at every accepted size tried (a grid of up to 6 accepted sizes per symbol), else None."""
    import itertools

    names = sorted(expr.symbols() if hasattr(expr, "symbols") else ())
    if not names or len(names) > 3 or any(len(accepted.get(n, ())) < degree + 2 for n in names):
        return None
    points = {n: _spread(accepted[n], degree + 1) for n in names}
    monomials = [
        tuple((n, p) for n, p in zip(names, powers) if p)
        for powers in itertools.product(range(degree + 1), repeat=len(names))
    ]
    rows, values = [], []
    for point in itertools.product(*(points[n] for n in names)):
        env = dict(zip(names, point))
        rows.append([Fraction(math.prod(env[n] ** p for n, p in m)) for m in monomials])
        values.append(Fraction(expr.evaluate(env)))
    solution = _solve(rows, values)
    if solution is None:
        return None
    poly = Poly(dict(zip(monomials, solution)))
    checks = {n: _spread(accepted[n], 6) for n in names}
    for point in itertools.product(*(checks[n] for n in names)):
        env = dict(zip(names, point))
        if poly.evaluate(env) != expr.evaluate(env):
            return None
        if Fraction(sum(c * math.prod(env[n] ** p for n, p in m) for m, c in poly.terms.items())).denominator != 1:
            return None
    return poly


def _spread(values: list[int], count: int) -> list[int]:
    if len(values) <= count:
        return list(values)
    return sorted({values[i * (len(values) - 1) // (count - 1)] for i in range(count)})


def _solve(rows, values):
    """Gaussian elimination over Fractions; None when the system is singular."""
    n = len(rows[0])
    matrix = [row[:] + [v] for row, v in zip(rows, values)]
    if len(matrix) != n:
        return None
    for col in range(n):
        pivot = next((r for r in range(col, n) if matrix[r][col] != 0), None)
        if pivot is None:
            return None
        matrix[col], matrix[pivot] = matrix[pivot], matrix[col]
        lead = matrix[col][col]
        matrix[col] = [x / lead for x in matrix[col]]
        for r in range(n):
            if r != col and matrix[r][col] != 0:
                factor = matrix[r][col]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[col])]
    return [matrix[r][n] for r in range(n)]
