"""The window arithmetic's words and numbers (convdsl/layers/window.py), by hand: the E101 message
and label, the decimal shown, the sizes that divide, the padding rules, and the fixes offered, each
checked by redoing the division with the fix applied."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convdsl
from convdsl.layers.base import ShapeError
from convdsl.layers.window import Window, _decimal, _local_sizes, axis_names, axis_word, resolve_padding


def _e101(text: str, **options):
    analysis = convdsl.loads(text).analyze(**options)
    return [d for d in analysis.diagnostics if d.code.code in ("E101", "E102")]


def test_the_message_label_and_arithmetic_by_hand():
    # (16 + 2*1 - 3)/4 + 1 = 15/4 + 1 = 4.75, rounded down to 4; the width is the same
    (d,) = _e101("input x: 3 x 16 x 16\ny = x -> c: conv(8, 3, s=4, p=1)\n")
    assert d.message == (
        "convolution drops input rows: output height (16 + 2 - 3)/4 + 1 = 4.75 is rounded down to 4 "
        "(the same for the width)"
    )
    assert d.label == "1 input row of 16 never covered"


def test_a_width_only_says_columns_and_a_pool_says_pooling():
    # width 15, maxpool 2: (15 - 2)/2 + 1 = 7.5 -> 7, the last column lost
    (d,) = _e101("input x: 3 x 16 x 15\ny = x -> m: maxpool(2)\n")
    assert d.message == "pooling drops input columns: output width (15 + 0 - 2)/2 + 1 = 7.5 is rounded down to 7"
    assert d.label == "1 input column of 15 never covered"


def test_several_rows_lost_are_counted_in_the_plural():
    # 1-D, conv k=1 s=4 on 11: windows at 0, 4, 8 read rows 0, 4, 8; a fourth would read 12 (out of range):
    # nothing lost. k=2 s=4 on 11: windows 0-1, 4-5, 8-9 ... (11 - 2)/4 + 1 = 3.25 -> 3; row 10 is never read
    # by a 4th window either (it would start at 12): no loss. k=3, s=3, on 11: (11 - 3)/3 + 1 = 3.67 -> 3
    # windows 0-2, 3-5, 6-8: rows 9 and 10 lost.
    (d,) = _e101("input x: 1 x 11\ny = x -> c: conv(1, 3, s=3)\n")
    assert d.label == "2 input rows of 11 never covered"
    assert "output length (11 + 0 - 3)/3 + 1 = 3.667 is rounded down to 3" in d.message


def test_ceil_written_on_purpose_is_not_reported():
    # maxpool 3/2 ceil on 16: (16 - 3)/2 + 1 = 7.5 -> 8, as written: nothing to say, even with --strict;
    # the same with Caffe's rounding, which pools with ceil
    assert _e101("set rounding = caffe\ninput x: 1 x 16 x 16\ny = x -> m: maxpool(3, s=2)\n", strict=True) == []
    assert _e101("input x: 1 x 16 x 16\ny = x -> m: maxpool(3, s=2, ceil=true)\n", strict=True) == []


def test_strict_reports_a_rounding_that_drops_only_padding():
    # conv 3/2 p=1 on 16: (16 + 2 - 3)/2 + 1 = 8.5 -> 8; the last window ends on padded row 16 = the last
    # real row (15): only the right padding row is unused
    text = "input x: 1 x 16 x 16\ny = x -> c: conv(1, 3, s=2, p=1)\n"
    assert _e101(text) == []
    (d,) = _e101(text, strict=True)
    assert d.code.code == "E102"
    assert d.message == (
        "output height (16 + 2 - 3)/2 + 1 = 8.5 is rounded down to 8 (no input row it would read is dropped)"
    )


def test_round_floor_silences_and_round_ceil_too():
    assert _e101("input x: 1 x 15 x 16\ny = x -> m: maxpool(2, round=floor)\n") == []


@pytest.mark.parametrize(
    "numerator,stride,shown",
    [(15, 4, "4.75"), (1, 3, "1.333"), (2, 3, "1.667"), (16, 4, "5"), (1, 8, "1.125"), (0, 5, "1"), (5, 10, "1.5")],
)
def test_decimal(numerator, stride, shown):
    # numerator/stride + 1, to three places, trailing zeros dropped
    assert _decimal(numerator, stride) == shown


def test_window_properties_by_hand():
    w = Window(size=16, kernel=3, stride=4, pad_begin=1, pad_end=1, dilation=2)
    assert w.span == 5  # 2*(3-1) + 1
    assert w.numerator == 16 + 2 - 5
    assert not w.exact and w.floor_out() == 13 // 4 + 1 == 4
    assert w.arithmetic() == "(16 + 2 - 5)/4 + 1 = 4.25"
    assert str(w.ratio()) == "17/4"
    symbolic = Window(size="H", kernel=3, stride=2, pad_begin=1, pad_end=1)
    assert symbolic.arithmetic() == "(H + 2 - 3)/2 + 1"


@pytest.mark.parametrize(
    "size,kernel,stride,pad,word,text",
    [
        (16, 3, 4, 1, "height", "this layer divides evenly with an input height of 13 or 17"),
        (15, 2, 2, 0, "width", "this layer divides evenly with an input width of 14 or 16"),
        (2, 3, 4, 0, "length", "this layer divides evenly with an input length of 3"),  # 2 - 3 < 0: only above
    ],
)
def test_local_sizes(size, kernel, stride, pad, word, text):
    w = Window(size=size, kernel=kernel, stride=stride, pad_begin=pad, pad_end=pad)
    assert _local_sizes(w, word) == text
    for n in [int(s) for s in text.replace(" or", "").split()[-2:] if s.isdigit()]:
        assert (n + 2 * pad - kernel) % stride == 0  # each size named divides


def test_axis_names_and_words():
    assert axis_names(1) == ("L",) and axis_names(2) == ("H", "W") and axis_names(3) == ("D", "H", "W")
    assert axis_names(4) == ("S0", "S1", "S2", "S3")
    assert [axis_word(3, a) for a in range(3)] == ["depth", "height", "width"]
    assert axis_word(4, 1) == "axis S1"


def test_resolve_padding():
    assert resolve_padding("valid", (8, 8), (3, 3), (1, 1), (1, 1), "pytorch") == ((0, 0), (0, 0))
    # PyTorch 'same': total d(k - 1), the extra one on the right: k=4 -> (1, 2); k=5, d=2 -> 8 -> (4, 4)
    assert resolve_padding("same", (8, 8), (4, 5), (1, 1), (1, 2), "pytorch") == ((1, 2), (4, 4))
    # TensorFlow 'same': out = ceil(8/3) = 3, total = (3 - 1)*3 + 3 - 8 = 1 -> (0, 1); 7 with s=1, k=2 -> (0, 1)
    assert resolve_padding("same", (8, 7), (3, 2), (3, 1), (1, 1), "tensorflow") == ((0, 1), (0, 1))
    assert resolve_padding((1, 2), (8, 8), (3, 3), (1, 1), (1, 1), "pytorch") == ((1, 1), (2, 2))
    assert resolve_padding(3, (8, 8, 8), (3, 3, 3), (1, 1, 1), (1, 1, 1), "pytorch") == ((3, 3),) * 3
    with pytest.raises(ShapeError, match="padding='same' needs stride 1 in PyTorch"):
        resolve_padding("same", (8,), (3,), (2,), (1,), "pytorch")
    with pytest.raises(ShapeError, match="`padding` has 3 values but the input has 2 spatial axes"):
        resolve_padding((1, 1, 1), (8, 8), (3, 3), (1, 1), (1, 1), "pytorch")


def _fixes(text):
    (d,) = _e101(text)
    return {f.description: f for f in d.fixes}


def test_the_fixes_offered_each_make_the_division_whole():
    # maxpool 2 on 15 x 16: kernel (3, 2) with stride 2 written out: (15 - 3)/2 + 1 = 7 exactly
    fixes = _fixes("input x: 3 x 15 x 16\ny = x -> m: maxpool(2)\n")
    assert "use `kernel=(3, 2), stride=2`" in fixes
    assert (15 - 3) % 2 == 0 and (16 - 2) % 2 == 0
    assert "use `ceil=true`" in fixes
    assert "write `round=floor` to drop them on purpose (what PyTorch does)" in fixes
    # maxpool 3 with its stride written (2), on 16 x 15: kernel (4, 3): (16 - 4)/2 = 6, (15 - 3)/2 = 6; the stride
    # stays as written, so the fix does not repeat it
    fixes = _fixes("input x: 3 x 16 x 15\ny = x -> m: maxpool(3, s=2)\n")
    assert "use `kernel=(4, 3)`" in fixes
    # a convolution on 17 x 17, k=3 s=2 p=0: (17 - 3)/2 + 1 = 8 exact; on 16 x 17 the height is not:
    # padding 1 gives (16 + 2 - 3)/2 = 7.5, not whole; a kernel of 4 gives (16 - 4)/2 + 1 = 7
    fixes = _fixes("input x: 3 x 16 x 17\ny = x -> c: conv(8, 3, s=2)\n")
    assert "use `kernel=(4, 3)`" in fixes and (16 - 4) % 2 == 0
    assert not any(name.startswith("use `padding=") for name in fixes)


def test_a_padding_fix_is_offered_where_one_divides():
    # conv k=4 s=3 p=0 on 11: (11 - 4)/3 + 1 = 3.33; padding 1: (11 + 2 - 4)/3 = 3 exact
    fixes = _fixes("input x: 1 x 11\ny = x -> c: conv(1, 4, s=3)\n")
    assert "use `padding=1`" in fixes
    assert (11 + 2 * 1 - 4) % 3 == 0


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(size=st.integers(1, 40), k=st.integers(1, 6), s=st.integers(2, 5), d=st.integers(1, 3), p=st.integers(0, 3))
def test_the_padding_and_kernel_fixes_are_the_first_that_divide(size, k, s, d, p):
    """Where E101 is reported on a 1-D convolution: `padding=P` with P the smallest of p+1 .. p+s that makes
    (size + 2P - d(k-1) - 1) divisible by s, if any; `kernel=K` with K the first of k+1, k-1, k+2, k-2 that is at
    least 1, fits the padded input and divides; and always `round=floor`."""
    text = f"input x: 1 x {size}\ny = x -> c: conv(1, {k}, s={s}, p={p}, d={d})\n"
    found = _e101(text)
    if not found or found[0].code.code != "E101":
        return
    offered = [f.description for f in found[0].fixes]
    pads = [q for q in range(p + 1, p + s + 1) if (size + 2 * q - d * (k - 1) - 1) % s == 0]
    total = size + 2 * p
    kernels = [
        k + delta
        for delta in (1, -1, 2, -2)
        if k + delta >= 1 and d * (k + delta - 1) + 1 <= total and (total - d * (k + delta - 1) - 1) % s == 0
    ]
    assert [f for f in offered if f.startswith("use `padding=")] == ([f"use `padding={pads[0]}`"] if pads else [])
    assert [f for f in offered if f.startswith("use `kernel=")] == ([f"use `kernel={kernels[0]}`"] if kernels else [])
    assert "write `round=floor` to drop them on purpose (what PyTorch does)" in offered


def _diagnostics(text: str, **options):
    from convdsl.infer import analyze

    return [
        d for d in analyze(convdsl.loads(text), size_hints=False, **options).diagnostics if d.code.code[1:3] == "10"
    ]


def test_the_strict_report_in_full():
    # conv 3/2 p=1 on 16: (16 + 2 - 3)/2 + 1 = 8.5 -> 8, only padding dropped. Sizes that divide: 15 or 17
    # ((15 + 2 - 3) = 14, (17 + 2 - 3) = 16, both even); the kernel 4 divides ((16 + 2 - 4) = 14)
    (d,) = _diagnostics("input x: 1 x 16 x 16\ny = x -> c: conv(1, 3, s=2, p=1)\n", strict=True)
    assert (d.code.code, d.label, d.help) == (
        "E102",
        "inexact division",
        "this layer divides evenly with an input height of 15 or 17",
    )
    assert (d.span.line, d.span.column, d.span.end_column) == (2, 21, 22)  # the kernel argument, `3`
    assert [f.description for f in d.fixes] == [
        "use `kernel=4`",
        "write `round=floor` to drop the padding on purpose (what PyTorch does)",
    ]


def test_the_error_in_full():
    (d, *_) = _diagnostics("input x: 3 x 16 x 16\ny = x -> c: conv(8, 3, s=4, p=1)\n")
    assert (d.code.code, d.label, d.help) == (
        "E101",
        "1 input row of 16 never covered",
        "this layer divides evenly with an input height of 13 or 17",
    )
    assert (d.span.line, d.span.column, d.span.end_column) == (2, 21, 22)


def test_three_axes_name_the_others():
    # 15 on each axis, k=2, s=2: (15 - 2)/2 + 1 = 7.5 -> 7 everywhere, the last row, column and slice lost
    (d,) = _diagnostics("input x: 1 x 15 x 15 x 15\ny = x -> c: conv(1, 2, s=2)\n")
    assert d.message.endswith("is rounded down to 7 (the same for the height and width)")


def test_a_rounded_size_is_named_where_two_branches_disagree():
    # maxpool 2 (floor, on purpose) gives (15 - 2)/2 + 1 = 7.5 -> 7; conv 3/2 p=1 gives (15 + 2 - 3)/2 + 1 = 8
    text = (
        "input x: 1 x 15 x 15\na = x -> p: maxpool(2, round=floor)\nb = x -> c: conv(1, 3, s=2, p=1)\ny = add(a, b)\n"
    )
    (d,) = convdsl.loads(text).analyze().diagnostics
    assert "input 1 height: 15 at `x` -> 7 at `p` ((15 + 0 - 2)/2 + 1 = 7.5 -> 7)" in d.notes


def test_resolve_padding_errors_in_full():
    with pytest.raises(ShapeError) as raised:
        resolve_padding("same", (8,), (3,), (2,), (1,), "pytorch")
    err = raised.value
    assert err.code.code == "E008"  # argument-type
    assert (err.message, err.label, err.help, err.arg) == (
        "padding='same' needs stride 1 in PyTorch",
        "stride 2 with padding='same'",
        "give the padding as a number, or use `set rounding = tensorflow` for TensorFlow's 'same'",
        "padding",
    )
    with pytest.raises(ShapeError) as raised:
        resolve_padding((1, 1, 1), (8, 8), (3, 3), (1, 1), (1, 1), "pytorch")
    err = raised.value
    assert err.code.code == "E008"  # argument-type
    assert (err.message, err.label, err.help, err.arg) == (
        "`padding` has 3 values but the input has 2 spatial axes",
        "3 values",
        "give one value, or 2 values",
        "padding",
    )


@pytest.mark.parametrize(
    "window,expected",
    [
        # Caffe (BVLC pooling_layer.cpp): ceil((I + pb + pe - k)/s) + 1, then one less if the last window
        # starts past the input and its left padding, only when the layer pads at all.
        (Window(size=3, kernel=1, stride=2, pad_begin=0, pad_end=1), 2),  # ceil(3/2) + 1 = 3, start 4 >= 3: 2
        (Window(size=4, kernel=3, stride=2, pad_begin=0, pad_end=2), 2),  # ceil(3/2) + 1 = 3, start 4 >= 4: 2
        (Window(size=5, kernel=1, stride=3, pad_begin=0, pad_end=0), 3),  # ceil(4/3) + 1 = 3, no padding: kept
    ],
)
def test_caffe_pool_clipping(window, expected):
    from convdsl.layers.window import pool_out

    assert pool_out(window, ceil=True, rounding="caffe") == expected


def test_pytorch_ceil_keeps_a_window_that_starts_in_the_last_real_row():
    # maxpool k=2 s=2 p=1 ceil on 4: (4 + 2 - 2)/2 + 1 = 3; the third window starts at padded 4, the last real
    # row (padded rows: 0 pad, 1-4 real), so it stays: torch's max_pool1d gives 3
    from convdsl.layers.window import pool_out

    assert pool_out(Window(size=4, kernel=2, stride=2, pad_begin=1, pad_end=1), ceil=True, rounding="pytorch") == 3


@pytest.mark.parametrize(
    "window,text",
    [
        (Window(size=2, kernel=1, stride=2, pad_begin=0, pad_end=0), "1 or 3"),  # (1 - 1), (3 - 1) even
        (Window(size=2, kernel=3, stride=3, pad_begin=0, pad_end=0), "3"),  # 0 is no size: only 3
    ],
)
def test_local_sizes_at_the_bottom(window, text):
    assert _local_sizes(window, "length") == f"this layer divides evenly with an input length of {text}"


def test_a_huge_dilated_kernel_takes_the_short_count():
    """Past a million rows x taps, lost_rows counts only the rows past the last window: exact where the
    windows leave no gap (first case), a lower bound otherwise (second: 750,000 even rows fall between the
    taps of the windows there are, and would be read by more; the count says 1). The lint still fires."""
    from test_oracles import windows_read

    for size, k, s, d, exact in [(3_000_001, 2, 2, 1_500_000, True), (3_000_003, 2, 2, 1_499_999, False)]:
        out = (size - d * (k - 1) - 1) // s + 1
        w = Window(size=size, kernel=k, stride=s, pad_begin=0, pad_end=0, dilation=d)
        truth = len(windows_read(size, k, s, 0, d) - windows_read(size, k, s, 0, d, out))
        # rows past the last window: size - ((out - 1) * s + d * (k - 1) + 1)
        past = max(0, size - ((out - 1) * s + d * (k - 1) + 1))
        assert w.lost_rows(out) == past
        assert (past == truth) if exact else (1 <= past < truth == 750_000)


def test_caffe_clips_when_only_the_left_is_padded():
    # size 3, k=1, s=2, padding (1, 0): ceil((3 + 1 - 1)/2) + 1 = 3; the third window starts at padded 4, past
    # the input and its left padding (3 + 1): clipped to 2, as the layer pads
    from convdsl.layers.window import pool_out

    assert pool_out(Window(size=3, kernel=1, stride=2, pad_begin=1, pad_end=0), ceil=True, rounding="caffe") == 2


def test_the_strict_report_names_the_axis_sizes_that_divide():
    # height 16 with conv 3/2 p=1: (16 + 2 - 3)/2 + 1 = 8.5; heights 15 and 17 divide ((15 + 2 - 3) = 14,
    # (17 + 2 - 3) = 16); the width 15 already does ((15 + 2 - 3) = 14)
    (d,) = convdsl.loads("input x: 1 x 16 x 15\ny = x -> c: conv(1, 3, s=2, p=1)\n").analyze(strict=True).diagnostics
    offered = [f.description for f in d.fixes]
    assert "give `x` a height of 15" in offered and "give `x` a height of 17" in offered


def test_a_padding_fix_keeps_the_other_axis_padding():
    # conv 4/3 on 11 x 10: the height (11 - 4)/3 = 2.33 loses a row, the width (10 - 4)/3 = 2 divides; padding 1
    # on the height divides ((11 + 2 - 4) = 9), the width keeps its 0; a kernel of 5 on the height: (11 - 5) = 6
    (d,) = _diagnostics("input x: 1 x 11 x 10\ny = x -> c: conv(1, 4, s=3)\n")
    assert [f.description for f in d.fixes][:2] == ["use `padding=(1, 0)`", "use `kernel=(5, 4)`"]


def _every_real_row_read(size, k, s, pb, d, out):
    """By enumeration: window o reads rows o*s + t*d (padded coordinates) for t < k; the real rows are
    pb .. pb + size - 1."""
    read = {o * s + t * d for o in range(out) for t in range(k)}
    return all(r in read for r in range(pb, pb + size))


@settings(max_examples=400, deadline=None)
@given(
    size=st.integers(1, 14),
    k=st.integers(1, 5),
    s=st.integers(1, 5),
    d=st.integers(1, 4),
    pb=st.integers(0, 3),
    out=st.integers(0, 9),
)
def test_reads_every_row_against_an_enumeration(size, k, s, d, pb, out):
    # any `out` (not only the one the rounding gives): the answer is about those windows, whatever their count
    assert Window(size, k, s, pb, 0, d).reads_every_row(out) is _every_real_row_read(size, k, s, pb, d, out)


@pytest.mark.parametrize(
    ("window", "out", "expected"),
    [
        # k=3 s=2 on 7 rows, no padding: windows 0-2, 2-4, 4-6 read every row
        (Window(7, 3, 2, 0, 0), 3, True),
        # ... two windows stop at row 4: rows 5 and 6 are never read
        (Window(7, 3, 2, 0, 0), 2, False),
        # k=1 s=2: only the even rows are read, the odd residue has no tap at all
        (Window(6, 1, 2, 0, 0), 3, False),
        # k=2 s=2 d=2 reads rows 0, 2 / 2, 4 / ...: never an odd row
        (Window(6, 2, 2, 0, 0, 2), 3, False),
        # k=2 s=2 d=1 on one row padded by 1 on the left: window 0 reads rows 0-1, row 1 is the real one
        (Window(1, 2, 2, 1, 0), 1, True),
        # stride larger than the size: the one real row (at 1 after padding 1) must be hit by a tap
        (Window(1, 1, 3, 1, 0), 1, False),
        (Window(1, 2, 3, 1, 0), 1, True),
        # no windows at all read nothing
        (Window(4, 3, 1, 0, 0), 0, False),
        # a kernel of more than 4,096 taps is not decided (False), even where it would read every row
        (Window(5000, 4097, 1, 0, 0), 904, False),
        (Window(5000, 4096, 1, 0, 0), 905, True),
    ],
)
def test_reads_every_row_by_hand(window, out, expected):
    assert window.reads_every_row(out) is expected


def _lost_by_enumeration(size, k, s, pb, d, out):
    """Real rows (padded pb .. pb + size - 1) some window of any count reads but none of the first `out`."""
    real = range(pb, pb + size)
    now = {o * s + t * d for o in range(out) for t in range(k)}
    ever = {o * s + t * d for o in range(pb + size) for t in range(k)}
    return sum(1 for r in real if r in ever and r not in now)


@settings(max_examples=300, deadline=None)
@given(size=st.integers(1, 30), k=st.integers(1, 6), s=st.integers(1, 6), pb=st.integers(0, 3), pe=st.integers(0, 3))
def test_lost_rows_of_a_symbolic_size_by_enumeration(size, k, s, pb, pe):
    """A symbolic size counts only the last window's tail: rows past its end that a next window would
    read. Without dilation that is exact where the kernel is at least the stride (no gaps between windows),
    and where the tail stays inside the gap after the last window (nothing lost)."""
    from convdsl.symbolic import Expr

    numerator = size + pb + pe - k
    if numerator < 0:
        return
    out = numerator // s + 1
    tail = pb + size - 1 - ((out - 1) * s + k - 1)  # real rows past the last window's last tap
    if k < s and tail > s - k:
        return  # rows in the gap are then counted too (see benchmarks/mutation/RESULTS.md)
    lost = Window(Expr.symbol("H", size), k, s, pb, pe).lost_rows(out)
    assert lost == _lost_by_enumeration(size, k, s, pb, 1, out)


@pytest.mark.parametrize(
    ("size", "k", "s", "pb", "expected"),
    [
        # k=3 s=2 on 8 rows: windows 0-2, 2-4, 4-6; row 7 would be read by a fourth window (6-8): 1 lost
        (8, 3, 2, 0, 1),
        # k=2 s=3 on 6 rows: windows 0-1, 3-4; row 5 is in the gap only: tail 1 = s - k, nothing lost
        (6, 2, 3, 0, 0),
        # k=1 s=1: no tail at all
        (5, 1, 1, 0, 0),
        # padding 1 on the left, k=3 s=2 on 8 rows: padded rows 1-8, windows 0-2, 2-4, 4-6, 6-8: none lost
        (8, 3, 2, 1, 0),
    ],
)
def test_lost_rows_of_a_symbolic_size_by_hand(size, k, s, pb, expected):
    from convdsl.symbolic import Expr

    out = (size + pb - k) // s + 1
    assert Window(Expr.symbol("H", size), k, s, pb, 0).lost_rows(out) == expected


@pytest.mark.parametrize("out", [1, 2, 3])
def test_lost_rows_above_the_budget_count_the_tail_only(out):
    """Over a million row-taps to enumerate, `lost_rows` counts only the rows past the last window
    (the docstring's "count only past the last window"); at a million or fewer it enumerates. A 1-tap
    kernel with stride 2 makes the two differ: the odd rows past the last window sit in the gaps between
    taps, which no window reads, so the enumeration leaves them out and the short count does not."""
    # rows from low = out*2 to the last real row, size - 1: (size - 1 - 2*out + 1) row-taps of 1 tap
    at_budget = 1_000_000 + 2 * out  # exactly 1,000,000 rows to enumerate
    w = Window(at_budget, 1, 2, 0, 0)
    # enumerated: the even rows 2*out, ..., size - 2 are read by later windows: (size - 2*out)/2 of them
    assert w.lost_rows(out) == (at_budget - 2 * out) // 2
    over = Window(at_budget + 1, 1, 2, 0, 0)  # 1,000,001 rows: the short count, rows past window out-1's row
    assert over.lost_rows(out) == at_budget + 1 - 1 - (out - 1) * 2


@settings(max_examples=400, deadline=None)
@given(
    size=st.integers(1, 14),
    k=st.integers(1, 5),
    s=st.integers(1, 5),
    d=st.integers(1, 4),
    pb=st.integers(0, 4),
    out=st.integers(0, 9),
)
def test_lost_rows_for_any_window_count_by_enumeration(size, k, s, d, pb, out):
    # the rows some window reads but none of the first `out`, whatever `out` is (padding rows never count)
    assert Window(size, k, s, pb, 0, d).lost_rows(out) == _lost_by_enumeration(size, k, s, pb, d, out)


def test_a_lost_row_error_offers_the_nearest_input_sizes_that_pass():
    # 1-D conv 3/4 p=1 on 16: (16 + 2 - 3)/4 + 1 = 4.75 -> 4 windows reading padded rows 0-2, 4-6, 8-10, 12-14;
    # the last real row (padded 16) would be read by a fifth: E101. The nearest lengths without a lost row:
    # 17 divides ((17 + 2 - 3) = 16); 15 does not divide (14/4), but its last real row, padded 15, falls in
    # the gap after 12-14 that no window of any count reads, so nothing is lost
    analysis = convdsl.loads("input x: 1 x 16\ny = x -> c: conv(1, 3, s=4, p=1)\n").analyze()
    (d,) = [d for d in analysis.diagnostics if d.code.code == "E101"]
    offered = [f.description for f in d.fixes]
    assert "give `x` a length of 15" in offered and "give `x` a length of 17" in offered


def test_the_strict_report_on_a_pooling_offers_ceil():
    # maxpool 3/2 p=1 on 16: (16 + 2 - 3)/2 + 1 = 8.5 -> 8; windows start at padded 0, 2, ..., 14 and the
    # last reads 14-16, the last real row: only padding dropped (E102 under --strict). ceil=true gives
    # ceil(15/2) + 1 = 9 windows, the last starting at 16 < 16 + 1, so it is kept
    (d,) = _diagnostics("input x: 1 x 16\ny = x -> m: maxpool(3, s=2, p=1)\n", strict=True)
    assert d.code.code == "E102"
    assert "use `ceil=true`" in [f.description for f in d.fixes]


def test_under_darknet_rounding_the_floor_fix_names_darknet():
    # conv 3/2 on 16 without padding: (16 - 3)/2 + 1 = 7.5 -> 7, row 15 lost; darknet rounds convolutions down
    (d,) = _diagnostics("set rounding = darknet\ninput x: 1 x 16\ny = x -> c: conv(1, 3, s=2)\n")
    assert d.code.code == "E101"
    assert "write `round=floor` to drop them on purpose (what darknet does)" in [f.description for f in d.fixes]


def test_ceil_written_acknowledges_the_rounding_of_a_dilated_pooling_too():
    """README: writing the rounding on the layer (`ceil=true`) acknowledges it. A dilated pooling is the
    one case where that matters: maxpool 2/2 with dilation 3 (extent 4) on 7 rows, ceil: ceil(3/2) + 1 = 3
    windows read rows (0, 3), (2, 5), (4, 7 = padding), as torch.nn.functional.max_pool1d(ceil_mode=True)
    gives 3 outputs; row 6 is read by none (a fourth window would read it), and no E101 is reported."""
    analysis = convdsl.loads("input x: 1 x 7\ny = x -> m: maxpool(2, s=2, d=3, ceil=true)\n").analyze()
    assert analysis.shapes[("m", 0)] == (1, 3)
    assert not [d for d in analysis.diagnostics if d.code.code in ("E101", "E102")]
    # the same layer without ceil: (7 - 4)/2 + 1 = 2.5 -> 2 windows reading 0, 3, 2, 5; rows 4 and 6 (read by
    # a third window, 4 and 7, and a fourth, 6 and 9) are lost; row 1 no window of any count reads
    floor = convdsl.loads("input x: 1 x 7\ny = x -> m: maxpool(2, s=2, d=3)\n").analyze()
    (d,) = [d for d in floor.diagnostics if d.code.code == "E101"]
    assert d.label == "2 input rows of 7 never covered"
