"""Database tables: model versions and images to annotate."""

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db

MAX_ID = 2**31 - 1  # ids outside the INTEGER range of every supported database cannot exist


def utcnow() -> datetime:
    return datetime.now(UTC)


class ModelVersion(db.Model):
    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    precision: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(512))
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "version": self.version,
            "precision": self.precision,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "metrics": self.metrics or {},
            "active": self.active,
            "created_at": self.created_at.isoformat(),
        }


class AnnotationItem(db.Model):
    __tablename__ = "annotation_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(255))  # shown only; never used as a path
    label: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    labeled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "original_name": self.original_name,
            "label": self.label,
            "labeled_at": self.labeled_at.isoformat() if self.labeled_at else None,
            "image_url": f"/api/annotations/items/{self.id}/image",
        }
