"""Annotation data: images on disk (named by content hash, never by anything a user sent), the
model's suggestion for each, the label history with provenance, the queue order, agreement between
annotators, and the export into the DVC data layout with a labels manifest."""

from __future__ import annotations

import csv
import hashlib
import random
import shutil
from collections import Counter
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from filelock import FileLock
from PIL import Image
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..data.folders import LABELS_MANIFEST
from ..data.images import decode_image
from ..data.preprocessing import preprocess
from .db_models import AnnotationItem, AnnotationLabel, utcnow
from .extensions import db

if TYPE_CHECKING:
    from .registry import LoadedModel

# Uncertainty order uses least confidence: the lowest top-class probability comes first.
ORDERS = ("oldest", "uncertainty", "random")
# unlabeled: nobody labeled the item yet; second-opinion: exactly one other annotator did.
QUEUES = ("unlabeled", "second-opinion")
MANIFEST_FIELDS = [
    "file",
    "sha256",
    "label",
    "annotators",
    "reviewer",
    "labeled_at",
    "suggestion_label",
    "suggestion_confidence",
    "suggestion_model_version",
    "accepted_by",
]


EXPORT_LOCK = ".export.lock"
EXPORT_LOCK_SECONDS = 120


class StorageUnavailable(Exception):
    """The annotation storage folder cannot be written (read-only, full, missing rights); answered 507."""


@dataclass(frozen=True)
class Suggestion:
    label: str
    confidence: float
    model_version: str


def suggest(model: LoadedModel, image: Image.Image) -> Suggestion:
    """The model's top class for one image, through the serving preprocessing."""
    probabilities = model.probabilities(preprocess(image, model.preprocess)[np.newaxis])[0]
    best = int(probabilities.argmax())
    return Suggestion(model.classes[best], round(float(probabilities[best]), 6), model.version)


def item_path(storage: Path, item: AnnotationItem) -> Path:
    return storage / f"{item.sha256}.png"


def _store_suggestion(item: AnnotationItem, suggestion: Suggestion) -> None:
    item.suggestion_label = suggestion.label
    item.suggestion_confidence = suggestion.confidence
    item.suggestion_model_version = suggestion.model_version


def add_image(
    storage: Path,
    data: bytes,
    original_name: str,
    max_pixels: int,
    model: LoadedModel | None = None,
    commit: bool = True,
) -> tuple[AnnotationItem, bool]:
    """Store an uploaded image (re-encoded as PNG) with the model's suggestion; returns (item, created).

    With commit=False the row is only flushed, for the caller to commit many at once; a duplicate
    queued concurrently by another request then raises IntegrityError here or at that commit.
    Raises BadImage for anything that is not a safe, readable image, and StorageUnavailable when
    the image cannot be written to `storage` (then no row is added).
    """
    image = decode_image(data, max_pixels)
    digest = hashlib.sha256(data).hexdigest()
    existing = db.session.scalars(select(AnnotationItem).where(AnnotationItem.sha256 == digest)).first()
    if existing is not None:
        if existing.suggestion_label is None and model is not None:  # queued before there was a model
            _store_suggestion(existing, suggest(model, image))
            if commit:
                db.session.commit()
        return existing, False
    item = AnnotationItem(sha256=digest, original_name=Path(original_name or "upload").name[:255])
    if model is not None:
        _store_suggestion(item, suggest(model, image))
    try:  # the file first: a row never points at an image that was not written
        storage.mkdir(parents=True, exist_ok=True)
        image.save(item_path(storage, item), format="PNG")
    except OSError as error:
        raise StorageUnavailable(
            f"annotation storage is not writable ({error.strerror or error}); nothing was queued"
        ) from error
    db.session.add(item)
    if not commit:
        db.session.flush()
        return item, True
    try:
        db.session.commit()
    except IntegrityError:  # another request queued the same image at the same moment
        db.session.rollback()
        return db.session.scalars(select(AnnotationItem).where(AnnotationItem.sha256 == digest)).one(), False
    return item, True


def settle(item: AnnotationItem) -> None:
    """Derive the item's agreed label and status from its current labels."""
    current = item.current_labels()
    reviews = [row for row in current if row.kind == "review"]
    votes = [row for row in current if row.kind == "label"]
    item.label_count = len({row.annotator for row in votes})
    if reviews:
        label, item.status = reviews[-1].label, "settled"
    elif not votes:
        label, item.status = None, "queued"
    elif len({row.label for row in votes}) == 1:
        label, item.status = votes[0].label, "labeled"
    else:
        label, item.status = None, "disputed"
    if label != item.label:
        item.labeled_at = utcnow() if label is not None else None
    item.label = label


