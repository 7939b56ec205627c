"""Model versions: registration into the model store, and hot swapping of the active model.

Each worker holds one LoadedModel. A request takes a reference to it and uses that reference to
the end, so swapping in a new model never disturbs requests already running: the new engine is
built and verified first (sha256, then the golden-set self-test on this machine, for every
candidate of the version's bundle, the fastest passing one chosen: runtime/selection.py), then the
reference is replaced in one assignment. A version that fails its self-test is never served: the
worker keeps the model it has, or stays unready (`ModelHolder.failure`) when it has none.
"""

import json
import logging
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from filelock import FileLock
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..artifacts import ArtifactError
from ..data.preprocessing import PreprocessConfig
from ..runtime.engines import InferenceEngine
from ..runtime.selection import Selection, select_engine, verify_model_dir
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
    selection: Selection | None = None  # which candidate of the bundle serves here, and why

    @property
    def classes(self) -> list[str]:
        return list(self.engine.manifest["classes"])

    @property
    def preprocess(self) -> PreprocessConfig:
        return PreprocessConfig(**self.engine.manifest["preprocess"])

    @property
    def candidate(self) -> str:
        """The bundle's candidate serving here, "runtime/precision" (e.g. "openvino/int8")."""
        if self.selection is not None:
            return self.selection.chosen
        return f"{self.engine.name}/{self.engine.manifest.get('precision', 'unknown')}"

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        return softmax(self.engine.predict(batch))


@dataclass(frozen=True)
class ServingChoice:
    """How a worker picks the candidate of a bundle (settings INFERENCE_ENGINE ... MODEL_SELECT_*)."""

    runtime: str = "auto"
    precision: str = "auto"
    threads: int = 0  # intra-op threads per engine (0: the runtime's own, one per core)
    seconds: float = 2.0
    margin: float = 0.05
    cache_dir: Path | None = None

    @classmethod
    def from_config(cls, config: dict) -> "ServingChoice":
        return cls(
            config["INFERENCE_ENGINE"],
            config["MODEL_PRECISION"],
            config["INFERENCE_THREADS"],
            config["MODEL_SELECT_SECONDS"],
            config["MODEL_SELECT_MARGIN"],
            Path(config["MODEL_SELECTIONS"]),
        )

    def load(self, model_dir: Path) -> tuple[InferenceEngine, Selection]:
        """The chosen engine of `model_dir` and why; raises ArtifactError, ValueError for bad pins."""
        return select_engine(
            model_dir,
            threads=self.threads,
            runtime=self.runtime,
            precision=self.precision,
            seconds=self.seconds,
            margin=self.margin,
            cache_dir=self.cache_dir,
        )


class ModelHolder:
    def __init__(self, choice: ServingChoice, check_seconds: float):
        self.choice = choice
        self.check_seconds = check_seconds
        self.current: LoadedModel | None = None
        self.failure: str | None = None  # why no model is served (shown by /readyz)
        self._failed_version: int | None = None
        self._lock = threading.Lock()
        self._next_check = 0.0

    def load(self, row: ModelVersion) -> LoadedModel:
        """Verify and load `row`'s model; raises ArtifactError (GoldenSetError on a failed self-test)."""
        try:
            engine, selection = self.choice.load(Path(row.path))
        except (ArtifactError, ValueError) as error:
            self._failed_version = row.id
            if self.current is None:
                self.failure = f"model {row.version}: {error}"
            if isinstance(error, ValueError):  # the pins match no candidate of this version
                raise ArtifactError(str(error)) from error
            raise
        loaded = LoadedModel(row.id, row.version, engine, selection)
        self.current = loaded  # one assignment: running requests keep their own reference
        self.failure = self._failed_version = None
        log.info("serving model version %s: %s (%s)", row.version, selection.chosen, selection.reason)
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
    """Latency and throughput of the pipeline's benchmark (metrics/benchmark.json) for this model:
    the candidate the benchmark host would serve for a bundle, else this precision's ONNX Runtime run."""
    if not benchmark.is_file():
        return {}
    report = json.loads(benchmark.read_text())
    engine = report.get("engines", {}).get(f"onnxruntime_{precision}", {})
    if "+" in precision and isinstance(report.get("served"), dict):
        engine = report["served"]
    keys = ("latency_p50_ms", "latency_p99_ms", "throughput_ips", "engine")
    return {key: engine[key] for key in keys if key in engine}


def local_version(manifest: dict) -> str:
    """The version name of a model that was never tagged: its checksum."""
    return f"local-{manifest['sha256'][:12]}"


def register_version(
    model_dir: Path, version: str, store: Path, benchmark: Path | None = None
) -> ModelVersion:
    """Copy a verified model directory into the store and record it; the first version becomes active.

    With `benchmark` (metrics/benchmark.json), the latency and throughput measured for this
    model's precision are recorded with it. Registrations into one store run one at a time (a lock
    file in the store): the workers of a server starting on an empty database all try to register
    MODEL_DIR, and the copy is made in a staging folder and renamed into place, so no worker ever
    sees, or deletes, another's half-made copy. Raises ValueError for a bad version name or a
    version already registered with a different checksum, ArtifactError for a model that fails
    its checksum.
    """
    if not VERSION_PATTERN.match(version):
        raise ValueError(f"invalid version {version!r}: use letters, digits, '.', '_' or '-' (max 64)")
    manifest = verify_model_dir(model_dir)
    store.mkdir(parents=True, exist_ok=True)
    with FileLock(store / ".register.lock"):
        db.session.rollback()  # a fresh snapshot: another worker may have committed it meanwhile
        existing = db.session.scalars(select(ModelVersion).where(ModelVersion.version == version)).first()
        if existing is not None:
            if existing.sha256 != manifest["sha256"]:
                raise ValueError(f"version {version} is already registered with a different model")
            return existing
        target = store / version
        staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=store))
        try:
            shutil.copytree(model_dir, staging, dirs_exist_ok=True)
            verify_model_dir(staging)
            if target.exists():  # left by a registration that failed before its row was committed
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        has_active = db.session.scalars(select(ModelVersion).where(ModelVersion.active)).first() is not None
        precision = manifest.get("precision", "unknown")
        figures = benchmark_figures(benchmark, precision) if benchmark else {}
        recorded = {"accuracy": manifest.get("accuracy")} | figures
        row = ModelVersion(
            version=version,
            precision=precision,
            sha256=manifest["sha256"],
            size_bytes=int(manifest["size_bytes"]),
            path=str(target.resolve()),
            metrics=recorded,
            active=not has_active,
        )
        db.session.add(row)
        try:
            db.session.commit()
        except IntegrityError:  # registered meanwhile by a server on another host (another store)
            db.session.rollback()
            return db.session.scalars(select(ModelVersion).where(ModelVersion.version == version)).one()
        return row


def activate(version_id: int) -> ModelVersion:
    row = db.session.get(ModelVersion, version_id) if 0 < version_id <= MAX_ID else None
    if row is None:
        raise LookupError(f"no model version with id {version_id}")
    # Never activate a file that no longer matches its checksum or fails its golden set here (the
    # choice is measured now and kept, so the workers that switch to it measure nothing).
    try:
        ServingChoice.from_config(current_app.config).load(Path(row.path))
    except ValueError as error:
        raise ArtifactError(str(error)) from error
    for other in db.session.scalars(select(ModelVersion).where(ModelVersion.active)):
        other.active = False
    row.active = True
    db.session.commit()
    return row
