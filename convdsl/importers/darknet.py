"""Darknet .cfg (pjreddie's and AlexeyAB's) to .cdsl, under `set rounding = darknet`.

Sections after `[net]` are layers numbered from 0, as darknet numbers them; each becomes a layer (or a
block call) labelled with its kind and number (`conv13`, `route17`), so a route's `layers = -1, 8` reads
against the labels. A `[convolutional]` with batch_normalize is a block (convolution without bias, batch
norm, activation: darknet's weights, scales and biases are PyTorch's weight, gamma and beta). `[maxpool]`
follows darknet's padding rule through the rounding setting; a `[route]` to one layer is that layer's
tensor, to several a concat, with `groups`/`group_id` a slice of its channels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import diagnostics as codes
from ..diagnostics import Diagnostic
from ..source import Source, Span
from .chains import Step as _Layer, write_chains
from .translation import Translation
from .writer import Names, Writer, call, comment_text

MAX_SECTIONS = 20_000  # yolov4 has 162 layers; a larger file is not a network description
MAX_OPTIONS = 200_000

_ACTIVATIONS = {
    "linear": None,
    "leaky": "leaky_relu(0.1)",
    "relu": "relu",
    "logistic": "sigmoid",
    "mish": "mish",
    "swish": "silu",
    "tanh": "tanh",
    "relu6": "relu6",
    "elu": "elu",
    "hardswish": "hardswish",
    "gelu": "gelu",
}
_ACT_WORD = {"leaky_relu(0.1)": "leaky", "sigmoid": "logistic", "silu": "swish"}
_IGNORED = {"cost"}


@dataclass
class _Option:
    value: str
    span: Span


@dataclass
class _Section:
    name: str
    span: Span
    options: dict[str, _Option] = field(default_factory=dict)


def parse_cfg(source: Source, found: list[Diagnostic]) -> list[_Section]:
    """Sections and their options, each with its span; `#` and `;` start comments."""
    sections: list[_Section] = []
    options = 0
    for number, line in enumerate(source.text.split("\n"), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        col = len(line) - len(line.lstrip()) + 1
        if stripped.startswith("["):
            match = re.fullmatch(r"\[\s*([A-Za-z_0-9]+)\s*\]", stripped.split("#")[0].strip())
            span = Span(source.path, number, col, number, col + len(stripped))
            if match is None:
                found.append(Diagnostic(codes.FOREIGN_SYNTAX, span, "a section header is `[name]`"))
                return sections
            if len(sections) >= MAX_SECTIONS:
                found.append(
                    Diagnostic(codes.LIMIT_EXCEEDED, span, f"more than {MAX_SECTIONS:,} sections: the limit of a .cfg")
                )
                return sections
            sections.append(_Section(match.group(1).lower(), span))
            continue
        key, eq, value = stripped.partition("=")
        span = Span(source.path, number, col, number, col + len(stripped))
        if not eq or not key.strip():
            found.append(
                Diagnostic(
                    codes.FOREIGN_SYNTAX, span, "expected `key=value` or a `[section]`", help="comment it out with #"
                )
            )
            continue
        if not sections:
            found.append(Diagnostic(codes.FOREIGN_SYNTAX, span, "an option before the first [section]"))
            continue
        options += 1
        if options > MAX_OPTIONS:
            found.append(Diagnostic(codes.LIMIT_EXCEEDED, span, f"more than {MAX_OPTIONS:,} options in a .cfg"))
            return sections
        value = value.split("#")[0].strip()
        sections[-1].options[key.strip().lower()] = _Option(value, span)
    return sections


class _Translator:
    def __init__(self, source: Source):
        self.source = source
        self.found: list[Diagnostic] = []
        self.out = Writer()
        self.blocks: dict[str, str] = {}  # block name -> its definition line
        self.uses_groups = self.uses_dilation = False

    def error(self, code, span, message, help=None):
        self.found.append(Diagnostic(code, span, message, help=help))

    def option(self, sec: _Section, key: str, default=None, *, kind=int):
        opt = sec.options.get(key)
        if opt is None:
            return default
        try:
            if kind is int:
                value = int(opt.value)
                if abs(value) > 10**9:
                    raise ValueError
                return value
            if kind is float:
                return float(opt.value)
            return opt.value
        except ValueError:
            self.error(
                codes.FOREIGN_VALUE,
                opt.span,
                f"`{key}` must be {'a whole number' if kind is int else 'a number'}, got `{comment_text(opt.value)}`",
            )
            return None

    def positive(self, sec: _Section, key: str, default):
        value = self.option(sec, key, default)
        if value is not None and value < 1:
            self.error(codes.FOREIGN_VALUE, sec.options[key].span, f"`{key}` must be at least 1, got {value}")
            return None
        return value

    def reference(self, sec: _Section, key: str, raw: str, index: int) -> int | None:
        """A layer number as darknet reads it: negative counts back from this layer, else absolute."""
        span = sec.options[key].span
        try:
            value = int(raw)
        except ValueError:
            self.error(codes.FOREIGN_VALUE, span, f"`{key}` lists layer numbers, not `{comment_text(raw)}`")
            return None
        target = index + value if value < 0 else value
        if not 0 <= target < index:
            where = f"layer {target}" if value >= 0 else f"{value} from layer {index} (layer {target})"
            self.error(
                codes.FOREIGN_REFERENCE,
                span,
                f"`{key}` refers to {where}, which is not a layer before this one",
                help=f"layers are numbered from 0 after [net]; this is layer {index}, so use -1 to -{index}"
                if index
                else "the first layer cannot route: it reads the input",
            )
            return None
        return target

    def activation(self, sec: _Section, default: str = "linear") -> tuple[bool, str | None]:
        word = (self.option(sec, "activation", default, kind=str) or default).lower()
        if word not in _ACTIVATIONS:
            self.error(
                codes.FOREIGN_UNSUPPORTED,
                sec.options["activation"].span,
                f"activation `{comment_text(word)}` has no convdsl kind",
                help="convdsl translates " + ", ".join(sorted(_ACTIVATIONS)),
            )
            return False, None
        return True, _ACTIVATIONS[word]

    # -- layers ------------------------------------------------------------------------------------

    def convolutional(self, sec: _Section, i: int, label: str) -> _Layer | None:
        filters = self.positive(sec, "filters", None)
        if filters is None and "filters" not in sec.options:
            self.error(codes.FOREIGN_VALUE, sec.span, "[convolutional] needs `filters`")
        size = self.positive(sec, "size", 1)
        stride = self.positive(sec, "stride", 1)
        sx, sy = self.positive(sec, "stride_x", stride), self.positive(sec, "stride_y", stride)
        pad = self.option(sec, "pad", 0)
        padding = self.option(sec, "padding", 0)
        groups = self.positive(sec, "groups", 1)
        dilation = self.positive(sec, "dilation", 1)
        bn = self.option(sec, "batch_normalize", 0)
        ok, act = self.activation(sec)
        if None in (filters, size, sx, sy, pad, padding, groups, dilation, bn) or not ok:
            return None
        if pad:  # darknet: `if(pad) padding = size/2;`
            padding = size // 2
        s = sx if sx == sy else (sy, sx)
        self.uses_groups |= groups != 1
        self.uses_dilation |= dilation != 1
        if not bn and act is None:
            element = call(
                "conv",
                filters,
                size,
                s=s if s != 1 else None,
                p=padding or None,
                g=groups if groups != 1 else None,
                d=dilation if dilation != 1 else None,
            )
        else:
            name = "conv" + ("_bn" if bn else "") + (f"_{_ACT_WORD.get(act, act)}" if act else "")
            self.blocks[name] = self.block_definition(name, bool(bn), act)
            kwargs = {
                "s": s if s != 1 else None,
                "p": padding if padding != size // 2 else None,
                "g": groups if groups != 1 else None,
                "d": dilation if dilation != 1 else None,
            }
            element = call(name, filters, size, **kwargs)
        return _Layer(i, label, sec.span, [i - 1], element=element)

    def block_definition(self, name: str, bn: bool, act: str | None) -> str:
        extra = (", g=1" if self.uses_groups else "") + (", d=1" if self.uses_dilation else "")
        conv_extra = (", g=g" if self.uses_groups else "") + (", d=d" if self.uses_dilation else "")
        body = f"conv: conv(c, k, s=s, p=p{conv_extra}{', bias=false' if bn else ''})"
        if bn:
            body += " -> bn: bn"
        if act:
            body += f" -> act: {act}"
        return f"block {name}(c, k, s=1, p=k // 2{extra}) = {body}"

    def maxpool(self, sec: _Section, i: int, label: str) -> _Layer | None:
        stride = self.positive(sec, "stride", 1)
        size = self.positive(sec, "size", stride)  # parse_maxpool: the size defaults to the stride
        sx, sy = self.positive(sec, "stride_x", stride), self.positive(sec, "stride_y", stride)
        if size is None or None in (sx, sy):
            return None
        padding = self.option(sec, "padding", size - 1)
        if padding is None:
            return None
        if self.option(sec, "maxpool_depth", 0):
            self.error(
                codes.FOREIGN_UNSUPPORTED, sec.span, "a maxpool across channels (maxpool_depth) has no convdsl kind"
            )
            return None
        s = sx if sx == sy else (sy, sx)
        if padding == size - 1:  # darknet's default: what `set rounding = darknet` gives an unpadded maxpool
            p = None
        elif padding % 2 == 0:
            p = padding // 2 if padding else 0
        else:
            self.error(
                codes.FOREIGN_UNSUPPORTED,
                sec.options["padding"].span,
                f"an odd total padding of {padding} other than size - 1 cannot be written as convdsl padding",
                help=f"use padding={size - 1} (darknet's default) or an even padding",
            )
            return None
        return _Layer(i, label, sec.span, [i - 1], element=call("maxpool", size, s=s, p=p))

    def route(self, sec: _Section, i: int, label: str) -> _Layer | None:
        if "layers" not in sec.options:
            self.error(codes.FOREIGN_VALUE, sec.span, "[route] needs `layers`")
            return None
        raw = [v for v in sec.options["layers"].value.split(",") if v.strip()]
        targets = [self.reference(sec, "layers", v.strip(), i) for v in raw[:1000]]
        groups = self.positive(sec, "groups", 1)
        group_id = self.option(sec, "group_id", 0)
        if None in targets or not targets or groups is None or group_id is None:
            if not targets:
                self.error(codes.FOREIGN_VALUE, sec.options["layers"].span, "`layers` lists no layer")
            return None
        if not 0 <= group_id < groups:
            self.error(
                codes.FOREIGN_VALUE,
                sec.options["group_id"].span,
                f"group_id {group_id} is not one of the {groups} groups (0 to {groups - 1})",
            )
            return None
        if groups != 1:
            if len(targets) != 1:
                self.error(codes.FOREIGN_UNSUPPORTED, sec.span, "a route of several layers with groups")
                return None
            # darknet copies channel slice group_id of `groups` equal slices
            element = f"({call('unflatten', 1, (groups, -1))} -> {call('select', 1, group_id)})"
            return _Layer(i, label, sec.span, targets, element=element)
        if len(targets) == 1:
            return _Layer(i, label, sec.span, targets, alias=targets[0])
        return _Layer(i, label, sec.span, targets, merge="concat")

    def shortcut(self, sec: _Section, i: int, label: str) -> _Layer | None:
        if "from" not in sec.options:
            self.error(codes.FOREIGN_VALUE, sec.span, "[shortcut] needs `from`")
            return None
        targets = [self.reference(sec, "from", v.strip(), i) for v in sec.options["from"].value.split(",")[:1000]]
        ok, act = self.activation(sec)
        if None in targets or not ok:
            return None
        layer = _Layer(i, label, sec.span, [i - 1, *targets], merge="add")
        layer.element = act
        return layer

    def scale_channels(self, sec: _Section, i: int, label: str) -> _Layer | None:
        if "from" not in sec.options:
            self.error(codes.FOREIGN_VALUE, sec.span, f"[{sec.name}] needs `from`")
            return None
        target = self.reference(sec, "from", sec.options["from"].value.strip(), i)
        ok, act = self.activation(sec)
        if target is None or not ok:
            return None
        layer = _Layer(i, label, sec.span, [target, i - 1], merge="mul")
        layer.element = act
        return layer

    def connected(self, sec: _Section, i: int, label: str) -> _Layer | None:
        out = self.positive(sec, "output", None)
        if out is None and "output" not in sec.options:
            self.error(codes.FOREIGN_VALUE, sec.span, "[connected] needs `output`")
        bn = self.option(sec, "batch_normalize", 0)
        ok, act = self.activation(sec)
        if out is None or bn is None or not ok:
            return None
        element = f"(flatten -> {call('linear', out, bias=False if bn else None)}"
        element += (" -> bn" if bn else "") + (f" -> {act}" if act else "") + ")"
        return _Layer(i, label, sec.span, [i - 1], element=element)

    def simple(self, sec: _Section, i: int, label: str) -> _Layer | None:
        kind = sec.name
        if kind == "upsample":
            stride = self.positive(sec, "stride", 2)
            return None if stride is None else _Layer(i, label, sec.span, [i - 1], element=call("upsample", stride))
        if kind == "dropout":
            p = self.option(sec, "probability", 0.5, kind=float)
            if p is None:
                return None
            return _Layer(i, label, sec.span, [i - 1], element=call("dropout", float(p)))
        if kind == "avgpool":  # darknet's average pooling is global
            return _Layer(i, label, sec.span, [i - 1], element="global_avgpool")
        if kind == "softmax":
            return _Layer(i, label, sec.span, [i - 1], element="softmax")
        if kind == "batchnorm":
            return _Layer(i, label, sec.span, [i - 1], element="bn")
        if kind == "activation":
            ok, act = self.activation(sec)
            return _Layer(i, label, sec.span, [i - 1], element=act or "identity") if ok else None
        if kind == "reorg":  # yolov2's space-to-depth: the same shape (its channel order differs)
            stride = self.positive(sec, "stride", 2)
            return (
                None if stride is None else _Layer(i, label, sec.span, [i - 1], element=call("pixel_unshuffle", stride))
            )
        if kind in ("yolo", "region", "detection", "gaussian_yolo"):
            return _Layer(i, label, sec.span, [i - 1], element="identity", output=True)
        return None

    # -- the translation ---------------------------------------------------------------------------

    def run(self) -> Translation:
        sections = parse_cfg(self.source, self.found)
        if any(d.code is codes.FOREIGN_SYNTAX or d.code is codes.LIMIT_EXCEEDED for d in self.found):
            return Translation("darknet", self.source, "", (), tuple(self.found))
        if not sections or sections[0].name not in ("net", "network"):
            span = sections[0].span if sections else Span(self.source.path, 1, 1, 1, 1)
            self.error(codes.FOREIGN_SYNTAX, span, "a darknet .cfg starts with a [net] section")
            return Translation("darknet", self.source, "", (), tuple(self.found))
        net, body = sections[0], sections[1:]
        width, height = self.positive(net, "width", None), self.positive(net, "height", None)
        channels = self.positive(net, "channels", 3)
        for key in ("width", "height"):
            if key not in net.options:  # darknet reads 0 and fails; a size is needed to check anything
                self.error(
                    codes.FOREIGN_VALUE, net.span, f"[net] gives no `{key}`", help=f"add `{key}=416` (or the size used)"
                )
        layers: list[_Layer] = []
        handlers = {
            "convolutional": self.convolutional,
            "conv": self.convolutional,
            "maxpool": self.maxpool,
            "max": self.maxpool,
            "route": self.route,
            "shortcut": self.shortcut,
            "scale_channels": self.scale_channels,
            "sam": self.scale_channels,
            "connected": self.connected,
        }
        words = {"convolutional": "conv", "connected": "fc", "maxpool": "maxpool", "max": "maxpool"}
        broken = False
        for i, sec in enumerate(body):
            label = f"{words.get(sec.name, sec.name)}{i}"
            if sec.name in _IGNORED:
                layers.append(_Layer(i, label, sec.span, [i - 1], alias=i - 1))
                continue
            handler = handlers.get(sec.name, self.simple)
            layer = handler(sec, i, label)
            if layer is None:
                if handler == self.simple and not any(d.span and d.span.line >= sec.span.line for d in self.found):
                    self.error(
                        codes.FOREIGN_UNSUPPORTED,
                        sec.span,
                        f"darknet layer [{comment_text(sec.name)}] is not one convdsl translates",
                        help="convdsl translates [convolutional], [maxpool], [route], [shortcut], [upsample], "
                        "[yolo], [region], [connected], [avgpool], [dropout], [softmax], [batchnorm], "
                        "[scale_channels], [sam], [reorg], [cost]",
                    )
                broken = True
                layer = _Layer(i, label, sec.span, [i - 1], alias=i - 1)  # keeps later numbers right
            layers.append(layer)
        if None in (width, height, channels):
            return Translation("darknet", self.source, "", (), tuple(self.found))
        if broken:
            return Translation("darknet", self.source, "", (), tuple(self.found))
        self.write(net, layers, (channels, height, width))
        return Translation("darknet", self.source, self.out.text(), tuple(self.out.origins), tuple(self.found))

    def write(self, net: _Section, layers: list[_Layer], shape) -> None:
        origin = net.span
        name = Names().make(Path(self.source.path).stem, "net")
        self.out.comment(f"Translated by `convdsl import` from {Path(self.source.path).name} (Darknet cfg)", origin)
        self.out.line(f"network {name}", origin)
        self.out.line("set rounding = darknet", origin)
        self.out.line(f"input image: {' x '.join(map(str, shape))}", origin)
        for definition in sorted(self.blocks.values()):
            # a block made before groups or dilation were seen lacks their parameters: remade here
            name = definition.split("(")[0].removeprefix("block ")
            bn = "bn: bn" in definition
            act = definition.split("act: ")[1] if "act: " in definition else None
            self.out.line(self.block_definition(name, bn, act), origin)

        write_chains(self.out, layers, "image", origin)


def translate(source: Source, *, options: dict) -> Translation:
    """A Darknet .cfg as .cdsl text (options: none are used)."""
    return _Translator(source).run()
