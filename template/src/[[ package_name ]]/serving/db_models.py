"""Database tables: model versions, images to annotate with their label history, served predictions,
accounts with their API tokens, and the audit log of every write."""

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

MAX_ID = 2**31 - 1  # ids outside the INTEGER range of every supported database cannot exist


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    """RFC 3339 with its offset: SQLite gives back naive datetimes, which are UTC here."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


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
            "created_at": iso(self.created_at),
        }


# An item's status: nobody labeled it, annotators agree, annotators disagree, a reviewer decided.
ITEM_STATUSES = ("queued", "labeled", "disputed", "settled")


class AnnotationItem(db.Model):
    __tablename__ = "annotation_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(255))  # shown only; never used as a path
    # The agreed label (None while queued or disputed); the history is in annotation_labels.
    label: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    labeled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    label_count: Mapped[int] = mapped_column(Integer, default=0)  # annotators with a current label
    # The model's prediction when the image was queued.
    suggestion_label: Mapped[str | None] = mapped_column(String(64), nullable=True)
    suggestion_confidence: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    suggestion_model_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Bumped by every label write: the UPDATE that bumps it is the row lock that serializes writes to
    # one item (annotations_store.lock_item).
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    labels: Mapped[list["AnnotationLabel"]] = relationship(
        back_populates="item", order_by="AnnotationLabel.id", lazy="selectin"
    )

    @property
    def suggestion(self) -> dict | None:
        if self.suggestion_label is None:
            return None
        return {
            "label": self.suggestion_label,
            "confidence": self.suggestion_confidence,
            "model_version": self.suggestion_model_version,
        }

    def current_labels(self) -> list["AnnotationLabel"]:
        return [row for row in self.labels if row.superseded_at is None]

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "original_name": self.original_name,
            "sha256": self.sha256,
            "label": self.label,
            "labeled_at": iso(self.labeled_at),
            "status": self.status,
            "suggestion": self.suggestion,
            "labels": [row.as_dict() for row in self.current_labels()],
            "image_url": f"/api/annotations/items/{self.id}/image",
        }


class AnnotationLabel(db.Model):
    """One label given by one person. Relabelling or undo supersedes a row; rows are never deleted."""

    __tablename__ = "annotation_labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("annotation_items.id"), index=True)
    annotator: Mapped[str] = mapped_column(String(64), index=True)
    label: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="label")  # "label" or "review"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # What the model suggested when this label was given, and whether the annotator accepted it.
    suggestion_label: Mapped[str | None] = mapped_column(String(64), nullable=True)
    suggestion_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)

    item: Mapped[AnnotationItem] = relationship(back_populates="labels")

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "annotator": self.annotator,
            "label": self.label,
            "kind": self.kind,
            "created_at": iso(self.created_at),
            "superseded_at": iso(self.superseded_at),
            "suggestion_label": self.suggestion_label,
            "suggestion_confidence": self.suggestion_confidence,
            "accepted": self.accepted,
        }


class PredictionLog(db.Model):
    """A served prediction (PREDICTION_LOG=1). The image itself is kept only with PREDICTION_LOG_IMAGES=1."""

    __tablename__ = "prediction_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    model_version: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float, index=True)
    image_kept: Mapped[bool] = mapped_column(Boolean, default=False)
    queued: Mapped[bool] = mapped_column(Boolean, default=False)  # sent to the annotation queue

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "created_at": iso(self.created_at),
            "sha256": self.sha256,
            "model_version": self.model_version,
            "label": self.label,
            "confidence": self.confidence,
            "image_kept": self.image_kept,
            "queued": self.queued,
        }


# Each role may do what the roles before it may: annotator (queue, label, undo), reviewer (also
# settle disputes, export), admin (also activate models, manage accounts, read the audit log).
ROLES = ("annotator", "reviewer", "admin")


class User(db.Model):
    """An account. `password_hash` is argon2id (PHC string); None for single-sign-on-only accounts.
    `auth_version` is part of every session: bumping it (password change, deactivation) ends them all."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    auth_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    # Flask-Login's user interface
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.auth_version}"

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "username": self.username,
            "role": self.role,
            "active": self.active,
            "created_at": iso(self.created_at),
        }


class ApiToken(db.Model):
    """A bearer token for scripts and CI. Only its SHA-256 is stored: the token is 256 random bits
    (`secrets.token_urlsafe(32)`), so a fast hash is enough, as for GitHub's tokens."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    user: Mapped[User] = relationship(lazy="joined")

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "created_at": iso(self.created_at),
            "last_used_at": iso(self.last_used_at),
            "revoked_at": iso(self.revoked_at),
        }


class AuditEvent(db.Model):
    """One write: who, when, what. Append-only: the migration adds triggers that refuse UPDATE and
    DELETE on this table on every supported database."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    target: Mapped[str] = mapped_column(String(128), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "created_at": iso(self.created_at),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "address": self.address,
            "detail": self.detail or {},
        }
