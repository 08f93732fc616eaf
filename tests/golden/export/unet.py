# -*- coding: utf-8 -*-
# PyTorch model exported by convdsl 0.1.0.
# Network `unet`, from examples/unet.cdsl.
#
# U-Net, exactly as in Fig. 1 of the paper: unpadded 3x3 convolutions, so the
# 572x572 input tile gives a 388x388 segmentation map, and each skip connection
# is center-cropped before it is concatenated.
# Ronneberger, Fischer & Brox, "U-Net: Convolutional Networks for Biomedical Image
# Segmentation", MICCAI 2015 (arXiv:1505.04597).
# Computed for Fig. 1 (2 classes): 31,030,658 parameters, 150,428,424,448 MACs.

import torch
from torch import nn


def center_crop(x, size):
    """The central region of x's last len(size) axes, rounded as torchvision rounds it."""
    index = [slice(None)] * (x.dim() - len(size))
    for length, wanted in zip(x.shape[x.dim() - len(size):], size):
        start = int(round((length - wanted) / 2.0))
        index.append(slice(start, start + wanted))
    return x[tuple(index)]


# Two unpadded 3x3 convolutions, each followed by a ReLU (each trims 2 pixels).
class Double(nn.Sequential):
    def __init__(self, in_channels, c):
        super().__init__(
            nn.Conv2d(in_channels, c, 3),
            nn.ReLU(),
            nn.Conv2d(c, c, 3),
            nn.ReLU(),
        )


# Contracting step: 2x2 max pool, then double the channels.
class Down(nn.Sequential):
    def __init__(self, in_channels, c):
        super().__init__(
            nn.MaxPool2d(2),
            Double(in_channels, c),
        )


# Expanding step: 2x2 up-convolution halving the channels, then concatenate the
# center-cropped skip connection ("copy and crop") and convolve.
class Up(nn.Module):
    def __init__(self, in_channels, skip_channels, c):
        super().__init__()
        self.upconv1 = nn.ConvTranspose2d(in_channels, c, 2, stride=2)
        self.double1 = Double(skip_channels + c, c)

    def forward(self, in_, skip):
        x = self.upconv1(in_)
        out = center_crop(skip, x.shape[2:])
        out = torch.cat([out, x], dim=1)
        return self.double1(out)


class Unet(nn.Module):
    """unet: image (N, 1, 572, 572) -> segmentation (N, 2, 388, 388)."""

    def __init__(self):
        super().__init__()
        self.inc = Double(1, 64)
        self.down1 = Down(64, 128)
        self.down2 = Down(128, 256)
        self.down3 = Down(256, 512)
        self.down4 = Down(512, 1024)
        self.up1 = Up(1024, 512, 512)
        self.up2 = Up(512, 256, 256)
        self.up3 = Up(256, 128, 128)
        self.up4 = Up(128, 64, 64)
        self.outc = nn.Conv2d(64, 2, 1)

    def forward(self, image):
        e1 = self.inc(image)  # 64 x 568 x 568
        e2 = self.down1(e1)  # 128 x 280 x 280
        e3 = self.down2(e2)  # 256 x 136 x 136
        e4 = self.down3(e3)  # 512 x 64 x 64
        e5 = self.down4(e4)  # 1024 x 28 x 28
        segmentation = self.up1(e5, e4)  # 512 x 52 x 52
        segmentation = self.up2(segmentation, e3)  # 256 x 100 x 100
        segmentation = self.up3(segmentation, e2)  # 128 x 196 x 196
        segmentation = self.up4(segmentation, e1)  # 64 x 388 x 388
        return self.outc(segmentation)  # 2 x 388 x 388
