"""The vertical slice through the real Rasa server and action server over HTTP, checking the database."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.store.db import make_session_factory
from bot.store.models import Handoff, Ticket
from bot.tickets.service import TicketService
from tests.conftest import RunningStack

pytestmark = pytest.mark.stack

TICKET_RE = re.compile(r"工单号是 (LY\d{8}-\d{4})，提取码 (\d{6})")


def _sender() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def _phone(sender: str) -> str:
    """A valid mobile number of this conversation's own."""
    return "139" + str(int(uuid.uuid5(uuid.NAMESPACE_URL, sender).hex[:12], 16))[-8:].zfill(8)


def _texts(replies: list[dict]) -> str:
    return "\n".join(str(r.get("text", "")) for r in replies)


def _tickets_of(stack: RunningStack, sender: str) -> list[Ticket]:
    with make_session_factory(stack.engine)() as session:
        query = (
            select(Ticket).where(Ticket.sender_id == sender).options(selectinload(Ticket.events))
        )
        return list(session.scalars(query))


# Question (a phrase of its prompt) → a default answer; tests override what they examine.
QUESTIONS = {
    "哪个单位": "城市管理局",
    "哪个区县": "洛龙区",
    "什么时候发生": "上个月",
    "金额大概是多少": "38万元",
    "个人身份": "个人",
    "怎么称呼": "匿名",
    "企业全称": "洛阳某某建材有限公司",
    "统一社会信用代码（18位": "91410300MA44ABCD1R",
    "联系电话": "",  # a fresh number per conversation (see _walk): duplicates are per phone
    "身份保密吗": "不需要",
}


def _walk(
    stack: RunningStack, sender: str, first: list[dict], **answers: str
) -> tuple[list[dict], list[str]]:
    """Answer the form's questions until the summary; returns it and the questions asked."""
    table = {**QUESTIONS, **{k.replace("_", ""): v for k, v in answers.items()}}
    table["联系电话"] = table["联系电话"] or _phone(sender)
    messages, asked = first, []
    for _ in range(12):
        if messages and messages[-1].get("buttons") and "请核对" in _texts(messages):
            return messages, asked
        text = _texts(messages)
        question = next((q for q in table if q in text), None)
        assert question is not None, f"unexpected reply: {text}"
        asked.append(question)
        messages = stack.say(sender, table[question])
    raise AssertionError(f"no summary after {asked}")


def _file_complaint(stack: RunningStack, sender: str) -> tuple[str, str]:
    """Walk the happy path and return (ticket number, access code) as the bot told them."""
    stack.say(sender, "你好")
    assert "描述" in _texts(stack.say(sender, "我要投诉"))
    description = "我们小区南门那段路挖开三个月了，一直没人管！下雨全是泥，老人孩子出门都得绕着走。"
    summary, asked = _walk(stack, sender, stack.say(sender, description))
    assert asked == [
        "哪个单位", "哪个区县", "什么时候发生", "个人身份", "怎么称呼", "联系电话", "身份保密吗",
    ]  # fmt: skip
    text = _texts(summary)
    assert description in text and "城市管理局" in text and _phone(sender) in text
    assert [b["title"] for b in summary[-1]["buttons"]] == ["确认提交", "修改", "取消"]
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
    # The story told as the answer to the description question is classified, so the ticket
    # is routed at once (an unclassified one would wait for an operator).
    assert ticket.category == "livelihood" and ticket.status == "dispatched"
    assert ticket.organization == "城市管理局"
    assert ticket.district == "洛龙区"
    assert ticket.phone == _phone(sender)
    # The caller's words as typed, Chinese punctuation included.
    assert (
        ticket.description
        == "我们小区南门那段路挖开三个月了，一直没人管！下雨全是泥，老人孩子出门都得绕着走。"
    )
    assert [e.action for e in ticket.events] == ["file", "dispatch"]
    # The caller's phone number never reaches the processes' logs.
    for log in (stack.settings.var_dir / "logs").glob("*.log"):
        assert _phone(sender) not in log.read_text(encoding="utf-8", errors="replace"), log.name


def test_status_query_with_number_and_code(stack: RunningStack) -> None:
    number, code = _file_complaint(stack, _sender())
    other = _sender()  # anyone holding number + code may ask, from any chat
    reply = _texts(stack.say(other, f"查询工单 {number} {code}"))
    assert number in reply and "已派单" in reply and "城市管理局" in reply
    assert "承办单位：洛龙区" in reply and "前签收" in reply


def test_own_tickets_need_no_code_in_the_same_chat(stack: RunningStack) -> None:
    sender = _sender()
    number, _code = _file_complaint(stack, sender)
    reply = _texts(stack.say(sender, "我上午反映的事现在咋样了"))
    assert number in reply and "已派单" in reply
    assert "提取码" not in reply
    # Another chat asking about the same number still needs the code.
    assert "提取码" in _texts(stack.say(_sender(), f"查一下 {number}"))


