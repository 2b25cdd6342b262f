"""What the 待复核 page lists: read-only queries over the gateway's record and the tickets, plus
the two stored second looks they rely on (the model's category for a ticket's words, the form
that was open when a conversation went quiet).

- category disagreements: tickets whose category is not what the current model makes of the
  description (CategoryCheck rows, written by the console's 重新检查);
- fallback endings: conversations whose last two person messages both went to fallback
  (intent nlu_fallback, or the bot answered with utter_default — action_default_fallback);
- gave up mid-form: conversations quiet for a while, no ticket filed from them, whose last
  message left the complaint form open.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Subquery, and_, case, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.store.models import CategoryCheck, Conversation, ConversationMessage, Ticket

FALLBACK_INTENT = "nlu_fallback"
INTAKE_FORM = "complaint_form"
NO_FORM = ""  # checked: no form was open (NULL: not checked yet)
QUIET = dt.timedelta(minutes=30)
LOOK_BACK = dt.timedelta(days=30)


@dataclass(frozen=True)
class ConversationFlag:
    conversation_id: int
    channel: str
    last_active_at: dt.datetime
    last_text: str  # the person's last message, as typed (the page masks it)


@dataclass(frozen=True)
class CategoryFlag:
    number: str
    category: str
    model_category: str
    intent: str
    confidence: float | None
    model: str
    checked_at: dt.datetime


def _ended(now: dt.datetime, quiet: dt.timedelta, look_back: dt.timedelta) -> ColumnElement[bool]:
    """A conversation that is over: closed, or silent for `quiet`, and not older than look_back."""
    return and_(
        Conversation.last_active_at >= now - look_back,
        or_(Conversation.state == "closed", Conversation.last_active_at <= now - quiet),
    )


def _no_ticket() -> ColumnElement[bool]:
    return ~exists(select(Ticket.id).where(Ticket.sender_id == Conversation.rasa_sender_id))


def _last_inbound() -> Subquery:
    m = ConversationMessage
    return (
        select(m.conversation_id, func.max(m.id).label("message_id"))
        .where(m.direction == "in")
        .group_by(m.conversation_id)
        .subquery()
    )


def fallback_endings(
    sessions: sessionmaker[Session],
    now: dt.datetime,
    fallback_texts: list[str],
    *,
    quiet: dt.timedelta = QUIET,
    look_back: dt.timedelta = LOOK_BACK,
    limit: int = 200,
) -> list[ConversationFlag]:
    m = ConversationMessage
    reply = aliased(ConversationMessage)
    ranked = (
        select(
            m.id,
            m.conversation_id,
            m.intent,
            func.row_number().over(partition_by=m.conversation_id, order_by=m.id.desc()).label("n"),
        )
        .join(Conversation, Conversation.id == m.conversation_id)
        .where(m.direction == "in", _ended(now, quiet, look_back))
        .subquery()
    )
    fell_back = or_(
        ranked.c.intent == FALLBACK_INTENT,
        exists(
            select(reply.id).where(reply.reply_to == ranked.c.id, reply.text.in_(fallback_texts))
        ),
    )
    twice = (
        select(ranked.c.conversation_id)
        .where(ranked.c.n <= 2)
        .group_by(ranked.c.conversation_id)
        .having(func.count() == 2, func.sum(case((fell_back, 1), else_=0)) == 2)
    )
    return _conversation_flags(sessions, Conversation.id.in_(twice), limit)


def forms_to_check(
    sessions: sessionmaker[Session],
    now: dt.datetime,
    *,
    quiet: dt.timedelta = QUIET,
    look_back: dt.timedelta = LOOK_BACK,
    limit: int = 100,
) -> list[tuple[int, str]]:
    """(last person message id, Rasa sender id) of quiet conversations without a ticket whose
    open form is not known yet: Rasa's tracker is asked once, the answer stored on the message."""
    last = _last_inbound()
    with sessions() as session:
        rows = session.execute(
            select(ConversationMessage.id, Conversation.rasa_sender_id)
            .join(last, last.c.conversation_id == Conversation.id)
            .join(ConversationMessage, ConversationMessage.id == last.c.message_id)
            .where(
                _ended(now, quiet, look_back),
                Conversation.state != "human",
                ConversationMessage.active_form.is_(None),
                ConversationMessage.replied_at.is_not(None),
                _no_ticket(),
            )
            .order_by(Conversation.last_active_at.desc())
            .limit(limit)
        ).all()
        return [(int(r[0]), str(r[1])) for r in rows]


