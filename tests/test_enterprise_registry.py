"""The enterprise registry on SQLite and PostgreSQL: tokens, rotation, chat link codes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select

from bot.tickets.db import make_session_factory
from bot.tickets.enterprises import (
    DuplicateEnterprise,
    EnterpriseRegistry,
    InvalidField,
    load_or_create_key,
)
from bot.tickets.models import Enterprise, EnterpriseChatLink
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


def test_idempotency_claims(registry: EnterpriseRegistry) -> None:
    profile, _ = _register(registry)
    other, _ = _register(registry, 9)
    assert registry.claim(profile.id, "k", "a" * 64).outcome == "new"
    assert registry.claim(profile.id, "k", "a" * 64).outcome == "same"
    assert registry.claim(profile.id, "k", "b" * 64).outcome == "conflict"
    # Keys are per enterprise.
    assert registry.claim(other.id, "k", "b" * 64).outcome == "new"


def test_key_file_is_made_once_and_private(tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = load_or_create_key(tmp_path)
    assert load_or_create_key(tmp_path) == key and len(key) == 32
    assert (tmp_path / "enterprise.key").stat().st_mode & 0o077 == 0
    assert load_or_create_key(tmp_path, "configured") == b"configured"