def test_a_classified_complaint_is_routed_with_a_deadline(stack: RunningStack) -> None:
    sender = _sender()
    first = (
        "我们公司给宜阳县某中学供的课桌椅，货款48万元拖了一年半，学校说等县财政拨款，"
        "财政说早拨给教育局了，到现在一分没给"
    )
    summary, asked = _walk(
        stack,
        sender,
        stack.say(sender, first),
        哪个单位="宜阳县教育局",
        个人身份="企业",
        身份保密吗="需要",
    )
    # The amount came with the first message; an enterprise gives its name and code.
    assert "金额大概是多少" not in asked and "统一社会信用代码（18位" in asked
    assert "480,000元" in _texts(summary)
    filed = _texts(stack.say(sender, "/affirm"))
    assert TICKET_RE.search(filed), filed
    assert "已转交" in filed and "工作日内答复" in filed
    tickets = _tickets_of(stack, sender)
    assert len(tickets) == 1 and tickets[0].category == "arrears"
    assert tickets[0].amount == 480000 and tickets[0].caller_type == "enterprise"
    assert tickets[0].uscc == "91410300MA44ABCD1R"
    assert tickets[0].enterprise_name == "洛阳某某建材有限公司"
    assert tickets[0].caller_name is None  # anonymous
    assert tickets[0].identity_protected
    assert tickets[0].status == "dispatched" and tickets[0].department
    assert [e.action for e in tickets[0].events] == ["file", "dispatch"]
    status = _texts(stack.say(sender, "查一下进度"))
    assert "已派单" in status and str(tickets[0].department) in status


def test_status_query_asks_for_what_is_missing(stack: RunningStack) -> None:
    number, code = _file_complaint(stack, _sender())
    sender = _sender()
    assert "工单号" in _texts(stack.say(sender, "帮我查一下我反映的事办得怎么样了"))
    assert "提取码" in _texts(stack.say(sender, number))
    assert "已派单" in _texts(stack.say(sender, code))


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
    reply = _texts(stack.say(sender, "西工区市场监管局"))
    for answer in ["西工区", "这个月", "个人", "李女士"]:
        reply = _texts(stack.say(sender, answer))
    assert "联系电话" in reply
    assert "11位" in _texts(stack.say(sender, "1234567"))
    assert "身份保密" in _texts(stack.say(sender, "15937912345"))


def test_unknown_district_is_explained(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "我要投诉")
    stack.say(sender, "村里的自来水三天两头停，也不提前通知，一家人做饭都成问题")
    stack.say(sender, "自来水公司")
    reply = _texts(stack.say(sender, "郑州"))
    assert "没有找到" in reply and "伊川县" in reply
    assert "什么时候" in _texts(stack.say(sender, "在伊川"))


def test_district_named_with_the_organization_is_not_asked_again(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "我要反映问题")
    stack.say(sender, "报了三次的违建到现在也没人来查，邻居照样在楼顶加盖")
    summary, asked = _walk(
        stack, sender, stack.say(sender, "涧西区城市管理局"), 联系电话="我电话 158 3791 2345"
    )
    assert "哪个区县" not in asked
    assert "涧西区" in _texts(summary) and "15837912345" in _texts(summary)


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
    _walk(stack, sender, stack.say(sender, "物业公司"))
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


def test_praise_is_thanked_without_claiming_it_was_passed_on(stack: RunningStack) -> None:
    # Nothing records praise yet, so the bot says where it can be registered instead.
    reply = _texts(stack.say(_sender(), "表扬一下西工区税务局的小刘，帮我们把退税的事两天就办好了"))
    assert "感谢" in reply and "12345" in reply and "不会自动转给" in reply


def test_emergency_is_answered_at_once(stack: RunningStack) -> None:
    reply = _texts(stack.say(_sender(), "着火了！三楼冒黑烟了快来人"))
    assert "119" in reply and "110" in reply


def test_emergency_in_the_middle_of_a_complaint(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "我要投诉")
    reply = _texts(stack.say(sender, "有人晕倒了没呼吸了快叫救护车"))
    assert "120" in reply
    assert "描述" in reply  # and the same question again, nothing lost
    # A wording the classifier alone is unsure of is caught by the emergency rules.
    reply = _texts(stack.say(sender, "我爸突然不省人事了"))
    assert "120" in reply and "描述" in reply


