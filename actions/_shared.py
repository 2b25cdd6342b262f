"""Helpers shared by the actions: the ticket service, blocking calls, and masked logging."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import json
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from rasa_sdk import Tracker
from sqlalchemy.orm import Session, sessionmaker

from bot.config import load_settings
from bot.domain.categories import category_intents
from bot.domain.privacy import mask_text
from bot.domain.validators import clean_free_text
from bot.store.db import make_engine, make_session_factory
from bot.tickets.lookup_guard import LookupGuard, Requester
from bot.tickets.service import TicketService

T = TypeVar("T")

logger = logging.getLogger("actions")


@functools.cache
def _sessions() -> sessionmaker[Session]:
    """One engine per action-server process, created on first use, not at import."""
    return make_session_factory(make_engine(load_settings().database_url))


@functools.cache
def ticket_service() -> TicketService:
    return TicketService(_sessions())


@functools.cache
def lookup_guard() -> LookupGuard:
    """Every look-up by access code goes through it (failures counted, lock-outs refused)."""
    return LookupGuard(_sessions(), ticket_service())


# What the gateway puts in a message's metadata (bot/web/gateway.py); absent when someone talks
# to Rasa's REST channel directly (loopback only: `hotline chat`, tests).
SENDER_METADATA = "hotline_sender"
CLIENT_IP_METADATA = "client_ip"


def _latest_metadata(tracker: Tracker) -> dict[str, Any]:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            metadata = event.get("metadata")
            return metadata if isinstance(metadata, dict) else {}
    return {}


# The gateway's channels (bot/web/push.WEB_CHANNEL, bot/web/wechat.CHANNEL); anything else is
# a direct REST caller.
KNOWN_CHANNELS = ("web", "wechat")


def channel_of(tracker: Tracker) -> str:
    """The person's channel (web / wechat) as the gateway named it; Rasa itself only knows that
    every message came over its REST channel ("rest"), which is what operators saw before."""
    sender = _latest_metadata(tracker).get(SENDER_METADATA)
    if isinstance(sender, str) and sender.split(":", 1)[0] in KNOWN_CHANNELS:
        return sender.split(":", 1)[0]
    return tracker.get_latest_input_channel() or "chat"


def requester(tracker: Tracker) -> Requester:
    """Who asks, for counting failed look-ups: the channel's own sender key (a web chat's
    「新的对话」 opens a new Rasa conversation, the cookie stays) and the client's address."""
    metadata = _latest_metadata(tracker)
    sender = metadata.get(SENDER_METADATA)
    address = metadata.get(CLIENT_IP_METADATA)
    return Requester(
        sender=sender[:200] if isinstance(sender, str) and sender else f"rasa:{tracker.sender_id}",
        client_ip=address[:64] if isinstance(address, str) and address else None,
    )


async def run_blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Database work is synchronous SQLAlchemy: keep it off the action server's event loop."""
    return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))


def filing_key(tracker: Tracker, draft: Any) -> str:
    """The idempotency key of a filing: this conversation and exactly these facts.

    Not the confirming message's id: when the database restarts after the commit but before
    the answer reaches the person (seen in the PostgreSQL-restart proof), they confirm again
    with a new message — and a key per message filed the same complaint twice. The same facts
    confirmed again in the same conversation are the same ticket; Rasa retrying the action
    sends the same facts too."""
    facts = json.dumps(dataclasses.asdict(draft), sort_keys=True, ensure_ascii=False, default=str)
    return f"{tracker.sender_id}:{hashlib.sha256(facts.encode('utf-8')).hexdigest()[:32]}"


def log_masked(message: str, *args: Any) -> None:
    """Log with phone and ID numbers masked: logs are read by more people than the tickets."""
    logger.info(mask_text(message % args if args else message))


# A cancel command is short; a long message that the classifier thinks is "stop" is far more
# likely a complaint it has not learned yet, and must be kept as the caller's words.
CANCEL_MAX_CHARS = 15
CANCEL_MIN_CONFIDENCE = 0.5


# Stopping is always said with one of these (不投诉了, 别登记了, 取消, 算了, 退出 …): 「两件都登记」
# shares n-grams with 「别登记了」 but asks for the opposite.
_STOP_WORDS = re.compile(
    r"不|别|没|取消|算|退出|终止|停|放弃|撤|作废|打住|结束|中止|quit|cancel", re.I
)


def is_cancel_command(tracker: Tracker) -> bool:
    text = str((tracker.latest_message or {}).get("text") or "")
    intent, confidence = latest_intent(tracker)
    return (
        intent == "stop"
        and confidence >= CANCEL_MIN_CONFIDENCE
        and len(text.strip()) <= CANCEL_MAX_CHARS
        and bool(_STOP_WORDS.search(text))
    )


EMERGENCY_MIN_CONFIDENCE = 0.8


def is_emergency(tracker: Tracker) -> bool:
    intent, confidence = latest_intent(tracker)
    return intent == "emergency" and confidence >= EMERGENCY_MIN_CONFIDENCE


# A first message this long is a description, not just "我要投诉".
MIN_FIRST_MESSAGE_CHARS = 12
MAX_DESCRIPTION_CHARS = 4000


def latest_intent(tracker: Tracker) -> tuple[str | None, float]:
    intent = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def last_user_text(tracker: Tracker) -> str:
    """What the caller typed, as typed: latest_message carries the NLU's normalised copy
    (half-width punctuation, simplified characters), the user event keeps the original."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return str(event.get("text") or "")
    return str((tracker.latest_message or {}).get("text") or "")


def first_message_description(tracker: Tracker, *, require_category: bool = True) -> str | None:
    """The caller's latest message as the description, when it tells the story already.

    Button payloads ("/complain_arrears") and short openers ("我要投诉") are not descriptions.
    """
    text = last_user_text(tracker)
    intent, _ = latest_intent(tracker)
    if text.startswith("/") or len(text.strip()) < MIN_FIRST_MESSAGE_CHARS:
        return None
    if require_category and intent not in category_intents():
        return None
    return clean_free_text(text, MAX_DESCRIPTION_CHARS)
