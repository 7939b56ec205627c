"""ONNX Runtime helpers shared by export, quantize, benchmark and the server (no torch import)."""

from pathlib import Path

import numpy as np
import onnxruntime as ort


def onnx_session(model_path: Path | str, threads: int = 0) -> ort.InferenceSession:
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])


def onnx_logits(session: ort.InferenceSession, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    name = session.get_inputs()[0].name
    chunks = [
        session.run(None, {name: images[i : i + batch_size]})[0] for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(chunks) if chunks else np.empty((0, 0), dtype=np.float32)


def onnx_accuracy(session: ort.InferenceSession, images: np.ndarray, labels: np.ndarray) -> float:
    return float((onnx_logits(session, images).argmax(1) == labels).mean())
