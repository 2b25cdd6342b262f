"""The WeChat channel under test: the web app built in-process with `create_app(settings)` and
WeChat configured, in front of the session's real Rasa (through a counting, optionally slow,
proxy), with the customer-service API faked on 127.0.0.1 (tests/fake_wechat_api.py).

The shared `stack` fixture's web service is left as it is: each test needs its own deadline, its
own fake API address and a Rasa it can slow down, which a subprocess started once per session
cannot give. This app uses the stack's Rasa and ticket database (the gateway's record), so the
answers are the bot's real ones.

Safe mode (安全模式) is WeChat's side written here from WeChat's description, not with wechatpy:
AES-256-CBC with the EncodingAESKey (its first 16 bytes the IV), 16 random bytes, the message's
length (4 bytes, network order), the message, the appid, padded to 32 bytes; msg_signature the
sha1 of the sorted token, timestamp, nonce and ciphertext.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import struct
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import test_utils, web
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import Engine, select

from bot.domain import internal_auth
from bot.store.db import make_session_factory
from bot.store.models import Conversation, ConversationMessage
from bot.web.app import create_app
from tests.conftest import RunningStack
from tests.fake_wechat_api import FakeWeChatAPI

TOKEN = "hotline-test-token"
APPID = "wx0123456789abcdef"
SECRET = "test-secret-0123456789abcdef0123"
ACCOUNT = "gh_luoyang12345"
# An EncodingAESKey as the 公众号 admin console makes them: 43 Base64 characters (32 bytes).
AES_KEY = base64.b64encode(bytes(range(7, 39))).decode().rstrip("=")
TEMPLATE_ID = "tmpl-ticket-answered-0123456789"


def sign(token: str, timestamp: str, nonce: str, *more: str) -> str:
    """WeChat's signature, computed here independently of wechatpy."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, *more])).encode()).hexdigest()


def signed_query(
    token: str = TOKEN, *, timestamp: int | None = None, nonce: str | None = None, **extra: str
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(5)
    return {"signature": sign(token, stamp, nonce), "timestamp": stamp, "nonce": nonce, **extra}


def _cipher(aes_key: str) -> Cipher[modes.CBC]:
    key = base64.b64decode(aes_key + "=")
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def encrypt(xml: str, aes_key: str = AES_KEY, appid: str = APPID) -> str:
    message = xml.encode()
    plain = secrets.token_bytes(16) + struct.pack(">I", len(message)) + message + appid.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = _cipher(aes_key).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def decrypt(ciphertext: str, aes_key: str = AES_KEY, appid: str = APPID) -> str:
    decryptor = _cipher(aes_key).decryptor()
    plain = decryptor.update(base64.b64decode(ciphertext)) + decryptor.finalize()
    plain = plain[: -plain[-1]]
    (length,) = struct.unpack(">I", plain[16:20])
    assert plain[20 + length :].decode() == appid
    return plain[20 : 20 + length].decode()


def sealed(
    xml: str, *, token: str = TOKEN, aes_key: str = AES_KEY, timestamp: int | None = None
) -> tuple[str, dict[str, str]]:
    """A message as WeChat sends it in safe mode: the envelope and its query."""
    ciphertext = encrypt(xml, aes_key)
    query = signed_query(token, timestamp=timestamp, encrypt_type="aes")
    query["msg_signature"] = sign(token, query["timestamp"], query["nonce"], ciphertext)
    body = (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<Encrypt><![CDATA[{ciphertext}]]></Encrypt></xml>"
    )
    return body, query


def opened(reply: str, token: str = TOKEN, aes_key: str = AES_KEY) -> str:
    """A passive reply in safe mode, checked as WeChat checks it, and decrypted."""
    root = ET.fromstring(reply)
    ciphertext = root.findtext("Encrypt") or ""
    stamp, nonce = root.findtext("TimeStamp") or "", root.findtext("Nonce") or ""
    assert root.findtext("MsgSignature") == sign(token, stamp, nonce, ciphertext), reply
    return decrypt(ciphertext, aes_key)


def text_xml(openid: str, content: str, msgid: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msgid}</MsgId></xml>"
    )


def message_xml(openid: str, msg_type: str, fields: str, msgid: int | None = None) -> str:
    msg_id = f"<MsgId>{msgid}</MsgId>" if msgid is not None else ""
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
        f"{fields}{msg_id}</xml>"
    )


def new_openid() -> str:
    return "o" + secrets.token_urlsafe(20)[:27]


