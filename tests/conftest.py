"""Shared fixtures: fresh databases, the trained model (once per run), the real running stack."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import requests
from sqlalchemy import Engine

from bot.config import PROJECT_ROOT, Settings
from bot.domain import internal_auth
from bot.ops.profiles import build_services
from bot.ops.supervisor import Stack, free_port
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import upgrade
from bot.tickets.service import TicketService
from bot.training import ensure_model

# Fixtures shared by several test modules, kept beside the helpers they use.
pytest_plugins = ["tests.console_support"]

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REAL_EVAL_SET = PROJECT_ROOT.parent / "shared" / "eval" / "real-complaints-dev.jsonl"

# One access-code key for the test process and every stack it starts (they inherit the
# environment): a ticket filed by a stack is looked up in-process and the other way round, and
# nothing is written to the checkout's var/. tests/test_secret_keys.py covers the var/ file.
os.environ.setdefault("HOTLINE_ACCESS_CODE_KEY", uuid.uuid4().hex + uuid.uuid4().hex)


def require(available: bool, how_to_get_it: str) -> None:
    """A test that needs something from outside the checkout: skip with a sentence saying how to
    get it — but under CI=true everything is required, so the same sentence fails the test."""
    if available:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(how_to_get_it)
    pytest.skip(how_to_get_it)


def require_real_eval_set() -> None:
    require(
        REAL_EVAL_SET.exists(),
        f"{REAL_EVAL_SET} is missing: put the project's shared/ folder beside the checkout "
        "(../shared/eval/real-complaints-dev.jsonl) to run this test.",
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh, empty SQLite database file for one test."""
    return f"sqlite:///{tmp_path / 'tickets.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    name = f"hotline_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True
        )
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is required for this test: {exc}")
    with admin:
        admin.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
        try:
            yield f"postgresql://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each ticket-store test runs on both backends."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def service(engine: Engine) -> TicketService:
    return TicketService(make_session_factory(engine))


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The model for the current data, trained at most once per run (cached by fingerprint)."""
    return ensure_model(PROJECT_ROOT / "models", quiet=True)


@dataclass
class RunningStack:
    settings: Settings
    engine: Engine

    def say(self, sender: str, text: str) -> list[dict]:
        response = requests.post(
            f"{self.settings.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            headers=internal_auth.headers(self.settings.rasa_token),
            timeout=60,
        )
        response.raise_for_status()
        return list(response.json())

    def parse(self, text: str) -> dict:
        """Rasa's `/model/parse` of one text (the NLU alone, behind the API token)."""
        response = requests.post(
            f"{self.settings.rasa_url}/model/parse",
            params=self.settings.rasa_auth,
            json={"text": text},
            timeout=30,
        )
        response.raise_for_status()
        return dict(response.json())


@pytest.fixture(scope="session")
def stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The real Rasa server, action server and web service on free ports, with their own SQLite."""
    var_dir = tmp_path_factory.mktemp("stack-var")
    settings = Settings(
        rasa_port=free_port(),
        action_port=free_port(),
        web_port=free_port(),
        var_dir=var_dir,
        # Deadlines are moved by hand in conversation tests; `hotline sweep` is tested apart.
        sweep_seconds=0,
    )
    upgrade(settings.database_url)
    running = Stack(build_services(settings, trained_model))
    running.start()
    engine = make_engine(settings.database_url)
    try:
        yield RunningStack(settings=settings, engine=engine)
    finally:
        engine.dispose()
        running.stop()
