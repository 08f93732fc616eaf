"""Property tests: convdsl's output sizes for random sliding-window layers equal
the shapes PyTorch actually produces.

Only configurations torch accepts are compared (torch raising -> `assume`).
convdsl may report its rounding lint (E101) for valid configurations; the
shape is still read from the layer's output_shapes, and a missing shape there
is a convdsl failure.
"""

from __future__ import annotations

import pytest

from conftest import require

torch = require("torch")
pytestmark = pytest.mark.filterwarnings(
    "ignore:Using padding='same' with even kernel lengths:UserWarning"
)  # torch's performance note
hypothesis = require("hypothesis")
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import convdsl

F = torch.nn.functional

PROPERTY = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)

size = st.integers(1, 64)


def tup(values) -> str:
    return "(" + ", ".join(str(v) for v in values) + ")"


def convdsl_shape(input_shape, layer: str, rounding: str | None = None):
    """The output shape convdsl infers for `layer` applied to an input of input_shape."""
    source = (
        f"set rounding = {rounding}\n" if rounding else ""
    ) + f"input x: {' x '.join(map(str, input_shape))}\ny = x -> t: {layer}\n"
    analysis = convdsl.loads(source).analyze()
    info = analysis.layers.get("t")
    assert info is not None, f"convdsl built no layer from:\n{source}{analysis.diagnostics}"
    (shape,) = info.output_shapes
    assert shape is not None, f"convdsl gives no shape for a configuration torch accepts:\n{source}" + "\n".join(
        f"{d.code.code} {d.message}" for d in analysis.diagnostics
    )
    return shape


def torch_shape(fn, input_shape):
    """torch's output shape without the batch, or None when torch rejects the configuration."""
    try:
        with torch.no_grad():
            out = fn(torch.zeros((1, *input_shape)))
    except (RuntimeError, ValueError):
        return None
    if out.numel() == 0:  # torch.conv_transpose returns an empty tensor for an output size of 0
        return None
    return tuple(out.shape[1:])


@st.composite
def channels(draw):
    groups = draw(st.integers(1, 4))
    return groups, groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))


# -- convolution ------------------------------------------------------------------------------


