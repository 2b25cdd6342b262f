"""Rasa-side: `POST /webhooks/nlu_batch/parse`, Rasa's own NLU on several texts in one graph run.

The web service asks Rasa's NLU about texts the dialogue does not handle: an enterprise's
one-click report (classified when no category is given) and every chat message again for the
transcript. `/model/parse` takes one text per HTTP request, and on this 2-core machine the
request around the parse costs as much as the parse: measured in-process, a warmed
`agent.parse_message` is ~3.4 ms of CPU while a Rasa server spends 5–6 ms per `/model/parse`;
one graph run over 10 texts costs 2.4 ms a text against 3.1 ms for one (the dask graph and the
empty tracker are paid once). The web service's `NluBatcher` (bot/web/nlu_batcher.py) sends the
texts that arrive while a request is in flight together, through this endpoint.

The results are what `/model/parse` answers for each text, built the way Rasa 3.6's
`MessageProcessor.parse_message` builds them (same defaults, retrieval intents, unseen-feature
warnings); `tests/test_nlu_batch.py` compares the two on our dev texts. An input channel is
Rasa's documented way to add a route to its server (credentials.yml names this class). Its routes
are outside Rasa's `--auth-token` check, so the handler checks the same token itself.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

MAX_TEXTS = 64
MAX_TEXT_CHARS = 20_000
PLACEHOLDER_MESSAGE = "__message__"
PLACEHOLDER_TRACKER = "__tracker__"


def parse_texts(processor: MessageProcessor, texts: list[str]) -> list[dict[str, Any]]:
    """`/model/parse`'s answer for each text, from one run of the model's NLU graph."""
    tracker = DialogueStateTracker.from_events("nlu_batch", [])
    target = processor.model_metadata.nlu_target
    results = processor.graph_runner.run(
        inputs={
            PLACEHOLDER_MESSAGE: [UserMessage(text) for text in texts],
            PLACEHOLDER_TRACKER: tracker,
        },
        targets=[target],
    )
    parsed_messages = results[target]
    if len(parsed_messages) != len(texts):  # a component that dropped or added a message
        raise RuntimeError(f"NLU graph gave {len(parsed_messages)} results for {len(texts)}")
    answers = []
    for parsed in parsed_messages:
        parse_data: dict[str, Any] = {
            TEXT: "",
            INTENT: {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0},
            ENTITIES: [],
        }
        parse_data.update(parsed.as_dict(only_output_properties=True))
        processor._update_full_retrieval_intent(parse_data)
        processor._check_for_unseen_features(parse_data)
        answers.append(parse_data)
    return answers


def texts_from(body: bytes) -> list[Any] | str:
    """The request's list of texts, or the reason it is refused (a short English code).

    An item that is not a usable text is answered null on its own, so one bad text does not
    cost the others in its batch their parse."""
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        return "malformed_json"
    texts = data.get("texts") if isinstance(data, dict) else None
    if not isinstance(texts, list) or not texts:
        return "texts_required"
    if len(texts) > MAX_TEXTS:
        return "too_many_texts"
    return texts


def usable(text: Any) -> bool:
    return isinstance(text, str) and 0 < len(text) <= MAX_TEXT_CHARS


class NluBatchInput(InputChannel):
    """Not a channel people talk through: the batch NLU route, mounted the way channels are."""

    def __init__(self, token: str | None = None) -> None:
        self._token = token if token is not None else os.environ.get("HOTLINE_RASA_TOKEN", "")

    @classmethod
    def name(cls) -> str:
        return "nlu_batch"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> NluBatchInput:
        return cls()

    def _authorized(self, request: Request) -> bool:
        given = request.args.get("token") or ""
        # No token configured means Rasa's API is open too (a bare `rasa run`); match it.
        return not self._token or hmac.compare_digest(given.encode(), self._token.encode())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        routes = Blueprint("hotline_nlu_batch", __name__)

        @routes.route("/parse", methods=["POST"])
        async def parse(request: Request) -> HTTPResponse:
            if not self._authorized(request):
                return response.json({"error": "unauthorized"}, status=401)
            texts = texts_from(request.body)
            if isinstance(texts, str):
                return response.json({"error": texts}, status=400)
            agent = request.app.ctx.agent
            processor = getattr(agent, "processor", None)
            if processor is None or not agent.is_ready():
                return response.json({"error": "no_model"}, status=503)
            if processor.http_interpreter is not None:  # NLU elsewhere: not batched here
                return response.json({"error": "nlu_not_local"}, status=501)
            good = [text for text in texts if usable(text)]
            try:
                parsed = iter(parse_texts(processor, good) if good else [])
            except Exception:
                logger.exception("batch NLU parse of %d texts failed", len(good))
                return response.json({"error": "parse_failed"}, status=500)
            answers = [next(parsed) if usable(text) else None for text in texts]
            return response.json({"results": answers})

        return routes
