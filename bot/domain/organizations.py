"""The respondent organisation: rules for the anchored forms, merged with the CRF's guesses.

The CRF (trained on our annotations) finds most names but cuts some short (服务中心 for
涧西区重庆路街道社区卫生服务中心, 嵩县某 for 嵩县某乡镇中心小学) and misses some plain city-level
ones (市信访局). Two written forms are safe to match by rule: a place prefix plus a government
body (市信访局, 瀍河区政府) and an anonymised unit (洛龙区某小学, 市某国有建筑公司).

A blind held-out set showed the CRF finds almost no names it has not seen the like of (锦程物业,
吉利区生态环境分局, 顺达劳务公司: 0.21 exact match), so a third rule reads named units: a known
ending (物业, 公司, 分局, 派出所 …) and, leftwards, whole jieba words up to a pronoun, preposition,
particle or contact verb (找, 投诉). A name must say which one (锦程物业, not 物业公司). The tables
are in data/hotline/organizations.yml.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from bot.domain.tables import PROJECT_ROOT, load_table

_CJK = r"[\u4e00-\u9fff]"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    value: str


def _alternatives(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


@functools.cache
def _place_names() -> list[str]:
    table = load_table("districts")["districts"]
    names = [str(d["name"]) for d in table] + [str(a) for d in table for a in d["aliases"]]
    # Only written place names anchor a body; "市直/市级" are not how a name starts.
    return [n for n in names if "（" not in n and n not in ("市直", "市级", "市本级")]


@functools.cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    table = load_table("organizations")
    places = _alternatives([*_place_names(), "洛阳市", "洛阳"])
    bodies = _alternatives([str(b) for b in table["bodies"]])
    units = _alternatives([str(u) for u in table["units"]])
    longest = int(table["max_unit_name_chars"])
    body = re.compile(rf"(?:{places}|市)(?:{bodies})")
    unit = re.compile(rf"(?:(?:{places}|市){_CJK}{{0,4}}?)?某{_CJK}{{0,{longest}}}?(?:{units})")
    return body, unit


def rule_spans(text: str) -> list[Span]:
    """Anchored and named organisation names in `text` (normalised: simplified, half-width)."""
    body, unit = _patterns()
    found = [Span(m.start(), m.end(), m.group()) for p in (body, unit) for m in p.finditer(text)]
    found = [s for s in found if not _COUNTED.search(s.value)]  # 给某一家公司量身定做: a count
    tokens = _tokens(text)  # one part-of-speech pass (~5 ms) for both word-based rules
    found = [_with_its_town(span, text, tokens) for span in found]
    return _longest_first(found + named_spans(text, tokens) + acting_towns(text, tokens))


_TOWN_ENDINGS = ("镇", "乡", "街道办事处", "街道办", "街道")  # longest of each family first
_TOWN_ENDING = re.compile(rf"(?:{'|'.join(_TOWN_ENDINGS)})$")
# A town's name never holds these: 这个镇, 我们乡, 各街道, 村里.
_NOT_A_TOWN_NAME = re.compile(r"[这那个该本我你他们各每哪里村]")


def _with_its_town(span: Span, text: str, tokens: list[_Token]) -> Span:
    """白马寺镇某村委会, not 某村委会: a 某-unit takes in the township named right before it.

    The town's name is the whole words before its ending, two to four characters, and must
    start a phrase (我们关林镇某小学 → 关林镇某小学)."""
    if not span.value.startswith("某"):
        return span
    ends = [i for i, t in enumerate(tokens) if t.end == span.start]
    if not ends or not _TOWN_ENDING.search(text[: span.start]):
        return span
    first = ends[0]
    while first > 0 and _may_extend(tokens, first - 1, span.end):
        first -= 1
    town = text[tokens[first].start : span.start]
    name = _TOWN_ENDING.sub("", town)
    if not 2 <= len(name) <= 4 or _NOT_A_TOWN_NAME.search(name):
        return span
    return Span(tokens[first].start, span.end, text[tokens[first].start : span.end])


@functools.cache
def _town_pattern() -> re.Pattern[str]:
    table = load_table("organizations")
    places = _alternatives([*_place_names(), "洛阳市"])
    acts = _alternatives([str(a) for a in table["town_acts"]])
    return re.compile(
        rf"(?:{places})?(?P<town>[\u4e00-\u9fff]{{2,4}}?)(?:{'|'.join(_TOWN_ENDINGS)})(?=的?(?:{acts}))"
    )


def acting_towns(text: str, tokens: list[_Token] | None = None) -> list[Span]:
    """A township or street that acts (李楼镇的干部…, 寇店镇答应…) is a respondent.

    Named bare, a town is usually where something happened (我在李楼镇开饭店), so only a town
    followed by its officials or by what it did counts, and only from the start of a word."""
    tokens = _tokens(text) if tokens is None else tokens
    starts = {t.start: i for i, t in enumerate(tokens)}
    pattern = _town_pattern()
    found: list[Span] = []
    for start, index in starts.items():
        match = pattern.match(text, start)
        if match is None or _NOT_A_TOWN_NAME.search(match.group("town")):
            continue
        if not _may_extend(tokens, index, match.end()):
            continue  # 找李楼镇…: a verb or pronoun does not start a name
        if index and _may_extend(tokens, index - 1, match.end()):
            continue  # inside a longer phrase: not where a name starts
        found.append(Span(match.start(), match.end(), match.group()))
    return _longest_first(found)


# Word classes (jieba's tags) that never belong to a unit's name: pronouns, prepositions,
# conjunctions, adverbs, particles, interjections, time words, punctuation.
_STOP_TAGS = ("r", "p", "c", "d", "e", "y", "o", "t", "x", "w", "u")
# Verbs, place and direction words: a name runs through them only when they are trade words.
_VERB_TAGS = frozenset({"v", "vd", "vg", "vi", "vq", "s", "f"})
_LONGEST_NAME = 16
_GLUED_ENDINGS = ("个", "比", "给", "在", "向", "找", "是", "把", "被", "让")
_WHEN = re.compile(r"^[一二三四五六七八九十两上下本这那去今前]+[年月日号周]$|时候$|期间$")
_COUNTED = re.compile(r"(?:^|[^第])[一二两三四五六七八九十几多][家个所座间股种些]")


@dataclass(frozen=True)
class _Token:
    word: str
    tag: str
    start: int
    end: int


@functools.cache
def _segmenter() -> object:
    """jieba's part-of-speech tokenizer with our user dictionary (住建局 stays one word)."""
    import jieba
    import jieba.posseg

    jieba.setLogLevel(60)
    tokenizer = jieba.Tokenizer()
    for path in sorted((PROJECT_ROOT / "data" / "jieba").glob("*.txt")):
        with open(path, "rb") as handle:  # jieba leaves a path's file open
            tokenizer.load_userdict(handle)
    for place in _named_tables().places:
        if len(place) > 1:
            tokenizer.add_word(place, 1000, "ns")
    for brand in _named_tables().brands:
        tokenizer.add_word(brand, 1000, "nz")
    return jieba.posseg.POSTokenizer(tokenizer)


