"""Telling the person who filed a ticket that a department answered it — exactly once.

The outbox claim: a `ticket_notices` row per ticket event, inserted in the same transaction as the
pushed message. Its unique event id means that of several processes or replicas polling at once,
exactly one records the notice; the others' inserts fail and they move on. Delivery (SSE …) comes
after the commit and may miss a person who is not connected — the message stays in their thread.
A WeChat person whose customer-service window has closed also gets a template message, queued in
the same transaction (bot/conversations/wechat_store.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.conversations.record import ConversationStore
from bot.conversations.wechat_store import enqueue_answered
from bot.domain.clock import utcnow
from bot.store.models import Conversation, ConversationMessage, Ticket, TicketEvent, TicketNotice

# The lifecycle action whose note is the department's answer (data/hotline/ticket_states.yml).
ANSWER_ACTION = "answer"
# The one wording of the notice.
ANSWER_NOTICE = "您的工单 {number} 已有答复：{reply}"
# Answers older than this when first seen (e.g. before this feature was deployed) are not pushed.
NOTICE_HORIZON = dt.timedelta(days=7)
BATCH = 50


@dataclass(frozen=True)
class NoticeText:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    card: dict[str, str] | None = None


@dataclass(frozen=True)
class Claimed:
    """A notice this process recorded and now has to deliver."""

    conversation: Conversation
    messages: list[ConversationMessage]


def claim_answer_notices(sessions: sessionmaker[Session]) -> list[Claimed]:
    """Record a notice for every answer event nobody claimed yet; returns those claimed here."""
    store = ConversationStore(sessions)
    since = utcnow() - NOTICE_HORIZON
    with sessions() as session:
        pending = session.execute(
            select(
                TicketEvent.id, TicketEvent.note, TicketEvent.at, Ticket.number, Ticket.sender_id
            )
            .join(Ticket, Ticket.id == TicketEvent.ticket_id)
            .outerjoin(TicketNotice, TicketNotice.ticket_event_id == TicketEvent.id)
            .where(
                TicketEvent.action == ANSWER_ACTION,
                TicketEvent.at >= since,
                TicketNotice.id.is_(None),
            )
            .order_by(TicketEvent.id)
            .limit(BATCH)
        ).all()
    claimed = []
    for event_id, note, event_at, number, sender_id in pending:
        try:
            with sessions.begin() as session:
                conversation = store.by_rasa_sender(session, sender_id)
                notice = TicketNotice(
                    ticket_event_id=event_id,
                    conversation_id=conversation.id if conversation else None,
                    claimed_at=utcnow(),
                )
                session.add(notice)
                session.flush()  # the claim: a second claimant fails here
                if conversation is None:
                    continue  # filed outside a recorded conversation: nobody to tell here
                text = ANSWER_NOTICE.format(number=number, reply=note or "")
                rows = store.record_push(session, conversation.id, [NoticeText(text)], "out")
                notice.message_id = rows[0].id
                # WeChat after its 48-hour window: the pushed message cannot reach the person,
                # a template message (queued here, so exactly once) tells them instead.
                enqueue_answered(
                    session,
                    notice_id=notice.id,
                    conversation=conversation,
                    number=number,
                    event_at=event_at,
                    now=utcnow(),
                )
                claimed.append(Claimed(conversation, rows))
        except IntegrityError:
            continue  # another process or replica claimed it first
    return claimed
