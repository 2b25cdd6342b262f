"""Sending the WeChat template outbox: a ticket's answer told after the 48-hour window.

WeChat delivers a customer-service message only within 48 hours of the person's last message, so
a department's answer that comes later (the usual case: a ticket takes days) would reach nobody.
For such a person the notice's claim queues a template message (bot/tickets/notices.py →
wechat_store.enqueue_answered), and this round, run by every web replica with WeChat configured,
sends what is due. Each message is leased before it is sent, so replicas do not send it twice;
a refusal WeChat may change its mind about (busy, rate, network) is retried with doubling pauses,
one it will not (the person unfollowed, a wrong template) ends the message as failed at once.
The message says only that the ticket has an answer: its number, when, and how to read it —
the answer itself is in the conversation, which the person reopens by writing back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.conversations.wechat_store import DueMessage, lease_due, mark_failed_attempt, mark_sent
from bot.domain.clock import CHINA_TZ, utcnow
from bot.domain.tables import load_table
from bot.web.wechat_api import CustomerService, person_tag

logger = logging.getLogger("bot.web.wechat")

MAX_ATTEMPTS = 8
MAX_PAUSE = dt.timedelta(hours=1)
# WeChat's answers that another try will not change: invalid openid, the person does not follow
# the account or blocked it, an unknown template, fields the template does not take.
PERMANENT_ERRCODES = frozenset({40003, 40036, 40037, 43004, 43019, 47003})
NO_TEMPLATE = "no template configured"


def template_fields(kind: str) -> dict[str, str]:
    """The template's field names and their value patterns (data/hotline/wechat_templates.yml)."""
    return {str(k): str(v) for k, v in load_table("wechat_templates")[kind]["fields"].items()}


def template_data(message: DueMessage) -> dict[str, dict[str, str]]:
    """WeChat's `data` for one message: {field: {"value": text}}."""
    # WeChat's `time` fields take 「2019年10月1日 15:01」.
    at = message.event_at.astimezone(CHINA_TZ)
    when = f"{at.year}年{at.month}月{at.day}日 {at:%H:%M}"
    return {
        name: {"value": pattern.format(number=message.ticket_number, time=when)}
        for name, pattern in template_fields(message.kind).items()
    }


def retry_at(attempts: int, base_seconds: float, now: dt.datetime) -> dt.datetime | None:
    """When to try again after `attempts` failed tries, or None when it is time to give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    pause = dt.timedelta(seconds=base_seconds * 2 ** (attempts - 1))
    return now + min(pause, MAX_PAUSE)


class TemplateOutbox:
    """One replica's sender of due template messages."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        service: CustomerService,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.service = service
        self.clock = clock
        self._warned_no_template = False

    async def send_due(self) -> None:
        """Send every message due now (the periodic round's work)."""
        due = await asyncio.to_thread(lease_due, self.sessions, self.clock())
        for message in due:
            await self._send(message)

    async def _send(self, message: DueMessage) -> bool:
        template = self.settings.wechat_answer_template
        if not template:
            if not self._warned_no_template:
                self._warned_no_template = True
                logger.warning(
                    "HOTLINE_WECHAT_ANSWER_TEMPLATE is not set: WeChat users whose 48-hour window"
                    " has closed are not told of their ticket's answer"
                )
            await self._record(mark_failed_attempt, message.id, NO_TEMPLATE, None)
            return False
        outcome = await self.service.send_template(message.openid, template, template_data(message))
        if outcome is None:
            await self._record(mark_sent, message.id, self.clock())
            logger.info("template message sent to %s", person_tag(message.openid))
            return True
        again = None
        if outcome not in PERMANENT_ERRCODES:
            again = retry_at(
                message.attempts, self.settings.wechat_template_retry_seconds, self.clock()
            )
        error = f"errcode {outcome}" if isinstance(outcome, int) else str(outcome)
        await self._record(mark_failed_attempt, message.id, error, again)
        if again is None:
            logger.warning(
                "template message to %s given up after %d attempts (%s)",
                person_tag(message.openid),
                message.attempts,
                error,
            )
        return False

    async def _record(self, fn: Callable[..., None], *args: Any) -> None:
        await asyncio.to_thread(fn, self.sessions, *args)
