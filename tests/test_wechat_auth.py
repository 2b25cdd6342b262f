"""The WeChat request check without a stack: the settings it refuses to start with, and its
verdicts on queries it is shown (over HTTP in tests/test_wechat.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.config import Settings
from bot.web.app import create_app
from bot.web.wechat_auth import NotFromWeChat, WeChatAuth
from tests.wechat_harness import AES_KEY, APPID, SECRET, TOKEN, sealed, signed_query, text_xml


@pytest.mark.parametrize(
    ("key", "words"),
    [("short", "43 个字符"), ("!" * 43, "Base64"), (AES_KEY[:-1], "43 个字符")],
)
def test_a_malformed_aes_key_stops_the_start_up_with_a_sentence(
    tmp_path: Path, key: str, words: str
) -> None:
    settings = Settings(
        var_dir=tmp_path,
        wechat_token=TOKEN,
        wechat_appid=APPID,
        wechat_secret=SECRET,
        wechat_aes_key=key,
    )
    with pytest.raises(SystemExit) as stopped:
        create_app(settings)
    assert words in str(stopped.value) and key not in str(stopped.value)


def test_the_window_is_five_minutes_either_way() -> None:
    auth = WeChatAuth(TOKEN, APPID)
    now = int(time.time())
    for offset in (-300, 0, 300):
        assert auth.signed(signed_query(timestamp=now + offset), now=now).timestamp == now + offset
    for offset in (-301, 301):
        with pytest.raises(NotFromWeChat):
            auth.signed(signed_query(timestamp=now + offset), now=now)


def test_safe_mode_opens_what_wechat_sealed() -> None:
    auth = WeChatAuth(TOKEN, APPID, AES_KEY)
    xml = text_xml("o-person", "你好", 1)
    body, query = sealed(xml)
    assert auth.message(query, body.encode(), auth.signed(query)).decode() == xml
