"""PyTorch modules and functions as convdsl layer calls: the export's translations, read backwards.

Each catalogue kind's arguments carry PyTorch's names (convdsl/layers/), which is
what export relies on to write `nn.Conv2d(..., stride=2)`; here the same names are
read off a module's attributes (`module.stride`), and only values that differ from
the catalogue's defaults are written. What a module does beyond that (padding
modes, batch-first flags, data-dependent options) is checked, and anything convdsl
would compute differently is refused with the reason, never approximated.
"""

from __future__ import annotations

import inspect
import operator
from dataclasses import dataclass, field

from ..export.helpers import SOURCES as HELPER_SOURCES
from ..layers import REQUIRED, lookup
from .torchsubst import substitutable

# the short names the README's examples use
_SHORT = {"stride": "s", "padding": "p", "dilation": "d", "groups": "g"}


class NotMapped(Exception):
    """The module or function has no convdsl kind (or not with these options): the reason, for a diagnostic."""


@dataclass(frozen=True)
class Mapped:
    """A layer call: kind (as written), positional and keyword values (plain Python values)."""

    kind: str
    args: tuple = ()
    kwargs: tuple = ()  # (name, value) pairs
    tensor_kwargs: tuple = ()  # (name, index of the call's extra tensor input)
    extra_inputs: int = 0  # tensors after the first the layer reads (merges: the others; memory=)
    outputs: int = 1
    notes: tuple = field(default=(), compare=False)
    merge_form: bool = False  # written with all its tensors first, as a merge: `attention(q, kv, heads)`


def _one(value):
    """A per-axis tuple whose values agree is one value, as convdsl writes it."""
    if isinstance(value, (tuple, list)):
        value = tuple(value)
        if value and all(v == value[0] for v in value):
            return value[0]
    return value


def call(kind: str, positional=(), **values) -> Mapped:
    """A call of `kind`: the given positional values, then every keyword value that differs from the default."""
    spec = lookup(kind)
    assert spec is not None, kind
    defaults = {a.name: a.default for a in spec.args}
    per_axis = {a.name for a in spec.args if a.type in ("ints", "padding", "floats")}
    positional_names = [a.name for a in spec.args if a.positional]
    kwargs = []
    for name, value in values.items():
        value = _one(value) if name in per_axis else _tuple(value)
        default = defaults.get(name, REQUIRED)
        if default is not REQUIRED and _same(value, default):
            continue
        kwargs.append((_SHORT.get(name, name), value))
    args = tuple(
        _one(v) if i < len(positional_names) and positional_names[i] in per_axis else _tuple(v)
        for i, v in enumerate(positional)
    )
    return Mapped(kind, args, tuple(kwargs))


def _tuple(value):
    return tuple(value) if isinstance(value, list) else value


def _same(value, default) -> bool:
    if isinstance(value, bool) or isinstance(default, bool):
        return value is default or (isinstance(value, bool) and isinstance(default, bool) and value == default)
    return (value == default and type(value) is type(default)) or (
        isinstance(value, (int, float)) and isinstance(default, (int, float)) and value == default
    )


def _no_padding_mode(m):
    if getattr(m, "padding_mode", "zeros") != "zeros":
        raise NotMapped(f"padding_mode={m.padding_mode!r} (convdsl pads with zeros)")


def _conv(m):
    _no_padding_mode(m)
    return call(
        "conv",
        (m.out_channels, m.kernel_size),
        stride=m.stride,
        padding=m.padding,
        dilation=m.dilation,
        groups=m.groups,
        bias=m.bias is not None,
    )


def _conv_transpose(m):
    _no_padding_mode(m)
    return call(
        "conv_transpose",
        (m.out_channels, m.kernel_size),
        stride=m.stride,
        padding=m.padding,
        output_padding=m.output_padding,
        dilation=m.dilation,
        groups=m.groups,
        bias=m.bias is not None,
    )


def _bn(m):
    if m.momentum is None:
        raise NotMapped("momentum=None (a cumulative average)")
    return call("bn", eps=m.eps, momentum=m.momentum, affine=m.affine, track_running_stats=m.track_running_stats)


def _instancenorm(m):
    return call("instancenorm", eps=m.eps, affine=m.affine, track_running_stats=m.track_running_stats)


def _groupnorm(m):
    return call("groupnorm", (m.num_groups,), eps=m.eps, affine=m.affine)


def _layernorm(m):
    shape = tuple(m.normalized_shape)
    has_bias = getattr(m, "bias", None) is not None or not m.elementwise_affine
    return call(
        "layernorm",
        (shape[0] if len(shape) == 1 else shape,),
        eps=m.eps,
        elementwise_affine=m.elementwise_affine,
        bias=has_bias,
    )


