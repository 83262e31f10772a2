"""Initial schema: users, refresh tokens, consults, room records, audit log, settings.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    settings = op.create_table(
        "settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.bulk_insert(settings, [{"key": "audit_head", "value": f"0:{GENESIS}"}])
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("specialties", sa.JSON(), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("family_id", sa.String(36), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        _ts("created_at"),
        _ts("expires_at"),
        _ts("rotated_at", nullable=True),
        _ts("revoked_at", nullable=True),
    )
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"])
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_table(
        "consults",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("patient_name", sa.String(200), nullable=False),
        sa.Column("patient_sex", sa.String(1), nullable=False),
        sa.Column("patient_birth_date", sa.Date(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("specialty", sa.String(64), nullable=False),
        sa.Column("study_instance_uid", sa.String(64), nullable=True),
        sa.Column("study_source", sa.String(200), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("accepted_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        _ts("created_at"),
        _ts("accepted_at", nullable=True),
        _ts("started_at", nullable=True),
        _ts("closed_at", nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
    )
    for column in ("state", "specialty", "requested_by_id", "accepted_by_id"):
        op.create_index(f"ix_consults_{column}", "consults", [column])
    op.create_table(
        "room_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "consult_id", sa.Integer(), sa.ForeignKey("consults.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("op_id", sa.String(36), nullable=False),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("lamport", sa.Integer(), nullable=True),
        sa.Column("op", sa.JSON(), nullable=True),
        _ts("created_at"),
        _ts("received_at"),
        sa.UniqueConstraint("consult_id", "kind", "op_id", name="uq_room_records_op"),
    )
    op.create_index("ix_room_records_consult_id", "room_records", ["consult_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("ts", sa.String(40), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("consult_id", sa.Integer(), nullable=True),
        sa.Column("client", sa.String(64), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    op.create_index("ix_audit_log_consult_id", "audit_log", ["consult_id"])


def downgrade() -> None:
    for table in ("audit_log", "room_records", "consults", "refresh_tokens", "users", "settings"):
        op.drop_table(table)
