"""The public entry points: load a file or a string into a Network."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from . import diagnostics as codes
from .diagnostics import Diagnostic
from .grammar import parse
from .lower import InputSpec, Limits, Lowering, Settings
from .source import Source

MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass
class Network:
    """A parsed network: the graph of layer instances and what was found wrong.

    graph is a networkx MultiDiGraph. Nodes are layer instances named by their
    path (`layer1.0.conv1`), inputs by their own name and outputs `output:NAME`;
    node data: kind, args (bound arguments), span, block_path, label. An edge
    carries one tensor into input `port` of its target from output `src_port`
    of its source.
    """

    name: str
    path: str
    graph: nx.MultiDiGraph
    inputs: dict[str, InputSpec]
    outputs: tuple[str, ...]
    settings: Settings
    diagnostics: tuple[Diagnostic, ...]
    sources: dict[str, Source] = field(repr=False)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    def layers(self) -> list[str]:
        """Layer nodes in a deterministic topological order."""
        return [n for n in topological_order(self.graph) if self.graph.nodes[n]["kind"] not in ("input", "output")]

    def analyze(self, *, strict: bool = False):
        """Shapes, parameters, MACs, receptive fields and shape diagnostics."""
        from .infer import analyze
        return analyze(self, strict=strict)

    def _repr_svg_(self):  # Jupyter shows the diagram inline
        try:
            from .render import render_svg
        except ImportError:
            return None
        return render_svg(self.analyze())


def topological_order(graph: nx.MultiDiGraph) -> list[str]:
    """Insertion order where it is already topological (the usual case), else a stable sort."""
    order = {node: i for i, node in enumerate(graph.nodes)}
    try:
        return list(nx.lexicographical_topological_sort(graph, key=order.__getitem__))
    except nx.NetworkXUnfeasible:
        return list(graph.nodes)


def read_source(path: str | Path) -> Source | Diagnostic:
    """Read a file as UTF-8 text, or say why it cannot be read."""
    path = str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except IsADirectoryError:
        return Diagnostic(codes.UNREADABLE_FILE, None, f"{path}: is a directory", help="give a .cdsl file")
    except FileNotFoundError:
        return Diagnostic(codes.UNREADABLE_FILE, None, f"{path}: no such file", help="check the path")
    except OSError as err:
        return Diagnostic(codes.UNREADABLE_FILE, None, f"{path}: {err.strerror or err}")
    if len(data) > MAX_FILE_BYTES:
        return Diagnostic(codes.UNREADABLE_FILE, None, f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB",
                          help="split the network into included files")
    return decode(path, data)


def decode(path: str, data: bytes) -> Source | Diagnostic:
    if b"\x00" in data:
        return Diagnostic(codes.UNREADABLE_FILE, None, f"{path}: a binary file, not convdsl text",
                          help="convdsl files are UTF-8 text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        return Diagnostic(codes.UNREADABLE_FILE, None,
                          f"{path}: not valid UTF-8 (byte 0x{data[err.start]:02x} on line {line})",
                          help="save the file as UTF-8")
    return Source(path, text.replace("\r\n", "\n").replace("\r", "\n"))


def load(path: str | Path, *, limits: Limits = Limits()) -> Network:
    """Load a .cdsl file. Problems are in the result's diagnostics; nothing is raised for bad input."""
    source = read_source(path)
    if isinstance(source, Diagnostic):
        return _empty(str(path), (source,))
    return _build(source, limits)


def loads(text: str, path: str = "<string>", *, limits: Limits = Limits()) -> Network:
    """Load convdsl text; `path` names it in diagnostics and anchors includes."""
    return _build(Source(path, text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")), limits)


def _empty(path: str, diagnostics) -> Network:
    return Network(Path(path).stem, path, nx.MultiDiGraph(), {}, (), Settings(), tuple(diagnostics), {})


def _build(source: Source, limits: Limits) -> Network:
    sources = {source.path: source}
    program, found = parse(source)
    if program is None:
        network = _empty(source.path, found)
        network.sources.update(sources)
        return network
    lowering = Lowering(sources, limits, read_source)
    lowering.lower(program)
    diagnostics = sorted(lowering.diagnostics, key=Diagnostic.sort_key)
    name = lowering.network_name or Path(source.path).stem
    return Network(name, source.path, lowering.graph, lowering.inputs, tuple(lowering.outputs),
                   lowering.settings, tuple(diagnostics), sources)