# jieba cuts each run of these characters on its own (its re_han_internal), so a run can be cut
# alone with the same result as inside the whole message.
_RUN = re.compile(r"([\u4E00-\u9FD5a-zA-Z0-9+#&._]+)")


@functools.cache
def _anchors() -> re.Pattern[str]:
    """What any word-based rule starts from: a unit's ending, a brand, a town."""
    tables = _named_tables()
    return re.compile(_alternatives([*tables.suffixes, *tables.brands, *_TOWN_ENDINGS]))


def _tokens(text: str) -> list[_Token]:
    """jieba's words with their tags, only where a rule can use them.

    The part-of-speech pass with its HMM costs about 7 ms per 100 characters, most of a parse.
    A run between punctuation marks with no ending, brand or town in it cannot hold a name or
    start one, so it stays one untagged token (tag "x" stops every name) and is not cut.
    """
    tokens, at = [], 0
    for run in _RUN.split(text):
        if not run:
            continue
        if _RUN.fullmatch(run) and not _anchors().search(run):
            tokens.append(_Token(run, "x", at, at + len(run)))
            at += len(run)
            continue
        for pair in _segmenter().cut(run):  # type: ignore[attr-defined]
            tokens.append(_Token(pair.word, pair.flag, at, at + len(pair.word)))
            at += len(pair.word)
    return tokens


