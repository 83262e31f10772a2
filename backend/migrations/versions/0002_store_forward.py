"""Store-and-forward: a consult's vitals snapshot, photos and written answer with key images.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consults") as batch:
        batch.add_column(sa.Column("vitals_snapshot", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("answer_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("answer_key_images", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "consult_photos",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "consult_id", sa.Integer(), sa.ForeignKey("consults.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("caption", sa.String(200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_consult_photos_consult_id", "consult_photos", ["consult_id"])


def downgrade() -> None:
    op.drop_table("consult_photos")
    with op.batch_alter_table("consults") as batch:
        for column in ("answered_at", "answer_key_images", "answer_text", "vitals_snapshot"):
            batch.drop_column(column)
