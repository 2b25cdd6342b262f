"""The production profile: the same processes, replicated, on PostgreSQL, Redis and RabbitMQ.

`hotline run --profile production` (or HOTLINE_PROFILE=production) starts, on this machine:

- nginx (Debian's package) with the config rendered from deploy/nginx/hotline.conf.template:
  the public listener (settings.web_port) proxies only to the web replicas; two internal
  listeners on loopback balance Rasa (settings.rasa_port) and the action servers
  (settings.action_port) — the public side has no route to either;
- `rasa_replicas` Rasa servers sharing one tracker store in PostgreSQL, a RedisLockStore (so a
  conversation's messages are handled one at a time whichever instance receives them) and a
  Pika event broker publishing every event to RabbitMQ;
- `action_replicas` action servers and `web_replicas` web services, stateless (tickets and the
  gateway's record in PostgreSQL), each on its own port.

Replica ports follow their balancer's port: Rasa replicas at rasa_port+1…, action servers at
action_port+1…, web replicas at web_port+1…. deploy/README.md says what runs where and how to
scale each part; the tests run exactly this (tests/test_production.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import string
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

from bot.config import PROJECT_ROOT, Settings
from bot.ops.supervisor import (
    Service,
    action_endpoint,
    action_service,
    rasa_service,
    service_env,
    web_service,
)

NGINX_TEMPLATE = PROJECT_ROOT / "deploy" / "nginx" / "hotline.conf.template"


class ProfileError(RuntimeError):
    """The production profile cannot start: the message says what is missing."""


@dataclass(frozen=True)
class Layout:
    """Which port each process of the profile listens on (all on settings.host)."""

    public_port: int
    rasa_balancer: int
    action_balancer: int
    rasa_ports: tuple[int, ...]
    action_ports: tuple[int, ...]
    web_ports: tuple[int, ...]


def layout(settings: Settings) -> Layout:
    def after(port: int, count: int) -> tuple[int, ...]:
        if count < 1:
            raise ProfileError("每种服务至少要有 1 个副本（HOTLINE_*_REPLICAS ≥ 1）。")
        return tuple(port + 1 + i for i in range(count))

    return Layout(
        public_port=settings.web_port,
        rasa_balancer=settings.rasa_port,
        action_balancer=settings.action_port,
        rasa_ports=after(settings.rasa_port, settings.rasa_replicas),
        action_ports=after(settings.action_port, settings.action_replicas),
        web_ports=after(settings.web_port, settings.web_replicas),
    )


def nginx_executable() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if not found:
        raise ProfileError(
            "生产配置需要 nginx：sudo apt-get install -y nginx（Debian 软件包），"
            "或由 `make test` 以 root 身份自动安装。"
        )
    return found


def _upstream(ports: tuple[int, ...], host: str) -> str:
    # max_fails/fail_timeout: a killed replica is skipped for 5 s after one failed connect.
    return "\n".join(f"        server {host}:{p} max_fails=1 fail_timeout=5s;" for p in ports)


def render_nginx(settings: Settings, where: Layout) -> Path:
    """deploy/nginx/hotline.conf.template with this run's ports and paths → var/nginx/."""
    root = settings.var_dir / "nginx"
    root.mkdir(parents=True, exist_ok=True)
    temp = _temp_dir(root)
    (settings.var_dir / "logs").mkdir(parents=True, exist_ok=True)
    text = string.Template(NGINX_TEMPLATE.read_text(encoding="utf-8")).substitute(
        host=settings.host,
        public_port=where.public_port,
        rasa_balancer=where.rasa_balancer,
        action_balancer=where.action_balancer,
        web_upstream=_upstream(where.web_ports, settings.host),
        rasa_upstream=_upstream(where.rasa_ports, settings.host),
        action_upstream=_upstream(where.action_ports, settings.host),
        run_dir=root,
        temp_dir=temp,
        log_dir=settings.var_dir / "logs",
        mime_types="/etc/nginx/mime.types",
    )
    target = root / "hotline.conf"
    target.write_text(text, encoding="utf-8")
    return target


