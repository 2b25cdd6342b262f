"""Database models (SQLAlchemy 2). Schema changes go through Alembic migrations, never create_all."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    access_code_hash: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(32), index=True)
    category: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    organization: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    sender_id: Mapped[str] = mapped_column(String(128), index=True)
    # A retried or double-submitted confirmation carries the same key and files nothing new.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    # What the intake form collected besides the essentials.
    occurred_on: Mapped[str | None] = mapped_column(String(10))  # ISO date or month
    amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    caller_type: Mapped[str] = mapped_column(String(16), default="citizen")
    caller_name: Mapped[str | None] = mapped_column(String(100))  # None: anonymous
    enterprise_name: Mapped[str | None] = mapped_column(String(200))
    uscc: Mapped[str | None] = mapped_column(String(18))
    # Complaints against a government body: only supervision staff see who complained.
    identity_protected: Mapped[bool] = mapped_column(Boolean, default=False)

    # Routing and the clock (deadlines are computed from data/hotline when the event happens;
    # whether a ticket is overdue is computed from them, never stored).
    department: Mapped[str | None] = mapped_column(String(200))
    co_handlers: Mapped[str] = mapped_column(Text, default="")  # "、"-separated
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    answer_working_days: Mapped[int] = mapped_column(Integer, default=13)
    escalate_after_working_days: Mapped[int] = mapped_column(Integer, default=3)
    dispatch_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sign_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    answer_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Set when the first 催办 for a lapsed deadline is logged; a lapse past it → 督办.
    escalate_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    supervision: Mapped[str] = mapped_column(String(16), default="none")
    reply: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[str | None] = mapped_column(String(16))

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )


class TicketEvent(Base):
    """Append-only history: who did what to a ticket, when, and why."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class TicketSequence(Base):
    """Per-day counter behind ticket numbers; incremented by an upsert inside the filing
    transaction, so concurrent filings never share a number."""

    __tablename__ = "ticket_sequences"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


class Handoff(Base):
    """A conversation a caller asked a person to take over: the operator queue."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    ticket_number: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)  # waiting / taken / done
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


# -- operator console (bot/web/console): accounts, sessions, audit -------------------------------


class ConsoleUser(Base):
    """A person who works in the operator console; passwords only as argon2 hashes."""

    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # operator / department / supervisor / admin
    department: Mapped[str | None] = mapped_column(String(200))  # department handlers only
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Failed sign-ins are counted per (name, address): bot/accounts/users.LoginFailure.
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ConsoleSession(Base):
    """Server-side session data; the browser holds only the random key."""

    __tablename__ = "console_sessions"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class AuditEntry(Base):
    """Who saw unmasked personal data or changed something, when, from where (append-only)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    ticket_number: Mapped[str | None] = mapped_column(String(32), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    remote: Mapped[str] = mapped_column(String(64), default="")


# -- the gateway's record (bot/web/gateway.py): every message in and out, per channel -----------


class Conversation(Base):
    """One thread between a person on a channel and the hotline. 「新的对话」 opens a new row
    (with a new Rasa sender id) and leaves the old transcript recorded."""

    __tablename__ = "conversations"
    # The current thread of a person on a channel: newest by id for (channel, sender_key).
    __table_args__ = (Index("ix_conversations_channel_sender_key", "channel", "sender_key", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))  # web / wechat / enterprise
    sender_key: Mapped[str] = mapped_column(String(128))  # cookie, openid …
    rasa_sender_id: Mapped[str] = mapped_column(String(128), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="bot")  # bot/queued/human/closed
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_active_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class ConversationMessage(Base):
    """A message as typed or sent (the console masks personal data when it shows them)."""

    __tablename__ = "conversation_messages"
    __table_args__ = (UniqueConstraint("conversation_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(16))  # in / out / operator
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[str] = mapped_column(Text, default="[]")  # JSON [{title, payload}]
    card: Mapped[str | None] = mapped_column(Text)  # JSON {number, access_code}
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The channel's own message id (WeChat MsgId …): a retried delivery is answered once.
    external_id: Mapped[str | None] = mapped_column(String(128))
    # Outbound: the inbound message it answers (NULL when pushed out of band).
    reply_to: Mapped[int | None] = mapped_column(Integer, index=True)
    # Inbound: set once its replies are recorded, so a duplicate knows they are complete.
    replied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    pushed: Mapped[bool] = mapped_column(Boolean, default=False)  # sent out of band (SSE …)
    # Inbound: what Rasa's NLU understood (the gateway asks /model/parse after the reply), and,
    # for the last message of a quiet conversation, the form Rasa still had open ("" = none;
    # asked of the tracker by the console's 重新检查 — a form left open is a caller who gave up).
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    entities: Mapped[str | None] = mapped_column(Text)  # JSON [{entity, value, start, end}]
    active_form: Mapped[str | None] = mapped_column(String(64))


class NluCorrection(Base):
    """A reviewer's verdict on a misunderstood message: the right intent and entity spans, to be
    exported as training data. The text is kept with phone and ID numbers already replaced by
    fakes of the same shape (bot/domain/privacy.pseudonymise_text), so spans stay valid."""

    __tablename__ = "nlu_corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversation_messages.id", ondelete="SET NULL"), unique=True
    )
    conversation_id: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    predicted_intent: Mapped[str | None] = mapped_column(String(64))
    predicted_confidence: Mapped[float | None] = mapped_column(Float)
    intent: Mapped[str] = mapped_column(String(64))
    entities: Mapped[str] = mapped_column(Text, default="[]")  # JSON [{entity, start, end}]
    reviewer: Mapped[str] = mapped_column(String(64))
    reviewer_role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class CategoryCheck(Base):
    """What a model said about a ticket's description (its top intent and the category that
    maps to), so the console can flag tickets filed under another category."""

    __tablename__ = "category_checks"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(128))
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    category: Mapped[str | None] = mapped_column(String(64))
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class TicketNotice(Base):
    """The outbox claim for a ticket event told to the person: the row is inserted in the same
    transaction as the pushed message, and the unique event id makes that happen once across
    processes and replicas."""

    __tablename__ = "ticket_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_event_id: Mapped[int] = mapped_column(
        ForeignKey("ticket_events.id", ondelete="CASCADE"), unique=True
    )
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )  # NULL: filed outside any recorded conversation (phone), nothing to push
    message_id: Mapped[int | None] = mapped_column(Integer)
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


