"""The production profile for a test: what it needs from the machine (required with a how-to
sentence) and a running profile on free ports with fresh PostgreSQL databases, removed after
(tools/proofs/profile_stack.py — the same start-up the load proof measures)."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import require
from tools.proofs.profile_stack import MACHINE_POSTGRES, RunningProfile, running_profile

RABBIT = ("127.0.0.1", 5672)
REDIS = ("127.0.0.1", 6379)


def listening(address: tuple[str, int]) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(address) == 0


def require_production_services() -> None:
    """nginx, Redis and RabbitMQ, or skip (fail under CI) saying how to get them."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    require(
        bool(nginx), "需要 nginx：sudo apt-get install -y nginx（make test 以 root 运行时自动安装）"
    )
    require(
        listening(REDIS), "需要 Redis 在 127.0.0.1:6379（Debian: apt-get install redis-server）"
    )
    require(
        listening(RABBIT),
        "需要 RabbitMQ 在 127.0.0.1:5672（Debian: apt-get install rabbitmq-server）",
    )


@contextmanager
def production_profile(
    model: Path, var_dir: Path, *, postgres: str = MACHINE_POSTGRES, **settings: Any
) -> Iterator[RunningProfile]:
    """The production profile, started after checking what it needs."""
    require_production_services()
    with running_profile("production", model, postgres=postgres, var_dir=var_dir, **settings) as p:
        yield p
