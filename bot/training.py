"""Training the Rasa model only when something that shapes it changed.

The fingerprint covers everything `rasa train` reads (config, domain, training data, our NLU
components) and the Rasa lock file; the model file is named after it, so finding the file is the
cache check, and a test run reuses the model a previous run trained from the same inputs.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

from bot.config import PROJECT_ROOT

RASA_VENV = Path(os.environ.get("HOTLINE_RASA_VENV") or PROJECT_ROOT / ".venv-rasa")

# What shapes a trained model. data/hotline/ (routing tables) is read by the actions, not by Rasa,
# except the typo table: the normaliser applies it to the training data too.
FINGERPRINT_INPUTS = (
    "config.yml",
    "domain.yml",
    "data",
    "data/hotline/typos.yml",
    "rasa_plugins/nlu",
    "bot/domain",
    "requirements/rasa.lock",
)
NOT_TRAINING_DATA = ("data/hotline",)


def rasa_executable() -> Path:
    path = RASA_VENV / "bin" / "rasa"
    if not path.exists():
        raise SystemExit(f"找不到 Rasa 环境（{path}）。请先运行 `make setup`。")
    return path


def rasa_serve_command() -> list[str]:
    """`rasa` for serving: rasa_plugins/serve.py adds `--auth-token` from HOTLINE_RASA_TOKEN inside
    the process, so the token is never on a command line (`ps` shows those to every user)."""
    return [str(rasa_executable().with_name("python")), "-m", "rasa_plugins.serve"]


def rasa_env() -> dict[str, str]:
    """Environment for every Rasa process: no telemetry calls out, quiet TensorFlow."""
    env = dict(os.environ)
    env.update(
        {
            "RASA_TELEMETRY_ENABLED": "false",
            # Rasa 3.6 restores components from its training cache by fingerprints that miss
            # some config changes (seen: DIET restored after the featurizer config changed).
            "RASA_MAX_CACHE_SIZE": "0",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONWARNINGS": "ignore",
            "PYTHONPATH": str(PROJECT_ROOT),
        }
    )
    return env


def _files(root: Path) -> list[Path]:
    files: list[Path] = []
    for entry in FINGERPRINT_INPUTS:
        path = root / entry
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(root).as_posix()
                if (
                    child.is_file()
                    and "__pycache__" not in child.parts
                    and not relative.startswith(NOT_TRAINING_DATA)
                ):
                    files.append(child)
    return files


def fingerprint(root: Path = PROJECT_ROOT) -> str:
    digest = hashlib.sha256()
    for path in _files(root):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_path(models_dir: Path) -> Path:
    return models_dir / f"hotline-{fingerprint()}.tar.gz"


def ensure_model(models_dir: Path, *, force: bool = False, quiet: bool = False) -> Path:
    """The model for the current inputs, training it first when it does not exist yet."""
    target = model_path(models_dir)
    if target.exists() and not force:
        if not quiet:
            print(f"模型已是最新（{target.name}），无需重新训练。")
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    if not quiet:
        print(f"训练模型 → {target.name} …", flush=True)
    started = time.monotonic()
    command = [
        str(rasa_executable()),
        "train",
        "--config",
        "config.yml",
        "--domain",
        "domain.yml",
        "--data",
        "data",
        "--out",
        str(models_dir),
        "--fixed-model-name",
        target.name.removesuffix(".tar.gz"),
    ]
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, env=rasa_env(), capture_output=True, text=True, check=False
    )
    if result.returncode != 0 or not target.exists():
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"模型训练失败（rasa train 退出码 {result.returncode}）。")
    if not quiet:
        print(f"训练完成，用时 {time.monotonic() - started:.0f} 秒。")
    _prune(models_dir, keep=target)
    return target


def _prune(models_dir: Path, keep: Path, how_many: int = 3) -> None:
    """Keep the newest few models (a branch switch back should not retrain), delete the rest."""
    models = sorted(
        models_dir.glob("hotline-*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for old in models[how_many:]:
        if old != keep:
            old.unlink(missing_ok=True)
