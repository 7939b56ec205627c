"""Which artifact serves on this host: every candidate of a model bundle, self-tested and timed
here, and the fastest that passes.

A bundle (the `package` stage's models/serve, copied whole into the model store for each version)
holds one model directory per artifact and a manifest listing them:

    models/serve/manifest.json   {"kind": "bundle", "candidates": [{"name": "int8", "directory":
                                   "int8", "precision": "int8", "runtimes": [...], ...}, ...]}
    models/serve/fp32/           FP32 ONNX      -> onnxruntime, openvino
    models/serve/int8/           INT8 QDQ U8S8  -> onnxruntime, openvino
    models/serve/tensorrt-fp16/  engines        -> tensorrt (GPU hosts)

A candidate is one (runtime, artifact) pair, named `runtime/artifact` (`openvino/int8`). At load
each candidate that this host can run is built and runs its golden set (runtime/golden.py); the
ones that pass are timed on batch-1 inputs in interleaved rounds for a bounded time, and the one
with the lowest median latency serves. A quantized candidate must beat the best FP32 one by
`margin` (a fraction) or FP32 serves: INT8 that is not faster on this CPU is not worth its
accuracy cost, and a difference inside timing noise is not faster. Why: INT8's speed depends on
the CPU's instructions (VNNI, AMX) and the runtime's kernels; the same file measured 0.15x to 3.8x
FP32 on the CPUs this project was tried on.

The choice is kept in `cache_dir` under a key of the bundle, the host (CPU model, instruction set,
machine), the runtimes' versions, the thread count and the pins, so the workers of one server, and
its restarts, serve the same candidate and only the first measures (under a file lock). Delete the
cache folder to measure again. Pins (settings INFERENCE_ENGINE, MODEL_PRECISION) restrict the
candidates; both set pick exactly one, for reproducibility.

A model directory that is not a bundle (an older version in the store) is a bundle of one
artifact. Imports neither torch nor Flask.
"""

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..artifacts import ArtifactError, verify_manifest
from ..params import write_json
from . import host
from .engines import ENGINES, InferenceEngine, load_engine
from .golden import GoldenSetError, load_golden

log = logging.getLogger(__name__)
AUTO = "auto"
DEFAULT_MARGIN = 0.05  # settings MODEL_SELECT_MARGIN's default; the benchmark stage's rule too
ONNX_RUNTIMES = ("onnxruntime", "openvino")  # the CPU runtimes that read an ONNX file


@dataclass(frozen=True)
class Candidate:
    artifact: str  # the bundle's directory name: fp32, int8, tensorrt-fp16, ...
    runtime: str  # onnxruntime | openvino | tensorrt
    precision: str  # fp32 | int8 | fp16
    directory: Path

    @property
    def label(self) -> str:
        return f"{self.runtime}/{self.artifact}"


@dataclass
class Trial:
    candidate: Candidate
    p50_ms: float | None = None
    calls: int = 0
    passed: bool = False
    detail: str = ""  # the golden-set summary, or why the candidate could not run

    def as_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate.label,
            "precision": self.candidate.precision,
            "passed": self.passed,
            "latency_p50_ms": None if self.p50_ms is None else round(self.p50_ms, 4),
            "calls": self.calls,
            "detail": self.detail,
        }


@dataclass
class Selection:
    chosen: str  # a candidate label
    reason: str
    trials: list[dict[str, Any]] = field(default_factory=list)
    host: dict[str, str] = field(default_factory=dict)
    pinned: bool = False
    cached: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen,
            "reason": self.reason,
            "trials": self.trials,
            "host": self.host,
            "pinned": self.pinned,
            "cached": self.cached,
        }


def is_bundle(manifest: dict) -> bool:
    return manifest.get("kind") == "bundle"


def read_manifest(model_dir: Path) -> dict:
    """The manifest of a bundle or a model directory; raises ArtifactError when it is missing."""
    path = Path(model_dir) / "manifest.json"
    if not path.is_file():
        raise ArtifactError(f"no manifest.json in {model_dir}: run the pipeline (`dvc repro`) or `dvc pull`")
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise ArtifactError(f"{path} is not a valid manifest: {error}") from error


