"""annotation provenance: model suggestions, label history, review, served-prediction log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LEGACY_ANNOTATOR = "unknown"  # labels set before this migration carry no annotator


def upgrade():
    with op.batch_alter_table("annotation_items", schema=None) as batch_op:
        # server defaults fill the rows that already exist
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="queued")
        )
        batch_op.add_column(sa.Column("label_count", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("suggestion_label", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("suggestion_confidence", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("suggestion_model_version", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_annotation_items_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_annotation_items_suggestion_confidence"), ["suggestion_confidence"], unique=False
        )

    labels = op.create_table(
        "annotation_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("annotator", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suggestion_label", sa.String(length=64), nullable=True),
        sa.Column("suggestion_confidence", sa.Float(), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["annotation_items.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("annotation_labels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_annotation_labels_annotator"), ["annotator"], unique=False)
        batch_op.create_index(batch_op.f("ix_annotation_labels_item_id"), ["item_id"], unique=False)

    op.create_table(
        "prediction_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("image_kept", sa.Boolean(), nullable=False),
        sa.Column("queued", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("prediction_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_prediction_logs_confidence"), ["confidence"], unique=False)
        batch_op.create_index(batch_op.f("ix_prediction_logs_sha256"), ["sha256"], unique=False)

    # Labels that exist already become one history row each, by an unknown annotator.
    items = sa.table(
        "annotation_items",
        sa.column("id", sa.Integer()),
        sa.column("label", sa.String()),
        sa.column("labeled_at", sa.DateTime(timezone=True)),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("status", sa.String()),
        sa.column("label_count", sa.Integer()),
    )
    connection = op.get_bind()
    labeled = connection.execute(
        sa.select(items.c.id, items.c.label, items.c.labeled_at, items.c.created_at).where(
            items.c.label.is_not(None)
        )
    ).all()
    if labeled:
        op.bulk_insert(
            labels,
            [
                {
                    "item_id": row.id,
                    "annotator": LEGACY_ANNOTATOR,
                    "label": row.label,
                    "kind": "label",
                    "created_at": row.labeled_at or row.created_at,
                    "superseded_at": None,
                    "suggestion_label": None,
                    "suggestion_confidence": None,
                    "accepted": False,
                }
                for row in labeled
            ],
        )
        connection.execute(
            items.update().where(items.c.label.is_not(None)).values(status="labeled", label_count=1)
        )


def downgrade():
    # Dropping a table drops its indexes; MariaDB refuses to drop a foreign key's index on its own.
    op.drop_table("prediction_logs")
    op.drop_table("annotation_labels")
    with op.batch_alter_table("annotation_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_annotation_items_suggestion_confidence"))
        batch_op.drop_index(batch_op.f("ix_annotation_items_status"))
        batch_op.drop_column("suggestion_model_version")
        batch_op.drop_column("suggestion_confidence")
        batch_op.drop_column("suggestion_label")
        batch_op.drop_column("label_count")
        batch_op.drop_column("status")
