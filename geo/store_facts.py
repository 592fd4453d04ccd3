"""The store's part of counting facts once: repeat keys, links to first reports, running totals.

Plain SQL with ``?`` placeholders on the store's connection (rows readable by column name), run
inside the store's transactions (:meth:`geo.store.Store._transaction`):

* :func:`insert_repeat_keys` keeps the index keys of new items: the clause keys
  (:func:`geo.near_duplicates.repeat_keys`) once per text, by its whole-text key
  (``items.text_key``: a reprint's clause keys are its copy's), and :func:`texts_replaced`
  drops those of texts no item holds any more;
* :func:`link_bulletin` links a new bulletin's items that repeat stored stories (either way in
  time: a bulletin dated earlier than a stored repeat becomes the story's first report):
  word-for-word reprints by their whole-text key (``items.text_key``), the others through the
  clause keys;
* :func:`relink_orphans` gives stories whose first report was deleted a new first report;
* :func:`backfill`, :func:`backfill_text_keys` and :func:`backfill_repeat_keys` bring a store
  written before schemas 8, 10 and 11 up: running totals marked, keys and links made.

An item's ``repeat_of`` always names the first report of its story (never a repeat), so a
story is one hop: ``repeat_of`` or the item itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from geo.aggregate import item_id
from geo.models import Item
from geo.near_duplicates import (
    Report,
    best_story,
    earliest,
    load_rules,
    repeat_keys,
    text_key,
)
from geo.running_totals import is_running_total, load_running_total_rules

__all__ = [
    "MAX_CANDIDATES",
    "MAX_KEY_HOLDERS",
    "MIN_SHARED_KEYS",
    "backfill",
    "backfill_repeat_keys",
    "backfill_text_keys",
    "insert_repeat_keys",
    "link_bulletin",
    "relink_all",
    "relink_orphans",
    "text_keys",
    "texts_replaced",
]

#: Stored items compared with one new item at most (those sharing the most keys).
MAX_CANDIDATES = 16
#: Keys a stored item must share with a new one to be compared (fewer when the new item has
#: fewer): one shared stock phrase does not make a story.
MIN_SHARED_KEYS = 2
#: A clause held by more stored texts than this is a stock phrase of the county's bulletins
#: (a slogan, a standing formula), not a sign of one story: it finds no candidates. Texts, not
#: items: a story reprinted word for word month after month is one holder.
MAX_KEY_HOLDERS = 64
_CHUNK = 500  # host parameters per statement, well under SQLite's and PostgreSQL's limits

_REPORT_SQL = (
    "SELECT i.item_id, i.bulletin_id, {text},"
    " COALESCE(i.county_code, b.county_code) AS county_code, i.township_code, i.village_code,"
    " b.date, i.idx, i.repeat_of, i.repeat_score, i.text_key"
    " FROM items i JOIN bulletins b ON b.id = i.bulletin_id"
)
_TEXT = "i.headline, i.body"
# reports only ordered and counted, never compared: their texts are not read
_NO_TEXT = "'' AS headline, '' AS body"


def _text(row: Any) -> str:
    """A stored item's headline and body, as its ``text`` reads."""
    return f"{row['headline']}\n{row['body']}" if row["headline"] else row["body"]


def _report(row: Any) -> Report:
    return Report(
        item_id=row["item_id"],
        bulletin_id=row["bulletin_id"],
        text=_text(row),
        county_code=row["county_code"],
        township_code=row["township_code"],
        village_code=row["village_code"],
        date=row["date"],
        order=(row["bulletin_id"], int(row["idx"])),
    )


def _parts(values: Sequence[Any], size: int = _CHUNK) -> list[Sequence[Any]]:
    """``values`` in pieces of at most ``size``: one statement's host parameters each."""
    return [values[k : k + size] for k in range(0, len(values), size)]


def _marks(part: Sequence[Any]) -> str:
    return ",".join("?" * len(part))


def _rows(conn: Any, where: str, ids: Sequence[str], *, text: bool = True) -> list[Any]:
    """``_REPORT_SQL`` rows whose ``where`` column is among ``ids`` (chunked); without
    ``text``, their headlines and bodies empty."""
    sql = _REPORT_SQL.format(text=_TEXT if text else _NO_TEXT)
    return [
        row
        for part in _parts(list(dict.fromkeys(ids)))
        for row in conn.execute(f"{sql} WHERE {where} IN ({_marks(part)})", part).fetchall()
    ]


