"""ultralytics model YAMLs (YOLOv5u, YOLOv8, YOLO11) to .cdsl, with ultralytics' compound scaling.

Each row `[from, repeats, module, args]` becomes a layer labelled with its number (`m4`, as ultralytics'
`model.4`); its module is a block written once per file with ultralytics' internals (ultralytics/nn/
modules: Conv, Bottleneck, C2f, C3, C3k2/C3k, SPPF, C2PSA with PSABlock and its conv-based Attention,
Detect with its DFL). The scaling is parse_model's (ultralytics/nn/tasks.py): repeats
max(round(n * depth), 1) when n > 1; channels make_divisible(min(c, max_channels) * width, 8); the scale
from the file name as guess_model_scale reads it (yolov8n.yaml is n), from `--scale`, else the first.
The numbers are computed here; the blocks take them as arguments, so the text reads as the YAML does.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from .. import diagnostics as codes
from ..diagnostics import Diagnostic
from ..source import Source, Span
from .chains import Step, ref, write_chains
from .translation import Translation
from .writer import Names, Writer, call, comment_text
from .yamlread import Node, YamlError, read_yaml

MAX_ROWS = 1000  # ultralytics' largest files have about 30 rows
MAX_REPEATS = 1000  # after depth scaling: a module repeated more is not a model
MAX_CHANNELS = 1 << 20
MAX_LEVELS = 8  # Detect's inputs

_ACTIVATIONS = {
    "nn.SiLU()": "silu",
    "torch.nn.SiLU()": "silu",
    "nn.ReLU()": "relu",
    "torch.nn.ReLU()": "relu",
    "nn.ReLU6()": "relu6",
    "nn.Hardswish()": "hardswish",
    "nn.GELU()": "gelu",
    "nn.Mish()": "mish",
    "nn.Sigmoid()": "sigmoid",
    "nn.Tanh()": "tanh",
    "nn.LeakyReLU(0.1)": "leaky_relu(0.1)",
    "nn.LeakyReLU()": "leaky_relu",
}


def make_divisible(x: float, divisor: int = 8) -> int:
    """ultralytics.utils.ops.make_divisible: the nearest multiple of divisor at or above x."""
    return math.ceil(x / divisor) * divisor


def guess_scale(path: str) -> str:
    """ultralytics.nn.tasks.guess_model_scale: the scale letter in the file's name, or ""."""
    match = re.search(r"yolo(e-)?[v]?\d+([nslmx])", Path(path).stem)
    return match.group(2) if match else ""


class _Skip(Exception):
    """A row that cannot be translated (its diagnostic is recorded)."""


@dataclass
class _Row:
    index: int
    origin: list[int] | int
    repeats: int
    module: str
    args: list
    span: Span
    nodes: list  # the args' Nodes, for spans


