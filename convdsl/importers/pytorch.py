"""`convdsl import path/to/file.py:factory` (or `package.module:factory`): a PyTorch model as .cdsl text.

This runs the user's code, by design: the file or module is imported and the
factory called, exactly as `python -c "from m import f; f()"` would (README,
Security). The model is traced module by module (torchtrace.py), on inputs of
the declared shapes at batch 2 (so that an axis that is the batch is never mistaken
for a size of 1), and written as blocks and labelled groups (torchwrite.py).
Nothing is dropped: a module or function without a layer kind stops the import
with a diagnostic naming it and the line of code behind it, or, with
allow_opaque, becomes an `opaque` layer with its traced shape and parameter count.
"""

from __future__ import annotations

import importlib
import importlib.util
import linecache
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .. import diagnostics as codes
from ..diagnostics import Diagnostic
from ..source import Span

BATCH = 2  # the batch the model is run at: not 1, so a size of 1 is never the batch
_REF = re.compile(r"^(?P<target>.+?):(?P<factory>[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*)$")


@dataclass
class InputSpec:
    """One input of the model's forward: its sizes without the batch, and its type."""

    dims: tuple
    dtype: str | None = None  # "float", "long" (token ids), or None: long for one size fed to a model with embeddings
    name: str | None = None


@dataclass
class TorchImport:
    """The result: .cdsl text (None when the import stopped), its origins per line, the import's findings."""

    path: str  # the file the factory lives in (or the reference, when it could not be found)
    text: str | None
    origins: list = field(default_factory=list)  # per line of text: Span in the Python source, or None
    diagnostics: list = field(default_factory=list)
    network: str = "model"
    run_failed: bool = False  # the run on the meta device failed somewhere (then it is run on the CPU)


def is_python_reference(source: str) -> bool:
    """`file.py:factory` or `package.module:factory` (not a Windows drive letter, not a .cdsl/.onnx file)."""
    match = _REF.match(source)
    if not match:
        return False
    target = match.group("target")
    if target.endswith(".py"):
        return True
    return bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", target))


def parse_input(text: str) -> InputSpec:
    """`3 x 224 x 224`, `3x224x224`, `1024, dtype=long`: one input's sizes without the batch."""
    dims_text, _, option = text.partition(",")
    dtype = None
    option = option.strip().replace(" ", "")
    if option:
        if option not in ("dtype=long", "dtype=float"):
            raise ValueError(f"unknown input option `{option}` (dtype=long or dtype=float)")
        dtype = option.split("=", 1)[1]
    parts = [p.strip() for p in re.split(r"\s*[xX]\s*", dims_text.strip())]
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError(f"`{text}` is not sizes such as `3 x 224 x 224`")
    dims = tuple(int(p) for p in parts)
    if any(d < 1 or d > 1_000_000 for d in dims) or len(dims) > 5:
        raise ValueError(f"`{text}`: each size must be between 1 and 1,000,000, with at most 5 of them")
    total = 1
    for d in dims:
        total *= d
    if total > 50_000_000:
        raise ValueError(f"`{text}` is {total:,} values: the model is run on it, so at most 50,000,000")
    return InputSpec(dims, dtype)


def _span(location, fallback: str) -> Span:
    if not location:
        return Span(fallback, 1, 1, 1, 1)
    path, line = location
    text = linecache.getline(path, line).rstrip("\n")
    stripped = len(text) - len(text.lstrip())
    return Span(path, line, stripped + 1, line, max(len(text) + 1, stripped + 2))


def _error(code, message, location, path, help=None, notes=()):
    return Diagnostic(code, _span(location, path), message, help=help, notes=tuple(notes))


