"""Dates as callers write them, resolved against today: 2023年3月15日, 去年8月, 前年, 上个月, 昨天.

Values are ISO strings at the precision the caller gave: "2023-03-15", "2023-03" or "2023".
A month or day without a year means the most recent one that is not in the future: complaints
are about the past.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

_CN = {"零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
       "七": 7, "八": 8, "九": 9, "十": 10}  # fmt: skip
_NUM = r"[0-9]{1,4}|[零〇○一二两三四五六七八九十]{1,4}"
_RELATIVE_YEAR = {"今年": 0, "本年": 0, "去年": -1, "上年": -1, "前年": -2, "大前年": -3}

# A two-digit year only with a month after it: "15年3月" is a date, "30年特许经营权" and
# "干了15年" are durations.
_ABSOLUTE = re.compile(
    rf"(?:(?P<year>[0-9]{{4}}|[零〇○一二三四五六七八九]{{4}})年|(?<![0-9])(?P<year2>[0-9]{{2}})年(?=[0-9一二三四五六七八九十]{{1,2}}月))"
    rf"(?:(?P<month>{_NUM})月(?:份)?(?:(?P<day>{_NUM})[日号號])?)?"
)
_NUMERIC = re.compile(
    r"(?<![0-9])(?P<year>20[0-9]{2}|19[0-9]{2})[-/.](?P<month>[0-9]{1,2})(?:[-/.](?P<day>[0-9]{1,2}))?(?![0-9])"
)
_RELATIVE = re.compile(
    rf"(?P<rel>大前年|前年|去年|上年|今年|本年)(?:(?P<month>{_NUM})月(?:份)?(?:(?P<day>{_NUM})[日号號])?)?"
)
_MONTH_DAY = re.compile(rf"(?<![0-9年])(?P<month>{_NUM})月(?:份)?(?:(?P<day>{_NUM})[日号號])?")
_RELATIVE_MONTH = re.compile(r"上上个月|上个月|上月|这个月|本月|上上月")
_RELATIVE_DAY = re.compile(r"大前天|前天|昨天|今天")


def _cn_int(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if all(c in _CN for c in text):
        if "十" in text:  # 十二, 二十, 二十三, 十
            tens, _, ones = text.partition("十")
            return (_CN[tens] if tens else 1) * 10 + (_CN[ones] if ones else 0)
        value = 0
        for char in text:  # 二〇二三
            value = value * 10 + _CN[char]
        return value
    return None


def _iso(year: int, month: int | None = None, day: int | None = None) -> str | None:
    if not 1949 <= year <= 2100:
        return None
    if month is None:
        return f"{year:04d}"
    if not 1 <= month <= 12:
        return None
    if day is None:
        return f"{year:04d}-{month:02d}"
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _month_back(today: dt.date, months: int) -> str:
    index = today.year * 12 + today.month - 1 - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def find_dates(text: str, today: dt.date) -> Iterator[tuple[int, int, str]]:
    """(start, end, ISO value) for every date mention, non-overlapping, in text order."""
    found: list[tuple[int, int, str]] = []
    taken = [False] * len(text)

    def add(start: int, end: int, value: str | None) -> None:
        if value and not any(taken[start:end]):
            found.append((start, end, value))
            taken[start:end] = [True] * (end - start)

    for match in _ABSOLUTE.finditer(text):
        year = _cn_int(match.group("year") or match.group("year2"))
        if year is not None and year < 100:
            year += 2000
        month = _cn_int(match.group("month")) if match.group("month") else None
        day = _cn_int(match.group("day")) if match.group("day") else None
        if year is not None:
            add(match.start(), match.end(), _iso(year, month, day))
    for match in _NUMERIC.finditer(text):
        day = int(match.group("day")) if match.group("day") else None
        add(
            match.start(),
            match.end(),
            _iso(int(match.group("year")), int(match.group("month")), day),
        )
    for match in _RELATIVE.finditer(text):
        year = today.year + _RELATIVE_YEAR[match.group("rel")]
        month = _cn_int(match.group("month")) if match.group("month") else None
        day = _cn_int(match.group("day")) if match.group("day") else None
        add(match.start(), match.end(), _iso(year, month, day))
    for match in _RELATIVE_MONTH.finditer(text):
        back = {"上上个月": 2, "上上月": 2, "上个月": 1, "上月": 1}.get(match.group(0), 0)
        add(match.start(), match.end(), _month_back(today, back))
    for match in _RELATIVE_DAY.finditer(text):
        back = {"大前天": 3, "前天": 2, "昨天": 1, "今天": 0}[match.group(0)]
        add(match.start(), match.end(), (today - dt.timedelta(days=back)).isoformat())
    for match in _MONTH_DAY.finditer(text):
        month = _cn_int(match.group("month"))
        day = _cn_int(match.group("day")) if match.group("day") else None
        if month is None or not 1 <= month <= 12:
            continue
        year = today.year
        if (month, day or 1) > (today.month, today.day):
            year -= 1  # "8月" said in March means last August
        add(match.start(), match.end(), _iso(year, month, day))
    yield from sorted(found)


def parse_date(text: str, today: dt.date) -> str | None:
    return next((value for _, _, value in find_dates(text, today)), None)


_SPOKEN_WEEKS = {
    "上上个礼拜": 14, "上上周": 14, "上个礼拜": 7, "上礼拜": 7, "上周": 7, "上个星期": 7,
    "上星期": 7, "这个礼拜": 0, "这礼拜": 0, "这周": 0, "本周": 0, "这个星期": 0,
    "前几天": 3, "前两天": 2, "这几天": 0, "最近": 0,
}  # fmt: skip


# Seasons and parts of the year (入秋以后, 年初, 开春): the month they begin.
_SEASONS = {
    "开春": 3, "春天": 3, "春季": 3, "入夏": 6, "夏天": 6, "夏季": 6, "入秋": 9, "秋天": 9,
    "秋季": 9, "入冬": 11, "冬天": 12, "冬季": 12, "年初": 1, "年中": 6, "年底": 12, "年末": 12,
    "上半年": 1, "下半年": 7,
}  # fmt: skip


def _season(text: str, today: dt.date) -> str | None:
    for word, month in sorted(_SEASONS.items(), key=lambda item: -len(item[0])):
        if word not in text:
            continue
        year = today.year - (1 if "去年" in text else 2 if "前年" in text else 0)
        if (year, month) > (today.year, today.month):
            year -= 1  # 「入冬以后」 said in November of a year whose winter has not begun yet
        return f"{year:04d}-{month:02d}"
    return None


def parse_spoken_date(text: str, today: dt.date) -> str | None:
    """An answer to "when did it happen" that names no month (上个礼拜, 前几天): the month of that
    day. Only for answers to the date question; in a story these words are not worth a date."""
    found, season = parse_date(text, today), _season(text, today)
    if season is not None and (found is None or len(found) == 4):
        return season  # 「去年年底」: the season says more than the year
    if found is not None:
        return found
    for word, days in sorted(_SPOKEN_WEEKS.items(), key=lambda item: -len(item[0])):
        if word in text:
            return (today - dt.timedelta(days=days)).isoformat()[:7]
    return None
