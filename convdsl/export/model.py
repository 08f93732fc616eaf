"""The export of a whole network: a class per block definition, the network's class last, and the file.

Blocks are written callee first, each once for all its uses where it can be
(export/compiler.py); where not, once per distinct use, with a comment saying
why. The result is text: nothing here imports torch.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from .. import diagnostics as codes
from ..diagnostics import Diagnostic
from ..layers.ops import Unsupported
from ..layers.pyexpr import NotGeneric
from ..model import Site
from . import helpers
from .code import INDENT, WIDTH
from .compiler import ClassWriter
from .flat import graph_definition
from .names import BUILTINS, MODULE_NAMES, Namespace, class_name, module_path
from .sites import SiteIndex, layer_graph


@dataclass(frozen=True)
class Export:
    """The exported module's text (None when some layer cannot be exported) and what the harness needs."""

    source: str | None
    class_name: str
    diagnostics: tuple[Diagnostic, ...]
    functional: frozenset = frozenset()  # layers written as expressions in forward, not modules
    prepadded: frozenset = frozenset()  # modules whose input is padded by F.pad first
    # layers made by `reuse(...)` -> the layer whose module they call again (model.LayerNode.shares)
    shared: tuple = ()

    def module_path(self, node: str) -> str | None:
        """The module of a layer in the exported model (for a reused layer, the module it calls again), None for
        an expression in forward."""
        owner = dict(self.shared).get(node, node) if self.shared else node
        return None if owner in self.functional or node in self.functional else module_path(owner)


class _Job:
    """One export under way: the network, its index, the classes written so far."""

    def __init__(self, analysis):
        self.analysis = analysis
        self.network = analysis.network
        self.graph = layer_graph(self.network)
        self.index = SiteIndex(self.graph)
        self.rounding = self.network.settings.rounding
        self.classes: dict[int, object] = {}  # id(Site) -> ClassCode
        self.problems: dict[tuple, Diagnostic] = {}
        self.class_names: set[str] = set()
        root = self.index.root
        records = root.definitions if root is not None else None
        # the definitions as lowering recorded them (definition.py): the top level, and each block by name
        self.top = records.top() if records is not None else None
        self.blocks = {name: records.block(name) for name in records.names()} if records is not None else {}
        layers = [n for n, data in self.graph.nodes.items() if data.kind not in ("input", "output")]
        if records is None and layers:
            # built in Python (convdsl.build) without definitions: the top level is read from the graph
            self.top, why = graph_definition(self.graph, self.network.outputs)
            if why is not None:
                self.problem(why)
            else:
                self.index.add_root(Site("", None, {}))
        elif any(self.graph.nodes[n].site is None for n in layers):
            self.problem("some layers were built with a site and some without; give every layer one, or none")

    def problem(self, message: str) -> None:
        diagnostic = Diagnostic(
            codes.EXPORT_UNSUPPORTED, None, f"the network cannot be exported to PyTorch: {message}", "not exportable"
        )
        self.problems.setdefault((None, message), diagnostic)

    def class_for(self, site):
        return self.classes[id(site)]

    def unsupported(self, node: str, err: Unsupported):
        data = self.graph.nodes[node]
        written = "reuse" if data.get("shares") is not None else data["written"]  # a copy: the reuse's call
        message = f"`{written}` cannot be exported to PyTorch: {err.message}"
        notes = (f"in layer `{node}`",) if data.block_path else ()
        diagnostic = Diagnostic(codes.EXPORT_UNSUPPORTED, data.span, message, "not exportable", err.help, notes)
        self.problems.setdefault((data.span, message), diagnostic)


def export(analysis, *, source_label: str | None = None) -> Export:
    network = analysis.network
    errors = tuple(d for d in analysis.diagnostics if d.is_error)
    title = class_name(network.name)
    if errors:
        return Export(None, title, errors)
    job = _Job(analysis)
    definitions = _definitions(job)
    names = _ClassNames()
    bases = {name: names.take(class_name(name)) for name in definitions}
    top = names.take(title)
    job.class_names = names.allocated
    written = []
    for name, sites in definitions.items():
        written += _write_block(job, name, sites, bases[name], names)
    if job.index.root is not None and not job.problems:
        top_code = ClassWriter(job, job.top, [job.index.root], name=top, generic=False).write()
    else:
        top_code = None
    if job.problems:
        return Export(None, top, tuple(sorted(job.problems.values(), key=Diagnostic.sort_key)))
    source = _file(job, written, top_code, top, source_label or network.path)
    functional = set().union(*(c.functional for c in written), top_code.functional if top_code else set())
    prepadded = set().union(*(c.prepadded for c in written), top_code.prepadded if top_code else set())
    shared = tuple((node, data.shares) for node, data in job.graph.nodes.items() if data.get("shares") is not None)
    return Export(source, top, (), frozenset(functional), frozenset(prepadded), shared)


