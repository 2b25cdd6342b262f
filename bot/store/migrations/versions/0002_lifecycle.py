"""ticket lifecycle: intake details, routing, deadlines, supervision, rating; operator queue

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

def _columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("occurred_on", sa.String(10), nullable=True),
        sa.Column("amount", sa.Numeric(16, 2), nullable=True),
        sa.Column("caller_type", sa.String(16), nullable=False, server_default="citizen"),
        sa.Column("caller_name", sa.String(100), nullable=True),
        sa.Column("enterprise_name", sa.String(200), nullable=True),
        sa.Column("uscc", sa.String(18), nullable=True),
        sa.Column("identity_protected", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("department", sa.String(200), nullable=True),
        sa.Column("co_handlers", sa.Text(), nullable=False, server_default=""),
        sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("answer_working_days", sa.Integer(), nullable=False, server_default="13"),
        sa.Column("escalate_after_working_days", sa.Integer(), nullable=False, server_default="3"),
        sa.Column("dispatch_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sign_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalate_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("supervision", sa.String(16), nullable=False, server_default="none"),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("rating", sa.String(16), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        for column in _columns():
            batch.add_column(column)
        batch.create_index("ix_tickets_phone", ["phone"])
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ticket_number", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
    )
    op.create_index(op.f("ix_handoffs_status"), "handoffs", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_handoffs_status"), table_name="handoffs")
    op.drop_table("handoffs")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_phone")
        for column in reversed(_columns()):
            batch.drop_column(column.name)
