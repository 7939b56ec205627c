"""Stage `benchmark`: latency (p50/p99, batch 1) and throughput for every engine, side by side.

Engines: PyTorch eager (FP32), ONNX Runtime FP32, ONNX Runtime INT8, and TensorRT FP16/INT8 when
engines were built. Also records model sizes and the INT8-vs-FP32 ratios. All runs use the same
inputs and the same thread count (`benchmark.threads`). ONNX Runtime and TensorRT run through the
server's own engines (runtime/), loaded and self-tested exactly as the server loads them, so what
is measured here is what is served. The CPU model and the int8 instruction-set level are recorded
next to the figures: latency from another CPU is not comparable.

`models` compares the pipeline's models (teacher, student, pruned) the same way: each is exported
to ONNX and quantized to INT8 with the settings of the served chain, then scored on the test split
and timed (INT8, ONNX Runtime, batch 1 and the throughput batch). `engines` is the served model's.
"""

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from ..data.dataset import load_split, stack
from ..data.preprocessing import PreprocessConfig
from ..latency import measure
from ..model.checkpoint import load_checkpoint
from ..model.onnx import INPUT_NAME, export_onnx
from ..params import load_params, write_json
from ..paths import BENCHMARK_METRICS as METRICS
from ..paths import INT8_DIR, MODEL_CHECKPOINTS, ONNX_DIR, SPLITS_DIR, served_checkpoint
from ..paths import TENSORRT_DIR as ENGINE_DIR
from ..quantization import calibration_images, quantize_int8
from ..runtime import host
from ..runtime.engines import OnnxRuntimeEngine, load_engine, predict_batched
from ..training import parameter_count


def torch_runner(model: torch.nn.Module) -> Callable[[np.ndarray], object]:
    @torch.inference_mode()
    def run(images: np.ndarray) -> object:
        return model(torch.from_numpy(images))

    return run


def compare_models(params: dict, config: PreprocessConfig, single: np.ndarray, batch: np.ndarray) -> dict:
    """Accuracy (FP32 and INT8, test split), INT8 drop, INT8 latency/throughput and sizes of every
    model checkpoint the pipeline made, exported and quantized like the served one.

    `config` is the served model's preprocessing (all three share the teacher's), `single` float32
    (1, C, H, W) and `batch` float32 (B, C, H, W) are the timing inputs.
    Returns {name: figures}; a model whose checkpoint is missing is left out.
    """
    settings = params["benchmark"]
    threads, runs, warmup = int(settings["threads"]), int(settings["runs"]), int(settings["warmup"])
    train_set = load_split(SPLITS_DIR, "train", params["data"], config)
    test_set = load_split(SPLITS_DIR, "test", params["data"], config)
    images, labels = stack(test_set, desc="benchmark test split")
    calibration = calibration_images(
        train_set, int(params["quantize"]["calibration_samples"]), int(params["seed"])
    )
    results = {}
    for name, checkpoint in MODEL_CHECKPOINTS.items():
        if not checkpoint.is_file():
            continue
        model, _, _ = load_checkpoint(checkpoint)
        with tempfile.TemporaryDirectory() as tmp:
            fp32_path, int8_path = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
            export_onnx(model, torch.from_numpy(images[:2]), fp32_path, int(params["export"]["opset"]))
            quantize_int8(fp32_path, int8_path, INPUT_NAME, calibration, params["quantize"])
            fp32 = OnnxRuntimeEngine(fp32_path, {}, threads)
            int8 = OnnxRuntimeEngine(int8_path, {}, threads)
            fp32_accuracy = float((predict_batched(fp32, images).argmax(1) == labels).mean())
            int8_accuracy = float((predict_batched(int8, images).argmax(1) == labels).mean())
            timing = measure(int8.predict, single, batch, runs, warmup, f"{name} int8")
            results[name] = {
                "accuracy": round(fp32_accuracy, 6),
                "int8_accuracy": round(int8_accuracy, 6),
                "int8_accuracy_drop": round(fp32_accuracy - int8_accuracy, 6),
                **timing,
                "size_bytes": int8_path.stat().st_size,
                "fp32_size_bytes": fp32_path.stat().st_size,
                "parameters": parameter_count(model),
            }
    teacher = results.get("teacher")
    for row in results.values():
        if teacher:
            row["vs_teacher"] = {
                key: round(row[key] / teacher[key], 3)
                for key in ("accuracy", "latency_p50_ms", "throughput_ips", "size_bytes", "parameters")
            }
    return results


