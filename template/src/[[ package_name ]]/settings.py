"""The server's settings, read from the environment, typed and checked once at start (`ServerSettings`).

A module of its own, outside `serving/`: gunicorn.conf.py checks the settings in gunicorn's master
process, which must not import the serving package (ONNX Runtime loaded before the workers fork
makes them abort when they exit). `serving/config.py` turns the settings into Flask config.

`make serve` (gunicorn.conf.py) and the `flask` commands also read a `.env` file in the project root,
as `docker compose` does; variables already in the environment win. A value that cannot be used
stops the server before it serves anything, with a message naming the variable (`SettingsError`).
Every variable has a documented default:

- DATABASE_URL: SQLAlchemy URL (sqlite, mysql+pymysql, postgresql+psycopg);
  default sqlite:///<instance>/app.db
- MODEL_DIR: the model bundle (the `package` stage's folder: one directory per artifact, FP32,
  INT8, TensorRT engines, and a manifest listing them) registered at first start; default
  models/serve. A single model directory (model file + manifest.json) also works
- MODEL_STORE: where registered versions are kept, one folder each; default <instance>/models
- INFERENCE_ENGINE: which runtime serves: auto (default: every runtime this host can run,
  onnxruntime and openvino on a CPU, tensorrt where TensorRT and a GPU are), or one of them.
  Each candidate runs its golden set and is timed here at load; the fastest that passes serves
  (runtime/selection.py), a quantized one only when it beats FP32 by MODEL_SELECT_MARGIN
- MODEL_PRECISION: auto (default), fp32, int8 or fp16: restricts the candidates likewise; with
  INFERENCE_ENGINE also set, exactly one candidate serves and nothing is timed (reproducibility)
- MODEL_SELECT_SECONDS: how long all candidates are timed together, at the first load on a host;
  default 2. The choice is kept in <instance>/selections, keyed by bundle, CPU and runtime versions
- MODEL_SELECT_MARGIN: how much faster (a fraction of FP32's p50) a quantized candidate must be to
  serve; default 0.05, so that timing noise never picks an INT8 slower than FP32
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
- AUTH_REQUIRED: 1 (default): every write, and reading the annotation data, needs an account
  (docs/accounts.md: a session cookie from the web UI's login, or `Authorization: Bearer <token>`).
  0: anonymous requests from this host's loopback address (127.0.0.1, ::1) act as the one local
  admin `local` (`make serve` does this, and says so); every other client must still log in
- SECRET_KEY: signs the session cookies and CSRF tokens; every worker and replica must share it.
  Default: generated once into <instance>/secret_key (one host); set it from a secret elsewhere
- SESSION_HOURS: a login lasts this long; default 12
- SESSION_COOKIE_SECURE: 1 sends the session cookie over HTTPS only; default unset: HTTPS only when
  the request came over HTTPS (directly, or X-Forwarded-Proto from a TRUSTED_PROXIES address)
- LOGIN_RATE_LIMIT: failed logins allowed per client address (Flask-Limiter syntax); default
  "10 per minute"
- RATELIMIT_STORAGE_URI: where the login limiter counts (limits' URI: memory://, redis://...);
  default memory:// (per worker process, so N workers allow up to N times the limit)
- TRUSTED_PROXIES: comma-separated addresses or networks (e.g. 10.0.0.0/8) of reverse proxies whose
  X-Forwarded-For / X-Forwarded-Proto / AUTH_PROXY_HEADER are believed; default none
- AUTH_PROXY_HEADER: single sign-on through the reverse proxy: the header (e.g. X-Auth-Request-User
  from oauth2-proxy) naming an existing account, believed only from TRUSTED_PROXIES; default unset
- PREDICT_REQUIRES_LOGIN: 1 makes /api/predict need an account too; default 0 (open)
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
- BATCH_MAX_SIZE: predictions that queue in one worker behind a running model call run as one
  batch of at most this many images (serving/batching.py; while the model call is cheap next to
  the rest of a request, each calls the model directly); 1 turns micro-batching off; default 16
- BATCH_MAX_WAIT_MS: 0 (default): no request waits on a timer, batching is adaptive. Above 0, every
  prediction goes through the batcher and a batch's first request waits up to this many
  milliseconds for requests already in the worker (for models whose call costs far more)
- INFERENCE_THREADS: ONNX Runtime intra-op threads per process; default 0 (ONNX Runtime's own: one
  per core). gunicorn.conf.py sets it to the CPU count divided by the worker count (at least 1), so
  the workers together do not oversubscribe the cores
- API_DOCS_ASSETS: where the interactive API docs page (/api/docs, Swagger UI) loads its JS and CSS
  from: a URL prefix holding swagger-ui-bundle.js, swagger-ui-standalone-preset.js and swagger-ui.css;
  default https://cdn.jsdelivr.net/npm/swagger-ui-dist@5 (a CDN: the browser, not the server, fetches
  them). For an offline network, serve a copy of the npm package swagger-ui-dist and point this at it
- INSTANCE_PATH: folder for the SQLite file and stores; default ./instance
- GUNICORN_BIND: address gunicorn listens on; default 0.0.0.0:8000
- GUNICORN_WORKERS: worker processes; default 2
- GUNICORN_THREADS: threads per worker (gthread); default 4
- GUNICORN_TIMEOUT: seconds a worker may stay silent before it is restarted; default 30
"""

import ipaddress
import sys
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .paths import BENCHMARK_METRICS, BUNDLE_DIR, EVALUATION_DIR

Count = Annotated[int, Field(ge=1)]
NonNegative = Annotated[float, Field(ge=0)]


class SettingsError(ValueError):
    """Settings from the environment that cannot be used; the message names each variable, its value
    and what it must be."""


