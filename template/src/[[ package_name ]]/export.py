"""Stage `export`: PyTorch checkpoint -> ONNX with a dynamic batch axis, checked for parity.

The exported graph is run by ONNX Runtime on real test images and on batch sizes 1 and 7; the
stage fails when any output differs from PyTorch by more than `export.parity_tolerance`.
"""

import sys
from pathlib import Path

import numpy as np
import torch

from .artifacts import write_manifest
from .data.dataset import load_split
from .inference import onnx_logits, onnx_session
from .model.checkpoint import load_checkpoint
from .params import load_params, write_json
from .train import CHECKPOINT

ONNX_DIR = Path("models/onnx")
METRICS = Path("metrics/export.json")
INPUT_NAME, OUTPUT_NAME = "image", "logits"


def export_onnx(model: torch.nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    batch = torch.export.Dim("batch", min=1, max=4096)
    torch.onnx.export(
        model,
        (example,),
        str(path),
        dynamo=True,
        external_data=False,  # one self-contained file, so one checksum covers the model
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_shapes=({0: batch},),
        opset_version=opset,
    )


def parity_max_abs_diff(model: torch.nn.Module, model_path: Path, images: torch.Tensor) -> float:
    session = onnx_session(model_path)
    worst = 0.0
    for batch in (images, images[:1], images[:7]):
        with torch.no_grad():
            expected = model(batch).numpy()
        worst = max(worst, float(np.abs(onnx_logits(session, batch.numpy()) - expected).max()))
    return worst


def main() -> None:
    params = load_params()
    tolerance = float(params["export"]["parity_tolerance"])
    model, classes, preprocess = load_checkpoint(CHECKPOINT)
    images = load_split(params["data"]["splits_dir"], "test", params["data"]).images[:256]
    model_path = ONNX_DIR / "model.onnx"
    export_onnx(model, images[:2], model_path, int(params["export"]["opset"]))
    diff = parity_max_abs_diff(model, model_path, images)
    write_json(METRICS, {"parity_max_abs_diff": diff, "parity_tolerance": tolerance})
    if diff > tolerance:
        sys.exit(f"export: ONNX output differs from PyTorch by {diff:.2e} > tolerance {tolerance:.0e}")
    write_manifest(
        model_path,
        format="onnx",
        precision="fp32",
        classes=classes,
        preprocess=preprocess,
        input_name=INPUT_NAME,
        output_name=OUTPUT_NAME,
    )
    print(f"export: {model_path} (max abs diff vs PyTorch {diff:.2e})")


if __name__ == "__main__":
    main()
