"""The annotation tool's API: queue images (one by one, in bulk or as a .zip) with the model's
suggestion, get the next item in the chosen order, label with provenance, undo, review
disagreements, export into the DVC data layout with a labels manifest."""

from pathlib import Path

from apiflask import APIBlueprint, Schema
from apiflask.fields import Dict, File, Float, Integer, List, Nested, String
from apiflask.validators import Length, Regexp
from flask import abort, current_app, send_file
from marshmallow import EXCLUDE
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ...data.images import BadImage
from ..accounts import USERNAME_PATTERN
from ..annotations_store import (
    ORDERS,
    QUEUES,
    add_image,
    agreement,
    export_labeled,
    item_path,
    lock_item,
    next_item,
    record_label,
    retract_label,
)
from ..archive import read_archive
from ..auth import actor_name, audit, requires
from ..db_models import ITEM_STATUSES, MAX_ID, AnnotationItem, AnnotationLabel
from ..extensions import db
from . import LIMIT, JSONBoolean, choice, current_model
from .document import IMAGE_FILES, ZIP_FILE

bp = APIBlueprint("annotations", __name__, url_prefix="/api/annotations", tag="Annotations")
MAX_FILES_PER_UPLOAD = 100
MAX_LISTED_REJECTIONS = 5  # named in the error message when nothing at all could be queued
COMMIT_EVERY = 50  # images per commit: one commit (one fsync) per image made bulk queueing disk-bound
DATABASE_DOWN = {503: "Database unavailable, or no model loaded to suggest labels"}
WRITE_ERRORS = DATABASE_DOWN  # 401 and 403 are added to every route that needs an account (document.py)
UPLOAD_ERRORS = WRITE_ERRORS | {
    400: "No file, or not one readable image among them (each reason is named)",
    413: "Upload over MAX_UPLOAD_BYTES, or an archive past ARCHIVE_MAX_BYTES / ARCHIVE_MAX_MEMBERS",
    507: "Annotation storage is not writable (disk full or read-only)",
}
LABEL_ERRORS = WRITE_ERRORS | {
    404: "No such item",
    409: "The label is not one of the served model's classes (`classes` of GET /api/annotations/next), "
    "or `accepted` is true but the label is not the model's suggestion",
    507: "Annotation storage is not writable",
}
PNG_RESPONSE = {
    200: {
        "description": "PNG image",
        "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
    }
}


class Progress(Schema):
    total = Integer(required=True)
    labeled = Integer(required=True, metadata={"description": "labeled or settled"})
    disputed = Integer(required=True)


class Suggestion(Schema):
    label = String(required=True)
    confidence = Float(required=True, allow_none=True)
    model_version = String(required=True, allow_none=True)


class Label(Schema):
    id = Integer(required=True)
    annotator = String(required=True)
    label = String(required=True)
    kind = String(required=True, metadata={"enum": ["label", "review"]})
    created_at = String(required=True, metadata={"format": "date-time"})
    superseded_at = String(required=True, allow_none=True, metadata={"format": "date-time"})
    suggestion_label = String(required=True, allow_none=True)
    suggestion_confidence = Float(required=True, allow_none=True)
    accepted = JSONBoolean(
        required=True, allow_none=True, metadata={"description": "the suggestion taken as is"}
    )


class Item(Schema):
    id = Integer(required=True)
    original_name = String(required=True)
    sha256 = String(required=True)
    label = String(
        required=True,
        allow_none=True,
        metadata={"description": "agreed label; null while queued or disputed"},
    )
    labeled_at = String(required=True, allow_none=True, metadata={"format": "date-time"})
    status = String(required=True, metadata={"enum": list(ITEM_STATUSES)})
    suggestion = Nested(Suggestion, required=True, allow_none=True)
    labels = List(Nested(Label), required=True, metadata={"description": "current labels"})
    image_url = String(required=True)


class Rejected(Schema):
    name = String(required=True)
    error = String(required=True)


class QueueResult(Schema):
    added = List(Nested(Item), required=True)
    duplicates = Integer(required=True, metadata={"description": "images already queued (same sha256)"})
    rejected = List(Nested(Rejected), required=True)
    progress = Nested(
        Progress,
        required=True,
        allow_none=True,
        metadata={"description": "null when the database went away after the write"},
    )


