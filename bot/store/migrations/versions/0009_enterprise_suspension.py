"""enterprise suspension: an admin can stop an enterprise's token and pages (403) and lift it

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enterprises") as batch:
        batch.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("suspended_reason", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enterprises") as batch:
        batch.drop_column("suspended_reason")
        batch.drop_column("suspended_at")