def runtimes_for(manifest: dict) -> list[str]:
    """The runtimes that can run a model directory's file: ONNX -> CPU runtimes, else TensorRT. A
    detector's ONNX file (manifest `task: detection`) runs on ONNX Runtime only: its NMS and
    data-dependent shapes are what the pipeline checked (runtime/detection.py DetectorEngine)."""
    if not str(manifest.get("file", "")).endswith(".onnx"):
        return ["tensorrt"]
    return ["onnxruntime"] if manifest.get("task") == "detection" else list(ONNX_RUNTIMES)


def write_bundle(
    bundle_dir: Path, artifacts: dict[str, tuple[Path, bool]], shared_fields: tuple[str, ...], score: str
) -> dict[str, Any]:
    """Write the bundle the server chooses from (read back by bundle_candidates) and return its manifest.

    `artifacts`: bundle directory name -> (pipeline model directory, required); an optional one
    without a manifest is left out. Each is verified, copied into `bundle_dir / name` and verified
    again. The manifest: `kind: bundle`, `sha256` of the candidates' checksums (the bundle's identity,
    which names versions), the total `size_bytes`, `precision` (the names joined by "+"), the first
    artifact's `shared_fields`, `score` (e.g. accuracy, map_50) of the `int8` candidate, and one
    candidate per artifact with the runtimes that may run it (runtimes_for). Raises ArtifactError for
    a missing required artifact or one that no longer matches its manifest.
    """
    bundle_dir = Path(bundle_dir)
    if bundle_dir.exists():
        shutil.rmtree(bundle_dir)
    bundle_dir.mkdir(parents=True)
    candidates, reference = [], None
    for name, (source, required) in artifacts.items():
        if not (Path(source) / "manifest.json").is_file() and not required:
            continue
        _, manifest = verify_manifest(source)
        reference = reference or manifest
        shutil.copytree(source, bundle_dir / name)
        verify_manifest(bundle_dir / name)
        candidates.append(
            {
                "name": name,
                "directory": name,
                "precision": manifest.get("precision", "fp32"),
                "runtimes": runtimes_for(manifest),
                "sha256": manifest["sha256"],
                "size_bytes": manifest["size_bytes"],
                score: manifest.get(score),
            }
        )
    bundle = {
        "kind": "bundle",
        "sha256": hashlib.sha256("".join(c["sha256"] for c in candidates).encode()).hexdigest(),
        "size_bytes": sum(c["size_bytes"] for c in candidates),
        "precision": "+".join(c["name"] for c in candidates),
        **{key: reference[key] for key in shared_fields if reference and key in reference},
        score: next((c[score] for c in candidates if c["name"] == "int8"), None),
        "candidates": candidates,
    }
    write_json(bundle_dir / "manifest.json", bundle)
    return bundle


def bundle_candidates(model_dir: Path) -> list[Candidate]:
    """Every (runtime, artifact) the bundle at `model_dir` lists, or the one artifact of a plain
    model directory. Checks each artifact's sha256; raises ArtifactError for a missing or tampered one."""
    model_dir = Path(model_dir)
    manifest = read_manifest(model_dir)
    if not is_bundle(manifest):
        _, manifest = verify_manifest(model_dir)
        precision = str(manifest.get("precision", "fp32"))
        return [Candidate(precision, runtime, precision, model_dir) for runtime in runtimes_for(manifest)]
    candidates = []
    for entry in manifest.get("candidates", []):
        directory = model_dir / Path(str(entry["directory"])).name
        _, own = verify_manifest(directory)
        if own["sha256"] != entry.get("sha256"):
            raise ArtifactError(
                f"{directory} is not the artifact the bundle {model_dir} lists (sha256 differs)"
            )
        for runtime in entry.get("runtimes", runtimes_for(own)):
            candidates.append(Candidate(str(entry["name"]), str(runtime), str(entry["precision"]), directory))
    if not candidates:
        raise ArtifactError(f"the bundle {model_dir} lists no candidates")
    return candidates


def verify_model_dir(model_dir: Path) -> dict:
    """The manifest of a bundle (after checking every artifact it lists) or of a model directory
    (after checking its file); raises ArtifactError for anything missing or tampered."""
    manifest = read_manifest(model_dir)
    if is_bundle(manifest):
        bundle_candidates(model_dir)
        return manifest
    return verify_manifest(model_dir)[1]


