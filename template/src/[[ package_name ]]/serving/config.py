"""Server settings, read from the environment. Every variable has a documented default.

- DATABASE_URL: SQLAlchemy URL (sqlite, mysql+pymysql, postgresql+psycopg);
  default sqlite:///<instance>/app.db
- MODEL_DIR: model directory (model file + manifest.json) registered at first start; default models/int8
- MODEL_STORE: where registered versions are kept, one folder each; default <instance>/models
- INFERENCE_ENGINE: onnxruntime (CPU, default) or tensorrt (GPU, needs TensorRT)
- BENCHMARK_FILE: latency figures recorded with that first version; default metrics/benchmark.json
- FRONTEND_DIST: built web UI served at / when the folder exists; default frontend/dist
- MAX_UPLOAD_BYTES: larger request bodies get 413; default 5000000
- MAX_IMAGE_PIXELS: larger images and decompression bombs get 413; default 4000000
- ANNOTATION_STORAGE: images queued for labelling; default <instance>/annotation-images
- EXPORT_DIR: labelled images are exported here, one folder per class; default data/raw
- ADMIN_TOKEN: when set, activating a model needs `Authorization: Bearer <token>`; default unset
- MODEL_CHECK_SECONDS: how often each worker checks which version is active; default 2
- INSTANCE_PATH: folder for the SQLite file and stores; default ./instance
"""

import os
from pathlib import Path

from ..paths import BENCHMARK_METRICS, INT8_DIR


def config_from_env(instance_path: str) -> dict:
    instance = Path(instance_path)
    env = os.environ.get
    return {
        "SQLALCHEMY_DATABASE_URI": env("DATABASE_URL", f"sqlite:///{instance / 'app.db'}"),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "MODEL_DIR": env("MODEL_DIR", INT8_DIR.as_posix()),
        "MODEL_STORE": env("MODEL_STORE", str(instance / "models")),
        "BENCHMARK_FILE": env("BENCHMARK_FILE", BENCHMARK_METRICS.as_posix()),
        "FRONTEND_DIST": env("FRONTEND_DIST", "frontend/dist"),
        "INFERENCE_ENGINE": env("INFERENCE_ENGINE", "onnxruntime"),
        "MAX_CONTENT_LENGTH": int(env("MAX_UPLOAD_BYTES", "5000000")),
        "MAX_IMAGE_PIXELS": int(env("MAX_IMAGE_PIXELS", "4000000")),
        "ANNOTATION_STORAGE": env("ANNOTATION_STORAGE", str(instance / "annotation-images")),
        "EXPORT_DIR": env("EXPORT_DIR", "data/raw"),
        "ADMIN_TOKEN": env("ADMIN_TOKEN") or None,
        "MODEL_CHECK_SECONDS": float(env("MODEL_CHECK_SECONDS", "2")),
    }
