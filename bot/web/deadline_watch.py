"""The clock of the closed loop: every few minutes, lapsed deadlines get their 催办/督办.

It runs inside the web service (always up while the bot serves) so a single-machine install
needs no cron; `hotline sweep` does one round for deployments that prefer a scheduler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot.tickets.db import make_engine, make_session_factory
from bot.tickets.service import TicketService
from bot.web.keys import SETTINGS
from bot.web.periodic import periodic

logger = logging.getLogger(__name__)


def sweep_once(database_url: str) -> tuple[int, int]:
    engine = make_engine(database_url)
    try:
        result = TicketService(make_session_factory(engine)).sweep()
    finally:
        engine.dispose()
    return len(result.urged), len(result.supervised)


async def deadline_watch(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]

    async def sweep() -> None:
        urged, supervised = await asyncio.to_thread(sweep_once, settings.database_url)
        if urged or supervised:
            logger.info("deadline sweep: %d 催办, %d 督办", urged, supervised)

    async with periodic("deadline sweep", settings.sweep_seconds, sweep):
        yield
