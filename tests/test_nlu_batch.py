"""Rasa's NLU on several texts in one request (rasa_plugins/nlu_batch.py) and the web service's
batcher (bot/web/nlu_batcher.py), against the real Rasa server of the test stack."""

from __future__ import annotations

import asyncio
import math
import os
import re
from typing import Any

import aiohttp
import pytest
import requests
import sqlalchemy

from bot.ops.supervisor import free_port
from bot.web.nlu_batcher import ROUTE, NluBatcher
from tests.conftest import RunningStack
from tools.eval.datasets import dev_set

pytestmark = pytest.mark.stack

# Texts that exercise every component: the two-matters rule, traditional characters, rule
# entities with checksums, an intent payload with entities, emoji, one character.
SPECIAL = [
    "村里的路灯坏了半年没人修，还有就是镇上答应的拆迁补偿款到现在也没给，两件事都没人管",
    "我們公司為新安縣教育局提供校服，款項八十五萬元至今未付清，已拖欠一年多。",
    "电话13812345678，西工区人社局欠我工资一万二",
    '/complain_arrears{"amount": "50000"}',
    "😡😡😡 工程款！！！",
    "喂",
]


def _batch(stack: RunningStack, body: Any, *, auth: bool = True) -> requests.Response:
    return requests.post(
        f"{stack.settings.rasa_url}{ROUTE}",
        params=stack.settings.rasa_auth if auth else {},
        json=body,
        timeout=60,
    )


def _same(a: Any, b: Any) -> bool:
    """Equal, floats to 1e-9 (one matrix product over several rows may round differently)."""
    if isinstance(a, float) and isinstance(b, (float, int)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def test_a_batch_answers_what_model_parse_answers_for_each_text(stack: RunningStack) -> None:
    texts = [item.text for item in dev_set()[::9]][:40] + SPECIAL
    response = _batch(stack, {"texts": texts})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == len(texts)
    for text, batched in zip(texts, results, strict=True):
        single = stack.parse(text)
        assert _same(batched, single), text
    by_text = dict(zip(texts, results, strict=True))
    assert by_text[SPECIAL[3]]["intent"]["name"] == "complain_arrears"
    assert [e["entity"] for e in by_text[SPECIAL[0]]["entities"]].count("matter") == 2


def test_bad_requests_are_refused_and_a_bad_item_costs_only_itself(stack: RunningStack) -> None:
    assert _batch(stack, {"texts": ["欠薪"]}, auth=False).status_code == 401
    wrong = requests.post(
        f"{stack.settings.rasa_url}{ROUTE}", params={"token": "x"}, json={"texts": ["a"]}
    )
    assert wrong.status_code == 401
    malformed = requests.post(
        f"{stack.settings.rasa_url}{ROUTE}",
        params=stack.settings.rasa_auth,
        data=b'{"texts": [',
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert malformed.status_code == 400 and malformed.json() == {"error": "malformed_json"}
    assert _batch(stack, {"texts": []}).json() == {"error": "texts_required"}
    assert _batch(stack, ["欠薪"]).json() == {"error": "texts_required"}
    assert _batch(stack, {"texts": ["欠薪"] * 65}).json() == {"error": "too_many_texts"}
    mixed = _batch(stack, {"texts": ["", 42, "镇政府欠我们工程款三十万", "x" * 20_001, None]})
    assert mixed.status_code == 200
    results = mixed.json()["results"]
    assert results[0] is None and results[1] is None and results[3] is None and results[4] is None
    assert results[2]["intent"]["name"] == "complain_arrears"


def test_the_batcher_sends_a_burst_in_few_requests_with_each_callers_own_answer(
    stack: RunningStack,
) -> None:
    texts = [item.text for item in dev_set()[1::7]][:30]

    async def burst() -> tuple[list[dict[str, Any] | None], int]:
        async with aiohttp.ClientSession() as http:
            batcher = NluBatcher(http, stack.settings.rasa_url, stack.settings.rasa_auth)
            answers = await asyncio.gather(*(batcher.parse(t) for t in texts))
            return list(answers), batcher.requests_sent

    answers, requests_sent = asyncio.run(burst())
    # Two go at once, the rest wait and go at most 8 together: 2 + ceil(28 / 8) = 6.
    assert requests_sent <= 6
    for text, answer in zip(texts, answers, strict=True):
        single = stack.parse(text)  # the text comes back normalised (half-width, simplified)
        assert answer is not None and answer["text"] == single["text"]
        assert _same(answer, single)


def test_a_person_alone_is_not_kept_waiting_for_company(stack: RunningStack) -> None:
    async def alone() -> tuple[dict[str, Any] | None, int]:
        async with aiohttp.ClientSession() as http:
            batcher = NluBatcher(http, stack.settings.rasa_url, stack.settings.rasa_auth)
            answer = await asyncio.wait_for(batcher.parse("路灯坏了没人修"), timeout=5)
            return answer, batcher.requests_sent

    answer, sent = asyncio.run(alone())
    assert answer is not None and sent == 1


def test_rasa_not_answering_gives_none_to_every_caller_and_the_next_burst_still_goes() -> None:
    async def unreachable() -> list[dict[str, Any] | None]:
        async with aiohttp.ClientSession() as http:
            batcher = NluBatcher(http, f"http://127.0.0.1:{free_port()}", {"token": "t"})
            first = await asyncio.gather(*(batcher.parse(f"第{i}件") for i in range(12)))
            second = await batcher.parse("还有一件")
            return [*first, second]

    assert asyncio.run(unreachable()) == [None] * 13


def test_a_burst_of_enterprise_reports_is_classified_through_the_batches(
    stack: RunningStack, capsys: pytest.CaptureFixture[str]
) -> None:
    """The benchmark's own driver (tools/perf/enterprise_api.py), small: every report filed
    once, classified (no category given) and listed back; CPU accounted per report."""
    from tools.perf.enterprise_api import run

    assert asyncio.run(run(stack.settings.web_url, 12, pids={"this test": os.getpid()})) == 0
    printed = capsys.readouterr().out
    assert "12 concurrent reports: 0 errors, 12 distinct tickets, 12 listed back" in printed
    assert re.search(
        r"CPU per report in the bursts \(utime\+stime\): this test \d+\.\d ms", printed
    )
    with stack.engine.connect() as connection:
        categories = connection.execute(
            sqlalchemy.text(
                "SELECT category FROM tickets WHERE channel = 'enterprise_api' "
                "ORDER BY id DESC LIMIT 12"
            )
        ).scalars()
        assert set(categories) == {"arrears"}