class _Translator:
    def __init__(self, source: Source, options: dict):
        self.source = source
        self.options = options
        self.found: list[Diagnostic] = []
        self.blocks: dict[str, str] = {}  # name -> definition text (several lines)
        self.act = "silu"

    def error(self, code, span, message, help=None):
        self.found.append(Diagnostic(code, span, message, help=help))

    # -- reading -------------------------------------------------------------------------------------

    def number(self, node: Node | None, what: str, *, positive=False, whole=True, default=None):
        if node is None:
            return default
        value = node.value
        ok = isinstance(value, int) and not isinstance(value, bool) if whole else isinstance(value, (int, float))
        ok = ok and not isinstance(value, bool) and math.isfinite(value)
        if not ok or (positive and value <= 0) or abs(value) > 1e9:
            kind = "a whole number" if whole else "a number"
            self.error(
                codes.FOREIGN_VALUE,
                node.span,
                f"{what} must be {kind}{' above 0' if positive else ''} and at most 1,000,000,000, "
                f"got `{comment_text(_text(node))}`",
            )
            raise _Skip
        return value

    def scaling(self, top: Node) -> tuple[str, float, float, float]:
        scales = top.get("scales")
        scale = self.options.get("scale") or guess_scale(self.source.path)
        if scales is not None and scales.mapping and scales.value:
            if not scale:
                scale = next(iter(scales.value))
            entry = scales.value.get(scale)
            if entry is None:
                self.error(
                    codes.FOREIGN_VALUE,
                    scales.span,
                    f"the file has no scale `{comment_text(scale)}`",
                    help="its scales are " + ", ".join(map(str, scales.value)),
                )
                raise _Skip
            if not entry.sequence or len(entry.value) != 3:
                self.error(codes.FOREIGN_VALUE, entry.span, "a scale is [depth, width, max_channels]")
                raise _Skip
            depth, width, most = (self.number(n, "a scale", positive=True, whole=False) for n in entry.value)
            return scale, depth, width, most
        if self.options.get("scale"):
            self.error(codes.FOREIGN_VALUE, top.span, f"--scale {comment_text(scale)}: the file has no `scales`")
            raise _Skip
        depth = self.number(top.get("depth_multiple"), "depth_multiple", positive=True, whole=False, default=1.0)
        width = self.number(top.get("width_multiple"), "width_multiple", positive=True, whole=False, default=1.0)
        return "", depth, width, math.inf

    def rows(self, top: Node) -> list[_Row]:
        rows: list[_Row] = []
        for part in ("backbone", "head"):
            section = top.get(part)
            if section is None or not section.sequence:
                self.error(
                    codes.FOREIGN_VALUE,
                    section.span if section is not None else top.span,
                    f"`{part}` must be a list of [from, repeats, module, args] rows",
                )
                raise _Skip
            for node in section.value:
                if len(rows) >= MAX_ROWS:
                    self.error(codes.LIMIT_EXCEEDED, node.span, f"more than {MAX_ROWS:,} rows")
                    raise _Skip
                try:
                    rows.append(self.row(node, len(rows)))
                except _Skip:  # said why; the other rows are still translated, for their own mistakes
                    rows.append(_Row(len(rows), -1, 1, "", [], node.span, []))
        return rows

    def row(self, node: Node, index: int) -> _Row:
        if not node.sequence or len(node.value) != 4:
            self.error(codes.FOREIGN_VALUE, node.span, "a row is [from, repeats, module, args]")
            raise _Skip
        frm, rep, mod, args = node.value
        if frm.sequence:
            origin = [self.number(n, "`from`") for n in frm.value] if frm.value else None
        else:
            origin = self.number(frm, "`from`")
        if origin is None:
            self.error(codes.FOREIGN_VALUE, frm.span, "`from` lists no layer")
            raise _Skip
        repeats = self.number(rep, "repeats", positive=True)
        if not isinstance(mod.value, str) or mod.sequence or mod.mapping:
            self.error(codes.FOREIGN_VALUE, mod.span, "the module must be a name such as Conv or C2f")
            raise _Skip
        if not args.sequence:
            self.error(codes.FOREIGN_VALUE, args.span, "the module's arguments must be a list")
            raise _Skip
        return _Row(index, origin, repeats, mod.value, [_plain(a) for a in args.value], node.span, list(args.value))

    # -- translating -------------------------------------------------------------------------------

    def run(self) -> Translation:
        try:
            top = read_yaml(self.source)
        except YamlError as err:
            return Translation("ultralytics", self.source, "", (), (err.diagnostic,))
        if not top.mapping:
            self.error(codes.FOREIGN_VALUE, top.span, "an ultralytics model YAML is a mapping (nc, backbone, head)")
            return self.result("")
        try:
            scale, depth, width, most = self.scaling(top)
            nc = self.number(top.get("nc"), "nc", positive=True, default=80)
            reg_max = self.number(top.get("reg_max"), "reg_max", positive=True, default=16)
            act = top.get("activation")
            if act is not None:
                self.act = _ACTIVATIONS.get(str(act.value).replace(" ", ""))
                if self.act is None:
                    self.error(
                        codes.FOREIGN_UNSUPPORTED,
                        act.span,
                        f"activation `{comment_text(act.value)}` is not one convdsl translates",
                        help="convdsl translates " + ", ".join(_ACTIVATIONS),
                    )
                    raise _Skip
            end2end = top.get("end2end")
            if end2end is not None and end2end.value is True:
                self.error(
                    codes.FOREIGN_UNSUPPORTED,
                    end2end.span,
                    "end-to-end Detect heads (one-to-one copies) are not translated",
                )
                raise _Skip
            rows = self.rows(top)
        except _Skip:
            return self.result("")
        self.nc, self.reg_max, self.scale = nc, reg_max, scale
        self.depth, self.width, self.most = depth, width, most
        channels = top.get("ch")
        ch_in = self.number(channels, "ch", positive=True, default=3) if channels is not None else 3
        steps, ch = [], []
        legacy = not any(r.module in ("C3k2", "A2C2f", "C2fCIB") for r in rows)
        self.legacy = legacy
        ok = True
        for row in rows:
            try:
                step, c2 = self.translate_row(row, ch, ch_in)
            except _Skip:
                ok = False
                step, c2 = Step(row.index, f"m{row.index}", row.span, [row.index - 1], alias=row.index - 1), None
            if row.index == 0:
                ch = []
            ch.append(c2)
            steps.append(step)
        if not ok:
            return self.result("")
        out = Writer()
        name = Path(self.source.path).stem
        named = re.search(r"yolo(e-)?[v]?\d+([nslmx])", name)
        if scale and named:  # the scale built, where the file's name has one (yolov8n.yaml --scale s: yolov8s)
            name = name[: named.start(2)] + scale + name[named.end(2) :]
        elif scale:  # yolov8.yaml at n: yolov8n, as ultralytics names it
            name = re.sub(r"(\d+)(.*)$", rf"\g<1>{scale}\2", name, count=1) if re.search(r"\d", name) else name
        first = Span(self.source.path, 1, 1, 1, 1)
        out.comment(f"Translated by `convdsl import` from {Path(self.source.path).name} (ultralytics YAML)", first)
        if scale:
            out.comment(f"scale {scale}: depth {depth:g}, width {width:g}, max_channels {most:g}", first)
        out.line(f"network {Names().make(name, 'yolo')}", first)
        size = 224 if any(r.module == "Classify" for r in rows) else 640  # ultralytics' default imgsz per task
        out.line(f"input images: {ch_in} x {size} x {size}", first)
        for definition in self.blocks.values():
            for line in definition.split("\n"):
                out.line(line, first)
        write_chains(out, steps, "images", first)
        return self.result(out.text(), out.origins)

    def result(self, text: str, origins=()) -> Translation:
        return Translation("ultralytics", self.source, text, tuple(origins), tuple(self.found))

    def reference(self, row: _Row, value: int, ch: list) -> int:
        target = row.index + value if value < 0 else value
        if not 0 <= target < row.index and not (row.index == 0 and value == -1):
            self.error(
                codes.FOREIGN_REFERENCE,
                row.span,
                f"`from` {value} refers to layer {target}, which is not a row before this one (row {row.index})",
                help=f"rows are numbered from 0 across backbone and head; use -1 to -{row.index} or 0 to "
                f"{row.index - 1}"
                if row.index
                else "the first row reads the input: use -1",
            )
            raise _Skip
        if target >= 0 and ch[target] is None:
            raise _Skip  # an earlier row that failed: its diagnostic says why
        return target

    def channels(self, c: int, row: _Row) -> int:
        """parse_model's width scaling of a module's output channels."""
        scaled = min(c, self.most) * self.width
        if not scaled <= MAX_CHANNELS:
            self.error(
                codes.LIMIT_EXCEEDED,
                row.span,
                f"{c} channels at width {self.width:g} make {scaled:,.0f}, more than {MAX_CHANNELS:,}",
                help="check the scale's width and max_channels",
            )
            raise _Skip
        return make_divisible(scaled, 8)

    def arg(self, row: _Row, i: int, default=None, *, kind=None, what=""):
        if i >= len(row.args):
            return default
        value = row.args[i]
        if value == "nc":
            value = self.nc
        elif value == "None" or value is None:
            value = None
        if kind is int and (not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_CHANNELS):
            self.error(
                codes.FOREIGN_VALUE,
                row.nodes[i].span,
                f"{what or 'this argument'} of {comment_text(row.module)} must be a whole number from 0 to "
                f"{MAX_CHANNELS:,}, got `{comment_text(_text(row.nodes[i]))}`",
            )
            raise _Skip
        if kind is bool and not isinstance(value, bool):
            self.error(
                codes.FOREIGN_VALUE,
                row.nodes[i].span,
                f"{what or 'this argument'} of {comment_text(row.module)} must be True or False",
            )
            raise _Skip
        if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 64):
            self.error(codes.FOREIGN_VALUE, row.nodes[i].span, f"{what or 'this argument'} must be a number above 0")
            raise _Skip
        return value

    def translate_row(self, row: _Row, ch: list, ch_in: int) -> tuple[Step, int]:
        if not row.module:  # a row that could not be read: its diagnostic is recorded
            raise _Skip
        label = f"m{row.index}"
        module = row.module.removeprefix("torch.").removeprefix("ultralytics.nn.modules.")
        handler = _MODULES.get(module)
        if handler is None:
            self.error(
                codes.FOREIGN_UNSUPPORTED,
                row.span,
                f"module `{comment_text(row.module)}` is not one convdsl translates",
                help="convdsl translates " + ", ".join(sorted(_MODULES)),
            )
            raise _Skip
        chans = ch if row.index else [ch_in]
        origins = row.origin if isinstance(row.origin, list) else [row.origin]
        targets = [self.reference(row, v, chans) if row.index else -1 for v in origins]
        c1s = [chans[t] if row.index else ch_in for t in targets]
        n = max(round(row.repeats * self.depth), 1) if row.repeats > 1 else row.repeats
        if n > MAX_REPEATS:
            self.error(codes.LIMIT_EXCEEDED, row.span, f"{n:,} repeats after depth scaling: more than {MAX_REPEATS:,}")
            raise _Skip
        if module not in ("Concat", "Detect") and len(targets) != 1:
            self.error(codes.FOREIGN_VALUE, row.span, f"{module} reads one layer; `from` lists {len(targets)}")
            raise _Skip
        return handler(self, row, label, targets, c1s, n)

    # -- blocks ----------------------------------------------------------------------------------------

    def need(self, name: str) -> str:
        if name not in self.blocks:
            self.blocks[name] = _block(self, name)
        return name


