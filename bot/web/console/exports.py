"""CSV and Excel exports of any filtered ticket list: the queue's filters and scope, masked
unless the role may see more and the user asked for it (then audited, like a reveal)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

from aiohttp import web
from openpyxl import Workbook

from bot.tickets import queue
from bot.web.console import ticket_view
from bot.web.console.access import audit, current_user, requires
from bot.web.console.keys import SESSIONS
from bot.web.console.pages import db, local_time
from bot.web.console.tickets import filter_from

MAX_ROWS = 100_000
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
    app.router.add_get("/export.csv", export_csv)
    app.router.add_get("/export.xlsx", export_xlsx)


def cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return local_time(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
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


async def _rows(request: web.Request) -> tuple[list[list[Any]], bool]:
    account = current_user(request)
    f = filter_from(request.query, account)
    wants_full = request.query.get("unmasked") == "1"
    now = dt.datetime.now(dt.UTC)

    def collect() -> tuple[list[dict[str, Any]], bool]:
        rows, revealed = [], False
        for t in queue.every(request.app[SESSIONS], f, now, limit=MAX_ROWS):
            rows.append(ticket_view.row(t, account, now, reveal=wants_full))
            revealed = revealed or (wants_full and ticket_view.may_reveal(t, account))
        return rows, revealed

    rows, full = await db(collect)
    detail = "；".join(f"{k}={v}" for k, v in sorted(request.query.items()) if v) or "全部"
    await audit(
        request, "export_unmasked" if full else "export", detail=f"{len(rows)} 件；{detail}"
    )
    return table(rows), full


def _name(kind: str) -> str:
    return f"tickets-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.{kind}"


@requires("tickets.export")
async def export_csv(request: web.Request) -> web.Response:
    lines, _ = await _rows(request)
    return web.Response(
        body=csv_bytes([label for _, label in COLUMNS], lines),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_name("csv")}"'},
    )


@requires("tickets.export")
async def export_xlsx(request: web.Request) -> web.Response:
    lines, _ = await _rows(request)
    body = await db(xlsx_bytes, "工单", [label for _, label in COLUMNS], lines)
    return web.Response(
        body=body,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{_name("xlsx")}"'},
    )
