"""Chinese everywhere a planner reads (issue 16): no English message creeps back into ``geo``.

Every exception ``geo`` (or the app) makes with a literal message says it in Chinese; the
errors the other tests actually raise are checked at the end of the session
(``tests/conftest.py``: each a Chinese message and a code); the CLI's own lines are checked in
``tests/test_cli.py`` (``错误（CODE）：…``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from geo.errors import (
    BulletinReadError,
    GeoInputError,
    StoreError,
    error_code,
    error_line,
    one_line,
)

REPO = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u3400-\u9fff]")
SOURCES = [*sorted((REPO / "geo").rglob("*.py")), *sorted((REPO / "app").rglob("*.py"))]
SOURCES.append(REPO / "streamlit_app.py")


def _literal(node: ast.AST) -> str | None:
    """The literal text of a message argument (f-string parts, ``+`` of literals), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp):
        parts = [_literal(node.left), _literal(node.right)]
        return None if parts == [None, None] else "".join(p or "" for p in parts)
    return None


def _english_messages(path: Path, root: Path = REPO) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        name = ast.unparse(node.func)
        if not name.endswith(("Error", "Exit")):
            continue
        text = _literal(node.args[0])
        if text is not None and not CJK.search(text):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {name}({text[:60]!r})")
    return found


def test_no_error_message_literal_is_english_only():
    found = [line for path in SOURCES for line in _english_messages(path)]
    assert not found, "English-only error messages:\n" + "\n".join(found)


def test_the_scan_sees_the_forms_messages_take(tmp_path):
    src = tmp_path / "m.py"
    src.write_text(
        "def f(x):\n"
        "    raise StoreError(f'no item {x} in the store')\n"
        "def g():\n"
        "    return BulletinReadError('is empty' + '!', code='bulletin.empty')\n"
        "def h(x):\n"
        "    raise StoreError(f'数据库中没有事项 {x}')\n",
        encoding="utf-8",
    )
    found = _english_messages(src, root=tmp_path)
    assert len(found) == 2 and "no item" in found[0] and "is empty!" in found[1]


@pytest.mark.parametrize(
    ("err", "code"),
    [
        (StoreError("数据库已损坏：请从备份恢复", code="store.damaged"), "store.damaged"),
        (BulletinReadError("空文件：请检查"), "bulletin"),
        (GeoInputError("错误的输入"), "input"),
        (FileNotFoundError(2, "No such file or directory", "a.txt"), "os"),
        (KeyError("x"), "internal"),
    ],
)
def test_error_line_names_the_code_and_reads_chinese(err, code):
    assert error_code(err) == code
    line = error_line(err)
    assert line.startswith(f"错误（{code}）：") and "\n" not in line


def test_os_errors_read_chinese():
    assert one_line(FileNotFoundError(2, "No such file or directory", "a.txt")) == (
        "a.txt：文件或文件夹不存在"
    )
    assert one_line(PermissionError(13, "Permission denied", "b")) == "b：没有权限"