def _text(node: Node) -> str:
    if node.sequence:
        return "[...]"
    if node.mapping:
        return "{...}"
    return str(node.value)


def _plain(node: Node):
    if node.sequence:
        return [_plain(n) for n in node.value[:64]]
    if node.mapping:
        return None
    value = node.value
    if isinstance(value, str) and not node.quoted and value in ("True", "False"):
        return value == "True"
    return value


# -- the module blocks, as ultralytics defines them ----------------------------------------------------


def _block(tr: _Translator, name: str) -> str:
    act = tr.act
    if name == "Conv":
        return (
            "# ultralytics' Conv: convolution without bias, batch norm (initialised with eps 0.001, momentum 0.03),\n"
            f"# the default activation ({act}); padding k // 2 (autopad)\n"
            "block Conv(c2, k=1, s=1, p=k // 2, g=1, d=1, act=true) = conv: conv(c2, k, s=s, p=p, g=g, d=d, bias=false)\n"
            f"    -> bn: bn(eps=0.001, momentum=0.03) -> act: {act} if act"
        )
    if name == "Bottleneck":
        tr.need("Conv")
        return (
            "# Bottleneck: two Convs (hidden h channels), added to the input when shortcut (and c1 == c2)\n"
            "block Bottleneck(c2, h, shortcut=true, k1=3, k2=3, g=1) {\n"
            "    y = in -> cv1: Conv(h, k1) -> cv2: Conv(c2, k2, g=g)\n"
            "    out = y -> add(in) if shortcut\n"
            "}"
        )
    if name == "C3":
        tr.need("Bottleneck")
        return (
            "# C3: a CSP bottleneck with 3 Convs; C3k (in C3k2) is a C3 of 3x3 bottlenecks\n"
            "block C3(c2, c, n=1, shortcut=true, g=1, k1=1, k2=3) {\n"
            "    a = in -> cv1: Conv(c) -> m: (Bottleneck(c, c, shortcut, k1, k2, g=g) * n)\n"
            "    b = in -> cv2: Conv(c)\n"
            "    out = concat(a, b) -> cv3: Conv(c2)\n"
            "}"
        )
    if name == "Classify":
        tr.need("Conv")
        return (
            "# Classify: a 1x1 Conv to 1280 channels (EfficientNet-B0's width), global average pooling, a linear\n"
            "# layer to the classes, and the softmax ultralytics applies outside training\n"
            "block Classify(c2, k=1, s=1, g=1) = conv: Conv(1280, k, s=s, g=g) -> pool: adaptive_avgpool(1)\n"
            "    -> flatten -> drop: dropout(0.0) -> linear: linear(c2) -> softmax"
        )
    if name == "C2":
        tr.need("Bottleneck")
        return (
            "# C2: the CSP bottleneck with 2 Convs: n Bottlenecks on one half of cv1, concatenated with the other\n"
            "block C2(c2, c, n=1, shortcut=true, g=1) {\n"
            "    a, b = in -> cv1: Conv(2 * c) -> chunk(2)\n"
            "    y = a -> m: (Bottleneck(c, c, shortcut, g=g) * n)\n"
            "    out = concat(y, b) -> cv2: Conv(c2)\n"
            "}"
        )
    if name == "SPPF":
        tr.need("Conv")
        return (
            "# SPPF: spatial pyramid pooling, one max pooling applied three times, all four concatenated\n"
            "block SPPF(c2, h, k=5, act1=true) {\n"
            "    y0 = in -> cv1: Conv(h, act=act1)\n"
            "    y1 = y0 -> m_1: maxpool(k, s=1, p=k // 2)\n"
            "    y2 = y1 -> m_2: maxpool(k, s=1, p=k // 2)\n"
            "    y3 = y2 -> m_3: maxpool(k, s=1, p=k // 2)\n"
            "    out = concat(y0, y1, y2, y3) -> cv2: Conv(c2)\n"
            "}"
        )
    if name == "Attention":
        tr.need("Conv")
        return (
            "# ultralytics' Attention (in PSABlock): q, k, v from one 1x1 Conv, per head key_dim kd and head_dim\n"
            "# c // heads, softmax(q^T k) (its scale kd^-0.5 has no parameters), a depthwise Conv of v as a\n"
            "# positional encoding, then a 1x1 projection\n"
            "block Attention(c, heads, kd) {\n"
            "    q, k, v = in -> qkv: Conv(c + 2 * kd * heads, act=false) -> reshape((heads, 2 * kd + c // heads, -1))\n"
            "        -> split((kd, kd, c // heads), dim=2)\n"
            "    a = q -> matmul(k, transpose_a=true) -> softmax(dim=-1)\n"
            "    o = v -> matmul(a, transpose_b=true) -> reshape(like=in)\n"
            "    p = v -> reshape(like=in) -> pe: Conv(c, 3, g=c, act=false)\n"
            "    out = add(o, p) -> proj: Conv(c, act=false)\n"
            "}"
        )
    if name == "PSABlock":
        tr.need("Attention")
        return (
            "# PSABlock: attention then a feed-forward pair of Convs, each added to its input when shortcut\n"
            "block PSABlock(c, heads, kd, shortcut=true) {\n"
            "    a = in -> attn: Attention(c, heads, kd) -> add(in) if shortcut\n"
            "    out = a -> ffn: (Conv(c * 2) -> Conv(c, act=false)) -> add(a) if shortcut\n"
            "}"
        )
    if name == "C2PSA":
        tr.need("PSABlock")
        return (
            "# C2PSA: half the channels through n PSABlocks (heads: c // 64), concatenated with the other half\n"
            "block C2PSA(c2, c, heads, kd, n=1) {\n"
            "    a, b = in -> cv1: Conv(2 * c) -> chunk(2)\n"
            "    y = b -> m: (PSABlock(c, heads, kd) * n)\n"
            "    out = concat(a, y) -> cv2: Conv(c2)\n"
            "}"
        )
    raise KeyError(name)


