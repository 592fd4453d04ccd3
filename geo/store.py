"""The embedded store: ingested bulletins, their items and metrics, and reviewers' corrections.

One SQLite file (stdlib ``sqlite3``, WAL, foreign keys on). Bulletins are keyed by the SHA-256 of
their normalised text, so ingesting the same content twice changes nothing. Corrections are kept
apart from the parsed items, keyed by the stable ``item_id``: they win over whatever the parser or
geocoder says, also after re-geocoding or after a bulletin is deleted and ingested again.

The schema is versioned: :data:`MIGRATIONS` is an ordered list of SQL steps; opening an older file
applies the missing steps, opening a file from a newer version raises :class:`StoreError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from geo import paths
from geo.aggregate import ITEM_COLUMNS, METRIC_COLUMNS, item_id
from geo.errors import GeoInputError, StoreError
from geo.gazetteer import detect_gazetteer, load_gazetteer
from geo.geocode import geocode_item
from geo.models import (
    Bulletin,
    BulletinHeader,
    Evidence,
    Furniture,
    Item,
    Layout,
    Metric,
    ParseWarning,
    Place,
)
from geo.pipeline import annotate_items
from geo.recut import Cut, CutError, apply_cut, apply_cuts, merge_cut, split_cut
from geo.store_facts import (
    backfill,
    insert_repeat_keys,
    link_bulletin,
    relink_all,
    relink_orphans,
)

__all__ = [
    "AFTER_MIGRATION",
    "BOUNDARY_COLUMNS",
    "BOUNDARY_SET_COLUMNS",
    "CORRECTABLE_FIELDS",
    "CUT_COLUMNS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "IngestResult",
    "Store",
    "StoreError",
]

#: Item fields a reviewer may correct: the place and sector, and the counting decisions
#: (``repeat_of``: the first report it repeats, ``""`` = a new fact; ``cumulative``: ``"1"``
#: a running total, ``"0"`` not).
CORRECTABLE_FIELDS = ("township_code", "village_code", "sector", "repeat_of", "cumulative")

#: Ordered schema steps; step ``i`` brings a file from version ``i`` to ``i + 1``. Append only.
MIGRATIONS: list[str] = [
    # 1: tables
    """
    CREATE TABLE bulletins (
        id TEXT PRIMARY KEY,
        source_name TEXT NOT NULL,
        title TEXT,
        issue TEXT,
        date TEXT,
        county TEXT,
        county_code TEXT,
        text TEXT NOT NULL,
        ingested_at TEXT NOT NULL
    );
    CREATE TABLE items (
        item_id TEXT PRIMARY KEY,
        bulletin_id TEXT NOT NULL REFERENCES bulletins(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        headline TEXT NOT NULL,
        body TEXT NOT NULL,
        unit TEXT,
        authors TEXT NOT NULL DEFAULT '[]',
        start_offset INTEGER NOT NULL DEFAULT 0,
        end_offset INTEGER NOT NULL DEFAULT 0,
        sector TEXT,
        sectors TEXT NOT NULL DEFAULT '[]',
        sector_cues TEXT NOT NULL DEFAULT '[]',
        scope TEXT NOT NULL DEFAULT 'unknown',
        county TEXT,
        county_code TEXT,
        township TEXT,
        township_code TEXT,
        village TEXT,
        village_code TEXT,
        outside TEXT NOT NULL DEFAULT '[]',
        evidence TEXT NOT NULL DEFAULT '[]',
        UNIQUE (bulletin_id, idx)
    );
    CREATE TABLE metrics (
        item_id TEXT NOT NULL REFERENCES items(item_id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        value REAL NOT NULL,
        unit TEXT NOT NULL,
        qualifier TEXT NOT NULL DEFAULT 'exact',
        label TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        span_start INTEGER NOT NULL DEFAULT 0,
        span_end INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (item_id, position)
    );
    -- no foreign key to items: a correction outlives its item being deleted and re-ingested
    CREATE TABLE corrections (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        item_id TEXT NOT NULL,
        field TEXT NOT NULL CHECK (field IN ('township_code', 'village_code', 'sector')),
        value TEXT NOT NULL,
        name TEXT,
        note TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    """,
    # 2: indexes for the joins frames() and the review pages run
    """
    CREATE INDEX items_bulletin ON items (bulletin_id, idx);
    CREATE INDEX corrections_item ON corrections (item_id, field, id);
    CREATE INDEX items_township ON items (county_code, township_code);
    """,
    # 3: uploaded township boundaries; the latest set of a county is the active one
    """
    CREATE TABLE boundaries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        county_code TEXT NOT NULL,
        name TEXT,
        source_name TEXT NOT NULL,
        crs_note TEXT NOT NULL DEFAULT '',
        datum TEXT NOT NULL DEFAULT 'wgs84',
        quality TEXT NOT NULL DEFAULT 'user',
        n_townships INTEGER NOT NULL DEFAULT 0,
        geojson TEXT NOT NULL,
        join_report TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    CREATE INDEX boundaries_county ON boundaries (county_code, id);
    """,
    # 4: provenance of boundary sets: who uploaded, the quality the uploader declared and its
    #    source, how the attribute text was decoded, the reports as structured data (JSON)
    """
    ALTER TABLE boundaries ADD COLUMN uploader TEXT NOT NULL DEFAULT '';
    ALTER TABLE boundaries ADD COLUMN quality_source TEXT NOT NULL DEFAULT '';
    ALTER TABLE boundaries ADD COLUMN encoding TEXT NOT NULL DEFAULT '';
    ALTER TABLE boundaries ADD COLUMN report_json TEXT NOT NULL DEFAULT '{}';
    """,
    # 5: masthead fields, the layout items were cut by and the splitter's warnings; reviewers'
    # cut fixes (no foreign key: like corrections they outlive a delete and come back on
    # re-ingest; "at_offset" indexes the bulletin's normalised text)
    """
    ALTER TABLE bulletins ADD COLUMN issue_total TEXT;
    ALTER TABLE bulletins ADD COLUMN publisher TEXT;
    ALTER TABLE bulletins ADD COLUMN layout TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE bulletins ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE bulletins ADD COLUMN furniture TEXT NOT NULL DEFAULT '{}';
    CREATE TABLE cuts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        bulletin_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('merge', 'split')),
        at_offset INTEGER NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        moved TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX cuts_bulletin ON cuts (bulletin_id, id);
    """,
    # 6: activity over time — where a bulletin's date comes from; running totals
    # (metrics.cumulative); repeats linked to the first report of their story (items.repeat_of,
    # the RapidFuzz similarity in repeat_score) and the clause keys they are found by
    # (geo.near_duplicates); reviewers override either like other corrections (the table is
    # rebuilt to allow the two fields). Existing items are marked and linked by
    # geo.store_facts.backfill right after this step.
    """
    ALTER TABLE bulletins ADD COLUMN date_source TEXT;
    ALTER TABLE items ADD COLUMN repeat_of TEXT;
    ALTER TABLE items ADD COLUMN repeat_score REAL;
    ALTER TABLE metrics ADD COLUMN cumulative INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE repeat_keys (
        key INTEGER NOT NULL,
        item_id TEXT NOT NULL REFERENCES items(item_id) ON DELETE CASCADE
    );
    CREATE INDEX repeat_keys_key ON repeat_keys (key);
    CREATE INDEX repeat_keys_item ON repeat_keys (item_id);
    CREATE INDEX items_repeat ON items (repeat_of);
    CREATE TABLE corrections_v6 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        item_id TEXT NOT NULL,
        field TEXT NOT NULL CHECK (field IN ('township_code', 'village_code', 'sector',
                                             'repeat_of', 'cumulative')),
        value TEXT NOT NULL,
        name TEXT,
        note TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    INSERT INTO corrections_v6 (id, item_id, field, value, name, note, created_at)
        SELECT id, item_id, field, value, name, note, created_at FROM corrections;
    DROP TABLE corrections;
    ALTER TABLE corrections_v6 RENAME TO corrections;
    CREATE INDEX corrections_item ON corrections (item_id, field, id);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
#: Work done in Python right after a migration step (``version -> function(conn)``).
AFTER_MIGRATION: dict[int, Callable[[sqlite3.Connection], None]] = {6: backfill}

_BULLETIN_COLUMNS = [
    "id",
    "source_name",
    "title",
    "issue",
    "date",
    "county",
    "county_code",
    "ingested_at",
    "n_items",
    "n_corrections",
    "issue_total",
    "publisher",
    "layout",
    "n_warnings",
    "n_cuts",
    "date_source",
]
#: Columns of :meth:`Store.cuts`.
CUT_COLUMNS = ["id", "bulletin_id", "kind", "at_offset", "note", "created_at", "bulletin_name"]
#: Columns of a stored township layer (as :func:`geo.boundaries.join_to_gazetteer` gives them).
BOUNDARY_COLUMNS = ["township_code", "township", "quality", "source", "geometry"]
#: Columns of :meth:`Store.boundary_sets` (one row per saved set, without its geometry).
BOUNDARY_SET_COLUMNS = [
    "id",
    "county_code",
    "name",
    "source_name",
    "crs_note",
    "datum",
    "quality",
    "n_townships",
    "created_at",
    "active",
    "join_report",
    "uploader",
    "quality_source",
    "encoding",
    "report_json",
]
_BOUNDARY_DATUMS = ("wgs84", "gcj02", "bd09")
_BOUNDARY_QUALITIES = ("official", "approximate", "user")
_CORRECTION_COLUMNS = [
    "id",
    "item_id",
    "field",
    "value",
    "name",
    "note",
    "created_at",
    "headline",
    "bulletin_name",
]


@dataclass(frozen=True)
class IngestResult:
    """Outcome of :meth:`Store.ingest`.

    Attributes
    ----------
    bulletin_id : str
        SHA-256 of the bulletin's normalised text.
    created : bool
        False when the same content was already stored (nothing changed).
    n_items : int
        Items of the bulletin as stored.
    n_repeats : int
        Items that repeat a story already stored (or, for a bulletin older than a stored
        repeat, that are now its first report); 0 when nothing was stored.
    """

    bulletin_id: str
    created: bool
    n_items: int
    n_repeats: int = 0


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _bulletin_sha(bulletin: Bulletin) -> str:
    if bulletin.sha256:
        return bulletin.sha256
    return hashlib.sha256(bulletin.text.encode("utf-8")).hexdigest()


def _user_version(conn: sqlite3.Connection) -> int | None:
    """Schema version of an open file, 0 for an empty file, None for some other SQLite file."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "schema_version" in tables:
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)
    tables.discard("sqlite_sequence")
    return 0 if not tables else None


def _statements(script: str) -> Iterator[str]:
    """The SQL statements of a migration script, one by one (triggers' bodies kept whole)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                yield pending
            pending = ""
    if pending.strip() and pending.strip(" \n;"):
        yield pending


def _migrate(conn: sqlite3.Connection, current: int, target: int = SCHEMA_VERSION) -> None:
    """Apply ``MIGRATIONS[current:target]`` inside the caller's write transaction.

    Statement by statement rather than ``executescript`` (which commits first), so that the
    whole upgrade — and the version check before it — happens under one write lock: a second
    process opening the same new file waits, then finds the finished schema.
    """
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)"
    )
    for version in range(current + 1, target + 1):
        for statement in _statements(MIGRATIONS[version - 1]):
            conn.execute(statement)
        if version in AFTER_MIGRATION and current > 0:  # a new file has nothing to bring up
            AFTER_MIGRATION[version](conn)
        conn.execute("INSERT INTO schema_version VALUES (?, ?)", (version, _now()))


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection; ``immutable`` when SQLite cannot even keep its lock files there
    (a WAL file in a read-only folder)."""
    uri = f"file:{quote(str(path))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
    return sqlite3.connect(
        uri + "&immutable=1", uri=True, isolation_level=None, check_same_thread=False
    )


def _set_wal(conn: sqlite3.Connection, attempts: int = 50) -> None:
    """Switch to WAL. SQLite answers "locked" at once, without waiting, while another process
    creates the same new file, so the switch is retried for a few seconds."""
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or attempt == attempts - 1:
                raise
            time.sleep(0.1)


def _check_integrity(conn: sqlite3.Connection, path: Any) -> None:
    """``PRAGMA quick_check`` before anything reads or writes: a damaged file is refused whole,
    never written into."""
    try:
        rows = conn.execute("PRAGMA quick_check(5)").fetchall()
    except sqlite3.DatabaseError as err:
        raise _damaged(path, err) from None
    problems = [str(r[0]) for r in rows if str(r[0]) != "ok"]
    if problems:
        raise _damaged(path, problems[0])


def _damaged(path: Any, detail: Any) -> StoreError:
    return StoreError(
        f"数据库文件 {path} 已损坏或不是数据库（{_short(detail)}）；未写入任何内容。"
        "请用备份替换，或换一个 GEO_STORE 路径",
        code="store.damaged",
    )


def _write_failed(path: Any, detail: Any) -> StoreError:
    if isinstance(detail, sqlite3.DatabaseError) and "malformed" in str(detail):
        return _damaged(path, detail)
    return StoreError(
        f"写入数据库 {path} 失败（{_short(detail)}），本次未保存任何内容", code="store.write"
    )


def _short(detail: Any) -> str:
    return (str(detail).strip().splitlines() or [""])[0][:120]


def _county_conflict(bulletin: Bulletin, stored_code: str | None) -> StoreError:
    stored = stored_code or "未指定县"
    new = bulletin.county_code or "未指定县"
    return StoreError(
        f"{bulletin.source_name} 的内容已按县 {stored} 导入，本次指定的是 {new}；"
        "如确要改按新县处理，请加 --reassign-county（应用中勾选“改按所选县重新导入”）",
        code="store.county_conflict",
    )


def _lookup_township(gazetteer: Any, code: str) -> Any | None:
    by_code = getattr(gazetteer, "township_by_code", None)
    if callable(by_code):
        try:
            return by_code(code)
        except (KeyError, LookupError):
            return None
    if isinstance(by_code, dict):
        return by_code.get(code)
    return next((t for t in getattr(gazetteer, "townships", []) if t.code == code), None)


def _lookup_village(gazetteer: Any, code: str) -> Any | None:
    return next((v for v in getattr(gazetteer, "villages", []) if v.code == code), None)


def _village_township_code(village: Any, code: str) -> str:
    # NBS village codes are the township's 9 digits plus 3
    return getattr(village, "township_code", None) or code[:9]


def _apply_corrections(
    row: dict, fixes: list[tuple[str, str, str | None]], gazetteer: Any | None
) -> dict:
    """Return ``row`` (an items_df record) with corrections ``(field, value, name)`` applied.

    ``fixes`` holds the latest correction of each field, oldest first, so a later "no township"
    also clears an earlier village.
    """
    row = dict(row)
    for fld, value, name in fixes:
        if fld == "repeat_of":  # the reviewer's word on counting: a new fact ("") or a repeat
            row["repeat_of"] = value or None
            row["repeat_score"] = None
            continue
        if fld == "cumulative":
            row["cumulative"] = value == "1"
            continue
        if fld == "sector":
            others = [s for s in (row.get("sectors") or "").split(",") if s and s != value]
            row["sector"] = value
            row["sectors"] = ",".join([value, *others])
            continue
        if fld == "township_code":
            _set_township(row, value, name, gazetteer)
        else:
            _set_village(row, value, name, gazetteer)
        if row.get("village_code"):
            row["scope"] = "village"
        elif row.get("township_code"):
            row["scope"] = "township"
        else:
            row["scope"] = "county" if row.get("county_code") else "unknown"
    # counting decisions are shown in their own columns (重复, 累计), not as 已更正
    row["corrected"] = any(f[0] in _PLACE_AND_SECTOR for f in fixes)
    return row


_PLACE_AND_SECTOR = ("township_code", "village_code", "sector")


def _set_township(row: dict, code: str, name: str | None, gazetteer: Any | None) -> None:
    if not code:  # reviewer said: not in any one township
        row.update(township=None, township_code=None, village=None, village_code=None)
        return
    town = _lookup_township(gazetteer, code) if gazetteer is not None else None
    if row.get("township_code") != code:
        row["township_code"] = code
        row["township"] = None
        if not (row.get("village_code") or "").startswith(code):
            row.update(village=None, village_code=None)
    row["township"] = town.name if town is not None else (name or row.get("township"))


def _set_village(row: dict, code: str, name: str | None, gazetteer: Any | None) -> None:
    if not code:
        row.update(village=None, village_code=None)
        return
    village = _lookup_village(gazetteer, code) if gazetteer is not None else None
    row["village"] = village.name if village is not None else name
    row["village_code"] = code
    town_code = _village_township_code(village, code)
    if row.get("township_code") != town_code:
        town = _lookup_township(gazetteer, town_code) if gazetteer is not None else None
        row["township_code"] = town_code
        row["township"] = town.name if town is not None else None


# the items table's columns of schema 1, in order (later ones have defaults)
_ITEM_FIELDS = (
    "item_id, bulletin_id, idx, headline, body, unit, authors, start_offset, end_offset, sector,"
    " sectors, sector_cues, scope, county, county_code, township, township_code, village,"
    " village_code, outside, evidence"
)
# items_df columns by name (aliases are the ITEM_COLUMNS names), in the store's order
_ITEMS_SQL = (
    "SELECT i.item_id AS item_id, i.bulletin_id AS bulletin_id, b.source_name AS bulletin_name,"
    " b.title AS bulletin_title, b.issue AS bulletin_issue, b.date AS bulletin_date,"
    ' i.idx AS "index", i.headline AS headline, i.body AS body, i.unit AS unit,'
    " i.authors AS authors, i.sector AS sector, i.sectors AS sectors, i.scope AS scope,"
    " COALESCE(i.county, b.county) AS county, COALESCE(i.county_code, b.county_code) AS"
    " county_code, i.township AS township, i.township_code AS township_code,"
    " i.village AS village, i.village_code AS village_code, i.outside AS outside,"
    " b.date_source AS bulletin_date_source, i.repeat_of AS repeat_of,"
    " i.repeat_score AS repeat_score"
    " FROM items i JOIN bulletins b ON b.id = i.bulletin_id ORDER BY b.rowid, i.idx"
)
_METRICS_SQL = (
    "SELECT m.item_id, m.value, m.unit, m.qualifier, m.label, m.text, m.cumulative"
    " FROM metrics m JOIN items i ON i.item_id = m.item_id"
    " JOIN bulletins b ON b.id = i.bulletin_id ORDER BY b.rowid, i.idx, m.position"
)
# JSON list columns shown as joined text in items_df
_JOINED_COLUMNS = {"authors": "、", "sectors": ",", "outside": ","}


def _layout(doc: str) -> Layout:
    """A stored layout (``{}`` for bulletins stored before layouts were kept)."""
    data = json.loads(doc or "{}")
    return Layout(**{k: v for k, v in data.items() if k in Layout.__dataclass_fields__})


def _furniture(doc: str) -> Furniture:
    data = json.loads(doc or "{}")
    found = Furniture(**{k: v for k, v in data.items() if k in Furniture.__dataclass_fields__})
    found.spans = [tuple(span) for span in found.spans]
    return found


def _holding(bulletin_id: str, items: list[Item], at: int) -> str | None:
    """Id of the item whose span holds offset ``at``."""
    return next(
        (item_id(bulletin_id, n.index) for n in items if n.start <= at < max(n.end, n.start + 1)),
        None,
    )


def _restore_corrections(
    conn: sqlite3.Connection, bulletin_id: str, items: list[Item], moved: dict[str, int]
) -> None:
    """Give corrections moved by a merge back to the items they were made for."""
    updates = []
    for correction_id, start in moved.items():
        home = _holding(bulletin_id, items, int(start))
        if home:
            updates.append((home, int(correction_id)))
    conn.executemany("UPDATE corrections SET item_id = ? WHERE id = ?", updates)


def _move_corrections(
    conn: sqlite3.Connection, bulletin_id: str, old: list[Item], new: list[Item]
) -> dict[str, int]:
    """Corrections follow their item: each old item's go to the new item holding its start.

    Returns ``{correction id: start of the item it was made for}`` for corrections that now
    sit on an item that starts elsewhere (a merge), so that undoing it can give them back.
    """
    moves: dict[str, str] = {}
    starts: dict[str, int] = {}
    new_starts = {n.start for n in new}
    for it in old:
        before = item_id(bulletin_id, it.index)
        after = _holding(bulletin_id, new, it.start)
        if after and after != before:
            moves[before] = after
        if it.start not in new_starts:
            starts[before] = it.start
    if not moves:
        return {}
    marks = ",".join("?" * len(moves))
    rows = conn.execute(
        f"SELECT id, item_id FROM corrections WHERE item_id IN ({marks})", list(moves)
    ).fetchall()
    conn.executemany(
        "UPDATE corrections SET item_id = ? WHERE id = ?",
        [(moves[r["item_id"]], r["id"]) for r in rows],
    )
    return {str(r["id"]): starts[r["item_id"]] for r in rows if r["item_id"] in starts}


def _with_cumulative(
    items_df: pd.DataFrame, metrics_df: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reviewers' running-total overrides (``cumulative`` set on an item row) applied to all
    of the item's figures; then every item's ``cumulative``: any of its figures is one."""
    metrics_df["cumulative"] = metrics_df["cumulative"].fillna(0).astype(bool)
    said = items_df["cumulative"].dropna()
    if len(said):
        said_by_item = dict(zip(items_df.loc[said.index, "item_id"], said, strict=True))
        override = metrics_df["item_id"].map(said_by_item)
        has = override.notna().to_numpy()
        metrics_df.loc[has, "cumulative"] = override[has].astype(bool)
    flags = metrics_df.groupby("item_id", sort=False)["cumulative"].any()
    items_df["cumulative"] = items_df["item_id"].isin(flags.index[flags.to_numpy(dtype=bool)])
    return items_df, metrics_df


def _joined(json_list: str, sep: str) -> str:
    """A stored JSON list of strings as items_frame joins it."""
    return "" if json_list == "[]" else sep.join(json.loads(json_list))


def _default_loader(county_code: str) -> Any | None:
    return load_gazetteer(county_code)


class Store:
    """SQLite store of bulletins, items, metrics and corrections.

    Parameters
    ----------
    path : str or path-like, optional
        The store file; ``":memory:"`` for a throw-away store. Default:
        :func:`geo.paths.store_path`
        (``$GEO_STORE`` or the user data folder). Missing folders are created.

    Raises
    ------
    StoreError
        The file is not a store, or was written by a newer version.

    Examples
    --------
    >>> with Store(":memory:") as store:  # doctest: +SKIP
    ...     store.ingest(bulletin)
    ...     items_df, metrics_df = store.frames()
    """

    def __init__(self, path: str | Path | None = None):
        self.path = str(path) if str(path) == ":memory:" else paths.store_path(path)
        #: True when the file can only be read (a read-only folder or file); writes then raise.
        self.read_only = False
        # one connection shared by the app's threads, serialised by the lock
        self._lock = threading.RLock()
        self._gazetteers: dict[str, Any] = {}
        self._conn = self._connect()
        try:
            self._open()
        except sqlite3.OperationalError as err:  # locked, I/O, permissions: not damage
            self._conn.close()
            raise StoreError(
                f"无法打开数据库 {self.path}（{_short(err)}），请稍后重试", code="store.busy"
            ) from None
        except sqlite3.DatabaseError as err:
            self._conn.close()
            raise _damaged(self.path, err) from None
        except StoreError:
            self._conn.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        """Open the file: read-write where the file and its folder allow, else read-only."""
        if self.path == ":memory:":
            return sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        if self.path.is_dir():
            raise StoreError(f"{self.path} 是文件夹，不是数据库文件", code="store.not_a_file")
        folder = self.path.parent
        if self.path.exists():
            writable = os.access(self.path, os.W_OK) and os.access(folder, os.W_OK)
        else:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StoreError(
                    f"无法创建数据库文件夹 {folder}：{err.strerror or err}", code="store.open"
                ) from None
            writable = True
        self.read_only = not writable
        try:
            if writable:
                return sqlite3.connect(
                    str(self.path), isolation_level=None, check_same_thread=False, timeout=10
                )
            return _connect_read_only(self.path)
        except sqlite3.Error as err:
            raise StoreError(f"无法打开数据库 {self.path}：{err}", code="store.open") from None

    def _open(self) -> None:
        """Check the file, then create or upgrade its schema under one write lock."""
        conn = self._conn
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 10000")
        if self.path != ":memory:":
            _check_integrity(conn, self.path)
        if self.read_only:
            self._check_version(_user_version(conn), writable=False)
            return
        if self.path != ":memory:":
            _set_wal(conn)
        # The version is read inside the write transaction: a second process opening the same
        # new file waits here, then sees the schema the first one created.
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = _user_version(conn)
            self._check_version(version, writable=True)
            if version < SCHEMA_VERSION:
                _migrate(conn, version)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _check_version(self, version: int | None, *, writable: bool) -> None:
        if version is None:
            raise StoreError(
                f"{self.path} 是 SQLite 文件，但不是乡镇动态数据库", code="store.not_a_store"
            )
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"store {self.path} has schema version {version}, newer than this program's "
                f"{SCHEMA_VERSION}; upgrade township-activity-map to open it",
                code="store.newer",
            )
        if version < SCHEMA_VERSION and not writable:
            raise StoreError(
                f"数据库 {self.path} 是旧版本（{version}），位于只读位置，无法升级；"
                "请复制到可写的文件夹后再打开",
                code="store.read_only",
            )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is stored, or none of it.

        Raises
        ------
        StoreError
            The store is read-only, or SQLite failed (the transaction is rolled back).
        """
        if self.read_only:
            raise StoreError(
                f"数据库 {self.path} 位于只读位置，只能查看，不能写入", code="store.read_only"
            )
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as err:
                raise _damaged(self.path, err) from None
            try:
                yield conn
            except BaseException as err:
                conn.execute("ROLLBACK")
                if isinstance(err, sqlite3.DatabaseError):
                    raise _write_failed(self.path, err) from None
                raise
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The connection for reads, with SQLite's errors turned into :class:`StoreError`."""
        with self._lock:
            try:
                yield self._conn
            except sqlite3.DatabaseError as err:
                raise _damaged(self.path, err) from None

    # context manager and lifetime -----------------------------------------------------------

    def close(self) -> None:
        """Close the file. The store cannot be used afterwards."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        """Schema version of the open file (equals :data:`SCHEMA_VERSION` once opened)."""
        with self._lock:
            return _user_version(self._conn) or 0

    # writing --------------------------------------------------------------------------------

    def ingest(self, bulletin: Bulletin, *, reassign_county: bool = False) -> IngestResult:
        """Store a parsed bulletin with its items and metrics, in one transaction.

        Parameters
        ----------
        bulletin : geo.models.Bulletin
        reassign_county : bool
            The same text is already stored under another county: replace it with this parse
            (its places become this county's; corrected places of its items are dropped, as
            they name the other county's townships). Without it, that case raises.

        Returns
        -------
        IngestResult
            ``created=False`` (and nothing written) when the same content is already stored
            under the same county. Reviewers' cut fixes kept for the same content
            (:meth:`merge_items`, :meth:`split_item`) are applied again; the caller's bulletin
            is not changed.

        Raises
        ------
        StoreError
            The bulletin could not be stored (for example two items with the same index), or
            is stored under another county (``code="store.county_conflict"``); nothing of it
            is changed in the store.
        """
        sha = _bulletin_sha(bulletin)
        bulletin = self._with_cuts(sha, bulletin)
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT county_code, (SELECT COUNT(*) FROM items WHERE bulletin_id = ?)"
                " FROM bulletins WHERE id = ?",
                (sha, sha),
            ).fetchone()
            if row is not None and (row[0] or None) == (bulletin.county_code or None):
                return IngestResult(sha, False, int(row[1]))
            if row is not None:
                if not reassign_county:
                    raise _county_conflict(bulletin, row[0])
                self._drop_for_reassignment(conn, sha)
                relink_orphans(conn)
            self._insert(conn, sha, bulletin)
            repeats = link_bulletin(conn, sha)
        return IngestResult(sha, True, len(bulletin.items), repeats)

    @staticmethod
    def _drop_for_reassignment(conn: sqlite3.Connection, sha: str) -> None:
        conn.execute(
            "DELETE FROM corrections WHERE field IN ('township_code', 'village_code')"
            " AND item_id IN (SELECT item_id FROM items WHERE bulletin_id = ?)",
            (sha,),
        )
        conn.execute("DELETE FROM bulletins WHERE id = ?", (sha,))

    @staticmethod
    def _insert(conn: sqlite3.Connection, sha: str, b: Bulletin) -> None:
        h = b.header or BulletinHeader()
        conn.execute(
            "INSERT INTO bulletins (id, source_name, title, issue, date, county, county_code,"
            " text, ingested_at, issue_total, publisher, layout, warnings, furniture,"
            " date_source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                sha,
                b.source_name,
                h.title,
                h.issue,
                h.date,
                b.county,
                b.county_code,
                b.text,
                _now(),
                h.issue_total,
                h.publisher,
                _dumps(b.layout.to_dict()),
                _dumps([w.to_dict() for w in b.warnings]),
                _dumps(b.furniture.to_dict()),
                h.date_source if h.date else None,
            ),
        )
        Store._insert_items(conn, sha, b)

    @staticmethod
    def _insert_items(conn: sqlite3.Connection, sha: str, b: Bulletin) -> None:
        for it in b.items:
            iid = item_id(sha, it.index)
            p = it.place or Place()
            conn.execute(
                f"INSERT INTO items ({_ITEM_FIELDS}) VALUES ({','.join('?' * 21)})",
                (
                    iid,
                    sha,
                    it.index,
                    it.headline,
                    it.body,
                    it.unit,
                    _dumps(list(it.authors)),
                    it.start,
                    it.end,
                    it.sector,
                    _dumps(list(it.sectors)),
                    _dumps(list(it.sector_cues)),
                    p.scope,
                    p.county or b.county,
                    p.county_code or b.county_code,
                    p.township,
                    p.township_code,
                    p.village,
                    p.village_code,
                    _dumps(list(p.outside)),
                    _dumps([e.to_dict() for e in p.evidence]),
                ),
            )
            conn.executemany(
                "INSERT INTO metrics (item_id, position, value, unit, qualifier, label, text,"
                " span_start, span_end, cumulative) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        *(iid, k, float(m.value), m.unit, m.qualifier, m.label, m.text),
                        *(*m.span, int(bool(m.cumulative))),
                    )
                    for k, m in enumerate(it.metrics)
                ],
            )
        insert_repeat_keys(conn, sha, b.items, b.county_code)

    def ingest_many(
        self,
        bulletins: Iterable[Bulletin],
        progress: Callable[[IngestResult], None] | None = None,
    ) -> list[IngestResult]:
        """Ingest bulletins one transaction each; ``progress(result)`` is called after each."""
        results = []
        for bulletin in bulletins:
            result = self.ingest(bulletin)
            results.append(result)
            if progress is not None:
                progress(result)
        return results

    def delete_bulletin(self, bulletin_id: str) -> bool:
        """Delete a bulletin with its items and metrics.

        Parameters
        ----------
        bulletin_id : str
            The full SHA-256 or a unique prefix of at least 6 characters.

        Returns
        -------
        bool
            False when no bulletin matched.

        Notes
        -----
        Corrections are kept: ingesting the same bulletin again brings them back.
        """
        with self._transaction() as conn:
            full = self._resolve_bulletin(bulletin_id)
            if full is None:
                return False
            conn.execute("DELETE FROM bulletins WHERE id = ?", (full,))
            relink_orphans(conn)
        return True

    def _resolve_bulletin(self, bulletin_id: str) -> str | None:
        bulletin_id = (bulletin_id or "").strip().lower()
        if len(bulletin_id) < 6:
            raise StoreError("give at least 6 characters of the bulletin id")
        rows = self._conn.execute(
            "SELECT id FROM bulletins WHERE id LIKE ? || '%'", (bulletin_id,)
        ).fetchall()
        if len(rows) > 1:
            raise StoreError(f"bulletin id {bulletin_id} is ambiguous; give more characters")
        return rows[0][0] if rows else None

    def correct(
        self,
        item_id: str,
        *,
        township_code: str | None = None,
        village_code: str | None = None,
        sector: str | None = None,
        repeat_of: str | None = None,
        cumulative: bool | None = None,
        note: str = "",
        gazetteer: Any | None = None,
    ) -> None:
        """Record a reviewer's correction of an item's place, sector or counting.

        Parameters
        ----------
        item_id : str
            An item of the store (``geo.aggregate.item_id``).
        township_code, village_code : str, optional
            Codes from the item's county gazetteer; ``""`` says the item is in no single
            township (or village).
        sector : str, optional
            A sector slug of :func:`geo.sectors.sector_names`.
        repeat_of : str, optional
            The item (of the same county) whose story this one repeats, so it is not counted
            again; ``""`` says it is a new fact, whatever the automatic link says.
        cumulative : bool, optional
            True: its figures are running totals (latest value counts); False: they add up.
        note : str
            Why, for the next reviewer.
        gazetteer : geo.gazetteer.Gazetteer, optional
            The item's county gazetteer; loaded from the item's county code when omitted.

        Raises
        ------
        StoreError
            Unknown item, unknown sector, or a code outside the item's county.
        """
        fields = {"township_code": township_code, "village_code": village_code, "sector": sector}
        fields["repeat_of"] = repeat_of
        fields["cumulative"] = None if cumulative is None else ("1" if cumulative else "0")
        fields = {k: v.strip() for k, v in fields.items() if v is not None}
        if not fields:
            raise StoreError("nothing to correct: give a township, village, sector or counting")
        with self._reading() as conn:
            row = conn.execute(
                "SELECT i.county_code AS icc, b.county_code AS bcc, b.county AS county"
                " FROM items i JOIN bulletins b ON b.id = i.bulletin_id WHERE i.item_id = ?",
                (item_id,),
            ).fetchone()
        if row is None:
            raise StoreError(f"no item {item_id} in the store")
        names: dict[str, str | None] = {}
        if fields.get("repeat_of"):
            names["repeat_of"] = self._check_first_report(item_id, fields["repeat_of"])
        if "sector" in fields:
            from geo.sectors import sector_names

            known = sector_names()
            if fields["sector"] not in known:
                raise StoreError(
                    f"unknown sector {fields['sector']!r}; known: {', '.join(sorted(known))}"
                )
            names["sector"] = known[fields["sector"]]
        codes = {k: v for k, v in fields.items() if k in ("township_code", "village_code") and v}
        if codes:
            county_code = row["icc"] or row["bcc"]
            if gazetteer is None:
                if not county_code:
                    raise StoreError(f"item {item_id} has no county; cannot check place codes")
                gazetteer = self._gazetteer(county_code, _default_loader, strict=True)
            names.update(self._check_codes(gazetteer, codes))
        created = _now()
        with self._transaction() as conn:
            conn.executemany(
                "INSERT INTO corrections (item_id, field, value, name, note, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(item_id, k, v, names.get(k), note, created) for k, v in fields.items()],
            )

    def _check_first_report(self, item_id_: str, first_id: str) -> str:
        """The headline of the item ``item_id_`` is said to repeat; StoreError when it is not
        another stored item of the same county."""
        with self._reading() as conn:
            rows = {
                r["item_id"]: r
                for r in conn.execute(
                    "SELECT i.item_id, i.headline, i.body,"
                    " COALESCE(i.county_code, b.county_code) AS county_code"
                    " FROM items i JOIN bulletins b ON b.id = i.bulletin_id"
                    " WHERE i.item_id IN (?, ?)",
                    (item_id_, first_id),
                )
            }
        if first_id == item_id_:
            raise StoreError("一条事项不能是它自己的重复", code="store.repeat_self")
        if first_id not in rows:
            raise StoreError(f"库中没有事项 {first_id}", code="store.no_item")
        if rows[first_id]["county_code"] != rows[item_id_]["county_code"]:
            raise StoreError(
                f"事项 {first_id} 属于另一个县，不能作为首次报道", code="store.repeat_county"
            )
        return (rows[first_id]["headline"] or rows[first_id]["body"] or "")[:60]

    @staticmethod
    def _check_codes(gazetteer: Any, codes: dict[str, str]) -> dict[str, str | None]:
        county = f"{gazetteer.county_name} ({gazetteer.county_code})"
        names: dict[str, str | None] = {}
        town_code = codes.get("township_code")
        if town_code:
            town = _lookup_township(gazetteer, town_code)
            if town is None:
                raise StoreError(f"township code {town_code} is not in {county}")
            names["township_code"] = town.name
        village_code = codes.get("village_code")
        if village_code:
            village = _lookup_village(gazetteer, village_code)
            if village is None:
                raise StoreError(f"village code {village_code} is not in {county}")
            if town_code and _village_township_code(village, village_code) != town_code:
                raise StoreError(
                    f"village {village.name} ({village_code}) is not in township {town_code}"
                )
            names["village_code"] = village.name
        return names

    def regeocode(self, gazetteer_loader: Callable[[str], Any] | None = None) -> int:
        """Recompute the places of all stored items with the current geocoder.

        Parameters
        ----------
        gazetteer_loader : callable, optional
            ``county_code -> Gazetteer``; default :func:`geo.gazetteer.load_gazetteer`.
            Bulletins without a county are geocoded with the gazetteer detected from their text.

        Returns
        -------
        int
            Number of items whose stored place changed. Corrections are untouched and still win
            in :meth:`frames`. Repeats are linked again when places changed (a story is of
            one place).
        """
        loader = gazetteer_loader or _default_loader
        changed = 0
        updates = []
        moved: dict[str, list[Item]] = {}
        with self._reading() as conn:
            bulletins = conn.execute("SELECT id, county_code, text FROM bulletins").fetchall()
            for b in bulletins:
                if b["county_code"]:
                    gaz = self._gazetteer(b["county_code"], loader, strict=True)
                else:
                    gaz = detect_gazetteer(b["text"])
                for item, old in self._items_of(b["id"]):
                    place = geocode_item(item, gaz)
                    new = self._place_values(place)
                    if new != old:
                        changed += 1
                        updates.append((*new, item_id(b["id"], item.index)))
                        moved.setdefault(b["id"], []).append(replace(item, place=place))
        with self._transaction() as conn:
            conn.executemany(
                "UPDATE items SET scope = ?, county = ?, county_code = ?, township = ?,"
                " township_code = ?, village = ?, village_code = ?, outside = ?, evidence = ?"
                " WHERE item_id = ?",
                updates,
            )
            if moved:  # repeats are of one place: keys and links follow the new places
                for bulletin_id, items in moved.items():
                    ids = [(item_id(bulletin_id, it.index),) for it in items]
                    conn.executemany("DELETE FROM repeat_keys WHERE item_id = ?", ids)
                    insert_repeat_keys(conn, bulletin_id, items, None)
                relink_all(conn)
        return changed

    @staticmethod
    def _place_values(p: Place) -> tuple:
        return (
            p.scope,
            p.county,
            p.county_code,
            p.township,
            p.township_code,
            p.village,
            p.village_code,
            _dumps(list(p.outside)),
            _dumps([e.to_dict() for e in p.evidence]),
        )

    # cut fixes ------------------------------------------------------------------------------

    def merge_items(self, first_id: str, second_id: str, *, note: str = "") -> str:
        """Merge two neighbouring items of one bulletin into one; the fix is kept.

        Parameters
        ----------
        first_id, second_id : str
            Item ids (any order).
        note : str
            Why, for the next reviewer.

        Returns
        -------
        str
            The merged item's id (the first item's).

        Raises
        ------
        StoreError
            Unknown items, items of two bulletins, or items that are not neighbours
            (messages in Chinese).
        """
        bulletin_id, items, found = self._locate(first_id, second_id)
        cut = self._checked(lambda: merge_cut(items, found[0], found[1], note=note))
        self._recut(bulletin_id, cut, record=True)
        return item_id(bulletin_id, min(found))

    def split_item(self, item_id_: str, at: int, *, note: str = "") -> tuple[str, str]:
        """Split an item so that a new item starts at offset ``at``; the fix is kept.

        Parameters
        ----------
        item_id_ : str
        at : int
            Offset in the bulletin's normalised text (as ``start``/``end`` of items), inside
            the item; see :func:`geo.recut.cut_points` and :func:`geo.recut.split_offset`.
        note : str

        Returns
        -------
        tuple of (str, str)
            Ids of the two items.

        Raises
        ------
        StoreError
            Unknown item, or ``at`` not inside it (messages in Chinese).
        """
        bulletin_id, items, (k,) = self._locate(item_id_)
        text = self.bulletin_text(bulletin_id)
        cut = self._checked(lambda: split_cut(text, items[k], int(at), note=note))
        self._recut(bulletin_id, cut, record=True)
        return item_id(bulletin_id, k), item_id(bulletin_id, k + 1)

    def undo_cut(self, cut_id: int) -> None:
        """Take back a cut fix: the items are cut as before it, the fix is forgotten.

        Raises
        ------
        StoreError
            No such fix, or a later fix depends on it (take that back first).
        """
        with self._reading() as conn:
            row = conn.execute("SELECT * FROM cuts WHERE id = ?", (int(cut_id),)).fetchone()
            stored = (
                row is not None
                and conn.execute(
                    "SELECT 1 FROM bulletins WHERE id = ?", (row["bulletin_id"],)
                ).fetchone()
            )
        if row is None:
            raise StoreError(f"没有编号为 {cut_id} 的切分更正")
        if not stored:  # the bulletin was deleted: only forget the fix
            with self._transaction() as conn:
                conn.execute("DELETE FROM cuts WHERE id = ?", (int(cut_id),))
            return
        inverse = Cut("split" if row["kind"] == "merge" else "merge", row["at_offset"])
        self._recut(row["bulletin_id"], inverse, forget=int(cut_id))

    def cuts(self, bulletin_id: str | None = None) -> pd.DataFrame:
        """Every cut fix, oldest first.

        Parameters
        ----------
        bulletin_id : str, optional
            Only this bulletin's fixes (full id or a prefix of 6+ characters).

        Returns
        -------
        pandas.DataFrame
            Columns :data:`CUT_COLUMNS`; ``bulletin_name`` is empty when the bulletin is not
            stored now.
        """
        where, args = "", ()
        if bulletin_id:
            with self._lock:
                full = self._resolve_bulletin(bulletin_id)
            where, args = "WHERE k.bulletin_id = ?", (full or bulletin_id,)
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT k.id, k.bulletin_id, k.kind, k.at_offset, k.note, k.created_at,"
                f" b.source_name AS bulletin_name FROM cuts k LEFT JOIN bulletins b"
                f" ON b.id = k.bulletin_id {where} ORDER BY k.id",
                args,
            ).fetchall()
        return pd.DataFrame([dict(r) for r in rows], columns=CUT_COLUMNS)

    def item(self, item_id_: str) -> tuple[str, Item]:
        """A stored item as parsed (offsets included) and its bulletin's id.

        Raises
        ------
        StoreError
            No such item.
        """
        bulletin_id, items, (k,) = self._locate(item_id_)
        return bulletin_id, items[k]

    def bulletin_items(self, bulletin_id: str) -> list[Item]:
        """A stored bulletin's items as parsed, in order, with their offsets into
        :meth:`bulletin_text` (what a review screen shows to merge or split them).

        Raises
        ------
        StoreError
            No such bulletin.
        """
        with self._lock:
            return [it for it, _ in self._items_of(self._stored_id(bulletin_id))]

    def bulletin_text(self, bulletin_id: str) -> str:
        """The normalised text of a stored bulletin (item offsets index into it).

        Raises
        ------
        StoreError
            No such bulletin.
        """
        with self._reading() as conn:
            full = self._stored_id(bulletin_id)
            row = conn.execute("SELECT text FROM bulletins WHERE id = ?", (full,)).fetchone()
        return row["text"]

    def _stored_id(self, bulletin_id: str) -> str:
        """The full id of a stored bulletin (a prefix of 6+ characters will do), or StoreError."""
        full = self._resolve_bulletin(bulletin_id)
        if full is None:
            raise StoreError(f"简报 {bulletin_id} 不在库中")
        return full

    @staticmethod
    def _checked(make: Callable[[], Cut]) -> Cut:
        try:
            return make()
        except CutError as err:
            raise StoreError(str(err)) from None

    def _locate(self, *ids: str) -> tuple[str, list[Item], list[int]]:
        """The bulletin of items ``ids``, its items, and their positions in it."""
        with self._reading() as conn:
            rows = [
                conn.execute(
                    "SELECT bulletin_id, idx FROM items WHERE item_id = ?", (i,)
                ).fetchone()
                for i in ids
            ]
            missing = [i for i, r in zip(ids, rows, strict=True) if r is None]
            if missing:
                raise StoreError(f"库中没有事项 {'、'.join(missing)}")
            if len({r["bulletin_id"] for r in rows}) > 1:
                raise StoreError("这几条事项不在同一份简报中，不能合并")
            bulletin_id = rows[0]["bulletin_id"]
            items = [it for it, _ in self._items_of(bulletin_id)]
        positions = {it.index: k for k, it in enumerate(items)}
        return bulletin_id, items, [positions[r["idx"]] for r in rows]

    def _annotated(self, text: str, county_code: str | None, items: list[Item], changed) -> None:
        """Metrics, sector and place of the rebuilt items ``items[i] for i in changed``."""
        if county_code:
            gaz = self._gazetteer(county_code, _default_loader, strict=False)
        else:
            gaz = detect_gazetteer(text)
        annotate_items([items[i] for i in sorted(changed)], gaz)

    def _with_cuts(self, sha: str, bulletin: Bulletin) -> Bulletin:
        """``bulletin`` with the fixes kept for its content applied (a copy when any)."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT id, kind, at_offset, note FROM cuts WHERE bulletin_id = ? ORDER BY id",
                (sha,),
            ).fetchall()
        if not rows:
            return bulletin
        cuts = [Cut(r["kind"], r["at_offset"], r["id"], r["note"]) for r in rows]
        items, changed, _ = apply_cuts(
            bulletin.text, bulletin.items, cuts, heads=bulletin.layout.heads
        )
        self._annotated(bulletin.text, bulletin.county_code, items, changed)
        return replace(bulletin, items=items)

    def _recut(
        self, bulletin_id: str, cut: Cut, *, record: bool = False, forget: int | None = None
    ) -> None:
        """Apply ``cut`` to a stored bulletin's items, keep or forget the fix, and move
        corrections along with their items, in one transaction."""
        with self._reading() as conn:
            b = conn.execute(
                "SELECT text, county, county_code, layout FROM bulletins WHERE id = ?",
                (bulletin_id,),
            ).fetchone()
            old = [it for it, _ in self._items_of(bulletin_id)]
        new, changed = apply_cut(b["text"], old, cut, heads=_layout(b["layout"]).heads)
        self._annotated(b["text"], b["county_code"], new, changed)
        shell = Bulletin(
            "", b["text"], bulletin_id, county=b["county"], county_code=b["county_code"]
        )
        shell.items = new
        with self._transaction() as conn:
            conn.execute("DELETE FROM items WHERE bulletin_id = ?", (bulletin_id,))
            self._insert_items(conn, bulletin_id, shell)
            relink_orphans(conn)
            link_bulletin(conn, bulletin_id)
            moved = _move_corrections(conn, bulletin_id, old, new)
            if record:
                conn.execute(
                    "INSERT INTO cuts (bulletin_id, kind, at_offset, note, created_at, moved)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (bulletin_id, cut.kind, cut.at, cut.note, _now(), _dumps(moved)),
                )
            if forget is not None:
                row = conn.execute("SELECT moved FROM cuts WHERE id = ?", (forget,)).fetchone()
                _restore_corrections(conn, bulletin_id, new, json.loads(row["moved"]))
                conn.execute("DELETE FROM cuts WHERE id = ?", (forget,))

    # reading --------------------------------------------------------------------------------

    def _gazetteer(self, county_code: str, loader: Callable, *, strict: bool) -> Any | None:
        if county_code not in self._gazetteers:
            try:
                self._gazetteers[county_code] = loader(county_code)
            except (GeoInputError, ImportError, OSError) as err:
                if strict:
                    if isinstance(err, GeoInputError):
                        raise
                    raise StoreError(f"no gazetteer for county {county_code}: {err}") from None
                return None
        return self._gazetteers[county_code]

    def _items_of(self, bulletin_id: str) -> list[tuple[Item, tuple]]:
        """Items of one bulletin rebuilt as :class:`Item`, with their stored place values."""
        rows = self._conn.execute(
            "SELECT * FROM items WHERE bulletin_id = ? ORDER BY idx", (bulletin_id,)
        ).fetchall()
        metrics: dict[str, list[Metric]] = {}
        for m in self._conn.execute(
            "SELECT m.* FROM metrics m JOIN items i ON i.item_id = m.item_id"
            " WHERE i.bulletin_id = ? ORDER BY m.item_id, m.position",
            (bulletin_id,),
        ):
            metrics.setdefault(m["item_id"], []).append(
                Metric(
                    value=m["value"],
                    unit=m["unit"],
                    qualifier=m["qualifier"],
                    label=m["label"],
                    text=m["text"],
                    span=(m["span_start"], m["span_end"]),
                    cumulative=bool(m["cumulative"]),
                )
            )
        out = []
        for r in rows:
            place = Place(
                scope=r["scope"],
                county=r["county"],
                county_code=r["county_code"],
                township=r["township"],
                township_code=r["township_code"],
                village=r["village"],
                village_code=r["village_code"],
                outside=json.loads(r["outside"]),
                evidence=[Evidence(**e) for e in json.loads(r["evidence"])],
            )
            item = Item(
                index=r["idx"],
                headline=r["headline"],
                body=r["body"],
                unit=r["unit"],
                authors=json.loads(r["authors"]),
                start=r["start_offset"],
                end=r["end_offset"],
                metrics=metrics.get(r["item_id"], []),
                sector=r["sector"],
                sectors=json.loads(r["sectors"]),
                sector_cues=json.loads(r["sector_cues"]),
                place=place,
            )
            values = (
                r["scope"],
                r["county"],
                r["county_code"],
                r["township"],
                r["township_code"],
                r["village"],
                r["village_code"],
                r["outside"],
                r["evidence"],
            )
            out.append((item, values))
        return out

    def load_bulletins(self, bulletin_ids: Iterable[str] | None = None) -> list[Bulletin]:
        """Stored bulletins rebuilt as :class:`~geo.models.Bulletin`, as parsed (no corrections).

        Parameters
        ----------
        bulletin_ids : iterable of str, optional
            Full ids; all bulletins, in ingest order, when omitted.
        """
        with self._reading() as conn:
            rows = conn.execute("SELECT * FROM bulletins ORDER BY rowid").fetchall()
            wanted = None if bulletin_ids is None else set(bulletin_ids)
            out = []
            for r in rows:
                if wanted is not None and r["id"] not in wanted:
                    continue
                out.append(
                    Bulletin(
                        source_name=r["source_name"],
                        text=r["text"],
                        sha256=r["id"],
                        header=BulletinHeader(
                            title=r["title"],
                            issue=r["issue"],
                            date=r["date"],
                            issue_total=r["issue_total"],
                            publisher=r["publisher"],
                            date_source=r["date_source"],
                        ),
                        county=r["county"],
                        county_code=r["county_code"],
                        items=[item for item, _ in self._items_of(r["id"])],
                        layout=_layout(r["layout"]),
                        warnings=[ParseWarning(**w) for w in json.loads(r["warnings"])],
                        furniture=_furniture(r["furniture"]),
                    )
                )
        return out

    def frames(
        self, gazetteer_loader: Callable[[str], Any] | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """All stored items and metrics as ``(items_df, metrics_df)``, corrections applied.

        Parameters
        ----------
        gazetteer_loader : callable, optional
            ``county_code -> Gazetteer`` used to name corrected codes; default
            :func:`geo.gazetteer.load_gazetteer`. Without a gazetteer the names stored with the
            correction are used.

        Returns
        -------
        items_df, metrics_df : pandas.DataFrame
            Columns :data:`geo.aggregate.ITEM_COLUMNS` and :data:`geo.aggregate.METRIC_COLUMNS`,
            like :func:`geo.aggregate.items_frame`; corrected items have ``corrected=True``.
        """
        loader = gazetteer_loader or _default_loader
        with self._reading() as conn:
            cur = conn.cursor()
            cur.row_factory = None  # plain tuples: ~2x faster than sqlite3.Row for large stores
            rows = cur.execute(_ITEMS_SQL).fetchall()
            names = [d[0] for d in cur.description]
            metric_rows = cur.execute(_METRICS_SQL).fetchall()
            fixes = self._latest_corrections(conn)
        records = []
        for row in rows:
            rec = dict(zip(names, row, strict=True))
            for column, sep in _JOINED_COLUMNS.items():
                rec[column] = _joined(rec[column], sep)
            rec["corrected"] = False
            item_fixes = fixes.get(rec["item_id"])
            if item_fixes:
                rec = self._corrected(rec, item_fixes, loader)
            records.append(rec)
        items_df = pd.DataFrame.from_records(records, columns=ITEM_COLUMNS)
        metrics_df = pd.DataFrame(metric_rows, columns=METRIC_COLUMNS)
        return _with_cumulative(items_df, metrics_df)

    def _corrected(self, rec: dict, item_fixes: list, loader: Callable) -> dict:
        """An items_df record with its reviewers' corrections applied."""
        gaz = None
        if rec["county_code"] and any(f[0] in _PLACE_AND_SECTOR[:2] for f in item_fixes):
            gaz = self._gazetteer(rec["county_code"], loader, strict=False)
        return _apply_corrections(rec, item_fixes, gaz)

    @staticmethod
    def _latest_corrections(
        conn: sqlite3.Connection,
    ) -> dict[str, list[tuple[str, str, str | None]]]:
        """Per item, the latest correction of each field, ``(field, value, name)``, oldest first."""
        latest: dict[str, dict[str, tuple[int, str, str | None]]] = {}
        for c in conn.execute(
            "SELECT id, item_id, field, value, name FROM corrections ORDER BY id"
        ):
            latest.setdefault(c["item_id"], {})[c["field"]] = (c["id"], c["value"], c["name"])
        out = {}
        for iid, per_field in latest.items():
            ordered = sorted(per_field.items(), key=lambda kv: kv[1][0])
            out[iid] = [(fld, value, name) for fld, (_, value, name) in ordered]
        return out

    def bulletins(self) -> pd.DataFrame:
        """One row per stored bulletin (without its text), in ingest order.

        Returns
        -------
        pandas.DataFrame
            Columns ``id, source_name, title, issue, date, county, county_code, ingested_at,
            n_items, n_corrections, issue_total, publisher, layout`` (in Chinese),
            ``n_warnings, n_cuts, date_source`` (``masthead``, ``file``, ``user`` or None).
        """
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT b.id, b.source_name, b.title, b.issue, b.date, b.county, b.county_code,"
                " b.ingested_at,"
                " (SELECT COUNT(*) FROM items i WHERE i.bulletin_id = b.id) AS n_items,"
                " (SELECT COUNT(DISTINCT c.item_id) FROM corrections c JOIN items i"
                "  ON i.item_id = c.item_id WHERE i.bulletin_id = b.id) AS n_corrections,"
                " b.issue_total, b.publisher, b.layout, b.warnings,"
                " (SELECT COUNT(*) FROM cuts k WHERE k.bulletin_id = b.id) AS n_cuts,"
                " b.date_source FROM bulletins b ORDER BY b.rowid"
            ).fetchall()
        records = []
        for r in rows:
            rec = dict(r)
            rec["layout"] = _layout(rec["layout"]).describe_zh()
            rec["n_warnings"] = len(json.loads(rec.pop("warnings")))
            records.append(rec)
        return pd.DataFrame(records, columns=_BULLETIN_COLUMNS)

    def corrections(self) -> pd.DataFrame:
        """Every correction, oldest first, with the item's headline where the item is stored.

        Returns
        -------
        pandas.DataFrame
            Columns ``id, item_id, field, value, name, note, created_at, headline,
            bulletin_name``.
        """
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT c.id, c.item_id, c.field, c.value, c.name, c.note, c.created_at,"
                " i.headline, b.source_name AS bulletin_name FROM corrections c"
                " LEFT JOIN items i ON i.item_id = c.item_id"
                " LEFT JOIN bulletins b ON b.id = i.bulletin_id ORDER BY c.id"
            ).fetchall()
        return pd.DataFrame([dict(r) for r in rows], columns=_CORRECTION_COLUMNS)

    # township boundaries --------------------------------------------------------------------

    def save_boundaries(
        self,
        county_code: str,
        gdf: Any,
        *,
        source_name: str,
        report: Any = None,
        crs_note: str = "",
        datum: str = "wgs84",
        name: str | None = None,
        uploader: str = "",
        quality_source: str = "",
        encoding: str = "",
        report_data: dict | None = None,
    ) -> int:
        """Keep a joined township layer; it becomes the county's active boundaries.

        Parameters
        ----------
        county_code : str
            Six-digit county code.
        gdf : geopandas.GeoDataFrame
            Output of :func:`geo.boundaries.join_to_gazetteer`: columns ``township_code``,
            ``township``, ``quality``, ``source``, ``geometry`` (reprojected to EPSG:4326 here
            if needed; a missing CRS is taken as EPSG:4326).
        source_name : str
            The file the polygons came from, shown with the layer.
        report : JoinReport, BoundaryReport, str or a list of them, optional
            What reading and joining did; kept as text (``to_text()``).
        crs_note : str
            The file's CRS as read or assigned (e.g. ``"EPSG:3857, assigned by user"``).
        datum : {"wgs84", "gcj02", "bd09"}
            Datum the file was in (already converted to WGS84 in ``gdf``).
        name : str, optional
            County name, for listings.
        uploader : str
            Who uploaded the file, when known.
        quality_source : str
            Where an ``official`` set comes from, as the uploader declared it.
        encoding : str
            How the attribute text was decoded (e.g. ``"GB18030（自动识别）"``).
        report_data : dict, optional
            The read, position and join reports as plain data (kept as JSON).

        Returns
        -------
        int
            Id of the saved set.

        Raises
        ------
        StoreError
            Bad county code, unknown datum, or a layer without township polygons.
        """
        county_code = str(county_code or "").strip()
        if not (len(county_code) == 6 and county_code.isdigit()):
            raise StoreError(f"county code {county_code!r} is not 6 digits")
        if datum not in _BOUNDARY_DATUMS:
            raise StoreError(
                f"unknown datum {datum!r} (choose one of {', '.join(_BOUNDARY_DATUMS)})"
            )
        layer = _boundary_layer(gdf)
        qualities = set(layer["quality"])
        quality = qualities.pop() if len(qualities) == 1 else "user"
        geojson = layer.to_json(drop_id=True, ensure_ascii=False)
        row = (
            county_code,
            name,
            str(source_name),
            crs_note or "",
            datum,
            quality,
            len(layer),
            geojson,
            _report_text(report),
            _now(),
            str(uploader or ""),
            str(quality_source or ""),
            str(encoding or ""),
            _dumps(report_data or {}),
        )
        with self._transaction() as conn:
            cur = conn.execute(
                "INSERT INTO boundaries (county_code, name, source_name, crs_note, datum,"
                " quality, n_townships, geojson, join_report, created_at, uploader,"
                " quality_source, encoding, report_json)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
        return int(cur.lastrowid)

    def boundary_set(self, county_code: str) -> dict | None:
        """The active boundary set of a county without its geometry (cheap), or None.

        Returns
        -------
        dict or None
            Keys ``id, county_code, name, source_name, crs_note, datum, quality, n_townships,
            created_at, join_report, uploader, quality_source, encoding, report_json``
            (``report_json`` decoded: the structured reports).
        """
        with self._reading() as conn:
            row = conn.execute(
                f"SELECT {_SET_FIELDS} FROM boundaries WHERE county_code = ?"
                " ORDER BY id DESC LIMIT 1",
                (str(county_code),),
            ).fetchone()
        return _set_meta(row) if row is not None else None

    def boundaries(self, county_code: str) -> Any | None:
        """The county's active (latest saved) township layer, or None when none was saved.

        Parameters
        ----------
        county_code : str

        Returns
        -------
        geopandas.GeoDataFrame or None
            Columns :data:`BOUNDARY_COLUMNS` in EPSG:4326; ``gdf.attrs["boundary_set"]`` holds
            the set's metadata (:meth:`boundary_set`).

        Raises
        ------
        StoreError
            The stored layer cannot be read back.
        """
        import geopandas as gpd  # lazy: only boundary users pay for geopandas

        with self._reading() as conn:
            row = conn.execute(
                f"SELECT {_SET_FIELDS}, geojson FROM boundaries WHERE county_code = ?"
                " ORDER BY id DESC LIMIT 1",
                (str(county_code),),
            ).fetchone()
        if row is None:
            return None
        meta = _set_meta(row)
        geojson = meta.pop("geojson")
        try:
            features = json.loads(geojson)["features"]
            gdf = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise StoreError(
                f"stored boundaries {meta['id']} of {county_code} are damaged ({err})"
            ) from None
        for col in BOUNDARY_COLUMNS[:-1]:
            if col not in gdf:
                gdf[col] = None
        gdf = gdf[BOUNDARY_COLUMNS]
        gdf["township_code"] = gdf["township_code"].astype(str)
        gdf.attrs["boundary_set"] = meta
        return gdf

    def boundary_sets(self, county_code: str | None = None) -> pd.DataFrame:
        """Every saved boundary set (without geometry), newest first.

        Parameters
        ----------
        county_code : str, optional
            Only this county's sets.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`BOUNDARY_SET_COLUMNS`; ``active`` marks each county's latest set.
        """
        where, args = ("WHERE county_code = ?", (str(county_code),)) if county_code else ("", ())
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT {_SET_FIELDS}, id = (SELECT MAX(b2.id) FROM boundaries b2"
                f" WHERE b2.county_code = boundaries.county_code) AS active"
                f" FROM boundaries {where} ORDER BY id DESC",
                args,
            ).fetchall()
        df = pd.DataFrame([dict(r) for r in rows], columns=BOUNDARY_SET_COLUMNS)
        df["active"] = df["active"].astype(bool)
        return df

    def delete_boundaries(self, county_code: str) -> int:
        """Forget every saved boundary set of a county (its default layer applies again).

        Returns
        -------
        int
            Number of sets deleted.
        """
        with self._transaction() as conn:
            n = conn.execute(
                "DELETE FROM boundaries WHERE county_code = ?", (str(county_code),)
            ).rowcount
        return int(n)


_SET_FIELDS = (
    "id, county_code, name, source_name, crs_note, datum, quality, n_townships, created_at,"
    " join_report, uploader, quality_source, encoding, report_json"
)


def _set_meta(row: Any) -> dict:
    """A boundary set's row as a dict, its structured reports decoded."""
    meta = dict(row)
    try:
        meta["report_json"] = json.loads(meta.get("report_json") or "{}")
    except ValueError:
        meta["report_json"] = {}
    return meta


def _boundary_layer(gdf: Any) -> Any:
    """``gdf`` reduced to :data:`BOUNDARY_COLUMNS` in EPSG:4326, or StoreError."""
    columns = getattr(gdf, "columns", None)
    if columns is None or "geometry" not in columns or "township_code" not in columns:
        raise StoreError("boundaries need township_code and geometry columns (join them first)")
    layer = gdf[[c for c in BOUNDARY_COLUMNS if c in columns]].copy()
    layer = layer[layer.geometry.notna() & ~layer.geometry.is_empty]
    if layer.empty:
        raise StoreError("no township polygons to save")
    if layer.crs is None:
        layer = layer.set_crs("EPSG:4326")
    elif layer.crs.to_epsg() != 4326:
        layer = layer.to_crs("EPSG:4326")
    layer["township_code"] = layer["township_code"].astype(str)
    for col, default in (("township", None), ("quality", "user"), ("source", "")):
        if col not in layer:
            layer[col] = default
    layer["quality"] = layer["quality"].fillna("user")
    bad = set(layer["quality"]) - set(_BOUNDARY_QUALITIES)
    if bad:
        raise StoreError(f"unknown boundary quality {', '.join(sorted(map(str, bad)))}")
    return layer[BOUNDARY_COLUMNS].reset_index(drop=True)


def _report_text(report: Any) -> str:
    """Reports (objects with ``to_text()``, strings, or a list of them) as one text."""
    if report is None:
        return ""
    if isinstance(report, list | tuple):
        return "\n".join(t for t in (_report_text(r) for r in report) if t)
    to_text = getattr(report, "to_text", None)
    return str(to_text() if callable(to_text) else report).strip()
