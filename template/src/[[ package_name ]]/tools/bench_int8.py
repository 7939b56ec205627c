"""INT8 benchmark: FP32 and every INT8 variant, per CPU runtime, per architecture, on this machine.

    python -m <package>.tools.bench_int8   (make bench-int8)

Which INT8 file is fastest depends on the network and on the CPU: on an AVX2-only EPYC the project's
S8S8 file made mobilenet_v3_small 0.15x FP32 under ONNX Runtime, while resnet18 went 1.10x (S8S8),
3.03x (U8S8) and 3.79x (OpenVINO). So this tool measures them all, side by side, in one run:

- each architecture of params.yaml `bench_int8.architectures` (with its own overrides of the
  training settings there) is trained briefly from scratch (no downloads) at
  `bench_int8.image_size` px RGB on a bounded subset of the train split with the project's one fit
  loop (training.py), its BatchNorm statistics re-estimated, and exported by model/onnx.py;
- every QDQ variant of `bench_int8.formats` is written by quantization.quantize_int8, calibrated on
  `calibration_samples` train images (the quantize stage's draw);
- ONNX Runtime and OpenVINO (runtime/engines.py, the served engines) run FP32 and every QDQ file;
  OpenVINO also runs an NNCF INT8 model (`nncf.quantize` on the OpenVINO model, the same
  calibration images) when nncf is installed;
- every (runtime, variant) is timed with latency.measure, interleaved over `rounds` (one round times
  each engine once, in turn, so a busy neighbour slows them all alike); the medians are reported:
  batch-1 p50 (ms) and batch-`throughput_batch_size` throughput (img/s), their ratios to the same
  runtime's FP32 and to ONNX Runtime FP32, and top-1 agreement with ONNX Runtime FP32 (and accuracy)
  on `test_images` test images.

Needs data/splits (`dvc repro split`). Prints one table per architecture and the host's CPU and int8
instruction-set level (runtime/host.py); writes reports/bench_int8.json.
"""

import argparse
import importlib.util
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn
from torch.utils.data import Subset

from ..data.dataset import load_split, make_loader, stack
from ..data.label_map import read_label_map
from ..data.preprocessing import PreprocessConfig
from ..latency import measure
from ..model import build_model
from ..model.onnx import INPUT_NAME, export_onnx
from ..params import load_params, write_json
from ..paths import SPLITS_DIR
from ..quantization import calibration_images, quantize_int8
from ..runtime import host
from ..runtime.engines import OnnxRuntimeEngine, OpenVINOEngine, openvino_core, predict_batched
from ..training import evaluate_loss_accuracy, fit, seed_everything

REPORT = Path("reports/bench_int8.json")
FP32 = "fp32"
NNCF = "nncf_int8"


def subset(dataset, count: int, seed: int) -> Subset:
    """min(`count`, len(dataset)) items drawn without replacement, in order (seeded)."""
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(dataset), size=min(count, len(dataset)), replace=False))
    return Subset(dataset, chosen.tolist())


def resolve_formats(params: dict) -> dict[str, dict]:
    """bench_int8.formats as quantize_int8 specs: a name refers to params.yaml quantize.formats."""
    known = params["quantize"]["formats"]
    return {
        name: dict(known[spec]) if isinstance(spec, str) else dict(spec)
        for name, spec in params["bench_int8"]["formats"].items()
    }


def train_model(architecture: str, params: dict, config: PreprocessConfig, splits_dir: Path) -> tuple:
    """(trained model in eval mode, best validation accuracy, seconds): the project's fit loop."""
    settings, data, seed = params["bench_int8"], params["data"], int(params["seed"])
    classes = read_label_map()
    seed_everything(seed)
    train_set = subset(load_split(splits_dir, "train", data, config), int(settings["train_images"]), seed)
    val_set = subset(load_split(splits_dir, "val", data, config), int(settings["val_images"]), seed)
    # Decoded in this process, without DataLoader workers: forking them once OpenVINO's threads
    # run (the previous architecture's engines) crashes the process (SIGSEGV). Decoding a small
    # PNG costs far less than a training step at 224 px.
    generator = torch.Generator().manual_seed(seed)
    train_loader = make_loader(train_set, int(settings["batch_size"]), 0, shuffle=True, generator=generator)
    val_loader = make_loader(val_set, 64, 0)
    model = build_model(architecture, len(classes), config.channels, int(settings["width"]), pretrained=False)
    epochs, lr = int(settings["epochs"]), float(settings["lr"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=float(settings["weight_decay"]))
    steps = epochs * len(train_loader)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)

    started = time.perf_counter()
    # No validation inside the loop: a few hundred steps from scratch leave BatchNorm's running
    # statistics far behind the weights (eval-mode outputs collapse, model/backbones.py), so the
    # last weights are kept, their statistics re-estimated, and then validated once.
    fit(model, train_loader, None, epochs=epochs, optimizer=optimizer, scheduler=scheduler, desc=architecture)
    recalibrate_batchnorm(model, train_loader)
    seconds = time.perf_counter() - started
    _, val_accuracy = evaluate_loss_accuracy(model, val_loader, torch.device("cpu"))
    print(f"  {architecture}: trained {seconds:.0f} s, val accuracy {val_accuracy:.3f}")
    return model.eval(), val_accuracy, seconds


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, loader) -> None:
    """Re-estimate every BatchNorm's running mean and variance as the plain average over `loader`
    with the model's final weights ("precise BN"), then leave the model in eval mode."""
    norms = [module for module in model.modules() if isinstance(module, nn.modules.batchnorm._BatchNorm)]
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average
    model.train()
    for images, _ in loader:
        model(images)
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    model.eval()


