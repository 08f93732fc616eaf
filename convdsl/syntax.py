"""The syntax tree: frozen dataclasses with spans, and ToSyntax, which builds them rule by rule.

No meaning here: names are not resolved and layer kinds are not looked up.
Nothing here imports Lark: the parser for valid files (fastparse.py) runs without it.
Nodes compare by identity, as Python's ast nodes do (a call's binding is keyed by
it, lower.binding.Binding._bind); not generating __eq__ and __hash__ for 25 classes
saves a cold start 3 ms.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Union

from .records import frozen
from .source import Span


# Words a name cannot be, for whoever makes names (importers, rename): the grammar's keywords (`param = a`
# at a statement's start reads as a param declaration), `in`/`out` (a block's own tensors) and `x` (which
# separates a shape's axes), `reuse` (`reuse(LABEL)` calls a labelled layer again). `as` is not here: it is a
# keyword only after a repeat count.
KEYWORDS = frozenset(
    {
        "network", "set", "const", "include", "input", "param", "output", "block",
        "if", "else", "and", "or", "not", "true", "false", "True", "False",
        "in", "out", "x", "reuse",
    }
)  # fmt: skip


# Expressions --------------------------------------------------------------


@frozen(eq=False)
class Literal:
    value: object  # int, float, bool or str
    span: Span


@frozen(eq=False)
class Name:
    id: str
    span: Span


@frozen(eq=False)
class TupleExpr:
    items: tuple[Expr, ...]
    span: Span


@frozen(eq=False)
class BinOp:
    op: str  # + - * // / % == != < <= > >= and or
    left: Expr
    right: Expr
    span: Span


@frozen(eq=False)
class UnaryOp:
    op: str  # - + not
    operand: Expr
    span: Span


@frozen(eq=False)
class IfExpr:
    condition: Expr
    then: Expr
    otherwise: Expr
    span: Span


@frozen(eq=False)
class FuncCall:
    """`max(a, b)`, `make_divisible(v, 8)`: a function of the arithmetic (evaluate.FUNCTIONS)."""

    name: Ident
    args: tuple[Expr, ...]
    span: Span


@frozen(eq=False)
class ShapeOf:
    """`in.shape[1]`: a size of a tensor, by PyTorch's dim (0 the batch, negative from the end)."""

    tensor: Ident
    attribute: Ident  # `shape`: the only one; anything else is reported where it is read
    index: Expr
    span: Span


Expr = Union[Literal, Name, TupleExpr, BinOp, UnaryOp, IfExpr, FuncCall, ShapeOf]


@frozen(eq=False)
class Ident:
    """A name as written, where it was written."""

    id: str
    span: Span


# Chains -------------------------------------------------------------------


@frozen(eq=False)
class Keyword:
    name: Ident
    value: Expr
    span: Span


@frozen(eq=False)
class Call:
    """`name` or `name(args...)`: a layer, a block, or (first in a chain) a tensor."""

    name: Ident
    args: tuple[Expr, ...]
    kwargs: tuple[Keyword, ...]
    span: Span


@frozen(eq=False)
class Group:
    """`( chain )`: with a label, a scope of its own (a Sequential)."""

    chain: Chain
    span: Span


@frozen(eq=False)
class Labelled:
    label: Ident
    element: Element
    span: Span


@frozen(eq=False)
class Repeat:
    element: Element
    count: Expr
    span: Span
    index: Ident | None = None  # `* N as i`: the copy's number, 0 to N-1, readable inside the element


@frozen(eq=False)
class When:
    element: Element
    condition: Expr
    span: Span


Element = Union[Call, Group, Labelled, Repeat, When]


@frozen(eq=False)
class Chain:
    elements: tuple[Element, ...]
    span: Span


# Statements ---------------------------------------------------------------


@frozen(eq=False)
class NetworkStmt:
    name: Ident
    span: Span


@frozen(eq=False)
class Setting:
    name: Ident
    value: Ident
    span: Span


@frozen(eq=False)
class Constant:
    name: Ident
    value: Expr
    span: Span


@frozen(eq=False)
class Include:
    path: str
    path_span: Span
    span: Span


@frozen(eq=False)
class Dim:
    value: int | str  # a size, or a symbol such as H
    span: Span


@frozen(eq=False)
class InputDecl:
    name: Ident
    dims: tuple[Dim, ...]
    options: tuple[Keyword, ...]
    span: Span


@frozen(eq=False)
class ParamDecl:
    """`param cls: 1 x 768`: a tensor of learnable values (shape without the batch), with options (`init=`)."""

    name: Ident
    dims: tuple[Expr, ...]
    options: tuple[Keyword, ...]
    span: Span