class ServerSettings(BaseSettings):
    """The variables above, with their types and defaults. Names are the variables' own (case
    sensitive); an empty value counts as unset; flags take 1/0, true/false, yes/no, on/off."""

    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, extra="ignore")

    DATABASE_URL: str | None = None  # None: sqlite:///<INSTANCE_PATH>/app.db
    MODEL_DIR: str = BUNDLE_DIR.as_posix()
    MODEL_STORE: str | None = None
    INFERENCE_ENGINE: Literal["auto", "onnxruntime", "openvino", "tensorrt"] = "auto"
    MODEL_PRECISION: Literal["auto", "fp32", "int8", "fp16"] = "auto"
    MODEL_SELECT_SECONDS: Annotated[float, Field(gt=0, le=60)] = 2
    MODEL_SELECT_MARGIN: Annotated[float, Field(ge=0, lt=1)] = 0.05  # runtime.selection.DEFAULT_MARGIN
    BENCHMARK_FILE: str = BENCHMARK_METRICS.as_posix()
    EVALUATION_DIR: str = EVALUATION_DIR.as_posix()
    FRONTEND_DIST: str = "frontend/dist"
    MAX_UPLOAD_BYTES: Count = 25_000_000
    MAX_IMAGE_PIXELS: Count = 50_000_000
    ANNOTATION_STORAGE: str | None = None
    EXPORT_DIR: str = "data/annotated"
    AUTH_REQUIRED: bool = True
    SECRET_KEY: str | None = Field(default=None, min_length=16)
    SESSION_HOURS: Annotated[float, Field(gt=0)] = 12
    SESSION_COOKIE_SECURE: bool | None = None
    LOGIN_RATE_LIMIT: str = "10 per minute"
    RATELIMIT_STORAGE_URI: str = "memory://"
    TRUSTED_PROXIES: str = ""
    AUTH_PROXY_HEADER: str | None = None
    PREDICT_REQUIRES_LOGIN: bool = False
    # Gone in v0.7.0 (accounts replace the shared token): refused below, so that a deployment that
    # still sets it does not believe it is protected by it.
    ADMIN_TOKEN: str | None = None
    ARCHIVE_MAX_BYTES: Count = 200_000_000
    ARCHIVE_MAX_MEMBERS: Count = 5000
    PREDICTION_LOG: bool = False
    PREDICTION_LOG_MAX_ROWS: Count = 10_000
    PREDICTION_LOG_IMAGES: bool = False
    PREDICTION_LOG_STORAGE: str | None = None
    LOW_CONFIDENCE: Annotated[float, Field(ge=0, le=1)] = 0.6
    AUTO_QUEUE_LOW_CONFIDENCE: bool = False
    MODEL_CHECK_SECONDS: Annotated[float, Field(gt=0)] = 2
    BATCH_MAX_SIZE: Count = 16
    BATCH_MAX_WAIT_MS: NonNegative = 0
    INFERENCE_THREADS: Annotated[int, Field(ge=0)] = 0
    API_DOCS_ASSETS: str = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5"
    INSTANCE_PATH: str = "instance"
    GUNICORN_BIND: str = "0.0.0.0:8000"
    GUNICORN_WORKERS: Count = 2
    GUNICORN_THREADS: Count = 4
    GUNICORN_TIMEOUT: Count = 30

    @field_validator("ADMIN_TOKEN")
    @classmethod
    def admin_token_is_gone(cls, value: str | None) -> None:
        if value:
            raise ValueError(
                "ADMIN_TOKEN was replaced by accounts: unset it, create an admin with "
                "`flask users create-admin NAME` and give scripts a token (docs/accounts.md)"
            )
        return None

    @field_validator("TRUSTED_PROXIES")
    @classmethod
    def proxy_networks(cls, value: str) -> str:
        for part in filter(None, (piece.strip() for piece in value.split(","))):
            ipaddress.ip_network(part, strict=False)  # ValueError names the bad one
        return value

    @field_validator("LOGIN_RATE_LIMIT")
    @classmethod
    def rate_limit(cls, value: str) -> str:
        from limits import parse_many

        parse_many(value)  # ValueError: not e.g. "10 per minute" or "10/minute;100/hour"
        return value

    def trusted_proxies(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [
            ipaddress.ip_network(part, strict=False)
            for part in filter(None, (piece.strip() for piece in self.TRUSTED_PROXIES.split(",")))
        ]


def load_settings() -> ServerSettings:
    """The settings from the environment.

    Raises:
        SettingsError: one line per unusable variable, e.g.
            `GUNICORN_THREADS='abc': Input should be a valid integer, unable to parse string as an integer`.
    """
    try:
        return ServerSettings()
    except ValidationError as error:
        lines = [
            f"{'.'.join(map(str, problem['loc']))}={problem.get('input')!r}: {problem['msg']}"
            for problem in error.errors(include_url=False)
        ]
        raise SettingsError("unusable server settings:\n  " + "\n  ".join(lines)) from None


def load_settings_with_dotenv() -> ServerSettings:
    """`.env` in the working directory into the environment (variables already set win, as with
    `docker compose`; so gunicorn and prometheus see them too), then `load_settings()`.

    Raises:
        SettingsError: as `load_settings`.
    """
    from dotenv import load_dotenv

    load_dotenv(".env")
    return load_settings()


def main() -> int:
    """`python -m <package>.settings` (the first step of `make serve`, `make serve-dev` and
    `make db-upgrade`): check the environment and `.env` as the server will; exit 2 with one line per
    unusable variable instead of a traceback."""
    try:
        load_settings_with_dotenv()
    except SettingsError as error:
        print(f"settings: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