def nncf_model(fp32_path: Path, calibration: np.ndarray, xml_path: Path) -> Path:
    """OpenVINO IR of `fp32_path` quantized to INT8 by NNCF (post-training, default preset),
    calibrated on `calibration` one image at a time."""
    import nncf
    import openvino as ov

    model = openvino_core().read_model(str(fp32_path))
    dataset = nncf.Dataset([calibration[i : i + 1] for i in range(len(calibration))])
    quantized = nncf.quantize(model, dataset, subset_size=len(calibration))
    ov.save_model(quantized, str(xml_path))
    return xml_path


def build_engines(
    model: torch.nn.Module, params: dict, train_set, folder: Path, example: np.ndarray
) -> tuple[dict[tuple[str, str], object], dict[tuple[str, str], int]]:
    """{(runtime, variant): engine} and their file sizes: FP32, every QDQ format on ONNX Runtime and
    OpenVINO, and NNCF INT8 on OpenVINO when nncf is installed."""
    settings = params["bench_int8"]
    threads = int(settings["threads"])
    fp32_path = folder / "fp32.onnx"
    export_onnx(model, torch.from_numpy(example[:2]), fp32_path, int(params["export"]["opset"]))
    calibration = calibration_images(train_set, int(settings["calibration_samples"]), int(params["seed"]))
    formats = resolve_formats(params)
    quantize_settings = {**params["quantize"], "formats": formats}
    files = {FP32: fp32_path}
    for name in formats:
        files[name] = folder / f"{name}.onnx"
        quantize_int8(fp32_path, files[name], INPUT_NAME, calibration, quantize_settings, name)
    engines, sizes = {}, {}
    for runtime, engine in (("onnxruntime", OnnxRuntimeEngine), ("openvino", OpenVINOEngine)):
        for variant, path in files.items():
            engines[runtime, variant] = engine(path, {}, threads)
            sizes[runtime, variant] = path.stat().st_size
    if importlib.util.find_spec("nncf") is not None:
        xml = nncf_model(fp32_path, calibration, folder / f"{NNCF}.xml")
        engines["openvino", NNCF] = OpenVINOEngine(xml, {}, threads)
        sizes["openvino", NNCF] = xml.stat().st_size + xml.with_suffix(".bin").stat().st_size
    return engines, sizes


def time_interleaved(engines: dict, single: np.ndarray, batch: np.ndarray, settings: dict) -> dict:
    """Median over `rounds` of each engine's batch-1 p50 and throughput; each round times every
    engine once, in turn (latency.measure)."""
    runs, warmup, rounds = int(settings["runs"]), int(settings["warmup"]), int(settings["rounds"])
    samples: dict = {key: {"latency_p50_ms": [], "throughput_ips": []} for key in engines}
    for round_index in range(rounds):
        for key, engine in engines.items():
            figures = measure(engine.predict, single, batch, runs, warmup if round_index == 0 else 1)
            for name in samples[key]:
                samples[key][name].append(figures[name])
    return {
        key: {name: round(statistics.median(values), 4) for name, values in figures.items()}
        for key, figures in samples.items()
    }


def ratios(figures: dict, base: dict, name: str) -> dict[str, float]:
    """Batch-1 speed-up (base p50 / p50) and throughput ratio of `figures` against `base`."""
    return {
        f"speedup_p50_vs_{name}": round(base["latency_p50_ms"] / figures["latency_p50_ms"], 3),
        f"throughput_vs_{name}": round(figures["throughput_ips"] / base["throughput_ips"], 3),
    }


