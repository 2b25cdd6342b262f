"""Retention: personal data of old tickets and conversations is blanked or masked; statistics
stay intact.

What goes: the caller's name, phone, enterprise, credit code, the chat sender id (it links a
ticket to a conversation), and personal data inside free text (descriptions, replies, history
notes, handoff reasons: the caller's own name/company/code, phone and ID numbers). In the
gateway's transcripts every message older than N days is masked the same way (with the
identifiers of the tickets that conversation filed, and access codes), ticket cards dropped,
the stored NLU result's entity values masked like the text (phone, ID number, credit code and
access code blanked), and a conversation quiet for N days loses its channel sender key (cookie,
WeChat openid). A reviewer's correction of such a message (nlu_corrections, training data whose
numbers were replaced by fakes when it was made) gets each name said in the conversation
replaced by 某… of the same length, so its entity spans still fit. Failed console sign-ins older
than N days lose the name typed (rows written before bot/store/audit.failed_login_detail may
hold a password typed into the name field). Rasa's tracker store loses its events older than N
days (bot/privacy/tracker_retention.py). category_checks hold a model's verdict only (intent,
confidence, category), nothing a person said.
What stays: numbers, dates, states, categories, districts, departments, respondents, amounts,
deadlines, ratings, the messages themselves with their time, direction and intent — every count
the dashboard, the integrity board and the review page show.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.callers import names_said
from bot.domain.clock import utcnow
from bot.domain.privacy import mask_text
from bot.store.audit import FAILED_LOGIN
from bot.store.models import (
    AuditEntry,
    Conversation,
    ConversationMessage,
    Handoff,
    NluCorrection,
    Ticket,
)

PURGED = "purged"  # sender_id of a ticket whose personal data is gone (also: done, skip it)
BLANK = "（已清除）"
# The filing confirmation says the code in clear (「提取码 233667」); the ticket keeps only a hash.
_ACCESS_CODE = re.compile(r"(提取码\s*[:：]?\s*)[0-9A-Za-z]{4,8}")
# Entities whose value is an identifier of the person or their ticket: blanked, not masked.
IDENTIFYING_ENTITIES = frozenset({"phone", "id_number", "uscc", "access_code", "ticket_id"})
# A failed sign-in's detail once retention has passed: the typed name is gone.
FAILED_LOGIN_PURGED = f"用户名 {BLANK}"


@dataclass(frozen=True)
class Purged:
    """What one retention round did."""

    tickets: int
    messages: int
    tracker_events: int
    failed_logins: int = 0

    def __str__(self) -> str:
        return (
            f"{self.tickets} 件工单，{self.messages} 条对话消息，"
            f"{self.tracker_events} 条 Rasa 对话事件，{self.failed_logins} 条登录失败记录"
        )


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


def scrub_message(text: str, secrets: list[str]) -> str:
    return _ACCESS_CODE.sub(r"\1******", scrub(text, secrets) or "")


def purge_transcripts(
    sessions: sessionmaker[Session], before: dt.datetime, *, batch: int = 500
) -> int:
    """Mask the gateway's messages older than `before`; returns how many rows changed.

    Run before the tickets are purged: a conversation's secrets are read from the tickets it
    filed (their sender id is its Rasa sender id until the ticket is purged). A conversation
    quiet since `before` is done in one go and marked by its blanked sender key; in one still
    in use only the old messages are masked (masking is idempotent: the next round changes
    nothing)."""
    changed = 0
    while True:
        with sessions.begin() as session:
            quiet = session.scalars(
                select(Conversation)
                .where(Conversation.last_active_at < before, Conversation.sender_key != PURGED)
                .order_by(Conversation.id)
                .limit(batch)
            ).all()
            for conversation in quiet:
                changed += _mask_messages(session, conversation, None)
                conversation.sender_key = PURGED
                conversation.state = "closed"
        if len(quiet) < batch:
            break
    with sessions.begin() as session:
        live = session.scalars(
            select(Conversation).where(
                Conversation.last_active_at >= before,
                Conversation.id.in_(
                    select(ConversationMessage.conversation_id).where(
                        ConversationMessage.at < before
                    )
                ),
            )
        ).all()
        for conversation in live:
            changed += _mask_messages(session, conversation, before)
    return changed


def _mask_messages(session: Session, conversation: Conversation, before: dt.datetime | None) -> int:
    secrets = [
        s
        for t in session.scalars(
            select(Ticket).where(Ticket.sender_id == conversation.rasa_sender_id)
        )
        for s in (t.caller_name, t.enterprise_name, t.uscc, t.phone)
        if s
    ]
    messages = session.scalars(
        select(ConversationMessage)
        .where(ConversationMessage.conversation_id == conversation.id)
        .order_by(ConversationMessage.id)
    ).all()
    # The names the person gave, also in a chat that filed nothing (bot/domain/callers.py),
    # and the identifiers the NLU found in what they said (a credit code mask_text keeps).
    secrets += names_said((m.direction, m.text) for m in messages)
    secrets += [v for m in messages for v in _identifiers_found(m.entities)]
    changed = 0
    purged_ids = []
    for message in messages:
        if before is not None and message.at >= before:
            continue
        purged_ids.append(message.id)
        masked = scrub_message(message.text, secrets)
        entities = scrub_entities(message.entities, secrets)
        if masked != message.text or message.card is not None or entities != message.entities:
            message.text = masked
            message.card = None
            message.entities = entities
            changed += 1
    if purged_ids:
        _scrub_corrections(session, conversation.id, purged_ids, secrets)
    return changed


def scrub_entities(stored: str | None, secrets: list[str]) -> str | None:
    """A stored NLU result (JSON [{entity, value, start, end}]) with its values scrubbed like
    the message: identifiers blanked, names and numbers in other values masked."""
    if not stored:
        return stored
    try:
        entities = json.loads(stored)
    except ValueError:
        return "[]"  # unreadable: nothing of it is kept rather than something unmasked
    if not isinstance(entities, list):
        return "[]"
    kept: list[Any] = []
    for entity in entities:
        if not isinstance(entity, dict):
            continue
        value = entity.get("value")
        if entity.get("entity") in IDENTIFYING_ENTITIES:
            value = BLANK
        elif isinstance(value, str):
            value = scrub_message(value, secrets)
        elif value is not None:
            value = scrub_message(json.dumps(value, ensure_ascii=False), secrets)
        kept.append({**entity, "value": value})
    scrubbed = json.dumps(kept, ensure_ascii=False)
    return stored if scrubbed == json.dumps(entities, ensure_ascii=False) else scrubbed


def _identifiers_found(stored: str | None) -> list[str]:
    """The values of identifying entities in a stored NLU result (before it is scrubbed)."""
    try:
        entities = json.loads(stored or "[]")
    except ValueError:
        return []
    if not isinstance(entities, list):
        return []
    return [
        e["value"]
        for e in entities
        if isinstance(e, dict)
        and e.get("entity") in IDENTIFYING_ENTITIES
        and isinstance(e.get("value"), str)
        and len(e["value"]) >= 4
        and e["value"] != BLANK
    ]


def _scrub_corrections(
    session: Session, conversation_id: int, message_ids: list[int], secrets: list[str]
) -> None:
    """Names said in the conversation out of the reviewers' corrections of its old messages;
    same length, so the corrected entity spans still point at the same words."""
    names = sorted({s for s in secrets if len(s) >= 2}, key=len, reverse=True)
    if not names:
        return
    for correction in session.scalars(
        select(NluCorrection).where(
            NluCorrection.conversation_id == conversation_id,
            NluCorrection.message_id.in_(message_ids),
        )
    ):
        text = correction.text
        for name in names:
            text = text.replace(name, "某" * len(name))
        if text != correction.text:
            correction.text = text


def purge_failed_logins(sessions: sessionmaker[Session], before: dt.datetime) -> int:
    """Failed sign-ins older than `before` keep their time, address and count, not the name
    typed; returns how many rows changed."""
    with sessions.begin() as session:
        done = session.execute(
            update(AuditEntry)
            .where(
                AuditEntry.action == FAILED_LOGIN,
                AuditEntry.at < before,
                AuditEntry.detail != FAILED_LOGIN_PURGED,
            )
            .values(detail=FAILED_LOGIN_PURGED)
        )
        return int(done.rowcount or 0)  # type: ignore[attr-defined]


def cutoff(now: dt.datetime, days: int) -> dt.datetime:
    if days < 1:
        raise ValueError("保留天数至少为 1 天")
    return now - dt.timedelta(days=days)


def purge_tickets(
    sessions: sessionmaker[Session],
    days: int,
    *,
    clock: Callable[[], dt.datetime] = utcnow,
    batch: int = 500,
) -> int:
    """Retention: blank/mask personal data of tickets (and handoffs) older than `days` days.

    Statistics stay (this module says what goes); done in short batches so
    filing never waits long on the lock. Returns how many tickets were anonymised."""
    before = cutoff(clock(), days)
    done = 0
    while True:
        with sessions.begin() as session:
            tickets = session.scalars(
                select(Ticket)
                .where(Ticket.created_at < before, Ticket.sender_id != PURGED)
                .order_by(Ticket.id)
                .limit(batch)
            ).all()
            for ticket in tickets:
                anonymise_ticket(ticket)
            if len(tickets) < batch:
                for handoff in session.scalars(
                    select(Handoff).where(Handoff.created_at < before, Handoff.sender_id != PURGED)
                ):
                    anonymise_handoff(handoff)
        done += len(tickets)
        if len(tickets) < batch:
            return done


def purge_database(
    database_url: str, days: int, *, actor: str, tracker_url: str | None = None
) -> Purged:
    """One purge round (CLI and the web service's schedule): transcripts, tickets, and Rasa's
    tracker store when its URL is given; audited."""
    from bot.privacy.tracker_retention import purge_tracker_events
    from bot.store.audit import AuditLog
    from bot.store.db import make_engine, make_session_factory

    before = cutoff(dt.datetime.now(dt.UTC), days)
    engine = make_engine(database_url)
    try:
        sessions = make_session_factory(engine)
        messages = purge_transcripts(sessions, before)
        tickets = purge_tickets(sessions, days)
        events = purge_tracker_events(tracker_url, before) if tracker_url else 0
        failed_logins = purge_failed_logins(sessions, before)
        done = Purged(tickets, messages, events, failed_logins)
        AuditLog(sessions).write(
            username=actor, role="system", action="purge", detail=f"{days} 天前：{done}"
        )
        return done
    finally:
        engine.dispose()
