"""A throw-away run of either profile for a proof or a test: free ports, fresh databases, and
everything removed afterwards (the ticket and tracker databases dropped, RabbitMQ's event queue
deleted).

`running_profile("production", model)` starts exactly what `hotline run --profile production`
starts (bot/ops/production.py: nginx, two web replicas, two Rasa servers on a PostgreSQL tracker
store with Redis locks and a RabbitMQ broker, two action servers) on a block of free ports, with
both PostgreSQL databases fresh on `postgres` (the machine's server by default; a private one
for the PostgreSQL-restart proof). `running_profile("default", model)` is the one-of-each
profile on SQLite in a temporary folder. tests/production_support.py and tools/proofs/load.py
share it, so the suite runs what the proof measures.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.ops.production import clear_event_ttl
from bot.ops.profiles import build_services
from bot.ops.supervisor import Service, Stack, free_port
from bot.store.migrate import upgrade
from bot.training import rasa_executable

MACHINE_POSTGRES = "postgresql://postgres@127.0.0.1:5432"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def port_block(size: int) -> int:
    """A port p with p … p+size-1 all free on 127.0.0.1 (a balancer and its replicas)."""
    for _ in range(200):
        base = free_port()
        if base + size >= 65535:
            continue
        free = True
        for port in range(base, base + size):
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    free = False
                    break
        if free:
            return base
    raise RuntimeError("no block of free ports")


def _admin(server: str) -> Any:
    import psycopg

    return psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=10)


def create_database(server: str, name: str) -> None:
    from psycopg import sql

    with _admin(server) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(server: str, name: str) -> None:
    from psycopg import sql

    with _admin(server) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


_QUEUE_SCRIPT = """
import asyncio, json, sys, aio_pika
async def main(name, keep):
    connection = await aio_pika.connect_robust(sys.argv[3])
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(name, durable=True)
        events, count = [], 0
        while True:
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                break
            count += 1
            if keep:
                events.append(json.loads(message.body))
        await queue.delete(if_unused=False, if_empty=False)
        print(json.dumps({"events": events, "count": count}))
asyncio.run(main(sys.argv[1], sys.argv[2] == "keep"))
"""


def drain_event_queue(queue: str, *, keep: bool = True) -> dict[str, Any]:
    """Read RabbitMQ's event queue to the end and delete it ({"events": [...], "count": n}).
    With aio-pika from the Rasa environment: the service environment has no AMQP client."""
    python = rasa_executable().with_name("python")
    done = subprocess.run(
        [str(python), "-c", _QUEUE_SCRIPT, queue, "keep" if keep else "count", AMQP_URL],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@dataclass
class RunningProfile:
    """A started profile: its settings, its processes, and the URL people use."""

    settings: Settings
    stack: Stack
    ticket_db: str = ""
    tracker_db: str = ""
    postgres: str = ""

    @property
    def public_url(self) -> str:
        """nginx's public port in production, the web service's port by default."""
        return self.settings.web_url

    def rasa_servers(self) -> list[Service]:
        return [s for s in self.stack.services if s.name.startswith("Rasa server")]

    def service(self, name: str) -> Service:
        return next(s for s in self.stack.services if s.name == name)


# The production profile refuses to start without a retention period (bot/production.prepare).
PROFILE_RETENTION_DAYS = 180


@contextmanager
def running_profile(
    profile: str,
    model: Path,
    *,
    postgres: str = MACHINE_POSTGRES,
    var_dir: Path | None = None,
    timeout: float = 240,
    **overrides: Any,
) -> Iterator[RunningProfile]:
    """Start `profile` ("production" or "default") on free ports with fresh databases; stop it
    and remove what it made on exit. `overrides` are Settings fields (e.g. sweep_seconds)."""
    work = var_dir or Path(tempfile.mkdtemp(prefix=f"hotline-{profile}-"))
    suffix = uuid.uuid4().hex[:10]
    ticket_db = tracker_db = ""
    if profile == "production":
        ticket_db, tracker_db = f"hotline_prod_{suffix}", f"hotline_prod_tracker_{suffix}"
        create_database(postgres, ticket_db)  # the tracker database is made by the profile
        settings = Settings(
            rasa_port=port_block(3),
            action_port=port_block(3),
            web_port=port_block(3),
            var_dir=work,
            database_url=f"{postgres}/{ticket_db}",
            tracker_url=f"{postgres}/{tracker_db}",
            event_queue=f"hotline_test_{suffix}",
            profile="production",
            retention_days=PROFILE_RETENTION_DAYS,
        )
    else:
        settings = Settings(
            rasa_port=free_port(), action_port=free_port(), web_port=free_port(), var_dir=work
        )
    settings = replace(settings, **{"sweep_seconds": 0, **overrides})
    stack: Stack | None = None
    try:
        upgrade(settings.database_url)
        stack = Stack(build_services(settings, model))
        stack.start(timeout=timeout)
        yield RunningProfile(settings, stack, ticket_db, tracker_db, postgres)
    finally:
        if stack is not None:
            stack.stop()
        if profile == "production":
            drain_event_queue(settings.event_queue, keep=False)
            clear_event_ttl(settings)  # the throw-away queue's policy
            drop_database(postgres, ticket_db)
            drop_database(postgres, tracker_db)
        if var_dir is None:
            shutil.rmtree(work, ignore_errors=True)
