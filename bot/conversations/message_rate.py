"""How many messages a person sent in the last minute, from the gateway's own record.

The limit is counted from `conversation_messages` (every inbound message is recorded there
before it is relayed), so it holds across processes and replicas with no store of its own, and a
「新的对话」 does not reset it (the count is per channel sender key, over all its conversations).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.clock import utcnow
from bot.domain.tables import load_table
from bot.store.models import Conversation, ConversationMessage

WINDOW = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class MessageLimits:
    per_minute: int
    refused: str  # the polite answer
    per_ip_per_minute: int = 0  # web chat, per client address (0: no such limit)


@functools.cache
def load_message_limits() -> MessageLimits:
    table = load_table("limits")["messages"]
    return MessageLimits(
        per_minute=int(table["per_minute"]),
        refused=str(table["refused"]),
        per_ip_per_minute=int(table.get("per_ip_per_minute") or 0),
    )


class MessageRate:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        limits: MessageLimits | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self.limits = limits or load_message_limits()
        self._clock = clock

    def allows(self, channel: str, sender_key: str) -> bool:
        """False when this sender already sent `per_minute` messages in the last minute."""
        since = self._clock() - WINDOW
        theirs = select(Conversation.id).where(
            Conversation.channel == channel, Conversation.sender_key == sender_key
        )
        with self._sessions() as session:
            sent = session.scalar(
                select(func.count(ConversationMessage.id)).where(
                    ConversationMessage.conversation_id.in_(theirs),
                    ConversationMessage.direction == "in",
                    ConversationMessage.at >= since,
                )
            )
        return int(sent or 0) < self.limits.per_minute