def lock_item(item_id: int) -> AnnotationItem | None:
    """The item, locked against other writers until this request commits; None if it does not exist.

    Writes to one item are serialized by the row lock that an UPDATE takes (PostgreSQL, MySQL,
    MariaDB: that row; SQLite: the database, its one writer). The request's earlier reads are ended
    first, so everything read after the lock, the item's current labels included, is what the
    writers before it committed: on MySQL and MariaDB a REPEATABLE READ transaction takes its
    snapshot at its first plain read, which is then after the lock; PostgreSQL's READ COMMITTED
    reads the newest committed rows per statement.
    """
    db.session.commit()  # end the read transaction: a new one starts with the lock
    bumped = db.session.execute(
        update(AnnotationItem)
        .where(AnnotationItem.id == item_id)
        .values(revision=AnnotationItem.revision + 1)
        .execution_options(synchronize_session=False)
    )
    if bumped.rowcount == 0:
        return None
    return db.session.scalars(
        select(AnnotationItem).where(AnnotationItem.id == item_id).execution_options(populate_existing=True)
    ).one()


def record_label(
    item: AnnotationItem, annotator: str, label: str, accepted: bool = False, kind: str = "label"
) -> AnnotationLabel | None:
    """Add a label to a locked item (`lock_item`); the caller commits. The annotator's earlier label
    on this item (any reviewer's, for a review) is superseded, not deleted, so the history stays
    complete. The same label again (a double click, a retried request) adds nothing: None."""
    mine = [
        row
        for row in item.current_labels()
        if row.kind == kind and (kind == "review" or row.annotator == annotator)
    ]
    if mine and mine[-1].label == label and mine[-1].annotator == annotator and mine[-1].accepted == accepted:
        return None
    now = utcnow()
    for row in mine:
        row.superseded_at = now
    row = AnnotationLabel(
        item=item,
        annotator=annotator,
        label=label,
        kind=kind,
        created_at=now,
        suggestion_label=item.suggestion_label,
        suggestion_confidence=item.suggestion_confidence,
        accepted=accepted,
    )
    db.session.add(row)
    settle(item)
    return row


def retract_label(item: AnnotationItem, annotator: str) -> bool:
    """Undo on a locked item: supersede the annotator's current label (the caller commits). False
    when they have none on this item."""
    mine = [row for row in item.current_labels() if row.kind == "label" and row.annotator == annotator]
    for row in mine:
        row.superseded_at = utcnow()
    settle(item)
    return bool(mine)


def next_item(annotator: str, order: str, queue: str) -> AnnotationItem | None:
    """The next item for this annotator: never one they labeled already."""
    mine = select(AnnotationLabel.item_id).where(
        AnnotationLabel.annotator == annotator,
        AnnotationLabel.kind == "label",
        AnnotationLabel.superseded_at.is_(None),
    )
    query = select(AnnotationItem).where(AnnotationItem.id.not_in(mine))
    if queue == "unlabeled":
        query = query.where(AnnotationItem.status == "queued")
    else:
        query = query.where(AnnotationItem.status == "labeled", AnnotationItem.label_count == 1)
    if order == "random":
        count = db.session.scalar(select(func.count()).select_from(query.subquery()))
        if not count:
            return None
        query = query.order_by(AnnotationItem.id).offset(random.randrange(count))
    elif order == "uncertainty":
        confidence = AnnotationItem.suggestion_confidence
        query = query.order_by(confidence.is_(None), confidence, AnnotationItem.id)  # no suggestion: last
    else:
        query = query.order_by(AnnotationItem.id)
    return db.session.scalars(query.limit(1)).first()


def kappa(pairs: list[tuple[str, str]]) -> dict:
    """Percent agreement and Cohen's kappa (Cohen 1960) of paired labels; None where undefined."""
    if not pairs:
        return {"items_compared": 0, "percent_agreement": None, "cohen_kappa": None}
    n = len(pairs)
    observed = sum(first == second for first, second in pairs) / n
    firsts, seconds = Counter(p[0] for p in pairs), Counter(p[1] for p in pairs)
    expected = sum(firsts[label] * seconds[label] for label in firsts) / (n * n)
    value = None if expected >= 1 else (observed - expected) / (1 - expected)  # undefined: one class only
    return {
        "items_compared": n,
        "percent_agreement": round(observed * 100, 1),
        "cohen_kappa": None if value is None else round(value, 3),
    }


