"""Functions and tensor methods in a traced forward (`torch.cat`, `x + y`, `x.mean((2, 3))`) as layer calls.

Each is read from the fx node's arguments and the shapes the run recorded, and
mapped only where convdsl computes exactly the same thing; anything else raises
NotMapped with the reason, which becomes the diagnostic (or an opaque layer).
Batch-first is checked where an axis is named: convdsl's dims count the batch as 0,
as PyTorch's do, so a dim is written as the model wrote it, made non-negative.
"""

from __future__ import annotations

import operator

from .torchmap import Mapped, NotMapped, call, is_export_helper
from .torchmodel import Element, ParamValue, TensorSummary, without_batch as _without_batch

_ACTIVATIONS = {
    "relu": "relu",
    "relu_": "relu",
    "relu6": "relu6",
    "gelu": "gelu",
    "silu": "silu",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "hardswish": "hardswish",
    "hardsigmoid": "hardsigmoid",
    "leaky_relu": "leaky_relu",
    "elu": "elu",
}
# no-ops on values and shapes: the node is the tensor it was called on
_PASS = {"contiguous", "clone", "detach", "float", "type_as", "requires_grad_"}


def _name(node) -> str:
    target = node.target
    return target if isinstance(target, str) else getattr(target, "__name__", str(target))


