"""The shared secret on the private network's hops (both environments; stdlib only).

Rasa's REST channel (`/webhooks/rest/webhook`, how the gateway, `hotline chat`, the benches
and the tests talk to Rasa) and the action server (`/webhook`, how Rasa runs our actions) are
not covered by Rasa's `--auth-token`: any host that reaches their ports could talk to Rasa as
any sender (read someone's tickets by their sender id, file in their name) or run an action
with a tracker of its choosing (`action_file_ticket` with any slots). Both now want the
deployment's internal token — HOTLINE_RASA_TOKEN, the one Rasa's API already takes, handed to
every process we start — in a header (a header, not `?token=`, so no access log writes it).
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

HEADER = "X-Hotline-Token"
TOKEN_ENV = "HOTLINE_RASA_TOKEN"


def headers(token: str) -> dict[str, str]:
    """What a caller adds to a request on an internal hop."""
    return {HEADER: token}


def expected_token() -> str:
    """This process's token (its environment); empty when none was given."""
    return os.environ.get(TOKEN_ENV, "")


def authorised(supplied: str | None, expected: str) -> bool:
    """The supplied header matches the token, compared in constant time; never without one."""
    if not expected or not supplied:
        return False
    return hmac.compare_digest(supplied.encode("utf-8"), expected.encode("utf-8"))


RUN_TOKEN_FILE = "rasa.token"


def remember_run_token(var_dir: Path, token: str) -> Path:
    """`hotline run` without HOTLINE_RASA_TOKEN makes a fresh token per run; it is written to
    var/rasa.token (0600, replaced whole) so the same user's `hotline chat` in another terminal
    can talk to the running Rasa. Removed when the run stops."""
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / RUN_TOKEN_FILE
    temporary = path.with_name(f".{RUN_TOKEN_FILE}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(token)
    os.replace(temporary, path)
    return path


def local_token(var_dir: Path) -> str:
    """The token for a local client: HOTLINE_RASA_TOKEN, else the running `hotline run`'s."""
    configured = expected_token()
    if configured:
        return configured
    try:
        return (var_dir / RUN_TOKEN_FILE).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
