"""The served-prediction log: a summary with the newest rows, and one action that sends the
low-confidence ones to the annotation queue."""

from flask import Blueprint, abort, current_app, jsonify, request
from sqlalchemy import select

from ..auth import annotator
from ..db_models import PredictionLog
from ..extensions import db
from ..prediction_log import queue_low_confidence, summary
from . import current_model
from .annotations import progress

bp = Blueprint("predictions", __name__, url_prefix="/api/predictions")


def threshold_from(value) -> float:
    if value is None:
        return current_app.config["LOW_CONFIDENCE"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        abort(400, "threshold must be a number in (0, 1]")
    return float(value)


@bp.get("")
def list_predictions():
    limit = request.args.get("limit", 20, type=int)
    if not 1 <= limit <= 500:
        abort(400, "limit must be between 1 and 500")
    threshold = threshold_from(request.args.get("threshold", type=float))
    rows = db.session.scalars(select(PredictionLog).order_by(PredictionLog.id.desc()).limit(limit))
    return jsonify(summary=summary(current_app.config, threshold), predictions=[r.as_dict() for r in rows])


@bp.post("/queue-low-confidence")
def queue_low():
    """Queue every logged prediction under the threshold (default LOW_CONFIDENCE) for annotation."""
    annotator(write=True)
    payload = request.get_json(silent=True)
    if payload is not None and not isinstance(payload, dict):
        abort(400, 'send JSON like {"threshold": 0.6}, or no body')
    threshold = threshold_from((payload or {}).get("threshold"))
    result = queue_low_confidence(current_app.config, threshold, current_model())
    return jsonify(result | {"threshold": threshold, "progress": progress()})
