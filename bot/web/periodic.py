"""One shape for the web service's background rounds (deadline sweep, answer notices, retention).

Each round runs until it finishes; at shutdown the loop is told to stop and waits for the round in
progress instead of cancelling it, so a worker thread never holds a database connection while its
engine is disposed. A failed round is logged and the next one comes as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

logger = logging.getLogger("bot.web.periodic")


async def _rounds(
    name: str, every: float, work: Callable[[], Awaitable[None]], stop: asyncio.Event
) -> None:
    while not stop.is_set():
        try:
            await work()
        except Exception:
            logger.exception("%s round failed; retrying next round", name)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


@contextlib.asynccontextmanager
async def periodic(
    name: str, every: float, work: Callable[[], Awaitable[None]]
) -> AsyncIterator[None]:
    """Run `work` every `every` seconds while the context is open; `every` ≤ 0 runs nothing."""
    if every <= 0:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(_rounds(name, every, work, stop))
    try:
        yield
    finally:
        stop.set()
        await task
