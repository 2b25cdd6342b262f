"""Which department handles a ticket, and by when: read from data/hotline/routing.yml.

Who handles what changes with reorganisations and local agreements, so the assignments and
deadlines are data an operator edits; this module only applies them. The table is validated
when it is loaded, so a typo fails at start-up instead of sending a ticket nowhere.

Precedence: an override for the category in that district > a keyword sub-type of the category
(e.g. 停水 within 民生诉求) > the category's own rule > the fallback (属地兜底).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.config import PROJECT_ROOT
from bot.domain.tables import load_table
from bot.domain.text import normalize

DEFAULT_PATH = PROJECT_ROOT / "data" / "hotline" / "routing.yml"

# The only placeholders a department name may contain; both need a known district.
PLACEHOLDERS = frozenset({"district", "government"})

_DEADLINE_KEYS = (
    "dispatch",
    "sign_working_days",
    "answer_working_days",
    "escalate_after_working_days",
)
_HOURS = re.compile(r"^([1-9][0-9]*)h$")
_TOP_KEYS = frozenset({"presets", "localities", "categories", "overrides", "fallback"})
_CATEGORY_KEYS = frozenset({"lead", "co_handlers", "deadlines", "urgent", "subtypes"})
_SUBTYPE_KEYS = frozenset({"name", "keywords", "lead", "co_handlers", "deadlines", "urgent"})
_OVERRIDE_KEYS = frozenset({"category", "district", "lead", "co_handlers", "deadlines", "urgent"})
_FALLBACK_KEYS = frozenset({"lead", "co_handlers", "deadlines", "unknown_district"})
_UNKNOWN_DISTRICT_KEYS = frozenset({"lead", "co_handlers"})
_LOCALITY_KEYS = frozenset({"district", "government"})


@dataclass(frozen=True)
class Deadlines:
    """Time limits of one routed ticket, as the 12345 closed loop counts them."""

    # Hours from filing to dispatch; None = within the same working day.
    dispatch_hours: int | None
    sign_working_days: int
    answer_working_days: int
    # A further lapse after the first 催办 that turns it into 督办.
    escalate_after_working_days: int


@dataclass(frozen=True)
class Route:
    """Where a ticket goes. `rule` names the table entry that decided it, for the event note."""

    lead: str
    co_handlers: tuple[str, ...]
    deadlines: Deadlines
    urgent: bool
    rule: str


@dataclass(frozen=True)
class _Rule:
    """One table entry with inheritance already applied; names may still hold placeholders."""

    name: str
    lead: str
    co_handlers: tuple[str, ...]
    deadlines: Deadlines
    urgent: bool


@dataclass(frozen=True)
class _Subtype:
    keywords: tuple[str, ...]
    rule: _Rule


@dataclass(frozen=True)
class _Locality:
    """What the placeholders become for one district."""

    district: str
    government: str


class Router:
    """Applies a validated routing table. Build it with `load_routing()`."""

    def __init__(self, table: Any, *, source: str = "routing table") -> None:
        """Validate `table` (the parsed YAML) against categories.yml and districts.yml.

        Raises ValueError naming the offending entry, so whoever edited the file can fix it.
        """
        self._source = source
        categories = load_table("categories")
        self._codes = {str(entry["code"]) for entry in categories["categories"]}
        self._codes.add(str(categories["unclassified"]["code"]))
        self._intents = {
            str(entry["intent"]): str(entry["code"]) for entry in categories["categories"]
        }
        districts = load_table("districts")["districts"]
        self._official = [str(entry["name"]) for entry in districts]
        self._aliases: dict[str, str] = {}
        for entry in districts:
            for surface in [entry["name"], *(entry.get("aliases") or [])]:
                self._aliases.setdefault(normalize(str(surface)).strip(), str(entry["name"]))

        top = self._mapping(table, "the table", required=True)
        self._keys(top, _TOP_KEYS, "the table")
        self._localities = self._parse_localities(top.get("localities"))
        self._categories: dict[str, _Rule] = {}
        self._subtypes: dict[str, tuple[_Subtype, ...]] = {}
        for code, entry in self._mapping(top.get("categories"), "categories", True).items():
            self._parse_category(str(code), entry)
        self._overrides = self._parse_overrides(top.get("overrides"))
        self._fallback, self._unknown_district = self._parse_fallback(top.get("fallback"))

    # -- routing -------------------------------------------------------------------------------

    def route(self, category: str, district: str | None, description: str = "") -> Route:
        """Lead and co-handling departments plus deadlines for one ticket.

        `category` is the stored code ("arrears") or the NLU intent ("complain_arrears");
        `district` the official name stored on the ticket, None or "" when unknown. An unknown
        category routes to the fallback rather than failing: a ticket must always go somewhere.
        """
        code = self._intents.get(category, category)
        name = self._district_name(district)
        locality = self._locality(name) if name else None
        text = normalize(description)

        rule = self._overrides.get((code, name)) if name else None
        if rule is None:
            rule = next(
                (
                    sub.rule
                    for sub in self._subtypes.get(code, ())
                    if any(word in text for word in sub.keywords)
                ),
                None,
            )
        if rule is None:
            rule = self._categories.get(code, self._fallback)
        return self._resolve(rule, locality)

    def _resolve(self, rule: _Rule, locality: _Locality | None) -> Route:
        """Fill the placeholders; a lead that needs an unknown district goes to the platform."""
        if locality is None and _needs_district(rule.lead):
            unknown = self._unknown_district
            note = "fallback.unknown_district"
            return Route(
                lead=unknown.lead,
                co_handlers=unknown.co_handlers,
                deadlines=rule.deadlines,
                urgent=rule.urgent,
                rule=note if rule is self._fallback else f"{rule.name} → {note}",
            )
        lead = _fill(rule.lead, locality)
        co_handlers: list[str] = []
        for template in rule.co_handlers:
            if locality is None and _needs_district(template):
                continue  # no district to name: leave that co-handler out rather than guess
            body = _fill(template, locality)
            if body != lead and body not in co_handlers:
                co_handlers.append(body)
        return Route(
            lead=lead,
            co_handlers=tuple(co_handlers),
            deadlines=rule.deadlines,
            urgent=rule.urgent,
            rule=rule.name,
        )

    def _district_name(self, district: str | None) -> str | None:
        """Official name for a stored name (aliases tolerated); None when not a known district."""
        if not district:
            return None
        return self._aliases.get(normalize(district).strip())

    def _locality(self, name: str) -> _Locality:
        return self._localities.get(name) or _Locality(district=name, government=f"{name}人民政府")

    # -- validation ----------------------------------------------------------------------------

    def _error(self, where: str, problem: str) -> ValueError:
        return ValueError(f"{self._source}: {where}: {problem}")

    def _mapping(self, value: Any, where: str, required: bool = False) -> Mapping[Any, Any]:
        if value is None and not required:
            return {}
        if not isinstance(value, Mapping):
            raise self._error(where, "must be a mapping")
        return value

    def _keys(self, entry: Mapping[Any, Any], allowed: frozenset[str], where: str) -> None:
        unknown = sorted(str(key) for key in entry if key not in allowed)
        if unknown:
            raise self._error(
                where,
                f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})",
            )

    def _official_district(self, value: Any, where: str) -> str:
        if value not in self._official:
            raise self._error(where, f"unknown district {value!r} (use a name from districts.yml)")
        return str(value)

    def _known_code(self, value: Any, where: str) -> str:
        if value not in self._codes:
            raise self._error(
                where,
                f"unknown category code {value!r} (known: {', '.join(sorted(self._codes))})",
            )
        return str(value)

    def _body(self, value: Any, where: str) -> str:
        """A department name: non-empty text whose only placeholders are known ones."""
        if not isinstance(value, str) or not value.strip():
            raise self._error(where, "must be a non-empty department name")
        try:
            fields = {
                field for _, field, _, _ in string.Formatter().parse(value) if field is not None
            }
        except ValueError as exc:
            raise self._error(where, f"malformed placeholder in {value!r}: {exc}") from None
        unknown = fields - PLACEHOLDERS
        if unknown:
            raise self._error(
                where,
                f"unknown placeholder(s) {', '.join('{' + f + '}' for f in sorted(unknown))} "
                f"in {value!r} (allowed: {{district}}, {{government}})",
            )
        return value.strip()

    def _bodies(self, value: Any, where: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self._error(where, "must be a list of department names")
        return tuple(self._body(item, f"{where}[{i}]") for i, item in enumerate(value))

    def _urgent(self, value: Any, where: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._error(where, "must be true or false")
        return value

    def _deadlines(self, value: Any, where: str, base: Deadlines | None = None) -> Deadlines:
        """Parse a deadlines block; without `base` every field is required, with it each field
        not given is inherited (so a sub-type only states what differs)."""
        if value is None:
            if base is None:
                raise self._error(where, f"missing deadlines ({', '.join(_DEADLINE_KEYS)})")
            return base
        block = self._mapping(value, where)
        self._keys(block, frozenset(_DEADLINE_KEYS), where)
        if base is None:
            missing = [key for key in _DEADLINE_KEYS if key not in block]
            if missing:
                raise self._error(where, f"missing deadline(s) {', '.join(missing)}")

        dispatch = base.dispatch_hours if base else None
        if "dispatch" in block:
            raw = block["dispatch"]
            match = _HOURS.match(raw) if isinstance(raw, str) else None
            if raw == "same_day":
                dispatch = None
            elif match:
                dispatch = int(match.group(1))
            else:
                raise self._error(
                    f"{where}.dispatch", f"must be same_day or hours like 2h, got {raw!r}"
                )

        def days(key: str) -> int:
            if key not in block:
                assert base is not None  # completeness was checked above
                return int(getattr(base, key))
            raw = block[key]
            if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
                raise self._error(f"{where}.{key}", f"must be a whole number ≥ 1, got {raw!r}")
            return raw

        return Deadlines(
            dispatch_hours=dispatch,
            sign_working_days=days("sign_working_days"),
            answer_working_days=days("answer_working_days"),
            escalate_after_working_days=days("escalate_after_working_days"),
        )

    def _parse_localities(self, value: Any) -> dict[str, _Locality]:
        localities: dict[str, _Locality] = {}
        for name, entry in self._mapping(value, "localities").items():
            where = f"localities.{name}"
            official = self._official_district(name, where)
            fields = self._mapping(entry, where, required=True)
            self._keys(fields, _LOCALITY_KEYS, where)
            for key in _LOCALITY_KEYS & set(fields):
                text = fields[key]
                if not isinstance(text, str) or not text.strip() or "{" in text or "}" in text:
                    raise self._error(f"{where}.{key}", "must be plain text without placeholders")
            district = str(fields.get("district", official)).strip()
            government = str(fields.get("government", f"{district}人民政府")).strip()
            localities[official] = _Locality(district=district, government=government)
        return localities

    def _parse_category(self, code: str, entry: Any) -> None:
        where = f"categories.{code}"
        self._known_code(code, where)
        fields = self._mapping(entry, where, required=True)
        self._keys(fields, _CATEGORY_KEYS, where)
        base = _Rule(
            name=f"category:{code}",
            lead=self._body(fields.get("lead"), f"{where}.lead"),
            co_handlers=self._bodies(fields.get("co_handlers"), f"{where}.co_handlers"),
            deadlines=self._deadlines(fields.get("deadlines"), f"{where}.deadlines"),
            urgent=self._urgent(fields.get("urgent"), f"{where}.urgent", False),
        )
        self._categories[code] = base

        raw_subtypes = fields.get("subtypes")
        if raw_subtypes is None:
            raw_subtypes = []
        if not isinstance(raw_subtypes, list):
            raise self._error(f"{where}.subtypes", "must be a list")
        subtypes: list[_Subtype] = []
        seen: set[str] = set()
        for i, raw in enumerate(raw_subtypes):
            sub_where = f"{where}.subtypes[{i}]"
            sub = self._mapping(raw, sub_where, required=True)
            self._keys(sub, _SUBTYPE_KEYS, sub_where)
            name = sub.get("name")
            if not isinstance(name, str) or not name.strip():
                raise self._error(f"{sub_where}.name", "must be a non-empty name")
            if name in seen:
                raise self._error(f"{sub_where}.name", f"duplicate sub-type {name!r}")
            seen.add(name)
            keywords = sub.get("keywords")
            if (
                not isinstance(keywords, list)
                or not keywords
                or not all(isinstance(word, str) and word.strip() for word in keywords)
            ):
                raise self._error(f"{sub_where}.keywords", "must be a non-empty list of words")
            rule = _Rule(
                name=f"subtype:{code}/{name}",
                lead=self._body(sub["lead"], f"{sub_where}.lead") if "lead" in sub else base.lead,
                co_handlers=(
                    self._bodies(sub["co_handlers"], f"{sub_where}.co_handlers")
                    if "co_handlers" in sub
                    else base.co_handlers
                ),
                deadlines=self._deadlines(
                    sub.get("deadlines"), f"{sub_where}.deadlines", base.deadlines
                ),
                urgent=self._urgent(sub.get("urgent"), f"{sub_where}.urgent", base.urgent),
            )
            words = tuple(normalize(word.strip()) for word in keywords)
            subtypes.append(_Subtype(keywords=words, rule=rule))
        self._subtypes[code] = tuple(subtypes)

    def _parse_overrides(self, value: Any) -> dict[tuple[str, str], _Rule]:
        if value is None:
            return {}
        if not isinstance(value, list):
            raise self._error("overrides", "must be a list")
        overrides: dict[tuple[str, str], _Rule] = {}
        for i, raw in enumerate(value):
            where = f"overrides[{i}]"
            entry = self._mapping(raw, where, required=True)
            self._keys(entry, _OVERRIDE_KEYS, where)
            code = self._known_code(entry.get("category"), f"{where}.category")
            district = self._official_district(entry.get("district"), f"{where}.district")
            if (code, district) in overrides:
                raise self._error(where, f"duplicate override for {code} in {district}")
            base = self._categories.get(code)
            overrides[(code, district)] = _Rule(
                name=f"override:{code}@{district}",
                lead=self._body(entry.get("lead"), f"{where}.lead"),
                co_handlers=self._bodies(entry.get("co_handlers"), f"{where}.co_handlers"),
                deadlines=self._deadlines(
                    entry.get("deadlines"), f"{where}.deadlines", base.deadlines if base else None
                ),
                urgent=self._urgent(
                    entry.get("urgent"), f"{where}.urgent", base.urgent if base else False
                ),
            )
        return overrides

    def _parse_fallback(self, value: Any) -> tuple[_Rule, _Rule]:
        fields = self._mapping(value, "fallback", required=True)
        self._keys(fields, _FALLBACK_KEYS, "fallback")
        deadlines = self._deadlines(fields.get("deadlines"), "fallback.deadlines")
        fallback = _Rule(
            name="fallback",
            lead=self._body(fields.get("lead"), "fallback.lead"),
            co_handlers=self._bodies(fields.get("co_handlers"), "fallback.co_handlers"),
            deadlines=deadlines,
            urgent=False,
        )
        where = "fallback.unknown_district"
        unknown = self._mapping(fields.get("unknown_district"), where, required=True)
        self._keys(unknown, _UNKNOWN_DISTRICT_KEYS, where)
        platform = _Rule(
            name=where,
            lead=self._body(unknown.get("lead"), f"{where}.lead"),
            co_handlers=self._bodies(unknown.get("co_handlers"), f"{where}.co_handlers"),
            deadlines=deadlines,
            urgent=False,
        )
        # This entry is what answers when the district is unknown: it cannot depend on one.
        for body in (platform.lead, *platform.co_handlers):
            if _needs_district(body):
                raise self._error(where, f"{body!r} needs a district, but none is known here")
        return fallback, platform


def _needs_district(template: str) -> bool:
    return any(field for _, field, _, _ in string.Formatter().parse(template))


def _fill(template: str, locality: _Locality | None) -> str:
    if locality is None:
        return template
    return template.format(district=locality.district, government=locality.government)


def load_routing(path: Path | None = None) -> Router:
    """Read and validate the routing table (data/hotline/routing.yml unless `path` is given)."""
    path = path or DEFAULT_PATH
    with open(path, encoding="utf-8") as handle:
        try:
            table = yaml.safe_load(handle)
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML: {exc}") from None
    return Router(table, source=str(path))
