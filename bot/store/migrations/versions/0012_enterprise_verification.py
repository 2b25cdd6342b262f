"""enterprise accounts pending until an operator verifies them; random report sender ids

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08

Several accounts may claim one 统一社会信用代码 (at most one verified), so the unique constraint
on the code becomes a unique index over verified accounts. The accounts registered before were
the only kind there was and stay usable: they are verified by this migration. Their reports'
sender id `enterprise:<id>` becomes `enterprise:<random key>`, on the account and its tickets.
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

VERIFIED = sa.text("verification = 'verified'")
MIGRATED_NOTE = "核实功能启用前注册的账号"

enterprises = sa.table(
    "enterprises",
    sa.column("id", sa.Integer),
    sa.column("uscc", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("sender_key", sa.String),
    sa.column("verification", sa.String),
    sa.column("decided_at", sa.DateTime(timezone=True)),
    sa.column("decided_by", sa.String),
    sa.column("decision_reason", sa.String),
)
tickets = sa.table("tickets", sa.column("sender_id", sa.String))
dependents = [
    sa.table(name, sa.column("enterprise_id", sa.Integer))
    for name in ("enterprise_reports", "enterprise_chat_links")
]


def upgrade() -> None:
    with op.batch_alter_table("enterprises") as batch:
        batch.add_column(sa.Column("sender_key", sa.String(64), nullable=True))
        batch.add_column(sa.Column("verification", sa.String(16), nullable=True))
        batch.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("decided_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("decision_reason", sa.String(200), nullable=True))
        batch.drop_constraint("uq_enterprises_uscc", type_="unique")
    connection = op.get_bind()
    rows = connection.execute(sa.select(enterprises.c.id, enterprises.c.created_at)).all()
    for enterprise_id, created_at in rows:
        key = secrets.token_hex(16)
        connection.execute(
            enterprises.update()
            .where(enterprises.c.id == enterprise_id)
            .values(
                sender_key=key,
                verification="verified",
                decided_at=created_at,
                decided_by="migration",
                decision_reason=MIGRATED_NOTE,
            )
        )
        connection.execute(
            tickets.update()
            .where(tickets.c.sender_id == f"enterprise:{enterprise_id}")
            .values(sender_id=f"enterprise:{key}")
        )
    with op.batch_alter_table("enterprises") as batch:
        batch.alter_column("sender_key", existing_type=sa.String(64), nullable=False)
        batch.alter_column("verification", existing_type=sa.String(16), nullable=False)
        batch.create_unique_constraint("uq_enterprises_sender_key", ["sender_key"])
        batch.create_index("ix_enterprises_uscc", ["uscc"])
    op.create_index(
        "uq_enterprises_verified_uscc",
        "enterprises",
        ["uscc"],
        unique=True,
        sqlite_where=VERIFIED,
        postgresql_where=VERIFIED,
    )


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(enterprises.c.id, enterprises.c.uscc, enterprises.c.sender_key).order_by(
            # One account per code can survive the unique constraint: the verified one, else
            # the oldest claim; the other claims go with their tokens (their tickets stay).
            (enterprises.c.verification == "verified").desc(),
            enterprises.c.id,
        )
    ).all()
    kept: set[str] = set()
    for enterprise_id, uscc, key in rows:
        if uscc in kept:
            for table in dependents:
                connection.execute(table.delete().where(table.c.enterprise_id == enterprise_id))
            connection.execute(enterprises.delete().where(enterprises.c.id == enterprise_id))
            continue
        kept.add(uscc)
        connection.execute(
            tickets.update()
            .where(tickets.c.sender_id == f"enterprise:{key}")
            .values(sender_id=f"enterprise:{enterprise_id}")
        )
    op.drop_index("uq_enterprises_verified_uscc", table_name="enterprises")
    with op.batch_alter_table("enterprises") as batch:
        batch.drop_index("ix_enterprises_uscc")
        batch.drop_constraint("uq_enterprises_sender_key", type_="unique")
        batch.create_unique_constraint("uq_enterprises_uscc", ["uscc"])
        batch.drop_column("decision_reason")
        batch.drop_column("decided_by")
        batch.drop_column("decided_at")
        batch.drop_column("verification")
        batch.drop_column("sender_key")