def bench_architecture(architecture: str, params: dict, splits_dir: Path) -> dict:
    """Train, export, quantize and time one architecture; returns its figures and rows."""
    settings, data = params["bench_int8"], params["data"]
    config = PreprocessConfig(int(settings["image_size"]), "RGB", data["mean"], data["std"])
    model, val_accuracy, train_seconds = train_model(architecture, params, config, splits_dir)
    seed = int(params["seed"])
    train_set = subset(load_split(splits_dir, "train", data, config), int(settings["train_images"]), seed)
    test_set = subset(load_split(splits_dir, "test", data, config), int(settings["test_images"]), seed)
    images, labels = stack(test_set, desc=f"{architecture} test images")
    batch_size = int(settings["throughput_batch_size"])
    batch = np.ascontiguousarray(np.resize(images, (batch_size, *images.shape[1:])))
    single = images[:1]
    with tempfile.TemporaryDirectory() as tmp:
        engines, sizes = build_engines(model, params, train_set, Path(tmp), images)
        predictions = {key: predict_batched(engine, images, 32).argmax(1) for key, engine in engines.items()}
        timings = time_interleaved(engines, single, batch, settings)
    reference = predictions["onnxruntime", FP32]
    rows = [
        {
            "runtime": runtime,
            "variant": variant,
            **figures,
            **ratios(figures, timings[runtime, FP32], "runtime_fp32"),
            **ratios(figures, timings["onnxruntime", FP32], "onnxruntime_fp32"),
            "top1_agreement": round(float((predictions[runtime, variant] == reference).mean()), 4),
            "accuracy": round(float((predictions[runtime, variant] == labels).mean()), 4),
            "size_bytes": sizes[runtime, variant],
        }
        for (runtime, variant), figures in timings.items()
    ]
    training = ("width", "epochs", "batch_size", "lr", "train_images")
    return {
        "training": {key: settings[key] for key in training},
        "val_accuracy": round(val_accuracy, 4),
        "test_accuracy": round(float((reference == labels).mean()), 4),
        "train_seconds": round(train_seconds, 1),
        "test_images": len(images),
        "rows": rows,
    }


def print_table(architecture: str, result: dict, settings: dict) -> None:
    training = result["training"]
    print(
        f"\n{architecture} @ {settings['image_size']} px: trained {result['train_seconds']:.0f} s "
        f"({training['epochs']} epochs of {training['train_images']} images, "
        f"batch {training['batch_size']}), "
        f"val accuracy {result['val_accuracy']:.3f}, test accuracy (ONNX Runtime FP32) "
        f"{result['test_accuracy']:.3f} on {result['test_images']} images"
    )
    header = (
        f"{'runtime':<12}{'variant':<11}{'p50 ms':>9}{'img/s':>9}{'p50 x':>7}{'img/s x':>8}"
        f"{'p50 xORT':>9}{'img/s xORT':>11}{'agree':>7}{'acc':>7}{'KB':>8}"
    )
    print(header)
    for row in result["rows"]:
        print(
            f"{row['runtime']:<12}{row['variant']:<11}{row['latency_p50_ms']:>9.3f}{row['throughput_ips']:>9.1f}"
            f"{row['speedup_p50_vs_runtime_fp32']:>7.2f}{row['throughput_vs_runtime_fp32']:>8.2f}"
            f"{row['speedup_p50_vs_onnxruntime_fp32']:>9.2f}{row['throughput_vs_onnxruntime_fp32']:>11.2f}"
            f"{row['top1_agreement']:>7.3f}{row['accuracy']:>7.3f}{row['size_bytes'] / 1024:>8.0f}"
        )


def run(params: dict, splits_dir: Path = SPLITS_DIR, report: Path = REPORT) -> dict:
    """Benchmark every architecture of params['bench_int8']; print the tables, write `report`."""
    settings = params["bench_int8"]
    torch.set_num_threads(int(settings["threads"]))
    started = time.perf_counter()
    machine = {**host.describe(), "onnxruntime": ort.__version__}
    import openvino

    machine["openvino"] = openvino.__version__
    if importlib.util.find_spec("nncf") is not None:
        import nncf

        machine["nncf"] = nncf.__version__
    print(f"host: {machine['cpu']} [{machine['instruction_set']}], {settings['threads']} threads")
    results = {}
    for architecture, overrides in settings["architectures"].items():
        # the architecture's own training settings (bench_int8.architectures) over the shared ones
        own = {**params, "bench_int8": {**settings, **(overrides or {})}}
        results[architecture] = bench_architecture(str(architecture), own, splits_dir)
        print_table(str(architecture), results[architecture], settings)
    summary = {
        "host": machine,
        "settings": settings,
        "formats": resolve_formats(params),
        "architectures": results,
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_json(report, summary)
    print(
        "\np50 x / img/s x: vs the same runtime's FP32 (above 1: faster); xORT: vs ONNX Runtime FP32; "
        "agree: top-1 agreement with ONNX Runtime FP32 on the test images"
    )
    names = [name for name in ("onnxruntime", "openvino", "nncf") if name in machine]
    versions = ", ".join(f"{name} {machine[name]}" for name in names)
    print(f"host: {machine['cpu']} [{machine['instruction_set']}], {versions}")
    print(f"bench-int8: {summary['seconds']:.0f} s, {report}")
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--architectures", nargs="+", help="override bench_int8.architectures")
    args = parser.parse_args(argv)
    params = load_params()
    if args.architectures:
        known = params["bench_int8"]["architectures"]
        params["bench_int8"]["architectures"] = {name: known.get(name) for name in args.architectures}
    if not (SPLITS_DIR / "train.csv").is_file():
        raise SystemExit(f"bench-int8: no {SPLITS_DIR}/train.csv; run `dvc repro split` first")
    run(params)


if __name__ == "__main__":
    main()
