"""Server settings, read from the environment. Every variable has a documented default.

- DATABASE_URL: SQLAlchemy URL (sqlite, mysql+pymysql, postgresql+psycopg);
  default sqlite:///<instance>/app.db
- MODEL_DIR: model directory (model file + manifest.json) registered at first start; default models/int8
- MODEL_STORE: where registered versions are kept, one folder each; default <instance>/models
- INFERENCE_ENGINE: onnxruntime (CPU, default) or tensorrt (GPU, needs TensorRT)
- BENCHMARK_FILE: latency figures recorded with that first version; default metrics/benchmark.json
- EVALUATION_DIR: the pipeline's evaluation reports (one folder per model) for the Evaluation page;
  default reports/evaluation
- FRONTEND_DIST: built web UI served at / when the folder exists; default frontend/dist
- MAX_UPLOAD_BYTES: larger request bodies get 413; default 25000000 (a 48 MP phone JPEG fits)
- MAX_IMAGE_PIXELS: larger images and decompression bombs get 413; default 50000000 (48 MP phones;
  about 150 MB of RGB per request while decoding)
- ANNOTATION_STORAGE: images queued for labelling; default <instance>/annotation-images
- EXPORT_DIR: labelled images are exported here, one folder per class (default data/annotated;
  point `collect.source` in params.yaml at it to train on them)
- ADMIN_TOKEN: when set, activating a model and every annotation write (queue, label, review,
  export) need `Authorization: Bearer <token>`, and annotation writes an `X-Annotator` name; default unset
- ARCHIVE_MAX_BYTES: a queued .zip may expand to at most this many bytes; default 200000000
- ARCHIVE_MAX_MEMBERS: and hold at most this many files; default 5000
- PREDICTION_LOG: 1 logs every served prediction (model version, label, confidence, image sha256);
  default 0 (off)
- PREDICTION_LOG_MAX_ROWS: retention: only the newest rows are kept; default 10000
- PREDICTION_LOG_IMAGES: 1 also keeps the image (needed to send it to the annotation queue later);
  default 0 (no image is kept)
- PREDICTION_LOG_STORAGE: where kept images go; default <instance>/prediction-images
- LOW_CONFIDENCE: predictions below this confidence count as low-confidence; default 0.6
- AUTO_QUEUE_LOW_CONFIDENCE: 1 queues every low-confidence served image for annotation at once
  (the image is then stored in ANNOTATION_STORAGE); default 0
- MODEL_CHECK_SECONDS: how often each worker checks which version is active; default 2
- BATCH_MAX_SIZE: predictions in one worker at the same moment run as one batch of at most this
  many images; 1 turns micro-batching off; default 16
- BATCH_MAX_WAIT_MS: the longest the first request of a batch waits for the others, and only while
  they are already in the worker; default 2
- INFERENCE_THREADS: ONNX Runtime intra-op threads per process; default 0 (ONNX Runtime's own: one
  per core). gunicorn.conf.py sets it to the CPU count divided by the worker count (at least 1), so
  the workers together do not oversubscribe the cores
- API_DOCS_ASSETS: where the interactive API docs page (/api/docs, Swagger UI) loads its JS and CSS
  from: a URL prefix holding swagger-ui-bundle.js, swagger-ui-standalone-preset.js and swagger-ui.css;
  default https://cdn.jsdelivr.net/npm/swagger-ui-dist@5 (a CDN: the browser, not the server, fetches
  them). For an offline network, serve a copy of the npm package swagger-ui-dist and point this at it
- INSTANCE_PATH: folder for the SQLite file and stores; default ./instance
"""

import os
from pathlib import Path

from ..paths import BENCHMARK_METRICS, EVALUATION_DIR, INT8_DIR


def flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def docs_assets(prefix: str) -> dict:
    """APIFlask's Swagger UI settings for assets under `prefix`; no favicon from apiflask.com."""
    prefix = prefix.rstrip("/")
    return {
        "SWAGGER_UI_BUNDLE_JS": f"{prefix}/swagger-ui-bundle.js",
        "SWAGGER_UI_STANDALONE_PRESET_JS": f"{prefix}/swagger-ui-standalone-preset.js",
        "SWAGGER_UI_CSS": f"{prefix}/swagger-ui.css",
        "DOCS_FAVICON": f"{prefix}/favicon-32x32.png",
    }


def config_from_env(instance_path: str) -> dict:
    instance = Path(instance_path)
    env = os.environ.get
    return docs_assets(env("API_DOCS_ASSETS", "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5")) | {
        "SQLALCHEMY_DATABASE_URI": env("DATABASE_URL", f"sqlite:///{instance / 'app.db'}"),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "MODEL_DIR": env("MODEL_DIR", INT8_DIR.as_posix()),
        "MODEL_STORE": env("MODEL_STORE", str(instance / "models")),
        "BENCHMARK_FILE": env("BENCHMARK_FILE", BENCHMARK_METRICS.as_posix()),
        "EVALUATION_DIR": env("EVALUATION_DIR", EVALUATION_DIR.as_posix()),
        "FRONTEND_DIST": env("FRONTEND_DIST", "frontend/dist"),
        "INFERENCE_ENGINE": env("INFERENCE_ENGINE", "onnxruntime"),
        "MAX_CONTENT_LENGTH": int(env("MAX_UPLOAD_BYTES", "25000000")),
        "MAX_IMAGE_PIXELS": int(env("MAX_IMAGE_PIXELS", "50000000")),
        "ANNOTATION_STORAGE": env("ANNOTATION_STORAGE", str(instance / "annotation-images")),
        "EXPORT_DIR": env("EXPORT_DIR", "data/annotated"),
        "ADMIN_TOKEN": env("ADMIN_TOKEN") or None,
        "MODEL_CHECK_SECONDS": float(env("MODEL_CHECK_SECONDS", "2")),
        "BATCH_MAX_SIZE": int(env("BATCH_MAX_SIZE", "16")),
        "BATCH_MAX_WAIT_MS": float(env("BATCH_MAX_WAIT_MS", "2")),
        "INFERENCE_THREADS": int(env("INFERENCE_THREADS", "0")),
        "ARCHIVE_MAX_BYTES": int(env("ARCHIVE_MAX_BYTES", "200000000")),
        "ARCHIVE_MAX_MEMBERS": int(env("ARCHIVE_MAX_MEMBERS", "5000")),
        "PREDICTION_LOG": flag(env("PREDICTION_LOG", "0")),
        "PREDICTION_LOG_MAX_ROWS": int(env("PREDICTION_LOG_MAX_ROWS", "10000")),
        "PREDICTION_LOG_IMAGES": flag(env("PREDICTION_LOG_IMAGES", "0")),
        "PREDICTION_LOG_STORAGE": env("PREDICTION_LOG_STORAGE", str(instance / "prediction-images")),
        "LOW_CONFIDENCE": float(env("LOW_CONFIDENCE", "0.6")),
        "AUTO_QUEUE_LOW_CONFIDENCE": flag(env("AUTO_QUEUE_LOW_CONFIDENCE", "0")),
    }