def _pool(kind):
    def mapping(m):
        stride = m.stride if m.stride not in (None, ()) else m.kernel_size
        values = dict(stride=_one(stride), padding=m.padding, ceil=bool(m.ceil_mode) or None)
        if kind == "maxpool":
            if m.return_indices:
                raise NotMapped("return_indices=True")
            values["dilation"] = m.dilation
        else:
            if m.divisor_override is not None:
                raise NotMapped("divisor_override")
            values["count_include_pad"] = m.count_include_pad
        kernel = _one(m.kernel_size)
        if _one(stride) == kernel:
            values.pop("stride")
        return call(kind, (kernel,), **values)

    return mapping


def _adaptive(kind):
    def mapping(m):
        size = m.output_size
        if isinstance(size, (tuple, list)) and any(s is None for s in size):
            raise NotMapped("an output size of None (keep the input's size)")
        if kind == "adaptive_maxpool" and m.return_indices:
            raise NotMapped("return_indices=True")
        return call(kind, (size,))

    return mapping


def _linear(m):
    return call("linear", (m.out_features,), bias=m.bias is not None)


def _dropout(written):
    def mapping(m):
        values = call("dropout", p=float(m.p))
        return Mapped(written, values.args, values.kwargs)

    return mapping


def _activation(kind, *attributes):
    def mapping(m):
        return call(kind, **{a: getattr(m, a) for a in attributes})

    return mapping


def _softmax(kind):
    def mapping(m):
        if m.dim is None:
            raise NotMapped("dim=None (PyTorch guesses the axis)")
        return call(kind, (m.dim,))

    return mapping


def _flatten(m):
    return call("flatten", start_dim=m.start_dim, end_dim=m.end_dim)


def _unflatten(m):
    return call("unflatten", (m.dim, tuple(m.unflattened_size)))


def _upsample(m):
    if m.recompute_scale_factor:
        raise NotMapped("recompute_scale_factor=True")
    values = dict(mode=m.mode, align_corners=m.align_corners)
    if m.size is not None:
        return call("upsample", size=m.size, **values)
    scale = m.scale_factor
    scale = tuple(float(s) for s in scale) if isinstance(scale, (tuple, list)) else float(scale)
    return call("upsample", (scale,), **values)


def _pixel_shuffle(m):
    return call("pixel_shuffle", (m.upscale_factor,))


def _pixel_unshuffle(m):
    return call("pixel_unshuffle", (m.downscale_factor,))


def _channel_shuffle(m):
    return call("channel_shuffle", (m.groups,))


def _pad(m):
    return call("pad", (tuple(m.padding),), value=float(getattr(m, "value", 0.0)))


def _embedding(m):
    if m.max_norm is not None:
        raise NotMapped("max_norm (it changes the weights in forward)")
    return call("embedding", (m.num_embeddings, m.embedding_dim), padding_idx=m.padding_idx)


def _mha(m):
    if not m.batch_first:
        raise NotMapped("batch_first=False (convdsl's tokens are batch-first: construct it with batch_first=True)")
    if m.bias_k is not None or m.add_zero_attn:
        raise NotMapped("add_bias_kv or add_zero_attn")
    if m.kdim != m.vdim:
        raise NotMapped(f"kdim={m.kdim} and vdim={m.vdim} differ (convdsl's memory gives keys and values alike)")
    return call("attention", (m.num_heads,), bias=m.in_proj_bias is not None, dropout=float(m.dropout))


def _recurrent(kind):
    def mapping(m):
        if not m.batch_first:
            raise NotMapped("batch_first=False (convdsl's sequences are batch-first)")
        values = dict(num_layers=m.num_layers, bias=m.bias, bidirectional=m.bidirectional, dropout=float(m.dropout))
        if kind == "lstm":
            values["proj_size"] = m.proj_size
        mapped = call(kind, (m.hidden_size,), **values)
        return Mapped(mapped.kind, mapped.args, mapped.kwargs, outputs=3 if kind == "lstm" else 2)

    return mapping


