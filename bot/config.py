"""Settings, read once from environment variables with safe local defaults.

Every process (CLI, action server, web service, tests) gets its configuration from here, so a
port or database URL is defined in exactly one place.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    rasa_port: int = 5005
    action_port: int = 5055
    web_port: int = 8080
    var_dir: Path = PROJECT_ROOT / "var"
    models_dir: Path = PROJECT_ROOT / "models"
    database_url: str = ""
    rasa_url: str = ""
    # Rasa's HTTP API (`--auth-token`): every call but the REST channel's webhook needs it. Empty:
    # a fresh token per run (`hotline run`, a test session), handed to the processes it starts
    # by HOTLINE_RASA_TOKEN. Kept out of repr() so it never reaches a log line.
    rasa_token: str = field(default="", repr=False)
    # Proxies whose X-Forwarded-For is believed (bot/web/security.client_ip): their addresses.
    trusted_proxies: tuple[str, ...] = ()
    # How often the web service checks deadlines (automatic 催办/督办); 0 turns it off.
    sweep_seconds: int = 300
    # How often the web service looks for answered tickets to tell their person about, and how
    # often an open SSE stream re-reads the record (messages pushed by another replica); 0: off.
    notice_poll_seconds: float = 3.0
    # WeChat Official Account channel (bot/web/wechat.py): on only when token, appid and secret are
    # all set. The token and secret are kept out of repr() so they never reach a log line.
    wechat_token: str = field(default="", repr=False)
    wechat_appid: str = ""
    wechat_secret: str = field(default="", repr=False)
    wechat_api_base: str = "https://api.weixin.qq.com/cgi-bin/"
    # WeChat waits 5 s for the passive reply; an answer not ready by then goes out through the
    # customer-service message API instead.
    wechat_deadline_seconds: float = 4.5
    # 安全模式: the account's EncodingAESKey (43 characters). Set, every pushed message must come
    # encrypted with a msg_signature over its ciphertext and passive replies go out encrypted; the
    # production setting (docs/wechat.md). Empty: plaintext mode, where the signature does not
    # cover the body and only the replay window stands between a logged URL and a forged message.
    wechat_aes_key: str = field(default="", repr=False)
    # Template message (模板消息) that tells a person their ticket was answered once WeChat's
    # 48-hour customer-service window has closed; its fields: data/hotline/wechat_templates.yml.
    wechat_answer_template: str = ""
    # First retry of a template message WeChat did not take; doubled on each further attempt.
    wechat_template_retry_seconds: float = 30.0
    # Enterprise API (bot/web/enterprise_*.py): HMAC key for token hashes and session cookies
    # (empty: a random key kept in var/enterprise.key); per-token rate limit as a token bucket.
    enterprise_key: str = field(default="", repr=False)
    # Key of the access codes' (提取码) keyed hashes (bot/privacy/keys.py); empty: a random
    # key kept in var/access-code.key. Every process that files or checks tickets needs the same.
    access_code_key: str = field(default="", repr=False)
    enterprise_rate_burst: int = 60
    enterprise_rate_per_second: float = 2.0

    # "default": one of each process, SQLite. "production" (bot/ops/production.py, deploy/README.md):
    # PostgreSQL for tickets and Rasa's trackers, Redis locks, RabbitMQ events, replicas behind
    # nginx; the URLs below carry no password — passwords come from the *_PASSWORD variables.
    profile: str = "default"
    tracker_url: str = "postgresql://postgres@127.0.0.1:5432/hotline_tracker"
    tracker_password: str = field(default="", repr=False)
    redis_url: str = "redis://127.0.0.1:6379/1"
    redis_password: str = field(default="", repr=False)
    amqp_url: str = "amqp://guest@127.0.0.1:5672/"
    amqp_password: str = field(default="guest", repr=False)
    event_queue: str = "hotline_rasa_events"
    # How long RabbitMQ keeps a published event nobody consumed (a queue policy, bot/ops/production.py).
    event_ttl_days: float = 7
    rasa_replicas: int = 2
    action_replicas: int = 2
    web_replicas: int = 2

    # Operator console retention (bot/privacy/retention.py): personal data of tickets older than
    # this many days is blanked by the web service once per `retention_every_seconds`; 0: off.
    retention_days: int = 0
    retention_every_seconds: int = 86400
    # How often the web service asks the current model about recent tickets and quiet
    # conversations for the console's 待复核 flags (bot/web/console/review_task.py); 0: off.
    review_every_seconds: int = 3600

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.var_dir / 'hotline.db'}")
        if not self.rasa_url:
            object.__setattr__(self, "rasa_url", f"http://{self.host}:{self.rasa_port}")
        if self.profile not in ("default", "production"):
            raise SystemExit(f"HOTLINE_PROFILE must be default or production, got {self.profile!r}")
        if not self.rasa_token:
            object.__setattr__(self, "rasa_token", secrets.token_urlsafe(32))

    @property
    def wechat_enabled(self) -> bool:
        return bool(self.wechat_token and self.wechat_appid and self.wechat_secret)

    @property
    def rasa_auth(self) -> dict[str, str]:
        """Query parameters for a call to Rasa's HTTP API: Rasa reads the token only from
        `?token=` (or a JWT). Pass them as `params=`, never build them into a logged URL."""
        return {"token": self.rasa_token}

    @property
    def action_url(self) -> str:
        return f"http://{self.host}:{self.action_port}/webhook"

    @property
    def web_url(self) -> str:
        return f"http://{self.host}:{self.web_port}"

    @property
    def tracker_store_url(self) -> str:
        """Rasa's tracker store as an SQLAlchemy URL for our own maintenance (retention): the
        SQLite file by default, the production profile's PostgreSQL database with its password
        (kept in memory: never print or log this URL)."""
        if self.profile != "production":
            return f"sqlite:///{self.tracker_db}"
        if not self.tracker_password:
            return self.tracker_url
        from urllib.parse import quote, urlsplit, urlunsplit

        parts = urlsplit(self.tracker_url)
        user = parts.username or "postgres"
        netloc = f"{user}:{quote(self.tracker_password, safe='')}@{parts.hostname}"
        netloc += f":{parts.port}" if parts.port else ""
        return urlunsplit(parts._replace(netloc=netloc))

    @property
    def tracker_db(self) -> Path:
        """Rasa's conversation store: its own SQLite file, so Rasa's SQLAlchemy 1.4 and our
        SQLAlchemy 2 never write the same file."""
        return self.var_dir / "tracker.db"


def load_settings() -> Settings:
    var_dir = Path(os.environ.get("HOTLINE_VAR_DIR") or PROJECT_ROOT / "var")
    return Settings(
        host=os.environ.get("HOTLINE_HOST", "127.0.0.1"),
        rasa_port=_int("HOTLINE_RASA_PORT", 5005),
        action_port=_int("HOTLINE_ACTION_PORT", 5055),
        web_port=_int("HOTLINE_WEB_PORT", 8080),
        var_dir=var_dir,
        models_dir=Path(os.environ.get("HOTLINE_MODELS_DIR") or PROJECT_ROOT / "models"),
        database_url=os.environ.get("HOTLINE_DATABASE_URL", ""),
        rasa_url=os.environ.get("HOTLINE_RASA_URL", ""),
        rasa_token=os.environ.get("HOTLINE_RASA_TOKEN", ""),
        trusted_proxies=tuple(
            p.strip() for p in os.environ.get("HOTLINE_TRUSTED_PROXIES", "").split(",") if p.strip()
        ),
        sweep_seconds=_int("HOTLINE_SWEEP_SECONDS", 300),
        retention_days=_int("HOTLINE_RETENTION_DAYS", 0),
        retention_every_seconds=_int("HOTLINE_RETENTION_EVERY_SECONDS", 86400),
        review_every_seconds=_int("HOTLINE_REVIEW_EVERY_SECONDS", 3600),
        notice_poll_seconds=_float("HOTLINE_NOTICE_POLL_SECONDS", 3.0),
        wechat_token=os.environ.get("HOTLINE_WECHAT_TOKEN", ""),
        wechat_appid=os.environ.get("HOTLINE_WECHAT_APPID", ""),
        wechat_secret=os.environ.get("HOTLINE_WECHAT_SECRET", ""),
        wechat_api_base=os.environ.get("HOTLINE_WECHAT_API_BASE")
        or "https://api.weixin.qq.com/cgi-bin/",
        wechat_deadline_seconds=_float("HOTLINE_WECHAT_DEADLINE_SECONDS", 4.5),
        wechat_aes_key=os.environ.get("HOTLINE_WECHAT_AES_KEY", ""),
        wechat_answer_template=os.environ.get("HOTLINE_WECHAT_ANSWER_TEMPLATE", ""),
        wechat_template_retry_seconds=_float("HOTLINE_WECHAT_TEMPLATE_RETRY_SECONDS", 30.0),
        enterprise_key=os.environ.get("HOTLINE_ENTERPRISE_KEY", ""),
        access_code_key=os.environ.get("HOTLINE_ACCESS_CODE_KEY", ""),
        profile=os.environ.get("HOTLINE_PROFILE") or "default",
        tracker_url=os.environ.get("HOTLINE_TRACKER_URL") or Settings.tracker_url,
        tracker_password=os.environ.get("HOTLINE_TRACKER_PASSWORD", ""),
        redis_url=os.environ.get("HOTLINE_REDIS_URL") or Settings.redis_url,
        redis_password=os.environ.get("HOTLINE_REDIS_PASSWORD", ""),
        amqp_url=os.environ.get("HOTLINE_AMQP_URL") or Settings.amqp_url,
        amqp_password=os.environ.get("HOTLINE_AMQP_PASSWORD") or Settings.amqp_password,
        event_queue=os.environ.get("HOTLINE_EVENT_QUEUE") or Settings.event_queue,
        event_ttl_days=_float("HOTLINE_EVENT_TTL_DAYS", 7),
        rasa_replicas=_int("HOTLINE_RASA_REPLICAS", 2),
        action_replicas=_int("HOTLINE_ACTION_REPLICAS", 2),
        web_replicas=_int("HOTLINE_WEB_REPLICAS", 2),
        enterprise_rate_burst=_int("HOTLINE_ENTERPRISE_RATE_BURST", 60),
        enterprise_rate_per_second=_float("HOTLINE_ENTERPRISE_RATE_PER_SECOND", 2.0),
    )
