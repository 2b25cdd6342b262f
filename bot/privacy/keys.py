"""The deployment's secret keys: enterprise API tokens and ticket access codes (提取码).

Each key comes from its environment variable when set (several machines must share it), else
from a random key made once in the var directory (0600), so every process of one deployment —
web replicas, action servers, the CLI — agrees on it without configuration. The keys live
outside the database on purpose: a copied database alone cannot check a guessed token or code.
Losing a key makes the stored hashes uncheckable, so back the var directory up with the data.

A key shorter than MIN_KEY_BYTES is refused wherever it comes from: an HMAC under an empty or
short key is a hash anyone can compute. The file is never seen half-written: the key goes to a
temporary file, is flushed to disk, and is then linked into place — which fails if another
process (a second replica starting at the same moment) linked its own first; that one wins and
everyone reads it. A full disk fails the write before anything is in place.
"""

from __future__ import annotations

import functools
import os
import secrets
from pathlib import Path

ENTERPRISE_KEY_FILE = "enterprise.key"
ACCESS_CODE_KEY_FILE = "access-code.key"


MIN_KEY_BYTES = 32
# Where each key can be set instead of its file, for the messages below.
_VARIABLES = {
    ENTERPRISE_KEY_FILE: "HOTLINE_ENTERPRISE_KEY",
    ACCESS_CODE_KEY_FILE: "HOTLINE_ACCESS_CODE_KEY",
}


class UnusableKey(ValueError):
    """A configured or stored key that must not be used; the message says what to do."""


def load_or_create_key(
    var_dir: Path, configured: str = "", file_name: str = ENTERPRISE_KEY_FILE
) -> bytes:
    """`configured` when set, else the key kept in `var_dir/file_name`, made on first use.

    Raises UnusableKey for a key under MIN_KEY_BYTES (configured or in the file) or a file that
    is not a key; the process should not start with it."""
    variable = _VARIABLES.get(file_name, "the key's variable")
    if configured:
        key = configured.encode("utf-8")
        if len(key) < MIN_KEY_BYTES:
            raise UnusableKey(
                f"{variable} is {len(key)} bytes long; a key must be at least {MIN_KEY_BYTES} "
                f"bytes (e.g. python -c 'import secrets; print(secrets.token_hex(32))')."
            )
        return key
    path = var_dir / file_name
    stored = _read_key_file(path, variable)
    if stored is not None:
        return stored
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(MIN_KEY_BYTES)
    if _publish(path, key.hex()):
        return key
    # Another process linked its key first: that one is the deployment's.
    stored = _read_key_file(path, variable)
    if stored is None:
        raise UnusableKey(f"{path} vanished while it was being made; start the process again.")
    return stored


def _read_key_file(path: Path, variable: str) -> bytes | None:
    """The key in `path`, None when there is no file; UnusableKey when it is not a usable key."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (UnicodeDecodeError, OSError) as error:
        raise UnusableKey(f"{path} cannot be read as a key ({error}).") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < MIN_KEY_BYTES:
        # An empty file is what an interrupted first start or a full disk left behind: hashes
        # made since then used an empty key. Never overwritten here — the operator decides.
        raise UnusableKey(
            f"{path} does not hold a key of at least {MIN_KEY_BYTES} bytes "
            f"({len(text)} characters). Restore it from the backup of var/; if nothing was "
            f"made with it yet, delete it and a new key is made; or set {variable}."
        )
    return key


def _publish(path: Path, text: str) -> bool:
    """Write `text` to `path` only if `path` does not exist, never leaving it partial.

    True when this call put it there, False when another process had. A rename would replace
    a key another replica is already using, so the complete file is hard-linked into place
    (link fails when the name exists, like O_EXCL, but with the content already on disk)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            data = text.encode("ascii")
            while data:
                data = data[os.write(fd, data) :]
            os.fsync(fd)
        except OSError as error:  # a full disk: nothing was put in place
            raise UnusableKey(f"{path} could not be written ({error}).") from error
        finally:
            os.close(fd)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        _sync_directory(path.parent)
        return True
    finally:
        temporary.unlink(missing_ok=True)


def _sync_directory(directory: Path) -> None:
    """The new name survives a power cut (the file's own fsync does not cover its entry)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_keys(var_dir: Path, enterprise_key: str, access_code_key: str) -> None:
    """Both keys of the deployment, read (or made) before any process starts, so a short or
    empty key stops `hotline run` with its message instead of failing a person's filing."""
    load_or_create_key(var_dir, enterprise_key, ENTERPRISE_KEY_FILE)
    load_or_create_key(var_dir, access_code_key, ACCESS_CODE_KEY_FILE)


def access_code_key() -> bytes:
    """The key of access-code hashes: HOTLINE_ACCESS_CODE_KEY, else var/access-code.key of this
    process's settings (HOTLINE_VAR_DIR). Read once per process."""
    from bot.config import load_settings

    settings = load_settings()
    return _access_code_key(settings.var_dir, settings.access_code_key)


@functools.cache
def _access_code_key(var_dir: Path, configured: str) -> bytes:
    return load_or_create_key(var_dir, configured, ACCESS_CODE_KEY_FILE)
