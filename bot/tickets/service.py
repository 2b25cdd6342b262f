"""The ticket service: the only code that writes tickets.

The bot tells a caller "已受理" only after `file()` has committed, and a lookup never reveals
whether a ticket number exists unless the access code matches.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import tickets as numbering
from bot.domain.categories import category_label, state_label
from bot.tickets.models import Ticket, TicketEvent, TicketSequence

# China has had no daylight saving time since 1991: a fixed offset is exact.
CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class TicketDraft:
    """What the intake form collected; validated before it gets here."""

    description: str
    organization: str
    district: str
    phone: str
    sender_id: str
    category: str = "unclassified"
    channel: str = "chat"


@dataclass(frozen=True)
class FiledTicket:
    number: str
    # None when this filing was a replay of an earlier one: the code was shown then, and
    # only its hash is kept.
    access_code: str | None
    created: bool


@dataclass(frozen=True)
class TicketView:
    """What a caller who proved ownership may see."""

    number: str
    category: str
    status: str
    organization: str
    district: str
    created_at: dt.datetime


class TicketService:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._sessions = session_factory
        self._clock = clock

    def file(self, draft: TicketDraft, *, idempotency_key: str | None = None) -> FiledTicket:
        """File a new ticket (status 已受理) with a fresh number and access code.

        A second call with the same idempotency key returns the first ticket instead of filing
        again, also when both calls race each other.
        """
        if idempotency_key:
            existing = self._by_idempotency_key(idempotency_key)
            if existing:
                return existing
        code = numbering.new_access_code()
        now = self._clock()
        try:
            with self._sessions.begin() as session:
                number = self._next_number(session, now)
                ticket = Ticket(
                    number=number,
                    access_code_hash=numbering.hash_access_code(code),
                    status="received",
                    category=draft.category,
                    description=draft.description,
                    organization=draft.organization,
                    district=draft.district,
                    phone=draft.phone,
                    channel=draft.channel,
                    sender_id=draft.sender_id,
                    idempotency_key=idempotency_key,
                    created_at=now,
                    updated_at=now,
                )
                ticket.events.append(
                    TicketEvent(
                        at=now,
                        actor="citizen",
                        action="file",
                        from_status=None,
                        to_status="received",
                        note=f"channel={draft.channel}",
                    )
                )
                session.add(ticket)
        except IntegrityError:
            # Lost a race on the idempotency key: the other filing is the ticket.
            if idempotency_key:
                existing = self._by_idempotency_key(idempotency_key)
                if existing:
                    return existing
            raise
        return FiledTicket(number=number, access_code=code, created=True)

    def lookup(self, number: str, access_code: str) -> TicketView | None:
        """The ticket if number and access code match; None for every kind of mismatch alike."""
        with self._sessions() as session:
            ticket = session.scalars(select(Ticket).where(Ticket.number == number.upper())).first()
            if ticket is None:
                # Same work as a real check, so timing does not tell which numbers exist.
                numbering.check_access_code(access_code, _dummy_hash())
                return None
            if not numbering.check_access_code(access_code, ticket.access_code_hash):
                return None
            return TicketView(
                number=ticket.number,
                category=category_label(ticket.category),
                status=state_label(ticket.status),
                organization=ticket.organization,
                district=ticket.district,
                created_at=ticket.created_at,
            )

    def _by_idempotency_key(self, key: str) -> FiledTicket | None:
        with self._sessions() as session:
            number = session.scalars(
                select(Ticket.number).where(Ticket.idempotency_key == key)
            ).first()
        return FiledTicket(number=number, access_code=None, created=False) if number else None

    def _next_number(self, session: Session, now: dt.datetime) -> str:
        day = now.astimezone(CHINA_TZ).date()
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = (
            insert(TicketSequence)
            .values(day=f"{day:%Y%m%d}", last_value=1)
            .on_conflict_do_update(
                index_elements=[TicketSequence.day],
                set_={"last_value": TicketSequence.last_value + 1},
            )
            .returning(TicketSequence.last_value)
        )
        sequence = session.execute(stmt).scalar_one()
        return numbering.format_ticket_id(day, sequence)


@functools.cache
def _dummy_hash() -> str:
    return numbering.hash_access_code("000000", salt=b"\0" * 16)
