"""The part of a recorded conversation that belongs to one ticket, and whether a department may
read any of it.

One chat can file several tickets (the second of two matters, a new complaint after the first).
The department handling ticket A must not read the caller's other complaints: ticket B may be
protected (identity protection: its words say who complained) or be another department's
business. So a ticket shows only its own part — from the end of the previous filing in that
conversation to the end of its own (the message that confirmed it, and the bot's replies to
that message) — and a department sees none of a conversation in which any other ticket is
protected or was routed elsewhere (not yet dispatched counts as elsewhere): the part boundary
keeps B's words out, but A's part would still show that a B exists, and its opening may be the
story both were filed from.

Boundaries are found from the record as it is, without a column: the ticket's creation time
against the messages' times (the filing commits after the confirming message was recorded and
before Rasa's replies are), so the rows recorded before this revision are scoped too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import Conversation, ConversationMessage, Ticket

# A conversation longer than this shows its first messages only (as the transcript did).
MAX_MESSAGES = 2000


@dataclass(frozen=True)
class TicketPart:
    """The messages a reader may see of the ticket's conversation (oldest first); `withheld`:
    the reader is a department and the conversation also filed a ticket it may not read."""

    messages: list[ConversationMessage] = field(default_factory=list)
    withheld: bool = False


def ticket_part(
    sessions: sessionmaker[Session], ticket: Ticket, *, department: str | None
) -> TicketPart:
    """`department`: the reader's department when the reader is a department user, else None
    (operators and supervisors read every ticket, so only the part boundary applies)."""
    if not ticket.sender_id:
        return TicketPart()
    with sessions() as session:
        conversation = session.scalars(
            select(Conversation).where(Conversation.rasa_sender_id == ticket.sender_id)
        ).first()
        if conversation is None:
            return TicketPart()
        siblings = session.execute(
            select(Ticket.id, Ticket.created_at, Ticket.identity_protected, Ticket.department)
            .where(Ticket.sender_id == ticket.sender_id)
            .order_by(Ticket.created_at, Ticket.id)
        ).all()
        if department is not None and any(
            s.id != ticket.id and (s.identity_protected or s.department != department)
            for s in siblings
        ):
            return TicketPart(withheld=True)
        rows = list(
            session.scalars(
                select(ConversationMessage)
                .where(ConversationMessage.conversation_id == conversation.id)
                .order_by(ConversationMessage.id)
                .limit(MAX_MESSAGES)
            )
        )
        session.expunge_all()
    ends = [_end_of_filing(rows, s.created_at) for s in siblings]
    index = next((i for i, s in enumerate(siblings) if s.id == ticket.id), None)
    if index is None:
        return TicketPart()
    start = ends[index - 1] if index > 0 else 0
    return TicketPart([m for m in rows if start < m.id <= ends[index]])


def _end_of_filing(rows: Sequence[ConversationMessage], filed_at: dt.datetime) -> int:
    """The id of the last message of a filing: the bot's last reply to the person's message
    recorded last before the ticket was created (or that message, when its replies were lost)."""
    confirming = None
    for message in rows:
        if message.direction == "in" and _aware(message.at) <= _aware(filed_at):
            confirming = message
    if confirming is None:
        return 0
    replies = [m.id for m in rows if m.reply_to == confirming.id]
    return max([confirming.id, *replies])


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
