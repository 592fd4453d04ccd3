"""Pure helpers for reviewing placements: the queue, what to highlight, what to offer.

The app's review queue (and ``python -m geo review``) is built from these functions over the
item table (:data:`geo.aggregate.ITEM_COLUMNS`) and a place's evidence; none of them reads or
writes anything.

* :func:`review_queue` — items that need review first, lowest confidence first;
* :func:`deciding_span` and :func:`highlight_spans` — where in the item's text the deciding
  mention and the mentions of the alternatives are, for highlighting;
* :func:`parse_alternatives` and :func:`choices` — the answers a reviewer can pick with one
  click (accept, an alternative, county-wide), each with the correction it makes;
* :func:`rule_suggestions` — the county rules a correction could become;
* :func:`count_for_map` — which items a choropleth counts when needs-review items are left out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from geo.gazetteer import Gazetteer, township_key
from geo.models import Alternative, Evidence
from geo.place_rules import RULE_KINDS_ZH

__all__ = [
    "Choice",
    "HighlightSpan",
    "RuleSuggestion",
    "alternatives_text",
    "choices",
    "count_for_map",
    "counted_frames",
    "deciding_span",
    "highlight_spans",
    "needs_review_mask",
    "parse_alternatives",
    "review_queue",
    "rule_suggestions",
]

_SCOPE_ZH = {"village": "村", "township": "乡镇", "county": "全县", "unknown": "未定位"}


def _confidence(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return -1.0  # never scored: before every scored item
    return -1.0 if math.isnan(v) else v


def review_queue(items_df: pd.DataFrame, *, include_reviewed: bool = False) -> pd.DataFrame:
    """Items in review order: those that need review first, lowest confidence first.

    Parameters
    ----------
    items_df : pandas.DataFrame
        Columns of :data:`geo.aggregate.ITEM_COLUMNS` (``confidence``, ``needs_review``,
        ``corrected`` at least).
    include_reviewed : bool
        Also list items that do not need review (after the others, lowest confidence first).

    Returns
    -------
    pandas.DataFrame
        The rows in queue order with a fresh index; items never scored come first.
    """
    if items_df.empty:
        return items_df.copy()
    df = items_df.copy()
    flagged = df["needs_review"].fillna(True).astype(bool)
    if "corrected" in df:
        flagged &= ~df["corrected"].fillna(False).astype(bool)
    df["_flag"] = ~flagged  # False (needs review) sorts first
    df["_conf"] = df["confidence"].map(_confidence)
    if not include_reviewed:
        df = df[~df["_flag"]]
    order = ["_flag", "_conf"] + [c for c in ("bulletin_date", "index") if c in df]
    df = df.sort_values(order, ascending=True, kind="stable", na_position="last")
    return df.drop(columns=["_flag", "_conf"]).reset_index(drop=True)


def needs_review_mask(items_df: pd.DataFrame) -> pd.Series:
    """Boolean mask of the items whose place still needs review: flagged (or never scored)
    and not corrected or accepted by a reviewer."""
    if items_df.empty or "needs_review" not in items_df:
        return pd.Series(False, index=items_df.index)
    flagged = items_df["needs_review"].fillna(True).astype(bool)
    if "corrected" in items_df:
        flagged &= ~items_df["corrected"].fillna(False).astype(bool)
    return flagged


def count_for_map(items_df: pd.DataFrame, *, include_needs_review: bool) -> pd.Series:
    """Boolean mask of the items a choropleth counts.

    With ``include_needs_review`` False, items whose place still needs review (and was not
    corrected) are left out; the rest always count.
    """
    if include_needs_review or items_df.empty:
        return pd.Series(True, index=items_df.index)
    return ~needs_review_mask(items_df)


def counted_frames(
    items_df: pd.DataFrame, metrics_df: pd.DataFrame, *, include_needs_review: bool
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The items (and their figures) the map counts, as :func:`count_for_map` says, and how
    many were left out.

    Filter after :func:`geo.trends.counting_frames`, as the map does: what a repeat adds is
    decided over every item, so leaving a first report out does not make its repeat new.

    Parameters
    ----------
    items_df, metrics_df : DataFrame
        Frames of :data:`geo.aggregate.ITEM_COLUMNS` and their figures (``item_id``).
    include_needs_review : bool
        Keep items whose place still needs review (the app's toggle 分级统计计入待核对的定位,
        on by default).

    Returns
    -------
    tuple of (DataFrame, DataFrame, int)
        The kept items, their figures, and the number of items left out (0 with
        ``include_needs_review``).
    """
    keep = count_for_map(items_df, include_needs_review=include_needs_review).to_numpy()
    if keep.all():
        return items_df, metrics_df, 0
    items = items_df[keep]
    metrics = metrics_df[metrics_df["item_id"].isin(items["item_id"]).to_numpy()]
    return items, metrics, int((~keep).sum())


# --------------------------------------------------------------------------- highlighting


@dataclass(frozen=True)
class HighlightSpan:
    """A span of one field (``unit``, ``headline`` or ``body``) to highlight.

    ``role`` is ``deciding`` (the mention that decided the place), ``chosen`` (another mention
    of the chosen place), ``alternative`` (a mention of an alternative's township or village)
    or ``other`` (a place mention that did not count).
    """

    field: str
    start: int
    end: int
    text: str
    role: str
    reason: str = ""


def _evidence(evidence: Iterable[Evidence | dict]) -> list[Evidence]:
    out = []
    for e in evidence or ():
        out.append(e if isinstance(e, Evidence) else Evidence(**e))
    return out


