"""Max and average pooling, adaptive and global pooling."""

from __future__ import annotations

from fractions import Fraction

from .. import diagnostics as codes
from .ops import Module, Unsupported, rank_of, text_of
from .pyexpr import Lit
from .base import Arg, Inferred, LayerKind, RF, ShapeError, per_axis
from .window import Window, axis_word, check_division, pool_out, resolve_padding


class _Pool(LayerKind):
    family = "pool"
    min_rank = 1
    dilated = False
    args = (
        Arg("kernel", "ints", aliases=("k", "kernel_size")),
        Arg("stride", "ints", None, aliases=("s",), doc="defaults to the kernel"),
        Arg("padding", "padding", 0, aliases=("p", "pad")),
        Arg(
            "ceil",
            "bool",
            None,
            positional=False,
            aliases=("ceil_mode",),
            doc="round the output size up; the default follows the file's rounding setting",
        ),
        Arg("round", "str", None, positional=False, choices=("floor", "ceil")),
    )

    def describe(self, args):
        k = args["kernel"]
        ks = "x".join(map(str, k)) if isinstance(k, tuple) else f"{k}x{k}" if self.rank != 1 else str(k)
        s = args["stride"] if args["stride"] is not None else k
        return ks + ("" if s == k else "/" + ("x".join(map(str, s)) if isinstance(s, tuple) else str(s)))

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        c, *spatial = shape
        rank = len(spatial)
        k = per_axis(args["kernel"], rank, "kernel")
        s = per_axis(args["stride"] if args["stride"] is not None else args["kernel"], rank, "stride")
        d = per_axis(args.get("dilation", 1), rank, "dilation")
        for name, values in (("kernel", k), ("stride", s), ("dilation", d)):
            if any(v < 1 for v in values):
                raise ShapeError(codes.ARGUMENT_TYPE, f"{name} must be at least 1", name, arg=name)
        if args["padding"] == "same" and ctx.rounding != "tensorflow":
            raise ShapeError(
                codes.ARGUMENT_TYPE,
                "PyTorch pooling has no padding='same'",
                "padding='same'",
                "give the padding as a number, or `set rounding = tensorflow`",
                arg="padding",
            )
        if darknet_padding(self, ctx):
            pads = tuple(((kk - 1) // 2, kk - 1 - (kk - 1) // 2) for kk in k)
        else:
            pads = resolve_padding(args["padding"], spatial, k, s, d, ctx.rounding)
        stated = args.get("round")
        if args.get("ceil") is not None:
            stated = "ceil" if args["ceil"] else "floor"
        ceil = stated == "ceil" if stated else ctx.rounding == "caffe"
        if self.torch_base == "AvgPool" and rank == 3 and any(i < kk for i, kk in zip(spatial, k)):
            # PyTorch's avg_pool3d: "input image smaller than kernel size", padding or not
            axis = next(a for a, (i, kk) in enumerate(zip(spatial, k)) if i < kk)
            raise ShapeError(
                codes.KERNEL_TOO_LARGE,
                f"3-D average pooling needs an input at least as large as its kernel, padding or not: "
                f"{axis_word(rank, axis)} {spatial[axis]} < kernel {k[axis]}",
                f"input {axis_word(rank, axis)} {spatial[axis]}",
                "use a smaller kernel, or pad the input with `pad` first",
                arg="kernel",
            )
        windows, outs = [], []
        padded = any(pb or pe for pb, pe in pads)
        for axis, (i, kk, ss, (pb, pe), dd) in enumerate(zip(spatial, k, s, pads, d)):
            w = Window(i, kk, ss, pb, pe, dd)
            # PyTorch limits the padding by the kernel itself, not by its dilated extent
            if args["padding"] not in ("same", "valid") and 2 * pb > kk:
                raise ShapeError(
                    codes.POOL_PADDING,
                    f"pooling padding {pb} is more than half the kernel {kk}",
                    f"padding {pb} > {kk}/2",
                    f"use padding <= {kk // 2}",
                    arg="padding",
                )
            out = pool_out(w, ceil=ceil, rounding=ctx.rounding, padded=padded)
            if out < 1:  # ceil mode still gives one window where floor gives none
                raise ShapeError(
                    codes.KERNEL_TOO_LARGE,
                    f"kernel {w.span} is larger than the padded input {axis_word(rank, axis)} {i + pb + pe}",
                    f"input {axis_word(rank, axis)} {i}",
                    "use a smaller kernel, a larger input, or ceil=true",
                    arg="kernel",
                )
            windows.append(w)
            outs.append(out)
        check_division(windows, outs, ctx, layer="pooling", rounding_stated="ceil" if ceil else stated, pool=True)
        from .conv import _window_warnings

        _window_warnings(windows, args, ctx, rank)
        return Inferred(
            outputs=((c, *outs),),
            rf=RF(
                tuple((w.span, w.stride) for w in windows),
                reads_all=tuple(w.reads_every_row(o) for w, o in zip(windows, outs)),
            ),
        )

    def to_torch(self, args, inputs, ctx):
        from .conv import tensorflow_same

        shape = inputs[0]
        rank = rank_of(shape)
        stated = args["round"].known()
        if args["ceil"].known() is not None:
            stated = "ceil" if args["ceil"].known() else "floor"
        ceil = stated == "ceil" if stated else ctx.rounding == "caffe"
        kernel, stride, padding, pad, pad_value = args["kernel"], args["stride"], args["padding"], None, None
        word = text_of(padding, ctx)
        if darknet_padding(self, ctx):  # darknet pads size - 1 in all, the odd one at the end, never picked
            kernels = per_axis(kernel.known(), rank, "kernel")
            padding = Lit(0)
            pads = tuple(p for kk in reversed(kernels) for p in ((kk - 1) // 2, kk - 1 - (kk - 1) // 2))
            if any(pads):
                pad, pad_value = Lit(pads), Lit(float("-inf"))
        elif word == "valid":
            padding = Lit(0)
        elif word == "same":  # TensorFlow's, the only 'same' pooling inference accepts
            padding, pad = tensorflow_same(
                padding,
                shape,
                kernel.known(),
                (stride if not stride.is_(None) else kernel).known(),
                args["dilation"].known() if "dilation" in args else 1,
                limit=tuple(k // 2 for k in per_axis(kernel.known(), rank, "kernel")),
            )
            if pad is not None and self.torch_base == "MaxPool":
                pad_value = Lit(float("-inf"))  # TensorFlow's max pooling never picks padding
            elif pad is not None and args["count_include_pad"].is_(False):
                raise Unsupported(
                    "average pooling with uneven 'same' padding that is not counted",
                    "PyTorch counts explicit padding in the average; use count_include_pad=true",
                )
        if ceil and ctx.rounding == "caffe":
            _check_caffe_ceil(args, shape, padding)
        if self.torch_base == "AvgPool" and rank == 3 and all(size.static for size in shape[1:]):
            kernels = per_axis(kernel.known(), rank, "kernel")
            if any(size.known() < k for size, k in zip(shape[1:], kernels)):
                raise Unsupported(
                    "PyTorch's 3-D average pooling refuses an input smaller than its kernel, padding or not",
                    "use a smaller kernel, or pad the input with `pad` first",
                )
        kwargs = [
            (name, value)
            for name, value in (("stride", stride), ("padding", padding))
            if not value.is_(None if name == "stride" else 0)
        ]
        if "dilation" in args and not args["dilation"].is_(1):
            kwargs.append(("dilation", args["dilation"]))
        if ceil:
            kwargs.append(("ceil_mode", Lit(True)))
        if "count_include_pad" in args and not args["count_include_pad"].is_(True):
            kwargs.append(("count_include_pad", args["count_include_pad"]))
        return Module(f"nn.{self.torch_base}{rank}d", (kernel,), kwargs, pad=pad, pad_value=pad_value)


def darknet_padding(kind, ctx) -> bool:
    """Under `set rounding = darknet`, a max pooling written without padding pads as darknet's [maxpool]
    does: size - 1 in all, (size - 1) // 2 before and the rest after, so the output is ceil(H / stride)."""
    return ctx.rounding == "darknet" and kind.torch_base == "MaxPool" and "padding" not in ctx.explicit


def _check_caffe_ceil(args, shape, padding):
    """Caffe's ceil rounding clips the last window only where there is padding; PyTorch's always."""
    rank = rank_of(shape)
    kernel = per_axis(args["kernel"].known(), rank, "kernel")
    stride = per_axis(args["stride"].known() or args["kernel"].known(), rank, "stride")
    pads = per_axis(padding.known(), rank, "padding")
    padded = any(pads)
    for size, k, s, p in zip(shape[1:], kernel, stride, pads):
        window = Window(size.known(), k, s, p, p, 1)
        caffe = pool_out(window, ceil=True, rounding="caffe", padded=padded)
        torch = pool_out(window, ceil=True, rounding="pytorch")
        if caffe != torch:
            raise Unsupported(
                f"Caffe's rounding gives {caffe} outputs here, PyTorch's ceil_mode {torch}",
                "PyTorch drops a last window that starts past the input; pad the input explicitly "
                "with `pad`, or use a kernel at least as large as the stride",
            )


class MaxPool(_Pool):
    name = "maxpool"
    aliases = ("max_pool",)
    summary = "max pooling"
    torch_base = "MaxPool"
    args = _Pool.args[:3] + (Arg("dilation", "ints", 1, aliases=("d",)),) + _Pool.args[3:]


class AvgPool(_Pool):
    name = "avgpool"
    aliases = ("avg_pool",)
    summary = "average pooling"
    torch_base = "AvgPool"
    args = _Pool.args + (Arg("count_include_pad", "bool", True, positional=False),)


class _Adaptive(LayerKind):
    family = "pool"
    min_rank = 1
    args = (Arg("output_size", "ints", aliases=("size", "out")),)

    def describe(self, args):
        o = args["output_size"]
        return "x".join(map(str, o)) if isinstance(o, tuple) else str(o)

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        c, *spatial = shape
        outs = per_axis(args["output_size"], len(spatial), "output_size")
        if any(o < 1 for o in outs):
            raise ShapeError(
                codes.NON_POSITIVE_SIZE,
                "adaptive pooling needs output sizes of at least 1",
                "output_size",
                arg="output_size",
            )
        if not all(type(i) is int for i in spatial) or all(o == 1 for o in outs):
            # a global pool (every output sees all of its input), or symbolic sizes (no fixed window)
            return Inferred(outputs=((c, *outs),), rf=RF(whole=True, sees_all=all(o == 1 for o in outs)))
        windows = []
        for i, o in zip(spatial, outs):
            if o == 1:
                windows.append((i, i))
            else:
                windows.append((-(-i // o) + (1 if i % o else 0), Fraction(i, o)))
        return Inferred(outputs=((c, *outs),), rf=RF(tuple(windows)))

    def to_torch(self, args, inputs, ctx):
        return Module(f"nn.{self.torch_base}{rank_of(inputs[0])}d", (args["output_size"],))


class AdaptiveAvgPool(_Adaptive):
    name = "adaptive_avgpool"
    summary = "average pooling to a fixed output size"
    torch_base = "AdaptiveAvgPool"


class AdaptiveMaxPool(_Adaptive):
    name = "adaptive_maxpool"
    summary = "max pooling to a fixed output size"
    torch_base = "AdaptiveMaxPool"


class _Global(LayerKind):
    family = "pool"
    min_rank = 1

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        c, *spatial = shape
        return Inferred(outputs=((c, *([1] * len(spatial))),), rf=RF(whole=True, sees_all=True))

    def to_torch(self, args, inputs, ctx):
        return Module(f"nn.{self.torch_base}{rank_of(inputs[0])}d", (Lit(1),))


class GlobalAvgPool(_Global):
    name = "global_avgpool"
    aliases = ("gap", "global_avg_pool")
    summary = "average over all spatial positions (keeps 1x1)"
    torch_base = "AdaptiveAvgPool"


class GlobalMaxPool(_Global):
    name = "global_maxpool"
    aliases = ("global_max_pool",)
    summary = "maximum over all spatial positions (keeps 1x1)"
    torch_base = "AdaptiveMaxPool"