class ItemList(Schema):
    items = List(Nested(Item), required=True)
    progress = Nested(Progress, required=True)


class NextItem(Schema):
    item = Nested(
        Item, required=True, allow_none=True, metadata={"description": "null when the queue is done"}
    )
    classes = List(String(), required=True, metadata={"description": "the served model's classes"})
    order = String(required=True, metadata={"enum": list(ORDERS)})
    queue = String(required=True, metadata={"enum": list(QUEUES)})
    progress = Nested(Progress, required=True)


class ItemAndProgress(Schema):
    item = Nested(Item, required=True)
    progress = Nested(Progress, required=True)


class ItemHistory(Schema):
    item = Nested(Item, required=True)
    history = List(
        Nested(Label), required=True, metadata={"description": "every label, superseded ones included"}
    )


class AgreementPair(Schema):
    annotators = List(String(), required=True, metadata={"description": "two accounts"})
    items_compared = Integer(required=True, metadata={"description": "items both currently label"})
    percent_agreement = Float(required=True, allow_none=True)
    cohen_kappa = Float(required=True, allow_none=True)


class Agreement(Schema):
    items_compared = Integer(required=True)
    annotators = List(String(), required=True)
    percent_agreement = Float(required=True, allow_none=True)
    cohen_kappa = Float(required=True, allow_none=True)
    pairs = List(Nested(AgreementPair), required=True, metadata={"description": "per pair of accounts"})


class ReviewList(Schema):
    items = List(Nested(Item), required=True, metadata={"description": "disputed items"})
    agreement = Nested(Agreement, required=True)
    classes = List(String(), required=True)
    progress = Nested(Progress, required=True)


class AnnotationStats(Schema):
    progress = Nested(Progress, required=True)
    per_label = Dict(keys=String(), values=Integer(), required=True)
    agreement = Nested(Agreement, required=True)


class ExportResult(Schema):
    exported = Integer(required=True, metadata={"description": "image files written"})
    removed = Integer(required=True, metadata={"description": "stale files removed from EXPORT_DIR"})
    manifest = String(required=True, metadata={"description": "path of labels.csv"})
    rows = Integer(required=True)
    directory = String(required=True)


class ItemsQuery(Schema):
    labeled = String(load_default="any", validate=choice(("any", "true", "false")))
    status = String(validate=choice(ITEM_STATUSES))
    labeled_by = String(
        validate=Regexp(USERNAME_PATTERN, error="must be a username"),
        metadata={"description": "only items this annotator has a current label on, newest label first"},
    )
    limit = Integer(load_default=50, validate=LIMIT)


class NextQuery(Schema):
    order = String(
        load_default="oldest",
        validate=choice(ORDERS),
        metadata={"description": "uncertainty: least confidence first (lowest top-class probability)"},
    )
    queue = String(
        load_default="unlabeled",
        validate=choice(QUEUES),
        metadata={"description": "unlabeled, or second-opinion: labeled once, by another annotator"},
    )


class ReviewQuery(Schema):
    limit = Integer(load_default=100, validate=LIMIT)


class ImagesUpload(Schema):
    class Meta:
        unknown = EXCLUDE  # other form fields are ignored (and so not `additionalProperties: false`)

    images = List(
        File(metadata=IMAGE_FILES),
        required=True,
        validate=Length(
            1, MAX_FILES_PER_UPLOAD, error=f"send 1 to {MAX_FILES_PER_UPLOAD} images per request"
        ),
        error_messages={"required": "send images as multipart/form-data in fields named 'images'"},
    )


class ArchiveUpload(Schema):
    class Meta:
        unknown = EXCLUDE  # other form fields are ignored (and so not `additionalProperties: false`)

    archive = File(
        required=True,
        metadata=ZIP_FILE | {"description": ".zip of images; unsafe or non-image members are listed"},
        error_messages={"required": "send the .zip as multipart/form-data in a field named 'archive'"},
    )


class LabelRequest(Schema):
    label = String(
        required=True, validate=Length(1, 64), metadata={"description": "one of the served model's classes"}
    )
    accepted = JSONBoolean(
        load_default=False, metadata={"description": "true when the model's suggestion was taken as is"}
    )


class ReviewRequest(Schema):
    label = String(
        required=True, validate=Length(1, 64), metadata={"description": "one of the served model's classes"}
    )


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


