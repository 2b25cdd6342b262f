"""Organisation rules and their merge with the CRF's spans."""

from __future__ import annotations

import pytest

from bot.domain import organizations
from bot.domain.organizations import Span, merge, rule_spans


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("市信访局回复说一个月内给结果", ["市信访局"]),
        ("我司与瀍河区政府于2022年签订合同", ["瀍河区政府"]),
        ("洛龙区某小学去年采购的课桌椅", ["洛龙区某小学"]),
        ("代课老师的工资被嵩县某乡镇中心小学拖了一学期", ["嵩县某乡镇中心小学"]),
        ("高新区某电子厂两个月没发钱了", ["高新区某电子厂"]),
        ("新安县教育局和宜阳县某建筑公司", ["新安县教育局", "宜阳县某建筑公司"]),
        # No name at all: vague words are not respondents.
        ("我在镇上开饭店，镇里吃饭打白条", []),
        # A known department alone still names one body each.
        ("住建局说要先去资规局", ["住建局", "资规局"]),
    ],
)
def test_anchored_names_are_found_whole(text: str, expected: list[str]) -> None:
    assert [s.value for s in rule_spans(text)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A unit's own name and a known ending, wherever it sits in the sentence.
        ("锦程物业收了物业费啥也不干", ["锦程物业"]),
        ("我在金盾保安服务公司当保安，加班费一分没有", ["金盾保安服务公司"]),
        ("吉利区生态环境分局接到举报也不来查", ["吉利区生态环境分局"]),
        ("老李家烩面馆后厨卫生太差", ["老李家烩面馆"]),
        ("中建五局二公司在我们小区旁边施工", ["中建五局二公司"]),
        ("找太康路市场监管所，说证据不足", ["太康路市场监管所"]),
        ("栾川县文化广电和旅游局对景区乱收费不管不问", ["栾川县文化广电和旅游局"]),
        # Two bodies joined by 和 stay two; the caller's 和 is not part of a name.
        ("住建局和人社局都说不归他们管", ["住建局", "人社局"]),
        ("我们和市城投公司签的合同还有6年", ["市城投公司"]),
        # A utility the city has one of counts without a name of its own.
        ("热力公司今年暖气根本不热", ["热力公司"]),
        ("中国移动乱扣费", ["中国移动"]),
        # Generic words, counts, times and actions are not names.
        ("物业公司不管，开发商也不管", []),
        ("我们是高新区的一家小型电子厂", []),
        ("去年三月洛宁县政府开座谈会", ["洛宁县政府"]),
        ("我们公司在白马寺镇租地办厂", []),
        ("单位没给我交社会保险", []),
        ("我在孟津区平乐镇开了个小家具厂，表扬一下西工区人社局", ["西工区人社局"]),
        ("单元门口一股燃气味儿，价格比超市贵", []),
        ("这个格局不行，市中心也堵", []),
        # The caller's own company is the victim, not the respondent.
        ("我司洛阳华夏纺织有限公司委托金桥物流公司运货，货丢了", ["金桥物流公司"]),
        # 物业 names nothing alone but is a trade word inside a longer name.
        ("恒瑞家园物业服务有限公司乱收停车费", ["恒瑞家园物业服务有限公司"]),
        ("洛阳宏泰物业有限公司不管事", ["洛阳宏泰物业有限公司"]),
        ("找物业公司洛阳宏泰物业", ["洛阳宏泰物业"]),
        # 某一家公司 counts companies; it does not name one.
        ("招标条件像是给某一家公司定的", []),
        # A 某-unit takes in the township named right before it, whole words only.
        ("寇店镇某某村委会乱收进村费", ["寇店镇某某村委会"]),
        ("我们关林镇某小学的老师", ["关林镇某小学"]),
        # Bad input gets no names and no error.
        ("", []),
        ("😀😀🏢公司", []),
        ("<script>alert(1)</script>有限公司", []),
    ],
)
def test_named_units_are_found_with_their_whole_name(text: str, expected: list[str]) -> None:
    assert [s.value for s in rule_spans(text)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("李楼镇的干部上门让我们签拆迁协议", ["李楼镇"]),
        ("寇店镇答应给我们修路，到现在没动工", ["寇店镇"]),
        ("洛龙区开元街道不作为", ["洛龙区开元街道"]),
        ("孟津区白鹤镇请的宏图路桥公司给村里修路", ["孟津区白鹤镇", "宏图路桥公司"]),
        # A town that is only where something happened is not a respondent.
        ("我在李楼镇开饭店，生意还行", []),
        ("住在王城街道的居民都知道", []),
        ("这个镇不管，乡镇干部也不管", []),
    ],
)
def test_a_town_that_acts_is_a_respondent(text: str, expected: list[str]) -> None:
    assert [s.value for s in rule_spans(text)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("滴滴司机绕路多收我四十块", ["滴滴"]),
        ("在拼多多买的东西是假货", ["拼多多"]),
        ("中通快递把包裹弄丢了", ["中通快递"]),
        # Whole words only: 电信诈骗 is fraud, 建业务楼 is not the developer.
        ("电信诈骗怎么办", []),
        ("我们公司想建业务楼", []),
    ],
)
def test_well_known_brands_are_respondents_by_name_alone(text: str, expected: list[str]) -> None:
    assert [s.value for s in rule_spans(text)] == expected


def test_a_rule_extends_a_name_the_model_cut_short() -> None:
    text = "老城区某快递驿站欠我半个月工资"
    assert [s.value for s in merge(text, [Span(0, 6, "老城区某快递")])] == ["老城区某快递驿站"]


def test_a_repeated_short_mention_and_a_bare_place_are_dropped() -> None:
    text = "洛龙区住建局说要先去资规局，资规局说要先去住建局，洛阳市也不管"
    model = [Span(0, 6, "洛龙区住建局"), Span(21, 24, "住建局"), Span(25, 28, "洛阳市")]
    assert [s.value for s in merge(text, model)] == ["洛龙区住建局"]


def test_model_spans_the_rules_do_not_know_are_kept() -> None:
    text = "洛阳锦程物业没开业主大会就涨物业费"
    assert merge(text, [Span(0, 6, "洛阳锦程物业")]) == [Span(0, 6, "洛阳锦程物业")]


def test_runs_without_an_anchor_are_not_cut_and_change_nothing() -> None:
    # Only the run with an ending (物业) goes through jieba's tagger; the others stay whole and
    # stop names, so the result equals cutting the whole message.
    text = "我们小区停水三天了,锦程物业收了物业费啥也不干,打电话也不接"
    tokens = organizations._tokens(text)
    assert "我们小区停水三天了" in [t.word for t in tokens]
    assert "".join(t.word for t in tokens) == text
    assert [s.value for s in organizations.rule_spans(text)] == ["锦程物业"]
