"""The one-click form in headless Chromium on a 390 px wide phone screen (real stack): a new
account files while it waits to be verified; once verified, its chat link asks on a page that
names the company and only the button opens the chat."""

from __future__ import annotations

import pytest
import requests

from bot.enterprises.registry import EnterpriseRegistry
from bot.privacy.keys import load_or_create_key
from bot.store.db import make_session_factory
from tests.conftest import RunningStack
from tests.enterprise_support import make_uscc
from tests.test_web import _screenshot, browser  # noqa: F401 — the shared Chromium fixture


@pytest.mark.browser
def test_an_enterprise_signs_in_and_files_with_one_click(stack: RunningStack, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base = stack.settings.web_url
    registered = requests.post(
        f"{base}/api/v1/enterprise/register",
        json={
            "name": "洛阳宏图贸易有限公司",
            "uscc": make_uscc(777),
            "contact_name": "赵敏",
            "phone": "13937905678",
        },
        timeout=30,
    )
    assert registered.status_code == 202, registered.text
    token = registered.json()["token"]
    browser.set_window_size(390, 844)
    browser.get(f"{base}/enterprise/report")
    browser.find_element(By.ID, "token-input").send_keys(token)
    browser.find_element(By.ID, "signin").click()
    wait = WebDriverWait(browser, 60)
    profile = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=profile]"))
    assert "洛阳宏图贸易有限公司" in profile.text and "赵敏" in profile.text
    assert "待核实" in profile.text
    assert not browser.find_elements(By.ID, "chat-link")  # the chat speaks for verified ones
    session = browser.get_cookie("ent_session")
    assert session and session["httpOnly"] and session["sameSite"] == "Lax"
    browser.find_element(By.ID, "respondent").send_keys("西工区市场监管局")
    browser.find_element(By.ID, "description").send_keys(
        "西工区市场监管局一个月内对我公司检查五次，每次都罚款，要求说明依据也不给。"
    )
    browser.find_element(By.ID, "file").click()
    card = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=ticket-card]"))
    number = browser.find_element(By.ID, "number").text
    assert number.startswith("LY") and len(browser.find_element(By.ID, "access-code").text) == 6
    assert "承办单位" in card.text and "签收期限" in card.text
    assert browser.find_element(By.CSS_SELECTOR, "button.copy").text == "复制"
    # Readable on the phone: nothing wider than the screen.
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
    _screenshot(browser, "enterprise_report")
    listed = requests.get(
        f"{base}/api/v1/enterprise/reports",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    assert [item["number"] for item in listed["items"]] == [number]

    registry = EnterpriseRegistry(
        make_session_factory(stack.engine),
        load_or_create_key(stack.settings.var_dir, stack.settings.enterprise_key),
    )
    registry.verify(registered.json()["enterprise"]["id"], "电话核实", by="op")
    browser.get(f"{base}/enterprise/report")
    status = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=verification]"))
    assert "已核实" in status.text
    browser.find_element(By.ID, "chat-link").click()
    asked = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=chat-enterprise]"))
    assert "洛阳宏图贸易有限公司" in asked.text and "/enterprise/chat" in browser.current_url
    browser.find_element(By.ID, "chat-confirm").click()
    wait.until(lambda d: d.current_url.rstrip("/") == base)
