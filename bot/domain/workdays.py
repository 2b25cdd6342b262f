"""Working days (工作日) for ticket deadlines: weekends, public holidays and 调休 working days.

Deadlines such as "办结 within 13 working days" or 当日交办 are counted in working days, and which
days those are is decided every year by the State Council notice, not by a rule. So the
calendar is data (data/hotline/holidays.yml); this module only reads it and counts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from bot.domain.tables import PROJECT_ROOT

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
# Office hours of the handling units; a working day ends at OFFICE_CLOSES local time.
OFFICE_OPENS = time(8, 30)
OFFICE_CLOSES = time(17, 30)

DEFAULT_PATH = PROJECT_ROOT / "data" / "hotline" / "holidays.yml"


@dataclass(frozen=True)
class WorkCalendar:
    """Holidays and 调休 working days up to covered_until; after it, Monday to Friday."""

    holidays: frozenset[date]
    workdays: frozenset[date]
    covered_until: date

    def covers(self, day: date) -> bool:
        """Whether the published arrangement is known for this day (else weekends only)."""
        return day <= self.covered_until

    def is_working_day(self, day: date) -> bool:
        """Mon–Fri unless a holiday; Sat/Sun only when listed as a 调休 working day."""
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The day that is `days` working days after start (start not counted).

        days=0 gives the first working day on or after start.
        """
        if days < 0:
            raise ValueError(f"days must not be negative, got {days}")
        day = start
        if days == 0:
            while not self.is_working_day(day):
                day += timedelta(days=1)
            return day
        remaining = days
        while remaining:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days d satisfy start < d <= end (0 when end <= start)."""
        count = 0
        day = start + timedelta(days=1)
        while day <= end:
            if self.is_working_day(day):
                count += 1
            day += timedelta(days=1)
        return count

    def end_of_working_day(self, day: date, tz: tzinfo = LOCAL_TZ) -> datetime:
        """OFFICE_CLOSES on that day, in tz (the caller decides that day is a working day)."""
        return datetime.combine(day, OFFICE_CLOSES, tzinfo=tz)

    def next_office_close(self, moment: datetime) -> datetime:
        """Deadline for 当日交办: today's close if still open today, else the next working day's.

        moment must be timezone-aware (a naive time is ambiguous); it is converted to LOCAL_TZ.
        """
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("next_office_close needs a timezone-aware datetime")
        local = moment.astimezone(LOCAL_TZ)
        today = local.date()
        if self.is_working_day(today) and local.time() < OFFICE_CLOSES:
            return self.end_of_working_day(today)
        return self.end_of_working_day(self.add_working_days(today, 1))


def load_calendar(path: Path | None = None) -> WorkCalendar:
    """Read a calendar file; the default data/hotline/holidays.yml is read once and cached."""
    if path is None:
        return _default_calendar()
    return _parse(path)


@functools.lru_cache(maxsize=1)
def _default_calendar() -> WorkCalendar:
    return _parse(DEFAULT_PATH)


def _as_date(value: Any, where: str) -> date:
    # YAML turns unquoted 2026-01-01 into a date; accept a quoted ISO string too.
    if isinstance(value, datetime):
        raise ValueError(f"{where}: expected a date, got a date and time {value!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{where}: expected an ISO date (YYYY-MM-DD), got {value!r}")


def _parse(path: Path) -> WorkCalendar:
    """Parse and check the file, so a typo fails at load time rather than shifting a deadline."""
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    if not isinstance(raw, dict) or "covered_until" not in raw:
        raise ValueError(f"{path}: needs covered_until and years")
    covered_until = _as_date(raw["covered_until"], f"{path}: covered_until")
    holidays: set[date] = set()
    workdays: set[date] = set()
    for year, entry in (raw.get("years") or {}).items():
        where = f"{path}: {year}"
        for holiday in entry.get("holidays") or []:
            first = _as_date(holiday["from"], f"{where} {holiday.get('name')} from")
            last = _as_date(holiday["to"], f"{where} {holiday.get('name')} to")
            if last < first:
                raise ValueError(f"{where} {holiday.get('name')}: 'to' {last} is before {first}")
            day = first
            while day <= last:
                holidays.add(day)
                day += timedelta(days=1)
        for value in entry.get("workdays") or []:
            day = _as_date(value, f"{where} workdays")
            if day.weekday() < 5:
                raise ValueError(f"{where}: workday {day} is not a Saturday or Sunday")
            workdays.add(day)
    both = holidays & workdays
    if both:
        raise ValueError(f"{path}: both holiday and working day: {sorted(both)}")
    beyond = sorted(d for d in holidays | workdays if d > covered_until)
    if beyond:
        raise ValueError(f"{path}: dates after covered_until {covered_until}: {beyond}")
    return WorkCalendar(frozenset(holidays), frozenset(workdays), covered_until)
