"""Model versions: list them with their metrics, and switch the active one (hot reload)."""

import hmac

from flask import Blueprint, abort, current_app, jsonify, request
from sqlalchemy import select

from ...artifacts import ArtifactError
from ..db_models import ModelVersion
from ..extensions import db
from ..registry import activate

bp = Blueprint("models", __name__, url_prefix="/api/models")


@bp.get("")
def list_models():
    rows = db.session.scalars(
        select(ModelVersion).order_by(ModelVersion.created_at.desc(), ModelVersion.id.desc())
    )
    current = current_app.extensions["model_holder"].current
    return jsonify(
        models=[row.as_dict() for row in rows],
        serving=current.version if current else None,
        engine=current.engine.name if current else None,
    )


@bp.post("/<int:version_id>/activate")
def activate_version(version_id: int):
    token = current_app.config["ADMIN_TOKEN"]
    if token:
        supplied = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(supplied.encode(), token.encode()):
            abort(401, "activating a model needs 'Authorization: Bearer <ADMIN_TOKEN>'")
    try:
        row = activate(version_id)
    except LookupError as error:
        abort(404, str(error))
    except ArtifactError as error:  # tampered, or fails its golden set on this machine
        abort(409, str(error))
    current_app.extensions["model_holder"].load(row)  # this worker at once; others within MODEL_CHECK_SECONDS
    return jsonify(row.as_dict())
