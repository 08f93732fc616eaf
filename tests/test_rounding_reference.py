"""Output-size rounding under the PyTorch, Caffe and TensorFlow settings, checked by
hand arithmetic (no torch needed).

Source of every number here: shared/reference/README.md (output-size rules by
framework), its formulas and its test-vector table (H, k, s, p) ->
[PyTorch floor, PyTorch ceil, Caffe pool, TF valid, TF same].
"""

from __future__ import annotations

import pytest

import convdsl
from convdsl.layers.window import resolve_padding

# (H, k, s, p): (PyTorch floor, PyTorch ceil, Caffe pool, TF valid, TF same, TF same padding before/after)
VECTORS = {
    (112, 3, 2, 0): (55, 56, 56, 55, 56, (0, 1)),
    (32, 1, 2, 0): (16, 16, 17, 16, 16, (0, 0)),
    (13, 2, 2, 0): (6, 7, 7, 6, 7, (0, 1)),
    (13, 2, 1, 0): (12, 12, 12, 12, 13, (0, 1)),
    (9, 4, 4, 2): (3, 3, 3, None, None, None),  # padded: no TF valid/same counterpart
}
IDS = [f"H{h}-k{k}-s{s}-p{p}" for h, k, s, p in VECTORS]


# The README's formulas, written out by hand.


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def pytorch_pool(h, k, s, p, ceil, d=1):
    """floor or ceil of (H + 2p - d(k-1) - 1)/s, + 1; with ceil, the last window must start inside
    the input or the left padding: if (out-1)s >= H + p then out -= 1."""
    n = h + 2 * p - d * (k - 1) - 1
    if not ceil:
        return n // s + 1
    out = ceil_div(n, s) + 1
    return out - 1 if (out - 1) * s >= h + p else out


def caffe_pool(h, k, s, p):
    """ceil((H + 2p - k)/s) + 1; only if p > 0 and (out-1)s >= H + p then out -= 1."""
    out = ceil_div(h + 2 * p - k, s) + 1
    return out - 1 if p > 0 and (out - 1) * s >= h + p else out


def tf_valid(h, k, s, d=1):
    return (h - d * (k - 1) - 1) // s + 1


