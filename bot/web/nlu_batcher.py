"""Texts for Rasa's NLU sent together: the ones that arrive while a request is in flight.

Each enterprise report without a category, and each chat message again for the transcript, needs
Rasa's NLU. One HTTP request per text costs Rasa about as much as the parse itself (see
rasa_plugins/nlu_batch.py), so texts are sent to its batch route `/webhooks/nlu_batch/parse`:
- nothing waits on purpose: with fewer than `max_in_flight` requests out, a text goes at once
  (a person alone is never slowed down);
- texts that arrive while the requests are out wait for the first to come back and then go
  together, at most `max_batch` per request, so a burst becomes a few requests. The batch is
  kept small so that Rasa parses one batch while the web service files the one before, on the
  machine's other core, instead of everything being parsed and then everything filed.

A request that fails answers None to every text in it, as `RasaApi` does for one text; callers
decide what that means (the transcript leaves the message without an intent, the enterprise API
answers 503).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

import aiohttp

logger = logging.getLogger("bot.web.nlu_batcher")
TIMEOUT = aiohttp.ClientTimeout(total=10)
ROUTE = "/webhooks/nlu_batch/parse"


class NluBatcher:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        url: str,
        auth: dict[str, str],
        *,
        max_batch: int = 8,
        max_in_flight: int = 2,
    ) -> None:
        self._http = http
        self._url = url.rstrip("/") + ROUTE
        self._auth = dict(auth)  # ?token=, never logged
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self._waiting: deque[tuple[str, asyncio.Future[dict[str, Any] | None]]] = deque()
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.requests_sent = 0  # for tests and benchmarks: how many HTTP requests the texts took

    async def parse(self, text: str) -> dict[str, Any] | None:
        """Rasa's `/model/parse` answer for `text`, or None when Rasa did not answer well."""
        future: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((text, future))
        self._send_what_waits()
        return await future

    def _send_what_waits(self) -> None:
        while self._waiting and self._in_flight < self.max_in_flight:
            batch = [
                self._waiting.popleft() for _ in range(min(self.max_batch, len(self._waiting)))
            ]
            batch = [(text, future) for text, future in batch if not future.done()]
            if not batch:  # every caller in it gave up (cancelled)
                continue
            self._in_flight += 1
            task = asyncio.get_running_loop().create_task(self._send(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[tuple[str, asyncio.Future[dict[str, Any] | None]]]) -> None:
        answers: list[Any] | None = None
        try:
            self.requests_sent += 1
            answers = await self._post([text for text, _ in batch])
        finally:
            self._in_flight -= 1
            for i, (_, future) in enumerate(batch):
                if not future.done():
                    answer = answers[i] if answers is not None else None
                    future.set_result(answer if isinstance(answer, dict) else None)
            self._send_what_waits()

    async def _post(self, texts: list[str]) -> list[Any] | None:
        try:
            async with self._http.post(
                self._url, params=self._auth, json={"texts": texts}, timeout=TIMEOUT
            ) as resp:
                if resp.status != 200:
                    logger.warning("Rasa batch NLU answered %s", resp.status)
                    return None
                found = await resp.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            logger.warning("Rasa batch NLU failed: %s", type(exc).__name__)
            return None
        results = found.get("results") if isinstance(found, dict) else None
        if not isinstance(results, list) or len(results) != len(texts):
            logger.warning("Rasa batch NLU gave a malformed answer")
            return None
        return results
