"""Requirement budgets: params.yaml's `requirements:` against the metrics the pipeline wrote.

Each key says its direction: `min_<measure>` is the lowest value allowed, `max_<measure>` the
highest. The measures are the served model's (the INT8 model that `make serve` and the release
ship). One definition for the `check` stage (the working tree's metrics) and the PR model review
(tools/review: the base branch's and the PR's metrics side by side).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .paths import BENCHMARK_METRICS, QUANTIZE_METRICS

# measure -> (metrics file, dotted key in it, factor from the file's unit to the budget's unit)
MEASURES: dict[str, tuple[Path, str, float]] = {
    "test_accuracy": (QUANTIZE_METRICS, "int8_accuracy", 1.0),
    "int8_accuracy_drop": (QUANTIZE_METRICS, "accuracy_drop", 1.0),
    "p50_latency_ms": (BENCHMARK_METRICS, "engines.onnxruntime_int8.latency_p50_ms", 1.0),
    "p99_latency_ms": (BENCHMARK_METRICS, "engines.onnxruntime_int8.latency_p99_ms", 1.0),
    "throughput_ips": (BENCHMARK_METRICS, "engines.onnxruntime_int8.throughput_ips", 1.0),
    "model_size_mb": (BENCHMARK_METRICS, "engines.onnxruntime_int8.size_bytes", 1e-6),
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
        return f"requirements.{self.name}: {measured}, allowed {relation} {self.allowed:.6g} ({self.source})"


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
        results.append(BudgetResult(name, float(allowed), measured, f"{path.as_posix()}: {key}"))
    return results