@frozen(eq=False)
class OutputDecl:
    names: tuple[Ident, ...]
    chain: Chain | None  # `output y = x -> ...` declares and assigns at once
    span: Span
    shape: tuple[Dim, ...] = ()  # `output y: 3 x 64 x 64 ...`: the shape it must have, checked


@frozen(eq=False)
class Assign:
    targets: tuple[Ident, ...]
    chain: Chain
    span: Span


@frozen(eq=False)
class Param:
    name: Ident
    type: Ident | None  # `skip: tensor` marks a tensor input
    default: Expr | None
    span: Span


@frozen(eq=False)
class BlockDef:
    name: Ident
    params: tuple[Param, ...]
    body: tuple[Statement, ...] | None  # `{ ... }` form
    chain: Chain | None  # `= a -> b` form: a chain applied to the block's input
    span: Span


Statement = Union[NetworkStmt, Setting, Constant, Include, InputDecl, ParamDecl, OutputDecl, Assign, BlockDef]


@frozen(eq=False)
class Program:
    path: str
    statements: tuple[Statement, ...]


def walk(nodes) -> Iterator:
    """Every statement, chain and chain element in `nodes`, and in the chains and block bodies in them (not
    the expressions), without recursion: each node, then what it holds, last first."""
    pending = list(nodes)
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, BlockDef):
            pending.extend(node.body or ())
            if node.chain is not None:
                pending.append(node.chain)
        elif isinstance(node, Chain):
            pending.extend(node.elements)
        elif isinstance(node, (Labelled, Repeat, When)):
            pending.append(node.element)
        elif isinstance(node, Group) or isinstance(getattr(node, "chain", None), Chain):
            pending.append(node.chain)


def alike(a, b) -> bool:
    """Whether two syntax trees are the same but for their places: the same nodes, names and values (of the
    same types: `1` is not `true`), wherever they are written. Without recursion (a tree is as deep as its
    expressions nest)."""
    pending = [(a, b)]
    while pending:
        x, y = pending.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, tuple):
            if len(x) != len(y):
                return False
            pending.extend(zip(x, y))
        elif hasattr(type(x), "__dataclass_fields__") and type(x).__module__ == __name__:
            for name in type(x).__dataclass_fields__:
                left, right = getattr(x, name), getattr(y, name)
                if type(left) is not Span:
                    pending.append((left, right))
        elif x != y:
            return False
    return True


# grammar rules -> dataclasses -------------------------------------------------

# Far beyond any size (2^62 has 19 digits), far below the 4,300 digits Python refuses to convert.
MAX_DIGITS = 1000


class NumberTooLong(Exception):
    """An integer literal too long to convert; the parser reports it as a diagnostic."""

    def __init__(self, span: Span, digits: int):
        super().__init__(f"an integer with {digits} digits")
        self.span, self.digits = span, digits


def _integer(token: str, span: Span) -> int:
    digits = token.replace("_", "")
    if len(digits) > MAX_DIGITS:
        raise NumberTooLong(span, len(digits))
    return int(digits)


def _token_span(path: str, token) -> Span:
    """token: a Token of Lark or of fastparse (a str with type, line, column, end_line, end_column)."""
    return Span(path, token.line, token.column, token.end_line, token.end_column)


def _unquote(text: str) -> str:
    body = text[1:-1]
    if "\\" not in body:
        return body
    out, chars = [], iter(body)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
        else:
            out.append(ch)
    return "".join(out)


