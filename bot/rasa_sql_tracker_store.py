"""Rasa 3.6's SQLTrackerStore, without the second read of the tracker on every save.

Rasa 3.6's `SQLTrackerStore.save` first calls `TrackerStore.stream_events`, which — only when an
event broker is configured — retrieves the whole conversation session from the database again
(query, JSON-decode every event, rebuild a DialogueStateTracker) just to learn how many events
are stored, and publishes the rest; then `save` counts the stored events once more
(`_additional_events`) and inserts the same rest. In the production profile (PostgreSQL tracker
store, RabbitMQ broker) a py-spy profile of a Rasa server under 20 callers had 14% of its samples
in that second read.

This replacement counts once and uses the result for both: the same events are published (the
offset Rasa's `TrackerEventDiffEngine` takes is the length of the retrieved session, which is the
number of stored events of the session that `_additional_events` counts), in the same order, before
they are inserted, as Rasa does. Without a broker, or with `max_event_history` set (a retrieved
tracker would then be cut short and the two numbers could differ), Rasa's own `save` runs.
Measured against PostgreSQL (a session growing to 53 events, 300 saves, four runs): 3.4–4.0 ms
per save before, 1.6–2.1 ms after.

Tried and not kept: reading a session with only the `data` column (`with_entities`) instead of
whole ORM `SQLEvent` objects — 2.6–3.1 ms vs 2.9–3.0 ms for a 53-event session on PostgreSQL.

Installed by bot/rasa_serve.py in every Rasa server we start (Rasa and SQLAlchemy only; not
under bot/nlu, whose files are training inputs). HOTLINE_RASA_STOCK_TRACKER_STORE=1 keeps Rasa's
own `save` (to measure it).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Coroutine
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

logger = logging.getLogger(__name__)

DISABLE_ENV = "HOTLINE_RASA_STOCK_TRACKER_STORE"
_MARK = "_hotline_sql_tracker_store"
_original: Callable[[SQLTrackerStore, DialogueStateTracker], Coroutine[Any, Any, None]] | None = (
    None
)


async def _save(self: SQLTrackerStore, tracker: DialogueStateTracker) -> None:
    if self.event_broker is None or self.max_event_history is not None:
        assert _original is not None
        await _original(self, tracker)
        return
    with self.session_scope() as session:
        events = list(self._additional_events(session, tracker))
        # Published before they are stored, as Rasa's save does (stream_events comes first).
        await self._stream_new_events(self.event_broker, events, tracker.sender_id)
        for event in events:
            data = event.as_dict()
            session.add(
                self.SQLEvent(
                    sender_id=tracker.sender_id,
                    type_name=event.type_name,
                    timestamp=data.get("timestamp"),
                    intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                    action_name=data.get("name"),
                    data=json.dumps(data),
                )
            )
        session.commit()
    logger.debug("Tracker with sender_id '%s' stored to database", tracker.sender_id)


def install() -> None:
    """Replace `SQLTrackerStore.save` (idempotent)."""
    global _original
    if is_installed():
        return
    if os.environ.get(DISABLE_ENV, "") == "1":
        logger.info("%s=1: Rasa's own SQLTrackerStore methods are kept", DISABLE_ENV)
        return
    _original = SQLTrackerStore.save
    setattr(_save, _MARK, True)
    SQLTrackerStore.save = _save  # type: ignore[method-assign]


def uninstall() -> None:
    """Put Rasa's own `save` back (tests compare the two)."""
    global _original
    if _original is not None:
        SQLTrackerStore.save = _original  # type: ignore[method-assign]
        _original = None


def is_installed() -> bool:
    return bool(getattr(SQLTrackerStore.save, _MARK, False))
