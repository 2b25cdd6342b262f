"""retraining loop: each person's message keeps Rasa's entities and the form active after it;
reviewers' corrections; the model's second opinion on ticket categories

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # intent and confidence have been there since 0004; the gateway now fills them.
    with op.batch_alter_table("conversation_messages") as batch:
        batch.add_column(sa.Column("entities", sa.Text(), nullable=True))
        batch.add_column(sa.Column("active_form", sa.String(64), nullable=True))
    op.create_table(
        "nlu_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("predicted_intent", sa.String(64), nullable=True),
        sa.Column("predicted_confidence", sa.Float(), nullable=True),
        sa.Column("intent", sa.String(64), nullable=False),
        sa.Column("entities", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("reviewer_role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["conversation_messages.id"],
            name=op.f("fk_nlu_corrections_message_id_conversation_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nlu_corrections")),
        sa.UniqueConstraint("message_id", name=op.f("uq_nlu_corrections_message_id")),
    )
    op.create_index(op.f("ix_nlu_corrections_created_at"), "nlu_corrections", ["created_at"])
    op.create_table(
        "category_checks",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("intent", sa.String(64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_category_checks_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_category_checks")),
    )


def downgrade() -> None:
    op.drop_table("category_checks")
    op.drop_index(op.f("ix_nlu_corrections_created_at"), table_name="nlu_corrections")
    op.drop_table("nlu_corrections")
    with op.batch_alter_table("conversation_messages") as batch:
        batch.drop_column("active_form")
        batch.drop_column("entities")
