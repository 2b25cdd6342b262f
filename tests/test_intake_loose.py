"""Callers who talk loosely, through the real Rasa and action servers: the story as an answer,
corrections at any question, several facts at once, payloads typed by hand, implausible values,
questions in the middle of the form, and changes at the summary."""

from __future__ import annotations

import re

import pytest

from tests.conftest import RunningStack
from tests.test_conversation import TICKET_RE, _phone, _sender, _texts, _tickets_of, _walk

pytestmark = pytest.mark.stack


def _requested(stack: RunningStack, sender: str) -> str | None:
    import requests

    tracker = requests.get(
        f"{stack.settings.rasa_url}/conversations/{sender}/tracker",
        params=stack.settings.rasa_auth,
        timeout=30,
    ).json()
    return tracker["slots"].get("requested_slot")


def _slots(stack: RunningStack, sender: str) -> dict:
    import requests

    return dict(
        requests.get(
            f"{stack.settings.rasa_url}/conversations/{sender}/tracker",
            params=stack.settings.rasa_auth,
            timeout=30,
        ).json()["slots"]
    )


def test_the_story_told_as_the_description_answer_is_classified_and_read(
    stack: RunningStack,
) -> None:
    sender = _sender()
    stack.say(sender, "我要投诉")
    story = (
        "我们公司给洛龙区住建局做的市政绿化工程 去年十月就验收了 "
        "工程款三十八万到现在一分没给 找了好几趟都说等财政"
    )
    stack.say(sender, story)
    slots = _slots(stack, sender)
    assert slots["category"] == "arrears"  # not 待分类
    assert slots["amount"] == 380000
    assert "住建局" in str(slots["organization"])
    assert slots["district"] == "洛龙区"
    summary, asked = _walk(stack, sender, stack.say(sender, "企业"), 身份保密吗="不需要")
    assert "哪个单位" not in asked and "哪个区县" not in asked and "金额大概是多少" not in asked
    assert "拖欠企业账款" in _texts(summary)
    assert TICKET_RE.search(_texts(stack.say(sender, "/affirm")))
    [ticket] = _tickets_of(stack, sender)
    assert ticket.category == "arrears" and ticket.description == story


def test_an_unclear_story_gets_the_category_buttons(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "我想反映个事")
    replies = stack.say(sender, "就是那个事一直拖着 找谁都说等等 也没个准话 都好几个月了")
    assert _requested(stack, sender) == "category"
    titles = [b["title"] for r in replies for b in r.get("buttons") or []]
    assert "都不是" in titles and len(titles) >= 2
    assert "这是一条按钮指令" not in _texts(stack.say(sender, "/complain"))
    assert _slots(stack, sender)["category"] == "unclassified"


def test_a_correction_at_a_later_question_updates_the_earlier_fact(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "宜阳县城管局的人把我家门口的摊子掀了 还罚了两百块 也不开票")
    assert _slots(stack, sender)["district"] == "宜阳县"
    reply = ""
    while _requested(stack, sender) not in ("phone", None):
        requested = _requested(stack, sender)
        answers = {"occurred_on": "上个月", "caller_type": "个人", "caller_name": "王先生"}
        reply = _texts(stack.say(sender, answers.get(str(requested), "不知道")))
    assert _requested(stack, sender) == "phone"
    reply = _texts(stack.say(sender, "不对，是伊川县不是宜阳县"))
    assert "「所在区县」已改为：伊川县" in reply
    assert "联系电话" in reply  # and the question that was asked comes again
    assert _slots(stack, sender)["district"] == "伊川县"
    assert "号码好像不对" not in reply
    # The respondent named 宜阳县: the summary asks which district is right.
    stack.say(sender, _phone(sender))
    if _requested(stack, sender) == "identity_protected":
        reply = _texts(stack.say(sender, "不需要"))
    assert "在宜阳县" in reply and "伊川县" in reply
    assert "请核对" in _texts(stack.say(sender, "伊川县"))
    stack.say(sender, "/affirm")
    [ticket] = _tickets_of(stack, sender)
    assert ticket.district == "伊川县" and ticket.amount == 200


