"""Live takeover: who holds a conversation, the bot or a person.

The gateway relays a message to Rasa unless its conversation's state is `human`; these are the
only writes the console makes to the gateway's record — the state, nothing else — and the
handoff queue entry moves through TicketService (waiting → taken → done).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import Conversation, Handoff

HOLDERS = ("bot", "human")


def conversation_of(sessions: sessionmaker[Session], rasa_sender_id: str) -> Conversation | None:
    with sessions() as session:
        found = session.scalars(
            select(Conversation).where(Conversation.rasa_sender_id == rasa_sender_id)
        ).first()
        session.expunge_all()
        return found


def handoff(sessions: sessionmaker[Session], handoff_id: int) -> Handoff | None:
    with sessions() as session:
        found = session.get(Handoff, handoff_id)
        session.expunge_all()
        return found


def hand_to(sessions: sessionmaker[Session], conversation_id: int, holder: str) -> bool:
    """The bot or a person holds the conversation from now on; False if it is closed."""
    if holder not in HOLDERS:
        raise ValueError(holder)
    with sessions.begin() as session:
        result = session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.state != "closed")
            .values(state=holder)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
