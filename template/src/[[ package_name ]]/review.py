"""PR model review: metrics, params, latency and size against the base branch, in one Markdown
report, and the one pull-request comment that shows it (updated in place on every run).

    python -m <package>.review build --base origin/main --output reports/model-review.md
    python -m <package>.review post reports/model-review.md --repo owner/name --pr 12

`build` needs only git + DVC (metrics files are git-tracked). `post` needs GITHUB_TOKEN and talks
to GITHUB_API_URL (set by GitHub Actions); CI runs it in a separate job that holds the write token
and never runs the PR's code.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path

from .paths import BENCHMARK_METRICS, CONFUSION, EVALUATE_METRICS, MODEL_REVIEW, QUANTIZE_METRICS

MARKER = "<!-- model-review -->"
HEADLINE = {  # (metrics file, key) -> label; shown first, in this order
    (EVALUATE_METRICS.as_posix(), "accuracy"): "accuracy",
    (QUANTIZE_METRICS.as_posix(), "int8_accuracy"): "INT8 accuracy",
    (BENCHMARK_METRICS.as_posix(), "engines.onnxruntime_int8.latency_p50_ms"): "INT8 latency p50 (ms)",
    (BENCHMARK_METRICS.as_posix(), "engines.onnxruntime_int8.throughput_ips"): "INT8 throughput (img/s)",
    (BENCHMARK_METRICS.as_posix(), "engines.onnxruntime_int8.size_bytes"): "INT8 model size (bytes)",
    (BENCHMARK_METRICS.as_posix(), "engines.onnxruntime_fp32.size_bytes"): "FP32 model size (bytes)",
}


def dvc_json(*args: str) -> dict:
    result = subprocess.run(["dvc", *args, "--json"], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"`dvc {' '.join(args)}` failed:\n{result.stderr}")
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


BENCHMARK = BENCHMARK_METRICS.as_posix()


def benchmark_host(revision: str | None) -> dict:
    """The `host` entry of metrics/benchmark.json in the workspace (None) or at a git revision."""
    if revision is None:
        text = Path(BENCHMARK).read_text() if Path(BENCHMARK).is_file() else "{}"
    else:
        shown = subprocess.run(["git", "show", f"{revision}:{BENCHMARK}"], capture_output=True, text=True)
        text = shown.stdout if shown.returncode == 0 else "{}"
    try:
        return json.loads(text).get("host") or {}
    except ValueError:
        return {}


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


def build(base: str, output: Path) -> str:
    headline, rest = metric_tables(dvc_json("metrics", "diff", base, "--all"))
    params = dvc_json("params", "diff", base)
    lines = [
        MARKER,
        "## Model review",
        f"This PR's pipeline results against `{base}` (`dvc metrics diff`, `dvc params diff`).",
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
    report = "\n".join(lines) + "\n"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report)
    return report


def github(method: str, url: str, token: str, payload: dict | None = None):
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(payload).encode() if payload is not None else None,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or "null")


def post(report: Path, repo: str, pr: int) -> str:
    """Create the review comment, or update the one an earlier run made. Returns 'created'/'updated'."""
    token = os.environ.get("GITHUB_TOKEN")
    if not token:
        sys.exit("GITHUB_TOKEN is not set")
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    body = report.read_text()
    if not body.startswith(MARKER):
        sys.exit(f"{report} is not a model review (it must start with {MARKER})")
    page = 1
    while True:
        comments = github("GET", f"{api}/repos/{repo}/issues/{pr}/comments?per_page=100&page={page}", token)
        for comment in comments:
            if comment["body"].startswith(MARKER):
                github("PATCH", f"{api}/repos/{repo}/issues/comments/{comment['id']}", token, {"body": body})
                return "updated"
        if len(comments) < 100:
            break
        page += 1
    github("POST", f"{api}/repos/{repo}/issues/{pr}/comments", token, {"body": body})
    return "created"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="write the Markdown report")
    build_cmd.add_argument("--base", required=True, help="git revision to compare with")
    build_cmd.add_argument("--output", type=Path, default=MODEL_REVIEW)
    post_cmd = commands.add_parser("post", help="create or update the PR comment")
    post_cmd.add_argument("report", type=Path)
    post_cmd.add_argument("--repo", required=True, help="owner/name")
    post_cmd.add_argument("--pr", required=True, type=int)
    args = parser.parse_args(argv)
    if args.command == "build":
        print(build(args.base, args.output))
    else:
        if "/" not in args.repo or args.pr <= 0:
            sys.exit("--repo must be owner/name and --pr a positive number")
        print(f"model review comment {post(args.report, args.repo, args.pr)} on {args.repo}#{args.pr}")


if __name__ == "__main__":
    main()
