"""The load proof in a short size (the full one: `python -m tools.proofs.load`, 20 callers over a
2-minute soak, var/proofs/load.md): 6 people at once file whole complaints through nginx's public
web chat on the production profile — no error, every 已受理 card's number in the ticket
database, no ticket nobody was told about, no phone with two tickets."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.production_support import production_profile
from tools.perf.bots import rasa_python
from tools.perf.machine import machine_info
from tools.perf.stats import LoadRun
from tools.proofs.load import check_tickets, prove, report
from tools.proofs.load_drive import Conversation, Drive

pytestmark = pytest.mark.stack


def test_six_callers_through_the_public_endpoint_lose_and_duplicate_nothing(
    trained_model: Path, tmp_path: Path
) -> None:
    with production_profile(trained_model, tmp_path / "var") as running:
        proof = prove(running, 6, conversations=1, sample_every=2.0)
        text = report(proof, "pytest tests/test_load_proof.py", machine_info(rasa_python()), "now")
        numbers = proof.numbers()
        assert numbers["errors"] == 0, text
        assert numbers["filed"] == numbers["conversations"] == 6, text
        assert proof.tickets.ok and proof.tickets.rows == 6, text
        assert proof.tickets.confirmed == proof.tickets.announced == 6, text
        assert numbers["p95_ms"] > 0 and numbers["msgs_per_s"] > 0
        # Both Rasa servers were sampled while they served.
        assert len(proof.memory) == 2 and all(m.end > 100 for m in proof.memory), text

        # The check can fail: a card the database does not have is lost, a row no card
        # announced is a duplicate.
        fake = Drive(LoadRun("x", 1, 1.0), [Conversation(0, "13900000000", True, "LY-none")])
        wrong = check_tickets(running.settings.database_url, fake)
        assert wrong.lost == ["LY-none"] and len(wrong.unannounced) == 6 and not wrong.ok
