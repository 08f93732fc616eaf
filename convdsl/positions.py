"""The position index: what is at each place of a file (a layer, a tensor, a block, an argument...).

Editor features (hover, definitions, references, rename, completion, inlay
hints) all ask it; it is built from the syntax trees of the file and the files
it includes, and from the Lowering that made the network, so a position leads
to the layer nodes made there and to the shapes inference gave them.

An Item is one piece of text that means something. Names that refer to the
same thing share a Symbol key: (kind, scope, name), with scope "" for the top
level and the block's name inside a block body.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from .layers import KINDS
from .source import Span
from .syntax import (
    Assign,
    BinOp,
    BlockDef,
    Call,
    Chain,
    Constant,
    Group,
    FuncCall,
    IfExpr,
    Include,
    InputDecl,
    Keyword,
    Labelled,
    Name,
    NetworkStmt,
    OutputDecl,
    ParamDecl,
    Program,
    Repeat,
    ShapeOf,
    Setting,
    TupleExpr,
    UnaryOp,
    When,
)

# Kinds of Item.
LAYER = "layer"  # a call of a layer kind: node is the Call
BLOCK_CALL = "block-call"  # a call of a block: node is the Call
ARGUMENT = "argument"  # an argument of a call: name is the argument (or parameter) it binds, node the Call
TENSOR = "tensor"
BLOCK = "block"  # a block's name, where it is defined or called
CONSTANT = "constant"
PARAM = "param"  # a block parameter, where it is declared or read
INCLUDE = "include"  # the path of an include: target is the file it names
INPUT = "input"  # an input declaration: node is the InputDecl
SETTING = "setting"
LABEL = "label"  # a label: node is the labelled element

DEFINITION, USE = "definition", "use"


@dataclass(frozen=True, eq=False)
class Item:
    span: Span
    kind: str
    name: str = ""
    scope: str = ""  # "" at the top level; the block's name inside its body
    role: str = ""  # DEFINITION or USE, for names
    node: object = None  # the syntax node
    target: str | None = None  # an include's resolved path

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.scope, self.name)


def _contains(span: Span, line: int, column: int) -> bool:
    if (line, column) < (span.line, span.column):
        return False
    # a name is found with the cursor just after it too (the editor's cursor sits between characters)
    return (line, column) <= (span.end_line, span.end_column)


def _size(span: Span) -> tuple[int, int]:
    return (span.end_line - span.line, span.end_column - span.column if span.end_line == span.line else 10**9)


@dataclass
class Index:
    """Items by file, and the definitions of every symbol."""

    items: dict[str, list[Item]] = field(default_factory=dict)  # path -> items, by start
    definitions: dict[tuple, Item] = field(default_factory=dict)
    blocks: dict[str, BlockDef] = field(default_factory=dict)
    constants: dict[str, Constant] = field(default_factory=dict)
    _starts: dict[str, list] = field(default_factory=dict, repr=False)

    def add(self, item: Item) -> None:
        self.items.setdefault(item.span.path, []).append(item)
        if item.role == DEFINITION and item.key not in self.definitions:
            self.definitions[item.key] = item

    def finish(self) -> Index:
        for path, items in self.items.items():
            items.sort(key=lambda i: (i.span.line, i.span.column))
            self._starts[path] = [(i.span.line, i.span.column) for i in items]
        return self

    def at(self, path: str, line: int, column: int, kinds=None) -> list[Item]:
        """The items at a 1-based position, innermost first (optionally only of some kinds)."""
        items = self.items.get(path, ())
        if not items:
            return []
        stop = bisect.bisect_right(self._starts[path], (line, column))
        found = [i for i in items[:stop] if _contains(i.span, line, column) and (kinds is None or i.kind in kinds)]
        # nested items (an argument inside a call inside a group) start later and are smaller
        # at one place a name (a constant passed as an argument) comes before the argument it fills
        found.sort(key=lambda i: (_size(i.span), -i.span.line, -i.span.column, i.kind == ARGUMENT))
        return found

    def first_at(self, path: str, line: int, column: int, kinds=None) -> Item | None:
        found = self.at(path, line, column, kinds)
        return found[0] if found else None

    def symbol_at(self, path: str, line: int, column: int) -> Item | None:
        """The name at a position (a tensor, block, constant, parameter or label), if any."""
        return self.first_at(path, line, column, (TENSOR, BLOCK, CONSTANT, PARAM, INCLUDE, LABEL))

    def references(self, key: tuple) -> list[Item]:
        return [i for items in self.items.values() for i in items if i.key == key]

    def all(self, path: str, kinds=None) -> list[Item]:
        return [i for i in self.items.get(path, ()) if kinds is None or i.kind in kinds]


def build(programs: dict[str, Program], includes: dict[tuple, str] | None = None) -> Index:
    """The index of a file's syntax tree and its included files' (programs: path -> Program, the checked
    file first). includes: (path of the including file, path as written) -> the file it resolves to."""
    index = Index()
    for program in programs.values():
        for stmt in program.statements:
            if isinstance(stmt, BlockDef):
                index.blocks.setdefault(stmt.name.id, stmt)
            elif isinstance(stmt, Constant):
                index.constants.setdefault(stmt.name.id, stmt)
    for path, program in programs.items():
        _Walker(index, includes or {}, path).program(program)
    return index.finish()


class _Walker:
    def __init__(self, index: Index, includes: dict, path: str):
        self.index = index
        self.includes = includes
        self.path = path
        self.scope = ""
        self.params: dict[str, bool] = {}  # inside a block: parameter -> is a tensor

    def add(self, *args, **kwargs):
        self.index.add(Item(*args, **kwargs))

    def program(self, program: Program) -> None:
        for stmt in program.statements:
            self.statement(stmt)

    def statement(self, stmt) -> None:
        if isinstance(stmt, InputDecl):
            self.add(stmt.span, INPUT, stmt.name.id, node=stmt)
            self.add(stmt.name.span, TENSOR, stmt.name.id, self.scope, DEFINITION, stmt)
            for option in stmt.options:
                self.expr(option.value)
        elif isinstance(stmt, ParamDecl):  # a learnable tensor: a tensor's definition, sizes as arguments are
            self.add(stmt.name.span, TENSOR, stmt.name.id, self.scope, DEFINITION, stmt)
            for dim in stmt.dims:
                self.expr(dim)
            for option in stmt.options:
                self.expr(option.value)
        elif isinstance(stmt, Assign):
            for target in stmt.targets:
                self.add(target.span, TENSOR, target.id, self.scope, DEFINITION, stmt)
            self.chain(stmt.chain, start=True)
        elif isinstance(stmt, OutputDecl):
            if stmt.chain is not None:
                for name in stmt.names:
                    self.add(name.span, TENSOR, name.id, self.scope, DEFINITION, stmt)
                self.chain(stmt.chain, start=True)
            else:
                for name in stmt.names:
                    self.add(name.span, TENSOR, name.id, self.scope, USE, stmt)
        elif isinstance(stmt, Constant):
            self.add(stmt.name.span, CONSTANT, stmt.name.id, "", DEFINITION, stmt)
            self.expr(stmt.value)
        elif isinstance(stmt, Include):
            target = self.includes.get((self.path, stmt.path))
            self.add(stmt.path_span, INCLUDE, stmt.path, "", USE, stmt, target)
        elif isinstance(stmt, Setting):
            self.add(stmt.span, SETTING, stmt.name.id, node=stmt)
        elif isinstance(stmt, NetworkStmt):
            pass
        elif isinstance(stmt, BlockDef):
            self.block(stmt)

    def block(self, stmt: BlockDef) -> None:
        self.add(stmt.name.span, BLOCK, stmt.name.id, "", DEFINITION, stmt)
        outer = (self.scope, self.params)
        self.scope = stmt.name.id
        self.params = {p.name.id: p.type is not None and p.type.id == "tensor" for p in stmt.params}
        for param in stmt.params:
            if self.params[param.name.id]:
                self.add(param.name.span, TENSOR, param.name.id, self.scope, DEFINITION, param)
            else:
                self.add(param.name.span, PARAM, param.name.id, self.scope, DEFINITION, param)
            if param.default is not None:
                self.expr(param.default)
        if stmt.chain is not None:
            self.chain(stmt.chain, start=False)
        for inner in stmt.body or ():
            self.statement(inner)
        self.scope, self.params = outer

    def chain(self, chain: Chain, start: bool) -> None:
        elements = chain.elements
        if start and elements:
            first = elements[0]
            if isinstance(first, Call) and not first.args and not first.kwargs and first.name.id not in KINDS:
                self.tensor_use(first.name.id, first.name.span, first)
                elements = elements[1:]
        for element in elements:
            self.element(element)

    def tensor_use(self, name: str, span: Span, node) -> None:
        self.add(span, TENSOR, name, self.scope, USE, node)

    def element(self, element) -> None:
        if isinstance(element, Call):
            self.call(element)
        elif isinstance(element, Labelled):
            self.add(element.label.span, LABEL, element.label.id, self.scope, DEFINITION, node=element.element)
            self.element(element.element)
        elif isinstance(element, Group):
            for inner in element.chain.elements:
                self.element(inner)
        elif isinstance(element, Repeat):
            self.element(element.element)
            self.expr(element.count)
        elif isinstance(element, When):
            self.element(element.element)
            self.expr(element.condition)

    def call(self, call: Call) -> None:
        name = call.name.id
        block = self.index.blocks.get(name)
        if block is not None:
            self.add(call.span, BLOCK_CALL, name, self.scope, node=call)
            self.add(call.name.span, BLOCK, name, "", USE, call)
            params = block.params
            tensor = {p.name.id: p.type is not None and p.type.id == "tensor" for p in params}
            for param, expr in zip(params, call.args):
                self.argument(call, param.name.id, expr, expr.span, tensor[param.name.id])
            for kw in call.kwargs:
                self.argument(call, kw.name.id, kw.value, kw.span, tensor.get(kw.name.id, False))
            return
        kind = KINDS.get(name)
        self.add(call.span, LAYER, name, self.scope, node=call)
        if name == "reuse" and len(call.args) == 1 and isinstance(call.args[0], Name):  # `reuse(tower)`: a label
            label = call.args[0]
            self.add(label.span, LABEL, label.id, self.scope, USE, node=call)
            return
        if kind is None:
            for expr in (*call.args, *(kw.value for kw in call.kwargs)):
                self.expr(expr)
            return
        if kind.variadic:
            for expr in call.args:
                self.argument(call, "", expr, expr.span, True)
        else:
            positional = [a for a in kind.args if a.positional]
            for spec, expr in zip(positional, call.args):
                self.argument(call, spec.name, expr, expr.span, spec.type == "tensor")
            for expr in call.args[len(positional) :]:
                self.expr(expr)
        by_name = {alias: spec for spec in kind.args for alias in (spec.name, *spec.aliases)}
        for kw in call.kwargs:
            spec = by_name.get(kw.name.id)
            self.argument(
                call, spec.name if spec else kw.name.id, kw.value, kw.span, spec is not None and spec.type == "tensor"
            )

    def argument(self, call: Call, name: str, expr, span: Span, tensor: bool) -> None:
        self.add(span, ARGUMENT, name, self.scope, node=call)
        if tensor and isinstance(expr, Name):
            self.tensor_use(expr.id, expr.span, call)
        else:
            self.expr(expr)

    def expr(self, expr) -> None:
        pending = [expr]
        while pending:
            e = pending.pop()
            if isinstance(e, Name):
                if e.id in self.params and not self.params[e.id]:
                    self.add(e.span, PARAM, e.id, self.scope, USE, e)
                elif e.id in self.index.constants:
                    self.add(e.span, CONSTANT, e.id, "", USE, e)
            elif isinstance(e, TupleExpr):
                pending.extend(e.items)
            elif isinstance(e, BinOp):
                pending += (e.left, e.right)
            elif isinstance(e, UnaryOp):
                pending.append(e.operand)
            elif isinstance(e, IfExpr):
                pending += (e.condition, e.then, e.otherwise)
            elif isinstance(e, FuncCall):
                pending.extend(e.args)
            elif isinstance(e, ShapeOf):
                pending.append(e.index)
            elif isinstance(e, Keyword):
                pending.append(e.value)
