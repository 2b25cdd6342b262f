"""`hotline …`: one command for the pieces. It wraps the standard Rasa and rasa-sdk commands.

hotline setup        create/migrate the ticket database
hotline db upgrade   the same, explicitly
hotline train        train the model if data/config/domain changed (--force to retrain)
hotline run          migrate, train if needed, start Rasa + actions + web, stop all on Ctrl-C
hotline chat         chat in the terminal with a running bot (REST channel)
hotline user add     an operator console account: hotline user add NAME --role admin
hotline corrections export --out FILE   reviewers' corrections as Rasa NLU YAML
hotline purge        blank personal data of tickets and chats older than --days N (statistics stay)
hotline bench        ours beside a stock Rasa bot under load → docs/bench.md, var/bench/*.json
hotline proof load   N callers file whole complaints through the public endpoint → var/proofs/
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from types import FrameType
from typing import Any

from bot.config import PROJECT_ROOT, Settings, load_settings
from bot.enterprises import cli as enterprise_cli


def _development_tools() -> None:
    """eval, tune, bench and proof run tools/ from the checkout: it is not installed with the
    package, so a deployment has none of it."""
    if not (PROJECT_ROOT / "tools" / "__init__.py").exists():
        raise SystemExit(
            f"这个命令需要代码仓库里的 tools/（{PROJECT_ROOT / 'tools'}）：部署环境里没有。"
        )
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))


def cmd_db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.store.migrate import upgrade

    upgrade(settings.database_url)
    print(f"数据库已是最新结构：{_safe_url(settings.database_url)}")
    return 0


def cmd_sweep(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.web.deadline_watch import sweep_once

    urged, supervised = sweep_once(settings.database_url)
    print(f"超期工单：自动催办 {urged} 件，转督办 {supervised} 件")
    return 0


def cmd_user_add(settings: Settings, args: argparse.Namespace) -> int:
    """Create a console account; the password is prompted for (or read from stdin), never an
    argument, so it stays out of the shell history and the process list."""
    import getpass

    from bot.accounts.users import AccountError, Accounts
    from bot.store.db import make_engine, make_session_factory
    from bot.store.migrate import upgrade

    if sys.stdin.isatty():
        password = getpass.getpass("密码：")
        if getpass.getpass("再输一次：") != password:
            print("两次输入的密码不一致", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\n")
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        account = Accounts(make_session_factory(engine)).add(
            args.name, password, args.role, args.department
        )
    except AccountError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"已创建用户 {account.username}（{account.role}）")
    return 0


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    from bot.privacy.retention import purge_database

    days = args.days or settings.retention_days
    if days < 1:
        print(
            "请用 --days N 或 HOTLINE_RETENTION_DAYS=N 指定保存天数（至少 1 天）。", file=sys.stderr
        )
        return 2
    tracker_url = args.tracker_url or settings.tracker_store_url
    done = purge_database(settings.database_url, days, actor="cli", tracker_url=tracker_url)
    print(f"已清理 {days} 天前的个人信息：{done}")
    return 0


def cmd_corrections_export(settings: Settings, args: argparse.Namespace) -> int:
    """Reviewers' corrections → Rasa NLU YAML; those copying an evaluation message are named."""
    from bot.review.export import export_corrections
    from bot.review.leakage import EvalSetMissing
    from bot.store.audit import AuditLog
    from bot.store.db import make_engine, make_session_factory
    from bot.store.migrate import upgrade

    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        sessions = make_session_factory(engine)
        try:
            export = export_corrections(sessions)
        except EvalSetMissing as exc:
            print(exc, file=sys.stderr)
            return 2
        Path(args.out).write_text(export.text, encoding="utf-8")
        AuditLog(sessions).write(
            username="cli",
            role="-",
            action="export_corrections",
            detail=f"导出 {len(export.exported)} 条，未导出 {len(export.refused)} 条",
        )
    finally:
        engine.dispose()
    for refusal in export.refused:
        print(f"未导出：{refusal.reason()}", file=sys.stderr)
    print(f"已导出 {len(export.exported)} 条纠正到 {args.out}")
    return 0


