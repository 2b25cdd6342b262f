"""`hotline user add`: the first admin, with the password from stdin (never an argument)."""

from __future__ import annotations

import io

import pytest

from bot import cli
from bot.accounts.users import Accounts, LoginRefused
from bot.store.db import make_engine, make_session_factory


def test_user_add_creates_an_account_that_can_sign_in(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", sqlite_url)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
    assert cli.main(["user", "add", "boss", "--role", "admin"]) == 0
    assert "已创建用户 boss（admin）" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["user", "add", "clerk", "--role", "operator"]) == 1
    assert "至少 10 位" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
    assert cli.main(["user", "add", "handler", "--role", "department"]) == 1
    assert "必须绑定一个单位" in capsys.readouterr().err
    engine = make_engine(sqlite_url)
    accounts = Accounts(make_session_factory(engine))
    assert accounts.authenticate("boss", "a long enough secret").role == "admin"
    with pytest.raises(LoginRefused):
        accounts.authenticate("boss", "a long enough secreT")
    assert [a.username for a in accounts.all()] == ["boss"]
    engine.dispose()
