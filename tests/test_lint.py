"""The house style is enforced, not hoped for: ruff lint and format are clean over the tree."""

from __future__ import annotations

import subprocess
import sys


def _ruff(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=cwd, capture_output=True, text=True
    )


def test_ruff_check_is_clean(repo_root):
    proc = _ruff("check", ".", cwd=repo_root)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_is_clean(repo_root):
    proc = _ruff("format", "--check", ".", cwd=repo_root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
