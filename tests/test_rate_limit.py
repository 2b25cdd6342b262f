"""The in-process token buckets (bot/web/rate_limit.py): their answers, and a table that many
addresses cannot grow without bound."""

from __future__ import annotations

from bot.config import Settings
from bot.web.rate_limit import RateLimiter


def test_a_bucket_allows_its_burst_then_says_how_long_to_wait() -> None:
    limiter = RateLimiter(3, 0.5)
    assert [limiter.take("a") for _ in range(3)] == [None, None, None]
    assert limiter.take("a") == 2  # one token back after 2 s at 0.5/s
    assert limiter.take("b") is None  # another key has its own bucket
    assert RateLimiter(1, 0).take("c") is None and RateLimiter(1, 0).take("c") is None


def test_replicas_of_the_production_profile_each_keep_their_share() -> None:
    default = RateLimiter.shared(Settings(profile="default", web_replicas=2), 120, 2)
    production = RateLimiter.shared(Settings(profile="production", web_replicas=2), 120, 2)
    assert sum(default.take("x") is None for _ in range(130)) == 120
    assert sum(production.take("x") is None for _ in range(130)) == 60


def test_many_keys_do_not_grow_the_table_and_a_counted_key_keeps_its_count() -> None:
    limiter = RateLimiter(2, 1e-6, max_keys=100)
    assert limiter.take("busy") is None and limiter.take("busy") is None
    for i in range(1000):  # a flood of fresh addresses
        limiter.take(f"10.0.{i // 256}.{i % 256}")
        assert len(limiter._buckets) <= 100
    # Nothing had refilled, so the oldest half went each time; "busy" was among them and
    # starts afresh — it is forgotten, never refused for someone else's requests.
    assert limiter.take("busy") is None
    refilled = RateLimiter(2, 1e9, max_keys=3)
    for key in ("a", "b", "c"):
        refilled.take(key)
    refilled.take("d")  # all three had refilled (1e9/s): they go, not the newest
    assert set(refilled._buckets) == {"d"}


def test_the_chat_counts_an_ipv6_client_by_its_slash_64(sqlite_url: str) -> None:
    """Addresses of one /64 share a bucket (a client picks any of them); another /64, an IPv4
    address and loopback have their own or none."""
    from bot.conversations.record import ConversationStore
    from bot.store.db import make_engine, make_session_factory
    from bot.store.migrate import upgrade
    from bot.web.gateway import Gateway

    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        gateway = Gateway(
            ConversationStore(make_session_factory(engine)),
            None,  # type: ignore[arg-type]  # no HTTP: only the address check is asked
            "http://127.0.0.1:9",
            ip_limiter=RateLimiter(2, 1e-6),
        )
        assert not gateway._too_fast_from("2001:db8:1:2::1")
        assert not gateway._too_fast_from("2001:db8:1:2::ffff")
        assert gateway._too_fast_from("2001:db8:1:2:abcd::9")  # third from the same /64
        assert not gateway._too_fast_from("2001:db8:1:3::1")
        assert not gateway._too_fast_from("203.0.113.9")
        assert not any(gateway._too_fast_from("127.0.0.1") for _ in range(5))
        assert not gateway._too_fast_from(None)
    finally:
        engine.dispose()
