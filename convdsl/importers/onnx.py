"""`convdsl import model.onnx`: an ONNX graph as .cdsl text, with the `onnx` package only (no runtime, no torch).

The layers come from the operators, their attributes and the shapes of their
initializers (a Conv's weight is M x C/g x kH x kW); the sizes of the graph's inputs
from the file, or from `--input` where the file has none. Nothing is computed on
data: initializers are never materialised, only their claimed dims are read and
checked against what the file holds, so a file claiming a 10^9-element tensor costs
nothing and is reported. The file is read whole, at most MAX_BYTES; its nodes, dims
and graph are checked (counts, sizes below 2^53, every input defined, no cycle)
before anything is mapped, and every problem is a diagnostic naming the node.
Operators are mapped one by one to catalogue kinds (a MatMul by a constant followed
by an Add of a constant is a linear layer); the graph is written flat, labelled
with the parameters' names where the exporter kept them (`layer1.0.conv1.weight`
gives the label `layer1_0_conv1`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from .. import diagnostics as codes
from ..diagnostics import Diagnostic
from ..source import AnchoredSpan, Span
from .pytorch import InputSpec, TorchImport
from .torchmap import Mapped, NotMapped, call
from .torchmodel import Element, Scope

MAX_BYTES = 1 << 30  # 1 GiB: beyond it, `onnx.load` would hold more than the file in memory, and protobuf stops at 2
MAX_NODES = 100_000
MAX_SIZE = 1 << 53
_ITEMSIZE = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2}


@dataclass(frozen=True)
class Value:
    """A tensor of the graph: its ONNX name, and the short name the .cdsl text gives it (`relu3`)."""

    onnx_name: str
    name: str


class Invalid(Exception):
    def __init__(self, message: str, help: str | None = None, anchor: str | None = None):
        super().__init__(message)
        self.message, self.help, self.anchor = message, help, anchor  # anchor: the node it is about


def import_onnx(path: str, inputs: list[InputSpec] | None = None, *, allow_opaque: bool = False) -> TorchImport:
    """Translate an .onnx file. Never raises for a problem of the file."""
    result = TorchImport(path, None, network=_network_name(path))
    try:
        import onnx
    except ImportError:
        result.diagnostics.append(
            _diag(
                codes.ONNX_INVALID,
                path,
                "importing an ONNX file needs the onnx package",
                help="pip install 'convdsl[onnx]'",
            )
        )
        return result
    try:
        model = _load(onnx, path)
        graph = _Graph(onnx, model, path, inputs)
    except Invalid as err:
        result.diagnostics.append(_diag(codes.ONNX_INVALID, path, err.message, help=err.help, anchor=err.anchor))
        return result
    scope, problems = graph.scope(allow_opaque)
    result.diagnostics.extend(problems)
    if any(d.is_error for d in problems):
        return result
    from .torchwrite import WriteProblem, Writer

    specs = [(v.name, dims, "float") for v, dims in zip(scope.inputs, graph.input_dims)]
    try:
        written = Writer(scope, specs, result.network, layer_origins=True).write()
    except WriteProblem as err:
        where = err.location if isinstance(err.location, Span) else Span(path, 1, 1, 1, 1)
        result.diagnostics.append(Diagnostic(codes.ONNX_UNSUPPORTED, where, err.message, help=err.help))
        return result
    result.text = written.text
    # each line of the translation points at the node it was written for, so a finding of the analysis
    # (`check model.onnx`) says which node
    result.origins = [origin if isinstance(origin, Span) else None for origin in written.origins]
    return result


def _diag(code, path, message, help=None, anchor=None):
    """A diagnostic about the file (line 1), or, with an anchor, about one of its nodes: an ONNX file has no
    lines to point at, so the location is the node's index in the graph, its name and its operator."""
    span = AnchoredSpan(path, 1, 1, 1, 1, anchor) if anchor else Span(path, 1, 1, 1, 1)
    return Diagnostic(code, span, message, help=help)


def node_anchor(index: int, node) -> str:
    """`node 12 `/layer1/conv1/Conv` (Conv)`: what Netron and onnx.helper.printable_graph show of it."""
    name = node.name if len(node.name) <= 120 else node.name[:117] + "..."
    op = node.op_type if len(node.op_type) <= 60 else node.op_type[:57] + "..."
    return f"node {index} `{name}` ({op})" if name else f"node {index} ({op})"


def _network_name(path: str) -> str:
    stem = os.path.splitext(os.path.basename(path))[0]
    name = re.sub(r"[^A-Za-z0-9_]", "_", stem).strip("_").lower()
    return name if name and re.match(r"[a-z_]", name) else "model"


