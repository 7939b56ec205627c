"""Inference engines behind one interface: `predict(batch) -> logits`.

- OnnxRuntimeEngine: CPU; runs the FP32 or INT8 ONNX artifact.
- OpenVINOEngine: CPU; Intel's OpenVINO runtime reading the same ONNX files (its own runtime, not
  ONNX Runtime's OpenVINO execution provider: that provider ships as a separate `onnxruntime-openvino`
  build which replaces the `onnxruntime` wheel, exists for fewer platforms and lags its releases).
- TensorRTEngine: GPU; runs a serialized engine from the `tensorrt` stage. Needs the `tensorrt`
  and `cuda-python` packages and a CUDA device, none of which the CPU image contains.

`load_engine` verifies the artifact's sha256 against its manifest, builds the engine and runs the
golden-set self-test (runtime/golden.py) before anyone may use it.
"""

import threading
from pathlib import Path
from typing import Protocol

import numpy as np
import onnxruntime as ort

from ..artifacts import verify_manifest
from .golden import GoldenReport, self_test


class InferenceEngine(Protocol):
    name: str
    manifest: dict
    golden: GoldenReport | None  # the self-test this engine passed at load

    def predict(self, batch: np.ndarray) -> np.ndarray: ...


def onnx_session(model_path: Path | str, threads: int = 0) -> ort.InferenceSession:
    """The one set of ONNX Runtime session settings: CPU provider, `threads` intra-op threads (0: ORT's
    default, one per core), one inter-op thread, full graph optimisation (the int8 kernel fusion that
    the golden set verifies)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])


def predict_batched(engine: "InferenceEngine", images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Logits float32 (N, K) for float32 images (N, C, H, W), run `batch_size` at a time."""
    chunks = [engine.predict(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    return np.concatenate(chunks) if chunks else np.empty((0, 0), dtype=np.float32)


class OnnxRuntimeEngine:
    name = "onnxruntime"
    golden: GoldenReport | None = None

    def __init__(self, model_path: Path, manifest: dict, threads: int = 0):
        self.manifest = manifest
        self.session = onnx_session(model_path, threads)
        self.input_name = self.session.get_inputs()[0].name

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """float32 (N, C, H, W) -> logits float32 (N, K)."""
        return self.session.run(None, {self.input_name: batch})[0]


_OPENVINO_CORE = None
_OPENVINO_CORE_LOCK = threading.Lock()


def openvino_core():
    """The process's one `openvino.Core`. A second Core in one process corrupts memory after some
    model loads (seen here as a crash in Python's garbage collector during a test session;
    ultralytics/ultralytics#25864 saw the same after ~20 loads and fixed it the same way)."""
    global _OPENVINO_CORE
    with _OPENVINO_CORE_LOCK:
        if _OPENVINO_CORE is None:
            import openvino as ov

            _OPENVINO_CORE = ov.Core()
        return _OPENVINO_CORE


class OpenVINOEngine:
    """OpenVINO's CPU plugin on an ONNX file (FP32, or QDQ INT8, which it runs as int8).

    Inference precision is pinned to f32: on CPUs with AMX or AVX-512 BF16 the plugin would
    otherwise run FP32 models in bfloat16 (OpenVINO docs, "Precision Control"), which is another
    model than the one the golden set describes. One infer request per thread: a compiled model is
    shared, infer requests are not thread-safe (OpenVINO docs, "Inference Request"). Every engine
    compiles with the process's one Core (`openvino_core`).
    """

    name = "openvino"
    golden: GoldenReport | None = None

    def __init__(self, model_path: Path, manifest: dict, threads: int = 0):
        self.manifest = manifest
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        self.compiled = openvino_core().compile_model(str(model_path), "CPU", config)
        self._local = threading.local()

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """float32 (N, C, H, W) -> logits float32 (N, K)."""
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.compiled.create_infer_request()
        result = request.infer([np.ascontiguousarray(batch, dtype=np.float32)])
        return np.array(next(iter(result.values())), dtype=np.float32)


class TensorRTEngine:
    """TensorRT 10 runtime with cuda-python buffers (as in NVIDIA's Python samples)."""

    name = "tensorrt"
    golden: GoldenReport | None = None

    def __init__(self, path: Path, manifest: dict, threads: int = 0):  # threads: CPU engines only
        import tensorrt as trt
        from cuda.bindings import runtime as cudart

        self.manifest = manifest
        self.cudart = cudart
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = runtime.deserialize_cuda_engine(path.read_bytes())
        if self.engine is None:
            raise RuntimeError(f"TensorRT could not deserialize {path} (built for another GPU or version?)")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.input_name = next(n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT)
        self.output_name = next(n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT)
        self.num_classes = len(self.manifest["classes"])
        self.lock = threading.Lock()  # one execution context: one request at a time per worker

    def _check(self, result: tuple) -> tuple:
        if result[0] != self.cudart.cudaError_t.cudaSuccess:
            raise RuntimeError(f"CUDA error {result[0]}")
        return result[1:]

    def predict(self, batch: np.ndarray) -> np.ndarray:
        with self.lock:
            return self._predict(np.ascontiguousarray(batch, dtype=np.float32))

    def _predict(self, batch: np.ndarray) -> np.ndarray:
        cudart = self.cudart
        output = np.empty((len(batch), self.num_classes), dtype=np.float32)
        (d_input,) = self._check(cudart.cudaMalloc(batch.nbytes))
        (d_output,) = self._check(cudart.cudaMalloc(output.nbytes))
        try:
            kind = cudart.cudaMemcpyKind
            self._check(
                cudart.cudaMemcpy(d_input, batch.ctypes.data, batch.nbytes, kind.cudaMemcpyHostToDevice)
            )
            self.context.set_input_shape(self.input_name, batch.shape)
            self.context.set_tensor_address(self.input_name, int(d_input))
            self.context.set_tensor_address(self.output_name, int(d_output))
            if not self.context.execute_async_v3(0):
                raise RuntimeError("TensorRT execution failed")
            self._check(
                cudart.cudaMemcpy(output.ctypes.data, d_output, output.nbytes, kind.cudaMemcpyDeviceToHost)
            )
        finally:
            cudart.cudaFree(d_input)
            cudart.cudaFree(d_output)
        return output


ENGINES = {"onnxruntime": OnnxRuntimeEngine, "openvino": OpenVINOEngine, "tensorrt": TensorRTEngine}


def load_engine(kind: str, model_dir: Path, threads: int = 0, verify: bool = True) -> InferenceEngine:
    """Verify `model_dir` (sha256, then golden set) and return a ready engine of `kind`.

    Raises ValueError for an unknown kind, ArtifactError for a missing or tampered artifact, and
    GoldenSetError (an ArtifactError) when the model fails its self-test on this machine. The
    passing report is kept as `engine.golden`. `verify=False` skips only the golden set (used by
    the stages that are about to write it).
    """
    if kind not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {kind!r}")
    path, manifest = verify_manifest(model_dir)
    engine = ENGINES[kind](path, manifest, threads)
    engine.golden = self_test(engine, Path(model_dir)) if verify else None
    return engine
