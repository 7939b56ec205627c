"""The annotation tool's API: queue images (one by one, in bulk or as a .zip) with the model's
suggestion, get the next item in the chosen order, label with provenance, undo, review
disagreements, export into the DVC data layout with a labels manifest."""

from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, request, send_file
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ...data.images import BadImage
from ..annotations_store import (
    ORDERS,
    QUEUES,
    add_image,
    agreement,
    export_labeled,
    item_path,
    next_item,
    record_label,
    retract_label,
)
from ..archive import read_archive
from ..auth import ANNOTATOR_PATTERN, annotator
from ..db_models import ITEM_STATUSES, MAX_ID, AnnotationItem, AnnotationLabel
from ..extensions import db
from . import current_model

bp = Blueprint("annotations", __name__, url_prefix="/api/annotations")
MAX_FILES_PER_UPLOAD = 100
MAX_LISTED_REJECTIONS = 5  # named in the error message when nothing at all could be queued
COMMIT_EVERY = 50  # images per commit: one commit (one fsync) per image made bulk queueing disk-bound


def storage() -> Path:
    return Path(current_app.config["ANNOTATION_STORAGE"])


def progress() -> dict:
    counts = dict(
        db.session.execute(
            select(AnnotationItem.status, func.count(AnnotationItem.id)).group_by(AnnotationItem.status)
        ).all()
    )
    return {
        "total": sum(counts.values()),
        "labeled": counts.get("labeled", 0) + counts.get("settled", 0),
        "disputed": counts.get("disputed", 0),
    }


def get_item(item_id: int) -> AnnotationItem:
    item = db.session.get(AnnotationItem, item_id) if 0 < item_id <= MAX_ID else None
    if item is None:
        abort(404, f"no annotation item {item_id}")
    return item


def choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.args.get(name, default)
    if value not in allowed:
        abort(400, f"{name} must be one of {', '.join(allowed)}")
    return value


def queue_files(named_files) -> tuple[list[dict], int, list[dict]]:
    """Queue (name, bytes, problem) triples; a bad file is listed with its reason and never stops
    the rest. Rows are committed COMMIT_EVERY at a time."""
    model = current_model()
    max_pixels = current_app.config["MAX_IMAGE_PIXELS"]
    added: list[AnnotationItem] = []
    rejected: list[dict] = []
    duplicates = 0

    def store(batch: list[tuple[str, bytes]], commit: bool) -> None:
        nonlocal duplicates
        for name, data in batch:
            try:
                item, created = add_image(storage(), data, name, max_pixels, model, commit=commit)
            except BadImage as error:
                rejected.append({"name": name, "error": str(error)})
                continue
            if created:
                added.append(item)
            else:
                duplicates += 1
        db.session.commit()

    def store_batch(batch: list[tuple[str, bytes]]) -> None:
        nonlocal duplicates
        marks = (len(added), duplicates, len(rejected))
        try:
            store(batch, commit=False)
        except IntegrityError:  # another request queued one of these images meanwhile: one by one
            db.session.rollback()
            del added[marks[0] :], rejected[marks[2] :]
            duplicates = marks[1]
            store(batch, commit=True)

    batch: list[tuple[str, bytes]] = []
    for name, data, problem in named_files:
        if problem:
            rejected.append({"name": name, "error": problem})
            continue
        batch.append((name, data))
        if len(batch) == COMMIT_EVERY:
            store_batch(batch)
            batch = []
    if batch:
        store_batch(batch)
    if rejected and not added and not duplicates:
        listed = "; ".join(f"{r['name']}: {r['error']}" for r in rejected[:MAX_LISTED_REJECTIONS])
        raise BadImage(f"nothing could be queued ({len(rejected)} rejected): {listed}")
    return [item.as_dict() for item in added], duplicates, rejected


@bp.post("/items")
def upload_items():
    annotator(write=True)
    files = request.files.getlist("images")
    if not files:
        raise BadImage("send images as multipart/form-data in fields named 'images'")
    if len(files) > MAX_FILES_PER_UPLOAD:
        raise BadImage(f"at most {MAX_FILES_PER_UPLOAD} images per request")
    added, duplicates, rejected = queue_files((f.filename or "", f.read(), None) for f in files)
    return jsonify(added=added, duplicates=duplicates, rejected=rejected, progress=progress()), 201


@bp.post("/archive")
def upload_archive():
    annotator(write=True)
    upload = request.files.get("archive")
    if upload is None:
        raise BadImage("send the .zip as multipart/form-data in a field named 'archive'")
    members = read_archive(
        upload.read(), current_app.config["ARCHIVE_MAX_BYTES"], current_app.config["ARCHIVE_MAX_MEMBERS"]
    )
    added, duplicates, rejected = queue_files((m.name, m.data, m.problem) for m in members)
    return jsonify(added=added, duplicates=duplicates, rejected=rejected, progress=progress()), 201


