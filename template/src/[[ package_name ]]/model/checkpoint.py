"""Checkpoints as safetensors: weights plus the metadata needed to rebuild the model."""

import json
from pathlib import Path

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
) -> None:
    """Weights plus metadata: architecture, width, classes, preprocessing and what training started
    from (`initial_weights`: "random", "imagenet (<torchvision weights name>)" or "file <path>")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    metadata = {
        "architecture": str(model_params["architecture"]),
        "width": str(model_params["width"]),
        "classes": json.dumps(classes),
        "preprocess": json.dumps(preprocess),
        "initial_weights": initial_weights,
    }
    save_file(state, str(path), metadata=metadata)


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
    model.load_state_dict(load_file(str(path)))
    return model.eval(), classes, preprocess