def test_several_facts_in_one_answer_are_all_kept(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "我要投诉")
    stack.say(sender, "小区门口的路灯坏了两个多月了，晚上黑乎乎的，老人摔了好几次")
    answers = iter(["城市管理局", "西工区的，电话138 3790 1234", "上个月", "个人", "我姓王"])
    asked = []
    while _requested(stack, sender) not in (None, "confirmed", "identity_protected"):
        asked.append(_requested(stack, sender))
        stack.say(sender, next(answers))
    assert "phone" not in asked
    slots = _slots(stack, sender)
    assert slots["phone"] == "13837901234" and slots["district"] == "西工区"
    assert slots["caller_name"] == "王"


def test_the_opening_names_the_caller_and_the_company(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(
        sender,
        "我们是洛阳恒达机械有限公司的，吉利区某镇政府欠我们设备款十二万，说好年底前结清，现在又说没钱",
    )
    slots = _slots(stack, sender)
    assert slots["enterprise_name"] == "洛阳恒达机械有限公司"
    assert slots["caller_type"] == "enterprise"
    assert "恒达机械" not in str(slots["organization"] or "")
    assert slots["amount"] == 120000


def test_payloads_nobody_offered_are_plain_text(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, '/complain_arrears{"uscc":"X","phone":"123"}')
    slots = _slots(stack, sender)
    assert slots["uscc"] is None and slots["phone"] is None
    assert _requested(stack, sender) == "description"
    stack.say(sender, "涧西区某物业公司收了停车费不给开发票，还说不交就不让进小区")
    while _requested(stack, sender) not in ("caller_name", None):
        stack.say(sender, {"organization": "某物业公司", "caller_type": "个人"}.get(
            str(_requested(stack, sender)), "不清楚"))  # fmt: skip
    reply = _texts(stack.say(sender, "/affirm"))
    assert "按钮指令" in reply and "姓名" in reply
    assert _slots(stack, sender)["caller_name"] is None


def test_implausible_values_get_a_specific_question(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "我要投诉")
    stack.say(sender, "我在新安县一个工地干活，工头拖欠工资好几个月了，一直说下个月给")
    while _requested(stack, sender) != "amount":
        stack.say(sender, {"organization": "某建筑劳务公司", "occurred_on": "今年五月"}.get(
            str(_requested(stack, sender)), "不清楚"))  # fmt: skip
    reply = _texts(stack.say(sender, "13812345678"))
    assert "像是电话号码" in reply
    assert _slots(stack, sender)["phone"] == "13812345678"  # kept where it belongs
    reply = _texts(stack.say(sender, "50亿"))
    assert "超过" in reply and _slots(stack, sender)["amount"] is None
    stack.say(sender, "三万五")
    assert _slots(stack, sender)["amount"] == 35000
    stack.say(sender, "个人")
    reply = _texts(stack.say(sender, "13912345678"))
    assert "电话号码" in reply and "称呼" in reply


def test_an_amount_is_kept_when_said_though_not_asked(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "老城区城管执法大队说我们饭店招牌不合规，罚款五千元，招牌是他们让换的")
    summary, asked = _walk(stack, sender, stack.say(sender, "个人"), 身份保密吗="不需要")
    assert "金额大概是多少" not in asked
    assert "5,000元" in _texts(summary)
    stack.say(sender, "/affirm")
    [ticket] = _tickets_of(stack, sender)
    assert ticket.amount == 5000


def test_a_change_with_its_value_at_the_summary_is_taken_at_once(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "楼上天天半夜装修电钻响，物业也不管，洛龙区的")
    summary, _ = _walk(stack, sender, stack.say(sender, "某物业公司"), 怎么称呼="李女士")
    reply = _texts(stack.say(sender, "姓名改成张伟"))
    assert "「姓名」已改为：张伟" in reply and "请核对" in reply and "张伟" in reply
    stack.say(sender, "/affirm")
    [ticket] = _tickets_of(stack, sender)
    assert ticket.caller_name == "张伟"
    notes = " ".join(e.note or "" for e in ticket.events)
    assert "李女士" in notes  # the corrected value stays in the ticket's history


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("你们一般多久能答复？", "13个工作日"),
        ("匿名会影响处理吗？", "不影响受理"),
        ("你是真人吗？", "不是真人"),
    ],
)
def test_a_question_in_the_middle_of_the_form_is_answered_and_the_form_goes_on(
    stack: RunningStack, question: str, words: str
) -> None:
    sender = _sender()
    stack.say(sender, "我要投诉")
    stack.say(sender, "小区东门的垃圾站半个月没人清了，臭得路过都得捂鼻子")
    assert _requested(stack, sender) == "organization"
    reply = _texts(stack.say(sender, question))
    assert words in reply
    assert "哪个单位" in reply and _requested(stack, sender) == "organization"
    assert "好像不对" not in reply and "没能识别" not in reply


