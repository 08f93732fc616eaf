"""Layers that change spatial size without a learned window: upsample, pixel
shuffle, padding and cropping."""

from __future__ import annotations

import math
from fractions import Fraction

from .. import diagnostics as codes
from .ops import Function, Module, keyword_args, rank_of
from .pyexpr import Lit, Tup, tup
from .base import Arg, Inferred, LayerKind, RF, ShapeError, fmt_shape, per_axis


class Upsample(LayerKind):
    name = "upsample"
    aliases = ("interpolate", "resize")
    family = "resample"
    shape_only = "like"  # to the other tensor's spatial size, none of its values
    summary = "nearest or (bi/tri)linear upsampling by a scale factor or to a size"
    torch_name = "Upsample"
    min_rank = 1
    args = (
        Arg("scale_factor", "floats", None, aliases=("scale",)),
        Arg("size", "ints", None, positional=False),
        Arg(
            "mode",
            "str",
            "nearest",
            positional=False,
            choices=("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear"),
        ),
        Arg("align_corners", "bool", None, positional=False),
        Arg("like", "tensor", None, positional=False, doc="resize to this tensor's spatial size"),
    )

    def describe(self, args):
        mode = "" if args["mode"] == "nearest" else f" {args['mode']}"
        if args.get("like") is not None:
            return f"like {args['like']}" + mode
        if args["scale_factor"] is not None:
            return (
                f"x{args['scale_factor']:g}"
                if not isinstance(args["scale_factor"], tuple)
                else "x" + "x".join(f"{v:g}" for v in args["scale_factor"])
            ) + mode
        return ("to " + fmt_shape(args["size"]) if isinstance(args["size"], tuple) else f"to {args['size']}") + mode

    def infer(self, args, inputs, ctx):
        shape = inputs[0]
        c, *spatial = shape
        rank = len(spatial)
        scale, size = args["scale_factor"], args["size"]
        if args.get("like") is not None:
            # `upsample(like=g)`: to another tensor's spatial size (an interpolated position embedding)
            other = inputs[1]
            if scale is not None or size is not None:
                raise ShapeError(
                    codes.ARGUMENT_TYPE,
                    "upsample takes one of scale_factor, size and like",
                    "like",
                    "keep `like=` to follow the other tensor's size",
                    arg="like",
                )
            if len(other) != len(shape):
                raise ShapeError(
                    codes.RANK_MISMATCH,
                    f"cannot resize {fmt_shape(shape)} like {fmt_shape(other)}: ranks differ",
                    "ranks differ",
                    "resize to a tensor with as many spatial axes (C x H x W like C' x H' x W')",
                    arg="like",
                )
            size = tuple(other[1:])
        if (scale is None) == (size is None):
            raise ShapeError(
                codes.MISSING_ARGUMENT,
                "upsample needs either scale_factor or size (not both)",
                "scale or size",
                "write `upsample(2)`, `upsample(size=(64, 64))` or `upsample(like=x)`",
            )
        if args["align_corners"] is not None and args["mode"] in ("nearest", "nearest-exact"):
            raise ShapeError(
                codes.ARGUMENT_TYPE,
                "align_corners only applies to the interpolating modes",
                "mode is nearest",
                "remove align_corners, or use mode=bilinear",
                arg="align_corners",
            )
        wanted = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}.get(args["mode"])
        if wanted is not None and wanted != rank:
            raise ShapeError(
                codes.RANK_MISMATCH,
                f"mode '{args['mode']}' needs {wanted} spatial axes, got {rank}",
                "mode",
                arg="mode",
            )
        if size is not None:
            outs = per_axis(size, rank, "size")
            # a symbolic input size has no fixed factor: the receptive field is then unknown
            factors = [Fraction(o, i) for o, i in zip(outs, spatial)] if all(type(i) is int for i in spatial) else None
        else:
            scales = per_axis(scale, rank, "scale_factor")
            if any(s <= 0 for s in scales):
                raise ShapeError(codes.ARGUMENT_TYPE, "scale_factor must be positive", "scale", arg="scale_factor")
            # PyTorch: floor(input size * scale_factor); a product beyond any float is beyond any tensor
            if any(type(i) is int and not math.isfinite(i * s) for i, s in zip(spatial, scales)):
                raise ShapeError(
                    codes.LIMIT_EXCEEDED,
                    f"scale_factor {max(scales):.3g} makes an output size beyond any tensor",
                    "too large",
                    "use a scale factor that keeps sizes below 2^53",
                    arg="scale_factor",
                )
            outs = [math.floor(i * s) for i, s in zip(spatial, scales)]
            factors = [Fraction(s).limit_denominator(1000) for s in scales]
        if any(o < 1 for o in outs):
            raise ShapeError(codes.NON_POSITIVE_SIZE, f"upsampling gives a size below 1: {tuple(outs)}", "size")
        # An output reads the inputs it interpolates: the nearest one, the two around it (linear modes)
        # or four (bicubic); in input rows, whatever the scale (tests/test_oracles.py: torch's gradients).
        taps = {"linear": 2, "bilinear": 2, "trilinear": 2, "bicubic": 4}.get(args["mode"], 1)
        return Inferred(outputs=((c, *outs),), rf=RF(tuple((taps, 1 / f) for f in factors)) if factors else None)

    def to_torch(self, args, inputs, ctx):
        if not args["like"].is_(None):
            mode = args["mode"].known()
            corners = args["align_corners"]
            extra = "" if corners.is_(None) else f", align_corners={corners.src()}"
            return Function(
                lambda xs: f"F.interpolate({xs[0]}, size={xs[1]}.shape[2:], mode={mode!r}{extra})",
                channels=(inputs[0][0],),
                helpers=("F",),
            )
        return Module("nn.Upsample", kwargs=keyword_args(self.args, args, skip=("like",)))


