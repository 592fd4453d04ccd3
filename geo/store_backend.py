"""What :class:`geo.store.Store` asks of a database: the backend interface and shared wording.

The store's SQL is written once, in :mod:`geo.store`, with ``?`` placeholders and the column
names of the schema; a backend supplies everything that differs between databases:

* connecting, checking and creating or upgrading the schema (its own DDL for the same schema
  versions), and whether the store can only be read;
* one write transaction (:meth:`StoreBackend.transaction`) and a consistent read
  (:meth:`StoreBackend.reading`), each yielding a connection whose ``execute`` takes ``?``
  placeholders and returns rows readable by column name and by position;
* serialising writers of the same bulletin (:meth:`StoreBackend.serialise`), generated ids
  (:meth:`StoreBackend.insert_id`) and fast plain-tuple reads for big frames;
* township polygons: a GeoJSON text in SQLite, PostGIS geometries in PostgreSQL.

Backends: :mod:`geo.store_sqlite` (a file, the default) and :mod:`geo.store_postgis`
(``postgresql://…``).
"""

from __future__ import annotations

import abc
import contextlib
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any, ClassVar, Protocol

from geo.errors import StoreError

__all__ = [
    "BOUNDARY_COLUMNS",
    "Connection",
    "StoreBackend",
    "check_version",
    "damaged_error",
    "now",
    "short",
]

#: Columns of a stored township layer (as :func:`geo.boundaries.join_to_gazetteer` gives them).
BOUNDARY_COLUMNS = ["township_code", "township", "quality", "source", "geometry"]


class Connection(Protocol):
    """What the store's SQL runs on: ``sqlite3.Connection`` or the PostgreSQL adapter."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any: ...


def now() -> str:
    """The current UTC time as ISO 8601 text, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def short(detail: Any) -> str:
    """The first line of an error, at most 120 characters (messages stay one line)."""
    return (str(detail).strip().splitlines() or [""])[0][:120]


def damaged_error(location: Any, detail: Any) -> StoreError:
    """``store.damaged``: the store is refused whole and nothing is written into it."""
    return StoreError(
        f"数据库 {location} 已损坏或不是本程序的数据库（{short(detail)}）；未写入任何内容。"
        "请用备份恢复，或换一个 GEO_STORE",
        code="store.damaged",
    )


def check_version(
    version: int | None, location: str, target: int, *, writable: bool, hint: str = ""
) -> None:
    """Refuse a database that is not a store, is newer than this program, or is older and
    cannot be upgraded because it can only be read.

    Parameters
    ----------
    version : int or None
        The database's schema version; None when it holds other tables than a store's.
    location : str
        For the message.
    target : int
        This program's schema version.
    writable : bool
        The schema can be upgraded.
    hint : str
        What to do about an old read-only store (how depends on the backend).

    Raises
    ------
    StoreError
        ``store.not_a_store``, ``store.newer`` or ``store.read_only``.
    """
    if version is None:
        raise StoreError(
            f"{location} 不是乡镇动态数据库（其中已有其他程序的表）", code="store.not_a_store"
        )
    if version > target:
        raise StoreError(
            f"数据库 {location} 的结构版本为 {version}，比本程序支持的 {target} 新；"
            "请升级 township-activity-map 后再打开",
            code="store.newer",
        )
    if version < target and not writable:
        raise StoreError(
            f"数据库 {location} 是旧版本（{version}），{hint or '只能读取，无法升级'}",
            code="store.read_only",
        )


class StoreBackend(abc.ABC):
    """One database the store keeps its tables in.

    Attributes
    ----------
    kind : str
        ``"sqlite"`` or ``"postgresql"``.
    migrations : list of str
        The backend's DDL for each schema version (the same versions in every backend).
    location : str
        Where the data is, for messages (a path, or a URL without its password).
    read_only : bool
        Everything can be read, every write is a ``store.read_only`` error.
    after_migration : dict
        ``version -> function(conn)``: work in Python right after a schema step, in the same
        transaction, on a store that held data before it (set by :class:`geo.store.Store`).
    """

    kind: ClassVar[str] = ""
    migrations: ClassVar[list[str]] = []

    def __init__(self) -> None:
        self.location = ""
        self.read_only = False
        # one connection shared by the app's threads, serialised by the lock
        self.lock = threading.RLock()
        self.after_migration: dict[int, Callable[[Connection], None]] = {}

    # lifetime ----------------------------------------------------------------------------

    @abc.abstractmethod
    def open(self) -> None:
        """Connect, check the database, and create or upgrade the schema (one writer at a
        time, so that several processes opening a new store at once all succeed).

        Raises
        ------
        StoreError
            Unreachable, damaged, not a store, newer schema, or old schema and read-only.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Close the connection; the backend cannot be used afterwards."""

    @abc.abstractmethod
    def schema_version(self) -> int:
        """The schema version of the open store."""

    @property
    @abc.abstractmethod
    def conn(self) -> Connection:
        """The open connection (tests and maintenance only: the store uses the context
        managers)."""

    # transactions ------------------------------------------------------------------------

    @abc.abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[Connection]:
        """One write transaction: all of it is stored, or none of it.

        Raises
        ------
        StoreError
            The store is read-only (``store.read_only``), or the database failed (rolled back,
            ``store.write``).
        """

    @abc.abstractmethod
    def reading(self) -> contextlib.AbstractContextManager[Connection]:
        """The connection for reads (one consistent snapshot where the database offers one),
        database errors turned into :class:`StoreError`."""

    def serialise(self, conn: Connection, key: str) -> None:
        """Make writers of the same ``key`` wait for each other until their transactions end.

        The default does nothing: right for a database that has one writer at a time.
        """
        return

    def insert_id(self, conn: Connection, sql: str, params: Sequence[Any]) -> int:
        """Run an ``INSERT`` into a table with a generated ``id`` and return that id."""
        return int(conn.execute(f"{sql} RETURNING id", params).fetchone()[0])

    def plain_rows(
        self, conn: Connection, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[tuple]]:
        """``(column names, rows as plain tuples)`` of a query: the fast path for big frames."""
        cur = conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        return names, [tuple(r) for r in cur.fetchall()]

    # township boundaries -----------------------------------------------------------------

    @abc.abstractmethod
    def insert_boundary_set(self, conn: Connection, meta: dict[str, Any], layer: Any) -> int:
        """Keep a boundary set: its ``meta`` row and its polygons; returns the set's id.

        Parameters
        ----------
        meta : dict
            Values of the ``boundaries`` columns (without ``id``).
        layer : geopandas.GeoDataFrame
            :data:`BOUNDARY_COLUMNS` in EPSG:4326, checked by the store.
        """

    @abc.abstractmethod
    def boundary_layer(self, conn: Connection, set_id: int) -> Any:
        """The polygons of a kept set as a GeoDataFrame (:data:`BOUNDARY_COLUMNS`, EPSG:4326).

        Raises
        ------
        StoreError
            The stored layer cannot be read back.
        """