def map_function(tracer, gm, node, values, vid, alias, params):
    fx = tracer.fx
    torch = tracer.torch
    F = torch.nn.functional
    batch = tracer.batch
    name = _name(node)
    target = node.target
    args, kwargs = list(node.args), dict(node.kwargs)

    def shape(n):
        summary = values.get(n)
        return summary.shape if isinstance(summary, TensorSummary) else None

    def is_tensor(a):
        """A tensor of the forward (not a parameter read with get_attr)."""
        return isinstance(a, fx.Node) and a.op != "get_attr" and isinstance(values.get(a), TensorSummary)

    def arg(i, key, default=None):
        if key in kwargs:
            return kwargs[key]
        return args[i] if i < len(args) else default

    def plain(value, what):
        """A constant argument: a value traced through fx (x.size(1)) was recorded; its value is used."""
        if isinstance(value, fx.Node):
            recorded = values.get(value)
            if isinstance(recorded, (int, float, bool)) or (
                isinstance(recorded, tuple) and all(isinstance(v, int) for v in recorded)
            ):
                return recorded
            raise NotMapped(f"{what} is computed from tensors")
        if isinstance(value, (tuple, list)):
            return tuple(plain(v, what) for v in value)
        return value

    out_shape = shape(node)
    if target is operator.getitem and node.args and vid(node.args[0]) in tracer.recurrent_tuple and node.args[1] != 0:
        raise NotMapped(
            "it reads the hidden state of a recurrent layer, which PyTorch gives batch-second "
            "((layers, batch, hidden)); convdsl reads the output sequence, [0], only"
        )
    if out_shape is not None and (not out_shape or out_shape[0] != batch):
        raise NotMapped(f"its result ({tuple(out_shape)}) does not keep the batch first")

    def element(mapped: Mapped, inputs, outputs=None):
        return Element(list(inputs), outputs or [node], mapped=mapped, shape=_without_batch(values.get(node), batch))

    def dim_of(d, rank):
        d = plain(d, "the dim")
        if not isinstance(d, int):
            raise NotMapped(f"dim {d!r}")
        if d < 0:
            d += rank
        if d <= 0:
            raise NotMapped("it acts on the batch axis (dim 0)")
        return d

    x = args[0] if args else None
    tensors = [a for a in args if is_tensor(a)]

    # getitem: an output of a layer with several outputs, or indexing a tensor
    if target is operator.getitem:
        source, index = args
        summary = values.get(source)
        if isinstance(summary, tuple):  # a layer's tuple of outputs
            key = vid(source)
            if not isinstance(index, int):
                raise NotMapped("a slice of a layer's outputs")
            if key in tracer.recurrent_tuple:  # the sequence, [0] (reading a state is refused above)
                alias[node] = ("item", key, 0)
                return None
            if key in tracer.single_tuple:
                if index != 0:
                    raise NotMapped(
                        "it reads the attention weights (need_weights): convdsl's attention gives its output only"
                    )
                alias[node] = source
                return None
            alias[node] = ("item", key, index)
            return None
        if is_tensor(source):
            return [element(_index(index, shape(source), batch), [vid(source)])]
        return None

    passes = (node.op == "call_method" and name in _PASS) or (node.op == "call_function" and target is torch.clone)
    if passes and is_tensor(x):
        alias[node] = x
        return None
    if node.op == "call_method" and name == "to":
        if any(isinstance(a, torch.dtype) for a in (*args[1:], *kwargs.values())):
            raise NotMapped("a change of dtype")
        alias[node] = x
        return None

    def operand(a):
        """A tensor of the forward, or a bare parameter (read through views: `self.gamma.view(1, -1, 1, 1)`,
        `self.class_token.expand(n, -1, -1)`) as its `param`; None for a constant."""
        found = _param_use(fx, a, len(out_shape), gm, values, params, batch)
        if found is not None:
            return found
        return vid(a) if is_tensor(a) and a in tracer.derived else None

    # merges
    if target in (operator.add, torch.add, operator.iadd) or (node.op == "call_method" and name in ("add", "add_")):
        if "alpha" in kwargs and kwargs["alpha"] != 1:
            raise NotMapped("add with alpha")
        return _broadcast("add", [operand(a) for a in args[:2]], element)
    if target in (operator.mul, torch.mul, operator.imul) or (node.op == "call_method" and name in ("mul", "mul_")):
        return _broadcast("mul", [operand(a) for a in args[:2]], element)
    if target in (torch.cat, torch.concat, torch.concatenate):
        parts = arg(0, "tensors")
        dim = dim_of(arg(1, "dim", 0), len(out_shape))
        operands = [operand(p) for p in parts]
        if any(o is None for o in operands):
            raise NotMapped("it concatenates values that are not tensors of the forward")
        if all(isinstance(o, ParamValue) for o in operands):
            raise NotMapped("it concatenates parameters only")
        if len(parts) < 2:
            alias[node] = parts[0]
            return None
        return [element(call("concat", dim=dim), operands)]

    # reshaping
    if target is torch.flatten or (node.op == "call_method" and name == "flatten"):
        rank = len(shape(x))
        start = dim_of(arg(1, "start_dim", 0), rank) if plain(arg(1, "start_dim", 0), "start_dim") != 0 else None
        if start is None:
            raise NotMapped("it flattens the batch axis into the rest")
        end = plain(arg(2, "end_dim", -1), "end_dim")
        return [element(call("flatten", start_dim=start, end_dim=end), [vid(x)])]
    if (node.op == "call_method" and name in ("view", "reshape")) or target is torch.reshape:
        return [_reshape(shape(x), out_shape, element, vid(x))]
    if (node.op == "call_method" and name == "permute") or target is torch.permute:
        dims = plain(args[1:] if node.op == "call_method" else arg(1, "dims"), "dims")
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        rank = len(shape(x))
        dims = tuple(d + rank if d < 0 else d for d in dims)
        if not dims or dims[0] != 0:
            raise NotMapped("it moves the batch axis")
        return [element(call("permute", dims), [vid(x)])]
    if (node.op == "call_method" and name == "transpose") or target is torch.transpose:
        rank = len(shape(x))
        a, b = dim_of(arg(1, "dim0"), rank), dim_of(arg(2, "dim1"), rank)
        return [element(call("transpose", (a, b)), [vid(x)])]
    if (node.op == "call_method" and name == "unflatten") or target is torch.unflatten:
        rank = len(shape(x))
        return [
            element(call("unflatten", (dim_of(arg(1, "dim"), rank), tuple(plain(arg(2, "sizes"), "sizes")))), [vid(x)])
        ]
    if node.op == "call_method" and name in ("squeeze", "unsqueeze"):
        return [_reshape(shape(x), out_shape, element, vid(x))]

    # reductions that are pools
    if (node.op == "call_method" and name == "mean") or target is torch.mean:
        dims = plain(arg(1, "dim"), "dim")
        keep = plain(arg(2, "keepdim", False), "keepdim")
        rank = len(shape(x))
        dims = tuple(sorted(d + rank if d < 0 else d for d in (dims if isinstance(dims, (tuple, list)) else (dims,))))
        if rank == 3 and dims == (1,):
            # the mean over the tokens of B x L x D: the sequence made the pooled axis (L x D as D x L)
            moved = element(call("transpose", (1, 2)), [vid(x)], outputs=[("tokens", node)])
            pool = element(call("global_avgpool"), [("tokens", node)], outputs=[("pool", node)])
            last = (
                element(call("transpose", (1, 2)), [("pool", node)])
                if keep
                else element(call("flatten"), [("pool", node)])
            )
            return [moved, pool, last]
        if rank < 3 or dims != tuple(range(2, rank)):
            raise NotMapped("a mean over other axes than all the spatial ones, or the tokens (dim 1) of L x D")
        pool = element(call("global_avgpool"), [vid(x)], outputs=[("pool", node)])
        if keep:
            pool.outputs = [node]
            return [pool]
        return [pool, element(call("flatten"), [("pool", node)])]

    if target in (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d):
        return [element(call("adaptive_avgpool", (plain(arg(1, "output_size"), "output_size"),)), [vid(x)])]
    if target in (F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d):
        if plain(arg(2, "return_indices", False), "return_indices"):
            raise NotMapped("return_indices=True")
        return [element(call("adaptive_maxpool", (plain(arg(1, "output_size"), "output_size"),)), [vid(x)])]
    if target in (F.max_pool1d, F.max_pool2d, F.max_pool3d, F.avg_pool1d, F.avg_pool2d, F.avg_pool3d):
        kind = "maxpool" if "max" in name else "avgpool"
        kernel = plain(arg(1, "kernel_size"), "kernel_size")
        stride = plain(arg(2, "stride"), "stride")
        values_ = dict(padding=plain(arg(3, "padding", 0), "padding"))
        if kind == "maxpool":
            values_["dilation"] = plain(arg(4, "dilation", 1), "dilation")
            values_["ceil"] = bool(plain(arg(5, "ceil_mode", False), "ceil_mode")) or None
            if plain(arg(6, "return_indices", False), "return_indices"):
                raise NotMapped("return_indices=True")
        else:
            values_["ceil"] = bool(plain(arg(4, "ceil_mode", False), "ceil_mode")) or None
            values_["count_include_pad"] = plain(arg(5, "count_include_pad", True), "count_include_pad")
        if stride not in (None, (), []) and stride != kernel:
            values_["stride"] = stride
        return [element(call(kind, (kernel,), **values_), [vid(x)])]

    # activations and friends
    base = name[:-1] if name.endswith("_") and name[:-1] in _ACTIVATIONS else name
    if base in _ACTIVATIONS and (node.op == "call_method" or getattr(target, "__module__", "").startswith("torch")):
        kind = _ACTIVATIONS[base]
        values_ = {}
        if kind == "gelu":
            values_["approximate"] = (
                plain(arg(1, "approximate", "none"), "approximate")
                if node.op != "call_method"
                else plain(kwargs.get("approximate", "none"), "approximate")
            )
        if kind == "leaky_relu":
            values_["negative_slope"] = float(plain(arg(1, "negative_slope", 0.01), "negative_slope"))
        if kind == "elu":
            values_["alpha"] = float(plain(arg(1, "alpha", 1.0), "alpha"))
        return [element(call(kind, **values_), [vid(x)])]
    if target in (F.softmax, F.log_softmax, torch.softmax, torch.log_softmax) or (
        node.op == "call_method" and name in ("softmax", "log_softmax")
    ):
        dim = plain(arg(1, "dim"), "dim")
        if dim is None:
            raise NotMapped("dim=None (PyTorch guesses the axis)")
        rank = len(shape(x))
        return [element(call("log_softmax" if "log" in name else "softmax", (dim_of(dim, rank),)), [vid(x)])]
    if target is F.dropout or target is F.dropout2d or target is F.dropout1d or target is F.dropout3d:
        p = float(plain(arg(1, "p", 0.5), "p"))
        written = {F.dropout: "dropout", F.dropout1d: "dropout1d", F.dropout2d: "dropout2d", F.dropout3d: "dropout3d"}[
            target
        ]
        mapped = call("dropout", p=p)
        return [element(Mapped(written, mapped.args, mapped.kwargs), [vid(x)])]
    if target is F.interpolate:
        size = plain(arg(1, "size"), "size")
        scale = plain(arg(2, "scale_factor"), "scale_factor")
        mode = plain(arg(3, "mode", "nearest"), "mode")
        align = plain(arg(4, "align_corners"), "align_corners")
        if plain(arg(5, "recompute_scale_factor"), "recompute_scale_factor"):
            raise NotMapped("recompute_scale_factor=True")
        if plain(arg(6, "antialias", False), "antialias"):
            raise NotMapped("antialias=True")
        if size is not None:
            return [element(call("upsample", size=size, mode=mode, align_corners=align), [vid(x)])]
        scale = tuple(float(s) for s in scale) if isinstance(scale, (tuple, list)) else float(scale)
        return [element(call("upsample", (scale,), mode=mode, align_corners=align), [vid(x)])]
    if target is F.pad:
        mode = plain(arg(2, "mode", "constant"), "mode")
        if mode != "constant":
            raise NotMapped(f"mode={mode!r} (convdsl pads with a constant)")
        value = plain(arg(3, "value", 0.0), "value") or 0.0
        return [element(call("pad", (tuple(plain(arg(1, "pad"), "pad")),), value=float(value)), [vid(x)])]
    if target is F.linear:
        return [_tied_linear(node, args, kwargs, gm, element, vid, tracer)]
    if target is torch.roll or (node.op == "call_method" and name == "roll"):
        shifts = plain(arg(1, "shifts"), "shifts")
        dims = plain(arg(2, "dims"), "dims")
        return [element(call("roll", (shifts, dims)), [vid(x)])]
    if target in (torch.chunk,) or (node.op == "call_method" and name == "chunk"):
        chunks = plain(arg(1, "chunks"), "chunks")
        rank = len(shape(x))
        dim = dim_of(arg(2, "dim", 0), rank)
        mapped = call("chunk", (chunks,), dim=dim)
        return [_multi(mapped, chunks, node, vid(x), element)]
    if target in (torch.matmul,) or target is operator.matmul or (node.op == "call_method" and name == "matmul"):
        if len(tensors) != 2:
            raise NotMapped("a matmul with a constant")
        return [element(call("matmul"), [vid(tensors[0]), vid(tensors[1])])]
    if (node.op == "call_method" and name == "select") or target is torch.select:
        rank = len(shape(x))
        return [element(call("select", (dim_of(arg(1, "dim"), rank), plain(arg(2, "index"), "index"))), [vid(x)])]
    crop = _crop_helper(tracer, node)
    if crop:
        size_source = args[1] if len(args) > 1 else None
        like = (
            size_source.args[0]
            if isinstance(size_source, type(node))
            and size_source.op in ("call_function", "call_method")
            and size_source.args
            and isinstance(size_source.args[0], type(node))
            else None
        )
        if crop and like is not None and is_tensor(_shape_owner(like)):
            return [element(Mapped(crop, extra_inputs=1), [vid(x), vid(_shape_owner(like))])]
        raise NotMapped("a crop to sizes that are not another tensor's")
    raise NotMapped("no convdsl layer kind for this function")