class _ClassNames:
    """Class names: unique, and never a keyword, a builtin or a name every exported file uses."""

    def __init__(self):
        self.taken = set(MODULE_NAMES) | BUILTINS | set(keyword.kwlist)
        self.allocated: set[str] = set()  # locals and parameters avoid these, so no class is shadowed

    def take(self, wanted: str) -> str:
        name, n = wanted, 1
        while name in self.taken:
            n += 1
            name = f"{wanted}{n}"
        self.taken.add(name)
        self.allocated.add(name)
        return name


def _definitions(job) -> dict:
    """Block name -> its uses (Sites), callees before callers."""
    uses: dict[str, list] = {}
    depth: dict[str, int] = {}
    for site in job.index.sites():
        if site.parent is None:
            continue
        name = site.block
        uses.setdefault(name, []).append(site)
        depth[name] = max(depth.get(name, 0), len(site.block_path))
    # a block used inside another is always deeper than every use of the other that contains it
    order = sorted(uses, key=lambda name: -depth[name])
    return {name: uses[name] for name in order}


def _write_block(job, name, sites, base, names) -> list:
    definition = job.blocks[name]
    try:
        code = ClassWriter(job, definition, sites, name=base, generic=True).write()
    except NotGeneric as why:
        return _per_use(job, name, sites, base, names, str(why))
    for site in sites:
        job.classes[id(site)] = code
    return [code]


def _per_use(job, name, sites, base, names, why) -> list:
    """The block written once per distinct use (arguments and input shapes), when one class cannot serve all."""
    groups: dict[str, list] = {}
    for site in sites:
        params = [p.name for p in job.blocks[site.block].params if not p.tensor]
        key = repr(
            ([site.env[p] for p in params], [job.analysis.shapes.get(site.inputs.get(t)) for t in sorted(site.inputs)])
        )
        groups.setdefault(key, []).append(site)
    out = []
    for index, group in enumerate(groups.values()):
        class_ = base if index == 0 else names.take(base)
        code = ClassWriter(job, job.blocks[group[0].block], group, name=class_, generic=False).write()
        code.note = f"`{name}` is written out for each way it is used: {why}"
        for site in group:
            job.classes[id(site)] = code
        out.append(code)
    return out


# the file ------------------------------------------------------------------------------

HEADER = "# -*- coding: utf-8 -*-"  # line 1 of every export


def _file(job, blocks, top_code, top, label) -> str:
    network = job.network
    used = set().union(*(c.helpers for c in blocks), top_code.helpers if top_code else set())
    # Lines 1 and 2 are fixed text: Python obeys a `coding[:=]` declaration in either, so a name or path
    # there (`coding=utf-7.cdsl`) could decide how the rest of the file is read, and in UTF-7 `+AAo-` is a
    # line break. With the encoding declared first, no later text can be taken for one.
    title = f"Network `{_clean(network.name)}`, from {_safe(label)}."
    lines = [HEADER, f"# PyTorch model exported by convdsl {__version__}."]
    lines += [f"# {line}" for line in _wrap(title, WIDTH - 2)]
    description = _leading_comments(network.sources.get(network.path))
    if description:
        lines += ["#"] + [f"# {text}" if text else "#" for text in description]
    lines += ["", "import torch", "from torch import nn"]
    if "F" in used:
        lines.append("import torch.nn.functional as F")
    text = helpers.source(used)
    if text:
        lines += ["", "", text.rstrip("\n")]
    for code in blocks:
        lines += ["", ""] + _class(code, _comments_above(network, code.definition))
    lines += ["", ""] + (_class(top_code, [], _docstring(job)) if top_code else _empty_network(job, top))
    return "\n".join(lines) + "\n"


def _class(code, comments, docstring: list | None = None) -> list[str]:
    lines = [f"# {c}" if c else "#" for c in comments]
    if code.note:
        lines += [f"# {line}" for line in _wrap(_clean(code.note), WIDTH - 2)]
    lines.append(f"class {code.name}({code.base}):")
    if docstring:
        lines += _docstring_lines(docstring) + [""]
    params, star = ["self"], False
    for p in code.signature():
        if p.keyword_only and not star:
            params.append("*")
            star = True
        params.append(p.name if p.default is None else f"{p.name}={p.default}")
    head = f"{INDENT}def __init__({', '.join(params)}):"
    if len(head) > WIDTH:
        head = f"{INDENT}def __init__(\n" + "".join(f"{INDENT * 3}{p},\n" for p in params) + f"{INDENT}):"
    lines.append(head)
    lines += code.init
    if code.forward:
        lines += [""] + code.forward
    return lines