def _salt(it: Item, county_code: str | None) -> dict[str, str | None]:
    """The place an item's keys hold: its county (else the bulletin's) and township."""
    county = (it.place.county_code if it.place else None) or county_code
    return {"county_code": county, "township_code": it.place.township_code if it.place else None}


def text_keys(
    bulletin_id: str, items: Iterable[Item], county_code: str | None
) -> dict[str, int | None]:
    """``item_id -> whole-text key`` of a bulletin's items (:func:`geo.near_duplicates.
    text_key`), stored in ``items.text_key`` as they are inserted."""
    return {
        item_id(bulletin_id, it.index): text_key(it.text, **_salt(it, county_code)) for it in items
    }


def insert_repeat_keys(
    conn: Any,
    bulletin_id: str,
    items: Iterable[Item],
    county_code: str | None,
    *,
    whole: dict[str, int | None] | None = None,
) -> None:
    """Keep the index keys of a bulletin's stored items: the clause keys of each of their texts
    no other stored item holds (a word-for-word reprint's are its copy's: the same text and
    place give the same clause keys), and their whole-text keys unless the items were inserted
    with them (``whole``, from :func:`text_keys`). Under the stories lock: a text's keys are
    written or dropped by one writer at a time."""
    items = list(items)
    if whole is None:
        whole = text_keys(bulletin_id, items, county_code)
        conn.executemany(
            "UPDATE items SET text_key = ? WHERE item_id = ?", [(k, i) for i, k in whole.items()]
        )
    texts = {whole[item_id(bulletin_id, it.index)]: it for it in items}
    texts.pop(None, None)  # an empty text has no clause
    held = _held_by_others(conn, Counter(k for k in whole.values() if k in texts))
    rows = {
        (key, text)
        for text, it in texts.items()
        if text not in held
        for key in repeat_keys(it.text, **_salt(it, county_code))
    }
    # the bulletin's own earlier copy of a text (recut, placed anew) may hold them: one row
    conn.executemany(
        "INSERT INTO repeat_keys (key, text_key) VALUES (?, ?) ON CONFLICT DO NOTHING",
        sorted(rows),
    )


def _held_by_others(conn: Any, texts: dict[int, int]) -> set[int]:
    """Those of ``texts`` (``text_key -> how many of the items being keyed hold it``) another
    stored item holds too: their clause keys are stored (every stored text's are,
    :func:`texts_replaced` drops them with its last item). Holders are counted in the
    ``text_key`` index alone, never read."""
    held: set[int] = set()
    for part in _parts(sorted(texts)):
        sql = f"SELECT text_key, COUNT(*) FROM items WHERE text_key IN ({_marks(part)})"
        counts = conn.execute(f"{sql} GROUP BY text_key", part)
        held |= {int(t) for t, n in counts if int(n) > texts[int(t)]}
    return held


def _texts_keys(rows: Iterable[Any]) -> dict[int, list[int]]:
    """``text_key -> clause keys`` of stored reports (``_REPORT_SQL`` rows with their texts),
    made once per text from its stored text and place, as :func:`insert_repeat_keys` made
    them."""
    keys: dict[int, list[int]] = {}
    for r in rows:
        if r["text_key"] is not None and int(r["text_key"]) not in keys:
            keys[int(r["text_key"])] = repeat_keys(_text(r), **_stored_salt(r))
    return keys


@contextlib.contextmanager
def texts_replaced(
    conn: Any, *, bulletin_id: str | None = None, item_ids: Sequence[str] = ()
) -> Iterator[None]:
    """Around deleting, recutting or placing anew a bulletin's items (or the items
    ``item_ids``): the clause keys of the texts they held that no stored item holds afterwards
    are dropped (they would count as holders of their clauses, and stock phrases are told by
    holders). Under the stories lock, as :func:`insert_repeat_keys`."""
    if bulletin_id is not None:
        before = _texts_keys(_rows(conn, "i.bulletin_id", [bulletin_id]))
    else:
        before = _texts_keys(_rows(conn, "i.item_id", item_ids))
    yield
    rows = {(key, text, text) for text, keys in before.items() for key in keys}
    conn.executemany(
        "DELETE FROM repeat_keys WHERE key = ? AND text_key = ?"
        " AND NOT EXISTS (SELECT 1 FROM items i WHERE i.text_key = ?)",
        sorted(rows),
    )