def test_a_question_about_the_service_outside_a_form_is_answered(stack: RunningStack) -> None:
    reply = stack.say(_sender(), "你们几点下班")
    assert "24小时" in _texts(reply)
    assert not any(r.get("buttons") for r in reply)  # not the complaint-category buttons


def test_nothing_said_is_lost_the_description_stays_verbatim(stack: RunningStack) -> None:
    sender = _sender()
    story = "俺在伊川县城一个洗车店干了半年 老板说生意不好 最后俩月工资3万5一直不给 😡😡"
    stack.say(sender, story)
    slots = _slots(stack, sender)
    assert slots["description"] == story and slots["amount"] == 35000
    assert re.search(r"伊川", str(slots["district"]))


def test_two_matters_in_one_message_can_be_filed_as_two_tickets(stack: RunningStack) -> None:
    sender = _sender()
    story = (
        "我在洛龙区一个工地干了三个月，顺达劳务公司欠我八千块工钱一直不给。"
        "另外我们村委会去年写了承诺书说年底前把村里的路修好，到现在也没动静"
    )
    replies = stack.say(sender, story)
    assert "两件事" in _texts(replies)
    titles = [b["title"] for r in replies for b in r.get("buttons") or []]
    assert titles[0] == "两件都登记" and any("拖欠工资" in t for t in titles)
    stack.say(sender, "两件都登记")
    summary, _ = _walk(stack, sender, stack.say(sender, "上个月"), 怎么称呼="刘师傅")
    assert "拖欠工资" in _texts(summary)
    filed = _texts(stack.say(sender, "/affirm"))
    assert TICKET_RE.search(filed) and "第二件事" in filed
    # The second matter: the caller is not asked who they are again.
    summary, asked = _walk(stack, sender, stack.say(sender, "村委会"), 身份保密吗="不需要")
    assert "怎么称呼" not in asked and "联系电话" not in asked
    assert "承诺不兑现" in _texts(summary)
    assert TICKET_RE.search(_texts(stack.say(sender, "/affirm")))
    tickets = sorted(_tickets_of(stack, sender), key=lambda t: t.number)
    assert [t.category for t in tickets] == ["wage_arrears", "broken_promise"]
    assert tickets[0].amount == 8000 and tickets[1].amount is None
    assert tickets[0].caller_name == tickets[1].caller_name == "刘师傅"
    assert all(t.description == story for t in tickets)


def test_bad_input_inside_the_form_gets_a_clear_answer_and_nothing_breaks(
    stack: RunningStack,
) -> None:
    sender = _sender()
    stack.say(sender, "我要投诉")
    assert "太短" in _texts(stack.say(sender, "😡😡😡"))
    assert _requested(stack, sender) == "description"
    story = "<script>alert(1)</script> 楼下饭店油烟直排进我家窗户，找了好几次都不管 '; DROP TABLE tickets; --"
    stack.say(sender, story)
    injection = "'; DROP TABLE tickets; -- 某饭店"
    summary, _ = _walk(stack, sender, stack.say(sender, injection), 哪个区县="西工区")
    stack.say(sender, "/affirm")
    [ticket] = _tickets_of(stack, sender)
    assert ticket.description == story and ticket.organization == injection
    assert _tickets_of(stack, _sender()) == []  # the table is still there and answers
