"""Caffe .prototxt (deploy files) to .cdsl: one chain per run of layers, labels keeping the layer names.

Blobs are Caffe's tensors; an in-place layer (top = bottom) continues the chain of its blob. Pooling
follows Caffe's ceil rounding and clipping through `set rounding = caffe`; BatchNorm followed by Scale
is one `bn` (Caffe keeps gamma and beta in the Scale layer), a BatchNorm alone `bn(affine=false)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import diagnostics as codes
from ..diagnostics import Diagnostic
from ..source import Source, Span
from .prototxt import Message, ParseError, Word, parse
from .translation import Translation
from .writer import Names, Writer, call, comment_text, layer_words

# V1 `layers { type: CONVOLUTION }` enum names, as the V2 type strings.
_V1 = {
    "CONVOLUTION": "Convolution",
    "DECONVOLUTION": "Deconvolution",
    "POOLING": "Pooling",
    "INNER_PRODUCT": "InnerProduct",
    "RELU": "ReLU",
    "SIGMOID": "Sigmoid",
    "TANH": "TanH",
    "LRN": "LRN",
    "CONCAT": "Concat",
    "ELTWISE": "Eltwise",
    "DROPOUT": "Dropout",
    "SOFTMAX": "Softmax",
    "SOFTMAX_LOSS": "SoftmaxWithLoss",
    "FLATTEN": "Flatten",
    "SPLIT": "Split",
    "DATA": "Data",
    "IMAGE_DATA": "ImageData",
    "ACCURACY": "Accuracy",
}
_IGNORED = {"Silence", "Accuracy", "SoftmaxWithLoss", "EuclideanLoss", "SigmoidCrossEntropyLoss", "HingeLoss"}
_DATA = {"Data", "ImageData", "HDF5Data", "MemoryData", "DummyData", "WindowData", "Python"}


@dataclass
class _Layer:
    name: str
    type: str
    bottoms: list[str]
    tops: list[str]
    message: Message
    span: Span  # the layer's name (or its opening) in the prototxt
    ins: list[str] = field(default_factory=list)  # the values it reads: `blob#n`, the n-th value of the blob
    outs: list[str] = field(default_factory=list)  # the values it writes (an in-place layer: a new value)


@dataclass
class _Body:
    """A run of layers named `prefix/...` with one input and one output, written as a block body."""

    prefix: str
    start: int
    end: int
    input: str  # the value it reads (`in` in the body)
    output: str  # the value it gives (`out`)
    span: Span
    lines: list[str] = field(default_factory=list)
    module: str = ""  # what its layer names share: `inception_3a/` or ResNet's `2a`
    shape: str = ""  # the body with its channel counts left out: equal shapes share a block
    params: list[str] = field(default_factory=list)  # the block's parameters, one per channel count
    values: list[int] = field(default_factory=list)  # this module's channel counts
    block: str = ""
    reads: int = 1  # how many of the module's layers read its input


_PARAM = re.compile("\x01[0-9]+\x01")
_TOKEN = re.compile(r"^[A-Za-z_]*?([0-9]+[a-z])(?=_|$)")


def _module_of(name: str) -> tuple[str, str] | None:
    """What a layer's name says about the module it is in, (key, label): GoogLeNet's `inception_3a/1x1` is
    in `inception_3a/`; ResNet's `bn2a_branch2a` and `res2a_relu` are in `2a` (labelled `res2a`)."""
    if "/" in name:
        prefix = name.split("/", 1)[0]
        return (prefix + "/", prefix)
    match = _TOKEN.match(name)
    if match:
        return (match.group(1), name[: match.end(1)])
    return None


def _local(name: str, module: str) -> str:
    """A name inside its module: `inception_3a/1x1` is `1x1`, `bn2a_branch2a` is `bn_branch2a`."""
    if module.endswith("/"):
        return name[len(module) :] if name.startswith(module) else name
    match = _TOKEN.match(name)
    if match and match.group(1) == module:
        return name[: match.start(1)] + name[match.end(1) :]
    return name


@dataclass
class _Chain:
    head: str  # the tensor or merge it starts from
    elements: list[str] = field(default_factory=list)
    origins: list[Span] = field(default_factory=list)
    origin: Span | None = None


