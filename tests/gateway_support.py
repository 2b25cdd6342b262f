"""Helpers shared by the gateway and browser tests: answering a ticket through the ticket
service's real transitions, and reading the gateway's record."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from bot.store.db import make_session_factory
from bot.store.models import Conversation, ConversationMessage, Ticket
from bot.tickets.service import TicketService

ANSWER = "已派人修复，本周内完工。"


def answer_ticket(engine: Engine, number: str, reply: str = ANSWER) -> None:
    """派单 (if still waiting) → 签收 → 答复, as a department does it."""
    service = TicketService(make_session_factory(engine))
    with engine.connect() as conn:
        status = conn.execute(select(Ticket.status).where(Ticket.number == number)).scalar_one()
    if status == "received":
        service.act(number, "dispatch", actor="hotline:test", department="洛阳市城市管理局")
    service.act(number, "sign", actor="dept:test")
    service.act(number, "answer", actor="dept:test", note=reply)


def count_messages(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ConversationMessage)).scalar_one())


def conversations_of(engine: Engine, sender_key: str) -> list[Conversation]:
    with make_session_factory(engine)() as session:
        return list(
            session.scalars(
                select(Conversation)
                .where(Conversation.sender_key == sender_key)
                .order_by(Conversation.id)
            )
        )


def messages_of(engine: Engine, conversation_id: int) -> list[ConversationMessage]:
    with make_session_factory(engine)() as session:
        return list(
            session.scalars(
                select(ConversationMessage)
                .where(ConversationMessage.conversation_id == conversation_id)
                .order_by(ConversationMessage.id)
            )
        )
