#!/usr/bin/env bash
# What the test suite needs from the system, installed by the README's test command itself:
# Debian's Chromium + ChromeDriver for the browser tests, CJK fonts so screenshots are readable.
# Where it cannot install (not root, no apt-get, no registry), it says so; the browser tests then
# skip with a sentence saying how to get them — except under CI=true, where they fail.
set -uo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
[ -d /usr/share/fonts/opentype/noto ] || need+=(fonts-noto-cjk)
# nginx for the production profile's tests (tests/test_production.py).
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
[ "${#need[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  printf '[test] installing %s (apt-get)\n' "${need[*]}"
  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; then
    exit 0
  fi
  printf '[test] apt-get could not install %s\n' "${need[*]}" >&2
else
  printf '[test] missing %s: run as root with apt-get, or: sudo apt-get install -y %s\n' "${need[*]}" "${need[*]}" >&2
fi
# Not fatal here: the tests that need them skip (or fail under CI=true) with the same sentence.
exit 0