def _multi(mapped, count, node, source, element):
    item = element(
        Mapped(mapped.kind, mapped.args, mapped.kwargs, outputs=count),
        [source],
        outputs=[("item", node, i) for i in range(count)],
    )
    return item


def _index(index, shape, batch):
    """`x[:, 0]`: select(1, 0); other indexing is refused."""
    items = index if isinstance(index, tuple) else (index,)
    if (
        len(items) == 2
        and isinstance(items[0], slice)
        and items[0] == slice(None)
        and isinstance(items[1], int)
        and not isinstance(items[1], bool)
    ):
        return call("select", (1, items[1]))
    raise NotMapped(f"indexing with {index!r}")


def _broadcast(kind, operands, element):
    """add or mul of two tensors, or of a tensor and a `param` (the tensor first, so a chain reads on)."""
    if len(operands) != 2 or any(o is None for o in operands) or all(isinstance(o, ParamValue) for o in operands):
        constants = sum(1 for o in operands if o is None or isinstance(o, ParamValue))
        what = "a constant" if constants == 1 else "constants"
        raise NotMapped(f"{'adds' if kind == 'add' else 'multiplies by'} {what}: convdsl's {kind} merges tensors")
    if isinstance(operands[0], ParamValue):
        operands = operands[::-1]
    return [element(call(kind), operands)]


