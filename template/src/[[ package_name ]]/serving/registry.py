"""Model versions: registration into the model store, and hot swapping of the active model.

Each worker holds one LoadedModel. A request takes a reference to it and uses that reference to
the end, so swapping in a new model never disturbs requests already running: the new engine is
built and verified first (sha256, then the golden-set self-test on this machine), then the
reference is replaced in one assignment. A version that fails its self-test is never served: the
worker keeps the model it has, or stays unready (`ModelHolder.failure`) when it has none.
"""

import json
import logging
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..artifacts import ArtifactError, verify_manifest
from ..data.preprocessing import PreprocessConfig
from ..runtime.engines import InferenceEngine, load_engine
from ..scores import softmax
from .db_models import MAX_ID, ModelVersion
from .extensions import db

log = logging.getLogger(__name__)
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class LoadedModel:
    version_id: int | None
    version: str
    engine: InferenceEngine

    @property
    def classes(self) -> list[str]:
        return list(self.engine.manifest["classes"])

    @property
    def preprocess(self) -> PreprocessConfig:
        return PreprocessConfig(**self.engine.manifest["preprocess"])

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        return softmax(self.engine.predict(batch))


class ModelHolder:
    def __init__(self, engine_kind: str, check_seconds: float, threads: int = 0):
        self.engine_kind = engine_kind
        self.threads = threads  # ONNX Runtime intra-op threads (0: one per core)
        self.check_seconds = check_seconds
        self.current: LoadedModel | None = None
        self.failure: str | None = None  # why no model is served (shown by /readyz)
        self._failed_version: int | None = None
        self._lock = threading.Lock()
        self._next_check = 0.0

    def load(self, row: ModelVersion) -> LoadedModel:
        """Verify and load `row`'s model; raises ArtifactError (GoldenSetError on a failed self-test)."""
        try:
            engine = load_engine(self.engine_kind, Path(row.path), self.threads)
        except ArtifactError as error:
            self._failed_version = row.id
            if self.current is None:
                self.failure = f"model {row.version}: {error}"
            raise
        loaded = LoadedModel(row.id, row.version, engine)
        self.current = loaded  # one assignment: running requests keep their own reference
        self.failure = self._failed_version = None
        log.info("serving model version %s (%s)", row.version, row.precision)
        return loaded

    def refresh(self) -> LoadedModel:
        """Follow the active version in the database, at most every `check_seconds`."""
        now = time.monotonic()
        if self.current is not None and now < self._next_check:
            return self.current
        with self._lock:
            if self.current is not None and now < self._next_check:
                return self.current
            self._next_check = now + self.check_seconds
            try:
                active = db.session.scalars(select(ModelVersion).where(ModelVersion.active)).first()
            except SQLAlchemyError as error:
                db.session.rollback()
                if self.current is None:
                    raise
                log.warning("database unavailable, keeping model %s: %s", self.current.version, error)
                return self.current
            if active is not None and active.id == self._failed_version and self.current is None:
                raise ArtifactError(self.failure or f"model {active.version} failed to load")
            if (
                active is not None
                and active.id != self._failed_version
                and (self.current is None or active.id != self.current.version_id)
            ):
                try:
                    self.load(active)
                except (ArtifactError, OSError, RuntimeError) as error:
                    if self.current is None:
                        raise
                    log.error(
                        "cannot switch to %s, still serving %s: %s",
                        active.version,
                        self.current.version,
                        error,
                    )
            if self.current is None:
                raise ArtifactError("no active model version")
            return self.current


def benchmark_figures(benchmark: Path, precision: str) -> dict:
    """Latency and throughput of this precision's ONNX Runtime run, from metrics/benchmark.json."""
    if not benchmark.is_file():
        return {}
    engine = json.loads(benchmark.read_text()).get("engines", {}).get(f"onnxruntime_{precision}", {})
    keys = ("latency_p50_ms", "latency_p99_ms", "throughput_ips")
    return {key: engine[key] for key in keys if key in engine}


def local_version(manifest: dict) -> str:
    """The version name of a model that was never tagged: its checksum."""
    return f"local-{manifest['sha256'][:12]}"


def register_version(
    model_dir: Path, version: str, store: Path, benchmark: Path | None = None
) -> ModelVersion:
    """Copy a verified model directory into the store and record it; the first version becomes active.

    With `benchmark` (metrics/benchmark.json), the latency and throughput measured for this
    model's precision are recorded with it.
    """
    if not VERSION_PATTERN.match(version):
        raise ValueError(f"invalid version {version!r}: use letters, digits, '.', '_' or '-' (max 64)")
    model_path, manifest = verify_manifest(model_dir)
    existing = db.session.scalars(select(ModelVersion).where(ModelVersion.version == version)).first()
    if existing is not None:
        if existing.sha256 != manifest["sha256"]:
            raise ValueError(f"version {version} is already registered with a different model")
        return existing
    target = store / version
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(model_dir, target)
    verify_manifest(target)
    has_active = db.session.scalars(select(ModelVersion).where(ModelVersion.active)).first() is not None
    precision = manifest.get("precision", "unknown")
    figures = benchmark_figures(benchmark, precision) if benchmark else {}
    recorded = {"accuracy": manifest.get("accuracy")} | figures
    row = ModelVersion(
        version=version,
        precision=precision,
        sha256=manifest["sha256"],
        size_bytes=model_path.stat().st_size,
        path=str(target.resolve()),
        metrics=recorded,
        active=not has_active,
    )
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:  # another worker registered it first
        db.session.rollback()
        return db.session.scalars(select(ModelVersion).where(ModelVersion.version == version)).one()
    return row


def activate(version_id: int) -> ModelVersion:
    row = db.session.get(ModelVersion, version_id) if 0 < version_id <= MAX_ID else None
    if row is None:
        raise LookupError(f"no model version with id {version_id}")
    # Never activate a file that no longer matches its checksum or fails its golden set here.
    load_engine(current_app.config["INFERENCE_ENGINE"], Path(row.path))
    for other in db.session.scalars(select(ModelVersion).where(ModelVersion.active)):
        other.active = False
    row.active = True
    db.session.commit()
    return row
