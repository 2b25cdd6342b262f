"""The 12345 closed loop on both databases: routing at filing, working-day deadlines, every
lifecycle action and its refusals, automatic 催办/督办, duplicates, rating, protected identity."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from bot.store.db import make_session_factory
from bot.tickets.service import IllegalTransition, TicketDraft, TicketService, UnknownTicket

CHINA = dt.timezone(dt.timedelta(hours=8))


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def at(self, local: str) -> None:
        self.now = dt.datetime.fromisoformat(local).replace(tzinfo=CHINA).astimezone(dt.UTC)


@pytest.fixture
def clock() -> Clock:
    c = Clock(dt.datetime.now(dt.UTC))
    c.at("2026-11-25T10:00")  # a Wednesday
    return c


@pytest.fixture
def tickets(engine: Engine, clock: Clock) -> TicketService:
    return TicketService(make_session_factory(engine), clock=clock)


ARREARS = TicketDraft(
    description="我们给洛龙区某中学做的教学楼改造，工程款86万元拖了两年，找了几次都说没钱。",
    organization="洛龙区教育局",
    district="洛龙区",
    phone="13812345678",
    sender_id="chat-1",
    category="arrears",
    amount=Decimal("860000"),
    caller_type="enterprise",
    caller_name="王建国",
    enterprise_name="洛阳某某建筑工程有限公司",
    uscc="91410300MA44XXXX0X",
    identity_protected=True,
)


def _local(moment: dt.datetime | None) -> str:
    assert moment is not None
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def _actions(service: TicketService, number: str) -> list[tuple[str, str, str | None]]:
    return [(e.action, e.actor, e.to_status) for e in service.history(number)]


def test_a_classified_complaint_is_routed_at_once(tickets: TicketService) -> None:
    filed = tickets.file(ARREARS)
    view = tickets.owned_by(filed.number, "chat-1")
    assert view is not None
    assert view.status_code == "dispatched" and view.status == "已派单"
    assert view.department and ("工信" in view.department or "清欠" in view.department)
    # Signing is due within one working day: Thursday's office close.
    assert _local(view.deadline) == "2026-11-26 17:30"
    assert _actions(tickets, filed.number) == [
        ("file", "citizen", "received"),
        ("dispatch", "system", "dispatched"),
    ]


def test_an_unclassified_complaint_waits_for_same_day_dispatch(
    tickets: TicketService, clock: Clock
) -> None:
    clock.at("2026-11-27T18:40")  # Friday evening, after office hours
    draft = TicketDraft("楼下有人天天晚上敲东西", "", "西工区", "13812345678", "chat-2")
    filed = tickets.file(draft)
    view = tickets.owned_by(filed.number, "chat-2")
    assert view is not None and view.status_code == "received"
    assert _local(view.deadline) == "2026-11-30 17:30"  # Monday


def test_the_whole_closed_loop(tickets: TicketService, clock: Clock) -> None:
    number = tickets.file(ARREARS).number
    clock.at("2026-11-25T15:00")
    signed = tickets.act(number, "sign", actor="dept:市工信局")
    # 13 working days after Wednesday 25 November: Monday 14 December.
    assert _local(signed.deadline) == "2026-12-14 17:30"
    tickets.act(number, "start", actor="dept:市工信局")
    answered = tickets.act(
        number, "answer", actor="dept:市工信局", note="已约谈教育局，12月底前支付50万元。"
    )
    assert answered.status == "已答复" and answered.deadline is None and not answered.overdue
    assert answered.reply == "已约谈教育局，12月底前支付50万元。"
    tickets.act(number, "close", actor="hotline:operator-7")
    rated = tickets.rate(number, "满意")
    assert (rated.status_code, rated.rating) == ("revisited", "满意")
    assert [a for a, _, _ in _actions(tickets, number)] == [
        "file", "dispatch", "sign", "start", "answer", "close", "revisit",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("steps", "refused", "note"),
    [
        ([], "close", None),  # 办结 before 答复
        (["sign"], "sign", None),  # signed twice
        ([], "answer", None),  # answering needs the reply text
        (["sign", "answer:已处理", "close"], "urge", None),  # nothing to urge once closed
        (["sign", "answer:已处理", "close"], "return", "不归我们管"),
        ([], "redispatch", None),  # 改派 needs a department and a reason
        ([], "fly_away", None),
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(
    tickets: TicketService, steps: list[str], refused: str, note: str | None
) -> None:
    number = tickets.file(ARREARS).number
    for step in steps:
        action, _, text = step.partition(":")
        tickets.act(number, action, actor="dept:x", note=text or None)
    before = _actions(tickets, number)
    state = tickets.owned_by(number, "chat-1")
    with pytest.raises(IllegalTransition):
        tickets.act(number, refused, actor="dept:x", note=note)
    assert _actions(tickets, number) == before
    after = tickets.owned_by(number, "chat-1")
    assert state is not None and after is not None and after.status_code == state.status_code


def test_unknown_ticket(tickets: TicketService) -> None:
    with pytest.raises(UnknownTicket):
        tickets.act("LY20261125-9999", "sign", actor="dept:x")


def test_return_and_redispatch(tickets: TicketService) -> None:
    number = tickets.file(ARREARS).number
    returned = tickets.act(number, "return", actor="dept:市工信局", note="学校欠款应由教育局办理")
    assert returned.status_code == "returned"
    again = tickets.act(
        number,
        "redispatch",
        actor="hotline:operator-2",
        department="洛龙区教育局",
        note="按退单理由改派",
    )
    assert (again.status_code, again.department) == ("dispatched", "洛龙区教育局")
    history = tickets.history(number)
    assert history[-2].note == "学校欠款应由教育局办理"
    assert [e.action for e in history] == ["file", "dispatch", "return", "redispatch"]


def test_lapsed_deadlines_urge_then_supervise_once(tickets: TicketService, clock: Clock) -> None:
    number = tickets.file(ARREARS).number
    tickets.act(number, "sign", actor="dept:市工信局")  # answer due Mon 14 Dec 17:30
    clock.at("2026-12-14T17:00")
    assert tickets.sweep().urged == []
    clock.at("2026-12-14T18:00")
    view = tickets.owned_by(number, "chat-1")
    assert view is not None and view.overdue
    assert tickets.sweep().urged == [number]
    assert tickets.sweep().urged == []  # a lapse is urged once
    clock.at("2026-12-17T18:00")  # three working days later: escalation due
    assert tickets.sweep().supervised == [number]
    assert tickets.sweep().supervised == []
    view = tickets.owned_by(number, "chat-1")
    assert view is not None and view.supervision == "督办"
    system = [(a, s) for a, actor, s in _actions(tickets, number) if actor == "system"]
    assert system == [("dispatch", "dispatched"), ("urge", "signed"), ("supervise", "signed")]


def test_an_unsigned_ticket_is_urged_after_its_signing_deadline(
    tickets: TicketService, clock: Clock
) -> None:
    number = tickets.file(ARREARS).number
    clock.at("2026-11-27T09:00")
    assert tickets.sweep().urged == [number]


def test_the_callers_second_urge_after_the_deadline_escalates(
    tickets: TicketService, clock: Clock
) -> None:
    number = tickets.file(ARREARS).number
    tickets.act(number, "sign", actor="dept:市工信局")
    _, escalated = tickets.urge(number)
    assert not escalated  # before the deadline: only logged
    clock.at("2026-12-15T09:00")
    _, escalated = tickets.urge(number)
    assert not escalated
    view, escalated = tickets.urge(number)
    assert escalated and view.supervision == "督办"
    assert [a for a, _, _ in _actions(tickets, number)][-4:] == [
        "urge",
        "urge",
        "urge",
        "supervise",
    ]


def test_dissatisfied_rating_reopens(tickets: TicketService, clock: Clock) -> None:
    number = tickets.file(ARREARS).number
    with pytest.raises(IllegalTransition):
        tickets.rate(number, "满意")  # not closed yet
    for action, note in [("sign", None), ("answer", "已协调"), ("close", None)]:
        tickets.act(number, action, actor="dept:x", note=note)
    with pytest.raises(ValueError):
        tickets.rate(number, "还行吧")
    clock.at("2026-12-01T10:00")
    view = tickets.rate(number, "不满意", "钱一分没到")
    assert view.status_code == "in_progress" and view.rating == "不满意"
    # A new answer deadline runs from the reopening: 13 working days after Tue 1 Dec.
    assert _local(view.deadline) == "2026-12-18 17:30"
    assert [a for a, _, _ in _actions(tickets, number)][-2:] == ["revisit", "reopen"]


def test_supplement_keeps_the_old_amount_in_the_log(tickets: TicketService) -> None:
    number = tickets.file(ARREARS).number
    tickets.supplement(number, "金额说错了，是96万", amount=Decimal("960000"))
    detail = tickets.detail(number, role="supervisor")
    assert detail["amount"] == "960,000.00元"
    note = tickets.history(number)[-1].note
    assert note is not None and "860,000.00元 → 960,000.00元" in note


def test_duplicates_same_phone_same_respondent_within_30_days(
    tickets: TicketService, clock: Clock
) -> None:
    first = tickets.file(ARREARS).number
    clock.at("2026-12-10T09:00")
    again = "给洛龙区某中学做的教学楼改造工程款86万元拖了两年了，还是没人管"
    hit = tickets.find_duplicate("13812345678", "洛龙区教育局", again)
    assert hit is not None and hit.number == first
    assert tickets.find_duplicate("13900000000", "洛龙区教育局", again) is None
    assert tickets.find_duplicate("13812345678", "西工区城管局", again) is None
    assert tickets.find_duplicate("13812345678", "洛龙区教育局", "楼下烧烤摊油烟太大") is None
    clock.at("2027-01-05T09:00")  # more than 30 days later
    assert tickets.find_duplicate("13812345678", "洛龙区教育局", again) is None
    tickets.attach(first, again)
    assert tickets.history(first)[-1].action == "attach"


def test_protected_identity_is_hidden_from_the_department(tickets: TicketService) -> None:
    number = tickets.file(ARREARS).number
    department = tickets.detail(number, role="department")
    assert department["caller"] == {
        "name": "（身份保护）", "phone": "（身份保护）", "type": "enterprise", "enterprise": None,
    }  # fmt: skip
    assert "86万元" in str(department["description"])  # the facts stay
    operator = tickets.detail(number, role="operator")
    caller = operator["caller"]
    assert isinstance(caller, dict)
    assert caller["phone"] != "13812345678" and "5678" in str(caller["phone"])
    assert "建国" not in str(caller["name"])
    supervisor = tickets.detail(number, role="supervisor")
    assert supervisor["caller"]["phone"] == "13812345678"  # type: ignore[index]


def test_numbers_typed_into_the_story_are_masked_except_for_supervisors(
    tickets: TicketService,
) -> None:
    story = "物业半年不修电梯，我电话138 1234 5678，身份证410302199001011234，座机(0379)62345678"
    number = tickets.file(replace(ARREARS, description=story)).number
    for role in ("operator", "department"):
        shown = str(tickets.detail(number, role=role)["description"])
        assert "1234 5678" not in shown and "138 **** 5678" in shown
        assert "19900101" not in shown and "62345678" not in shown
        assert "物业半年不修电梯" in shown
    assert tickets.detail(number, role="supervisor")["description"] == story


def test_same_sender_sees_own_tickets_only(tickets: TicketService) -> None:
    a = tickets.file(ARREARS).number
    b = tickets.file(ARREARS).number
    assert [v.number for v in tickets.tickets_of_sender("chat-1")] == [b, a]
    assert tickets.tickets_of_sender("someone-else") == []
    assert tickets.owned_by(a, "someone-else") is None


def test_handoff_queue(tickets: TicketService) -> None:
    assert tickets.request_handoff("chat-1", "要人工") == 1
    assert tickets.request_handoff("chat-2", "转人工") == 2
    assert tickets.request_handoff("chat-1", "还在吗") == 1  # asking again keeps the place