# per item of the bulletin (own_id), the stored items of other bulletins with the same
# whole-text key: what orders them and names their story and village (a copy's text and place
# are the item's own), all in the text-key index
_COPIES_SQL = (
    "SELECT n.item_id AS own_id, o.item_id, o.bulletin_id, o.village_code, ob.date, o.idx,"
    " o.repeat_of FROM items n"
    " JOIN items o ON o.text_key = n.text_key JOIN bulletins ob ON ob.id = o.bulletin_id"
    " WHERE n.bulletin_id = ? AND o.bulletin_id <> ? AND {window}"
)


def _bulletin_date(conn: Any, bulletin_id: str) -> str | None:
    return conn.execute("SELECT date FROM bulletins WHERE id = ?", (bulletin_id,)).fetchone()[0]


def _window(date: str | None, max_gap: int) -> tuple[str, list[str]]:
    """SQL condition on ``ob.date`` and its parameters (made once for all the queries of a
    bulletin's linking) that leaves out bulletins dated more than ``max_gap`` days from
    ``date``: the database returns no pair that could not be one story (undated bulletins are
    kept, as :func:`geo.near_duplicates.days_apart` keeps them)."""
    try:
        day = dt.date.fromisoformat(str(date)[:10])
    except ValueError:
        return "1 = 1", []
    gap = dt.timedelta(days=max_gap)
    return "(ob.date IS NULL OR ob.date BETWEEN ? AND ?)", [
        (day - gap).isoformat(),
        f"{(day + gap).isoformat()}~",  # the last day's dates with a time after them too
    ]


def _copies(
    conn: Any, bulletin_id: str, window: tuple[str, list[str]]
) -> tuple[dict[str, list[str]], dict[str, dict]]:
    """Per item of the bulletin, its stored word-for-word copies (same whole text and place)
    in other bulletins not too far apart in time to be its story: of each story (and village)
    the earliest, earliest first; and those copies' rows (without texts). One indexed look-up
    for the bulletin: most repeats are reprints, and a copy is the best match there is
    (similarity 100), so the earliest copy of a story stands for all of its copies."""
    found: dict[str, dict[tuple, tuple]] = {}
    rows: dict[str, Any] = {}
    sql = _COPIES_SQL.format(window=window[0])
    for row in conn.execute(sql, (bulletin_id, bulletin_id, *window[1])):
        own, other, other_bulletin, village, date, idx, repeat_of = row  # many rows, few kept
        order = (date or "9999-99-99", other_bulletin, int(idx), other)
        kept = found.setdefault(own, {})
        story = (repeat_of or other, village)
        if story not in kept or order < kept[story]:
            kept[story] = order
            rows[other] = row
    copies = {iid: [o[-1] for o in sorted(r.values())] for iid, r in found.items()}
    kept_ids = {other for others in copies.values() for other in others}
    return copies, {i: dict(r) for i, r in rows.items() if i in kept_ids}


_SHARED_SQL = (
    # per text of the bulletin (own: its clause keys that are not stock phrases) and other
    # stored text (b): the keys they share; then the items of other bulletins holding text b,
    # only of bulletins dated near enough to be one story (:func:`_window`), so reports too far
    # apart in time (:func:`geo.near_duplicates.same_story`) take no candidate's place; a
    # word-for-word copy (b the same text) is found by :func:`_copies`
    "WITH own (own_text, key) AS (VALUES {own})"
    " SELECT s.own_text, oi.item_id, s.n FROM ("
    "SELECT own.own_text, b.text_key AS other_text, COUNT(*) AS n FROM own"
    " JOIN repeat_keys b ON b.key = own.key WHERE b.text_key <> own.own_text"
    " GROUP BY own.own_text, b.text_key HAVING COUNT(*) >= ?) s"
    " JOIN items oi ON oi.text_key = s.other_text JOIN bulletins ob ON ob.id = oi.bulletin_id"
    " WHERE oi.bulletin_id <> ? AND {window}"
)
# keys held by more than MAX_KEY_HOLDERS texts: one more holder exists past the first
# MAX_KEY_HOLDERS, found in that many index steps, never by counting every holder
_STOCK_SQL = (
    "WITH own (key) AS (VALUES {own}) SELECT own.key FROM own"
    " WHERE EXISTS (SELECT 1 FROM repeat_keys h WHERE h.key = own.key LIMIT 1 OFFSET ?)"
)
_TEXTS_PER_QUERY = (_CHUNK - 5) // 8  # at most four keys a text, two parameters a key