def cmd_train(settings: Settings, args: argparse.Namespace) -> int:
    from bot.training import ensure_model

    path = ensure_model(settings.models_dir, force=args.force)
    print(path)
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.domain import internal_auth
    from bot.ops.production import ProfileError, prepare
    from bot.ops.profiles import build_services
    from bot.ops.supervisor import Stack, StackError
    from bot.privacy.keys import UnusableKey, check_keys
    from bot.store.migrate import upgrade
    from bot.training import ensure_model

    started = time.monotonic()
    if args.profile:
        settings = dataclasses.replace(settings, profile=args.profile)
    try:
        if settings.profile == "production":
            prepare(settings)
        check_keys(settings.var_dir, settings.enterprise_key, settings.access_code_key)
        upgrade(settings.database_url)
        model = ensure_model(settings.models_dir)
        stack = Stack(build_services(settings, model))
    except (ProfileError, UnusableKey) as error:
        print(error, file=sys.stderr)
        return 1
    stopping = False

    def _stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print("正在启动 Rasa 服务器、动作服务器和网页服务 …", flush=True)
    try:
        stack.start()
    except StackError as exc:
        print(exc, file=sys.stderr)
        return 1
    # This run's internal token, for `hotline chat` in another terminal (bot/domain/internal_auth.py).
    token_file = None
    if not internal_auth.expected_token():
        token_file = internal_auth.remember_run_token(settings.var_dir, settings.rasa_token)
    print(
        f"\n已就绪（{time.monotonic() - started:.0f} 秒）：\n"
        f"  网页聊天      {settings.web_url}/\n"
        f"  Rasa REST     {settings.rasa_url}/webhooks/rest/webhook\n"
        f"  动作服务器    http://{settings.host}:{settings.action_port}/webhook\n"
        f"  终端聊天      .venv/bin/hotline chat\n"
        f"  日志          {settings.var_dir / 'logs'}\n"
        f"按 Ctrl-C 停止全部服务。",
        flush=True,
    )
    code = 0
    reported: dict[str, tuple[int, float]] = {}
    try:
        while not stopping:
            _report_dropped_log_lines(stack.dropped_log_lines(), reported)
            dead = stack.first_exited()
            if dead is not None:
                print(
                    f"{dead.name} 意外退出，正在停止其余服务。日志：\n{dead.log_tail()}",
                    file=sys.stderr,
                )
                code = 1
                break
            time.sleep(0.5)
    finally:
        print("\n正在停止 …", flush=True)
        stack.stop()
        if token_file is not None:
            token_file.unlink(missing_ok=True)
        print("已全部停止。")
    return code


DROPPED_REPORT_SECONDS = 60.0


def _report_dropped_log_lines(
    dropped: dict[str, int], reported: dict[str, tuple[int, float]]
) -> None:
    """Tell the operator, as it happens, that a log file stopped taking lines (a full disk):
    the processes keep running, but what they print is lost until there is room again. Once a
    minute at most per process, so the warning does not become the flood it reports."""
    now = time.monotonic()
    for name, count in dropped.items():
        last_count, last_at = reported.get(name, (0, -DROPPED_REPORT_SECONDS))
        if count > last_count and now - last_at >= DROPPED_REPORT_SECONDS:
            print(
                f"警告：{name} 的日志写不进去（磁盘已满？），已丢弃 {count} 行；"
                f"腾出空间后自动恢复写入，并在日志里记下丢失的行数。",
                file=sys.stderr,
                flush=True,
            )
            reported[name] = (count, now)


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    _development_tools()
    from tools.eval.report import confusion_png, markdown
    from tools.eval.runner import evaluate, save_json

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.callers:
        return _eval_callers(settings, args, out)
    report = evaluate(settings, with_baselines=not args.no_baselines, with_stock=not args.no_stock)
    flags = " --no-baselines" if args.no_baselines else " --no-stock" if args.no_stock else ""
    text = markdown(report, "hotline eval" + flags)
    (out / "eval.md").write_text(text, encoding="utf-8")
    save_json(report, out / "eval.json")
    ours = report.systems[0]
    confusion_png(ours, "dev", out / "confusion-dev.png")
    if ours.real is not None:
        confusion_png(ours, "real", out / "confusion-real.png")
    print(text)
    print(f"报告已写入 {out}/（eval.md、eval.json、confusion-*.png）")
    return 0


