"""Requirement budgets: params.yaml's `requirements:` against the metrics the pipeline wrote.

Each key says its direction: `min_<measure>` is the lowest value allowed, `max_<measure>` the
highest. The measures are the served model's: accuracy and size of the INT8 file that `make serve`,
the image and the release ship next to FP32, and the latency and throughput of the candidate the
benchmark stage would serve on its host (`served` in metrics/benchmark.json: the fastest that
passes, by the server's own rule, runtime/selection.py). One definition for the `check` stage (the
working tree's metrics) and the PR model review (tools/review: the base branch's and the PR's
metrics side by side).

The INT8 gate (`int8_gate`) is defined here too, so the quantize stage, which keeps or refuses the
INT8 model, and the `check` stage, which lists the budgets, apply the same rule:

- accuracy drop on the test split: FP32 minus INT8 test accuracy, at most
  `max(requirements.max_int8_accuracy_drop, 1 / n_test)`. One test image is the smallest change a
  test split of n_test images can show (30 images: 3.3 points), so a budget below it would fail
  any INT8 model that changes a single prediction; the budget applies as written from 100 test
  images on (with the default 0.01).
- top-1 agreement with FP32 over every labelled image (train + val + test): at least
  `requirements.min_int8_agreement`. It measures the change where the test split is too small to:
  200 images at 0.99 allow 2 changed predictions and refuse 20.
"""

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .paths import BENCHMARK_METRICS, QUANTIZE_METRICS

# measure -> (metrics file, dotted key in it, factor from the file's unit to the budget's unit)
MEASURES: dict[str, tuple[Path, str, float]] = {
    "test_accuracy": (QUANTIZE_METRICS, "int8_accuracy", 1.0),
    "int8_accuracy_drop": (QUANTIZE_METRICS, "accuracy_drop", 1.0),  # against max(budget, 1/n_test)
    "int8_agreement": (QUANTIZE_METRICS, "agreement", 1.0),  # INT8 vs FP32 top-1, all labelled images
    "p50_latency_ms": (BENCHMARK_METRICS, "served.latency_p50_ms", 1.0),
    "p99_latency_ms": (BENCHMARK_METRICS, "served.latency_p99_ms", 1.0),
    "throughput_ips": (BENCHMARK_METRICS, "served.throughput_ips", 1.0),
    "model_size_mb": (BENCHMARK_METRICS, "engines.onnxruntime_int8.size_bytes", 1e-6),  # the INT8 file
}


class RequirementError(ValueError):
    """A `requirements:` key that names no known measure or direction, or a value that is no number."""


@dataclass(frozen=True)
class BudgetResult:
    """One budget: `allowed` is the limit from params.yaml, `measured` the pipeline's figure (None
    when the metrics file or key is missing, which counts as broken)."""

    name: str  # the params key, e.g. max_p99_latency_ms
    allowed: float
    measured: float | None
    source: str  # "<metrics file>: <key>"
    note: str = ""  # how `allowed` follows from the params value, when it is not that value itself

    @property
    def passed(self) -> bool:
        if self.measured is None:
            return False
        if self.name.startswith("min_"):
            return self.measured >= self.allowed
        return self.measured <= self.allowed

    def describe(self) -> str:
        """One line for a person: measured vs allowed, and where the measure comes from."""
        relation = "at least" if self.name.startswith("min_") else "at most"
        measured = "not measured" if self.measured is None else f"measured {self.measured:.6g}"
        note = f", {self.note}" if self.note else ""
        allowed = f"allowed {relation} {self.allowed:.6g}{note}"
        return f"requirements.{self.name}: {measured}, {allowed} ({self.source})"


def split_key(name: str) -> tuple[str, str]:
    """`max_p99_latency_ms` -> ("max", "p99_latency_ms"); raises RequirementError for an unknown key."""
    direction, _, measure = name.partition("_")
    if direction not in ("min", "max") or measure not in MEASURES:
        known = ", ".join(f"min_/max_{measure}" for measure in MEASURES)
        raise RequirementError(f"requirements.{name}: unknown budget; known measures: {known}")
    return direction, measure