class _Translator:
    def __init__(self, source: Source):
        self.source = source
        self.found: list[Diagnostic] = []
        self.out = Writer()
        reserved = layer_words()
        self.tensors = Names(reserved)
        self.labels = Names(reserved)
        self.version: dict[str, str] = {}  # blob -> the .cdsl tensor holding its current value (or a pending chain)
        self.chain: _Chain | None = None  # the open chain, not yet written
        self.chain_blob: str | None = None  # the blob whose value the open chain computes
        self.uses: dict[str, int] = {}  # blob -> how many layers read it (after in-place writes: per value)
        self.first_origin = Span(source.path, 1, 1, 1, 1)
        self.body: _Body | None = None  # set while a module's layers are written as a block body
        self.blocks: dict[str, _Body] = {}  # block name -> the first module written as it

    def error(self, code, span, message, help=None):
        self.found.append(Diagnostic(code, span, message, help=help))

    # -- reading ---------------------------------------------------------------------------------

    def layers(self, top: Message) -> list[_Layer]:
        out = []
        for entry in top.all("layer") + top.all("layers"):
            msg = entry.value
            if not isinstance(msg, Message):
                self.error(codes.FOREIGN_SYNTAX, entry.span, "`layer` must be a message: layer { ... }")
                continue
            kind = msg.get("type", "")
            if isinstance(kind, Word):
                kind = _V1.get(kind.text, kind.text)
            name_field = msg.first("name")
            name = str(msg.get("name", "")) or f"layer{len(out)}"
            span = name_field.span if name_field else entry.span
            bottoms = [str(b) for b in msg.values("bottom")]
            tops = [str(t) for t in msg.values("top")]
            if any(f.name == "include" for f in msg.fields) and _phase(msg) == "TRAIN":
                continue  # a training-only layer (a data layer, a loss)
            out.append(_Layer(name, str(kind), bottoms, tops, msg, span))
        out.sort(key=lambda layer: (layer.span.line, layer.span.column))  # file order: `layer` then `layers`
        return out

    # -- inputs ----------------------------------------------------------------------------------

    def declared_inputs(self, top: Message, layers: list[_Layer]) -> list[tuple[str, list[int], Span, str | None]]:
        inputs = []
        names = top.all("input")
        dims = [f for f in top.all("input_dim")]
        shapes = top.all("input_shape")
        for i, entry in enumerate(names):
            if shapes:
                if i < len(shapes) and isinstance(shapes[i].value, Message):
                    inputs.append(
                        (str(entry.value), [_int(d) for d in shapes[i].value.values("dim")], entry.span, None)
                    )
                else:
                    self.error(codes.FOREIGN_VALUE, entry.span, f"input `{entry.value}` has no input_shape")
            else:
                own = dims[4 * i : 4 * i + 4]
                if len(own) < 2:
                    self.error(
                        codes.FOREIGN_VALUE,
                        entry.span,
                        f"input `{comment_text(entry.value)}` has {len(own)} input_dim values",
                        help="give 4 input_dim values per input: batch, channels, height, width",
                    )
                    continue
                inputs.append((str(entry.value), [_int(d.value) for d in own], entry.span, None))
        for layer in layers:
            if layer.type == "Input":
                param = layer.message.get("input_param")
                shapes = param.values("shape") if isinstance(param, Message) else []
                for j, blob in enumerate(layer.tops):
                    shape = shapes[j] if j < len(shapes) else (shapes[0] if shapes else None)
                    if not isinstance(shape, Message):
                        self.error(codes.FOREIGN_VALUE, layer.span, f"Input layer `{layer.name}` gives no shape")
                        continue
                    inputs.append((blob, [_int(d) for d in shape.values("dim")], layer.span, layer.outs[j]))
        return inputs

    # -- writing ---------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write the open chain as a statement: `tensor = head -> ...`, or an output when nothing reads it."""
        chain, blob = self.chain, self.chain_blob
        self.chain = self.chain_blob = None
        if chain is None:
            return
        if self.body is not None and blob == self.body.output:
            name, keyword = "out", ""
        else:
            base = blob.rsplit("#", 1)[0]
            if self.body is not None:  # inside the module's block: its own names
                base = _local(base, self.body.module) or base
            name = self.tensors.make(base, "t")
            keyword = "output " if self.uses.get(blob, 0) == 0 and self.body is None else ""
        elements = [chain.head] + chain.elements
        origins = [chain.origin] + chain.origins
        self.out.chain(f"{keyword}{name} = ", elements, origins[0], origins)
        self.version[blob] = name

    def read(self, blob: str, span: Span) -> str | None:
        """The .cdsl tensor holding a blob's current value (writing the open chain first if it is that blob)."""
        if self.chain_blob == blob:
            self.flush()
        if blob not in self.version:
            self.error(
                codes.FOREIGN_REFERENCE,
                span,
                f"bottom `{comment_text(blob.rsplit('#', 1)[0])}` is not the top of any layer before this one, nor an input",
                help="check the spelling, or move the layer that makes it above this one",
            )
            return None
        self.uses[blob] = self.uses.get(blob, 0) - 1
        return self.version[blob]

    def apply(self, layer: _Layer, element: str, bottom: str, top: str, before: str = "") -> None:
        """One layer of one input: continue the open chain when it computes `bottom`, else start one.

        before: unlabelled elements the layer implies (the flatten of an InnerProduct)."""
        label = self.labels.make(layer.name, "layer")
        element = f"{before}{label}: {element}"
        if self.chain is not None and self.chain_blob == bottom and self.uses.get(bottom, 0) <= 1:
            self.uses[bottom] = self.uses.get(bottom, 0) - 1
            self.chain.elements.append(element)
            self.chain.origins.append(layer.span)
            self.chain_blob = top
            return
        head = self.read(bottom, layer.span)
        if head is None:
            return
        self.flush()
        self.chain = _Chain(head, [element], [layer.span], layer.span)
        self.chain_blob = top

    def merge(self, layer: _Layer, kind: str, top: str, **kwargs) -> None:
        heads = [self.read(b, layer.span) for b in layer.ins]
        if None in heads:
            return
        self.flush()
        label = self.labels.make(layer.name, "layer")
        self.chain = _Chain(f"{label}: {call(kind, *_Raw.all(heads), **kwargs)}", [], [], layer.span)
        self.chain_blob = top

    # -- the translation -------------------------------------------------------------------------

    def run(self) -> Translation:
        try:
            top = parse(self.source)
        except ParseError as err:
            return Translation("caffe", self.source, "", (), (err.diagnostic,))
        layers = self.layers(top)
        self.number_values(top, layers)
        name = str(top.get("name", "")) or Path(self.source.path).stem
        self.out.comment(f"Translated by `convdsl import` from {Path(self.source.path).name} (Caffe prototxt)", None)
        self.out.line(f"network {Names().make(name, 'net')}", self.first_origin)
        self.out.line("set rounding = caffe", self.first_origin)
        inputs = self.declared_inputs(top, layers)
        if not inputs:
            self.error(
                codes.FOREIGN_VALUE,
                self.first_origin,
                "the prototxt declares no input (`input:` with `input_dim`, `input_shape`, or an Input layer)",
                help="convdsl reads deploy files: a training file's data layer has no shape",
            )
        for blob, dims, span, key in inputs:
            if len(dims) < 2 or any(d < 1 for d in dims):
                self.error(codes.FOREIGN_VALUE, span, f"input `{comment_text(blob)}` has the unusable shape {dims}")
                continue
            batch, *shape = dims
            tensor = self.tensors.make(blob, "t")
            self.version[key or f"{blob}#in"] = tensor
            extra = f", batch={batch}" if batch != 1 else ""
            self.out.line(f"input {tensor}: {' x '.join(map(str, shape))}{extra}", span)
        header = len(self.out.lines)
        modules = self.modules(layers)
        done = -1
        for i, layer in enumerate(layers):
            if i <= done:
                continue
            module = modules.get(i)
            if module is not None:
                self.call_module(module)
                done = module.end
                continue
            done = self.translate_layers(layers, i, i) or done
        self.flush()
        self.insert_blocks(header)
        return Translation("caffe", self.source, self.out.text(), tuple(self.out.origins), tuple(self.found))

    def translate_layers(self, layers: list[_Layer], start: int, end: int) -> int:
        """Layers start..end (BatchNorm + Scale as one); the last index used."""
        i = start
        while i <= end:
            layer = layers[i]
            if layer.type == "Input":
                i += 1
                continue
            if layer.type == "BatchNorm":
                nxt = layers[i + 1] if i + 1 < len(layers) else None
                if nxt is not None and nxt.type == "Scale" and nxt.ins == layer.outs[:1]:
                    self.batchnorm(layer, scale=nxt)
                    i += 2
                    continue
            self.layer(layer)
            i += 1
        return i - 1

    # -- repeated modules as blocks --------------------------------------------------------------

    def modules(self, layers: list[_Layer]) -> dict[int, _Body]:
        """Runs of layers whose names put them in one module (GoogLeNet's `inception_3a/1x1`, ResNet's `res2a_*`,
        `bn2a_*`) that read one value and give one: those whose structure repeats, with other channel counts,
        become one block. Start index -> module."""
        runs, i = [], 0
        while i < len(layers):
            module = _module_of(layers[i].name)
            j = i
            while module and j + 1 < len(layers) and (_module_of(layers[j + 1].name) or (None,))[0] == module[0]:
                j += 1
            if module and j - i >= 2:
                runs.append((module, i, j))
            i = j + 1
        found: list[_Body] = []
        for (key, label), i, j in runs:
            inside = {v for layer in layers[i : j + 1] for v in layer.outs}
            reads = {v for layer in layers[i : j + 1] for v in layer.ins if v not in inside}
            read_outside = {v for layer in layers[:i] + layers[j + 1 :] for v in layer.ins if v in inside}
            last = layers[j].outs[:1]
            if len(reads) != 1 or read_outside - set(last) or not last or layers[j].type in ("Input",):
                continue
            if any(layer.type not in _HANDLERS and layer.type not in ("Scale", "Split") for layer in layers[i : j + 1]):
                continue
            body = _Body(label, i, j, next(iter(reads)), last[0], layers[i].span, module=key)
            body.reads = sum(v == body.input for layer in layers[i : j + 1] for v in layer.ins)
            if self.write_body(layers, body):
                found.append(body)
        shapes: dict[str, list[_Body]] = {}
        for body in found:
            shapes.setdefault(body.shape, []).append(body)
        chosen: dict[int, _Body] = {}
        names = Names(layer_words())
        for group in sorted(shapes.values(), key=len, reverse=True):  # the commonest structure gets the plain name
            if len(group) < 2:
                continue
            base = re.sub(r"_?[0-9]+[a-z]?$", "", _local(group[0].prefix, group[0].module)).strip("_") or "module"
            name = names.make(base, "module")
            for body in group:
                body.block = name
                chosen[body.start] = body
        return chosen

    def write_body(self, layers: list[_Layer], body: _Body) -> bool:
        """The module's layers as a block body, its channel counts as parameters; False if it does not fit."""
        saved = (self.out, self.tensors, self.labels, self.version, self.chain, self.chain_blob, self.uses, self.found)
        reserved = layer_words()
        self.out, self.tensors, self.labels = Writer(), Names(reserved), Names(reserved)
        self.version, self.chain, self.chain_blob = {body.input: "in"}, None, None
        self.uses, self.found = dict(self.uses), []
        self.body = body
        try:
            saved_names = {}
            for layer in layers[body.start : body.end + 1]:
                saved_names[id(layer)] = layer.name
                layer.name = _local(layer.name, body.module) or layer.name
            try:
                self.translate_layers(layers, body.start, body.end)
                self.flush()
            finally:
                for layer in layers[body.start : body.end + 1]:
                    layer.name = saved_names[id(layer)]
            ok = not self.found and any(line.startswith("out = ") for line in self.out.lines)
            body.lines = list(self.out.lines)
        finally:
            self.out, self.tensors, self.labels, self.version, self.chain, self.chain_blob, self.uses, self.found = (
                saved
            )
            self.body = None
        body.shape = "\n".join(_PARAM.sub("#", line) for line in body.lines)
        return ok

    def call_module(self, body: _Body) -> None:
        fake = _Layer(body.prefix, "module", [], [], Message(), body.span)
        args = ", ".join(str(v) for v in body.values)
        self.uses[body.input] = self.uses.get(body.input, 0) - (body.reads - 1)  # one call reads it once
        self.apply(fake, f"{body.block}({args})", body.input, body.output)
        if body.block not in self.blocks:
            self.blocks[body.block] = body

    def insert_blocks(self, at: int) -> None:
        lines, origins = [], []
        for name, body in self.blocks.items():
            params = ", ".join(body.params)
            lines.append(f"# the `{comment_text(body.prefix)}` layers, and the modules named like them")
            lines.append(f"block {name}({params}) {{")
            for line in body.lines:
                for i, param in enumerate(body.params):
                    line = line.replace(f"\x01{i}\x01", param)
                lines.append("    " + line)
            lines.append("}")
            origins += [body.span] * (len(body.lines) + 3)
        self.out.lines[at:at] = lines
        self.out.origins[at:at] = origins

    def number_values(self, top: Message, layers: list[_Layer]) -> None:
        """Name every value a blob takes (`conv1#2` after two in-place layers) and count its readers."""
        current = {str(f.value): f"{f.value}#in" for f in top.all("input")}
        for n, layer in enumerate(layers):
            layer.ins = [current.get(b, f"{b}#missing") for b in layer.bottoms]
            for blob in layer.ins:
                self.uses[blob] = self.uses.get(blob, 0) + 1
            if layer.type in _IGNORED:
                continue
            layer.outs = [f"{t}#{n}" for t in layer.tops]
            if layer.type == "Split" and layer.ins:  # copies: the same value under other names
                layer.outs = [layer.ins[0]] * len(layer.tops)
                self.uses[layer.ins[0]] -= 1
            for t, key in zip(layer.tops, layer.outs):
                current[t] = key

    def batchnorm(self, layer: _Layer, scale: _Layer | None) -> None:
        param = layer.message.get("batch_norm_param")
        eps = param.get("eps", 1e-5) if isinstance(param, Message) else 1e-5
        affine = scale is not None and _bool((scale.message.get("scale_param") or Message()).get("bias_term"), False)
        if scale is not None and not affine:
            self.error(
                codes.FOREIGN_UNSUPPORTED,
                scale.span,
                "a Scale layer without a bias after BatchNorm: no single convdsl layer computes it",
                help="give the Scale layer `scale_param { bias_term: true }` (what batch norm's gamma and beta are)",
            )
        kwargs = {"eps": float(eps)} if float(eps) != 1e-5 else {}
        if scale is None:
            kwargs["affine"] = False
        if len(layer.bottoms) != 1:
            self.error(codes.FOREIGN_VALUE, layer.span, "BatchNorm takes one bottom")
            return
        if not layer.outs or (scale is not None and not scale.outs):
            self.error(codes.FOREIGN_VALUE, layer.span, f"layer `{comment_text(layer.name)}` has no top")
            return
        self.apply(layer, call("bn", **kwargs), layer.ins[0], (scale or layer).outs[0])

    def layer(self, layer: _Layer) -> None:
        kind = layer.type
        if kind in _IGNORED:
            return
        if kind in _DATA:
            self.error(
                codes.FOREIGN_UNSUPPORTED,
                layer.span,
                f"a {kind} layer reads training data and has no shape here",
                help="use the deploy.prototxt (an Input layer, or `input:` with `input_dim`)",
            )
            return
        if kind == "Split":  # Caffe's copies of one blob: number_values gave them the same value
            return
        handler = _HANDLERS.get(kind)
        if handler is None:
            self.error(
                codes.FOREIGN_UNSUPPORTED,
                layer.span,
                f"Caffe layer type `{comment_text(kind)}` is not one convdsl translates",
                help="convdsl reads " + ", ".join(sorted(_HANDLERS)) + ", BatchNorm (+ Scale), Input, Split",
            )
            return
        if not layer.tops:
            self.error(codes.FOREIGN_VALUE, layer.span, f"layer `{comment_text(layer.name)}` has no top")
            return
        handler(self, layer)

    def single(self, layer: _Layer, element: str | None, before: str = "") -> None:
        if element is None:
            return
        if len(layer.bottoms) != 1:
            self.error(
                codes.FOREIGN_VALUE,
                layer.span,
                f"a {layer.type} layer takes one bottom, this one has {len(layer.bottoms)}",
            )
            return
        self.apply(layer, element, layer.ins[0], layer.outs[0], before)


