"""The PR model review as Markdown: requirement budgets (pass/fail, base vs PR), headline metrics,
latency and size, how the confusion matrix changed, every other metric, parameters and the
confusion matrix, against the base branch; and the `dvc plots diff` HTML page beside it.

Figures come from `dvc metrics diff` / `dvc params diff` / `dvc plots diff` and git-tracked metrics
files; nothing is posted from here (github.py does that).

The confusion change is drawn for a GitHub comment, which shows no images made here but renders
Mermaid: a chart of per-class recall (bars: base, line: PR; Mermaid's xychart has no legend, so its
title says which is which) for the shape at a glance, then a grid of signed count changes coloured
by whether each one is good (🟩: more right on the diagonal, fewer mistakes off it) or bad (🟥),
which names the exact confusions that moved.
"""

import csv
import json
import subprocess
from collections import Counter
from pathlib import Path

from ...budgets import BudgetResult, evaluate_budgets, read_workspace
from ...params import load_params
from ...paths import BENCHMARK_METRICS, CONFUSION, EVALUATE_METRICS, MODEL_REVIEW_PLOTS, QUANTIZE_METRICS
from . import MARKER

BudgetList = list[BudgetResult]
Confusion = Counter  # (actual class, predicted class) -> number of test images
PLOTS_ARTIFACT = "model-review-plots"  # the workflow's upload-artifact name for the plots page
HEADLINE = {  # (metrics file, key) -> label; shown first, in this order
    (EVALUATE_METRICS.as_posix(), "accuracy"): "accuracy",
    (QUANTIZE_METRICS.as_posix(), "int8_accuracy"): "INT8 accuracy",
    (BENCHMARK_METRICS.as_posix(), "served.latency_p50_ms"): "served latency p50 (ms)",
    (BENCHMARK_METRICS.as_posix(), "served.throughput_ips"): "served throughput (img/s)",
    (BENCHMARK_METRICS.as_posix(), "engines.onnxruntime_int8.latency_p50_ms"): "ORT INT8 latency p50 (ms)",
    (BENCHMARK_METRICS.as_posix(), "engines.onnxruntime_int8.size_bytes"): "INT8 model size (bytes)",
    (BENCHMARK_METRICS.as_posix(), "engines.onnxruntime_fp32.size_bytes"): "FP32 model size (bytes)",
}


class ReviewError(RuntimeError):
    """DVC or git could not give the figures the report needs; the message has their output."""