def _csp_block(tr: _Translator, kind: str, n: int, inner: str, variant: str = "") -> str:
    """C2f and C3k2 of n inner modules: each reads the one before, and all are concatenated (ultralytics
    keeps every intermediate), so the block is written for its number of modules (and inner module)."""
    name = f"{kind}{variant}_{n}"
    if name in tr.blocks:
        return name
    tr.need("Conv")
    why = {
        "C2f": "C2f: the CSP bottleneck with 2 Convs: cv1's halves, then n Bottlenecks (hidden c), all concatenated",
        "C3k2": "C3k2: as C2f, with Bottlenecks of hidden c // 2 (or C3k modules when c3k, or attention when attn)",
    }[kind]
    lines = [f"# {why}", f"block {name}(c2, c, shortcut={'false' if kind == 'C2f' else 'true'}, g=1) {{"]
    lines.append("    y0, y1 = in -> cv1: Conv(2 * c) -> chunk(2)")
    for i in range(n):
        lines.append(f"    y{i + 2} = y{i + 1} -> m_{i}: {inner}")
    lines.append(f"    out = concat({', '.join(f'y{i}' for i in range(n + 2))}) -> cv2: Conv(c2)")
    lines.append("}")
    tr.blocks[name] = "\n".join(lines)
    return name


