"""`hotline enterprise add|pending|verify|refuse|suspend|reinstate`: register an enterprise from
the command line (an operator doing it for a company that called in), through the same
validators as the API, and print the token once; list the accounts waiting to be verified and
verify or refuse one, a reason required, audited; stop an enterprise's token and pages (403) and
lift it again, audited. A registration from here is pending like any other: calling in is not
the check (`verify` is)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bot.config import Settings

# Who the audit log names for a change made from the command line (whoever has the host's shell).
CLI_USER = "cli"

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from bot.enterprises.registry import EnterpriseRegistry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="企业全称")
    parser.add_argument("--uscc", required=True, help="统一社会信用代码")
    parser.add_argument("--contact", required=True, help="联系人")
    parser.add_argument("--phone", required=True, help="联系电话")


def add_decision_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--id", type=int, required=True, help="账号编号（hotline enterprise pending）"
    )
    parser.add_argument("--reason", required=True, help="核实情况或不通过的原因")


def add_suspension_arguments(parser: argparse.ArgumentParser, *, reason: bool) -> None:
    parser.add_argument("--uscc", required=True, help="统一社会信用代码")
    if reason:
        parser.add_argument("--reason", required=True, help="原因（企业会在页面上看到）")


def cmd_enterprise_add(settings: Settings, args: argparse.Namespace) -> int:
    # Imported here: `hotline` starts fast for every other command.
    from bot.enterprises.registry import InvalidField
    from bot.enterprises.texts import error_message

    registry, _, engine = _registry(settings)
    try:
        profile, token = registry.register(
            name=args.name, uscc=args.uscc, contact_name=args.contact, phone=args.phone
        )
    except InvalidField as exc:
        print(error_message(exc.code, exc.field), file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(f"已注册，待核实：{profile.name}（id {profile.id}）")
    print(f"核实后：hotline enterprise verify --id {profile.id} --reason 核实情况")
    print(f"API 令牌（只显示这一次）：{token}")
    return 0


def cmd_enterprise_pending(settings: Settings, args: argparse.Namespace) -> int:
    """The accounts waiting to be verified, as the console's 企业核实 page lists them."""
    from bot.domain.privacy import mask_name, mask_phone

    registry, _, engine = _registry(settings)
    try:
        claims = registry.pending(limit=200)
    finally:
        engine.dispose()
    for claim in claims:
        p = claim.profile
        same = f"；已有核实账号 {claim.verified.id}" if claim.verified else ""
        same += f"；另有 {claim.other_claims} 个申请" if claim.other_claims else ""
        print(
            f"{p.id}\t{p.name}\t{p.uscc}\t{mask_name(p.contact_name)} {mask_phone(p.phone)}{same}"
        )
    if not claims:
        print("没有待核实的企业。")
    return 0


def cmd_enterprise_verify(settings: Settings, args: argparse.Namespace) -> int:
    return _decide(settings, args.id, args.reason, verify=True)


def cmd_enterprise_refuse(settings: Settings, args: argparse.Namespace) -> int:
    return _decide(settings, args.id, args.reason, verify=False)


def _decide(settings: Settings, enterprise_id: int, reason: str, *, verify: bool) -> int:
    from bot.enterprises.registry import AlreadyVerified, InvalidField
    from bot.enterprises.texts import error_message
    from bot.store.audit import AuditLog

    registry, sessions, engine = _registry(settings)
    try:
        try:
            decide = registry.verify if verify else registry.refuse
            profile = decide(enterprise_id, reason, by=CLI_USER)
        except InvalidField as exc:
            print(error_message(exc.code, exc.field), file=sys.stderr)
            return 2
        except AlreadyVerified as taken:
            print(
                f"该信用代码已有核实通过的账号 {taken.other.id}（{taken.other.name}）；"
                f"如它不是该企业的，先 hotline enterprise refuse --id {taken.other.id}。",
                file=sys.stderr,
            )
            return 1
        if profile is None:
            print(f"没有编号为 {enterprise_id} 的企业账号。", file=sys.stderr)
            return 1
        AuditLog(sessions).write(
            username=CLI_USER,
            role="-",
            action="enterprise_verify" if verify else "enterprise_refuse",
            detail=profile.decision_note(),
        )
    finally:
        engine.dispose()
    print(f"{profile.verification_label}：{profile.name}（id {profile.id}）")
    return 0


def cmd_enterprise_suspend(settings: Settings, args: argparse.Namespace) -> int:
    return _set_suspension(settings, args.uscc, args.reason)


def cmd_enterprise_reinstate(settings: Settings, args: argparse.Namespace) -> int:
    return _set_suspension(settings, args.uscc, None)


def _set_suspension(settings: Settings, uscc: str, reason: str | None) -> int:
    from bot.domain.privacy import mask_uscc
    from bot.enterprises.registry import InvalidField
    from bot.enterprises.texts import error_message
    from bot.store.audit import AuditLog

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
            username=CLI_USER,
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
    from bot.enterprises.registry import EnterpriseRegistry
    from bot.privacy.keys import load_or_create_key
    from bot.store.db import make_engine, make_session_factory
    from bot.store.migrate import upgrade

    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    registry = EnterpriseRegistry(
        sessions, load_or_create_key(settings.var_dir, settings.enterprise_key)
    )
    return registry, sessions, engine