class ToSyntax:
    """Builds the frozen syntax tree bottom-up: one function per grammar rule, called with the rule's
    position (`meta`) and its kept children, by the fast parser or by grammar.py's walk of Lark's tree."""

    def __init__(self, path: str):
        self.path = path

    def _span(self, meta) -> Span:
        return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _ident(self, token) -> Ident:
        return Ident(str(token), _token_span(self.path, token))

    # statements
    def start(self, meta, *statements):
        return Program(self.path, tuple(statements))

    def network(self, meta, name):
        return NetworkStmt(self._ident(name), self._span(meta))

    def setting(self, meta, name, value):
        return Setting(self._ident(name), self._ident(value), self._span(meta))

    def constant(self, meta, name, value):
        return Constant(self._ident(name), value, self._span(meta))

    def include(self, meta, path):
        return Include(_unquote(str(path)), _token_span(self.path, path), self._span(meta))

    def input_decl(self, meta, name, dims, *options):
        return InputDecl(self._ident(name), dims, tuple(options), self._span(meta))

    def shape(self, meta, *tokens):
        return tuple(
            Dim(_integer(t, _token_span(self.path, t)) if t.type == "INT" else str(t), _token_span(self.path, t))
            for t in tokens
        )

    def param_decl(self, meta, name, dims, *options):
        return ParamDecl(self._ident(name), dims, tuple(options), self._span(meta))

    def param_shape(self, meta, *dims):
        return tuple(dims)

    def output_names(self, meta, *names):
        return OutputDecl(tuple(self._ident(n) for n in names), None, self._span(meta))

    def output_assign(self, meta, name, chain):
        return OutputDecl((self._ident(name),), chain, self._span(meta))

    def output_shaped(self, meta, name, dims, chain=None):
        return OutputDecl((self._ident(name),), chain, self._span(meta), dims)

    def assignment(self, meta, targets, chain):
        return Assign(targets, chain, self._span(meta))

    def targets(self, meta, *names):
        return tuple(self._ident(n) for n in names)

    def block_def(self, meta, name, params, body):
        return BlockDef(self._ident(name), params or (), body, None, self._span(meta))

    def block_seq(self, meta, name, params, chain):
        return BlockDef(self._ident(name), params or (), None, chain, self._span(meta))

    def block_plain(self, meta, name, body):
        return BlockDef(self._ident(name), (), body, None, self._span(meta))

    def block_seq_plain(self, meta, name, chain):
        return BlockDef(self._ident(name), (), None, chain, self._span(meta))

    def block_body(self, meta, *statements):
        return tuple(statements)

    def params(self, meta, *params):
        return tuple(params)

    def param(self, meta, name, type_, default):
        return Param(self._ident(name), self._ident(type_) if type_ is not None else None, default, self._span(meta))

    # chains
    def chain(self, meta, *elements):
        return Chain(tuple(elements), self._span(meta))

    def labelled(self, meta, label, element):
        return Labelled(self._ident(label), element, self._span(meta))

    def when(self, meta, element, condition):
        return When(element, condition, self._span(meta))

    def repeat(self, meta, element, count, index=None):
        return Repeat(element, count, self._span(meta), self._ident(index) if index is not None else None)

    def group(self, meta, chain):
        return Group(chain, self._span(meta))

    def call(self, meta, name, arguments=None):
        args = tuple(a for a in (arguments or ()) if not isinstance(a, Keyword))
        kwargs = tuple(a for a in (arguments or ()) if isinstance(a, Keyword))
        return Call(self._ident(name), args, kwargs, self._span(meta))

    def arguments(self, meta, *items):
        return tuple(items)

    def kwarg(self, meta, name, value):
        return Keyword(self._ident(name), value, self._span(meta))

    # expressions
    def int(self, meta, token):
        span = self._span(meta)
        return Literal(_integer(token, span), span)

    def float(self, meta, token):
        return Literal(float(token.replace("_", "")), self._span(meta))

    def string(self, meta, token):
        return Literal(_unquote(str(token)), self._span(meta))

    def true(self, meta):
        return Literal(True, self._span(meta))

    def false(self, meta):
        return Literal(False, self._span(meta))

    def name(self, meta, token):
        return Name(str(token), self._span(meta))

    def function(self, meta, name, *args):
        return FuncCall(self._ident(name), tuple(a for a in args if a is not None), self._span(meta))

    def shape_of(self, meta, tensor, attribute, index):
        return ShapeOf(self._ident(tensor), self._ident(attribute), index, self._span(meta))

    def dims(self, meta, *tokens):
        return TupleExpr(
            tuple(Literal(_integer(t, _token_span(self.path, t)), _token_span(self.path, t)) for t in tokens),
            self._span(meta),
        )

    def tuple(self, meta, *items):
        return TupleExpr(tuple(items), self._span(meta))

    def if_expr(self, meta, then, condition, otherwise):
        return IfExpr(condition, then, otherwise, self._span(meta))

    def _binary(op):
        def build(self, meta, left, right):
            return BinOp(op, left, right, self._span(meta))

        return build

    or_op = _binary("or")
    and_op = _binary("and")
    add_op = _binary("+")
    sub_op = _binary("-")
    mul_op = _binary("*")
    floordiv_op = _binary("//")
    div_op = _binary("/")
    mod_op = _binary("%")

    def compare(self, meta, left, op, right):
        return BinOp(str(op), left, right, self._span(meta))

    def not_op(self, meta, operand):
        return UnaryOp("not", operand, self._span(meta))

    def neg_op(self, meta, operand):
        return UnaryOp("-", operand, self._span(meta))

    def pos_op(self, meta, operand):
        return UnaryOp("+", operand, self._span(meta))


_FUNCTIONS: dict | None = None


def builder_functions() -> dict:
    """Rule name -> ToSyntax's function for it, (self, meta, *children)."""
    global _FUNCTIONS
    if _FUNCTIONS is None:
        _FUNCTIONS = {
            name: value for name, value in vars(ToSyntax).items() if not name.startswith("_") and callable(value)
        }
    return _FUNCTIONS
