"""The console in a real browser (headless Chromium): sign-in, the queue, a ticket page, a state
change, the dashboard with its ECharts charts drawn — against the real web service process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.ops.supervisor import free_port
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from tests.browser_support import page_wait
from tests.console_support import PASSWORD, World, populate
from tests.test_web import _wait_http, browser  # noqa: F401  (the shared Chromium fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[str, World, Path]]:
    """`python -m bot.web` on its own port and database (the console needs no Rasa)."""
    url = f"sqlite:///{tmp_path / 'console.db'}"
    upgrade(url)
    engine = make_engine(url)
    world = populate(make_session_factory(engine))
    port = free_port()
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": url,
        "HOTLINE_WEB_PORT": str(port),
        "HOTLINE_VAR_DIR": str(tmp_path),
        "HOTLINE_SWEEP_SECONDS": "0",
        "HOTLINE_NOTICE_POLL_SECONDS": "0",
    }
    log = (tmp_path / "web.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.web"], env=env, cwd=PROJECT_ROOT, stdout=log, stderr=log
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}", world, tmp_path
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        engine.dispose()


def _sign_in(driver, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/console/")
    assert "登录" in driver.title
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login").click()


def test_an_operator_and_a_supervisor_work_in_the_browser(console, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from selenium.webdriver.common.by import By

    base, world, shots = console
    # A form post replaces the page: elements found before it go stale while we wait.
    wait = page_wait(browser, 30)
    browser.set_window_size(1400, 1000)
    _sign_in(browser, base, "sup")
    wait.until(lambda d: d.find_elements(By.ID, "queue"))
    assert "sup（督办人员）" in browser.find_element(By.ID, "whoami").text
    rows = browser.find_elements(By.CSS_SELECTOR, "#queue tbody tr")
    assert len(rows) == 3 and "138****5678" in browser.find_element(By.ID, "queue").text
    browser.save_screenshot(str(shots / "console-queue.png"))
    browser.find_element(By.LINK_TEXT, world.own.number).click()
    wait.until(lambda d: d.find_elements(By.ID, "ticket-state"))
    assert browser.find_element(By.ID, "ticket-state").text == "已派单"
    assert browser.find_element(By.ID, "caller-phone").text == "138****5678"
    # A refused change says why; an allowed one moves the ticket.
    browser.find_element(By.CSS_SELECTOR, "#act-close button").click()
    wait.until(lambda d: d.find_elements(By.ID, "notice"))
    assert "不能办结" in browser.find_element(By.ID, "notice").text
    browser.find_element(By.CSS_SELECTOR, "#act-sign button").click()
    wait.until(lambda d: d.find_element(By.ID, "ticket-state").text == "已签收")
    assert "操作成功" in browser.find_element(By.ID, "notice").text
    browser.find_element(By.CSS_SELECTOR, "#act-list_supervision input[name=note]").send_keys(
        "挂牌"
    )
    browser.find_element(By.CSS_SELECTOR, "#act-list_supervision button").click()
    wait.until(lambda d: "挂牌督办" in d.find_element(By.TAG_NAME, "h1").text)
    browser.find_element(By.ID, "reveal").click()
    wait.until(lambda d: d.find_elements(By.ID, "revealed"))
    assert browser.find_element(By.ID, "caller-phone").text == "13812345678"
    browser.save_screenshot(str(shots / "console-ticket.png"))
    browser.get(f"{base}/console/dashboard")
    wait.until(
        lambda d: all(
            d.find_element(By.ID, c).get_attribute("data-rendered")
            for c in ("chart-category", "chart-district", "chart-department", "chart-rates")
        )
    )
    # ECharts drew into canvases; the rates came from the JSON endpoint.
    assert browser.find_elements(By.CSS_SELECTOR, "#chart-category canvas")
    assert browser.find_element(By.ID, "rate-response").text.endswith("%") or (
        browser.find_element(By.ID, "rate-response").text == "—"
    )
    browser.save_screenshot(str(shots / "console-dashboard.png"))
    browser.get(f"{base}/console/integrity")
    wait.until(lambda d: d.find_element(By.ID, "chart-integrity").get_attribute("data-rendered"))
    browser.save_screenshot(str(shots / "console-integrity.png"))
    log = browser.get_log("browser")
    errors = [e for e in log if e["level"] == "SEVERE" and "favicon" not in e["message"]]
    assert not errors, errors
    browser.find_element(By.ID, "logout").click()
    wait.until(lambda d: d.find_elements(By.ID, "login"))
    print(f"\nconsole screenshots: {shots}/console-*.png")