def import_python(reference: str, inputs: list[InputSpec] | None = None, *, allow_opaque: bool = False) -> TorchImport:
    """Build, trace and translate the model `reference` names. Never raises for a problem of the model."""
    match = _REF.match(reference)
    if not match:
        return _failed(reference, f"`{reference}` is not `file.py:factory` or `package.module:factory`")
    target, factory_name = match.group("target"), match.group("factory")
    try:
        import torch
    except ImportError:
        return _failed(reference, "importing a PyTorch model needs torch", help="pip install 'convdsl[torch]'")
    loaded = _load(target, factory_name, reference)
    if isinstance(loaded, TorchImport):
        return loaded
    factory, path = loaded
    constructors: dict = {}
    try:
        # built on the meta device first: no memory for weights and no time initialising them; what does not
        # build there (a tensor computed in __init__) is built again on the CPU
        with torch.device("meta"):
            model = _call_recording(factory, constructors, torch)
    except BaseException as err:
        if isinstance(err, KeyboardInterrupt):
            raise
        model = None
    if model is None:
        constructors = {}
        try:
            model = _call_recording(factory, constructors, torch)
        except BaseException as err:  # the user's code: any failure is a diagnostic with its cause and line
            if isinstance(err, KeyboardInterrupt):
                raise
            from .torchtrace import format_exception_location

            return _failed(path, f"`{factory_name}()` raised {_describe(err)}", format_exception_location(err))
    if not isinstance(model, torch.nn.Module):
        return _failed(path, f"`{factory_name}()` returned {type(model).__name__}, not a torch.nn.Module")
    network = _network_name(factory_name, model)
    specs = inputs or _example_inputs(model, torch)
    if not specs:
        return _failed(
            path,
            f"the input shape of `{type(model).__name__}` is not known",
            help="give it: `--input 3x224x224` (one per input of forward, without the batch), or set the "
            "model's `example_input_array` (PyTorch Lightning's convention)",
        )
    result = _translate(torch, model, specs, constructors, path, network, allow_opaque, device="meta")
    if result.text is None and result.run_failed:
        # something in forward does not run on the meta device (a tensor made on the CPU, `.item()`): build the
        # model again and run it on the CPU, which computes every value
        constructors = {}
        try:
            model = _call_recording(factory, constructors, torch)
        except BaseException as err:
            if isinstance(err, KeyboardInterrupt):
                raise
            return result
        result = _translate(torch, model, specs, constructors, path, network, allow_opaque, device="cpu")
    return result


def _translate(torch, model, specs, constructors, path, network, allow_opaque, *, device) -> TorchImport:
    from .torchtrace import Tracer
    from .torchwrite import WriteProblem, Writer

    import inspect

    model.eval()
    try:
        parameters = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names = []
    for i, spec in enumerate(specs):
        name = spec.name or (parameters[i].name if i < len(parameters) else f"input{i + 1}")
        names.append(name)
    has_embedding = any(isinstance(m, torch.nn.Embedding) for m in model.modules())
    tracer = Tracer(torch, constructors, batch=BATCH)
    tracer.mapper.premap(model, constructors)
    if device == "meta":
        model.to("meta")
    args = []
    for spec in specs:
        shape = (BATCH, *spec.dims)
        long = spec.dtype == "long" or (spec.dtype is None and len(spec.dims) == 1 and has_embedding)
        if long:
            args.append(torch.zeros(shape, dtype=torch.long, device=device))
        else:
            args.append(torch.randn(shape) if device == "cpu" else torch.empty(shape, device=device))
    root = tracer.scope(model, "", tuple(args))
    result = TorchImport(path, None, network=network)
    if device == "meta" and tracer.run_failed:
        result.run_failed = True
        return result
    if root.problem:
        result.diagnostics.append(
            _error(codes.TORCH_LOAD_FAILED, f"`{type(model).__name__}`: {root.problem}", root.location, path)
        )
        return result
    if len(root.inputs) != len(specs):
        result.diagnostics.append(
            _error(
                codes.TORCH_LOAD_FAILED,
                f"`{type(model).__name__}.forward` takes {len(root.inputs)} tensors, and {len(specs)} input "
                "shapes were given",
                root.location,
                path,
                help="give one `--input` per tensor forward takes, in order",
            )
        )
        return result
    problems = _resolve(root, allow_opaque, path)
    result.diagnostics.extend(problems)
    if any(d.is_error for d in problems):
        return result
    result.diagnostics.extend(_uncalled(model, root, path))
    inputs = [(name, spec.dims, spec.dtype) for name, spec in zip(names, specs)]
    try:
        written = Writer(root, inputs, network).write()
    except WriteProblem as err:
        where = err.location
        if _in_torch(where) or where is None:
            where = _user_location(root, err.scope) or where
        result.diagnostics.append(_error(codes.TORCH_UNSUPPORTED, err.message, where, path, help=err.help))
        return result
    result.diagnostics.extend(
        Diagnostic(codes.IMPORT_RENAMED, _span(where, path), message) for message, where in written.renamed
    )
    result.text = written.text
    result.origins = [_span(origin, path) if origin else None for origin in written.origins]
    return result


def _in_torch(location) -> bool:
    return bool(location) and "/torch/" in str(location[0]).replace("\\", "/")


