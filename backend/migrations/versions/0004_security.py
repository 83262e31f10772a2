"""Security: IT can disable a user account; audit records name their hash algorithm.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN with a constant default: SQLite does it in place, where a batch rebuild would
    # drop the users table under the foreign keys that point at it.
    op.add_column("users", sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("audit_log", sa.Column("alg", sa.String(16), nullable=False, server_default="sha256"))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("alg")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("disabled")
