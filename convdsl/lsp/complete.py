"""Completion: what may be written at the cursor, from the text before it and the position index.

- after `->` or `:` in a chain (or at the start of a layer name): layer kinds (with their arguments, defaults
  and docs from the catalogue) and blocks (with their parameters);
- inside a call's parentheses: its keyword arguments (not given by keyword or by position), tensors,
  constants and parameters; after `name=`, the argument's choices first; inside `reuse(`: the labels;
- at the start of a chain (`y = `) and in merges: tensors;
- after `set `: the settings, and after `set name =`: their values;
- in shapes, constants, conditions and repeat counts: values;
- at the start of a line: the statement keywords;
- nothing in a comment, in a string (but an argument's choices), after a complete element, or where a new
  name is written (a space is a trigger character: an answer there would pop a list up at every word).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import positions as P
from ..functions import FUNCTIONS
from ..layers import KINDS, canonical_kinds
from ..layers.base import REQUIRED
from ..model import LAYOUTS, ROUNDINGS
from .hover import _arg_doc, _literal
from .hover import signature as block_signature
from .navigate import _shown
from .snapshot import Snapshot

SETTINGS = {"rounding": ROUNDINGS, "layout": LAYOUTS}
STATEMENTS = ("network", "set", "const", "include", "input", "param", "output", "block")


@dataclass(frozen=True)
class Candidate:
    label: str
    kind: str  # layer | block | argument | tensor | constant | param | setting | value | keyword | function | label
    # | file
    detail: str = ""
    doc: str = ""
    insert: str | None = None  # snippet text (LSP snippet syntax), else the label


def complete(snapshot: Snapshot, line: int, column: int) -> list[Candidate]:
    text = snapshot.source.line_text(line)[: column - 1]
    quoted = _in_comment_or_string(text)
    if quoted == "#":
        return []  # a comment: free text
    before = _text_before(snapshot, line, column)
    if quoted and re.match(r"\s*include\s+[\"']", text):  # the path of an include: the files beside
        return _files(snapshot.path)
    if quoted:  # in a string: the choices of the argument it is the value of, if any
        return [Candidate(c, "value", detail) for c, detail in _choices(before[: before.rfind(quoted)])]
    set_match = re.match(r"\s*set\s+(\w*)$", text)
    if set_match:
        return [Candidate(name, "setting", " | ".join(values)) for name, values in SETTINGS.items()]
    value_match = re.match(r"\s*set\s+(\w+)\s*=\s*\w*$", text)
    if value_match:
        return [Candidate(v, "value", f"set {value_match.group(1)}") for v in SETTINGS.get(value_match.group(1), ())]
    if re.match(r"\s*\w*$", text) and not _continues(before):
        scope = _scope_at(snapshot, line, column)
        return [Candidate(k, "keyword") for k in STATEMENTS] + _tensors(snapshot, scope)
    scope = _scope_at(snapshot, line, column)
    statement = _statement(text)
    if statement is not None:
        return statement(snapshot, scope)
    last_word = re.search(r"(\w*)$", before).group(1)
    ahead = before[: len(before) - len(last_word)].rstrip()
    call = _open_call(before)
    if call is not None:
        name, given, positional = call
        if name == "reuse":  # its argument is a label, not a value
            return _labels(snapshot)
        functions = [Candidate(f, "function", usage) for f, (_, _, _, usage) in FUNCTIONS.items()]
        values = _tensors(snapshot, scope) + _values(snapshot, scope) + functions
        keyword = re.search(r"([A-Za-z_]\w*)\s*=$", ahead)
        if keyword is not None and not ahead.endswith("=="):  # `name=`: its value
            choices = [Candidate(f'"{c}"', "value", detail) for c, detail in _choices(ahead)]
            return choices + values
        if ahead.endswith(("(", ",")) or not ahead:
            return _arguments(snapshot, name, given, positional) + values
        if not _after_operator(ahead):
            return []  # after a complete value (`conv(8, 3 `): an operator or `,` comes next
        return values
    if ahead.endswith(("->", ":")):
        return _layers(snapshot)
    if ahead.endswith("=") and not ahead.endswith("=="):
        return _tensors(snapshot, scope) + [
            c for c in _layers(snapshot) if KINDS.get(c.label) is not None and KINDS[c.label].variadic
        ]
    if _after_operator(ahead):  # a condition (`if`), a repeat count (`*`), arithmetic: values
        functions = [Candidate(f, "function", usage) for f, (_, _, _, usage) in FUNCTIONS.items()]
        return _values(snapshot, scope) + functions
    if re.search(r"(\w|\))$", ahead):
        return []  # after a complete element or tensor: `->`, an operator or the line's end come next
    return _layers(snapshot) + _tensors(snapshot, scope)


MAX_FILES = 200  # .cdsl files offered after `include "` (a folder of thousands is not listed whole)


def _files(path: str) -> list[Candidate]:
    """The .cdsl files in the document's folder and below (two levels), as an include names them."""
    import os

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return []  # an untitled buffer
    out = []
    for visited, (root, dirs, files) in enumerate(os.walk(folder)):
        if visited >= MAX_FILES:  # folders looked into, at most as many
            break
        depth = os.path.relpath(root, folder).count(os.sep) + (root != folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and depth < 2)
        for name in sorted(files):
            full = os.path.join(root, name)
            if name.endswith(".cdsl") and full != os.path.abspath(path):
                out.append(Candidate(os.path.relpath(full, folder).replace(os.sep, "/"), "file", "convdsl file"))
                if len(out) >= MAX_FILES:
                    return out
    return out


