"""Sums of money as people write them: 38万元, 三十八万, 1.2亿, 五千块, 3万5, 130多万, ￥12,000.

Values are yuan. "多/余/来" (130多万 = "over 1.3 million") give the stated lower bound: a ticket
records what the caller claims, not an estimate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9,
              # 大写 numerals, as written on contracts and invoices
              "壹": 1, "贰": 2, "貳": 2, "叁": 3, "参": 3, "參": 3, "肆": 4, "伍": 5, "陆": 6,
              "陸": 6, "柒": 7, "捌": 8, "玖": 9}  # fmt: skip
_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG_UNITS = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
_NEXT_LOWER = {10**8: 10**7, 10**4: 10**3, 1000: 100, 100: 10}

_NUMBER_CHARS = "0-9.零〇一二两俩三四五六七八九十拾百佰千仟万萬亿億壹贰貳叁参參肆伍陆陸柒捌玖"
_APPROX = "多余来"
_CURRENCY_AFTER = r"(?:块钱|塊錢|块|塊|元|圆|圓|rmb|RMB)"
_MONEY = re.compile(
    rf"(?P<prefix>[¥￥]\s*|人民币\s*)?"
    # A comma only as a thousands separator (12,000), never the end of a clause (50万，一分没给).
    rf"(?P<number>(?:[0-9]{{1,3}}(?:,[0-9]{{3}})+|[0-9零〇一二两俩三四五六七八九十拾壹贰貳叁参參肆伍陆陸柒捌玖])"
    rf"[{_NUMBER_CHARS}{_APPROX}]*)"
    rf"(?P<currency>{_CURRENCY_AFTER})?"
)
# After 万/亿 without 元, these make it a count of something else (3万人, 2万平方米, 5万吨).
_NOT_MONEY_AFTER = re.compile(
    r"\s*(?:人|名|户|平|米|吨|亩|斤|公里|千米|次|个|辆|台|套|间|栋|字|件|册|头|只|棵|株|岁|年|天|小时|分钟|张|份|家|所|层)"
)


# After a small number + 块, a noun means 块 is a measure word, not yuan.
_MEASURE_WORD_FOLLOWS = re.compile(r"[\u4e00-\u9fff]")
_TRAILING_OTHER_NUMBER = re.compile(r"([万萬亿億][多余来]?)([0-9]{2,}.*)$")
# "3万5一直不给", "两万八一次都没给", "12万一拖就是一年": a 一 right after a digit or 万 (not after
# 千/百, so 五千一 = 5100 stays) and before another character starts the next word (一直, 一次,
# 一拖), not the number.
_WORD_STARTING_WITH_ONE = re.compile(r"(?<=[0-9零〇一二两俩三四五六七八九万萬])一$")
_CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")


def _parse_token_stream(text: str) -> Decimal | None:
    """Chinese/Arabic mixed numeral → Decimal (3万5 → 35000, 一亿两千万 → 120000000)."""
    text = text.replace(",", "").replace("，", "")
    for mark in _APPROX:
        text = text.replace(mark, "")
    if not text:
        return None
    total = Decimal(0)
    section = Decimal(0)
    number: Decimal | None = None
    last_unit = 0
    position = 0
    while position < len(text):
        char = text[position]
        if char.isdigit() or char == ".":
            match = re.match(r"[0-9]+(?:\.[0-9]+)?", text[position:])
            if not match:
                return None
            try:
                number = Decimal(match.group(0))
            except InvalidOperation:
                return None
            position += len(match.group(0))
            continue
        if char in _CN_DIGITS:
            digit = Decimal(_CN_DIGITS[char])
            # 二〇二三 style digit strings: append.
            number = digit if number is None or char in "零〇" else number * 10 + digit
            position += 1
            continue
        if char in _SMALL_UNITS:
            unit = _SMALL_UNITS[char]
            section += (number if number is not None else Decimal(1)) * unit
            number, last_unit = None, unit
        elif char in _BIG_UNITS:
            unit = _BIG_UNITS[char]
            section += number if number is not None else Decimal(0)
            if section == 0:
                section = Decimal(1)
            if unit == 10**8:
                total = (total + section) * unit
            else:
                total += section * unit
            section, number, last_unit = Decimal(0), None, unit
        else:
            return None
        position += 1
    if number is not None:
        # "3万5" means 3万5千; "两百五" means 250: a bare trailing digit takes the next lower unit.
        if last_unit in _NEXT_LOWER and number < 10 and number == number.to_integral():
            number *= _NEXT_LOWER[last_unit]
        section += number
    value = total + section
    return value if value > 0 else None


def _as_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral() else float(round(value, 2))


def find_amounts(text: str) -> Iterator[tuple[int, int, int | float]]:
    """(start, end, yuan) for every sum of money in text."""
    for match in _MONEY.finditer(text):
        number = match.group("number").rstrip(".")
        currency = match.group("currency")
        end = match.start("number") + len(number)
        if not currency:
            # "30万2023年": what follows 万 is another number, not "30万2千".
            cut = _TRAILING_OTHER_NUMBER.search(number)
            if cut:
                number = number[: cut.start(2)]
                end = match.start("number") + len(number)
            if _WORD_STARTING_WITH_ONE.search(number) and _CJK_CHAR.match(text, end):
                number = number[:-1]
                end -= 1
        has_big_unit = any(unit in number for unit in _BIG_UNITS)
        is_money = bool(match.group("currency") or match.group("prefix"))
        if not is_money and has_big_unit:
            is_money = not _NOT_MONEY_AFTER.match(text, end)
        if not is_money:
            continue
        value = _parse_token_stream(number)
        if value is None:
            continue
        if (
            currency in ("块", "塊")
            and value < 10
            and _MEASURE_WORD_FOLLOWS.match(text, match.end())
        ):
            continue  # 一块牌子, 两块地: 块 counts things here
        yield match.start(), match.end("currency") if currency else end, _as_number(value)


def parse_amount(text: str) -> int | float | None:
    """The first sum of money in text, in yuan."""
    return next((value for _, _, value in find_amounts(text)), None)


_SPOKEN_NUMBER = (
    r"[0-9零〇一二两俩三四五六七八九十百千万]*[百千万][0-9零〇一二两俩三四五六七八九十百千]*"
)
_BARE_ANSWER = re.compile(
    rf"^(?:大概|大约|差不多|一共|总共)?(?P<n>{_SPOKEN_NUMBER}|[0-9]+)(?:多)?(?:块|元|块钱)?(?:左右|吧|的样子)?$"
)
_PAID = re.compile(
    rf"(?:(?:掏|花|交|收|罚|欠|赔|扣|付|垫|要|退)了?(?:我|俺|我们|俺们|咱)?(?:多)?"
    rf"|(?:工资|工钱|尾款|货款|欠款|押金|定金|费用?|钱)(?:一共|总共|是|有|就)?"
    rf"|(?:涨到|涨成|一学期|每学期|每户|每人|每家|每平)(?:都)?)"
    rf"(?P<n>{_SPOKEN_NUMBER}|[0-9]{{2,}}(?=\s*(?:块|元|$|[^0-9年月日号万亿.])))"
)


def parse_spoken_amount(text: str) -> int | float | None:
    """An answer to "how much" said without 元 (七千二, 九千六, 一千二): yuan."""
    found = parse_amount(text)
    if found is not None:
        return found
    match = _BARE_ANSWER.match(re.sub(r"[\s,，。.!！]", "", text))
    value = _parse_token_stream(match.group("n")) if match else None
    return _as_number(value) if value is not None else None


def find_paid_amount(text: str) -> int | float | None:
    """A sum paid, owed or fined in a story without 元 (一趟多掏了两千三, 罚了俺两千)."""
    match = _PAID.search(text)
    value = _parse_token_stream(match.group("n")) if match else None
    return _as_number(value) if value is not None else None
