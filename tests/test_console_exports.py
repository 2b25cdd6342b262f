"""Ticket exports over HTTP on SQLite and PostgreSQL: streamed a page at a time (the first lines
reach the browser before the next page is read), at most EXPORT_SLOTS at once (one more is
refused with 429), the workbook's temporary file removed, and a caller's text that a spreadsheet
would read as a formula — full-width signs, tab and line breaks included — kept as text."""

from __future__ import annotations

import asyncio
import csv
import io
import threading
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook

from bot.tickets import queue
from bot.web.console import exports
from bot.web.console.exports import EXPORT_SLOTS, TOO_MANY_EXPORTS
from tests.console_support import World, draft, sign_in

FORMULAS = ["\t=1+1", "\r=1+1", "＝HYPERLINK(1)", "＋1", "－1", "＠SUM(1)", "=1", "+1", "-1", "@1"]


async def _client(server: TestServer) -> TestClient:
    client = TestClient(server)
    await client.start_server()
    await sign_in(client, "op")
    return client


async def test_a_formula_in_a_callers_text_stays_text(world: tuple[World, TestServer]) -> None:
    w, server = world
    stored = []
    for n, text in enumerate(FORMULAS):
        filed = w.service.file(draft(description=f"{text}投诉{n}", sender_id=f"f{n}"))
        ticket = queue.by_number(w.sessions, filed.number)
        assert ticket is not None
        stored.append(ticket.description)
    client = await _client(server)
    try:
        response = await client.get("/console/export.csv?q=投诉&unmasked=1")
        assert response.status == 200 and "Content-Length" not in response.headers
        assert response.headers.get("Transfer-Encoding") == "chunked"
        raw = await response.read()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        described = {r[-1] for r in rows[1:]}
        assert described == {f"'{text}" for text in stored}
        book = await client.get("/console/export.xlsx?q=投诉")
        sheet = load_workbook(io.BytesIO(await book.read())).active
        cells = [str(row[-1].value) for row in sheet.iter_rows(min_row=2)]
        assert all(c.startswith("'") for c in cells) and len(cells) == len(FORMULAS)
    finally:
        await client.close()


async def test_exports_stream_and_only_a_few_run_at_once(
    world: tuple[World, TestServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w, server = world
    for n in range(4):
        w.service.file(draft(description=f"第{n}件", sender_id=f"s{n}"))
    monkeypatch.setattr(exports, "PAGE_ROWS", 2)
    gate = threading.Event()
    first_pages = threading.Semaphore(0)
    page = queue.page

    def gated(*args, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("after_id") is None:
            first_pages.release()
        else:
            assert gate.wait(30), "the test never opened the gate"
        return page(*args, **kwargs)

    monkeypatch.setattr(queue, "page", gated)
    clients = [await _client(server) for _ in range(EXPORT_SLOTS + 1)]
    try:
        held = []
        for client in clients[:EXPORT_SLOTS]:
            response = await client.get("/console/export.csv")
            assert response.status == 200
            # The header and the first page arrive while the second page is still unread.
            header = (await response.content.readline()).decode("utf-8-sig")
            assert header.startswith("工单号")
            assert (await response.content.readline()).strip()
            held.append(response)
        for path in ("/console/export.csv", "/console/export.xlsx"):
            refused = await clients[-1].get(path)
            assert refused.status == 429 and TOO_MANY_EXPORTS in await refused.text()
        gate.set()
        for response in held:
            rest = (await response.read()).decode("utf-8")
            assert len([line for line in rest.splitlines() if line]) == 7 - 1  # 7 tickets
        # Slots are free again; the workbook's temporary file is gone once it was sent.
        book = await clients[-1].get("/console/export.xlsx")
        assert book.status == 200
        assert load_workbook(io.BytesIO(await book.read())).active.max_row == 1 + 7
        for _ in range(100):  # the handler removes it after its last write
            if not list((tmp_path / "exports").iterdir()):
                break
            await asyncio.sleep(0.02)
        assert list((tmp_path / "exports").iterdir()) == []
    finally:
        gate.set()
        for client in clients:
            await client.close()
