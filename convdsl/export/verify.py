"""The harness: run the exported PyTorch module and hold it against convdsl's own inference.

Export, import the generated file, build the network's class without
arguments, run one forward pass (eval mode, no gradients) on random inputs of
the declared shapes, and compare, layer by layer: the output shapes and
parameter and buffer counts of every layer that is a module (through hooks),
the shapes reaching every module (which checks the merges and crops written
as expressions in forward), the outputs, the totals and the state_dict keys.
Needs torch; convdsl's other commands never import it.
"""

from __future__ import annotations

import importlib.util
import tempfile
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ..layers.base import fmt_shape
from .model import Export, export
from .names import module_path
from .sites import layer_graph

INSTALL = "pip install 'convdsl[torch]'"


class TorchMissing(Exception):
    """torch is not installed."""


@dataclass(frozen=True)
class Mismatch:
    layer: str  # a layer's name, or `model` for totals and `output NAME` for outputs
    what: str
    torch: str
    convdsl: str

    def __str__(self):
        return f"{self.layer}: {self.what}: torch {self.torch}, convdsl {self.convdsl}"


@dataclass
class Verification:
    network: str
    export: Export
    mismatches: list = field(default_factory=list)
    hooked: int = 0  # layers compared through hooks on their modules
    through: int = 0  # layers written as expressions, compared through the inputs of the modules they feed
    expression_kinds: tuple = ()  # their kinds (add, concat, ...)
    unchecked: list = field(default_factory=list)  # expressions feeding only other expressions
    params: int = 0
    buffers: int = 0
    outputs: dict = field(default_factory=dict)  # output name -> shape (batch first)
    error: str | None = None  # the generated code failed to import, build or run

    @property
    def ok(self) -> bool:
        return self.export.source is not None and self.error is None and not self.mismatches

    def report(self) -> str:
        if self.error is not None:
            return f"{self.network}: the exported module failed: {self.error}"
        if self.mismatches:
            count = len(self.mismatches)
            head = (
                f"{self.network}: {count} disagreement{'s' if count != 1 else ''} between the PyTorch export "
                "and convdsl"
            )
            return "\n".join([head, *(f"  {m}" for m in self.mismatches)])
        layers = f"{self.hooked + self.through} layers agree: {self.hooked} modules through hooks"
        if self.through:
            layers += (
                f", {self.through} expressions in forward ({', '.join(self.expression_kinds)}) through what they feed"
            )
        outputs = ", ".join(f"{name} {' x '.join(map(str, shape))}" for name, shape in self.outputs.items())
        lines = [
            f"{self.network}: the PyTorch export agrees with convdsl",
            f"  {layers}",
            f"  parameters {self.params:,}, buffers {self.buffers:,}",
            f"  outputs    {outputs or 'none'}",
        ]
        if self.unchecked:
            lines.append(f"  not compared: {', '.join(self.unchecked)} (they feed nothing that is)")
        return "\n".join(lines)


def verify(analysis, *, batch: int | None = None, device: str = "cpu") -> Verification:
    """Export the analysed network and check the PyTorch module against the analysis.

    batch: the batch to run (default: the input's declared batch, else 1).
    device: where to build and run it; "meta" checks shapes and counts without
    computing anything (no weights are initialised), which is fast for large networks.
    """
    torch = import_torch()
    network = analysis.network
    exported = export(analysis)
    result = Verification(network.name, exported)
    if exported.source is None:
        return result
    sizes = {}
    for name, spec in network.inputs.items():
        if not all(isinstance(d, int) for d in spec.dims):
            symbols = " ".join(f"--size {d}=N" for d in spec.dims if isinstance(d, str))
            result.error = f"input `{name}` has symbolic sizes; give numbers to run the model at: {symbols}"
            return result
        sizes[name] = ((batch or (spec.batch if isinstance(spec.batch, int) else 1)), *spec.dims)
    with tempfile.TemporaryDirectory(prefix="convdsl-verify-") as folder:
        try:
            with torch.device(device):
                model = _build(exported, Path(folder))
        except Exception as err:
            result.error = f"building {exported.class_name}(): {type(err).__name__}: {err}"
            return result
        seen = _hook(model, analysis, exported, result)
        try:
            inputs = [_random_input(torch, analysis, name, shape, device) for name, shape in sizes.items()]
        except (RuntimeError, MemoryError, ValueError) as err:  # a batch too large for this machine
            result.error = f"making the inputs: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
            return result
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")  # a speed note
                outputs = model(*inputs)
        except Exception as err:
            result.error = f"forward: {type(err).__name__}: {err}"
            return result
    _compare(model, analysis, exported, result, seen, outputs)
    return result


