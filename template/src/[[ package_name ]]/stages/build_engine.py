"""Stage `build_engine`: build TensorRT engines (FP16 from the FP32 ONNX, INT8 from the QDQ ONNX).

Needs the `tensorrt` Python package and a CUDA GPU. Without them the stage records
`skipped: no TensorRT` (or `skipped: no CUDA GPU`) in metrics/tensorrt.json and succeeds: a CPU
run never fails here and never pretends an engine was built. Each engine directory gets its golden
set: the source ONNX's golden inputs and reference, and this engine's outputs on the build GPU as
the expectation (`golden.tensorrt_<precision>` tolerances), checked again wherever it is loaded.
"""

import shutil
from pathlib import Path

from ..artifacts import verify_manifest, write_manifest
from ..params import load_params, write_json
from ..paths import INT8_TENSORRT_DIR, ONNX_DIR
from ..paths import TENSORRT_DIR as ENGINE_DIR
from ..paths import TENSORRT_METRICS as METRICS
from ..runtime.engines import TensorRTEngine
from ..runtime.golden import derive_golden
from ..runtime.host import tensorrt_unavailable_reason


def build_engine(
    onnx_path: Path,
    engine_path: Path,
    input_name: str,
    input_shape: tuple,
    precision: str,
    max_batch: int,
    workspace_mb: int,
) -> None:
    """Build a serialized engine with the TensorRT Python API (TensorRT 10: explicit batch)."""
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    elif precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)  # scales come from the QDQ nodes in the ONNX file
    profile = builder.create_optimization_profile()
    profile.set_shape(input_name, (1, *input_shape), (max_batch, *input_shape), (max_batch, *input_shape))
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT failed to build the {precision} engine from {onnx_path}")
    engine_path.write_bytes(bytes(serialized))


def main() -> None:
    params = load_params()
    settings = params["tensorrt"]
    if ENGINE_DIR.exists():
        shutil.rmtree(ENGINE_DIR)
    ENGINE_DIR.mkdir(parents=True)
    reason = tensorrt_unavailable_reason()
    if reason:
        status = {"status": f"skipped: {reason}", "engines": []}
        (ENGINE_DIR / "SKIPPED").write_text(status["status"] + "\n")
        write_json(METRICS, status)
        print(f"build_engine: {status['status']} (engines are built on a GPU runner with TensorRT installed)")
        return
    engines = []
    for precision, source in (("fp16", ONNX_DIR), ("int8", INT8_TENSORRT_DIR)):
        onnx_path, manifest = verify_manifest(source)
        preprocess = manifest["preprocess"]
        shape = (len(preprocess["mode"]), preprocess["image_size"], preprocess["image_size"])
        out_dir = ENGINE_DIR / precision
        out_dir.mkdir()
        engine_path = out_dir / "model.plan"
        build_engine(
            onnx_path,
            engine_path,
            manifest["input_name"],
            shape,
            precision,
            int(settings["max_batch_size"]),
            int(settings["workspace_mb"]),
        )
        fields = {
            key: value for key, value in manifest.items() if key not in {"file", "sha256", "size_bytes"}
        }
        engine = TensorRTEngine(engine_path, manifest)
        tolerance = params["golden"][f"tensorrt_{precision}"]
        fields.update(
            format="tensorrt",
            precision=precision,
            source_sha256=manifest["sha256"],
            golden=derive_golden(source, manifest, out_dir, engine, tolerance),
        )
        write_manifest(engine_path, **fields)
        engines.append(precision)
    write_json(METRICS, {"status": "built", "engines": engines})
    print(f"build_engine: built {engines} engines in {ENGINE_DIR}")


if __name__ == "__main__":
    main()
