"""The gateway's record: conversations and every message in and out, on SQLite or PostgreSQL.

Synchronous SQLAlchemy like the ticket service; the web gateway calls it in a worker thread. The
unique (conversation, external id) constraint is what makes a channel's retried delivery count
once even when two replicas receive it at the same moment.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.clock import utcnow
from bot.domain.text import normalize
from bot.domain.tickets import (
    MASKED_CODE,
    access_code_matches,
    mask_access_codes,
    mask_labelled_access_codes,
)
from bot.store.models import Conversation, ConversationMessage

OPEN_STATES = ("bot", "queued", "human")


class OutMessage(Protocol):
    """What the record needs of one outgoing message (the gateway's Reply is one)."""

    @property
    def text(self) -> str: ...
    @property
    def buttons(self) -> list[dict[str, str]]: ...
    @property
    def card(self) -> dict[str, str] | None: ...


@dataclass(frozen=True)
class Understanding:
    """What Rasa's NLU made of one person's message (its `/model/parse` answer)."""

    intent: str | None
    confidence: float | None
    entities: list[dict[str, Any]]

    @classmethod
    def from_parse(cls, parsed: dict[str, Any]) -> Understanding:
        intent = parsed.get("intent") or {}
        confidence = intent.get("confidence")
        return cls(
            intent=str(intent["name"])[:64] if intent.get("name") else None,
            confidence=float(confidence) if isinstance(confidence, int | float) else None,
            entities=[
                {k: e.get(k) for k in ("entity", "value", "start", "end")}
                for e in parsed.get("entities") or []
                if isinstance(e, dict) and isinstance(e.get("entity"), str)
            ],
        )


@dataclass(frozen=True)
class Inbound:
    """The inbound row just recorded, or the one recorded first when this is a duplicate."""

    message_id: int
    duplicate: bool


class ConversationStore:
    def __init__(
        self, sessions: sessionmaker[Session], read_sessions: sessionmaker[Session] | None = None
    ) -> None:
        self.sessions = sessions
        # Plain reads (SQLite: a deferred, query-only engine, bot/store/db.make_read_engine):
        # the service's engine takes SQLite's write lock for every transaction, reads included.
        self.read_sessions = read_sessions or sessions

    def current(self, channel: str, sender_key: str) -> Conversation:
        """The person's open conversation on this channel, opened on first contact.

        Read first without a write transaction: every message asks, a conversation is opened
        once. The write transaction looks again before opening (two first messages racing)."""
        with self.read_sessions() as session:
            found = self._latest(session, channel, sender_key)
            if found is not None and found.state in OPEN_STATES:
                return found
        with self.sessions.begin() as session:
            found = self._latest(session, channel, sender_key)
            if found is not None and found.state in OPEN_STATES:
                return found
            return self._open(session, channel, sender_key)

    @staticmethod
    def _latest(session: Session, channel: str, sender_key: str) -> Conversation | None:
        return session.scalars(
            select(Conversation)
            .where(Conversation.channel == channel, Conversation.sender_key == sender_key)
            .order_by(Conversation.id.desc())
            .limit(1)
        ).first()

    def open_new(self, channel: str, sender_key: str) -> Conversation:
        """「新的对话」: the earlier conversations are closed (kept) and a fresh one begins."""
        with self.sessions.begin() as session:
            session.execute(
                update(Conversation)
                .where(
                    Conversation.channel == channel,
                    Conversation.sender_key == sender_key,
                    Conversation.state.in_(OPEN_STATES),
                )
                .values(state="closed")
            )
            return self._open(session, channel, sender_key)

    def get(self, conversation_id: int) -> Conversation | None:
        with self.sessions() as session:
            return session.get(Conversation, conversation_id)

    def by_rasa_sender(self, session: Session, rasa_sender_id: str) -> Conversation | None:
        return session.scalars(
            select(Conversation).where(Conversation.rasa_sender_id == rasa_sender_id)
        ).first()

    def record_inbound(self, conversation_id: int, text: str, external_id: str | None) -> Inbound:
        """Record what the person sent; a repeated external id gives back the first row.

        An access code in it is kept masked (bot/domain/tickets.mask_access_codes): Rasa gets
        the text as typed from the gateway and checks the code; the record never holds it."""
        now = utcnow()
        try:
            with self.sessions.begin() as session:
                row = ConversationMessage(
                    conversation_id=conversation_id,
                    direction="in",
                    text=self._kept_inbound(session, conversation_id, text),
                    buttons="[]",
                    at=now,
                    external_id=external_id,
                    pushed=False,
                )
                session.add(row)
                session.execute(
                    update(Conversation)
                    .where(Conversation.id == conversation_id)
                    .values(last_active_at=now)
                )
                session.flush()
                return Inbound(row.id, duplicate=False)
        except IntegrityError:
            if external_id is None:
                raise
        with self.sessions() as session:
            first = session.scalars(
                select(ConversationMessage.id).where(
                    ConversationMessage.conversation_id == conversation_id,
                    ConversationMessage.external_id == external_id,
                )
            ).one()
            return Inbound(first, duplicate=True)

    @staticmethod
    def _kept_inbound(session: Session, conversation_id: int, text: str) -> str:
        """The person's message as recorded: a bare six-digit number is masked as a code when
        the bot's message before it asked for the 提取码 (the status form's question)."""
        if not access_code_matches(normalize(text)):
            return mask_access_codes(text)
        last_out = session.scalars(
            select(ConversationMessage.text)
            .where(
                ConversationMessage.conversation_id == conversation_id,
                ConversationMessage.direction != "in",
            )
            .order_by(ConversationMessage.id.desc())
            .limit(1)
        ).first()
        return mask_access_codes(text, asked="提取码" in (last_out or ""))

    def record_replies(
        self, conversation_id: int, inbound_id: int, replies: Sequence[OutMessage]
    ) -> None:
        """The bot's answers to one inbound message, and the marker that they are complete."""
        now = utcnow()
        with self.sessions.begin() as session:
            for reply in replies:
                session.add(self._row(conversation_id, reply, "out", now, reply_to=inbound_id))
            session.execute(
                update(ConversationMessage)
                .where(ConversationMessage.id == inbound_id)
                .values(replied_at=now)
            )

    def record_understanding(self, inbound_id: int, understood: Understanding) -> None:
        """The NLU result of a recorded inbound message (set after the bot answered it); an
        access code entity whose span the record masked is kept masked too."""
        with self.sessions.begin() as session:
            kept = session.scalars(
                select(ConversationMessage.text).where(ConversationMessage.id == inbound_id)
            ).first()
            entities = [_kept_entity(e, kept or "") for e in understood.entities]
            session.execute(
                update(ConversationMessage)
                .where(ConversationMessage.id == inbound_id, ConversationMessage.direction == "in")
                .values(
                    intent=understood.intent,
                    confidence=understood.confidence,
                    entities=json.dumps(entities, ensure_ascii=False),
                )
            )

    def forget_external_id(self, inbound_id: int) -> None:
        """Rasa failed: the message stays recorded, but a retry of it may be relayed again."""
        with self.sessions.begin() as session:
            session.execute(
                update(ConversationMessage)
                .where(ConversationMessage.id == inbound_id)
                .values(external_id=None)
            )

    def replies_to(self, inbound_id: int) -> list[ConversationMessage] | None:
        """The recorded replies, or None while the first delivery is still being answered."""
        with self.sessions() as session:
            inbound = session.get(ConversationMessage, inbound_id)
            if inbound is None or inbound.replied_at is None:
                return None
            return list(
                session.scalars(
                    select(ConversationMessage)
                    .where(ConversationMessage.reply_to == inbound_id)
                    .order_by(ConversationMessage.id)
                )
            )

    def record_push(
        self, session: Session, conversation_id: int, replies: Sequence[OutMessage], direction: str
    ) -> list[ConversationMessage]:
        """Messages sent out of band, inside the caller's transaction (the notice claim)."""
        now = utcnow()
        rows = [self._row(conversation_id, r, direction, now, pushed=True) for r in replies]
        session.add_all(rows)
        session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(last_active_at=now)
        )
        session.flush()
        return rows

    def push(
        self, conversation_id: int, replies: Sequence[OutMessage], direction: str
    ) -> list[ConversationMessage]:
        with self.sessions.begin() as session:
            return self.record_push(session, conversation_id, replies, direction)

    def history(self, conversation_id: int, limit: int = 200) -> list[ConversationMessage]:
        """The last `limit` messages, oldest first."""
        with self.sessions() as session:
            rows = session.scalars(
                select(ConversationMessage)
                .where(ConversationMessage.conversation_id == conversation_id)
                .order_by(ConversationMessage.id.desc())
                .limit(limit)
            ).all()
            return list(reversed(rows))

    def pushed_since(
        self, channel: str, sender_key: str, after_id: int
    ) -> list[ConversationMessage]:
        """Out-of-band messages for a person after a message id: what an SSE stream still owes
        them, whichever process or replica recorded the message."""
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(ConversationMessage)
                    .join(Conversation, Conversation.id == ConversationMessage.conversation_id)
                    .where(
                        Conversation.channel == channel,
                        Conversation.sender_key == sender_key,
                        ConversationMessage.pushed.is_(True),
                        ConversationMessage.id > after_id,
                    )
                    .order_by(ConversationMessage.id)
                    .limit(100)
                )
            )

    def last_message_id(self) -> int:
        with self.sessions() as session:
            return int(
                session.scalars(
                    select(ConversationMessage.id).order_by(ConversationMessage.id.desc()).limit(1)
                ).first()
                or 0
            )

    def _open(self, session: Session, channel: str, sender_key: str) -> Conversation:
        now = utcnow()
        conversation = Conversation(
            channel=channel,
            sender_key=sender_key,
            # A fresh id per conversation, so Rasa starts over and tickets name their thread.
            rasa_sender_id=f"{channel}-{secrets.token_hex(12)}",
            state="bot",
            created_at=now,
            last_active_at=now,
        )
        session.add(conversation)
        session.flush()
        return conversation

    @staticmethod
    def _row(
        conversation_id: int,
        reply: OutMessage,
        direction: str,
        now: dt.datetime,
        *,
        reply_to: int | None = None,
        pushed: bool = False,
    ) -> ConversationMessage:
        # The filing confirmation's code was shown to the person once, in the reply; the
        # record (web chat history, console transcripts) keeps it masked.
        card = {**reply.card, "access_code": MASKED_CODE} if reply.card else None
        return ConversationMessage(
            conversation_id=conversation_id,
            direction=direction,
            text=mask_labelled_access_codes(reply.text),
            buttons=json.dumps(reply.buttons, ensure_ascii=False),
            card=json.dumps(card, ensure_ascii=False) if card else None,
            at=now,
            reply_to=reply_to,
            pushed=pushed,
        )


def _kept_entity(entity: dict[str, Any], kept_text: str) -> dict[str, Any]:
    start, end = entity.get("start"), entity.get("end")
    if (
        entity.get("entity") == "access_code"
        and isinstance(start, int)
        and isinstance(end, int)
        and MASKED_CODE in kept_text[start:end]
    ):
        return {**entity, "value": MASKED_CODE}
    return entity


def message_json(row: ConversationMessage) -> dict[str, Any]:
    """One recorded message as the page and the console read it."""
    return {
        "id": row.id,
        "direction": row.direction,
        "text": row.text,
        "buttons": json.loads(row.buttons or "[]"),
        "card": json.loads(row.card) if row.card else None,
        "at": row.at.isoformat(),
    }
