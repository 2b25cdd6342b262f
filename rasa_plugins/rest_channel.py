"""Rasa's REST channel behind the internal token (runs in the Rasa environment).

The same channel as Rasa's `rest` (same name, so the URL stays `/webhooks/rest/webhook` and the
tracker's input channel stays "rest"), with one difference: a message without the deployment's
internal token in its X-Hotline-Token header is answered 401 and never reaches the dialogue
(bot/domain/internal_auth.py says why). credentials.yml names this class instead of `rest`. The
channel's health route (GET /webhooks/rest/) tells nothing and stays open.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.domain.internal_auth import HEADER, authorised, expected_token

logger = logging.getLogger(__name__)


class TokenRestInput(RestInput):  # type: ignore[misc]
    """RestInput whose webhook wants the internal token."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def __init__(self) -> None:
        super().__init__()
        self._token = expected_token()
        if not self._token:
            # rasa_serve refuses to start without it; a Rasa started another way answers 401.
            logger.error("%s is not set: the REST channel refuses every message", HEADER)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)

        @blueprint.middleware("request")
        async def check_token(request: Request) -> HTTPResponse | None:
            if request.method == "POST" and not authorised(
                request.headers.get(HEADER), self._token
            ):
                return response.json({"error": "unauthorized"}, status=401)
            return None

        return blueprint
