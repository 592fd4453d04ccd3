"""The store: ingested bulletins, their items and metrics, reviewers' corrections, boundaries.

Bulletins are keyed by the SHA-256 of their normalised text, so ingesting the same content twice
changes nothing. Corrections are kept apart from the parsed items, keyed by the stable
``item_id``: they win over whatever the parser or geocoder says, also after re-geocoding or after
a bulletin is deleted and ingested again. Every write is one transaction.

Two backends keep the same tables (:mod:`geo.store_backend`): one SQLite file, the default
(:mod:`geo.store_sqlite`), and a PostgreSQL database with PostGIS for shared deployments
(:mod:`geo.store_postgis`), chosen by the location (``GEO_STORE=postgresql://…`` or
``--store``). The SQL below is written once for both.

The schema is versioned: each backend has an ordered list of steps for the same versions;
opening an older store applies the missing steps, opening one from a newer version raises
:class:`StoreError`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from geo import paths
from geo.aggregate import ITEM_COLUMNS, METRIC_COLUMNS, item_id
from geo.errors import GeoInputError, StoreError
from geo.gazetteer import detect_gazetteer, load_gazetteer
from geo.geocode import geocode_item
from geo.models import (
    Alternative,
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
from geo.place_rules import (
    RULE_COLUMNS,
    CountyRules,
    PlaceRule,
    check_rule,
    normalise_rule_text,
)
from geo.recut import Cut, CutError, apply_cut, apply_cuts, merge_cut, split_cut
from geo.store_backend import BOUNDARY_COLUMNS, StoreBackend, now
from geo.store_facts import (
    backfill,
    backfill_repeat_keys,
    backfill_text_keys,
    insert_repeat_keys,
    link_bulletin,
    relink_all,
    relink_orphans,
    text_keys,
    texts_replaced,
)
from geo.store_sqlite import MIGRATIONS, SqliteBackend

__all__ = [
    "AFTER_MIGRATION",
    "BOUNDARY_COLUMNS",
    "BOUNDARY_SET_COLUMNS",
    "CORRECTABLE_FIELDS",
    "CUT_COLUMNS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SETTINGS",
    "IngestResult",
    "Store",
    "StoreError",
    "open_backend",
]

#: Schema version of this program (each backend has a step per version).
SCHEMA_VERSION = len(MIGRATIONS)
#: Item fields a reviewer may correct: the place and sector, and the counting decisions
#: (``repeat_of``: the first report it repeats, ``""`` = a new fact; ``cumulative``: ``"1"``
#: a running total, ``"0"`` not).
CORRECTABLE_FIELDS = ("township_code", "village_code", "sector", "repeat_of", "cumulative")
_PLACE_AND_SECTOR = ("township_code", "village_code", "sector")
#: Work done in Python right after a schema step, in the same transaction, on a store that
#: had data before it (``version -> function(conn)``): step 8 marks running totals
#: (:func:`geo.store_facts.backfill`), step 10 gives items their whole-text keys
#: (:func:`geo.store_facts.backfill_text_keys`), step 11 keys the texts' clauses and, on a store
#: older than step 10, makes the links (:func:`geo.store_facts.backfill_repeat_keys`).
AFTER_MIGRATION: dict[int, Callable[[Any], None]] = {
    8: backfill,
    10: backfill_text_keys,
    11: backfill_repeat_keys,
}
# Writers that key texts and link stories (ingest, delete, recut, re-geocode) do it one at a
# time, to the end of their transactions: each sees the keys and links the one before made
# (a text's clause keys are written by its first holder and dropped with its last), and two
# never update the same story's rows in opposite orders (a deadlock on a server).
_STORIES_LOCK = "stories"

#: Place columns of the items table, in :meth:`Store._place_values` order.
_PLACE_FIELDS = (
    "scope",
    "county",
    "county_code",
    "township",
    "township_code",
    "village",
    "village_code",
    "outside",
    "evidence",
    "confidence",
    "needs_review",
    "alternatives",
)
_ITEM_FIELDS = (
    "item_id",
    "bulletin_id",
    "idx",
    "headline",
    "body",
    "unit",
    "authors",
    "start_offset",
    "end_offset",
    "sector",
    "sectors",
    "sector_cues",
    *_PLACE_FIELDS,
    "text_key",
)
_BULLETIN_FIELDS = (
    "id",
    "source_name",
    "title",
    "issue",
    "date",
    "county",
    "county_code",
    "text",
    "ingested_at",
    "issue_total",
    "publisher",
    "layout",
    "warnings",
    "furniture",
    "date_source",
)
_METRIC_FIELDS = (
    "item_id",
    "position",
    "value",
    "unit",
    "qualifier",
    "label",
    "text",
    "span_start",
    "span_end",
    "cumulative",
)

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


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _bulletin_sha(bulletin: Bulletin) -> str:
    if bulletin.sha256:
        return bulletin.sha256
    return hashlib.sha256(bulletin.text.encode("utf-8")).hexdigest()


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
        row["needs_review"] = False  # a reviewer has decided the place
    # counting decisions are shown in their own columns (重复, 累计), not as 已更正
    row["corrected"] = any(f[0] in _PLACE_AND_SECTOR for f in fixes)
    return row


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


# items_df columns by name (aliases are the ITEM_COLUMNS names), in the store's order
_ITEMS_SQL = (
    "SELECT i.item_id AS item_id, i.bulletin_id AS bulletin_id, b.source_name AS bulletin_name,"
    " b.title AS bulletin_title, b.issue AS bulletin_issue, b.date AS bulletin_date,"
    ' i.idx AS "index", i.headline AS headline, i.body AS body, i.unit AS unit,'
    " i.authors AS authors, i.sector AS sector, i.sectors AS sectors, i.scope AS scope,"
    " COALESCE(i.county, b.county) AS county, COALESCE(i.county_code, b.county_code) AS"
    " county_code, i.township AS township, i.township_code AS township_code,"
    " i.village AS village, i.village_code AS village_code, i.outside AS outside,"
    " i.confidence AS confidence, i.needs_review AS needs_review,"
    " i.alternatives AS alternatives,"
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
    conn: Any, bulletin_id: str, items: list[Item], moved: dict[str, int]
) -> None:
    """Give corrections moved by a merge back to the items they were made for."""
    updates = []
    for correction_id, start in moved.items():
        home = _holding(bulletin_id, items, int(start))
        if home:
            updates.append((home, int(correction_id)))
    if updates:
        conn.executemany("UPDATE corrections SET item_id = ? WHERE id = ?", updates)


def _move_corrections(
    conn: Any, bulletin_id: str, old: list[Item], new: list[Item]
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


def open_backend(location: str | os.PathLike | None = None) -> StoreBackend:
    """The backend for a store location (not yet opened).

    Parameters
    ----------
    location : str or path-like, optional
        A SQLite file, ``":memory:"``, or ``postgresql://…``; default
        :func:`geo.paths.store_location` (``$GEO_STORE`` or the user data folder).

    Raises
    ------
    StoreError
        A URL whose scheme no backend serves (``store.url``).
    """
    if location is not None and str(location) == ":memory:":
        return SqliteBackend(":memory:")
    where = paths.store_location(location)
    if isinstance(where, str):
        # lazy: only PostgreSQL users load psycopg
        from geo.store_postgis import PostgisBackend

        return PostgisBackend(where)
    return SqliteBackend(where)


class Store:
    """The store of bulletins, items, metrics, corrections and township boundaries.

    Parameters
    ----------
    path : str or path-like, optional
        Where the store is: a SQLite file (missing folders are created), ``":memory:"`` for a
        throw-away store, or a PostgreSQL database with PostGIS (``postgresql://…``, see
        :mod:`geo.store_postgis`). Default: :func:`geo.paths.store_location`
        (``$GEO_STORE`` or the user data folder).

    Attributes
    ----------
    path : pathlib.Path or str
        The SQLite file, or the database URL without its password.
    read_only : bool
        True when the store can only be read (a read-only folder or file, a role without
        write rights, a standby server); writes then raise ``store.read_only``.

    Raises
    ------
    StoreError
        The location cannot be honoured (unknown URL scheme, unreachable server, no PostGIS),
        the database is not a store or is damaged, or was written by a newer version.

    Examples
    --------
    >>> with Store(":memory:") as store:  # doctest: +SKIP
    ...     store.ingest(bulletin)
    ...     items_df, metrics_df = store.frames()
    """

    def __init__(self, path: str | os.PathLike | None = None):
        self._backend = open_backend(path)
        self._backend.after_migration = AFTER_MIGRATION
        self._gazetteers: dict[str, Any] = {}
        self._backend.open()

    @property
    def path(self) -> Path | str:
        backend = self._backend
        return backend.path if isinstance(backend, SqliteBackend) else backend.location

    @property
    def location(self) -> str:
        """Where the store is, for messages (a URL never shows its password)."""
        return self._backend.location

    @property
    def kind(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._backend.kind

    @property
    def read_only(self) -> bool:
        return self._backend.read_only

    @property
    def _conn(self) -> Any:
        """The backend's connection (tests and maintenance)."""
        return self._backend.conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        """One write transaction: all of it is stored, or none of it (see
        :meth:`geo.store_backend.StoreBackend.transaction`). Each raises the store's
        :meth:`revision`, last, so the new number commits with the data (in PostgreSQL the
        row is locked only from there to the commit: writers do not wait for each other's
        work)."""
        with self._backend.transaction() as conn:
            yield conn
            conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'revision'")

    def _reading(self) -> contextlib.AbstractContextManager[Any]:
        """The connection for reads, database errors turned into :class:`StoreError`."""
        return self._backend.reading()

    # context manager and lifetime -----------------------------------------------------------

    def close(self) -> None:
        """Close the file or connection. The store cannot be used afterwards."""
        self._backend.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def revision(self) -> int:
        """A number that changes with every write to the store, by any process (ingest,
        correction, cut fix, boundary upload...): what caches of its contents key on."""
        with self._reading() as conn:
            return int(conn.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()[0])

    # settings ------------------------------------------------------------------------------

    def setting(self, key: str) -> str | None:
        """A setting entered in the app (see :data:`SETTINGS`), or None when not set.

        Raises
        ------
        StoreError
            A key that is not a setting.
        """
        _check_setting(key)
        with self._reading() as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, key: str, value: str | None) -> None:
        """Keep a setting (``None`` or blank: forget it). Settings are never exported.

        Raises
        ------
        StoreError
            A key that is not a setting, or a value that does not fit it (the 天地图 key is
            letters and digits).
        """
        pattern = _check_setting(key)
        value = (value or "").strip()
        if value and not re.fullmatch(pattern, value):
            raise StoreError(SETTINGS[key][1], code="store.setting.value")
        with self._transaction() as conn:
            if not value:
                conn.execute("DELETE FROM settings WHERE key = ?", (key,))
                return
            conn.execute(
                "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                (key, value, now()),
            )

    @property
    def schema_version(self) -> int:
        """Schema version of the open store (equals :data:`SCHEMA_VERSION` once opened)."""
        return self._backend.schema_version()

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

        Notes
        -----
        When the store keeps rules for the bulletin's county (:meth:`add_rule`), its items are
        placed again with them before they are stored (their ``place`` is updated).
        """
        sha = _bulletin_sha(bulletin)
        bulletin = self._with_cuts(sha, bulletin)
        self._apply_rules(bulletin)
        with self._transaction() as conn:
            # two processes ingesting the same text: the second waits, then finds it stored
            self._backend.serialise(conn, f"bulletin:{sha}")
            row = conn.execute(
                "SELECT county_code, (SELECT COUNT(*) FROM items WHERE bulletin_id = ?)"
                " FROM bulletins WHERE id = ?",
                (sha, sha),
            ).fetchone()
            if row is not None and (row[0] or None) == (bulletin.county_code or None):
                return IngestResult(sha, False, int(row[1]))
            if row is not None and not reassign_county:
                raise _county_conflict(bulletin, row[0])
            # the texts' clause keys and the links are written by one writer at a time
            self._backend.serialise(conn, _STORIES_LOCK)
            if row is not None:
                self._drop_for_reassignment(conn, sha)
                relink_orphans(conn)
            self._insert(conn, sha, bulletin)
            repeats = link_bulletin(conn, sha)
        return IngestResult(sha, True, len(bulletin.items), repeats)

    def _county_rules_of(self, gaz: Any | None) -> CountyRules | None:
        return self.county_rules(gaz.county_code) if gaz is not None else None

    def _apply_rules(self, bulletin: Bulletin) -> None:
        """Place the bulletin's items again with their county's rules, when it has any (each
        item's own county in a prefecture bulletin)."""
        for code in {_item_county_code(it, bulletin) for it in bulletin.items} - {None}:
            rules = self.county_rules(code)
            gaz = self._gazetteer(code, _default_loader, strict=False) if rules else None
            if gaz is None:
                continue
            for it in bulletin.items:
                if _item_county_code(it, bulletin) == code:
                    it.place = geocode_item(it, gaz, rules=rules)

    @staticmethod
    def _drop_for_reassignment(conn: Any, sha: str) -> None:
        conn.execute(
            "DELETE FROM corrections WHERE field IN ('township_code', 'village_code')"
            " AND item_id IN (SELECT item_id FROM items WHERE bulletin_id = ?)",
            (sha,),
        )
        with texts_replaced(conn, bulletin_id=sha):
            conn.execute("DELETE FROM bulletins WHERE id = ?", (sha,))

    @staticmethod
    def _insert(conn: Any, sha: str, b: Bulletin) -> None:
        h = b.header or BulletinHeader()
        conn.execute(
            f"INSERT INTO bulletins ({', '.join(_BULLETIN_FIELDS)})"
            f" VALUES ({', '.join('?' * len(_BULLETIN_FIELDS))})",
            (
                sha,
                b.source_name,
                h.title,
                h.issue,
                h.date,
                b.county,
                b.county_code,
                b.text,
                now(),
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
    def _insert_items(conn: Any, sha: str, b: Bulletin) -> None:
        items, metrics = [], []
        whole = text_keys(sha, b.items, b.county_code)
        for it in b.items:
            iid = item_id(sha, it.index)
            items.append(
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
                    *Store._place_values(it.place or Place(), fallback=(b.county, b.county_code)),
                    whole.get(iid),
                )
            )
            metrics += [
                (
                    *(iid, k, float(m.value), m.unit, m.qualifier, m.label, m.text),
                    *(*m.span, int(bool(m.cumulative))),
                )
                for k, m in enumerate(it.metrics)
            ]
        conn.executemany(
            f"INSERT INTO items ({', '.join(_ITEM_FIELDS)})"
            f" VALUES ({', '.join('?' * len(_ITEM_FIELDS))})",
            items,
        )
        if metrics:
            conn.executemany(
                f"INSERT INTO metrics ({', '.join(_METRIC_FIELDS)})"
                f" VALUES ({', '.join('?' * len(_METRIC_FIELDS))})",
                metrics,
            )
        insert_repeat_keys(conn, sha, b.items, b.county_code, whole=whole)

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
            full = self._resolve_bulletin(conn, bulletin_id)
            if full is None:
                return False
            self._backend.serialise(conn, _STORIES_LOCK)
            with texts_replaced(conn, bulletin_id=full):
                conn.execute("DELETE FROM bulletins WHERE id = ?", (full,))
            relink_orphans(conn)
        return True

    @staticmethod
    def _resolve_bulletin(conn: Any, bulletin_id: str) -> str | None:
        bulletin_id = (bulletin_id or "").strip().lower()
        if len(bulletin_id) < 6:
            raise StoreError(
                "简报编号至少要给出前 6 位：请用 bulletins 命令查看编号", code="store.short_id"
            )
        if not re.fullmatch(r"[0-9a-f]+", bulletin_id):
            return None  # ids are hex: nothing else matches (and no LIKE wildcards get in)
        rows = conn.execute(
            "SELECT id FROM bulletins WHERE id LIKE ?", (bulletin_id + "%",)
        ).fetchall()
        if len(rows) > 1:
            raise StoreError(
                f"简报编号 {bulletin_id} 对应多份简报：请多给几位", code="store.ambiguous_id"
            )
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
            Unknown item, unknown sector, a code outside the item's county, or a first report
            that is not another item of the same county.
        """
        fields = {"township_code": township_code, "village_code": village_code, "sector": sector}
        fields["repeat_of"] = repeat_of
        fields["cumulative"] = None if cumulative is None else ("1" if cumulative else "0")
        fields = {k: v.strip() for k, v in fields.items() if v is not None}
        if not fields:
            raise StoreError(
                "没有要更正的内容：请给出乡镇、村、领域或计数方式（重复、累计）",
                code="store.nothing_to_correct",
            )
        with self._reading() as conn:
            row = conn.execute(
                "SELECT i.county_code AS icc, b.county_code AS bcc, b.county AS county"
                " FROM items i JOIN bulletins b ON b.id = i.bulletin_id WHERE i.item_id = ?",
                (item_id,),
            ).fetchone()
        if row is None:
            raise StoreError(
                f"数据库中没有事项 {item_id}：请检查事项编号", code="store.unknown_item"
            )
        names = self._correction_names(item_id, fields, row, gazetteer)
        created = now()
        with self._transaction() as conn:
            conn.executemany(
                "INSERT INTO corrections (item_id, field, value, name, note, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(item_id, k, v, names.get(k), note, created) for k, v in fields.items()],
            )

    def _correction_names(
        self, item_id: str, fields: dict[str, str], row: Any, gazetteer: Any | None
    ) -> dict[str, str | None]:
        """The names kept beside a correction's values (first report's headline, sector name,
        place names), each value checked; StoreError for one that cannot be right."""
        names: dict[str, str | None] = {}
        if fields.get("repeat_of"):
            names["repeat_of"] = self._check_first_report(item_id, fields["repeat_of"])
        if "sector" in fields:
            from geo.sectors import sector_names

            known = sector_names()
            if fields["sector"] not in known:
                raise StoreError(
                    f"未知的领域 {fields['sector']!r}：可选 {'、'.join(sorted(known))}",
                    code="store.unknown_sector",
                )
            names["sector"] = known[fields["sector"]]
        codes = {k: v for k, v in fields.items() if k in ("township_code", "village_code") and v}
        if codes:
            county_code = row["icc"] or row["bcc"]
            if gazetteer is None:
                if not county_code:
                    raise StoreError(
                        f"事项 {item_id} 没有所属县，无法核对地名代码：请先重新导入其简报并指定县",
                        code="store.no_county",
                    )
                gazetteer = self._gazetteer(county_code, _default_loader, strict=True)
            names.update(self._check_codes(gazetteer, codes))
        return names

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
                raise StoreError(
                    f"乡镇代码 {town_code} 不在{county}：请检查代码", code="store.unknown_place"
                )
            names["township_code"] = town.name
        village_code = codes.get("village_code")
        if village_code:
            village = _lookup_village(gazetteer, village_code)
            if village is None:
                raise StoreError(
                    f"村代码 {village_code} 不在{county}：请检查代码", code="store.unknown_place"
                )
            if town_code and _village_township_code(village, village_code) != town_code:
                raise StoreError(
                    f"{village.name}（{village_code}）不属于乡镇 {town_code}：请检查乡镇或村",
                    code="store.unknown_place",
                )
            names["village_code"] = village.name
        return names

    def regeocode(
        self,
        gazetteer_loader: Callable[[str], Any] | None = None,
        *,
        county_code: str | None = None,
    ) -> int:
        """Recompute the places of stored items with the current geocoder and county rules.

        Parameters
        ----------
        gazetteer_loader : callable, optional
            ``county_code -> Gazetteer``; default :func:`geo.gazetteer.load_gazetteer`.
            Bulletins without a county are geocoded with the gazetteer detected from their text.
        county_code : str, optional
            Only this county's bulletins (after a rule of that county was made).

        Returns
        -------
        int
            Number of items whose stored place (or its confidence) changed. Corrections are
            untouched and still win in :meth:`frames`. Repeats are linked again when places
            changed (a story is of one place).
        """
        loader = gazetteer_loader or _default_loader
        updates = []
        moved: dict[str, list[Item]] = {}
        with self._reading() as conn:
            bulletins = conn.execute("SELECT id, county_code, text FROM bulletins").fetchall()
            for b in bulletins:
                if county_code and b["county_code"] != county_code:
                    continue
                if b["county_code"]:
                    gaz = self._gazetteer(b["county_code"], loader, strict=True)
                else:
                    gaz = detect_gazetteer(b["text"])
                rules = self._county_rules(conn, gaz.county_code) if gaz is not None else None
                for item, old in self._items_of(conn, b["id"]):
                    place = geocode_item(item, gaz, rules=rules)
                    new = self._place_values(place)
                    if new != old:
                        updates.append((*new, item_id(b["id"], item.index)))
                    if new[4] != old[4]:  # another township: the story's keys change
                        moved.setdefault(b["id"], []).append(replace(item, place=place))
        if updates:
            with self._transaction() as conn:
                if moved:
                    self._backend.serialise(conn, _STORIES_LOCK)
                self._place_anew(conn, updates, moved)
        return len(updates)

    @staticmethod
    def _place_anew(conn: Any, updates: list[tuple], moved: dict[str, list[Item]]) -> None:
        """Store new places; repeats are of one place, so the keys and links of items
        ``moved`` to another township follow them."""
        ids = [item_id(b, it.index) for b, items in moved.items() for it in items]
        with texts_replaced(conn, item_ids=ids):  # their old texts' keys read before
            conn.executemany(
                f"UPDATE items SET {', '.join(f'{c} = ?' for c in _PLACE_FIELDS)}"
                " WHERE item_id = ?",
                updates,
            )
            for bulletin_id, items in moved.items():
                insert_repeat_keys(conn, bulletin_id, items, None)
        if moved:
            relink_all(conn)

    @staticmethod
    def _place_values(p: Place, fallback: tuple[Any, Any] = (None, None)) -> tuple:
        """The stored columns of a place (:data:`_PLACE_FIELDS` order)."""
        return (
            p.scope,
            p.county or fallback[0],
            p.county_code or fallback[1],
            p.township,
            p.township_code,
            p.village,
            p.village_code,
            _dumps(list(p.outside)),
            _dumps([e.to_dict() for e in p.evidence]),
            p.confidence,
            None if p.confidence is None else int(bool(p.needs_review)),
            _dumps([a.to_dict() for a in p.alternatives]),
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
            raise StoreError(f"没有编号为 {cut_id} 的切分更正", code="store.unknown_cut")
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
        with self._reading() as conn:
            if bulletin_id:
                full = self._resolve_bulletin(conn, bulletin_id)
                where, args = "WHERE k.bulletin_id = ?", (full or bulletin_id,)
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
        with self._reading() as conn:
            return [it for it, _ in self._items_of(conn, self._stored_id(conn, bulletin_id))]

    def bulletin_text(self, bulletin_id: str) -> str:
        """The normalised text of a stored bulletin (item offsets index into it).

        Raises
        ------
        StoreError
            No such bulletin.
        """
        with self._reading() as conn:
            full = self._stored_id(conn, bulletin_id)
            row = conn.execute("SELECT text FROM bulletins WHERE id = ?", (full,)).fetchone()
        return row["text"]

    def _stored_id(self, conn: Any, bulletin_id: str) -> str:
        """The full id of a stored bulletin (a prefix of 6+ characters will do), or StoreError."""
        full = self._resolve_bulletin(conn, bulletin_id)
        if full is None:
            raise StoreError(f"简报 {bulletin_id} 不在库中", code="store.unknown_bulletin")
        return full

    @staticmethod
    def _checked(make: Callable[[], Cut]) -> Cut:
        try:
            return make()
        except CutError as err:
            raise StoreError(str(err), code=err.code) from None

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
                raise StoreError(f"库中没有事项 {'、'.join(missing)}", code="store.unknown_item")
            if len({r["bulletin_id"] for r in rows}) > 1:
                raise StoreError("这几条事项不在同一份简报中，不能合并", code="recut.bulletins")
            bulletin_id = rows[0]["bulletin_id"]
            items = [it for it, _ in self._items_of(conn, bulletin_id)]
        positions = {it.index: k for k, it in enumerate(items)}
        return bulletin_id, items, [positions[r["idx"]] for r in rows]

    def _annotated(self, text: str, county_code: str | None, items: list[Item], changed) -> None:
        """Metrics, sector and place of the rebuilt items ``items[i] for i in changed``."""
        if county_code:
            gaz = self._gazetteer(county_code, _default_loader, strict=False)
        else:
            gaz = detect_gazetteer(text)
        rules = self._county_rules_of(gaz)
        annotate_items([items[i] for i in sorted(changed)], gaz, rules=rules)

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
            old = [it for it, _ in self._items_of(conn, bulletin_id)]
        new, changed = apply_cut(b["text"], old, cut, heads=_layout(b["layout"]).heads)
        self._annotated(b["text"], b["county_code"], new, changed)
        shell = Bulletin(
            "", b["text"], bulletin_id, county=b["county"], county_code=b["county_code"]
        )
        shell.items = new
        with self._transaction() as conn:
            self._backend.serialise(conn, _STORIES_LOCK)
            with texts_replaced(conn, bulletin_id=bulletin_id):
                conn.execute("DELETE FROM items WHERE bulletin_id = ?", (bulletin_id,))
                self._insert_items(conn, bulletin_id, shell)
            relink_orphans(conn)
            link_bulletin(conn, bulletin_id)
            moved = _move_corrections(conn, bulletin_id, old, new)
            if record:
                conn.execute(
                    "INSERT INTO cuts (bulletin_id, kind, at_offset, note, created_at, moved)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (bulletin_id, cut.kind, cut.at, cut.note, now(), _dumps(moved)),
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
                    raise StoreError(
                        f"没有县 {county_code} 的行政区划数据（{err}）：请检查县代码",
                        code="store.no_gazetteer",
                    ) from None
                return None
        return self._gazetteers[county_code]

    @staticmethod
    def _items_of(conn: Any, bulletin_id: str) -> list[tuple[Item, tuple]]:
        """Items of one bulletin rebuilt as :class:`Item`, with their stored place values."""
        rows = conn.execute(
            "SELECT * FROM items WHERE bulletin_id = ? ORDER BY idx", (bulletin_id,)
        ).fetchall()
        metrics: dict[str, list[Metric]] = {}
        for m in conn.execute(
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
                confidence=r["confidence"],
                needs_review=bool(r["needs_review"]) if r["confidence"] is not None else False,
                alternatives=[Alternative(**a) for a in json.loads(r["alternatives"])],
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
            out.append((item, tuple(r[c] for c in _PLACE_FIELDS)))
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
                        items=[item for item, _ in self._items_of(conn, r["id"])],
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
            names, rows = self._backend.plain_rows(conn, _ITEMS_SQL)
            _, metric_rows = self._backend.plain_rows(conn, _METRICS_SQL)
            fixes = self._latest_corrections(conn)
        records = []
        for row in rows:
            rec = dict(zip(names, row, strict=True))
            for column, sep in _JOINED_COLUMNS.items():
                rec[column] = _joined(rec[column], sep)
            rec["corrected"] = False
            # a place never scored (stored before scoring existed) needs a look or `regeocode`
            rec["needs_review"] = rec["confidence"] is None or bool(rec["needs_review"])
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
        conn: Any,
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

    def bulletin_counties(self) -> dict[str, str | None]:
        """``{bulletin id: county code}`` of every stored bulletin (cheap: no text, no items).

        Lets a bulk ingest recognise files it already stored before parsing them.
        """
        with self._reading() as conn:
            rows = conn.execute("SELECT id, county_code FROM bulletins").fetchall()
        return {r[0]: r[1] or None for r in rows}

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

    # county rules ---------------------------------------------------------------------------

    @staticmethod
    def _county_rules(conn: Any, county_code: str | None) -> CountyRules:
        rows = conn.execute(
            f"SELECT {_RULE_FIELDS} FROM place_rules WHERE county_code = ? ORDER BY id",
            (str(county_code or ""),),
        ).fetchall()
        return CountyRules(str(county_code or ""), tuple(_rule_of(r) for r in rows))

    def county_rules(self, county_code: str) -> CountyRules:
        """The rules of one county, as :func:`geo.geocode.geocode_item` takes them."""
        with self._reading() as conn:
            return self._county_rules(conn, county_code)

    def rules(self, county_code: str | None = None) -> list[PlaceRule]:
        """Every kept rule (of one county), oldest first."""
        where, args = ("WHERE county_code = ?", (str(county_code),)) if county_code else ("", ())
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT {_RULE_FIELDS} FROM place_rules {where} ORDER BY id", args
            ).fetchall()
        return [_rule_of(r) for r in rows]

    def add_rule(self, rule: PlaceRule, *, replace: bool = True) -> tuple[PlaceRule, str]:
        """Keep a county rule, checked against the county's gazetteer.

        Parameters
        ----------
        rule : PlaceRule
        replace : bool
            A rule of the same county, kind and text already kept is replaced (True) or kept
            as it is (False).

        Returns
        -------
        (PlaceRule, str)
            The rule as kept (with its id) and what happened: ``added``, ``replaced`` or
            ``kept`` (the same rule, or another one kept because ``replace`` is False).

        Raises
        ------
        StoreError
            The rule names codes outside its county (message in Chinese).
        """
        gaz = self._gazetteer(rule.county_code, _default_loader, strict=True)
        try:
            rule = check_rule(rule, gaz)
        except GeoInputError as err:
            raise StoreError(str(err), code="store.rule") from None
        with self._transaction() as conn:
            old = conn.execute(
                f"SELECT {_RULE_FIELDS} FROM place_rules"
                " WHERE county_code = ? AND kind = ? AND text = ?",
                (rule.county_code, rule.kind, rule.text),
            ).fetchone()
            if old is not None:
                kept = _rule_of(old)
                same = (kept.township_code, kept.village_code) == (
                    rule.township_code,
                    rule.village_code,
                )
                if same or not replace:
                    return kept, "kept"
                conn.execute("DELETE FROM place_rules WHERE id = ?", (kept.id,))
            values = [getattr(rule, c) for c in _RULE_COLUMNS]
            new_id = self._backend.insert_id(
                conn,
                f"INSERT INTO place_rules ({', '.join(_RULE_COLUMNS)})"
                f" VALUES ({', '.join('?' * len(_RULE_COLUMNS))})",
                values,
            )
        # ``replace`` is the parameter here; dataclasses.replace under its full name
        return dataclasses.replace(rule, id=new_id), "replaced" if old else "added"

    def import_rules(self, rules: Iterable[PlaceRule], *, replace: bool = False) -> dict:
        """Keep rules from a rule file; returns counts ``added``, ``replaced``, ``kept``."""
        counts = {"added": 0, "replaced": 0, "kept": 0}
        for rule in rules:
            _, what = self.add_rule(rule, replace=replace)
            counts[what] += 1
        return counts

    def delete_rule(self, rule_id: int) -> bool:
        """Forget one rule; False when there is no such rule."""
        with self._transaction() as conn:
            n = conn.execute("DELETE FROM place_rules WHERE id = ?", (int(rule_id),)).rowcount
        return bool(n)

    def rule_from_correction(
        self,
        item_id: str,
        *,
        kind: str,
        text: str | None = None,
        author: str = "",
        note: str = "",
    ) -> PlaceRule:
        """Keep a reviewer's correction of an item's place as a rule of its county.

        Parameters
        ----------
        item_id : str
            An item whose township (and, for a landmark, village) a reviewer has corrected.
        kind : {"alias", "unit", "landmark"}
            ``alias``: ``text`` (a short form in the item) means the corrected township;
            ``unit``: the item's reporting unit is that township (``text`` defaults to it);
            ``landmark``: ``text`` (a landmark or natural village in the item) lies in the
            corrected village, or in the township when no village was given.
        text : str, optional
            As written in the item.
        author, note : str
            Who keeps the rule, and why.

        Returns
        -------
        PlaceRule
            The kept rule, with its id. Re-geocode (:meth:`regeocode`) to apply it to stored
            items; new items get it when ingested.

        Raises
        ------
        StoreError
            Unknown item, no place correction to keep, or a text that is not in the item
            (messages in Chinese).
        """
        item, fixes = self._corrected_item(item_id)
        town, village = fixes.get("township_code"), fixes.get("village_code")
        if village and not town:
            town = village[:9]
        if not town:
            raise StoreError(
                f"事项 {item_id} 尚未更正到某个乡镇，无法保存为规则；请先更正乡镇（或村）",
                code="store.rule",
            )
        text = _rule_text(item, kind, text)
        rule = PlaceRule(
            county_code=item["county_code"] or "",
            kind=kind,
            text=text,
            township_code=town,
            village_code=village or "" if kind == "landmark" else "",
            author=author,
            created_at=now(),
            note=note,
            source_item=item_id,
        )
        try:
            rule = check_rule(rule)
        except GeoInputError as err:
            raise StoreError(str(err), code="store.rule") from None
        kept, _ = self.add_rule(rule, replace=True)
        with self._transaction() as conn:
            conn.execute("UPDATE place_rules SET source_item = ? WHERE id = ?", (item_id, kept.id))
        return kept

    def _corrected_item(self, item_id: str) -> tuple[dict, dict[str, str]]:
        """The item's text fields and county, and its latest place corrections."""
        with self._reading() as conn:
            row = conn.execute(
                "SELECT i.headline, i.body, i.unit, COALESCE(i.county_code, b.county_code)"
                " AS county_code FROM items i JOIN bulletins b ON b.id = i.bulletin_id"
                " WHERE i.item_id = ?",
                (item_id,),
            ).fetchone()
            if row is None:
                raise StoreError(f"数据库中没有事项 {item_id}", code="store.rule")
            fixes = {
                fld: value
                for fld, value, _ in self._latest_corrections(conn).get(item_id, [])
                if fld in _PLACE_AND_SECTOR[:2]
            }
        return dict(row), fixes

    def accept_place(self, item_id: str, *, note: str = "") -> None:
        """A reviewer accepts the geocoder's place: it is kept as a correction (so it no
        longer needs review, and survives re-geocoding)."""
        items_df, _ = self.frames()
        row = items_df[items_df["item_id"] == item_id]
        if row.empty:
            raise StoreError(
                f"数据库中没有事项 {item_id}：请检查事项编号", code="store.unknown_item"
            )
        r = row.iloc[0]
        town = r["township_code"] if isinstance(r["township_code"], str) else ""
        village = r["village_code"] if isinstance(r["village_code"], str) else ""
        self.correct(item_id, township_code=town, village_code=village, note=note or "确认")

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
        county_code = _checked_county_and_datum(county_code, datum)
        layer = _boundary_layer(gdf)
        qualities = set(layer["quality"])
        quality = qualities.pop() if len(qualities) == 1 else "user"
        meta = {
            "county_code": county_code,
            "name": name,
            "source_name": str(source_name),
            "crs_note": crs_note or "",
            "datum": datum,
            "quality": quality,
            "n_townships": len(layer),
            "join_report": _report_text(report),
            "created_at": now(),
            "uploader": str(uploader or ""),
            "quality_source": str(quality_source or ""),
            "encoding": str(encoding or ""),
            "report_json": _dumps(report_data or {}),
        }
        with self._transaction() as conn:
            return self._backend.insert_boundary_set(conn, meta, layer)

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
        with self._reading() as conn:
            row = conn.execute(
                f"SELECT {_SET_FIELDS} FROM boundaries WHERE county_code = ?"
                " ORDER BY id DESC LIMIT 1",
                (str(county_code),),
            ).fetchone()
            if row is None:
                return None
            meta = _set_meta(row)
            gdf = self._backend.boundary_layer(conn, meta["id"])
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


_RULE_COLUMNS = (*RULE_COLUMNS, "source_item")
_RULE_FIELDS = "id, " + ", ".join(_RULE_COLUMNS)


def _item_county_code(item: Any, bulletin: Bulletin) -> str | None:
    return bulletin.county_code or (item.place.county_code if item.place else None) or None


def _rule_of(row: Any) -> PlaceRule:
    return PlaceRule(**{k: row[k] for k in ("id", *_RULE_COLUMNS)})


def _rule_text(item: dict, kind: str, text: str | None) -> str:
    """The rule's text, checked against the item it comes from."""
    unit = (item.get("unit") or "").split()[0] if (item.get("unit") or "").strip() else ""
    if kind == "unit":
        text = text or unit
        if not text:
            raise StoreError("该事项没有报送单位，无法保存报送单位规则", code="store.rule")
        return text
    if not text or not text.strip():
        raise StoreError("请给出简称、地标或自然村的原文", code="store.rule")
    wanted = normalise_rule_text(text)
    fields = (item.get("headline") or "", item.get("body") or "", unit)
    if not any(wanted in normalise_rule_text(f) for f in fields):
        raise StoreError(f"「{text.strip()}」不在该事项的文字中", code="store.rule")
    return text.strip()


_SET_FIELDS = (
    "id, county_code, name, source_name, crs_note, datum, quality, n_townships, created_at,"
    " join_report, uploader, quality_source, encoding, report_json"
)


#: Settings a planner can keep in the store: key -> (value pattern, message when it does not fit).
SETTINGS = {
    "tianditu_key": (r"[A-Za-z0-9]{1,64}", "天地图密钥应为 1–64 位字母和数字：请检查后重新输入"),
}


def _check_setting(key: str) -> str:
    if key not in SETTINGS:
        raise StoreError(f"未知的设置项 {key!r}：可选 {'、'.join(SETTINGS)}", code="store.setting")
    return SETTINGS[key][0]


def _set_meta(row: Any) -> dict:
    """A boundary set's row as a dict, its structured reports decoded."""
    meta = dict(row)
    try:
        meta["report_json"] = json.loads(meta.get("report_json") or "{}")
    except ValueError:
        meta["report_json"] = {}
    return meta


def _checked_county_and_datum(county_code: Any, datum: str) -> str:
    """The 6-digit county code of a boundary set, or StoreError (a bad code or datum)."""
    county_code = str(county_code or "").strip()
    if not (len(county_code) == 6 and county_code.isdigit()):
        raise StoreError(
            f"县代码 {county_code!r} 不是 6 位数字：请给出 6 位县级行政区划代码",
            code="store.county_code",
        )
    if datum not in _BOUNDARY_DATUMS:
        raise StoreError(
            f"未知的坐标基准 {datum!r}：请选 {'、'.join(_BOUNDARY_DATUMS)} 之一", code="store.datum"
        )
    return county_code


def _boundary_layer(gdf: Any) -> Any:
    """``gdf`` reduced to :data:`BOUNDARY_COLUMNS` in EPSG:4326, or StoreError."""
    columns = getattr(gdf, "columns", None)
    if columns is None or "geometry" not in columns or "township_code" not in columns:
        raise StoreError(
            "乡镇边界缺少 township_code 或 geometry 列：请先与行政区划对应后再保存",
            code="store.boundary_columns",
        )
    layer = gdf[[c for c in BOUNDARY_COLUMNS if c in columns]].copy()
    layer = layer[layer.geometry.notna() & ~layer.geometry.is_empty]
    if layer.empty:
        raise StoreError("没有可保存的乡镇多边形：请检查边界文件", code="store.no_polygons")
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
        raise StoreError(
            f"未知的边界质量 {'、'.join(sorted(map(str, bad)))}："
            "应为 official、user 或 approximate",
            code="store.boundary_quality",
        )
    return layer[BOUNDARY_COLUMNS].reset_index(drop=True)


def _report_text(report: Any) -> str:
    """Reports (objects with ``to_text()``, strings, or a list of them) as one text."""
    if report is None:
        return ""
    if isinstance(report, list | tuple):
        return "\n".join(t for t in (_report_text(r) for r in report) if t)
    to_text = getattr(report, "to_text", None)
    return str(to_text() if callable(to_text) else report).strip()
