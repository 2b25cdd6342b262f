"""The deployment's secret keys: enterprise API tokens and ticket access codes (提取码).

Each key comes from its environment variable when set (several machines must share it), else
from a random key made once in the var directory (0600), so every process of one deployment —
web replicas, action servers, the CLI — agrees on it without configuration. The keys live
outside the database on purpose: a copied database alone cannot check a guessed token or code.
Losing a key makes the stored hashes uncheckable, so back the var directory up with the data.
"""

from __future__ import annotations

import functools
import os
import secrets
from pathlib import Path

ENTERPRISE_KEY_FILE = "enterprise.key"
ACCESS_CODE_KEY_FILE = "access-code.key"


def load_or_create_key(
    var_dir: Path, configured: str = "", file_name: str = ENTERPRISE_KEY_FILE
) -> bytes:
    """`configured` when set, else the key kept in `var_dir/file_name`, made on first use."""
    if configured:
        return configured.encode("utf-8")
    path = var_dir / file_name
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex())
    return key


def access_code_key() -> bytes:
    """The key of access-code hashes: HOTLINE_ACCESS_CODE_KEY, else var/access-code.key of this
    process's settings (HOTLINE_VAR_DIR). Read once per process."""
    from bot.config import load_settings

    settings = load_settings()
    return _access_code_key(settings.var_dir, settings.access_code_key)


@functools.cache
def _access_code_key(var_dir: Path, configured: str) -> bytes:
    return load_or_create_key(var_dir, configured, ACCESS_CODE_KEY_FILE)