def progress_after_write() -> dict | None:
    """progress() for a write that is already committed: if the database goes away in between, the
    write still succeeded and says so (progress null) instead of looking refused."""
    try:
        return progress()
    except SQLAlchemyError:
        db.session.rollback()
        return None


def get_item(item_id: int, lock: bool = False) -> AnnotationItem:
    """The item, or 404. `lock=True` for a write: locked until this request commits (lock_item)."""
    item = None
    if 0 < item_id <= MAX_ID:
        item = lock_item(item_id) if lock else db.session.get(AnnotationItem, item_id)
    if item is None:
        abort(404, f"no annotation item {item_id}")
    return item


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
@requires("annotator")
@bp.input(ImagesUpload, location="files")
@bp.output(
    QueueResult, status_code=201, description="Queued; files that could not be queued are in `rejected`"
)
@bp.doc(responses=UPLOAD_ERRORS)
def upload_items(files_data):
    """Queue up to 100 images; each gets the served model's suggestion"""
    files = files_data["images"]
    added, duplicates, rejected = queue_files((f.filename or "", f.read(), None) for f in files)
    audit_queue("queue", added, duplicates, rejected)
    return {
        "added": added,
        "duplicates": duplicates,
        "rejected": rejected,
        "progress": progress_after_write(),
    }, 201


@bp.post("/archive")
@requires("annotator")
@bp.input(ArchiveUpload, location="files")
@bp.output(
    QueueResult, status_code=201, description="Queued; members that could not be queued are in `rejected`"
)
@bp.doc(responses=UPLOAD_ERRORS)
def upload_archive(files_data):
    """Queue the images in one .zip (unsafe or non-image members are listed)"""
    members = read_archive(
        files_data["archive"].read(),
        current_app.config["ARCHIVE_MAX_BYTES"],
        current_app.config["ARCHIVE_MAX_MEMBERS"],
    )
    added, duplicates, rejected = queue_files((m.name, m.data, m.problem) for m in members)
    audit_queue("queue.archive", added, duplicates, rejected)
    return {
        "added": added,
        "duplicates": duplicates,
        "rejected": rejected,
        "progress": progress_after_write(),
    }, 201


@bp.get("/items")
@requires("annotator")
@bp.input(ItemsQuery, location="query")
@bp.output(ItemList)
@bp.doc(responses=DATABASE_DOWN)
def list_items(query_data):
    """Annotation items with their current labels and the model's suggestion"""
    labeled, status, limit = query_data["labeled"], query_data.get("status"), query_data["limit"]
    labeled_by = query_data.get("labeled_by")
    if labeled_by is not None:
        # the items this annotator currently labels, their most recent label first
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
    return {"items": [item.as_dict() for item in db.session.scalars(query)], "progress": progress()}


@bp.get("/next")
@requires("annotator")
@bp.input(NextQuery, location="query")
@bp.output(NextItem)
@bp.doc(responses=DATABASE_DOWN)
def get_next(query_data):
    """Next item for the logged-in annotator; item is null when the queue is done"""
    order, queue = query_data["order"], query_data["queue"]
    item = next_item(actor_name(), order, queue)
    return {
        "item": item.as_dict() if item else None,
        "classes": current_model().classes,
        "order": order,
        "queue": queue,
        "progress": progress(),
    }


@bp.get("/items/<int:item_id>/image")
@requires("annotator")
@bp.doc(responses=PNG_RESPONSE | DATABASE_DOWN | {404: "No such item, or its file is missing"})
def item_image(item_id: int):
    """The item's image"""
    path = item_path(storage(), get_item(item_id))
    if not path.is_file():
        abort(404, "image file is missing from annotation storage")
    return send_file(path, mimetype="image/png", max_age=3600)


@bp.get("/items/<int:item_id>/history")
@requires("annotator")
@bp.output(ItemHistory)
@bp.doc(responses=DATABASE_DOWN | {404: "No such item"})
def item_history(item_id: int):
    """Every label ever given to the item, superseded ones included"""
    item = get_item(item_id)
    return {"item": item.as_dict(), "history": [row.as_dict() for row in item.labels]}


def audit_queue(action: str, added: list[dict], duplicates: int, rejected: list[dict]) -> None:
    audit(
        action, "queue", added=[item["id"] for item in added], duplicates=duplicates, rejected=len(rejected)
    )
    db.session.commit()


