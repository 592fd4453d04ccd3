#!/usr/bin/env bash
# Installs what the tests need on a bare Debian machine: Debian's chromium (driven by Playwright,
# never Playwright's own browser download), CJK fonts, and the Python packages.
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=0
command -v chromium >/dev/null 2>&1 || need_apt=1
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need_apt=1
if [ "$need_apt" = 1 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      chromium fonts-noto-cjk fontconfig >/dev/null
  else
    echo "setup_tests: please install Debian packages chromium and fonts-noto-cjk (needs root)" >&2
  fi
fi
python -m pip install -q --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
