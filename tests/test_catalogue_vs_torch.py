"""Every layer kind in the catalogue, checked against PyTorch itself.

Each case is a line of convdsl and the PyTorch module (or function) it stands
for. The expected output shapes, parameter counts and buffer counts are what
torch reports when the module is built and run; MACs of convolutions and linear
layers are checked against the formula applied to the torch module's weight
(torchvision's convention, shared/reference/README.md "Counting conventions"):
conv = weight.numel() * prod(output spatial), transposed conv =
weight.numel() * prod(input spatial), linear = in * out * prod(leading dims).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import pytest

from conftest import require

torch = require("torch")
pytestmark = pytest.mark.filterwarnings(
    "ignore:Using padding='same' with even kernel lengths:UserWarning"
)  # torch's performance note
nn = torch.nn
F = torch.nn.functional

import convdsl

try:  # tests/ as a package or as a rootdir on sys.path
    from tests import torch_oracle as oracle
except ImportError:  # pragma: no cover
    import torch_oracle as oracle

Fn = oracle.Fn

# Errors that still leave a computed shape: convdsl's rounding lint (E101) is an
# opinion about a valid PyTorch configuration, not a rejection of it.
LINT_ONLY = {"E101", "E102"}


@dataclass
class Case:
    id: str
    inputs: dict  # tensor name -> shape without batch (first one is usually `x`)
    body: str  # a chain applied to x (`y = x -> t: BODY`), or whole statements labelling the layer `t`
    torch: object  # zero-argument factory: an nn.Module, or a function of the input tensors
    macs: str | None = None  # "conv", "transposed" or "linear": also check MACs against the weight
    marks: tuple = field(default_factory=tuple)

    def source(self) -> str:
        lines = [f"input {name}: {' x '.join(map(str, shape))}" for name, shape in self.inputs.items()]
        if re.match(r"^\s*[A-Za-z_]\w*(\s*,\s*[A-Za-z_]\w*)*\s*=[^=]", self.body):
            lines.append(self.body)
        else:
            lines.append(f"y = x -> t: {self.body}")
        return "\n".join(lines) + "\n"


def C(id, shape, body, factory, macs=None, xfail=None):
    """A case on one input `x`."""
    return M(id, {"x": shape}, body, factory, macs=macs, xfail=xfail)


def M(id, inputs, body, factory, macs=None, xfail=None):
    marks = (pytest.mark.xfail(strict=True, reason=xfail),) if xfail else ()
    return Case(id, inputs, body, factory, macs, marks)


def fn(f, name="fn"):
    return lambda: Fn(f, name)


CONV = [
    # 1-D
    C("conv1d-k3", (4, 50), "conv(8, 3)", lambda: nn.Conv1d(4, 8, 3), "conv"),
    C(
        "conv1d-k5-s2-p1-d2",
        (4, 50),
        "conv(8, 5, s=2, p=1, d=2)",
        lambda: nn.Conv1d(4, 8, 5, stride=2, padding=1, dilation=2),
        "conv",
    ),
    C("conv1d-kind-name-k4-same", (4, 50), "conv1d(8, 4, p=same)", lambda: nn.Conv1d(4, 8, 4, padding="same"), "conv"),
    C(
        "conv1d-same-dilation3",
        (4, 20),
        'conv(8, 3, d=3, padding="same")',
        lambda: nn.Conv1d(4, 8, 3, dilation=3, padding="same"),
        "conv",
    ),
    C("conv1d-valid", (4, 50), "conv(8, 7, p=valid)", lambda: nn.Conv1d(4, 8, 7, padding="valid"), "conv"),
    C(
        "conv1d-groups2-nobias",
        (4, 50),
        "conv(8, 3, g=2, bias=false)",
        lambda: nn.Conv1d(4, 8, 3, groups=2, bias=False),
        "conv",
    ),
    C(
        "conv1d-depthwise",
        (6, 33),
        "conv(6, 3, s=2, p=1, g=6)",
        lambda: nn.Conv1d(6, 6, 3, stride=2, padding=1, groups=6),
        "conv",
    ),
    # 2-D
    C("conv2d-k3-p1", (3, 32, 32), "conv(16, 3, p=1)", lambda: nn.Conv2d(3, 16, 3, padding=1), "conv"),
    C(
        "conv2d-k3-s2-p1-nobias",
        (3, 32, 32),
        "conv(16, 3, s=2, p=1, bias=false)",
        lambda: nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False),
        "conv",
    ),
    C(
        "conv2d-k7-s2-p3-stem",
        (3, 224, 224),
        "conv2d(64, 7, s=2, p=3, bias=false)",
        lambda: nn.Conv2d(3, 64, 7, 2, 3, bias=False),
        "conv",
    ),
    C("conv2d-k1", (64, 14, 14), "conv(256, 1)", lambda: nn.Conv2d(64, 256, 1), "conv"),
    C(
        "conv2d-per-axis-tuple",
        (3, 31, 17),
        "conv(8, k=(3, 5), s=(2, 1), p=(1, 2))",
        lambda: nn.Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2)),
        "conv",
    ),
    C(
        "conv2d-per-axis-x-syntax",
        (3, 31, 17),
        "conv(8, k=3x1, s=1x2, p=1x0, d=2x1)",
        lambda: nn.Conv2d(3, 8, (3, 1), stride=(1, 2), padding=(1, 0), dilation=(2, 1)),
        "conv",
    ),
    C("conv2d-s3-inexact", (3, 31, 17), "conv(8, 3, s=3)", lambda: nn.Conv2d(3, 8, 3, stride=3), "conv"),
    C("conv2d-same-k3", (8, 15, 15), "conv(8, 3, p=same)", lambda: nn.Conv2d(8, 8, 3, padding="same"), "conv"),
    C("conv2d-same-even-k4", (8, 15, 12), "conv(8, 4, p=same)", lambda: nn.Conv2d(8, 8, 4, padding="same"), "conv"),
    C(
        "conv2d-same-per-axis-k-d2",
        (8, 15, 12),
        "conv(8, k=(3, 2), d=2, p=same)",
        lambda: nn.Conv2d(8, 8, (3, 2), dilation=2, padding="same"),
        "conv",
    ),
    C("conv2d-valid", (3, 32, 32), "conv(8, 5, p=valid)", lambda: nn.Conv2d(3, 8, 5, padding="valid"), "conv"),
    C(
        "conv2d-dilation2-p2",
        (3, 64, 64),
        "conv(8, 3, d=2, p=2)",
        lambda: nn.Conv2d(3, 8, 3, dilation=2, padding=2),
        "conv",
    ),
    C(
        "conv2d-dilation2-p1",
        (3, 64, 64),
        "conv(8, 3, d=2, p=1)",
        lambda: nn.Conv2d(3, 8, 3, dilation=2, padding=1),
        "conv",
    ),
    C(
        "conv2d-groups4",
        (16, 20, 20),
        "conv(32, 3, p=1, g=4)",
        lambda: nn.Conv2d(16, 32, 3, padding=1, groups=4),
        "conv",
    ),
    C(
        "conv2d-depthwise",
        (32, 28, 28),
        "conv(32, 3, s=2, p=1, g=32, bias=false)",
        lambda: nn.Conv2d(32, 32, 3, 2, 1, groups=32, bias=False),
        "conv",
    ),
    C(
        "conv2d-depthwise-multiplier2",
        (16, 28, 28),
        "conv(32, 5, p=2, g=16)",
        lambda: nn.Conv2d(16, 32, 5, padding=2, groups=16),
        "conv",
    ),
    C(
        "conv2d-keyword-names",
        (3, 32, 32),
        "conv(out_channels=8, kernel=3, stride=2, padding=1, dilation=1, groups=1, bias=true)",
        lambda: nn.Conv2d(3, 8, 3, 2, 1),
        "conv",
    ),
    # 3-D
    C("conv3d-k3-p1", (3, 8, 16, 16), "conv(8, 3, p=1)", lambda: nn.Conv3d(3, 8, 3, padding=1), "conv"),
    C(
        "conv3d-per-axis",
        (3, 9, 16, 16),
        "conv3d(8, k=(1, 3, 3), s=(1, 2, 2), p=(0, 1, 1))",
        lambda: nn.Conv3d(3, 8, (1, 3, 3), (1, 2, 2), (0, 1, 1)),
        "conv",
    ),
    C(
        "conv3d-groups-nobias",
        (4, 6, 10, 10),
        "conv(8, 3, s=2, g=2, bias=false)",
        lambda: nn.Conv3d(4, 8, 3, 2, groups=2, bias=False),
        "conv",
    ),
    C(
        "conv3d-same-dilation2",
        (4, 6, 10, 10),
        "conv(4, 3, d=2, p=same)",
        lambda: nn.Conv3d(4, 4, 3, dilation=2, padding="same"),
        "conv",
    ),
]

CONV_TRANSPOSE = [
    C(
        "conv_transpose1d-k4-s2-p1",
        (8, 10),
        "conv_transpose(4, 4, s=2, p=1)",
        lambda: nn.ConvTranspose1d(8, 4, 4, 2, 1),
        "transposed",
    ),
    C(
        "conv_transpose1d-kind-name-op1",
        (8, 7),
        "conv_transpose1d(4, 3, s=2, p=1, output_padding=1)",
        lambda: nn.ConvTranspose1d(8, 4, 3, 2, 1, output_padding=1),
        "transposed",
    ),
    C(
        "conv_transpose2d-k4-s2-p1",
        (16, 4, 4),
        "conv_transpose(8, 4, s=2, p=1)",
        lambda: nn.ConvTranspose2d(16, 8, 4, 2, 1),
        "transposed",
    ),
    C(
        "conv_transpose2d-k3-s2-p1",
        (16, 7, 7),
        "conv_transpose(8, 3, s=2, p=1)",
        lambda: nn.ConvTranspose2d(16, 8, 3, 2, 1),
        "transposed",
    ),
    C(
        "conv_transpose2d-k3-s2-p1-op1",
        (16, 7, 7),
        "conv_transpose2d(8, 3, s=2, p=1, op=1)",
        lambda: nn.ConvTranspose2d(16, 8, 3, 2, 1, output_padding=1),
        "transposed",
    ),
    C(
        "conv_transpose2d-dcgan-first",
        (100, 1, 1),
        "deconv(512, 4, bias=false)",
        lambda: nn.ConvTranspose2d(100, 512, 4, 1, 0, bias=False),
        "transposed",
    ),
    C(
        "conv_transpose2d-per-axis",
        (8, 5, 6),
        "conv_transpose(4, k=(3, 2), s=(2, 3), p=(1, 0), op=(1, 2))",
        lambda: nn.ConvTranspose2d(8, 4, (3, 2), (2, 3), (1, 0), output_padding=(1, 2)),
        "transposed",
    ),
    C(
        "conv_transpose2d-groups-nobias",
        (8, 5, 5),
        "conv_transpose(12, 3, s=2, g=4, bias=false)",
        lambda: nn.ConvTranspose2d(8, 12, 3, 2, groups=4, bias=False),
        "transposed",
    ),
    C(
        "conv_transpose2d-dilation2-op-below-dilation",
        (8, 5, 5),
        "conv_transpose(4, 3, d=2, op=1)",
        lambda: nn.ConvTranspose2d(8, 4, 3, dilation=2, output_padding=1),
        "transposed",
    ),
    C(
        "conv_transpose2d-unet-upconv",
        (1024, 28, 28),
        "upconv(512, 2, s=2)",
        lambda: nn.ConvTranspose2d(1024, 512, 2, 2),
        "transposed",
    ),
    C(
        "conv_transpose3d-k3-s2-p1-op1",
        (8, 3, 5, 5),
        "conv_transpose(4, 3, s=2, p=1, output_padding=1)",
        lambda: nn.ConvTranspose3d(8, 4, 3, 2, 1, output_padding=1),
        "transposed",
    ),
    C(
        "conv_transpose3d-kind-name-per-axis",
        (8, 3, 5, 5),
        "conv_transpose3d(4, k=(1, 4, 4), s=(1, 2, 2), p=(0, 1, 1))",
        lambda: nn.ConvTranspose3d(8, 4, (1, 4, 4), (1, 2, 2), (0, 1, 1)),
        "transposed",
    ),
]

POOL = [
    # max pooling
    C("maxpool2d-k2", (8, 32, 32), "maxpool(2)", lambda: nn.MaxPool2d(2)),
    C("maxpool2d-k3-s2-p1", (64, 112, 112), "maxpool(3, s=2, p=1)", lambda: nn.MaxPool2d(3, 2, 1)),
    C("maxpool2d-k3-s2-floor-112", (8, 112, 112), "maxpool(3, s=2)", lambda: nn.MaxPool2d(3, 2)),
    C(
        "maxpool2d-k3-s2-ceil-112",
        (8, 112, 112),
        "maxpool(3, s=2, ceil=true)",
        lambda: nn.MaxPool2d(3, 2, ceil_mode=True),
    ),
    C("maxpool2d-k1-s2-ceil-32", (8, 32, 32), "maxpool(1, s=2, ceil=true)", lambda: nn.MaxPool2d(1, 2, ceil_mode=True)),
    C(
        "maxpool2d-k2-s2-ceil-13",
        (8, 13, 13),
        "maxpool(2, s=2, ceil_mode=true)",
        lambda: nn.MaxPool2d(2, 2, ceil_mode=True),
    ),
    C(
        "maxpool2d-k2-s2-p1-ceil-clipped",
        (8, 5, 5),
        "maxpool(2, s=2, p=1, ceil=true)",
        lambda: nn.MaxPool2d(2, 2, 1, ceil_mode=True),
    ),
    C(
        "maxpool2d-k4-s4-p2-ceil-9",
        (8, 9, 9),
        "maxpool(4, s=4, p=2, ceil=true)",
        lambda: nn.MaxPool2d(4, 4, 2, ceil_mode=True),
    ),
    C(
        "maxpool2d-k3-s2-p1-ceil-googlenet",
        (64, 56, 56),
        "maxpool(3, s=2, p=1, ceil=true)",
        lambda: nn.MaxPool2d(3, 2, 1, ceil_mode=True),
    ),
    C(
        "maxpool2d-round-ceil-arg",
        (8, 13, 13),
        "maxpool(3, s=2, round=ceil)",
        lambda: nn.MaxPool2d(3, 2, ceil_mode=True),
    ),
    C(
        "maxpool2d-per-axis",
        (8, 20, 15),
        "maxpool(k=(2, 3), s=(2, 1), p=(1, 1))",
        lambda: nn.MaxPool2d((2, 3), (2, 1), (1, 1)),
    ),
    C("maxpool2d-dilation2", (8, 20, 20), "maxpool(3, s=1, d=2, p=1)", lambda: nn.MaxPool2d(3, 1, 1, dilation=2)),
    C("maxpool2d-kind-name", (8, 20, 20), "maxpool2d(2, s=2)", lambda: nn.MaxPool2d(2, 2)),
    C(
        "maxpool1d-k3-s2-p1-ceil",
        (4, 50),
        "maxpool1d(3, s=2, p=1, ceil=true)",
        lambda: nn.MaxPool1d(3, 2, 1, ceil_mode=True),
    ),
    C("maxpool1d-k2", (4, 51), "maxpool(2)", lambda: nn.MaxPool1d(2)),
    C("maxpool3d-k2", (4, 8, 16, 16), "maxpool(2)", lambda: nn.MaxPool3d(2)),
    C(
        "maxpool3d-k3-s2-p1-ceil",
        (4, 7, 9, 10),
        "maxpool3d(3, s=2, p=1, ceil=true)",
        lambda: nn.MaxPool3d(3, 2, 1, ceil_mode=True),
    ),
    # average pooling
    C("avgpool2d-k2", (8, 32, 32), "avgpool(2)", lambda: nn.AvgPool2d(2)),
    C("avgpool2d-k3-s2-p1", (8, 15, 15), "avgpool(3, s=2, p=1)", lambda: nn.AvgPool2d(3, 2, 1)),
    C("avgpool2d-k3-s2-ceil", (8, 14, 14), "avgpool(3, s=2, ceil=true)", lambda: nn.AvgPool2d(3, 2, ceil_mode=True)),
    C("avgpool2d-k1-s2-ceil-32", (8, 32, 32), "avgpool(1, s=2, ceil=true)", lambda: nn.AvgPool2d(1, 2, ceil_mode=True)),
    C(
        "avgpool2d-k2-s2-p1-ceil-clipped",
        (8, 5, 5),
        "avgpool(2, s=2, p=1, ceil=true)",
        lambda: nn.AvgPool2d(2, 2, 1, ceil_mode=True),
    ),
    C(
        "avgpool2d-no-count-include-pad",
        (8, 15, 15),
        "avgpool(3, s=2, p=1, count_include_pad=false)",
        lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False),
    ),
    C("avgpool2d-per-axis", (8, 20, 15), "avg_pool(k=(2, 4), s=(2, 3))", lambda: nn.AvgPool2d((2, 4), (2, 3))),
    C(
        "avgpool1d-k4-s3-p2-ceil",
        (4, 50),
        "avgpool1d(4, s=3, p=2, ceil=true)",
        lambda: nn.AvgPool1d(4, 3, 2, ceil_mode=True),
    ),
    C("avgpool2d-kind-name", (8, 20, 20), "avgpool2d(3, s=2, p=1)", lambda: nn.AvgPool2d(3, 2, 1)),
    # ceil mode lets the only window hang over the end: torch gives 1 where the kernel exceeds the input
    C(
        "maxpool2d-ceil-kernel-larger-than-input",
        (8, 1, 1),
        "maxpool(2, s=2, ceil=true)",
        lambda: nn.MaxPool2d(2, 2, ceil_mode=True),
    ),
    C(
        "avgpool1d-ceil-kernel-larger-than-input",
        (8, 4),
        "avgpool(5, s=3, ceil=true)",
        lambda: nn.AvgPool1d(5, 3, ceil_mode=True),
    ),
    C("avgpool3d-k2", (4, 8, 16, 16), "avgpool3d(2)", lambda: nn.AvgPool3d(2)),
    C(
        "avgpool3d-k3-s2-p1-ceil",
        (4, 7, 9, 10),
        "avgpool(3, s=2, p=1, ceil=true)",
        lambda: nn.AvgPool3d(3, 2, 1, ceil_mode=True),
    ),
    # adaptive and global
    C("adaptive_avgpool2d-7", (512, 13, 13), "adaptive_avgpool(7)", lambda: nn.AdaptiveAvgPool2d(7)),
    C("adaptive_avgpool2d-tuple", (512, 13, 13), "adaptive_avgpool((6, 5))", lambda: nn.AdaptiveAvgPool2d((6, 5))),
    C("adaptive_avgpool1d", (8, 50), "adaptive_avgpool1d(7)", lambda: nn.AdaptiveAvgPool1d(7)),
    C("adaptive_avgpool3d", (8, 5, 9, 9), "adaptive_avgpool3d((1, 3, 3))", lambda: nn.AdaptiveAvgPool3d((1, 3, 3))),
    C("adaptive_avgpool2d-upsampling", (8, 3, 3), "adaptive_avgpool(5)", lambda: nn.AdaptiveAvgPool2d(5)),
    C("adaptive_avgpool2d-kind-name", (512, 13, 13), "adaptive_avgpool2d(7)", lambda: nn.AdaptiveAvgPool2d(7)),
    C("adaptive_maxpool2d-kind-name", (8, 13, 13), "adaptive_maxpool2d((2, 3))", lambda: nn.AdaptiveMaxPool2d((2, 3))),
    C("adaptive_maxpool2d", (8, 13, 13), "adaptive_maxpool(4)", lambda: nn.AdaptiveMaxPool2d(4)),
    C("adaptive_maxpool1d", (8, 50), "adaptive_maxpool1d(3)", lambda: nn.AdaptiveMaxPool1d(3)),
    C("adaptive_maxpool3d", (8, 5, 9, 9), "adaptive_maxpool3d(2)", lambda: nn.AdaptiveMaxPool3d(2)),
    C("global_avgpool2d", (512, 7, 7), "global_avgpool", lambda: nn.AdaptiveAvgPool2d(1)),
    C("global_avgpool-gap-alias", (512, 7, 9), "gap", lambda: nn.AdaptiveAvgPool2d(1)),
    C("global_avgpool1d", (64, 30), "global_avgpool", lambda: nn.AdaptiveAvgPool1d(1)),
    C("global_avgpool3d", (64, 3, 5, 7), "global_avgpool", lambda: nn.AdaptiveAvgPool3d(1)),
    C("global_maxpool2d", (512, 7, 7), "global_maxpool", lambda: nn.AdaptiveMaxPool2d(1)),
    C("global_maxpool1d", (64, 30), "global_max_pool", lambda: nn.AdaptiveMaxPool1d(1)),
]

DENSE = [
    M(
        "linear-after-flatten",
        {"x": (16, 5, 5)},
        "y = x -> flatten -> t: linear(120)",
        lambda: nn.Sequential(nn.Flatten(), nn.Linear(400, 120)),
        "linear",
    ),
    C("linear-on-vector", (84,), "linear(10)", lambda: nn.Linear(84, 10), "linear"),
    C("linear-nobias-fc-alias", (84,), "fc(10, bias=false)", lambda: nn.Linear(84, 10, bias=False), "linear"),
    C("linear-last-dim-of-3d", (8, 5, 16), "linear(32)", lambda: nn.Linear(16, 32), "linear"),
    C("linear-last-dim-in-features", (10, 16), "dense(32, in_features=16)", lambda: nn.Linear(16, 32), "linear"),
    C("flatten-default", (16, 5, 5), "flatten", lambda: nn.Flatten()),
    C("flatten-start2", (16, 5, 6), "flatten(2)", lambda: nn.Flatten(2)),
    C("flatten-start1-end2", (4, 5, 6, 7), "flatten(start_dim=1, end_dim=2)", lambda: nn.Flatten(1, 2)),
    C("flatten-end-minus2", (4, 5, 6, 7), "flatten(end_dim=-2)", lambda: nn.Flatten(1, -2)),
    C("flatten-start-minus2", (4, 5, 6, 7), "flatten(-2)", lambda: nn.Flatten(-2)),
    C("reshape-minus1", (16, 8, 8), "reshape((16, -1))", fn(lambda x: x.reshape(x.shape[0], 16, -1), "reshape")),
    C("reshape-x-syntax", (16, 8, 8), "reshape(4x4x64)", fn(lambda x: x.reshape(x.shape[0], 4, 4, 64), "reshape")),
    C("reshape-view-alias-first-minus1", (16, 8, 8), "view((-1, 8))", fn(lambda x: x.view(x.shape[0], -1, 8), "view")),
    C("identity", (3, 7, 7), "identity", lambda: nn.Identity()),
    C("dropout", (3, 7, 7), "dropout(0.3)", lambda: nn.Dropout(0.3)),
    C("dropout2d", (3, 7, 7), "dropout2d(p=0.2)", lambda: nn.Dropout2d(0.2)),
    C("dropout1d", (3, 7), "dropout1d(0.1)", lambda: nn.Dropout1d(0.1)),
    C("dropout3d", (3, 4, 7, 7), "dropout3d", lambda: nn.Dropout3d()),
]

NORM = [
    C("batchnorm2d", (64, 8, 8), "batchnorm", lambda: nn.BatchNorm2d(64)),
    C("batchnorm2d-bn-alias-declared", (64, 8, 8), "bn(num_features=64)", lambda: nn.BatchNorm2d(64)),
    C("batchnorm2d-no-affine", (64, 8, 8), "batchnorm(affine=false)", lambda: nn.BatchNorm2d(64, affine=False)),
    C(
        "batchnorm2d-no-running-stats",
        (64, 8, 8),
        "bn(track_running_stats=false)",
        lambda: nn.BatchNorm2d(64, track_running_stats=False),
    ),
    C("batchnorm1d-on-features", (120,), "batchnorm1d", lambda: nn.BatchNorm1d(120)),
    C("batchnorm1d-on-sequence", (16, 30), "batchnorm1d", lambda: nn.BatchNorm1d(16)),
    C("batchnorm3d", (16, 4, 6, 6), "batchnorm3d", lambda: nn.BatchNorm3d(16)),
    C("groupnorm", (32, 8, 8), "groupnorm(4)", lambda: nn.GroupNorm(4, 32)),
    C("groupnorm-no-affine", (32, 8, 8), "gn(8, affine=false)", lambda: nn.GroupNorm(8, 32, affine=False)),
    C("groupnorm-1d", (32, 10), "group_norm(num_groups=32)", lambda: nn.GroupNorm(32, 32)),
    C("layernorm-default-all-axes", (16, 5, 5), "layernorm", lambda: nn.LayerNorm([16, 5, 5])),
    C("layernorm-last-axis", (10, 64), "layernorm((64,))", lambda: nn.LayerNorm(64)),
    C("layernorm-last-two", (4, 5, 6), "ln(shape=(5, 6))", lambda: nn.LayerNorm([5, 6])),
    C(
        "layernorm-no-affine",
        (10, 64),
        "layernorm((64,), elementwise_affine=false)",
        lambda: nn.LayerNorm(64, elementwise_affine=False),
    ),
    C("layernorm-no-bias", (10, 64), "layernorm((64,), bias=false)", lambda: nn.LayerNorm(64, bias=False)),
    C("instancenorm2d", (16, 8, 8), "instancenorm", lambda: nn.InstanceNorm2d(16)),
    C("instancenorm2d-affine", (16, 8, 8), "instancenorm(affine=true)", lambda: nn.InstanceNorm2d(16, affine=True)),
    C(
        "instancenorm2d-running-stats",
        (16, 8, 8),
        "instance_norm(affine=true, track_running_stats=true)",
        lambda: nn.InstanceNorm2d(16, affine=True, track_running_stats=True),
    ),
    C("instancenorm1d", (16, 20), "instancenorm1d", lambda: nn.InstanceNorm1d(16)),
    C(
        "instancenorm3d-affine",
        (16, 3, 4, 4),
        "instancenorm3d(affine=true)",
        lambda: nn.InstanceNorm3d(16, affine=True),
    ),
]

ACTIVATION = [
    C("relu", (8, 5, 5), "relu", lambda: nn.ReLU()),
    C("relu-inplace", (8, 5, 5), "relu(inplace=true)", lambda: nn.ReLU(inplace=True)),
    C("relu6", (8, 5, 5), "relu6", lambda: nn.ReLU6()),
    C("leaky_relu", (8, 5, 5), "leaky_relu(0.2)", lambda: nn.LeakyReLU(0.2)),
    C("leaky_relu-lrelu-alias", (8, 5), "lrelu(negative_slope=0.1)", lambda: nn.LeakyReLU(0.1)),
    C("gelu", (10, 64), "gelu", lambda: nn.GELU()),
    C("gelu-tanh", (10, 64), 'gelu(approximate="tanh")', lambda: nn.GELU(approximate="tanh")),
    C("silu", (8, 5, 5), "silu", lambda: nn.SiLU()),
    C("silu-swish-alias", (8, 5, 5), "swish", lambda: nn.SiLU()),
    C("hardswish", (8, 5, 5), "hardswish", lambda: nn.Hardswish()),
    C("hardsigmoid", (8, 5, 5), "hardsigmoid", lambda: nn.Hardsigmoid()),
    C("sigmoid", (8, 5, 5), "sigmoid", lambda: nn.Sigmoid()),
    C("tanh", (8, 5, 5), "tanh", lambda: nn.Tanh()),
    C("elu", (8, 5, 5), "elu(alpha=0.5)", lambda: nn.ELU(alpha=0.5)),
    C("mish", (4, 6, 6), "mish", lambda: nn.Mish()),
    C("lrn", (16, 7, 7), "lrn(5, alpha=0.0001, beta=0.75)", lambda: nn.LocalResponseNorm(5, alpha=0.0001, beta=0.75)),
    C("lrn-k", (6, 5), "lrn(3, k=2.0)", lambda: nn.LocalResponseNorm(3, k=2.0)),
    C("softmax-vector", (10,), "softmax", lambda: nn.Softmax(dim=1)),
    C("softmax-channels", (10, 4, 4), "softmax(dim=1)", lambda: nn.Softmax(dim=1)),
    C("softmax-last", (10, 4, 6), "softmax(dim=-1)", lambda: nn.Softmax(dim=-1)),
    C("log_softmax", (10,), "log_softmax", lambda: nn.LogSoftmax(dim=1)),
    C("log_softmax-dim2", (10, 4, 6), "log_softmax(dim=2)", lambda: nn.LogSoftmax(dim=2)),
]

RESAMPLE = [
    C("upsample-nearest-2", (8, 7, 9), "upsample(2)", lambda: nn.Upsample(scale_factor=2)),
    C(
        "upsample-bilinear-2",
        (8, 7, 9),
        'upsample(2, mode="bilinear")',
        lambda: nn.Upsample(scale_factor=2, mode="bilinear"),
    ),
    C(
        "upsample-bilinear-align-corners",
        (8, 7, 9),
        'upsample(2, mode="bilinear", align_corners=true)',
        lambda: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
    ),
    C("upsample-nearest-1.5", (8, 7, 9), "upsample(1.5)", lambda: nn.Upsample(scale_factor=1.5)),
    C(
        "upsample-bilinear-1.5",
        (8, 7, 9),
        'upsample(scale=1.5, mode="bilinear")',
        lambda: nn.Upsample(scale_factor=1.5, mode="bilinear"),
    ),
    C(
        "upsample-per-axis-scale",
        (8, 7, 9),
        "upsample(scale_factor=(1.5, 2.5))",
        lambda: nn.Upsample(scale_factor=(1.5, 2.5)),
    ),
    C("upsample-downscale-0.5", (8, 7, 9), "upsample(0.5)", lambda: nn.Upsample(scale_factor=0.5)),
    C("upsample-scale-1.1", (8, 10, 30), "upsample(1.1)", lambda: nn.Upsample(scale_factor=1.1)),
    C("upsample-size-tuple", (8, 7, 9), "upsample(size=(10, 12))", lambda: nn.Upsample(size=(10, 12))),
    C(
        "upsample-size-int-bilinear",
        (8, 7, 9),
        'resize(size=16, mode="bilinear")',
        lambda: nn.Upsample(size=16, mode="bilinear"),
    ),
    C(
        "upsample-bicubic",
        (8, 7, 9),
        'upsample(3, mode="bicubic")',
        lambda: nn.Upsample(scale_factor=3, mode="bicubic"),
    ),
    C(
        "upsample1d-linear",
        (8, 13),
        'upsample(2.5, mode="linear")',
        lambda: nn.Upsample(scale_factor=2.5, mode="linear"),
    ),
    C(
        "upsample3d-trilinear",
        (4, 3, 5, 6),
        'upsample(2, mode="trilinear")',
        lambda: nn.Upsample(scale_factor=2, mode="trilinear"),
    ),
    C("upsample3d-nearest-size", (4, 3, 5, 6), "interpolate(size=(4, 8, 9))", lambda: nn.Upsample(size=(4, 8, 9))),
    C("pixel_shuffle-2", (16, 8, 8), "pixel_shuffle(2)", lambda: nn.PixelShuffle(2)),
    C("pixel_shuffle-3", (18, 5, 7), "pixelshuffle(3)", lambda: nn.PixelShuffle(3)),
    C("pad-int", (8, 5, 6), "pad(2)", lambda: nn.ZeroPad2d(2)),
    C("pad-left-right-top-bottom", (8, 5, 6), "pad((1, 2, 3, 4))", lambda: nn.ZeroPad2d((1, 2, 3, 4))),
    C("pad-functional-order", (8, 5, 6), "zeropad((0, 1, 0, 1))", fn(lambda x: F.pad(x, (0, 1, 0, 1)), "F.pad")),
    C("pad-last-axis-only", (8, 5, 6), "pad((1, 2))", fn(lambda x: F.pad(x, (1, 2)), "F.pad")),
    C("pad-1d", (8, 10), "pad((3, 1))", lambda: nn.ConstantPad1d((3, 1), 0.0)),
    C("pad-3d-six-values", (4, 3, 5, 6), "pad((1, 2, 3, 4, 5, 6))", lambda: nn.ConstantPad3d((1, 2, 3, 4, 5, 6), 0.0)),
    C("pad-constant-value", (8, 5, 6), "constant_pad(1, value=0.5)", lambda: nn.ConstantPad2d(1, 0.5)),
    C("pad-negative-crops", (8, 5, 6), "pad((-1, -1, 0, 1))", fn(lambda x: F.pad(x, (-1, -1, 0, 1)), "F.pad")),
    C("crop-size", (8, 10, 12), "crop(size=(5, 6))", fn(lambda x: oracle.crop(x, (5, 6)), "crop")),
    M(
        "reshape-like",
        {"x": (2, 3, 20), "s": (6, 4, 5)},
        "y = x -> t: reshape(like=s)",
        fn(lambda x, s: x.reshape_as(s), "reshape_as"),
    ),
    M(
        "crop-like-tensor",
        {"x": (8, 10, 12), "s": (8, 7, 9)},
        "y = x -> t: crop(s)",
        fn(lambda x, s: oracle.crop(x, s.shape[2:]), "crop"),
    ),
    C(
        "center_crop-size-even-margin",
        (8, 10, 12),
        "center_crop(size=(6, 8))",
        fn(lambda x: oracle.center_crop(x, (6, 8)), "center_crop"),
    ),
    C(
        "center_crop-size-odd-margin",
        (8, 7, 7),
        "center_crop(size=(4, 4))",
        fn(lambda x: oracle.center_crop(x, (4, 4)), "center_crop"),
    ),
    C("center_crop-size-int", (8, 9, 11), "centercrop(size=5)", fn(lambda x: oracle.center_crop(x, (5, 5)), "cc")),
    M(
        "center_crop-like-unet-skip",
        {"x": (512, 64, 64), "s": (1024, 56, 56)},
        "y = x -> t: center_crop(s)",
        fn(lambda x, s: oracle.center_crop(x, s.shape[2:]), "center_crop"),
    ),
    M(
        "center_crop-like-different-channels",
        {"x": (64, 9, 11), "s": (3, 4, 4)},
        "y = x -> t: center_crop(s)",
        fn(lambda x, s: oracle.center_crop(x, s.shape[2:]), "center_crop"),
    ),
]

MERGE = [
    M("add-same-shape", {"a": (64, 56, 56), "b": (64, 56, 56)}, "y = t: add(a, b)", fn(torch.add, "add")),
    M("add-chain-form", {"a": (64, 56, 56), "b": (64, 56, 56)}, "y = a -> t: add(b)", fn(torch.add, "add")),
    M(
        "add-three",
        {"a": (8, 4, 4), "b": (8, 4, 4), "c": (8, 4, 4)},
        "y = t: sum(a, b, c)",
        fn(lambda a, b, c: a + b + c, "a + b + c"),
    ),
    M("add-broadcast-1x1", {"a": (64, 56, 56), "b": (64, 1, 1)}, "y = t: add(a, b)", fn(torch.add, "add")),
    M("add-broadcast-both-sides", {"a": (64, 1, 56), "b": (1, 56, 1)}, "y = t: add(a, b)", fn(torch.add, "add")),
    M("mul-se-broadcast", {"a": (64, 56, 56), "b": (64, 1, 1)}, "y = t: mul(a, b)", fn(torch.mul, "mul")),
    M("mul-broadcast-first", {"a": (64, 1, 1), "b": (64, 56, 56)}, "y = a -> t: multiply(b)", fn(torch.mul, "mul")),
    M("mul-broadcast-channel", {"a": (64, 56, 56), "b": (1, 56, 56)}, "y = t: mul(a, b)", fn(torch.mul, "mul")),
    M(
        "concat-channels",
        {"a": (16, 8, 8), "b": (32, 8, 8)},
        "y = t: concat(a, b)",
        fn(lambda a, b: torch.cat([a, b], dim=1), "cat"),
    ),
    M(
        "concat-three-cat-alias",
        {"a": (16, 8, 8), "b": (32, 8, 8), "c": (8, 8, 8)},
        "y = t: cat(a, b, c)",
        fn(lambda a, b, c: torch.cat([a, b, c], dim=1), "cat"),
    ),
    M(
        "concat-height",
        {"a": (16, 8, 8), "b": (16, 3, 8)},
        "y = t: concat(a, b, dim=2)",
        fn(lambda a, b: torch.cat([a, b], dim=2), "cat"),
    ),
    M(
        "concat-last-negative-dim",
        {"a": (16, 8, 8), "b": (16, 8, 5)},
        "y = a -> t: concat(b, dim=-1)",
        fn(lambda a, b: torch.cat([a, b], dim=-1), "cat"),
    ),
    M(
        "concat-features",
        {"a": (100,), "b": (28,)},
        "y = t: concat(a, b)",
        fn(lambda a, b: torch.cat([a, b], dim=1), "cat"),
    ),
    C("chunk-2-channels", (64, 8, 8), "p, q = x -> t: chunk(2)", fn(lambda x: torch.chunk(x, 2, dim=1), "chunk")),
    C(
        "chunk-3-height",
        (6, 9, 8),
        "p, q, r = x -> t: chunk(3, dim=2)",
        fn(lambda x: torch.chunk(x, 3, dim=2), "chunk"),
    ),
    C(
        "chunk-2-last-negative-dim",
        (6, 9, 8),
        "p, q = x -> t: chunk(n=2, dim=-1)",
        fn(lambda x: torch.chunk(x, 2, dim=-1), "chunk"),
    ),
    C(
        "split-channels",
        (16, 8, 8),
        "p, q, r = x -> t: split((4, 8, 4))",
        fn(lambda x: torch.split(x, [4, 8, 4], dim=1), "split"),
    ),
    C(
        "split-width",
        (16, 8, 10),
        "p, q = x -> t: split((3, 7), dim=3)",
        fn(lambda x: torch.split(x, [3, 7], dim=3), "split"),
    ),
    # torch.chunk does not need equal parts: 13 channels in 2 chunks are 7 + 6.
    C("chunk-uneven-13-into-2", (13, 4, 4), "p, q = x -> t: chunk(2)", fn(lambda x: torch.chunk(x, 2, dim=1), "chunk")),
]


# Modern kinds (issue 17). The reference modules are plain PyTorch, written from torchvision's
# definitions where PyTorch has no module (ConvNeXt's LayerNorm2d, Swin's window attention and
# patch merging). MACs are counted on the torch side from the module's own weights (projections as
# linear layers, L x weight rows x columns) plus, for attention, q·kᵀ and attn·v (torchvision's `_ops`).


class _SelfAttention(nn.Module):
    def __init__(self, d, heads, causal=False, kdim=None, **kwargs):
        super().__init__()
        self.mha = nn.MultiheadAttention(d, heads, batch_first=True, kdim=kdim, vdim=kdim, **kwargs)
        self.causal = causal

    def forward(self, x, memory=None):
        kv = x if memory is None else memory
        mask = torch.ones(x.shape[1], kv.shape[1], dtype=torch.bool).triu(1) if self.causal else None
        return self.mha(x, kv, kv, need_weights=False, attn_mask=mask)[0]


def _attention_macs(result, inputs):
    mha = result.module.mha
    shapes = list(inputs.values())
    (lq, d), (lk, _) = shapes[0], shapes[-1]
    if mha._qkv_same_embed_dim:
        projections = lq * d * d + 2 * lk * d * d  # in_proj_weight's three row blocks
    else:
        projections = lq * mha.q_proj_weight.numel() + lk * (mha.k_proj_weight.numel() + mha.v_proj_weight.numel())
    return projections + lq * mha.out_proj.weight.numel() + 2 * lq * lk * d


class _GroupedQuery(nn.Module):
    def __init__(self, d, heads, kv_heads, bias=True):
        super().__init__()
        head = d // heads
        self.heads, self.kv_heads = heads, kv_heads
        self.q, self.k, self.v = (
            nn.Linear(d, d, bias=bias),
            nn.Linear(d, head * kv_heads, bias=bias),
            nn.Linear(d, head * kv_heads, bias=bias),
        )
        self.o = nn.Linear(d, d, bias=bias)

    def forward(self, x):
        n, length, d = x.shape
        q = self.q(x).view(n, length, self.heads, -1).transpose(1, 2)
        k = self.k(x).view(n, length, self.kv_heads, -1).transpose(1, 2)
        v = self.v(x).view(n, length, self.kv_heads, -1).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
        return self.o(y.transpose(1, 2).reshape(n, length, d))


def _gqa_macs(result, inputs):
    m = result.module
    ((length, d),) = inputs.values()
    return length * sum(layer.weight.numel() for layer in (m.q, m.k, m.v, m.o)) + 2 * length * length * d


class _WindowAttention(nn.Module):
    """torchvision's ShiftedWindowAttention: its parameters and buffer (shapes only in forward)."""

    def __init__(self, dim, window, heads, qkv_bias=True, proj_bias=True):
        super().__init__()
        self.window = window
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        self.register_buffer("relative_position_index", torch.zeros(window**4, dtype=torch.long))

    def forward(self, x):
        return self.proj(self.qkv(x)[..., : x.shape[-1]])


