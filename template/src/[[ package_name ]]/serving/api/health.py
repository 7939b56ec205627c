"""Liveness, readiness and Prometheus metrics."""

import os

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Dict, String
from flask import Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db

bp = APIBlueprint("health", __name__, tag="Health")


class Liveness(Schema):
    status = String(required=True, metadata={"enum": ["ok"]})


class Readiness(Schema):
    ready = Boolean(required=True)
    checks = Dict(
        keys=String(),
        values=String(),
        required=True,
        metadata={
            "description": "database, model, self_test, serving (the candidate chosen on this host, and "
            "why): `ok: ...` when it passes, the reason otherwise"
        },
    )


@bp.get("/healthz")
@bp.output(Liveness)
def healthz():
    """Liveness"""
    return {"status": "ok"}


@bp.get("/readyz")
@bp.output(Readiness, description="Ready: database up, model loaded, golden-set self-test passed")
@bp.doc(responses={503: {"description": "Not ready", "content": {"application/json": {"schema": Readiness}}}})
def readyz():
    """Readiness"""
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
        if current.selection is not None:
            checks["serving"] = f"ok: {current.selection.chosen}: {current.selection.reason}"
    else:
        checks["model"] = holder.failure or "not loaded"
    ready = all(value.startswith("ok") for value in checks.values())
    return {"ready": ready, "checks": checks}, 200 if ready else 503


@bp.get("/metrics")
@bp.doc(
    summary="Prometheus metrics",
    responses={
        200: {
            "description": "Prometheus text format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def metrics():
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # gunicorn with several workers
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        payload = generate_latest(registry)
    else:
        payload = generate_latest()
    return Response(payload, content_type=CONTENT_TYPE_LATEST)  # as is: it names its charset