def tf_same(h, k, s, d=1):
    out = ceil_div(h, s)
    total = max(0, (out - 1) * s + d * (k - 1) + 1 - h)
    return out, (total // 2, total - total // 2)


def conv_out(h, k, s=1, p=0, d=1):
    return (h + 2 * p - d * (k - 1) - 1) // s + 1


def transposed_out(h, k, s=1, p=0, d=1, op=0):
    return (h - 1) * s - 2 * p + d * (k - 1) + op + 1


# convdsl under each setting.


def shape_of(layer: str, h: int, rounding: str | None = None, channels: int = 4):
    """Output H of `layer` on a channels x H x H input; the shape is read even when the
    rounding lint (E101) reports dropped rows."""
    source = (
        f"set rounding = {rounding}\n" if rounding else ""
    ) + f"input x: {channels} x {h} x {h}\ny = x -> t: {layer}\n"
    analysis = convdsl.loads(source).analyze()
    (shape,) = analysis.layers["t"].output_shapes
    assert shape is not None, [f"{d.code.code} {d.message}" for d in analysis.diagnostics]
    assert shape[1] == shape[2]
    return shape[1]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_table_agrees_with_the_formulas(vector):
    h, k, s, p = vector
    floor_, ceil_, caffe, valid, same, same_pad = VECTORS[vector]
    assert pytorch_pool(h, k, s, p, ceil=False) == floor_
    assert pytorch_pool(h, k, s, p, ceil=True) == ceil_
    assert caffe_pool(h, k, s, p) == caffe
    if valid is not None:
        assert tf_valid(h, k, s) == valid
        assert tf_same(h, k, s) == (same, same_pad)


@pytest.mark.parametrize("pool", ["maxpool", "avgpool"])
@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_pytorch_pool_floor_and_ceil(vector, pool):
    h, k, s, p = vector
    floor_, ceil_ = VECTORS[vector][:2]
    assert shape_of(f"{pool}({k}, s={s}, p={p})", h) == floor_
    assert shape_of(f"{pool}({k}, s={s}, p={p})", h, "pytorch") == floor_
    assert shape_of(f"{pool}({k}, s={s}, p={p}, ceil=true)", h) == ceil_


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_pytorch_conv_is_floor(vector):
    h, k, s, p = vector
    assert shape_of(f"conv(8, {k}, s={s}, p={p})", h) == VECTORS[vector][0]


@pytest.mark.parametrize("pool", ["maxpool", "avgpool"])
@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_caffe_pool(vector, pool):
    h, k, s, p = vector
    caffe = VECTORS[vector][2]
    assert shape_of(f"{pool}({k}, s={s}, p={p})", h, "caffe") == caffe
    # Caffe's convolution rounds down, like PyTorch's
    assert shape_of(f"conv(8, {k}, s={s}, p={p})", h, "caffe") == VECTORS[vector][0]


TF_VECTORS = [v for v in VECTORS if VECTORS[v][3] is not None]
TF_IDS = [i for i, v in zip(IDS, VECTORS) if VECTORS[v][3] is not None]


@pytest.mark.parametrize(
    "layer",
    ["conv(8, {k}, s={s}, p={pad})", "maxpool({k}, s={s}, p={pad})", "avgpool({k}, s={s}, p={pad})"],
    ids=["conv", "maxpool", "avgpool"],
)
@pytest.mark.parametrize("vector", TF_VECTORS, ids=TF_IDS)
def test_tensorflow_valid_and_same(vector, layer):
    h, k, s, _ = vector
    valid, same = VECTORS[vector][3:5]
    assert shape_of(layer.format(k=k, s=s, pad="valid"), h, "tensorflow") == valid
    assert shape_of(layer.format(k=k, s=s, pad="same"), h, "tensorflow") == same


@pytest.mark.parametrize("vector", TF_VECTORS, ids=TF_IDS)
def test_tensorflow_same_padding_split(vector):
    """TF 'same': total pad max(0, (out-1)s + d(k-1) + 1 - H), before = total//2, the extra after."""
    h, k, s, _ = vector
    pads = resolve_padding("same", (h,), (k,), (s,), (1,), "tensorflow")
    assert pads == (VECTORS[vector][5],)


# Transposed convolution: (H-1)s - 2p + d(k-1) + output_padding + 1 (Caffe deconvolution: the same without
# output_padding).
TRANSPOSED = [
    # (H, k, s, p, output_padding) -> out
    ((4, 4, 2, 1, 0), 8),
    ((7, 3, 2, 1, 0), 13),
    ((7, 3, 2, 1, 1), 14),
]


@pytest.mark.parametrize("rounding", [None, "caffe", "tensorflow"])
@pytest.mark.parametrize("vector, out", TRANSPOSED, ids=["H4-k4-s2-p1", "H7-k3-s2-p1", "H7-k3-s2-p1-op1"])
def test_transposed_conv(vector, out, rounding):
    h, k, s, p, op = vector
    assert transposed_out(h, k, s, p, op=op) == out
    assert shape_of(f"conv_transpose(8, {k}, s={s}, p={p}, output_padding={op})", h, rounding) == out


# Dilated convolution: floor((H + 2p - d(k-1) - 1)/s) + 1.
DILATED = [((64, 3, 2, 2), 64), ((64, 3, 2, 1), 62)]


@pytest.mark.parametrize("rounding", [None, "caffe", "tensorflow"])
@pytest.mark.parametrize("vector, out", DILATED, ids=["H64-k3-d2-p2", "H64-k3-d2-p1"])
def test_dilated_conv(vector, out, rounding):
    h, k, d, p = vector
    assert conv_out(h, k, p=p, d=d) == out
    assert shape_of(f"conv(8, {k}, d={d}, p={p})", h, rounding) == out


def caffe_pool_2d(h, w, kh, kw, sh, sw, ph, pw):
    """BVLC caffe src/caffe/layers/pooling_layer.cpp, Reshape():
        pooled_height_ = ceil((height_ + 2 * pad_h_ - kernel_h_) / stride_h_) + 1  (and the same for w)
        if (pad_h_ || pad_w_) {
          if ((pooled_height_ - 1) * stride_h_ >= height_ + pad_h_) --pooled_height_;
          if ((pooled_width_ - 1) * stride_w_ >= width_ + pad_w_) --pooled_width_;
        }
    Padding on either axis clips both."""
    out_h = ceil_div(h + 2 * ph - kh, sh) + 1
    out_w = ceil_div(w + 2 * pw - kw, sw) + 1
    if ph or pw:
        if (out_h - 1) * sh >= h + ph:
            out_h -= 1
        if (out_w - 1) * sw >= w + pw:
            out_w -= 1
    return out_h, out_w


def test_caffe_pool_padding_on_one_axis_clips_both():
    # the case: 1 x 2 x 1, kernel (1, 2), stride (2, 1), padding (0, 1).
    # height: ceil((2 + 0 - 1)/2) + 1 = 2; padded layer, (2 - 1) * 2 = 2 >= 2 + 0: clipped to 1.
    # width: ceil((1 + 2 - 2)/1) + 1 = 2; (2 - 1) * 1 = 1 >= 1 + 1? no: 2.
    assert caffe_pool_2d(2, 1, 1, 2, 2, 1, 0, 1) == (1, 2)
    analysis = convdsl.loads(
        "set rounding = caffe\ninput x: 1 x 2 x 1\ny = x -> t: maxpool((1, 2), s=(2, 1), padding=(0, 1))\n"
    ).analyze()
    assert analysis.layers["t"].output_shape == (1, 1, 2)


def test_caffe_pool_generated_with_one_axis_padding():
    import random

    rng = random.Random(15)
    checked = 0
    for _ in range(400):
        h, w = rng.randint(1, 20), rng.randint(1, 20)
        kh, kw = rng.randint(1, 5), rng.randint(1, 5)
        sh, sw = rng.randint(1, 4), rng.randint(1, 4)
        # one axis padded, the other not, in either order; padding at most half the kernel (E109)
        ph, pw = rng.choice([(rng.randint(0, kh // 2), 0), (0, rng.randint(0, kw // 2))])
        if h + 2 * ph < kh or w + 2 * pw < kw:
            continue
        expected = caffe_pool_2d(h, w, kh, kw, sh, sw, ph, pw)
        analysis = convdsl.loads(
            f"set rounding = caffe\ninput x: 2 x {h} x {w}\n"
            f"y = x -> t: avgpool(({kh}, {kw}), s=({sh}, {sw}), p=({ph}, {pw}))\n"
        ).analyze()
        shape = analysis.layers["t"].output_shape
        assert shape is not None and shape[1:] == expected, (h, w, kh, kw, sh, sw, ph, pw)
        checked += 1
    assert checked > 200


@pytest.mark.parametrize(
    "text, lost",
    [
        # stride 2, dilation 2, kernel 2 on 6 rows: windows at 0 and 2 read rows {0, 2} and {2, 4}. Row 5 is
        # odd: no window at any length reads an odd row, so nothing is lost (it was reported).
        ("input x: 1 x 6\ny = x -> conv(1, 2, s=2, d=2)\n", 0),
        # stride 2, dilation 3, kernel 2, padding 1 on 3 rows (padded 0..4, real 1..3): one window, (5 - 4)/2 + 1
        # = 1.5 -> 1, reading padded rows 0 and 3. A second window would read 2 and 5: padded row 2 (a real row)
        # is lost; padded row 1 is read by no window at any length. One row lost (it was not reported).
        ("input x: 1 x 3\ny = x -> conv(1, 2, s=2, d=3, p=1)\n", 1),
    ],
)
def test_dilated_windows_lose_the_rows_their_taps_would_read(text, lost):
    analysis = convdsl.loads(text).analyze()
    found = [d for d in analysis.diagnostics if d.code.code == "E101"]
    assert len(found) == (1 if lost else 0)
    if lost:
        assert found[0].label.startswith(f"{lost} input row of")
