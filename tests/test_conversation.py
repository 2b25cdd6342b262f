"""The vertical slice through the real Rasa server and action server over HTTP, checking the database."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.tickets.db import make_session_factory
from bot.tickets.models import Ticket
from tests.conftest import RunningStack

pytestmark = pytest.mark.stack

TICKET_RE = re.compile(r"工单号是 (LY\d{8}-\d{4})，提取码 (\d{6})")


def _sender() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def _texts(replies: list[dict]) -> str:
    return "\n".join(str(r.get("text", "")) for r in replies)


def _tickets_of(stack: RunningStack, sender: str) -> list[Ticket]:
    with make_session_factory(stack.engine)() as session:
        query = (
            select(Ticket).where(Ticket.sender_id == sender).options(selectinload(Ticket.events))
        )
        return list(session.scalars(query))


def _file_complaint(stack: RunningStack, sender: str) -> tuple[str, str]:
    """Walk the happy path and return (ticket number, access code) as the bot told them."""
    stack.say(sender, "你好")
    assert "描述" in _texts(stack.say(sender, "我要投诉"))
    description = "我们小区南门那段路挖开三个月了，一直没人管！下雨全是泥，老人孩子出门都得绕着走。"
    assert "哪个单位" in _texts(stack.say(sender, description))
    assert "区县" in _texts(stack.say(sender, "城市管理局"))
    assert "电话" in _texts(stack.say(sender, "洛龙区"))
    summary = stack.say(sender, "13912345678")
    text = _texts(summary)
    assert description in text and "城市管理局" in text and "13912345678" in text
    assert [b["title"] for b in summary[-1]["buttons"]] == ["确认提交", "取消"]
    filed = _texts(stack.say(sender, "/affirm"))
    match = TICKET_RE.search(filed)
    assert match, filed
    assert "已受理" in filed
    return match.group(1), match.group(2)


def test_greeting(stack: RunningStack) -> None:
    assert "12345" in _texts(stack.say(_sender(), "您好"))


def test_complaint_is_filed_and_stored(stack: RunningStack) -> None:
    sender = _sender()
    number, _code = _file_complaint(stack, sender)
    tickets = _tickets_of(stack, sender)
    assert len(tickets) == 1
    ticket = tickets[0]
    assert ticket.number == number
    assert ticket.status == "received"
    assert ticket.organization == "城市管理局"
    assert ticket.district == "洛龙区"
    assert ticket.phone == "13912345678"
    # The caller's words as typed, Chinese punctuation included.
    assert (
        ticket.description
        == "我们小区南门那段路挖开三个月了，一直没人管！下雨全是泥，老人孩子出门都得绕着走。"
    )
    assert [e.action for e in ticket.events] == ["file"]
    # The caller's phone number never reaches the processes' logs.
    for log in (stack.settings.var_dir / "logs").glob("*.log"):
        assert "13912345678" not in log.read_text(encoding="utf-8", errors="replace"), log.name


def test_status_query_with_number_and_code(stack: RunningStack) -> None:
    number, code = _file_complaint(stack, _sender())
    other = _sender()  # anyone holding number + code may ask, from any chat
    reply = _texts(stack.say(other, f"查询工单 {number} {code}"))
    assert number in reply and "已受理" in reply and "城市管理局" in reply
    assert "承办单位：待派单" in reply and "前派单" in reply  # unclassified: an operator routes it


def test_own_tickets_need_no_code_in_the_same_chat(stack: RunningStack) -> None:
    sender = _sender()
    number, _code = _file_complaint(stack, sender)
    reply = _texts(stack.say(sender, "我上午反映的事现在咋样了"))
    assert number in reply and "已受理" in reply
    assert "提取码" not in reply
    # Another chat asking about the same number still needs the code.
    assert "提取码" in _texts(stack.say(_sender(), f"查一下 {number}"))


def test_a_classified_complaint_is_routed_with_a_deadline(stack: RunningStack) -> None:
    sender = _sender()
    first = (
        "我们公司给宜阳县某中学供的课桌椅，货款48万元拖了一年半，学校说等县财政拨款，"
        "财政说早拨给教育局了，到现在一分没给"
    )
    messages = stack.say(sender, first)
    answers = {"哪个单位": "宜阳县教育局", "区县": "宜阳县", "电话": "13912345678"}
    for _ in range(4):
        asked = [a for q, a in answers.items() if q in _texts(messages)]
        if not asked:
            break
        messages = stack.say(sender, asked[0])
    assert [b["title"] for b in messages[-1]["buttons"]] == ["确认提交", "取消"]
    filed = _texts(stack.say(sender, "/affirm"))
    assert TICKET_RE.search(filed), filed
    assert "已转交" in filed and "工作日内答复" in filed
    tickets = _tickets_of(stack, sender)
    assert len(tickets) == 1 and tickets[0].category == "arrears"
    assert tickets[0].status == "dispatched" and tickets[0].department
    assert [e.action for e in tickets[0].events] == ["file", "dispatch"]
    status = _texts(stack.say(sender, "查一下进度"))
    assert "已派单" in status and str(tickets[0].department) in status


def test_status_query_asks_for_what_is_missing(stack: RunningStack) -> None:
    number, code = _file_complaint(stack, _sender())
    sender = _sender()
    assert "工单号" in _texts(stack.say(sender, "帮我查一下我反映的事办得怎么样了"))
    assert "提取码" in _texts(stack.say(sender, number))
    assert "已受理" in _texts(stack.say(sender, code))


def test_wrong_code_and_unknown_number_get_the_same_refusal(stack: RunningStack) -> None:
    number, code = _file_complaint(stack, _sender())
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    wrong_code = _texts(stack.say(_sender(), f"查询工单 {number} {wrong}"))
    unknown = _texts(stack.say(_sender(), f"查询工单 LY20000101-9999 {code}"))
    assert "没有查到" in wrong_code
    assert wrong_code == unknown
    assert "城市管理局" not in wrong_code


def test_invalid_phone_is_explained_and_asked_again(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "我想反映个问题")
    stack.say(sender, "楼下烧烤店每天开到凌晨两点，油烟和吵闹声让人根本睡不着")
    stack.say(sender, "西工区市场监管局")
    stack.say(sender, "西工区")
    assert "11位" in _texts(stack.say(sender, "1234567"))
    assert "核对" in _texts(stack.say(sender, "15937912345"))


def test_unknown_district_is_explained(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "我要投诉")
    stack.say(sender, "村里的自来水三天两头停，也不提前通知，一家人做饭都成问题")
    stack.say(sender, "自来水公司")
    reply = _texts(stack.say(sender, "郑州"))
    assert "没有找到" in reply and "伊川县" in reply
    assert "电话" in _texts(stack.say(sender, "在伊川"))


def test_district_named_with_the_organization_is_not_asked_again(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "我要反映问题")
    stack.say(sender, "报了三次的违建到现在也没人来查，邻居照样在楼顶加盖")
    assert "电话" in _texts(stack.say(sender, "涧西区城市管理局"))
    summary = _texts(stack.say(sender, "我电话 158 3791 2345"))
    assert "涧西区" in summary and "15837912345" in summary


def test_cancel_files_nothing(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "我要投诉")
    stack.say(sender, "单位拖着不给办营业执照，跑了五六趟了")
    assert "取消" in _texts(stack.say(sender, "算了，不投诉了"))
    assert _tickets_of(stack, sender) == []


def test_deny_at_confirmation_files_nothing(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "我要投诉")
    stack.say(sender, "小区物业乱收停车费，一个月涨了两百块也没个说法")
    stack.say(sender, "物业公司")
    stack.say(sender, "涧西区")
    stack.say(sender, "13812345678")
    assert "取消" in _texts(stack.say(sender, "/deny"))
    assert _tickets_of(stack, sender) == []


def test_cancel_at_the_first_question_files_nothing(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "我要投诉")
    assert "取消" in _texts(stack.say(sender, "取消"))
    assert "12345" in _texts(stack.say(sender, "你好"))  # and the bot is ready for a new start
    assert _tickets_of(stack, sender) == []


def test_cancel_while_asking_about_a_ticket(stack: RunningStack) -> None:
    sender = _sender()
    assert "工单号" in _texts(stack.say(sender, "查一下我的工单进度"))
    assert "取消" in _texts(stack.say(sender, "算了"))


def test_emergency_is_answered_at_once(stack: RunningStack) -> None:
    reply = _texts(stack.say(_sender(), "着火了！三楼冒黑烟了快来人"))
    assert "119" in reply and "110" in reply


def test_emergency_in_the_middle_of_a_complaint(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "我要投诉")
    reply = _texts(stack.say(sender, "有人晕倒了没呼吸了快叫救护车"))
    assert "120" in reply
    assert "描述" in reply  # and the same question again, nothing lost


def test_a_story_in_the_first_message_is_not_asked_again(stack: RunningStack) -> None:
    sender = _sender()
    first = (
        "洛龙区住建局拖欠我们公司工程款三十八万元，2023年就完工验收了，"
        "财务一直说没钱，到现在一分没给，工人工资都发不出来了"
    )
    reply = _texts(stack.say(sender, first))
    assert "描述" not in reply
    # The district came with the story; what is left is asked.
    while "电话" not in reply:
        assert "区县" not in reply
        reply = _texts(stack.say(sender, "洛龙区住建局"))
    summary = _texts(stack.say(sender, "13700379123"))
    assert first in summary and "洛龙区" in summary
    stack.say(sender, "/affirm")
    [ticket] = _tickets_of(stack, sender)
    assert ticket.category == "arrears"
    assert ticket.description == first
