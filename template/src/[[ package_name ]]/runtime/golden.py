"""The golden set: a model proves itself on the machine that loads it.

Every model directory (FP32 ONNX, INT8 ONNX, TensorRT engines) holds `golden.npz` next to the
model file, named with its sha256 and tolerances in the manifest's `golden` entry:

- `inputs`: float16 array (N, C, H, W), N preprocessed test images (float16 halves the file; the
  outputs below were computed from exactly these values cast back to float32);
- `reference`: float32 (N, K) logits of the FP32 PyTorch model, the model the manifest describes;
- `expected`: float32 (N, K) logits of *this* artifact on the machine that built it, with ONNX
  Runtime (TensorRT for an engine);
- `expected_<runtime>` (INT8 files): the same from each other CPU runtime that reads the file
  (`expected_openvino`). Runtimes round int8 requantization differently, so each is compared with
  its own outputs on the build machine; top-1 agreement is always against the FP32 reference.

The self-test runs the inputs through the loaded engine and measures
- top-1 agreement: the fraction of inputs whose argmax equals the reference's argmax, and
- logit error: max |measured - expected| divided by the range (max - min) of `expected`,
and fails when agreement < `min_top1_agreement` or error > `max_logit_error`. Agreement catches
a model that has gone wrong on this CPU (e.g. int8 saturation without VNNI); the logit error also
catches a model that is not the one described (another training run copied over with its checksum
updated), which can agree on most top-1 labels while its logits differ everywhere.
"""

import importlib.util
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..artifacts import ArtifactError, sha256_file
from . import host

if TYPE_CHECKING:
    from .engines import InferenceEngine

GOLDEN_FILE = "golden.npz"
log = logging.getLogger(__name__)


class GoldenSetError(ArtifactError):
    """The model disagrees with its own golden set on this machine; `report` says by how much."""

    def __init__(self, message: str, report: "GoldenReport | None" = None):
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class GoldenReport:
    model: str
    precision: str
    samples: int
    top1_agreement: float
    logit_error: float
    min_top1_agreement: float
    max_logit_error: float
    cpu: str
    instruction_set: str

    @property
    def passed(self) -> bool:
        return self.top1_agreement >= self.min_top1_agreement and self.logit_error <= self.max_logit_error

    def summary(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"golden set {verdict} for {self.model} ({self.precision}) on {self.cpu} "
            f"[{self.instruction_set}]: top-1 agreement {self.top1_agreement:.3f} "
            f"(min {self.min_top1_agreement}), logit error {self.logit_error:.4f} "
            f"(max {self.max_logit_error}) over {self.samples} inputs"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "samples": self.samples,
            "top1_agreement": round(self.top1_agreement, 6),
            "logit_error": round(self.logit_error, 6),
            "min_top1_agreement": self.min_top1_agreement,
            "max_logit_error": self.max_logit_error,
            "cpu": self.cpu,
            "instruction_set": self.instruction_set,
        }


def logit_error(measured: np.ndarray, expected: np.ndarray) -> float:
    """max |measured - expected| over the range of `expected` (both float (N, K)); 0 is identical."""
    span = float(expected.max() - expected.min()) or 1.0
    return float(np.abs(measured.astype(np.float64) - expected).max() / span)