def _candidates(
    conn: Any, bulletin_id: str, window: tuple[str, list[str]], asked: Iterable[Any]
) -> dict[str, list[str]]:
    """Per item of the bulletin ``asked`` about (its ``_REPORT_SQL`` rows, with texts), stored
    items of other bulletins sharing clause keys with it, most shared first (at most
    :data:`MAX_CANDIDATES`), none too far apart in time to be its story. A few queries for the
    whole bulletin, the keys shared counted by the database, so a bulletin of new stories
    costs little more than storing it."""
    asked = list(asked)
    items_of: dict[int, list[str]] = {}  # text -> the items holding it (the same text twice)
    for r in asked:
        if r["text_key"] is not None:
            items_of.setdefault(int(r["text_key"]), []).append(r["item_id"])
    keys_of = _texts_keys(asked)
    stock = _stock_keys(conn, {k for keys in keys_of.values() for k in keys})
    keys_of = {t: [k for k in keys if k not in stock] for t, keys in keys_of.items()}
    # texts asked for the same number of shared keys are asked together (one with a single
    # key that is not a stock phrase needs one), so the database returns only pairs that count
    by_need: dict[int, list[int]] = {}
    for text in sorted(t for t, keys in keys_of.items() if keys):
        by_need.setdefault(min(MIN_SHARED_KEYS, len(keys_of[text])), []).append(text)
    shared: dict[str, list[tuple[int, str]]] = {}
    for need, texts in by_need.items():
        for part in _parts(texts, _TEXTS_PER_QUERY):
            pairs = [(t, k) for t in part for k in keys_of[t]]
            sql = _SHARED_SQL.format(own=",".join(["(?, ?)"] * len(pairs)), window=window[0])
            params = [*(v for pair in pairs for v in pair), need, bulletin_id, *window[1]]
            for text, other, n in conn.execute(sql, params):
                for iid in items_of[int(text)]:
                    shared.setdefault(iid, []).append((-int(n), other))
    return {iid: [other for _, other in sorted(r)[:MAX_CANDIDATES]] for iid, r in shared.items()}


def _stock_keys(conn: Any, keys: Iterable[int]) -> set[int]:
    """Those of ``keys`` that are stock phrases (held by more than :data:`MAX_KEY_HOLDERS`
    texts)."""
    stock: set[int] = set()
    for part in _parts(sorted(keys), _CHUNK - 5):
        sql = _STOCK_SQL.format(own=",".join(["(?)"] * len(part)))
        stock |= {int(r[0]) for r in conn.execute(sql, [*part, MAX_KEY_HOLDERS])}
    return stock


