"""A PyTorch module as a tree of scopes: each module's forward traced with torch.fx, its children as calls.

Every module that is not a convdsl layer is traced on its own with its direct
children as leaves, and run on the tensors it really receives, so each scope knows
the shapes of its values and each child scope is traced with its own inputs. The
result (Scope, Element) is plain data about the model; naming it as convdsl text is
torchwrite.py's job. Nothing here drops an operation: what has no layer kind
becomes an Element with `problem` set, which the writer reports or makes opaque.
"""

from __future__ import annotations

import dataclasses
import operator
import os
import re
import sys
import traceback

from .torchfunctions import map_function
from .torchmap import NotMapped, Mapped, ModuleMapper, function_kind, is_export_helper
from .torchmodel import Element, ParamDecl, Scope, TensorSummary, without_batch as _without_batch
from . import torchsubst
from .torchsubst import SIGNATURES, self_attentions, substitutable, substitute

_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


class TraceProblem(Exception):
    def __init__(self, message: str, location=None):
        super().__init__(message)
        self.message, self.location = message, location


def class_location(cls):
    import inspect

    try:
        path = inspect.getsourcefile(cls)
        line = inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return None
    return (path, line) if path else None


def node_location(node):
    """The innermost user frame of an fx node's stack trace: the line of forward that made it."""
    trace = node.meta.get("stack_trace") or ""
    # a substitute's forward (torchsubst.py) is convdsl's, not the user's: no line of theirs made the node
    frames = [(path, int(line)) for path, line in _FRAME.findall(trace) if not _is_substitute_file(path)]
    for path, line in reversed(frames):
        if "/torch/" not in path.replace("\\", "/"):
            return (path, line)
    return frames[-1] if frames else None


def _is_substitute_file(path: str) -> bool:
    return os.path.abspath(path) == os.path.abspath(torchsubst.__file__)


def qualified(cls) -> str:
    module = cls.__module__ or ""
    return f"{module}.{cls.__qualname__}" if module and module != "builtins" else cls.__qualname__