class _Raw(str):
    """A tensor name passed to call(): written as it is."""

    @staticmethod
    def all(names):
        return [_Raw(n) for n in names]


def _phase(msg: Message) -> str | None:
    inc = msg.get("include")
    if isinstance(inc, Message):
        phase = inc.get("phase")
        return phase.text if isinstance(phase, Word) else None
    return None


def _int(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        return -1
    return value


def _bool(value, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, Word):
        return value.text.lower() == "true"
    return bool(value)


def _axes(tr: _Translator, layer: _Layer, param: Message, name: str, default) -> object:
    """A per-axis value of a conv or pooling param: `kernel_size` (one or two), or `kernel_h`/`kernel_w`."""
    prefix = {"kernel_size": "kernel", "stride": "stride", "pad": "pad", "dilation": "dilation"}[name]
    h, w = param.get(f"{prefix}_h"), param.get(f"{prefix}_w")
    if h is not None or w is not None:
        value = (_int(h if h is not None else default), _int(w if w is not None else default))
    else:
        values = [_int(v) for v in param.values(name)]
        if not values:
            value = default
        elif len(values) == 1 or len(set(values)) == 1:
            value = values[0]
        else:
            value = tuple(values)
    flat = value if isinstance(value, tuple) else (value,)
    if value is not None and any(v < 0 for v in flat):
        tr.error(codes.FOREIGN_VALUE, layer.span, f"`{name}` of `{comment_text(layer.name)}` is not a whole number")
        return None
    if isinstance(value, tuple) and len(set(value)) == 1:
        value = value[0]
    return value


def _conv(tr: _Translator, layer: _Layer, transposed: bool = False) -> None:
    param = layer.message.get("convolution_param")
    if not isinstance(param, Message) or param.get("num_output") is None:
        tr.error(codes.FOREIGN_VALUE, layer.span, f"`{comment_text(layer.name)}` has no convolution_param num_output")
        return
    out = _int(param.get("num_output"))
    k = _axes(tr, layer, param, "kernel_size", None)
    s = _axes(tr, layer, param, "stride", 1)
    p = _axes(tr, layer, param, "pad", 0)
    d = _axes(tr, layer, param, "dilation", 1)
    if out < 1 or k is None or None in (s, p, d):
        if k is None:
            tr.error(codes.FOREIGN_VALUE, layer.span, f"`{comment_text(layer.name)}` has no kernel_size")
        return
    group = _int(param.get("group", 1))
    bias_field = param.get("bias_term")
    kwargs = {
        "s": s if s != 1 else None,
        "p": p if p != 0 else None,
        "d": d if d != 1 else None,
        "g": group if group != 1 else None,
    }
    if bias_field is not None:
        kwargs["bias"] = _bool(bias_field, True)
    if tr.body is not None:  # in a module's block: the channel count is the block's parameter
        param = "c_" + (re.sub(r"[^A-Za-z0-9_]+", "_", layer.name).strip("_")[:40] or "conv")
        while param in tr.body.params:
            param += "_"
        tr.body.params.append(param)
        tr.body.values.append(out)
        out = _Raw(f"\x01{len(tr.body.params) - 1}\x01")
    tr.single(layer, call("conv_transpose" if transposed else "conv", out, k, **kwargs))


def _pool(tr: _Translator, layer: _Layer) -> None:
    param = layer.message.get("pooling_param")
    param = param if isinstance(param, Message) else Message()
    method = param.get("pool", Word("MAX"))
    method = method.text if isinstance(method, Word) else str(method)
    if method not in ("MAX", "AVE"):
        tr.error(codes.FOREIGN_UNSUPPORTED, layer.span, f"pooling method `{comment_text(method)}` has no convdsl kind")
        return
    if _bool(param.get("global_pooling"), False):
        tr.single(layer, "global_maxpool" if method == "MAX" else "global_avgpool")
        return
    k = _axes(tr, layer, param, "kernel_size", None)
    s = _axes(tr, layer, param, "stride", 1)  # Caffe's stride defaults to 1, not to the kernel
    p = _axes(tr, layer, param, "pad", 0)
    if k is None:
        if s is not None:
            tr.error(codes.FOREIGN_VALUE, layer.span, f"`{comment_text(layer.name)}` has no kernel_size")
        return
    if s is None or p is None:
        return
    mode = param.get("round_mode")
    kwargs = {"s": s, "p": p if p != 0 else None}
    if isinstance(mode, Word) and mode.text == "FLOOR":
        kwargs["ceil"] = False
    tr.single(layer, call("maxpool" if method == "MAX" else "avgpool", k, **kwargs))


def _inner_product(tr: _Translator, layer: _Layer) -> None:
    param = layer.message.get("inner_product_param")
    if not isinstance(param, Message) or _int(param.get("num_output")) < 1:
        tr.error(codes.FOREIGN_VALUE, layer.span, f"`{comment_text(layer.name)}` has no inner_product_param num_output")
        return
    axis = _int(param.get("axis", 1))
    if axis != 1:
        tr.error(codes.FOREIGN_UNSUPPORTED, layer.span, "InnerProduct with an axis other than 1")
        return
    kwargs = {}
    if param.get("bias_term") is not None and not _bool(param.get("bias_term"), True):
        kwargs["bias"] = False
    # Caffe flattens everything after the batch; a flatten of a vector changes nothing
    tr.single(layer, call("linear", _int(param.get("num_output")), **kwargs), before="flatten -> ")


def _relu(tr: _Translator, layer: _Layer) -> None:
    param = layer.message.get("relu_param")
    slope = param.get("negative_slope", 0) if isinstance(param, Message) else 0
    tr.single(layer, call("leaky_relu", float(slope)) if slope else "relu")


def _lrn(tr: _Translator, layer: _Layer) -> None:
    param = layer.message.get("lrn_param")
    param = param if isinstance(param, Message) else Message()
    region = param.get("norm_region")
    if isinstance(region, Word) and region.text == "WITHIN_CHANNEL":
        tr.error(codes.FOREIGN_UNSUPPORTED, layer.span, "LRN within channels has no PyTorch or convdsl kind")
        return
    size = _int(param.get("local_size", 5))
    kwargs = {
        "alpha": float(param.get("alpha", 1.0)),
        "beta": float(param.get("beta", 0.75)),
        "k": float(param.get("k", 1.0)) if float(param.get("k", 1.0)) != 1.0 else None,
    }
    tr.single(layer, call("lrn", size, **kwargs))


def _concat(tr: _Translator, layer: _Layer) -> None:
    param = layer.message.get("concat_param")
    axis = 1
    if isinstance(param, Message):
        axis = _int(param.get("axis", param.get("concat_dim", 1)))
    tr.merge(layer, "concat", layer.outs[0], dim=axis if axis != 1 else None)


def _eltwise(tr: _Translator, layer: _Layer) -> None:
    param = layer.message.get("eltwise_param")
    param = param if isinstance(param, Message) else Message()
    op = param.get("operation", Word("SUM"))
    op = op.text if isinstance(op, Word) else str(op)
    coeffs = [float(c) for c in param.values("coeff")]
    if op not in ("SUM", "PROD") or any(c != 1 for c in coeffs):
        tr.error(
            codes.FOREIGN_UNSUPPORTED,
            layer.span,
            f"Eltwise {comment_text(op)}" + (" with coefficients" if coeffs else "") + " has no convdsl kind",
            help="convdsl translates Eltwise SUM (add) and PROD (mul)",
        )
        return
    if len(layer.bottoms) < 2:
        tr.error(codes.FOREIGN_VALUE, layer.span, "Eltwise needs at least two bottoms")
        return
    tr.merge(layer, "add" if op == "SUM" else "mul", layer.outs[0])


def _dropout(tr: _Translator, layer: _Layer) -> None:
    param = layer.message.get("dropout_param")
    ratio = float(param.get("dropout_ratio", 0.5)) if isinstance(param, Message) else 0.5
    tr.single(layer, call("dropout", ratio))


def _softmax(tr: _Translator, layer: _Layer) -> None:
    param = layer.message.get("softmax_param")
    axis = _int(param.get("axis", 1)) if isinstance(param, Message) else 1
    tr.single(layer, call("softmax", dim=axis) if axis != 1 else "softmax")


def _simple(kind: str):
    return lambda tr, layer: tr.single(layer, kind)


def _lone_batchnorm(tr: _Translator, layer: _Layer) -> None:
    tr.batchnorm(layer, scale=None)


_HANDLERS = {
    "Convolution": _conv,
    "Deconvolution": lambda tr, layer: _conv(tr, layer, transposed=True),
    "Pooling": _pool,
    "InnerProduct": _inner_product,
    "ReLU": _relu,
    "Sigmoid": _simple("sigmoid"),
    "TanH": _simple("tanh"),
    "ELU": _simple("elu"),
    "LRN": _lrn,
    "Concat": _concat,
    "Eltwise": _eltwise,
    "Dropout": _dropout,
    "Softmax": _softmax,
    "Flatten": _simple("flatten"),
    "BatchNorm": _lone_batchnorm,
}


def translate(source: Source, *, options: dict) -> Translation:
    """A Caffe prototxt as .cdsl text (options: none are used)."""
    return _Translator(source).run()
