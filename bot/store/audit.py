"""The audit log: every view of unmasked personal data and every change made in the console.

Rows are only ever added. The detail says what was seen or done, never the personal data itself,
so reading the log does not leak what it protects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.clock import utcnow
from bot.store.models import AuditEntry, ConsoleUser

FAILED_LOGIN = "login_failed"
# What a failed sign-in's row says in place of a typed name that is no account's.
NOT_AN_ACCOUNT = "（非本系统用户名，未记录）"


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: dt.datetime
    username: str
    role: str
    action: str
    ticket_number: str | None
    detail: str
    remote: str


class AuditLog:
    def __init__(
        self, session_factory: sessionmaker[Session], clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        self._sessions = session_factory
        self._clock = clock

    def write(
        self,
        *,
        username: str,
        role: str,
        action: str,
        ticket_number: str | None = None,
        detail: str = "",
        remote: str = "",
    ) -> None:
        with self._sessions.begin() as session:
            session.add(
                AuditEntry(
                    at=self._clock(),
                    username=username[:64],
                    role=role[:16],
                    action=action[:32],
                    ticket_number=ticket_number,
                    detail=detail[:2000],
                    remote=remote[:64],
                )
            )

    def failed_login_detail(self, typed: str, locked: bool) -> str:
        """The detail of a failed sign-in's row: the typed name only when it is an account's.

        A name that is no account is often a password typed into the name field (or the
        person's own password for another system); written down it would sit in the audit log
        in clear for every admin to read. An account's name says which account was tried."""
        name = typed.strip()
        with self._sessions() as session:
            known = (
                bool(name)
                and session.scalars(
                    select(ConsoleUser.id).where(ConsoleUser.username == name)
                ).first()
                is not None
            )
        return f"用户名 {name if known else NOT_AN_ACCOUNT}{'（已锁定）' if locked else ''}"

    def recent(
        self,
        *,
        before_id: int | None = None,
        limit: int = 100,
        ticket_number: str | None = None,
        username: str | None = None,
    ) -> list[AuditRecord]:
        """Newest first; `before_id` is the keyset cursor of the next page."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(AuditEntry.id < before_id)
        if ticket_number:
            query = query.where(AuditEntry.ticket_number == ticket_number.upper())
        if username:
            query = query.where(AuditEntry.username == username)
        with self._sessions() as session:
            return [
                AuditRecord(
                    id=e.id,
                    at=e.at,
                    username=e.username,
                    role=e.role,
                    action=e.action,
                    ticket_number=e.ticket_number,
                    detail=e.detail,
                    remote=e.remote,
                )
                for e in session.scalars(query)
            ]