@PROPERTY
@given(
    ch=channels(),
    length=size,
    k=st.integers(1, 7),
    s=st.integers(1, 4),
    d=st.integers(1, 3),
    p=st.one_of(st.integers(0, 4), st.sampled_from(["same", "valid"])),
    bias=st.booleans(),
)
def test_conv1d_matches_torch(ch, length, k, s, d, p, bias):
    g, c_in, c_out = ch
    weight = torch.zeros(c_out, c_in // g, k)
    expected = torch_shape(lambda x: F.conv1d(x, weight, None, s, p, d, g), (c_in, length))
    assume(expected is not None)
    padding = f'"{p}"' if isinstance(p, str) else p
    layer = f"conv({c_out}, {k}, s={s}, p={padding}, d={d}, g={g}, bias={str(bias).lower()})"
    assert convdsl_shape((c_in, length), layer) == expected


@PROPERTY
@given(
    ch=channels(),
    h=size,
    w=size,
    k=st.tuples(st.integers(1, 7), st.integers(1, 7)),
    s=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    d=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    p=st.one_of(st.tuples(st.integers(0, 4), st.integers(0, 4)), st.sampled_from(["same", "valid"])),
)
def test_conv2d_matches_torch(ch, h, w, k, s, d, p):
    g, c_in, c_out = ch
    weight = torch.zeros(c_out, c_in // g, *k)
    expected = torch_shape(lambda x: F.conv2d(x, weight, None, s, p, d, g), (c_in, h, w))
    assume(expected is not None)
    padding = f'"{p}"' if isinstance(p, str) else tup(p)
    layer = f"conv({c_out}, k={tup(k)}, s={tup(s)}, p={padding}, d={tup(d)}, g={g})"
    assert convdsl_shape((c_in, h, w), layer) == expected


# -- transposed convolution ---------------------------------------------------------------------


@st.composite
def transposed_axis(draw):
    """(I, k, s, p, d, output_padding) for one axis, with output_padding < max(s, d) as torch requires."""
    s, d = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    return (
        draw(st.integers(1, 32)),
        draw(st.integers(1, 5)),
        s,
        draw(st.integers(0, 3)),
        d,
        draw(st.integers(0, max(s, d) - 1)),
    )


@PROPERTY
@given(ch=channels(), axes=st.tuples(transposed_axis(), transposed_axis()))
def test_conv_transpose2d_matches_torch(ch, axes):
    g, c_in, c_out = ch
    size_, k, s, p, d, op = (tuple(v) for v in zip(*axes))
    weight = torch.zeros(c_in, c_out // g, *k)
    expected = torch_shape(lambda x: F.conv_transpose2d(x, weight, None, s, p, op, g, d), (c_in, *size_))
    assume(expected is not None)
    layer = f"conv_transpose({c_out}, k={tup(k)}, s={tup(s)}, p={tup(p)}, op={tup(op)}, d={tup(d)}, g={g})"
    assert convdsl_shape((c_in, *size_), layer) == expected


# -- pooling ----------------------------------------------------------------------------------


@st.composite
def pool_axis(draw, dilated: bool):
    """(I, k, s, p, d) for one axis with p <= k/2 as torch requires."""
    k = draw(st.integers(1, 6))
    return (
        draw(size),
        k,
        draw(st.integers(1, 4)),
        draw(st.integers(0, k // 2)),
        draw(st.integers(1, 3)) if dilated else 1,
    )


@PROPERTY
@given(
    c=st.integers(1, 4),
    axes=st.tuples(pool_axis(True), pool_axis(True)),
    ceil=st.booleans(),
    default_stride=st.booleans(),
)
def test_maxpool2d_matches_torch(c, axes, ceil, default_stride):
    size_, k, s, p, d = (tuple(v) for v in zip(*axes))
    stride = k if default_stride else s
    expected = torch_shape(lambda x: F.max_pool2d(x, k, stride, p, d, ceil_mode=ceil), (c, *size_))
    assume(expected is not None)
    layer = (
        f"maxpool(k={tup(k)}, {'' if default_stride else f's={tup(s)}, '}p={tup(p)}, d={tup(d)}, "
        f"ceil={str(ceil).lower()})"
    )
    assert convdsl_shape((c, *size_), layer) == expected


@PROPERTY
@given(
    c=st.integers(1, 4),
    axes=st.tuples(pool_axis(False), pool_axis(False)),
    ceil=st.booleans(),
    count_include_pad=st.booleans(),
)
def test_avgpool2d_matches_torch(c, axes, ceil, count_include_pad):
    size_, k, s, p, _ = (tuple(v) for v in zip(*axes))
    expected = torch_shape(
        lambda x: F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=count_include_pad), (c, *size_)
    )
    assume(expected is not None)
    layer = (
        f"avgpool(k={tup(k)}, s={tup(s)}, p={tup(p)}, ceil={str(ceil).lower()}, "
        f"count_include_pad={str(count_include_pad).lower()})"
    )
    assert convdsl_shape((c, *size_), layer) == expected


# -- the lint: rows lost, decided by the taps a dilated window reads --------------------------


def _rows_read(size, k, s, p, d, extra=0):
    """The input rows (of the first `size`) with a non-zero gradient of some output of a 1-D convolution
    with weights 1 on a positive input of size + extra rows: the rows the layer reads."""
    x = (torch.rand(1, 1, size + extra, dtype=torch.float64) + 0.5).requires_grad_()
    weight = torch.ones(1, 1, k, dtype=torch.float64)
    y = F.conv1d(x, weight, None, s, p, d)
    if y.numel() == 0:
        return None
    y.sum().backward()
    return {i for i in range(size) if x.grad[0, 0, i] != 0}


@PROPERTY
@given(length=st.integers(1, 40), k=st.integers(1, 5), s=st.integers(1, 4), d=st.integers(1, 4), p=st.integers(0, 4))
def test_lost_rows_lint_matches_the_rows_torch_reads(length, k, s, d, p):
    """E101 exactly when a real row is not read here but would be read were the input longer (more
    windows): rows the layer never reads at any length (between the taps of a dilated or strided
    window) are subsampling, not loss."""
    try:
        read = _rows_read(length, k, s, p, d)
    except RuntimeError:
        read = None
    assume(read is not None)
    # the lint is about rounding: (I + 2p - d(k-1) - 1)/s not whole. (At an exact size a dilated window can
    # still skip a real row, e.g. 1 row, k=2, d=2, p=1 reads only padding: not a rounding, not this lint.)
    assume((length + 2 * p - d * (k - 1) - 1) % s != 0)
    longer = _rows_read(length, k, s, p, d, extra=d * (k - 1) + 2 * s + 1)
    lost = longer - read
    analysis = convdsl.loads(f"input x: 1 x {length}\ny = x -> t: conv(1, {k}, s={s}, p={p}, d={d})\n").analyze()
    reported = {dg.code.code for dg in analysis.diagnostics}
    assert ("E101" in reported) == bool(lost), (length, k, s, p, d, sorted(lost))
    if lost:
        (dg,) = [dg for dg in analysis.diagnostics if dg.code.code == "E101"]
        assert dg.label.startswith(f"{len(lost)} input row")


# -- inputs smaller than their kernels ---------------------------------------------------------


@PROPERTY
@given(
    c=st.integers(1, 3),
    axes=st.tuples(*(st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2)),) * 3),
    ceil=st.booleans(),
)
def test_avgpool3d_on_small_inputs_agrees_with_torch(c, axes, ceil):
    """Sizes as small as the kernel or smaller: convdsl refuses exactly what torch refuses, else agrees."""
    size_, k, s, p = (tuple(v) for v in zip(*axes))
    assume(all(2 * pp <= kk for pp, kk in zip(p, k)))  # E109, torch's own padding rule, is tested elsewhere
    expected = torch_shape(lambda x: F.avg_pool3d(x, k, s, p, ceil_mode=ceil), (c, *size_))
    source = (
        f"input x: {c} x {' x '.join(map(str, size_))}\ny = x -> t: avgpool(k={tup(k)}, s={tup(s)}, "
        f"p={tup(p)}, ceil={str(ceil).lower()})\n"
    )
    (shape,) = convdsl.loads(source).analyze().layers["t"].output_shapes
    assert shape == expected, source


@PROPERTY
@given(size_=st.integers(1, 6), pads=st.tuples(st.integers(-7, 4), st.integers(-7, 4)))
def test_negative_padding_agrees_with_torch(size_, pads):
    expected = torch_shape(lambda x: F.pad(x, pads), (2, size_))
    source = f"input x: 2 x {size_}\ny = x -> t: pad({tup(pads)})\n"
    (shape,) = convdsl.loads(source).analyze().layers["t"].output_shapes
    assert shape == expected, source