# -- the rows ------------------------------------------------------------------------------------------


def _conv(tr: _Translator, row: _Row, label, targets, c1s, n, depthwise=False):
    c2 = tr.channels(tr.arg(row, 0, kind=int, what="the output channels"), row)
    k = tr.arg(row, 1, 1, kind=int, what="the kernel")
    s = tr.arg(row, 2, 1, kind=int, what="the stride")
    if depthwise:
        p, g, d = None, math.gcd(c1s[0], c2), tr.arg(row, 3, 1, kind=int, what="the dilation")
        act = tr.arg(row, 4, True)
    else:
        p = tr.arg(row, 3, None)
        g = tr.arg(row, 4, 1, kind=int, what="the groups")
        d = tr.arg(row, 5, 1, kind=int, what="the dilation")
        act = tr.arg(row, 6, True)
    if p is not None and (not isinstance(p, int) or isinstance(p, bool) or p < 0):
        tr.error(codes.FOREIGN_VALUE, row.nodes[3].span, "the padding must be a whole number or None")
        raise _Skip
    if k < 1 or s < 1 or d < 1 or g < 1:
        tr.error(codes.FOREIGN_VALUE, row.span, "kernel, stride, groups and dilation must be at least 1")
        raise _Skip
    auto = (d * (k - 1) + 1) // 2
    kwargs = {
        "s": s if s != 1 else None,
        "p": p if p is not None and p != auto else (auto if p is None and d > 1 else None),
        "g": g if g != 1 else None,
        "d": d if d != 1 else None,
        "act": False if act is False else None,
    }
    element = call(tr.need("Conv"), c2, k, **kwargs)
    if n > 1:
        element = f"({element} * {n})"
    return Step(row.index, label, row.span, targets, element=element), c2


