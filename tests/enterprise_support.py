"""A real web service (create_app on a free port, in a thread) against the real Rasa of the
session `stack`, with its own database, so storage tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from aiohttp import web

from bot.config import Settings
from bot.domain.identifiers import uscc_check_char
from bot.ops.supervisor import free_port
from bot.web.app import create_app


def make_uscc(serial: int) -> str:
    """A valid 统一社会信用代码 (Luoyang region 410300) with a computed check character."""
    first17 = f"91410300{serial:09d}"
    check = uscc_check_char(first17)
    assert check is not None
    return first17 + check


@dataclass
class Service:
    url: str
    settings: Settings

    def register(self, serial: int, **overrides: str) -> tuple[dict, str]:
        body = {
            "name": "洛阳恒达机械有限公司",
            "uscc": make_uscc(serial),
            "contact_name": "王建国",
            "phone": "13837901234",
            **overrides,
        }
        response = requests.post(f"{self.url}/api/v1/enterprise/register", json=body, timeout=30)
        assert response.status_code == 202, response.text
        data = response.json()
        return data["enterprise"], data["token"]

    def report(self, token: str, body: object, **headers: str) -> requests.Response:
        return requests.post(
            f"{self.url}/api/v1/enterprise/reports",
            json=body,
            headers={"Authorization": f"Bearer {token}", **headers},
            timeout=60,
        )


@contextmanager
def running_service(
    database_url: str, rasa: Settings, var_dir: Path, **overrides: object
) -> Iterator[Service]:
    """The web app in a thread, talking to the running stack's Rasa (its URL and API token)."""
    settings = Settings(
        web_port=free_port(),
        var_dir=var_dir,
        database_url=database_url,
        rasa_url=rasa.rasa_url,
        rasa_token=rasa.rasa_token,
        sweep_seconds=0,
        **overrides,  # type: ignore[arg-type]
    )
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(settings))
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, settings.host, settings.web_port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(30)
    try:
        yield Service(settings.web_url, settings)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