def _module_table(nn):
    table = {
        nn.Conv1d: _conv,
        nn.Conv2d: _conv,
        nn.Conv3d: _conv,
        nn.ConvTranspose1d: _conv_transpose,
        nn.ConvTranspose2d: _conv_transpose,
        nn.ConvTranspose3d: _conv_transpose,
        nn.BatchNorm1d: _bn,
        nn.BatchNorm2d: _bn,
        nn.BatchNorm3d: _bn,
        nn.InstanceNorm1d: _instancenorm,
        nn.InstanceNorm2d: _instancenorm,
        nn.InstanceNorm3d: _instancenorm,
        nn.GroupNorm: _groupnorm,
        nn.LayerNorm: _layernorm,
        nn.MaxPool1d: _pool("maxpool"),
        nn.MaxPool2d: _pool("maxpool"),
        nn.MaxPool3d: _pool("maxpool"),
        nn.AvgPool1d: _pool("avgpool"),
        nn.AvgPool2d: _pool("avgpool"),
        nn.AvgPool3d: _pool("avgpool"),
        nn.AdaptiveAvgPool1d: _adaptive("adaptive_avgpool"),
        nn.AdaptiveAvgPool2d: _adaptive("adaptive_avgpool"),
        nn.AdaptiveAvgPool3d: _adaptive("adaptive_avgpool"),
        nn.AdaptiveMaxPool1d: _adaptive("adaptive_maxpool"),
        nn.AdaptiveMaxPool2d: _adaptive("adaptive_maxpool"),
        nn.AdaptiveMaxPool3d: _adaptive("adaptive_maxpool"),
        nn.Linear: _linear,
        nn.Identity: lambda m: call("identity"),
        nn.Dropout: _dropout("dropout"),
        nn.Dropout1d: _dropout("dropout1d"),
        nn.Dropout2d: _dropout("dropout2d"),
        nn.Dropout3d: _dropout("dropout3d"),
        nn.ReLU: _activation("relu", "inplace"),
        nn.ReLU6: _activation("relu6", "inplace"),
        nn.LeakyReLU: _activation("leaky_relu", "negative_slope", "inplace"),
        nn.GELU: _activation("gelu", "approximate"),
        nn.SiLU: _activation("silu", "inplace"),
        nn.Hardswish: _activation("hardswish", "inplace"),
        nn.Hardsigmoid: _activation("hardsigmoid", "inplace"),
        nn.Sigmoid: _activation("sigmoid"),
        nn.Tanh: _activation("tanh"),
        nn.ELU: _activation("elu", "alpha", "inplace"),
        nn.Softmax: _softmax("softmax"),
        nn.LogSoftmax: _softmax("log_softmax"),
        nn.Flatten: _flatten,
        nn.Unflatten: _unflatten,
        nn.Upsample: _upsample,
        nn.PixelShuffle: _pixel_shuffle,
        nn.PixelUnshuffle: _pixel_unshuffle,
        nn.ChannelShuffle: _channel_shuffle,
        nn.ZeroPad1d: _pad,
        nn.ZeroPad2d: _pad,
        nn.ZeroPad3d: _pad,
        nn.ConstantPad1d: _pad,
        nn.ConstantPad2d: _pad,
        nn.ConstantPad3d: _pad,
        nn.Embedding: _embedding,
        nn.MultiheadAttention: _mha,
        nn.LSTM: _recurrent("lstm"),
        nn.GRU: _recurrent("gru"),
    }
    return table


# The classes convdsl's export writes into its files (export/helpers.py), recognised by their exact source,
# so that a model exported by convdsl imports back as the kinds it was written from.


def _helper_attention(m):
    mapped = call(
        "attention", (m.num_heads,), bias=m.in_proj_bias is not None, causal=m.causal, dropout=float(m.dropout)
    )
    return mapped


def _helper_gqa(m):
    return call(
        "attention",
        (m.num_heads,),
        kv_heads=m.kv_heads,
        bias=m.q_proj.bias is not None,
        causal=m.causal,
        dropout=float(m.dropout),
    )


def _helper_window(m):
    return call(
        "window_attention",
        (m.num_heads, tuple(m.window_size), tuple(m.shift_size)),
        qkv_bias=m.qkv.bias is not None,
        proj_bias=m.proj.bias is not None,
    )


def _helper_patch_merging(m):
    return call("patch_merging", eps=m.norm.eps)


def _helper_layernorm2d(m):
    return call("layernorm2d", eps=m.eps, elementwise_affine=m.elementwise_affine, bias=m.bias is not None)


def _helper_layer_scale(m):
    gamma = m.gamma.detach()
    if gamma.is_meta:
        raise NotMapped("a layer scale built on the meta device without a recorded `init`")
    init = float(gamma.flatten()[0]) if gamma.numel() else 1e-6
    if gamma.numel() and not bool((gamma == init).all()):
        raise NotMapped("a trained layer scale (its values differ: convdsl writes one initial value)")
    return call("layer_scale", (init,), dim=1 if gamma.dim() > 1 else -1)


def _helper_stochastic_depth(m):
    return call("stochastic_depth", (float(m.p),), mode=m.mode)