def _ident(name: str) -> str:
    text = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_")
    return text if text and re.match(r"[A-Za-z_]", text) else "t_" + (text or "input")


def _load(onnx, path: str):
    try:
        size = os.stat(path).st_size
    except OSError as err:
        raise Invalid(f"cannot read `{path}`: {err.strerror or err}") from None
    if not os.path.isfile(path):
        raise Invalid(f"`{path}` is not a regular file")
    if size > MAX_BYTES:
        raise Invalid(f"the file is {size:,} bytes; convdsl reads ONNX files of at most {MAX_BYTES:,} bytes")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
        model = onnx.ModelProto()
        model.ParseFromString(data)
    except Exception as err:  # protobuf's DecodeError and friends: the file is not an ONNX model
        raise Invalid(f"not an ONNX model: {type(err).__name__}: {' '.join(str(err).split())[:200]}") from None
    if not model.HasField("graph"):
        raise Invalid("not an ONNX model: it has no graph")
    return model


def _attrs(onnx, node) -> dict:
    out = {}
    for attr in node.attribute:
        out[attr.name] = onnx.helper.get_attribute_value(attr)
        if isinstance(out[attr.name], bytes):
            out[attr.name] = out[attr.name].decode("utf-8", "replace")
    return out


def _check_dims(dims, what: str) -> tuple:
    total = 1
    for d in dims:
        if d < 0 or d >= MAX_SIZE:
            raise Invalid(f"{what} has a size of {d}")
        total *= max(d, 1)
        if total >= MAX_SIZE:
            raise Invalid(f"{what} claims {total:,}+ elements, more than convdsl counts (2^53)")
    return tuple(int(d) for d in dims)