class Tracer:
    """Traces a model into Scopes. torch is imported by the caller and passed in."""

    def __init__(self, torch, constructors: dict, *, batch: int):
        import torch.fx

        self.torch = torch
        self.fx = torch.fx
        self.mapper = ModuleMapper(torch)
        self.constructors = constructors
        self.batch = batch
        self.single_tuple: set = set()
        self.causal: set = set()  # ids of the attention modules inside an encoder called with a causal mask
        self.recurrent_tuple: set = set()  # nn.LSTM / nn.GRU calls: their output [0] is the sequence, item 0
        self.run_failed = False  # nodes whose tuple holds one output and what convdsl does not give
        self.derived: set = set()  # the scope being read: its nodes computed from the forward's inputs
        self.calls: dict = {}  # id of a module with weights -> (the scope that called it first, its name there)

    # -- tracing one module --------------------------------------------------------------------------------

    def scope(self, module, path: str, args: tuple) -> Scope:
        cls = type(module)
        scope = Scope(module, path, cls, [], [], [], class_location(cls), self.constructors.get(id(module), {}))
        try:
            gm = self._trace(module)
        except Exception as err:  # user code: any exception is a failed trace, reported with its cause
            gm = self._export(module, args, scope, err)
            if gm is None:
                return scope
        try:
            values = self._run(gm, args)
        except Exception as err:
            self.run_failed = True
            scope.problem = f"running its traced forward failed: {_reason(err)}"
            return scope
        scope.params = _own_parameters(self.torch, module, scope.location)
        self._elements(scope, gm, values)
        for decl in scope.params.values():  # one forward never reads keeps torch's shape, which may not fit
            if len(decl.shape) > 4 and not scope.problem:
                scope.problem = (
                    f"its parameter `{decl.name}` of shape {decl.torch_shape} has more axes than a convdsl "
                    "param (1 to 4, without a leading 1)"
                )
        if not scope.problem:
            _group_containers(scope, module)
        return scope

    def _trace(self, module):
        fx = self.fx
        root = module

        class _Leaves(fx.Tracer):
            def is_leaf_module(self, m, qualname):
                return m is not root

        wrapped = []
        globals_ = getattr(sys.modules.get(type(module).__module__), "__dict__", {})
        for name in ("crop", "center_crop"):
            fn = globals_.get(name)
            if fn is not None and is_export_helper(fn, name):
                wrapped.append(fn)
        tracer = _Leaves(autowrap_functions=tuple(wrapped))
        tracer.record_stack_traces = True
        replaced = substitute(self.torch, module)  # a torch.nn transformer module: its slow path (torchsubst.py)
        if replaced is not None:
            root = replaced
        graph = tracer.trace(root)
        return fx.GraphModule(tracer.root, graph)

    def _export(self, module, args, scope, fx_error):
        """Where fx cannot follow the forward (control flow on sizes, a loop over one), torch.export on the
        inputs it really receives (torchexport.py); when that fails too, the scope's problem names fx's error
        first, at the line of forward it stopped at."""
        from .torchexport import export_graph

        try:
            return export_graph(self.torch, module, args)
        except Exception as err:  # user code run by torch.export: any failure is the diagnostic's cause
            scope.problem = (
                f"torch.fx cannot trace its forward: {_reason(fx_error)}; nor can torch.export on inputs "
                f"of the shapes it receives: {_reason(err)}"
            )
            scope.location = format_exception_location(fx_error) or scope.location
            return None

    def _run(self, gm, args):
        """Every node's value on the real inputs (tensors kept only while needed: shapes are recorded)."""
        values = {}
        fx = self.fx
        torch = self.torch

        class _Record(fx.Interpreter):
            def run_node(self, n):
                result = super().run_node(n)
                values[n] = _summary(torch, result)
                if n.op == "call_module":
                    values[(n, "args")] = (self.fetch_args_kwargs_from_env(n))[0]
                return result

        with torch.no_grad():
            _Record(gm, garbage_collect_values=True).run(*args)
        return values

    # -- elements ------------------------------------------------------------------------------------------

    def _elements(self, scope, gm, values):
        alias = {}

        def vid(node):
            while node in alias:
                node = alias[node]
            return node

        derived = set()  # nodes computed from the forward's inputs; the rest are constants (parameters, sizes)
        self.derived = derived
        for node in gm.graph.nodes:
            if node.op == "placeholder":
                if _is_tensor_summary(values.get(node)):
                    scope.inputs.append(node)
                    derived.add(node)
                continue
            tensor_inputs = [
                a for a in node.all_input_nodes if _is_tensor_summary(values.get(a)) or _is_tensor_tuple(values.get(a))
            ]
            if node.op != "output" and not any(a in derived for a in tensor_inputs):
                continue  # a parameter reshaped or expanded: read where it is used (a class token, an embedding)
            derived.add(node)
            if node.op == "output":
                result = node.args[0]
                items = result if isinstance(result, (tuple, list)) else (result,)
                for item in items:
                    if not isinstance(item, self.fx.Node):
                        raise_problem(scope, f"its forward returns {type(item).__name__}, not tensors", node)
                        return
                    scope.outputs.append(vid(item))
                continue
            if node.op == "get_attr":
                continue
            if node.op == "call_function" and node.target is operator.getitem and not node.users:
                continue  # `y, _ = attn(x, x, x)`: an output unpacked and thrown away is not read
            if not _is_tensor_summary(values.get(node)) and not _is_tensor_tuple(values.get(node)):
                continue  # sizes, shapes and other plain values: read from the traced shapes instead
            if node.op == "call_module":
                element = self._module_element(scope, gm, node, values, vid)
            else:
                element = self._function_element(scope, gm, node, values, vid, alias)
                if element is None:
                    continue
            scope.elements.extend(element if isinstance(element, list) else [element])

    def _module_element(self, scope, gm, node, values, vid):
        module = gm.get_submodule(node.target)
        tensors = [vid(a) for a in _tensor_args(self.fx, node, values)]
        out = values[node]
        element = Element(
            tensors,
            [node],
            name=node.target,
            what=qualified(type(module)),
            location=_module_location(module, node),
            shape=_without_batch(out, self.batch),
            params=sum(p.numel() for p in module.parameters()),
            buffers=sum(b.numel() for b in module.buffers()),
        )
        if element.params or element.buffers:
            first = self.calls.get(id(module))
            if first is not None:
                return self._shared(scope, first, element, out)
            self.calls[id(module)] = (scope, node.target)
        if self.mapper.is_layer(module):
            try:
                element.mapped = self.mapper.map(module)
                self._check_module_call(module, node, values, element)
            except NotMapped as err:
                element.problem = str(err)
                return element
            if isinstance(out, tuple):
                count = element.mapped.outputs
                if count > 1 and self.mapper.helper_name(type(module)):  # convdsl's LSTM: (y, h, c), batch first
                    element.outputs = [("item", node, i) for i in range(count)]
                    element.shape = None
                elif count > 1:
                    # nn.LSTM's (y, (h, c)), nn.GRU's (y, h): convdsl's lstm and gru give y, h(, c) too, so the
                    # statement names them all; only y can be read (torch keeps the states batch-second)
                    element.outputs = [("item", node, i) for i in range(count)]
                    element.shape = None
                    self.recurrent_tuple.add(node)
                else:  # (y, weights): only y is the layer's output
                    m = element.mapped
                    element.mapped = dataclasses.replace(m, outputs=1)
                    element.shape = _without_batch(out[0], self.batch)
                    self.single_tuple.add(node)
            return element
        args = values[(node, "args")]
        if substitutable(self.torch, type(module)):
            count = SIGNATURES[type(module).__name__][0]  # the sequence (and memory): masks are read here
            args, element.inputs = args[:count], element.inputs[:count]
            element.problem = self._masks(module, node, values)
            if element.problem:
                return element
        derived = self.derived
        element.child = self.scope(module, _join(scope.path, node.target), args)
        self.derived = derived  # back to this scope's, after the child's
        return element

    def _shared(self, scope, first, element, out):
        """A module with weights called again (a Siamese tower, a head shared across FPN levels): `reuse` of
        its first call, which the writer names; its parameters are the first call's."""
        first_scope, first_name = first
        element.params = element.buffers = 0
        if first_scope is not scope:
            element.problem = (
                f"it is the module `{_join(first_scope.path, first_name)}` again (one module object in two places: "
                "shared weights); convdsl reuses a layer or block within the forward that calls it first"
            )
            return element
        if not isinstance(out, TensorSummary) or len(element.inputs) != 1:
            element.problem = (
                f"it is `{_join(scope.path, first_name)}` called again with several inputs or outputs: "
                "convdsl's reuse gives one tensor from one"
            )
            return element
        element.reuse_of = first_name
        return element

    def _masks(self, module, node, values) -> str | None:
        """The masks passed to an nn.TransformerEncoder(Layer): none, or a causal one (then each attention inside
        is causal=true); else why not."""
        count, names = SIGNATURES[type(module).__name__]
        given = dict(zip(names, node.args[count:])) | {k: v for k, v in node.kwargs.items() if k in names}
        mask_name, flag_name = names[0], next(n for n in names if n.endswith("is_causal"))
        for name in names:
            if name not in (mask_name, flag_name) and given.get(name) not in (None, False):
                per_sample = " (convdsl's attention masks nothing per sample)" if "padding" in name else ""
                return f"a {name} passed in forward{per_sample}"
        mask, causal = given.get(mask_name), given.get(flag_name)
        if mask is None:
            if causal:
                return f"{flag_name}=True without a {mask_name} (PyTorch's attention needs the mask)"
            return None
        if causal is not True and not _is_causal_mask(self.torch, self.fx, mask, values):
            return (
                f"a {mask_name} passed in forward that is not recognisably causal (convdsl's attention takes "
                "causal=true: `torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)`, "
                "`nn.Transformer.generate_square_subsequent_mask(L)`, or is_causal=True with the mask)"
            )
        self.causal.update(id(m) for m in self_attentions(module))
        return None

    def _check_module_call(self, module, node, values, element):
        """What the call itself asks beyond the module: attention's keys and values, its mask."""
        mapped = element.mapped
        if mapped.kind == "attention" and type(module) is self.torch.nn.MultiheadAttention:
            q, k, v = (tuple(node.args) + (None, None, None))[:3]
            q = node.kwargs.get("query", q)
            k = node.kwargs.get("key", k)
            v = node.kwargs.get("value", v)
            if k is not v:
                raise NotMapped("keys and values from different tensors (convdsl's memory gives both)")
            if node.kwargs.get("key_padding_mask") is not None:
                raise NotMapped("a key_padding_mask passed in forward (convdsl's attention masks nothing per sample)")
            mask = node.kwargs.get("attn_mask", node.args[5] if len(node.args) > 5 else None)
            causal = bool(node.kwargs.get("is_causal", False))
            if mask is not None:
                if not causal and not _is_causal_mask(self.torch, self.fx, mask, values):
                    raise NotMapped(
                        "an attn_mask passed in forward that is not recognisably causal (convdsl's attention "
                        "takes causal=true: `torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)`, "
                        "`nn.Transformer.generate_square_subsequent_mask(L)`, or is_causal=True with the mask)"
                    )
                causal = True
            elif causal:
                raise NotMapped("is_causal=True without an attn_mask (nn.MultiheadAttention needs the mask)")
            if id(module) in self.causal:  # inside an nn.TransformerEncoder called with a causal mask
                causal = True
            if causal:
                mapped = Mapped(mapped.kind, mapped.args, mapped.kwargs + (("causal", True),))
            if q is k:
                element.inputs = element.inputs[:1]
            else:  # cross-attention: queries from q, keys and values from kv: `attention(q, kv, heads)`
                element.inputs = element.inputs[:2]
                mapped = Mapped(mapped.kind, mapped.args, mapped.kwargs, merge_form=True)
            element.mapped = mapped

    def _function_element(self, scope, gm, node, values, vid, alias):
        try:
            result = map_function(self, gm, node, values, vid, alias, scope.params)
        except NotMapped as err:
            tensors = [vid(a) for a in _tensor_args(self.fx, node, values)]
            return Element(
                tensors,
                [node],
                what=_function_name(node),
                problem=str(err),
                location=node_location(node),
                shape=_without_batch(values.get(node), self.batch),
            )
        if result is None:
            return None
        elements = result if isinstance(result, list) else [result]
        for element in elements:
            element.location = element.location or node_location(node)
            element.what = element.what or _function_name(node)
        return elements


