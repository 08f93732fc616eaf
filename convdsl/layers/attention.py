"""Attention: multi-head (self, cross, causal, grouped-query), the matmul of two
activations, Swin's shifted-window attention and patch merging.

Tokens are batch-first `(L, D)` tensors (PyTorch's `batch_first=True`); Swin's
are `(H, W, C)`, as torchvision keeps them. MACs follow torchvision's `_ops`:
the projections as linear layers, plus q·kᵀ and attn·v (L·L·D each at sequence
length L; Lq·Lk·D each for cross-attention), nothing else (softmax, scaling,
the relative-position bias and masks are not multiply-accumulates of a weight).
"""

from __future__ import annotations

from .. import diagnostics as codes
from .ops import Function, Module
from .base import RF, Arg, Inferred, LayerKind, ShapeError, fmt_shape, prod


def _tokens(shape, who: str, what: str = "input") -> tuple[int, int]:
    if len(shape) != 2:
        raise ShapeError(
            codes.RANK_MISMATCH,
            f"{who} takes batch-first tokens (L x D), got a {fmt_shape(shape)} {what}",
            f"{len(shape)} axes",
            "make tokens first, e.g. `flatten(2) -> transpose(1, 2)` from C x H x W",
        )
    return shape[0], shape[1]


class Attention(LayerKind):
    name = "attention"
    aliases = ("multihead_attention", "mha", "self_attention")
    family = "linear"  # drawn as the projections it is made of
    summary = (
        "multi-head attention on L x D tokens (nn.MultiheadAttention, batch-first); "
        "`memory=` makes it cross-attention, `kv_heads=` grouped-query"
    )
    args = (
        Arg("heads", "int", aliases=("num_heads",)),
        Arg(
            "memory",
            "tensor",
            None,
            positional=False,
            aliases=("kv",),
            doc="keys and values come from this tensor (cross-attention)",
        ),
        Arg("bias", "bool", True, positional=False),
        Arg("causal", "bool", False, positional=False),
        Arg("kv_heads", "int", None, positional=False, aliases=("num_kv_heads",)),
        Arg("dropout", "float", 0.0, positional=False),
    )

    def describe(self, args):
        parts = [f"{args['heads']} heads"]
        if args.get("kv_heads") not in (None, args["heads"]):
            parts.append(f"{args['kv_heads']} kv")
        if args["causal"]:
            parts.append("causal")
        return ", ".join(parts)

    @staticmethod
    def geometry(args, inputs):
        """(Lq, D, Lk, Dm, Dk): query length and width, memory length and width, key/value width."""
        lq, d = _tokens(inputs[0], "attention")
        lk, dm = _tokens(inputs[1], "attention", "memory") if len(inputs) > 1 else (lq, d)
        heads, kv = args["heads"], args.get("kv_heads")
        kv = heads if kv is None else kv
        if heads < 1 or d % heads:
            raise ShapeError(
                codes.GROUPS_MISMATCH,
                f"{heads} heads do not divide the width {d}",
                f"{d} % {heads} = {d % heads if heads > 0 else d}",
                "use a number of heads that divides the last axis",
                arg="heads",
            )
        if kv < 1 or heads % kv:
            raise ShapeError(
                codes.GROUPS_MISMATCH,
                f"kv_heads={kv} does not divide heads={heads}",
                "kv_heads",
                "each key/value head serves a whole number of query heads",
                arg="kv_heads",
            )
        if args["causal"] and lq != lk:
            raise ShapeError(
                codes.MERGE_MISMATCH,
                f"a causal mask needs as many queries as keys, got {lq} and {lk}",
                "causal",
                "drop causal=true for cross-attention",
                arg="causal",
            )
        if not 0 <= args["dropout"] < 1:
            raise ShapeError(
                codes.ARGUMENT_TYPE, f"dropout must be in [0, 1), got {args['dropout']}", "dropout", arg="dropout"
            )
        return lq, d, lk, dm, d // heads * kv

    def infer(self, args, inputs, ctx):
        lq, d, lk, dm, dk = self.geometry(args, inputs)
        bias = args["bias"]
        weights = d * d + 2 * dm * dk + d * d  # q, k, v and out projections
        biases = (d + 2 * dk + d) if bias else 0
        macs = lq * d * d + 2 * lk * dm * dk + lq * d * d + 2 * lq * lk * d
        # self-attention: every token sees every token, so the whole of the axes the sequence runs along
        # (a causal token sees those before it: the whole, for the last one); cross-attention's field is
        # its memory's, which the queries' axes do not hold
        rf = RF(whole=True, dims=(0,)) if len(inputs) == 1 else None
        return Inferred(outputs=((lq, d),), params=weights + biases, macs=macs, rf=rf)

    @staticmethod
    def matmul_macs(args, inputs) -> int:
        """q·kᵀ and attn·v: the part of the MACs that is not a projection (summary labels it)."""
        lq, d, lk, _, _ = Attention.geometry(args, inputs)
        return 2 * lq * lk * d

    def to_torch(self, args, inputs, ctx):
        d = inputs[0][-1]
        memory = len(inputs) > 1
        dm = inputs[1][-1] if memory else d
        heads, kv = args["heads"], args["kv_heads"]
        options = []
        if not args["bias"].is_(True):
            options.append(("bias", args["bias"]))
        if not args["causal"].is_(False):
            options.append(("causal", args["causal"]))
        if not args["dropout"].is_(0.0):
            options.append(("dropout", args["dropout"]))
        grouped = not kv.is_(None) and not (kv.static and heads.static and kv.known() == heads.known())
        if grouped:
            if memory:
                options.insert(0, ("kdim", dm))
            return Module("GroupedQueryAttention", (d, heads, kv), options, helpers=("GroupedQueryAttention", "F"))
        if memory and not (dm.static and d.static and dm.known() == d.known()):
            options.insert(0, ("kdim", dm))
            options.insert(1, ("vdim", dm))
        return Module("Attention", (d, heads), options, helpers=("Attention",))


