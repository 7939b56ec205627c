"""Annotation images on disk. Files are named by content hash, never by anything a user sent."""

import hashlib
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from ..data.preprocessing import PreprocessConfig
from .db_models import AnnotationItem
from .extensions import db
from .images import decode_image


def item_path(storage: Path, item: AnnotationItem) -> Path:
    return storage / f"{item.sha256}.png"


def add_image(storage: Path, data: bytes, original_name: str, max_pixels: int) -> tuple[AnnotationItem, bool]:
    """Store an uploaded image (re-encoded as PNG); returns (item, created)."""
    image = decode_image(data, max_pixels)
    digest = hashlib.sha256(data).hexdigest()
    existing = db.session.scalars(select(AnnotationItem).where(AnnotationItem.sha256 == digest)).first()
    if existing is not None:
        return existing, False
    storage.mkdir(parents=True, exist_ok=True)
    item = AnnotationItem(sha256=digest, original_name=Path(original_name or "upload").name[:255])
    image.save(item_path(storage, item), format="PNG")
    db.session.add(item)
    db.session.commit()
    return item, True


def export_labelled(storage: Path, export_dir: Path, classes: list[str], config: PreprocessConfig) -> int:
    """Write labelled images into <export_dir>/<label>/ in the pipeline's size and mode."""
    export_dir = export_dir.resolve()
    written = 0
    for item in db.session.scalars(select(AnnotationItem).where(AnnotationItem.label.is_not(None))):
        if item.label not in classes:
            continue
        target = (export_dir / item.label / f"annotated_{item.sha256[:16]}.png").resolve()
        if export_dir not in target.parents or target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(item_path(storage, item)) as image:
            size = (config.image_size, config.image_size)
            image.convert(config.mode).resize(size, Image.Resampling.BILINEAR).save(target)
        written += 1
    return written
