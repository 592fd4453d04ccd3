#!/usr/bin/env bash
# Installs what the tests need on a bare Debian machine: Debian's chromium (driven by Playwright,
# never Playwright's own browser download), CJK fonts, PostgreSQL with PostGIS (the tests start a
# throwaway cluster of their own: tools/pg_cluster.py), and the Python packages.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || packages+=(fonts-noto-cjk fontconfig)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || packages+=(postgresql)
compgen -G "/usr/share/postgresql/*/extension/postgis.control" >/dev/null \
  || packages+=(postgresql-15-postgis-3)
if [ "${#packages[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${packages[@]}" >/dev/null
  else
    echo "setup_tests: please install Debian packages ${packages[*]} (needs root)" >&2
  fi
fi
python -m pip install -q --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