def _helper_class_token(m):
    return call("class_token", tokens=m.token.shape[1])


def _helper_position_embedding(m):
    return call("position_embedding", (m.embedding.shape[1],))


def _helper_recurrent(kind):
    inner = _recurrent(kind)
    return inner


HELPER_MODULES = {
    "Attention": _helper_attention,
    "GroupedQueryAttention": _helper_gqa,
    "ShiftedWindowAttention": _helper_window,
    "PatchMerging": _helper_patch_merging,
    "LayerNorm2d": _helper_layernorm2d,
    "LayerScale": _helper_layer_scale,
    "StochasticDepth": _helper_stochastic_depth,
    "ClassToken": _helper_class_token,
    "PositionEmbedding": _helper_position_embedding,
    "LSTM": _helper_recurrent("lstm"),
    "GRU": _helper_recurrent("gru"),
}
HELPER_FUNCTIONS = ("crop", "center_crop")


def is_export_helper(obj, name: str) -> bool:
    """obj (a class or function) is the helper convdsl's export writes under `name`, to the character."""
    if name not in HELPER_SOURCES or getattr(obj, "__name__", None) != name:
        return False
    try:
        text = inspect.getsource(obj)
    except (OSError, TypeError):
        return False
    return text.strip("\n") == HELPER_SOURCES[name].strip("\n")


class ModuleMapper:
    """Which modules are convdsl layers (leaves of the trace), and their calls."""

    def __init__(self, torch):
        self.torch = torch
        self.nn = torch.nn
        self.table = _module_table(torch.nn)
        self._helper_cache: dict[type, str | None] = {}

    def helper_name(self, cls) -> str | None:
        if cls not in self._helper_cache:
            name = cls.__name__
            self._helper_cache[cls] = name if name in HELPER_MODULES and is_export_helper(cls, name) else None
        return self._helper_cache[cls]

    def is_layer(self, module) -> bool:
        """A module convdsl takes as one layer: a mapped class, an export helper, or a torch.nn class (refused
        with its name rather than traced into)."""
        cls = type(module)
        if cls in self.table or self.helper_name(cls):
            return True
        if cls in (self.nn.Sequential, self.nn.ModuleList, self.nn.ModuleDict) or substitutable(self.torch, cls):
            return False
        return cls.__module__.startswith("torch.") and not _has_own_forward_below_torch(cls)

    def premap(self, model, constructors: dict) -> None:
        """Map every layer now, while the weights are real (a layer scale reads its value), so the model can
        then be run on the meta device, which computes shapes and nothing else."""
        self._premapped = {}
        for module in model.modules():
            if self.is_layer(module):
                try:
                    init = constructors.get(id(module), {}).get("init")
                    if self.helper_name(type(module)) == "LayerScale" and isinstance(init, (int, float)):
                        self._premapped[id(module)] = call(
                            "layer_scale", (float(init),), dim=1 if module.gamma.dim() > 1 else -1
                        )
                        continue
                    self._premapped[id(module)] = self._map(module)
                except NotMapped as err:
                    self._premapped[id(module)] = err

    def map(self, module) -> Mapped:
        found = getattr(self, "_premapped", {}).get(id(module))
        if isinstance(found, NotMapped):
            raise found
        return found if found is not None else self._map(module)

    def _map(self, module) -> Mapped:
        cls = type(module)
        helper = self.helper_name(cls)
        if helper:
            return HELPER_MODULES[helper](module)
        handler = self.table.get(cls)
        if handler is None and cls is self.nn.TransformerDecoder:
            raise NotMapped(
                "its layers each read the memory as well, and convdsl cannot number such calls as a chain "
                "(layers.0, layers.1) yet: call nn.TransformerDecoderLayer modules from your own forward"
            )
        if handler is None:
            raise NotMapped("no convdsl layer kind for this module")
        return handler(module)


def _has_own_forward_below_torch(cls) -> bool:
    return False


# Functions and methods in a traced forward, by what they compute. Each takes the fx node's arguments
# (tensors as the marker TENSOR, other values as they are) and returns a Mapped or raises NotMapped.

TENSOR = object()


def function_kind(target) -> str | None:
    """A readable name for an fx call_function target (`torch.cat`, `operator.add`, `F.relu`)."""
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", repr(target))
    if target in (operator.add, operator.mul, operator.getitem, operator.truediv, operator.sub, operator.matmul):
        return f"operator.{name}"
    if module.startswith("torch.nn.functional"):
        return f"F.{name}"
    if module.startswith("torch"):
        return f"torch.{name}"
    return f"{module}.{name}" if module else name
