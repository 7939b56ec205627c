"""Served-prediction log (PREDICTION_LOG=1): model version, label, confidence and image sha256 per
request, the newest PREDICTION_LOG_MAX_ROWS kept. The image itself is kept only with
PREDICTION_LOG_IMAGES=1, since it is needed to send a low-confidence prediction to annotation."""

import hashlib
import logging
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ..data.images import BadImage
from .annotations_store import add_image
from .db_models import PredictionLog
from .extensions import db

log = logging.getLogger(__name__)


def kept_image_path(storage: Path, sha256: str) -> Path:
    return storage / f"{sha256}.img"  # the uploaded bytes as they came, so the hash still matches


def enforce_retention(max_rows: int, storage: Path) -> int:
    """Delete all but the newest `max_rows` rows, and kept images no remaining row refers to."""
    cutoff = db.session.scalar(
        select(PredictionLog.id).order_by(PredictionLog.id.desc()).offset(max_rows).limit(1)
    )
    if cutoff is None:
        return 0
    old = db.session.scalars(select(PredictionLog).where(PredictionLog.id <= cutoff)).all()
    hashes = {row.sha256 for row in old if row.image_kept}
    for row in old:
        db.session.delete(row)
    db.session.commit()
    if hashes:
        still_used = set(
            db.session.scalars(
                select(PredictionLog.sha256).where(PredictionLog.sha256.in_(hashes), PredictionLog.image_kept)
            )
        )
        for digest in hashes - still_used:
            kept_image_path(storage, digest).unlink(missing_ok=True)
    return len(old)


def after_prediction(config: dict, data: bytes, model, label: str, confidence: float) -> None:
    """Log the prediction and/or queue a low-confidence image, as configured. A database problem
    here is logged and never fails the prediction that was already computed."""
    low = confidence < config["LOW_CONFIDENCE"]
    auto_queue = low and config["AUTO_QUEUE_LOW_CONFIDENCE"]
    if not config["PREDICTION_LOG"] and not auto_queue:
        return
    digest = hashlib.sha256(data).hexdigest()
    try:
        if auto_queue:
            add_image(
                Path(config["ANNOTATION_STORAGE"]),
                data,
                f"served-{digest[:12]}.png",
                config["MAX_IMAGE_PIXELS"],
                model,
            )
        if config["PREDICTION_LOG"]:
            storage = Path(config["PREDICTION_LOG_STORAGE"])
            keep = config["PREDICTION_LOG_IMAGES"]
            if keep and not kept_image_path(storage, digest).exists():
                storage.mkdir(parents=True, exist_ok=True)
                kept_image_path(storage, digest).write_bytes(data)
            db.session.add(
                PredictionLog(
                    sha256=digest,
                    model_version=model.version,
                    label=label,
                    confidence=confidence,
                    image_kept=keep,
                    queued=auto_queue,
                )
            )
            db.session.commit()
            enforce_retention(config["PREDICTION_LOG_MAX_ROWS"], storage)
    except (SQLAlchemyError, OSError, BadImage) as error:
        db.session.rollback()
        log.warning("prediction not logged: %s", error)


def summary(config: dict, threshold: float) -> dict:
    low = PredictionLog.confidence < threshold
    count = db.session.scalar(select(func.count(PredictionLog.id)))
    low_count = db.session.scalar(select(func.count(PredictionLog.id)).where(low))
    pending = db.session.scalar(
        select(func.count(PredictionLog.id)).where(
            low, PredictionLog.image_kept, PredictionLog.queued.is_(False)
        )
    )
    return {
        "enabled": config["PREDICTION_LOG"],
        "keep_images": config["PREDICTION_LOG_IMAGES"],
        "auto_queue": config["AUTO_QUEUE_LOW_CONFIDENCE"],
        "max_rows": config["PREDICTION_LOG_MAX_ROWS"],
        "threshold": threshold,
        "logged": count,
        "low_confidence": low_count,
        "ready_to_queue": pending,
    }


def queue_low_confidence(config: dict, threshold: float, model) -> dict:
    """Send every logged prediction below `threshold` whose image was kept to the annotation queue."""
    rows = db.session.scalars(
        select(PredictionLog)
        .where(PredictionLog.confidence < threshold, PredictionLog.queued.is_(False))
        .order_by(PredictionLog.id)
    ).all()
    queued = duplicates = missing = 0  # missing: no image kept, or no longer readable
    storage = Path(config["PREDICTION_LOG_STORAGE"])
    for row in rows:
        path = kept_image_path(storage, row.sha256)
        if not row.image_kept or not path.is_file():
            missing += 1
            continue
        try:
            _, created = add_image(
                Path(config["ANNOTATION_STORAGE"]),
                path.read_bytes(),
                f"served-{row.sha256[:12]}.png",
                config["MAX_IMAGE_PIXELS"],
                model,
            )
        except BadImage:  # e.g. MAX_IMAGE_PIXELS was lowered since it was served
            missing += 1
            continue
        queued += created
        duplicates += not created
        row.queued = True
        db.session.commit()
    return {"queued": queued, "duplicates": duplicates, "skipped": missing}
