"""Layer rules held against PyTorch and against arithmetic written out: shapes, counts and the rows
each output reads, for the cases the catalogue test does not reach (found by mutation testing,
benchmarks/mutation/RESULTS.md)."""

from __future__ import annotations

import pytest

from conftest import require

torch = require("torch")
nn = torch.nn
F = torch.nn.functional

import convdsl
from convdsl.layers.pyexpr import same


def _analyze(text: str):
    return convdsl.loads(text, "net.cdsl").analyze()


def test_a_reshape_to_negative_sizes_is_refused_even_when_they_multiply_to_the_total():
    # (-2) * (-96) = 192 = 3 * 8 * 8, but a size below 1 other than one -1 is no size: PyTorch refuses it
    with pytest.raises(RuntimeError):
        torch.zeros(1, 3, 8, 8).reshape(1, -2, -96)
    analysis = _analyze("input x: 3 x 8 x 8\ny = x -> reshape((-2, -96))\noutput y\n")
    assert [d.code.code for d in analysis.diagnostics] == ["E112"]


def test_a_position_embedding_of_one_position():
    # one token of 8 features: a (1, 1, 8) parameter, 1 x 8 = 8 values
    analysis = _analyze("input x: 1 x 8\ny = x -> p: position_embedding(1)\noutput y\n")
    assert not analysis.diagnostics
    assert analysis.layers["p"].params == 1 * 8 == nn.Parameter(torch.zeros(1, 1, 8)).numel()
    assert analysis.layers["p"].output_shapes == ((1, 8),)


def test_a_grouped_convolution_counts_its_parameters_as_an_integer():
    # 6 filters of 4 / 2 = 2 channels, 3 x 3 each, and 6 biases: 6 * 2 * 9 + 6 = 114
    analysis = _analyze("input x: 4 x 8 x 8\ny = x -> c: conv(6, 3, g=2)\noutput y\n")
    params = analysis.layers["c"].params
    assert params == 6 * 2 * 9 + 6 == sum(p.numel() for p in nn.Conv2d(4, 6, 3, groups=2).parameters())
    assert type(params) is int


def test_upsampling_like_another_tensor_takes_its_spatial_size():
    analysis = _analyze("input x: 3 x 8 x 8\ng = x -> maxpool(2)\ny = x -> u: upsample(like=g)\noutput y\n")
    assert not analysis.diagnostics
    x = torch.zeros(1, 3, 8, 8)
    g = F.max_pool2d(x, 2)
    assert analysis.layers["u"].output_shapes == (tuple(F.interpolate(x, size=g.shape[2:]).shape[1:]),)


