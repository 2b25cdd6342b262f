"""enterprise one-click reporting: enterprise profiles (API token hash), reports with
idempotency keys, one-time chat link codes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enterprises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("contact_name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        # HMAC-SHA256 (hex) of the API token; the token itself is never stored.
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("token_issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprises")),
        sa.UniqueConstraint("uscc", name=op.f("uq_enterprises_uscc")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_enterprises_token_hash")),
    )
    op.create_table(
        "enterprise_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        # Set once the ticket is filed; a claimed key whose filing failed is retried by the client.
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        # Idempotency-Key header (NULL when none was sent) and the SHA-256 of the request body,
        # so a retry with the same key and a different body is told apart (409).
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_enterprise_reports_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_enterprise_reports_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprise_reports")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_enterprise_reports_ticket_id")),
        sa.UniqueConstraint(
            "enterprise_id", "idempotency_key", name="uq_enterprise_reports_enterprise_key"
        ),
    )
    op.create_index(
        "ix_enterprise_reports_enterprise_id_id", "enterprise_reports", ["enterprise_id", "id"]
    )
    op.create_table(
        "enterprise_chat_links",
        # SHA-256 (hex) of the one-time code; the code itself is never stored.
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_enterprise_chat_links_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_enterprise_chat_links")),
    )


def downgrade() -> None:
    op.drop_table("enterprise_chat_links")
    op.drop_index("ix_enterprise_reports_enterprise_id_id", table_name="enterprise_reports")
    op.drop_table("enterprise_reports")
    op.drop_table("enterprises")