def _docstring(job) -> list[str]:
    """The network's class docstring, as paragraphs: what goes in and out, and the layout."""
    network = job.network
    graph = job.graph
    shapes = job.analysis.shapes

    def tensor(name, shape, batch):
        if shape is None:
            return name
        return f"{name} ({', '.join(map(str, ((batch if batch is not None else 'N'), *shape)))})"

    ins = [tensor(name, spec.dims, spec.batch) for name, spec in network.inputs.items()]
    batches = {spec.batch for spec in network.inputs.values()}
    batch = batches.pop() if len(batches) == 1 else None
    outs = []
    for name in network.outputs:
        edges = list(graph.in_edges(f"output:{name}", data=True))
        shape = shapes.get((edges[0][0], edges[0][2]["src_port"])) if edges else None
        outs.append(tensor(name, shape, batch))
    if not ins:
        return [
            f"{network.name} declares no input, so there is nothing to run: the blocks it defines are "
            f"exported with the networks that use them."
        ]
    paragraphs = [f"{network.name}: {', '.join(ins)} -> {', '.join(outs)}."]
    if network.settings.layout == "NHWC":
        paragraphs.append(
            "convdsl shows this network's shapes channels-last (`set layout = NHWC`); like every "
            "PyTorch module it takes channels-first tensors: permute NHWC data with "
            "`x.permute(0, 3, 1, 2)`, and an output back with `y.permute(0, 2, 3, 1)`."
        )
    return paragraphs


def _docstring_lines(paragraphs) -> list[str]:
    """A docstring that stays one, whatever a file name holds: printable, quotes and backslashes escaped."""

    def clean(text):
        text = "".join(ch if ch.isprintable() else "?" for ch in text)
        return text.replace("\\", "\\\\").replace('"', '\\"')

    wrapped = [_wrap(clean(p), WIDTH - len(INDENT) - 6) for p in paragraphs]
    if len(wrapped) == 1 and len(wrapped[0]) == 1:
        return [f'{INDENT}"""{wrapped[0][0]}"""']
    lines = []
    for paragraph in wrapped:
        lines += ([""] if lines else []) + [INDENT + line for line in paragraph]
    lines[0] = f'{INDENT}"""' + lines[0][len(INDENT) :]
    return lines + [f'{INDENT}"""']


def _empty_network(job, top) -> list[str]:
    """A network whose outputs are its inputs: no layers, so no definition to walk."""
    network = job.network
    graph = job.graph
    local = Namespace({"self"})
    variables = {name: local.claim(name) for name in network.inputs}
    args = ["self", *variables.values()]
    returns = []
    for name in network.outputs:
        edges = list(graph.in_edges(f"output:{name}", data=True))
        returns.append(variables.get(edges[0][0], "None") if edges else "None")
    return [
        f"class {top}(nn.Module):",
        *_docstring_lines(_docstring(job)),
        "",
        f"{INDENT}def forward({', '.join(args)}):",
        f"{INDENT * 2}return {', '.join(returns) or 'None'}",
    ]


def _safe(text: str) -> str:
    """Text for a comment: printable, or escaped, so it cannot start a line of code."""
    return text if text.isprintable() else ascii(text)


def _clean(line: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in line)


def _leading_comments(source) -> list[str]:
    """The comment lines at the top of the .cdsl file: what the network is, in its author's words."""
    if source is None:
        return []
    out = []
    for line in source.text.split("\n"):
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        out.append(_clean(stripped[1:].strip()))
    return out


def _comments_above(network, definition) -> list[str]:
    """The comment lines just above a block's definition in its file."""
    span = getattr(definition, "span", None)
    source = network.sources.get(span.path) if span is not None else None
    if source is None:
        path = Path(span.path) if span is not None else None
        if path is None or not path.is_file():
            return []
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return []
    else:
        text = source.text
    lines = text.split("\n")[: span.line - 1]
    out = []
    for line in reversed(lines):
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        out.append(_clean(stripped[1:].strip()))
    return out[::-1]


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` characters; `code in backticks` is never broken."""
    words = [w.replace("\0", " ") for w in re.sub(r"`[^`]*`", lambda m: m[0].replace(" ", "\0"), text).split()]
    lines, line = [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + ([line] if line else [])


__all__ = ["Export", "export"]
