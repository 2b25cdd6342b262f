"""Corrections of an earlier answer, as callers make them: 「不对，是伊川县不是宜阳县」,
「电话错了，是139…」, 「金额是四十万不是三十万」, 「姓名改成张伟」.

This module only cuts the message into the part that carries the new value and the part that
names the old one; which form field is meant (by its name, or by what the new value is) and
whether the value is valid is decided by the form, with the same checks as any answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.text import normalize

_SEP = r"[\s,，、。;；!！]*"
_PATTERNS = (
    # 是伊川县不是宜阳县 / 是四十万，不是三十万
    re.compile(
        rf"(?P<field>.*?)(?<!不)是(?P<new>[^,，。;；!！]+?){_SEP}(?:而)?不是(?P<old>[^,，。;；!！]+)"
    ),
    # 不是宜阳县，是伊川县 / 不是三十万是四十万
    re.compile(rf"不是(?P<old>[^,，。;；!！]+?){_SEP}(?:而|应该|应当)?是(?P<new>.+)"),
    # 姓名改成张伟 / 电话改为139… / 区县换成涧西区 / 更正为…
    re.compile(r"(?P<field>.*?)(?:改成|改为|换成|更正为|更改为|修改为|改一下[,，]?是)(?P<new>.+)"),
    # 电话错了，是139… / 刚才单位说错了 应该是市住建局 / 写错了，正确的是…
    re.compile(
        rf"(?P<field>.*?)(?:写|说|填|记|打|搞|弄|输)?错了{_SEP}(?:应该|应当|正确的|实际)?(?:是|为)?(?P<new>.+)"
    ),
    # 不对，是伊川县 / 不对不对 应该是四十万
    re.compile(
        r"(?P<field>.*?)不对(?:不对)?(?:[\s,，、。!！]+|(?=是|应该))(?:应该|应当|实际)?(?:是|为)?(?P<new>.+)"
    ),
)


@dataclass(frozen=True)
class Correction:
    """`field_text`: words before the marker that may name the field (电话, 金额);
    `new_text`: where the new value is; `old_text`: the value said to be wrong, if named."""

    field_text: str
    new_text: str
    old_text: str


def find_correction(text: str) -> Correction | None:
    """The correction in a message, or None when it does not correct anything."""
    cleaned = normalize(text).strip()
    for pattern in _PATTERNS:
        match = pattern.search(cleaned)
        if not match:
            continue
        groups = match.groupdict()
        new = (groups.get("new") or "").strip(" ，,。.!！?？~～的")
        if not new:
            continue
        return Correction(
            field_text=(groups.get("field") or cleaned[: match.start()]).strip(),
            new_text=new,
            old_text=(groups.get("old") or "").strip(" ，,。"),
        )
    return None
