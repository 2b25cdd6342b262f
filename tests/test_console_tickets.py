"""The closed loop through the console's forms (TicketService underneath), the queue's filters
and paging, and exports — over HTTP against the real app on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook
from sqlalchemy import select

from bot.store.models import AuditEntry
from tests.console_support import (
    World,
    draft,
    sign_in,
)


async def signed_in(server: TestServer, username: str) -> tuple[TestClient, str]:
    client = TestClient(server)
    await client.start_server()
    return client, await sign_in(client, username)


async def act(client: TestClient, token: str, number: str, action: str, **fields: str) -> str:
    response = await client.post(
        f"/console/tickets/{number}/act", data={"csrf_token": token, "action": action, **fields}
    )
    assert response.status == 200, await response.text()
    return await response.text()


def state_of(w: World, number: str) -> str:
    return w.service.detail(number, role="supervisor")["status"]  # type: ignore[return-value]


async def test_every_transition_through_the_console(world) -> None:
    w, server = world
    number = w.own.number
    dept, dept_token = await signed_in(server, "dept")
    op, op_token = await signed_in(server, "op")
    sup, sup_token = await signed_in(server, "sup")
    try:
        # Refused by the state machine: the page says why, and nothing is written.
        page = await act(sup, sup_token, number, "close")
        assert "操作未执行：工单处于「已派单」，不能办结" in page
        assert [e.action for e in w.service.history(number)] == ["file", "dispatch"]
        # Refused by the role table: a department cannot close, an operator cannot 督办.
        for client, token, action in ((dept, dept_token, "close"), (op, op_token, "supervise")):
            response = await client.post(
                f"/console/tickets/{number}/act", data={"csrf_token": token, "action": action}
            )
            assert response.status == 403
        # 退单 needs a reason.
        assert "退单需要填写：说明" in await act(dept, dept_token, number, "return")
        assert "已退单" in await act(dept, dept_token, number, "return", note="不属于本单位职责")
        # The operator dispatches it again, then reassigns it (改派 needs a reason).
        other = w.other.department or ""
        own = w.own.department or ""
        await act(op, op_token, number, "dispatch", department=other)
        assert state_of(w, number) == "已派单"
        assert "改派需要填写：说明" in await act(op, op_token, number, "redispatch", department=own)
        await act(op, op_token, number, "redispatch", department=own, note="按职责改派")
        # An unknown department is refused before the service sees it.
        assert "未知的承办单位" in await act(
            op, op_token, number, "redispatch", department="x", note="y"
        )
        await act(dept, dept_token, number, "sign")
        await act(dept, dept_token, number, "start")
        assert "答复需要填写：说明" in await act(dept, dept_token, number, "answer")
        page = await act(dept, dept_token, number, "answer", note="已督促付款，约定月底结清")
        assert "已答复" in page and "已督促付款" in page
        await act(op, op_token, number, "close")
        page = await act(op, op_token, number, "revisit", rating="不满意", note="钱还没到")
        assert state_of(w, number) == "办理中"  # 不满意 reopens it (重办)
        await act(dept, dept_token, number, "answer", note="已付清")
        await act(sup, sup_token, number, "close")
        await act(sup, sup_token, number, "revisit", rating="满意")
        assert state_of(w, number) == "已回访"
        # 督办 and 挂牌督办 (supervisor) on an open ticket; refused on a finished one.
        assert "不能督办" in await act(sup, sup_token, number, "supervise", note="x")
        open_number = w.protected.number
        await act(sup, sup_token, open_number, "supervise", note="多次投诉")
        page = await act(sup, sup_token, open_number, "list_supervision", note="挂牌")
        assert "挂牌督办" in page
        actions = [e.action for e in w.service.history(number)]
        assert actions == [
            "file", "dispatch", "return", "dispatch", "redispatch", "sign", "start", "answer",
            "close", "revisit", "reopen", "answer", "close", "revisit",
        ]  # fmt: skip
        actors = {e.actor for e in w.service.history(number)}
        assert {"department:dept", "operator:op", "supervisor:sup"} <= actors
        with w.sessions() as session:
            audited = session.scalars(select(AuditEntry.action)).all()
        assert audited.count("act") == 13 and audited.count("act_refused") == 7
    finally:
        for client in (dept, op, sup):
            await client.close()


async def test_the_queue_filters_searches_and_pages_by_cursor(world) -> None:
    w, server = world
    for i in range(60):
        w.service.file(draft(description=f"第{i}号 路灯不亮", sender_id=f"s{i}"))
    client, _ = await signed_in(server, "op")
    try:
        first = await (await client.get("/console/tickets?q=路灯")).text()
        assert first.count('<tr class="') == 50 and "下一页" in first
        cursor = first.split("after=")[1].split('"')[0]
        second = await (await client.get(f"/console/tickets?q=路灯&after={cursor}")).text()
        assert second.count('<tr class="') == 10 and "下一页" not in second
        numbers = lambda html: {p.split("<")[0] for p in html.split("/console/tickets/LY")[1:]}  # noqa: E731
        assert not numbers(first) & numbers(second)
        livelihood = await (await client.get("/console/tickets?category=livelihood")).text()
        assert w.other.number in livelihood and w.own.number not in livelihood
        by_department = await (
            await client.get(f"/console/tickets?department={w.other.department}")
        ).text()
        assert w.other.number in by_department and w.own.number not in by_department
        # A search for a literal % is not a wildcard.
        assert "没有符合条件的工单" in await (await client.get("/console/tickets?q=%25")).text()
    finally:
        await client.close()


async def test_exports_follow_the_filters_and_mask_unless_asked_and_allowed(world) -> None:
    w, server = world
    client, _ = await signed_in(server, "op")
    try:
        masked = await client.get("/console/export.csv?category=arrears")
        text = (await masked.read()).decode("utf-8-sig")
        lines = list(csv.reader(io.StringIO(text)))
        assert lines[0][0] == "工单号" and {r[0] for r in lines[1:]} == {
            w.own.number,
            w.protected.number,
        }
        assert "13812345678" not in text and "138****5678" in text
        full = await client.get("/console/export.xlsx?category=arrears&unmasked=1")
        book = load_workbook(io.BytesIO(await full.read()))
        cells = {str(c.value) for row in book.active.iter_rows() for c in row}
        assert "13812345678" in cells and "张伟" in cells
        with w.sessions() as session:
            audited = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        exports = [(a.action, a.username) for a in audited if a.action.startswith("export")]
        assert exports == [("export", "op"), ("export_unmasked", "op")]
        # A caller's text that looks like a formula stays text in a spreadsheet.
        w.service.file(draft(description='=HYPERLINK("http://x")', sender_id="f"))
        sheet = await (await client.get("/console/export.csv?q=HYPERLINK")).read()
        assert "'=HYPERLINK" in sheet.decode("utf-8-sig")
    finally:
        await client.close()
