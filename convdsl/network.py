"""The public entry points: load a file or a string into a Network."""
from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import diagnostics as codes
from .diagnostics import Diagnostic
from .frontend import parse
from .layergraph import LayerGraph
from .lower import InputSpec, Limits, Lowering, Settings
from .source import Source

# Checking costs time and memory in proportion to the text (a dense 10 MB network: minutes and
# about 2 GB); a larger file is refused at once rather than checked for a quarter of an hour.
MAX_FILE_BYTES = 10 * 1024 * 1024
_FIRST_READ = 1 << 16


@dataclass
class Network:
    """A parsed network: the graph of layer instances and what was found wrong.

    graph is a networkx MultiDiGraph. Nodes are layer instances named by their
    path (`layer1.0.conv1`), inputs by their own name and outputs `output:NAME`;
    node data: kind, args (bound arguments), span, block_path, scopes (the
    lower.Scope block instances, groups and repeat copies it is in), label. An edge
    carries one tensor into input `port` of its target from output `src_port`
    of its source.

    layer_graph is the same graph as convdsl's own LayerGraph, which has the
    networkx calls convdsl uses; `graph` is made from it on first use (a copy),
    so that checking never imports networkx.
    """

    name: str
    path: str
    layer_graph: LayerGraph
    inputs: dict[str, InputSpec]
    outputs: tuple[str, ...]
    settings: Settings
    diagnostics: tuple[Diagnostic, ...]
    sources: dict[str, Source] = field(repr=False)

    @property
    def graph(self):
        """The layer graph as a networkx MultiDiGraph, made on first use."""
        graph = self.__dict__.get("_networkx_graph")
        if graph is None:
            graph = self.__dict__["_networkx_graph"] = self.layer_graph.to_networkx()
        return graph

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    def layers(self) -> list[str]:
        """Layer nodes in a deterministic topological order."""
        nodes = self.layer_graph.nodes
        return [n for n in topological_order(self.layer_graph) if nodes[n]["kind"] not in ("input", "output")]

    def analyze(self, *, strict: bool = False):
        """Shapes, parameters, MACs, receptive fields and shape diagnostics."""
        from .infer import analyze
        return analyze(self, strict=strict)

    def _repr_svg_(self):  # Jupyter shows the diagram inline
        try:
            from .render import FormatUnavailable, render_svg
        except ImportError:
            return None
        try:
            return render_svg(self.analyze())
        except FormatUnavailable:  # no Graphviz of either kind here: Jupyter shows the text instead
            return None


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while a network is built, analysed, summarised or drawn.

    Each allocates many small objects and no reference cycles worth collecting;
    with the collector on, it walks every live object again and again: a
    20,000-layer network took twice as long to build, and the summary of a
    100,000-layer one spent 2.7 of its 3.4 s in the collector. Nests; usable as
    a decorator.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def topological_order(graph) -> list[str]:
    """Insertion order where it is already topological (the usual case), else a stable sort.

    graph: a LayerGraph, or a networkx MultiDiGraph. With a cycle, the insertion order.
    """
    if isinstance(graph, LayerGraph):
        order = graph.topological_order()
        return order if order is not None else list(graph.nodes)
    import networkx as nx

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
            # read(n) sets n bytes aside first: ask for the whole limit only if the file is not small
            data = handle.read(_FIRST_READ)
            if len(data) == _FIRST_READ:
                data += handle.read(MAX_FILE_BYTES + 1 - _FIRST_READ)
    except IsADirectoryError:
        return Diagnostic(codes.UNREADABLE_FILE, None, f"{path}: is a directory", help="give a .cdsl file")
    except FileNotFoundError:
        return Diagnostic(codes.UNREADABLE_FILE, None, f"{path}: no such file", help="check the path")
    except OSError as err:
        return Diagnostic(codes.UNREADABLE_FILE, None, f"{path}: {err.strerror or err}")
    except ValueError:  # open() refuses a name with a NUL byte in it
        return Diagnostic(codes.UNREADABLE_FILE, None, f"{path!r}: a file name cannot contain a NUL byte")
    if len(data) > MAX_FILE_BYTES:
        return Diagnostic(codes.UNREADABLE_FILE, None,
                          f"{path}: larger than the limit of {MAX_FILE_BYTES // 2**20} MiB for one file",
                          help="split the network into included files (each may be this large)")
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


def rebuild(network: Network, texts: dict[str, str], *, limits: Limits = Limits()) -> Network:
    """The network again with some of its files' texts replaced (path -> text): how a fix is tried."""
    sources = {path: Source(path, text) for path, text in texts.items()}

    def read(path):
        path = str(path)
        return sources.get(path) or network.sources.get(path) or read_source(path)

    main = sources.get(network.path) or network.sources.get(network.path)
    if main is None:
        return network
    return _build(main, limits, read)


def _empty(path: str, diagnostics) -> Network:
    return Network(Path(path).stem, path, LayerGraph(), {}, (), Settings(), tuple(diagnostics), {})


def _build(source: Source, limits: Limits, reader=read_source) -> Network:
    with gc_paused():
        return _build_network(source, limits, reader)


def _build_network(source: Source, limits: Limits, reader=read_source) -> Network:
    sources = {source.path: source}
    program, found = parse(source)
    if program is None:
        network = _empty(source.path, found)
        network.sources.update(sources)
        return network
    lowering = Lowering(sources, limits, reader)
    lowering.lower(program)
    # The copies of a repeat repeat its mistakes word for word: each is reported once.
    diagnostics = sorted(dict.fromkeys(lowering.diagnostics), key=Diagnostic.sort_key)
    name = lowering.network_name or Path(source.path).stem
    # Lowering stopped by a limit declares outputs it never made nodes for; only those made are outputs.
    outputs = tuple(out for out in lowering.outputs if f"output:{out}" in lowering.graph)
    return Network(name, source.path, lowering.graph, lowering.inputs, outputs,
                   lowering.settings, tuple(diagnostics), sources)
