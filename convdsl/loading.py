"""The public entry points: load a file or a string into a Network."""

from __future__ import annotations

import codecs
import os
import stat
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


def read_source(path: str | Path, *, regular_only: bool = False) -> Source | Diagnostic:
    """Read a file as UTF-8 text, or say why it cannot be read.

    regular_only: refuse anything but a regular file (for includes: a FIFO would block forever and
    `/dev/stdin` would read standard input); it is opened without blocking, then looked at.
    """
    path = str(path)
    try:
        flags = os.O_RDONLY | (getattr(os, "O_NONBLOCK", 0) if regular_only else 0)
        with open(path, "rb", opener=lambda name, _: os.open(name, flags)) as handle:
            if regular_only and not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return Diagnostic(
                    codes.UNREADABLE_FILE,
                    None,
                    f"{path}: not a regular file",
                    help="only regular files can be included (not a FIFO, a device or a socket)",
                )
            if regular_only and hasattr(os, "set_blocking"):
                os.set_blocking(handle.fileno(), True)
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
    return from_bytes(path, data)


def from_bytes(path: str, data: bytes) -> Source | Diagnostic:
    """A file's bytes (read from disk, or an editor's text encoded) as `check` judges them: too large,
    binary, not UTF-8."""
    if len(data) > MAX_FILE_BYTES:
        return Diagnostic(
            codes.UNREADABLE_FILE,
            None,
            f"{path}: larger than the limit of {MAX_FILE_BYTES // 2**20} MiB for one file",
            help="split the network into included files (each may be this large)",
        )
    return decode(path, data)


def read_included(path: str | Path) -> Source | Diagnostic:
    """Read an included file: a regular file only."""
    return read_source(path, regular_only=True)


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),  # before UTF-16: FF FE 00 00
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode(path: str, data: bytes) -> Source | Diagnostic:
    for bom, codec in _BOMS:
        if data.startswith(bom):  # a byte-order mark says which: Windows editors save "Unicode" as UTF-16
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as err:
                return Diagnostic(
                    codes.UNREADABLE_FILE,
                    None,
                    f"{path}: begins as {codec.upper()} text but is not valid {codec.upper()} (at byte {err.start})",
                    help="save the file as UTF-8",
                )
            if "\x00" in text:
                break
            return Source(path, text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n"))
    if b"\x00" in data:
        if (
            len(data) >= 4
            and min(data[0::2].count(0), data[1::2].count(0)) == 0
            and max(data[0::2].count(0), data[1::2].count(0)) >= len(data) // 4
        ):
            return Diagnostic(
                codes.UNREADABLE_FILE,
                None,
                f"{path}: looks like UTF-16 text without a byte-order mark",
                help="save the file as UTF-8 (or as UTF-16 with a byte-order mark)",
            )
        return Diagnostic(
            codes.UNREADABLE_FILE, None, f"{path}: a binary file, not convdsl text", help="convdsl files are UTF-8 text"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        return Diagnostic(
            codes.UNREADABLE_FILE,
            None,
            f"{path}: not valid UTF-8 (byte 0x{data[err.start]:02x} on line {line})",
            help="save the file as UTF-8",
        )
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
        return sources.get(path) or network.sources.get(path) or read_included(path)

    main = sources.get(network.path) or network.sources.get(network.path)
    if main is None:
        return network
    return _build(main, limits, read)


def _empty(path: str, diagnostics) -> Network:
    return Network(Path(path).stem, path, LayerGraph(), {}, (), Settings(), tuple(diagnostics), {})


def _build(source: Source, limits: Limits, reader=read_included) -> Network:
    with gc_paused():
        return _build_network(source, limits, reader)


def _build_network(source: Source, limits: Limits, reader=read_included) -> Network:
    sources = {source.path: source}
    program, found = parse(source)
    if program is None:
        network = _empty(source.path, found)
        network.sources.update(sources)
        return network
    return lower_program(source, program, limits, reader)[0]


def lower_program(
    source: Source, program, limits: Limits, reader, parser=None, carried=None, carrying: bool = False
) -> tuple[Network, Lowering]:
    """The network of a parsed file, and the Lowering that made it (an editor's position index reads it).

    reader: path -> Source | Diagnostic, for included files (read_source, or an editor's open buffers).
    parser: Source -> (Program | None, diagnostics) for included files; frontend.parse unless given.
    carried: the templates the lowering of the file's text before left (Lowering.carry(): lower/carrying.py);
    carrying: leave this lowering's for the next.
    """
    sources = {source.path: source}
    builder = NetworkBuilder(source.path, sources=sources, limits=limits)
    lowering = Lowering(sources, limits, reader, builder, parser, carried, carrying)
    lowering.lower(program)
    builder.name = lowering.network_name
    builder.settings = lowering.settings
    network = builder.network()
    network.rebuild = rebuild
    network.shape_reads = tuple(lowering.shape_reads)
    return network, lowering
