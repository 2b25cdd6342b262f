#!/usr/bin/env bash
# Creates the two environments from the committed lock files.
#
# Rasa 3.6 needs Python 3.10 and pins old libraries (SQLAlchemy <1.5, aiohttp <3.10,
# packaging <21), so it lives in .venv-rasa; everything else (action server, web service,
# database, tests) lives in .venv on Python 3.11. Re-running is cheap: an environment is
# reinstalled only when its lock file (or pyproject.toml) changed since the last install.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

UV_VERSION="0.13.9"
SERVICE_VENV="${HOTLINE_SERVICE_VENV:-$ROOT/.venv}"
RASA_VENV="${HOTLINE_RASA_VENV:-$ROOT/.venv-rasa}"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] %s\n' "$*" >&2; exit 1; }

# find_python 3.10 -> prints a path to an interpreter of exactly that minor version.
find_python() {
  local want="$1" cand
  local -a cands=("python$want")
  [ "$want" = "3.11" ] && cands+=("python3")
  for cand in "${cands[@]}"; do
    if command -v "$cand" >/dev/null 2>&1; then
      if [ "$("$cand" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]; then
        "$cand" -c 'import sys; print(sys.executable)'
        return 0
      fi
    fi
  done
  for cand in "$HOME"/.pyenv/versions/"$want".*/bin/python"$want"; do
    if [ -x "$cand" ]; then
      echo "$cand"
      return 0
    fi
  done
  return 1
}

stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

PY311="$(find_python 3.11)" || die "Python 3.11 is missing: install it (e.g. 'pyenv install 3.11') so that python3.11 is on PATH, then run this again."
PY310="$(find_python 3.10)" || die "Python 3.10 is missing (Rasa 3.6 needs it): install it with 'pyenv install 3.10' or your package manager so that python3.10 is on PATH or under ~/.pyenv/versions/, then run this again."

# --- service environment -------------------------------------------------------------
want="$(stamp_of requirements/service.lock pyproject.toml scripts/setup.sh; echo "$UV_VERSION $PY311")"
if [ "$(cat "$SERVICE_VENV/.hotline-stamp" 2>/dev/null)" != "$want" ]; then
  say "service environment ($PY311) → $SERVICE_VENV"
  [ -x "$SERVICE_VENV/bin/python" ] || "$PY311" -m venv "$SERVICE_VENV"
  "$SERVICE_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  UV="$SERVICE_VENV/bin/uv"
  # Bytecode now, not at first import: faster starts, and no compile warnings inside tests.
  "$UV" pip sync --quiet --compile-bytecode --python "$SERVICE_VENV/bin/python" requirements/service.lock
  "$UV" pip install --quiet --python "$SERVICE_VENV/bin/python" --no-deps -e .
  echo "$want" > "$SERVICE_VENV/.hotline-stamp"
fi
UV="$SERVICE_VENV/bin/uv"

# --- Rasa environment -----------------------------------------------------------------
want="$(stamp_of requirements/rasa.lock; echo "$PY310 $ROOT")"
if [ "$(cat "$RASA_VENV/.hotline-stamp" 2>/dev/null)" != "$want" ]; then
  say "Rasa environment ($PY310) → $RASA_VENV"
  [ -x "$RASA_VENV/bin/python" ] || "$UV" venv --quiet --python "$PY310" "$RASA_VENV"
  "$UV" pip sync --quiet --python "$RASA_VENV/bin/python" requirements/rasa.lock
  # Our custom NLU components (rasa_plugins.nlu, bot.domain) are imported by Rasa from this checkout.
  site="$("$RASA_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  echo "$ROOT" > "$site/hotline_checkout.pth"
  echo "$want" > "$RASA_VENV/.hotline-stamp"
fi

mkdir -p "$ROOT/var" "$ROOT/models"