def _story_members(conn: Any, roots: set[str]) -> list[Any]:
    """Every stored report of the stories whose first reports are ``roots``, without their
    texts (they are ordered, never compared)."""
    roots_list = sorted(roots)
    rows = _rows(conn, "i.item_id", roots_list, text=False)
    rows += _rows(conn, "i.repeat_of", roots_list, text=False)
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
    """The stored stories a bulletin's items may join, read once for the whole bulletin: the
    candidates (with their texts, to be compared; a word-for-word copy without, its text being
    the item's own) and each story's first report (to order a new report against it). The
    other reports of a story are not read: a story's first report is its earliest, so a new
    report either joins it or, dated before it, becomes the first, and the database moves the
    other reports in one statement."""

    def __init__(
        self,
        conn: Any,
        bulletin_id: str,
        candidates: dict[str, list[str]],
        copies: dict[str, dict],
    ) -> None:
        self.conn, self.bulletin_id = conn, bulletin_id
        self.rows: dict[str, dict] = {}  # compared candidates, with their texts
        self.copies: dict[str, dict] = {}  # word-for-word copies, without
        self.firsts: dict[str, dict] = {}
        self.moved: dict[str, str] = {}  # a story whose first report changed -> the new one
        held = conn.execute(
            "SELECT DISTINCT repeat_of FROM items WHERE bulletin_id = ? AND repeat_of IS NOT NULL",
            (bulletin_id,),
        ).fetchall()
        # stories already holding an item of this bulletin (two items of one bulletin are two
        # facts): a reprint linked before, or a first report of its own (see read)
        self.taken = {r[0] for r in held}
        self.read({other for others in candidates.values() for other in others})
        self.read(copies, copies=True, rows=copies)

    def read(
        self, ids: Iterable[str], *, copies: bool = False, rows: dict[str, dict] | None = None
    ) -> None:
        """Read the stored reports ``ids`` not read yet (with their texts, to be compared,
        unless they are ``copies``; ``rows`` those already read) and the first reports of
        their stories."""
        pool = self.copies if copies else self.rows
        new = sorted(set(ids) - pool.keys())
        if rows is None:
            rows = {
                r["item_id"]: dict(r) for r in _rows(self.conn, "i.item_id", new, text=not copies)
            }
        pool.update({i: rows[i] for i in new if i in rows})
        roots = {self.story(pool[i]) for i in new if i in pool} - self.firsts.keys()
        firsts = _rows(self.conn, "i.item_id", sorted(roots), text=False)
        self.firsts.update({r["item_id"]: dict(r) for r in firsts})
        self.taken |= {r["item_id"] for r in firsts if r["bulletin_id"] == self.bulletin_id}

    def best(self, row: Any, others: Sequence[str], rules: Any) -> tuple[str, float] | None:
        """The story the bulletin's item ``row`` repeats among those of the stored reports
        ``others`` (read before), with its similarity (:func:`geo.near_duplicates.
        best_story`)."""
        found = [self.rows[o] for o in others if o in self.rows]
        if not found:
            return None
        pairs = [(_report(r), self.story(r)) for r in found]
        roots = {story for _, story in pairs}
        return best_story(_report(row), pairs, self.bulletins(roots), rules=rules)

    def best_copy(self, row: Any, others: Sequence[str]) -> tuple[str, float] | None:
        """The story the bulletin's item ``row`` repeats among its word-for-word copies
        ``others`` (read before, earliest first), with similarity 100: the earliest copy's
        story that holds no item of the bulletin, the copy naming no other village. A copy
        has the item's text and place (its key is salted with them) and is dated near enough
        (:func:`_copies` asks for no other), so of what :func:`geo.near_duplicates.same_story`
        checks only the village is left."""
        village = row["village_code"]
        for other in others:
            r = self.copies.get(other)
            if r is None or (village and r["village_code"] and r["village_code"] != village):
                continue
            story = self.story(r)
            if story not in self.taken:
                return story, 100.0
        return None

    def story(self, row: dict) -> str:
        """The story ``row`` belongs to: its first report's item id."""
        return self._resolved(row["repeat_of"] or row["item_id"])

    def _resolved(self, story: str) -> str:
        while story in self.moved:
            story = self.moved[story]
        return story

    def bulletins(self, roots: set[str]) -> dict[str, set[str]]:
        """``story -> {bulletin_id}`` for the stories ``roots`` holding an item of the
        bulletin, an empty set for the others (as :func:`geo.near_duplicates.best_story`
        reads it)."""
        return {root: {self.bulletin_id} if root in self.taken else set() for root in roots}

    def join(self, story: str, row: dict, score: float) -> None:
        """``row`` (an item of the bulletin) joins ``story`` with similarity ``score``, stored
        at once; dated before the story's first report, it becomes the first."""
        first = self.firsts.get(story)
        new = _report(row)
        if first is None:  # its first report is gone, not yet relinked: order all its reports
            members = [*_story_members(self.conn, {story}), row]
            _set_story(self.conn, members, {new.item_id: score}, score)
            head = earliest(_report(r) for r in members).item_id
            self.moved[story] = head
            self.firsts[head] = next(dict(r) for r in members if r["item_id"] == head)
        elif _report(first).sort_key < new.sort_key:
            self.conn.execute(
                "UPDATE items SET repeat_of = ?, repeat_score = ? WHERE item_id = ?",
                (story, score, new.item_id),
            )
        else:
            self.conn.execute(
                "UPDATE items SET repeat_of = ?, repeat_score = COALESCE(repeat_score, ?)"
                " WHERE repeat_of = ?",
                (new.item_id, score, story),
            )
            self.conn.execute(
                "UPDATE items SET repeat_of = ?, repeat_score = ? WHERE item_id = ?",
                (new.item_id, score, story),
            )
            self.moved[story] = new.item_id
            self.firsts[new.item_id] = row
        self.taken.add(self._resolved(story))


