# -*- coding: utf-8 -*-
# PyTorch model exported by convdsl 0.1.0.
# Network `resnet50`, from examples/resnet50.cdsl.
#
# ResNet-50 (v1.5, stride on the 3x3 convolution), as torchvision defines it.
# He et al., "Deep Residual Learning for Image Recognition", CVPR 2016.
# Published (torchvision): 25,557,032 parameters, 4,089,184,256 MACs at 3x224x224.

import torch
from torch import nn


# ResNet-50/101/152, v1.5: 1x1 reduce, 3x3 (carries the stride), 1x1 expand x4.
class Bottleneck(nn.Module):
    def __init__(self, in_channels, c, stride=1, down=False):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, c, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(c, c, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(c, c * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c * 4)
        self.downsample = None
        if down:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, c * 4, 1, stride=stride, bias=False),
                nn.BatchNorm2d(c * 4),
            )
        self.relu3 = nn.ReLU()

    def forward(self, x):
        y = self.conv1(x)
        y = self.bn1(y)
        y = self.relu1(y)
        y = self.conv2(y)
        y = self.bn2(y)
        y = self.relu2(y)
        y = self.conv3(y)
        y = self.bn3(y)
        skip = x
        if self.downsample is not None:
            skip = self.downsample(x)
        out = y + skip
        return self.relu3(out)


class Resnet50(nn.Module):
    """resnet50: image (N, 3, 224, 224) -> logits (N, 1000)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu1 = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = nn.Sequential(
            Bottleneck(64, 64, down=True),
            Bottleneck(256, 64),
            Bottleneck(256, 64),
        )
        self.layer2 = nn.Sequential(
            Bottleneck(256, 128, stride=2, down=True),
            Bottleneck(512, 128),
            Bottleneck(512, 128),
            Bottleneck(512, 128),
        )
        self.layer3 = nn.Sequential(
            Bottleneck(512, 256, stride=2, down=True),
            Bottleneck(1024, 256),
            Bottleneck(1024, 256),
            Bottleneck(1024, 256),
            Bottleneck(1024, 256),
            Bottleneck(1024, 256),
        )
        self.layer4 = nn.Sequential(
            Bottleneck(1024, 512, stride=2, down=True),
            Bottleneck(2048, 512),
            Bottleneck(2048, 512),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten1 = nn.Flatten()
        self.fc = nn.Linear(2048, 1000)

    def forward(self, image):
        features = self.conv1(image)  # 64 x 112 x 112
        features = self.bn1(features)
        features = self.relu1(features)
        features = self.maxpool(features)  # 64 x 56 x 56
        features = self.layer1(features)  # 256 x 56 x 56
        features = self.layer2(features)  # 512 x 28 x 28
        features = self.layer3(features)  # 1024 x 14 x 14
        features = self.layer4(features)  # 2048 x 7 x 7
        logits = self.avgpool(features)  # 2048 x 1 x 1
        logits = self.flatten1(logits)  # 2048
        return self.fc(logits)  # 1000