def _user_location(root, path):
    """The location of the innermost scope on the way to the module `path` that is the user's code."""
    found = root.location if not _in_torch(root.location) else None
    scope = root
    while path and scope is not None:
        inner = None
        for element in scope.elements:
            child = element.child
            if child is not None and (path == child.path or path.startswith(child.path + ".")):
                inner = child
                break
        scope = inner
        if scope is not None and scope.location and not _in_torch(scope.location):
            found = scope.location
    return found


def _resolve(scope, allow_opaque, path, around=None) -> list:
    """Every element without a layer kind: an opaque layer (allow_opaque, one input, a traced shape) or an error.
    A problem inside torch's own modules (an nn.Sequential's forward) points at the nearest user code around it."""
    from .torchmap import call

    if scope.location and not _in_torch(scope.location):
        around = scope.location
    found = []
    for element in scope.elements:
        problem, where = element.problem, element.location
        if element.child is not None and element.child.problem:
            problem, where = element.child.problem, element.child.location or where
        if _in_torch(where) and around:
            where = around
        if problem is None:
            if element.child is not None:
                found.extend(_resolve(element.child, allow_opaque, path, around))
            continue
        full = f"{scope.path}.{element.name}" if scope.path and element.name else element.name or ""
        subject = f"`{full}` ({element.what})" if full else f"`{element.what}`"
        if allow_opaque and element.shape is not None and len(element.inputs) == 1 and len(element.outputs) == 1:
            element.child = None
            element.problem = None
            element.mapped = call(
                "opaque", (tuple(element.shape),), params=element.params, buffers=element.buffers, source=element.what
            )
            continue
        why = ""
        if allow_opaque:
            why = " (an opaque layer needs one input tensor and one output with the batch first)"
        found.append(
            _error(
                codes.TORCH_UNSUPPORTED,
                f"{subject} cannot be imported: {problem}{why}",
                where,
                path,
                help=None
                if allow_opaque
                else "import with --allow-opaque to keep it as an opaque layer with its "
                "traced shape and parameter count",
            )
        )
    return found


def _called(scope, found: set) -> set:
    """The module paths the traced forwards call (a layer, a child scope, a reuse), and their own params."""
    import torch.nn as nn

    containers = (nn.ModuleList, nn.ModuleDict)  # grouped for their members' calls: not called themselves
    if not isinstance(scope.module, containers):
        found.add(scope.path)
    for element in scope.elements:
        child = element.child
        if element.name is not None and not (child is not None and isinstance(child.module, containers)):
            found.add(f"{scope.path}.{element.name}" if scope.path else element.name)
        if child is not None:
            _called(child, found)
    return found


def _uncalled(model, root, path) -> list:
    """W431 for each module with parameters or buffers that no forward calls (a spare block, a training-only
    head): the translation has only what forward computes, so torch's parameters() counts more."""
    from .torchtrace import class_location

    called = _called(root, set())
    found, reported = [], []
    for name, module in model.named_modules():
        if not name or any(name == c or name.startswith(c + ".") for c in called if c):
            continue
        if any(name.startswith(r + ".") for r in reported):
            continue
        if any(name == c.rsplit(".", 1)[0] or c.startswith(name + ".") for c in called if c):
            continue  # a container some of whose members are called: the members are looked at one by one
        params = sum(p.numel() for p in module.parameters())
        buffers = sum(b.numel() for b in module.buffers())
        if not params and not buffers:
            continue
        reported.append(name)
        location = class_location(type(module))
        if _in_torch(location):
            location = root.location
        found.append(
            Diagnostic(
                codes.IMPORT_UNCALLED,
                _span(location, path),
                f"`{name}` ({type(module).__name__}, {params:,} parameters) is never called by forward: the "
                "translation leaves it out, where torch's parameters() counts it",
                help="delete it from the model if it is unused, or call it in forward",
            )
        )
    return found


def _failed(path, message, location=None, help=None) -> TorchImport:
    return TorchImport(path, None, diagnostics=[_error(codes.TORCH_LOAD_FAILED, message, location, path, help=help)])


