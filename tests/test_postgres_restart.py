"""PostgreSQL restarted mid-load: no confirmed ticket lost, no ticket twice, and a person whose
message met the restart got a polite answer (never a 500 or a trace).

The machine's shared PostgreSQL is never restarted (other tests use it): a private cluster
(bot/proofs/private_postgres.py, Debian's initdb/pg_ctl as the postgres user) holds this
profile's ticket and tracker databases, and `pg_ctl restart -m fast` cuts every connection while
6 callers are filing complaints through nginx's public web chat."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.bench.bots import rasa_python
from bot.bench.machine import machine_info
from bot.proofs import private_postgres
from bot.proofs.load import prove, report
from tests.conftest import require
from tests.production_support import production_profile

pytestmark = pytest.mark.stack

RESTART_AFTER_SECONDS = 8.0


def test_postgresql_restarted_mid_load_loses_no_confirmed_ticket(
    trained_model: Path, tmp_path: Path
) -> None:
    require(private_postgres.available(), private_postgres.HOW_TO)
    with private_postgres.private_postgres() as pg:
        with production_profile(trained_model, tmp_path / "var", postgres=pg.server_url) as running:

            def restart() -> None:
                """pg_ctl restart -m fast (the profile's private PostgreSQL)"""
                pg.restart()

            proof = prove(
                running, 6, conversations=4, during=(RESTART_AFTER_SECONDS, restart), pause=1.0
            )
        text = report(
            proof, "pytest tests/test_postgres_restart.py", machine_info(rasa_python()), "now"
        )
        print(text)
    conversations = proof.result.conversations
    # The restart happened while people were filing: tickets before it and after it.
    assert proof.notes, text
    filed_at = [c.filed_at for c in conversations if c.filed_at is not None]
    assert min(filed_at) < RESTART_AFTER_SECONDS < max(filed_at), text
    # People felt it — and got polite refusals, never a 500, a trace or a cut connection.
    assert proof.numbers()["polite_refusals"] > 0, text
    assert proof.result.run.errors == 0, text
    # Every 已受理 is a committed row, and nothing was filed twice or without a card.
    assert proof.tickets.ok, text
    assert proof.tickets.rows == proof.tickets.announced, text
    # Every conversation that was not filed ended on a polite answer.
    for conversation in conversations:
        assert conversation.number or (conversation.gave_up and not conversation.errors), text
