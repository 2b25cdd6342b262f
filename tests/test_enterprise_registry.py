"""The enterprise registry on SQLite and PostgreSQL: tokens, rotation, chat link codes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select

from bot.domain.workdays import load_calendar
from bot.tickets.db import make_session_factory
from bot.tickets.enterprise_reads import detail_of, report_detail
from bot.tickets.enterprises import (
    DuplicateEnterprise,
    EnterpriseRegistry,
    IdempotencyConflict,
    InvalidField,
)
from bot.tickets.models import Enterprise, EnterpriseChatLink, EnterpriseReport, Ticket
from bot.tickets.secret_keys import load_or_create_key
from bot.tickets.service import TicketDraft, TicketService
from tests.enterprise_support import make_uscc


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry(engine: Engine, clock: Clock) -> EnterpriseRegistry:
    return EnterpriseRegistry(make_session_factory(engine), b"k" * 32, clock)


def _register(registry: EnterpriseRegistry, serial: int = 1):  # type: ignore[no-untyped-def]
    return registry.register(
        name="洛阳恒达机械有限公司",
        uscc=make_uscc(serial),
        contact_name="王建国",
        phone="138 3790 1234",
    )


def test_register_validates_and_stores_only_the_hash(
    registry: EnterpriseRegistry, engine: Engine
) -> None:
    profile, token = _register(registry)
    assert profile.phone == "13837901234"
    with engine.connect() as conn:
        stored = conn.execute(select(Enterprise.token_hash)).scalar_one()
    assert stored == registry.token_hash(token) and token not in stored
    assert registry.profile_for_token(token) == profile
    with pytest.raises(DuplicateEnterprise):
        _register(registry)
    bad = make_uscc(2)[:-1] + ("0" if make_uscc(2)[-1] != "0" else "1")
    for field, values in {
        "uscc": {"uscc": bad},
        "phone": {"phone": "12345"},
        "name": {"name": "<b>"},
        "contact_name": {"contact_name": 5},
    }.items():
        kwargs = {
            "name": "洛阳某某有限公司",
            "uscc": make_uscc(3),
            "contact_name": "李四",
            "phone": "13800001111",
            **values,
        }
        with pytest.raises(InvalidField) as caught:
            registry.register(**kwargs)
        assert caught.value.field == field


def test_rotation_stops_the_old_token_at_once(registry: EnterpriseRegistry) -> None:
    profile, token = _register(registry)
    new = registry.rotate(profile.id)
    assert registry.profile_for_token(token) is None
    assert registry.profile_for_token(new) is not None
    assert registry.profile_for_token("ent_" + "x" * 43) is None
    assert registry.profile_for_token("not-a-token") is None


def test_chat_link_is_single_use_and_expires(
    registry: EnterpriseRegistry, clock: Clock, engine: Engine
) -> None:
    profile, _ = _register(registry)
    code = registry.issue_chat_link(profile.id)
    with engine.connect() as conn:
        assert conn.execute(select(EnterpriseChatLink.code_hash)).scalar_one() != code
    assert registry.redeem_chat_link(code) == profile
    assert registry.redeem_chat_link(code) is None  # used
    late = registry.issue_chat_link(profile.id)
    clock.now += dt.timedelta(minutes=10, seconds=1)
    assert registry.redeem_chat_link(late) is None  # expired
    assert registry.redeem_chat_link("nonsense") is None


def _draft(profile, text: str = "区住建局拖欠工程款"):  # type: ignore[no-untyped-def]
    return TicketDraft(
        category="arrears",
        description=text,
        organization="洛龙区住建局",
        district="洛龙区",
        phone="13837901234",
        channel="enterprise_api",
        sender_id=profile.sender_id,
    )


def test_idempotency_claims_inside_the_filing(registry: EnterpriseRegistry, engine: Engine) -> None:
    tickets = TicketService(make_session_factory(engine))
    profile, _ = _register(registry)
    other, _ = _register(registry, 9)

    def file(enterprise, key: str, body_hash: str):  # type: ignore[no-untyped-def]
        claim = registry.claim(enterprise.id, key, body_hash)
        return tickets.file(_draft(enterprise), idempotency_key=claim.ticket_key, claim=claim)

    first = file(profile, "k", "a" * 64)
    assert first.created and first.ticket is not None
    # The answer built from the row as written is the one a read-back gives.
    calendar = load_calendar()
    assert detail_of(first.ticket, calendar, with_history=False) == report_detail(
        make_session_factory(engine), profile.sender_id, first.number, calendar, with_history=False
    )
    again = file(profile, "k", "a" * 64)
    assert (again.number, again.created, again.ticket) == (first.number, False, None)
    with pytest.raises(IdempotencyConflict):
        file(profile, "k", "b" * 64)
    # Keys are per enterprise.
    assert file(other, "k", "b" * 64).created
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Ticket)).scalar_one() == 2
        assert conn.execute(select(func.count()).select_from(EnterpriseReport)).scalar_one() == 2


def test_a_refused_claim_files_nothing(registry: EnterpriseRegistry, engine: Engine) -> None:
    """The claim runs inside the filing's transaction: a conflict leaves no ticket behind."""
    tickets = TicketService(make_session_factory(engine))
    profile, _ = _register(registry)
    claim = registry.claim(profile.id, "k", "a" * 64)
    tickets.file(_draft(profile), idempotency_key=claim.ticket_key, claim=claim)
    conflict = registry.claim(profile.id, "k", "c" * 64)
    with pytest.raises(IdempotencyConflict):
        tickets.file(_draft(profile, "别的事"), idempotency_key=conflict.ticket_key, claim=conflict)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Ticket)).scalar_one() == 1


def test_key_file_is_made_once_and_private(tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = load_or_create_key(tmp_path)
    assert load_or_create_key(tmp_path) == key and len(key) == 32
    assert (tmp_path / "enterprise.key").stat().st_mode & 0o077 == 0
    assert load_or_create_key(tmp_path, "c" * 32) == b"c" * 32