class PixelShuffle(LayerKind):
    name = "pixel_shuffle"
    aliases = ("pixelshuffle", "depth_to_space")
    family = "resample"
    summary = "rearrange C*r^2 x H x W into C x rH x rW"
    min_rank = 2
    rank = 2
    args = (Arg("upscale_factor", "int", aliases=("factor", "r")),)

    def describe(self, args):
        return f"x{args['upscale_factor']}"

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        c, h, w = shape
        r = args["upscale_factor"]
        if r < 1 or c % (r * r):
            raise ShapeError(
                codes.INVALID_RESHAPE,
                f"pixel_shuffle by {r} needs channels divisible by {r * r}, got {c}",
                f"{c} % {r * r} != 0",
                arg="upscale_factor",
            )
        return Inferred(outputs=((c // (r * r), h * r, w * r),), rf=RF(((1, Fraction(1, r)), (1, Fraction(1, r)))))

    def to_torch(self, args, inputs, ctx):
        r = args["upscale_factor"]
        return Module("nn.PixelShuffle", (r,), channels=inputs[0][0] // (r * r))


class Pad(LayerKind):
    name = "pad"
    drops_rows = True  # some input rows may reach no output (see LayerKind.drops_rows)
    aliases = ("zeropad", "zero_pad", "constant_pad")
    family = "resample"
    summary = "pad with a constant; one size for all sides, or PyTorch's (left, right, top, bottom, ...) order"
    min_rank = 1
    args = (Arg("padding", "dims", aliases=("p",)), Arg("value", "float", 0.0, positional=False))

    def describe(self, args):
        p = args["padding"]
        return f"{p[0]}" if len(p) == 1 else ",".join(map(str, p))

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        c, *spatial = shape
        p = args["padding"]
        if len(p) == 1:
            p = p * (2 * len(spatial))
        if len(p) % 2 or len(p) // 2 > len(spatial):
            raise ShapeError(
                codes.ARGUMENT_TYPE,
                f"padding needs one value or a (begin, end) pair per axis, last axis first; got {len(p)}",
                "padding",
                arg="padding",
            )
        out = list(spatial)
        for pair in range(len(p) // 2):
            axis = len(spatial) - 1 - pair  # PyTorch pads the last axis first
            removed = -min(0, p[2 * pair]) - min(0, p[2 * pair + 1])
            if removed > out[axis]:  # PyTorch cuts before it pads: "narrow(): length must be non-negative"
                raise ShapeError(
                    codes.INVALID_RESHAPE,
                    f"negative padding removes {removed} from an axis of size {out[axis]}",
                    f"{out[axis]} - {removed} < 0",
                    "remove at most the size of the axis",
                    arg="padding",
                )
            out[axis] += p[2 * pair] + p[2 * pair + 1]
        if any(o < 1 for o in out):
            raise ShapeError(codes.NON_POSITIVE_SIZE, f"padding leaves a size below 1: {tuple(out)}", "padding")
        return Inferred(outputs=((c, *out),))

    def to_torch(self, args, inputs, ctx):
        rank = rank_of(inputs[0])
        padding = args["padding"]
        items = list(padding.items) if isinstance(padding, Tup) else [Lit(v) for v in padding.known()]
        # one size for every side, else (begin, end) pairs from the last axis; the module takes all pairs
        pads = items[0] if len(items) == 1 else tup(items + [Lit(0)] * (2 * rank - len(items)))
        if args["value"].is_(0.0):
            return Module(f"nn.ZeroPad{rank}d", (pads,))
        return Module(f"nn.ConstantPad{rank}d", (pads, args["value"]))


class _Crop(LayerKind):
    family = "resample"
    drops_rows = True  # some input rows may reach no output (see LayerKind.drops_rows)
    shape_only = "like"  # to the other tensor's spatial size, none of its values
    min_rank = 1
    args = (
        Arg("like", "tensor", None, doc="crop to this tensor's spatial size"),
        Arg("size", "ints", None, positional=False),
    )

    def describe(self, args):
        size = args["size"]
        return (
            f"like {args['like']}"
            if args["like"] is not None
            else "to " + (fmt_shape(size) if isinstance(size, tuple) else str(size))
        )

    def target(self, args, inputs):
        shape = inputs[0]
        c, *spatial = shape
        if (args["like"] is None) == (args["size"] is None):
            raise ShapeError(
                codes.MISSING_ARGUMENT,
                f"{self.name} needs a tensor to match or a size (not both)",
                "like or size",
                f"write `{self.name}(skip)` or `{self.name}(size=(64, 64))`",
            )
        if args["like"] is not None:
            other = inputs[1]
            if len(other) != len(shape):
                raise ShapeError(
                    codes.RANK_MISMATCH, f"cannot crop {fmt_shape(shape)} like {fmt_shape(other)}: ranks differ", "like"
                )
            return list(other[1:])
        return list(per_axis(args["size"], len(spatial), "size"))

    def infer(self, args, inputs, ctx):
        shape = inputs[0]
        c, *spatial = shape
        target = self.target(args, inputs)
        if any(t > s for t, s in zip(target, spatial)) or any(t < 1 for t in target):
            raise ShapeError(
                codes.INVALID_RESHAPE,
                f"cannot crop {fmt_shape(shape)} to a spatial size of {fmt_shape(target)}",
                "crop larger than its input",
                "crop to a size no larger than the input",
            )
        return Inferred(outputs=((c, *target),))

    def to_torch(self, args, inputs, ctx):
        helper = self.name  # crop and center_crop are functions in the exported file (export/helpers.py)
        if not args["like"].is_(None):
            return Function(lambda xs: f"{helper}({xs[0]}, {xs[1]}.shape[2:])", helpers=(helper,))
        size = per_axis(args["size"].known(), rank_of(inputs[0]), "size")
        return Function(lambda xs: f"{helper}({xs[0]}, {Lit(tuple(size)).src()})", helpers=(helper,))


class Crop(_Crop):
    name = "crop"
    summary = "keep the top-left region of a given size (or of another tensor's size)"


class CenterCrop(_Crop):
    name = "center_crop"
    aliases = ("centercrop",)
    summary = "keep the central region of a given size (or of another tensor's size), as in U-Net"
