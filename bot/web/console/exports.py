"""CSV and Excel exports of any filtered ticket list: the queue's filters and scope, masked
unless the role may see more and the user asked for it (then audited, like a reveal).

An export can be 100,000 rows, so none is ever held in memory: the CSV is written to the
response a page of tickets at a time, and the workbook is built by openpyxl's write-only mode
into a temporary file (private to the service, removed at once) that is then streamed. At most
`EXPORT_SLOTS` exports run at once in a process; one more is refused with 429, not queued, so a
few impatient clicks cannot pile up database reads and temporary files.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import os
import tempfile
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web
from openpyxl import Workbook

from bot.accounts.users import Account
from bot.tickets import queue
from bot.web.console import ticket_view
from bot.web.console.access import audit, current_user, may, requires
from bot.web.console.keys import CONSOLE_SETTINGS, SESSIONS
from bot.web.console.pages import db, local_time
from bot.web.console.tickets import filter_from

MAX_ROWS = 100_000
PAGE_ROWS = 1000  # tickets read (and written) at a time
EXPORT_SLOTS = 2
TOO_MANY_EXPORTS = "导出任务过多，请稍后再试。"
SLOTS = web.AppKey("console_export_slots", asyncio.Semaphore)
# A caller's text starting with one of these is a formula to a spreadsheet: =, +, -, @ and their
# full-width forms (an input method types those), tab and line breaks (a spreadsheet drops them
# and reads what follows).
_FORMULA_STARTS = frozenset("=+-@＝＋－＠\t\r\n")
COLUMNS = (
    ("number", "工单号"),
    ("created_at", "受理时间"),
    ("status", "状态"),
    ("category", "类别"),
    ("district", "区县"),
    ("department", "承办单位"),
    ("organization", "被反映单位"),
    ("amount", "涉及金额（元）"),
    ("caller_type", "来电人类型"),
    ("caller_name", "来电人"),
    ("phone", "电话"),
    ("enterprise", "企业名称"),
    ("uscc", "统一社会信用代码"),
    ("due", "当前步骤期限"),
    ("overdue", "是否超期"),
    ("supervision", "督办"),
    ("rating", "评价"),
    ("description", "诉求内容"),
)


def setup_routes(app: web.Application) -> None:
    app[SLOTS] = asyncio.Semaphore(EXPORT_SLOTS)
    app.router.add_get("/export.csv", export_csv)
    app.router.add_get("/export.xlsx", export_xlsx)


def cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return local_time(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in _FORMULA_STARTS:
        return "'" + value  # a spreadsheet must not run a caller's text as a formula
    return value


def table(rows: Iterable[dict[str, Any]]) -> list[list[Any]]:
    return [[cell(r[key]) for key, _ in COLUMNS] for r in rows]


def csv_bytes(header: Sequence[str], lines: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(lines)
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read it as UTF-8


def xlsx_bytes(title: str, header: Sequence[str], lines: list[list[Any]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.append(list(header))
    for line in lines:
        sheet.append([str(v) if not isinstance(v, (int, float)) else v for v in line])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _pages(
    request: web.Request, account: Account, f: queue.QueueFilter, now: dt.datetime, full: bool
) -> Iterable[list[list[Any]]]:
    """The export's lines a page at a time, each page read when the previous one is written."""
    sessions = request.app[SESSIONS]
    after: int | None = None
    given = 0
    while given < MAX_ROWS:
        size = min(PAGE_ROWS, MAX_ROWS - given)
        tickets, after = queue.page(sessions, f, now, after_id=after, size=size)
        given += len(tickets)
        yield table(ticket_view.row(t, account, now, reveal=full) for t in tickets)
        if after is None:
            return


class _Export:
    """One export's filters, its audit row (written before any line leaves) and its slot."""

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.account = current_user(request)
        self.filter = filter_from(request.query, self.account)
        self.full = request.query.get("unmasked") == "1" and may(self.account, "tickets.reveal")
        self.now = dt.datetime.now(dt.UTC)

    async def __aenter__(self) -> _Export:
        slots = self.request.app[SLOTS]
        if slots.locked():
            raise web.HTTPTooManyRequests(text=TOO_MANY_EXPORTS, headers={"Retry-After": "30"})
        await slots.acquire()
        try:
            count = await db(
                queue.count, self.request.app[SESSIONS], self.filter, self.now, limit=MAX_ROWS
            )
            query = sorted(self.request.query.items())
            detail = "；".join(f"{k}={v}" for k, v in query if v) or "全部"
            revealed = self.full and count > 0
            await audit(
                self.request,
                "export_unmasked" if revealed else "export",
                detail=f"{count} 件；{detail}",
            )
        except BaseException:
            slots.release()
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        self.request.app[SLOTS].release()

    def pages(self) -> Iterable[list[list[Any]]]:
        return _pages(self.request, self.account, self.filter, self.now, self.full)


def _name(kind: str) -> str:
    return f"tickets-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.{kind}"


async def _in_thread(pages: Iterable[list[list[Any]]]) -> AsyncIterator[list[list[Any]]]:
    """Each page read in a worker thread (the database call), handed over on the loop."""
    iterator = iter(pages)
    done = object()
    while True:
        page = await db(next, iterator, done)
        if page is done:
            return
        yield page  # type: ignore[misc]


def _csv_chunk(lines: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(lines)
    return out.getvalue().encode("utf-8")


@requires("tickets.export")
async def export_csv(request: web.Request) -> web.StreamResponse:
    async with _Export(request) as export:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{_name("csv")}"',
            }
        )
        await response.prepare(request)
        # The BOM makes Excel read it as UTF-8.
        await response.write(b"\xef\xbb\xbf" + _csv_chunk([[label for _, label in COLUMNS]]))
        async for lines in _in_thread(export.pages()):
            await response.write(_csv_chunk(lines))
        await response.write_eof()
        return response


def _build_xlsx(path: Path, pages: Iterable[list[list[Any]]]) -> None:
    """The workbook in openpyxl's write-only mode: rows go to the file as they come."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("工单")
    sheet.append([label for _, label in COLUMNS])
    for lines in pages:
        for line in lines:
            sheet.append([str(v) if not isinstance(v, (int, float)) else v for v in line])
    book.save(path)


def _export_dir(request: web.Request) -> Path:
    """Temporary workbooks hold personal data: a directory only the service may read."""
    folder = request.app[CONSOLE_SETTINGS].var_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


@requires("tickets.export")
async def export_xlsx(request: web.Request) -> web.StreamResponse:
    async with _Export(request) as export:
        handle, name = tempfile.mkstemp(suffix=".xlsx", dir=_export_dir(request))
        os.close(handle)
        path = Path(name)
        try:
            await db(_build_xlsx, path, export.pages())
            response = web.StreamResponse(
                headers={
                    "Content-Type": (
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                    ),
                    "Content-Disposition": f'attachment; filename="{_name("xlsx")}"',
                }
            )
            response.content_length = path.stat().st_size
            await response.prepare(request)
            with path.open("rb") as source:
                while chunk := await db(source.read, 1 << 16):
                    await response.write(chunk)
            await response.write_eof()
            return response
        finally:
            path.unlink(missing_ok=True)
