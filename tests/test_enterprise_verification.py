"""Enterprise registration is a claim until an operator verifies it, over HTTP: a known code is
answered as an unknown one, a pending account files ordinary 企业 tickets that are never the
verified company's, an operator approves or refuses in the console (reason required, audited),
and registrations are limited per client address and in all."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.config import Settings
from bot.enterprises.registry import EnterpriseRegistry
from bot.privacy.keys import load_or_create_key
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import AuditEntry, Ticket, TicketEvent
from tests.conftest import RunningStack
from tests.console_support import World, csrf_of, sign_in
from tests.enterprise_support import Service, make_uscc, running_service

REPORT = {
    "description": "洛龙区住建局拖欠我们工程款三十八万元，多次催要无果。",
    "respondent": "洛龙区住房和城乡建设局",
    "district": "洛龙区",
    "category": "arrears",
}
REGISTER = "/api/v1/enterprise/register"


def _body(serial: int, **overrides: str) -> dict[str, str]:
    return {
        "name": "洛阳恒达机械有限公司",
        "uscc": make_uscc(serial),
        "contact_name": "王建国",
        "phone": "13837901234",
        **overrides,
    }


@pytest.fixture
def api(sqlite_url: str, tmp_path: Path) -> Iterator[Service]:
    """The web service on its own database, behind a proxy it trusts (127.0.0.1), so a test can
    speak from many client addresses; no NLU is needed (every report gives its category)."""
    upgrade(sqlite_url)
    with running_service(
        sqlite_url, Settings(), tmp_path, trusted_proxies=("127.0.0.1",)
    ) as service:
        yield service


@pytest.fixture
def registry(api: Service) -> Iterator[EnterpriseRegistry]:
    """The registry on the service's database and key (the operator's side, as the CLI)."""
    engine = make_engine(api.settings.database_url)
    key = load_or_create_key(api.settings.var_dir, "")
    yield EnterpriseRegistry(make_session_factory(engine), key)
    engine.dispose()


def _post(api: Service, body: dict[str, str], address: str | None = None) -> requests.Response:
    headers = {"X-Forwarded-For": address} if address else {}
    return requests.post(f"{api.url}{REGISTER}", json=body, headers=headers, timeout=30)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_known_code_is_answered_as_a_new_one_and_never_becomes_the_companys(
    api: Service, registry: EnterpriseRegistry
) -> None:
    company = _post(api, _body(1), "198.51.100.1")
    assert company.status_code == 202, company.text
    company_id = company.json()["enterprise"]["id"]
    assert registry.verify(company_id, "电话核实", by="op") is not None
    company_token = company.json()["token"]
    own = api.report(company_token, REPORT)
    assert own.status_code == 201

    # Someone else claims the company's code: the same answer as for a code never seen.
    squatter = _post(api, _body(1, contact_name="李四", phone="13900001111"), "198.51.100.2")
    fresh = _post(api, _body(2), "198.51.100.3")
    assert squatter.status_code == fresh.status_code == 202
    shape = {k: v for k, v in squatter.json().items() if k not in ("enterprise", "token")}
    assert shape == {k: v for k, v in fresh.json().items() if k not in ("enterprise", "token")}
    assert shape["status"] == "pending" and "核实后通知" in shape["message"]
    assert squatter.json()["enterprise"]["verification"]["status"] == "pending"
    assert set(squatter.json()["enterprise"]) == set(fresh.json()["enterprise"])

    # The pending account files, as an ordinary 企业 ticket marked unverified...
    token = squatter.json()["token"]
    filed = api.report(token, {**REPORT, "description": "洛龙区住建局拖欠我们货款二十万元。"})
    assert filed.status_code == 201, filed.text
    number = filed.json()["number"]
    engine = make_engine(api.settings.database_url)
    try:
        with engine.connect() as conn:
            ticket = conn.execute(select(Ticket).where(Ticket.number == number)).one()
            notes = conn.execute(
                select(TicketEvent.note).where(TicketEvent.ticket_id == ticket.id)
            ).scalars()
            assert "未经12345核实" in " ".join(n or "" for n in notes)
    finally:
        engine.dispose()
    assert ticket.caller_type == "enterprise" and ticket.phone == "13900001111"
    # ...never listed or shown as the verified company's.
    listed = requests.get(
        f"{api.url}/api/v1/enterprise/reports", headers=_bearer(company_token), timeout=30
    ).json()
    assert [i["number"] for i in listed["items"]] == [own.json()["number"]]
    peek = requests.get(
        f"{api.url}/api/v1/enterprise/reports/{number}", headers=_bearer(company_token), timeout=30
    )
    assert peek.status_code == 404
    account = requests.get(
        f"{api.url}/api/v1/enterprise/account", headers=_bearer(token), timeout=30
    ).json()["enterprise"]
    assert account["verification"] == {
        "status": "pending",
        "label": "待核实",
        "reason": None,
        "decided_at": None,
    }
    # The page tells the contact, and offers no chat as the company.
    browser = requests.Session()
    signin = browser.get(f"{api.url}/enterprise/report", timeout=30)
    browser.post(
        f"{api.url}/enterprise/signin",
        data={"token": token, "csrf_token": csrf_of(signin.text)},
        timeout=30,
    )
    page = browser.get(f"{api.url}/enterprise/report", timeout=30).text
    assert 'data-status="pending"' in page and "待核实" in page
    assert 'id="report-form"' in page and 'id="chat-link-form"' not in page
    link = browser.post(
        f"{api.url}/enterprise/chat-link", data={"csrf_token": csrf_of(page)}, timeout=30
    )
    assert link.status_code == 403 and "核实后" in link.json()["error"]
    code = registry.issue_chat_link(squatter.json()["enterprise"]["id"])  # issued anyhow
    asked = browser.get(f"{api.url}/enterprise/chat", params={"code": code}, timeout=30)
    assert asked.status_code == 403 and "核实后" in asked.text
    assert 'id="chat-confirm-form"' not in asked.text

    # Refused: nothing new is filed, the contact reads why; its tickets stay readable.
    registry.refuse(squatter.json()["enterprise"]["id"], "企业称未委托此人注册", by="op")
    refused = api.report(token, REPORT)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "account_refused"
    account = requests.get(
        f"{api.url}/api/v1/enterprise/account", headers=_bearer(token), timeout=30
    ).json()["enterprise"]
    assert account["verification"]["reason"] == "企业称未委托此人注册"
    page = browser.get(f"{api.url}/enterprise/report", timeout=30).text
    assert 'data-testid="refused"' in page and "企业称未委托此人注册" in page
    assert 'id="report-form"' not in page
    mine = requests.get(
        f"{api.url}/api/v1/enterprise/reports/{number}", headers=_bearer(token), timeout=30
    )
    assert mine.status_code == 200


def test_registrations_are_limited_per_address_and_in_all(api: Service) -> None:
    serial = iter(range(100, 200))
    for _ in range(5):
        assert _post(api, _body(next(serial)), "203.0.113.7").status_code == 202
    limited = _post(api, _body(next(serial)), "203.0.113.7")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert limited.json()["error"]["code"] == "registration_limited"
    assert "12345" in limited.json()["error"]["message"]
    # A mistake is answered as before and not counted; another address is not held up.
    typo = _post(api, _body(next(serial), phone="12345"), "203.0.113.7")
    assert typo.status_code == 422
    assert _post(api, _body(next(serial)), "203.0.113.8").status_code == 202
    # An IPv6 client counts by its /64: fresh addresses in it do not make fresh counts.
    for host in range(1, 6):
        assert _post(api, _body(next(serial)), f"2001:db8:1:2::{host}").status_code == 202
    assert _post(api, _body(next(serial)), "2001:db8:1:2::ff").status_code == 429
    assert _post(api, _body(next(serial)), "2001:db8:1:3::1").status_code == 202
    # In all: 30 an hour (limits.yml), whatever the addresses; 12 so far.
    for n in range(18):
        assert _post(api, _body(next(serial)), f"192.0.2.{n + 1}").status_code == 202
    spread = _post(api, _body(next(serial)), "192.0.2.200")
    assert spread.status_code == 429 and spread.json()["error"]["code"] == "registration_limited"
    # Loopback (our own tools on the host: proofs, benches) is not counted.
    assert _post(api, _body(next(serial))).status_code == 202


async def test_an_operator_verifies_or_refuses_in_the_console(
    world: tuple[World, TestServer], tmp_path: Path
) -> None:
    w, server = world
    registry = EnterpriseRegistry(w.sessions, load_or_create_key(tmp_path, ""))
    real, _ = registry.register(
        name="洛阳恒达机械有限公司", uscc=make_uscc(91), contact_name="王建国", phone="13837901234"
    )
    claim, _ = registry.register(
        name="洛阳恒达机械有限公司", uscc=make_uscc(91), contact_name="李四", phone="13900001111"
    )
    operator, department, admin = TestClient(server), TestClient(server), TestClient(server)
    for client in (operator, department, admin):
        await client.start_server()
    try:
        await sign_in(department, "dept")
        assert (await department.get("/console/enterprises/pending")).status == 403
        csrf = await sign_in(operator, "op")
        page = await operator.get("/console/enterprises/pending")
        html = await page.text()
        assert page.status == 200 and make_uscc(91) in html and "另有 1 个申请" in html
        assert "13837901234" not in html and "王建国" not in html and "138****1234" in html
        assert 'href="/console/enterprises/pending"' in html  # in the menu
        forged = await operator.post(
            f"/console/enterprises/{real.id}/verify", data={"reason": "电话核实"}
        )
        assert forged.status == 403
        empty = await operator.post(
            f"/console/enterprises/{real.id}/verify", data={"reason": " ", "csrf_token": csrf}
        )
        assert "请填写核实情况" in await empty.text()
        assert registry.profile(real.id).verification == "pending"  # type: ignore[union-attr]
        done = await operator.post(
            f"/console/enterprises/{real.id}/verify",
            data={"reason": "公示系统电话核实，财务部确认", "csrf_token": csrf},
        )
        html = await done.text()
        assert "洛阳恒达机械有限公司：已核实" in html and "已有核实账号" in html
        twice = await operator.post(
            f"/console/enterprises/{claim.id}/verify",
            data={"reason": "再核实一次", "csrf_token": csrf},
        )
        assert "已有核实通过的账号" in await twice.text()
        await operator.post(
            f"/console/enterprises/{claim.id}/refuse",
            data={"reason": "企业称未委托此人", "csrf_token": csrf},
        )
        assert (
            "没有待核实的企业" in await (await operator.get("/console/enterprises/pending")).text()
        )
        missing = await operator.post(
            "/console/enterprises/99999/refuse", data={"reason": "x", "csrf_token": csrf}
        )
        assert missing.status == 404
        # An admin undoes a wrong verification from 企业账号 (撤销核实), back on that page.
        admin_csrf = await sign_in(admin, "admin")
        listing = await (await admin.get("/console/enterprises")).text()
        assert "撤销核实" in listing and "已核实" in listing and "未通过核实" in listing
        undone = await admin.post(
            f"/console/enterprises/{real.id}/refuse",
            data={"reason": "核实有误", "back": "enterprises", "csrf_token": admin_csrf},
            allow_redirects=False,
        )
        assert undone.status == 303 and undone.headers["Location"] == "/console/enterprises"
        assert registry.profile(real.id).refused  # type: ignore[union-attr]
        registry.verify(real.id, "重新核实无误", by="op")
    finally:
        for client in (operator, department, admin):
            await client.close()
    verified, refused = registry.profile(real.id), registry.profile(claim.id)
    assert verified is not None and verified.verified and verified.decided_by == "op"
    assert refused is not None and refused.refused and refused.decision_reason == "企业称未委托此人"
    with w.sessions() as session:
        rows = session.execute(
            select(AuditEntry.username, AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.action.in_(["enterprise_verify", "enterprise_refuse"]))
            .order_by(AuditEntry.id)
        ).all()
    assert [(r.username, r.action) for r in rows] == [
        ("op", "enterprise_verify"),
        ("op", "enterprise_refuse"),
        ("admin", "enterprise_refuse"),
    ]
    assert "财务部确认" in rows[0].detail and make_uscc(91) not in rows[0].detail
    assert "企业称未委托此人" in rows[1].detail


def test_an_enterprise_sender_id_cannot_be_derived_from_its_number(stack: RunningStack) -> None:
    """Whoever can post to Rasa's REST channel (a host on the private network) picks the sender
    id: `enterprise:<account number>` would list that company's tickets."""
    web = stack.settings.web_url
    registered = requests.post(f"{web}{REGISTER}", json=_body(uuid.uuid4().int % 10**8), timeout=30)
    assert registered.status_code == 202, registered.text
    enterprise = registered.json()["enterprise"]
    filed = requests.post(
        f"{web}/api/v1/enterprise/reports",
        json=REPORT,
        headers=_bearer(registered.json()["token"]),
        timeout=60,
    )
    assert filed.status_code == 201, filed.text
    number = filed.json()["number"]
    guessed = " ".join(
        m.get("text", "") for m in stack.say(f"enterprise:{enterprise['id']}", "查一下进度")
    )
    assert number not in guessed
    with stack.engine.connect() as conn:
        sender = conn.execute(select(Ticket.sender_id).where(Ticket.number == number)).scalar_one()
    assert sender.startswith("enterprise:") and str(enterprise["id"]) != sender.split(":")[1]
    # The real sender id does list it (the look-up above could have found it).
    own = " ".join(m.get("text", "") for m in stack.say(sender, "查一下进度"))
    assert number in own
