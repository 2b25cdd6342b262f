"""PostgreSQL restarted mid-load: no confirmed ticket lost, no ticket twice, and a person whose
message met the restart got a polite answer (never a 500 or a trace).

The machine's shared PostgreSQL is never restarted (other tests use it): a private cluster
(tools/proofs/private_postgres.py, Debian's initdb/pg_ctl as the postgres user) holds this
profile's ticket and tracker databases, and `pg_ctl restart -m fast` cuts every connection while
6 callers are filing complaints through nginx's public web chat."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.store.db import make_engine
from bot.store.models import Ticket
from tests.conftest import require
from tests.production_support import production_profile
from tools.perf.bots import rasa_python
from tools.perf.machine import machine_info
from tools.proofs import private_postgres
from tools.proofs.load import prove, report

pytestmark = pytest.mark.stack

# The restart comes once the first ticket is committed (so it is mid-load on a fast machine and
# on a busy one alike: a fixed moment was after the last filing when the machine was quiet), and
# the callers keep filing for LOAD_SECONDS, well past it.
FIRST_LOOK_SECONDS = 2.0
LOAD_SECONDS = 25.0


def test_postgresql_restarted_mid_load_loses_no_confirmed_ticket(
    trained_model: Path, tmp_path: Path
) -> None:
    require(private_postgres.available(), private_postgres.HOW_TO)
    with private_postgres.private_postgres() as pg:
        with production_profile(trained_model, tmp_path / "var", postgres=pg.server_url) as running:
            restarted_at: list[float] = []
            committed_before: list[bool] = []
            engine = make_engine(running.settings.database_url)

            def restart() -> None:
                """pg_ctl restart -m fast (the profile's private PostgreSQL), after the first
                committed ticket"""
                deadline = time.perf_counter() + LOAD_SECONDS / 2
                while time.perf_counter() < deadline:
                    with engine.connect() as conn:
                        committed = conn.execute(select(func.count()).select_from(Ticket))
                        if committed.scalar_one():
                            committed_before.append(True)
                            break
                    time.sleep(0.2)
                engine.dispose()  # no connection of ours across the restart
                restarted_at.append(time.perf_counter() - started)
                pg.restart()

            started = time.perf_counter()
            proof = prove(
                running, 6, seconds=LOAD_SECONDS, during=(FIRST_LOOK_SECONDS, restart), pause=1.0
            )
        text = report(
            proof, "pytest tests/test_postgres_restart.py", machine_info(rasa_python()), "now"
        )
        print(text)
    conversations = proof.result.conversations
    # The restart happened while people were filing: tickets before it and after it.
    assert proof.notes, text
    filed_at = [c.filed_at for c in conversations if c.filed_at is not None]
    # (A ticket committed before it — its card may reach the person just after.)
    assert committed_before and restarted_at and max(filed_at) > restarted_at[0] + 1, text
    # People felt it — and got polite refusals, never a 500, a trace or a cut connection.
    assert proof.numbers()["polite_refusals"] > 0, text
    assert proof.result.run.errors == 0, text
    # Every 已受理 is a committed row, and nothing was filed twice or without a card.
    assert proof.tickets.ok, text
    assert proof.tickets.rows == proof.tickets.announced, text
    # Every conversation that was not filed ended on a polite answer.
    for conversation in conversations:
        assert conversation.number or (conversation.gave_up and not conversation.errors), text
