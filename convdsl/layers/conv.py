"""Convolution and transposed convolution, 1-D to 3-D."""

from __future__ import annotations

from fractions import Fraction

from .. import diagnostics as codes
from .ops import Module, keyword_args, rank_of, text_of
from .pyexpr import Lit
from .base import Arg, Inferred, LayerKind, RF, ShapeError, per_axis, prod
from .window import Window, axis_word, check_division, conv_out, resolve_padding

WINDOW_ARGS = (
    Arg("kernel", "ints", aliases=("k", "kernel_size"), doc="kernel size, one value or one per axis"),
    Arg("stride", "ints", 1, aliases=("s",)),
    Arg("padding", "padding", 0, aliases=("p", "pad"), doc="a size, one per axis, 'same' or 'valid'"),
    Arg("dilation", "ints", 1, aliases=("d",)),
)


def _pytorch_order(name, args, c_in, ctx) -> None:
    """`conv(3, 16, 3)` on 3 channels is PyTorch's Conv2d(in_channels=3, out_channels=16, kernel_size=3), and
    convdsl's 3 output channels with a 16x16 kernel at stride 3. The sign: the first value is the input's
    channel count and the kernel is 8 or more (a channel count, seldom a kernel)."""
    kernel = args["kernel"]
    if (
        {"out_channels", "kernel", "stride"} <= ctx.explicit
        and args["out_channels"] == c_in
        and isinstance(kernel, int)
        and kernel >= 8
        and args.get("in_channels") is None
    ):
        fix = (
            ctx.fix(f"drop the first argument, PyTorch's in_channels ({c_in})", {"out_channels": None})
            if ctx.fix
            else None
        )
        ctx.report(
            codes.PYTORCH_ORDER,
            f"this reads as {c_in} output channels, a {kernel}-wide kernel and stride {args['stride']}: "
            f"PyTorch's order (in_channels, out_channels, kernel_size)?",
            f"{c_in} = the input's channels",
            "convdsl infers the input channels from the tensor; its arguments start with out_channels",
            arg="out_channels",
            fixes=(fix,) if fix else (),
        )


def _channels(args, c_in, groups_arg="groups"):
    declared = args.get("in_channels")
    if declared is not None and declared != c_in:
        raise ShapeError(
            codes.CHANNEL_MISMATCH,
            f"expected {declared} input channels, got {c_in}",
            f"declared in_channels={declared}",
            f"the input has {c_in} channels",
            arg="in_channels",
        )
    g = args["groups"]
    if g < 1:
        raise ShapeError(codes.ARGUMENT_TYPE, f"groups must be at least 1, got {g}", "groups", arg="groups")
    c_out = args["out_channels"]
    if c_out < 1:
        raise ShapeError(
            codes.ARGUMENT_TYPE, f"out_channels must be at least 1, got {c_out}", "out_channels", arg="out_channels"
        )
    for what, c in (("input", c_in), ("output", c_out)):
        if c % g:
            raise ShapeError(
                codes.GROUPS_MISMATCH,
                f"groups={g} does not divide the {c} {what} channels",
                f"{c} % {g} = {c % g}",
                f"use a number of groups that divides both {c_in} and {c_out}",
                arg=groups_arg,
            )