def _window_macs(result, inputs):
    m = result.module
    ((h, w, c),) = inputs.values()
    windows, tokens = (h // m.window) * (w // m.window), m.window**2
    return h * w * (m.qkv.weight.numel() + m.proj.weight.numel()) + 2 * windows * tokens * tokens * c


class _PatchMerging(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x):
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x))


def _merging_macs(result, inputs):
    (out,) = result.shapes
    return out[0] * out[1] * result.module.reduction.weight.numel()


class _LayerNorm2d(nn.LayerNorm):
    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class _Scale(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(shape))

    def forward(self, x):
        return x * self.gamma


class _Recurrent(nn.Module):
    def __init__(self, cls, *args, **kwargs):
        super().__init__()
        self.rnn = cls(*args, batch_first=True, **kwargs)

    def forward(self, x):
        y, state = self.rnn(x)
        states = state if isinstance(state, tuple) else (state,)
        return (y, *(s.transpose(0, 1) for s in states))


def _recurrent_macs(result, inputs):
    ((length, _),) = inputs.values()
    weights = sum(p.numel() for name, p in result.module.rnn.named_parameters() if name.startswith("weight"))
    return length * weights  # each weight multiplies once per time step


class _Ids(nn.Module):
    """nn.Embedding fed ids made from the oracle's random values."""

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.embedding = nn.Embedding(*args, **kwargs)

    def forward(self, x):
        return self.embedding((x.abs() * 1000).long() % self.embedding.num_embeddings)