# reads of a parameter that keep its values and their order: what a `param` broadcast over the batch is
_VIEW_METHODS = {"expand", "expand_as", "view", "reshape", "unsqueeze", "squeeze", "contiguous"}


def _param_use(fx, node, rank, gm, values, params, batch):
    """The `param` a merge's operand reads, its convdsl shape fixed by this use: the tensor's sizes as the merge
    sees them (`rank` axes with the batch), without the leading 1 (or the batch it was expanded to), and with
    1s in front where it has fewer axes (PyTorch broadcasts from the right). None: not a parameter's read."""
    import torch

    source = node
    while isinstance(source, fx.Node) and source.op != "get_attr":
        viewed = (source.op == "call_method" and source.target in _VIEW_METHODS) or (
            source.op == "call_function" and source.target in (torch.reshape, torch.unsqueeze, torch.squeeze)
        )
        if source.target is operator.getitem and source.args and _adds_axes(source.args[1]):
            viewed = True
        if not viewed or not source.args:
            return None
        source = source.args[0]
    if not isinstance(source, fx.Node):
        return None
    target = source.target
    decl = params.get(target)
    if decl is None:
        value = _param_value(source, gm)
        if "." in target:
            owner = target.rsplit(".", 1)[0]
            raise NotMapped(
                f"it reads `{target}`, a tensor of the child module `{owner}`: convdsl declares a `param` in the block "
                "of the module that owns it, so read it in that module's forward"
            )
        if not isinstance(value, torch.nn.Parameter):
            raise NotMapped(
                f"it reads the buffer `{target}`, a constant tensor: convdsl's merges read tensors and params"
            )
        raise NotMapped(f"it reads `{target}`, which is not a parameter of the module")
    summary = values.get(node)
    if not isinstance(summary, TensorSummary):
        return None
    seen = tuple(summary.shape)
    if len(seen) == rank and seen and (seen[0] == 1 or seen[0] == batch):
        shape = seen[1:]
    elif len(seen) < rank:
        shape = (1,) * (rank - 1 - len(seen)) + seen
    else:
        raise NotMapped(
            f"the parameter `{target}` {decl.torch_shape} is read as {seen}, which does not broadcast over the batch"
        )
    count = 1
    for d in shape:
        count *= d
    total = 1
    for d in decl.torch_shape:
        total *= d
    if count != total or not shape or len(shape) > 4:
        raise NotMapped(
            f"the parameter `{target}` {decl.torch_shape} is read expanded to {seen}: a convdsl param broadcasts "
            "over the batch only (and has 1 to 4 sizes)"
        )
    if decl.used and decl.shape != shape:
        raise NotMapped(
            f"the parameter `{target}` is read as {decl.shape} and as {shape}: a convdsl param has one shape"
        )
    decl.shape, decl.used = shape, True
    return ParamValue(target)


