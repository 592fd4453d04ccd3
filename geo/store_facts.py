"""The store's part of counting facts once: repeat keys, links to first reports, running totals.

Plain SQL with ``?`` placeholders on the store's connection (rows readable by column name), run
inside the store's transactions (:meth:`geo.store.Store._transaction`):

* :func:`insert_repeat_keys` keeps the index keys of new items (:func:`geo.near_duplicates.
  repeat_keys`);
* :func:`link_bulletin` links a new bulletin's items that repeat stored stories (either way in
  time: a bulletin dated earlier than a stored repeat becomes the story's first report);
* :func:`relink_orphans` gives stories whose first report was deleted a new first report;
* :func:`backfill` brings a store written before schema 6 up: running totals marked, keys and
  links made.

An item's ``repeat_of`` always names the first report of its story (never a repeat), so a
story is one hop: ``repeat_of`` or the item itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from geo.aggregate import item_id
from geo.models import Item
from geo.near_duplicates import Report, best_story, earliest, load_rules, repeat_keys
from geo.running_totals import is_running_total, load_running_total_rules

__all__ = [
    "MAX_CANDIDATES",
    "MAX_KEY_HOLDERS",
    "MIN_SHARED_KEYS",
    "backfill",
    "insert_repeat_keys",
    "link_bulletin",
    "relink_all",
    "relink_orphans",
]

#: Stored items compared with one new item at most (those sharing the most keys).
MAX_CANDIDATES = 16
#: Keys a stored item must share with a new one to be compared (fewer when the new item has
#: fewer): one shared stock phrase does not make a story.
MIN_SHARED_KEYS = 2
#: A clause held by more stored items than this is a stock phrase of the county's bulletins
#: (a slogan, a standing formula), not a sign of one story: it finds no candidates.
MAX_KEY_HOLDERS = 64
_CHUNK = 500  # host parameters per statement, well under SQLite's and PostgreSQL's limits

_REPORT_SQL = (
    "SELECT i.item_id, i.bulletin_id, {text},"
    " COALESCE(i.county_code, b.county_code) AS county_code, i.township_code, i.village_code,"
    " b.date, i.idx, i.repeat_of, i.repeat_score"
    " FROM items i JOIN bulletins b ON b.id = i.bulletin_id"
)
_TEXT = "i.headline, i.body"
# reports only ordered and counted, never compared: their texts are not read
_NO_TEXT = "'' AS headline, '' AS body"


def _report(row: Any) -> Report:
    text = f"{row['headline']}\n{row['body']}" if row["headline"] else row["body"]
    return Report(
        item_id=row["item_id"],
        bulletin_id=row["bulletin_id"],
        text=text,
        county_code=row["county_code"],
        township_code=row["township_code"],
        village_code=row["village_code"],
        date=row["date"],
        order=(row["bulletin_id"], int(row["idx"])),
    )


def _rows(conn: Any, where: str, ids: Sequence[str], *, text: bool = True) -> list[Any]:
    """``_REPORT_SQL`` rows whose ``where`` column is among ``ids`` (chunked); without
    ``text``, their headlines and bodies empty."""
    out = []
    ids = list(dict.fromkeys(ids))
    sql = _REPORT_SQL.format(text=_TEXT if text else _NO_TEXT)
    for k in range(0, len(ids), _CHUNK):
        part = ids[k : k + _CHUNK]
        marks = ",".join("?" * len(part))
        out.extend(conn.execute(f"{sql} WHERE {where} IN ({marks})", part).fetchall())
    return out


def insert_repeat_keys(
    conn: Any, bulletin_id: str, items: Iterable[Item], county_code: str | None
) -> None:
    """Keep the index keys of a bulletin's (newly inserted) items."""
    rows = []
    for it in items:
        iid = item_id(bulletin_id, it.index)
        county = (it.place.county_code if it.place else None) or county_code
        town = it.place.township_code if it.place else None
        rows.extend(
            (key, iid) for key in repeat_keys(it.text, county_code=county, township_code=town)
        )
    conn.executemany("INSERT INTO repeat_keys (key, item_id) VALUES (?, ?)", rows)


_SHARED_SQL = (
    # per item of the bulletin (a) and stored item of another bulletin (b): the keys they share,
    # stock phrases left out (a key held more than MAX_KEY_HOLDERS times, i.e. one more holder
    # exists past the first MAX_KEY_HOLDERS: found in that many index steps, never by counting
    # every holder)
    "SELECT a.item_id, b.item_id, COUNT(*) FROM repeat_keys a"
    " JOIN repeat_keys b ON b.key = a.key"
    " WHERE a.item_id IN ({own}) AND b.item_id NOT IN ({own})"
    " AND {not_stock} GROUP BY a.item_id, b.item_id HAVING COUNT(*) >= ?"
)
# a key held by no more than MAX_KEY_HOLDERS items (the holder past them is looked for)
_NOT_STOCK = "NOT EXISTS (SELECT 1 FROM repeat_keys h WHERE h.key = {key} LIMIT 1 OFFSET ?)"


