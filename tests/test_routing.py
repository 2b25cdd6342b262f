"""Routing of tickets to departments with deadlines (bot/tickets/routing.py + routing.yml)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.domain.tables import load_table
from bot.tickets.routing import DEFAULT_PATH, Deadlines, Router, load_routing

COMPLAINT = Deadlines(
    dispatch_hours=None, sign_working_days=1, answer_working_days=13, escalate_after_working_days=3
)


@pytest.fixture(scope="module")
def router() -> Router:
    return load_routing()


def all_codes() -> list[str]:
    table = load_table("categories")
    return [entry["code"] for entry in table["categories"]] + [table["unclassified"]["code"]]


def minimal_table() -> dict[str, Any]:
    deadlines = {
        "dispatch": "same_day",
        "sign_working_days": 1,
        "answer_working_days": 13,
        "escalate_after_working_days": 3,
    }
    return {
        "categories": {
            "arrears": {"lead": "甲局", "co_handlers": ["乙局"], "deadlines": deadlines}
        },
        "fallback": {
            "lead": "{government}",
            "deadlines": deadlines,
            "unknown_district": {"lead": "平台"},
        },
    }


def write(tmp_path: Path, table: object) -> Path:
    path = tmp_path / "routing.yml"
    path.write_text(yaml.safe_dump(table, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("code", all_codes())
def test_every_category_has_its_own_rule(router: Router, code: str) -> None:
    route = router.route(code, "洛龙区")
    assert route.rule == f"category:{code}"
    assert route.lead and "{" not in route.lead
    assert all(body and "{" not in body for body in route.co_handlers)
    assert route.deadlines.answer_working_days == 13
    assert route.deadlines.sign_working_days == 1
    assert not route.urgent


def test_arrears_goes_to_the_city_arrears_office_wherever_the_caller_is(router: Router) -> None:
    for district in ("洛龙区", "栾川县", None):
        route = router.route("arrears", district)
        assert route.lead == "洛阳市工业和信息化局（市清欠办）"
        assert route.co_handlers == ("洛阳市财政局",)
        assert route.deadlines == COMPLAINT
        assert route.rule == "category:arrears"


def test_intent_name_is_accepted_as_category(router: Router) -> None:
    assert router.route("complain_arrears", "洛龙区") == router.route("arrears", "洛龙区")


def test_wage_arrears_goes_to_the_district_labour_inspectors(router: Router) -> None:
    route = router.route("wage_arrears", "洛龙区", "饭店老板拖欠三个月工资")
    assert route.lead == "洛龙区人社局劳动保障监察大队"
    assert route.co_handlers == ()
    assert route.rule == "category:wage_arrears"


def test_construction_wage_arrears_brings_in_the_housing_bureau(router: Router) -> None:
    route = router.route("wage_arrears", "涧西区", "工地包工头拖欠我们农民工工资")
    assert route.lead == "涧西区人社局劳动保障监察大队"
    assert route.co_handlers == ("涧西区住建局",)
    assert route.rule == "subtype:wage_arrears/工程建设领域"
    assert route.deadlines == COMPLAINT


def test_water_outage_is_urgent_with_an_hour_limit(router: Router) -> None:
    route = router.route("livelihood", "西工区", "小区从昨天开始停水，到现在也没通知")
    assert route.urgent
    assert route.lead == "洛阳水务集团有限公司"
    assert route.deadlines.dispatch_hours == 2
    assert route.deadlines.answer_working_days == 5
    assert route.rule == "subtype:livelihood/停水"


def test_gas_leak_beats_the_generic_gas_keyword_and_is_dispatched_fastest(router: Router) -> None:
    route = router.route("livelihood", "老城区", "楼道里有很重的燃气味，怀疑漏气")
    assert route.rule == "subtype:livelihood/燃气泄漏"
    assert route.urgent and route.deadlines.dispatch_hours == 1
    assert route.lead == "洛阳市城市管理局"
    assert route.co_handlers == ("老城区人民政府",)


def test_a_gas_outage_is_urgent_but_a_gas_bill_is_not(router: Router) -> None:
    outage = router.route("livelihood", "涧西区", "我们楼从昨天中午就没气了，做不了饭")
    assert outage.rule == "subtype:livelihood/停气" and outage.urgent
    bill = router.route("livelihood", "涧西区", "燃气公司这个月多收了两百块燃气费，问了也不给解释")
    assert bill.rule == "subtype:livelihood/燃气服务"
    assert not bill.urgent and bill.deadlines.answer_working_days == 13
    assert bill.lead == "洛阳市城市管理局"
    # Heating comes after gas in the table: a heating stop must not be read as a gas outage.
    assert router.route("livelihood", "西工区", "暖气停供三天了").rule == "subtype:livelihood/供暖"


def test_keywords_match_traditional_characters(router: Router) -> None:
    assert router.route("livelihood", "洛龙区", "突然停電了").rule == "subtype:livelihood/停电"
    # "没电话回复" is not a power cut.
    assert router.route("livelihood", "洛龙区", "一直没电话回复").rule == "category:livelihood"


def test_noise_complaint_goes_to_the_district_government(router: Router) -> None:
    route = router.route("livelihood", "西工区", "楼下烧烤店半夜噪音扰民")
    assert route.lead == "西工区人民政府"
    assert not route.urgent
    assert route.deadlines == COMPLAINT
    assert route.rule == "category:livelihood"


def test_development_zone_is_handled_by_its_management_committee(router: Router) -> None:
    assert router.route("livelihood", "洛阳高新区", "噪音").lead == "洛阳高新区管委会"


@pytest.mark.parametrize("district", [None, "", "火星区"])
def test_unknown_district_goes_to_the_12345_platform(router: Router, district: str | None) -> None:
    route = router.route("livelihood", district, "噪音扰民")
    assert route.lead == "洛阳市政务服务和大数据管理局"
    assert route.co_handlers == ()
    assert route.deadlines == COMPLAINT
    assert route.rule == "category:livelihood → fallback.unknown_district"


def test_unknown_district_keeps_urgency_and_drops_district_co_handlers(router: Router) -> None:
    route = router.route("livelihood", None, "暖气不热，家里太冷")
    assert route.lead == "洛阳市城市管理局"
    assert route.co_handlers == ()  # "{government}" cannot be named
    assert route.urgent
    assert route.rule == "subtype:livelihood/供暖"


def test_unknown_category_falls_back_to_the_locality(router: Router) -> None:
    route = router.route("no_such_category", "嵩县")
    assert route.lead == "嵩县人民政府"
    assert route.rule == "fallback"
    assert router.route("no_such_category", None).rule == "fallback.unknown_district"


def test_override_row_beats_the_category_rule(router: Router) -> None:
    route = router.route("wage_arrears", "洛阳市（市直）", "工地欠薪")
    assert route.lead == "洛阳市人力资源和社会保障局（劳动保障监察支队）"
    assert route.co_handlers == ()
    assert route.rule == "override:wage_arrears@洛阳市（市直）"
    assert route.deadlines == COMPLAINT  # inherited from the category
    # The alias stored by older tickets resolves to the same district.
    assert router.route("wage_arrears", "市直").rule == route.rule


def test_the_data_decides(tmp_path: Path) -> None:
    table = minimal_table()
    table["overrides"] = [
        {
            "category": "arrears",
            "district": "嵩县",
            "lead": "{district}专班",
            "deadlines": {"dispatch": "4h"},
            "urgent": True,
        }
    ]
    router = load_routing(write(tmp_path, table))

    route = router.route("arrears", "洛龙区")
    assert (route.lead, route.co_handlers, route.rule) == ("甲局", ("乙局",), "category:arrears")

    special = router.route("arrears", "嵩县")
    assert special.lead == "嵩县专班"
    assert special.urgent
    assert special.deadlines == Deadlines(4, 1, 13, 3)

    # Categories this table does not list fall back to the locality.
    assert router.route("livelihood", "伊川县").lead == "伊川县人民政府"
    assert router.route("livelihood", None).lead == "平台"


def test_default_path_is_the_project_table() -> None:
    assert DEFAULT_PATH.is_file()
    assert DEFAULT_PATH.parts[-3:] == ("data", "hotline", "routing.yml")


def _without_deadline(table: dict[str, Any]) -> None:
    table["categories"]["arrears"]["deadlines"].pop("answer_working_days")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda t: t["categories"].update(arrear={"lead": "甲局"}),
            "unknown category code 'arrear'",
        ),
        (lambda t: t["categories"]["arrears"].pop("deadlines"), "missing deadlines"),
        (_without_deadline, "missing deadline(s) answer_working_days"),
        (
            lambda t: t["categories"]["arrears"].update(
                deadlines={**t["categories"]["arrears"]["deadlines"], "dispatch": "soon"}
            ),
            "must be same_day or hours like 2h",
        ),
        (lambda t: t["categories"]["arrears"].update(lead="{city}局"), "unknown placeholder"),
        (lambda t: t["categories"]["arrears"].update(co_handler=["乙局"]), "unknown key(s)"),
        (
            lambda t: t.update(
                overrides=[{"category": "arrears", "district": "火星区", "lead": "x"}]
            ),
            "unknown district '火星区'",
        ),
        (lambda t: t["fallback"]["unknown_district"].update(lead="{district}"), "needs a district"),
        (lambda t: t.pop("fallback"), "fallback: must be a mapping"),
    ],
)
def test_malformed_table_is_rejected(
    tmp_path: Path, mutate: Callable[[dict[str, Any]], object], message: str
) -> None:
    table = minimal_table()
    mutate(table)
    with pytest.raises(ValueError) as info:
        load_routing(write(tmp_path, table))
    assert message in str(info.value)
    assert str(tmp_path) in str(info.value)  # the message says which file to fix


def test_invalid_yaml_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "routing.yml"
    path.write_text("categories: [unclosed\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_routing(path)
