"""Is this request from WeChat, now, for the first time — and what does it say?

WeChat signs a push in its query string: `signature` = sha1 of the sorted token, timestamp and
nonce. In plaintext mode (明文模式) that is all, and it does not cover the body: whoever holds one
signed URL (a proxy's error log writes them) can post any body as any openid with it. So:

- the timestamp must be within FRESH_SECONDS of our clock (either way), so a URL is worth
  nothing after that;
- a (timestamp, nonce) seen with another body is refused (the replay window, kept in the ticket
  database so it holds across replicas: bot/conversations/wechat_store.claim_nonce);
- signatures are compared in constant time;
- in safe mode (安全模式, `HOTLINE_WECHAT_AES_KEY` set) the message is the AES envelope's
  `Encrypt`, and `msg_signature` covers it: a logged URL cannot carry another message, and a
  request without the envelope is refused. Passive replies go back encrypted.

WeChat's 兼容模式 sends the plaintext fields and the envelope together: with the key set the
envelope is read and the plaintext ignored; without it the plaintext is read (docs/wechat.md gives
the order of switching an account over).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException

logger = logging.getLogger("bot.web.wechat")

# WeChat's own requests arrive within seconds; retries within 15 s. A URL older than this is
# refused, and the replay window needs to remember nonces only this long.
FRESH_SECONDS = 300
# WeChat's nonces are a few digits; anything long is not from WeChat and is not stored.
MAX_NONCE_CHARS = 64
MAX_TIMESTAMP_DIGITS = 12
AES_KEY_CHARS = 43


class NotFromWeChat(Exception):
    """Unsigned, wrongly signed, stale or replayed: answered 403, nothing read or processed."""


class Unreadable(Exception):
    """Signed but not a message we can read: answered 400."""


def signature_of(*parts: str) -> str:
    """WeChat's signature: sha1 of the parts sorted and joined."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def same_signature(expected: str, given: str) -> bool:
    """Constant-time comparison, so timing does not reveal how much of a guess was right."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def aes_key_problem(key: str) -> str | None:
    """Why an EncodingAESKey cannot be used (a sentence for the operator), or None."""
    if len(key) != AES_KEY_CHARS:
        return f"HOTLINE_WECHAT_AES_KEY 应为公众号后台的 EncodingAESKey（{AES_KEY_CHARS} 个字符）"
    try:
        if len(base64.b64decode(key + "=", validate=True)) != 32:
            raise ValueError
    except (ValueError, binascii.Error):
        return "HOTLINE_WECHAT_AES_KEY 不是有效的 EncodingAESKey（应为 Base64 字符）"
    return None


@dataclass(frozen=True)
class Signed:
    """A request whose query signature holds and whose timestamp is fresh."""

    timestamp: int
    nonce: str


class WeChatAuth:
    """The account's token, and its EncodingAESKey in safe mode."""

    def __init__(self, token: str, appid: str, aes_key: str = "") -> None:
        self.token = token
        self.appid = appid
        self.safe_mode = bool(aes_key)
        self._crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None
        self._key = self._crypto.key if self._crypto else b""

    def signed(self, query: Mapping[str, str], now: float | None = None) -> Signed:
        """The query's signature and freshness, or NotFromWeChat."""
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        signature = query.get("signature", "")
        if not (
            timestamp.isascii()
            and timestamp.isdigit()
            and len(timestamp) <= MAX_TIMESTAMP_DIGITS
            and nonce
            and len(nonce) <= MAX_NONCE_CHARS
            and nonce.isascii()
            and nonce.isprintable()
        ):
            raise NotFromWeChat("malformed timestamp or nonce")
        if not same_signature(signature_of(self.token, timestamp, nonce), signature):
            raise NotFromWeChat("signature")
        if abs((time.time() if now is None else now) - int(timestamp)) > FRESH_SECONDS:
            raise NotFromWeChat("stale timestamp")
        return Signed(int(timestamp), nonce)

    def message(self, query: Mapping[str, str], body: bytes, signed: Signed) -> bytes:
        """The message's XML: the body itself in plaintext mode, the envelope's content in safe
        mode (whose msg_signature must cover the ciphertext)."""
        if not self.safe_mode:
            return body
        if query.get("encrypt_type", "").lower() != "aes":
            raise NotFromWeChat("plaintext message in safe mode")
        try:
            envelope = xmltodict.parse(body.decode("utf-8"), disable_entities=True)["xml"]
            encrypted = envelope["Encrypt"]
        except (ExpatError, KeyError, TypeError, ValueError, UnicodeDecodeError):
            raise Unreadable("no envelope") from None
        if not isinstance(encrypted, str) or not encrypted:
            raise Unreadable("no envelope")
        expected = signature_of(self.token, str(signed.timestamp), signed.nonce, encrypted)
        if not same_signature(expected, query.get("msg_signature", "")):
            raise NotFromWeChat("msg_signature")
        try:
            text: str = PrpCrypto(self._key).decrypt(encrypted, self.appid)
        except (
            InvalidAppIdException,
            ValueError,
            binascii.Error,
            struct.error,
            IndexError,
            UnicodeDecodeError,
        ):
            # Signed with our token yet not readable with our key (or for another appid): the
            # key or appid configured here differs from the account's.
            logger.warning("a signed WeChat envelope could not be decrypted: check the AES key")
            raise Unreadable("undecryptable envelope") from None
        return text.encode("utf-8")

    def reply(self, xml: str) -> str:
        """A passive reply as WeChat expects it in this mode (encrypted and signed in safe mode)."""
        if self._crypto is None:
            return xml
        sealed: str = self._crypto.encrypt_message(xml, secrets.token_hex(8), str(int(time.time())))
        return sealed
