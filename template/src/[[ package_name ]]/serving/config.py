"""Flask config from the server's settings (`ServerSettings` in settings.py: every variable, its type
and default, documented there)."""

from pathlib import Path

from ..settings import ServerSettings


def docs_assets(prefix: str) -> dict:
    """APIFlask's Swagger UI settings for assets under `prefix`; no favicon from apiflask.com."""
    prefix = prefix.rstrip("/")
    return {
        "SWAGGER_UI_BUNDLE_JS": f"{prefix}/swagger-ui-bundle.js",
        "SWAGGER_UI_STANDALONE_PRESET_JS": f"{prefix}/swagger-ui-standalone-preset.js",
        "SWAGGER_UI_CSS": f"{prefix}/swagger-ui.css",
        "DOCS_FAVICON": f"{prefix}/favicon-32x32.png",
    }


def app_config(settings: ServerSettings) -> dict:
    """Flask config keys from the settings; paths under the instance folder default from INSTANCE_PATH."""
    instance = Path(settings.INSTANCE_PATH).absolute()
    return docs_assets(settings.API_DOCS_ASSETS) | {
        "SQLALCHEMY_DATABASE_URI": settings.DATABASE_URL or f"sqlite:///{instance / 'app.db'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "MODEL_DIR": settings.MODEL_DIR,
        "MODEL_STORE": settings.MODEL_STORE or str(instance / "models"),
        "BENCHMARK_FILE": settings.BENCHMARK_FILE,
        "EVALUATION_DIR": settings.EVALUATION_DIR,
        "FRONTEND_DIST": settings.FRONTEND_DIST,
        "INFERENCE_ENGINE": settings.INFERENCE_ENGINE,
        "MODEL_PRECISION": settings.MODEL_PRECISION,
        "MODEL_SELECT_SECONDS": settings.MODEL_SELECT_SECONDS,
        "MODEL_SELECT_MARGIN": settings.MODEL_SELECT_MARGIN,
        "MODEL_SELECTIONS": str(instance / "selections"),
        "MAX_CONTENT_LENGTH": settings.MAX_UPLOAD_BYTES,
        "MAX_IMAGE_PIXELS": settings.MAX_IMAGE_PIXELS,
        "ANNOTATION_STORAGE": settings.ANNOTATION_STORAGE or str(instance / "annotation-images"),
        "EXPORT_DIR": settings.EXPORT_DIR,
        "MODEL_CHECK_SECONDS": settings.MODEL_CHECK_SECONDS,
        "BATCH_MAX_SIZE": settings.BATCH_MAX_SIZE,
        "BATCH_MAX_WAIT_MS": settings.BATCH_MAX_WAIT_MS,
        "INFERENCE_THREADS": settings.INFERENCE_THREADS,
        "ARCHIVE_MAX_BYTES": settings.ARCHIVE_MAX_BYTES,
        "ARCHIVE_MAX_MEMBERS": settings.ARCHIVE_MAX_MEMBERS,
        "PREDICTION_LOG": settings.PREDICTION_LOG,
        "PREDICTION_LOG_MAX_ROWS": settings.PREDICTION_LOG_MAX_ROWS,
        "PREDICTION_LOG_IMAGES": settings.PREDICTION_LOG_IMAGES,
        "PREDICTION_LOG_STORAGE": settings.PREDICTION_LOG_STORAGE or str(instance / "prediction-images"),
        "LOW_CONFIDENCE": settings.LOW_CONFIDENCE,
        "AUTO_QUEUE_LOW_CONFIDENCE": settings.AUTO_QUEUE_LOW_CONFIDENCE,
    }
