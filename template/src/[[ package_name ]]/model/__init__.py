"""Model architectures, selected by `model.architecture` in params.yaml."""

from torch import nn

from .cnn import SmallCNN
from .resnet import TinyResNet

ARCHITECTURES = {"cnn": SmallCNN, "resnet": TinyResNet}


def build_model(architecture: str, num_classes: int, channels: int, width: int) -> nn.Module:
    try:
        cls = ARCHITECTURES[architecture]
    except KeyError:
        known = ", ".join(sorted(ARCHITECTURES))
        raise ValueError(f"unknown model.architecture {architecture!r}; choose one of: {known}") from None
    return cls(num_classes=num_classes, channels=channels, width=width)