def _temp_dir(root: Path) -> Path:
    """Where nginx's workers spool large bodies. Started as root, nginx runs its workers as
    nobody, who cannot reach a private var/ directory: they get their own directory in /tmp."""
    if os.geteuid() != 0:
        temp = root / "temp"
    else:
        digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
        temp = Path(tempfile.gettempdir()) / f"hotline-nginx-{digest}"
    for sub in ("client_body", "proxy"):
        (temp / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(temp / sub, user="nobody")
    if os.geteuid() == 0:
        shutil.chown(temp, user="nobody")
        temp.chmod(0o700)
    return temp


def _url_parts(url: str, what: str) -> tuple[str, int | None, str, str]:
    """(host, port, path without '/', user) of a service URL; a password in it is refused."""
    parts = urlsplit(url)
    if parts.password:
        raise ProfileError(
            f"{what} 的地址里不要写密码（它会出现在配置文件和进程信息里）；"
            f"请改用对应的 *_PASSWORD 环境变量。"
        )
    if not parts.hostname:
        raise ProfileError(f"{what} 的地址无效：{parts.scheme}://…")
    return (
        parts.hostname,
        parts.port,
        unquote(parts.path.lstrip("/")),
        unquote(parts.username or ""),
    )


REDIS_TIMEOUT_SECONDS = 2


def write_production_endpoints(settings: Settings, where: Layout) -> Path:
    """Rasa's endpoints for the profile. Passwords are `${…}` references that Rasa fills from
    its environment when it reads the file, so no secret is written to disk."""
    host, port, db, user = _url_parts(settings.tracker_url, "HOTLINE_TRACKER_URL")
    redis_host, redis_port, redis_db, _ = _url_parts(settings.redis_url, "HOTLINE_REDIS_URL")
    amqp_host, amqp_port, _, amqp_user = _url_parts(settings.amqp_url, "HOTLINE_AMQP_URL")
    endpoints = {
        # Through nginx's internal listener: any action replica serves any Rasa instance.
        "action_endpoint": action_endpoint(
            f"http://{settings.host}:{where.action_balancer}/webhook"
        ),
        "tracker_store": {
            "type": "SQL",
            "dialect": "postgresql",
            "url": host,
            "port": port or 5432,
            "db": db or "hotline_tracker",
            "username": user or "postgres",
            "password": "${HOTLINE_TRACKER_PASSWORD}",
        },
        "lock_store": {
            "type": "redis",
            "url": redis_host,
            "port": redis_port or 6379,
            "db": int(redis_db or 1),
            "password": "${HOTLINE_REDIS_PASSWORD}",
            "key_prefix": "hotline",
            # Rasa's default is 10 s per command (connecting included): a Redis that stopped
            # answering would hold every message that long before the polite answer
            # (rasa_plugins/faults.py); a lock store on the private network answers in milliseconds.
            "socket_timeout": REDIS_TIMEOUT_SECONDS,
        },
        "event_broker": {
            # Rasa's pika broker, every string masked first (phone and ID numbers).
            "type": "rasa_plugins.event_broker.MaskedPikaEventBroker",
            "url": amqp_host,
            "port": amqp_port or 5672,
            "username": amqp_user or "guest",
            "password": "${HOTLINE_AMQP_PASSWORD}",
            "queues": [settings.event_queue],
            # Rasa's default keeps retrying for 100 s and then drops events silently.
            "raise_on_failure": True,
        },
    }
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    target = settings.var_dir / "endpoints-production.yml"
    target.write_text(yaml.safe_dump(endpoints, allow_unicode=True), encoding="utf-8")
    return target


def ensure_database(url: str, password: str, what: str) -> None:
    """Create a PostgreSQL database named by `url` when it is missing. For the tracker store
    this matters most: Rasa would otherwise fall back to a tracker in memory."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    host, db = parts.hostname or "127.0.0.1", unquote(parts.path.lstrip("/"))
    if not db:
        raise ProfileError(f"{what} 缺少数据库名：postgresql://用户@主机:端口/库名")
    try:
        with psycopg.connect(
            host=host,
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or "") or password or None,
            dbname="postgres",
            autocommit=True,
            connect_timeout=5,
        ) as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,))
            if exists.fetchone() is None:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    except psycopg.Error as error:
        raise ProfileError(f"无法连接或创建数据库 {db}（{host}，{what}）：{error}") from error


def event_policy_name(queue: str) -> str:
    return f"hotline-ttl-{queue}"


def ensure_event_ttl(settings: Settings) -> str | None:
    """A bounded life for what Rasa publishes: a RabbitMQ policy giving the event queue a message
    TTL (`event_ttl_days`). Rasa declares the queue itself, so an argument on our own declaration
    would clash with its; a policy is RabbitMQ's way to set it from outside. Set with
    `rabbitmqctl` when the broker runs on this machine and we may run it; otherwise the returned
    sentence says what the operator must do (deploy/README.md)."""
    ttl_ms = int(settings.event_ttl_days * 86_400_000)
    definition = json.dumps({"message-ttl": ttl_ms})
    pattern = f"^{re.escape(settings.event_queue)}$"
    command = [
        "rabbitmqctl", "set_policy", event_policy_name(settings.event_queue),
        pattern, definition, "--apply-to", "queues",
    ]  # fmt: skip
    host = urlsplit(settings.amqp_url).hostname or ""
    ctl = shutil.which("rabbitmqctl") or (
        "/usr/sbin/rabbitmqctl" if Path("/usr/sbin/rabbitmqctl").exists() else None
    )
    how = "在 RabbitMQ 服务器上执行：" + " ".join(shlex.quote(part) for part in command)
    if host not in ("127.0.0.1", "localhost", "::1") or ctl is None:
        return how
    done = subprocess.run(
        [ctl, *command[1:]], capture_output=True, text=True, timeout=60, check=False
    )
    return None if done.returncode == 0 else f"{how}（自动设置失败：{done.stderr.strip()[:200]}）"


def clear_event_ttl(settings: Settings) -> None:
    """Remove the queue's TTL policy (a throw-away profile's queue, e.g. in tests)."""
    ctl = shutil.which("rabbitmqctl") or (
        "/usr/sbin/rabbitmqctl" if Path("/usr/sbin/rabbitmqctl").exists() else None
    )
    if ctl is not None:
        subprocess.run(
            [ctl, "clear_policy", event_policy_name(settings.event_queue)],
            capture_output=True,
            timeout=60,
            check=False,
        )


def prepare(settings: Settings) -> None:
    """Before the first start: both PostgreSQL databases exist (the ticket schema is then
    migrated by the caller, as in the default profile) and the event queue has its TTL.

    Refused without a retention period: a deployment keeps what citizens said, their numbers
    and names only as long as it decided to (bot/privacy/retention.py), never forever by
    default."""
    if settings.retention_days < 1:
        raise ProfileError(
            "生产配置必须设置个人信息保存期限：请设置 HOTLINE_RETENTION_DAYS=天数（例如 180），"
            "超过期限的工单、对话记录和 Rasa 对话事件中的个人信息会被自动清除。"
        )
    if not settings.database_url.startswith("postgresql"):
        raise ProfileError(
            "生产配置的工单库必须是 PostgreSQL：请设置 HOTLINE_DATABASE_URL=postgresql://…"
        )
    ensure_database(settings.database_url, "", "HOTLINE_DATABASE_URL")
    ensure_database(settings.tracker_url, settings.tracker_password, "HOTLINE_TRACKER_URL")
    todo = ensure_event_ttl(settings)
    if todo:
        print(f"注意：Rasa 事件队列 {settings.event_queue} 还没有保存期限。{todo}", file=sys.stderr)


def production_env(settings: Settings, where: Layout) -> dict[str, str]:
    env = service_env(settings)
    env.update(
        {
            "HOTLINE_PROFILE": "production",
            # Each web replica keeps its share of the enterprise API's rate limit.
            "HOTLINE_WEB_REPLICAS": str(settings.web_replicas),
            # Every web replica reaches Rasa through the internal balancer.
            "HOTLINE_RASA_URL": f"http://{settings.host}:{where.rasa_balancer}",
            "HOTLINE_TRACKER_PASSWORD": settings.tracker_password,
            "HOTLINE_REDIS_PASSWORD": settings.redis_password,
            "HOTLINE_AMQP_PASSWORD": settings.amqp_password,
            # The web replicas see nginx as their client: believe its X-Forwarded-For.
            "HOTLINE_TRUSTED_PROXIES": settings.host,
        }
    )
    return env


def build_production_services(
    settings: Settings, model: Path, *, with_web: bool = True
) -> list[Service]:
    prepare(settings)
    where = layout(settings)
    nginx = nginx_executable()
    config = render_nginx(settings, where)
    endpoints = write_production_endpoints(settings, where)
    env = production_env(settings, where)
    services = [
        Service(
            name="nginx",
            command=[nginx, "-p", str(config.parent), "-c", str(config), "-g", "daemon off;"],
            env=env,
            ready_url=f"http://{settings.host}:{where.public_port}/nginx-health",
            log_path=settings.var_dir / "logs" / "nginx.log",
        )
    ]
    services += [
        action_service(settings, env, port, f"action server {i + 1}")
        for i, port in enumerate(where.action_ports)
    ]
    services += [
        rasa_service(settings, env, port, f"Rasa server {i + 1}", model=model, endpoints=endpoints)
        for i, port in enumerate(where.rasa_ports)
    ]
    if with_web:
        services += [
            web_service(settings, env, port, f"web service {i + 1}")
            for i, port in enumerate(where.web_ports)
        ]
    return services