class MatMul(LayerKind):
    name = "matmul"
    aliases = ("bmm",)
    family = "linear"  # drawn as the projections it is made of
    summary = "batched matrix product of two tensors, as torch.matmul (either side may be transposed)"
    args = (
        Arg("other", "tensor", doc="the right-hand side"),
        Arg("transpose_a", "bool", False, positional=False),
        Arg("transpose_b", "bool", False, positional=False),
    )

    def describe(self, args):
        return ", ".join(t for t, on in (("aᵀ", args["transpose_a"]), ("bᵀ", args["transpose_b"])) if on)

    def infer(self, args, inputs, ctx):
        a, b = inputs
        for shape, side in ((a, "left"), (b, "right")):
            if len(shape) < 2:
                raise ShapeError(
                    codes.RANK_MISMATCH,
                    f"matmul needs matrices (at least 2 axes besides the batch), the {side} side is {fmt_shape(shape)}",
                    f"{len(shape)} axis",
                    "reshape it to n x k first",
                )
        if args["transpose_a"]:
            a = (*a[:-2], a[-1], a[-2])
        if args["transpose_b"]:
            b = (*b[:-2], b[-1], b[-2])
        if a[-1] != b[-2]:
            raise ShapeError(
                codes.MERGE_MISMATCH,
                f"matmul of {fmt_shape(a)} by {fmt_shape(b)}: the inner sizes differ ({a[-1]} vs {b[-2]})",
                f"{a[-1]} vs {b[-2]}",
                "transpose one side with transpose_a= or transpose_b=",
            )
        lead_a, lead_b = a[:-2], b[:-2]
        if len(lead_a) != len(lead_b):
            raise ShapeError(
                codes.MERGE_MISMATCH,
                f"matmul of tensors with different ranks: {fmt_shape(a)} and {fmt_shape(b)}",
                "ranks differ",
                "with the batch in front, both need the same rank",
            )
        lead = []
        for x, y in zip(lead_a, lead_b):
            if x != y and 1 not in (x, y):
                raise ShapeError(
                    codes.MERGE_MISMATCH,
                    f"matmul's leading axes do not broadcast: {fmt_shape(a)} and {fmt_shape(b)}",
                    f"{x} vs {y}",
                    "sizes must be equal, or 1 to broadcast",
                )
            lead.append(max(x, y))
        out = (*lead, a[-2], b[-1])
        return Inferred(outputs=(out,), macs=prod(out) * a[-1])

    def to_torch(self, args, inputs, ctx):
        ta, tb = args["transpose_a"].known(), args["transpose_b"].known()
        a_shape, b_shape = inputs

        def side(x, flip):
            return f"{x}.transpose(-2, -1)" if flip else x

        if len(a_shape) > 2:  # a leading axis: broadcast, so a size of 1 on one side takes the other's
            channels = b_shape[0] if a_shape[0].static and a_shape[0].known() == 1 else a_shape[0]
        else:  # (n, k) @ (k, m): dim 1 is n, or k when a is transposed
            channels = a_shape[-1] if ta else a_shape[0]
        return Function(lambda xs: f"torch.matmul({side(xs[0], ta)}, {side(xs[1], tb)})", channels=(channels,))


def _window_grid(args, shape, who):
    if len(shape) != 3:
        raise ShapeError(
            codes.RANK_MISMATCH,
            f"{who} takes H x W x C tokens, got a {fmt_shape(shape)} tensor",
            f"{len(shape)} axes",
            "permute a C x H x W tensor with `permute(0, 2, 3, 1)`",
        )
    return shape


