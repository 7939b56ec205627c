"""A small convolutional network: fast enough to train on a 2-core CPU in well under a minute."""

import torch
from torch import nn


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class SmallCNN(nn.Module):
    def __init__(self, num_classes: int, channels: int = 1, width: int = 32):
        super().__init__()
        self.features = nn.Sequential(
            conv_block(channels, width),
            nn.MaxPool2d(2),
            conv_block(width, width * 2),
            nn.MaxPool2d(2),
            conv_block(width * 2, width * 2),
            nn.AdaptiveAvgPool2d(1),  # any input size works; serving resizes anyway
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(width * 2, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