def test_a_story_in_the_first_message_is_not_asked_again(stack: RunningStack) -> None:
    sender = _sender()
    first = (
        "洛龙区住建局拖欠我们公司工程款三十八万元，2023年就完工验收了，"
        "财务一直说没钱，到现在一分没给，工人工资都发不出来了"
    )
    messages = stack.say(sender, first)
    assert "描述" not in _texts(messages)
    summary, asked = _walk(stack, sender, messages, 联系电话="13700379123")
    # District, amount and date came with the story; what is left is asked.
    assert not {"哪个区县", "金额大概是多少", "什么时候发生"} & set(asked)
    text = _texts(summary)
    assert first in text and "洛龙区" in text and "380,000元" in text and "2023" in text
    stack.say(sender, "/affirm")
    [ticket] = _tickets_of(stack, sender)
    assert ticket.category == "arrears"
    assert ticket.description == first


def test_a_named_company_in_the_first_message_is_the_respondent(stack: RunningStack) -> None:
    """A unit the model never saw (锦程物业) is read by the named-unit rules and not asked."""
    sender = _sender()
    first = "锦程物业收了物业费啥也不干，楼道里的垃圾堆了一个星期都没人清，业主找了好几次都没用"
    messages = stack.say(sender, first)
    summary, asked = _walk(stack, sender, messages, 联系电话="13700379124")
    assert "哪个单位" not in asked
    assert "锦程物业" in _texts(summary)
    stack.say(sender, "/affirm")
    [ticket] = _tickets_of(stack, sender)
    assert ticket.organization == "锦程物业"


def test_one_field_is_corrected_from_the_summary(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "我要投诉")
    summary, _ = _walk(
        stack, sender, stack.say(sender, "小区门口的下水道堵了半个月，污水漫到路上，臭得不行")
    )
    assert _phone(sender) in _texts(summary)
    assert "联系电话" in _texts(stack.say(sender, "电话写错了"))
    corrected = _texts(stack.say(sender, "13700001111"))
    assert "请核对" in corrected and "13700001111" in corrected
    # 修改 without naming a field offers the fields as buttons.
    which = stack.say(sender, "修改")
    assert "联系电话" in [b["title"] for b in which[-1]["buttons"]]
    assert "怎么称呼" in _texts(stack.say(sender, "修改姓名"))
    assert "王女士" in _texts(stack.say(sender, "王女士"))
    stack.say(sender, "/affirm")
    [ticket] = _tickets_of(stack, sender)
    assert (ticket.phone, ticket.caller_name) == ("13700001111", "王女士")


def test_three_bad_answers_to_an_optional_question_move_on(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "我要投诉")
    stack.say(sender, "菜市场门口天天有人占道摆摊，车都过不去")
    stack.say(sender, "城管")
    reply = _texts(stack.say(sender, "老城区"))
    assert "什么时候" in reply
    assert "没能看懂" in _texts(stack.say(sender, "嗯嗯"))
    assert "没能看懂" in _texts(stack.say(sender, "就那个时候"))
    skipped = _texts(stack.say(sender, "反正很久了"))
    assert "不详" in skipped and "个人身份" in skipped


def test_three_bad_phone_numbers_file_nothing(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "我要投诉")
    _walk_to = stack.say(sender, "小区电梯坏了一个月没人修，老人上下楼太难了")
    reply = _texts(_walk_to)
    for answer in ["某某物业公司", "涧西区", "不清楚", "个人", "匿名"]:
        reply = _texts(stack.say(sender, answer))
    assert "联系电话" in reply
    assert "11位" in _texts(stack.say(sender, "123"))
    assert "11位" in _texts(stack.say(sender, "456"))
    gave_up = _texts(stack.say(sender, "789"))
    assert "12345" in gave_up and "不提交" in gave_up
    assert _tickets_of(stack, sender) == []
    assert "12345" in _texts(stack.say(sender, "你好"))


def test_a_bad_credit_code_is_explained(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "我要投诉")
    stack.say(sender, "县里招标文件要求必须是本地注册企业，我们外地公司连报名资格都没有")
    for answer in [
        "伊川县公共资源交易中心",
        "伊川县",
        "今年5月",
        "企业",
        "张经理",
        "河南某某科技有限公司",
    ]:
        reply = _texts(stack.say(sender, answer))
    assert "统一社会信用代码" in reply
    assert "校验位不对" in _texts(stack.say(sender, "91410300MA44ABCD1X"))
    assert "18位" in _texts(stack.say(sender, "12345"))
    assert "联系电话" in _texts(stack.say(sender, "91410300MA44ABCD1R"))


def test_a_matter_already_in_court_is_not_accepted(stack: RunningStack) -> None:
    sender = _sender()
    stack.say(sender, "我要投诉")
    reply = _texts(
        stack.say(sender, "开发商欠我们的工程款，我们已经起诉了，法院立案三个月了还没开庭")
    )
    assert "人民法院" in reply and "12368" in reply
    assert _tickets_of(stack, sender) == []
    # Saying it has not gone to court is a complaint like any other.
    reply = _texts(stack.say(sender, "我要投诉，工程款拖了两年，我们还没有起诉，想先找政府协调"))
    assert "人民法院" not in reply


