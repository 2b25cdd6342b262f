"""The working-day calendar, against the real data/hotline/holidays.yml (2026 State Council notice)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.domain.workdays import (
    LOCAL_TZ,
    OFFICE_CLOSES,
    OFFICE_OPENS,
    WorkCalendar,
    load_calendar,
)

D = date


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return load_calendar()


def close(day: date) -> datetime:
    return datetime.combine(day, time(17, 30), tzinfo=LOCAL_TZ)


def local(y: int, m: int, d: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=LOCAL_TZ)


# --- the data file ------------------------------------------------------------------------------


def test_default_calendar_is_cached_and_covers_2026(cal: WorkCalendar) -> None:
    assert load_calendar() is cal
    assert cal.covered_until == D(2027, 1, 1)
    assert cal.covers(D(2026, 12, 31)) and cal.covers(D(2027, 1, 1))
    assert not cal.covers(D(2027, 1, 2))


def test_2026_notice_as_published(cal: WorkCalendar) -> None:
    """Every 放假 day and every 调休 working day of 国办发明电〔2025〕7号, exactly."""
    spans = [
        (D(2026, 1, 1), D(2026, 1, 3)),
        (D(2026, 2, 15), D(2026, 2, 23)),
        (D(2026, 4, 4), D(2026, 4, 6)),
        (D(2026, 5, 1), D(2026, 5, 5)),
        (D(2026, 6, 19), D(2026, 6, 21)),
        (D(2026, 9, 25), D(2026, 9, 27)),
        (D(2026, 10, 1), D(2026, 10, 7)),
    ]
    expected: set[date] = set()
    for first, last in spans:
        expected |= {first + timedelta(days=i) for i in range((last - first).days + 1)}
    assert {d for d in cal.holidays if d.year == 2026} == expected
    assert len(expected) == 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert {d for d in cal.workdays if d.year == 2026} == {
        D(2026, 1, 4),
        D(2026, 2, 14),
        D(2026, 2, 28),
        D(2026, 5, 9),
        D(2026, 9, 20),
        D(2026, 10, 10),
    }
    assert D(2027, 1, 1) in cal.holidays


def test_2026_has_248_working_days(cal: WorkCalendar) -> None:
    # 261 weekdays (2026 starts on a Thursday) - 19 holidays on weekdays + 6 调休 weekend days.
    assert cal.working_days_between(D(2025, 12, 31), D(2026, 12, 31)) == 248


# --- is_working_day -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2026, 3, 9), True),  # Monday
        (D(2026, 3, 13), True),  # Friday
        (D(2026, 3, 14), False),  # Saturday
        (D(2026, 3, 15), False),  # Sunday
        (D(2026, 1, 1), False),  # 元旦, Thursday
        (D(2026, 1, 4), True),  # Sunday, 调休上班
        (D(2026, 2, 13), True),  # Friday before 春节
        (D(2026, 2, 14), True),  # Saturday, 调休上班
        (D(2026, 2, 16), False),  # Monday in 春节
        (D(2026, 2, 23), False),  # Monday, last day of 春节
        (D(2026, 2, 24), True),
        (D(2026, 2, 28), True),  # Saturday, 调休上班
        (D(2026, 4, 6), False),  # Monday, 清明节
        (D(2026, 5, 5), False),  # Tuesday, 劳动节
        (D(2026, 5, 9), True),  # Saturday, 调休上班
        (D(2026, 6, 19), False),  # Friday, 端午节
        (D(2026, 9, 20), True),  # Sunday, 调休上班
        (D(2026, 9, 25), False),  # Friday, 中秋节
        (D(2026, 10, 7), False),  # Wednesday, 国庆节
        (D(2026, 10, 10), True),  # Saturday, 调休上班
        (D(2026, 10, 11), False),  # the Sunday after stays a rest day
        (D(2027, 1, 1), False),  # 元旦 2027, Friday
        (D(2027, 1, 4), True),
        (D(2027, 2, 8), True),  # beyond covered_until: weekdays only, even around 春节
        (D(2027, 2, 6), False),
    ],
)
def test_is_working_day(cal: WorkCalendar, day: date, working: bool) -> None:
    assert cal.is_working_day(day) is working


# --- add_working_days / working_days_between ----------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (D(2026, 3, 12), 1, D(2026, 3, 13)),  # Thu -> Fri
        (D(2026, 3, 13), 1, D(2026, 3, 16)),  # Fri -> Mon over the weekend
        (D(2026, 3, 14), 1, D(2026, 3, 16)),  # from a Saturday
        (D(2026, 3, 13), 5, D(2026, 3, 20)),
        (D(2026, 2, 13), 1, D(2026, 2, 14)),  # Friday -> Saturday 调休 working day
        (D(2026, 2, 14), 1, D(2026, 2, 24)),  # over the whole 春节 break
        (D(2026, 2, 13), 2, D(2026, 2, 24)),
        (D(2026, 2, 27), 1, D(2026, 2, 28)),  # Friday -> Saturday 调休
        (D(2026, 2, 28), 1, D(2026, 3, 2)),
        (D(2026, 9, 18), 1, D(2026, 9, 20)),  # Fri -> Sunday 调休, skipping Saturday
        (D(2026, 9, 24), 1, D(2026, 9, 28)),  # over 中秋节
        (D(2026, 9, 30), 1, D(2026, 10, 8)),  # over 国庆节
        (D(2026, 10, 9), 1, D(2026, 10, 10)),  # Friday -> Saturday 调休
        (D(2026, 10, 10), 1, D(2026, 10, 12)),
        # 13 working days from Wednesday 25 Nov: 26, 27, 30 Nov, 1-4, 7-11, 14 Dec.
        (D(2026, 11, 25), 13, D(2026, 12, 14)),
        # Over 元旦 2027 (Friday): 31 Dec, then Monday 4 Jan.
        (D(2026, 12, 30), 2, D(2027, 1, 4)),
        (D(2026, 12, 31), 1, D(2027, 1, 4)),
        # 0 days: the first working day on or after start.
        (D(2026, 3, 10), 0, D(2026, 3, 10)),
        (D(2026, 3, 14), 0, D(2026, 3, 16)),
        (D(2026, 2, 15), 0, D(2026, 2, 24)),
        (D(2026, 2, 14), 0, D(2026, 2, 14)),
    ],
)
def test_add_working_days(cal: WorkCalendar, start: date, days: int, expected: date) -> None:
    assert cal.add_working_days(start, days) == expected


def test_add_working_days_rejects_negative(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_working_days(D(2026, 3, 10), -1)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (D(2026, 3, 13), D(2026, 3, 16), 1),  # Fri -> Mon
        (D(2026, 3, 16), D(2026, 3, 16), 0),
        (D(2026, 3, 16), D(2026, 3, 13), 0),  # end before start
        (D(2026, 2, 13), D(2026, 2, 28), 6),  # 14 Feb, 24-27 Feb, 28 Feb
        (D(2026, 9, 30), D(2026, 10, 10), 3),  # 8, 9, 10 Oct
        (D(2026, 12, 25), D(2027, 1, 8), 9),  # 28-31 Dec, 4-8 Jan
    ],
)
def test_working_days_between(cal: WorkCalendar, start: date, end: date, expected: int) -> None:
    assert cal.working_days_between(start, end) == expected


def test_between_inverts_add_over_the_whole_year(cal: WorkCalendar) -> None:
    start = D(2025, 12, 20)
    for offset in range(400):
        day = start + timedelta(days=offset)
        for n in (1, 2, 5, 13):
            deadline = cal.add_working_days(day, n)
            assert cal.is_working_day(deadline)
            assert cal.working_days_between(day, deadline) == n, (day, n)


# --- office hours -------------------------------------------------------------------------------


def test_office_hours() -> None:
    assert OFFICE_OPENS == time(8, 30)
    assert OFFICE_CLOSES == time(17, 30)


def test_end_of_working_day(cal: WorkCalendar) -> None:
    end = cal.end_of_working_day(D(2026, 3, 10))
    assert end == datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
    assert end.tzinfo is LOCAL_TZ
    assert cal.end_of_working_day(D(2026, 3, 10), UTC) == datetime(2026, 3, 10, 17, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (local(2026, 3, 10, 7, 0), close(D(2026, 3, 10))),  # before opening: still today
        (local(2026, 3, 10, 10, 0), close(D(2026, 3, 10))),
        (local(2026, 3, 10, 17, 29, 59), close(D(2026, 3, 10))),
        (local(2026, 3, 10, 17, 30), close(D(2026, 3, 11))),  # at closing: next working day
        (local(2026, 3, 10, 21, 0), close(D(2026, 3, 11))),
        (local(2026, 3, 13, 19, 0), close(D(2026, 3, 16))),  # Friday evening -> Monday
        (local(2026, 3, 14, 10, 0), close(D(2026, 3, 16))),  # Saturday
        (local(2026, 10, 3, 10, 0), close(D(2026, 10, 8))),  # inside 国庆节
        (local(2026, 9, 30, 18, 0), close(D(2026, 10, 8))),  # evening before 国庆节
        (local(2026, 2, 14, 9, 0), close(D(2026, 2, 14))),  # Saturday 调休 working day
        (local(2026, 2, 14, 18, 0), close(D(2026, 2, 24))),  # after it: over 春节
        (local(2026, 12, 31, 18, 0), close(D(2027, 1, 4))),  # over 元旦 2027
    ],
)
def test_next_office_close(cal: WorkCalendar, moment: datetime, expected: datetime) -> None:
    result = cal.next_office_close(moment)
    assert result == expected
    assert result.tzinfo is LOCAL_TZ
    assert result.time() == OFFICE_CLOSES


def test_next_office_close_converts_aware_times(cal: WorkCalendar) -> None:
    # 09:20 UTC is 17:20 in Luoyang: still today. 09:40 UTC is 17:40: tomorrow.
    assert cal.next_office_close(datetime(2026, 3, 10, 9, 20, tzinfo=UTC)) == close(D(2026, 3, 10))
    assert cal.next_office_close(datetime(2026, 3, 10, 9, 40, tzinfo=UTC)) == close(D(2026, 3, 11))
    # Thursday 20:00 UTC is already Friday 04:00 in Luoyang.
    assert cal.next_office_close(datetime(2026, 3, 12, 20, 0, tzinfo=UTC)) == close(D(2026, 3, 13))


def test_next_office_close_rejects_naive_times(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.next_office_close(datetime(2026, 3, 10, 10, 0))


# --- the data file decides ----------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "holidays.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_different_file_gives_a_different_calendar(tmp_path: Path, cal: WorkCalendar) -> None:
    path = write(
        tmp_path,
        """
