"""A traced PyTorch model (torchtrace.Scope) as .cdsl text that reads like a person wrote it.

Module hierarchy: each module class used more than once is a block (one per
distinct structure), whose parameters are the integers that differ between its
uses, named after the constructor arguments that hold them where the recorded
constructor calls say so (`c`, `stride`, `c * 4`); a module used once is a
labelled group when its forward is a chain, else a block. Names keep the module
paths: a child module is labelled with its attribute name, except where a
labelled group or chain block numbers it by position (`layer1.0`), which is what
nn.Sequential does, so `convdsl export` of the result has the original's
state_dict keys.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from .. import syntax
from ..layers import KINDS, lookup
from .layout import reads_as_tokens
from .torchmodel import Element, ParamValue, Scope

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# words a tensor name or block name cannot be: the language's keywords, and `tensor`; `x` is one only
# inside shapes, so a module named `x` keeps its name (and its state_dict key)
_RESERVED = (syntax.KEYWORDS - {"x"}) | {"tensor"}
_SLOT = "\x00"


class WriteProblem(Exception):
    """A model convdsl cannot name faithfully: the message, the (path, line) behind it."""

    def __init__(self, message: str, location=None, help: str | None = None, scope: str | None = None):
        super().__init__(message)
        self.message, self.location, self.help = message, location, help
        self.scope = scope  # the module path of the scope being written, to find user code around it


@dataclass
class Written:
    text: str
    origins: list  # per line: (path, line) or None
    renamed: list  # (message, (path, line)) per parameter whose name convdsl cannot keep


def snake(name: str) -> str:
    text = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    text = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", text).lower()
    text = re.sub(r"[^a-z0-9_]+", "_", text).strip("_") or "block"
    return "b_" + text if text[0].isdigit() else text


def render_value(value) -> str:
    """A constant as convdsl writes it; strings are quoted so no text from the model becomes syntax."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if text in ("inf", "-inf", "nan"):
            raise WriteProblem(f"the value {text} has no convdsl spelling")
        return text
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "name":
        return value[1]
    if isinstance(value, (tuple, list)):
        items = [render_value(v) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if value is None:
        return "none"
    raise WriteProblem(f"the value {value!r} has no convdsl spelling")


def quote(text: str) -> str:
    """A string literal: printable ASCII only, with quotes and backslashes escaped."""
    safe = "".join(c if 32 <= ord(c) < 127 and c not in '\\"' else "?" for c in text)
    return f'"{safe}"'


class _Slots:
    """Collects the integers of a body as it is rendered: a block's parameters are the ones that vary."""

    def __init__(self):
        self.values: list[int] = []
        self.hints: list[str] = []

    def int(self, value: int, hint: str) -> str:
        self.values.append(value)
        self.hints.append(hint)
        return _SLOT


def _args_text(mapped, slots: _Slots, label: str | None, extra: list[str]) -> str:
    spec = lookup(mapped.kind)
    names = [a.name for a in spec.args if a.positional and a.type != "tensor"]
    parts = list(extra)
    for i, value in enumerate(mapped.args):
        hint = f"{label or mapped.kind}_{names[i] if i < len(names) else i}"
        parts.append(_value(value, slots, hint))
    for name, value in mapped.kwargs:
        parts.append(f"{name}={_value(value, slots, f'{label or mapped.kind}_{name}')}")
    return ", ".join(parts)


def _value(value, slots, hint):
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return slots.int(value, hint)
    return render_value(value)


@dataclass
class _Form:
    kind: str  # "group" | "block" | "chainblock"
    block: str | None = None  # block name
    entry: dict | None = None


class Writer:
    def __init__(self, root: Scope, inputs: list, network: str, *, layer_origins: bool = False):
        # layer_origins: each layer of a chain on its own line, whose origin is that layer's (an ONNX node),
        # so a finding about one layer points at the node behind it; else a chain's origin is its statement's
        self.layer_origins = layer_origins
        self.root = root
        self.inputs = inputs  # (name, dims, dtype) per input of the root's forward
        self.network = network
        self.forms: dict[int, _Form] = {}
        self.blocks: list[dict] = []  # in the order they are defined: children before the blocks that call them
        self.block_names: set[str] = set()
        self.signatures: dict = {}
        self.counts: dict = {}
        self.renamed: list = []
        self.reuse_labels: dict = {}  # id of a reuse element -> the label of the first call it calls again

    def write(self) -> Written:
        names, scopes = {}, []
        for element in _walk_elements(self.root):
            if element.child is not None:
                names[id(element.child)] = element.name
                scopes.append(element.child)
        for s in scopes:
            key = "seq" if _is_container(s) else s.cls
            self.counts[key] = self.counts.get(key, 0) + 1
        # bottom-up: a scope's children are decided (their block names known) before the scope itself
        for s in sorted(scopes, key=_height):
            self._decide(s, names[id(s)])
        lines = [(f"network {self.network}", None), ("", None)]
        for entry in self.blocks:
            lines.extend(self._block_text(entry))
            lines.append(("", None))
        lines.extend(self._top())
        text, origins = [], []
        for statement, origin in lines:
            indent = statement[: len(statement) - len(statement.lstrip(" "))]
            # a statement of several lines (layer_origins) has one origin per line
            pieces = statement.split("\n")
            where = origin if isinstance(origin, list) else [origin] * len(pieces)
            for index, (line, line_origin) in enumerate(zip(pieces, where)):
                here = indent if index == 0 else indent + "    "
                for physical in wrap(line.lstrip(" "), here) if line.strip() else [line]:
                    text.append(physical)
                    origins.append(line_origin)
        return Written("\n".join(text) + "\n", origins, self.renamed)

    def _decide(self, scope: Scope, name: str):
        local = name.rsplit(".", 1)[-1]
        container = _is_container(scope)
        used_once = self.counts["seq" if container else scope.cls] == 1
        chain = is_chain(scope)
        if chain and (used_once or container) and _IDENT.match(local) and "." not in name:
            self.forms[id(scope)] = _Form("group")
            return
        slots = _Slots()
        body = self._body(scope, slots, chain=chain)
        key = ("seq" if container else scope.cls, chain, tuple(line for line, _ in body))
        entry = self.signatures.get(key)
        if entry is None:
            base = "seq" if container else snake(scope.cls.__name__)
            entry = self.signatures[key] = {
                "name": self._block_name(base),
                "instances": [],
                "chain": chain,
                "body": body,
                "hints": slots.hints,
                "scope": scope,
            }
            self.blocks.append(entry)
        entry["instances"].append((scope, slots.values))
        self.forms[id(scope)] = _Form("chainblock" if chain else "block", entry["name"])
        self.forms[id(scope)].entry = entry

    def _block_name(self, base: str) -> str:
        name = base
        if lookup(name) is not None or name in _RESERVED or keyword.iskeyword(name):
            name += "_block"
        candidate, n = name, 1
        while candidate in self.block_names or lookup(candidate) is not None:
            n += 1
            candidate = f"{name}_{n}"
        self.block_names.add(candidate)
        return candidate

    # -- parameters of a block -----------------------------------------------------------------------------

    def _parameters(self, entry):
        """(slot texts, parameters): each slot a literal or an expression of parameters; each parameter
        (name, its value per instance)."""
        if "params" not in entry:
            instances = entry["instances"]
            count = len(instances[0][1])
            ctor = _constructor_vectors([s for s, _ in instances])
            texts, params, by_vector, used = [], [], {}, set()
            for j in range(count):
                vector = tuple(values[j] for _, values in instances)
                if len(set(vector)) == 1:
                    texts.append(str(vector[0]))
                elif vector in by_vector:
                    texts.append(by_vector[vector])
                else:
                    text = _name_for(vector, ctor, entry["hints"][j], used, params)
                    by_vector[vector] = text
                    texts.append(text)
            entry["params"] = (texts, params)
        return entry["params"]

    # -- bodies --------------------------------------------------------------------------------------------

    def _body(self, scope: Scope, slots: _Slots, *, chain: bool):
        """The body of a scope as (line, origin) pairs, its integers as slots."""
        if chain:
            return [(self._chain_text(scope, slots, positional=True), scope.location)]
        statements = self._statements(scope, slots, top=False)
        return [(f"{target} = {body}" if target else body, origin) for target, body, origin in statements]

    def _element_text(self, element: Element, slots, label: str | None, extra: list[str]) -> str:
        prefix = f"{label}: " if label else ""
        if element.child is not None:
            form = self.forms[id(element.child)]
            if form.kind == "group":
                return f"{prefix}({self._chain_text(element.child, slots, positional=True)})"
            entry = form.entry
            _, params = self._parameters(entry)
            index = next(i for i, (s, _) in enumerate(entry["instances"]) if s is element.child)
            args = list(extra) + [slots.int(vector[index], name) for name, vector in params]
            return f"{prefix}{form.block}({', '.join(args)})" if args else f"{prefix}{form.block}"
        if element.reuse_of is not None:
            return f"reuse({self.reuse_labels[id(element)]})"
        text = _args_text(element.mapped, slots, label, extra)
        return f"{prefix}{element.mapped.kind}({text})" if text else f"{prefix}{element.mapped.kind}"

    def _labels(self, scope, *, positional: bool):
        """Each element's label (None: the automatic name is already the module's, or it has no module)."""
        labels, seen, first_label = [], {}, {}
        for index, element in enumerate(scope.elements):
            name = element.name
            if name is None:
                labels.append(None)
                continue
            if element.reuse_of is not None:  # a module with weights called again: `reuse(LABEL)` of its first
                first = first_label.get(element.reuse_of)
                if first is None:
                    raise WriteProblem(
                        f"`{_join(scope.path, name)}` is called more than once (shared weights), and its first call "
                        "is numbered by its position in a chain (an nn.Sequential), so no label names it for "
                        "`reuse`; a second copy would count its parameters twice",
                        element.location,
                        "call the shared module from a forward that names it (`self.tower(x)`)",
                        scope.path,
                    )
                self.reuse_labels[id(element)] = first
                labels.append(None)
                continue
            if name in seen:  # a module without weights called again (one nn.ReLU for every activation)
                seen[name] += 1
                labels.append(None)
                continue
            seen[name] = 1
            if positional and name == str(index):
                labels.append(None)
            elif _IDENT.match(name):
                labels.append(name)
                first_label[name] = name
            else:
                raise WriteProblem(
                    f"`{_join(scope.path, name)}` cannot keep its name: convdsl numbers the layers of a chain by "
                    f"their position, and it is called at position {index}",
                    element.location,
                    scope=scope.path,
                )
        return labels

    def _chain_text(self, scope, slots, *, positional: bool) -> str:
        labels = self._labels(scope, positional=positional)
        parts = []
        for element, label in zip(scope.elements, labels):
            start = len(slots.values)
            text = self._element_text(element, slots, label, [])
            parts.append((text, tuple(slots.values[start:]), start))
        return _repeats(parts, labels, slots)

    def _statements(self, scope: Scope, slots: _Slots, *, top: bool):
        """A scope's forward as (target, chain, origin): a chain goes on while a tensor feeds one layer only."""
        labels = self._labels(scope, positional=False)
        users: dict = {}
        for element in scope.elements:
            for v in element.inputs:
                users[v] = users.get(v, 0) + 1
        for v in scope.outputs:
            users[v] = users.get(v, 0) + 1000  # an output is always named
        names: dict = {}
        taken: set = set()

        def claim(wanted: str) -> str:
            name = re.sub(r"[^A-Za-z0-9_]", "_", wanted) or "t"
            if not _IDENT.match(name):
                name = "t_" + name
            while name in _RESERVED or keyword.iskeyword(name) or name in taken or name in KINDS:
                name += "_"
            taken.add(name)
            return name

        statements: list = []
        # the module's own parameters first: their names are their state_dict keys, so they are claimed before
        # any tensor's; each is a statement `param NAME: sizes` (target None), its sizes slots like any integer
        for decl in scope.params.values():
            name = decl.name
            if _IDENT.match(name) and name not in _RESERVED and not keyword.iskeyword(name) and name not in taken:
                taken.add(name)
            else:
                name = claim("p_" + name)
                self.renamed.append(
                    (
                        f"{_join(scope.path, decl.name)} (a parameter) cannot keep its name in convdsl: it is the "
                        f"param `{name}` (its state_dict key is `{_join(scope.path, name)}`)",
                        decl.location,
                    )
                )
            names[ParamValue(decl.name)] = name
            sizes = " x ".join(_value(d, slots, f"{decl.name}_size") for d in decl.shape)
            init = f", init={render_value(float(decl.init))}" if decl.init else ""
            statements.append((None, f"param {name}: {sizes}{init}", decl.location))
        for i, v in enumerate(scope.inputs):
            if top:
                names[v] = claim(self.inputs[i][0])
            elif i == 0:
                names[v] = "in"
            else:
                names[v] = claim(v.name)
        if not top and len(scope.outputs) == 1 and scope.outputs[0] not in names:
            names[scope.outputs[0]] = "out"
        pending: dict = {}  # the value at a chain's end -> [head, element texts, origin, outputs]

        def close(v):
            labels_in.pop(v, None)
            chain = pending.pop(v, None)
            if chain is not None:
                head, parts, origin, outputs = chain
                target = ", ".join(name_of(o) for o in outputs)
                # the integers go to the slots in the order of the text, which is the order chains close in
                for _, values, hints, _ in parts:
                    slots.values.extend(values)
                    slots.hints.extend(hints)
                texts = [text for text, _, _, _ in parts]
                if self.layer_origins:  # one layer a line, each pointing at what it was written for
                    first = " -> ".join(([head] if head else []) + texts[:1])
                    body = "\n".join([first] + ["    -> " + text for text in texts[1:]])
                    statements.append((target, body, [where for _, _, _, where in parts]))
                else:
                    statements.append((target, " -> ".join(([head] if head else []) + texts), origin))

        def render(element, label, extra):
            own = _Slots()
            text = self._element_text(element, own, label, extra)
            return (text, own.values, own.hints, element.location)

        def name_of(v):
            if v not in names:
                # an output of a layer with several that nothing reads (an LSTM's states): `_` says so (no W001)
                unread = isinstance(v, tuple) and v[0] == "item" and not users.get(v)
                names[v] = claim(("_" if unread else "") + _value_label(v))
            return names[v]

        labels_in: dict = {}  # the value at a pending chain's end -> the labels written in that chain
        carried: set = set()  # the labels of the chain the current element continues
        for element, label in zip(scope.elements, labels):
            tensors = element.inputs
            variadic = element.mapped is not None and (
                lookup(element.mapped.kind).variadic or element.mapped.merge_form
            )
            if element.reuse_of is not None:
                # `reuse(L)` must come after the statement that labels L: a pending chain holding L (other
                # than the one the reuse continues) is written out now
                target = self.reuse_labels[id(element)]
                for key, held in list(labels_in.items()):
                    if target in held and key != tensors[0]:
                        close(key)
            if variadic:
                for v in tensors:
                    close(v)
                chain = [None, [render(element, label, [name_of(v) for v in tensors])]]
            else:
                first = tensors[0]
                for v in tensors[1:]:
                    close(v)
                extra = [name_of(v) for v in tensors[1:]]
                text = render(element, label, extra)
                if first in pending and users.get(first, 0) == 1 and len(pending[first][3]) == 1:
                    chain = pending.pop(first)[:2]
                    chain[1].append(text)
                    carried = labels_in.pop(first, set())
                else:
                    close(first)
                    chain = [name_of(first), [text]]
            if len(chain) == 2:
                chain += [element.location, list(element.outputs)]
            pending[element.outputs[0]] = chain
            labels_in[element.outputs[0]] = carried | ({label} if label else set())
            carried = set()
            if len(element.outputs) > 1 or users.get(element.outputs[0], 0) != 1:
                close(element.outputs[0])
        for v in list(pending):
            close(v)
        for v in scope.outputs:
            if v in scope.inputs or not any(target == names.get(v) for target, _, _ in statements):
                statements.append(("out" if not top else claim("out"), name_of(v), scope.location))
        self._output_names = [names[v] for v in scope.outputs]
        self._input_names = [names[v] for v in scope.inputs]
        return statements

    def _top(self):
        root = self.root
        lines = []
        slots = _Slots()
        statements = self._statements(root, slots, top=True)
        for value, name, (_, dims, dtype) in zip(root.inputs, self._input_names, self.inputs):
            shape = " x ".join(str(d) for d in dims)
            if dtype == "long":
                option = ", dtype=long"
            elif len(dims) >= 2 and reads_as_tokens(root, value):
                option = ", layout=tokens"  # L x D: its last axis is features (W104, the sweeps of `sizes`)
            else:
                option = ""
            lines.append((f"input {name}: {shape}{option}", root.location))
        lines.append(("", None))
        outputs = list(self._output_names)
        values = iter(slots.values)
        declared = set()
        params = [(body, origin) for target, body, origin in statements if target is None]
        for body, origin in params:
            lines.append((_fill(body, values), origin))
        if params:
            lines.append(("", None))
        for target, body, origin in statements:
            if target is None:
                continue
            body = _fill(body, values)
            if target in outputs and target not in declared:
                declared.add(target)
                lines.append((f"output {target} = {body}", origin))
            else:
                lines.append((f"{target} = {body}", origin))
        return lines

    def _block_text(self, entry):
        texts, params = self._parameters(entry)
        scope = entry["scope"]
        tensor_params = [f"{v.name}: tensor" for v in scope.inputs[1:]]
        header = f"block {entry['name']}({', '.join(tensor_params + [name for name, _ in params])})"
        values = iter(texts)
        body = [(_fill(line, values), origin) for line, origin in entry["body"]]
        out = []
        if not _is_container(scope):
            out.append((_comment(f"# {scope.cls.__qualname__}"), scope.location))
        if entry["chain"]:
            out.append((f"{header} = {body[0][0]}", body[0][1]))
            return out
        out.append((header + " {", scope.location))
        out.extend(("    " + line, origin) for line, origin in body)
        out.append(("}", None))
        return out


def _comment(text: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in text)


def _fill(line: str, values) -> str:
    parts = line.split(_SLOT)
    out = [parts[0]]
    for part in parts[1:]:
        out.append(str(next(values)))
        out.append(part)
    return "".join(out)


def _repeats(parts, labels, slots) -> str:
    """Runs of the same unlabelled element (same text, same values) as `element * n`; the copies' slots go."""
    out, i, drop = [], 0, []
    while i < len(parts):
        j = i
        while (
            j + 1 < len(parts)
            and parts[j + 1][:2] == parts[i][:2]
            and labels[j + 1] is None
            and labels[i] is None
            and not parts[i][0].startswith("reuse(")  # each reuse is its own call, never a repeat of a layer
        ):
            j += 1
        n = j - i + 1
        out.append(f"{parts[i][0]} * {n}" if n > 1 else parts[i][0])
        for k in range(i + 1, j + 1):
            drop.append((parts[k][2], len(parts[k][1])))
        i = j + 1
    for start, count in reversed(drop):
        del slots.values[start : start + count]
        del slots.hints[start : start + count]
    return " -> ".join(out)


def _value_label(v) -> str:
    if isinstance(v, tuple):
        if v[0] == "item":
            return f"{v[1].name}_{v[2]}"
        return f"{v[1].name}_{v[0]}"
    return getattr(v, "name", "t")


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def _is_container(scope) -> bool:
    import torch.nn as nn

    return scope.cls in (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _walk_elements(scope):
    for element in scope.elements:
        yield element
        if element.child is not None:
            yield from _walk_elements(element.child)


def _height(scope) -> int:
    children = [e.child for e in scope.elements if e.child is not None]
    return 1 + max((_height(c) for c in children), default=0)


def is_chain(scope: Scope) -> bool:
    if len(scope.inputs) != 1 or len(scope.outputs) != 1 or not scope.elements or scope.params:
        return False  # a module with parameters of its own declares them: a block with statements
    previous = scope.inputs[0]
    for element in scope.elements:
        if len(element.inputs) != 1 or len(element.outputs) != 1 or element.inputs[0] != previous:
            return False
        if element.mapped is not None and lookup(element.mapped.kind).variadic:
            return False
        previous = element.outputs[0]
    return previous == scope.outputs[0]


def _constructor_vectors(scopes):
    """Constructor argument -> its values across the instances, where every instance has an int for it."""
    keys = None
    for s in scopes:
        ints = {k for k, v in s.constructor.items() if isinstance(v, int) and not isinstance(v, bool)}
        keys = ints if keys is None else keys & ints
    return {
        k: tuple(s.constructor[k] for s in scopes)
        for k in sorted(keys or (), key=lambda k: list(scopes[0].constructor).index(k))
    }


def _name_for(vector, ctor, hint, used, params):
    """The text of a varying slot: a constructor argument that holds it (or a multiple of one), else a new
    parameter. In order: an argument that holds it exactly, unless its name says it is an input size
    (`in_channels`, `inplanes`: the layers' own sizes are their outputs); a multiple of a parameter the block
    already has (`c * 4`, rather than a second parameter that happens to be equal); an input size; a multiple
    of another argument; a new parameter named after the layer and argument (`conv1_out_channels`)."""
    usable = {name: values for name, values in ctor.items() if _IDENT.match(name) and name not in _RESERVED}
    inputs = {name for name in usable if name.lower().startswith("in")}

    def claim(name, values):
        if name not in used:
            used.add(name)
            params.append((name, values))

    def ratio(name, values):
        if 0 in values:
            return None
        up = {v // a if v % a == 0 else None for v, a in zip(vector, values)}
        if len(up) == 1 and None not in up and next(iter(up)) > 1:
            return f"{name} * {next(iter(up))}"
        down = {a // v if v and a % v == 0 else None for v, a in zip(vector, values)}
        if len(down) == 1 and None not in down and next(iter(down)) > 1:
            return f"{name} // {next(iter(down))}"
        return None

    for name, values in usable.items():
        if values == vector and name not in inputs:
            claim(name, values)
            return name
    for name, values in params:
        text = ratio(name, values)
        if text:
            return text
    for name, values in usable.items():
        if values == vector:
            claim(name, values)
            return name
    for name, values in usable.items():
        text = ratio(name, values)
        if text:
            claim(name, values)
            return text
    base = re.sub(r"[^A-Za-z0-9_]", "_", hint)
    name, n = base, 1
    while name in used or name in _RESERVED:
        n += 1
        name = f"{base}_{n}"
    claim(name, vector)
    return name


LINE_LENGTH = 100


def _split_arrows(text: str) -> list[str]:
    """A chain's elements: the text between ` -> ` outside parentheses and strings."""
    parts, depth, start, i, quote_char = [], 0, 0, 0, None
    while i < len(text):
        c = text[i]
        if quote_char:
            if c == "\\":
                i += 1
            elif c == quote_char:
                quote_char = None
        elif c in "\"'":
            quote_char = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0 and text.startswith(" -> ", i):
            parts.append(text[start:i])
            start = i + 4
            i += 4
            continue
        i += 1
    parts.append(text[start:])
    return parts


def _group_parts(element: str):
    """`label: (inner) * n` as ('label: (', inner, ') * n'), or None when the element is not a group."""
    open_at = element.find("(")
    if open_at < 0 or not (element[:open_at].endswith(": ") or open_at == 0):
        return None
    depth, quote_char = 0, None
    for i in range(open_at, len(element)):
        c = element[i]
        if quote_char:
            if c == quote_char:
                quote_char = None
            continue
        if c in "\"'":
            quote_char = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return element[: open_at + 1], element[open_at + 1 : i], element[i:]
    return None


def wrap(line: str, indent: str) -> list[str]:
    """A statement in convdsl fmt's layout: breaks before arrows past the line length, long groups opened."""
    if len(indent) + len(line) <= LINE_LENGTH:
        return [indent + line]
    parts = _split_arrows(line)
    return _wrap_parts(parts, indent, indent + "    ", first=True)


def _wrap_parts(parts, indent, cont, *, first) -> list[str]:
    lines: list[str] = []
    current = ""
    for index, part in enumerate(parts):
        arrow = "" if index == 0 else "-> "
        piece = (" -> " if current else "") + part if not (index and not current) else arrow + part
        prefix = indent if not lines and first else cont
        if current and len(prefix) + len(current) + len(" -> " + part) <= LINE_LENGTH:
            current += " -> " + part
            continue
        if current:
            lines.append((indent if not lines else cont) + current)
            current = ""
        start = "" if index == 0 else "-> "
        here = indent if not lines else cont
        if len(here) + len(start + part) <= LINE_LENGTH:
            current = start + part
            continue
        group = _group_parts(part)
        if group is None:
            current = start + part  # an element longer than a line stays whole
            continue
        head, inner, tail = group
        inner_indent = here + "    "
        lines.append(here + start + head)
        lines.extend(_wrap_parts(_split_arrows(inner), inner_indent, inner_indent, first=True))
        current = tail
        # what follows the group continues on the line of its closing parenthesis
        if current:
            lines.append(here + current)
            current = ""
        del piece
    if current:
        lines.append((indent if not lines else cont) + current)
    return lines
