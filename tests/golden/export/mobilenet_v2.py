# -*- coding: utf-8 -*-
# PyTorch model exported by convdsl 0.1.0.
# Network `mobilenet_v2`, from examples/mobilenet_v2.cdsl.
#
# MobileNetV2, as torchvision defines it (width 1.0).
# Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018
# (arXiv:1801.04381). Published (torchvision): 3,504,872 parameters, 300,774,272 MACs at 3x224x224.

import torch
from torch import nn


# torchvision's Conv2dNormActivation: convolution, batch norm, ReLU6.
class Cbr(nn.Sequential):
    def __init__(self, in_channels, c, k=3, s=1, g=1):
        super().__init__(
            nn.Conv2d(in_channels, c, k, stride=s, padding=(k - 1) // 2, groups=g, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU6(),
        )


# Inverted residual: 1x1 expand by t (skipped when t = 1), 3x3 depthwise (carries
# the stride), linear 1x1 projection; a residual add when the shape is unchanged.
class Inverted(nn.Module):
    def __init__(self, in_channels, inp, oup, s=1, t=6):
        super().__init__()
        conv = []
        if t != 1:
            conv.append(Cbr(in_channels, inp * t, 1))
        conv += [
            Cbr(inp * t, inp * t, s=s, g=inp * t),
            nn.Conv2d(inp * t, oup, 1, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*conv)
        self.use_add1 = s == 1 and inp == oup

    def forward(self, x):
        y = self.conv(x)
        out = y
        if self.use_add1:
            out = y + x
        return out


class MobilenetV2(nn.Module):
    """mobilenet_v2: image (N, 3, 224, 224) -> logits (N, 1000)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            Cbr(3, 32, s=2),
            Inverted(32, 32, 16, t=1),
            Inverted(16, 16, 24, s=2),
            Inverted(24, 24, 24),
            Inverted(24, 24, 32, s=2),
            Inverted(32, 32, 32),
            Inverted(32, 32, 32),
            Inverted(32, 32, 64, s=2),
            Inverted(64, 64, 64),
            Inverted(64, 64, 64),
            Inverted(64, 64, 64),
            Inverted(64, 64, 96),
            Inverted(96, 96, 96),
            Inverted(96, 96, 96),
            Inverted(96, 96, 160, s=2),
            Inverted(160, 160, 160),
            Inverted(160, 160, 160),
            Inverted(160, 160, 320),
            Cbr(320, 1280, 1),
        )
        self.adaptive_avgpool1 = nn.AdaptiveAvgPool2d(1)
        self.flatten1 = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.2),
            nn.Linear(1280, 1000),
        )

    def forward(self, image):
        x = self.features(image)  # 1280 x 7 x 7
        x = self.adaptive_avgpool1(x)  # 1280 x 1 x 1
        x = self.flatten1(x)  # 1280
        return self.classifier(x)  # 1000