def _adds_axes(index) -> bool:
    """`gamma[:, None, None]`, `gamma[None]`: indexing that only adds axes of 1."""
    items = index if isinstance(index, tuple) else (index,)
    return any(i is None for i in items) and all(i is None or i == slice(None) or i is Ellipsis for i in items)


def _is_param(node, gm) -> bool:
    return getattr(node, "op", None) == "get_attr"


def _param_value(node, gm):
    obj = gm
    for part in node.target.split("."):
        obj = getattr(obj, part)
    return obj


def _tied_linear(node, args, kwargs, gm, element, vid, tracer):
    weight = args[1] if len(args) > 1 else kwargs.get("weight")
    bias = args[2] if len(args) > 2 else kwargs.get("bias")
    if bias is not None:
        raise NotMapped("F.linear with a bias")
    if not _is_param(weight, gm) or not weight.target.endswith(".weight") or weight.target.count(".") != 1:
        raise NotMapped("F.linear with a weight that is not another layer's")
    owner = weight.target.rsplit(".", 1)[0]
    module = gm.get_submodule(owner)
    if type(module) not in (tracer.torch.nn.Embedding, tracer.torch.nn.Linear):
        raise NotMapped(
            f"F.linear with the weight of a {type(module).__name__} (convdsl ties to an embedding or linear)"
        )
    out = int(module.weight.shape[0])
    mapped = Mapped("linear", (out,), (("bias", False), ("tie", ("name", owner))))
    return element(mapped, [vid(args[0])])


def _crop_helper(tracer, node):
    if node.op != "call_function":
        return None
    name = getattr(node.target, "__name__", "")
    if name in ("crop", "center_crop") and is_export_helper(node.target, name):
        return name
    return None


def _shape_owner(size_node):
    """`skip.shape[2:]`: the tensor whose shape it is."""
    node = size_node
    while getattr(node, "op", None) in ("call_function", "call_method") and node.args:
        node = node.args[0]
    return node


def _reshape(in_shape, out_shape, element, source):
    out = tuple(out_shape[1:])
    if len(out) == 1 and len(in_shape) > 2:
        return element(call("flatten"), [source])
    return element(call("reshape", (out,)), [source])