@bp.get("/items")
def list_items():
    labeled = choice("labeled", ("any", "true", "false"), "any")
    status = request.args.get("status")
    if status is not None and status not in ITEM_STATUSES:
        abort(400, f"status must be one of {', '.join(ITEM_STATUSES)}")
    limit = request.args.get("limit", 50, type=int)
    if not 1 <= limit <= 500:
        abort(400, "limit must be between 1 and 500")
    labeled_by = request.args.get("labeled_by")
    if labeled_by is not None:
        # the items this annotator currently labels, their most recent label first
        if not ANNOTATOR_PATTERN.match(labeled_by):
            abort(400, "labeled_by must be an annotator name")
        query = (
            select(AnnotationItem)
            .join(AnnotationLabel, AnnotationLabel.item_id == AnnotationItem.id)
            .where(
                AnnotationLabel.annotator == labeled_by,
                AnnotationLabel.kind == "label",
                AnnotationLabel.superseded_at.is_(None),
            )
            .order_by(AnnotationLabel.id.desc())
            .limit(limit)
        )
    else:
        query = select(AnnotationItem).order_by(AnnotationItem.id).limit(limit)
    if labeled != "any":
        column = AnnotationItem.label
        query = query.where(column.is_not(None) if labeled == "true" else column.is_(None))
    if status is not None:
        query = query.where(AnnotationItem.status == status)
    return jsonify(items=[item.as_dict() for item in db.session.scalars(query)], progress=progress())


@bp.get("/next")
def get_next():
    """The next item for the caller (X-Annotator): `order` oldest, uncertainty (least confidence
    first) or random; `queue` unlabeled or second-opinion (labeled once, by someone else)."""
    order = choice("order", ORDERS, "oldest")
    queue = choice("queue", QUEUES, "unlabeled")
    item = next_item(annotator(), order, queue)
    return jsonify(
        item=item.as_dict() if item else None,
        classes=current_model().classes,
        order=order,
        queue=queue,
        progress=progress(),
    )


@bp.get("/items/<int:item_id>/image")
def item_image(item_id: int):
    path = item_path(storage(), get_item(item_id))
    if not path.is_file():
        abort(404, "image file is missing from annotation storage")
    return send_file(path, mimetype="image/png", max_age=3600)


@bp.get("/items/<int:item_id>/history")
def item_history(item_id: int):
    item = get_item(item_id)
    return jsonify(item=item.as_dict(), history=[row.as_dict() for row in item.labels])


def label_payload() -> tuple[str, bool]:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        abort(400, 'send JSON like {"label": "3"}')
    label, accepted = payload.get("label"), payload.get("accepted", False)
    classes = current_model().classes
    if not isinstance(label, str) or label not in classes:
        abort(400, f"label must be one of {classes}")
    if not isinstance(accepted, bool):
        abort(400, "accepted must be true or false")
    return label, accepted


@bp.put("/items/<int:item_id>/label")
def set_label(item_id: int):
    """Label an item as the caller; `accepted: true` says the model's suggestion was taken as is."""
    name = annotator(write=True)
    label, accepted = label_payload()
    item = get_item(item_id)
    if accepted and label != item.suggestion_label:
        abort(400, "accepted is true only when the label is the model's suggestion")
    record_label(item, name, label, accepted)
    return jsonify(item=item.as_dict(), progress=progress())


@bp.delete("/items/<int:item_id>/label")
def clear_label(item_id: int):
    """Undo the caller's own label on this item (kept in the history as superseded)."""
    name = annotator(write=True)
    item = get_item(item_id)
    if not retract_label(item, name):
        abort(409, f"{name} has no label on item {item_id} to undo")
    return jsonify(item=item.as_dict(), progress=progress())


@bp.get("/review")
def review_list():
    """Disputed items (annotators disagree) with their labels, and agreement so far."""
    limit = request.args.get("limit", 100, type=int)
    if not 1 <= limit <= 500:
        abort(400, "limit must be between 1 and 500")
    disputed = db.session.scalars(
        select(AnnotationItem)
        .where(AnnotationItem.status == "disputed")
        .order_by(AnnotationItem.id)
        .limit(limit)
    )
    return jsonify(
        items=[item.as_dict() for item in disputed],
        agreement=agreement(),
        classes=current_model().classes,
        progress=progress(),
    )


@bp.put("/items/<int:item_id>/review")
def settle_item(item_id: int):
    """A reviewer decides the item's label; the annotators' labels stay in the history."""
    name = annotator(write=True)
    label, _ = label_payload()
    item = get_item(item_id)
    record_label(item, name, label, kind="review")
    return jsonify(item=item.as_dict(), progress=progress())


@bp.get("/stats")
def stats():
    rows = db.session.execute(
        select(AnnotationItem.label, func.count(AnnotationItem.id))
        .where(AnnotationItem.label.is_not(None))
        .group_by(AnnotationItem.label)
    )
    return jsonify(
        progress=progress(), per_label={label: count for label, count in rows}, agreement=agreement()
    )


@bp.post("/export")
def export():
    annotator(write=True)
    model = current_model()
    export_dir = Path(current_app.config["EXPORT_DIR"])
    result = export_labeled(storage(), export_dir, model.classes)
    return jsonify(result | {"directory": str(export_dir)})