def agreement() -> dict:
    """Agreement between annotator accounts: pooled, and per pair of accounts.

    Pooled: each item with two or more current labels contributes one pair, its first two
    annotators' labels (by time); with exactly two annotators this is Cohen's kappa between them.
    Per pair: for every two accounts, the items both currently label, and their kappa.
    """
    rows = db.session.scalars(
        select(AnnotationLabel)
        .where(AnnotationLabel.kind == "label", AnnotationLabel.superseded_at.is_(None))
        .order_by(AnnotationLabel.item_id, AnnotationLabel.id)
    )
    per_item: dict[int, list[tuple[str, str]]] = {}
    for row in rows:
        per_item.setdefault(row.item_id, []).append((row.annotator, row.label))
    annotators = sorted({name for labels in per_item.values() for name, _ in labels})
    pooled = kappa([(labels[0][1], labels[1][1]) for labels in per_item.values() if len(labels) >= 2])
    by_pair: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for labels in per_item.values():
        given = dict(labels)
        for first, second in combinations(sorted(given), 2):
            by_pair.setdefault((first, second), []).append((given[first], given[second]))
    pairs = [{"annotators": list(pair)} | kappa(labels) for pair, labels in sorted(by_pair.items())]
    return pooled | {"annotators": annotators, "pairs": pairs}


def manifest_row(item: AnnotationItem, file: str) -> dict:
    current = item.current_labels()
    votes = [row for row in current if row.kind == "label"]
    reviews = [row for row in current if row.kind == "review"]
    confidence = item.suggestion_confidence
    return {
        "file": file,
        "sha256": item.sha256,
        "label": item.label,
        "annotators": ";".join(sorted({row.annotator for row in votes})),
        "reviewer": reviews[-1].annotator if reviews else "",
        "labeled_at": item.labeled_at.isoformat() if item.labeled_at else "",
        "suggestion_label": item.suggestion_label or "",
        "suggestion_confidence": "" if confidence is None else f"{confidence:.6f}",
        "suggestion_model_version": item.suggestion_model_version or "",
        "accepted_by": ";".join(sorted({row.annotator for row in votes if row.accepted})),
    }


def export_labeled(storage: Path, export_dir: Path, classes: list[str]) -> dict:
    """Write labeled images into <export_dir>/<label>/ and <export_dir>/labels.csv describing every
    exported file: a `<class>/<image>` folder that `collect.source` in params.yaml reads as is.

    The files are the stored uploads, already decoded by data/images.py's policy (upright, 8-bit,
    transparency flattened) at their full resolution; the pipeline resizes them like any image.

    A relabeled item moves to its new folder; an item with no agreed label (undone, disputed) is
    removed from the export. Only files this function names (annotated_<sha256 prefix>.png) are touched.
    """
    export_dir = export_dir.resolve()
    export_dir.mkdir(parents=True, exist_ok=True)
    # One export at a time, across threads, workers and hosts sharing the folder (filelock).
    with FileLock(export_dir / EXPORT_LOCK, timeout=EXPORT_LOCK_SECONDS):
        return _export(storage, export_dir, classes)


def _export(storage: Path, export_dir: Path, classes: list[str]) -> dict:
    written = removed = 0
    rows = []
    for item in db.session.scalars(select(AnnotationItem).order_by(AnnotationItem.id)).all():
        name = f"annotated_{item.sha256[:16]}.png"
        wanted = item.label if item.label in classes else None
        for other in classes:
            stale = export_dir / other / name
            if other != wanted and stale.is_file():
                stale.unlink()
                removed += 1
        if wanted is None:
            continue
        target = (export_dir / wanted / name).resolve()
        if export_dir not in target.parents:
            continue
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            shutil.copyfile(item_path(storage, item), partial)
            partial.replace(target)  # a crash never leaves half an image in the export
            written += 1
        rows.append(manifest_row(item, f"{wanted}/{name}"))
    manifest = export_dir / LABELS_MANIFEST
    partial = manifest.with_suffix(".csv.partial")
    with partial.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    partial.replace(manifest)  # readers never see half a manifest
    return {"exported": written, "removed": removed, "manifest": str(manifest), "rows": len(rows)}
