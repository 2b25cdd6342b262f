"""When the human web-chat seats (在线人工坐席) are there: working days, fixed periods.

The hotline's telephone answers around the clock, but the people who take over a chat work
office hours; someone asking for a human at night must be told when one will read it. The
periods are data (data/hotline/office_hours.yml) and the working days are the holiday calendar
of `workdays`, so 调休 weekends and holidays count the same way as for ticket deadlines.
Every function takes the moment as an argument: the clock belongs to the caller (and the tests).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.domain.tables import TABLES_DIR
from bot.domain.workdays import LOCAL_TZ, WorkCalendar, load_calendar

WEEKDAYS = "一二三四五六日"
# The calendar falls back to Monday–Friday after it ends, so a working day is always this close.
_MAX_DAYS_AHEAD = 60


@dataclass(frozen=True)
class OfficeHours:
    """Opening periods on working days, in Beijing time."""

    periods: tuple[tuple[time, time], ...]
    calendar: WorkCalendar
    description: str

    def is_open(self, moment: datetime) -> bool:
        local = _local(moment)
        if not self.calendar.is_working_day(local.date()):
            return False
        return any(start <= local.time() < end for start, end in self.periods)

    def next_opening(self, moment: datetime) -> datetime:
        """`moment` itself when a seat is there now, else the start of the next period."""
        local = _local(moment)
        if self.is_open(local):
            return local
        day = local.date()
        for _ in range(_MAX_DAYS_AHEAD):
            if self.calendar.is_working_day(day):
                for start, _end in self.periods:
                    opening = datetime.combine(day, start, tzinfo=LOCAL_TZ)
                    if opening > local:
                        return opening
            day += timedelta(days=1)
        raise ValueError("office_hours.yml: no opening period within 60 days")


def when_phrase(opening: datetime, now: datetime) -> str:
    """「今天14:30」「明天（周一）8:30」「10月8日（周四）8:30」 — as a person says it."""
    local_now = _local(now)
    local = _local(opening)
    clock = f"{local.hour}:{local.minute:02d}"
    days = (local.date() - local_now.date()).days
    weekday = f"周{WEEKDAYS[local.weekday()]}"
    if days == 0:
        return f"今天{clock}"
    if days == 1:
        return f"明天（{weekday}）{clock}"
    if days == 2:
        return f"后天（{weekday}）{clock}"
    return f"{local.month}月{local.day}日（{weekday}）{clock}"


def load_office_hours(
    path: Path | None = None, calendar: WorkCalendar | None = None
) -> OfficeHours:
    """The seats' hours (data/hotline/office_hours.yml by default, read once)."""
    if path is None and calendar is None:
        return _default()
    return _parse(path or TABLES_DIR / "office_hours.yml", calendar or load_calendar())


@functools.cache
def _default() -> OfficeHours:
    return _parse(TABLES_DIR / "office_hours.yml", load_calendar())


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("office hours need a timezone-aware datetime")
    return moment.astimezone(LOCAL_TZ)


def _time(value: Any, where: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{where}: expected HH:MM, got {value!r}") from None


def _parse(path: Path, calendar: WorkCalendar) -> OfficeHours:
    """Checked at load time: a typo must not silently close the seats or open them at night."""
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    if not isinstance(raw, dict) or not raw.get("periods"):
        raise ValueError(f"{path}: needs periods")
    periods: list[tuple[time, time]] = []
    for number, entry in enumerate(raw["periods"], 1):
        where = f"{path}: period {number}"
        start, end = _time(entry.get("from"), where), _time(entry.get("to"), where)
        if end <= start:
            raise ValueError(f"{where}: ends ({end}) before it starts ({start})")
        if periods and start < periods[-1][1]:
            raise ValueError(f"{where}: overlaps or precedes the period before it")
        periods.append((start, end))
    description = str(raw.get("describe") or "")
    if not description:
        raise ValueError(f"{path}: needs describe (the hours as told to a person)")
    return OfficeHours(tuple(periods), calendar, description)
