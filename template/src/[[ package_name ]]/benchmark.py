"""Stage `benchmark`: latency (p50/p99, batch 1) and throughput for every engine, side by side.

Engines: PyTorch eager (FP32), ONNX Runtime FP32, ONNX Runtime INT8, and TensorRT FP16/INT8 when
engines were built. Also records model sizes and the INT8-vs-FP32 ratios. All runs use the same
inputs and the same thread count (`benchmark.threads`). ONNX Runtime and TensorRT run through the
server's own engines (runtime/), loaded and self-tested exactly as the server loads them, so what
is measured here is what is served. The CPU model and the int8 instruction-set level are recorded
next to the figures: latency from another CPU is not comparable.
"""

import time
from collections.abc import Callable

import numpy as np
import onnxruntime as ort
import torch

from .latency import latency_summary
from .model.checkpoint import load_checkpoint
from .params import load_params, write_json
from .paths import BENCHMARK_METRICS as METRICS
from .paths import CHECKPOINT, INT8_DIR, ONNX_DIR
from .paths import TENSORRT_DIR as ENGINE_DIR
from .runtime import host
from .runtime.engines import load_engine


def measure(
    run: Callable[[np.ndarray], object], single: np.ndarray, batch: np.ndarray, runs: int, warmup: int
) -> dict:
    for _ in range(warmup):
        run(single)
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        run(single)
        timings.append(time.perf_counter() - start)
    batch_runs = max(runs // 10, 3)
    run(batch)
    start = time.perf_counter()
    for _ in range(batch_runs):
        run(batch)
    elapsed = time.perf_counter() - start
    return latency_summary(timings) | {"throughput_ips": round(batch_runs * len(batch) / elapsed, 1)}


def torch_runner(model: torch.nn.Module) -> Callable[[np.ndarray], object]:
    @torch.inference_mode()
    def run(images: np.ndarray) -> object:
        return model(torch.from_numpy(images))

    return run


def main() -> None:
    settings = load_params()["benchmark"]
    threads, runs, warmup = int(settings["threads"]), int(settings["runs"]), int(settings["warmup"])
    torch.set_num_threads(threads)
    model, _, preprocess = load_checkpoint(CHECKPOINT)
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
        "pytorch_fp32": CHECKPOINT.stat().st_size,
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
        name: {**measure(run, single, batch, runs, warmup), "size_bytes": sizes[name]}
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
    report = {
        "engines": results,
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
    print("ratios: " + ", ".join(f"{key} {value}x" for key, value in ratios.items()))
    print(f"host: {machine['cpu']} [{machine['instruction_set']}], onnxruntime {machine['onnxruntime']}")
    if "tensorrt_fp16" not in results:
        print(f"tensorrt: {trt_status}")


if __name__ == "__main__":
    main()
