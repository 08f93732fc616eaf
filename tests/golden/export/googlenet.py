# -*- coding: utf-8 -*-
# PyTorch model exported by convdsl 0.1.0.
# Network `googlenet`, from examples/googlenet.cdsl.
#
# GoogLeNet (Inception v1), as torchvision defines it, without the auxiliary heads.
# Szegedy et al., "Going Deeper with Convolutions", CVPR 2015 (arXiv:1409.4842).
# Published (torchvision): 6,624,904 parameters, 1,498,376,192 MACs at 3x224x224.

import torch
from torch import nn


# torchvision's BasicConv2d: convolution without bias, batch norm, ReLU.
class Basic(nn.Sequential):
    def __init__(self, in_channels, c, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, c, k, stride=s, padding=k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c, eps=0.001)
        self.add_module("2", nn.ReLU())


# Four parallel branches, concatenated: 1x1 | 1x1, 3x3 | 1x1, "5x5" | 3x3 pool, 1x1.
# torchvision's "5x5" branch really uses a 3x3 convolution (a known quirk it keeps).
class Inception(nn.Module):
    def __init__(self, in_channels, c1, c3r, c3, c5r, c5, pool):
        super().__init__()
        self.branch1 = Basic(in_channels, c1)
        self.branch2 = nn.Sequential(
            Basic(in_channels, c3r),
            Basic(c3r, c3, 3),
        )
        self.branch3 = nn.Sequential(
            Basic(in_channels, c5r),
            Basic(c5r, c5, 3),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
            Basic(in_channels, pool),
        )

    def forward(self, x):
        a = self.branch1(x)
        b = self.branch2(x)
        c = self.branch3(x)
        d = self.branch4(x)
        return torch.cat([a, b, c, d], dim=1)


class Googlenet(nn.Module):
    """googlenet: image (N, 3, 224, 224) -> logits (N, 1000)."""

    def __init__(self):
        super().__init__()
        self.conv1 = Basic(3, 64, 7, s=2)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = Basic(64, 64)
        self.conv3 = Basic(64, 192, 3)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten1 = nn.Flatten()
        self.dropout = nn.Dropout(p=0.2)
        self.fc = nn.Linear(1024, 1000)

    def forward(self, image):
        x = self.conv1(image)  # 64 x 112 x 112
        x = self.maxpool1(x)  # 64 x 56 x 56
        x = self.conv2(x)
        x = self.conv3(x)  # 192 x 56 x 56
        x = self.maxpool2(x)  # 192 x 28 x 28
        x = self.inception3a(x)  # 256 x 28 x 28
        x = self.inception3b(x)  # 480 x 28 x 28
        x = self.maxpool3(x)  # 480 x 14 x 14
        x = self.inception4a(x)  # 512 x 14 x 14
        x = self.inception4b(x)
        x = self.inception4c(x)
        x = self.inception4d(x)  # 528 x 14 x 14
        x = self.inception4e(x)  # 832 x 14 x 14
        x = self.maxpool4(x)  # 832 x 7 x 7
        x = self.inception5a(x)
        x = self.inception5b(x)  # 1024 x 7 x 7
        logits = self.avgpool(x)  # 1024 x 1 x 1
        logits = self.flatten1(logits)  # 1024
        logits = self.dropout(logits)
        return self.fc(logits)  # 1000