def lookup(document: dict, dotted: str) -> float | None:
    """The number at a dotted key (`engines.onnxruntime_int8.size_bytes`) of a metrics document."""
    value: object = document
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def read_workspace(path: Path) -> dict:
    """A metrics file of the working tree; {} when it does not exist yet."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def evaluate_budgets(requirements: dict, read: Callable[[Path], dict] = read_workspace) -> list[BudgetResult]:
    """Every budget in `requirements` (params.yaml's section) against the metrics `read` returns.

    `read(path)` gives a metrics file's JSON ({} when absent): the working tree by default, a git
    revision for the PR review. Raises RequirementError for an unknown key or a non-numeric limit.
    """
    results, documents = [], {}
    for name, allowed in (requirements or {}).items():
        _, measure = split_key(name)
        if isinstance(allowed, bool) or not isinstance(allowed, int | float):
            raise RequirementError(f"requirements.{name}: {allowed!r} is not a number")
        path, key, factor = MEASURES[measure]
        if path not in documents:
            documents[path] = read(path)
        value = lookup(documents[path], key)
        measured = None if value is None else round(value * factor, 6)
        limit, note = float(allowed), ""
        if measure == "int8_accuracy_drop":  # the quantize stage's resolution rule, from its n_test
            n_test = lookup(documents[path], "n_test")
            if allowed_int8_drop(limit, int(n_test or 0)) != limit:
                # one test image, rounded up as the measure is rounded (6 places): 1/30 -> 0.033334
                limit = math.ceil(1e6 / int(n_test)) / 1e6
                note = f"max({float(allowed):.6g}, 1/{int(n_test)} test images)"
        results.append(BudgetResult(name, limit, measured, f"{path.as_posix()}: {key}", note))
    return results


def allowed_int8_drop(budget: float, n_test: int) -> float:
    """The INT8 accuracy drop the gate allows on a test split of `n_test` images: the budget, or
    one test image (1 / n_test) when that is more: a smaller change cannot be measured there."""
    return max(float(budget), 1.0 / n_test) if n_test > 0 else float(budget)


@dataclass(frozen=True)
class Int8Gate:
    """The INT8 gate's figures for one INT8 model against its FP32 source (see the module docstring).

    Accuracies, drops and agreement are fractions (0..1); `logit_error` is max |INT8 - FP32| over
    the range of the FP32 logits (runtime/golden.py's measure), over every labelled image.
    """

    n_images: int  # labelled images measured: train + val + test
    n_test: int
    fp32_accuracy: float  # on the test split
    int8_accuracy: float
    max_accuracy_drop: float  # requirements.max_int8_accuracy_drop
    allowed_accuracy_drop: float  # max(max_accuracy_drop, 1 / n_test)
    agreement: float  # INT8 top-1 == FP32 top-1, over the n_images
    changed: int  # images whose top-1 INT8 changed
    min_agreement: float  # requirements.min_int8_agreement
    logit_error: float
    test_changed: int = 0  # test images whose top-1 INT8 changed
    failures: tuple[str, ...] = field(default=())

    @property
    def accuracy_drop(self) -> float:
        return self.fp32_accuracy - self.int8_accuracy

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_metrics(self) -> dict:
        """The figures for metrics/quantize.json."""
        return {
            "n_images": self.n_images,
            "n_test": self.n_test,
            "int8_accuracy": round(self.int8_accuracy, 6),
            "accuracy_drop": round(self.accuracy_drop, 6),
            "max_accuracy_drop": self.max_accuracy_drop,
            "allowed_accuracy_drop": round(self.allowed_accuracy_drop, 6),
            "agreement": round(self.agreement, 6),
            "changed_predictions": self.changed,
            "changed_test_predictions": self.test_changed,
            "min_agreement": self.min_agreement,
            "logit_error": round(self.logit_error, 6),
            "passed": self.passed,
        }

    def describe(self) -> str:
        """One line of figures: drop vs allowed, agreement vs its budget, logit error."""
        return (
            f"test accuracy {self.int8_accuracy:.4f} vs FP32 {self.fp32_accuracy:.4f} (drop "
            f"{self.accuracy_drop * 100:.2f} points, allowed {self.allowed_accuracy_drop * 100:.2f} on "
            f"{self.n_test} test images), top-1 agreement {self.agreement:.4f} over {self.n_images} "
            f"labelled images ({self.changed} changed, at least {self.min_agreement:.4f} required), "
            f"logit error {self.logit_error:.4f}"
        )


def int8_gate(
    fp32_logits: np.ndarray,
    int8_logits: np.ndarray,
    labels: np.ndarray,
    is_test: np.ndarray,
    max_drop: float,
    min_agreement: float,
) -> Int8Gate:
    """Judge INT8 logits against FP32 ones: float (N, K) each for the same N labelled images
    (int64 `labels` (N,)); `is_test` (bool (N,)) marks the test split's images.

    Two rules, each with its own failure line (naming the params key and the figures):
    the test-accuracy drop at most `max(max_drop, 1 / n_test)`, and top-1 agreement over all N
    images at least `min_agreement`.
    """
    fp32_top, int8_top = fp32_logits.argmax(1), int8_logits.argmax(1)
    is_test = np.asarray(is_test, dtype=bool)
    n_test = int(is_test.sum())
    test_labels = labels[is_test]
    fp32_correct = int((fp32_top[is_test] == test_labels).sum())
    int8_correct = int((int8_top[is_test] == test_labels).sum())
    fp32_accuracy = fp32_correct / max(n_test, 1)
    int8_accuracy = int8_correct / max(n_test, 1)
    allowed = allowed_int8_drop(max_drop, n_test)
    changed = int((fp32_top != int8_top).sum())
    agreement = 1.0 - changed / max(len(labels), 1)
    span = float(fp32_logits.max() - fp32_logits.min()) or 1.0
    error = float(np.abs(int8_logits.astype(np.float64) - fp32_logits).max() / span) if len(labels) else 0.0
    failures = []
    # compared in images, not in floats: 28/30 - 27/30 must equal 1/30
    if n_test and fp32_correct - int8_correct > allowed * n_test + 1e-9:
        failures.append(
            f"test accuracy drop {(fp32_accuracy - int8_accuracy) * 100:.2f} points "
            f"(INT8 {int8_accuracy:.4f} vs FP32 {fp32_accuracy:.4f}, {fp32_correct - int8_correct} of "
            f"{n_test} test images) is over the allowed {allowed * 100:.2f} points = max("
            f"requirements.max_int8_accuracy_drop {max_drop * 100:.2f}, one test image {100 / n_test:.2f})"
        )
    if agreement < min_agreement:
        failures.append(
            f"top-1 agreement with FP32 {agreement:.4f} ({changed} of {len(labels)} labelled images "
            f"changed) is under requirements.min_int8_agreement {min_agreement:.4f}"
        )
    return Int8Gate(
        n_images=len(labels),
        n_test=n_test,
        fp32_accuracy=fp32_accuracy,
        int8_accuracy=int8_accuracy,
        max_accuracy_drop=float(max_drop),
        allowed_accuracy_drop=allowed,
        agreement=agreement,
        changed=changed,
        min_agreement=float(min_agreement),
        logit_error=error,
        test_changed=int((fp32_top[is_test] != int8_top[is_test]).sum()),
        failures=tuple(failures),
    )