@dataclass(frozen=True)
class _NamedTables:
    """data/hotline/organizations.yml's word lists for named units, read once."""

    suffixes: tuple[str, ...]  # longest first
    generic: tuple[str, ...]  # longest first
    utilities: re.Pattern[str]
    stops: frozenset[str]
    not_names: frozenset[str]
    not_heads: frozenset[str]
    brands: frozenset[str]
    bodies: frozenset[str]
    places: tuple[str, ...]  # longest first


def _by_length(words: list[object]) -> tuple[str, ...]:
    return tuple(sorted({str(w) for w in words}, key=len, reverse=True))


@functools.cache
def _named_tables() -> _NamedTables:
    table = load_table("organizations")
    places = [*_place_names(), *table["extra_places"], "洛阳市", "洛阳", "市", "县", "区"]
    return _NamedTables(
        suffixes=_by_length(table["suffixes"]),
        generic=_by_length(table["generic_words"]),
        utilities=re.compile(_alternatives([str(u) for u in table["utilities"]])),
        stops=frozenset(str(w) for w in table["stop_words"]),
        not_names=frozenset(str(w) for w in table["not_names"]),
        not_heads=frozenset(str(w) for w in table["not_heads"]),
        brands=frozenset(str(w) for w in table["brands"]),
        bodies=frozenset(str(b) for b in table["bodies"]) - {"政府", "人民政府", "管委会"},
        places=_by_length(places),
    )


def named_spans(text: str, tokens: list[_Token] | None = None) -> list[Span]:
    """Units named by their own name and a known ending (锦程物业, 吉利区生态环境分局)."""
    tables = _named_tables()
    tokens = _tokens(text) if tokens is None else tokens
    found = [Span(m.start(), m.end(), m.group()) for m in tables.utilities.finditer(text)]
    found += [Span(t.start, t.end, t.word) for t in tokens if t.word in tables.brands]
    for last, token in enumerate(tokens):
        # One C-level test for "ends with any ending" first: most words end none, and finding
        # which (longest first) is a scan of the whole list.
        if not text.endswith(tables.suffixes, 0, token.end) or token.word in tables.not_heads:
            continue
        suffix = next(s for s in tables.suffixes if text.endswith(s, 0, token.end))
        cut = token.end - len(suffix)  # the ending may span words (烩面/馆) or end one (民政局)
        first = next(i for i in range(last, -1, -1) if tokens[i].start <= cut)
        while first > 0 and _may_extend(tokens, first - 1, token.end):
            first -= 1
        # The widest name first, then fewer words from the left while what is left still
        # names a unit: 洛阳宏泰物业, not 物业公司洛阳宏泰物业.
        for start in range(first, last + 1):
            begin = tokens[start].start
            # jieba glues a verb to a name now and then (委托金/桥/物流公司): cut it off.
            word = tokens[start].word
            lead = max((w for w in tables.stops if word.startswith(w)), key=len, default="")
            if lead and lead != tokens[start].word:
                begin += len(lead)
            value = text[begin : token.end]
            if value in tables.not_names or begin > cut or word == "和":
                continue
            if _COUNTED.search(value):  # 一家小型电子厂, 五家投标公司: a count, not a name
                break
            if _names_a_unit(value, suffix, token.word, tables):
                if not _is_the_callers_own(text[:begin]):
                    found.append(Span(begin, token.end, value))
                break
    found += _called(text, tables)
    return found