def _rows_read(model, size: int) -> list[int]:
    """Per output row (in the middle column): how many input rows have a non-zero gradient."""
    x = (torch.rand(1, 1, size, size, dtype=torch.float64) + 0.5).requires_grad_()
    y = model(x)
    counts = []
    for o in range(y.shape[2]):
        (grad,) = torch.autograd.grad(y[0, 0, o, y.shape[3] // 2], x, retain_graph=True)
        counts.append(int((grad[0, 0].abs().sum(dim=1) > 0).sum()))
    return counts


def test_bicubic_upsampling_reads_four_rows():
    info = _analyze("input x: 1 x 40 x 40\ny = x -> u: upsample(2, mode=bicubic)\noutput y\n").layers["u"]
    widest = max(_rows_read(lambda x: F.interpolate(x, scale_factor=2, mode="bicubic"), 40)[8:-8])
    assert widest == 4
    assert info.receptive_field == (widest, widest)


def _reaches_every_row(model, size: int) -> bool:
    x = torch.ones(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(model(x).sum(), x)
    return bool((grad[0, 0].abs().sum(dim=1) > 0).all())


@pytest.mark.parametrize("padding", [1, 2])
def test_a_transposed_convolution_cropping_at_most_its_dilated_kernel_reads_every_row(padding):
    # ConvTranspose(k=3, p): output row o reads input rows o + p - t for t < 3; with p <= d(k - 1) = 2,
    # rows 0..n-1 are all read (p = 2: o = 0..n-3 reads o..o+2). Behind a global gate, the whole input
    # is seen then.
    text = (
        f"input x: 1 x 16 x 16\na = x -> conv_transpose(1, 3, p={padding}, bias=false)\n"
        "s = a -> adaptive_avgpool(1)\noutput y = mul(a, s) -> out: identity\n"
    )
    analysis = _analyze(text)
    assert not analysis.has_errors
    tconv = nn.ConvTranspose2d(1, 1, 3, 1, padding, bias=False).double()
    nn.init.ones_(tconv.weight)
    assert _reaches_every_row(tconv, 16)
    assert analysis.layers["out"].whole_input == (True, True)


def test_sameness_of_tuples_compares_their_items():
    assert same((1, 2), (1, 2))
    assert not same((1, 2), (1, 3))
    assert not same((1, 2), (1, 2, 3))
    assert not same((1, 2), 1)


@pytest.mark.parametrize("target", ["(4, 4, 4)", "like=t"])
def test_a_reshape_sees_the_whole_input_in_either_form(target):
    # a reshape's output has no spatial positions of its own: its field is all the rows its input saw, here
    # a 3 x 3 convolution (padding 1) over 8 rows: 3 + (8 - 1) * 1 = 10, and the next output starts 8 later
    text = f"input x: 1 x 8 x 8\ninput t: 4 x 4 x 4\ny = x -> conv(1, 3, p=1) -> r: reshape({target})\noutput y\n"
    info = _analyze(text).layers["r"]
    assert info.output_shapes == ((4, 4, 4),)
    assert (info.receptive_field, info.effective_stride) == ((10, 10), (8, 8))


def _exported(text: str):
    from convdsl.export import export_pytorch
    from convdsl.export.verify import verify

    analysis = _analyze(text)
    assert not analysis.has_errors, [d.message for d in analysis.diagnostics]
    result = verify(analysis)  # the export built and run by PyTorch, layer by layer against convdsl
    assert result.ok, result.report()
    return export_pytorch(analysis).source


def test_a_tensorflow_same_pooling_exports_its_uneven_padding():
    # TensorFlow 'same', k = 3, s = 2 on 8 rows: ceil(8 / 2) = 4 outputs, padding (4 - 1) * 2 + 3 - 8 = 1 row,
    # all of it at the end (bottom, right), with -inf so that max pooling never picks it
    source = _exported("set rounding = tensorflow\ninput x: 3 x 8 x 8\noutput y = x -> maxpool(3, s=2, p=same)\n")
    assert 'F.pad(x, (0, 1, 0, 1), value=float("-inf"))' in source
    # k = 5, s = 2 on 9 rows: ceil(9 / 2) = 5 outputs, padding (5 - 1) * 2 + 5 - 9 = 4 rows, 2 on each side
    source = _exported("set rounding = tensorflow\ninput x: 3 x 9 x 9\noutput y = x -> maxpool(5, s=2, p=same)\n")
    assert "nn.MaxPool2d(5, stride=2, padding=2)" in source


def test_a_3d_average_pooling_as_large_as_its_input_exports():
    # PyTorch refuses a 3-D average pooling whose kernel is larger than its input, not one the same size
    assert F.avg_pool3d(torch.zeros(1, 1, 2, 2, 2), 2).shape == (1, 1, 1, 1, 1)
    assert "nn.AvgPool3d(2)" in _exported("input x: 1 x 2 x 2 x 2\noutput y = x -> avgpool3d(2)\n")


def test_an_instance_norm_with_running_statistics_of_one_value_exports():
    # with running statistics (eval mode) a single value per channel is normalised by them, not by itself
    norm = nn.InstanceNorm2d(3, track_running_stats=True).eval()
    assert norm(torch.zeros(1, 3, 1, 1)).shape == (1, 3, 1, 1)
    source = _exported("input x: 3 x 1 x 1\noutput y = x -> instancenorm(track_running_stats=true)\n")
    assert "nn.InstanceNorm2d(3, track_running_stats=True)" in source


def test_channel_dropouts_export_as_pytorchs_channel_dropouts():
    source = _exported("input x: 3 x 8 x 8\noutput y = x -> dropout2d(0.5) -> dropout(0.1)\n")
    assert "nn.Dropout2d()" in source and "nn.Dropout(p=0.1)" in source
    source = _exported("input x: 3 x 8\noutput y = x -> dropout1d(0.1)\n")
    assert "nn.Dropout1d(p=0.1)" in source
