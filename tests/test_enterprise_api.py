"""The enterprise API through HTTP: the real web app, the real Rasa model, both databases."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from bot.store.db import make_engine
from bot.store.migrate import upgrade
from bot.store.models import Enterprise, Ticket
from tests.conftest import RunningStack
from tests.enterprise_support import Service, make_uscc, running_service

STORY = "洛龙区住建局拖欠我们工程款三十八万元，2025年8月验收完成至今未付，多次催要无果。"


@pytest.fixture
def api(stack: RunningStack, database_url: str, tmp_path: Path) -> Iterator[Service]:
    upgrade(database_url)
    with running_service(database_url, stack.settings, tmp_path) as service:
        yield service


def _count(database_url: str, model: type) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(model)).scalar_one())
    finally:
        engine.dispose()


def test_registration_token_hashed_and_rotation(api: Service) -> None:
    profile, token = api.register(1)
    assert token.startswith("ent_") and len(token) > 40
    engine = make_engine(api.settings.database_url)
    with engine.connect() as conn:
        stored = conn.execute(select(Enterprise.token_hash)).scalar_one()
    engine.dispose()
    key = bytes.fromhex((api.settings.var_dir / "enterprise.key").read_text().strip())
    assert stored == hmac.new(key, token.encode(), hashlib.sha256).hexdigest()
    assert token not in stored
    # a known USCC is another pending claim (tests/test_enterprise_verification.py); bad
    # checksum → 422 naming the field
    bad = profile["uscc"][:-1] + ("0" if profile["uscc"][-1] != "0" else "1")
    wrong = requests.post(
        f"{api.url}/api/v1/enterprise/register",
        json={
            "name": "洛阳某某有限公司",
            "uscc": bad,
            "contact_name": "李四",
            "phone": "13800001111",
        },
        timeout=10,
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "uscc"
    assert "统一社会信用代码" in wrong.json()["error"]["message"]
    rotated = requests.post(
        f"{api.url}/api/v1/enterprise/token",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert rotated.status_code == 200
    new = rotated.json()["token"]
    listing = f"{api.url}/api/v1/enterprise/reports"
    old_try = requests.get(listing, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert old_try.status_code == 401
    assert requests.get(listing, headers={"Authorization": f"Bearer {new}"}, timeout=10).ok


def test_report_is_filed_from_the_profile_and_dispatched_same_day(api: Service) -> None:
    _, token = api.register(2)
    response = api.report(
        token,
        {
            "description": STORY,
            "respondent": "洛龙区住建局",
            "district": "洛龙区",
            "amount": 380000,
            "date": "2025-08",
            "category": "arrears",
        },
    )
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["status"]["code"] == "dispatched" and ticket["department"]
    assert len(ticket["access_code"]) == 6
    assert all(ticket["deadlines"][k] for k in ("dispatch", "sign", "answer"))
    engine = make_engine(api.settings.database_url)
    with engine.connect() as conn:
        row = conn.execute(select(Ticket).where(Ticket.number == ticket["number"])).one()
    engine.dispose()
    assert row.caller_type == "enterprise" and row.enterprise_name == "洛阳恒达机械有限公司"
    assert row.uscc == make_uscc(2) and row.caller_name == "王建国" and row.phone == "13837901234"
    detail = requests.get(
        f"{api.url}/api/v1/enterprise/reports/{ticket['number']}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()
    notes = " ".join(e["note"] or "" for e in detail["history"])
    assert "企业一键报送" in notes
    assert [e["status"] for e in detail["history"]] == ["received", "dispatched"]
    # The filing's answer (built from the row just written) reads as the look-up does.
    for name in ("number", "status", "department", "created_at", "deadlines", "respondent"):
        assert ticket[name] == detail[name], name
    assert all(v.endswith("+00:00") for v in ticket["deadlines"].values())
    created = dt.datetime.fromisoformat(detail["created_at"])
    assert dt.datetime.fromisoformat(detail["history"][1]["at"]) == created


def test_classified_by_the_real_model_when_no_category(api: Service) -> None:
    _, token = api.register(3)
    response = api.report(token, {"description": STORY})
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["category"]["code"] == "arrears"
    assert ticket["district"] == "洛龙区" and "住建局" in ticket["respondent"]


def test_idempotency_sequential_concurrent_and_conflict(api: Service) -> None:
    _, token = api.register(4)
    body = {
        "description": STORY,
        "category": "arrears",
        "district": "洛龙区",
        "respondent": "洛龙区住建局",
    }
    first = api.report(token, body, **{"Idempotency-Key": "k-1"})
    again = api.report(token, body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["number"] == first.json()["number"] and again.json()["replayed"]
    other = api.report(token, {**body, "amount": 5}, **{"Idempotency-Key": "k-1"})
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"
    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        answers = list(
            pool.map(lambda _: api.report(token, body, **{"Idempotency-Key": "k-2"}), range(5))
        )
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    assert len({a.json()["number"] for a in answers}) == 1
    assert sum(a.status_code == 201 for a in answers) == 1
    assert _count(api.settings.database_url, Ticket) == 2


def test_another_enterprise_cannot_see_the_ticket(api: Service) -> None:
    _, mine = api.register(5)
    _, theirs = api.register(6, name="洛阳宏图贸易有限公司")
    number = api.report(mine, {"description": STORY, "category": "arrears"}).json()["number"]
    url = f"{api.url}/api/v1/enterprise/reports/{number}"
    peek = requests.get(url, headers={"Authorization": f"Bearer {theirs}"}, timeout=10)
    missing = requests.get(
        url[:-1] + "9", headers={"Authorization": f"Bearer {theirs}"}, timeout=10
    )
    assert peek.status_code == missing.status_code == 404
    assert peek.json() == missing.json()
    listing = requests.get(
        f"{api.url}/api/v1/enterprise/reports",
        headers={"Authorization": f"Bearer {theirs}"},
        timeout=10,
    ).json()
    assert listing["items"] == []
    mine_list = requests.get(
        f"{api.url}/api/v1/enterprise/reports?limit=1",
        headers={"Authorization": f"Bearer {mine}"},
        timeout=10,
    ).json()
    assert [i["number"] for i in mine_list["items"]] == [number]
    assert mine_list["items"][0]["status"]["code"] == "dispatched"
