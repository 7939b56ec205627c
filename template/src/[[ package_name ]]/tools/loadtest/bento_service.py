"""The peer in the serving benchmark: BentoML serving the same ONNX model with adaptive batching.

Runs only inside the benchmark's own BentoML venv (never a dependency of this project), started
by tools/loadtest/serve_benchmark.py as `bentoml serve <pkg>.tools.loadtest.bento_service:Digits`. Per image
it does exactly what /api/predict does: the project's decoding policy, its preprocessing, the
verified and self-tested ONNX Runtime engine, softmax; BentoML's dispatcher groups concurrent
requests into one engine call. Settings come from the environment the benchmark sets.
"""

import os
from pathlib import Path

import bentoml
import numpy as np

from ...data.images import decode_image
from ...data.preprocessing import PreprocessConfig, preprocess
from ...runtime.selection import select_engine
from ...scores import softmax

WORKERS = int(os.environ.get("BENTO_WORKERS", "2"))
MAX_BATCH_SIZE = int(os.environ.get("BENTO_MAX_BATCH_SIZE", "16"))
MAX_LATENCY_MS = int(os.environ.get("BENTO_MAX_LATENCY_MS", "1000"))


@bentoml.service(workers=WORKERS, traffic={"timeout": 30})
class Digits:
    def __init__(self) -> None:
        threads = max(1, (os.cpu_count() or 1) // WORKERS)
        # the candidate the project's server would choose on this host (runtime/selection.py)
        self.engine, _ = select_engine(Path(os.environ["MODEL_DIR"]), threads=threads)
        self.preprocess = PreprocessConfig(**self.engine.manifest["preprocess"])
        self.classes = list(self.engine.manifest["classes"])
        self.max_pixels = int(os.environ.get("MAX_IMAGE_PIXELS", "4000000"))

    @bentoml.api(batchable=True, max_batch_size=MAX_BATCH_SIZE, max_latency_ms=MAX_LATENCY_MS)
    def predict(self, image: list[Path]) -> list[dict]:
        batch = np.stack(
            [preprocess(decode_image(path.read_bytes(), self.max_pixels), self.preprocess) for path in image]
        )
        probabilities = softmax(self.engine.predict(batch))
        return [
            {"label": self.classes[int(row.argmax())], "confidence": round(float(row.max()), 6)}
            for row in probabilities
        ]
