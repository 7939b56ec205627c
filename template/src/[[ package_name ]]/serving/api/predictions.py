"""The served-prediction log: a summary with the newest rows, and one action that sends the
low-confidence ones to the annotation queue."""

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Float, Integer, List, Nested, String
from apiflask.validators import Range
from flask import current_app
from sqlalchemy import select

from ..auth import audit, requires
from ..db_models import PredictionLog
from ..extensions import db
from ..prediction_log import queue_low_confidence, summary
from . import LIMIT, JSONNumber, current_model
from .annotations import DATABASE_DOWN, WRITE_ERRORS, Progress, progress

bp = APIBlueprint("predictions", __name__, url_prefix="/api/predictions", tag="Predictions")
THRESHOLD = Range(0, 1, min_inclusive=False, error="must be a number in (0, 1]")
THRESHOLD_HELP = {
    "description": "confidence under which a prediction is low (default LOW_CONFIDENCE)",
    "exclusiveMinimum": 0,  # apispec writes Range's bounds as inclusive
}


class LogQuery(Schema):
    limit = Integer(load_default=20, validate=LIMIT)
    threshold = Float(validate=THRESHOLD, metadata=THRESHOLD_HELP)


class ThresholdRequest(Schema):
    threshold = JSONNumber(validate=THRESHOLD, metadata=THRESHOLD_HELP)


class LogSummary(Schema):
    enabled = Boolean(required=True, metadata={"description": "PREDICTION_LOG"})
    keep_images = Boolean(required=True, metadata={"description": "PREDICTION_LOG_IMAGES"})
    auto_queue = Boolean(required=True, metadata={"description": "AUTO_QUEUE_LOW_CONFIDENCE"})
    max_rows = Integer(required=True)
    threshold = Float(required=True)
    logged = Integer(required=True)
    low_confidence = Integer(required=True)
    ready_to_queue = Integer(required=True, metadata={"description": "low-confidence rows with a kept image"})


class LoggedPrediction(Schema):
    id = Integer(required=True)
    created_at = String(required=True, metadata={"format": "date-time"})
    sha256 = String(required=True)
    model_version = String(required=True)
    label = String(required=True)
    confidence = Float(required=True)
    image_kept = Boolean(required=True)
    queued = Boolean(required=True, metadata={"description": "sent to the annotation queue"})


class PredictionLogPage(Schema):
    summary = Nested(LogSummary, required=True)
    predictions = List(Nested(LoggedPrediction), required=True, metadata={"description": "newest first"})


class LowConfidenceQueued(Schema):
    queued = Integer(required=True)
    duplicates = Integer(required=True)
    skipped = Integer(required=True, metadata={"description": "rows whose image file is missing"})
    threshold = Float(required=True)
    progress = Nested(Progress, required=True)


def threshold_or_default(value: float | None) -> float:
    return current_app.config["LOW_CONFIDENCE"] if value is None else float(value)


@bp.get("")
@requires("annotator")
@bp.input(LogQuery, location="query")
@bp.output(PredictionLogPage)
@bp.doc(responses=DATABASE_DOWN)
def list_predictions(query_data):
    """Served-prediction log: summary and newest rows (logging is off by default)"""
    threshold = threshold_or_default(query_data.get("threshold"))
    rows = db.session.scalars(
        select(PredictionLog).order_by(PredictionLog.id.desc()).limit(query_data["limit"])
    )
    return {"summary": summary(current_app.config, threshold), "predictions": [r.as_dict() for r in rows]}


@bp.post("/queue-low-confidence")
@requires("annotator")
@bp.input(ThresholdRequest, location="json")
@bp.output(LowConfidenceQueued)
@bp.doc(responses=WRITE_ERRORS | {507: "Annotation storage is not writable"})
def queue_low(json_data):
    """Queue every logged prediction under the threshold (whose image was kept) for annotation

    The body is optional: without one, the threshold is LOW_CONFIDENCE.
    """
    threshold = threshold_or_default(json_data.get("threshold"))
    result = queue_low_confidence(current_app.config, threshold, current_model())
    audit("queue.low_confidence", "queue", threshold=threshold, queued=result["queued"])
    db.session.commit()
    return result | {"threshold": threshold, "progress": progress()}
