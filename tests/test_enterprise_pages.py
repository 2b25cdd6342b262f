"""The enterprise pages over HTTP: CSRF on every form, the token shown once, the session cookie
(HttpOnly, SameSite=Lax) ended by rotating the token."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from bot.store.migrate import upgrade
from tests.conftest import RunningStack
from tests.enterprise_support import make_uscc, running_service


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, html
    return match.group(1)


def test_pages_check_csrf_and_sessions(
    stack: RunningStack, sqlite_url: str, tmp_path: Path
) -> None:
    upgrade(sqlite_url)
    with running_service(sqlite_url, stack.settings, tmp_path) as api:
        browser = requests.Session()
        page = browser.get(f"{api.url}/enterprise/register", timeout=10)
        assert page.status_code == 200 and "统一社会信用代码" in page.text
        assert "待核实" in page.text  # says the account waits for an operator's check
        form = {
            "name": "洛阳恒达机械有限公司",
            "uscc": make_uscc(31),
            "contact_name": "王建国",
            "phone": "13837901234",
        }
        forged = browser.post(
            f"{api.url}/enterprise/register", data={**form, "csrf_token": "0" * 64}, timeout=10
        )
        assert forged.status_code == 403
        bad = browser.post(
            f"{api.url}/enterprise/register",
            data={**form, "uscc": "91410300MA44XXXX1X", "csrf_token": _csrf(page.text)},
            timeout=10,
        )
        assert bad.status_code == 422 and "统一社会信用代码" in bad.text
        done = browser.post(
            f"{api.url}/enterprise/register",
            data={**form, "csrf_token": _csrf(page.text)},
            timeout=10,
        )
        assert done.status_code == 202 and 'data-testid="verification"' in done.text
        token = re.search(r'data-testid="token">(ent_[^<]+)<', done.text).group(1)  # type: ignore[union-attr]
        assert done.headers["Cache-Control"] == "no-store"

        signin = browser.get(f"{api.url}/enterprise/report", timeout=10)
        wrong = browser.post(
            f"{api.url}/enterprise/signin",
            data={"token": "ent_wrong", "csrf_token": _csrf(signin.text)},
            timeout=10,
        )
        assert wrong.status_code == 401
        signin = browser.get(f"{api.url}/enterprise/report", timeout=10)
        ok = browser.post(
            f"{api.url}/enterprise/signin",
            data={"token": token, "csrf_token": _csrf(signin.text)},
            timeout=10,
            allow_redirects=False,
        )
        assert ok.status_code == 303
        cookie = ok.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        report = browser.get(f"{api.url}/enterprise/report", timeout=10)
        assert "洛阳恒达机械有限公司" in report.text and "王建国" in report.text
        assert "<script>" not in report.text  # JavaScript only from static files
        forged_report = browser.post(
            f"{api.url}/enterprise/report",
            data={"description": "测试测试测试测试", "csrf_token": "x"},
            timeout=10,
        )
        assert forged_report.status_code == 403
        # Rotating the token ends the browser session at once.
        requests.post(
            f"{api.url}/api/v1/enterprise/token",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).raise_for_status()
        after = browser.get(f"{api.url}/enterprise/report", timeout=10)
        assert "API 令牌" in after.text and 'data-testid="profile"' not in after.text
