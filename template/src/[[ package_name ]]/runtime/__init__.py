"""The inference runtime: what is benchmarked and verified is what is served.

Used by the benchmark stage, the release step and the server alike; imports neither Flask nor
torch, so the serving image carries it without PyTorch.

- `engines`: ONNX Runtime (CPU) and TensorRT (GPU) behind one `predict(batch) -> logits`.
- `golden`: the golden set shipped in every model directory, and the self-test run at load.
- `host`: the CPU model and the instruction-set level the kernels dispatch to.

`python -m <package>.runtime MODEL_DIR` runs the self-test and prints its report.
"""

from .engines import InferenceEngine, OnnxRuntimeEngine, TensorRTEngine, load_engine, onnx_session
from .golden import GoldenReport, GoldenSetError

__all__ = [
    "GoldenReport",
    "GoldenSetError",
    "InferenceEngine",
    "OnnxRuntimeEngine",
    "TensorRTEngine",
    "load_engine",
    "onnx_session",
]
