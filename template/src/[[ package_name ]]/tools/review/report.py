"""The PR model review as Markdown: requirement budgets (pass/fail, base vs PR), headline metrics,
latency and size, every other metric, parameters and the confusion matrix, against the base branch.

Figures come from `dvc metrics diff` / `dvc params diff` and git-tracked metrics files; nothing is
posted from here (github.py does that).
"""

import csv
import json
import subprocess
from collections import Counter
from pathlib import Path

from ...budgets import BudgetResult, evaluate_budgets, read_workspace
from ...params import load_params
from ...paths import BENCHMARK_METRICS, CONFUSION, EVALUATE_METRICS, QUANTIZE_METRICS
from . import MARKER

BudgetList = list[BudgetResult]
HEADLINE = {  # (metrics file, key) -> label; shown first, in this order
    (EVALUATE_METRICS.as_posix(), "accuracy"): "accuracy",
    (QUANTIZE_METRICS.as_posix(), "int8_accuracy"): "INT8 accuracy",
    (BENCHMARK_METRICS.as_posix(), "engines.onnxruntime_int8.latency_p50_ms"): "INT8 latency p50 (ms)",
    (BENCHMARK_METRICS.as_posix(), "engines.onnxruntime_int8.throughput_ips"): "INT8 throughput (img/s)",
    (BENCHMARK_METRICS.as_posix(), "engines.onnxruntime_int8.size_bytes"): "INT8 model size (bytes)",
    (BENCHMARK_METRICS.as_posix(), "engines.onnxruntime_fp32.size_bytes"): "FP32 model size (bytes)",
}


class ReviewError(RuntimeError):
    """DVC or git could not give the figures the report needs; the message has their output."""


def dvc_json(*args: str) -> dict:
    """`dvc <args> --json` decoded; raises ReviewError when DVC fails."""
    result = subprocess.run(["dvc", *args, "--json"], capture_output=True, text=True)
    if result.returncode != 0:
        raise ReviewError(f"`dvc {' '.join(args)}` failed:\n{result.stderr}")
    return json.loads(result.stdout or "{}")


