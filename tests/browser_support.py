"""Waiting in browser tests across page replacements."""

from __future__ import annotations

from typing import Any


def page_wait(browser: Any, seconds: float) -> Any:
    """A WebDriverWait that keeps polling while a form post replaces the page.

    An element found just before the new document arrives goes stale, disappears, or — in
    Chromium — "does not belong to the document", which Selenium raises as a plain
    WebDriverException (seen failing CI once in tests/test_console_browser.py). Each only means
    "look again"; a condition that never holds still ends in TimeoutException."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, seconds, ignored_exceptions=(WebDriverException,))
