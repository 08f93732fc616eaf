"""Reading architecture files of other tools: the one entry point.

A foreign file (an ultralytics model YAML, a Darknet .cfg, a Caffe .prototxt) is recognised by its
extension and its content, translated source to source into .cdsl text by its format's module
(`translate`), and loaded through the normal loader with every diagnostic mapped back to the foreign
file's line and column (`load`). The analysis never imports this package.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from collections.abc import Callable
from pathlib import Path

from .. import diagnostics as codes
from ..diagnostics import Diagnostic
from ..model import Limits
from ..network import Network
from ..source import Source, Span
from .translation import ImportedNetwork, Translation, imported

__all__ = [
    "FORMATS",
    "ImportedNetwork",
    "Translation",
    "format_of",
    "is_foreign",
    "is_onnx",
    "is_python_reference",
    "load",
    "translate",
    "translate_any",
]


@dataclass(frozen=True)
class Format:
    """A foreign format: its extensions, a test of its content and the module that translates it.

    The module has `translate(source: Source, *, options: dict) -> Translation`; it is imported
    only when a file of its format is read.
    """

    name: str
    extensions: tuple[str, ...]
    looks_like: Callable[[str], bool]
    module: str
    description: str


def _darknet(text: str) -> bool:
    return re.search(r"^\s*\[(net|network)\]\s*$", text[:65536], re.M) is not None


def _caffe(text: str) -> bool:
    return re.search(r"^\s*(layers?\s*\{|input\s*:|input_dim\s*:|input_shape\s*\{)", text[:65536], re.M) is not None


def _ultralytics(text: str) -> bool:
    head = text[:65536]
    return re.search(r"^backbone\s*:", head, re.M) is not None and re.search(r"^head\s*:", head, re.M) is not None


FORMATS: dict[str, Format] = {
    "ultralytics": Format(
        "ultralytics",
        (".yaml", ".yml"),
        _ultralytics,
        "convdsl.importers.ultralytics",
        "an ultralytics model YAML (backbone and head rows of [from, repeats, module, args])",
    ),
    "darknet": Format(
        "darknet", (".cfg",), _darknet, "convdsl.importers.darknet", "a Darknet .cfg file ([net], [convolutional], ...)"
    ),
    "caffe": Format(
        "caffe",
        (".prototxt",),
        _caffe,
        "convdsl.importers.caffe",
        "a Caffe .prototxt (protobuf text: layer { ... } entries)",
    ),
}


def format_by_extension(path: str | Path) -> Format | None:
    suffix = Path(str(path)).suffix.lower()
    return next((fmt for fmt in FORMATS.values() if suffix in fmt.extensions), None)


def is_foreign(path: str | Path) -> bool:
    """Whether `path` is read by an importer: its extension is a foreign format's (cheap: reads nothing)."""
    return format_by_extension(path) is not None or is_onnx(path)


def format_of(path: str | Path, text: str) -> Format | None:
    """The format of a file: by extension, else by content (None: a .cdsl file)."""
    fmt = format_by_extension(path)
    if fmt is not None:
        return fmt
    if Path(str(path)).suffix.lower() == ".cdsl":
        return None
    return next((fmt for fmt in FORMATS.values() if fmt.looks_like(text)), None)


def translate(path: str | Path, *, options: dict | None = None) -> Translation | Diagnostic:
    """The file as .cdsl text, or a diagnostic saying why it cannot be read."""
    from ..loading import read_source

    source = read_source(path)
    if isinstance(source, Diagnostic):
        return source
    return translate_source(source, options=options)


def translate_source(source: Source, *, fmt: Format | None = None, options: dict | None = None) -> Translation:
    fmt = fmt or format_of(source.path, source.text)
    if fmt is None:
        return Translation(
            "unknown",
            source,
            "",
            (),
            (
                Diagnostic(
                    codes.FOREIGN_SYNTAX,
                    Span(source.path, 1, 1, 1, 1),
                    "not a format convdsl can import",
                    help="convdsl reads " + "; ".join(f.description for f in FORMATS.values()),
                ),
            ),
        )
    module = importlib.import_module(fmt.module)
    return module.translate(source, options=dict(options or {}))


def is_onnx(path: str | Path) -> bool:
    """An ONNX model (binary protobuf, so recognised by its extension: it is not text to look at)."""
    return Path(str(path)).suffix.lower() == ".onnx"


def is_python_reference(source: str) -> bool:
    """`file.py:factory` or `package.module:factory`: a model built by running Python (only `convdsl import`)."""
    from .pytorch import is_python_reference as check

    return check(source)


def translate_any(source: str, *, options: dict | None = None) -> Translation | Diagnostic:
    """What `convdsl import SOURCE` reads: a Python reference (runs its code), an .onnx file, or a text format."""
    if is_python_reference(source) and not Path(source).is_file():
        from .pytorch import translate_reference

        return translate_reference(source, options=options)
    if is_onnx(source):
        from .onnx import translate_file

        return translate_file(source, options=options)
    return translate(source, options=options)


def load(path: str | Path, *, limits: Limits = Limits(), options: dict | None = None) -> Network:
    """Load a foreign file as a Network whose diagnostics point into it."""
    from ..loading import _empty, read_source

    if is_onnx(path):  # binary: read by the ONNX importer itself, with its own bounds
        from .onnx import translate_file

        return load_translation(translate_file(str(path), options=options), limits=limits)
    source = read_source(path)
    if isinstance(source, Diagnostic):
        return _empty(str(path), (source,))
    fmt = format_of(source.path, source.text)
    if fmt is None:  # not a foreign file after all: .cdsl text under another name
        from ..loading import _build

        return _build(source, limits)
    return load_translation(translate_source(source, fmt=fmt, options=options), limits=limits)


def load_translation(translation: Translation, *, limits: Limits = Limits()) -> ImportedNetwork:
    """The translation loaded through the normal loader, its diagnostics mapped to the foreign file."""
    from ..loading import _empty, loads

    if not translation.text:  # nothing could be translated: the format's own diagnostics say why
        network = _empty(translation.source.path, ())
        network.name = Path(translation.source.path).stem
    else:
        network = loads(translation.text, translation.cdsl_path, limits=limits)
    return imported(network, translation)
