"""Sliding-window arithmetic: output sizes under each framework's rounding rules,
and the non-integer-division lint.

PyTorch (default), Caffe and TensorFlow rules follow the reference table in the
project's shared reference notes; see tests/test_window.py for the vectors.
"""
from __future__ import annotations

from fractions import Fraction

from .. import diagnostics as codes
from ..records import frozen
from .base import ShapeError

AXIS_WORDS = {"L": "length", "D": "depth", "H": "height", "W": "width"}


def axis_names(rank: int) -> tuple[str, ...]:
    return {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}.get(rank, tuple(f"S{i}" for i in range(rank)))


def axis_word(rank: int, axis: int) -> str:
    name = axis_names(rank)[axis]
    return AXIS_WORDS.get(name, f"axis {name}")


@frozen
class Window:
    """One spatial axis of a convolution or pooling window."""

    size: int  # input size I
    kernel: int
    stride: int
    pad_begin: int
    pad_end: int
    dilation: int = 1

    @property
    def span(self) -> int:
        """Effective kernel extent d(k-1) + 1."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def numerator(self) -> int:
        return self.size + self.pad_begin + self.pad_end - self.span

    @property
    def exact(self) -> bool:
        return self.numerator % self.stride == 0

    def ratio(self) -> Fraction:
        return Fraction(self.numerator, self.stride) + 1

    def floor_out(self) -> int:
        return self.numerator // self.stride + 1

    def lost_rows(self, out: int) -> int:
        """Real input rows after the last window that no window covers.

        Rows skipped because the stride jumps over them anyway (a 1x1 kernel
        with stride 2) are intended subsampling, not loss.
        """
        last_covered = (out - 1) * self.stride + self.span - 1
        last_real = self.pad_begin + self.size - 1
        tail = last_real - last_covered
        gap = max(0, self.stride - self.span)
        return tail if tail > gap else 0

    def arithmetic(self) -> str:
        pads = self.pad_begin + self.pad_end
        if not isinstance(self.size, int):  # a symbolic size: the formula, no value
            return f"({self.size} + {pads} - {self.span})/{self.stride} + 1"
        shown = _decimal(self.numerator, self.stride)
        return f"({self.size} + {pads} - {self.span})/{self.stride} + 1 = {shown}"


def _decimal(numerator: int, stride: int) -> str:
    """numerator/stride + 1 (Window.ratio) as shown: whole, or to 3 places; in ints, as Fractions are slow."""
    whole, rest = divmod(numerator, stride)
    if rest == 0:
        return str(whole + 1)
    # the float of the exact ratio, as float(Fraction) gives it: int / int is correctly rounded
    return f"{(numerator + stride) / stride:.3f}".rstrip("0")


def resolve_padding(padding, sizes, kernels, strides, dilations, rounding: str, *, transposed=False):
    """Per-axis (begin, end) padding from an int, a tuple, 'same' or 'valid'."""
    rank = len(sizes)
    if padding == "valid":
        return tuple((0, 0) for _ in range(rank))
    if padding == "same":
        pads = []
        for size, k, s, d in zip(sizes, kernels, strides, dilations):
            if rounding == "tensorflow":
                out = -(-size // s)
                total = max(0, (out - 1) * s + d * (k - 1) + 1 - size)
            else:
                if s != 1:
                    raise ShapeError(
                        codes.ARGUMENT_TYPE, "padding='same' needs stride 1 in PyTorch",
                        f"stride {s} with padding='same'",
                        "give the padding as a number, or use `set rounding = tensorflow` for TensorFlow's 'same'",
                        arg="padding")
                total = d * (k - 1)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    if isinstance(padding, tuple):
        if len(padding) != rank:
            raise ShapeError(
                codes.ARGUMENT_TYPE, f"`padding` has {len(padding)} values but the input has {rank} spatial axes",
                f"{len(padding)} values", f"give one value, or {rank} values", arg="padding")
        return tuple((p, p) for p in padding)
    return ((padding, padding),) * rank


def conv_out(w: Window) -> int:
    """floor((I + 2p - d(k-1) - 1)/s) + 1: PyTorch, Caffe and TensorFlow agree for convolutions."""
    return w.floor_out()


def pool_out(w: Window, *, ceil: bool, rounding: str) -> int:
    if rounding == "caffe":
        if not ceil:
            return w.floor_out()
        # Caffe: ceil((I + 2p - k)/s) + 1, then clip only when there is padding.
        out = -(-w.numerator // w.stride) + 1
        if w.pad_begin > 0 and (out - 1) * w.stride >= w.size + w.pad_begin:
            out -= 1
        return out
    if not ceil:
        return w.floor_out()
    # PyTorch ceil mode: the last window must start inside the input or the left padding.
    out = -(-w.numerator // w.stride) + 1
    if (out - 1) * w.stride >= w.size + w.pad_begin:
        out -= 1
    return out


def check_division(windows, outs, ctx, *, layer: str, rounding_stated: str | None, pool: bool):
    """The signature lint: report a rounded output size, once per layer.

    Data loss (real rows no window covers) is an error unless the user wrote
    floor on purpose; rounding that only drops padding is reported with --strict.
    """
    rank = len(windows)
    inexact = [(axis, w, out) for axis, (w, out) in enumerate(zip(windows, outs)) if not w.exact and out > 0]
    if not inexact:  # the usual case: every axis divides evenly
        return
    for axis, w, out in inexact:
        ctx.extra.setdefault("rounded", {})[axis + 1] = f"{w.arithmetic()} -> {out}"
    pending = inexact if rounding_stated != "ceil" else []
    lossy = [(axis, w, out) for axis, w, out in pending if w.lost_rows(out)]
    if lossy and rounding_stated != "floor":
        axis, w, out = lossy[0]
        word = axis_word(rank, axis)
        lost = w.lost_rows(out)
        rows = "column" if word == "width" else "row"
        also = [axis_word(rank, a) for a, _, _ in lossy[1:]]
        rounded = "down" if out == w.floor_out() else "up"
        ctx.extra["division"] = DivisionFix(axis, _options(w, pool=pool))
        ctx.report(
            codes.NON_INTEGER_DIVISION,
            f"{layer} drops input {rows}s: output {word} {w.arithmetic()} is rounded {rounded} to {out}"
            + (f" (the same for the {' and '.join(also)})" if also else ""),
            f"{lost} input {rows}{'s' if lost != 1 else ''} of {w.size} never covered",
            _fix(w, pool=pool, axis_word=word),
            arg="kernel",
        )
        return
    if ctx.strict and rounding_stated is None and pending:
        axis, w, out = pending[0]
        word = axis_word(rank, axis)
        rounded = "down" if out == w.floor_out() else "up"
        ctx.extra["division"] = DivisionFix(axis, _options(w, pool=pool))
        ctx.report(
            codes.INEXACT_DIVISION,
            f"output {word} {w.arithmetic()} is rounded {rounded} to {out} (only padding is dropped)",
            "inexact division",
            _fix(w, pool=pool, axis_word=word),
            arg="kernel",
        )


@frozen
class DivisionFix:
    """What a division error can suggest besides input sizes: inference adds the network's nearest good sizes."""

    axis: int  # spatial axis of the layer
    options: tuple[str, ...]  # argument changes that make it exact, e.g. "padding=2"

    def help(self, sizes: str) -> str:
        if self.options:
            return "make it exact with " + ", ".join(f"`{o}`" for o in self.options) + f", or {sizes}"
        return sizes


def _options(w: Window, *, pool: bool) -> tuple[str, ...]:
    """Changes that make the division exact, smallest first."""
    options = []
    symmetric = w.pad_begin == w.pad_end
    if symmetric:
        for p in range(w.pad_begin + 1, w.pad_begin + w.stride + 1):
            if (w.size + 2 * p - w.span) % w.stride == 0 and (not pool or 2 * p <= w.kernel):
                options.append(f"padding={p}")
                break
    for k in (w.kernel + 1, w.kernel - 1, w.kernel + 2, w.kernel - 2):
        if k >= 1:
            span = w.dilation * (k - 1) + 1
            if (w.size + w.pad_begin + w.pad_end - span) % w.stride == 0 and span <= w.size + w.pad_begin + w.pad_end:
                options.append(f"kernel={k}")
                break
    if pool:
        options.append("ceil=true")
    return tuple(options)


def _fix(w: Window, *, pool: bool, axis_word: str) -> str:
    remainder = w.numerator % w.stride
    below, above = w.size - remainder, w.size - remainder + w.stride
    sizes = f"an input {axis_word} of {below} or {above}" if below > 0 else f"an input {axis_word} of {above}"
    return DivisionFix(0, _options(w, pool=pool)).help(f"use {sizes}")
