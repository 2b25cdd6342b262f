"""gateway record: conversations per channel, every message in and out, ticket notices claimed once

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("sender_key", sa.String(128), nullable=False),
        sa.Column("rasa_sender_id", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("rasa_sender_id", name=op.f("uq_conversations_rasa_sender_id")),
    )
    # The current thread of a person on a channel: newest by id for (channel, sender_key).
    op.create_index(
        "ix_conversations_channel_sender_key", "conversations", ["channel", "sender_key", "id"]
    )
    op.create_index(op.f("ix_conversations_last_active_at"), "conversations", ["last_active_at"])
    op.create_table(
        "conversation_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("buttons", sa.Text(), nullable=False),
        sa.Column("card", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=True),
        sa.Column("reply_to", sa.Integer(), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pushed", sa.Boolean(), nullable=False),
        sa.Column("intent", sa.String(64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_messages")),
        sa.UniqueConstraint(
            "conversation_id",
            "external_id",
            name=op.f("uq_conversation_messages_conversation_id"),
        ),
    )
    op.create_index(
        op.f("ix_conversation_messages_conversation_id"),
        "conversation_messages",
        ["conversation_id"],
    )
    op.create_index("ix_conversation_messages_reply_to", "conversation_messages", ["reply_to"])
    op.create_table(
        "ticket_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_event_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_event_id"],
            ["ticket_events.id"],
            name=op.f("fk_ticket_notices_ticket_event_id_ticket_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_ticket_notices_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_notices")),
        sa.UniqueConstraint("ticket_event_id", name=op.f("uq_ticket_notices_ticket_event_id")),
    )
    # The notifier looks for answer events not yet claimed.
    op.create_index("ix_ticket_events_action_id", "ticket_events", ["action", "id"])


def downgrade() -> None:
    op.drop_index("ix_ticket_events_action_id", table_name="ticket_events")
    op.drop_table("ticket_notices")
    op.drop_index("ix_conversation_messages_reply_to", table_name="conversation_messages")
    op.drop_index(
        op.f("ix_conversation_messages_conversation_id"), table_name="conversation_messages"
    )
    op.drop_table("conversation_messages")
    op.drop_index(op.f("ix_conversations_last_active_at"), table_name="conversations")
    op.drop_index("ix_conversations_channel_sender_key", table_name="conversations")
    op.drop_table("conversations")
