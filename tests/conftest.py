"""Shared fixtures. Tests that need the dev set read it from ../shared (never copied here).

The PostgreSQL + PostGIS store is tested against a real server: a throwaway cluster on localhost
(``tools/pg_cluster.py``: initdb into a temporary folder, run as the unprivileged ``postgres``
user when the tests run as root), started once per session when a test first asks for it and
stopped at the end. A missing server or PostGIS fails those tests; it never skips them.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import geo  # noqa: F401 - first, as in the app and the CLI: GDAL is locked down before it loads

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

from pg_cluster import Cluster, start_cluster, stop_cluster  # noqa: E402 - tools/ just added

SHARED_DATA = REPO.parent / "shared" / "data"
# Streamlit's AppTest runs the app as ``__main__`` and leaves it there; a test that spawns
# processes afterwards would have each child run the whole app first (multiprocessing's spawn
# re-runs ``__main__``). Every test starts with pytest's own ``__main__`` back in place.
_PYTEST_MAIN = sys.modules["__main__"]

#: Every GeoInputError made while the tests run, as (class, code, message): the errors of every
#: code path the tests exercise (those rebuilt from a bounded worker process included). At the
#: end of the session each must have a Chinese message and a code (pytest_sessionfinish); the
#: CLI's subprocesses are checked line by line in tests/test_cli.py.
RAISED_ERRORS: list[tuple[str, str, str]] = []
_CJK = re.compile(r"[\u3400-\u9fff]")


def _record_errors() -> None:
    from geo.errors import GeoInputError

    made = GeoInputError.__init__

    def init(self, message: str = "", *, code: str | None = None) -> None:
        made(self, message, code=code)
        RAISED_ERRORS.append((type(self).__name__, self.code, str(self)))

    GeoInputError.__init__ = init


_record_errors()


def english_errors() -> list[tuple[str, str, str]]:
    """The recorded errors without a Chinese message or without a code."""
    return [e for e in RAISED_ERRORS if not e[1] or not _CJK.search(e[2])]


def pytest_sessionfinish(session, exitstatus) -> None:
    bad = english_errors()
    if bad:
        listed = "\n".join(f"  {cls} [{code}] {msg!r}" for cls, code, msg in sorted(set(bad)))
        print(f"\nGeoInputError without a Chinese message or a code:\n{listed}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


SAMPLE = REPO / "data" / "xixian-bulletin-sample.txt"


def run_geo(*args, store=None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m geo ARGS`` as a planner runs it (text output), with ``GEO_STORE=store``."""
    env = dict(os.environ)
    if store is not None:
        env["GEO_STORE"] = str(store)
    return subprocess.run(
        [sys.executable, "-m", "geo", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=timeout,
    )


@pytest.fixture(autouse=True)
def _pytest_main_module() -> Iterator[None]:
    sys.modules["__main__"] = _PYTEST_MAIN
    yield
    sys.modules["__main__"] = _PYTEST_MAIN


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def dev_items() -> list[dict]:
    path = SHARED_DATA / "dev_bulletins.jsonl"
    if not path.exists():
        pytest.skip("../shared/data/dev_bulletins.jsonl is not beside this checkout")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


# --------------------------------------------------------------------------- PostgreSQL + PostGIS


@pytest.fixture(scope="session")
def postgis_cluster() -> Iterator[Cluster]:
    """The session's throwaway PostGIS cluster (started on first use, stopped at the end)."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


def schema_url(cluster: Cluster, schema: str) -> str:
    """A store URL whose tables go into ``schema`` of the test database (PostGIS in public)."""
    return f"{cluster.url}?options=-csearch_path%3D{schema},public"


@pytest.fixture
def pg_url(postgis_cluster: Cluster) -> Iterator[str]:
    """A fresh, empty schema of the test database as a store URL; dropped after the test."""
    import psycopg

    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(postgis_cluster.url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield schema_url(postgis_cluster, schema)
    with psycopg.connect(postgis_cluster.url, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '20s'")  # a store left open in a transaction shows
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgis"])
def store_location(request, tmp_path) -> str:
    """Where a fresh store goes, once per backend: a SQLite file, then a PostGIS schema."""
    if request.param == "sqlite":
        return str(tmp_path / "store.sqlite")
    return request.getfixturevalue("pg_url")


def stored_clause_keys(store) -> set[tuple[int, int]]:
    """``(clause key, text key)`` rows a store keeps."""
    return {
        (int(k), int(t)) for k, t in store._conn.execute("SELECT key, text_key FROM repeat_keys")
    }


def texts_clause_keys(store) -> set[tuple[int, int]]:
    """The clause keys the stored items' texts and places give, by text."""
    from geo.near_duplicates import repeat_keys, text_key

    rows = store._conn.execute(
        "SELECT i.headline, i.body, i.text_key, COALESCE(i.county_code, b.county_code),"
        " i.township_code FROM items i JOIN bulletins b ON b.id = i.bulletin_id"
    ).fetchall()
    out = set()
    for headline, body, key, county, township in rows:
        text = f"{headline}\n{body}" if headline else body
        assert key == text_key(text, county_code=county, township_code=township)
        out |= {(k, key) for k in repeat_keys(text, county_code=county, township_code=township)}
    return out