def _own_parameters(torch, module, location) -> dict:
    """The module's own nn.Parameters (`self.class_token`, a layer-scale `self.gamma`), each a `param` statement
    of the scope: shaped by its first use in forward (broadcast against the tensor it meets), or, when forward
    never reads it, as torch holds it without a leading 1. Every one is declared, so the counts are torch's."""
    found = {}
    for name, value in module.named_parameters(recurse=False):
        shape = tuple(int(d) for d in value.shape)
        default = shape[1:] if len(shape) > 1 and shape[0] == 1 else shape
        init = None
        if value.device.type != "meta" and value.numel():
            flat = value.detach().flatten()
            if bool((flat == flat[0]).all()):
                init = float(flat[0])
        found[name] = ParamDecl(name, default or (1,), shape, location, init)
    return found


def _is_causal_mask(torch, fx, node, values) -> bool:
    """A mask made from sizes only that hides each query's later keys: `torch.triu(torch.ones(L, L,
    dtype=torch.bool), diagonal=1)` (True: may not look), or a float one of -inf above the diagonal, as
    nn.Transformer.generate_square_subsequent_mask writes it; through `.to(...)` and `.bool()`."""
    summary = values.get(node)
    if not isinstance(summary, TensorSummary) or len(summary.shape) != 2 or summary.shape[0] != summary.shape[1]:
        return False
    while isinstance(node, fx.Node) and node.op == "call_method" and node.target in ("to", "bool"):
        node = node.args[0]
    if not isinstance(node, fx.Node) or not (
        (node.op == "call_function" and node.target is torch.triu)
        or (node.op == "call_method" and node.target == "triu")
    ):
        return False
    diagonal = node.kwargs.get("diagonal", node.args[1] if len(node.args) > 1 else 0)
    base = node.args[0] if node.args else None
    if diagonal != 1 or not isinstance(base, fx.Node) or base.op != "call_function":
        return False
    if base.target is torch.ones:
        return summary.dtype == "torch.bool"
    if base.target is torch.full:
        fill = base.kwargs.get("fill_value", base.args[1] if len(base.args) > 1 else None)
        return isinstance(fill, float) and fill == float("-inf") and summary.dtype.startswith("torch.float")
    return False