def number(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def change(old, new) -> str:
    numeric = (int, float)
    if isinstance(old, bool) or isinstance(new, bool):
        return "changed" if old != new else ""
    if not isinstance(old, numeric) or not isinstance(new, numeric):
        return "new" if old is None and new is not None else ""
    if old == 0:
        return f"{new - old:+.4g}"
    return f"{new - old:+.4g} ({(new - old) / abs(old):+.1%})"


def metric_tables(diff: dict) -> tuple[list[str], list[str]]:
    """The headline table (accuracy, INT8, latency, size) and the table of every other metric."""
    flat = {(path, key): values for path, metrics in diff.items() for key, values in metrics.items()}
    header = ["| metric | base | PR | change |", "|---|---|---|---|"]
    headline, rest = list(header), list(header)
    for key in [k for k in HEADLINE if k in flat] + sorted(k for k in flat if k not in HEADLINE):
        old, new = flat[key].get("old"), flat[key].get("new")
        label = f"**{HEADLINE[key]}**" if key in HEADLINE else f"`{key[0]}` {key[1]}"
        row = f"| {label} | {number(old)} | {number(new)} | {change(old, new)} |"
        (headline if key in HEADLINE else rest).append(row)
    return headline, rest


def param_rows(diff: dict) -> list[str]:
    changed = [(path, key, v) for path, params in diff.items() for key, v in params.items()]
    if not changed:
        return ["No parameter changes."]
    rows = ["| parameter | base | PR |", "|---|---|---|"]
    rows += [f"| `{key}` | {number(v.get('old'))} | {number(v.get('new'))} |" for _, key, v in changed]
    return rows


def confusion_rows(path: Path) -> list[str]:
    if not path.is_file():
        return ["(no confusion matrix: run the evaluate stage)"]
    with path.open() as handle:
        pairs = Counter((row["actual"], row["predicted"]) for row in csv.DictReader(handle))
    labels = sorted({label for pair in pairs for label in pair})
    rows = ["| actual \\ predicted | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for actual in labels:
        cells = [f"**{pairs[actual, p]}**" if p == actual else str(pairs[actual, p] or "·") for p in labels]
        rows.append(f"| {actual} | " + " | ".join(cells) + " |")
    return rows


def metrics_at(revision: str | None, path: Path) -> dict:
    """A git-tracked metrics file in the workspace (None) or at a git revision; {} when absent there."""
    if revision is None:
        return read_workspace(path)
    shown = subprocess.run(["git", "show", f"{revision}:{path.as_posix()}"], capture_output=True, text=True)
    try:
        return json.loads(shown.stdout) if shown.returncode == 0 else {}
    except ValueError:
        return {}


def benchmark_host(revision: str | None) -> dict:
    """The `host` entry of metrics/benchmark.json in the workspace (None) or at a git revision."""
    return metrics_at(revision, BENCHMARK_METRICS).get("host") or {}


def host_note(base: dict, pr: dict) -> str:
    """One line saying where latency was measured, and a warning when base and PR used other CPUs."""

    def name(machine: dict) -> str:
        return f"{machine.get('cpu', '?')} [{machine.get('instruction_set', '?')}]"

    if not pr:
        return "Latency: this PR's benchmark does not record its CPU."
    if not base:
        return f"Latency measured on {name(pr)}; the base branch's benchmark does not record its CPU."
    keys = ("cpu", "instruction_set")
    if any(base.get(key) != pr.get(key) for key in keys):
        return (
            f"> **Latency measured on different CPUs**: base on {name(base)}, this PR on {name(pr)}. "
            "Latency and throughput changes compare machines, not models."
        )
    return f"Latency measured on the same CPU for base and PR: {name(pr)}."


def budget_rows(base: BudgetList, pr: BudgetList) -> list[str]:
    """Each requirement budget: allowed, the base branch's figure, this PR's, and pass/fail.

    `base` and `pr` are check.evaluate_budgets results for the same `requirements:` (this PR's
    params.yaml), measured on the base branch's metrics and on this PR's.
    """
    if not pr:
        return ["No budgets: add a `requirements:` section to params.yaml."]

    def figure(result: BudgetResult | None) -> str:
        if result is None or result.measured is None:
            return "—"
        return f"{number(result.measured)} ({'pass' if result.passed else 'fail'})"

    by_name = {result.name: result for result in base}
    rows = ["| budget | allowed | base | PR | PR result |", "|---|---|---|---|---|"]
    for result in pr:
        verdict = "✅ pass" if result.passed else "❌ **FAIL**"
        rows.append(
            f"| `{result.name}` | {number(result.allowed)} | {figure(by_name.get(result.name))} "
            f"| {figure(result)} | {verdict} |"
        )
    return rows


def build_report(base: str) -> str:
    """The review of the working tree against git revision `base`, as Markdown.

    Raises ReviewError when DVC fails and check.RequirementError for a malformed `requirements:`.
    """
    headline, rest = metric_tables(dvc_json("metrics", "diff", base, "--all"))
    params = dvc_json("params", "diff", base)
    requirements = load_params().get("requirements") or {}
    lines = [
        MARKER,
        "## Model review",
        f"This PR's pipeline results against `{base}` (`dvc metrics diff`, `dvc params diff`).",
        "",
        "### Requirement budgets",
        *budget_rows(
            evaluate_budgets(requirements, lambda path: metrics_at(base, path)),
            evaluate_budgets(requirements),
        ),
        "",
        "### Metrics, latency and size",
        *headline,
        "",
        host_note(benchmark_host(base), benchmark_host(None)),
        "",
        "<details><summary>Every metric</summary>",
        "",
        *rest,
        "",
        "</details>",
        "",
        "### Parameters",
        *param_rows(params),
        "",
        "<details><summary>Confusion matrix (test split)</summary>",
        "",
        *confusion_rows(CONFUSION),
        "",
        "</details>",
    ]
    return "\n".join(lines) + "\n"


def write_report(base: str, output: Path) -> str:
    """Build the review against `base` and write it to `output`; returns the Markdown."""
    report = build_report(base)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report, encoding="utf-8")
    return report
