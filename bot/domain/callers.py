"""Who is calling, as callers say it in passing: 「我是老王」, 「我叫张伟」, 「我们是洛阳恒达机械有限公司的」.

A hotline caller often names themselves or their company in the story; the form must keep it and
not ask again. Only explicit self-introductions count (我叫/我姓/我是 + a surname, 我们是/我司 + a
company ending), so a story that mentions other people or companies is not read as the caller.
Tables: data/hotline/callers.yml.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

from bot.domain.tables import load_table
from bot.domain.text import normalize

_CJK = r"[\u4e00-\u9fff]"


def _alternatives(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


@functools.cache
def _name_patterns() -> tuple[re.Pattern[str], ...]:
    table = load_table("callers")
    surname = f"(?:{_alternatives(table['surnames'])})"
    honorific = f"(?:{_alternatives(table['honorifics'])})"
    stop = (
        r"(?=$|[\s,.!?;:，。！？；：、]|的|在|住|家|是|这|那|想|要|反映|投诉|电话|手机|我|就|吧|啊)"
    )
    return (
        # 我叫张伟 / 我的名字叫张伟 / 本人张伟 / 叫我老王就行
        re.compile(
            rf"(?:[我俺]叫|我的名字[是叫]|名字[是叫]|本人[叫是]?|叫我)(?P<name>[老小]?{surname}{_CJK}{{0,2}}?{honorific}?){stop}"
        ),
        # 我姓王 / 免贵姓王 → 王 (with 先生/女士 when said)
        re.compile(rf"(?:[我俺]|免贵|本人)姓(?P<name>{surname}{honorific}?)"),
        # 我是老王 / 我是张女士 / 我是小李
        re.compile(rf"[我俺]是(?P<name>[老小]{surname}|{surname}{honorific}){stop}"),
    )


def find_caller_name(text: str) -> str | None:
    """The caller's own name or form of address, when they introduce themselves."""
    cleaned = normalize(text)
    for pattern in _name_patterns():
        match = pattern.search(cleaned)
        if match:
            name = match.group("name")
            # 「我是老王 王建国」: the full name said right after the familiar one wins.
            surname = name.lstrip("老小")[:1]
            full = re.match(
                rf"[\s,，]*({re.escape(surname)}[\u4e00-\u9fff]{{1,2}})(?=$|[\s,，。.!！])",
                cleaned[match.end() :],
            )
            return full.group(1) if name[:1] in "老小" and full else name
    return None


_NAME_PREFIX = re.compile(
    r"^(?:我叫|我是|俺叫|俺是|我姓|俺姓|姓名|名字|叫我|叫|本人|免贵姓)[:：是]?"
)
_NAME_LIKE = re.compile(r"[\u4e00-\u9fff]{2,4}(?:先生|女士)?")


def name_in_answer(text: str) -> str | None:
    """The caller's name in an answer to 「怎么称呼您」 that says more (「俺姓牛 牛大勇 跟老板一个
    姓」): a full name (surname + given name) wins over a bare surname; the first plausible
    piece otherwise (the intake's check decides whether that piece will do)."""
    found = find_caller_name(text)
    pieces = [_NAME_PREFIX.sub("", p) for p in re.split(r"[\s,，。.!！、;；]+", text) if p]
    surnames = [p for p in pieces if find_caller_name("我叫" + p) == p]
    full = [p for p in surnames if _NAME_LIKE.fullmatch(p)]
    if full:
        return full[0]
    if found:
        return found
    return next((p for p in pieces if p), None)


def names_said(turns: Iterable[tuple[str, str]]) -> list[str]:
    """The names a person gave in a conversation, from its (direction, text) turns in order:
    self-introductions anywhere (「我叫张伟」「我是老王」), and the answer right after the bot asked
    what to call them (callers.yml `name_questions`). Only names that start with a known surname
    and have two characters or more count — 「匿名」, a story, or a bare 王 (which would take 王城大道
    with it) are not masked as names. Used to mask transcripts on screens and in retention."""
    questions = load_table("callers")["name_questions"]
    names: list[str] = []
    asked = False
    for direction, text in turns:
        if direction == "in":
            heard = [find_caller_name(text)]
            if asked and len(text) <= 60:
                heard.append(name_in_answer(normalize(text).strip(" ，。,.!！")))
            for name in heard:
                if name and len(name) >= 2 and find_caller_name("我叫" + name) == name:
                    if name not in names:
                        names.append(name)
        asked = direction != "in" and any(q in text for q in questions)
    return names


def mask_names(text: str, names: Iterable[str], replacement: Callable[[str], str]) -> str:
    """Every occurrence of each name replaced (longest first, so 张伟 goes before 张伟先生's
    parts would)."""
    for name in sorted(set(names), key=len, reverse=True):
        if len(name) >= 2:
            text = text.replace(name, replacement(name))
    return text


@functools.cache
def _company_pattern() -> re.Pattern[str]:
    endings = _alternatives(load_table("callers")["own_company_endings"])
    return re.compile(
        rf"(?:我们是|我们单位是|我们公司是|我们公司叫|我司|本公司|我是|我们)"
        rf"(?P<name>{_CJK}[\u4e00-\u9fff()（）A-Za-z0-9]{{1,38}}?(?:{endings}))"
        r"(?=$|的|[\s,.!?;:，。！？；：、]|在|跟|和|与|被|给|反映|投诉|想|要)"
    )


def find_own_company(text: str) -> str | None:
    """The company the caller speaks for, when they say so (「我们是洛阳恒达机械有限公司的」).

    Needs at least four characters and a proper name before the ending: 「我们公司」 or 「我们厂」
    alone say that it is a company, not which one.
    """
    match = _company_pattern().search(normalize(text))
    if not match:
        return None
    name = match.group("name")
    core = re.sub(f"(?:{_alternatives(load_table('callers')['own_company_endings'])})$", "", name)
    if len(name) < 4 or len(core) < 2 or re.search(r"^[两几这那个某]|一家|一个|的|小公司", name):
        return None  # 「我们是汝阳县一家农业公司」「做劳保用品的小公司」: a description, not a name
    return name
