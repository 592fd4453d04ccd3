"""User-facing errors: each carries one clear line for the CLI and the app, and a stable code.

``str(err)`` is the message shown to the planner, as is; ``err.code`` is a dotted, stable
identifier (``"boundary.driver"``, ``"store.damaged"``) for logs and tests, so that nothing has
to match message text. Subclasses give a default code for their family; a raise site may name a
finer one with ``code=``.
"""

from __future__ import annotations

import errno

__all__ = [
    "BoundaryReadError",
    "BulletinReadError",
    "CountyNotFoundError",
    "ExportError",
    "GeoInputError",
    "StoreError",
    "WorkLimitError",
    "error_code",
    "error_line",
    "one_line",
]

#: Operating-system failures as a planner reads them (errno name -> Chinese reason).
_OS_REASONS = {
    "ENOENT": "文件或文件夹不存在",
    "EACCES": "没有权限",
    "EPERM": "没有权限",
    "EISDIR": "这是文件夹，不是文件",
    "ENOTDIR": "路径中有一段不是文件夹",
    "ENOSPC": "磁盘已满",
    "EROFS": "只读文件系统，不能写入",
    "EEXIST": "文件已存在",
    "ENAMETOOLONG": "文件名太长",
    "EMFILE": "打开的文件太多",
}


class GeoInputError(ValueError):
    """Bad input from the user. ``str(err)`` is a one-line message, shown as is.

    Parameters
    ----------
    message : str
        The line shown to the user.
    code : str, optional
        Stable identifier of the failure; the class default when omitted.
    """

    code = "input"

    def __init__(self, message: str = "", *, code: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code

    def __reduce__(self):
        # keep the code when the error crosses a process boundary (geo.worker)
        return (_rebuild, (type(self), str(self), self.code))


def _rebuild(cls: type, message: str, code: str) -> GeoInputError:
    return cls(message, code=code)


class BulletinReadError(GeoInputError):
    """A bulletin file could not be read (empty, binary, scanned, encrypted, too large...)."""

    code = "bulletin"


class BoundaryReadError(GeoInputError):
    """A boundary file could not be read or understood (no CRS, broken zip, no polygons...)."""

    code = "boundary"


class CountyNotFoundError(GeoInputError):
    """The county name or code is not in the gazetteer."""

    code = "county.not_found"


class ExportError(GeoInputError):
    """An export could not be written (no townships, unwritable path, bad size...)."""

    code = "export"


class StoreError(GeoInputError):
    """The store cannot do what was asked (damaged, read-only, newer schema, unknown item...)."""

    code = "store"


class WorkLimitError(GeoInputError):
    """A piece of work went over its time or memory bound and was stopped."""

    code = "work.limit"


def one_line(err: BaseException) -> str:
    """The message of ``err`` as one line: what the CLI prints after ``error:`` and the app shows.

    An ``OSError`` reads as ``<file>: <reason>``; other errors as their text with every run of
    whitespace (newlines included) made one space; an empty message as the error's type.
    """
    if isinstance(err, OSError) and not isinstance(err, GeoInputError) and err.strerror:
        reason = _OS_REASONS.get(errno.errorcode.get(err.errno or 0, ""), err.strerror)
        where = f"{err.filename}：" if err.filename else ""
        return f"{where}{reason}"
    return " ".join(str(err).split()) or type(err).__name__


def error_code(err: BaseException) -> str:
    """The stable code of ``err``: its own for a :class:`GeoInputError`, ``"os"`` for an
    ``OSError`` (file system), ``"internal"`` for anything else (a bug)."""
    if isinstance(err, GeoInputError):
        return err.code
    return "os" if isinstance(err, OSError) else "internal"


def error_line(err: BaseException) -> str:
    """The one line the CLI prints on stderr: ``错误（store.damaged）：<message>``.

    The code in brackets is :func:`error_code`, stable for scripts and logs; the message is
    :func:`one_line`, Chinese, saying what to do next.
    """
    return f"错误（{error_code(err)}）：{one_line(err)}"
