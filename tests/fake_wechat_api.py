"""A small fake of WeChat's servers on 127.0.0.1: the access-token, customer-service message and
template message endpoints the WeChat channel calls, recording what they got. Nothing reaches the
internet. Safe mode's encryption (WeChat's side of it) is in tests/wechat_harness.py.

It behaves like WeChat where the channel depends on it: a token only for the right appid and
secret, errcode 40001 for a wrong or missing token, only text messages to a `touser`, errcode
45015 for a customer-service message to a person whose 48-hour window has closed
(`window_closed`), and a template message only with a known template id, a `touser` and `data`
of {field: {"value": …}}; `template_errors` makes the next template calls fail with those codes.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


class FakeWeChatAPI:
    def __init__(self, appid: str, secret: str) -> None:
        self.appid = appid
        self.secret = secret
        self.tokens: list[str] = []
        self.sent: list[dict[str, Any]] = []
        self.sent_at: list[float] = []  # time.monotonic() of each message in `sent`
        self.window_closed: set[str] = set()  # openids WeChat would refuse a 客服消息 to
        self.template_ids: set[str] = set()
        self.templates: list[dict[str, Any]] = []  # template messages WeChat took
        self.template_calls = 0
        self.template_errors: list[int] = []  # errcodes for the next template calls, in order
        self._arrived = asyncio.Condition()
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._send)
        app.router.add_post("/cgi-bin/message/template/send", self._template)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def api_base(self) -> str:
        return str(self.server.make_url("/cgi-bin/"))

    async def start(self) -> None:
        await self.server.start_server(access_log=None)  # WeChat's own logs are not ours

    async def close(self) -> None:
        await self.server.close()

    async def _token(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("grant_type") != "client_credential" or query.get("appid") != self.appid:
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        if query.get("secret") != self.secret:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        token = secrets.token_hex(16)
        self.tokens.append(token)
        return web.json_response({"access_token": token, "expires_in": 7200})

    async def _send(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") not in self.tokens:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        body = await request.json()
        if body.get("msgtype") != "text" or not body.get("touser"):
            return web.json_response({"errcode": 40008, "errmsg": "invalid message type"})
        if body["touser"] in self.window_closed:
            return web.json_response({"errcode": 45015, "errmsg": "response out of time limit"})
        async with self._arrived:
            self.sent.append(body)
            self.sent_at.append(time.monotonic())
            self._arrived.notify_all()
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _template(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") not in self.tokens:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        self.template_calls += 1
        if self.template_errors:
            code = self.template_errors.pop(0)
            return web.json_response({"errcode": code, "errmsg": "refused by the fake"})
        body = await request.json()
        if body.get("template_id") not in self.template_ids:
            return web.json_response({"errcode": 40037, "errmsg": "invalid template_id"})
        data = body.get("data")
        if (
            not body.get("touser")
            or not isinstance(data, dict)
            or not all(
                isinstance(v, dict) and isinstance(v.get("value"), str) for v in data.values()
            )
        ):
            return web.json_response({"errcode": 47003, "errmsg": "argument invalid"})
        async with self._arrived:
            self.templates.append(body)
            self._arrived.notify_all()
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": len(self.templates)})

    async def wait_for_template(self, openid: str, timeout: float = 60) -> dict[str, Any]:
        """The first template message WeChat took for `openid`."""
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: any(t["touser"] == openid for t in self.templates)),
                timeout,
            )
        return next(t for t in self.templates if t["touser"] == openid)

    def texts_to(self, openid: str) -> list[str]:
        return [m["text"]["content"] for m in self.sent if m["touser"] == openid]

    async def wait_for_text(self, openid: str, count: int = 1, timeout: float = 60) -> list[str]:
        """The texts sent to `openid`, once there are at least `count`."""
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.texts_to(openid)) >= count), timeout
            )
        return self.texts_to(openid)

    def last_arrival(self, openid: str) -> float:
        return max(t for t, m in zip(self.sent_at, self.sent, strict=True) if m["touser"] == openid)
