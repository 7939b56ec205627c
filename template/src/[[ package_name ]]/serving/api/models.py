"""Model versions: list them with their metrics, and switch the active one (hot reload)."""

from flask import Blueprint, abort, current_app, jsonify
from sqlalchemy import select

from ...artifacts import ArtifactError
from ..auth import require_admin_token
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
    require_admin_token("activating a model", local_only_without_token=True)
    try:
        row = activate(version_id)
    except LookupError as error:
        abort(404, str(error))
    except ArtifactError as error:  # tampered, or fails its golden set on this machine
        abort(409, str(error))
    current_app.extensions["model_holder"].load(row)  # this worker at once; others within MODEL_CHECK_SECONDS
    return jsonify(row.as_dict())
