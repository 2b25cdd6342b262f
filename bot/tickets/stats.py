"""The numbers people look at: counts over time, the hotline's 三率, on-time shares, hot spots,
and the department integrity board (政务诚信). Read-only; definitions in docs/console.md.

One query loads a compact fact row per ticket filed in the period (with the first dispatch, sign
and answer times and whether it was reopened); everything else is plain Python over those rows,
so each figure is defined once, in code a reader can check against the docs.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.clock import CHINA_TZ
from bot.store.models import Ticket, TicketEvent

CLOSED = ("closed", "revisited")
SATISFIED = ("满意", "基本满意")
ARREARS = ("arrears", "wage_arrears")


@dataclass(frozen=True)
class Fact:
    number: str
    created_at: dt.datetime
    status: str
    category: str
    district: str
    department: str
    organization: str
    amount: Decimal | None
    supervision: str
    rating: str | None
    sign_due_at: dt.datetime | None
    answer_due_at: dt.datetime | None
    dispatched_at: dt.datetime | None
    signed_at: dt.datetime | None
    answered_at: dt.datetime | None
    reopened: bool


def load_facts(sessions: sessionmaker[Session], start: dt.datetime, end: dt.datetime) -> list[Fact]:
    """One row per ticket filed in [start, end)."""

    def first(action: str | tuple[str, ...]):  # type: ignore[no-untyped-def]
        actions = (action,) if isinstance(action, str) else action
        return (
            select(func.min(TicketEvent.at))
            .where(TicketEvent.ticket_id == Ticket.id, TicketEvent.action.in_(actions))
            .correlate(Ticket)
            .scalar_subquery()
        )

    query = select(
        Ticket.number,
        Ticket.created_at,
        Ticket.status,
        Ticket.category,
        Ticket.district,
        Ticket.department,
        Ticket.organization,
        Ticket.amount,
        Ticket.supervision,
        Ticket.rating,
        Ticket.sign_due_at,
        Ticket.answer_due_at,
        first(("dispatch", "redispatch")),
        first("sign"),
        first("answer"),
        first("reopen"),
    ).where(Ticket.created_at >= start, Ticket.created_at < end)
    with sessions() as session:
        rows = session.execute(query).all()
    return [
        Fact(
            number=r[0],
            created_at=_utc(r[1]),
            status=r[2],
            category=r[3],
            district=r[4] or "未知",
            department=r[5] or "待派单",
            organization=r[6] or "",
            amount=r[7],
            supervision=r[8],
            rating=r[9],
            sign_due_at=_utc(r[10]),
            answer_due_at=_utc(r[11]),
            dispatched_at=_utc(r[12]),
            signed_at=_utc(r[13]),
            answered_at=_utc(r[14]),
            reopened=r[15] is not None,
        )
        for r in rows
    ]


def _utc(value: Any) -> Any:
    """Event times from a subquery come back naive on SQLite (no column type to convert them)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def by_day(facts: list[Fact], key: str, top: int = 8) -> dict[str, Any]:
    """Tickets per Beijing day for the `top` largest groups of `key` (the rest as 其他)."""
    totals = Counter(getattr(f, key) for f in facts)
    keep = [k for k, _ in totals.most_common(top)]
    days = sorted({f.created_at.astimezone(CHINA_TZ).date().isoformat() for f in facts})
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for f in facts:
        group = getattr(f, key) if getattr(f, key) in keep else "其他"
        counts[group][f.created_at.astimezone(CHINA_TZ).date().isoformat()] += 1
    return {
        "days": days,
        "series": [{"name": g, "data": [counts[g][d] for d in days]} for g in sorted(counts)],
    }