class _Graph:
    """The graph checked and indexed: constants (initializers, Constant nodes), producers, shapes, the order."""

    def __init__(self, onnx, model, path, inputs):
        self.onnx, self.path = onnx, path
        graph = model.graph
        # one Python object per node, kept: protobuf may give a new wrapper (and a recycled id) on each access
        all_nodes = list(graph.node)
        self.anchors = {id(n): node_anchor(i, n) for i, n in enumerate(all_nodes)}  # by the file's order
        if len(all_nodes) > MAX_NODES:
            raise Invalid(f"the graph has {len(graph.node):,} nodes; convdsl imports at most {MAX_NODES:,}")
        if len(graph.initializer) > MAX_NODES:
            raise Invalid(f"the graph has {len(graph.initializer):,} initializers; at most {MAX_NODES:,}")
        self.constants: dict[str, tuple] = {}  # name -> dims
        self.tensors: dict = {}  # name -> TensorProto (for small reads: a Reshape's or Resize's constant)
        for init in graph.initializer:
            dims = _check_dims(init.dims, f"initializer `{init.name}`")
            _check_data(init, dims)
            self.constants[init.name] = dims
            self.tensors[init.name] = init
        for node in all_nodes:
            if node.op_type == "Constant" and node.output:
                value = _attrs(onnx, node).get("value")
                if value is not None and hasattr(value, "dims"):
                    dims = _check_dims(value.dims, f"constant `{node.output[0]}`")
                    _check_data(value, dims)
                    self.constants[node.output[0]] = dims
                    self.tensors[node.output[0]] = value
                else:
                    self.constants[node.output[0]] = ()
            elif node.op_type == "Identity" and node.input and node.input[0] in self.constants and node.output:
                # TorchScript's exporter stores equal initializers once and copies them with Identity (the
                # layers of an nn.TransformerEncoder, deep copies of one layer): the copy is a constant too
                self.constants[node.output[0]] = self.constants[node.input[0]]
                if node.input[0] in self.tensors:
                    self.tensors[node.output[0]] = self.tensors[node.input[0]]
        self.graph_inputs = [i for i in graph.input if i.name not in self.constants]
        if not self.graph_inputs:
            raise Invalid("the graph has no input that is not an initializer")
        if inputs and len(inputs) != len(self.graph_inputs):
            raise Invalid(
                f"the graph has {len(self.graph_inputs)} inputs and {len(inputs)} `--input` shapes were given",
                "give one `--input` per graph input, in order, or none to use the file's shapes",
            )
        self.input_dims = []
        for index, value_info in enumerate(self.graph_inputs):
            dims = _value_dims(value_info)
            if inputs:
                wanted = tuple(inputs[index].dims)
            elif dims is None or len(dims) < 2 or any(d is None for d in dims[1:]):
                raise Invalid(
                    f"the input `{value_info.name}` has no static shape in the file",
                    "give its sizes without the batch: `--input 3x224x224` (one per graph input, in order)",
                )
            else:
                wanted = tuple(dims[1:])
            _check_dims(wanted, f"input `{value_info.name}`")
            self.input_dims.append(wanted)
            _set_dims(value_info, wanted)
        self.shapes = _infer_shapes(onnx, model)
        for value_info, dims in zip(self.graph_inputs, self.input_dims):
            self.shapes[value_info.name] = (None, *dims)
        self.nodes = _ordered(
            all_nodes, graph.output, self.constants, {i.name for i in self.graph_inputs}, self.anchors
        )
        self.outputs = [o.name for o in graph.output]
        self.attrs = {id(n): _attrs(onnx, n) for n in self.nodes}

    # -- mapping --------------------------------------------------------------------------------------------

    def scope(self, allow_opaque):
        data = {i.name for i in self.graph_inputs}  # values computed from the inputs (not sizes, not constants)
        alias: dict[str, str] = {}
        users: dict[str, int] = {}
        for node in self.nodes:
            for name in node.input:
                users[name] = users.get(name, 0) + 1
        values: dict[str, Value] = {}
        counts: dict[str, int] = {}
        producer_op = {out: node.op_type for node in self.nodes for out in node.output}

        def value(name):
            name = alias.get(name, name)
            if name not in values:
                if name in producer_op:
                    op = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", producer_op[name]).lower()
                    counts[op] = counts.get(op, 0) + 1
                    values[name] = Value(name, f"{op}{counts[op]}")
                else:
                    values[name] = Value(name, _ident(name))
            return values[name]

        elements, problems, fused = [], [], set()
        attention = self._attention_scopes()
        for node in self.nodes:
            if id(node) in fused:
                continue
            scope_of = next((m for m in attention if node.name.startswith(m["prefix"])), None)
            if scope_of is not None:
                # nn.MultiheadAttention, exported as some sixty operators under its module's scope: one layer
                if node.output and scope_of["output"] in node.output and scope_of["input"] in data:
                    x = alias.get(scope_of["input"], scope_of["input"])
                    mapped = call("attention", (scope_of["heads"],), bias=scope_of["bias"])
                    element = Element([value(x)], [value(scope_of["output"])], mapped=mapped, what="MultiheadAttention")
                    element.name = scope_of["label"]
                    element.location = self.span(node)
                    elements.append(element)
                    data.add(scope_of["output"])
                continue
            ins = [alias.get(n, n) for n in node.input]
            data_ins = [n for n in ins if n in data]
            if node.op_type in ("Shape", "Size") or not data_ins:
                continue  # sizes and constants: read where they are used
            try:
                mapped = self._map(node, ins, data_ins, users, fused)
            except NotMapped as err:
                if allow_opaque and len(data_ins) == 1 and len(node.output) >= 1:
                    shape = self.shapes.get(node.output[0])
                    if shape and all(isinstance(d, int) for d in shape[1:]) and len(shape) > 1:
                        params = sum(_count(self.constants[n]) for n in ins if n in self.constants)
                        element = Element([value(data_ins[0])], [value(node.output[0])], what=node.op_type)
                        element.location = self.span(node)
                        element.mapped = call("opaque", (tuple(shape[1:]),), params=params, source=node.op_type)
                        elements.append(element)
                        data.add(node.output[0])
                        continue
                problems.append(
                    _diag(
                        codes.ONNX_UNSUPPORTED,
                        self.path,
                        f"node `{node.name or node.output[0]}` ({node.op_type}) cannot be imported: {err}",
                        None
                        if allow_opaque
                        else "import with --allow-opaque to keep it as an opaque layer with "
                        "its inferred shape and parameter count",
                        anchor=self.anchors[id(node)],
                    )
                )
                continue
            if mapped is None:  # Identity: the same tensor
                alias[node.output[0]] = ins[0]
                data.add(node.output[0])
                continue
            for n in node.output:
                data.add(n)
            for mapped_one, tensor_inputs, out_name, label in mapped if isinstance(mapped, list) else [mapped]:
                data.add(out_name)
                element = Element(
                    [value(n) for n in tensor_inputs], [value(out_name)], mapped=mapped_one, what=node.op_type
                )
                element.name = label
                element.location = self.span(node)
                elements.append(element)
        scope = Scope(
            None, "", object, [value(i.name) for i in self.graph_inputs], elements, [value(o) for o in self.outputs]
        )
        missing = [o for o in self.outputs if alias.get(o, o) not in data]
        if missing and not problems:
            problems.append(
                _diag(codes.ONNX_UNSUPPORTED, self.path, f"the output `{missing[0]}` is not computed from the inputs")
            )
        labels = set()
        for element in elements:
            if element.name in labels:
                element.name = None
            elif element.name:
                labels.add(element.name)
        return scope, problems

    def span(self, node) -> AnchoredSpan:
        """Where a node is, for a diagnostic: the file, and the node's index, name and operator."""
        return AnchoredSpan(self.path, 1, 1, 1, 1, self.anchors[id(node)])

    def _attention_scopes(self) -> list[dict]:
        """The node scopes of nn.MultiheadAttention modules (TorchScript's exporter names nodes after their module):
        found by `P.in_proj_weight` (3D x D) and `P.out_proj.weight`, with one tensor in and one out, and the
        heads read off the per-head shape it makes (heads x L x D/heads)."""
        found = []
        for name, dims in self.constants.items():
            # the packed in-projection, by its name: its weight (3D x D), or, where the exporter stored the
            # weight transposed under another name, its bias (3D)
            if name.endswith(".in_proj_weight") and len(dims) == 2 and dims[0] == 3 * dims[1]:
                module, dim = name[: -len(".in_proj_weight")], dims[1]
            elif name.endswith(".in_proj_bias") and len(dims) == 1 and dims[0] % 3 == 0:
                module, dim = name[: -len(".in_proj_bias")], dims[0] // 3
                if module + ".in_proj_weight" in self.constants:
                    continue  # found by its weight
            else:
                continue
            if self.constants.get(module + ".out_proj.weight") != (dim, dim):
                continue
            # the operators of the module's own scope (an exporter's Identity copying a weight has no scope)
            users = [n for n in self.nodes if name in n.input and "/" in (n.name or "")]
            if len(users) != 1:
                continue
            prefix = users[0].name.rsplit("/", 1)[0] + "/"
            inside = [n for n in self.nodes if n.name.startswith(prefix)]
            produced = {o for n in inside for o in n.output}
            consumed_outside = {i for n in self.nodes if not n.name.startswith(prefix) for i in n.input}
            constant_nodes = {o for n in inside if n.op_type == "Constant" for o in n.output}
            outputs = [
                o
                for o in produced
                if (o in consumed_outside or o in self.outputs)
                and o not in constant_nodes
                and o not in self.constants
                and self.shapes.get(o) is not None
                and len(self.shapes[o]) == 3
            ]
            inputs = {
                i
                for n in inside
                for i in n.input
                if i
                and i not in produced
                and i not in self.constants
                and self.shapes.get(i)
                and len(self.shapes[i]) == 3
            }
            heads = {
                shape[-3]
                for n in inside
                for o in n.output
                for shape in [self.shapes.get(o)]
                if shape
                and len(shape) >= 3
                and isinstance(shape[-1], int)
                and isinstance(shape[-3], int)
                and shape[-1] * shape[-3] == dim
                and shape[-1] != dim
            }
            if len(outputs) != 1 or len(inputs) != 1 or len(heads) != 1:
                continue
            found.append(
                {
                    "prefix": prefix,
                    "input": next(iter(inputs)),
                    "output": outputs[0],
                    "heads": next(iter(heads)),
                    "bias": self._expanded_constant(module + ".in_proj_bias") in self.constants,
                    "label": _ident(module),
                }
            )
        return found

    def rank(self, name):
        shape = self.shapes.get(name)
        return len(shape) if shape is not None else None

    def axis(self, value, name):
        rank = self.rank(name)
        if value < 0:
            if rank is None:
                raise NotMapped(f"axis {value} of a tensor whose rank is not known")
            value += rank
        if value == 0:
            raise NotMapped("it acts on the batch axis")
        return value

    def ints(self, name) -> tuple:
        """The values of a small constant integer tensor (a Reshape's shape, Resize's scales, Pad's pads)."""
        tensor = self.tensors.get(name)
        if tensor is None:
            raise NotMapped(f"`{name}` is computed, not a constant")
        if _count(tuple(tensor.dims)) > 64:
            raise NotMapped(f"`{name}` is too large to be sizes")
        from onnx import numpy_helper

        return tuple(numpy_helper.to_array(tensor).reshape(-1).tolist())

    def _label(self, ins) -> str | None:
        for name in ins:
            if name.endswith((".weight", ".bias")) and self._expanded_constant(name) in self.constants:
                return _ident(name.rsplit(".", 1)[0]).replace("__", "_") or None
        return None

    def _map(self, node, ins, data_ins, users, fused):
        op = node.op_type
        a = self.attrs[id(node)]
        out = node.output[0]
        x = data_ins[0]
        label = self._label(ins)

        def one(m):
            return m, [x], out, label

        if op in ("Identity",):
            return None
        if op == "Conv":
            w = self._const(ins, 1, "weight")
            k = w[2:]
            pads = self._pads(a, len(k))
            if a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
                raise NotMapped(f"auto_pad={a['auto_pad']}")
            return one(
                call(
                    "conv",
                    (w[0], tuple(k)),
                    stride=tuple(a.get("strides", [1] * len(k))),
                    padding=pads,
                    dilation=tuple(a.get("dilations", [1] * len(k))),
                    groups=a.get("group", 1),
                    bias=len(ins) > 2 and bool(ins[2]),
                )
            )
        if op == "ConvTranspose":
            w = self._const(ins, 1, "weight")
            k = w[2:]
            if "output_shape" in a:
                raise NotMapped("output_shape (give output_padding instead)")
            group = a.get("group", 1)
            return one(
                call(
                    "conv_transpose",
                    (w[1] * group, tuple(k)),
                    stride=tuple(a.get("strides", [1] * len(k))),
                    padding=self._pads(a, len(k)),
                    output_padding=tuple(a.get("output_padding", [0] * len(k))),
                    dilation=tuple(a.get("dilations", [1] * len(k))),
                    groups=group,
                    bias=len(ins) > 2 and bool(ins[2]),
                )
            )
        if op == "BatchNormalization":
            if any(users.get(o, 0) for o in node.output[1:]):
                raise NotMapped("it uses the running statistics it outputs in training mode")
            return one(call("bn", eps=_f(a.get("epsilon", 1e-5)), momentum=_f(1 - _f(a.get("momentum", 0.9)))))
        simple = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "HardSwish": "hardswish"}
        if op in simple:
            return one(call(simple[op]))
        if op == "LeakyRelu":
            return one(call("leaky_relu", negative_slope=_f(a.get("alpha", 0.01))))
        if op == "Elu":
            return one(call("elu", alpha=_f(a.get("alpha", 1.0))))
        if op == "HardSigmoid":
            if abs(a.get("alpha", 0.2) - 1 / 6) > 1e-6 or abs(a.get("beta", 0.5) - 0.5) > 1e-6:
                raise NotMapped("alpha and beta other than PyTorch's 1/6 and 0.5")
            return one(call("hardsigmoid"))
        if op == "Gelu":
            return one(call("gelu", approximate=a.get("approximate", "none")))
        if op == "Clip":
            low = self._scalar(ins, 1, a.get("min"))
            high = self._scalar(ins, 2, a.get("max"))
            if (low, high) == (0.0, 6.0):
                return one(call("relu6"))
            if low == 0.0 and high is None:
                return one(call("relu"))
            raise NotMapped(f"a clip to [{low}, {high}]")
        if op in ("Softmax", "LogSoftmax"):
            axis = self.axis(a.get("axis", -1), x)
            return one(call("softmax" if op == "Softmax" else "log_softmax", (axis,)))
        if op in ("MaxPool", "AveragePool"):
            if op == "MaxPool" and len(node.output) > 1 and users.get(node.output[1], 0):
                raise NotMapped("it uses the indices")
            k = tuple(a["kernel_shape"])
            stride = tuple(a.get("strides", [1] * len(k)))
            values = dict(padding=self._pads(a, len(k)), ceil=bool(a.get("ceil_mode", 0)) or None)
            if op == "MaxPool":
                values["dilation"] = tuple(a.get("dilations", [1] * len(k)))
                kind = "maxpool"
            else:
                values["count_include_pad"] = bool(a.get("count_include_pad", 0))
                kind = "avgpool"
            if stride != k:
                values["stride"] = stride
            return one(call(kind, (k,), **values))
        if op == "GlobalAveragePool":
            return one(call("global_avgpool"))
        if op == "GlobalMaxPool":
            return one(call("global_maxpool"))
        if op == "ReduceMean":
            axes = a.get("axes")
            if axes is None and len(ins) > 1 and ins[1]:
                axes = self.ints(ins[1])
            rank = self.rank(x)
            if axes is None or rank is None:
                raise NotMapped("a mean over axes that are not known")
            axes = tuple(sorted(d + rank if d < 0 else d for d in axes))
            if rank == 3 and axes == (1,):
                # the mean over the tokens of B x L x D: the sequence moved to the pooled axis (as from PyTorch)
                moved, pooled = out + "#tokens", out + "#pooled"
                last = call("transpose", (1, 2)) if a.get("keepdims", 1) else call("flatten")
                return [
                    (call("transpose", (1, 2)), [x], moved, None),
                    (call("global_avgpool"), [moved], pooled, None),
                    (last, [pooled], out, None),
                ]
            if rank < 3 or axes != tuple(range(2, rank)):
                raise NotMapped("a mean over other axes than all the spatial ones, or the tokens (axis 1) of L x D")
            if a.get("keepdims", 1):
                return one(call("global_avgpool"))
            pooled = out + "#pooled"
            return [(call("global_avgpool"), [x], pooled, None), (call("flatten"), [pooled], out, None)]
        if op == "Flatten":
            if a.get("axis", 1) != 1:
                raise NotMapped(f"axis={a.get('axis')} (the batch would not stay first)")
            return one(call("flatten"))
        if op in ("Reshape", "Squeeze", "Unsqueeze"):
            shape_in, shape_out = self.shapes.get(x), self.shapes.get(out)
            if not shape_out or any(not isinstance(d, int) for d in shape_out[1:]):
                raise NotMapped("its output shape is not known")
            target = tuple(shape_out[1:])
            if len(target) == 1 and shape_in and len(shape_in) > 2:
                return one(call("flatten"))
            return one(call("reshape", (target,)))
        if op == "Transpose":
            perm = tuple(a.get("perm", ()))
            if not perm or perm[0] != 0:
                raise NotMapped(f"perm={list(perm)} moves the batch axis")
            return one(call("permute", perm))
        if op == "Concat":
            if len(data_ins) != len([n for n in ins if n]):
                token = self._expanded_constant(ins[0])
                dims = self.constants.get(token, ())
                if (
                    len(ins) == 2
                    and ins[1] in data_ins
                    and len(dims) == 3
                    and dims[0] == 1
                    and self.axis(a["axis"], x) == 1
                ):
                    return call("class_token", tokens=dims[1]), [x], out, _ident(token)
                raise NotMapped("it concatenates a constant")
            return call("concat", dim=self.axis(a["axis"], x)), data_ins, out, None
        if op in ("Add", "Mul", "Sum"):
            kind = "mul" if op == "Mul" else "add"
            if len(data_ins) == len(ins) and len(ins) >= 2:
                return call(kind), data_ins, out, None
            if op == "Add":
                const = [self._expanded_constant(n) for n in ins if n not in data_ins]
                const = [n for n in const if n in self.constants]
                dims = self.constants[const[0]] if const else ()
                shape = self.shapes.get(x)
                # a (1, L, D) tensor added to L x D tokens: a learned position embedding (convdsl checks the shapes)
                known = shape is not None and all(isinstance(d, int) for d in shape[1:])
                if len(dims) == 3 and dims[0] == 1 and (not known or tuple(shape[1:]) == dims[1:]):
                    return call("position_embedding", (dims[1],)), [x], out, _ident(const[0])
            raise NotMapped(f"{'adds' if kind == 'add' else 'multiplies by'} a constant")
        if op == "Gemm":
            if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                raise NotMapped("transA, alpha or beta")
            w = self._const(ins, 1, "weight")
            features = w[0] if a.get("transB", 0) else w[1]
            return one(call("linear", (features,), bias=len(ins) > 2 and bool(ins[2])))
        if op == "MatMul":
            if len(data_ins) == 2:
                return call("matmul"), [data_ins[0], data_ins[1]], out, None
            transposed = self._transposed_constant(ins[1])
            if transposed is not None:  # torch's Linear on tokens: MatMul(x, Transpose(weight)) + bias
                w = tuple(reversed(self.constants[transposed]))
                label = label or _ident(transposed.rsplit(".", 1)[0]) if transposed.endswith(".weight") else label
            else:
                w = self._const(ins, 1, "weight")
            if len(w) != 2:
                raise NotMapped("a matmul by a constant of more than two axes")
            # a following Add of a constant (M,) is the bias of a linear layer
            for other in self.nodes:
                if other.op_type == "Add" and out in other.input and users.get(out, 0) == 1:
                    const = [n for n in other.input if n != out]
                    if len(const) == 1 and self.constants.get(const[0]) == (w[1],):
                        fused.add(id(other))
                        return call("linear", (w[1],)), [x], other.output[0], label or self._label(other.input)
            return one(call("linear", (w[1],), bias=False))
        if op in ("Resize", "Upsample"):
            mode = a.get("mode", "nearest")
            transform = a.get("coordinate_transformation_mode", "half_pixel")
            scales_name = ins[2] if op == "Resize" and len(ins) > 2 else ins[1] if op == "Upsample" else ""
            sizes_name = ins[3] if op == "Resize" and len(ins) > 3 else ""
            rank = self.rank(x)
            if mode == "nearest":
                if op == "Resize" and (
                    transform != "asymmetric" or a.get("nearest_mode", "round_prefer_floor") != "floor"
                ):
                    raise NotMapped("nearest resizing other than PyTorch's (asymmetric, floor)")
                values = dict(mode="nearest")
            elif mode == "linear":
                values = dict(
                    mode={3: "linear", 4: "bilinear", 5: "trilinear"}.get(rank, "bilinear"),
                    align_corners=transform == "align_corners",
                )
                if transform not in ("align_corners", "pytorch_half_pixel", "half_pixel"):
                    raise NotMapped(f"coordinate_transformation_mode={transform}")
            else:
                raise NotMapped(f"mode={mode}")
            if scales_name and scales_name in self.tensors and _count(self.constants[scales_name]):
                scales = [float(s) for s in self.ints(scales_name)]
                if scales[:2] != [1.0, 1.0]:
                    raise NotMapped("it resizes the batch or the channels")
                return one(call("upsample", (tuple(scales[2:]),), **values))
            if sizes_name:
                sizes = self.ints(sizes_name)
                return one(call("upsample", size=tuple(int(s) for s in sizes[2:]), **values))
            raise NotMapped("scales or sizes that are computed")
        if op == "Pad":
            if a.get("mode", "constant") != "constant":
                raise NotMapped(f"mode={a.get('mode')}")
            pads = a.get("pads")
            if pads is None:
                pads = self.ints(ins[1])
            value = self._scalar(ins, 2, a.get("value", 0.0)) or 0.0
            half = len(pads) // 2
            begins, ends = pads[:half], pads[half:]
            if (begins[:2] != (0, 0) and list(begins[:2]) != [0, 0]) or list(ends[:2]) != [0, 0]:
                raise NotMapped("it pads the batch or the channels")
            torch_order = []
            for b, e in reversed(list(zip(begins[2:], ends[2:]))):
                torch_order += [int(b), int(e)]
            return one(call("pad", (tuple(torch_order),), value=float(value)))
        if op == "Dropout":
            ratio = self._scalar(ins, 1, a.get("ratio", 0.5))
            return one(call("dropout", p=_f(0.5 if ratio is None else ratio)))
        if op == "LayerNormalization":
            scale = self._const(ins, 1, "scale")
            axis = a.get("axis", -1)
            rank = self.rank(x)
            if rank is not None and (axis + rank if axis < 0 else axis) != rank - len(scale):
                raise NotMapped("the axis does not match the scale's shape")
            shape = scale[0] if len(scale) == 1 else tuple(scale)
            return one(call("layernorm", (shape,), eps=_f(a.get("epsilon", 1e-5)), bias=len(ins) > 2 and bool(ins[2])))
        if op == "Gather":  # x[:, i]: one index of one axis
            index = self._expanded_constant(ins[1]) if len(ins) > 1 else ""
            if index not in self.tensors or self.constants.get(index) != ():
                raise NotMapped("gathering with indices that are not one constant")
            (position,) = self.ints(index)
            return one(call("select", (self.axis(a.get("axis", 0), x), int(position))))
        raise NotMapped("no convdsl layer kind for this operator")

    def _transposed_constant(self, name):
        """The 2-D initializer a value is the transpose of (a Transpose with the default, reversing, perm)."""
        for node in self.nodes:
            if name in node.output and node.op_type == "Transpose" and node.input:
                source = self._expanded_constant(node.input[0])
                dims = self.constants.get(source)
                perm = self.attrs[id(node)].get("perm")
                if dims is not None and len(dims) == 2 and (perm is None or list(perm) == [1, 0]):
                    return source
        return None

    def _expanded_constant(self, name):
        """The initializer a value is, through Expand (a learned token broadcast over the batch) and Identity."""
        for node in self.nodes:
            if name in node.output and node.op_type in ("Expand", "Identity") and node.input:
                return self._expanded_constant(node.input[0])
        return name

    def _const(self, ins, index, what):
        name = self._expanded_constant(ins[index]) if index < len(ins) and ins[index] else ""
        if name not in self.constants:
            raise NotMapped(f"its {what} is computed, not an initializer")
        return self.constants[name]

    def _scalar(self, ins, index, default):
        if index < len(ins) and ins[index]:
            values = self.ints(ins[index])
            return float(values[0]) if values else default
        return default if default is None else float(default)

    def _pads(self, a, rank):
        pads = list(a.get("pads", [0] * (2 * rank)))
        begins, ends = pads[:rank], pads[rank:]
        if begins != ends:
            raise NotMapped(f"uneven padding {pads} (convdsl pads both sides alike; write a Pad before it)")
        return tuple(begins)


