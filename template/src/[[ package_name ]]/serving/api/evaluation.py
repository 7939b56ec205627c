"""Evaluation reports of the pipeline's models (teacher, student, pruned) for the Evaluation page.

Reads what the pipeline wrote (`EVALUATION_DIR`, default reports/evaluation: one folder per model
with report.json and misclassified/*.png, see evaluation.py); no torch, no dataset. Latency and
size per model come from metrics/benchmark.json (`BENCHMARK_FILE`) when the benchmark recorded them.
"""

import json
import re
from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, send_file

bp = Blueprint("evaluation", __name__, url_prefix="/api/evaluation")
MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
SUMMARY_KEYS = ("name", "model", "samples", "accuracy", "misclassified_total")


def evaluation_root() -> Path:
    return Path(current_app.config["EVALUATION_DIR"])


def read_report(name: str) -> dict:
    """The report of model `name`; 404 when the name is malformed or the pipeline wrote none."""
    path = evaluation_root() / name / "report.json"
    if not MODEL_NAME.match(name) or not path.is_file():
        abort(404, f"no evaluation report for model {name!r}: run `dvc repro` (evaluate, distill, prune)")
    return json.loads(path.read_text(encoding="utf-8"))


def benchmark_of(name: str) -> dict:
    """This model's row of metrics/benchmark.json `models` ({} when it was not benchmarked)."""
    path = Path(current_app.config["BENCHMARK_FILE"])
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8")).get("models", {}).get(name, {})


def macro_f1(report: dict) -> float:
    rows = report["per_class"]
    return round(sum(row["f1"] for row in rows) / len(rows), 6) if rows else 0.0


def summary(report: dict) -> dict:
    return {key: report[key] for key in SUMMARY_KEYS} | {
        "f1_macro": macro_f1(report),
        "benchmark": benchmark_of(report["name"]),
    }


@bp.get("")
def list_reports():
    root = evaluation_root()
    names = sorted(p.parent.name for p in root.glob("*/report.json")) if root.is_dir() else []
    order = {"teacher": 0, "student": 1, "pruned": 2}
    names.sort(key=lambda name: (order.get(name, 3), name))
    return jsonify(models=[summary(read_report(name)) for name in names])


@bp.get("/<name>")
def get_report(name: str):
    report = read_report(name)
    for index, item in enumerate(report["misclassified"]):
        item["url"] = f"/api/evaluation/{name}/misclassified/{index}"
    return jsonify(report | {"f1_macro": macro_f1(report), "benchmark": benchmark_of(name)})


@bp.get("/<name>/misclassified/<int:index>")
def misclassified_image(name: str, index: int):
    gallery = read_report(name)["misclassified"]
    if not 0 <= index < len(gallery):
        abort(404, f"model {name!r} has {len(gallery)} misclassified images in its report")
    path = (evaluation_root() / name / gallery[index]["image"]).resolve()
    if evaluation_root().resolve() not in path.parents or not path.is_file():
        abort(404, "image missing from the report folder")
    return send_file(path, mimetype="image/png", max_age=300)
