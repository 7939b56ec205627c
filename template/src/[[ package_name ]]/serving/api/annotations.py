"""The annotation tool's API: queue images, get the next unlabelled one, label, undo, export."""

from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, request, send_file
from sqlalchemy import func, select

from ..annotations_store import add_image, export_labelled, item_path
from ..db_models import MAX_ID, AnnotationItem
from ..extensions import db
from ..images import BadImage
from . import current_model

bp = Blueprint("annotations", __name__, url_prefix="/api/annotations")
MAX_FILES_PER_UPLOAD = 100


def storage() -> Path:
    return Path(current_app.config["ANNOTATION_STORAGE"])


def progress() -> dict:
    total = db.session.scalar(select(func.count(AnnotationItem.id)))
    labelled = db.session.scalar(
        select(func.count(AnnotationItem.id)).where(AnnotationItem.label.is_not(None))
    )
    return {"total": total, "labeled": labelled}


def get_item(item_id: int) -> AnnotationItem:
    item = db.session.get(AnnotationItem, item_id) if 0 < item_id <= MAX_ID else None
    if item is None:
        abort(404, f"no annotation item {item_id}")
    return item


@bp.post("/items")
def upload_items():
    files = request.files.getlist("images")
    if not files:
        raise BadImage("send images as multipart/form-data in fields named 'images'")
    if len(files) > MAX_FILES_PER_UPLOAD:
        raise BadImage(f"at most {MAX_FILES_PER_UPLOAD} images per request")
    added, duplicates = [], 0
    for upload in files:
        item, created = add_image(
            storage(), upload.read(), upload.filename or "", current_app.config["MAX_IMAGE_PIXELS"]
        )
        if created:
            added.append(item.as_dict())
        else:
            duplicates += 1
    return jsonify(added=added, duplicates=duplicates, progress=progress()), 201


@bp.get("/items")
def list_items():
    labeled = request.args.get("labeled", "any")
    if labeled not in ("any", "true", "false"):
        abort(400, "labeled must be true, false or any")
    limit = request.args.get("limit", 50, type=int)
    if not 1 <= limit <= 500:
        abort(400, "limit must be between 1 and 500")
    query = select(AnnotationItem).order_by(AnnotationItem.id).limit(limit)
    if labeled != "any":
        column = AnnotationItem.label
        query = query.where(column.is_not(None) if labeled == "true" else column.is_(None))
    return jsonify(items=[item.as_dict() for item in db.session.scalars(query)], progress=progress())


@bp.get("/next")
def next_item():
    item = db.session.scalars(
        select(AnnotationItem).where(AnnotationItem.label.is_(None)).order_by(AnnotationItem.id).limit(1)
    ).first()
    return jsonify(
        item=item.as_dict() if item else None, classes=current_model().classes, progress=progress()
    )


@bp.get("/items/<int:item_id>/image")
def item_image(item_id: int):
    path = item_path(storage(), get_item(item_id))
    if not path.is_file():
        abort(404, "image file is missing from annotation storage")
    return send_file(path, mimetype="image/png", max_age=3600)


@bp.put("/items/<int:item_id>/label")
def set_label(item_id: int):
    payload = request.get_json(silent=True)
    label = payload.get("label") if isinstance(payload, dict) else None
    classes = current_model().classes
    if not isinstance(label, str) or label not in classes:
        abort(400, f"label must be one of {classes}")
    item = get_item(item_id)
    item.label, item.labeled_at = label, datetime.now(UTC)
    db.session.commit()
    return jsonify(item=item.as_dict(), progress=progress())


@bp.delete("/items/<int:item_id>/label")
def clear_label(item_id: int):
    item = get_item(item_id)
    item.label, item.labeled_at = None, None
    db.session.commit()
    return jsonify(item=item.as_dict(), progress=progress())


@bp.get("/stats")
def stats():
    rows = db.session.execute(
        select(AnnotationItem.label, func.count(AnnotationItem.id))
        .where(AnnotationItem.label.is_not(None))
        .group_by(AnnotationItem.label)
    )
    return jsonify(progress=progress(), per_label={label: count for label, count in rows})


@bp.post("/export")
def export():
    model = current_model()
    export_dir = Path(current_app.config["EXPORT_DIR"])
    written = export_labelled(storage(), export_dir, model.classes, model.preprocess)
    return jsonify(exported=written, directory=str(export_dir))
