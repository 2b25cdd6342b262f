"""Every fact a caller's message holds, for the complaint form: the opening story, the story told
as an answer, and an answer that says more than was asked (「西工区的，电话138 3790 1234」).

Only candidates come out of here; each still passes its check in actions/intake_checks.py before
it fills a slot, and a fact never overwrites one the caller already gave (that is a correction).
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker

from actions.heard import Heard
from actions.intake_rules import is_generic_organization
from bot.domain.callers import find_caller_name, find_own_company
from bot.domain.money import find_paid_amount
from bot.domain.text import normalize

# Slot ← rule entity (bot/domain/entities.py, run in the NLU).
ENTITY_SLOTS = {
    "district": "district",
    "phone": "phone",
    "occurred_on": "date",
    "amount": "amount",
    "uscc": "uscc",
}


def facts_in(heard: Heard) -> dict[str, Any]:
    """Candidate slot values in one message (nothing from an untrusted payload)."""
    if not heard.trusted or heard.payload:
        return {}
    facts: dict[str, Any] = {}
    for slot, entity in ENTITY_SLOTS.items():
        found = [e for e in heard.entities if e.get("entity") == entity]
        if slot == "occurred_on":
            # 「去年就完工了」 is background, not when the matter began: a year alone counts only
            # when the caller wrote it out (2023年就完工验收了).
            found = [e for e in found if len(str(e.get("value"))) > 4 or _typed_digits(heard, e)]
        found = [e for e in found if e.get("value") not in (None, "")]
        if found:
            # 「欠俺四万三千多……条子上写的是四万三千二」: a value the caller sets right is the one.
            restated = [e for e in found if _restated(normalize(heard.text), e)]
            facts[slot] = (restated or found)[-1 if restated else 0].get("value")
    if "amount" not in facts:
        paid = find_paid_amount(normalize(heard.text))  # 一趟多掏了两千三: a sum said without 元
        if paid is not None:
            facts["amount"] = paid
    own = find_own_company(heard.text)
    if own:
        facts["enterprise_name"] = own
        facts["caller_type"] = "企业"
    text = normalize(heard.text)
    names = [
        _with_own_place(text, e)
        for e in heard.entities
        if e.get("entity") == "organization"
        and str(e.get("value") or "").strip()
        and not _is_own(str(e.get("value")), own)
        and not _counted(text, e)
    ]
    if not names:
        # The NLU found no respondent, but the story names the caller's own township's or
        # estate's body (「俺们镇上卫生院」) or a village's (「平乐镇后营村的……村委会答应给补偿」).
        own_body = _OWN_PLACE_BODY.search(text)
        names = [own_body.group(1)] if own_body else [b for b in _PLACE_OF if b in text]
    names = [qualified(n, heard.text) for n in names]
    names = [n for n in names if not is_generic_organization(n)]
    if names:
        # 翠微社区居委会和恒通物业互相踢皮球: both are respondents, the ticket names both.
        facts["organization"] = "、".join(dict.fromkeys(names))
    name = find_caller_name(heard.text)
    if name:
        facts["caller_name"] = name
    return facts


_PLACE_OF = {
    "村委会": r"([^\s,，。、镇乡区县市的在是]{1,4}村)(?!委)",
    "居委会": r"([^\s,，。、镇乡区县市的在是]{1,6}社区)(?!居委)",
    "镇政府": r"([^\s,，。、区县市的在是]{1,4}镇)(?!政府)",
    "乡政府": r"([^\s,，。、区县市的在是]{1,4}乡)(?!政府)",
}


def qualified(name: str, text: str) -> str:
    """「孟津区平乐镇后营村的……村委会答应给补偿」: the village named in the story makes the bare
    村委会 a respondent someone can find (后营村村委会)."""
    cleaned = normalize(name)
    for body, place in _PLACE_OF.items():
        if cleaned.endswith(body) and len(cleaned) <= len(body) + 2:
            found = re.search(place, normalize(text))
            if found:
                place_name = found.group(1)
                return place_name + (body[1:] if body[0] == place_name[-1] else body)
    return name


# 「俺们镇上卫生院」「我们小区物业」: the caller's own township's clinic or estate's manager is one
# body a department can find (with the district); 「一个卫生院」 is not.
_OWN_PLACE = re.compile(
    r"(?:我们|俺们|咱们|咱|我|俺)(?:的)?(镇上|镇里|乡里|村里|村上|小区|社区|街道|单元楼?)的?\s*$"
)


_OWN_PLACE_BODY = re.compile(
    r"(?:我们|俺们|咱们|咱)(?:的)?((?:镇上|镇里|乡里|村里|村上|小区|社区|街道)的?"
    r"(?:卫生院|医院|学校|小学|中学|幼儿园|物业公司|物业|村委会|居委会|派出所|供水站|供电所))"
)


def _with_own_place(text: str, entity: dict[str, Any]) -> str:
    value = str(entity.get("value")).strip()
    start = entity.get("start")
    if not isinstance(start, int) or not is_generic_organization(value):
        return value
    found = _OWN_PLACE.search(text[max(0, start - 8) : start])
    return found.group(1) + value if found else value


_RESTATED = re.compile(
    r"(?:就是|其实是|实际是|应该是|准确地?说是?|写的是|写着|改成|不是.{1,8}是)\s*$"
)


def _restated(text: str, entity: dict[str, Any]) -> bool:
    """The value follows words that set a figure right (就是…, 写的是…, 应该是…)."""
    start = entity.get("start")
    return isinstance(start, int) and _RESTATED.search(text[max(0, start - 12) : start]) is not None


def _counted(text: str, entity: dict[str, Any]) -> bool:
    """「在一个二手车行看中一辆车」: a unit counted, not named."""
    start = entity.get("start")
    return isinstance(start, int) and text[max(0, start - 2) : start] in _COUNTS


_COUNTS = ("一个", "一家", "某个", "一所", "个小")  # indefinite: 那个恒通物业 still names one


def _typed_digits(heard: Heard, entity: dict[str, Any]) -> bool:
    start, end = entity.get("start"), entity.get("end")
    if not isinstance(start, int) or not isinstance(end, int):
        return False
    return any(ch.isdigit() for ch in normalize(heard.text)[start:end])


def _is_own(organization: str, own: str | None) -> bool:
    """The caller's own company is not the respondent (「我们是恒达机械有限公司的」)."""
    if not own:
        return False
    a, b = normalize(organization), normalize(own)
    return a in b or b in a