def _candidates(conn: Any, bulletin_id: str) -> dict[str, list[str]]:
    """Per item of the bulletin, stored items of other bulletins sharing keys with it, most
    shared first (at most :data:`MAX_CANDIDATES`). Two queries for the whole bulletin, the
    keys shared counted by the database, so a bulletin of new stories costs little more than
    storing it."""
    n_keys = {
        r[0]: int(r[1])
        for r in conn.execute(
            "SELECT k.item_id, COUNT(*) FROM repeat_keys k"
            " JOIN items i ON i.item_id = k.item_id WHERE i.bulletin_id = ?"
            f" AND {_NOT_STOCK.format(key='k.key')} GROUP BY k.item_id",
            (bulletin_id, MAX_KEY_HOLDERS),
        )
    }
    shared: dict[str, list[tuple[int, str]]] = {}
    own = sorted(n_keys)
    step = (_CHUNK - 2) // 2
    for at in range(0, len(own), step):
        part = own[at : at + step]
        # 1 for an item with one key that is not a stock phrase
        need = min(MIN_SHARED_KEYS, *(n_keys[i] for i in part))
        sql = _SHARED_SQL.format(
            own=",".join("?" * len(part)), not_stock=_NOT_STOCK.format(key="a.key")
        )
        for iid, other, n in conn.execute(sql, [*part, *part, MAX_KEY_HOLDERS, need]):
            if n >= min(MIN_SHARED_KEYS, n_keys[iid]):
                shared.setdefault(iid, []).append((-int(n), other))
    return {iid: [other for _, other in sorted(r)[:MAX_CANDIDATES]] for iid, r in shared.items()}


def _story_members(conn: Any, roots: set[str], *, text: bool = True) -> list[Any]:
    """Every stored report of the stories whose first reports are ``roots`` (``text``: as
    :func:`_rows`)."""
    roots_list = sorted(roots)
    rows = _rows(conn, "i.item_id", roots_list, text=text)
    rows += _rows(conn, "i.repeat_of", roots_list, text=text)
    seen: dict[str, Any] = {}
    for r in rows:
        seen.setdefault(r["item_id"], r)
    return list(seen.values())


def _set_story(
    conn: Any, members: list[Any], scores: dict[str, float], default: float | None = None
) -> None:
    """Point every member of one story at its earliest report (``scores`` by item id; a
    report without one keeps its stored score, else gets ``default``). Members given as
    dicts are updated too, so a caller's copy of the story stays as stored."""
    first = earliest(_report(r) for r in members).item_id
    updates = []
    for r in members:
        target = None if r["item_id"] == first else first
        score = scores.get(r["item_id"], r["repeat_score"]) if target else None
        if target and score is None:
            score = default
        if target != r["repeat_of"] or score != r["repeat_score"]:
            updates.append((target, score, r["item_id"]))
            if isinstance(r, dict):
                r["repeat_of"], r["repeat_score"] = target, score
    conn.executemany("UPDATE items SET repeat_of = ?, repeat_score = ? WHERE item_id = ?", updates)


class _Stories:
    """The stored stories a bulletin's items may join, read once for the whole bulletin and
    kept as stored while its items join them one by one (``repeat_of`` or the item itself
    names a story); the reports are also kept by story, so each look-up reads only its own."""

    def __init__(self, conn: Any, candidates: dict[str, list[str]]) -> None:
        wanted = {other for others in candidates.values() for other in others}
        found = [dict(r) for r in _rows(conn, "i.item_id", sorted(wanted))]
        roots = {r["repeat_of"] or r["item_id"] for r in found}
        self.conn = conn
        # the candidates are compared (their texts read); the rest of their stories is not
        self.rows = {r["item_id"]: dict(r) for r in _story_members(conn, roots, text=False)}
        self.rows.update({r["item_id"]: r for r in found})
        self._by_story: dict[str, list[dict]] = {}
        for r in self.rows.values():
            self._by_story.setdefault(self.story(r), []).append(r)

    def story(self, row: dict) -> str:
        """The story ``row`` belongs to: its first report's item id."""
        return row["repeat_of"] or row["item_id"]

    def members(self, story: str) -> list[dict]:
        """Every report of ``story`` known here (its first report included)."""
        return list(self._by_story.get(story, ()))

    def bulletins(self, roots: set[str]) -> dict[str, set[str]]:
        """``story -> bulletin ids of its reports`` for the stories ``roots``."""
        return {
            root: {r["bulletin_id"] for r in self._by_story[root]}
            for root in roots
            if root in self._by_story
        }

    def join(self, story: str, row: dict, score: float) -> None:
        """``row`` (an item of the bulletin) joins ``story`` with similarity ``score``, stored
        at once; the story's first report may change (an older bulletin read later)."""
        members = [*self._by_story.pop(story, ()), row]
        _set_story(self.conn, members, {row["item_id"]: score}, score)
        self.rows[row["item_id"]] = row
        for r in members:
            self._by_story.setdefault(self.story(r), []).append(r)


