"""Model architectures, selected by `model.architecture` in params.yaml.

cnn and resnet are small networks trained from scratch (fast on a CPU, for small images);
mobilenet_v3_small, resnet18 and efficientnet_b0 are torchvision backbones, fine-tuned from ImageNet
weights when `model.pretrained` is true (model/backbones.py).
"""

from pathlib import Path

from torch import nn

from ..data.preprocessing import PreprocessConfig
from .backbones import BACKBONES, WeightsUnavailable, build_backbone, normalisation
from .cnn import SmallCNN
from .resnet import TinyResNet

SCRATCH = {"cnn": SmallCNN, "resnet": TinyResNet}
ARCHITECTURES = (*SCRATCH, *BACKBONES)

__all__ = ["ARCHITECTURES", "WeightsUnavailable", "build_model", "preprocess_config"]


def build_model(
    architecture: str,
    num_classes: int,
    channels: int,
    width: int,
    pretrained: bool = False,
    weights_path: str | Path | None = None,
) -> nn.Module:
    """(B, channels, H, W) float32 -> (B, num_classes) logits. `width` sizes cnn/resnet only;
    `pretrained` / `weights_path` apply to the torchvision backbones only. Raises ValueError for an
    unknown architecture and WeightsUnavailable when pretrained weights cannot be had."""
    if architecture in SCRATCH:
        return SCRATCH[architecture](num_classes=num_classes, channels=channels, width=width)
    if architecture in BACKBONES:
        return build_backbone(architecture, num_classes, channels, pretrained, weights_path)
    known = ", ".join(ARCHITECTURES)
    raise ValueError(f"unknown model.architecture {architecture!r}; choose one of: {known}")


def preprocess_config(data_params: dict, model_params: dict) -> PreprocessConfig:
    """The preprocessing a new model is trained with: `data` in params.yaml, except that a pretrained
    torchvision backbone takes its weights' own mean/std (data.mean/std are for models from scratch).
    The checkpoint and every exported manifest record the result; later stages read it from there."""
    config = PreprocessConfig.from_params(data_params)
    architecture = str(model_params["architecture"])
    uses_imagenet = bool(model_params.get("pretrained")) or bool(model_params.get("weights_path"))
    if architecture in BACKBONES and uses_imagenet:
        mean, std = normalisation(architecture, config.channels)
        config = PreprocessConfig(config.image_size, config.mode, mean, std)
    return config