def _in_comment_or_string(text: str) -> str:
    """'#' when the end of text is in a comment, the quote when it is in a string, else ''."""
    quote = ""
    for char in text:
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            return "#"
    return quote


def _choices(ahead: str) -> list[tuple[str, str]]:
    """The choices of the string argument whose `name=` ends ahead (with the kind for detail), if any."""
    keyword = re.search(r"([A-Za-z_]\w*)\s*=\s*$", ahead)
    call = _open_call(ahead)
    if keyword is None or call is None:
        return []
    kind = KINDS.get(call[0])
    if kind is None:
        return []
    spec = next((a for a in kind.args if keyword.group(1) in (a.name, *a.aliases)), None)
    return [(c, f"{spec.name} of {kind.name}") for c in spec.choices] if spec is not None else []


_OPERATOR = re.compile(r"(?:\b(?:if|else|and|or|not)|[-+*/%<>!=,(\[]|//|\*\*)$")


def _after_operator(ahead: str) -> bool:
    return bool(_OPERATOR.search(ahead)) and not ahead.endswith("->")


def _statement(text: str):
    """For a line that is a declaration, what may be typed at its end (a function of the snapshot and scope),
    or None for a line that is a chain."""
    stripped = text.lstrip()
    word = re.match(r"(network|include|input|param|const|output|block)\b", stripped)
    if word is None:
        return None
    keyword, rest = word.group(1), stripped[word.end() :]
    functions = [Candidate(f, "function", usage) for f, (_, _, _, usage) in FUNCTIONS.items()]
    if keyword in ("network", "include"):
        return lambda snapshot, scope: []
    if keyword in ("input", "param"):
        if ":" not in rest:
            return lambda snapshot, scope: []  # a new name
        if "," in rest or (re.search(r"\w\s+$", rest) and not re.search(r"\bx\s+$", rest)):
            return lambda snapshot, scope: [] if not rest.rstrip().endswith((",", "=")) else _values(snapshot, scope)
        return lambda snapshot, scope: [c for c in _values(snapshot, scope) if c.kind != "value"]
    if keyword == "const":
        if "=" not in rest:
            return lambda snapshot, scope: []
        value = rest[rest.index("=") + 1 :]
        typing = re.search(r"\w*$", value).group()
        ahead = value[: len(value) - len(typing)].rstrip()
        if ahead and not _after_operator(ahead):
            return lambda snapshot, scope: []  # after a complete value: an operator comes next
        return lambda snapshot, scope: _values(snapshot, scope) + functions
    if keyword == "output":
        if re.fullmatch(r"\s*\w*", rest):
            return lambda snapshot, scope: _tensors(snapshot, scope)
        return None if "=" in rest else (lambda snapshot, scope: [])
    # block: its header is new names; after `=` a chain of layers (`block cbr(c) = conv(c, 3)`), after `{`
    # statements
    if re.search(r"\)\s*=\s*\w*$", rest):
        return lambda snapshot, scope: _layers(snapshot)
    if "=" in rest or "{" in rest:
        return None
    return lambda snapshot, scope: []


def _text_before(snapshot: Snapshot, line: int, column: int) -> str:
    from .convert import offset_of

    offset = offset_of(snapshot.source, line, column)
    before = snapshot.source.text[max(0, offset - 2000) : offset]
    # from the start of the statement being typed: a line that starts with a name in column 1 (or in a block)
    # starts one, even after a '(' left open above it
    starts = [m.end() for m in re.finditer(r"\n(?=[ \t]*[A-Za-z_]\w*(?:[ \t]*,[ \t]*\w+)*[ \t]*=[^=])", before)]
    return before[starts[-1] - 1 :] if starts else before


def _continues(before: str) -> bool:
    """The line being typed continues a chain: the line before ends with '->', or a '(' is open."""
    head, _, _ = before.rpartition("\n")
    return head.rstrip().endswith("->") or _open_call(before) is not None


def _open_call(before: str) -> tuple[str, set[str], int] | None:
    """The call whose parentheses the cursor is in: its name, the keywords already given, and how many
    arguments were given by position before the one being typed."""
    depth = 0
    for i in range(len(before) - 1, -1, -1):
        c = before[i]
        if c == ")":
            depth += 1
        elif c == "(":
            if depth == 0:
                match = re.search(r"([A-Za-z_]\w*)\s*$", before[:i])
                if match is None:
                    return None  # a group or a tuple: no call
                inside = before[i + 1 :]
                return match.group(1), set(re.findall(r"([A-Za-z_]\w*)\s*=(?!=)", inside)), _positional(inside)
            depth -= 1
    return None


