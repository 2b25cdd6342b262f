"""Reading an enterprise's own tickets for the enterprise API (writes stay in TicketService).

Ownership is the ticket's sender id (the account's random `enterprise:<key>`), so the same
query that lists a chat caller's tickets lists an enterprise's, and another enterprise's ticket is
simply not found.

The history an enterprise reads is the public part of the ticket's log (`public_history`): the
steps of the closed loop and its own actions, with only the answer's text and its own words as
notes. Everything else in the log is written by and for the hotline and the departments — why a
department returned or an operator re-dispatched a ticket, an urge or a supervision between them,
the routing rule — and the person who filed the ticket is not its audience.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.clock import CHINA_TZ
from bot.domain.lifecycle import lifecycle
from bot.domain.workdays import WorkCalendar
from bot.store.models import Ticket, TicketEvent

# The steps of the closed loop (受理 → 派单 → 签收 → 办理 → 答复 → 办结 → 回访, with 退单, 改派 and
# 重办 on the way) — where the ticket is, which the person who filed it follows: shown whoever
# took them, without their notes. 催办, 督办 and 挂牌督办 by the hotline are its supervision of a
# department, not a step of the ticket, and are left out unless the enterprise urged itself.
PUBLIC_ACTIONS = frozenset(
    "file dispatch redispatch sign return start answer close revisit reopen".split()
)
# The note of an answer is the reply to the enterprise itself.
PUBLIC_NOTES = frozenset({"answer"})
# The actor of what the person who filed did (filing, 补充, 催办, 评价: bot/tickets/service.py).
CALLER = "citizen"


@dataclass(frozen=True)
class ReportSummary:
    id: int
    number: str
    category: str
    status: str
    department: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class ReportEvent:
    at: dt.datetime
    action: str  # Chinese label
    to_status: str | None
    note: str | None


@dataclass(frozen=True)
class ReportDetail:
    number: str
    category: str
    status: str
    department: str | None
    organization: str
    district: str
    description: str
    created_at: dt.datetime
    dispatch_due_at: dt.datetime | None
    sign_due_at: dt.datetime | None
    answer_due_at: dt.datetime | None
    answer_working_days: int
    reply: str | None
    history: list[ReportEvent]


def list_reports(
    session_factory: sessionmaker[Session], sender_id: str, *, limit: int, before_id: int | None
) -> list[ReportSummary]:
    """The enterprise's tickets, newest first, keyset-paged by id (stable while new ones
    arrive: `before_id` is the cursor from the previous page)."""
    query = select(Ticket).where(Ticket.sender_id == sender_id)
    if before_id is not None:
        query = query.where(Ticket.id < before_id)
    with session_factory() as session:
        rows = session.scalars(query.order_by(Ticket.id.desc()).limit(limit)).all()
        return [
            ReportSummary(t.id, t.number, t.category, t.status, t.department, t.created_at)
            for t in rows
        ]


def report_detail(
    session_factory: sessionmaker[Session],
    sender_id: str,
    number: str,
    calendar: WorkCalendar,
    *,
    with_history: bool = True,
) -> ReportDetail | None:
    """One of the enterprise's tickets; None when it does not exist or is someone else's.
    Without history the ticket's events are not read (the answer to a filing has none)."""
    with session_factory() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number.upper())).first()
        if ticket is None or ticket.sender_id != sender_id:
            return None
        return detail_of(ticket, calendar, with_history=with_history)


def detail_of(ticket: Ticket, calendar: WorkCalendar, *, with_history: bool) -> ReportDetail:
    """The view of one ticket row; its events are read only with history (inside a session)."""
    answer_due = ticket.answer_due_at
    if answer_due is None and ticket.sign_due_at is not None:
        # Not signed yet: the latest answer deadline, if the department signs at its deadline.
        day = calendar.add_working_days(
            ticket.sign_due_at.astimezone(CHINA_TZ).date(), ticket.answer_working_days
        )
        answer_due = calendar.end_of_working_day(day, CHINA_TZ).astimezone(dt.UTC)
    return ReportDetail(
        number=ticket.number,
        category=ticket.category,
        status=ticket.status,
        department=ticket.department,
        organization=ticket.organization,
        district=ticket.district,
        description=ticket.description,
        created_at=ticket.created_at,
        dispatch_due_at=ticket.dispatch_due_at,
        sign_due_at=ticket.sign_due_at,
        answer_due_at=answer_due,
        answer_working_days=ticket.answer_working_days,
        reply=ticket.reply,
        history=public_history(ticket.events) if with_history else [],
    )


def public_history(events: list[TicketEvent]) -> list[ReportEvent]:
    """The events an enterprise may read of its own ticket: the public steps (PUBLIC_ACTIONS)
    and its own actions; a note only when it is the answer or the enterprise's own words."""
    states = lifecycle()
    shown = []
    for event in events:
        own = event.actor == CALLER
        if not own and event.action not in PUBLIC_ACTIONS:
            continue
        note = event.note if own or event.action in PUBLIC_NOTES else None
        shown.append(
            ReportEvent(event.at, states.action_label(event.action), event.to_status, note)
        )
    return shown
