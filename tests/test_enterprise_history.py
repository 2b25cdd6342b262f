"""What an enterprise reads of its ticket's history through the API: the public steps of the
closed loop and the answer, never the notes operators and departments write for each other in
the console (real web app, real console, both databases)."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.enterprises.registry import EnterpriseRegistry
from bot.privacy.keys import load_or_create_key
from tests.console_support import World, sign_in
from tests.enterprise_support import make_uscc

INTERNAL = "内部：该企业去年投诉过三次，先别急着办"
ANSWER = "经核实，洛龙区住建局已于本周支付工程款三十八万元。"


async def test_internal_notes_written_in_the_console_stay_out_of_the_enterprise_api(
    world: tuple[World, TestServer], tmp_path: Path
) -> None:
    w, server = world
    registry = EnterpriseRegistry(w.sessions, load_or_create_key(tmp_path, ""))
    _, token = registry.register(
        name="洛阳恒达机械有限公司", uscc=make_uscc(81), contact_name="王建国", phone="13837901234"
    )
    auth = {"Authorization": f"Bearer {token}"}
    enterprise = TestClient(server)
    operator = TestClient(server)
    department = TestClient(server)
    for client in (enterprise, operator, department):
        await client.start_server()
    try:
        filed = await enterprise.post(
            "/api/v1/enterprise/reports",
            json={
                "description": "洛龙区住建局拖欠我们工程款三十八万元，多次催要无果。",
                "respondent": "洛龙区住房和城乡建设局",
                "district": "洛龙区",
                "category": "arrears",
            },
            headers=auth,
        )
        assert filed.status == 201, await filed.text()
        number = (await filed.json())["number"]
        op_csrf = await sign_in(operator, "op")
        dept_csrf = await sign_in(department, "dept")
        steps = [
            (operator, op_csrf, "urge", f"{INTERNAL}（催办）"),
            (department, dept_csrf, "sign", f"{INTERNAL}（签收）"),
            (department, dept_csrf, "answer", ANSWER),
            (operator, op_csrf, "close", f"{INTERNAL}（办结）"),
        ]
        for client, csrf, action, note in steps:
            done = await client.post(
                f"/console/tickets/{number}/act",
                data={"action": action, "note": note, "csrf_token": csrf},
            )
            assert "操作成功" in await done.text(), action
        console = await (await operator.get(f"/console/tickets/{number}")).text()
        assert INTERNAL in console  # the notes are there, for the hotline and the department

        detail = await enterprise.get(f"/api/v1/enterprise/reports/{number}", headers=auth)
        body = await detail.json()
    finally:
        for client in (enterprise, operator, department):
            await client.close()
    history = body["history"]
    assert [e["action"] for e in history] == ["受理", "派单", "签收", "答复", "办结"]
    assert [e["status"] for e in history] == [
        "received",
        "dispatched",
        "signed",
        "answered",
        "closed",
    ]
    notes = [e["note"] for e in history]
    assert ANSWER in notes and body["reply"] == ANSWER
    assert not any("内部" in (n or "") for n in notes), notes
    assert "按派单规则" not in str(body)  # the routing rule is the hotline's own business
