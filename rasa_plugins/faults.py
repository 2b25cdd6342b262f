"""How our Rasa processes behave when something they depend on fails (Rasa environment only).

Rasa 3.6's own behaviour, and why each is changed here:

- **An action server that hangs** is waited for 300 s (`DEFAULT_REQUEST_TIMEOUT`, used by the
  action call and by the endpoint's HTTP session), and the form is then predicted again — up to
  ten times. The person stares at a typing indicator for minutes. Here the action call times
  out after HOTLINE_ACTION_TIMEOUT_SECONDS (8 s).
- **A custom action that fails** (server killed, timeout, 5xx) is logged, its events are
  dropped, and prediction goes on: the same failing action again, then nothing is said at all.
  Here the person is told at once that the system is busy and that what they said so far is
  kept (the form's slots are untouched: the failed action's events never happened), and the turn
  ends with action_listen, so their next message continues the same form. A validation
  rejection (ActionExecutionRejection) is not a failure and keeps Rasa's handling.
- **A lock store that fails** (Redis down, production profile) raises out of Rasa's
  `Agent.handle_message` before the turn starts: the REST call answers 500, after up to Rasa's
  10 s socket timeout per Redis command. Here the person is told at once, politely, that the
  system is busy and to send the message again (nothing of it was processed); releasing a lock
  after a turn that was served is not allowed to fail the turn (the lock expires by itself).
- **A tracker store that fails** makes Rasa's FailSafeTrackerStore fall back to a tracker in
  memory: the conversation silently restarts on a blank tracker (retrieve) or the turn is kept
  only in this process (save). Here the error is raised: the REST call fails with 500, the
  gateway tells the person the assistant is unavailable, and nothing is served from a tracker
  that is not the conversation's real one.

`install()` is called by rasa_plugins/serve.py before Rasa starts, so every Rasa server we run has
it; it touches no NLU or dialogue decision. Texts are in data/hotline/system_texts.yml.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger("rasa_plugins.faults")

TIMEOUT_ENV = "HOTLINE_ACTION_TIMEOUT_SECONDS"
DEFAULT_TIMEOUT_SECONDS = 8
TEXTS = Path(__file__).resolve().parents[1] / "data" / "hotline" / "system_texts.yml"
_MARK = "_hotline_fault_handling"


class TrackerStoreUnavailable(RuntimeError):
    """The conversation store failed; no answer is given from a stand-in tracker."""


def system_text(key: str) -> str:
    with open(TEXTS, encoding="utf-8") as handle:
        return str(yaml.safe_load(handle)[key])


def action_timeout() -> int:
    raw = os.environ.get(TIMEOUT_ENV, "")
    try:
        return max(1, int(raw)) if raw else DEFAULT_TIMEOUT_SECONDS
    except ValueError:
        return DEFAULT_TIMEOUT_SECONDS


def install() -> None:
    """Idempotent: the three changes described above."""
    import rasa.core.actions.action as action_module
    import rasa.utils.endpoints as endpoints_module
    from rasa.core.processor import MessageProcessor
    from rasa.core.tracker_store import FailSafeTrackerStore

    if getattr(MessageProcessor, _MARK, False):
        return
    seconds = action_timeout()
    action_module.DEFAULT_REQUEST_TIMEOUT = seconds  # type: ignore[attr-defined]
    endpoints_module.DEFAULT_REQUEST_TIMEOUT = seconds  # type: ignore[attr-defined]
    _answer_failed_actions(MessageProcessor, system_text("action_failed"))
    _fail_loudly(FailSafeTrackerStore, MessageProcessor, system_text("tracker_failed"))
    _answer_lock_store_failures(system_text("lock_store_failed"))
    setattr(MessageProcessor, _MARK, True)


def _answer_lock_store_failures(text: str) -> None:
    from rasa.core.agent import Agent
    from rasa.core.lock_store import LockError, LockStore
    from redis.exceptions import RedisError

    original_handle = Agent.handle_message
    original_cleanup = LockStore.cleanup

    async def handle_message(self: Any, message: Any) -> Any:
        try:
            return await original_handle(self, message)
        except (LockError, RedisError) as error:
            # LockError also means a turn waited its lock out (another message of the same
            # conversation held it): the same answer fits — send it again.
            logger.error(
                "lock store failed (%s): the person was asked to resend", type(error).__name__
            )
            channel = message.output_channel
            collected = getattr(channel, "messages", None)
            if isinstance(collected, list):
                collected.clear()
            await channel.send_text_message(message.sender_id, text)
            return None

    def cleanup(self: Any, conversation_id: str, ticket_number: int) -> None:
        try:
            original_cleanup(self, conversation_id, ticket_number)
        except RedisError as error:
            logger.error(
                "lock store failed releasing a lock (%s): it expires by itself",
                type(error).__name__,
            )

    Agent.handle_message = handle_message  # type: ignore[method-assign]
    LockStore.cleanup = cleanup  # type: ignore[method-assign]


def _answer_failed_actions(processor_class: Any, text: str) -> None:
    from rasa.core.actions.action import ActionExecutionRejection
    from rasa.core.policies.policy import PolicyPrediction
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import BotUttered

    original = processor_class._run_action

    async def _run_action(
        self: Any, action: Any, tracker: Any, output_channel: Any, nlg: Any, prediction: Any
    ) -> bool:
        failed: list[str] = []
        run = action.run

        async def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return await run(*args, **kwargs)
            except ActionExecutionRejection:
                raise
            except Exception as error:  # the action's events are lost either way
                failed.append(type(error).__name__)
                return [BotUttered(text=text, metadata={"hotline_fault": action.name()})]

        action.run = guarded
        try:
            predict_more = bool(
                await original(self, action, tracker, output_channel, nlg, prediction)
            )
        finally:
            del action.run
        if not failed:
            return predict_more
        logger.error(
            "action %s failed (%s): the person was told the system is busy; turn ended",
            action.name(),
            failed[0],
        )
        listen = self._get_action(ACTION_LISTEN_NAME)
        await original(
            self,
            listen,
            tracker,
            output_channel,
            nlg,
            PolicyPrediction.for_action_name(self.domain, ACTION_LISTEN_NAME),
        )
        return False

    processor_class._run_action = _run_action


def _fail_loudly(store_class: Any, processor_class: Any, text: str) -> None:
    def on_error(self: Any, error: Exception) -> None:
        name = type(self._tracker_store).__name__
        # The error's type only: its message can quote the SQL parameters (the person's words).
        logger.error(
            "tracker store %s failed (%s): refusing to serve from memory",
            name,
            type(error).__name__,
        )
        raise TrackerStoreUnavailable(f"{name}: {type(error).__name__}") from error

    store_class.on_tracker_store_error = on_error
    store_class.on_tracker_store_retrieve_error = on_error

    original = processor_class.handle_message

    async def handle_message(self: Any, message: Any) -> Any:
        """Rasa's REST channel would log the failure with every local variable (the person's
        text among them) and still return the replies of the turn it could not save. Instead
        the replies are dropped and the person is told the turn was not kept."""
        try:
            return await original(self, message)
        except TrackerStoreUnavailable:
            channel = message.output_channel
            collected = getattr(channel, "messages", None)
            if isinstance(collected, list):
                collected.clear()
            await channel.send_text_message(message.sender_id, text)
            return None

    processor_class.handle_message = handle_message
