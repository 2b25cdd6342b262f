"""WeChat safe mode, replay window and subscription-message outbox

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wechat_nonces",
        sa.Column("timestamp", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("body_digest", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("timestamp", "nonce", name=op.f("pk_wechat_nonces")),
    )
    op.create_table(
        "wechat_template_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_notice_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ticket_number", sa.String(32), nullable=False),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_notice_id"],
            ["ticket_notices.id"],
            name=op.f("fk_wechat_template_messages_ticket_notice_id_ticket_notices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_wechat_template_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_template_messages")),
        sa.UniqueConstraint(
            "ticket_notice_id", name=op.f("uq_wechat_template_messages_ticket_notice_id")
        ),
    )
    op.create_index(
        "ix_wechat_template_messages_due",
        "wechat_template_messages",
        ["state", "next_attempt_at"],
    )
    op.create_index(
        op.f("ix_wechat_template_messages_conversation_id"),
        "wechat_template_messages",
        ["conversation_id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_wechat_template_messages_conversation_id"), table_name="wechat_template_messages"
    )
    op.drop_index("ix_wechat_template_messages_due", table_name="wechat_template_messages")
    op.drop_table("wechat_template_messages")
    op.drop_table("wechat_nonces")