def story_event(tracker: Tracker, description: str | None) -> dict[str, Any] | None:
    """The user event that told the story, when the description came from an earlier message
    (the category buttons were clicked in between): its parse data still holds the facts."""
    if not description:
        return None
    for event in reversed(tracker.events):
        typed = " ".join(str(event.get("text") or "").split())[:50]
        if event.get("event") == "user" and len(typed) >= 4 and description.startswith(typed):
            return event
    return None


def heard_in(event: dict[str, Any]) -> Heard:
    parse = event.get("parse_data") or {}
    intent = parse.get("intent") or {}
    return Heard(
        text=str(event.get("text") or ""),
        intent=intent.get("name"),
        confidence=float(intent.get("confidence") or 0.0),
        ranking=list(parse.get("intent_ranking") or []),
        entities=[e for e in parse.get("entities") or [] if isinstance(e, dict)],
    )


def two_matters(heard: Heard) -> list[dict[str, Any]]:
    """The two matters the NLU heard in one story (entity `matter`), in the order told."""
    if not heard.trusted or heard.payload:
        return []
    found: list[dict[str, Any]] = [
        {"intent": str(e.get("value")), "start": int(e["start"]), "end": int(e["end"])}
        for e in heard.entities
        if e.get("entity") == "matter" and isinstance(e.get("start"), int)
    ]
    found.sort(key=lambda m: m["start"])
    return found if len(found) == 2 and found[0]["intent"] != found[1]["intent"] else []


def clause_facts(heard: Heard, matter: dict[str, Any]) -> dict[str, Any]:
    """The respondent and the sum named in one matter's own clause of the story."""
    inside = [
        e
        for e in heard.entities
        if isinstance(e.get("start"), int) and matter["start"] <= e["start"] < matter["end"]
    ]
    facts: dict[str, Any] = {}
    names = [str(e.get("value")) for e in inside if e.get("entity") == "organization"]
    if names:
        facts["organization"] = "、".join(dict.fromkeys(names))
    amounts = [e.get("value") for e in inside if e.get("entity") == "amount"]
    if amounts:
        facts["amount"] = amounts[0]
    else:
        paid = find_paid_amount(normalize(heard.text)[matter["start"] : matter["end"]])
        if paid is not None:
            facts["amount"] = paid
    return facts