def _called(text: str, tables: _NamedTables) -> list[Span]:
    """「物业公司叫安居乐物业」: a name introduced by 叫/名叫 is whole up to its ending, whatever
    jieba makes of its characters (安居/乐)."""
    pattern = re.compile(
        rf"(?:名字叫|名叫|叫做|叫)(?P<name>[\u4e00-\u9fffA-Za-z0-9]{{2,{_LONGEST_NAME}}}?"
        rf"(?:{_alternatives(list(tables.suffixes))}))"
    )
    spans = []
    for match in pattern.finditer(text):
        value = match.group("name")
        suffix = next(s for s in tables.suffixes if value.endswith(s))
        if re.search(r"[我你他她它们去找给说让在的了是把啥咋]", value):
            continue  # 「他叫我去找物业」: a request, not a name
        if _names_a_unit(value, suffix, suffix, tables) and value not in tables.not_names:
            spans.append(Span(match.start("name"), match.end("name"), value))
    return spans


def _may_extend(tokens: list[_Token], at: int, end: int) -> bool:
    """Whether the name ending at `end` may take in tokens[at] on its left."""
    tables = _named_tables()
    token = tokens[at]
    if token.word == "和":
        # 文化广电和旅游局 is one body; 住建局和人社局 are two; 我们和市城投公司 is one.
        return (
            at > 0
            and not any(tokens[at - 1].word.endswith(s) for s in tables.suffixes)
            and _may_extend(tokens, at - 1, end)
        )
    if token.word in tables.stops:
        return False
    # 物业 alone names nothing, but inside a name (盛世家园物业服务有限公司) it is a trade word.
    if token.word in tables.not_names and token.word not in tables.generic:
        return False
    if token.tag.startswith(_STOP_TAGS):
        return False
    if token.word.endswith(_GLUED_ENDINGS):  # jieba's 开了个, 价格比: a word glued to a particle
        return False
    # Verbs and place words end a name (归, 旁边), unless they are trade words (劳务, 派遣).
    if token.tag in _VERB_TAGS and token.word not in tables.generic:
        return False
    if not re.fullmatch(r"[\u4e00-\u9fffA-Za-z]+", token.word):  # digits: dates, amounts
        return False
    if _WHEN.search(token.word):  # 三月, 那时候: a time, not part of a name
        return False
    return end - token.start <= _LONGEST_NAME


@functools.cache
def _self_references() -> re.Pattern[str]:
    words = [str(w) for w in load_table("organizations")["self_references"]]
    return re.compile(f"(?:{_alternatives(words)})[，,：:\\s]*$")


def _is_the_callers_own(before: str) -> bool:
    """我司洛阳华夏纺织有限公司 …: the caller's own company is not the respondent."""
    return _self_references().search(before[-12:]) is not None


def _names_a_unit(value: str, suffix: str, head: str, tables: _NamedTables) -> bool:
    """锦程物业 names one; 物业公司 or 新物业 does not (fewer than two telling characters).

    A known department alone (住建局, 县民政局) and a city utility (热力公司) always do."""
    if tables.utilities.fullmatch(value):
        return True
    if head in tables.bodies and _strip_places(value[: -len(head)], tables.places) == "":
        return True
    core = _strip_places(value[: -len(suffix)], tables.places)
    for word in tables.generic:
        core = core.replace(word, "")
    return len(core) >= 2


def _strip_places(text: str, places: tuple[str, ...]) -> str:
    """`text` without the place names it starts with (洛阳市洛龙区 → "")."""
    changed = True
    while changed and text:
        changed = False
        for place in places:
            if text.startswith(place):
                text, changed = text[len(place) :], True
                break
    return text


def merge(text: str, model_spans: list[Span]) -> list[Span]:
    """The CRF's spans and the rules' spans as one list of distinct respondents.

    Where two spans overlap the longer wins (a rule extends a span the CRF cut short); a later
    mention contained in an earlier name (住建局 after 洛龙区住建局) is the same body; a bare place
    name (洛阳市) is a district, not a respondent.
    """
    places = set(_place_names()) | {"洛阳市", "洛阳", "市"}
    candidates = [s for s in model_spans if s.value not in places] + rule_spans(text)
    kept = _longest_first(candidates)
    distinct: list[Span] = []
    for span in sorted(kept, key=lambda s: s.start):
        if any(span.value in other.value for other in kept if other is not span):
            continue
        distinct.append(span)
    return distinct


def _longest_first(spans: list[Span]) -> list[Span]:
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), s.start)):
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)
