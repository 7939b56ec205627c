"""Stage `export`: PyTorch checkpoint -> ONNX with a dynamic batch axis, checked for parity.

The checkpoint is the one `serve.model` names (teacher, student or pruned); the manifest records
which and where it came from (`served_model`), and every later artifact carries it on.

The exported graph is run by ONNX Runtime on real test images and on batch sizes 1 and 7; the
stage fails when any output differs from PyTorch by more than `export.parity_tolerance`. The
model directory also gets its golden set (runtime/golden.py): `golden.samples` test images and
the PyTorch logits for them, which every later artifact and every server checks itself against.
"""

import sys
from pathlib import Path

import numpy as np
import torch

from ..artifacts import write_manifest
from ..data.dataset import load_split, stack
from ..data.preprocessing import PreprocessConfig
from ..model.checkpoint import checkpoint_info, load_checkpoint
from ..model.onnx import INPUT_NAME, OUTPUT_NAME, export_onnx
from ..params import load_params, write_json
from ..paths import EXPORT_METRICS as METRICS
from ..paths import ONNX_DIR, SPLITS_DIR, served_checkpoint
from ..runtime.engines import OnnxRuntimeEngine, predict_batched
from ..runtime.golden import golden_indices, golden_inputs, write_golden


def parity_max_abs_diff(model: torch.nn.Module, model_path: Path, images: torch.Tensor) -> float:
    engine = OnnxRuntimeEngine(model_path, manifest={})
    worst = 0.0
    for batch in (images, images[:1], images[:7]):
        with torch.no_grad():
            expected = model(batch).numpy()
        worst = max(worst, float(np.abs(predict_batched(engine, batch.numpy()) - expected).max()))
    return worst


def build_golden_set(model: torch.nn.Module, model_path: Path, images: np.ndarray, params: dict) -> dict:
    """Golden set for the FP32 ONNX file: PyTorch logits are both the reference and the expectation.

    `images` are the chosen golden test images, float32 (N, C, H, W) (see `golden_indices`)."""
    inputs = golden_inputs(images)
    with torch.no_grad():
        reference = model(torch.from_numpy(inputs)).numpy()
    tolerance = params["golden"]["fp32"]
    return write_golden(
        model_path.parent,
        inputs,
        reference,
        reference,
        float(tolerance["min_top1_agreement"]),
        float(tolerance["max_logit_error"]),
    )


def main() -> None:
    params = load_params()
    tolerance = float(params["export"]["parity_tolerance"])
    try:
        served, checkpoint = served_checkpoint(params["serve"])
    except ValueError as error:
        sys.exit(f"export: {error}")
    model, classes, preprocess = load_checkpoint(checkpoint)
    info = checkpoint_info(checkpoint)
    test_set = load_split(SPLITS_DIR, "test", params["data"], PreprocessConfig(**preprocess))
    images = torch.from_numpy(stack(test_set, range(min(256, len(test_set))), desc="parity images")[0])
    model_path = ONNX_DIR / "model.onnx"
    export_onnx(model, images[:2], model_path, int(params["export"]["opset"]))
    diff = parity_max_abs_diff(model, model_path, images)
    write_json(METRICS, {"parity_max_abs_diff": diff, "parity_tolerance": tolerance})
    if diff > tolerance:
        sys.exit(f"export: ONNX output differs from PyTorch by {diff:.2e} > tolerance {tolerance:.0e}")
    chosen = golden_indices(len(test_set), int(params["golden"]["samples"]), int(params["seed"]))
    golden = build_golden_set(model, model_path, stack(test_set, chosen, desc="golden set")[0], params)
    write_manifest(
        model_path,
        format="onnx",
        precision="fp32",
        classes=classes,
        preprocess=preprocess,
        input_name=INPUT_NAME,
        output_name=OUTPUT_NAME,
        golden=golden,
        served_model={"name": served, "checkpoint": checkpoint.as_posix(), **info},
    )
    print(f"export: {served} model {model_path} (max abs diff vs PyTorch {diff:.2e})")


if __name__ == "__main__":
    main()