def deciding_span(evidence: Iterable[Evidence | dict]) -> HighlightSpan | None:
    """The mention that decided the place, or None (nothing decided: no place named).

    Parameters
    ----------
    evidence : iterable of Evidence or dict
        A place's evidence (``Place.evidence`` or the stored JSON list).
    """
    for e in _evidence(evidence):
        if e.deciding:
            return HighlightSpan(e.field, e.start, e.end, e.text, "deciding", e.reason)
    return None


def highlight_spans(
    evidence: Iterable[Evidence | dict],
    alternatives: Iterable[Alternative | dict] = (),
) -> list[HighlightSpan]:
    """Every place mention of an item with its role, in field and text order.

    Mentions whose text names an alternative's township or village (by name or stem) get
    role ``alternative``, so that a reviewer sees where each alternative comes from.
    """
    names = set()
    for a in parse_alternatives(alternatives):
        for n in (a.township, a.village):
            if n:
                names.add(n)
                names.add(township_key(n))
    order = {"unit": 0, "headline": 1, "body": 2}
    out = []
    for e in _evidence(evidence):
        if e.kind not in ("township", "village", "county", "county_body") or e.end <= e.start:
            continue
        if e.deciding:
            role = "deciding"
        elif e.used:
            role = "chosen"
        elif e.text in names or township_key(e.text) in names:
            role = "alternative"
        else:
            role = "other"
        out.append(HighlightSpan(e.field, e.start, e.end, e.text, role, e.reason))
    return sorted(out, key=lambda h: (order.get(h.field, 3), h.start))


# --------------------------------------------------------------------------- alternatives


def parse_alternatives(value: Any) -> list[Alternative]:
    """Alternatives from a place, a stored JSON list, a list of dicts, or nothing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    return [a if isinstance(a, Alternative) else Alternative(**a) for a in value]


def _where(scope: str, township: str | None, village: str | None) -> str:
    if township:
        return township + (f"/{village}" if village else "")
    return "全县" if scope in ("county", "township", "village") else _SCOPE_ZH.get(scope, scope)


def alternatives_text(value: Any) -> str:
    """Alternatives as one readable cell: ``项店镇/李楼村 0.12；全县 0.05``."""
    parts = [
        f"{_where(a.scope, a.township, a.village)} {a.score:.2f}" for a in parse_alternatives(value)
    ]
    return "；".join(parts)


@dataclass(frozen=True)
class Choice:
    """One answer a reviewer can pick, and the correction it makes.

    ``township_code``/``village_code`` are what :meth:`geo.store.Store.correct` takes: ``""``
    means no single township (county-wide) or no single village.
    """

    label: str
    scope: str
    township_code: str
    village_code: str
    score: float | None
    current: bool = False


def _cell(row: Any, key: str) -> str:
    value = row.get(key) if hasattr(row, "get") else None
    return value if isinstance(value, str) else ""


def choices(row: Any) -> list[Choice]:
    """The current place, each alternative and county-wide, in that order, without repeats.

    Parameters
    ----------
    row : mapping or pandas.Series
        One item row (:data:`geo.aggregate.ITEM_COLUMNS`).
    """
    scope = _cell(row, "scope") or "unknown"
    town, village = _cell(row, "township_code"), _cell(row, "village_code")
    conf = _confidence(row.get("confidence")) if hasattr(row, "get") else -1.0
    current = Choice(
        label="确认：" + _where(scope, _cell(row, "township"), _cell(row, "village")),
        scope=scope,
        township_code=town,
        village_code=village,
        score=conf if conf >= 0 else None,
        current=True,
    )
    out = [current]
    seen = {(town, village)}
    for a in parse_alternatives(row.get("alternatives") if hasattr(row, "get") else None):
        key = (a.township_code or "", a.village_code or "")
        if key in seen:
            continue
        seen.add(key)
        label = "改为：" + _where(a.scope, a.township, a.village)
        out.append(Choice(label, a.scope, key[0], key[1], a.score))
    if ("", "") not in seen:
        out.append(Choice("改为：全县（不属于单个乡镇）", "county", "", "", None))
    return out


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class RuleSuggestion:
    """A county rule a correction could become (for :meth:`Store.rule_from_correction`)."""

    kind: str
    text: str
    label: str


def rule_suggestions(
    row: Any, township_code: str, village_code: str, gazetteer: Gazetteer
) -> list[RuleSuggestion]:
    """Rules worth keeping after a reviewer placed ``row`` in a township (and village).

    * the reporting unit, when the item has one that does not already name that township;
    * each short form of the township written in the item (谯楼 for 谯楼街道), when the
      gazetteer does not already read it as that township.

    Landmarks and natural villages cannot be guessed: the reviewer selects their text.
    """
    town = gazetteer.township_by_code(township_code) if township_code else None
    if town is None:
        return []
    out = []
    unit = _cell(row, "unit").split()[0] if _cell(row, "unit").strip() else ""
    if unit and town.code not in {t.code for t in gazetteer.match_township_name(unit)}:
        label = f"{RULE_KINDS_ZH['unit']}「{unit}」→{town.name}"
        out.append(RuleSuggestion("unit", unit, label))
    text = _cell(row, "headline") + "\n" + _cell(row, "body")
    stem = township_key(town.name)
    if len(stem) >= 2 and stem in text and town.name not in text:
        label = f"{RULE_KINDS_ZH['alias']}「{stem}」→{town.name}"
        out.append(RuleSuggestion("alias", stem, label))
    return out
