"""Text normalisation that keeps character offsets stable.

Entity spans in the training data and the ones our extractors report refer to character offsets,
so every mapping here is one character to one character.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

_FULLWIDTH_START = 0xFF01
_FULLWIDTH_END = 0xFF5E
_FULLWIDTH_OFFSET = 0xFEE0
_IDEOGRAPHIC_SPACE = "\u3000"

# Characters people type into a chat box that are neither visible nor meaningful.
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\ufeff", "\u2060"}


def to_halfwidth(text: str) -> str:
    """Full-width digits, letters and ASCII punctuation → half-width (１３８ → 138, ＬＹ → LY)."""
    out = []
    for ch in text:
        code = ord(ch)
        if _FULLWIDTH_START <= code <= _FULLWIDTH_END:
            out.append(chr(code - _FULLWIDTH_OFFSET))
        elif ch == _IDEOGRAPHIC_SPACE or ch in _INVISIBLE or ch in "\t\r\n\v\f":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


@functools.lru_cache(maxsize=1)
def _traditional_to_simplified() -> dict[int, str]:
    """OpenCC's character table (TSCharacters), one character to one character.

    Phrase-level conversion would read better in places but can change the length of the text,
    and NLU entity offsets must stay valid; for classification the character table is enough.
    """
    table: dict[int, str] = {}
    source = resources.files("opencc") / "dictionary" / "TSCharacters.txt"
    for line in source.read_text(encoding="utf-8").splitlines():
        traditional, _, simplified = line.partition("\t")
        candidates = simplified.split()
        if len(traditional) == 1 and candidates and len(candidates[0]) == 1:
            table[ord(traditional)] = candidates[0]
    return table


def to_simplified(text: str) -> str:
    """洛龍區 → 洛龙区, 投訴 → 投诉 (character by character)."""
    return text.translate(_traditional_to_simplified())


@functools.lru_cache(maxsize=1)
def _typos() -> tuple[re.Pattern[str], dict[str, str]] | None:
    """data/hotline/typos.yml: homophone typos (落龙区, 物叶, 头诉), each as long as its fix."""
    from bot.domain.tables import load_table

    table = {str(k): str(v) for k, v in (load_table("typos") or {}).items()}
    table = {wrong: right for wrong, right in table.items() if len(wrong) == len(right)}
    if not table:
        return None
    pattern = re.compile("|".join(re.escape(w) for w in sorted(table, key=len, reverse=True)))
    return pattern, table


def fix_typos(text: str) -> str:
    typos = _typos()
    if typos is None:
        return text
    pattern, table = typos
    return pattern.sub(lambda m: table[m.group(0)], text)


def normalize(text: str) -> str:
    """The normal form every component and validator works on (same length as the input)."""
    return fix_typos(to_simplified(to_halfwidth(text)))


# Labels that say what a run of digits is when it is not a phone number or an access code:
# 邮编471000, 工号 100234, 合同编号0120230456, 发票号码：0379…
_OTHER_NUMBER_LABEL = re.compile(
    r"(?:邮编|邮政编码|工号|房号|账号|卡号|单号|编号|学号|车牌号?|QQ号?|qq号?|微信号?"
    r"|合同|协议|项目|订单|发票|批次|档案|案件|文件|文号|批号|序号)"
    r"(?:号|编号|号码)?\s*[:：是为]?\s*$"
)


def labelled_as_other_number(text: str, start: int) -> bool:
    """Whether the words just before `start` name the digits there as some other number."""
    return _OTHER_NUMBER_LABEL.search(text[max(0, start - 8) : start]) is not None