def known_label(label: str) -> str:
    """409 for a label outside the served model's classes: which labels exist is server state (the
    active model), not something the request's shape can get wrong."""
    classes = current_model().classes
    if label not in classes:
        abort(409, f"label must be one of {classes}")
    return label


@bp.put("/items/<int:item_id>/label")
@requires("annotator")
@bp.input(LabelRequest, location="json")
@bp.output(ItemAndProgress)
@bp.doc(responses=LABEL_ERRORS)
def set_label(item_id: int, json_data):
    """Label an item as the logged-in annotator (an earlier label of theirs is superseded)

    `accepted: true` says the model's suggestion was taken as is. Sending the same label again
    changes nothing (a double click is one label).
    """
    label, accepted = known_label(json_data["label"]), json_data["accepted"]
    item = get_item(item_id, lock=True)
    if accepted and label != item.suggestion_label:
        abort(409, "accepted is true only when the label is the model's suggestion")
    if record_label(item, actor_name(), label, accepted) is not None:
        audit("label", f"item:{item.id}", label=label, accepted=accepted, status=item.status)
    db.session.commit()
    return {"item": item.as_dict(), "progress": progress()}


@bp.delete("/items/<int:item_id>/label")
@requires("annotator")
@bp.output(ItemAndProgress)
@bp.doc(responses=WRITE_ERRORS | {404: "No such item", 409: "The caller has no label on this item"})
def clear_label(item_id: int):
    """Undo your own label on this item (kept in the history as superseded)"""
    name = actor_name()
    item = get_item(item_id, lock=True)
    if not retract_label(item, name):
        abort(409, f"{name} has no label on item {item_id} to undo")
    audit("undo", f"item:{item.id}", status=item.status)
    db.session.commit()
    return {"item": item.as_dict(), "progress": progress()}


@bp.get("/review")
@requires("annotator")
@bp.input(ReviewQuery, location="query")
@bp.output(ReviewList)
@bp.doc(responses=DATABASE_DOWN)
def review_list(query_data):
    """Disputed items (annotators disagree) and agreement (percent agreement, Cohen's kappa)"""
    disputed = db.session.scalars(
        select(AnnotationItem)
        .where(AnnotationItem.status == "disputed")
        .order_by(AnnotationItem.id)
        .limit(query_data["limit"])
    )
    return {
        "items": [item.as_dict() for item in disputed],
        "agreement": agreement(),
        "classes": current_model().classes,
        "progress": progress(),
    }


@bp.put("/items/<int:item_id>/review")
@requires("reviewer")
@bp.input(ReviewRequest, location="json")
@bp.output(ItemAndProgress)
@bp.doc(responses=LABEL_ERRORS)
def settle_item(item_id: int, json_data):
    """Settle an item as reviewer (the annotators' labels stay in the history)"""
    label = known_label(json_data["label"])
    item = get_item(item_id, lock=True)
    if record_label(item, actor_name(), label, kind="review") is not None:
        audit("review", f"item:{item.id}", label=label)
    db.session.commit()
    return {"item": item.as_dict(), "progress": progress()}


@bp.get("/stats")
@requires("annotator")
@bp.output(AnnotationStats)
@bp.doc(responses=DATABASE_DOWN)
def stats():
    """Labeling progress, labels per class, agreement"""
    rows = db.session.execute(
        select(AnnotationItem.label, func.count(AnnotationItem.id))
        .where(AnnotationItem.label.is_not(None))
        .group_by(AnnotationItem.label)
    )
    return {
        "progress": progress(),
        "per_label": {label: count for label, count in rows},
        "agreement": agreement(),
    }


@bp.post("/export")
@requires("reviewer")
@bp.output(ExportResult)
@bp.doc(responses=WRITE_ERRORS | {507: "EXPORT_DIR is not writable"})
def export():
    """Export labeled images into EXPORT_DIR/<label>/ plus EXPORT_DIR/labels.csv (default data/annotated)

    Exports run one at a time (a lock file in EXPORT_DIR), so two at once give the same folder as one.
    """
    model = current_model()
    export_dir = Path(current_app.config["EXPORT_DIR"])
    result = export_labeled(storage(), export_dir, model.classes)
    audit("export", str(export_dir), **{key: result[key] for key in ("exported", "removed", "rows")})
    db.session.commit()
    return result | {"directory": str(export_dir)}