# -- WeChat (bot/web/wechat*.py, bot/conversations/wechat_store.py) ----------------------------------


class WeChatNonce(Base):
    """A signed WeChat request's (timestamp, nonce), kept while the timestamp is fresh: the same
    pair with another body is a replay and is refused. Older rows are pruned, since a request
    that old is refused for its timestamp before this table is asked."""

    __tablename__ = "wechat_nonces"

    timestamp: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    body_digest: Mapped[str] = mapped_column(String(64))  # sha256 of the raw body


class WeChatTemplateMessage(Base):
    """The outbox of template messages (模板消息): how a WeChat user learns of an answer once the
    customer-service window (48 h after their last message) has closed. One row per ticket notice,
    inserted in the notice's claim transaction; sent, retried with backoff or given up on by the
    WeChat channel's round (bot/web/wechat_outbox.py)."""

    __tablename__ = "wechat_template_messages"
    __table_args__ = (Index("ix_wechat_template_messages_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_notice_id: Mapped[int] = mapped_column(
        ForeignKey("ticket_notices.id", ondelete="CASCADE"), unique=True
    )
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))  # data/hotline/wechat_templates.yml
    ticket_number: Mapped[str] = mapped_column(String(32))
    event_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending / sent / failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # WeChat's errcode or the exception's type: never the person's data.
    last_error: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


# -- enterprise one-click reporting (bot/enterprises/registry.py, bot/web/enterprise_*.py) --------


class Enterprise(Base):
    """A registered enterprise; its API token is kept only as an HMAC-SHA256 hash.

    An account is a claim to be the company until an operator verifies it (`verification`):
    several accounts may claim one 统一社会信用代码 (a squatter's claim cannot lock the company
    out, and registering tells nobody whether the code is known), at most one verified."""

    __tablename__ = "enterprises"
    __table_args__ = (
        Index(
            "uq_enterprises_verified_uscc",
            "uscc",
            unique=True,
            sqlite_where=text("verification = 'verified'"),
            postgresql_where=text("verification = 'verified'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    # The sender id of its reports (`enterprise:<key>`), random: a sender id that could be
    # derived from the account (its number) would let anyone who can post to Rasa as that
    # sender list the company's tickets.
    sender_key: Mapped[str] = mapped_column(String(64), unique=True)
    # pending → verified or refused, by an operator (console 企业核实, `hotline enterprise
    # verify|refuse`), with the reason and who decided.
    verification: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    contact_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Set by an admin (console or `hotline enterprise suspend`): the token and the pages answer
    # 403 until it is lifted; the tickets already filed go on as before.
    suspended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    suspended_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)


class EnterpriseReport(Base):
    """An Idempotency-Key claimed by an enterprise, with the hash of the body it came with."""

    __tablename__ = "enterprise_reports"
    __table_args__ = (
        UniqueConstraint(
            "enterprise_id", "idempotency_key", name="uq_enterprise_reports_enterprise_key"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), unique=True
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class EnterpriseChatLink(Base):
    """A one-time code that lets a chat conversation act for an enterprise (10 minutes)."""

    __tablename__ = "enterprise_chat_links"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