class Conv(LayerKind):
    name = "conv"
    family = "conv"
    summary = "convolution over 1, 2 or 3 spatial axes (taken from the input)"
    min_rank = 1
    args = (
        Arg("out_channels", "int", aliases=("out", "channels", "c", "filters")),
        *WINDOW_ARGS,
        Arg("groups", "int", 1, aliases=("g",)),
        Arg("bias", "bool", True),
        Arg("in_channels", "int", None, positional=False, aliases=("in",)),
        Arg(
            "round",
            "str",
            None,
            positional=False,
            choices=("floor",),
            doc="state floor rounding on purpose: the lint then accepts dropped rows",
        ),
    )

    def describe(self, args):
        k = args["kernel"]
        ks = "x".join(map(str, k)) if isinstance(k, tuple) else f"{k}x{k}" if self.rank != 1 else str(k)
        s = args["stride"]
        stride = "" if s == 1 else "/" + ("x".join(map(str, s)) if isinstance(s, tuple) else str(s))
        g = args["groups"]
        groups = "" if g == 1 else f", g{g}"
        d = args["dilation"]
        dilation = "" if d == 1 else ", d" + ("x".join(map(str, d)) if isinstance(d, tuple) else str(d))
        return f"{ks}{stride}, {args['out_channels']}{groups}{dilation}"

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        c_in, *spatial = shape
        rank = len(spatial)
        _pytorch_order(self.name, args, c_in, ctx)
        _channels(args, c_in)
        k = per_axis(args["kernel"], rank, "kernel")
        s = per_axis(args["stride"], rank, "stride")
        d = per_axis(args["dilation"], rank, "dilation")
        for name, values in (("kernel", k), ("stride", s), ("dilation", d)):
            if values and min(values) < 1:
                raise ShapeError(codes.ARGUMENT_TYPE, f"{name} must be at least 1, got {args[name]}", name, arg=name)
        pads = resolve_padding(args["padding"], spatial, k, s, d, ctx.rounding)
        if any(b < 0 for b, _ in pads):
            raise ShapeError(codes.ARGUMENT_TYPE, "padding cannot be negative", "negative padding", arg="padding")
        windows = [Window(i, kk, ss, pb, pe, dd) for i, kk, ss, (pb, pe), dd in zip(spatial, k, s, pads, d)]
        outs = []
        for axis, w in enumerate(windows):
            if w.numerator < 0:
                raise ShapeError(
                    codes.KERNEL_TOO_LARGE,
                    f"kernel {w.span if w.dilation == 1 else f'{w.kernel} (extent {w.span} with dilation {w.dilation})'} "
                    f"is larger than the padded input {axis_word(rank, axis)} {w.size + w.pad_begin + w.pad_end}",
                    f"input {axis_word(rank, axis)} {w.size} + padding {w.pad_begin + w.pad_end}",
                    "use a smaller kernel, more padding, or a larger input",
                    arg="kernel",
                )
            outs.append(conv_out(w))
        check_division(windows, outs, ctx, layer="convolution", rounding_stated=args.get("round"), pool=False)
        _window_warnings(windows, args, ctx, rank)
        c_out, g = args["out_channels"], args["groups"]
        weight = c_out * (c_in // g) * prod(k)
        bias = c_out if args["bias"] else 0
        if _bias_redundant(args, ctx):
            ctx.report(
                codes.REDUNDANT_BIAS,
                f"the convolution's bias is cancelled by the batch norm after it ({c_out} redundant parameters)",
                "bias=true by default",
                "add `bias=false`, or write `bias=true` to keep it",
                arg="bias",
            )
        return Inferred(
            outputs=((c_out, *outs),),
            params=weight + bias,
            macs=weight * prod(outs),
            rf=RF(
                tuple([(w.span, w.stride) for w in windows]),
                reads_all=tuple(w.reads_every_row(o) for w, o in zip(windows, outs)),
            ),
        )

    def to_torch(self, args, inputs, ctx):
        shape = inputs[0]
        rank = rank_of(shape)
        padding, pad = args["padding"], None
        if text_of(padding, ctx) == "same" and ctx.rounding == "tensorflow":
            padding, pad = tensorflow_same(
                padding, shape, args["kernel"].known(), args["stride"].known(), args["dilation"].known()
            )
        kwargs = keyword_args(
            self.args, {**args, "padding": padding}, skip=("out_channels", "kernel", "in_channels", "round")
        )
        return Module(
            f"nn.Conv{rank}d",
            (shape[0], args["out_channels"], args["kernel"]),
            kwargs,
            channels=args["out_channels"],
            pad=pad,
        )


def tensorflow_same(padding, shape, kernel, stride, dilation=1, *, limit=None):
    """TensorFlow's 'same' as PyTorch padding: (module padding, F.pad before it or None).

    With stride 1 it is PyTorch's own 'same'; with a stride it pads for
    ceil(I / s) outputs, one more at the end where the total is odd, which only
    an explicit F.pad can do. limit: the most padding the module takes per side
    (pooling: half the kernel).
    """
    rank = rank_of(shape)
    kernel, stride, dilation = (
        per_axis(v, rank, n) for v, n in ((kernel, "kernel"), (stride, "stride"), (dilation, "dilation"))
    )
    if all(s == 1 for s in stride) and limit is None:
        return padding, None
    sizes = [size.known() for size in shape[1:]]
    pads = resolve_padding("same", sizes, kernel, stride, dilation, "tensorflow")
    fits = limit is None or all(begin <= most for (begin, _), most in zip(pads, per_axis(limit, rank, "padding")))
    if fits and all(begin == end for begin, end in pads):
        begins = tuple(begin for begin, _ in pads)
        return Lit(begins[0] if len(set(begins)) == 1 else begins), None
    return Lit(0), Lit(tuple(p for begin, end in reversed(pads) for p in (begin, end)))


def _bias_redundant(args, ctx) -> bool:
    """A default bias right before batch norm; `bias=true` written out says it is meant."""
    return (
        args["bias"]
        and "bias" not in ctx.explicit
        and bool(ctx.next_kinds)
        and all(kind == "batchnorm" for kind in ctx.next_kinds)
    )


def _window_warnings(windows, args, ctx, rank):
    for axis, w in enumerate(windows):
        if w.kernel > 1 and w.stride > w.span:
            ctx.report(
                codes.STRIDE_OVER_KERNEL,
                f"stride {w.stride} is larger than the kernel {w.span} along the {axis_word(rank, axis)}: "
                f"{w.stride - w.span} of every {w.stride} input rows are never read",
                "input skipped",
                f"use a kernel of at least {w.stride}, or a smaller stride",
                arg="stride",
            )
            break
    if args.get("padding") == "same" and any(w.kernel % 2 == 0 and w.pad_begin != w.pad_end for w in windows):
        ctx.report(
            codes.EVEN_KERNEL_SAME,
            "'same' padding with an even kernel pads one more on the right/bottom",
            "asymmetric padding",
            "use an odd kernel, or pad explicitly",
            arg="padding",
        )


class ConvTranspose(LayerKind):
    name = "conv_transpose"
    aliases = ("deconv", "upconv", "convtranspose")
    family = "conv"
    summary = "transposed convolution (learned upsampling)"
    min_rank = 1
    args = (
        Arg("out_channels", "int", aliases=("out", "channels", "c", "filters")),
        Arg("kernel", "ints", aliases=("k", "kernel_size")),
        Arg("stride", "ints", 1, aliases=("s",)),
        Arg("padding", "ints", 0, aliases=("p", "pad")),
        Arg("output_padding", "ints", 0, aliases=("op",)),
        Arg("dilation", "ints", 1, aliases=("d",)),
        Arg("groups", "int", 1, aliases=("g",)),
        Arg("bias", "bool", True),
        Arg("in_channels", "int", None, positional=False, aliases=("in",)),
    )

    describe = Conv.describe

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        c_in, *spatial = shape
        rank = len(spatial)
        _channels(args, c_in)
        k = per_axis(args["kernel"], rank, "kernel")
        s = per_axis(args["stride"], rank, "stride")
        p = per_axis(args["padding"], rank, "padding")
        op = per_axis(args["output_padding"], rank, "output_padding")
        d = per_axis(args["dilation"], rank, "dilation")
        for name, values in (("kernel", k), ("stride", s), ("dilation", d)):
            if any(v < 1 for v in values):
                raise ShapeError(codes.ARGUMENT_TYPE, f"{name} must be at least 1, got {args[name]}", name, arg=name)
        for name, values in (("padding", p), ("output_padding", op)):
            if any(v < 0 for v in values):
                raise ShapeError(codes.ARGUMENT_TYPE, f"{name} cannot be negative", f"negative {name}", arg=name)
        outs = []
        for axis in range(rank):
            if op[axis] >= s[axis] and op[axis] >= d[axis]:
                raise ShapeError(
                    codes.OUTPUT_PADDING,
                    f"output_padding {op[axis]} must be smaller than the stride {s[axis]} or the dilation {d[axis]}",
                    "output_padding too large",
                    f"use output_padding < {max(s[axis], d[axis])}",
                    arg="output_padding",
                )
            # (I - 1)s - 2p + d(k - 1) + output_padding + 1
            out = (spatial[axis] - 1) * s[axis] - 2 * p[axis] + d[axis] * (k[axis] - 1) + op[axis] + 1
            outs.append(out)
        c_out, g = args["out_channels"], args["groups"]
        weight = c_in * (c_out // g) * prod(k)
        bias = c_out if args["bias"] else 0
        if _bias_redundant(args, ctx):
            ctx.report(
                codes.REDUNDANT_BIAS,
                f"the transposed convolution's bias is cancelled by the batch norm after it "
                f"({c_out} redundant parameters)",
                "bias=true by default",
                "add `bias=false`, or write `bias=true` to keep it",
                arg="bias",
            )
        windows = tuple((-(-(d[a] * (k[a] - 1) + 1) // s[a]), Fraction(1, s[a])) for a in range(rank))
        # an input row reaches the output unless padding crops every tap of it: p > d(k - 1)
        reads = tuple(p[a] <= d[a] * (k[a] - 1) for a in range(rank))
        return Inferred(
            outputs=((c_out, *outs),),
            params=weight + bias,
            macs=weight * prod(spatial),
            rf=RF(windows, reads_all=reads),
        )

    def to_torch(self, args, inputs, ctx):
        shape = inputs[0]
        kwargs = keyword_args(self.args, args, skip=("out_channels", "kernel", "in_channels"))
        return Module(
            f"nn.ConvTranspose{rank_of(shape)}d",
            (shape[0], args["out_channels"], args["kernel"]),
            kwargs,
            channels=args["out_channels"],
        )