def run_dvc(*args: str) -> str:
    """`dvc <args>`'s standard output; raises ReviewError when DVC fails."""
    result = subprocess.run(["dvc", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise ReviewError(f"`dvc {' '.join(args)}` failed:\n{result.stderr}")
    return result.stdout


def dvc_json(*args: str) -> dict:
    """`dvc <args> --json` decoded; raises ReviewError when DVC fails."""
    return json.loads(run_dvc(*args, "--json") or "{}")


def git_show(revision: str, path: Path) -> str | None:
    """The text of git-tracked `path` at `revision`; None when it is not there."""
    shown = subprocess.run(["git", "show", f"{revision}:{path.as_posix()}"], capture_output=True, text=True)
    return shown.stdout if shown.returncode == 0 else None


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


def read_confusion(text: str) -> Confusion:
    """Counts of (actual, predicted) pairs from reports/confusion.csv's text (header actual,predicted)."""
    return Counter((row["actual"], row["predicted"]) for row in csv.DictReader(text.splitlines()))


def confusion_at(revision: str | None, path: Path = CONFUSION) -> Confusion | None:
    """The git-tracked confusion CSV in the workspace (None) or at a git revision; None when absent."""
    if revision is None:
        text = path.read_text(encoding="utf-8") if path.is_file() else None
    else:
        text = git_show(revision, path)
    return None if text is None else read_confusion(text)


def class_labels(*matrices: Confusion) -> list[str]:
    """Every class that occurs in the matrices, sorted."""
    return sorted({label for matrix in matrices for pair in matrix for label in pair})


def confusion_rows(pairs: Confusion | None) -> list[str]:
    """The confusion matrix as a Markdown table: rows actual, columns predicted, diagonal bold."""
    if pairs is None:
        return ["(no confusion matrix: run the evaluate stage)"]
    labels = class_labels(pairs)
    rows = ["| actual \\ predicted | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for actual in labels:
        cells = [f"**{pairs[actual, p]}**" if p == actual else str(pairs[actual, p] or "·") for p in labels]
        rows.append(f"| {actual} | " + " | ".join(cells) + " |")
    return rows


def recall(pairs: Confusion, labels: list[str]) -> list[float]:
    """Per-class recall 0..1 (right / test images of that class; 0 for a class without images)."""
    totals = Counter()
    for (actual, _), count in pairs.items():
        totals[actual] += count
    return [round(pairs[label, label] / totals[label], 4) if totals[label] else 0.0 for label in labels]


def recall_chart(base: Confusion, pr: Confusion) -> list[str]:
    """A Mermaid xychart (GitHub renders it in comments) of per-class recall: bars base, line PR."""
    labels = class_labels(base, pr)
    names = ", ".join('"' + label.replace('"', "'") + '"' for label in labels)
    return [
        "```mermaid",
        "xychart-beta",
        '    title "Recall per class on the test split: bars = base, line = this PR"',
        f"    x-axis [{names}]",
        '    y-axis "recall" 0 --> 1',
        f"    bar [{', '.join(str(value) for value in recall(base, labels))}]",
        f"    line [{', '.join(str(value) for value in recall(pr, labels))}]",
        "```",
    ]


def confusion_change_rows(base: Confusion, pr: Confusion, max_classes: int = 12) -> list[str]:
    """The confusion matrix's change base -> PR as a Markdown grid of signed counts (PR - base).

    Rows are actual classes, columns predicted ones; 🟩 marks a good change (more right on the
    diagonal, fewer mistakes off it), 🟥 a bad one, `·` none. Beyond `max_classes` classes only the
    classes whose row or column changed are shown.
    """
    labels = class_labels(base, pr)
    delta = {(a, p): pr[a, p] - base[a, p] for a in labels for p in labels}
    if not any(delta.values()):
        return ["The confusion matrix is the same as the base branch's."]
    notes = []
    if len(labels) > max_classes:
        moved = {label for (a, p), d in delta.items() if d for label in (a, p)}
        notes.append(f"Only the {len(moved)} of {len(labels)} classes whose counts changed are shown.")
        labels = [label for label in labels if label in moved]
    base_total, pr_total = sum(base.values()), sum(pr.values())
    if base_total != pr_total:
        notes.append(
            f"> The test split changed ({base_total} images on the base branch, {pr_total} here): "
            "counts compare different images."
        )

    def cell(actual: str, predicted: str) -> str:
        d = delta[actual, predicted]
        if d == 0:
            return "·"
        good = d > 0 if actual == predicted else d < 0
        return f"{'🟩' if good else '🟥'} {d:+d}"

    rows = [
        "Change in test images, PR − base (rows: actual class, columns: predicted; 🟩 better, 🟥 worse):",
        "",
        "| actual \\ predicted | " + " | ".join(labels) + " |",
        "|---" * (len(labels) + 1) + "|",
    ]
    rows += [f"| {a} | " + " | ".join(cell(a, p) for p in labels) + " |" for a in labels]
    return rows + ([""] + notes if notes else [])


def confusion_change(base: Confusion | None, pr: Confusion | None) -> list[str]:
    """The section on how the confusion matrix moved: recall chart and change grid."""
    if pr is None:
        return ["(no confusion matrix: run the evaluate stage)"]
    if base is None:
        return ["The base branch has no confusion matrix to compare with (reports/confusion.csv)."]
    return [*recall_chart(base, pr), "", *confusion_change_rows(base, pr)]


def plots_diff(base: str, out: Path) -> None:
    """`dvc plots diff <base> --out <out>`: the HTML page of every plot (training curves of teacher,
    student and pruned model, confusion matrix), base vs workspace. Raises ReviewError on failure."""
    run_dvc("plots", "diff", base, "--out", str(out))


def plots_note(plots_dir: Path, run_url: str | None) -> str:
    """Where the `dvc plots diff` page is: the workflow run's artifact, or the local folder."""
    page = "`dvc plots diff` (training curves of teacher, student and pruned model; confusion matrix)"
    if run_url:
        return f"{page}: the **{PLOTS_ARTIFACT}** artifact of [this workflow run]({run_url}), `index.html`."
    return f"{page}: `{(plots_dir / 'index.html').as_posix()}`."


def metrics_at(revision: str | None, path: Path) -> dict:
    """A git-tracked metrics file in the workspace (None) or at a git revision; {} when absent there."""
    if revision is None:
        return read_workspace(path)
    text = git_show(revision, path)
    try:
        return json.loads(text) if text is not None else {}
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


def build_report(base: str, plots_dir: Path = MODEL_REVIEW_PLOTS, run_url: str | None = None) -> str:
    """The review of the working tree against git revision `base`, as Markdown.

    `plots_dir` is where the `dvc plots diff` page is written (write_report), `run_url` the CI
    run's page that holds it as an artifact (None outside CI): the report says where to find it.
    Raises ReviewError when DVC fails and check.RequirementError for a malformed `requirements:`.
    """
    headline, rest = metric_tables(dvc_json("metrics", "diff", base, "--all"))
    confusion = confusion_at(None)  # this PR's, for the change and the full matrix
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
        "### Confusion matrix, base → PR",
        *confusion_change(confusion_at(base), confusion),
        "",
        "### Curves",
        plots_note(plots_dir, run_url),
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
        *confusion_rows(confusion),
        "",
        "</details>",
    ]
    return "\n".join(lines) + "\n"


def write_report(
    base: str, output: Path, plots_dir: Path = MODEL_REVIEW_PLOTS, run_url: str | None = None
) -> str:
    """Build the review against `base` and write it to `output`, and the `dvc plots diff` page to
    `plots_dir`; returns the Markdown."""
    plots_diff(base, plots_dir)
    report = build_report(base, plots_dir, run_url)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report, encoding="utf-8")
    return report