def runtime_unavailable(runtime: str) -> str | None:
    """Why `runtime` cannot run on this host (not installed, no GPU), or None when it can."""
    if runtime == "tensorrt":
        return host.tensorrt_unavailable_reason()
    if runtime not in ENGINES:
        return f"unknown runtime {runtime!r}"
    return None if importlib.util.find_spec(runtime) else f"{runtime} is not installed"


def runtime_versions() -> dict[str, str]:
    versions = {}
    for name in ONNX_RUNTIMES + ("tensorrt",):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def time_engines(
    engines: dict[str, InferenceEngine], sample: np.ndarray, seconds: float, rounds: int = 5
) -> dict[str, tuple[float, int]]:
    """Median batch-1 latency (ms) and call count of each engine on `sample` (float32 (1, C, H, W)).

    The budget `seconds` is shared out over `rounds` interleaved rounds, so that a burst of load
    from elsewhere on the host hits every engine alike; each engine gets at least 5 calls a round.
    """
    timings: dict[str, list[float]] = {name: [] for name in engines}
    for engine in engines.values():  # warm-up: first calls allocate and pick kernels
        for _ in range(3):
            engine.predict(sample)
    slot = seconds / max(rounds * len(engines), 1)
    for _ in range(rounds):
        for name, engine in engines.items():
            end = time.perf_counter() + slot
            calls = 0
            while calls < 5 or time.perf_counter() < end:
                start = time.perf_counter()
                engine.predict(sample)
                timings[name].append(time.perf_counter() - start)
                calls += 1
    return {name: (float(np.median(values)) * 1000, len(values)) for name, values in timings.items()}


def choose(trials: list[Trial], margin: float) -> tuple[Trial, str]:
    """The fastest passing trial, except that a quantized one must beat the fastest passing FP32
    trial's p50 by `margin` (a fraction); returns it with the reason, in words."""
    passing = sorted((t for t in trials if t.passed and t.p50_ms is not None), key=lambda t: t.p50_ms)
    if not passing:
        raise ArtifactError("no candidate passed its golden set here: " + "; ".join(t.detail for t in trials))
    fastest = passing[0]
    fp32 = next((t for t in passing if t.candidate.precision == "fp32"), None)
    where = f"on {host.cpu_model()} [{host.instruction_set()}]"
    if fp32 is None or fastest is fp32:
        others = ", ".join(f"{t.candidate.label} {t.p50_ms:.3f} ms" for t in passing[1:])
        return fastest, f"fastest passing, p50 {fastest.p50_ms:.3f} ms {where}" + (
            f" (then {others})" if others else ""
        )
    if fastest.p50_ms < fp32.p50_ms * (1 - margin):
        return fastest, (
            f"fastest passing, p50 {fastest.p50_ms:.3f} ms = {fp32.p50_ms / fastest.p50_ms:.2f}x "
            f"{fp32.candidate.label} ({fp32.p50_ms:.3f} ms) {where}"
        )
    return fp32, (
        f"FP32: the fastest quantized candidate, {fastest.candidate.label} at {fastest.p50_ms:.3f} ms, "
        f"is not {margin:.0%} faster than {fp32.candidate.label} at {fp32.p50_ms:.3f} ms {where}"
    )


def cache_key(model_dir: Path, threads: int, runtime_pin: str, precision_pin: str) -> str:
    identity = {
        "bundle": read_manifest(model_dir).get("sha256"),
        "host": host.describe(),
        "runtimes": runtime_versions(),
        "threads": threads,
        "pins": [runtime_pin, precision_pin],
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]