def _describe(err) -> str:
    text = " ".join(str(err).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _load(target: str, factory_name: str, reference: str):
    """The factory and the file it is defined in; or a TorchImport with the diagnostic."""
    if target.endswith(".py"):
        file = Path(target)
        if not file.is_file():
            return _failed(target, f"`{target}` is not a file")
        path = str(file)
        name = "convdsl_import_" + re.sub(r"\W", "_", file.stem)
        spec = importlib.util.spec_from_file_location(name, file)
        if spec is None or spec.loader is None:
            return _failed(path, f"`{target}` cannot be imported as Python")
        module = importlib.util.module_from_spec(spec)
        folder = str(file.resolve().parent)
        sys.path.insert(0, folder)  # its own imports of modules beside it work, as with `python file.py`
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException as err:
            if isinstance(err, KeyboardInterrupt):
                raise
            from .torchtrace import format_exception_location

            sys.modules.pop(name, None)
            return _failed(path, f"importing `{target}` raised {_describe(err)}", format_exception_location(err))
        finally:
            if sys.path and sys.path[0] == folder:
                sys.path.pop(0)
    else:
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(target)
        except BaseException as err:
            if isinstance(err, KeyboardInterrupt):
                raise
            from .torchtrace import format_exception_location

            return _failed(reference, f"importing `{target}` raised {_describe(err)}", format_exception_location(err))
        path = getattr(module, "__file__", None) or reference
    factory = module
    for part in factory_name.split("."):
        factory = getattr(factory, part, None)
        if factory is None:
            return _failed(path, f"`{target}` has no `{factory_name}`")
    if not callable(factory):
        return _failed(path, f"`{factory_name}` in `{target}` is not callable")
    return factory, path


def _call_recording(factory, constructors: dict, torch):
    """factory(), recording every module's constructor arguments (the first __init__ each instance runs)."""
    Module = torch.nn.Module
    previous = sys.getprofile()

    def profile(frame, event, arg):
        if event == "call" and frame.f_code.co_name == "__init__":
            self = frame.f_locals.get("self")
            if isinstance(self, Module) and id(self) not in constructors:
                code = frame.f_code
                count = code.co_argcount + code.co_kwonlyargcount
                names = code.co_varnames[:count]
                constructors[id(self)] = {n: frame.f_locals.get(n) for n in names if n != "self"}
        if previous is not None:
            previous(frame, event, arg)

    sys.setprofile(profile)
    try:
        model = factory()
    finally:
        sys.setprofile(previous)
    # ids of modules that are gone may be reused by others: keep only the model's own
    alive = {id(m) for m in model.modules()} if isinstance(model, Module) else set()
    for key in list(constructors):
        if key not in alive:
            del constructors[key]
    return model


def _example_inputs(model, torch) -> list[InputSpec] | None:
    example = getattr(model, "example_input_array", None)
    if example is None:
        return None
    items = example if isinstance(example, (tuple, list)) else (example,)
    specs = []
    for item in items:
        if not isinstance(item, torch.Tensor) or item.dim() < 1:
            return None
        dims = tuple(int(d) for d in item.shape[1:])
        if not dims:
            return None
        specs.append(InputSpec(dims, "long" if not item.is_floating_point() else "float"))
    return specs


_GENERIC = frozenset({"build", "make", "create", "model", "get_model", "main", "factory", "net", "network", "load"})


def _network_name(factory_name: str, model) -> str:
    """The factory's name (`resnet18`), or the model's class (`ResNet` -> res_net) where the factory's says nothing."""
    name = factory_name.rsplit(".", 1)[-1]
    if name.lower() in _GENERIC or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        name = type(model).__name__
    name = re.sub(r"(?<=[a-z0-9])([A-Z])(?=[a-z])", r"_\1", name).lower()
    name = re.sub(r"[^a-z0-9_]", "_", name).strip("_")
    return name if name and re.match(r"[a-z_]", name) else "model"


def as_translation(result: TorchImport, fmt: str):
    """The shared Translation (importers/translation.py): the generated text, its origins, the findings."""
    from ..source import Source
    from .translation import Translation

    text = ""
    try:
        if result.path and os.path.isfile(result.path) and fmt == "pytorch":
            with open(result.path, encoding="utf-8", errors="replace") as handle:
                text = handle.read(10 * 1024 * 1024)
    except OSError:
        text = ""
    origins = tuple(result.origins) if result.text else ()
    return Translation(fmt, Source(result.path, text), result.text or "", origins, tuple(result.diagnostics))


def translate_reference(reference: str, *, options: dict | None = None):
    """`convdsl import file.py:factory`: runs the user's code (the file is imported, the factory called)."""
    options = options or {}
    result = import_python(reference, options.get("inputs") or None, allow_opaque=bool(options.get("allow_opaque")))
    return as_translation(result, "pytorch")
