"""failed status look-ups (number + access code), counted per ticket, sender and client IP

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lookup_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lookup_failures")),
    )
    op.create_index("ix_lookup_failures_scope_key_at", "lookup_failures", ["scope", "key", "at"])


def downgrade() -> None:
    op.drop_index("ix_lookup_failures_scope_key_at", table_name="lookup_failures")
    op.drop_table("lookup_failures")
