"""WeChat's customer-service message API (客服消息), for answers that are not passive replies.

Two kinds of message need it: an answer the bot did not have ready within WeChat's 5 s (the
passive reply is then "success" and the answer follows here), and out-of-band messages the
gateway pushes (an operator's words, "your ticket was answered"). WeChat delivers those only
within 48 hours of the person's last message; after that a ticket's answer is told by a template
message (`send_template`, sent from the outbox in bot/web/wechat_outbox.py). wechatpy's client is
synchronous (requests), so every call runs in a worker thread; the access token is fetched and
cached by wechatpy itself, from the same configurable base URL as the messages (tests point it
at a local fake, production at https://api.weixin.qq.com/cgi-bin/).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bot.config import Settings
from bot.web.wechat_reply import split_for_wechat

logger = logging.getLogger("bot.web.wechat")

# A customer-service call that takes longer than this has failed; the person has waited enough.
API_TIMEOUT_SECONDS = 10


def person_tag(openid: str) -> str:
    """A short stable tag for logs: the openid identifies a person, so it is never logged."""
    return hashlib.sha256(openid.encode()).hexdigest()[:10]


class HotlineWeChatClient(WeChatClient):  # type: ignore[misc]
    """wechatpy's client with the API base URL from settings, for the token too.

    wechatpy builds every API URL from API_BASE_URL but fetches the access token from a fixed
    https://api.weixin.qq.com address, so `fetch_access_token` is the one method redone here.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings.wechat_appid, settings.wechat_secret, timeout=API_TIMEOUT_SECONDS)
        self.API_BASE_URL = settings.wechat_api_base.rstrip("/") + "/"

    def fetch_access_token(self) -> dict[str, Any]:
        result: dict[str, Any] = self._fetch_access_token(
            url=f"{self.API_BASE_URL}token",
            params={
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self.secret,
            },
        )
        return result


class CustomerService:
    """Sends text to one person through the customer-service API, off the event loop."""

    def __init__(self, settings: Settings) -> None:
        self.client = HotlineWeChatClient(settings)

    async def send_text(self, openid: str, text: str) -> bool:
        """True when WeChat accepted every part; a failure is logged (without the text) and
        reported, never raised: the caller has no better way to reach the person."""
        for part in split_for_wechat(text):
            try:
                await asyncio.to_thread(self.client.message.send_text, openid, part)
            except (WeChatClientException, requests.RequestException) as exc:
                errcode = getattr(exc, "errcode", None)
                logger.warning(
                    "customer-service message to %s failed (%s, errcode %s)",
                    person_tag(openid),
                    type(exc).__name__,
                    errcode,
                )
                return False
        return True

    async def send_template(
        self, openid: str, template_id: str, data: dict[str, dict[str, str]]
    ) -> int | str | None:
        """A template message (not bound to the 48-hour window). None when WeChat took it; else
        WeChat's errcode, or the name of the network error (for the outbox to retry or give up)."""
        try:
            await asyncio.to_thread(self.client.message.send_template, openid, template_id, data)
        except WeChatClientException as exc:
            errcode = getattr(exc, "errcode", None)
            logger.warning(
                "template message to %s refused (errcode %s)", person_tag(openid), errcode
            )
            return int(errcode) if isinstance(errcode, int) else type(exc).__name__
        except requests.RequestException as exc:
            logger.warning(
                "template message to %s failed (%s)", person_tag(openid), type(exc).__name__
            )
            return type(exc).__name__
        return None

    def close(self) -> None:
        self.client._http.close()
