"""The one clock: now in UTC (what the database stores) and China's time zone (what people read).

China keeps UTC+8 all year, so a fixed offset is exact; it carries the zone's name for logs.
"""

from __future__ import annotations

import datetime as dt

CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def utcnow() -> dt.datetime:
    """Now, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)
