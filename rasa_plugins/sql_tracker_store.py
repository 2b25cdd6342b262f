"""Rasa 3.6's SQLTrackerStore, saving a turn without reading the conversation again.

Rasa 3.6's `SQLTrackerStore.save` (1) when an event broker is configured, first calls
`TrackerStore.stream_events`, which retrieves the whole conversation session from the database
again (query, JSON-decode every event, rebuild a DialogueStateTracker) just to learn how many
events are stored, and publishes the rest; (2) counts the stored events of the session once more
with a query (`_additional_events`); (3) adds each new event as an ORM object, which on
PostgreSQL is one `INSERT … RETURNING id` round trip per event. The processor read the same
session moments before, under the conversation's lock.

This replacement remembers, per sender, how many events of the latest session its `_retrieve`
read (the offset Rasa's diff and count arrive at), and at the save takes the events after them —
no second read, no count query — publishes them (when there is a broker) in the same order before
storing them, as Rasa does, and inserts them with one statement. A save not preceded by a read
in this process (a brand-new conversation) counts as Rasa does. With `max_event_history` set (a
retrieved tracker is then cut short, so the offsets differ) Rasa's own `save` runs.

Measured: (1) against PostgreSQL, a session growing to 53 events, 300 saves, four runs: 3.4–4.0
ms per save before, 1.6–2.1 ms after; (2)+(3) under 20 callers on the production profile the
count query alone was 8% of a Rasa server's samples (py-spy), docs/bench.md.

Tried and not kept: reading a session with only the `data` column (`with_entities`) instead of
whole ORM `SQLEvent` objects — 2.6–3.1 ms vs 2.9–3.0 ms for a 53-event session on PostgreSQL.

Installed by rasa_plugins/serve.py in every Rasa server we start (Rasa and SQLAlchemy only; not
under rasa_plugins/nlu, whose files are training inputs). HOTLINE_RASA_STOCK_TRACKER_STORE=1 keeps Rasa's
own methods (to measure them). tests/test_sql_tracker_store.py compares both, with and without a
broker: the same rows, the same published events, the same trackers read back.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections.abc import Callable, Coroutine
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from rasa_plugins.event_masking import kept_turn

logger = logging.getLogger(__name__)

DISABLE_ENV = "HOTLINE_RASA_STOCK_TRACKER_STORE"
_MARK = "_hotline_sql_tracker_store"
_COUNTS = "_hotline_read_counts"
_MAX_COUNTS = 10_000
_original: Callable[[SQLTrackerStore, DialogueStateTracker], Coroutine[Any, Any, None]] | None = (
    None
)
_original_retrieve: Any = None


async def _retrieve(
    self: SQLTrackerStore, sender_id: str, fetch_events_from_all_sessions: bool
) -> DialogueStateTracker | None:
    """Rasa's `_retrieve`, remembering how many events of the latest session it read."""
    with self.session_scope() as session:
        rows = self._event_query(
            session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
        ).all()
        events = [json.loads(row.data) for row in rows]
    if not fetch_events_from_all_sessions:
        _read_counts(self)[sender_id] = len(events)
    if self.domain and events:
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
    return None


def _read_counts(store: SQLTrackerStore) -> dict[str, int]:
    """sender id → events of its latest session in the database when this process last read
    it. Entries are taken by the next save; the dict is emptied if reads without saves (the
    tracker API) ever pile up."""
    counts: dict[str, int] | None = store.__dict__.get(_COUNTS)
    if counts is None or len(counts) > _MAX_COUNTS:
        counts = store.__dict__[_COUNTS] = {}
    return counts


