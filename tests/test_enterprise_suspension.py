"""An admin suspends an enterprise (console or CLI): its API answers 403 to anything new, its
pages and chat links say why, it still reads its own tickets; reinstating lifts it at once.
Every change is audited; the contact person stays masked on the console page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.cli import main as hotline
from bot.enterprises.registry import EnterpriseRegistry, InvalidField
from bot.privacy.keys import load_or_create_key
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.store.models import AuditEntry
from tests.conftest import RunningStack
from tests.console_support import World, csrf_of, sign_in
from tests.enterprise_support import make_uscc, running_service

SUSPENDED = "该企业账号已被12345热线暂停使用"


Registries = Callable[[str, Path], EnterpriseRegistry]


@pytest.fixture
def registry_for() -> Iterator[Registries]:
    """Registries on their own engines, disposed after the test (no connection left open)."""
    engines: list[Engine] = []

    def make(database_url: str, var_dir: Path) -> EnterpriseRegistry:
        engines.append(make_engine(database_url))
        return EnterpriseRegistry(
            make_session_factory(engines[-1]), load_or_create_key(var_dir, "")
        )

    yield make
    for engine in engines:
        engine.dispose()


def test_suspension_needs_a_reason_and_is_lifted_by_reinstating(
    database_url: str, tmp_path: Path, registry_for: Registries
) -> None:
    upgrade(database_url)
    registry = registry_for(database_url, tmp_path)
    profile, _ = registry.register(
        name="洛阳恒达机械有限公司", uscc=make_uscc(71), contact_name="王建国", phone="13837901234"
    )
    for reason in ("", "   ", "\u202e\x1b\x00", None, 42):
        with pytest.raises(InvalidField):
            registry.suspend(profile.id, reason)
    suspended = registry.suspend(profile.id, "一天内\u202e重复报送同一事项 300 余次\x00")
    assert suspended is not None and suspended.suspended
    assert suspended.suspended_reason == "一天内重复报送同一事项 300 余次"
    assert registry.by_uscc(profile.uscc.lower()) == suspended
    back = registry.reinstate(profile.id)
    assert back is not None and not back.suspended and back.suspended_reason is None
    assert registry.suspend(10_000, "无此企业") is None
    registry.register(
        name="洛阳百分百测试有限公司", uscc=make_uscc(72), contact_name="李四", phone="13837901235"
    )
    assert [p.name for p in registry.search("百分百")] == ["洛阳百分百测试有限公司"]
    assert registry.search("%") == [] and registry.search("_") == []  # literal, not wildcards
    assert [p.uscc for p in registry.search(make_uscc(71)[:17])] == [make_uscc(71)]
    assert len(registry.search("")) == 2


def test_a_suspended_enterprise_reads_its_tickets_but_files_nothing_new(
    stack: RunningStack, sqlite_url: str, tmp_path: Path, registry_for: Registries
) -> None:
    upgrade(sqlite_url)
    with running_service(sqlite_url, stack.settings, tmp_path) as api:
        enterprise, token = api.register(73)
        story = {"description": "洛龙区住建局拖欠我们工程款三十八万元", "category": "arrears"}
        filed = api.report(token, story)
        assert filed.status_code == 201
        number = filed.json()["number"]
        # Signed in on the pages before the suspension, with the form's CSRF token in hand.
        browser = requests.Session()
        signin = browser.get(f"{api.url}/enterprise/report", timeout=10)
        browser.post(
            f"{api.url}/enterprise/signin",
            data={"token": token, "csrf_token": csrf_of(signin.text)},
            timeout=10,
        )
        csrf = csrf_of(browser.get(f"{api.url}/enterprise/report", timeout=10).text)
        registry = registry_for(sqlite_url, tmp_path)
        registry.suspend(enterprise["id"], "重复报送，请电话联系12345")
        bearer = {"Authorization": f"Bearer {token}"}

        refused = api.report(token, {**story, "description": "又一件事，镇政府欠款不还"})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "account_suspended"
        assert refused.json()["error"]["message"].startswith(SUSPENDED)
        rotate = requests.post(f"{api.url}/api/v1/enterprise/token", headers=bearer, timeout=10)
        assert rotate.status_code == 403
        listed = requests.get(f"{api.url}/api/v1/enterprise/reports", headers=bearer, timeout=10)
        assert [item["number"] for item in listed.json()["items"]] == [number]
        detail = requests.get(
            f"{api.url}/api/v1/enterprise/reports/{number}", headers=bearer, timeout=10
        )
        assert detail.status_code == 200

        # The pages: the form is replaced by the reason; posting anyway is refused.
        page = browser.get(f"{api.url}/enterprise/report", timeout=10)
        assert 'data-testid="suspended"' in page.text and "重复报送，请电话联系12345" in page.text
        assert 'id="report-form"' not in page.text and 'id="chat-link-form"' not in page.text
        posted = browser.post(
            f"{api.url}/enterprise/report",
            data={"description": "镇政府欠我们工程款三十万元", "csrf_token": csrf},
            timeout=10,
        )
        assert posted.status_code == 403 and SUSPENDED in posted.text
        link = browser.post(
            f"{api.url}/enterprise/chat-link", data={"csrf_token": csrf}, timeout=10
        )
        assert link.status_code == 403 and link.json()["error"].startswith(SUSPENDED)
        # A chat link issued before the suspension opens no chat after it.
        code = registry.issue_chat_link(enterprise["id"])
        opened = requests.get(
            f"{api.url}/enterprise/chat", params={"code": code}, timeout=10, allow_redirects=False
        )
        assert opened.status_code == 403 and SUSPENDED in opened.text

        registry.reinstate(enterprise["id"])
        assert (
            api.report(token, {**story, "description": "又一件事，镇政府欠款不还"}).status_code
            == 201
        )


async def test_an_admin_suspends_and_reinstates_from_the_console(
    world: tuple[World, TestServer], tmp_path: Path
) -> None:
    w, server = world
    registry = EnterpriseRegistry(w.sessions, load_or_create_key(tmp_path, ""))
    profile, _ = registry.register(
        name="洛阳恒达机械有限公司", uscc=make_uscc(74), contact_name="王建国", phone="13837901234"
    )
    operator = TestClient(server)
    await operator.start_server()
    admin = TestClient(server)
    await admin.start_server()
    try:
        await sign_in(operator, "op")
        assert (await operator.get("/console/enterprises")).status == 403
        csrf = await sign_in(admin, "admin")
        page = await admin.get("/console/enterprises")
        html = await page.text()
        assert page.status == 200 and "洛阳恒达机械有限公司" in html
        assert "13837901234" not in html and "王建国" not in html  # masked by default
        assert "138****1234" in html
        forged = await admin.post(
            f"/console/enterprises/{profile.id}/suspend", data={"reason": "重复报送"}
        )
        assert forged.status == 403
        empty = await admin.post(
            f"/console/enterprises/{profile.id}/suspend",
            data={"reason": " ", "csrf_token": csrf},
        )
        assert "请填写暂停原因" in await empty.text()
        assert registry.profile(profile.id).suspended is False  # type: ignore[union-attr]
        done = await admin.post(
            f"/console/enterprises/{profile.id}/suspend",
            data={"reason": "一天内重复报送 300 余次", "csrf_token": csrf},
        )
        assert "已暂停 洛阳恒达机械有限公司" in await done.text()
        assert registry.profile(profile.id).suspended  # type: ignore[union-attr]
        await admin.post(f"/console/enterprises/{profile.id}/reinstate", data={"csrf_token": csrf})
        assert registry.profile(profile.id).suspended is False  # type: ignore[union-attr]
        missing = await admin.post(
            "/console/enterprises/99999/reinstate", data={"csrf_token": csrf}
        )
        assert missing.status == 404
    finally:
        await operator.close()
        await admin.close()
    with w.sessions() as session:
        rows = session.execute(
            select(AuditEntry.username, AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.action.like("enterprise_%"))
            .order_by(AuditEntry.id)
        ).all()
    assert [(r.username, r.action) for r in rows] == [
        ("admin", "enterprise_suspend"),
        ("admin", "enterprise_reinstate"),
    ]
    assert "一天内重复报送 300 余次" in rows[0].detail and make_uscc(74) not in rows[0].detail


def test_the_cli_suspends_and_reinstates_by_credit_code(
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    registry_for: Registries,
) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("HOTLINE_VAR_DIR", str(tmp_path))
    upgrade(sqlite_url)
    registry = registry_for(sqlite_url, tmp_path)
    profile, _ = registry.register(
        name="洛阳恒达机械有限公司", uscc=make_uscc(75), contact_name="王建国", phone="13837901234"
    )
    assert hotline(["enterprise", "suspend", "--uscc", make_uscc(76), "--reason", "x"]) == 1
    assert "没有统一社会信用代码为" in capsys.readouterr().err
    assert hotline(["enterprise", "suspend", "--uscc", profile.uscc, "--reason", " "]) == 2
    assert hotline(["enterprise", "suspend", "--uscc", profile.uscc, "--reason", "重复报送"]) == 0
    assert "已暂停：洛阳恒达机械有限公司" in capsys.readouterr().out
    assert registry.profile(profile.id).suspended  # type: ignore[union-attr]
    assert hotline(["enterprise", "reinstate", "--uscc", profile.uscc]) == 0
    assert not registry.profile(profile.id).suspended  # type: ignore[union-attr]
    with registry._sessions() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.username == "cli").order_by(AuditEntry.id)
        ).all()
    assert actions == ["enterprise_suspend", "enterprise_reinstate"]
