"""Stage `benchmark`: latency (p50/p99, batch 1) and throughput for every candidate, side by side.

Rows: PyTorch eager (FP32), then every candidate of the bundle (models/serve) this host can run:
ONNX Runtime and OpenVINO on the FP32 and the INT8 file, TensorRT FP16/INT8 where engines were
built. Each row has its model size and its speed-up over ONNX Runtime FP32 (`vs_fp32_p50`), and
`served` names the candidate the server would choose here by the same rule
(runtime/selection.py `choose`: the fastest passing, INT8 only when it beats FP32 by the margin).
All runs use the same inputs and the same thread count (`benchmark.threads`), through the server's
own engines (runtime/), loaded and self-tested exactly as the server loads them. The CPU model and
the instruction-set level are recorded next to the figures: latency from another CPU is not
comparable, and the server measures again on its own host.

`models` compares the pipeline's models (teacher, student, pruned) the same way: each is exported
to ONNX and quantized to INT8 with the settings of the served chain, then scored on the test split
and timed (INT8, ONNX Runtime, batch 1 and the throughput batch). `engines` is the served model's.
"""

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..data.dataset import load_split, stack
from ..data.preprocessing import PreprocessConfig
from ..latency import measure
from ..model.checkpoint import load_checkpoint
from ..model.onnx import INPUT_NAME, export_onnx
from ..params import load_params, write_json
from ..paths import BENCHMARK_METRICS as METRICS
from ..paths import BUNDLE_DIR, MODEL_CHECKPOINTS, SPLITS_DIR, served_checkpoint
from ..paths import TENSORRT_DIR as ENGINE_DIR
from ..quantization import calibration_images, quantize_int8
from ..runtime import host
from ..runtime.engines import OnnxRuntimeEngine, load_engine, predict_batched
from ..runtime.selection import (
    DEFAULT_MARGIN,
    Trial,
    bundle_candidates,
    choose,
    runtime_unavailable,
    runtime_versions,
)
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
    shape = (len(preprocess["mode"]), preprocess["image_size"], preprocess["image_size"])
    rng = np.random.default_rng(0)
    batch = rng.standard_normal((int(settings["throughput_batch_size"]), *shape)).astype(np.float32)
    single = batch[:1]

    results = {"pytorch_fp32": measure(torch_runner(model), single, batch, runs, warmup, "pytorch_fp32")}
    results["pytorch_fp32"]["size_bytes"] = checkpoint.stat().st_size
    trials, unavailable = [], {}
    for candidate in bundle_candidates(BUNDLE_DIR):
        name = f"{candidate.runtime}_{candidate.precision}"
        reason = runtime_unavailable(candidate.runtime)
        if reason:
            unavailable[name] = reason
            continue
        engine = load_engine(candidate.runtime, candidate.directory, threads)
        row = measure(engine.predict, single, batch, runs, warmup, name)
        results[name] = {**row, "size_bytes": engine.manifest["size_bytes"], "candidate": candidate.label}
        trials.append(Trial(candidate, row["latency_p50_ms"], runs, True, engine.golden.summary()))
    base = results["onnxruntime_fp32"]
    for row in results.values():
        row["vs_fp32_p50"] = round(base["latency_p50_ms"] / row["latency_p50_ms"], 3)
        row["vs_fp32_throughput"] = round(row["throughput_ips"] / base["throughput_ips"], 3)
    best, reason = choose(trials, DEFAULT_MARGIN)
    served_engine = f"{best.candidate.runtime}_{best.candidate.precision}"
    int8_row = results["onnxruntime_int8"]
    ratios = {
        "int8_vs_fp32_speedup_p50": int8_row["vs_fp32_p50"],
        "int8_vs_fp32_throughput": int8_row["vs_fp32_throughput"],
        "int8_vs_fp32_size": round(int8_row["size_bytes"] / base["size_bytes"], 3),
        "onnx_vs_pytorch_speedup_p50": round(
            results["pytorch_fp32"]["latency_p50_ms"] / base["latency_p50_ms"], 3
        ),
        "served_vs_fp32_speedup_p50": results[served_engine]["vs_fp32_p50"],
    }
    skipped = ENGINE_DIR / "SKIPPED"
    trt_status = skipped.read_text().strip() if skipped.exists() else "built"
    machine = {**host.describe(), **runtime_versions()}
    models = compare_models(params, PreprocessConfig(**preprocess), single, batch)
    report = {
        "served_model": served,
        "served": {"engine": served_engine, "reason": reason, **results[served_engine]},
        "engines": results,
        "unavailable": unavailable,
        "models": models,
        "ratios": ratios,
        "threads": threads,
        "tensorrt": trt_status,
        "host": machine,
    }
    write_json(METRICS, report)

    print(f"{'engine':<20}{'p50 ms':>10}{'p99 ms':>10}{'img/s':>12}{'size KB':>10}{'x fp32':>8}")
    for name, row in results.items():
        mark = "  <- served here" if name == served_engine else ""
        print(
            f"{name:<20}{row['latency_p50_ms']:>10.3f}{row['latency_p99_ms']:>10.3f}"
            f"{row['throughput_ips']:>12.1f}{row['size_bytes'] / 1024:>10.1f}{row['vs_fp32_p50']:>8.2f}{mark}"
        )
    columns = ("accuracy", "INT8 acc", "p50 ms", "p99 ms", "img/s", "INT8 KB", "params")
    print(f"\n{'model':<10}" + "".join(f"{column:>10}" for column in columns))
    for name, row in models.items():
        print(
            f"{name:<10}{row['accuracy']:>10.4f}{row['int8_accuracy']:>10.4f}{row['latency_p50_ms']:>10.3f}"
            f"{row['latency_p99_ms']:>10.3f}{row['throughput_ips']:>10.1f}{row['size_bytes'] / 1024:>10.1f}"
            f"{row['parameters']:>10}"
        )
    print(f"served model: {served}; served engine here: {served_engine} ({reason})")
    print("ratios: " + ", ".join(f"{key} {value}x" for key, value in ratios.items()))
    versions = ", ".join(f"{key} {value}" for key, value in runtime_versions().items())
    print(f"host: {machine['cpu']} [{machine['instruction_set']}], {versions}")
    for name, why in unavailable.items():
        print(f"{name}: not run here ({why})")
    if "tensorrt_fp16" not in results:
        print(f"tensorrt: {trt_status}")


if __name__ == "__main__":
    main()
