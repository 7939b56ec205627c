"""Stage `quantize`: static INT8 quantization with ONNX Runtime, calibrated on the train split.

QDQ format with per-channel weights, one file per format of params.yaml `quantize.formats`
(quantization.py says why the runtimes want different ones):

- `cpu` -> models/int8: U8S8 with 7-bit weights, what ONNX Runtime and OpenVINO serve on a CPU.
  `reduce_range: true` keeps it exact on x86-64 without VNNI (AVX2, AVX-512F), where ONNX Runtime
  computes U8S8 products with VPMADDUBSW, whose 16-bit pair sums saturate with full 8-bit weights
  (ONNX Runtime docs, "Quantize ONNX models", FAQ). VNNI, AMX and ARM64 accumulate in 32 bits.
- `tensorrt` -> models/int8_tensorrt: S8S8 with zero points of 0, the explicit-quantization input
  TensorRT builds its INT8 engine from (the `build_engine` stage).

The INT8 gate (budgets.int8_gate, the rule the `check` stage applies too), per format:

- test accuracy: INT8 at most `max(requirements.max_int8_accuracy_drop, 1 / n_test)` below FP32 on
  the test split. A change smaller than one test image cannot be measured there (30 test images:
  3.3 points), so the budget applies as written only from 1 / budget test images on.
- top-1 agreement with FP32 over every labelled image (train + val + test), at least
  `requirements.min_int8_agreement`: the change measured on all the data there is, which a small
  test split cannot show. The logit error (max |INT8 - FP32| over the FP32 logits' range) is recorded.

When plain post-training INT8 is over the gate, the nodes that lose the most signal (ONNX Runtime's
QDQ debugger) stay in FP32, 1, 2, 4, ... of them up to `quantize.max_fp32_nodes`
(quantization.quantize_with_backoff); the stage fails only when that still does not pass, naming
the rule that failed with its figures and the setting to change. metrics/quantize.json records per
format n_test, the allowed drop, agreement, logit error, the nodes kept in FP32 and every attempt;
the INT8 manifest's `quantization` entry lists the FP32 nodes too. Each INT8 directory gets its
golden set: the FP32 golden inputs and reference, and the INT8 logits measured here as the
expectation.
"""

import json
import shutil
import sys

import numpy as np

from ..artifacts import verify_manifest, write_manifest
from ..budgets import int8_gate
from ..data.dataset import batches, load_split
from ..data.preprocessing import PreprocessConfig
from ..params import load_params, write_json
from ..paths import INT8_DIR, INT8_TENSORRT_DIR, ONNX_DIR, SPLITS_DIR
from ..paths import QUANTIZE_METRICS as METRICS
from ..quantization import advice, calibration_images, quantize_with_backoff
from ..runtime import host
from ..runtime.engines import OnnxRuntimeEngine
from ..runtime.golden import derive_golden

FORMAT_DIRS = {"cpu": INT8_DIR, "tensorrt": INT8_TENSORRT_DIR}
SPLITS = ("train", "val", "test")

# each attempt's figures in metrics/quantize.json (formats.<name>.attempts)
ATTEMPT_KEYS = ("int8_accuracy", "accuracy_drop", "agreement", "changed_predictions", "logit_error", "passed")


def split_logits(engine, splits: dict) -> np.ndarray:
    """float32 (N, K) logits of `engine` for every image of `splits`, split after split, in order."""
    chunks = [
        engine.predict(images) for name, split in splits.items() for images, _ in batches(split, desc=name)
    ]
    return np.concatenate(chunks)


