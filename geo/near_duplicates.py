"""Stories told again: an item of a later bulletin that repeats an earlier one.

Bulletins reprint stories, often word for word, sometimes with a figure brought up to date. Such
a repeat is linked to the first report of its story and is never counted again
(:mod:`geo.facts`). Two items are the same story when they are about the same place (county and
township; villages, when both name one, equal), come from different bulletins at most
``max_gap_days`` apart, do not name different periods (``2月份`` against ``3月份``), and their
texts are near-identical by RapidFuzz's normalised Indel similarity (``fuzz.ratio``; a shortened
reprint by ``fuzz.partial_ratio``).

Candidates are found through an index, not by comparing every pair: each of an item's four
longest clauses (digits masked, so an updated figure still matches) gives a 64-bit key that also
holds the item's place (:func:`repeat_keys`); the store keeps the keys and looks new items' keys
up (:mod:`geo.store_facts`). A word-for-word reprint, the commonest repeat, is found before that
by one key of its whole text and place (:func:`text_key`).

The thresholds live in ``data/config/facts.json``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz
from rapidfuzz.distance import LCSseq

from geo.running_totals import FACTS_CONFIG_PATH

__all__ = [
    "NearDuplicateRules",
    "Report",
    "best_story",
    "comparable_text",
    "days_apart",
    "earliest",
    "link_reports",
    "load_rules",
    "repeat_keys",
    "same_story",
    "text_key",
]

_DIGITS = re.compile(r"[0-9０-９]+(?:[.．][0-9０-９]+)?")
_CLAUSE_ENDS = '，。；！？、：,;!?:\n（）()“”"'
_MIN_CLAUSE = 6
_LONG_CLAUSE = re.compile(f"[^{re.escape(_CLAUSE_ENDS)}]{{{_MIN_CLAUSE},}}")
# Four keys find a repeat as surely as sixteen did on the benchmark's realistic corpus (the same
# repeats found) and cost a quarter of the index writes, which are most of what finding repeats
# adds to an ingest (BENCHMARKS.md, issue 11).
_MAX_KEYS = 4


@dataclass(frozen=True)
class NearDuplicateRules:
    """Settings of ``data/config/facts.json`` → ``near_duplicates``."""

    similarity_min: float = 90.0
    partial_similarity_min: float = 96.0
    partial_length_share: float = 0.6
    max_gap_days: int = 186
    period_words: re.Pattern = re.compile(r"\d{1,2}月")


@lru_cache(maxsize=4)
def _rules(path: str) -> NearDuplicateRules:
    doc = json.loads(Path(path).read_text(encoding="utf-8"))["near_duplicates"]
    return NearDuplicateRules(
        similarity_min=float(doc["similarity_min"]),
        partial_similarity_min=float(doc["partial_similarity_min"]),
        partial_length_share=float(doc["partial_length_share"]),
        max_gap_days=int(doc["max_gap_days"]),
        period_words=re.compile(doc["period_words"]),
    )


def load_rules(path: str | Path | None = None) -> NearDuplicateRules:
    """The near-duplicate settings of ``data/config/facts.json`` (or another such file)."""
    return _rules(str(path or FACTS_CONFIG_PATH))


@dataclass(frozen=True)
class Report:
    """One item as a report of a story: what is compared and how reports are ordered.

    Attributes
    ----------
    item_id, bulletin_id : str
    text : str
        Headline and body (:func:`comparable_text` is applied when comparing).
    county_code, township_code, village_code : str or None
        The item's place.
    date : str or None
        The bulletin's ISO date.
    order : tuple
        Ties between equal dates: bulletin id, then position in the bulletin (so the store
        and frames parsed together decide alike, whatever order they were read in).
    """

    item_id: str
    bulletin_id: str
    text: str
    county_code: str | None = None
    township_code: str | None = None
    village_code: str | None = None
    date: str | None = None
    order: tuple = ()

    @property
    def sort_key(self) -> tuple:
        """Earliest report first; a report without a date after every dated one."""
        return (self.date or "9999-99-99", *self.order, self.item_id)


def comparable_text(text: str | None) -> str:
    """``text`` without whitespace (line breaks of PDFs and reflowed copies do not count)."""
    return "".join(str(text or "").split())  # str.split's whitespace is the regex \s


def _place(county_code: str | None, township_code: str | None) -> str:
    return f"{county_code or ''}|{township_code or ''}"


def repeat_keys(
    text: str, *, county_code: str | None = None, township_code: str | None = None
) -> list[int]:
    """Index keys of an item: one per long clause (digits masked), salted with its place.

    Two items share a key only when they are in the same county and township and share a
    clause of six characters or more; a repeat with an updated figure still shares them.

    Parameters
    ----------
    text : str
        Headline and body.
    county_code, township_code : str, optional

    Returns
    -------
    list of int
        At most four signed 64-bit keys (the longest clauses), without repeats.
    """
    return list(_clause_keys(text, county_code, township_code))


@lru_cache(maxsize=1024)
def _clause_keys(text: str, county_code: str | None, township_code: str | None) -> tuple:
    # cached: the store keys a bulletin's texts as it inserts them and reads the same texts
    # back to link them, within one transaction
    masked = _DIGITS.sub("#", comparable_text(text))
    clauses = set(_LONG_CLAUSE.findall(masked))
    longest = sorted(clauses, key=lambda c: (-len(c), c))[:_MAX_KEYS]
    salt = _place(county_code, township_code) + "\x1f"
    return tuple(
        int.from_bytes(
            hashlib.blake2b((salt + c).encode("utf-8"), digest_size=8).digest(),
            "big",
            signed=True,
        )
        for c in longest
    )


def text_key(
    text: str, *, county_code: str | None = None, township_code: str | None = None
) -> int | None:
    """One signed 64-bit key of an item's whole text (whitespace aside, figures kept) and
    place: two items share it when one is a word-for-word reprint of the other in the same
    county and township (their ``fuzz.ratio`` is 100). None for an empty text.
    """
    whole = comparable_text(text)
    if not whole:
        return None
    salted = f"{_place(county_code, township_code)}\x1e{whole}"
    digest = hashlib.blake2b(salted.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def days_apart(a: str | None, b: str | None) -> int | None:
    """Days between two ISO dates (their first ten characters); None when either is not one."""
    try:
        return abs((dt.date.fromisoformat(a[:10]) - dt.date.fromisoformat(b[:10])).days)
    except (TypeError, ValueError):
        return None


def _periods(text: str, rules: NearDuplicateRules) -> frozenset[str]:
    return frozenset(m.group() for m in rules.period_words.finditer(text))


@lru_cache(maxsize=4096)
def _prepared(text: str, rules: NearDuplicateRules) -> tuple[str, frozenset[str]]:
    """The comparable text and the periods it names (one report meets many candidates)."""
    a = comparable_text(text)
    return a, _periods(a, rules)


def _may_hold(a: str, b: str, shorter: int, rules: NearDuplicateRules) -> bool:
    """Whether the longer text may hold the shorter nearly whole (``partial_ratio`` could
    reach ``partial_similarity_min``): a cheap bound that spares the costly alignment.

    ``partial_ratio`` is the Indel similarity 2m/(s+w) of the shorter text (length s) and
    some stretch of the longer (length w); m, their longest common subsequence, is at most
    M (that of the two whole texts) and at most w, so the score is at most 2M/(s+M).
    """
    common = LCSseq.similarity(a, b)
    return 200.0 * common / (shorter + common) >= rules.partial_similarity_min if common else False


def same_story(
    new: Report, old: Report, *, rules: NearDuplicateRules | None = None
) -> float | None:
    """How alike two reports are, when they are the same story; None when they are not.

    Parameters
    ----------
    new, old : Report
        Any order: which one is first is decided by :func:`earliest`.
    rules : NearDuplicateRules, optional
        Default :func:`load_rules`.

    Returns
    -------
    float or None
        RapidFuzz similarity 0–100 (at least ``similarity_min``, or ``partial_similarity_min``
        for a shortened reprint); None for the same bulletin, another place, too far apart in
        time, different periods named, or texts that differ.
    """
    r = rules or load_rules()
    if new.bulletin_id == old.bulletin_id or new.item_id == old.item_id:
        return None
    if (new.county_code or None) != (old.county_code or None):
        return None
    if (new.township_code or None) != (old.township_code or None):
        return None
    if new.village_code and old.village_code and new.village_code != old.village_code:
        return None
    gap = days_apart(new.date, old.date)
    if gap is not None and gap > r.max_gap_days:
        return None
    (a, named_a), (b, named_b) = _prepared(new.text, r), _prepared(old.text, r)
    if named_a and named_b and named_a != named_b:
        return None
    score = fuzz.ratio(a, b, score_cutoff=r.similarity_min)
    if score:
        return float(score)
    shorter, longer = sorted((len(a), len(b)))
    if longer and shorter / longer >= r.partial_length_share and _may_hold(a, b, shorter, r):
        partial = fuzz.partial_ratio(a, b, score_cutoff=r.partial_similarity_min)
        if partial:
            return float(partial)
    return None


def earliest(reports: Iterable[Report]) -> Report:
    """The first report of a story: earliest date (then bulletin id and position)."""
    return min(reports, key=lambda r: r.sort_key)


def best_story(
    new: Report,
    candidates: Iterable[tuple[Report, str]],
    stories: dict[str, set[str]],
    *,
    rules: NearDuplicateRules | None = None,
) -> tuple[str, float] | None:
    """The story a report repeats: the best-matching candidate's, among stories that hold no
    other report of the same bulletin (two items of one bulletin are two facts).

    Parameters
    ----------
    new : Report
    candidates : iterable of (Report, str)
        Stored reports with the first report (story id) each belongs to.
    stories : dict
        ``story id -> bulletin ids of its reports``.
    rules : NearDuplicateRules, optional

    Returns
    -------
    (str, float) or None
        The story id and the similarity, or None when no candidate is the same story.
    """
    r = rules or load_rules()
    scored = []
    for old, story in candidates:
        score = same_story(new, old, rules=r)
        if score is not None:
            scored.append((score, old.sort_key, story))
    for score, _, story in sorted(scored, key=lambda t: (-t[0], t[1])):
        if new.bulletin_id not in stories.get(story, ()):
            return story, score
    return None


def link_reports(
    reports: Sequence[Report], *, rules: NearDuplicateRules | None = None
) -> dict[str, tuple[str, float]]:
    """Link the repeats among ``reports`` to the first report of their story (in memory).

    Reports are taken earliest first; each joins the story of its best match among the
    reports before it (:func:`best_story`), as the store does bulletin by bulletin.

    Parameters
    ----------
    reports : sequence of Report
        For example every item of a few bulletins parsed together.
    rules : NearDuplicateRules, optional

    Returns
    -------
    dict
        ``item_id -> (first report's item_id, similarity)`` for every repeat; first reports
        and items told once are not in it.
    """
    r = rules or load_rules()
    index: dict[int, list[Report]] = {}
    story_of: dict[str, str] = {}
    stories: dict[str, set[str]] = {}
    out: dict[str, tuple[str, float]] = {}
    for rep in sorted(reports, key=lambda x: x.sort_key):
        keys = repeat_keys(rep.text, county_code=rep.county_code, township_code=rep.township_code)
        seen: dict[str, Report] = {}
        for key in keys:
            for old in index.get(key, ()):
                seen.setdefault(old.item_id, old)
        found = best_story(
            rep, ((old, story_of[old.item_id]) for old in seen.values()), stories, rules=r
        )
        story = found[0] if found else rep.item_id
        if found:
            out[rep.item_id] = found
        story_of[rep.item_id] = story
        stories.setdefault(story, set()).add(rep.bulletin_id)
        for key in keys:
            index.setdefault(key, []).append(rep)
    return out
