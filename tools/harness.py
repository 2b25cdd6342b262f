"""A throw-away stack for a measurement: Rasa and the action server (and the web service if
asked) on free ports with a fresh database and tracker in a temporary folder, removed after."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.config import PROJECT_ROOT, Settings
from bot.ops.profiles import build_services
from bot.ops.supervisor import Stack, free_port
from bot.store.migrate import upgrade
from bot.training import ensure_model


@contextmanager
def own_stack(prefix: str, *, with_web: bool = True) -> Iterator[Settings]:
    work = Path(tempfile.mkdtemp(prefix=prefix))
    stack: Stack | None = None
    try:
        settings = Settings(
            rasa_port=free_port(),
            action_port=free_port(),
            web_port=free_port(),
            var_dir=work,
            sweep_seconds=0,
        )
        upgrade(settings.database_url)
        model = ensure_model(PROJECT_ROOT / "models")
        stack = Stack(build_services(settings, model, with_web=with_web))
        what = (
            "Rasa, the action server and the web service"
            if with_web
            else "Rasa and the action server"
        )
        print(f"starting {what} …", flush=True)
        stack.start()
        yield settings
    finally:
        if stack is not None:
            stack.stop()
        shutil.rmtree(work, ignore_errors=True)
