"""The enterprise registry on SQLite and PostgreSQL: tokens, rotation, chat link codes, claims
pending until verified, random sender ids, and the migration of the accounts made before."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from bot.domain.workdays import load_calendar
from bot.enterprises.reads import detail_of, report_detail
from bot.enterprises.registry import (
    AlreadyVerified,
    EnterpriseRegistry,
    IdempotencyConflict,
    InvalidField,
)
from bot.privacy.keys import load_or_create_key
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import downgrade, upgrade
from bot.store.models import Enterprise, EnterpriseChatLink, EnterpriseReport, Ticket
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


def test_a_known_code_makes_another_pending_claim_and_one_is_verified(
    registry: EnterpriseRegistry, engine: Engine
) -> None:
    first, _ = _register(registry)
    second, _ = _register(registry)  # the same code: no refusal that would tell it is known
    assert first.verification == second.verification == "pending"
    assert first.uscc == second.uscc and first.id != second.id
    # Sender ids are random: not the account's number, not the code, not each other's.
    assert first.sender_id != second.sender_id
    for profile in (first, second):
        assert profile.sender_id != f"enterprise:{profile.id}"
        assert profile.uscc not in profile.sender_id and len(profile.sender_key) == 32
    claims = {c.profile.id: c for c in registry.pending()}
    assert claims[first.id].other_claims == 1 and claims[first.id].verified is None
    for reason in ("", "  ", None, 7):
        with pytest.raises(InvalidField):
            registry.verify(first.id, reason, by="op")
    verified = registry.verify(second.id, "经国家企业信用信息公示系统核对，电话确认", by="op")
    assert verified is not None and verified.verified and verified.decided_by == "op"
    assert verified.decided_at is not None and "电话确认" in verified.decision_note()
    assert registry.by_uscc(first.uscc) == verified
    with pytest.raises(AlreadyVerified) as taken:
        registry.verify(first.id, "又核实一次", by="op2")
    assert taken.value.other.id == second.id
    [left] = registry.pending()
    assert left.profile.id == first.id and left.verified == verified
    refused = registry.refuse(first.id, "企业称未委托此人注册", by="op2")
    assert refused is not None and refused.refused and refused.decided_by == "op2"
    assert registry.pending() == [] and registry.verify(10_000, "无此账号", by="op") is None
    # The database itself holds one verified account per code, whatever a caller does.
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            Enterprise.__table__.update()
            .where(Enterprise.id == first.id)
            .values(verification="verified")
        )
    # Undoing a wrong verification: refuse it, then the other claim can be verified.
    registry.refuse(second.id, "核实有误", by="op")
    assert registry.verify(first.id, "企业补充了委托书", by="op").verified  # type: ignore[union-attr]


def test_accounts_made_before_are_verified_and_keep_their_tickets(database_url: str) -> None:
    upgrade(database_url, "0011")
    engine = make_engine(database_url)
    now = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
    old = Enterprise.__table__
    try:
        with engine.begin() as conn:
            conn.execute(
                old.insert().values(
                    id=7,
                    name="洛阳恒达机械有限公司",
                    uscc=make_uscc(1),
                    contact_name="王建国",
                    phone="13837901234",
                    token_hash="h" * 64,
                    token_issued_at=now,
                    created_at=now,
                )
            )
        service = TicketService(make_session_factory(engine))
        number = service.file(_draft_for_sender("enterprise:7")).number
        upgrade(database_url)
        registry = EnterpriseRegistry(make_session_factory(engine), b"k" * 32)
        profile = registry.profile(7)
        assert profile is not None and profile.verified and profile.decided_by == "migration"
        assert profile.sender_id != "enterprise:7" and len(profile.sender_key) == 32
        with engine.connect() as conn:
            owner = conn.execute(select(Ticket.sender_id).where(Ticket.number == number))
            assert owner.scalar_one() == profile.sender_id
        downgrade(database_url, "0011")
        with engine.connect() as conn:
            owner = conn.execute(select(Ticket.sender_id).where(Ticket.number == number))
            assert owner.scalar_one() == "enterprise:7"
    finally:
        engine.dispose()


def _draft_for_sender(sender_id: str) -> TicketDraft:
    return TicketDraft(
        category="arrears",
        description="区住建局拖欠工程款",
        organization="洛龙区住建局",
        district="洛龙区",
        phone="13837901234",
        channel="enterprise_api",
        sender_id=sender_id,
    )


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
    # Reading whose link it is (the page that asks to confirm) does not use it up.
    assert registry.chat_link_profile(code) == registry.chat_link_profile(code) == profile
    assert registry.redeem_chat_link(code) == profile
    assert registry.chat_link_profile(code) is None
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
