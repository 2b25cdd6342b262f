"""Background rounds claimed once per interval across replicas (bot/jobs/rounds.py), on
SQLite and PostgreSQL: separate engines stand for separate web replicas."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import Engine

from bot.jobs.rounds import claim_round
from bot.store.db import make_engine, make_session_factory
from bot.web.deadline_watch import sweep_round

T0 = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)


def test_one_replica_claims_each_interval(engine: Engine, database_url: str) -> None:
    engines = [make_engine(database_url) for _ in range(4)]
    try:
        _claim_rounds([make_session_factory(e) for e in engines])
    finally:
        for each in engines:
            each.dispose()


def _claim_rounds(replicas: list) -> None:  # type: ignore[type-arg]
    results: list[bool] = []
    barrier = threading.Barrier(len(replicas))

    def claim(sessions) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        results.append(claim_round(sessions, "sweep", 300, T0))

    threads = [threading.Thread(target=claim, args=(s,)) for s in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    # Another replica's timer 2 minutes later: the round is taken.
    assert not claim_round(replicas[1], "sweep", 300, T0 + dt.timedelta(minutes=2))
    # A timer firing a few seconds early for the next round still gets it, once.
    next_round = T0 + dt.timedelta(seconds=290)
    assert claim_round(replicas[2], "sweep", 300, next_round)
    assert not claim_round(replicas[3], "sweep", 300, next_round)
    # Rounds of other names are independent.
    assert claim_round(replicas[0], "retention", 86400, T0)


def test_two_replicas_sweeping_at_once_sweep_once(engine: Engine, database_url: str) -> None:
    outcomes: list[tuple[int, int] | None] = []
    barrier = threading.Barrier(2)

    def replica() -> None:
        barrier.wait()
        outcomes.append(sweep_round(database_url, 300))

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes, key=lambda o: o is None) == [(0, 0), None]
