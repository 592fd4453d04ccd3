"""Shared fixtures. Tests that need the dev set read it from ../shared (never copied here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import geo  # noqa: F401 - first, as in the app and the CLI: GDAL is locked down before it loads

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLE = REPO / "data" / "xixian-bulletin-sample.txt"


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