class _ClassToken(nn.Module):
    def __init__(self, dim, tokens=1):
        super().__init__()
        self.class_token = nn.Parameter(torch.zeros(1, tokens, dim))

    def forward(self, x):  # torchvision's VisionTransformer.forward
        return torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)


class _PositionEmbedding(nn.Module):
    def __init__(self, length, dim):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.zeros(1, length, dim))

    def forward(self, x):  # torchvision's Encoder.forward
        return x + self.pos_embedding


class _Param(nn.Module):
    """A learned tensor read as torchvision reads its class token: expanded over the batch."""

    def __init__(self, *shape):
        super().__init__()
        self.t = nn.Parameter(torch.zeros(1, *shape))

    def forward(self, x):
        return self.t.expand(x.shape[0], *(-1 for _ in self.t.shape[1:]))


MODERN = [
    # the `param` statement: a learned tensor, the layer `t` itself
    C("param-tokens", (197, 32), "y = x -> add(t)\nparam t: 197 x 32", lambda: _Param(197, 32)),
    C("param-layer-scale", (8, 5, 5), "y = x -> mul(t)\nparam t: 8 x 1 x 1, init=1e-6", lambda: _Param(8, 1, 1)),
    # learned tensors of ViT
    C("class_token", (196, 32), "class_token", lambda: _ClassToken(32)),
    C("class_token-two", (10, 8), "class_token(2)", lambda: _ClassToken(8, 2)),
    C("position_embedding", (197, 32), "position_embedding(197)", lambda: _PositionEmbedding(197, 32)),
    # moving axes
    C("permute-nchw-to-nhwc", (8, 5, 6), "permute(0, 2, 3, 1)", fn(lambda x: x.permute(0, 2, 3, 1), "permute")),
    C("permute-dims-keyword", (5, 6, 8), "permute(dims=(0, 3, 1, 2))", fn(lambda x: x.permute(0, 3, 1, 2), "permute")),
    C("permute-negative-dims", (4, 5, 6), "permute(0, -1, 1, 2)", fn(lambda x: x.permute(0, -1, 1, 2), "permute")),
    C("transpose-flattened-to-tokens", (8, 30), "transpose(1, 2)", fn(lambda x: x.transpose(1, 2), "transpose")),
    C("transpose-negative", (4, 5, 6), "transpose(-1, -3)", fn(lambda x: x.transpose(-1, -3), "transpose")),
    C("unflatten", (12, 10), "unflatten(1, (3, 4))", lambda: nn.Unflatten(1, (3, 4))),
    C("unflatten-inferred-size", (8, 30), "unflatten(2, (5, -1))", lambda: nn.Unflatten(2, (5, -1))),
    C("select-class-token", (197, 16), "select(1, 0)", fn(lambda x: x.select(1, 0), "select")),
    C("select-last", (5, 7, 3), "select(-1, -1)", fn(lambda x: x.select(-1, -1), "select")),
    C("roll", (3, 5, 6), "roll((1, -2), (2, 3))", fn(lambda x: torch.roll(x, (1, -2), (2, 3)), "roll")),
    C("pixel_unshuffle", (3, 8, 12), "pixel_unshuffle(2)", lambda: nn.PixelUnshuffle(2)),
    C("channel_shuffle", (12, 5, 5), "channel_shuffle(3)", lambda: nn.ChannelShuffle(3)),
    C("embedding", (10,), "embedding(100, 16)", lambda: _Ids(100, 16)),
    C("embedding-padding-idx", (4, 3), "embedding(50, 8, padding_idx=0)", lambda: _Ids(50, 8, padding_idx=0)),
    C(
        "upsample-nearest-exact",
        (3, 5, 7),
        'upsample(2, mode="nearest-exact")',
        lambda: nn.Upsample(scale_factor=2, mode="nearest-exact"),
    ),
    # ConvNeXt's pieces
    C("layernorm2d", (8, 5, 5), "layernorm2d(eps=1e-6)", lambda: _LayerNorm2d(8, eps=1e-6)),
    C("layernorm2d-no-bias", (8, 5, 5), "layernorm2d(bias=false)", lambda: _LayerNorm2d(8, bias=False)),
    C("layer_scale-channels", (8, 5, 5), "layer_scale(1e-6)", lambda: _Scale((8, 1, 1))),
    C("layer_scale-tokens", (10, 16), "layer_scale(0.1, dim=-1)", lambda: _Scale((16,))),
    C("stochastic_depth", (8, 5, 5), "stochastic_depth(0.2)", fn(lambda x: x, "identity in eval")),
    # an imported module convdsl cannot see into: its traced shape and its parameter count, as given
    C("opaque", (8, 5, 5), 'opaque((8, 5, 5), params=8, source="PReLU")', lambda: nn.PReLU(8)),
    C("opaque-reshapes", (8, 6, 6), "opaque((2, 12, 12), params=0)", lambda: nn.PixelShuffle(2)),
    # attention
    C("attention-self", (10, 32), "attention(4)", lambda: _SelfAttention(32, 4), _attention_macs),
    C(
        "attention-no-bias",
        (7, 24),
        "attention(3, bias=false)",
        lambda: _SelfAttention(24, 3, bias=False),
        _attention_macs,
    ),
    C(
        "attention-causal",
        (9, 16),
        "attention(2, causal=true)",
        lambda: _SelfAttention(16, 2, causal=True),
        _attention_macs,
    ),
    M(
        "attention-cross",
        {"x": (6, 32), "memory": (11, 32)},
        "y = x -> t: attention(8, memory=memory)",
        lambda: _SelfAttention(32, 8),
        _attention_macs,
    ),
    M(
        "attention-cross-other-width",
        {"x": (6, 32), "memory": (11, 20)},
        "y = x -> t: attention(4, memory=memory)",
        lambda: _SelfAttention(32, 4, kdim=20),
        _attention_macs,
    ),
    C("attention-grouped-query", (10, 32), "attention(8, kv_heads=2)", lambda: _GroupedQuery(32, 8, 2), _gqa_macs),
    M(
        "matmul",
        {"x": (4, 5, 6), "b": (4, 6, 7)},
        "y = x -> t: matmul(b)",
        fn(torch.matmul, "matmul"),
        lambda r, i: math.prod(r.shapes[0]) * 6,
    ),
    M(
        "matmul-transpose-b",
        {"x": (3, 5, 8), "b": (3, 7, 8)},
        "y = x -> t: matmul(b, transpose_b=true)",
        fn(lambda a, b: a @ b.transpose(-2, -1), "matmul"),
        lambda r, i: math.prod(r.shapes[0]) * 8,
    ),
    M(
        "matmul-transpose-a-broadcast",
        {"x": (1, 6, 5), "b": (4, 6, 2)},
        "y = x -> t: matmul(b, transpose_a=true)",
        fn(lambda a, b: a.transpose(-2, -1) @ b, "matmul"),
        lambda r, i: math.prod(r.shapes[0]) * 6,
    ),
    C("window_attention", (14, 14, 32), "window_attention(2, 7)", lambda: _WindowAttention(32, 7, 2), _window_macs),
    C(
        "window_attention-shifted",
        (8, 8, 16),
        "window_attention(4, 4, shift=2, qkv_bias=false)",
        lambda: _WindowAttention(16, 4, 4, qkv_bias=False),
        _window_macs,
    ),
    C("patch_merging", (8, 6, 16), "patch_merging", lambda: _PatchMerging(16), _merging_macs),
    # recurrent: outputs (sequence, h, c), states with the batch first
    C("lstm", (12, 10), "y, h, c = x -> t: lstm(16)", lambda: _Recurrent(nn.LSTM, 10, 16), _recurrent_macs),
    C(
        "lstm-2-layers-bidirectional",
        (12, 10),
        "y, h, c = x -> t: lstm(16, 2, bidirectional=true)",
        lambda: _Recurrent(nn.LSTM, 10, 16, 2, bidirectional=True),
        _recurrent_macs,
    ),
    C(
        "lstm-projection-no-bias",
        (12, 10),
        "y, h, c = x -> t: lstm(16, 2, proj_size=6, bias=false)",
        lambda: _Recurrent(nn.LSTM, 10, 16, 2, proj_size=6, bias=False),
        _recurrent_macs,
    ),
    C(
        "lstm-bidirectional-projection",
        (5, 4),
        "y, h, c = x -> t: lstm(8, 3, proj_size=3, bidirectional=true)",
        lambda: _Recurrent(nn.LSTM, 4, 8, 3, proj_size=3, bidirectional=True),
        _recurrent_macs,
    ),
    C("gru", (12, 10), "y, h = x -> t: gru(16)", lambda: _Recurrent(nn.GRU, 10, 16), _recurrent_macs),
    C(
        "gru-3-layers-bidirectional",
        (7, 10),
        "y, h = x -> t: gru(6, 3, bidirectional=true)",
        lambda: _Recurrent(nn.GRU, 10, 6, 3, bidirectional=True),
        _recurrent_macs,
    ),
]

