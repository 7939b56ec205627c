"""Pretrained torchvision backbones, fine-tuned: `model.architecture` mobilenet_v3_small, resnet18
or efficientnet_b0.

- `model.pretrained: true` starts from torchvision's ImageNet weights (`<Name>_Weights.DEFAULT`,
  downloaded once into the torch hub cache, ~10-45 MB); `model.weights_path` loads a state dict
  from a file instead, for machines without internet (torchvision's own .pth files work as is).
- The classifier's last Linear layer is replaced to output `num_classes` logits.
- Inputs with other than 3 channels ("L" images) get a first convolution whose weights are the
  pretrained RGB ones summed over the colour axis (a grey image is R = G = B, so the response is
  unchanged); the same adaptation as timm's `adapt_input_conv`.
- Normalisation comes from the weights' own transforms (`weights.transforms().mean/std`), averaged
  over the colour channels for "L" input; see `normalisation`.
References: torchvision "Models and pre-trained weights" (get_model, get_model_weights).
"""

from pathlib import Path

import torch
import torchvision
from torch import nn

BACKBONES = ("mobilenet_v3_small", "resnet18", "efficientnet_b0")


class WeightsUnavailable(RuntimeError):
    """The pretrained weights could not be downloaded or read."""


def normalisation(architecture: str, channels: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) per input channel from the backbone's weights transforms (ImageNet statistics)."""
    transforms = torchvision.models.get_model_weights(architecture).DEFAULT.transforms()
    mean, std = tuple(float(v) for v in transforms.mean), tuple(float(v) for v in transforms.std)
    if channels == 3:
        return mean, std
    return (sum(mean) / 3,) * channels, (sum(std) / 3,) * channels


def build_backbone(
    architecture: str,
    num_classes: int,
    channels: int,
    pretrained: bool = False,
    weights_path: str | Path | None = None,
) -> nn.Module:
    """A torchvision classifier for (B, channels, H, W) float32 input -> (B, num_classes) logits.

    Any H, W of at least 32 works (global average pooling). Raises WeightsUnavailable when the
    ImageNet weights cannot be downloaded (no internet: set model.weights_path) or the file at
    `weights_path` is missing or does not match the architecture.
    """
    model = torchvision.models.get_model(architecture, weights=None)
    if weights_path:
        model.load_state_dict(_read_state_dict(Path(weights_path), architecture))
    elif pretrained:
        weights = torchvision.models.get_model_weights(architecture).DEFAULT
        try:
            model.load_state_dict(weights.get_state_dict(progress=False, check_hash=True))
        except Exception as error:  # noqa: BLE001 - URLError, HTTPError, hash mismatch, bad cache file
            raise WeightsUnavailable(
                f"could not download the ImageNet weights for {architecture} from {weights.url} "
                f"({type(error).__name__}: {error}); without internet, download that file elsewhere and "
                "set model.weights_path to it, or set model.pretrained: false"
            ) from error
    _replace_first_conv(model, channels)
    _replace_last_linear(model, num_classes)
    return model


def _read_state_dict(path: Path, architecture: str) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise WeightsUnavailable(f"model.weights_path {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file gets the same advice
        raise WeightsUnavailable(
            f"model.weights_path {path} is not a {architecture} state dict ({type(error).__name__}: {error})"
        ) from error


def _parent(model: nn.Module, name: str) -> tuple[nn.Module, str]:
    *path, leaf = name.split(".")
    module = model
    for part in path:
        module = getattr(module, part)
    return module, leaf


def _replace_first_conv(model: nn.Module, channels: int) -> None:
    name, conv = next((n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d))
    if conv.in_channels == channels:
        return
    new = nn.Conv2d(
        channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=conv.bias is not None,
    )
    with torch.no_grad():
        summed = conv.weight.sum(dim=1, keepdim=True)  # (out, 1, k, k)
        new.weight.copy_(summed.repeat(1, channels, 1, 1) * (1.0 / channels if channels > 1 else 1.0))
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    parent, leaf = _parent(model, name)
    setattr(parent, leaf, new)


def _replace_last_linear(model: nn.Module, num_classes: int) -> None:
    name, linear = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    parent, leaf = _parent(model, name)
    setattr(parent, leaf, nn.Linear(linear.in_features, num_classes))
