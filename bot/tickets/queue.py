"""Read-only ticket lists for the operator console: filters, search and keyset paging.

Pages are cut by ticket id (newest first) instead of OFFSET, so page 1,000 costs what page 1
costs: the database seeks into an index on (filter column, id) and reads one page of rows.
Overdue is computed in SQL from the deadline of the step each state waits for, as
`TicketService._current_due` does in Python — it is never stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import Handoff, Ticket

PAGE_SIZE = 50


@dataclass(frozen=True)
class QueueFilter:
    """What a list shows; `department_scope` is set by the server for department handlers and
    can never be widened by a query parameter."""

    status: str = ""
    category: str = ""
    district: str = ""
    department: str = ""
    overdue: bool = False
    supervised: bool = False
    handoff: bool = False
    search: str = ""
    department_scope: str | None = None


def overdue_clause(now: dt.datetime):  # type: ignore[no-untyped-def]
    """SQL for "the deadline of the step this ticket waits for has passed"."""
    return or_(
        and_(Ticket.status.in_(("received", "returned")), Ticket.dispatch_due_at < now),
        and_(Ticket.status == "dispatched", Ticket.sign_due_at < now),
        and_(Ticket.status.in_(("signed", "in_progress")), Ticket.answer_due_at < now),
    )


def filtered(f: QueueFilter, now: dt.datetime) -> Select[tuple[Ticket]]:
    query = select(Ticket)
    if f.department_scope is not None:
        query = query.where(Ticket.department == f.department_scope)
    if f.status:
        query = query.where(Ticket.status == f.status)
    if f.category:
        query = query.where(Ticket.category == f.category)
    if f.district:
        query = query.where(Ticket.district == f.district)
    if f.department:
        query = query.where(Ticket.department == f.department)
    if f.overdue:
        query = query.where(overdue_clause(now))
    if f.supervised:
        query = query.where(Ticket.supervision != "none")
    if f.handoff:
        waiting = select(Handoff.ticket_number).where(
            Handoff.status == "waiting", Handoff.ticket_number.is_not(None)
        )
        query = query.where(Ticket.number.in_(waiting))
    if f.search.strip():
        pattern = (
            "%"
            + f.search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            + "%"
        )
        matches: ColumnElement[bool] = Ticket.description.like(pattern, escape="\\")
        if f.department_scope is not None:
            # A department reads a protected complainant's text masked (names, phone, company
            # gone); a search over the stored text would still answer "does it name 李秀兰?".
            matches = and_(matches, Ticket.identity_protected.is_(False))
        query = query.where(matches)
    return query


def page(
    sessions: sessionmaker[Session],
    f: QueueFilter,
    now: dt.datetime,
    *,
    after_id: int | None = None,
    size: int = PAGE_SIZE,
) -> tuple[list[Ticket], int | None]:
    """One page, newest first, and the cursor of the next page (None on the last one)."""
    query = filtered(f, now).order_by(Ticket.id.desc()).limit(size + 1)
    if after_id is not None:
        query = query.where(Ticket.id < after_id)
    with sessions() as session:
        rows = list(session.scalars(query))
        session.expunge_all()
    more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1].id if more and rows else None)


def count(sessions: sessionmaker[Session], f: QueueFilter, now: dt.datetime, *, limit: int) -> int:
    """How many tickets match, counting no further than `limit`."""
    matching = filtered(f, now).with_only_columns(Ticket.id).limit(limit).subquery()
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(matching)) or 0)


def waiting_handoffs(sessions: sessionmaker[Session], limit: int = 200) -> list[Handoff]:
    """The conversations waiting for a person (转人工), oldest first."""
    with sessions() as session:
        rows = list(
            session.scalars(
                select(Handoff).where(Handoff.status == "waiting").order_by(Handoff.id).limit(limit)
            )
        )
        session.expunge_all()
        return rows


def by_number(sessions: sessionmaker[Session], number: str) -> Ticket | None:
    """One ticket with its history loaded (detached, for reading)."""
    from sqlalchemy.orm import selectinload

    with sessions() as session:
        ticket = session.scalars(
            select(Ticket)
            .where(Ticket.number == number.upper())
            .options(selectinload(Ticket.events))
        ).first()
        session.expunge_all()
        return ticket


def transcript(sessions: sessionmaker[Session], sender_id: str, limit: int = 500) -> list[Any]:
    """The gateway's record of the conversation that filed a ticket (its Rasa sender id), oldest
    first; empty when the ticket did not come from a recorded chat."""
    from bot.store.models import Conversation, ConversationMessage

    with sessions() as session:
        conversation = session.scalars(
            select(Conversation).where(Conversation.rasa_sender_id == sender_id)
        ).first()
        if conversation is None:
            return []
        rows = list(
            session.scalars(
                select(ConversationMessage)
                .where(ConversationMessage.conversation_id == conversation.id)
                .order_by(ConversationMessage.id)
                .limit(limit)
            )
        )
        session.expunge_all()
        return rows