def _eval_callers(settings: Settings, args: argparse.Namespace, out: Path) -> int:
    """The messy-caller conversations through the real stack (tests/callers/)."""
    import dataclasses
    import json

    from tools.eval import callers

    outcomes, _ = callers.run_callers(settings, only=args.only)
    command = "hotline eval --callers" + (f" --only {args.only}" if args.only else "")
    text = callers.markdown(outcomes, command)
    (out / "callers.md").write_text(text, encoding="utf-8")
    (out / "callers.json").write_text(
        json.dumps(
            {
                "summary": callers.summarise(outcomes),
                "conversations": [dataclasses.asdict(o) for o in outcomes],
            },
            ensure_ascii=False,
            indent=1,
            default=str,
        ),
        encoding="utf-8",
    )
    print(text)
    if args.transcripts:
        for outcome in outcomes:
            if not outcome.facts_right or outcome.asked_again or not outcome.category_right:
                print(f"\n## {outcome.id}\n" + "\n".join(outcome.transcript))
    print(f"报告已写入 {out}/callers.md、callers.json")
    return 0


def cmd_tune(_settings: Settings, args: argparse.Namespace) -> int:
    _development_tools()
    from tools.eval.tuning import GRID, cross_validate, fallback_table

    grid = GRID[: args.settings] if args.settings else GRID
    print(f"{args.folds} 折交叉验证（仅训练数据），九个投诉类别的 macro-F1：")
    scores = cross_validate(grid, folds=args.folds)
    for score in scores:
        print(f"  {score.setting.label():<18} macro-F1 {score.macro_f1:.3f} ± {score.spread:.3f}")
    best = max(scores, key=lambda s: s.macro_f1).setting
    print(
        f"\n兜底阈值（{best.label()}，折外概率；最高置信度低于阈值或前两名相差 <0.05 时出按钮）："
    )
    print("  阈值   触发比例  捕获错误  触发时猜对  未触发时猜对")
    for row in fallback_table(best, folds=args.folds):
        print(
            f"  {row.threshold:<5g}  {row.fires:>7.1%}  {row.caught:>7.1%}"
            f"  {row.accuracy_fired:>9.1%}  {row.accuracy_kept:>11.1%}"
        )
    return 0


def cmd_bench(_settings: Settings, args: argparse.Namespace) -> int:
    _development_tools()
    from tools.perf.runner import Options, run_bench, write_outputs

    if args.profile:
        from tools.perf.profile import profile

        out = _in_project(args.json_dir) / f"profile-{args.profile}.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        print(profile(args.profile, args.py_spy, args.seconds, out))
        return 0
    command = "hotline bench " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["bench"] else ""
    options = Options(
        levels=args.callers,
        variants=["ours", *args.variant],
        reuse_model=args.reuse_model,
        rounds=args.rounds,
        out_md=_in_project(args.out),
        out_dir=_in_project(args.json_dir),
        command=command.strip() or "hotline bench",
        keep_work=args.keep_work,
    )
    report = write_outputs(run_bench(options), options)
    print(f"报告已写入 {report}，原始数据在 {options.out_dir}/")
    return 0


def cmd_proof(_settings: Settings, args: argparse.Namespace) -> int:
    _development_tools()
    from tools.proofs import load

    return load.main(list(args.args))


