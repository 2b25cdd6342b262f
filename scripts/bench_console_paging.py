"""Console queue paging with 100,000 tickets: first page and a deep page, per filter.

    .venv/bin/python scripts/bench_console_paging.py                 # SQLite in a temp dir
    .venv/bin/python scripts/bench_console_paging.py postgresql://postgres@127.0.0.1:5432/x

The database must be new (it is migrated here). Synthetic tickets are bulk-inserted with plain
INSERTs — a fixture, not how tickets are filed — then `bot.tickets.queue.page`, the function the
console's list calls, is timed: page 1, and the page reached by following the cursor ~90,000
rows deep (the cursor is taken from the data, as a user clicking 下一页 would carry it). An
OFFSET query for the same deep page is timed beside it, for contrast. Median of 5 runs each,
after ANALYZE (a database in service has planner statistics).
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import sys
import tempfile
import time

from sqlalchemy import func, insert, select

from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import Ticket
from bot.tickets.queue import QueueFilter, filtered, page

N = 100_000
CATEGORIES = [
    "arrears",
    "wage_arrears",
    "broken_promise",
    "contract_breach",
    "livelihood",
    "dereliction",
]
DISTRICTS = ["洛龙区", "西工区", "老城区", "涧西区", "瀍河回族区", "偃师区", "孟津区", "伊川县"]
DEPARTMENTS = [f"洛阳市第{i}局" for i in range(40)]
STATES = ["dispatched", "signed", "in_progress", "answered", "closed", "revisited", "returned"]
WORDS = [
    "拖欠工程款",
    "路灯不亮",
    "停水三天",
    "噪音扰民",
    "物业不作为",
    "工资没发",
    "承诺的补贴没兑现",
]


def fill(url: str) -> None:
    rng = random.Random(7)
    engine = make_engine(url)
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    rows = []
    for i in range(N):
        at = start + dt.timedelta(minutes=5 * i)
        status = rng.choice(STATES)
        rows.append(
            {
                "number": f"LY{at:%Y%m%d}-{i:06d}",
                "access_code_hash": "x",
                "status": status,
                "category": rng.choice(CATEGORIES),
                "description": f"{rng.choice(WORDS)}，第{i}件，{rng.choice(WORDS)}",
                "organization": f"某单位{rng.randrange(500)}",
                "district": rng.choice(DISTRICTS),
                "phone": f"138{rng.randrange(10**8):08d}",
                "channel": "chat",
                "sender_id": f"s{i}",
                "created_at": at,
                "updated_at": at,
                "caller_type": "citizen",
                "identity_protected": False,
                "department": rng.choice(DEPARTMENTS),
                "co_handlers": "",
                "urgent": False,
                "answer_working_days": 13,
                "escalate_after_working_days": 3,
                "sign_due_at": at + dt.timedelta(days=1),
                "answer_due_at": at + dt.timedelta(days=20) if status != "dispatched" else None,
                "supervision": "supervised" if rng.random() < 0.03 else "none",
            }
        )
    with engine.begin() as conn:
        for chunk in range(0, N, 5000):
            conn.execute(insert(Ticket), rows[chunk : chunk + 5000])
    with engine.begin() as conn:
        # Planner statistics, as a database in service has them (autovacuum / a nightly ANALYZE).
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def timed(fn, runs: int = 5) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    upgrade(url)
    t0 = time.perf_counter()
    fill(url)
    print(f"{url.split('://')[0]}: inserted {N:,} tickets in {time.perf_counter() - t0:.1f} s")
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cases = {
        "no filter": QueueFilter(),
        "state=signed": QueueFilter(status="signed"),
        "department": QueueFilter(department="洛阳市第7局"),
        "department handler (scope)": QueueFilter(department_scope="洛阳市第7局"),
        "district+category": QueueFilter(district="洛龙区", category="arrears"),
        "overdue": QueueFilter(overdue=True),
        "督办": QueueFilter(supervised=True),
        "search 停水": QueueFilter(search="停水"),
    }
    print(
        "| filter | matches | page 1 (ms) | deep page: rows skipped | cursor (ms) | OFFSET (ms) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, f in cases.items():
        with sessions() as session:
            total = session.scalar(select(func.count()).select_from(filtered(f, now).subquery()))
            depth = int(total * 0.9)
            ids = session.scalars(
                filtered(f, now)
                .with_only_columns(Ticket.id)
                .order_by(Ticket.id.desc())
                .offset(depth)
                .limit(1)
            ).all()
        cursor = ids[0] if ids else None
        first = timed(lambda: page(sessions, f, now))  # noqa: B023
        deep = timed(lambda: page(sessions, f, now, after_id=cursor))  # noqa: B023

        def by_offset(f: QueueFilter = f, depth: int = depth) -> None:
            with sessions() as session:
                query = filtered(f, now).order_by(Ticket.id.desc()).offset(depth).limit(51)
                list(session.scalars(query))

        offset = timed(by_offset)
        print(f"| {name} | {total:,} | {first:.1f} | {depth:,} | {deep:.1f} | {offset:.1f} |")
    engine.dispose()


if __name__ == "__main__":
    main()