class WindowAttention(LayerKind):
    name = "window_attention"
    aliases = ("shifted_window_attention",)
    family = "linear"  # drawn as the projections it is made of
    summary = (
        "Swin's (shifted) window attention on H x W x C tokens, with a relative-position bias "
        "(torchvision's ShiftedWindowAttention)"
    )
    args = (
        Arg("heads", "int", aliases=("num_heads",)),
        Arg("window", "ints", aliases=("window_size",)),
        Arg("shift", "ints", 0, aliases=("shift_size",)),
        Arg("qkv_bias", "bool", True, positional=False),
        Arg("proj_bias", "bool", True, positional=False),
        Arg("pad", "bool", False, positional=False, doc="pad H and W up to whole windows, as torchvision does"),
    )

    def describe(self, args):
        window = args["window"]
        text = f"{args['heads']} heads, {'x'.join(map(str, window)) if isinstance(window, tuple) else window}"
        shift = args["shift"]
        return text + (f", shift {shift}" if shift not in (0, (0, 0)) else "")

    @staticmethod
    def _pair(value, name):
        if isinstance(value, tuple):
            if len(value) != 2:
                raise ShapeError(
                    codes.ARGUMENT_TYPE, f"`{name}` needs one value or two (height, width)", name, arg=name
                )
            return value
        return (value, value)

    def geometry(self, args, shape):
        h, w, c = _window_grid(args, shape, "window_attention")
        wh, ww = self._pair(args["window"], "window")
        sh, sw = self._pair(args["shift"], "shift")
        heads = args["heads"]
        if wh < 1 or ww < 1:
            raise ShapeError(codes.ARGUMENT_TYPE, "the window must be at least 1 x 1", "window", arg="window")
        if heads < 1 or c % heads:
            raise ShapeError(
                codes.GROUPS_MISMATCH,
                f"{heads} heads do not divide the {c} channels",
                f"{c} % {heads} = {c % heads if heads > 0 else c}",
                arg="heads",
            )
        if not (0 <= sh < wh and 0 <= sw < ww):
            raise ShapeError(
                codes.ARGUMENT_TYPE,
                f"the shift ({sh}, {sw}) must be smaller than the window ({wh}, {ww})",
                "shift",
                "torchvision uses half the window",
                arg="shift",
            )
        ph, pw = -(-h // wh) * wh, -(-w // ww) * ww
        if (ph, pw) != (h, w) and not args["pad"]:
            axes = " and ".join(word for word, size, win in (("height", h, wh), ("width", w, ww)) if size % win)
            raise ShapeError(
                codes.NON_INTEGER_DIVISION,
                f"the {wh} x {ww} window does not tile the {h} x {w} grid ({axes})",
                f"{h} x {w} is not a multiple of {wh} x {ww}",
                f"give the input a size whose grid here is {ph} x {pw}, or `pad=true` to pad as torchvision does",
                arg="window",
            )
        return ph, pw, c, wh, ww, heads

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        ph, pw, c, wh, ww, heads = self.geometry(args, shape)
        tokens, n = ph * pw, wh * ww
        windows = (ph // wh) * (pw // ww)
        params = 3 * c * c + c * c + (2 * wh - 1) * (2 * ww - 1) * heads
        params += (3 * c if args["qkv_bias"] else 0) + (c if args["proj_bias"] else 0)
        macs = tokens * 4 * c * c + 2 * windows * n * n * c
        # each token sees the tokens of its window (shifted or not): a w x w window on the grid's two axes
        rf = RF(((wh, 1), (ww, 1)), dims=(0, 1))
        return Inferred(outputs=(shape,), params=params, buffers=n * n, macs=macs, rf=rf)

    def to_torch(self, args, inputs, ctx):
        c = inputs[0][-1]
        options = [(name, args[name]) for name in ("qkv_bias", "proj_bias") if not args[name].is_(True)]
        return Module(
            "ShiftedWindowAttention",
            (c, args["window"], args["shift"], args["heads"]),
            options,
            helpers=("ShiftedWindowAttention", "F"),
        )


class PatchMerging(LayerKind):
    name = "patch_merging"
    family = "linear"  # drawn as the projections it is made of
    summary = "Swin's patch merging: 2x2 neighbours concatenated (4C), layer norm, linear to 2C, on H x W x C"
    args = (
        Arg("eps", "float", 1e-5, positional=False),
        Arg("pad", "bool", False, positional=False, doc="pad odd sizes, as torchvision does"),
    )

    def infer(self, args, inputs, ctx):
        (shape,) = inputs
        h, w, c = _window_grid(args, shape, "patch_merging")
        if (h % 2 or w % 2) and not args["pad"]:
            raise ShapeError(
                codes.NON_INTEGER_DIVISION,
                f"patch merging halves a {h} x {w} grid with an odd size",
                f"{h} x {w}",
                "give the input an even grid here, or `pad=true` to pad as torchvision does",
            )
        oh, ow = -(-h // 2), -(-w // 2)
        return Inferred(
            outputs=((oh, ow, 2 * c),),
            params=2 * 4 * c + 4 * c * 2 * c,
            macs=oh * ow * 4 * c * 2 * c,
            rf=RF(((2, 2), (2, 2)), dims=(0, 1)),  # 2 x 2 neighbours into one token
        )

    def to_torch(self, args, inputs, ctx):
        options = [] if args["eps"].is_(1e-5) else [("eps", args["eps"])]
        return Module("PatchMerging", (inputs[0][-1],), options, helpers=("PatchMerging", "F"))


KINDS = (Attention, MatMul, WindowAttention, PatchMerging)

__all__ = ["KINDS"]