def _in_project(path: str) -> Path:
    """A relative output path is relative to the project, wherever `hotline` is run from."""

    return Path(path) if Path(path).is_absolute() else PROJECT_ROOT / path


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.domain import internal_auth

    sender = args.sender or f"shell-{uuid.uuid4().hex[:12]}"
    url = f"{settings.rasa_url}/webhooks/rest/webhook"
    headers = internal_auth.headers(internal_auth.local_token(settings.var_dir))
    print("与12345智能助手对话（输入 /quit 退出）。")
    while True:
        try:
            text = input("您：").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if text in {"/quit", "/exit"}:
            return 0
        if not text:
            continue
        replies = _post_json(url, {"sender": sender, "message": text}, headers)
        if replies == REFUSED:
            print(
                "智能助手拒绝了请求：缺少内部令牌。请在运行 `make run` 的同一目录使用，"
                "或设置与服务相同的 HOTLINE_RASA_TOKEN。"
            )
            continue
        if not isinstance(replies, list):
            print(f"连接不到智能助手（{settings.rasa_url}）。请先在另一个终端运行 `make run`。")
            continue
        for reply in replies:
            print(f"助手：{reply.get('text', '')}")
            for button in reply.get("buttons") or []:
                print(f"      [{button.get('title')}] 输入 {button.get('payload')}")


REFUSED = "refused"  # the REST channel answered 401: no or a wrong internal token


def _post_json(
    url: str, payload: dict[str, Any], headers: dict[str, str]
) -> list[dict[str, Any]] | str | None:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            data = json.loads(response.read())
    except urllib.error.HTTPError as error:
        return REFUSED if error.code == 401 else None
    except (OSError, urllib.error.URLError, json.JSONDecodeError):
        return None
    return data if isinstance(data, list) else None


