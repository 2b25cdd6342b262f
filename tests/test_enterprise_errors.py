"""Every refusal of the enterprise API is a clear JSON 4xx with the documented status; bad input
stores nothing; the OpenAPI document matches what the app serves."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from bot.config import Settings
from bot.store.db import make_engine
from bot.store.migrate import upgrade
from bot.store.models import Ticket
from bot.web.app import create_app
from bot.web.enterprise_api import openapi_document
from tests.conftest import RunningStack
from tests.enterprise_support import Service, running_service

STORY = "洛龙区住建局拖欠我们工程款三十八万元，至今未付。"


@pytest.fixture
def api(stack: RunningStack, sqlite_url: str, tmp_path: Path) -> Iterator[Service]:
    upgrade(sqlite_url)
    with running_service(sqlite_url, stack.settings, tmp_path) as service:
        yield service


def _tickets(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Ticket)).scalar_one())
    finally:
        engine.dispose()


def _documented(method: str, path: str, status: int) -> bool:
    operation = openapi_document()["paths"].get(path, {}).get(method.lower(), {})
    return str(status) in operation.get("responses", {})


def _assert_error(response: requests.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "field"}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])
    assert "Traceback" not in response.text
    if code:
        assert error["code"] == code
    return error


BAD_REPORTS: list[tuple[object, str | None]] = [
    ({}, "description"),
    ({"description": ""}, "description"),
    ({"description": "😀😀😀😀😀😀"}, "description"),
    ({"description": 12345}, "description"),
    ({"description": ["列表"]}, "description"),
    ({"description": STORY, "district": "北京市朝阳区"}, "district"),
    ({"description": STORY, "district": 7}, "district"),
    ({"description": STORY, "amount": -5}, "amount"),
    ({"description": STORY, "amount": "很多钱"}, "amount"),
    ({"description": STORY, "amount": True}, "amount"),
    ({"description": STORY, "amount": 1e12}, "amount"),
    ({"description": STORY, "date": "2999-01-01"}, "date"),
    ({"description": STORY, "date": "2025-13-01"}, "date"),
    ({"description": STORY, "category": "'; DROP TABLE tickets; --"}, "category"),
    ({"description": STORY, "category": "<script>alert(1)</script>"}, "category"),
    ({"description": STORY, "surprise": 1}, "surprise"),
    ({"description": "字" * 2001}, "description"),
]


def test_bad_input_is_a_clear_4xx_and_stores_nothing(api: Service) -> None:
    _, token = api.register(11)
    for body, field in BAD_REPORTS:
        error = _assert_error(api.report(token, body), 422)
        assert error["field"] == field, (body, error)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    url = f"{api.url}/api/v1/enterprise/reports"
    for raw in (b"{not json", b"", b"[1,2]", b"\xff\xfe"):
        response = requests.post(url, data=raw, headers=headers, timeout=10)
        _assert_error(response, 400)
    huge = b'{"description": "' + "字".encode() * 40000 + b'"}'
    _assert_error(requests.post(url, data=huge, headers=headers, timeout=10), 413, "too_large")
    assert _tickets(api.settings.database_url) == 0


def test_odd_but_valid_text_is_kept_as_typed(api: Service) -> None:
    _, token = api.register(12)
    texts = [
        "洛龍區住建局拖欠我們工程款三十八萬元",  # traditional characters
        "<script>alert('x')</script> 洛龙区住建局欠款不还",
        "'; DROP TABLE tickets; -- 洛龙区住建局欠款不还",
        "🏗️ 洛龙区住建局欠款不还 🙏",
    ]
    for text in texts:
        response = api.report(token, {"description": text, "category": "arrears"})
        assert response.status_code == 201, response.text
    engine = make_engine(api.settings.database_url)
    with engine.connect() as conn:
        stored = set(conn.execute(select(Ticket.description)).scalars())
    engine.dispose()
    assert stored == set(texts)


def test_auth_not_found_and_rate_limit(
    stack: RunningStack, sqlite_url: str, tmp_path: Path
) -> None:
    upgrade(sqlite_url)
    with running_service(
        sqlite_url,
        stack.settings,
        tmp_path,
        enterprise_rate_burst=8,
        enterprise_rate_per_second=0.5,
    ) as api:
        _auth_not_found_and_rate_limit(api)


def _auth_not_found_and_rate_limit(api: Service) -> None:
    url = f"{api.url}/api/v1/enterprise/reports"
    _assert_error(requests.get(url, timeout=10), 401, "unauthorized")
    _assert_error(requests.get(url, headers={"Authorization": "Bearer ent_nope"}, timeout=10), 401)
    _assert_error(requests.get(url, headers={"Authorization": "Basic abc"}, timeout=10), 401)
    _, token = api.register(13)
    auth = {"Authorization": f"Bearer {token}"}
    _assert_error(requests.get(f"{url}/LY20990101-0001", headers=auth, timeout=10), 404)
    _assert_error(requests.get(f"{url}?limit=0", headers=auth, timeout=10), 422, "limit_invalid")
    _assert_error(requests.get(f"{url}?cursor=x", headers=auth, timeout=10), 422)
    _assert_error(requests.delete(url, headers=auth, timeout=10), 405)
    statuses = [requests.get(url, headers=auth, timeout=10).status_code for _ in range(12)]
    assert 429 in statuses and statuses[0] == 200
    limited = requests.get(url, headers=auth, timeout=10)
    _assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1


def test_openapi_document_matches_the_app(api: Service, tmp_path: Path) -> None:
    served = requests.get(f"{api.url}/api/v1/openapi.json", timeout=10).json()
    assert served == openapi_document() and served["openapi"].startswith("3.")
    app = create_app(Settings(var_dir=tmp_path, sweep_seconds=0))
    routes = {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/v1/")
        and route.method != "HEAD"
    }
    documented = {(m, p) for p, ops in served["paths"].items() for m in ops}
    assert routes == documented
    page = requests.get(f"{api.url}/api/v1/docs", timeout=10)
    assert page.status_code == 200 and "一键报送" in page.text
    for path in served["paths"]:
        assert path in page.text
    # Nothing loaded from elsewhere, no inline script (a later CSP forbids it).
    assert all(u.startswith("/") for u in re.findall(r'(?:src|href)="([^"]*)"', page.text))
    assert "<script>" not in page.text
    # Every status the app answers in these tests is documented for its operation.
    _, token = api.register(14)
    auth = {"Authorization": f"Bearer {token}"}
    base = api.url
    seen = [
        (
            "post",
            "/api/v1/enterprise/register",
            requests.post(f"{base}/api/v1/enterprise/register", data=b"{", timeout=10),
        ),
        (
            "post",
            "/api/v1/enterprise/register",
            requests.post(f"{base}/api/v1/enterprise/register", json={"uscc": "1"}, timeout=10),
        ),
        (
            "post",
            "/api/v1/enterprise/reports",
            requests.post(f"{base}/api/v1/enterprise/reports", json={}, headers=auth, timeout=10),
        ),
        (
            "post",
            "/api/v1/enterprise/reports",
            requests.post(f"{base}/api/v1/enterprise/reports", json={}, timeout=10),
        ),
        (
            "post",
            "/api/v1/enterprise/reports",
            requests.post(
                f"{base}/api/v1/enterprise/reports",
                json={"description": STORY, "category": "arrears"},
                headers=auth,
                timeout=10,
            ),
        ),
        (
            "get",
            "/api/v1/enterprise/reports",
            requests.get(f"{base}/api/v1/enterprise/reports", headers=auth, timeout=10),
        ),
        (
            "get",
            "/api/v1/enterprise/reports/{number}",
            requests.get(f"{base}/api/v1/enterprise/reports/X", headers=auth, timeout=10),
        ),
        (
            "post",
            "/api/v1/enterprise/token",
            requests.post(f"{base}/api/v1/enterprise/token", timeout=10),
        ),
    ]
    for method, path, response in seen:
        assert _documented(method, path, response.status_code), (method, path, response.status_code)


@pytest.mark.parametrize(
    ("profile", "replicas", "allowed"),
    [("default", 2, 6), ("production", 2, 3), ("production", 3, 2)],
)
def test_web_replicas_share_an_enterprises_rate_limit(
    profile: str, replicas: int, allowed: int
) -> None:
    """A burst of 6: one process keeps all of it; each of N production web replicas keeps 1/N
    (nginx sends them requests in turn), so together they allow the configured burst."""
    from bot.web.enterprise_errors import enterprise_limiter

    settings = Settings(
        profile=profile,
        web_replicas=replicas,
        enterprise_rate_burst=6,
        enterprise_rate_per_second=0.0001,
    )
    limiter = enterprise_limiter(settings)
    answers = [limiter.take(7) for _ in range(8)]
    assert answers[:allowed] == [None] * allowed
    assert all(wait is not None and wait >= 1 for wait in answers[allowed:])