def _module_location(module, node):
    """Where to point for a module: its class, when it is the user's; the line calling it, for torch's own."""
    cls = type(module)
    if (cls.__module__ or "").startswith("torch."):
        return node_location(node) or class_location(cls)
    return class_location(cls) or node_location(node)


def _group_containers(scope, module):
    """Calls of a ModuleList's or ModuleDict's members (`self.blocks[3](x)`, `self.features["2"](x)`) as the
    container's own scope, so they keep their names (`blocks.3`) as a labelled group: a run of such calls,
    with the functions between them, that forms a chain whose inner values are not used elsewhere."""
    elements = scope.elements
    out, i = [], 0
    while i < len(elements):
        prefix = _container_prefix(elements[i], module)
        if prefix is None:
            out.append(elements[i])
            i += 1
            continue
        j, last = i, i
        while j + 1 < len(elements):
            nxt = elements[j + 1]
            if len(nxt.inputs) != 1 or nxt.inputs[0] != elements[j].outputs[-1] or len(elements[j].outputs) != 1:
                break
            if nxt.name is not None and _container_prefix(nxt, module) != prefix:
                break
            j += 1
            if nxt.name is not None:
                last = j
        run = elements[i : last + 1]
        inner = {v for e in run[:-1] for v in e.outputs}
        used_outside = any(v in inner for e in elements[:i] + elements[last + 1 :] for v in e.inputs) or any(
            v in inner for v in scope.outputs
        )
        chained = all(len(e.inputs) == 1 and len(e.outputs) == 1 for e in run) and all(
            run[k + 1].inputs[0] == run[k].outputs[0] for k in range(len(run) - 1)
        )
        if used_outside or not chained:
            out.append(elements[i])
            i += 1
            continue
        container = getattr(module, prefix)
        for e in run:
            if e.name is not None:
                e.name = e.name[len(prefix) + 1 :]
        child = Scope(
            container,
            _join(scope.path, prefix),
            type(container),
            [run[0].inputs[0]],
            run,
            [run[-1].outputs[0]],
            scope.location,
        )
        out.append(
            Element([run[0].inputs[0]], [run[-1].outputs[0]], child=child, name=prefix, what=qualified(type(container)))
        )
        i = last + 1
    scope.elements = out


