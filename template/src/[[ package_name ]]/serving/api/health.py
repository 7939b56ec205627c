"""Liveness, readiness and Prometheus metrics."""

import os

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as error:
        db.session.rollback()
        checks["database"] = f"unavailable: {error.__class__.__name__}"
    holder = current_app.extensions["model_holder"]
    current = holder.current
    if current is not None:
        golden = current.engine.golden
        checks["model"] = f"ok: {current.version}"
        if golden is not None:
            checks["self_test"] = (
                f"ok: top-1 agreement {golden.top1_agreement:.3f}, logit error {golden.logit_error:.4f} "
                f"on {golden.instruction_set}"
            )
    else:
        checks["model"] = holder.failure or "not loaded"
    ready = all(value.startswith("ok") for value in checks.values())
    return jsonify(ready=ready, checks=checks), 200 if ready else 503


@bp.get("/metrics")
def metrics():
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # gunicorn with several workers
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        payload = generate_latest(registry)
    else:
        payload = generate_latest()
    return Response(payload, mimetype=CONTENT_TYPE_LATEST)