CASES = CONV + CONV_TRANSPOSE + POOL + DENSE + NORM + ACTIVATION + RESAMPLE + MERGE + MODERN


def _analyze(case: Case):
    analysis = convdsl.loads(case.source()).analyze()
    return analysis, analysis.layers.get("t")


def _param(cases):
    return [pytest.param(c, id=c.id, marks=c.marks) for c in cases]


@pytest.mark.parametrize("case", _param(CASES))
def test_layer_matches_torch(case):
    expected = oracle.run(case.torch, *case.inputs.values())
    analysis, info = _analyze(case)
    errors = [f"{d.code.code} {d.message}" for d in analysis.diagnostics if d.is_error and d.code.code not in LINT_ONLY]
    assert not errors, f"convdsl rejects a configuration torch accepts:\n{case.source()}"
    assert info is not None, f"no layer `t` in\n{case.source()}"
    assert info.output_shapes == expected.shapes, case.source()
    assert info.params == expected.params, "parameters"
    assert info.buffers == expected.buffers, "buffers"
    if case.macs:
        assert info.macs == expected_macs(case.macs, expected, case.inputs), "MACs"
    else:
        assert info.macs == 0


def expected_macs(kind, result, inputs) -> int:
    if callable(kind):  # the case's own count from the torch module
        return kind(result, inputs)
    module = result.module
    if isinstance(module, nn.Sequential):
        module = module[-1]
    (out,) = result.shapes
    if kind == "conv":
        return module.weight.numel() * math.prod(out[1:])
    if kind == "transposed":
        (shape,) = inputs.values()
        return module.weight.numel() * math.prod(shape[1:])
    if kind == "linear":
        return module.in_features * module.out_features * math.prod(out[:-1])
    raise ValueError(kind)


