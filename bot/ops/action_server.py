"""Our action server: rasa-sdk's, with the internal token checked on every call.

`python -m rasa_sdk` answers `/webhook` for anyone who reaches its port, and a call carries
the whole tracker the caller wants — slots included — so a host on the private network could
run `action_file_ticket` with any phone, or `action_query_status` with anyone's ticket and
sender id. This entry point runs rasa-sdk's own command line and app, adding one request
middleware: without the deployment's internal token in X-Hotline-Token (bot/domain/internal_auth.py)
the answer is 401 and no action runs. Rasa sends the header from endpoints.yml
(`action_endpoint.headers`, filled from HOTLINE_RASA_TOKEN in Rasa's environment). `/health`
stays open for the supervisor's readiness check.

rasa-sdk builds its Sanic app in each worker from a factory (Sanic's AppLoader), so the
middleware is added by a module-level factory that wraps rasa-sdk's.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.domain.internal_auth import HEADER, authorised, expected_token

logger = logging.getLogger(__name__)
OPEN_PATHS = frozenset({"/health"})


def create_app_for_serve(*args: Any, **kwargs: Any) -> Any:
    """rasa-sdk's app factory, with the token check in front of every route but /health."""
    from sanic import response

    app = _original_factory(*args, **kwargs)
    token = expected_token()
    if not token:
        logger.error("HOTLINE_RASA_TOKEN is not set: every action call is refused")

    @app.on_request
    async def check_token(request: Any) -> Any:
        if request.path in OPEN_PATHS:
            return None
        if not authorised(request.headers.get(HEADER), token):
            return response.json({"error": "unauthorized"}, status=401)
        return None

    return app


def _original_factory(*args: Any, **kwargs: Any) -> Any:
    from rasa_sdk import endpoint

    original = getattr(endpoint, "_hotline_original_factory", endpoint.create_app_for_serve)
    return original(*args, **kwargs)


def install() -> None:
    """Make rasa-sdk's `run` build its app with our factory (idempotent)."""
    from rasa_sdk import endpoint

    if not hasattr(endpoint, "_hotline_original_factory"):
        endpoint._hotline_original_factory = endpoint.create_app_for_serve  # type: ignore[attr-defined]
        endpoint.create_app_for_serve = create_app_for_serve  # type: ignore[assignment]


def main() -> None:
    from rasa_sdk.__main__ import main as rasa_sdk_main

    install()
    rasa_sdk_main()


if __name__ == "__main__":
    main()