def _container_prefix(element, module):
    name = element.name
    if not name or name.count(".") != 1:
        return None
    prefix = name.split(".", 1)[0]
    container = getattr(module, prefix, None)
    import torch.nn as nn

    return prefix if isinstance(container, (nn.ModuleList, nn.ModuleDict, nn.Sequential)) else None


def raise_problem(scope, message, node):
    scope.problem = message
    scope.location = node_location(node) or scope.location


def _function_name(node) -> str:
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    return function_kind(node.target)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _reason(err) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(err).__name__}: {text}" if not text.startswith(type(err).__name__) else text


def _summary(torch, value):
    if isinstance(value, torch.Tensor):
        return TensorSummary(tuple(value.shape), str(value.dtype))
    # (output, None): attention's; (y, (h, c)): nn.LSTM's, nested
    if isinstance(value, (tuple, list)) and _holds_tensors(torch, value):
        return tuple(None if v is None else _summary(torch, v) for v in value)
    if isinstance(value, (int, float, bool, str)) or value is None:
        return value
    if isinstance(value, torch.Size):
        return tuple(value)
    if isinstance(value, (tuple, list)) and all(isinstance(v, (int, float, bool)) for v in value):
        return tuple(value)
    return ("other", type(value).__name__)


def _holds_tensors(torch, value, depth: int = 0) -> bool:
    """A tuple of tensors, Nones and such tuples (nested a few levels), with at least one tensor."""
    found = False
    for v in value:
        nested = isinstance(v, (tuple, list)) and depth < 4 and _holds_tensors(torch, v, depth + 1)
        if isinstance(v, torch.Tensor) or nested:
            found = True
        elif v is not None:
            return False
    return found


def _is_tensor_summary(value) -> bool:
    return isinstance(value, TensorSummary)


def _is_tensor_tuple(value) -> bool:
    return isinstance(value, tuple) and any(isinstance(v, TensorSummary) or _is_tensor_tuple(v) for v in value)


def _tensor_args(fx, node, values):
    out = []

    def visit(a):
        if isinstance(a, fx.Node):
            if a.op != "get_attr" and (_is_tensor_summary(values.get(a)) or _is_tensor_tuple(values.get(a))):
                out.append(a)
        elif isinstance(a, (tuple, list)):
            for item in a:
                visit(item)
        elif isinstance(a, dict):
            for item in a.values():
                visit(item)

    visit(node.args)
    visit(node.kwargs)
    return out


def format_exception_location(err):
    """(path, line) of the innermost frame of a user's exception outside torch, for a diagnostic."""
    frames = traceback.extract_tb(err.__traceback__)
    for frame in reversed(frames):
        if "/torch/" not in frame.filename.replace("\\", "/") and "/convdsl/" not in frame.filename.replace("\\", "/"):
            return (frame.filename, frame.lineno)
    return None