@dataclass
class RasaProxy:
    """Forwards to the real Rasa, counting the messages it relays; `delay` makes Rasa slow."""

    target: str
    delay: float = 0.0
    down: bool = False  # answer every relayed message with 503, as a Rasa that is restarting
    messages: list[dict[str, Any]] = field(default_factory=list)

    def app(self, session: aiohttp.ClientSession) -> web.Application:
        async def forward(request: web.Request) -> web.Response:
            body = await request.read()
            if request.path == "/webhooks/rest/webhook":
                self.messages.append(await request.json())
                await asyncio.sleep(self.delay)
                if self.down:
                    return web.Response(status=503)
            async with session.request(
                request.method, self.target + request.path_qs, data=body,
                headers={
                    "Content-Type": request.content_type,
                    internal_auth.HEADER: request.headers.get(internal_auth.HEADER, ""),
                },
            ) as upstream:  # fmt: skip
                return web.Response(
                    body=await upstream.read(),
                    status=upstream.status,
                    content_type=upstream.content_type,
                )

        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", forward)
        return app

    def sent_by(self, senders: set[str]) -> list[str]:
        return [str(m["message"]) for m in self.messages if m.get("sender") in senders]


@dataclass
class WeChat:
    """What a test drives: WeChat's side of the protocol against the app."""

    base_url: str
    http: aiohttp.ClientSession
    api: FakeWeChatAPI
    rasa: RasaProxy
    app: web.Application
    engine: Engine
    aes_key: str = ""

    def recorded(self, openid: str) -> list[ConversationMessage]:
        """The gateway's record of this person's WeChat conversations, oldest first."""
        with make_session_factory(self.engine)() as session:
            query = (
                select(ConversationMessage)
                .join(Conversation, Conversation.id == ConversationMessage.conversation_id)
                .where(Conversation.channel == "wechat", Conversation.sender_key == openid)
                .order_by(ConversationMessage.id)
            )
            return list(session.scalars(query))

    def relayed(self, openid: str) -> list[str]:
        """What reached Rasa from this person (the gateway gives Rasa its own sender ids)."""
        with make_session_factory(self.engine)() as session:
            senders = session.scalars(
                select(Conversation.rasa_sender_id).where(
                    Conversation.channel == "wechat", Conversation.sender_key == openid
                )
            )
            return self.rasa.sent_by(set(senders))

    async def post(
        self, body: str | bytes, query: dict[str, str] | None = None
    ) -> aiohttp.ClientResponse:
        if self.aes_key and query is None and isinstance(body, str):
            body, query = sealed(body, aes_key=self.aes_key)
        data = body.encode() if isinstance(body, str) else body
        async with self.http.post(
            f"{self.base_url}/wechat",
            params=signed_query() if query is None else query,
            data=data,
            headers={"Content-Type": "text/xml"},
        ) as response:
            await response.read()
            return response

    async def say(self, openid: str, content: str, msgid: int | None = None) -> str:
        """A text message; the passive reply's Content, or "" when the reply is "success"."""
        return await self.reply_to(text_xml(openid, content, msgid or next_msgid()), openid)

    async def answer(self, openid: str, content: str) -> str:
        """The bot's answer however it came: passively, or (the machine being slow) through the
        customer-service API after a "success"."""
        pushed_before = len(self.api.texts_to(openid))
        reply = await self.say(openid, content)
        if reply:
            return reply
        return (await self.api.wait_for_text(openid, pushed_before + 1))[pushed_before]

    async def reply_to(self, xml: str, openid: str) -> str:
        response = await self.post(xml)
        assert response.status == 200, await response.text()
        body = await response.text()
        if body == "success":
            return ""
        if self.aes_key:
            body = opened(body, aes_key=self.aes_key)
        root = ET.fromstring(body)
        assert root.findtext("ToUserName") == openid
        assert root.findtext("FromUserName") == ACCOUNT
        assert root.findtext("MsgType") == "text"
        return root.findtext("Content") or ""


_msgid = int(time.time() * 1000) * 1000


def next_msgid() -> int:
    global _msgid
    _msgid += 1
    return _msgid


@asynccontextmanager
async def running_wechat(
    stack: RunningStack,
    var_dir: Path,
    *,
    deadline: float = 20.0,
    aes_key: str = "",
    **settings_changes: Any,
) -> AsyncIterator[WeChat]:
    """`deadline` is long by default: tests of the passive reply must not turn into tests of the
    machine's load; the deadline's own tests and the measurement set theirs. `aes_key` puts the
    account in safe mode (the harness then seals every message and opens every reply)."""
    api = FakeWeChatAPI(APPID, SECRET)
    api.template_ids.add(TEMPLATE_ID)
    await api.start()
    rasa = RasaProxy(stack.settings.rasa_url)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
        proxy = test_utils.TestServer(rasa.app(http), host="127.0.0.1")
        await proxy.start_server(access_log=None)
        settings = replace(
            stack.settings,
            var_dir=var_dir,
            rasa_url=str(proxy.make_url("")).rstrip("/"),
            wechat_token=TOKEN,
            wechat_appid=APPID,
            wechat_secret=SECRET,
            wechat_api_base=api.api_base,
            wechat_deadline_seconds=deadline,
            wechat_aes_key=aes_key,
            wechat_answer_template=TEMPLATE_ID,
            **settings_changes,
        )
        app = create_app(settings)
        server = test_utils.TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            base_url = str(server.make_url("")).rstrip("/")
            yield WeChat(base_url, http, api, rasa, app, stack.engine, aes_key)
        finally:
            await server.close()
            await proxy.close()
            await api.close()
