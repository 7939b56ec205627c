"""Inference engines behind one interface: `predict(batch) -> logits`.

- OnnxRuntimeEngine: CPU, the default; runs the FP32 or INT8 ONNX artifact.
- TensorRTEngine: GPU; runs a serialized engine from the `tensorrt` stage. Needs the `tensorrt`
  and `cuda-python` packages and a CUDA device, none of which the CPU image contains.
Both verify the artifact's sha256 against its manifest before loading it.
"""

import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from ..artifacts import verify_manifest
from ..inference import onnx_session


class InferenceEngine(Protocol):
    name: str
    manifest: dict

    def predict(self, batch: np.ndarray) -> np.ndarray: ...


class OnnxRuntimeEngine:
    name = "onnxruntime"

    def __init__(self, model_dir: Path, threads: int = 0):
        path, self.manifest = verify_manifest(model_dir)
        self.session = onnx_session(path, threads)
        self.input_name = self.session.get_inputs()[0].name

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch})[0]


class TensorRTEngine:
    """TensorRT 10 runtime with cuda-python buffers (as in NVIDIA's Python samples)."""

    name = "tensorrt"

    def __init__(self, model_dir: Path):
        import tensorrt as trt
        from cuda.bindings import runtime as cudart

        path, self.manifest = verify_manifest(model_dir)
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


def load_engine(kind: str, model_dir: Path) -> InferenceEngine:
    if kind == "onnxruntime":
        return OnnxRuntimeEngine(model_dir)
    if kind == "tensorrt":
        return TensorRTEngine(model_dir)
    raise ValueError(f"INFERENCE_ENGINE must be onnxruntime or tensorrt, not {kind!r}")
