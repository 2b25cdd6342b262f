"""console log-in failures counted per account and address

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08

Failed sign-ins move from three columns on console_users (one count per account, which let
anyone lock an operator out) to console_login_failures, one row per failure keyed by the name
and the address. Failures are short-lived (a 15-minute window), so none are carried over.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_key", sa.String(64), nullable=False),
        sa.Column("address_key", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_login_failures")),
    )
    op.create_index(
        "ix_console_login_failures_pair",
        "console_login_failures",
        ["account_key", "address_key", "at"],
    )
    op.create_index(
        "ix_console_login_failures_address", "console_login_failures", ["address_key", "at"]
    )
    op.create_index("ix_console_login_failures_at", "console_login_failures", ["at"])
    with op.batch_alter_table("console_users") as batch:
        batch.drop_column("failed_count")
        batch.drop_column("failed_since")
        batch.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("console_users") as batch:
        batch.add_column(
            sa.Column("failed_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("failed_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.drop_index("ix_console_login_failures_at", table_name="console_login_failures")
    op.drop_index("ix_console_login_failures_address", table_name="console_login_failures")
    op.drop_index("ix_console_login_failures_pair", table_name="console_login_failures")
    op.drop_table("console_login_failures")