def record_form(sessions: sessionmaker[Session], message_id: int, form: str | None) -> None:
    with sessions.begin() as session:
        session.execute(
            update(ConversationMessage)
            .where(ConversationMessage.id == message_id)
            .values(active_form=(form or NO_FORM)[:64])
        )


def gave_up_mid_form(
    sessions: sessionmaker[Session],
    now: dt.datetime,
    *,
    quiet: dt.timedelta = QUIET,
    look_back: dt.timedelta = LOOK_BACK,
    limit: int = 200,
) -> list[ConversationFlag]:
    last = _last_inbound()
    left_open = (
        select(last.c.conversation_id)
        .join(ConversationMessage, ConversationMessage.id == last.c.message_id)
        .where(ConversationMessage.active_form == INTAKE_FORM)
    )
    condition = and_(Conversation.id.in_(left_open), _ended(now, quiet, look_back), _no_ticket())
    return _conversation_flags(sessions, condition, limit)


def _conversation_flags(
    sessions: sessionmaker[Session], condition, limit: int
) -> list[ConversationFlag]:
    last = _last_inbound()
    with sessions() as session:
        rows = session.execute(
            select(Conversation, ConversationMessage.text)
            .join(last, last.c.conversation_id == Conversation.id)
            .join(ConversationMessage, ConversationMessage.id == last.c.message_id)
            .where(condition)
            .order_by(Conversation.last_active_at.desc())
            .limit(limit)
        ).all()
        return [ConversationFlag(c.id, c.channel, c.last_active_at, str(text)) for c, text in rows]


# -- the model's second opinion on ticket categories -----------------------------------------


def tickets_to_check(
    sessions: sessionmaker[Session],
    model: str,
    now: dt.datetime,
    *,
    look_back: dt.timedelta = dt.timedelta(days=90),
    limit: int = 100,
) -> list[tuple[int, str]]:
    """(ticket id, description) of recent tickets not yet checked with this model, newest first."""
    with sessions() as session:
        rows = session.execute(
            select(Ticket.id, Ticket.description)
            .outerjoin(CategoryCheck, CategoryCheck.ticket_id == Ticket.id)
            .where(
                Ticket.created_at >= now - look_back,
                or_(CategoryCheck.ticket_id.is_(None), CategoryCheck.model != model),
            )
            .order_by(Ticket.id.desc())
            .limit(limit)
        ).all()
        return [(int(r[0]), str(r[1])) for r in rows]


def record_check(
    sessions: sessionmaker[Session],
    ticket_id: int,
    model: str,
    intent: str | None,
    confidence: float | None,
    category: str | None,
    now: dt.datetime,
) -> None:
    with sessions.begin() as session:
        check = session.get(CategoryCheck, ticket_id) or CategoryCheck(ticket_id=ticket_id)
        check.model = model[:128]
        check.intent = intent
        check.confidence = confidence
        check.category = category
        check.checked_at = now
        session.merge(check)


def category_disagreements(sessions: sessionmaker[Session], limit: int = 200) -> list[CategoryFlag]:
    with sessions() as session:
        rows = session.execute(
            select(Ticket.number, Ticket.category, CategoryCheck)
            .join(CategoryCheck, CategoryCheck.ticket_id == Ticket.id)
            .where(CategoryCheck.category.is_not(None), CategoryCheck.category != Ticket.category)
            .order_by(Ticket.id.desc())
            .limit(limit)
        ).all()
        return [
            CategoryFlag(
                number,
                category,
                str(c.category),
                str(c.intent),
                c.confidence,
                c.model,
                c.checked_at,
            )
            for number, category, c in rows
        ]