def main() -> None:
    params = load_params()
    settings = params["quantize"]
    requirements = params["requirements"]
    budget = float(requirements["max_int8_accuracy_drop"])
    min_agreement = float(requirements["min_int8_agreement"])
    max_fp32_nodes = int(settings["max_fp32_nodes"])
    fp32_path, manifest = verify_manifest(ONNX_DIR)
    config = PreprocessConfig(**manifest["preprocess"])
    splits = {name: load_split(SPLITS_DIR, name, params["data"], config) for name in SPLITS}
    calibration = calibration_images(
        splits["train"], int(settings["calibration_samples"]), int(params["seed"])
    )
    labels = np.concatenate([splits[name].labels for name in SPLITS])
    is_test = np.concatenate([np.full(len(splits[name]), name == "test") for name in SPLITS])
    fp32_logits = split_logits(OnnxRuntimeEngine(fp32_path, manifest), splits)

    def judge(int8_path):
        int8_logits = split_logits(OnnxRuntimeEngine(int8_path, manifest), splits)
        return int8_gate(fp32_logits, int8_logits, labels, is_test, budget, min_agreement)

    formats, failures = {}, []
    for name, directory in FORMAT_DIRS.items():
        int8_path = directory / "model.onnx"
        if directory.exists():
            shutil.rmtree(directory)
        try:
            result = quantize_with_backoff(
                fp32_path,
                int8_path,
                manifest["input_name"],
                calibration,
                settings,
                name,
                judge,
                max_fp32_nodes,
            )
        except ValueError as error:
            sys.exit(str(error))
        gate = result.verdict
        format_settings = settings["formats"][name]
        formats[name] = {
            "directory": directory.as_posix(),
            **gate.as_metrics(),
            "fp32_nodes": result.fp32_nodes,
            "attempts": [
                {"fp32_node_count": len(nodes), **{key: verdict.as_metrics()[key] for key in ATTEMPT_KEYS}}
                for nodes, verdict in result.attempts
            ],
            "node_ranking": [error.as_dict() for error in result.ranking[: max(max_fp32_nodes, 8)]],
            "settings": {key: format_settings[key] for key in sorted(format_settings)},
        }
        if len(result.attempts) > 1:
            plain = result.attempts[0][1].describe()
            kept = f"{len(result.fp32_nodes)} node(s) kept in FP32 ({', '.join(result.fp32_nodes)})"
            print(f"quantize ({name} format): plain INT8 over the gate ({plain}); {kept}")
        print(f"quantize ({name} format): {'pass' if gate.passed else 'FAIL'}  {gate.describe()}")
        if not gate.passed:
            shutil.rmtree(directory)
            tried = (
                f" with the {len(result.fp32_nodes)} worst node(s) kept in FP32 "
                f"({', '.join(result.fp32_nodes)}; quantize.max_fp32_nodes: {max_fp32_nodes})"
                if result.fp32_nodes
                else " (no node kept in FP32: quantize.max_fp32_nodes: 0)"
                if max_fp32_nodes <= 0
                else ""
            )
            failures.append(
                f"quantize ({name} format): INT8 is over the budget{tried}: "
                + "; ".join(gate.failures)
                + f". {advice(settings)}."
            )
            continue
        golden_entry = derive_golden(
            ONNX_DIR, manifest, directory, OnnxRuntimeEngine(int8_path, manifest), params["golden"]["int8"]
        )
        fields = {
            key: value for key, value in manifest.items() if key not in {"file", "sha256", "size_bytes"}
        }
        fields.update(
            precision="int8",
            source_sha256=manifest["sha256"],
            accuracy=formats[name]["int8_accuracy"],
            golden=golden_entry,
            quantization={
                "format": name,
                "calibrate_method": settings["calibrate_method"],
                **format_settings,
                "fp32_nodes": result.fp32_nodes,
            },
        )
        write_manifest(int8_path, **fields)

    served = formats["cpu"]  # the CPU format's figures at the top: what is served without a GPU
    metrics = {
        "fp32_accuracy": round(float((fp32_logits.argmax(1) == labels)[is_test].mean()), 6),
        **{
            key: value
            for key, value in served.items()
            if key not in {"directory", "settings", "attempts", "node_ranking"}
        },
        "max_fp32_nodes": max_fp32_nodes,
        "calibration_samples": len(calibration),
        "formats": formats,
        "host": host.describe(),
    }
    write_json(METRICS, metrics)
    if failures:
        sys.exit("\n".join(failures))
    print(f"quantize: {json.dumps({key: value for key, value in metrics.items() if key != 'formats'})}")


if __name__ == "__main__":
    main()
