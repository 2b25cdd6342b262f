"""The few reads of Rasa's HTTP API the web service makes besides the REST channel: the NLU on a
text (batched with other texts in flight, bot/web/nlu_batcher.py), the loaded model (`/status`),
a conversation's state without its events (`/conversations/{id}/tracker?include_events=NONE`). Each returns None when Rasa does not
answer well — callers decide what that means for them; nothing here raises to a person."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from bot.web.nlu_batcher import NluBatcher

logger = logging.getLogger("bot.web.rasa_api")
TIMEOUT = aiohttp.ClientTimeout(total=10)


class RasaApi:
    def __init__(self, http: aiohttp.ClientSession, url: str, auth: dict[str, str]) -> None:
        self._http = http
        self._url = url.rstrip("/")
        self._auth = dict(auth)  # ?token= for Rasa's --auth-token; never logged
        self.nlu = NluBatcher(http, self._url, self._auth)

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any] | None:
        try:
            async with self._http.request(
                method, f"{self._url}{path}", params=self._auth | kwargs.pop("query", {}),
                timeout=TIMEOUT, **kwargs,
            ) as resp:  # fmt: skip
                if resp.status != 200:
                    logger.warning("Rasa %s answered %s", path.split("/")[1], resp.status)
                    return None
                found = await resp.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            logger.warning("Rasa %s failed: %s", path.split("/")[1], type(exc).__name__)
            return None
        return found if isinstance(found, dict) else None

    async def parse(self, text: str) -> dict[str, Any] | None:
        """What `/model/parse` answers for `text`, sent with the other texts of this moment."""
        return await self.nlu.parse(text)

    async def model(self) -> str | None:
        """The loaded model's file name (a new model re-checks what an older one said)."""
        status = await self._json("GET", "/status")
        name = (status or {}).get("model_file")
        return str(name) if name else None

    async def active_form(self, rasa_sender_id: str) -> tuple[bool, str | None]:
        """(answered, the form active in that conversation now or None)."""
        state = await self._json(
            "GET", f"/conversations/{rasa_sender_id}/tracker", query={"include_events": "NONE"}
        )
        if state is None:
            return False, None
        name = (state.get("active_loop") or {}).get("name")
        return True, str(name) if name else None
