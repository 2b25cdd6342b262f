"""The processes a profile runs: the default one (one of each, SQLite) or production's."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.ops.production import build_production_services
from bot.ops.supervisor import Service, default_services


def build_services(settings: Settings, model: Path, *, with_web: bool = True) -> list[Service]:
    """Every process of the settings' profile, in the order the supervisor starts them."""
    if settings.profile == "production":
        return build_production_services(settings, model, with_web=with_web)
    return default_services(settings, model, with_web=with_web)
