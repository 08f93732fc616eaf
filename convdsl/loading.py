"""The public entry points: load a file or a string into a Network."""
from __future__ import annotations

from pathlib import Path

from . import diagnostics as codes
from .build import NetworkBuilder
from .diagnostics import Diagnostic
from .frontend import parse
from .layergraph import LayerGraph
from .lower import Lowering
from .model import Limits, Settings
from .network import Network
from .source import Source
from .walk import gc_paused

# Checking costs time and memory in proportion to the text (a dense 10 MB network: minutes and
# about 2 GB); a larger file is refused at once rather than checked for a quarter of an hour.
MAX_FILE_BYTES = 10 * 1024 * 1024
_FIRST_READ = 1 << 16


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
    return lower_program(source, program, limits, reader)[0]


def lower_program(source: Source, program, limits: Limits, reader) -> tuple[Network, Lowering]:
    """The network of a parsed file, and the Lowering that made it (an editor's position index reads it).

    reader: path -> Source | Diagnostic, for included files (read_source, or an editor's open buffers).
    """
    sources = {source.path: source}
    builder = NetworkBuilder(source.path, sources=sources, limits=limits)
    lowering = Lowering(sources, limits, reader, builder)
    lowering.lower(program)
    builder.name = lowering.network_name
    builder.settings = lowering.settings
    network = builder.network()
    network.rebuild = rebuild
    return network, lowering
