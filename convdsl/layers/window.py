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

    def reads_every_row(self, out: int) -> bool:
        """Whether every real input row is read by at least one of the `out` windows (exactly; False where
        that is too costly to decide, a kernel of more than 4,096 taps, or a symbolic size).

        Row r (padded coordinates) is read through tap t by window o when r = o*s + t*d. Per tap, the
        windows read the progression t*d, t*d + s, ..., t*d + (out - 1)*s; the rows of one residue
        modulo s are read where those progressions' spans, merged, cover them.
        """
        s, d, k = self.stride, self.dilation, self.kernel
        if not all(isinstance(v, int) for v in (self.size, out, s, d, k)) or k > 4096 or out < 1:
            return False
        first, last = self.pad_begin, self.pad_begin + self.size - 1
        by_residue: dict[int, list[tuple[int, int]]] = {}
        for t in range(k):
            start = t * d
            by_residue.setdefault(start % s, []).append((start, start + (out - 1) * s))
        if min(s, self.size) > len(by_residue):
            return False  # some residue class of the real rows has no tap at all
        for offset in range(min(s, self.size)):
            row = first + offset  # the first real row of its residue class
            spans = by_residue.get(row % s)
            if spans is None:
                return False
            for start, end in sorted(spans):
                if start > row:
                    break
                if end >= row:
                    row = end + s
            if row <= last:
                return False
        return True

    def lost_rows(self, out: int) -> int:
        """Real input rows that more windows would read but the `out` windows there are do not.

        A window reads the rows its taps fall on (every `dilation`-th from its start), so
        rows no window of any count reads (a 1x1 kernel with stride 2; stride 2 with
        dilation 2 reads only even rows) are intended subsampling, not loss. Counted in
        padded coordinates: row r is read by window o through tap t when r = o*s + t*d.
        """
        s, d, k = self.stride, self.dilation, self.kernel
        first_real, last_real = self.pad_begin, self.pad_begin + self.size - 1
        if not all(isinstance(v, int) for v in (self.size, out)):  # a symbolic size: the last window's tail
            tail = last_real - ((out - 1) * s + self.span - 1)
            return tail if tail > max(0, s - self.span) else 0
        # a row before out*s is read by a window before `out` whenever it is read at all
        low = max(out * s, first_real)
        if low > last_real:
            return 0
        if (last_real - low + 1) * k > 1_000_000:  # a huge dilated kernel: count only past the last window
            return max(0, last_real - ((out - 1) * s + self.span - 1))
        lost = 0
        for r in range(low, last_real + 1):
            read_later = read_now = False
            for t in range(min(k, r // d + 1)):
                o, rest = divmod(r - t * d, s)
                if rest == 0:
                    if o < out:
                        read_now = True
                        break
                    read_later = True
            lost += read_later and not read_now
        return lost

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
                        codes.ARGUMENT_TYPE,
                        "padding='same' needs stride 1 in PyTorch",
                        f"stride {s} with padding='same'",
                        "give the padding as a number, or use `set rounding = tensorflow` for TensorFlow's 'same'",
                        arg="padding",
                    )
                total = d * (k - 1)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    if isinstance(padding, tuple):
        if len(padding) != rank:
            raise ShapeError(
                codes.ARGUMENT_TYPE,
                f"`padding` has {len(padding)} values but the input has {rank} spatial axes",
                f"{len(padding)} values",
                f"give one value, or {rank} values",
                arg="padding",
            )
        return tuple((p, p) for p in padding)
    return ((padding, padding),) * rank


def conv_out(w: Window) -> int:
    """floor((I + 2p - d(k-1) - 1)/s) + 1: PyTorch, Caffe and TensorFlow agree for convolutions."""
    return w.floor_out()


def pool_out(w: Window, *, ceil: bool, rounding: str, padded: bool | None = None) -> int:
    """padded: whether the layer pads any axis (Caffe clips every axis then); by default, this one."""
    if rounding == "caffe":
        if not ceil:
            return w.floor_out()
        # Caffe: ceil((I + 2p - k)/s) + 1, then clip only when the layer has padding: BVLC's
        # pooling_layer.cpp tests `if (pad_h_ || pad_w_)`, so padding on one axis clips them all.
        out = -(-w.numerator // w.stride) + 1
        if padded is None:
            padded = w.pad_begin > 0 or w.pad_end > 0
        if padded and (out - 1) * w.stride >= w.size + w.pad_begin:
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
    The fixes offered are checked by running inference again with each applied
    (fixcheck.py); inference adds the nearest input sizes that work (`axis=`).
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
        ctx.report(
            codes.NON_INTEGER_DIVISION,
            f"{layer} drops input {rows}s: output {word} {w.arithmetic()} is rounded {rounded} to {out}"
            + (f" (the same for the {' and '.join(also)})" if also else ""),
            f"{lost} input {rows}{'s' if lost != 1 else ''} of {w.size} never covered",
            _local_sizes(w, word),
            arg="kernel",
            fixes=division_fixes(windows, [a for a, _, _ in lossy], ctx, pool=pool, drops=True),
            axis=axis,
        )
        return
    if ctx.strict and rounding_stated is None and pending:
        axis, w, out = pending[0]
        word = axis_word(rank, axis)
        rounded = "down" if out == w.floor_out() else "up"
        ctx.report(
            codes.INEXACT_DIVISION,
            f"output {word} {w.arithmetic()} is rounded {rounded} to {out} (no input row it would read is dropped)",
            "inexact division",
            _local_sizes(w, word),
            arg="kernel",
            fixes=division_fixes(windows, [a for a, _, _ in pending], ctx, pool=pool, drops=False),
            axis=axis,
        )


def division_fixes(windows, axes, ctx, *, pool: bool, drops: bool) -> tuple:
    """Argument changes that may make the division exact on `axes` (each is checked before it is offered).

    A change of padding or kernel is made on every inexact axis at once, keeping the
    others' values; a pooling's stride that follows its kernel is then written out,
    so that the kernel changes and the stride does not.
    """
    if ctx.fix is None:
        return ()
    fixes = []
    explicit = ctx.explicit
    if all(w.pad_begin == w.pad_end for w in windows):
        pads = {}
        for axis in axes:
            w = windows[axis]
            pads[axis] = next(
                (
                    p
                    for p in range(w.pad_begin + 1, w.pad_begin + w.stride + 1)
                    if (w.size + 2 * p - w.span) % w.stride == 0
                ),
                None,
            )
        if None not in pads.values():
            value = _per_axis_text([pads.get(a, w.pad_begin) for a, w in enumerate(windows)])
            fixes.append(ctx.fix(f"use `padding={value}`", {"padding": value}))
    for delta in (1, -1, 2, -2):
        kernels = {}
        for axis in axes:
            w = windows[axis]
            k = w.kernel + delta
            span = w.dilation * (k - 1) + 1
            total = w.size + w.pad_begin + w.pad_end
            kernels[axis] = k if k >= 1 and span <= total and (total - span) % w.stride == 0 else None
        if None in kernels.values():
            continue
        value = _per_axis_text([kernels.get(a, w.kernel) for a, w in enumerate(windows)])
        changes = {"kernel": value}
        words = f"use `kernel={value}`"
        if pool and "stride" not in explicit:  # a pooling's stride is its kernel unless written
            stride = _per_axis_text([w.stride for w in windows])
            changes["stride"] = stride
            words = f"use `kernel={value}, stride={stride}`"
        fixes.append(ctx.fix(words, changes))
        break
    if pool:
        fixes.append(ctx.fix("use `ceil=true`", {"ceil": "true"}))
    fixes.append(
        ctx.fix(
            "write `round=floor` to drop "
            + ("them" if drops else "the padding")
            + f" on purpose (what {'darknet' if ctx.rounding == 'darknet' else 'PyTorch'} does)",
            {"round": "floor"},
        )
    )
    return tuple(f for f in fixes if f is not None)


def _per_axis_text(values) -> str:
    return str(values[0]) if len(set(values)) == 1 else "(" + ", ".join(map(str, values)) + ")"


def _local_sizes(w: Window, axis_word: str) -> str:
    """The layer's own input sizes that divide evenly: advice where the network's cannot be found."""
    remainder = w.numerator % w.stride
    below, above = w.size - remainder, w.size - remainder + w.stride
    sizes = f"{below} or {above}" if below > 0 else f"{above}"
    return f"this layer divides evenly with an input {axis_word} of {sizes}"
