"""The messy-caller set (tests/callers/) is well formed, and the driver of `hotline eval --callers`
files and judges its conversations through the real stack."""

from __future__ import annotations

import pytest

from bot.domain.districts import official_names
from bot.domain.identifiers import find_uscc
from bot.domain.validators import is_mobile
from tests.conftest import RunningStack
from tools.eval.callers import CallerDriver, load_conversations, summarise

FACTS = {
    "description", "organization", "district", "occurred_on", "amount", "caller_type",
    "caller_name", "enterprise_name", "uscc", "phone", "identity_protected", "category",
    "matter_choice",
}  # fmt: skip
KEYS = {
    "id", "who", "about", "say", "given", "answers", "before", "at_summary", "expect",
    "also_given", "two_matters", "pick",
}  # fmt: skip
CATEGORIES = {
    "arrears", "wage_arrears", "broken_promise", "contract_breach", "policy_not_honored",
    "dereliction", "unfair_market", "enterprise_harassment", "livelihood",
}  # fmt: skip


def test_the_set_is_large_enough_and_well_formed() -> None:
    conversations = load_conversations()
    assert len(conversations) >= 30
    assert len({c["id"] for c in conversations}) == len(conversations)
    phones = [str(c["expect"]["phone"]) for c in conversations]
    assert len(set(phones)) == len(phones), "each conversation needs its own phone number"
    for conv in conversations:
        assert set(conv) <= KEYS, conv["id"]
        assert set(conv.get("answers") or {}) <= FACTS, conv["id"]
        expect = conv["expect"]
        assert expect["category"] in CATEGORIES, conv["id"]
        assert is_mobile(str(expect["phone"])), conv["id"]
        assert expect.get("district") in (None, *official_names()), conv["id"]
        if expect.get("uscc"):
            assert [code for *_, code in find_uscc(expect["uscc"])] == [expect["uscc"]]
    assert sum(c["who"] == "enterprise" for c in conversations) >= 10


# Conversations the bot handles fully today, one per behaviour: a regression guard. The whole
# set is a measurement (`hotline eval --callers`), not a test.
GUARDED = (
    "story-rebar-worker-yanshi",  # the story as the description answer
    "correct-amount-thirty-to-forty-wan",  # a correction at a later question
    "name-reply-with-phone",  # several facts in one answer
    "junk-affirm-as-name",  # a payload typed at the name question
    "summary-change-name",  # a change with its value at the summary
    "amount-tail-three-wan-five",  # 3万5一直
)


@pytest.mark.stack
def test_the_driver_files_and_judges_conversations(stack: RunningStack) -> None:
    wanted = {c["id"]: c for c in load_conversations() if c["id"] in GUARDED}
    assert set(wanted) == set(GUARDED)
    driver = CallerDriver(stack.settings.rasa_url, stack.settings.rasa_token, stack.engine)
    outcomes = [driver.run(conv) for conv in wanted.values()]
    for outcome in outcomes:
        assert outcome.filed and outcome.facts_right, (
            outcome.id,
            outcome.wrong,
            outcome.transcript,
        )
        assert not outcome.asked_again, (outcome.id, outcome.asked_again)
    summary = summarise(outcomes)
    assert summary["filed"] == summary["facts_all_right"] == len(GUARDED)
