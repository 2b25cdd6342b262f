"""The dashboard and the department integrity board (政务诚信): pages, their JSON for the charts
(ECharts from our own static files, no inline script), and the board's CSV/Excel export."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from aiohttp import web

from bot.tickets import queue, stats
from bot.web.console.access import audit, requires
from bot.web.console.exports import cell, csv_bytes, xlsx_bytes
from bot.web.console.keys import SESSIONS
from bot.web.console.pages import db, local_time, render
from bot.web.params import whole_number

DEFAULT_DAYS = 30
HOT_SPOT_THRESHOLD = 3


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/dashboard", dashboard_page, name="dashboard")
    app.router.add_get("/api/dashboard.json", dashboard_data)
    app.router.add_get("/integrity", integrity_page, name="integrity")
    app.router.add_get("/api/integrity.json", integrity_data)
    app.router.add_get("/integrity.csv", integrity_csv)
    app.router.add_get("/integrity.xlsx", integrity_xlsx)


def _period(
    request: web.Request, default: int = DEFAULT_DAYS
) -> tuple[int, dt.datetime, dt.datetime]:
    raw = request.query.get("days", "")
    days = min(whole_number(raw) or default, 3660)
    now = dt.datetime.now(dt.UTC)
    return days, now - dt.timedelta(days=days), now


def _json_ready(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    return value


@requires("stats.view")
async def dashboard_page(request: web.Request) -> web.Response:
    days, _start, now = _period(request)
    overdue, _ = await db(
        queue.page, request.app[SESSIONS], queue.QueueFilter(overdue=True), now, size=50
    )
    return await render(
        request,
        "dashboard.html",
        {
            "days": days,
            "overdue": [
                {
                    "number": t.number,
                    "department": t.department or "待派单",
                    "status": t.status,
                    "category": t.category,
                    "due": local_time(_due(t)),
                    "supervision": t.supervision,
                }
                for t in overdue
            ],
        },
    )


def _due(t: Any) -> dt.datetime | None:
    from bot.tickets.service import current_due

    return current_due(t)


@requires("stats.view")
async def dashboard_data(request: web.Request) -> web.Response:
    days, start, now = _period(request)
    threshold = request.query.get("n", "")
    n = whole_number(threshold) or HOT_SPOT_THRESHOLD
    facts = await db(stats.load_facts, request.app[SESSIONS], start, now)
    from bot.domain.categories import category_label

    labelled = [stats.Fact(**{**f.__dict__, "category": category_label(f.category)}) for f in facts]
    return web.json_response(
        _json_ready(
            {
                "days": days,
                "by_category": stats.by_day(labelled, "category"),
                "by_district": stats.by_day(labelled, "district"),
                "by_department": stats.by_day(labelled, "department"),
                "rates": stats.rates(facts, now),
                "hot_spots": stats.hot_spots(facts, now, n),
                "hot_spot_threshold": n,
            }
        ),
        headers={"Cache-Control": "no-store"},
    )


async def _board(request: web.Request) -> tuple[int, list[dict[str, Any]], str, bool]:
    days, start, now = _period(request, default=365)
    key = request.query.get("sort", "total")
    descending = request.query.get("order", "desc") != "asc"
    facts = await db(stats.load_facts, request.app[SESSIONS], start, now)
    board = stats.sort_board(stats.integrity(facts), key, descending)
    return days, board, key, descending


@requires("stats.view")
async def integrity_page(request: web.Request) -> web.Response:
    days, board, key, descending = await _board(request)
    return await render(
        request,
        "integrity.html",
        {
            "days": days,
            "board": board,
            "columns": stats.INTEGRITY_COLUMNS,
            "sort": key,
            "descending": descending,
        },
    )


@requires("stats.view")
async def integrity_data(request: web.Request) -> web.Response:
    days, board, _, _ = await _board(request)
    return web.json_response(_json_ready({"days": days, "board": board}))


def _lines(board: list[dict[str, Any]]) -> list[list[Any]]:
    return [[cell(_json_ready(r[k])) for k, _ in stats.INTEGRITY_COLUMNS] for r in board]


@requires("stats.view")
async def integrity_csv(request: web.Request) -> web.Response:
    days, board, _, _ = await _board(request)
    await audit(request, "export", detail=f"政务诚信榜 {days} 天")
    return web.Response(
        body=csv_bytes([label for _, label in stats.INTEGRITY_COLUMNS], _lines(board)),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="integrity.csv"'},
    )


@requires("stats.view")
async def integrity_xlsx(request: web.Request) -> web.Response:
    days, board, _, _ = await _board(request)
    await audit(request, "export", detail=f"政务诚信榜 {days} 天")
    body = await db(
        xlsx_bytes, "政务诚信", [label for _, label in stats.INTEGRITY_COLUMNS], _lines(board)
    )
    return web.Response(
        body=body,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="integrity.xlsx"'},
    )
