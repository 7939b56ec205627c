"""Evaluation reports of the pipeline's models (teacher, student, pruned) for the Evaluation page.

Reads what the pipeline wrote (`EVALUATION_DIR`, default reports/evaluation: one folder per model
with report.json and misclassified/*.png, see evaluation.py); no torch, no dataset. Latency and
size per model come from metrics/benchmark.json (`BENCHMARK_FILE`) when the benchmark recorded them.
"""

import json
import re
from pathlib import Path

from apiflask import APIBlueprint, Schema
from apiflask.fields import Dict, Float, Integer, List, Nested, String
from flask import abort, current_app, send_file

bp = APIBlueprint("evaluation", __name__, url_prefix="/api/evaluation", tag="Evaluation")
MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
SUMMARY_KEYS = ("name", "model", "samples", "accuracy", "misclassified_total")
NO_REPORT = {404: "No report for this model name (or no such image in it)"}


class ModelInfo(Schema):
    architecture = String(required=True)
    parameters = Integer(required=True)
    source = String(metadata={"description": "how a student or pruned model was made from the teacher"})


class BenchmarkFigures(Schema):
    """This model's row of metrics/benchmark.json (empty when it was not benchmarked)."""

    accuracy = Float()
    int8_accuracy = Float()
    int8_accuracy_drop = Float()
    latency_p50_ms = Float()
    latency_p99_ms = Float()
    throughput_ips = Float(metadata={"description": "images per second"})
    parameters = Integer()
    size_bytes = Integer(metadata={"description": "INT8 ONNX file"})
    fp32_size_bytes = Integer()
    vs_teacher = Dict(keys=String(), values=Float(), metadata={"description": "each figure / the teacher's"})


class EvaluationSummary(Schema):
    name = String(required=True, metadata={"description": "teacher, student or pruned"})
    model = Nested(ModelInfo, required=True)
    samples = Integer(required=True, metadata={"description": "test-split images"})
    accuracy = Float(required=True)
    f1_macro = Float(required=True)
    misclassified_total = Integer(required=True)
    benchmark = Nested(BenchmarkFigures, required=True)


class EvaluationList(Schema):
    models = List(Nested(EvaluationSummary), required=True)


ClassScores = Schema.from_dict(
    {
        "class": String(required=True),
        "precision": Float(required=True),
        "recall": Float(required=True),
        "f1": Float(required=True),
        "support": Integer(required=True),
    },
    name="ClassScores",
)


class Misclassified(Schema):
    image = String(required=True, metadata={"description": "file in the report folder"})
    true = String(required=True)
    predicted = String(required=True)
    confidence = Float(required=True)
    source = String(required=True, metadata={"description": "the test image's path in the dataset"})
    url = String(required=True, metadata={"description": "GET it as PNG"})


class EvaluationReport(EvaluationSummary):
    classes = List(String(), required=True)
    per_class = List(Nested(ClassScores), required=True)
    confusion = List(
        List(Integer()),
        required=True,
        metadata={"description": "rows: true class, columns: predicted (counts)"},
    )
    history = Dict(
        keys=String(),
        values=List(Float()),
        required=True,
        metadata={
            "description": "training curves: column (epoch, train_loss, val_accuracy...) -> per-epoch values"
        },
    )
    misclassified = List(
        Nested(Misclassified), required=True, metadata={"description": "most confident first"}
    )


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
@bp.output(EvaluationList)
def list_reports():
    """The pipeline's models with an evaluation report (teacher, student, pruned)"""
    root = evaluation_root()
    names = sorted(p.parent.name for p in root.glob("*/report.json")) if root.is_dir() else []
    order = {"teacher": 0, "student": 1, "pruned": 2}
    names.sort(key=lambda name: (order.get(name, 3), name))
    return {"models": [summary(read_report(name)) for name in names]}


@bp.get("/<name>")
@bp.output(EvaluationReport)
@bp.doc(responses=NO_REPORT)
def get_report(name: str):
    """One model's test-split evaluation

    Per-class precision/recall/F1, confusion matrix, training curves, misclassified images.
    """
    report = read_report(name)
    for index, item in enumerate(report["misclassified"]):
        item["url"] = f"/api/evaluation/{name}/misclassified/{index}"
    return report | {"f1_macro": macro_f1(report), "benchmark": benchmark_of(name)}


@bp.get("/<name>/misclassified/<int:index>")
@bp.doc(
    responses=NO_REPORT
    | {
        200: {
            "description": "PNG image",
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
)
def misclassified_image(name: str, index: int):
    """A misclassified test image of the report (PNG)"""
    gallery = read_report(name)["misclassified"]
    if not 0 <= index < len(gallery):
        abort(404, f"model {name!r} has {len(gallery)} misclassified images in its report")
    path = (evaluation_root() / name / gallery[index]["image"]).resolve()
    if evaluation_root().resolve() not in path.parents or not path.is_file():
        abort(404, "image missing from the report folder")
    return send_file(path, mimetype="image/png", max_age=300)
