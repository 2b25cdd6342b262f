"""`python -m bot.web`: serve the web app with settings from the environment."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.config import load_settings
from bot.web.access_log import AccessLogger
from bot.web.app import create_app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = load_settings()
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.web_port,
        print=None,
        access_log_class=AccessLogger,
    )


if __name__ == "__main__":
    main()
