"""Model versions: list them with their metrics, and switch the active one (hot reload)."""

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Dict, Float, Integer, List, Nested, String
from flask import abort, current_app
from sqlalchemy import select

from ...artifacts import ArtifactError
from ..auth import audit, requires
from ..db_models import ModelVersion as ModelVersionRow
from ..extensions import db
from ..registry import activate

bp = APIBlueprint("models", __name__, url_prefix="/api/models", tag="Models")


class ModelMetrics(Schema):
    accuracy = Float(allow_none=True, metadata={"description": "test accuracy from the model's manifest"})
    latency_p50_ms = Float(
        metadata={"description": "batch 1, ms, on the pipeline's benchmark host (metrics/benchmark.json)"}
    )
    latency_p99_ms = Float()
    throughput_ips = Float(metadata={"description": "images per second"})
    engine = String(metadata={"description": "the benchmarked candidate, e.g. openvino_int8"})


class CandidateTrial(Schema):
    candidate = String(required=True, metadata={"description": "runtime/artifact, e.g. openvino/int8"})
    precision = String(required=True, metadata={"enum": ["fp32", "int8", "fp16"]})
    passed = Boolean(required=True, metadata={"description": "ran and passed its golden set here"})
    latency_p50_ms = Float(
        required=True, allow_none=True, metadata={"description": "median batch-1 latency here, ms"}
    )
    calls = Integer(required=True, metadata={"description": "timed calls behind the median"})
    detail = String(required=True, metadata={"description": "golden-set report, or why it cannot run"})


class ServingSelection(Schema):
    chosen = String(required=True, metadata={"description": "the candidate this worker serves"})
    reason = String(required=True)
    trials = List(Nested(CandidateTrial), required=True)
    host = Dict(
        keys=String(),
        values=String(),
        required=True,
        metadata={"description": "cpu, instruction_set, machine"},
    )
    pinned = Boolean(required=True, metadata={"description": "INFERENCE_ENGINE and MODEL_PRECISION both set"})
    cached = Boolean(required=True, metadata={"description": "the choice was measured earlier on this host"})


class ModelVersion(Schema):
    id = Integer(required=True)
    version = String(required=True, metadata={"description": "git tag of a release, or local-<sha256[:12]>"})
    precision = String(
        required=True, metadata={"description": "int8 or fp32; a bundle lists its artifacts, e.g. fp32+int8"}
    )
    sha256 = String(required=True)
    size_bytes = Integer(required=True)
    metrics = Nested(ModelMetrics, required=True)
    active = Boolean(required=True)
    created_at = String(required=True, metadata={"format": "date-time"})


class ModelList(Schema):
    models = List(Nested(ModelVersion), required=True, metadata={"description": "newest first"})
    serving = String(required=True, allow_none=True, metadata={"description": "version this worker serves"})
    engine = String(
        required=True, allow_none=True, metadata={"description": "onnxruntime, openvino or tensorrt"}
    )
    selection = Nested(
        ServingSelection,
        required=True,
        allow_none=True,
        metadata={"description": "which candidate of the version's bundle this worker serves, and why"},
    )


@bp.get("")
@bp.output(ModelList)
def list_models():
    """Model versions with metrics; which one is active and served"""
    rows = db.session.scalars(
        select(ModelVersionRow).order_by(ModelVersionRow.created_at.desc(), ModelVersionRow.id.desc())
    )
    current = current_app.extensions["model_holder"].current
    return {
        "models": [row.as_dict() for row in rows],
        "serving": current.version if current else None,
        "engine": current.engine.name if current else None,
        "selection": current.selection.as_dict() if current and current.selection else None,
    }


@bp.post("/<int:version_id>/activate")
@requires("admin")
@bp.output(ModelVersion)
@bp.doc(
    responses={
        404: "No such version",
        409: "The version's file no longer matches its checksum, or fails its golden set here",
    },
)
def activate_version(version_id: int):
    """Make a version active (hot reload, no dropped requests)

    Admins only; other workers follow within MODEL_CHECK_SECONDS.
    """
    try:
        row = activate(version_id)
    except LookupError as error:
        abort(404, str(error))
    except ArtifactError as error:  # tampered, or fails its golden set on this machine
        abort(409, str(error))
    audit("model.activate", f"model:{row.id}", version=row.version)
    db.session.commit()
    current_app.extensions["model_holder"].load(row)  # this worker at once; others within MODEL_CHECK_SECONDS
    return row.as_dict()