def _f(value) -> float:
    """A float attribute as written in the model (ONNX stores float32: 1e-5 reads back as 9.99999974e-06)."""
    return float(f"{float(value):.7g}")


def _count(dims) -> int:
    total = 1
    for d in dims:
        total *= d
    return total


def _check_data(tensor, dims):
    """What an initializer holds agrees with its dims (a claim of 10^9 elements with no data is refused)."""
    if tensor.data_location == 1:  # EXTERNAL: its data is in another file, not read; the dims are what counts
        return
    count = _count(dims)
    itemsize = _ITEMSIZE.get(tensor.data_type)
    if tensor.raw_data:
        held = len(tensor.raw_data) // itemsize if itemsize else None
    else:
        held = max(
            len(tensor.float_data),
            len(tensor.int32_data),
            len(tensor.int64_data),
            len(tensor.double_data),
            len(tensor.uint64_data),
            len(tensor.string_data),
        )
    if held is not None and held != count:
        raise Invalid(f"initializer `{tensor.name}` claims {count:,} elements of dims {list(dims)} but holds {held:,}")


def _value_dims(value_info):
    t = value_info.type
    if not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
        return None
    dims = []
    for d in t.tensor_type.shape.dim:
        dims.append(int(d.dim_value) if d.HasField("dim_value") and d.dim_value > 0 else None)
    return dims


