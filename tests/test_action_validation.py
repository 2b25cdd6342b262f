"""The compiled action-response validator (rasa_plugins/nlu/action_validation.py) judges exactly as Rasa's
own `jsonschema.validate` path: valid responses pass, invalid ones raise the same ValidationError
with the same message. Rasa lives in the other environment, so the check runs there."""

from __future__ import annotations

import json
import subprocess

import pytest

from bot.config import PROJECT_ROOT
from bot.training import RASA_VENV, rasa_env
from tests.conftest import RunningStack, require

# Runs in the Rasa environment: each response through Rasa's original method and through ours.
CHECK = r"""
import json, sys
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa_plugins.nlu import action_validation
import rasa_plugins.nlu.stateless  # what loading our model imports: installs the patch

installed_on_import = action_validation.is_installed()
action = RemoteAction("action_file_ticket", None)
cases = json.loads(sys.stdin.read())

def judge():
    out = []
    for case in cases:
        try:
            out.append({"ok": action._validate_action_result(case)})
        except ValidationError as exc:
            out.append({"ok": False, "message": exc.message, "path": list(exc.path)})
    return out

ours = judge()
action_validation.uninstall()
assert not action_validation.is_installed()
rasas = judge()
print(json.dumps({"installed": installed_on_import, "ours": ours, "rasa": rasas}))
"""

VALID = [
    {"events": [], "responses": []},
    {},
    {
        "events": [
            {"event": "slot", "name": "phone", "value": "13837901234"},
            {"event": "active_loop", "name": None},
            {"event": "followup", "name": "action_listen"},
        ],
        "responses": [{"response": "utter_ask_phone"}, {"text": "好的", "buttons": []}],
    },
]
INVALID = [
    [],  # not an object
    {"events": {"event": "slot"}},  # events not a list
    {"events": [{"event": "slot"}]},  # a slot event without a name
    {"events": [{"event": "no_such_event"}]},
    {"responses": ["plain string"]},
    {"events": [{"event": "slot", "name": "phone", "timestamp": "yesterday"}]},
]


def _run_in_rasa(cases: list[object]) -> dict:
    python = RASA_VENV / "bin" / "python"
    require(python.exists(), f"the Rasa environment ({python}) is missing: run `make setup`")
    result = subprocess.run(
        [str(python), "-c", CHECK],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=rasa_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_compiled_validator_judges_like_rasa() -> None:
    outcome = _run_in_rasa([*VALID, *INVALID])
    assert outcome["installed"], "importing our components must install the patch"
    assert outcome["ours"] == outcome["rasa"]
    judged = outcome["ours"]
    assert [j["ok"] for j in judged[: len(VALID)]] == [True] * len(VALID)
    for rejected in judged[len(VALID) :]:
        assert rejected["ok"] is False
        assert "Failed to validate Action server response" in rejected["message"]


@pytest.mark.stack
def test_running_rasa_server_uses_the_compiled_validator(stack: RunningStack) -> None:
    """The Rasa server the stack starts has loaded our components and so installed the patch;
    a conversation through a custom action still works."""
    replies = stack.say("validation-check", "我要投诉")
    assert replies, "the bot answered"
    log = (stack.settings.var_dir / "logs" / "rasa.log").read_text(
        encoding="utf-8", errors="replace"
    )
    assert "validated with a" in log and "compiled once" in log
