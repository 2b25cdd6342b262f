"""Our NLU components inside the real Rasa server: /model/parse over HTTP."""

from __future__ import annotations

import pytest

from bot.domain.identifiers import id_check_char, uscc_check_char
from tests.conftest import RunningStack

pytestmark = pytest.mark.stack


def test_rule_entities_come_out_normalised(stack: RunningStack) -> None:
    uscc = "91410300MA9FGH1K2" + str(uscc_check_char("91410300MA9FGH1K2"))
    id_number = "41030219850317251" + id_check_char("41030219850317251")
    text = (
        f"我们公司（信用代码{uscc}）2023年3月给洛龙区住建局干的工程，还欠三十八万元，"
        f"联系电话13812345678，法人身份证{id_number}"
    )
    entities = {e["entity"]: e for e in stack.parse(text)["entities"]}
    assert entities["uscc"]["value"] == uscc
    assert entities["date"]["value"] == "2023-03"
    assert entities["amount"]["value"] == 380000
    assert entities["phone"]["value"] == "13812345678"
    assert entities["id_number"]["value"] == id_number
    assert entities["district"]["value"] == "洛龙区"
    for kind in ("uscc", "date", "amount", "phone", "id_number", "district"):
        assert entities[kind]["extractor"] == "RuleEntityExtractor"
        assert text[entities[kind]["start"] : entities[kind]["end"]] != ""


def test_a_wrong_check_character_is_not_extracted(stack: RunningStack) -> None:
    entities = stack.parse("信用代码91410300MA9FGH1K2Z")["entities"]
    assert [e for e in entities if e["entity"] == "uscc"] == []


def test_organisation_is_found_by_the_model(stack: RunningStack) -> None:
    parsed = stack.parse("西工区人社局对我们反映的欠薪问题一直推来推去不处理")
    organizations = [e["value"] for e in parsed["entities"] if e["entity"] == "organization"]
    assert organizations == ["西工区人社局"]


def test_traditional_and_fullwidth_input_is_understood_like_simplified(stack: RunningStack) -> None:
    simplified = stack.parse("镇政府拖欠我们工程款三十万元两年了")
    traditional = stack.parse("鎮政府拖欠我們工程款三十萬元兩年了")
    assert traditional["intent"]["name"] == simplified["intent"]["name"] == "complain_arrears"
    amounts = [e["value"] for e in traditional["entities"] if e["entity"] == "amount"]
    assert amounts == [300000]
    fullwidth = stack.parse("查询工单 ＬＹ２０２６１１２５－０００７ ６５４３２１")
    found = {e["entity"]: e["value"] for e in fullwidth["entities"]}
    assert found["ticket_id"] == "LY20261125-0007" and found["access_code"] == "654321"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("包工头跑了，我们十几个人大半年的工钱没着落", "complain_wage_arrears"),
        ("楼下烧烤店天天吵到半夜两点", "complain_livelihood"),
        ("我要投诉", "complain"),
        ("查一下我的工单进度", "query_status"),
        ("着火了快来人", "emergency"),
    ],
)
def test_clear_messages_get_their_intent(stack: RunningStack, text: str, intent: str) -> None:
    assert stack.parse(text)["intent"]["name"] == intent


def test_a_rare_cry_for_help_is_an_emergency_with_full_confidence(stack: RunningStack) -> None:
    # Worded unlike any training example; the rules put it on top whatever the classifier says.
    parsed = stack.parse("我爸突然不省人事了")
    assert parsed["intent"] == {"name": "emergency", "confidence": 1.0}
    assert parsed["intent_ranking"][0]["name"] == "emergency"