def write_golden(
    model_dir: Path,
    inputs: np.ndarray,
    reference: np.ndarray,
    expected: np.ndarray,
    min_top1_agreement: float,
    max_logit_error: float,
    expected_by_runtime: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Write `golden.npz` into `model_dir`; return the manifest's `golden` entry.

    `inputs` must already be float16-representable (see `golden_inputs`): the caller computed
    `reference`, `expected` and each of `expected_by_runtime` (runtime name -> float32 (N, K)) from
    `inputs.astype(float32)`.
    """
    path = Path(model_dir) / GOLDEN_FILE
    buffer = io.BytesIO()
    extra = {
        f"expected_{name}": values.astype(np.float32) for name, values in (expected_by_runtime or {}).items()
    }
    np.savez_compressed(
        buffer,
        inputs=inputs.astype(np.float16),
        reference=reference.astype(np.float32),
        expected=expected.astype(np.float32),
        **extra,
    )
    path.write_bytes(buffer.getvalue())
    machine = host.describe()
    return {
        "file": GOLDEN_FILE,
        "sha256": sha256_file(path),
        "samples": len(inputs),
        "min_top1_agreement": float(min_top1_agreement),
        "max_logit_error": float(max_logit_error),
        "built_on": {"cpu": machine["cpu"], "instruction_set": machine["instruction_set"]},
        "expected_runtimes": sorted(expected_by_runtime or {}),
        "top1_agreement_at_build": round(float((expected.argmax(1) == reference.argmax(1)).mean()), 6),
    }


def derive_golden(
    source_dir: Path, source_manifest: dict, target_dir: Path, engine: "InferenceEngine", tolerance: dict
) -> dict[str, Any]:
    """Golden set for an artifact built from another (INT8 from the FP32 ONNX, an engine from its
    ONNX): the source's inputs and reference, and `engine`'s outputs here as the expectation.

    For an ONNX file (`target_dir/model.onnx`), every other installed CPU runtime's outputs are
    recorded too (`expected_<runtime>`), so that each is checked against itself.
    `tolerance` is a `golden.<kind>` section of params.yaml (min_top1_agreement, max_logit_error).
    Returns the manifest's `golden` entry; raises ArtifactError when the source's set is missing.
    """
    from .engines import ENGINES  # engines imports this module

    golden = load_golden(source_dir, source_manifest)
    inputs = golden["inputs"].astype(np.float32)
    model_path = Path(target_dir) / "model.onnx"
    others = {}
    if model_path.is_file():
        for name in ("onnxruntime", "openvino"):
            if name != engine.name and importlib.util.find_spec(name) is not None:
                others[name] = ENGINES[name](model_path, {}).predict(inputs)
    return write_golden(
        target_dir,
        inputs,
        golden["reference"],
        engine.predict(inputs),
        float(tolerance["min_top1_agreement"]),
        float(tolerance["max_logit_error"]),
        others,
    )


def golden_indices(count: int, samples: int, seed: int) -> np.ndarray:
    """Sorted indices (int64) of `samples` of `count` items, drawn without replacement with `seed`."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(count, size=min(samples, count), replace=False))


def golden_inputs(images: np.ndarray) -> np.ndarray:
    """The chosen images (float32 (N, C, H, W)) rounded through float16, as golden.npz stores them."""
    return np.asarray(images, dtype=np.float32).astype(np.float16).astype(np.float32)


def load_golden(model_dir: Path, manifest: dict) -> dict[str, np.ndarray]:
    """Read a model directory's golden set after checking its sha256; raises ArtifactError."""
    entry = manifest.get("golden")
    if not isinstance(entry, dict) or "sha256" not in entry:
        raise ArtifactError(f"{model_dir}: the manifest has no golden set; rebuild it with `dvc repro`")
    path = Path(model_dir) / Path(str(entry.get("file", GOLDEN_FILE))).name
    if not path.is_file():
        raise ArtifactError(f"golden set {path} named in the manifest is missing")
    if sha256_file(path) != entry["sha256"]:
        raise ArtifactError(f"checksum mismatch for the golden set {path}: restore it with `dvc checkout`")
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def run_golden(engine: "InferenceEngine", model_dir: Path) -> GoldenReport:
    """Run the golden set through `engine` on this machine and measure it (no exception on failure)."""
    manifest = engine.manifest
    golden = load_golden(model_dir, manifest)
    measured = np.asarray(engine.predict(golden["inputs"].astype(np.float32)), dtype=np.float32)
    entry = manifest["golden"]
    return GoldenReport(
        model=str(model_dir),
        precision=str(manifest.get("precision", "unknown")),
        samples=len(measured),
        top1_agreement=float((measured.argmax(1) == golden["reference"].argmax(1)).mean()),
        logit_error=logit_error(measured, golden.get(f"expected_{engine.name}", golden["expected"])),
        min_top1_agreement=float(entry["min_top1_agreement"]),
        max_logit_error=float(entry["max_logit_error"]),
        cpu=host.cpu_model(),
        instruction_set=host.instruction_set(),
    )


def self_test(engine: "InferenceEngine", model_dir: Path) -> GoldenReport:
    """Run the golden set and log the result; raise GoldenSetError when it is out of tolerance."""
    report = run_golden(engine, model_dir)
    if not report.passed:
        log.error("%s", report.summary())
        raise GoldenSetError(
            f"{report.summary()}; this model must not be served here (wrong model for its manifest, "
            "or its int8 kernels misbehave on this CPU: see quantize settings in params.yaml)",
            report,
        )
    log.info("%s", report.summary())
    return report