def main() -> None:
    params = load_params()
    settings = params["benchmark"]
    threads, runs, warmup = int(settings["threads"]), int(settings["runs"]), int(settings["warmup"])
    torch.set_num_threads(threads)
    served, checkpoint = served_checkpoint(params["serve"])
    model, _, preprocess = load_checkpoint(checkpoint)
    fp32 = load_engine("onnxruntime", ONNX_DIR, threads)
    int8 = load_engine("onnxruntime", INT8_DIR, threads)
    shape = (len(preprocess["mode"]), preprocess["image_size"], preprocess["image_size"])
    rng = np.random.default_rng(0)
    batch = rng.standard_normal((int(settings["throughput_batch_size"]), *shape)).astype(np.float32)
    single = batch[:1]

    runners = {
        "pytorch_fp32": torch_runner(model),
        "onnxruntime_fp32": fp32.predict,
        "onnxruntime_int8": int8.predict,
    }
    sizes = {
        "pytorch_fp32": checkpoint.stat().st_size,
        "onnxruntime_fp32": fp32.manifest["size_bytes"],
        "onnxruntime_int8": int8.manifest["size_bytes"],
    }
    skipped = ENGINE_DIR / "SKIPPED"
    trt_status = skipped.read_text().strip() if skipped.exists() else "built"
    for precision in ("fp16", "int8"):
        engine_dir = ENGINE_DIR / precision
        if (engine_dir / "manifest.json").exists():
            engine = load_engine("tensorrt", engine_dir)
            runners[f"tensorrt_{precision}"] = engine.predict
            sizes[f"tensorrt_{precision}"] = engine.manifest["size_bytes"]

    results = {
        name: {**measure(run, single, batch, runs, warmup, name), "size_bytes": sizes[name]}
        for name, run in runners.items()
    }
    fp32_row, int8_row = results["onnxruntime_fp32"], results["onnxruntime_int8"]
    ratios = {
        "int8_vs_fp32_speedup_p50": round(fp32_row["latency_p50_ms"] / int8_row["latency_p50_ms"], 3),
        "int8_vs_fp32_throughput": round(int8_row["throughput_ips"] / fp32_row["throughput_ips"], 3),
        "int8_vs_fp32_size": round(int8_row["size_bytes"] / fp32_row["size_bytes"], 3),
        "onnx_vs_pytorch_speedup_p50": round(
            results["pytorch_fp32"]["latency_p50_ms"] / fp32_row["latency_p50_ms"], 3
        ),
    }
    machine = {**host.describe(), "onnxruntime": ort.__version__}
    models = compare_models(params, PreprocessConfig(**preprocess), single, batch)
    report = {
        "served_model": served,
        "engines": results,
        "models": models,
        "ratios": ratios,
        "threads": threads,
        "tensorrt": trt_status,
        "host": machine,
    }
    write_json(METRICS, report)

    print(f"{'engine':<18}{'p50 ms':>10}{'p99 ms':>10}{'img/s':>12}{'size KB':>10}")
    for name, row in results.items():
        print(
            f"{name:<18}{row['latency_p50_ms']:>10.3f}{row['latency_p99_ms']:>10.3f}"
            f"{row['throughput_ips']:>12.1f}{row['size_bytes'] / 1024:>10.1f}"
        )
    columns = ("accuracy", "INT8 acc", "p50 ms", "p99 ms", "img/s", "INT8 KB", "params")
    print(f"\n{'model':<10}" + "".join(f"{column:>10}" for column in columns))
    for name, row in models.items():
        print(
            f"{name:<10}{row['accuracy']:>10.4f}{row['int8_accuracy']:>10.4f}{row['latency_p50_ms']:>10.3f}"
            f"{row['latency_p99_ms']:>10.3f}{row['throughput_ips']:>10.1f}{row['size_bytes'] / 1024:>10.1f}"
            f"{row['parameters']:>10}"
        )
    print(f"served: {served}")
    print("ratios: " + ", ".join(f"{key} {value}x" for key, value in ratios.items()))
    print(f"host: {machine['cpu']} [{machine['instruction_set']}], onnxruntime {machine['onnxruntime']}")
    if "tensorrt_fp16" not in results:
        print(f"tensorrt: {trt_status}")


if __name__ == "__main__":
    main()
