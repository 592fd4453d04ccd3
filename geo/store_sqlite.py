"""The SQLite backend of the store: one file (stdlib ``sqlite3``, WAL, foreign keys on).

* Schema creation and migration run in one ``BEGIN IMMEDIATE`` transaction that also reads the
  version, so two processes opening a new file at once both succeed (one waits for the other).
* ``PRAGMA quick_check`` runs at every open; a damaged file is refused, never written into.
* A file in a read-only folder opens read-only (``mode=ro``, ``immutable`` when SQLite cannot
  keep its lock files there).
* Township polygons are kept as one GeoJSON text per boundary set.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from geo.errors import StoreError
from geo.store_backend import BOUNDARY_COLUMNS, StoreBackend, check_version, now, short

__all__ = ["MIGRATIONS", "SqliteBackend", "migrate", "user_version"]

#: Ordered schema steps; step ``i`` brings a file from version ``i`` to ``i + 1``. Append only,
#: and append the same step to :data:`geo.store_postgis.MIGRATIONS`.
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
    # 6: the store's revision, raised by every write transaction (caches key on it)
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO meta VALUES ('revision', 0);
    """,
    # 7: the geocoder's confidence on every item; county rules kept from reviewers' corrections
    """
    ALTER TABLE items ADD COLUMN confidence REAL;
    ALTER TABLE items ADD COLUMN needs_review INTEGER;
    ALTER TABLE items ADD COLUMN alternatives TEXT NOT NULL DEFAULT '[]';
    CREATE TABLE place_rules (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        county_code TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('alias', 'unit', 'landmark')),
        text TEXT NOT NULL,
        township_code TEXT NOT NULL,
        township TEXT NOT NULL DEFAULT '',
        village_code TEXT NOT NULL DEFAULT '',
        village TEXT NOT NULL DEFAULT '',
        author TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        source_item TEXT NOT NULL DEFAULT '',
        UNIQUE (county_code, kind, text)
    );
    CREATE INDEX items_review ON items (needs_review, confidence);
    """,
    # 8: activity over time (issue 11) — where a bulletin's date comes from; running totals
    # (metrics.cumulative); repeats linked to the first report of their story (items.repeat_of,
    # the RapidFuzz similarity in repeat_score) and the clause keys they are found by
    # (geo.near_duplicates); reviewers override either like other corrections (the table is
    # rebuilt to allow the two fields). Existing items are marked and linked by
    # geo.store_facts.backfill right after this step (geo.store.AFTER_MIGRATION).
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
    CREATE TABLE corrections_v8 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        item_id TEXT NOT NULL,
        field TEXT NOT NULL CHECK (field IN ('township_code', 'village_code', 'sector',
                                             'repeat_of', 'cumulative')),
        value TEXT NOT NULL,
        name TEXT,
        note TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    INSERT INTO corrections_v8 (id, item_id, field, value, name, note, created_at)
        SELECT id, item_id, field, value, name, note, created_at FROM corrections;
    DROP TABLE corrections;
    ALTER TABLE corrections_v8 RENAME TO corrections;
    CREATE INDEX corrections_item ON corrections (item_id, field, id);
    """,
    # 9: settings a planner enters in the app (the 天地图 key): kept here, never exported
    """
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
    """,
    # 10: word-for-word reprints found by one key of an item's whole text and place
    # (geo.near_duplicates.text_key); stored items get theirs by geo.store_facts.
    # backfill_text_keys right after this step
    """
    ALTER TABLE items ADD COLUMN text_key INTEGER;
    CREATE INDEX items_text_key ON items (text_key);
    """,
    # 11: clause keys held once per text (by its whole-text key), not once per item: a
    # reprint's are its copy's, so storing a reprint writes none. One B-tree, by key: a text's
    # own keys are made again from its text when needed, never looked up (geo.store_facts.
    # backfill_repeat_keys keys the stored texts and makes the links again right after). The
    # text-key index holds what finding a text's copies reads, so their rows are not read
    """
    DROP INDEX items_text_key;
    CREATE INDEX items_text_key ON items (text_key, bulletin_id, idx, item_id, repeat_of,
        village_code);
    DROP TABLE repeat_keys;
    CREATE TABLE repeat_keys (
        key INTEGER NOT NULL,
        text_key INTEGER NOT NULL,
        PRIMARY KEY (key, text_key)
    ) WITHOUT ROWID;
    """,
]


def user_version(conn: sqlite3.Connection) -> int | None:
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


def migrate(
    conn: sqlite3.Connection,
    current: int,
    target: int | None = None,
    *,
    after: dict[int, Callable[[Any], None]] | None = None,
) -> None:
    """Apply ``MIGRATIONS[current:target]`` inside the caller's write transaction; ``after``
    (``version -> function(conn)``) runs right after a step on a store that was not new.

    Statement by statement rather than ``executescript`` (which commits first), so that the
    whole upgrade — and the version check before it — happens under one write lock: a second
    process opening the same new file waits, then finds the finished schema.
    """
    target = len(MIGRATIONS) if target is None else target
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)"
    )
    for version in range(current + 1, target + 1):
        for statement in _statements(MIGRATIONS[version - 1]):
            conn.execute(statement)
        if after and version in after and current > 0:  # a new store has nothing to bring up
            after[version](conn)
        conn.execute("INSERT INTO schema_version VALUES (?, ?)", (version, now()))


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


_OLD_READ_ONLY = "位于只读位置，无法升级；请复制到可写的文件夹后再打开"


def _damaged(path: Any, detail: Any) -> StoreError:
    return StoreError(
        f"数据库文件 {path} 已损坏或不是数据库（{short(detail)}）；未写入任何内容。"
        "请用备份替换，或换一个 GEO_STORE 路径",
        code="store.damaged",
    )


def _write_failed(path: Any, detail: Any) -> StoreError:
    if isinstance(detail, sqlite3.DatabaseError) and "malformed" in str(detail):
        return _damaged(path, detail)
    return StoreError(
        f"写入数据库 {path} 失败（{short(detail)}），本次未保存任何内容", code="store.write"
    )


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


class SqliteBackend(StoreBackend):
    """The store in one SQLite file.

    Parameters
    ----------
    path : str or pathlib.Path
        The file, or ``":memory:"`` for a throw-away store. Missing folders are created.
    """

    kind: ClassVar[str] = "sqlite"
    migrations: ClassVar[list[str]] = MIGRATIONS

    def __init__(self, path: str | Path):
        super().__init__()
        self.path: Path | str = ":memory:" if str(path) == ":memory:" else Path(path)
        self.location = str(self.path)
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        return self._conn

    def open(self) -> None:
        self._conn = self._connect()
        try:
            self._prepare()
        except sqlite3.OperationalError as err:  # locked, I/O, permissions: not damage
            self._conn.close()
            raise StoreError(
                f"无法打开数据库 {self.path}（{short(err)}），请稍后重试", code="store.busy"
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

    def _prepare(self) -> None:
        """Check the file, then create or upgrade its schema under one write lock."""
        conn = self._conn
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 10000")
        if self.path != ":memory:":
            _check_integrity(conn, self.path)
        if self.read_only:
            check_version(
                user_version(conn),
                self.location,
                len(MIGRATIONS),
                writable=False,
                hint=_OLD_READ_ONLY,
            )
            return
        if self.path != ":memory:":
            _set_wal(conn)
        # The version is read inside the write transaction: a second process opening the same
        # new file waits here, then sees the schema the first one created.
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = user_version(conn)
            check_version(version, self.location, len(MIGRATIONS), writable=True)
            if version < len(MIGRATIONS):
                migrate(conn, version, after=self.after_migration)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self.lock:
            if self._conn is not None:
                self._conn.close()

    def schema_version(self) -> int:
        with self.lock:
            return user_version(self._conn) or 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise StoreError(
                f"数据库 {self.path} 位于只读位置，只能查看，不能写入", code="store.read_only"
            )
        with self.lock:
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
    def reading(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            try:
                yield self._conn
            except sqlite3.DatabaseError as err:
                raise _damaged(self.path, err) from None

    def insert_id(self, conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> int:
        return int(conn.execute(sql, params).lastrowid)

    def plain_rows(
        self, conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[tuple]]:
        cur = conn.cursor()
        cur.row_factory = None  # plain tuples: ~2x faster than sqlite3.Row for large stores
        rows = cur.execute(sql, params).fetchall()
        return [d[0] for d in cur.description], rows

    def insert_boundary_set(self, conn: sqlite3.Connection, meta: dict[str, Any], layer) -> int:
        values = {**meta, "geojson": layer.to_json(drop_id=True, ensure_ascii=False)}
        columns = ", ".join(values)
        marks = ", ".join("?" * len(values))
        return self.insert_id(
            conn, f"INSERT INTO boundaries ({columns}) VALUES ({marks})", list(values.values())
        )

    def boundary_layer(self, conn: sqlite3.Connection, set_id: int):
        import geopandas as gpd  # lazy: only boundary users pay for geopandas

        row = conn.execute(
            "SELECT county_code, geojson FROM boundaries WHERE id = ?", (set_id,)
        ).fetchone()
        try:
            features = json.loads(row["geojson"])["features"]
            gdf = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise StoreError(
                f"已存的 {row['county_code']} 乡镇边界 {set_id} 已损坏（{err}）："
                "请重新导入该县边界",
                code="store.damaged",
            ) from None
        for col in BOUNDARY_COLUMNS[:-1]:
            if col not in gdf:
                gdf[col] = None
        return gdf[BOUNDARY_COLUMNS]
