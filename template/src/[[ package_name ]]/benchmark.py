"""Stage `benchmark`: latency (p50/p99, batch 1) and throughput for every engine, side by side.

Engines: PyTorch eager (FP32), ONNX Runtime FP32, ONNX Runtime INT8, and TensorRT FP16/INT8 when
engines were built. Also records model sizes and the INT8-vs-FP32 ratios. All runs use the same
inputs and the same thread count (`benchmark.threads`).
"""

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from .artifacts import verify_manifest
from .export import ONNX_DIR
from .inference import onnx_session
from .model.checkpoint import load_checkpoint
from .params import load_params, write_json
from .quantize import INT8_DIR
from .tensorrt import ENGINE_DIR
from .train import CHECKPOINT

METRICS = Path("metrics/benchmark.json")


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
    return {
        "latency_p50_ms": round(float(np.percentile(timings, 50)) * 1000, 4),
        "latency_p99_ms": round(float(np.percentile(timings, 99)) * 1000, 4),
        "throughput_ips": round(batch_runs * len(batch) / elapsed, 1),
    }


def torch_runner(model: torch.nn.Module) -> Callable[[np.ndarray], object]:
    @torch.inference_mode()
    def run(images: np.ndarray) -> object:
        return model(torch.from_numpy(images))

    return run


def onnx_runner(path: Path, threads: int) -> Callable[[np.ndarray], object]:
    session = onnx_session(path, threads)
    name = session.get_inputs()[0].name
    return lambda images: session.run(None, {name: images})


def tensorrt_runner(engine_path: Path, input_name: str, num_classes: int) -> Callable[[np.ndarray], object]:
    """Run a serialized engine with the TensorRT runtime, using torch CUDA tensors as buffers."""
    import tensorrt as trt

    runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
    engine = runtime.deserialize_cuda_engine(engine_path.read_bytes())
    context = engine.create_execution_context()
    output_name = next(
        engine.get_tensor_name(i)
        for i in range(engine.num_io_tensors)
        if engine.get_tensor_mode(engine.get_tensor_name(i)) == trt.TensorIOMode.OUTPUT
    )
    stream = torch.cuda.Stream()

    def run(images: np.ndarray) -> object:
        inputs = torch.from_numpy(images).cuda()
        outputs = torch.empty((len(images), num_classes), device="cuda")
        context.set_input_shape(input_name, tuple(inputs.shape))
        context.set_tensor_address(input_name, inputs.data_ptr())
        context.set_tensor_address(output_name, outputs.data_ptr())
        context.execute_async_v3(stream.cuda_stream)
        stream.synchronize()
        return outputs.cpu()

    return run


def main() -> None:
    settings = load_params()["benchmark"]
    threads, runs, warmup = int(settings["threads"]), int(settings["runs"]), int(settings["warmup"])
    torch.set_num_threads(threads)
    model, classes, preprocess = load_checkpoint(CHECKPOINT)
    fp32_path, manifest = verify_manifest(ONNX_DIR)
    int8_path, _ = verify_manifest(INT8_DIR)
    shape = (len(preprocess["mode"]), preprocess["image_size"], preprocess["image_size"])
    rng = np.random.default_rng(0)
    batch = rng.standard_normal((int(settings["throughput_batch_size"]), *shape)).astype(np.float32)
    single = batch[:1]

    runners = {
        "pytorch_fp32": torch_runner(model),
        "onnxruntime_fp32": onnx_runner(fp32_path, threads),
        "onnxruntime_int8": onnx_runner(int8_path, threads),
    }
    sizes = {
        "pytorch_fp32": CHECKPOINT.stat().st_size,
        "onnxruntime_fp32": fp32_path.stat().st_size,
        "onnxruntime_int8": int8_path.stat().st_size,
    }
    skipped = ENGINE_DIR / "SKIPPED"
    trt_status = skipped.read_text().strip() if skipped.exists() else "built"
    for precision in ("fp16", "int8"):
        engine_dir = ENGINE_DIR / precision
        if (engine_dir / "manifest.json").exists():
            engine_path, _ = verify_manifest(engine_dir)
            runners[f"tensorrt_{precision}"] = tensorrt_runner(
                engine_path, manifest["input_name"], len(classes)
            )
            sizes[f"tensorrt_{precision}"] = engine_path.stat().st_size

    results = {
        name: {**measure(run, single, batch, runs, warmup), "size_bytes": sizes[name]}
        for name, run in runners.items()
    }
    fp32, int8 = results["onnxruntime_fp32"], results["onnxruntime_int8"]
    ratios = {
        "int8_vs_fp32_speedup_p50": round(fp32["latency_p50_ms"] / int8["latency_p50_ms"], 3),
        "int8_vs_fp32_throughput": round(int8["throughput_ips"] / fp32["throughput_ips"], 3),
        "int8_vs_fp32_size": round(int8["size_bytes"] / fp32["size_bytes"], 3),
        "onnx_vs_pytorch_speedup_p50": round(
            results["pytorch_fp32"]["latency_p50_ms"] / fp32["latency_p50_ms"], 3
        ),
    }
    write_json(METRICS, {"engines": results, "ratios": ratios, "threads": threads, "tensorrt": trt_status})

    print(f"{'engine':<18}{'p50 ms':>10}{'p99 ms':>10}{'img/s':>12}{'size KB':>10}")
    for name, row in results.items():
        print(
            f"{name:<18}{row['latency_p50_ms']:>10.3f}{row['latency_p99_ms']:>10.3f}"
            f"{row['throughput_ips']:>12.1f}{row['size_bytes'] / 1024:>10.1f}"
        )
    print("ratios: " + ", ".join(f"{key} {value}x" for key, value in ratios.items()))
    if "tensorrt_fp16" not in results:
        print(f"tensorrt: {trt_status}")


if __name__ == "__main__":
    main()