def _set_dims(value_info, wanted):
    shape = value_info.type.tensor_type.shape
    del shape.dim[:]
    batch = shape.dim.add()
    batch.dim_value = 1
    for d in wanted:
        shape.dim.add().dim_value = d


def _infer_shapes(onnx, model) -> dict:
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception:  # a graph the checker refuses: shapes stay unknown where they are needed, and say so
        inferred = model
    shapes = {}
    for value_info in (*inferred.graph.value_info, *inferred.graph.output, *inferred.graph.input):
        dims = _value_dims(value_info)
        if dims is not None:
            shapes[value_info.name] = tuple(dims)
    return shapes


def _ordered(nodes, outputs, constants, inputs, anchors):
    """The nodes in an order where each comes after what it reads; a cycle or a missing input is an error."""
    producer = {}
    for node in nodes:
        for out in node.output:
            if out in producer or out in inputs:
                raise Invalid(
                    f"the value `{out}` is produced twice (by `{node.name or node.op_type}`)",
                    anchor=anchors[id(node)],
                )
            producer[out] = node
    indegree, waiting = {}, {}
    for node in nodes:
        needed = set()
        for name in node.input:
            if not name or name in inputs or (name in constants and name not in producer):
                continue
            if name not in producer:
                raise Invalid(
                    f"node `{node.name or node.op_type}` reads `{name}`, which nothing produces",
                    anchor=anchors[id(node)],
                )
            needed.add(name)
        indegree[id(node)] = len(needed)
        for name in needed:
            waiting.setdefault(name, []).append(node)
    ready = [n for n in nodes if indegree[id(n)] == 0]
    order = []
    while ready:
        node = ready.pop()
        order.append(node)
        for out in node.output:
            for user in waiting.get(out, ()):
                indegree[id(user)] -= 1
                if indegree[id(user)] == 0:
                    ready.append(user)
    if len(order) != len(nodes):
        stuck = next(n for n in nodes if indegree[id(n)] > 0)
        raise Invalid(f"the graph has a cycle through node `{stuck.name or stuck.op_type}`", anchor=anchors[id(stuck)])
    for out in outputs:
        if out.name not in producer and out.name not in inputs and out.name not in constants:
            raise Invalid(f"the output `{out.name}` is produced by no node")
    return order


__all__ = ["MAX_BYTES", "Mapped", "import_onnx"]


def translate_file(path: str, *, options: dict | None = None):
    """`convdsl import model.onnx` (and check, summary, sizes, render of it): data only, no code runs."""
    from .pytorch import as_translation

    options = options or {}
    result = import_onnx(str(path), options.get("inputs") or None, allow_opaque=bool(options.get("allow_opaque")))
    return as_translation(result, "onnx")
