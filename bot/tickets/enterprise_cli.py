"""`hotline enterprise add`: register an enterprise from the command line (an operator doing it
for a company that called in), through the same validators as the API; prints the token once."""

from __future__ import annotations

import argparse
import sys

from bot.config import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="企业全称")
    parser.add_argument("--uscc", required=True, help="统一社会信用代码")
    parser.add_argument("--contact", required=True, help="联系人")
    parser.add_argument("--phone", required=True, help="联系电话")


def cmd_enterprise_add(settings: Settings, args: argparse.Namespace) -> int:
    # Imported here: `hotline` starts fast for every other command.
    from bot.tickets.db import make_engine, make_session_factory
    from bot.tickets.enterprises import (
        DuplicateEnterprise,
        EnterpriseRegistry,
        InvalidField,
    )
    from bot.tickets.migrate import upgrade
    from bot.tickets.secret_keys import load_or_create_key
    from bot.web.enterprise_texts import error_message

    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    registry = EnterpriseRegistry(
        make_session_factory(engine), load_or_create_key(settings.var_dir, settings.enterprise_key)
    )
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
