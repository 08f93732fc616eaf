"""Reading a YAML file safely and with bounds, keeping each value's line and column.

PyYAML's event parser (libyaml's when installed) reads the text; the values are built here, without
PyYAML's constructors, so no tag can make an object: only mappings, lists, strings, numbers, booleans
and null exist. Bounded by construction: at most MAX_NODES values (an alias counts the values it
repeats, so "billion laughs" stops at the bound), nesting at most MAX_DEPTH deep, and MAX_BYTES of text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import diagnostics as codes
from ..diagnostics import Diagnostic
from ..source import Source, Span

MAX_BYTES = 1 << 20  # ultralytics' model YAMLs are under 10 KB; PyYAML reads about 1 MB a second
MAX_NODES = 100_000
MAX_DEPTH = 64


@dataclass
class Node:
    """A YAML value with where it is written. value: dict (str -> Node), list of Node, or a scalar."""

    value: object
    span: Span
    size: int = 1  # values inside it, itself included (what an alias to it repeats)
    mapping: bool = False
    sequence: bool = False
    quoted: bool = False

    def get(self, key: str) -> Node | None:
        return self.value.get(key) if self.mapping else None


class YamlError(Exception):
    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


_INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)")
_FLOAT = re.compile(r"[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+")


def _scalar(text: str, plain: bool):
    """YAML 1.1's plain scalars as PyYAML's safe loader reads them (the forms model files use)."""
    if not plain:
        return text
    low = text.lower()
    if low in ("", "~", "null"):
        return None
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if _INT.fullmatch(text) and len(text) <= 40:
        return int(text.replace("_", ""))
    if _FLOAT.fullmatch(text) and len(text) <= 60:
        try:
            return float(text.replace("_", ""))
        except ValueError:
            return text
    if low in (".inf", "+.inf", "-.inf", ".nan"):
        return float(low.replace(".", ""))
    return text


def _span(source: Source, start, end) -> Span:
    return Span(source.path, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def read_yaml(source: Source) -> Node:
    """The document's top value; raises YamlError with a diagnostic at the place of the problem."""

    def fail(message, start=None, end=None, code=codes.FOREIGN_SYNTAX, help=None):
        span = _span(source, start, end or start) if start is not None else Span(source.path, 1, 1, 1, 1)
        raise YamlError(Diagnostic(code, span, message, help=help))

    if len(source.text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        fail(
            f"a model YAML larger than {MAX_BYTES // 1024} KiB",
            code=codes.LIMIT_EXCEEDED,
            help="ultralytics' model files are a few KB: is this the right file?",
        )
    try:
        import yaml
    except ImportError:
        fail("reading a YAML file needs PyYAML, which is not installed", help="pip install PyYAML")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    stack: list[list] = []  # open collections: [node, the key Node waiting for its value, or None]
    anchors: dict[str, Node] = {}
    total = 0
    root: Node | None = None

    def count(n: int, event) -> None:
        nonlocal total
        total += n
        if total > MAX_NODES:
            fail(
                f"more than {MAX_NODES:,} values (an alias counts the values it repeats)",
                event.start_mark,
                code=codes.LIMIT_EXCEEDED,
            )

    def attach(node: Node, event) -> None:
        nonlocal root
        if not stack:
            root = node
            return
        entry = stack[-1]
        parent = entry[0]
        parent.size += node.size
        if parent.sequence:
            parent.value.append(node)
        elif entry[1] is None:  # a mapping key
            if node.mapping or node.sequence:
                fail("a mapping key must be a plain value", event.start_mark)
            entry[1] = node
        else:
            parent.value[str(entry[1].value)] = node
            entry[1] = None

    try:
        for event in yaml.parse(source.text, Loader=loader):
            if isinstance(event, yaml.ScalarEvent):
                count(1, event)
                plain = event.implicit[0] and not event.style
                node = Node(
                    _scalar(event.value, plain),
                    _span(source, event.start_mark, event.end_mark),
                    quoted=bool(event.style),
                )
                if event.anchor is not None:
                    anchors[event.anchor] = node
                attach(node, event)
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                count(1, event)
                if len(stack) >= MAX_DEPTH:
                    fail(f"values nested more than {MAX_DEPTH} deep", event.start_mark, code=codes.LIMIT_EXCEEDED)
                mapping = isinstance(event, yaml.MappingStartEvent)
                node = Node(
                    {} if mapping else [], _span(source, event.start_mark, event.end_mark), 1, mapping, not mapping
                )
                if event.anchor is not None:
                    anchors[event.anchor] = node
                stack.append([node, None])
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                node = stack.pop()[0]
                start = node.span
                node.span = Span(
                    source.path, start.line, start.column, event.end_mark.line + 1, event.end_mark.column + 1
                )
                attach(node, event)
            elif isinstance(event, yaml.AliasEvent):
                target = anchors.get(event.anchor)
                if target is None or any(entry[0] is target for entry in stack):
                    fail(f"alias `*{event.anchor}` to no finished anchor", event.start_mark)
                count(target.size, event)
                attach(target, event)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        fail(f"not valid YAML: {problem}", mark)
    if root is None:
        fail("an empty YAML file")
    return root


__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "Node", "YamlError", "read_yaml"]