covered_until: 2026-12-31
years:
  2026:
    holidays:
      - {name: 测试假, from: 2026-03-10, to: "2026-03-11"}
    workdays:
      - 2026-03-14
""",
    )
    other = load_calendar(path)
    assert other is not cal
    assert other.covered_until == D(2026, 12, 31)
    # The real calendar: 10-11 March are ordinary working days, 14 March a Saturday off.
    assert cal.is_working_day(D(2026, 3, 10)) and not cal.is_working_day(D(2026, 3, 14))
    assert cal.add_working_days(D(2026, 3, 9), 1) == D(2026, 3, 10)
    # This file says the opposite.
    assert not other.is_working_day(D(2026, 3, 10))
    assert not other.is_working_day(D(2026, 3, 11))
    assert other.is_working_day(D(2026, 3, 14))
    assert other.add_working_days(D(2026, 3, 9), 1) == D(2026, 3, 12)
    assert other.add_working_days(D(2026, 3, 12), 2) == D(2026, 3, 14)
    # And it knows nothing of 春节 or 国庆节.
    assert other.is_working_day(D(2026, 2, 16))
    assert not other.is_working_day(D(2026, 2, 14))
    assert other.add_working_days(D(2026, 9, 30), 1) == D(2026, 10, 1)
    assert other.next_office_close(local(2026, 3, 9, 18, 0)) == close(D(2026, 3, 12))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "covered_until: 2026-12-31\nyears:\n  2026:\n    workdays: [2026-03-11]\n",
            "not a Saturday or Sunday",
        ),
        (
            "covered_until: 2026-12-31\nyears:\n  2026:\n    holidays:\n"
            "      - {name: x, from: 2026-03-11, to: 2026-03-10}\n",
            "before",
        ),
        (
            "covered_until: 2026-06-30\nyears:\n  2026:\n    holidays:\n"
            "      - {name: x, from: 2026-10-01, to: 2026-10-07}\n",
            "after covered_until",
        ),
        (
            "covered_until: 2026-12-31\nyears:\n  2026:\n    holidays:\n"
            "      - {name: x, from: 2026-03-14, to: 2026-03-15}\n    workdays: [2026-03-14]\n",
            "both holiday and working day",
        ),
        (
            "covered_until: 2026-12-31\nyears:\n  2026:\n    workdays: [2026/03/14]\n",
            "ISO date",
        ),
        ("years: {}\n", "covered_until"),
    ],
)
def test_bad_files_are_rejected(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_calendar(write(tmp_path, text))