def test_a_repeat_complaint_can_join_the_earlier_ticket(stack: RunningStack) -> None:
    sender = _sender()
    number, _ = _file_complaint(stack, sender)
    stack.say(sender, "我要投诉")
    again = "我们小区南门那段路挖开三个多月了，还是没人管！下雨全是泥，出门都得绕着走。"
    summary, _ = _walk(stack, sender, stack.say(sender, again))
    assert number in _texts(summary)
    assert "补充到原工单" in [b["title"] for b in summary[-1]["buttons"]]
    reply = _texts(stack.say(sender, "补充到原工单"))
    assert number in reply and "补充" in reply
    [ticket] = _tickets_of(stack, sender)
    assert ticket.events[-1].action == "attach" and ticket.events[-1].note == again


def _operator(stack: RunningStack) -> TicketService:
    """The department's and the hotline's side, on the same database the bot writes."""
    return TicketService(make_session_factory(stack.engine))


def test_urging_is_logged_and_the_second_urge_after_the_deadline_escalates(
    stack: RunningStack,
) -> None:
    sender = _sender()
    number, _ = _file_complaint(stack, sender)
    reply = _texts(stack.say(sender, "都好几天了还没人管，麻烦催一下"))
    assert number in reply and "催办" in reply
    [ticket] = _tickets_of(stack, sender)
    assert ticket.events[-1].action == "urge" and ticket.supervision == "none"
    # The signing deadline lapses now, after that first urge.
    with make_session_factory(stack.engine).begin() as session:
        row = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        row.dispatch_due_at = row.sign_due_at = dt.datetime.now(dt.UTC)
    assert "已转为督办" not in _texts(stack.say(sender, "怎么还不处理，赶紧催办"))
    reply = _texts(stack.say(sender, "超期了还不办，再催一次"))
    assert "已转为督办" in reply
    [ticket] = _tickets_of(stack, sender)
    assert ticket.supervision == "supervised"
    assert [e.action for e in ticket.events][-2:] == ["urge", "supervise"]


def test_urging_without_a_ticket_asks_for_number_and_code(stack: RunningStack) -> None:
    reply = _texts(stack.say(_sender(), "催一下我的工单，怎么还没结果"))
    assert "工单号和提取码" in reply


def test_a_supplement_is_added_to_the_ticket(stack: RunningStack) -> None:
    sender = _sender()
    number, _ = _file_complaint(stack, sender)
    assert "补充的内容" in _texts(stack.say(sender, "我要补充一下"))
    extra = "路口东边的井盖也被挖掉了，晚上特别危险，已经有电动车摔倒了"
    reply = _texts(stack.say(sender, extra))
    assert number in reply
    [ticket] = _tickets_of(stack, sender)
    assert ticket.events[-1].action == "supplement" and ticket.events[-1].note == extra


def test_rating_a_closed_ticket_and_dissatisfaction_reopens_it(stack: RunningStack) -> None:
    sender = _sender()
    number, _ = _file_complaint(stack, sender)
    # Rating before the ticket is closed is explained, not recorded.
    stack.say(sender, "我要评价")
    assert "办结后才能评价" in _texts(stack.say(sender, "满意"))
    operator = _operator(stack)
    operator.act(
        number, "redispatch", actor="hotline:op-1", department="洛龙区城市管理局", note="改派城管"
    )
    operator.act(number, "sign", actor="dept:洛龙区城市管理局")
    operator.act(number, "answer", actor="dept:洛龙区城市管理局", note="已安排施工队三日内回填。")
    operator.act(number, "close", actor="hotline:op-1")
    status = _texts(stack.say(sender, "查一下进度"))
    assert "已办结" in status and "已安排施工队三日内回填。" in status
    stack.say(sender, "我要评价")
    assert "哪里不满意" in _texts(stack.say(sender, "不满意"))
    reply = _texts(stack.say(sender, "根本没人来施工，路还是挖开的"))
    assert "重新办理" in reply
    [ticket] = _tickets_of(stack, sender)
    assert (ticket.status, ticket.rating) == ("in_progress", "不满意")
    assert [e.action for e in ticket.events][-2:] == ["revisit", "reopen"]


def test_asking_for_a_person_puts_the_chat_in_the_operator_queue(stack: RunningStack) -> None:
    sender = _sender()
    reply = _texts(stack.say(sender, "转人工"))
    assert "人工" in reply and "前面还有" in reply
    with make_session_factory(stack.engine)() as session:
        queued = session.scalars(select(Handoff).where(Handoff.sender_id == sender)).all()
    assert [h.status for h in queued] == ["waiting"]
