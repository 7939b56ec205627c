"""Stage `quantize`: static INT8 quantization with ONNX Runtime, calibrated on the train split.

QDQ format with per-channel weights, one file per format of params.yaml `quantize.formats`
(quantization.py says why the runtimes want different ones):

- `cpu` -> models/int8: U8S8 with 7-bit weights, what ONNX Runtime and OpenVINO serve on a CPU.
  `reduce_range: true` keeps it exact on x86-64 without VNNI (AVX2, AVX-512F), where ONNX Runtime
  computes U8S8 products with VPMADDUBSW, whose 16-bit pair sums saturate with full 8-bit weights
  (ONNX Runtime docs, "Quantize ONNX models", FAQ). VNNI, AMX and ARM64 accumulate in 32 bits.
- `tensorrt` -> models/int8_tensorrt: S8S8 with zero points of 0, the explicit-quantization input
  TensorRT builds its INT8 engine from (the `build_engine` stage).

Each fails the stage when its INT8 accuracy on the test split drops more than
`requirements.max_int8_accuracy_drop` below FP32 (the product's budget, also listed by the `check`
stage), and says which setting to change. Each INT8 directory gets its golden set: the FP32 golden
inputs and reference, and the INT8 logits measured here as the expectation.
"""

import json
import shutil
import sys

from ..artifacts import verify_manifest, write_manifest
from ..data.dataset import load_split, stack
from ..data.preprocessing import PreprocessConfig
from ..params import load_params, write_json
from ..paths import INT8_DIR, INT8_TENSORRT_DIR, ONNX_DIR, SPLITS_DIR
from ..paths import QUANTIZE_METRICS as METRICS
from ..quantization import advice, calibration_images, quantize_int8
from ..runtime import host
from ..runtime.engines import OnnxRuntimeEngine, predict_batched
from ..runtime.golden import derive_golden


FORMAT_DIRS = {"cpu": INT8_DIR, "tensorrt": INT8_TENSORRT_DIR}


def main() -> None:
    params = load_params()
    settings = params["quantize"]
    budget = float(params["requirements"]["max_int8_accuracy_drop"])
    fp32_path, manifest = verify_manifest(ONNX_DIR)
    config = PreprocessConfig(**manifest["preprocess"])
    train_set = load_split(SPLITS_DIR, "train", params["data"], config)
    calibration = calibration_images(train_set, int(settings["calibration_samples"]), int(params["seed"]))
    test_set = load_split(SPLITS_DIR, "test", params["data"], config)
    images, labels = stack(test_set, desc="test split")
    fp32_engine = OnnxRuntimeEngine(fp32_path, manifest)
    fp32_accuracy = float((predict_batched(fp32_engine, images).argmax(1) == labels).mean())

    formats, failures = {}, []
    for name, directory in FORMAT_DIRS.items():
        int8_path = directory / "model.onnx"
        if directory.exists():
            shutil.rmtree(directory)
        try:
            quantize_int8(fp32_path, int8_path, manifest["input_name"], calibration, settings, name)
        except ValueError as error:
            sys.exit(str(error))
        int8_engine = OnnxRuntimeEngine(int8_path, manifest)
        int8_accuracy = float((predict_batched(int8_engine, images).argmax(1) == labels).mean())
        drop = fp32_accuracy - int8_accuracy
        format_settings = settings["formats"][name]
        formats[name] = {
            "directory": directory.as_posix(),
            "int8_accuracy": round(int8_accuracy, 6),
            "accuracy_drop": round(drop, 6),
            "settings": {key: format_settings[key] for key in sorted(format_settings)},
        }
        if drop > budget:
            shutil.rmtree(directory)
            failures.append(
                f"quantize ({name} format): INT8 accuracy {int8_accuracy:.4f} is {drop * 100:.2f} points "
                f"below FP32 {fp32_accuracy:.4f}, over the budget of {budget * 100:.2f} points "
                f"(requirements.max_int8_accuracy_drop). {advice(settings)}."
            )
            continue
        golden_entry = derive_golden(ONNX_DIR, manifest, directory, int8_engine, params["golden"]["int8"])
        fields = {key: value for key, value in manifest.items() if key not in {"file", "sha256", "size_bytes"}}
        fields.update(
            precision="int8",
            source_sha256=manifest["sha256"],
            accuracy=formats[name]["int8_accuracy"],
            golden=golden_entry,
            quantization={"format": name, "calibrate_method": settings["calibrate_method"], **format_settings},
        )
        write_manifest(int8_path, **fields)

    served = formats["cpu"]
    metrics = {
        "fp32_accuracy": round(fp32_accuracy, 6),
        "int8_accuracy": served["int8_accuracy"],  # the CPU format's: what is served without a GPU
        "accuracy_drop": served["accuracy_drop"],
        "max_accuracy_drop": budget,
        "calibration_samples": len(calibration),
        "formats": formats,
        "host": host.describe(),
    }
    write_json(METRICS, metrics)
    if failures:
        sys.exit("\n".join(failures))
    print(f"quantize: {json.dumps(metrics)}")


if __name__ == "__main__":
    main()
