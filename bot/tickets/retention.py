"""Retention: personal data of old tickets is blanked or masked; statistics stay intact.

What goes: the caller's name, phone, enterprise, credit code, the chat sender id (it links a
ticket to a conversation), and personal data inside free text (descriptions, replies, history
notes, handoff reasons: the caller's own name/company/code, phone and ID numbers). What stays:
numbers, dates, states, categories, districts, departments, respondents, amounts, deadlines,
ratings — every count the dashboard and the integrity board show.
"""

from __future__ import annotations

import datetime as dt

from bot.domain.privacy import mask_text
from bot.tickets.models import Handoff, Ticket

PURGED = "purged"  # sender_id of a ticket whose personal data is gone (also: done, skip it)
BLANK = "（已清除）"


def scrub(text: str | None, secrets: list[str]) -> str | None:
    """Free text without the caller's own identifiers, and with numbers masked."""
    if text is None:
        return None
    for secret in secrets:
        if secret and len(secret) >= 2:
            text = text.replace(secret, BLANK)
    return mask_text(text)


def anonymise_ticket(ticket: Ticket) -> None:
    secrets = [
        s for s in (ticket.caller_name, ticket.enterprise_name, ticket.uscc, ticket.phone) if s
    ]
    ticket.description = scrub(ticket.description, secrets) or ""
    ticket.reply = scrub(ticket.reply, secrets)
    for event in ticket.events:
        event.note = scrub(event.note, secrets)
    ticket.caller_name = None
    ticket.enterprise_name = None
    ticket.uscc = None
    ticket.phone = ""
    ticket.sender_id = PURGED
    ticket.idempotency_key = None


def anonymise_handoff(handoff: Handoff) -> None:
    handoff.reason = scrub(handoff.reason, []) or ""
    handoff.sender_id = PURGED


def cutoff(now: dt.datetime, days: int) -> dt.datetime:
    if days < 1:
        raise ValueError("保留天数至少为 1 天")
    return now - dt.timedelta(days=days)


def purge_database(database_url: str, days: int, *, actor: str) -> int:
    """One purge round on a database (CLI and the web service's schedule); audited."""
    from bot.tickets.audit import AuditLog
    from bot.tickets.db import make_engine, make_session_factory
    from bot.tickets.service import TicketService

    engine = make_engine(database_url)
    try:
        sessions = make_session_factory(engine)
        service = TicketService(sessions)
        done = service.purge_personal_data(days)
        AuditLog(sessions).write(
            username=actor, role="system", action="purge", detail=f"{days} 天前：{done} 件工单"
        )
        return done
    finally:
        engine.dispose()