def select_engine(
    model_dir: Path,
    *,
    threads: int = 0,
    runtime: str = AUTO,
    precision: str = AUTO,
    seconds: float = 2.0,
    margin: float = 0.05,
    cache_dir: Path | None = None,
) -> tuple[InferenceEngine, Selection]:
    """Build, self-test and time the candidates of `model_dir`; return the chosen engine (its
    golden set passed here) and the Selection that says which and why.

    `runtime` / `precision` ("auto" or a name) restrict the candidates; with both set no timing is
    done. `seconds` bounds the timing of all candidates together. Raises ValueError when the pins
    leave no candidate, ArtifactError (GoldenSetError) when none passes here.
    """
    model_dir = Path(model_dir)
    candidates = [
        c
        for c in bundle_candidates(model_dir)
        if runtime in (AUTO, c.runtime) and precision in (AUTO, c.precision)
    ]
    if not candidates:
        raise ValueError(
            f"no candidate of {model_dir} matches INFERENCE_ENGINE={runtime} MODEL_PRECISION={precision}"
        )
    pinned = runtime != AUTO and precision != AUTO
    if cache_dir is None:
        return _measure(candidates, threads, seconds, margin, pinned)
    from filelock import FileLock

    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{cache_key(model_dir, threads, runtime, precision)}.json"
    with FileLock(str(path) + ".lock"):
        if path.is_file():
            try:
                saved = json.loads(path.read_text())
                chosen = next(c for c in candidates if c.label == saved["chosen"])
                engine = load_engine(chosen.runtime, chosen.directory, threads)
            except (ValueError, KeyError, StopIteration, ArtifactError, OSError, RuntimeError) as error:
                log.warning("measuring again: the kept choice %s cannot be used (%s)", path, error)
            else:
                selection = Selection(**{**saved, "cached": True})
                log.info("serving %s (kept choice %s: %s)", selection.chosen, path.name, selection.reason)
                return engine, selection
        engine, selection = _measure(candidates, threads, seconds, margin, pinned)
        path.write_text(json.dumps({**selection.as_dict(), "cached": False}, indent=2) + "\n")
        return engine, selection


def load_candidates(
    candidates: list[Candidate], threads: int
) -> tuple[list[Trial], dict[str, InferenceEngine], dict[str, Exception]]:
    """Load and self-test every candidate whose runtime is installed, as the server does. Returns
    one trial per candidate (passed, or why not: the missing runtime or the refusal), the loaded
    engines by candidate label, and the refusals by label: a candidate whose files or golden set
    fail at load (ArtifactError, GoldenSetError, a runtime's own error) is refused, not raised."""
    trials, engines, refusals = [], {}, {}
    for candidate in candidates:
        trial = Trial(candidate)
        trials.append(trial)
        reason = runtime_unavailable(candidate.runtime)
        if reason:
            trial.detail = reason
            continue
        try:
            engine = load_engine(candidate.runtime, candidate.directory, threads)
        except (OSError, RuntimeError) as error:  # ArtifactError and GoldenSetError are RuntimeErrors
            trial.detail = str(error)
            refusals[candidate.label] = error
            log.warning("candidate %s refused: %s", candidate.label, error)
            continue
        trial.passed, trial.detail = True, engine.golden.summary() if engine.golden else "loaded"
        engines[candidate.label] = engine
    return trials, engines, refusals


def _measure(
    candidates: list[Candidate], threads: int, seconds: float, margin: float, pinned: bool
) -> tuple[InferenceEngine, Selection]:
    trials, engines, refusals = load_candidates(candidates, threads)
    if not engines:
        details = "; ".join(f"{t.candidate.label}: {t.detail}" for t in trials)
        golden = [error for error in refusals.values() if isinstance(error, GoldenSetError)]
        if golden:
            first = golden[0]
            raise GoldenSetError(f"no candidate passed its golden set here: {details}", first.report)
        raise ArtifactError(f"no candidate can serve here: {details}")
    if pinned and len(engines) == 1:
        (label, engine), trial = next(iter(engines.items())), next(t for t in trials if t.passed)
        return engine, Selection(
            label, "pinned by INFERENCE_ENGINE and MODEL_PRECISION", [trial.as_dict()], host.describe(), True
        )
    if engines:
        first = next(t.candidate for t in trials if t.passed)
        sample = load_golden(first.directory, engines[first.label].manifest)["inputs"][:1]
        figures = time_engines(engines, sample.astype(np.float32), seconds)
        for trial in trials:
            if trial.candidate.label in figures:
                trial.p50_ms, trial.calls = figures[trial.candidate.label]
    best, reason = choose(trials, margin)
    selection = Selection(
        best.candidate.label, reason, [t.as_dict() for t in trials], host.describe(), pinned
    )
    log.info("serving %s: %s", selection.chosen, reason)
    return engines[best.candidate.label], selection