def link_bulletin(conn: Any, bulletin_id: str) -> int:
    """Link a stored bulletin's items to the stories they repeat (and stories to them).

    Each item joins the story of its best-matching stored report among stories holding no
    other item of the bulletin (:func:`geo.near_duplicates.best_story`); when the bulletin is
    dated before the story's first report, its item becomes the first report. A word-for-word
    reprint is matched with its stored copies (:func:`_copies`) and the clause index is asked
    only for the other items (and a reprint whose copies' stories are all taken). The
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
    rules = load_rules()
    window = _window(_bulletin_date(conn, bulletin_id), rules.max_gap_days)
    own = {r["item_id"]: r for r in _rows(conn, "i.bulletin_id", [bulletin_id])}
    copies, copy_rows = _copies(conn, bulletin_id, window)
    others = [r for iid, r in own.items() if iid not in copies]
    candidates = _candidates(conn, bulletin_id, window, others)
    if not candidates and not copies:
        return 0
    stories = _Stories(conn, bulletin_id, candidates, copy_rows)
    linked = 0
    for iid in sorted({*candidates, *copies}, key=lambda i: int(own[i]["idx"])):
        row = own[iid]  # in the bulletin's order, on every backend
        if iid in copies:
            best = stories.best_copy(row, copies[iid])
        else:
            best = stories.best(row, candidates[iid], rules)
        if best is None and iid in copies:  # every copy's story holds an item of the bulletin
            wider = _candidates(conn, bulletin_id, window, [row]).get(iid, [])
            stories.read(wider)
            best = stories.best(row, wider, rules)
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
    """Schema 8 on a store written before it: running totals marked from the stored item
    texts and metric spans (keys and links come with schemas 10 and 11,
    :func:`backfill_text_keys`, :func:`backfill_repeat_keys`)."""
    rules = load_running_total_rules()
    texts = _stored_texts(conn)
    marks = [
        (1, r["item_id"], r["position"])
        for r in conn.execute("SELECT item_id, position, span_start FROM metrics")
        if is_running_total(texts.get(r["item_id"], ""), r["span_start"], rules=rules)
    ]
    conn.executemany("UPDATE metrics SET cumulative = ? WHERE item_id = ? AND position = ?", marks)


def backfill_text_keys(conn: Any) -> None:
    """Schema 10 on a store written before it: the whole-text key of every item; its links are
    made again after schema 11 (they need its clause index), noted as due in ``meta``."""
    texts = _stored_texts(conn)
    keys = [
        (text_key(texts[r["item_id"]], **_stored_salt(r)), r["item_id"])
        for r in _stored_places(conn)
    ]
    conn.executemany("UPDATE items SET text_key = ? WHERE item_id = ?", keys)
    conn.execute("INSERT INTO meta (key, value) VALUES ('links_due', 1) ON CONFLICT DO NOTHING")


def backfill_repeat_keys(conn: Any) -> None:
    """Schema 11 on a store written before it: the clause keys of every stored text (once
    per text); on a store that was older than schema 10, every link made again by the current
    rules (as ingesting the bulletins anew would). A schema-10 store keeps its links: they
    were made with whole-text keys, and making them again would take minutes on a large
    store."""
    stored = conn.execute(_REPORT_SQL.format(text=_TEXT))
    rows = {(key, text) for text, keys in _texts_keys(stored).items() for key in keys}
    conn.executemany("INSERT INTO repeat_keys (key, text_key) VALUES (?, ?)", sorted(rows))
    if conn.execute("DELETE FROM meta WHERE key = 'links_due'").rowcount:
        relink_all(conn)


def _stored_salt(row: Any) -> dict[str, str | None]:
    return {"county_code": row["county_code"], "township_code": row["township_code"]}


def _stored_texts(conn: Any) -> dict[str, str]:
    """``item_id -> headline and body`` of every stored item, as an item's ``text`` reads."""
    return {
        r["item_id"]: _text(r) for r in conn.execute("SELECT item_id, headline, body FROM items")
    }


def _stored_places(conn: Any) -> list[Any]:
    """Every stored item's id with the county and township its keys are salted with."""
    return conn.execute(
        "SELECT i.item_id, COALESCE(i.county_code, b.county_code) AS county_code,"
        " i.township_code FROM items i JOIN bulletins b ON b.id = i.bulletin_id"
    ).fetchall()
