"""`hotline enterprise add|suspend|reinstate`: register an enterprise from the command line (an
operator doing it for a company that called in), through the same validators as the API, and
prints the token once; stop an enterprise's token and pages (403) and lift it again, audited."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bot.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from bot.tickets.enterprises import EnterpriseRegistry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="企业全称")
    parser.add_argument("--uscc", required=True, help="统一社会信用代码")
    parser.add_argument("--contact", required=True, help="联系人")
    parser.add_argument("--phone", required=True, help="联系电话")


def add_suspension_arguments(parser: argparse.ArgumentParser, *, reason: bool) -> None:
    parser.add_argument("--uscc", required=True, help="统一社会信用代码")
    if reason:
        parser.add_argument("--reason", required=True, help="原因（企业会在页面上看到）")


def cmd_enterprise_add(settings: Settings, args: argparse.Namespace) -> int:
    # Imported here: `hotline` starts fast for every other command.
    from bot.tickets.enterprises import DuplicateEnterprise, InvalidField
    from bot.web.enterprise_texts import error_message

    registry, _, engine = _registry(settings)
    try:
        profile, token = registry.register(
            name=args.name, uscc=args.uscc, contact_name=args.contact, phone=args.phone
        )
    except InvalidField as exc:
        print(error_message(exc.code, exc.field), file=sys.stderr)
        return 2
    except DuplicateEnterprise:
        print(error_message("duplicate_enterprise"), file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"已注册：{profile.name}（id {profile.id}）")
    print(f"API 令牌（只显示这一次）：{token}")
    return 0


def cmd_enterprise_suspend(settings: Settings, args: argparse.Namespace) -> int:
    return _set_suspension(settings, args.uscc, args.reason)


def cmd_enterprise_reinstate(settings: Settings, args: argparse.Namespace) -> int:
    return _set_suspension(settings, args.uscc, None)


def _set_suspension(settings: Settings, uscc: str, reason: str | None) -> int:
    from bot.domain.privacy import mask_uscc
    from bot.tickets.audit import AuditLog
    from bot.tickets.enterprises import InvalidField
    from bot.web.enterprise_texts import error_message

    registry, sessions, engine = _registry(settings)
    try:
        found = registry.by_uscc(uscc)
        if found is None:
            print(f"没有统一社会信用代码为 {mask_uscc(uscc)} 的已注册企业。", file=sys.stderr)
            return 1
        try:
            if reason is None:
                profile = registry.reinstate(found.id)
            else:
                profile = registry.suspend(found.id, reason)
        except InvalidField as exc:
            print(error_message(exc.code, exc.field), file=sys.stderr)
            return 2
        assert profile is not None
        action = "enterprise_suspend" if reason is not None else "enterprise_reinstate"
        AuditLog(sessions).write(
            username="cli",
            role="-",
            action=action,
            detail=profile.suspension_note(),
        )
    finally:
        engine.dispose()
    state = "已暂停" if profile.suspended else "已恢复"
    print(f"{state}：{profile.name}（id {profile.id}）")
    return 0


def _registry(settings: Settings) -> tuple[EnterpriseRegistry, sessionmaker[Session], Engine]:
    from bot.tickets.db import make_engine, make_session_factory
    from bot.tickets.enterprises import EnterpriseRegistry
    from bot.tickets.migrate import upgrade
    from bot.tickets.secret_keys import load_or_create_key

    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    registry = EnterpriseRegistry(
        sessions, load_or_create_key(settings.var_dir, settings.enterprise_key)
    )
    return registry, sessions, engine