def link_bulletin(conn: Any, bulletin_id: str) -> int:
    """Link a stored bulletin's items to the stories they repeat (and stories to them).

    Each item joins the story of its best-matching stored report among stories holding no
    other item of the bulletin (:func:`geo.near_duplicates.best_story`); when the bulletin is
    dated before the story's first report, its item becomes the first report. The
    candidates, their stories and the bulletin's items are read once for the bulletin.

    Parameters
    ----------
    conn : connection
        Inside a write transaction; the bulletin's items and keys are stored.
    bulletin_id : str

    Returns
    -------
    int
        How many of the bulletin's items belong to a story told in another bulletin.
    """
    candidates = _candidates(conn, bulletin_id)
    if not candidates:
        return 0
    rules = load_rules()
    stories = _Stories(conn, candidates)
    linked = 0
    rows = sorted(_rows(conn, "i.item_id", sorted(candidates)), key=lambda r: int(r["idx"]))
    for row in rows:  # in the bulletin's order, on every backend
        new = _report(row)
        found = [stories.rows[o] for o in candidates[new.item_id] if o in stories.rows]
        if not found:
            continue
        pairs = [(_report(r), stories.story(r)) for r in found]
        roots = {story for _, story in pairs}
        best = best_story(new, pairs, stories.bulletins(roots), rules=rules)
        if best is None:
            continue
        story, score = best
        linked += 1
        stories.join(story, dict(row), score)
    return linked


def relink_orphans(conn: Any) -> int:
    """Stories whose first report is gone (its bulletin deleted or recut): the earliest
    remaining report becomes the first.

    Returns
    -------
    int
        Stories given a new first report.
    """
    rows = conn.execute(
        f"{_REPORT_SQL.format(text=_NO_TEXT)} WHERE i.repeat_of IS NOT NULL AND NOT EXISTS"
        " (SELECT 1 FROM items f WHERE f.item_id = i.repeat_of)"
    ).fetchall()
    stories: dict[str, list[Any]] = {}
    for r in rows:
        stories.setdefault(r["repeat_of"], []).append(r)
    for members in stories.values():
        _set_story(conn, members, {})
    return len(stories)


def relink_all(conn: Any) -> int:
    """Forget every link and make them again, bulletins oldest first (keys must be stored).

    Returns
    -------
    int
        Items that repeat a story.
    """
    conn.execute("UPDATE items SET repeat_of = NULL, repeat_score = NULL")
    order = conn.execute(
        "SELECT id FROM bulletins ORDER BY COALESCE(date, '9999-99-99'), id"
    ).fetchall()
    for r in order:
        link_bulletin(conn, r["id"])
    row = conn.execute("SELECT COUNT(*) FROM items WHERE repeat_of IS NOT NULL").fetchone()
    return int(row[0])


def backfill(conn: Any) -> None:
    """Schema 6 on a store written before it: running totals marked from the stored item
    texts and metric spans, repeat keys of every item, and links."""
    rules = load_running_total_rules()
    texts = {
        r["item_id"]: (f"{r['headline']}\n{r['body']}" if r["headline"] else r["body"])
        for r in conn.execute("SELECT item_id, headline, body FROM items")
    }
    marks = [
        (1, r["item_id"], r["position"])
        for r in conn.execute("SELECT item_id, position, span_start FROM metrics")
        if is_running_total(texts.get(r["item_id"], ""), r["span_start"], rules=rules)
    ]
    conn.executemany("UPDATE metrics SET cumulative = ? WHERE item_id = ? AND position = ?", marks)
    keys = []
    for r in conn.execute(
        "SELECT i.item_id, COALESCE(i.county_code, b.county_code) AS county_code,"
        " i.township_code FROM items i JOIN bulletins b ON b.id = i.bulletin_id"
    ):
        text = texts[r["item_id"]]
        keys.extend(
            (k, r["item_id"])
            for k in repeat_keys(
                text, county_code=r["county_code"], township_code=r["township_code"]
            )
        )
    conn.executemany("INSERT INTO repeat_keys (key, item_id) VALUES (?, ?)", keys)
    relink_all(conn)
