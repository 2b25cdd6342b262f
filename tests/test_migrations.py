"""The Alembic migrations build everything the models describe (no column, table or index left
to a later `create_all`), on SQLite and PostgreSQL. The database holds more than the models
declare — query indexes and two tables used through Core (lookup failures, periodic rounds) —
so only what would have to be *added* or *changed* counts."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.store.db import make_engine
from bot.store.migrate import upgrade
from bot.store.models import Base


def test_migrations_match_the_models(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    missing = [d for d in differences if not (isinstance(d, tuple) and d[0].startswith("remove_"))]
    assert missing == []