def _safe_url(url: str) -> str:
    """A database URL without its password, for printing."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description="12345 政务服务热线 智能助手")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="create or migrate the ticket database").set_defaults(
        func=cmd_db_upgrade
    )
    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply all migrations").set_defaults(func=cmd_db_upgrade)
    sub.add_parser(
        "sweep",
        help="log 催办/督办 for lapsed deadlines once (the web service does it every 5 min)",
    ).set_defaults(func=cmd_sweep)
    user = sub.add_parser("user", help="operator console accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    user_add = user_sub.add_parser("add", help="create an account (password prompted or on stdin)")
    user_add.add_argument("name")
    user_add.add_argument(
        "--role", required=True, choices=["operator", "department", "supervisor", "admin"]
    )
    user_add.add_argument("--department", help="the department a department handler works for")
    user_add.set_defaults(func=cmd_user_add)
    enterprise = sub.add_parser("enterprise", help="enterprise one-click reporting")
    enterprise_sub = enterprise.add_subparsers(dest="enterprise_command", required=True)
    enterprise_add = enterprise_sub.add_parser(
        "add", help="register an enterprise; prints its token"
    )
    enterprise_cli.add_arguments(enterprise_add)
    enterprise_add.set_defaults(func=enterprise_cli.cmd_enterprise_add)
    enterprise_pending = enterprise_sub.add_parser(
        "pending", help="list the accounts waiting to be verified"
    )
    enterprise_pending.set_defaults(func=enterprise_cli.cmd_enterprise_pending)
    for decision, help_text in (
        ("verify", "verify an account as the company's (audited, reason required)"),
        ("refuse", "refuse an account's claim: it files nothing new (audited, reason required)"),
    ):
        decide = enterprise_sub.add_parser(decision, help=help_text)
        enterprise_cli.add_decision_arguments(decide)
        decide.set_defaults(func=getattr(enterprise_cli, f"cmd_enterprise_{decision}"))
    enterprise_suspend = enterprise_sub.add_parser(
        "suspend", help="stop an enterprise's token and pages (403) until reinstated"
    )
    enterprise_cli.add_suspension_arguments(enterprise_suspend, reason=True)
    enterprise_suspend.set_defaults(func=enterprise_cli.cmd_enterprise_suspend)
    enterprise_reinstate = enterprise_sub.add_parser("reinstate", help="lift a suspension")
    enterprise_cli.add_suspension_arguments(enterprise_reinstate, reason=False)
    enterprise_reinstate.set_defaults(func=enterprise_cli.cmd_enterprise_reinstate)
    fixes = sub.add_parser("corrections", help="reviewers' NLU corrections")
    fixes_sub = fixes.add_subparsers(dest="corrections_command", required=True)
    fixes_export = fixes_sub.add_parser(
        "export", help="as Rasa NLU YAML, without any that copy an evaluation message"
    )
    fixes_export.add_argument("--out", required=True, help="the YAML file to write")
    fixes_export.set_defaults(func=cmd_corrections_export)
    purge = sub.add_parser(
        "purge",
        help="blank/mask personal data of tickets and transcripts older than N days, delete "
        "Rasa's tracker events as old (statistics stay)",
    )
    purge.add_argument("--days", type=int, help="default: HOTLINE_RETENTION_DAYS")
    purge.add_argument(
        "--tracker-url",
        help="Rasa's SQL tracker store (default: var/tracker.db, or HOTLINE_TRACKER_URL when "
        "HOTLINE_PROFILE=production)",
    )
    purge.set_defaults(func=cmd_purge)
    train = sub.add_parser("train", help="train the model if its inputs changed")
    train.add_argument("--force", action="store_true", help="retrain even if up to date")
    train.set_defaults(func=cmd_train)
    run = sub.add_parser("run", help="start Rasa, the action server and the web service")
    run.add_argument(
        "--profile",
        choices=["default", "production"],
        help="production: PostgreSQL, Redis, RabbitMQ, replicas behind nginx (deploy/README.md)",
    )
    run.set_defaults(func=cmd_run)
    evaluation = sub.add_parser("eval", help="evaluate the NLU on the dev and real-complaint sets")
    evaluation.add_argument("--out", default="reports", help="where to write the report")
    evaluation.add_argument("--no-baselines", action="store_true", help="skip the two baselines")
    evaluation.add_argument(
        "--no-stock",
        action="store_true",
        help="skip Rasa's stock pipeline (its 300 DIET epochs take long on 2 cores)",
    )
    evaluation.add_argument(
        "--callers",
        action="store_true",
        help="drive the messy-caller conversations (tests/callers/) instead of the NLU sets",
    )
    evaluation.add_argument("--only", help="with --callers: one conversation id")
    evaluation.add_argument(
        "--transcripts", action="store_true", help="with --callers: print the failed conversations"
    )
    evaluation.set_defaults(func=cmd_eval)
    tune = sub.add_parser(
        "tune",
        help="cross-validate the intent classifier and the fallback threshold on training data only",
    )
    tune.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    tune.add_argument("--settings", type=int, help="only the first N settings of the grid")
    tune.set_defaults(func=cmd_tune)
    bench = sub.add_parser("bench", help="load-test ours beside a stock Rasa bot")
    bench.add_argument(
        "--callers", type=int, nargs="+", default=[1, 10, 50], help="concurrency levels"
    )
    bench.add_argument(
        "--variant",
        action="append",
        default=[],
        choices=["ours-unpatched", "ours-memory"],
        help="also run ours without the validator fix / on the in-memory tracker store",
    )
    bench.add_argument("--rounds", type=int, help="conversations per caller (default by level)")
    bench.add_argument(
        "--reuse-model", action="store_true", help="use the cached model in models/ (no timing)"
    )
    bench.add_argument(
        "--profile",
        choices=["ours", "ours-unpatched", "ours-memory"],
        help="instead: py-spy the Rasa server of one variant under 10 callers",
    )
    bench.add_argument("--py-spy", default="py-spy", help="with --profile: py-spy's path")
    bench.add_argument("--seconds", type=int, default=25, help="with --profile: how long")
    bench.add_argument("--keep-work", action="store_true", help="keep the temp dir and its logs")
    bench.add_argument("--out", default="docs/bench.md", help="the markdown report")
    bench.add_argument("--json-dir", default="var/bench", help="where the raw JSON goes")
    bench.set_defaults(func=cmd_bench)
    proof = sub.add_parser(
        "proof", help="the load proof (python -m tools.proofs.load): options after the name"
    )
    proof.add_argument("name", choices=["load"])
    proof.add_argument("args", nargs=argparse.REMAINDER, help="e.g. --callers 20 --minutes 2")
    proof.set_defaults(func=cmd_proof)
    chat = sub.add_parser("chat", help="chat with the running bot in this terminal")
    chat.add_argument("--sender", help="conversation id (default: a new one)")
    chat.set_defaults(func=cmd_chat)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(load_settings(), args))


if __name__ == "__main__":
    sys.exit(main())
