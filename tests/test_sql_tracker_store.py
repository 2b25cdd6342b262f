"""Our SQLTrackerStore.save (rasa_plugins/sql_tracker_store.py) against Rasa's own: with an
event broker, the broker gets exactly the events Rasa's save publishes, in the same order, the
database stores the same rows, and the session and the full tracker read back the same — without
the second read of the whole session Rasa makes on every save. Rasa lives in the other
environment, so the check runs there, on a SQLite tracker store in a temp directory."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bot.config import PROJECT_ROOT
from bot.training import RASA_VENV, rasa_env
from tests.conftest import require

CHECK = r"""
import asyncio, json, sys
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (ActionExecuted, BotUttered, SessionStarted, SlotSet,
                                     UserUttered)
from rasa_plugins import sql_tracker_store
sql_tracker_store.install()  # as rasa_plugins/serve.py does before Rasa starts

class Recording(EventBroker):
    def __init__(self): self.published = []
    def publish(self, event): self.published.append(event)

def turns(n):
    yield [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
    for i in range(n):
        yield [UserUttered(f"消息{i}", {"name": "complain", "confidence": 0.9}),
               SlotSet("description", f"第{i}句"), BotUttered(f"回答{i}"),
               ActionExecuted("action_listen")]

async def run(folder, mode, with_broker=True):
    broker = Recording() if with_broker else None
    domain = Domain.from_dict({"slots": {"description": {
        "type": "text", "influence_conversation": False, "mappings": [{"type": "from_text"}]}}})
    store = SQLTrackerStore(domain, dialect="sqlite", db=f"{folder}/{mode}.db",
                            event_broker=broker)
    import sqlalchemy
    statements = []
    sqlalchemy.event.listen(store.engine, "before_cursor_execute",
                            lambda conn, cursor, sql, *rest: statements.append(sql.split()[0]))
    reads = []
    original = store.retrieve
    async def counted(sender_id):
        reads.append(sender_id)
        return await original(sender_id)
    store.retrieve = counted
    for sender in ("a", "b"):
        tracker = store.init_tracker(sender)
        for events in turns(4):
            for event in events:
                tracker.update(event)
            before = len(statements)
            await store.save(tracker)
            saved = statements[before:]
            tracker = await original(sender)  # as Rasa does: the next message reads it again
    with store.session_scope() as session:
        rows = [(r.sender_id, r.type_name, r.intent_name, r.action_name, json.loads(r.data))
                for r in session.query(store.SQLEvent).order_by(store.SQLEvent.id)]
    strip = lambda d: {k: v for k, v in d.items() if k != "timestamp"}
    read_back = {}
    for sender in ("a", "b"):
        session = await original(sender)
        full = await store.retrieve_full_tracker(sender)
        read_back[sender] = [[strip(e.as_dict()) for e in t.events] for t in (session, full)]
        read_back[sender].append(session.current_slot_values())
    return {"published": [strip(e) for e in broker.published] if broker else None,
            "read_back": read_back, "rows": [[*r[:4], strip(r[4])] for r in rows],
            "reads": len(reads), "last_save": saved}

folder = sys.argv[1]
installed = sql_tracker_store.is_installed()
ours = asyncio.run(run(folder, "ours"))
ours_quiet = asyncio.run(run(folder, "ours-quiet", with_broker=False))
sql_tracker_store.uninstall()
rasas = asyncio.run(run(folder, "rasa"))
rasas_quiet = asyncio.run(run(folder, "rasa-quiet", with_broker=False))
print(json.dumps({"installed": installed, "ours": ours, "rasa": rasas, "ours_quiet": ours_quiet,
                  "rasa_quiet": rasas_quiet}, ensure_ascii=False))
"""


def test_the_store_publishes_stores_and_reads_what_rasas_own_does_without_a_second_read(
    tmp_path: Path,
) -> None:
    python = RASA_VENV / "bin" / "python"
    require(python.exists(), f"the Rasa environment ({python}) is missing: run `make setup`")
    done = subprocess.run(
        [str(python), "-c", CHECK, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=rasa_env(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["installed"]
    ours, rasa = result["ours"], result["rasa"]
    # 2 senders × (3 + 4 × 4) events, each published once and stored once.
    assert len(rasa["published"]) == len(rasa["rows"]) == 38
    assert ours["published"] == rasa["published"]
    assert ours["rows"] == rasa["rows"]
    assert ours["read_back"] == rasa["read_back"]
    assert ours["read_back"]["a"][2]["description"] == "第3句"
    assert len(ours["read_back"]["b"][1]) == 19
    assert [e["sender_id"] for e in ours["published"]][:19] == ["a"] * 19
    # Rasa read every session again on every save (5 saves per sender); ours never did.
    assert rasa["reads"] == 10 and ours["reads"] == 0
    # A turn's save after a read: Rasa counts the stored session (SELECT) and inserts each of
    # the 4 events on its own; ours knows the count from the read and inserts them at once.
    assert rasa["last_save"].count("SELECT") >= 1 and rasa["last_save"].count("INSERT") == 4
    assert "SELECT" not in ours["last_save"] and ours["last_save"].count("INSERT") == 1
    # Without a broker (the default profile) the same rows and the same trackers read back.
    assert result["ours_quiet"]["rows"] == result["rasa_quiet"]["rows"] == rasa["rows"]
    assert result["ours_quiet"]["read_back"] == result["rasa_quiet"]["read_back"]
    assert result["ours_quiet"]["last_save"].count("INSERT") == 1
