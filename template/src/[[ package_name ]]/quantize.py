"""Stage `quantize`: static INT8 quantization with ONNX Runtime, calibrated on the train split.

QDQ format with per-channel weights: the same file runs on ONNX Runtime's CPU provider and is the
explicit-quantization input that TensorRT expects for INT8 engines. The stage fails when INT8
accuracy on the test split drops more than `quantize.max_accuracy_drop` below FP32.
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_static,
)

from .artifacts import verify_manifest, write_manifest
from .data.dataset import load_split
from .export import ONNX_DIR
from .inference import onnx_accuracy, onnx_session
from .params import load_params, write_json

INT8_DIR = Path("models/int8")
METRICS = Path("metrics/quantize.json")


class ArrayCalibrationReader(CalibrationDataReader):
    def __init__(self, input_name: str, images: np.ndarray, batch_size: int = 32):
        self.batches = iter(
            [{input_name: images[i : i + batch_size]} for i in range(0, len(images), batch_size)]
        )

    def get_next(self) -> dict | None:
        return next(self.batches, None)


def quantize_int8(fp32_path: Path, int8_path: Path, input_name: str, calibration: np.ndarray) -> None:
    int8_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared))  # shape inference + graph cleanup
        quantize_static(
            str(prepared),
            str(int8_path),
            ArrayCalibrationReader(input_name, calibration),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )


def main() -> None:
    params = load_params()
    settings = params["quantize"]
    budget = float(settings["max_accuracy_drop"])
    fp32_path, manifest = verify_manifest(ONNX_DIR)
    train_images = load_split(params["data"]["splits_dir"], "train", params["data"]).images.numpy()
    rng = np.random.default_rng(int(params["seed"]))
    count = min(int(settings["calibration_samples"]), len(train_images))
    calibration = train_images[rng.choice(len(train_images), size=count, replace=False)]

    int8_path = INT8_DIR / "model.onnx"
    if INT8_DIR.exists():
        shutil.rmtree(INT8_DIR)
    quantize_int8(fp32_path, int8_path, manifest["input_name"], calibration)

    test_set = load_split(params["data"]["splits_dir"], "test", params["data"])
    images, labels = test_set.images.numpy(), test_set.labels.numpy()
    fp32_accuracy = onnx_accuracy(onnx_session(fp32_path), images, labels)
    int8_accuracy = onnx_accuracy(onnx_session(int8_path), images, labels)
    drop = fp32_accuracy - int8_accuracy
    metrics = {
        "fp32_accuracy": round(fp32_accuracy, 6),
        "int8_accuracy": round(int8_accuracy, 6),
        "accuracy_drop": round(drop, 6),
        "max_accuracy_drop": budget,
        "calibration_samples": count,
    }
    write_json(METRICS, metrics)
    if drop > budget:
        shutil.rmtree(INT8_DIR)
        sys.exit(
            f"quantize: INT8 accuracy {int8_accuracy:.4f} is {drop * 100:.2f} points below FP32 "
            f"{fp32_accuracy:.4f}, over the budget of {budget * 100:.2f} points (quantize.max_accuracy_drop)"
        )
    fields = {key: value for key, value in manifest.items() if key not in {"file", "sha256", "size_bytes"}}
    fields.update(precision="int8", source_sha256=manifest["sha256"], accuracy=metrics["int8_accuracy"])
    write_manifest(int8_path, **fields)
    print(f"quantize: {json.dumps(metrics)}")


if __name__ == "__main__":
    main()
