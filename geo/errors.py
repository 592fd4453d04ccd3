"""User-facing errors: each carries one clear line for the CLI and the app, and a stable code.

``str(err)`` is the message shown to the planner, as is; ``err.code`` is a dotted, stable
identifier (``"boundary.driver"``, ``"store.damaged"``) for logs and tests, so that nothing has
to match message text. Subclasses give a default code for their family; a raise site may name a
finer one with ``code=``.
"""

from __future__ import annotations

__all__ = [
    "BoundaryReadError",
    "BulletinReadError",
    "CountyNotFoundError",
    "ExportError",
    "GeoInputError",
    "StoreError",
    "WorkLimitError",
    "one_line",
]


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
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror}"
    return " ".join(str(err).split()) or type(err).__name__