def _positional(inside: str) -> int:
    """The arguments before the last `,` at the call's own level that are not `name=value`."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(inside):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(inside[start:i])
            start = i + 1
    return sum(1 for part in parts if not re.match(r"\s*[A-Za-z_]\w*\s*=(?!=)", part))


def _scope_at(snapshot: Snapshot, line: int, column: int) -> str:
    for definition in snapshot.index.blocks.values():
        span = definition.span
        if span.path == snapshot.path and (span.line, span.column) <= (line, column) <= (
            span.end_line,
            span.end_column,
        ):
            return definition.name.id
    return ""


def _layers(snapshot: Snapshot) -> list[Candidate]:
    out = []
    for kind in canonical_kinds():
        required = [a for a in kind.args if a.required and a.positional]
        snippet = (
            kind.name
            if not required
            else kind.name + "(" + ", ".join(f"${{{i + 1}:{a.name}}}" for i, a in enumerate(required)) + ")"
        )
        signature = ", ".join(a.name if a.required else f"{a.name}={_literal(a.default)}" for a in kind.args)
        doc = (kind.summary + "\n\n" if kind.summary else "") + "\n".join(f"- {_arg_doc(a)}" for a in kind.args)
        out.append(Candidate(kind.name, "layer", f"{kind.name}({signature})", doc, snippet))
        for alias in kind.aliases:
            out.append(Candidate(alias, "layer", f"alias of {kind.name}", doc, snippet.replace(kind.name, alias, 1)))
    out.append(
        Candidate(
            "reuse",
            "keyword",
            "reuse(LABEL)",
            "Calls the layer, labelled group or block instance labelled LABEL again, with the same weights: "
            "parameters counted once.",
            "reuse(${1:label})",
        )
    )
    for name, block in snapshot.index.blocks.items():
        required = [p for p in block.params if p.default is None]
        snippet = (
            name
            if not required
            else name + "(" + ", ".join(f"${{{i + 1}:{p.name.id}}}" for i, p in enumerate(required)) + ")"
        )
        out.append(
            Candidate(
                name,
                "block",
                f"block {block_signature(snapshot, block)}",
                f"defined at {block.name.span.path.rsplit('/', 1)[-1]}:{block.name.span.line}",
                snippet,
            )
        )
    return out


def _arguments(snapshot: Snapshot, name: str, given: set[str], positional: int = 0) -> list[Candidate]:
    kind = KINDS.get(name)
    if kind is not None:
        taken = {spec.name for spec in [a for a in kind.args if a.positional][:positional]}
        for spec in kind.args:
            if given & {spec.name, *spec.aliases}:
                taken.add(spec.name)
        return [
            Candidate(
                f"{spec.name}=",
                "argument",
                f"{spec.type}" + ("" if spec.default is REQUIRED else f" = {_literal(spec.default)}"),
                _arg_doc(spec),
                f"{spec.name}=$0",
            )
            for spec in kind.args
            if spec.name not in taken
        ]
    block = snapshot.index.blocks.get(name)
    if block is not None:
        return [
            Candidate(
                f"{p.name.id}=",
                "argument",
                (p.type.id if p.type else "") + (" (has a default)" if p.default else " (required)"),
                "",
                f"{p.name.id}=$0",
            )
            for p in block.params[positional:]
            if p.name.id not in given
        ]
    return []


def _labels(snapshot: Snapshot) -> list[Candidate]:
    """The labels written in the file (`tower: (...)`), each once, for `reuse(`."""
    out = {}
    for items in snapshot.index.items.values():
        for item in items:
            if item.kind == P.LABEL and item.role == P.DEFINITION:
                out.setdefault(
                    item.name, Candidate(item.name, "label", "label" + (f" in {item.scope}" if item.scope else ""))
                )
    return list(out.values())


def _tensors(snapshot: Snapshot, scope: str) -> list[Candidate]:
    out = {}
    for items in snapshot.index.items.values():
        for item in items:
            if item.kind == P.TENSOR and item.role == P.DEFINITION and item.scope == scope:
                values = snapshot.tensor_values(scope, item.name)
                shape = snapshot.shape_of(values[0][1]) if values and not scope else None
                out[item.name] = Candidate(item.name, "tensor", _shown(snapshot, shape) if shape else "tensor")
    if scope:
        out.setdefault("in", Candidate("in", "tensor", "the block's input"))
    return list(out.values())


def _values(snapshot: Snapshot, scope: str) -> list[Candidate]:
    out = [Candidate(name, "constant", "const") for name in snapshot.index.constants]
    block = snapshot.index.blocks.get(scope)
    if block is not None:
        out += [Candidate(p.name.id, "param", f"parameter of {scope}") for p in block.params if p.type is None]
    out += [Candidate(word, "value") for word in ("true", "false")]
    return out
