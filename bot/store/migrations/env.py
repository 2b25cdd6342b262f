"""Alembic environment: the URL comes from the caller (hotline db upgrade) or HOTLINE_DATABASE_URL."""

from __future__ import annotations

from alembic import context

from bot.config import load_settings
from bot.store.db import make_engine
from bot.store.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or load_settings().database_url


def run_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=Base.metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
