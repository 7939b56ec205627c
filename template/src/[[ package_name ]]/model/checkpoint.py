"""Checkpoints as safetensors: weights plus the metadata needed to rebuild the model.

A pruned model (stages/prune.py) keeps its architecture's layer structure with fewer channels per layer:
its checkpoint is rebuilt from the architecture and then resized to the stored tensors' shapes.
"""

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from . import build_model


def save_checkpoint(
    model: nn.Module,
    path: Path,
    classes: list[str],
    model_params: dict,
    preprocess: dict,
    initial_weights: str = "random",
    origin: dict | None = None,
) -> None:
    """Weights plus metadata: architecture, width, classes, preprocessing, what training started
    from (`initial_weights`: "random", "imagenet (<torchvision weights name>)" or "file <path>") and
    where the model came from (`origin`: trained, or distilled / pruned from which teacher)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    metadata = {
        "architecture": str(model_params["architecture"]),
        "width": str(model_params["width"]),
        "classes": json.dumps(classes),
        "preprocess": json.dumps(preprocess),
        "initial_weights": initial_weights,
        "origin": json.dumps(origin or {"kind": "trained"}),
    }
    save_file(state, str(path), metadata=metadata)


def checkpoint_info(path: Path) -> dict:
    """A checkpoint's architecture (str), width (int) and origin: where its model came from,
    {"kind": "trained" | "distilled" | "pruned", ...} (checkpoints from before v0.4.0: trained)."""
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    return {
        "architecture": metadata["architecture"],
        "width": int(metadata["width"]),
        "origin": json.loads(metadata.get("origin") or '{"kind": "trained"}'),
    }


def resize_to_state(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Give every Conv2d, BatchNorm2d and Linear of `model` the channel counts of `state`'s tensors.

    Structured pruning removes whole channels, so only these layers' sizes change; depthwise
    convolutions keep groups == channels. Raises ValueError for another layer whose shape differs.
    """
    for module_name, module in model.named_modules():
        for name, tensor in list(module.named_parameters(recurse=False)) + list(
            module.named_buffers(recurse=False)
        ):
            key = f"{module_name}.{name}" if module_name else name
            if key not in state or state[key].shape == tensor.shape:
                continue
            if not isinstance(module, nn.Conv2d | nn.BatchNorm2d | nn.Linear):
                raise ValueError(
                    f"{key}: {type(module).__name__} cannot be resized to {tuple(state[key].shape)}"
                )
            resized = torch.empty_like(state[key])
            if name in module._parameters:
                module._parameters[name] = nn.Parameter(resized)
            else:
                module._buffers[name] = resized
        if isinstance(module, nn.Conv2d):
            depthwise = module.groups > 1 and module.groups == module.in_channels
            module.out_channels = module.weight.shape[0]
            module.in_channels = module.weight.shape[1] * (
                module.out_channels if depthwise else module.groups
            )
            module.groups = module.out_channels if depthwise else module.groups
        elif isinstance(module, nn.BatchNorm2d):
            module.num_features = module.weight.shape[0]
        elif isinstance(module, nn.Linear):
            module.out_features, module.in_features = module.weight.shape


def load_checkpoint(path: Path) -> tuple[nn.Module, list[str], dict]:
    """Return (model in eval mode, class names, preprocessing settings)."""
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    classes = json.loads(metadata["classes"])
    preprocess = json.loads(metadata["preprocess"])
    model = build_model(
        metadata["architecture"],
        num_classes=len(classes),
        channels=len(preprocess["mode"]),
        width=int(metadata["width"]),
    )
    state = load_file(str(path))
    resize_to_state(model, state)
    model.load_state_dict(state)
    return model.eval(), classes, preprocess
