"""The retention schedule inside the web service: a purge round when it starts and then every
`retention_every_seconds`, claimed so that one web replica runs each round. A single-machine
install needs no cron (`hotline purge --days N` does one round for deployments that prefer a
scheduler)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot.jobs.rounds import claim_round_in
from bot.privacy.retention import purge_database
from bot.web.console.keys import CONSOLE_SETTINGS
from bot.web.periodic import periodic

logger = logging.getLogger(__name__)
ROUND = "retention_purge"


async def retention_schedule(app: web.Application) -> AsyncIterator[None]:
    settings = app[CONSOLE_SETTINGS]
    days = settings.retention_days

    async def purge() -> None:
        # One replica per round (bot/jobs/rounds.py): a purge is heavy and audited.
        if not await asyncio.to_thread(claim_round_in, settings.database_url, ROUND, every):
            return
        done = await asyncio.to_thread(
            functools.partial(
                purge_database,
                settings.database_url,
                days,
                actor="schedule",
                tracker_url=settings.tracker_store_url,
            )
        )
        logger.info("retention round, older than %d days: %s", days, done)

    # HOTLINE_RETENTION_EVERY_SECONDS=0: rounds come from cron (`hotline purge`), while
    # HOTLINE_RETENTION_DAYS still states the period (the production profile requires it).
    scheduled = days > 0 and settings.retention_every_seconds > 0
    every = max(settings.retention_every_seconds, 60) if scheduled else 0
    async with periodic("retention purge", every, purge):
        yield