async def _save(self: SQLTrackerStore, tracker: DialogueStateTracker) -> None:
    if self.max_event_history is not None:
        assert _original is not None
        await _original(self, tracker)
        return
    stored = _read_counts(self).pop(tracker.sender_id, None)
    with self.session_scope() as session:
        if stored is None:  # not read by this process first (a new conversation): count
            events = list(self._additional_events(session, tracker))
        else:
            # Access codes masked as in every other path to the store (rasa_plugins/event_masking).
            events = kept_turn(itertools.islice(tracker.events, stored, len(tracker.events)))
        if self.event_broker is not None:
            # Published before they are stored, as Rasa's save does (stream_events comes first).
            await self._stream_new_events(self.event_broker, events, tracker.sender_id)
        rows = []
        for event in events:
            data = event.as_dict()
            rows.append(
                {
                    "sender_id": tracker.sender_id,
                    "type_name": event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": data.get("parse_data", {})
                    .get("intent", {})
                    .get(INTENT_NAME_KEY),
                    "action_name": data.get("name"),
                    "data": json.dumps(data),
                }
            )
        if rows:
            # One statement for the turn's events (psycopg2: one multi-row INSERT), where the
            # ORM sent one INSERT … RETURNING id per event; ids still follow the list's order.
            session.execute(self.SQLEvent.__table__.insert(), rows)
        session.commit()
    logger.debug("Tracker with sender_id '%s' stored to database", tracker.sender_id)


def hide_parameters() -> None:
    """Keep the person's words out of the tracker store's errors and logs (idempotent).

    A failed INSERT of a turn would otherwise quote the event's JSON — the person's words, phone
    and ID number in full — in the exception Rasa logs: SQLAlchemy's bound parameters, and on
    PostgreSQL the values the server quotes in the error (bot/domain/sql_errors.py). Rasa builds its
    engine from `create_engine_kwargs`, so the option is added there, and the engine is
    protected once the store is made (also the new one a `login_db` makes). Applies to Rasa's
    own methods too (HOTLINE_RASA_STOCK_TRACKER_STORE=1).
    """
    from rasa.core import tracker_store

    from bot.domain.sql_errors import ENGINE_OPTIONS, protect

    if getattr(tracker_store.create_engine_kwargs, _MARK, False):
        return
    original_kwargs = tracker_store.create_engine_kwargs
    original_init = SQLTrackerStore.__init__
    original_create = SQLTrackerStore._create_database_and_update_engine

    def create_engine_kwargs(url: Any) -> dict[str, Any]:
        return {**original_kwargs(url), **ENGINE_OPTIONS}

    def init(self: SQLTrackerStore, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        protect(self.engine)

    def create_database_and_update_engine(self: SQLTrackerStore, db: str, url: Any) -> None:
        original_create(self, db, url)
        protect(self.engine)

    setattr(create_engine_kwargs, _MARK, True)
    tracker_store.create_engine_kwargs = create_engine_kwargs  # type: ignore[assignment]
    SQLTrackerStore.__init__ = init  # type: ignore[method-assign]
    SQLTrackerStore._create_database_and_update_engine = (  # type: ignore[method-assign]
        create_database_and_update_engine
    )


def install() -> None:
    """Replace `SQLTrackerStore.save` (idempotent)."""
    global _original
    if is_installed():
        return
    if os.environ.get(DISABLE_ENV, "") == "1":
        logger.info("%s=1: Rasa's own SQLTrackerStore methods are kept", DISABLE_ENV)
        return
    global _original_retrieve
    _original = SQLTrackerStore.save
    _original_retrieve = SQLTrackerStore._retrieve
    setattr(_save, _MARK, True)
    SQLTrackerStore.save = _save  # type: ignore[method-assign]
    SQLTrackerStore._retrieve = _retrieve  # type: ignore[method-assign]


def uninstall() -> None:
    """Put Rasa's own `save` and `_retrieve` back (tests compare the two)."""
    global _original, _original_retrieve
    if _original is not None:
        SQLTrackerStore.save = _original  # type: ignore[method-assign]
        SQLTrackerStore._retrieve = _original_retrieve  # type: ignore[method-assign]
        _original = _original_retrieve = None


def is_installed() -> bool:
    return bool(getattr(SQLTrackerStore.save, _MARK, False))
