"""Run inside the Rasa environment (.venv-rasa) by tests/test_transcript_retention.py: writes
and reads trackers through Rasa's own SQLTrackerStore, so the retention test deletes from the
very table, columns and rows Rasa makes — on SQLite and PostgreSQL.

    python tests/rasa_tracker_store.py write URL SENDER TIMESTAMP TEXT...
    python tests/rasa_tracker_store.py read URL SENDER        → JSON: texts of the user events
"""

from __future__ import annotations

import asyncio
import json
import sys
from urllib.parse import urlsplit

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker


def store_for(url: str) -> SQLTrackerStore:
    if url.startswith("sqlite:///"):
        return SQLTrackerStore(Domain.empty(), dialect="sqlite", db=url.removeprefix("sqlite:///"))
    parts = urlsplit(url)
    return SQLTrackerStore(
        Domain.empty(),
        dialect="postgresql",
        host=parts.hostname,
        port=parts.port,
        db=parts.path.lstrip("/"),
        username=parts.username,
    )


async def main(argv: list[str]) -> None:
    command, url, sender = argv[:3]
    store = store_for(url)
    tracker = await store.retrieve_full_tracker(sender) or DialogueStateTracker(sender, [])
    if command == "write":
        at = float(argv[3])
        tracker.update(ActionExecuted("action_session_start", timestamp=at))
        tracker.update(SessionStarted(timestamp=at))
        for number, text in enumerate(argv[4:]):
            tracker.update(UserUttered(text, {"name": "greet"}, timestamp=at + 2 * number + 1))
            tracker.update(BotUttered(f"答复{number}", timestamp=at + 2 * number + 2))
        await store.save(tracker)
    else:
        texts = [e.text for e in tracker.events if isinstance(e, UserUttered)]
        print(json.dumps(texts, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