def test_every_kind_is_covered():
    """Each canonical kind of the catalogue appears in some case."""
    from convdsl.layers import KINDS, canonical_kinds

    used = set()
    for case in CASES:
        analysis = convdsl.loads(case.source()).analyze()
        for info in analysis.layers.values():
            used.add(id(KINDS[info.kind]))
    missing = [k.name for k in canonical_kinds() if id(k) not in used]
    assert not missing, f"kinds with no torch case: {missing}"


# Configurations torch refuses: convdsl should not report a shape for them.


def _torch_rejects(factory, *shapes) -> bool:
    try:
        oracle.run(factory, *shapes)
    except (RuntimeError, ValueError):
        return True
    return False


REJECTED = [
    C(
        "conv_transpose2d-output-below-1",
        (8, 1, 1),
        "conv_transpose(4, 1, p=1)",
        lambda: nn.ConvTranspose2d(8, 4, 1, padding=1),
    ),
    C("conv2d-kernel-larger-than-input", (8, 4, 4), "conv(4, 5)", lambda: nn.Conv2d(8, 4, 5)),
    C("maxpool2d-padding-over-half", (8, 8, 8), "maxpool(2, p=2)", lambda: nn.MaxPool2d(2, padding=2)),
    C("conv2d-same-stride2", (8, 8, 8), "conv(4, 3, s=2, p=same)", lambda: nn.Conv2d(8, 4, 3, 2, padding="same")),
    C("pixel_shuffle-channels-not-divisible", (8, 4, 4), "pixel_shuffle(3)", lambda: nn.PixelShuffle(3)),
    # torch limits pooling padding to half the kernel size k, not half the dilated extent d(k-1)+1
    C(
        "maxpool2d-dilated-padding-over-half-kernel",
        (8, 8, 8),
        "maxpool(2, s=1, d=3, p=2)",
        lambda: nn.MaxPool2d(2, 1, 2, dilation=3),
    ),
    # with the batch, a lower-rank tensor lines up with the wrong axes: (2, 8) + (2, 16, 8, 8) fails in torch
    M("add-lower-rank-tensor", {"a": (16, 8, 8), "v": (8,)}, "y = t: add(a, v)", fn(torch.add, "add")),
    C(
        "upsample-nearest-align-corners",
        (8, 7, 9),
        "upsample(2, align_corners=true)",
        lambda: nn.Upsample(scale_factor=2, align_corners=True),
    ),
    M("add-mismatch", {"a": (8, 4, 4), "b": (8, 4, 5)}, "y = t: add(a, b)", fn(torch.add, "add")),
    M(
        "concat-mismatch",
        {"a": (8, 4, 4), "b": (8, 5, 4)},
        "y = t: concat(a, b)",
        fn(lambda a, b: torch.cat([a, b], dim=1), "cat"),
    ),
    # torch's avg_pool3d: "input image smaller than kernel size", however much padding there is
    C("avgpool3d-input-smaller-than-kernel", (1, 1, 1, 1), "avgpool(2, p=1)", lambda: nn.AvgPool3d(2, padding=1)),
    C(
        "avgpool3d-one-axis-smaller-than-kernel",
        (1, 1, 3, 3),
        "avgpool((2, 1, 1), s=1, p=(1, 0, 0))",
        lambda: nn.AvgPool3d((2, 1, 1), 1, (1, 0, 0)),
    ),
    # without running statistics batch norm uses the batch's even in eval mode: one value per channel at
    # batch 1 (convdsl's batch when none is declared; the oracle's batch is 2, so x[:1])
    C(
        "batchnorm-no-running-stats-one-value",
        (4, 1, 1),
        "bn(track_running_stats=false)",
        fn(lambda x: nn.BatchNorm2d(4, track_running_stats=False).eval()(x[:1]), "bn"),
    ),
    C(
        "batchnorm1d-no-running-stats-one-value",
        (4,),
        "bn(track_running_stats=false)",
        fn(lambda x: nn.BatchNorm1d(4, track_running_stats=False).eval()(x[:1]), "bn"),
    ),
    # negative padding cuts before it pads: 1 - 2 < 0 ("narrow(): length must be non-negative")
    C("pad-negative-beyond-input", (1, 1), "pad((2, -2))", fn(lambda x: F.pad(x, (2, -2)), "pad")),
    C(
        "pad-negative-beyond-input-height",
        (1, 2, 5),
        "pad((0, 0, -3, 3))",
        fn(lambda x: F.pad(x, (0, 0, -3, 3)), "pad"),
    ),
]


@pytest.mark.parametrize("case", _param(REJECTED))
def test_torch_rejects_and_convdsl_reports(case):
    assert _torch_rejects(case.torch, *case.inputs.values()), "torch accepted it; the case is wrong"
    analysis, info = _analyze(case)
    assert analysis.has_errors
    assert info is None or info.output_shapes == (None,) * len(info.output_shapes), info
