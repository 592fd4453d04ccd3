"""Assert errors by their stable code (geo.errors), never by message text."""

from __future__ import annotations

import contextlib
import re

import pytest

#: A message a planner reads has Chinese in it.
CJK = re.compile(r"[\u3400-\u9fff]")


@contextlib.contextmanager
def raises_code(cls: type[BaseException], code: str):
    """Like ``pytest.raises(cls)``; then the error's ``code`` is ``code`` (or starts with
    ``code + "."``) and its message is one Chinese line."""
    with pytest.raises(cls) as info:
        yield info
    err = info.value
    assert err.code == code or err.code.startswith(code + "."), (err.code, str(err))
    assert CJK.search(str(err)) and "\n" not in str(err), str(err)
