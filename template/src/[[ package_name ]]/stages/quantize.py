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

from ..artifacts import verify_manifest, write_manifest
from ..data.dataset import batches, load_split
from ..data.preprocessing import PreprocessConfig
from ..params import load_params, write_json
from ..paths import INT8_DIR, ONNX_DIR, SPLITS_DIR
from ..paths import QUANTIZE_METRICS as METRICS
from ..quantization import advice, calibration_images, quantize_int8
from ..runtime import host
from ..runtime.engines import OnnxRuntimeEngine, predict_batched
from ..runtime.golden import derive_golden


def main() -> None:
    params = load_params()
    settings = params["quantize"]
    budget = float(params["requirements"]["max_int8_accuracy_drop"])
    fp32_path, manifest = verify_manifest(ONNX_DIR)
    config = PreprocessConfig(**manifest["preprocess"])
    train_set = load_split(SPLITS_DIR, "train", params["data"], config)
    calibration = calibration_images(train_set, int(settings["calibration_samples"]), int(params["seed"]))
    count = len(calibration)

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