def rates(facts: list[Fact], now: dt.datetime) -> dict[str, Any]:
    """三率 and the on-time shares (docs/console.md defines each)."""
    sign_due = [
        f
        for f in facts
        if f.dispatched_at and (f.signed_at or (f.sign_due_at and f.sign_due_at < now))
    ]
    signed_on_time = [
        f for f in sign_due if f.signed_at and f.sign_due_at and f.signed_at <= f.sign_due_at
    ]
    # Due to be answered: answered already, or the answer deadline has passed.
    answer_due = [f for f in facts if f.answered_at or (f.answer_due_at and f.answer_due_at <= now)]
    resolved = [f for f in answer_due if f.status in CLOSED]
    answered = [f for f in facts if f.answered_at]
    answered_on_time = [
        f
        for f in answered
        if f.answer_due_at and f.answered_at and f.answered_at <= f.answer_due_at
    ]
    rated = [f for f in facts if f.rating]
    satisfied = [f for f in rated if f.rating in SATISFIED]
    return {
        "response": share(len(signed_on_time), len(sign_due)),
        "resolution": share(len(resolved), len(answer_due)),
        "satisfaction": share(len(satisfied), len(rated)),
        "sign_on_time": share(len(signed_on_time), len(sign_due)),
        "answer_on_time": share(len(answered_on_time), len(answered)),
        "counts": {
            "filed": len(facts),
            "sign_due": len(sign_due),
            "signed_on_time": len(signed_on_time),
            "answer_due": len(answer_due),
            "resolved": len(resolved),
            "answered": len(answered),
            "answered_on_time": len(answered_on_time),
            "rated": len(rated),
            "satisfied": len(satisfied),
        },
    }


def hot_spots(facts: list[Fact], now: dt.datetime, threshold: int) -> list[dict[str, Any]]:
    """One respondent, or one district with one kind of complaint, with ≥ threshold tickets in
    the last 7 days."""
    week = [f for f in facts if f.created_at >= now - dt.timedelta(days=7)]
    found = []
    for kind, key in (("被反映单位", lambda f: f.organization), ("区县+类别", _place)):
        for name, count in Counter(key(f) for f in week if key(f)).most_common():
            if count >= threshold:
                found.append({"kind": kind, "name": name, "count": count})
    return found


def _place(f: Fact) -> str:
    from bot.domain.categories import category_label

    return f"{f.district} · {category_label(f.category)}"


INTEGRITY_COLUMNS = (
    ("department", "承办单位"),
    ("arrears", "拖欠账款投诉"),
    ("broken_promise", "承诺不兑现投诉"),
    ("contract_breach", "合同违约投诉"),
    ("amount_owed", "反映欠款金额（元）"),
    ("answered", "已答复件数"),
    ("answered_on_time", "按时答复率"),
    ("reopen_rate", "重办率"),
    ("supervised", "督办件数"),
    ("total", "工单总数"),
)


def integrity(facts: list[Fact]) -> list[dict[str, Any]]:
    """Per department: the 政务诚信 complaints, sums owed, answering on time, reopens, 督办."""
    groups: dict[str, list[Fact]] = defaultdict(list)
    for f in facts:
        groups[f.department].append(f)
    board = []
    for department, items in groups.items():
        answered = [f for f in items if f.answered_at]
        on_time = [
            f
            for f in answered
            if f.answer_due_at and f.answered_at and f.answered_at <= f.answer_due_at
        ]
        board.append(
            {
                "department": department,
                "arrears": sum(1 for f in items if f.category in ARREARS),
                "broken_promise": sum(1 for f in items if f.category == "broken_promise"),
                "contract_breach": sum(1 for f in items if f.category == "contract_breach"),
                "amount_owed": sum(
                    (f.amount for f in items if f.category in ARREARS and f.amount), Decimal(0)
                ),
                "answered": len(answered),
                "answered_on_time": share(len(on_time), len(answered)),
                "reopen_rate": share(sum(1 for f in answered if f.reopened), len(answered)),
                "supervised": sum(1 for f in items if f.supervision != "none"),
                "total": len(items),
            }
        )
    return board


def sort_board(
    board: list[dict[str, Any]], key: str, descending: bool = True
) -> list[dict[str, Any]]:
    if key not in dict(INTEGRITY_COLUMNS):
        key = "total"
    # None (no answered tickets) sorts last either way.
    present = [r for r in board if r[key] is not None]
    missing = [r for r in board if r[key] is None]
    return sorted(present, key=lambda r: r[key], reverse=descending) + missing
