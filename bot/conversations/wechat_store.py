"""The WeChat channel's rows in the ticket database: the replay window and the template outbox.

Both live in the ticket database rather than Redis because every profile has that database (SQLite
for one process, PostgreSQL shared by the production replicas) and a primary key or unique
constraint is atomic on both: two replicas shown the same replayed request cannot both accept it,
and a ticket notice gets one template message whichever replica claimed it. Redis exists only in
the production profile; the default profile would need a second implementation that no test of
the production path would exercise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import (
    Conversation,
    ConversationMessage,
    WeChatNonce,
    WeChatTemplateMessage,
)

CHANNEL = "wechat"
# WeChat's rule: customer-service messages (客服消息) reach a person only within 48 hours of their
# last message to the account.
CUSTOMER_SERVICE_WINDOW = dt.timedelta(hours=48)
# Within this much of the window's end a customer-service message is not attempted: the clocks of
# WeChat and ours differ, and a notice that misses the window is not retried.
WINDOW_MARGIN = dt.timedelta(minutes=30)
PENDING, SENT, FAILED = "pending", "sent", "failed"
ANSWERED = "ticket_answered"
# A template message being sent is leased for this long: a replica that dies mid-send leaves it
# to be picked up again (at least once: a duplicate notice beats a lost one).
LEASE = dt.timedelta(minutes=2)


# -- replay window ---------------------------------------------------------------------------


def claim_nonce(
    sessions: sessionmaker[Session], timestamp: int, nonce: str, body_digest: str, oldest: int
) -> bool:
    """False when (timestamp, nonce) was seen with another body: a replay of a signed URL.

    The same pair with the same body is WeChat delivering the same request again and is let
    through (the answered-turn key makes it harmless). Pairs older than `oldest` (a Unix time
    outside the freshness window) are pruned in the same transaction."""
    with sessions.begin() as session:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = (
            insert(WeChatNonce)
            .values(timestamp=timestamp, nonce=nonce, body_digest=body_digest)
            .on_conflict_do_nothing(index_elements=[WeChatNonce.timestamp, WeChatNonce.nonce])
            .returning(WeChatNonce.nonce)
        )
        if session.execute(stmt).first() is not None:
            session.execute(delete(WeChatNonce).where(WeChatNonce.timestamp < oldest))
            return True
        seen = session.scalar(
            select(WeChatNonce.body_digest).where(
                WeChatNonce.timestamp == timestamp, WeChatNonce.nonce == nonce
            )
        )
        return seen == body_digest


# -- the customer-service window ----------------------------------------------------------------


def last_message_at(session: Session, openid: str) -> dt.datetime | None:
    """When this person last wrote to the account (any of their WeChat conversations)."""
    return session.scalar(
        select(func.max(ConversationMessage.at))
        .join(Conversation, Conversation.id == ConversationMessage.conversation_id)
        .where(
            Conversation.channel == CHANNEL,
            Conversation.sender_key == openid,
            ConversationMessage.direction == "in",
        )
    )


def window_open(session: Session, openid: str, now: dt.datetime) -> bool:
    """True while a customer-service message can still reach this person."""
    last = last_message_at(session, openid)
    if last is None:
        return False
    if last.tzinfo is None:
        last = last.replace(tzinfo=dt.UTC)
    return now - last < CUSTOMER_SERVICE_WINDOW - WINDOW_MARGIN


def window_open_in(sessions: sessionmaker[Session], openid: str, now: dt.datetime) -> bool:
    with sessions() as session:
        return window_open(session, openid, now)


# -- the template outbox ----------------------------------------------------------------------


def enqueue_answered(
    session: Session,
    *,
    notice_id: int,
    conversation: Conversation,
    number: str,
    event_at: dt.datetime,
    now: dt.datetime,
) -> bool:
    """In the notice's claim transaction: a template message for a WeChat person whose window
    has closed. True when one was queued (False: the customer-service message will reach them)."""
    if conversation.channel != CHANNEL or window_open(session, conversation.sender_key, now):
        return False
    session.add(
        WeChatTemplateMessage(
            ticket_notice_id=notice_id,
            conversation_id=conversation.id,
            kind=ANSWERED,
            ticket_number=number,
            event_at=event_at,
            state=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    return True


@dataclass(frozen=True)
class DueMessage:
    """A template message this caller has leased and now sends."""

    id: int
    openid: str
    kind: str
    ticket_number: str
    event_at: dt.datetime
    attempts: int  # including this one


def lease_due(
    sessions: sessionmaker[Session], now: dt.datetime, limit: int = 20
) -> list[DueMessage]:
    """Pending messages whose time has come, each leased by an UPDATE that only one replica's
    statement can win: its WHERE re-checks the attempt count the SELECT saw, which the lease
    moves on."""
    with sessions() as session:
        rows = session.execute(
            select(
                WeChatTemplateMessage.id,
                WeChatTemplateMessage.attempts,
                WeChatTemplateMessage.kind,
                WeChatTemplateMessage.ticket_number,
                WeChatTemplateMessage.event_at,
                Conversation.sender_key,
            )
            .join(Conversation, Conversation.id == WeChatTemplateMessage.conversation_id)
            .where(
                WeChatTemplateMessage.state == PENDING,
                WeChatTemplateMessage.next_attempt_at <= now,
            )
            .order_by(WeChatTemplateMessage.next_attempt_at, WeChatTemplateMessage.id)
            .limit(limit)
        ).all()
    leased = []
    for id_, attempts, kind, number, event_at, openid in rows:
        with sessions.begin() as session:
            won = session.execute(
                update(WeChatTemplateMessage)
                .where(
                    WeChatTemplateMessage.id == id_,
                    WeChatTemplateMessage.state == PENDING,
                    WeChatTemplateMessage.attempts == attempts,
                    WeChatTemplateMessage.next_attempt_at <= now,
                )
                .values(next_attempt_at=now + LEASE, attempts=attempts + 1)
            ).rowcount  # type: ignore[attr-defined]
        if won == 1:
            leased.append(DueMessage(id_, openid, kind, number, event_at, attempts + 1))
    return leased


def mark_sent(sessions: sessionmaker[Session], message_id: int, now: dt.datetime) -> None:
    with sessions.begin() as session:
        session.execute(
            update(WeChatTemplateMessage)
            .where(WeChatTemplateMessage.id == message_id)
            .values(state=SENT, sent_at=now, last_error=None)
        )


def mark_failed_attempt(
    sessions: sessionmaker[Session],
    message_id: int,
    error: str,
    retry_at: dt.datetime | None,
) -> None:
    """Record a failed attempt: retried at `retry_at`, or given up on (state failed) when None."""
    values: dict[str, object] = {"last_error": error[:64]}
    if retry_at is None:
        values["state"] = FAILED
    else:
        values["next_attempt_at"] = retry_at
    with sessions.begin() as session:
        session.execute(
            update(WeChatTemplateMessage)
            .where(WeChatTemplateMessage.id == message_id)
            .values(values)
        )
