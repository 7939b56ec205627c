"""Stage `quantize`: static INT8 quantization with ONNX Runtime, calibrated on the train split.

QDQ format with per-channel weights: the same file runs on ONNX Runtime's CPU provider and is the
explicit-quantization input that TensorRT expects for INT8 engines. The settings in params.yaml
(`quantize.*`) hold on every CPU ONNX Runtime dispatches to:

- `reduce_range: true` quantizes weights to 7 bits. On x86-64 without VNNI (AVX2, AVX-512F) ONNX
  Runtime computes U8S8 products with VPMADDUBSW, whose 16-bit pair sums saturate with full 8-bit
  weights; 7-bit weights keep every pair sum in range (ONNX Runtime docs, "Quantize ONNX models",
  FAQ: reduce_range "is designed for the U8S8 format on AVX2 and AVX512 (non-VNNI) machines to
  mitigate saturation issues"). VNNI, AMX and ARM64 accumulate in 32 bits and lose nothing.
- `activation_type`/`weight_type: QInt8` with `symmetric_activations: true`: zero points of 0, as
  TensorRT's explicit INT8 requires.

The stage fails when INT8 accuracy on the test split drops more than
`requirements.max_int8_accuracy_drop` below FP32 (the product's budget, also listed by the `check`
stage), and says which setting to change. The INT8 directory gets its golden set: the FP32
golden inputs and reference, and the INT8 logits measured here as the expectation.
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
from .data.dataset import batches, load_split, stack
from .data.preprocessing import PreprocessConfig
from .params import load_params, write_json
from .paths import INT8_DIR, ONNX_DIR, SPLITS_DIR
from .paths import QUANTIZE_METRICS as METRICS
from .runtime import host
from .runtime.engines import OnnxRuntimeEngine, predict_batched
from .runtime.golden import derive_golden


class ArrayCalibrationReader(CalibrationDataReader):
    """Feeds calibration images (float32 (N, C, H, W)) to ONNX Runtime's calibrator in batches."""

    def __init__(self, input_name: str, images: np.ndarray, batch_size: int = 32):
        starts = range(0, len(images), batch_size)
        self.batches = iter([{input_name: images[i : i + batch_size]} for i in starts])

    def get_next(self) -> dict | None:
        return next(self.batches, None)


def quantize_int8(
    fp32_path: Path, int8_path: Path, input_name: str, calibration: np.ndarray, settings: dict
) -> None:
    """Write the QDQ INT8 model for `fp32_path`, calibrated on `calibration` (float32 (N, C, H, W)).

    `settings` is params.yaml's `quantize` section: activation_type, weight_type (QInt8 or
    QUInt8), reduce_range (7-bit weights), symmetric_activations and calibrate_method (MinMax,
    Entropy or Percentile). Raises ValueError for a name ONNX Runtime does not know.
    """
    int8_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared))  # shape inference + graph cleanup
        try:
            activation_type = QuantType[settings["activation_type"]]
            weight_type = QuantType[settings["weight_type"]]
            method = CalibrationMethod[settings["calibrate_method"]]
        except KeyError as error:
            raise ValueError(f"quantize: unknown setting {error} in params.yaml") from error
        quantize_static(
            str(prepared),
            str(int8_path),
            ArrayCalibrationReader(input_name, calibration),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=bool(settings["reduce_range"]),
            activation_type=activation_type,
            weight_type=weight_type,
            calibrate_method=method,
            extra_options={
                "ActivationSymmetric": bool(settings["symmetric_activations"]),
                "WeightSymmetric": True,
            },
        )


def advice(settings: dict) -> str:
    """Which setting to change when INT8 is over budget, and why, for this CPU."""
    level = host.instruction_set()
    if not settings["reduce_range"] and not host.has_vnni():
        return (
            f"this CPU ({host.cpu_model()}, {level}) has no VNNI, so ONNX Runtime's U8S8 int8 kernels "
            "saturate with 8-bit weights: set quantize.reduce_range: true (7-bit weights)"
        )
    return (
        "raise quantize.calibration_samples, try quantize.calibrate_method: Percentile or Entropy "
        "(outliers widen MinMax ranges), or train longer; requirements.max_int8_accuracy_drop is the budget"
    )


def main() -> None:
    params = load_params()
    settings = params["quantize"]
    budget = float(params["requirements"]["max_int8_accuracy_drop"])
    fp32_path, manifest = verify_manifest(ONNX_DIR)
    config = PreprocessConfig(**manifest["preprocess"])
    train_set = load_split(SPLITS_DIR, "train", params["data"], config)
    rng = np.random.default_rng(int(params["seed"]))
    count = min(int(settings["calibration_samples"]), len(train_set))
    chosen = np.sort(rng.choice(len(train_set), size=count, replace=False))
    calibration, _ = stack(train_set, chosen, desc="calibration images")

    int8_path = INT8_DIR / "model.onnx"
    if INT8_DIR.exists():
        shutil.rmtree(INT8_DIR)
    try:
        quantize_int8(fp32_path, int8_path, manifest["input_name"], calibration, settings)
    except ValueError as error:
        sys.exit(str(error))

    test_set = load_split(SPLITS_DIR, "test", params["data"], config)
    fp32_engine = OnnxRuntimeEngine(fp32_path, manifest)
    int8_engine = OnnxRuntimeEngine(int8_path, manifest)
    fp32_correct = int8_correct = 0
    for images, labels in batches(test_set, 256, int(params["data"].get("workers", 0)), desc="fp32 vs int8"):
        fp32_correct += int((predict_batched(fp32_engine, images).argmax(1) == labels).sum())
        int8_correct += int((predict_batched(int8_engine, images).argmax(1) == labels).sum())
    fp32_accuracy = fp32_correct / max(len(test_set), 1)
    int8_accuracy = int8_correct / max(len(test_set), 1)
    drop = fp32_accuracy - int8_accuracy
    metrics = {
        "fp32_accuracy": round(fp32_accuracy, 6),
        "int8_accuracy": round(int8_accuracy, 6),
        "accuracy_drop": round(drop, 6),
        "max_accuracy_drop": budget,
        "calibration_samples": count,
        "settings": {key: settings[key] for key in sorted(settings)},
        "host": host.describe(),
    }
    write_json(METRICS, metrics)
    if drop > budget:
        shutil.rmtree(INT8_DIR)
        sys.exit(
            f"quantize: INT8 accuracy {int8_accuracy:.4f} is {drop * 100:.2f} points below FP32 "
            f"{fp32_accuracy:.4f}, over the budget of {budget * 100:.2f} points "
            f"(requirements.max_int8_accuracy_drop). {advice(settings)}."
        )
    golden_entry = derive_golden(ONNX_DIR, manifest, INT8_DIR, int8_engine, params["golden"]["int8"])
    fields = {key: value for key, value in manifest.items() if key not in {"file", "sha256", "size_bytes"}}
    fields.update(
        precision="int8",
        source_sha256=manifest["sha256"],
        accuracy=metrics["int8_accuracy"],
        golden=golden_entry,
        quantization=metrics["settings"],
    )
    write_manifest(int8_path, **fields)
    print(f"quantize: {json.dumps(metrics)}")


if __name__ == "__main__":
    main()