def _dwconv(tr, row, label, targets, c1s, n):
    return _conv(tr, row, label, targets, c1s, n, depthwise=True)


def _c2f(tr: _Translator, row: _Row, label, targets, c1s, n, kind="C2f"):
    c2 = tr.channels(tr.arg(row, 0, kind=int, what="the output channels"), row)
    if kind == "C2f":
        shortcut = tr.arg(row, 1, False, kind=bool, what="shortcut")
        g = tr.arg(row, 2, 1, kind=int, what="the groups")
        e = tr.arg(row, 3, 0.5, kind=float, what="the expansion")
        c = int(c2 * e)
        inner = call(tr.need("Bottleneck"), _Raw("c"), _Raw("c"), _Raw("shortcut"), g=_Raw("g"))
    else:  # C3k2(c2, c3k=False, e=0.5, attn=False, g=1, shortcut=True); parse_model sets c3k for m, l, x
        c3k = tr.arg(row, 1, False, kind=bool, what="c3k")
        if tr.scale in ("m", "l", "x"):
            c3k = True
        e = tr.arg(row, 2, 0.5, kind=float, what="the expansion")
        attn = tr.arg(row, 3, False, kind=bool, what="attn")
        g = tr.arg(row, 4, 1, kind=int, what="the groups")
        shortcut = tr.arg(row, 5, True, kind=bool, what="shortcut")
        c = int(c2 * e)
        if attn:
            heads = max(c // 64, 1)
            tr.need("PSABlock")
            tr.need("Bottleneck")
            kd = int(c // heads * 0.5)
            inner = f"(Bottleneck(c, c // 2, shortcut, g=g) -> PSABlock(c, {heads}, {kd}))"
        elif c3k:
            inner = call(tr.need("C3"), _Raw("c"), _Raw("c // 2"), 2, _Raw("shortcut"), _Raw("g"), 3, 3)
        else:
            inner = call(tr.need("Bottleneck"), _Raw("c"), _Raw("c // 2"), _Raw("shortcut"), g=_Raw("g"))
    if c < 1:
        tr.error(codes.FOREIGN_VALUE, row.span, f"{row.module} has {c} hidden channels after scaling")
        raise _Skip
    variant = "" if kind == "C2f" else "_attn" if attn else "_c3k" if c3k else ""
    name = _csp_block(tr, kind, n, inner, variant)
    default_shortcut = not kind.startswith("C2f")  # C2f's shortcut defaults to False, C3k2's to True
    kwargs = {"shortcut": shortcut if shortcut != default_shortcut else None, "g": g if g != 1 else None}
    return Step(row.index, label, row.span, targets, element=call(name, c2, c, **kwargs)), c2


def _c3k2(tr, row, label, targets, c1s, n):
    return _c2f(tr, row, label, targets, c1s, n, kind="C3k2")


def _csp(block: str):
    """C3 and C2 (CSP bottleneck stacks): [c2, shortcut, g, e] with the repeats n, the same arguments."""

    def translate(tr: _Translator, row: _Row, label, targets, c1s, n):
        c2 = tr.channels(tr.arg(row, 0, kind=int, what="the output channels"), row)
        shortcut = tr.arg(row, 1, True, kind=bool, what="shortcut")
        g = tr.arg(row, 2, 1, kind=int, what="the groups")
        e = tr.arg(row, 3, 0.5, kind=float, what="the expansion")
        c = int(c2 * e)
        kwargs = {"n": n if n != 1 else None, "shortcut": None if shortcut else False, "g": g if g != 1 else None}
        return Step(row.index, label, row.span, targets, element=call(tr.need(block), c2, c, **kwargs)), c2

    return translate


def _classify(tr: _Translator, row: _Row, label, targets, c1s, n):
    c2 = tr.arg(row, 0, tr.nc, kind=int, what="the classes")  # parse_model leaves Classify's c2 unscaled
    k = tr.arg(row, 1, 1, kind=int, what="the kernel")
    s = tr.arg(row, 2, 1, kind=int, what="the stride")
    g = tr.arg(row, 4, 1, kind=int, what="the groups")
    if len(targets) != 1 or min(c2, k, s, g) < 1 or (len(row.args) > 3 and row.args[3] is not None):
        tr.error(
            codes.FOREIGN_UNSUPPORTED, row.span, "Classify is translated with [classes, k, s, None, g] of one layer"
        )
        raise _Skip
    kwargs = {"k": k if k != 1 else None, "s": s if s != 1 else None, "g": g if g != 1 else None}
    step = Step(row.index, label, row.span, targets, element=call(tr.need("Classify"), c2, **kwargs), output=True)
    return step, c2


def _bottleneck(tr: _Translator, row: _Row, label, targets, c1s, n):
    c2 = tr.channels(tr.arg(row, 0, kind=int, what="the output channels"), row)
    shortcut = tr.arg(row, 1, True, kind=bool, what="shortcut")
    g = tr.arg(row, 2, 1, kind=int, what="the groups")
    e = tr.arg(row, 4, 0.5, kind=float, what="the expansion")
    add = shortcut and c1s[0] == c2
    element = call(tr.need("Bottleneck"), c2, int(c2 * e), add, g=g if g != 1 else None)
    if n > 1:
        element = f"({element} * {n})"
    return Step(row.index, label, row.span, targets, element=element), c2


def _sppf(tr: _Translator, row: _Row, label, targets, c1s, n):
    c2 = tr.channels(tr.arg(row, 0, kind=int, what="the output channels"), row)
    k = tr.arg(row, 1, 5, kind=int, what="the kernel")
    if len(row.args) > 2:  # YOLO26's rows ([c2, k, n, shortcut]) leave cv1 without activation
        tr.error(codes.FOREIGN_UNSUPPORTED, row.span, "SPPF with more than [c2, k] (YOLO26's form)")
        raise _Skip
    h = c1s[0] // 2
    element = call(tr.need("SPPF"), c2, h, k=k if k != 5 else None)
    if n > 1:
        element = f"({element} * {n})"
    return Step(row.index, label, row.span, targets, element=element), c2


def _c2psa(tr: _Translator, row: _Row, label, targets, c1s, n):
    c2 = tr.channels(tr.arg(row, 0, kind=int, what="the output channels"), row)
    e = tr.arg(row, 1, 0.5, kind=float, what="the expansion")
    if c1s[0] != c2:
        tr.error(
            codes.FOREIGN_VALUE,
            row.span,
            f"C2PSA keeps its channels: it receives {c1s[0]} and is asked for {c2} (ultralytics asserts c1 == c2)",
        )
        raise _Skip
    c = int(c1s[0] * e)
    heads = max(c // 64, 1)
    kd = int(c // heads * 0.5)
    element = call(tr.need("C2PSA"), c2, c, heads, kd, n=n if n != 1 else None)
    return Step(row.index, label, row.span, targets, element=element), c2


def _upsample(tr: _Translator, row: _Row, label, targets, c1s, n):
    size = tr.arg(row, 0, None)
    scale = tr.arg(row, 1, None)
    mode = tr.arg(row, 2, "nearest")
    if size is not None or not isinstance(scale, (int, float)) or isinstance(scale, bool) or not 0 < scale <= 64:
        tr.error(codes.FOREIGN_VALUE, row.span, "nn.Upsample is translated with [None, scale_factor, mode]")
        raise _Skip
    if mode not in ("nearest", "bilinear", "bicubic"):
        tr.error(codes.FOREIGN_VALUE, row.span, f"upsampling mode `{comment_text(mode)}` is not one convdsl reads")
        raise _Skip
    scale = int(scale) if float(scale).is_integer() else scale
    element = call("upsample", scale, mode=mode if mode != "nearest" else None)
    if mode != "nearest":
        element = element.replace(f"mode={mode}", f'mode="{mode}"')
    return Step(row.index, label, row.span, targets, element=element), c1s[0]


def _concat(tr: _Translator, row: _Row, label, targets, c1s, n):
    dim = tr.arg(row, 0, 1, kind=int, what="the dimension")
    if len(targets) < 2:
        tr.error(codes.FOREIGN_VALUE, row.span, "Concat joins two or more layers: give `from` as a list")
        raise _Skip
    if dim != 1:
        tr.error(codes.FOREIGN_UNSUPPORTED, row.span, "Concat along another dimension than the channels")
        raise _Skip
    return Step(row.index, label, row.span, targets, merge="concat"), sum(c1s)


def _detect(tr: _Translator, row: _Row, label, targets, c1s, n):
    nc = tr.arg(row, 0, tr.nc, kind=int, what="nc")
    if len(targets) > MAX_LEVELS or nc < 1:
        tr.error(codes.FOREIGN_VALUE, row.span, f"Detect reads 1 to {MAX_LEVELS} levels with nc of at least 1")
        raise _Skip
    reg_max = tr.reg_max
    c2, c3 = max(16, c1s[0] // 4, reg_max * 4), max(c1s[0], min(nc, 100))
    name = f"Detect_{len(targets)}" + ("" if tr.legacy else "_dw")
    if name not in tr.blocks:
        tr.need("Conv")
        levels = len(targets)
        params = [f"x{i}: tensor" for i in range(1, levels)] + ["c2", "c3", "nc", "reg_max=16"]
        if not tr.legacy:
            params += [f"ch{i}" for i in range(levels)]
        lines = [
            "# Detect: per level a box branch (cv2: 4 x reg_max distribution bins) and a class branch (cv3),",
            "# flattened over the positions and joined; the DFL takes the expected bin of each box side (its",
            "# 1x1 conv holds the fixed weights 0..reg_max-1); the boxes are decoded against the anchor grid",
            "# (arithmetic, no parameters) and joined with the class scores: (4 + nc) x anchors",
            f"block {name}({', '.join(params)}) {{",
        ]
        for i in range(levels):
            src = "in" if i == 0 else f"x{i}"
            lines.append(
                f"    b{i} = {src} -> cv2_{i}: (Conv(c2, 3) -> Conv(c2, 3) -> conv(4 * reg_max, 1)) -> flatten(2)"
            )
            if tr.legacy:
                cls = "Conv(c3, 3) -> Conv(c3, 3)"
            else:  # YOLO11's: depthwise 3x3 then 1x1, twice
                cls = f"Conv(ch{i}, 3, g=ch{i}) -> Conv(c3, 1) -> Conv(c3, 3, g=c3) -> Conv(c3, 1)"
            lines.append(f"    s{i} = {src} -> cv3_{i}: ({cls} -> conv(nc, 1)) -> flatten(2)")
        boxes = ", ".join(f"b{i}" for i in range(levels))
        scores = ", ".join(f"s{i}" for i in range(levels))
        lines += [
            f"    box = {'concat(' + boxes + ', dim=2)' if levels > 1 else 'b0'}",
            "    d = box -> dfl: (reshape((4, reg_max, -1)) -> transpose(1, 2) -> softmax(dim=1)",
            "        -> conv: conv(1, 1, bias=false)) -> reshape((4, -1))",
            f"    cls = {'concat(' + scores + ', dim=2)' if levels > 1 else 's0'} -> sigmoid",
            "    out = concat(d, cls)",
            "}",
        ]
        tr.blocks[name] = "\n".join(lines)
    extra = {"reg_max": reg_max if reg_max != 16 else None}
    if not tr.legacy:
        extra.update({f"ch{i}": c for i, c in enumerate(c1s)})
    # the first level flows in; the others are the block's tensor arguments
    args = ", ".join([*(ref(i) for i in range(len(targets) - 1)), str(c2), str(c3), str(nc)])
    kwargs = ", ".join(f"{k}={v}" for k, v in extra.items() if v is not None)
    element = f"{name}({args}{', ' + kwargs if kwargs else ''})"
    step = Step(row.index, label, row.span, targets[:1], element=element, output=True, refs=tuple(targets[1:]))
    return step, 4 + nc


class _Raw(str):
    """Text written as it is by call() (a parameter name or expression)."""


_MODULES = {
    "Conv": _conv,
    "DWConv": _dwconv,
    "C2f": _c2f,
    "C3k2": _c3k2,
    "C3": _csp("C3"),
    "C2": _csp("C2"),
    "Bottleneck": _bottleneck,
    "SPPF": _sppf,
    "C2PSA": _c2psa,
    "nn.Upsample": _upsample,
    "Concat": _concat,
    "Detect": _detect,
    "Classify": _classify,
}


def translate(source: Source, *, options: dict) -> Translation:
    """An ultralytics model YAML as .cdsl text (options: `scale`)."""
    return _Translator(source, options).run()
