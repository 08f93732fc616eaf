"""The pieces of generated code, and how they are laid out as text.

Constructor calls (Ctor) wrap one argument per line when they do not fit,
like hand-formatted code; forward statements (Assign, If) refer to modules
through ModRef, resolved once the class knows how each container is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable

WIDTH = 100
INDENT = "    "


@dataclass
class Ctor:
    """`func(args..., key=value...)`; an argument is source text or another Ctor."""

    func: str  # "" with brackets "[]": a list
    args: list = field(default_factory=list)
    kwargs: list = field(default_factory=list)  # (name, text | Ctor)
    spread: bool = False  # one item per line even when it would fit (Sequential, ModuleDict)
    brackets: str = "()"


@dataclass
class Dict:
    """`{"key": value, ...}` for nn.ModuleDict."""

    entries: list  # (key text, text | Ctor)


def flat(node) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, Dict):
        return "{" + ", ".join(f"{k}: {flat(v)}" for k, v in node.entries) + "}"
    items = [flat(a) for a in node.args] + [f"{k}={flat(v)}" for k, v in node.kwargs]
    return f"{node.func}{node.brackets[0]}{', '.join(items)}{node.brackets[1]}"


def _long(node) -> bool:
    if isinstance(node, str):
        return False
    if isinstance(node, Dict):
        return len(node.entries) > 1 or any(_long(v) for _, v in node.entries)
    return (
        (node.spread and len(node.args) + len(node.kwargs) > 1)
        or any(_long(a) for a in node.args)
        or any(_long(v) for _, v in node.kwargs)
    )


def layout(node, indent: str, lead: str = "", tail: str = "") -> list[str]:
    """Lines for `lead + node + tail` at `indent`, broken one item per line where needed."""
    text = indent + lead + flat(node) + tail
    if isinstance(node, str) or (len(text) <= WIDTH and not _long(node)):
        return [text]
    inner = indent + INDENT
    if isinstance(node, Dict):
        lines = [indent + lead + "{"]
        for key, value in node.entries:
            lines += layout(value, inner, f"{key}: ", ",")
        return lines + [indent + "}" + tail]
    lines = [indent + lead + node.func + node.brackets[0]]
    for arg in node.args:
        lines += layout(arg, inner, "", ",")
    for key, value in node.kwargs:
        lines += layout(value, inner, f"{key}=", ",")
    return lines + [indent + node.brackets[1] + tail]


@dataclass(frozen=True)
class ModRef:
    """A module of the class, by its convdsl keys from the class down (`("layer1",)`, `("g", "0")`)."""

    path: tuple


@dataclass
class Assign:
    """`targets = value`; value is a list of text and ModRef pieces."""

    targets: list
    value: list
    comment: str = ""


@dataclass
class If:
    test: list  # text and ModRef pieces
    body: list


@dataclass
class Return:
    value: list  # text and ModRef pieces
    comment: str = ""


def forward_lines(statements, resolve: Callable[[ModRef], str], indent: str) -> list[str]:
    lines = []
    for stmt in statements:
        if isinstance(stmt, If):
            lines.append(f"{indent}if {_join(stmt.test, resolve)}:")
            lines += forward_lines(stmt.body, resolve, indent + INDENT)
            continue
        if isinstance(stmt, Return):
            text = f"{indent}return {_join(stmt.value, resolve)}"
        else:
            text = f"{indent}{', '.join(stmt.targets)} = {_join(stmt.value, resolve)}"
        if stmt.comment and len(text) + len(stmt.comment) + 4 <= WIDTH:
            text += f"  # {stmt.comment}"
        lines.append(text)
    return lines


def _join(pieces, resolve) -> str:
    return "".join(p if isinstance(p, str) else resolve(p) for p in pieces)
