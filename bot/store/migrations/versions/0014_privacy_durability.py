"""retention, delivery and durability: what the privacy and resilience fixes keep

Failed console sign-ins were audited with the name as typed (「用户名 <typed>」), and a name that
is no account is often a password typed into the name field. From this revision on the row
names only an account (bot/store/audit.failed_login_detail); this revision rewrites the rows
written before by the same rule. Downgrade cannot restore what was typed, and does nothing.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_AUDIT = sa.table(
    "audit_log",
    sa.column("id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("detail", sa.Text),
)
_USERS = sa.table("console_users", sa.column("username", sa.String))
_PREFIX = "用户名 "
_LOCKED = "（已锁定）"
_NOT_AN_ACCOUNT = "（非本系统用户名，未记录）"
_BATCH = 500


def upgrade() -> None:
    bind = op.get_bind()
    accounts = {row[0] for row in bind.execute(sa.select(_USERS.c.username))}
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(_AUDIT.c.id, _AUDIT.c.detail)
            .where(_AUDIT.c.action == "login_failed", _AUDIT.c.id > last_id)
            .order_by(_AUDIT.c.id)
            .limit(_BATCH)
        ).all()
        for row_id, detail in rows:
            rewritten = _without_typed_name(detail or "", accounts)
            if rewritten != detail:
                bind.execute(
                    sa.update(_AUDIT).where(_AUDIT.c.id == row_id).values(detail=rewritten)
                )
        if len(rows) < _BATCH:
            return
        last_id = rows[-1][0]


def _without_typed_name(detail: str, accounts: set[str]) -> str:
    locked = detail.endswith(_LOCKED)
    name = detail.removesuffix(_LOCKED).removeprefix(_PREFIX).strip()
    if name in accounts or name == _NOT_AN_ACCOUNT:
        return detail
    return f"{_PREFIX}{_NOT_AN_ACCOUNT}{_LOCKED if locked else ''}"


def downgrade() -> None:
    pass
