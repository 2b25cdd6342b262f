"""The retention schedule inside the web service: a purge round when it starts and then every
`retention_every_seconds`, so a single-machine install needs no cron (`hotline purge --days N`
does one round for deployments that prefer a scheduler)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot.tickets.retention import purge_database
from bot.web.console.keys import CONSOLE_SETTINGS

logger = logging.getLogger(__name__)


async def _loop(database_url: str, days: int, every: float) -> None:
    while True:
        try:
            done = await asyncio.to_thread(purge_database, database_url, days, actor="schedule")
            if done:
                logger.info(
                    "retention: personal data of %d tickets older than %d days blanked", done, days
                )
        except Exception:
            logger.exception("retention purge failed; retrying next round")
        await asyncio.sleep(every)


async def retention_schedule(app: web.Application) -> AsyncIterator[None]:
    settings = app[CONSOLE_SETTINGS]
    if settings.retention_days <= 0:
        yield
        return
    task = asyncio.create_task(
        _loop(
            settings.database_url,
            settings.retention_days,
            max(settings.retention_every_seconds, 60),
        )
    )
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