def _random_input(torch, analysis, name: str, shape, device):
    """Random values for an input: token ids below every vocabulary size where only embeddings read it."""
    graph = layer_graph(analysis.network)
    readers = [graph.nodes[v] for v in graph.successors(name)]
    spec = analysis.network.inputs.get(name)
    if spec is not None and spec.dtype == "long" and not readers:
        return torch.randint(0, 2, shape, device=device)
    if readers and all(data.get("kind") == "embedding" for data in readers):
        vocabulary = min(data["args"]["num_embeddings"] for data in readers)
        return torch.randint(0, vocabulary, shape, device=device)
    return torch.randn(shape, device=device)


def import_torch():
    """torch, without its note that numpy is missing (convdsl does not need numpy)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
        try:
            import torch
        except ImportError:
            raise TorchMissing(f"verify needs PyTorch: {INSTALL}") from None
    return torch


def _build(exported: Export, folder: Path):
    """Import the generated file as a fresh module (never added to sys.modules) and build the model."""
    name = f"convdsl_export_{uuid.uuid4().hex}"
    path = folder / f"{name}.py"
    path.write_text(exported.source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = getattr(module, exported.class_name)()
    return model.eval()


def _shape(value):
    return tuple(value.shape) if hasattr(value, "shape") else None


def _hook(model, analysis, exported, result) -> dict:
    """Hooks on every layer's module: what it received and gave, per call, by module path (a module that
    `reuse(...)` calls again is called once per layer it stands for)."""
    seen: dict[str, list] = {}
    for node in analysis.layers:
        path = exported.module_path(node)
        if path is None or path in seen:
            continue
        try:
            module = model.get_submodule(path)
        except AttributeError:
            result.mismatches.append(Mismatch(node, "module", "missing", f"`{path}`"))
            continue
        seen[path] = []

        def after(module, args, output, path=path):
            outputs = output if isinstance(output, (tuple, list)) else (output,)
            seen[path].append(([_shape(a) for a in args], [_shape(o) for o in outputs]))

        module.register_forward_hook(after)
    return seen


def _compare(model, analysis, exported, result, seen, outputs):
    graph = layer_graph(analysis.network)
    miss = result.mismatches.append
    fed = set()  # layers whose output a hooked module received
    by_path: dict[str, list] = {}
    for node in analysis.layers:
        path = exported.module_path(node)
        if path is not None:
            by_path.setdefault(path, []).append(node)
    for path, nodes in by_path.items():
        if path not in seen:
            continue  # its module is missing: reported by _hook
        calls = seen[path]
        if len(calls) != len(nodes):
            miss(Mismatch(nodes[0], "calls", str(len(calls)), str(len(nodes))))
            continue
        # the calls in the order forward made them; the layers of one module (an original and its reuses) in
        # any order: matched by what each received and gave
        expected = {node: _expected_call(analysis.layers[node], node in exported.prepadded) for node in nodes}
        unmatched = list(calls)
        for node in nodes:
            want = expected[node]
            found = next((c for c in unmatched if _call_matches(c, want)), None)
            if found is None:
                found = unmatched[0]
            unmatched.remove(found)
            _compare_call(node, analysis.layers[node], found, exported, miss)
            result.hooked += 1
            fed.update(source for source, _ in graph.in_edges(node))
        owner = next((n for n in nodes if analysis.layers[n].shares is None), nodes[0])
        info = analysis.layers[owner]
        module = model.get_submodule(path)
        params = sum(p.numel() for p in module.parameters())
        buffers = sum(b.numel() for b in module.buffers())
        if params != info.params:
            miss(Mismatch(owner, "parameters", f"{params:,}", f"{info.params:,}"))
        if buffers != info.buffers:
            miss(Mismatch(owner, "buffers", f"{buffers:,}", f"{info.buffers:,}"))
    out_shapes = analysis.output_shapes()
    values = outputs if isinstance(outputs, (tuple, list)) else () if outputs is None else (outputs,)
    for (name, expected), value in zip(out_shapes.items(), values):
        shape = _shape(value)
        result.outputs[name] = shape
        if shape is None or tuple(shape[1:]) != tuple(expected):
            miss(Mismatch(f"output {name}", "shape", _shapes([shape[1:] if shape else None]), _shapes([expected])))
        for source, _ in graph.in_edges(f"output:{name}"):
            fed.add(source)
    if len(values) != len(out_shapes):
        miss(Mismatch("model", "outputs", str(len(values)), str(len(out_shapes))))
    for node in analysis.layers:
        if exported.module_path(node) is None:
            if node in fed:
                result.through += 1
            else:
                result.unchecked.append(node)
    _through_expressions(analysis, exported, result, graph, fed)
    result.expression_kinds = tuple(
        sorted(
            {
                info.kind
                for node, info in analysis.layers.items()
                if exported.module_path(node) is None and node not in result.unchecked
            }
        )
    )
    result.params = sum(p.numel() for p in model.parameters())
    result.buffers = sum(b.numel() for b in model.buffers())
    if result.params != analysis.params:
        miss(Mismatch("model", "parameters", f"{result.params:,}", f"{analysis.params:,}"))
    if result.buffers != analysis.buffers:
        miss(Mismatch("model", "buffers", f"{result.buffers:,}", f"{analysis.buffers:,}"))
    # a `param` is an nn.Parameter attribute of its class: its state_dict key is its own name
    tensors = {
        module_path(n): info for n, info in analysis.layers.items() if info.kind == "parameter" and info.shares is None
    }
    for path, info in tensors.items():
        try:
            count = model.get_parameter(path).numel()
        except AttributeError:
            continue  # reported below: no weights at that key
        if count != info.params:
            miss(Mismatch(info.name, "parameters", f"{count:,}", f"{info.params:,}"))
    expected = {
        exported.module_path(n)
        for n, info in analysis.layers.items()
        if (info.params or info.buffers) and info.kind != "parameter"
    } | set(tensors)
    owners = {key if key in tensors else _owner(key.rsplit(".", 1)[0], expected) for key in model.state_dict()}
    for path in sorted(owners - expected):
        miss(Mismatch(path, "state_dict", "has weights", "no layer of that name with weights"))
    for path in sorted(expected - owners):
        miss(Mismatch(path, "state_dict", "no weights", "a layer with weights"))


def _expected_call(info, prepadded):
    ins = None if prepadded else tuple(tuple(s) if s is not None else None for s in info.input_shapes)
    return ins, tuple(info.output_shapes)


def _call_matches(call, want) -> bool:
    ins, outs = call
    want_ins, want_outs = want
    got = tuple(s[1:] if s else None for s in outs)
    if got != want_outs:
        return False
    return want_ins is None or tuple(s[1:] if s else None for s in ins[: len(want_ins)]) == want_ins


def _compare_call(node, info, call, exported, miss) -> None:
    ins, outs = call
    got = tuple(s[1:] if s else None for s in outs)
    if got != tuple(info.output_shapes):
        miss(Mismatch(node, "output shape", _shapes(got), _shapes(info.output_shapes)))
    if node in exported.prepadded:
        return  # it receives the input after F.pad, which convdsl counts as part of the layer
    for port, (shape, expected) in enumerate(zip(ins, info.input_shapes)):
        if (shape[1:] if shape else None) != tuple(expected):
            miss(
                Mismatch(node, f"input {port + 1} shape", _shapes([shape[1:] if shape else None]), _shapes([expected]))
            )


def _owner(path: str, expected: set) -> str:
    """The layer a state_dict entry belongs to: itself, or the layer whose module contains it (the qkv
    projection inside window attention), or the path as it is when no layer contains it."""
    parent = path
    while "." in parent:
        parent = parent.rsplit(".", 1)[0]
        if parent in expected:
            return parent
    return path


def _through_expressions(analysis, exported, result, graph, fed):
    """An expression feeding only expressions (add then concat) is checked through the one it feeds."""
    changed = True
    while changed and result.unchecked:
        changed = False
        for node in list(result.unchecked):
            successors = set(graph.successors(node))
            if successors and all(s in fed or s.startswith("output:") for s in successors):
                result.unchecked.remove(node)
                result.through += 1
                fed.add(node)
                changed = True


def _shapes(shapes) -> str:
    return ", ".join(fmt_shape(s) for s in shapes) if shapes else "none"


__all__ = ["INSTALL", "Mismatch", "TorchMissing", "Verification", "import_torch", "verify"]
