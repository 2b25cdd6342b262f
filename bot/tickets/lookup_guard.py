"""Failed status look-ups (ticket number + access code), counted so nobody walks the code space.

A 6-digit code is one in a million: unlimited guesses would find it. Every look-up by code goes
through `LookupGuard.lookup`, which counts failures per ticket number, per sender (the channel's
own sender: web-chat cookie, WeChat openid) and per client address where the web service knows
it (an IPv6 client by its /64; behind nginx the address it forwards, which the web service
believes only from HOTLINE_TRUSTED_PROXIES — without it every citizen would share nginx's
address and one script could lock look-ups city-wide), in the ticket database — so the count
holds across processes and replicas, SQLite or PostgreSQL. When any count in the window reaches
its limit (data/hotline/limits.yml) the look-up is refused with the time to try again; an
operator can lift a lock-out in the console.

A wrong code and an unknown number are the same failure: the same answer, the same database work
(a failure row per key, one indexed read of the stored hash) and the same hash check, so neither
the answer nor its time tells which numbers exist. Unknown numbers are counted and locked too.

Concurrency: the attempt is recorded (committed) before the counts are read, so of several
simultaneous attempts the later ones see the earlier ones — the limit is exact across replicas,
not "limit plus however many arrived at once". A refused attempt removes its own rows (it made
no guess), a successful one too (it is not a failure).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Index, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.domain.addresses import address_block
from bot.domain.clock import CHINA_TZ, utcnow
from bot.domain.tables import load_table
from bot.store.models import Base, UTCDateTime
from bot.tickets.service import TicketService, TicketView

SCOPES = ("ticket", "sender", "ip")
SCOPE_LABELS = {"ticket": "工单号", "sender": "发送方", "ip": "来源 IP"}


class LookupFailure(Base):
    """One failed look-up for one key (a failure writes one row per scope)."""

    __tablename__ = "lookup_failures"
    __table_args__ = (Index("ix_lookup_failures_scope_key_at", "scope", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(8))  # ticket | sender | ip
    # ticket: the number; sender and ip: a SHA-256, so the table holds no openid or address.
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(64))  # what an operator sees (masked)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class LookupLimits:
    window: dt.timedelta
    per_ticket: int
    per_sender: int
    per_ip: int
    refused: str  # the answer, with {until}

    def of(self, scope: str) -> int:
        return {"ticket": self.per_ticket, "sender": self.per_sender, "ip": self.per_ip}[scope]


@functools.cache
def load_lookup_limits() -> LookupLimits:
    table = load_table("limits")["status_lookup"]
    return LookupLimits(
        window=dt.timedelta(minutes=int(table["window_minutes"])),
        per_ticket=int(table["per_ticket"]),
        per_sender=int(table["per_sender"]),
        per_ip=int(table["per_ip"]),
        refused=str(table["refused"]).replace("\n", ""),
    )


@dataclass(frozen=True)
class Requester:
    """Who asks: `sender` is channel-qualified (web:<cookie>, wechat:<openid>, rasa:<id>)."""

    sender: str
    client_ip: str | None = None


class LookupRefused(Exception):
    """Too many failures for this ticket, sender or address; `until` is when to try again."""

    def __init__(self, until: dt.datetime, limits: LookupLimits) -> None:
        super().__init__(f"look-up refused until {until.isoformat()}")
        self.until = until
        self.limits = limits

    @property
    def message(self) -> str:
        """The polite answer, with the time in Beijing time (and the day when not today)."""
        local = self.until.astimezone(CHINA_TZ)
        today = dt.datetime.now(CHINA_TZ).date()
        when = f"{local:%H:%M}" if local.date() == today else f"{local:%m月%d日 %H:%M}"
        return self.limits.refused.format(until=when)


@dataclass(frozen=True)
class LockOut:
    """A key whose failures in the window reached its limit (for the console)."""

    scope: str
    key: str
    label: str
    failures: int
    limit: int
    until: dt.datetime

    @property
    def scope_label(self) -> str:
        return SCOPE_LABELS[self.scope]


@dataclass(frozen=True)
class _Key:
    scope: str
    key: str
    label: str


def _digest(scope: str, value: str) -> str:
    return hashlib.sha256(f"{scope}:{value}".encode()).hexdigest()


def mask_sender(sender: str) -> str:
    channel, _, rest = sender.partition(":")
    return f"{channel}:{rest[:4]}…" if rest else f"{sender[:4]}…"


def mask_ip(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "?"
    if ip.version == 4:
        return ".".join(address.split(".")[:2]) + ".*.*"
    return ip.exploded.rsplit(":", 6)[0] + ":…"


def lookup_keys(number: str, who: Requester) -> list[_Key]:
    keys = [
        _Key("ticket", number, number),
        _Key("sender", _digest("sender", who.sender), mask_sender(who.sender)),
    ]
    if who.client_ip:
        # An IPv6 client by its /64, as the chat's message rate counts it: a connection is
        # handed a whole /64, and one address each would be a fresh count per guess.
        block = address_block(who.client_ip)
        keys.append(_Key("ip", _digest("ip", block), mask_ip(who.client_ip)))
    return keys


class LookupGuard:
    """The one way to look a ticket up by its access code (see the module docstring)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        service: TicketService,
        limits: LookupLimits | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._service = service
        self.limits = limits or load_lookup_limits()
        self._clock = clock

    def lookup(self, number: str, code: str, who: Requester) -> TicketView | None:
        """The ticket when number and code match; None for every kind of mismatch alike.

        Raises LookupRefused when a failure count has reached its limit."""
        number = number.strip().upper()[:32]
        keys = lookup_keys(number, who)
        now = self._clock()
        since = now - self.limits.window
        with self._sessions.begin() as session:
            for key in keys:  # keep each key's history to the window
                session.execute(
                    delete(LookupFailure).where(
                        LookupFailure.scope == key.scope,
                        LookupFailure.key == key.key,
                        LookupFailure.at < since,
                    )
                )
            rows = [LookupFailure(scope=k.scope, key=k.key, label=k.label, at=now) for k in keys]
            session.add_all(rows)
            session.flush()
            mine = [row.id for row in rows]
        until = self._refused_until(keys, mine, since)
        if until is not None:
            self._forget(mine)
            raise LookupRefused(until, self.limits)
        if not self._service.code_matches(number, code):
            return None
        self._forget(mine)
        return self._service.lookup(number, code)

    def _refused_until(
        self, keys: list[_Key], mine: list[int], since: dt.datetime
    ) -> dt.datetime | None:
        """When the busiest key over its limit falls back under it; None when none is over.

        Per key only the `limit` newest failures are read: the work does not grow with a key's
        history, so a number with many failures answers no slower than a fresh one."""
        until: dt.datetime | None = None
        with self._sessions() as session:
            for key in keys:
                limit = self.limits.of(key.scope)
                newest = session.scalars(
                    select(LookupFailure.at)
                    .where(
                        LookupFailure.scope == key.scope,
                        LookupFailure.key == key.key,
                        LookupFailure.at >= since,
                        LookupFailure.id.not_in(mine),
                    )
                    .order_by(LookupFailure.at.desc())
                    .limit(limit)
                ).all()
                if len(newest) >= limit:
                    # Under the limit again once the limit-th newest has left the window.
                    free_at = newest[limit - 1] + self.limits.window
                    until = free_at if until is None else max(until, free_at)
        return until

    def _forget(self, ids: list[int]) -> None:
        with self._sessions.begin() as session:
            session.execute(delete(LookupFailure).where(LookupFailure.id.in_(ids)))

    def lock_outs(self) -> list[LockOut]:
        """Every key locked right now, the latest-ending first; old rows are purged here."""
        now = self._clock()
        since = now - self.limits.window
        with self._sessions.begin() as session:
            session.execute(delete(LookupFailure).where(LookupFailure.at < since))
            rows = session.execute(
                select(
                    LookupFailure.scope, LookupFailure.key, LookupFailure.label, LookupFailure.at
                ).order_by(LookupFailure.at)
            ).all()
        grouped: dict[tuple[str, str], list[tuple[str, dt.datetime]]] = {}
        for scope, key, label, at in rows:
            grouped.setdefault((scope, key), []).append((label, at))
        found = []
        for (scope, key), items in grouped.items():
            limit = self.limits.of(scope) if scope in SCOPES else 0
            if limit and len(items) >= limit:
                until = items[len(items) - limit][1] + self.limits.window
                found.append(LockOut(scope, key, items[-1][0], len(items), limit, until))
        return sorted(found, key=lambda lock: lock.until, reverse=True)

    def lift(self, scope: str, key: str) -> int:
        """An operator lifts a lock-out: that key's failures are forgotten. Rows removed."""
        with self._sessions.begin() as session:
            result = session.execute(
                delete(LookupFailure).where(LookupFailure.scope == scope, LookupFailure.key == key)
            )
        return int(getattr(result, "rowcount", 0) or 0)
