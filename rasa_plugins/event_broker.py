"""Rasa's RabbitMQ event broker with phone and ID numbers masked (production profile).

Rasa publishes every conversation event as it is — the person's words, the parsed entities, the
slot values — and a queue keeps them for days (bot/ops/production.py: a 7-day TTL) for whoever
consumes them. Access codes (提取码) are masked in each turn before it is published
(rasa_plugins/event_masking.py). Those consumers (analytics, audit) need what was said and understood, not the
person's phone or ID number, and the issue's privacy rule covers broker messages as it covers
logs. So every string of an event goes through the same `mask_text` as the logs before it is
published; numbers, booleans and the event's shape are unchanged. Loaded by Rasa from
endpoints-production.yml (`type: rasa_plugins.event_broker.MaskedPikaEventBroker`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
import threading
from collections import deque
from typing import Any

from rasa.core.brokers.pika import PikaEventBroker

from bot.domain.privacy import mask_text
from rasa_plugins.event_masking import masked_event

logger = logging.getLogger(__name__)
_pika_logger = logging.getLogger("rasa.core.brokers.pika")


def _quiet_failed_attempts(record: logging.LogRecord) -> bool:
    """Rasa's "Connecting to … failed" line, which would repeat every few seconds while RabbitMQ
    is down; MaskedPikaEventBroker logs the outage itself."""
    return not str(record.msg).startswith("Connecting to '")


# A phone or ID number has at least 7 digits, single spaces or dashes allowed between them
# (138 1234 5678); most strings of an event (intent and action names) have not, and skip the
# three regexes of mask_text.
_LONG_DIGITS = re.compile(r"(?:[0-9０-９][-\s－]?){7}")


def masked(value: Any) -> Any:
    """A copy of a JSON-like value with every string masked."""
    if isinstance(value, str):
        return mask_text(value) if _LONG_DIGITS.search(value) else value
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [masked(item) for item in value]
    return value


class MaskedPikaEventBroker(PikaEventBroker):  # type: ignore[misc]
    """PikaEventBroker publishing masked copies of the events from a thread of its own.

    Rasa's `publish` starts a task per event on Rasa's event loop; each publish takes a couple of
    turns of that loop (aiormq writes the frames under a channel lock and waits for them to
    drain), and under load a turn waits for a whole synchronous step of a message (NLU, tracker,
    policies: 5–15 ms). A Rasa server then publishes ~50 events a second while it makes ~150:
    the tasks pile up in memory without bound. A 6-minute soak of the production profile saw one
    server's frames to RabbitMQ all but stop for tens of seconds and its memory grow by 70–240
    MiB (docs/proofs.md). Here the connection lives on an event loop in a daemon thread, which
    Python's thread switching (every 5 ms) lets run between Rasa's steps; events wait in a
    bounded deque (MAX_WAITING; beyond it they are counted and dropped with an error in the
    log — analytics events are not worth the server's memory) and one sender task publishes
    them in order, in batches whose confirms are awaited together. Rasa's `_publish` still does
    the sending, the logging and the keeping of unpublished events across reconnects; queue
    set-up and credentials are Rasa's.
    """

    MAX_WAITING = 20_000
    BATCH = 200
    # How often "RabbitMQ is still unreachable" is logged while it is down (connect attempts).
    REPORT_EVERY = 12

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("event_loop", None)
        self._thread_loop = asyncio.new_event_loop()
        super().__init__(*args, event_loop=self._thread_loop, **kwargs)
        self._thread = threading.Thread(
            target=self._thread_loop.run_forever, name="rabbitmq-events", daemon=True
        )
        self._thread.start()
        self._waiting: deque[tuple[dict[str, Any], dict[str, str] | None]] = deque()
        self._sender: asyncio.Task[None] | None = None
        self._connecting: concurrent.futures.Future[None] | None = None
        self.dropped = 0

    async def connect(self) -> None:
        """Start connecting on the broker's own loop and return at once.

        Rasa awaits this while it starts, and its PikaEventBroker gives up after its attempts
        (20 × 5 s) by failing the start: with RabbitMQ down no citizen could be answered,
        although nothing a conversation needs is in the queue. Here the connection is made in
        the background, retried until it succeeds; events published meanwhile wait in the
        bounded deque (beyond MAX_WAITING they are dropped and counted) and are sent once it
        is up, with a log line saying how many waited and how many were dropped."""
        self._connecting = asyncio.run_coroutine_threadsafe(
            self._keep_connecting(), self._thread_loop
        )

    async def _keep_connecting(self) -> None:
        # One attempt per call of Rasa's connect, so this loop decides how often to try and
        # what to log; Rasa's own error line for each failed attempt is left out.
        self._connection_attempts = 1
        _pika_logger.addFilter(_quiet_failed_attempts)
        failures = 0
        while True:
            try:
                await PikaEventBroker.connect(self)
                break
            except Exception as error:  # noqa: BLE001 — aio_pika raises many kinds; retry all
                failures += 1
                if failures == 1 or failures % self.REPORT_EVERY == 0:
                    logger.error(
                        "RabbitMQ unreachable (%s), %d attempts so far: conversations go on, "
                        "events wait (%d waiting, %d dropped)",
                        type(error).__name__,
                        failures,
                        len(self._waiting),
                        self.dropped,
                    )
                await asyncio.sleep(self._retry_delay_in_seconds)
        if failures:
            logger.warning(
                "RabbitMQ reachable again after %d failed attempts: publishing %d waiting "
                "events; %d were dropped while it was down",
                failures,
                len(self._waiting),
                self.dropped,
            )
        self._start_sender()

    def publish(self, event: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        if len(self._waiting) >= self.MAX_WAITING:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.error(
                    "RabbitMQ falls behind: %d events waiting, %d dropped so far",
                    len(self._waiting),
                    self.dropped,
                )
            return
        # Access codes were masked with the rest of their turn (rasa_plugins/event_masking.install);
        # masked once more here for an event that reaches the broker by another path.
        kept = masked(masked_event(event))
        self._waiting.append((kept, headers))  # deque.append: safe across threads
        self._thread_loop.call_soon_threadsafe(self._start_sender)

    def _start_sender(self) -> None:
        if self._sender is None or self._sender.done():
            self._sender = self._thread_loop.create_task(self._send_waiting())

    async def _send_waiting(self) -> None:
        # Not connected yet: the events wait; the connection starts the sender when it is up.
        while self._waiting and self._exchange is not None:
            count = min(len(self._waiting), self.BATCH)
            batch = [self._waiting.popleft() for _ in range(count)]
            results = await asyncio.gather(
                *(self._publish(event, headers) for event, headers in batch),
                return_exceptions=True,
            )
            failed = [r for r in results if isinstance(r, BaseException)]
            if failed:  # Rasa's _publish logged each and kept them for the reconnect
                logger.error("%d of %d events not published: %r", len(failed), count, failed[0])

    async def _flush_and_close(self) -> None:
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        if self._sender is not None and not self._sender.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._sender), timeout=10)
            except asyncio.TimeoutError:
                logger.error("closing with %d events not yet published", len(self._waiting))
        await PikaEventBroker.close(self)

    async def close(self) -> None:
        """Send what is waiting, then close as Rasa does, on the broker's loop; stop it."""
        future = asyncio.run_coroutine_threadsafe(self._flush_and_close(), self._thread_loop)
        try:
            await asyncio.wrap_future(future)
        finally:
            self._thread_loop.call_soon_threadsafe(self._thread_loop.stop)
