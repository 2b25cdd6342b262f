"""Memory of a console export: `python -m tools.perf.exports [--tickets N]`.

Files N tickets into a fresh SQLite database (a temporary directory), starts the web app in this
process, signs in as an operator and downloads /console/export.csv and .xlsx, reading the body a
chunk at a time. Prints each export's size, time and how far the process's peak resident memory
rose above what it was just before (Linux: the peak is reset through /proc/self/clear_refs).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.accounts.users import Accounts
from bot.config import Settings
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.tickets.service import TicketDraft, TicketService
from bot.web.app import create_app

PASSWORD = "bench password 1"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _seed(url: str, tickets: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    Accounts(sessions).add("bench", PASSWORD, "operator")
    service = TicketService(sessions)
    for n in range(tickets):
        service.file(
            TicketDraft(
                description=f"第{n}件：洛龙区住建局拖欠工程款三十八万元，" + "情况说明" * 40,
                organization="洛龙区住房和城乡建设局",
                district="洛龙区",
                phone="13812345678",
                sender_id=f"bench-{n}",
                category="arrears",
                caller_name="张伟",
                amount=Decimal("380000"),
            )
        )
    engine.dispose()


def _peak_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


async def _export(client: TestClient, kind: str) -> str:
    Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from the current RSS
    before = _peak_kib()
    started = time.monotonic()
    response = await client.get(f"/console/export.{kind}")
    size = 0
    async for chunk in response.content.iter_chunked(1 << 16):
        size += len(chunk)
    took = time.monotonic() - started
    rise = (_peak_kib() - before) / 1024
    return f"{kind}: HTTP {response.status}, {size / 1e6:.1f} MB, {took:.1f} s, peak RSS +{rise:.0f} MiB"


async def _run(tickets: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        var_dir = Path(folder)
        url = f"sqlite:///{var_dir / 'bench.db'}"
        _seed(url, tickets)
        settings = Settings(
            database_url=url, var_dir=var_dir, sweep_seconds=0, notice_poll_seconds=0
        )
        client = TestClient(TestServer(create_app(settings)))
        await client.start_server()
        try:
            page = await client.get("/console/login")
            found = _CSRF.search(await page.text())
            assert found is not None
            await client.post(
                "/console/login",
                data={"username": "bench", "password": PASSWORD, "csrf_token": found.group(1)},
            )
            print(f"{tickets} tickets")
            for kind in ("csv", "xlsx"):
                print(await _export(client, kind))
        finally:
            await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=30_000)
    asyncio.run(_run(parser.parse_args().tickets))


if __name__ == "__main__":
    main()
