"""Tables of items and metrics, filters, and per-township aggregates for the map.

``items_frame`` is the one tabular form of parsed items: the store returns the same columns,
the app filters it and the exports write it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo.facts import counted_facts, fact_totals
from geo.metrics import measure_word
from geo.models import Bulletin
from geo.near_duplicates import Report, link_reports

__all__ = [
    "ITEM_COLUMNS",
    "METRIC_COLUMNS",
    "METRIC_KEYS_PATH",
    "PANELS",
    "Filters",
    "MetricKey",
    "ViewState",
    "aggregate_bulletins",
    "aggregate_sectors",
    "aggregate_townships",
    "alternatives_json",
    "assign_metric_keys",
    "filter_items",
    "filters_from_query",
    "filters_to_query",
    "item_id",
    "item_metric_values",
    "item_metric_values_by_key",
    "item_points",
    "items_frame",
    "load_metric_keys",
    "metric_catalog",
    "metric_label",
    "metric_name",
    "metric_total",
    "metric_totals",
    "metric_unit_zh",
    "village_points",
]

METRIC_KEYS_PATH = Path(__file__).resolve().parents[1] / "data" / "config" / "metric_keys.json"

ITEM_COLUMNS = [
    "item_id",
    "bulletin_id",
    "bulletin_name",
    "bulletin_title",
    "bulletin_issue",
    "bulletin_date",
    "index",
    "headline",
    "body",
    "unit",
    "authors",
    "sector",
    "sectors",
    "scope",
    "county",
    "county_code",
    "township",
    "township_code",
    "village",
    "village_code",
    "outside",
    "corrected",
    "confidence",
    "needs_review",
    "alternatives",
    "bulletin_date_source",
    "repeat_of",
    "repeat_score",
    "cumulative",
]
METRIC_COLUMNS = ["item_id", "value", "unit", "qualifier", "label", "text", "cumulative"]


def alternatives_json(alternatives) -> str:
    """The geocoder's alternatives (:class:`geo.models.Alternative` or dicts) as a JSON list."""
    rows = [a.to_dict() if hasattr(a, "to_dict") else dict(a) for a in alternatives or ()]
    return json.dumps(rows, ensure_ascii=False)


def item_id(bulletin_sha256: str, index: int) -> str:
    """Stable id of an item: the bulletin's content hash prefix and the item's position."""
    return f"{bulletin_sha256[:12]}-{index:03d}"


def items_frame(bulletins: Iterable[Bulletin]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per item and one row per metric, with the columns above.

    ``authors``, ``sectors`` and ``outside`` are joined into strings ("、" and ",") so the frames
    export to CSV and GeoPackage as they are; ``confidence`` is the geocoder's estimated
    probability that the township (or county-wide) is right, ``needs_review`` whether it is below
    the review threshold, ``alternatives`` the next answers as a JSON list (see
    :func:`alternatives_json`). ``repeat_of`` names the first report an item
    repeats (the store links them; :func:`geo.facts.link_repeats` does it for frames parsed
    together); ``cumulative`` says the item reports a running total.
    """
    item_rows, metric_rows = [], []
    bulletins = list(bulletins)
    for b in bulletins:
        for it in b.items:
            iid = item_id(b.sha256, it.index)
            item_rows.append(
                {
                    "item_id": iid,
                    "bulletin_id": b.sha256,
                    "bulletin_name": b.source_name,
                    "bulletin_title": b.header.title,
                    "bulletin_issue": b.header.issue,
                    "bulletin_date": b.header.date,
                    "index": it.index,
                    "headline": it.headline,
                    "body": it.body,
                    "unit": it.unit,
                    "authors": "、".join(it.authors),
                    "sector": it.sector,
                    "sectors": ",".join(it.sectors),
                    "scope": it.place.scope,
                    "county": it.place.county or b.county,
                    "county_code": it.place.county_code or b.county_code,
                    "township": it.place.township,
                    "township_code": it.place.township_code,
                    "village": it.place.village,
                    "village_code": it.place.village_code,
                    "outside": ",".join(it.place.outside),
                    "corrected": False,
                    "confidence": it.place.confidence,
                    # a place never scored needs a look, as in the store
                    "needs_review": it.place.confidence is None or bool(it.place.needs_review),
                    "alternatives": alternatives_json(it.place.alternatives),
                    "bulletin_date_source": b.header.date_source if b.header.date else None,
                    "repeat_of": None,
                    "repeat_score": None,
                    "cumulative": any(m.cumulative for m in it.metrics),
                }
            )
            for m in it.metrics:
                metric_rows.append(
                    {
                        "item_id": iid,
                        "value": float(m.value),
                        "unit": m.unit,
                        "qualifier": m.qualifier,
                        "label": m.label,
                        "text": m.text,
                        "cumulative": bool(m.cumulative),
                    }
                )
    _link_rows(list(bulletins), item_rows)
    return (
        pd.DataFrame(item_rows, columns=ITEM_COLUMNS),
        pd.DataFrame(metric_rows, columns=METRIC_COLUMNS),
    )


def _link_rows(bulletins: list[Bulletin], item_rows: list[dict]) -> None:
    """``repeat_of`` of rows whose item repeats a story of another bulletin read with it."""
    if len(bulletins) < 2:
        return
    reports = [
        Report(
            row["item_id"],
            b.sha256,
            it.text,
            row["county_code"],
            row["township_code"],
            row["village_code"],
            b.header.date,
            (b.sha256, it.index),
        )
        for b in bulletins
        for it, row in zip(
            b.items, [r for r in item_rows if r["bulletin_id"] == b.sha256], strict=True
        )
    ]
    links = link_reports(reports)
    for row in item_rows:
        if row["item_id"] in links:
            row["repeat_of"], row["repeat_score"] = links[row["item_id"]]


# --------------------------------------------------------------------------- metric keys


@dataclass(frozen=True)
class MetricKey:
    """One metric family of ``data/config/metric_keys.json``.

    Attributes
    ----------
    key : str
        Stable identifier used in URLs and exports, e.g. ``"investment_yuan"``.
    name_zh : str
        Chinese name without unit, e.g. ``"投资额"``.
    unit : str
        Base unit of :data:`geo.models.UNITS` (``""`` for the special key ``"items"``).
    unit_zh : str
        Chinese unit shown in legends, e.g. ``"元"``.
    cues : tuple of str
        Label cues; empty for the per-unit fallbacks.
    measures : tuple of str
        Measure words the bulletin must have written with the figure (``"眼"``, ``"公里"``);
        empty when the unit alone decides.
    on_map : bool
        Offered as a map metric; False for catch-alls of unlike things (其他数量).
    """

    key: str
    name_zh: str
    unit: str
    unit_zh: str
    cues: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()
    on_map: bool = True

    @property
    def label(self) -> str:
        """Name and unit as shown in legends: ``"投资额（元）"``."""
        return f"{self.name_zh}（{self.unit_zh}）" if self.unit_zh else self.name_zh


@lru_cache(maxsize=8)
def _metric_config(path: str) -> tuple[tuple[MetricKey, ...], dict[str, MetricKey], MetricKey]:
    cfg = json.loads(Path(path).read_text(encoding="utf-8"))
    unit_zh = cfg["unit_zh"]
    families = tuple(
        MetricKey(
            f["key"],
            f["name_zh"],
            f["unit"],
            f.get("unit_zh", unit_zh.get(f["unit"], "")),
            tuple(f.get("cues", ())),
            tuple(f.get("measures", ())),
        )
        for f in cfg["families"]
    )
    fallbacks = {
        unit: MetricKey(
            f["key"], f["name_zh"], unit, unit_zh.get(unit, ""), on_map=f.get("map", True)
        )
        for unit, f in cfg["fallbacks"].items()
    }
    it = cfg["items"]
    return families, fallbacks, MetricKey(it["key"], it["name_zh"], "", it["unit_zh"])


def load_metric_keys(path: str | Path | None = None) -> list[MetricKey]:
    """All metric keys: ``"items"``, the cue families in matching order, then the unit fallbacks.

    Parameters
    ----------
    path : str or Path, optional
        A metric-keys JSON file; defaults to ``data/config/metric_keys.json``.
    """
    families, fallbacks, items_key = _metric_config(str(path or METRIC_KEYS_PATH))
    return [items_key, *families, *fallbacks.values()]


def _key_index(path: str | Path | None = None) -> dict[str, MetricKey]:
    # Cached: the map asks for names and units once per metric (tens of thousands of calls).
    return _cached_key_index(str(path or METRIC_KEYS_PATH))


@lru_cache(maxsize=8)
def _cached_key_index(path: str) -> dict[str, MetricKey]:
    return {k.key: k for k in load_metric_keys(path)}


def metric_name(key: str) -> str:
    """Chinese name of a metric key without its unit (the key itself when unknown)."""
    k = _key_index().get(key)
    return k.name_zh if k else key


def metric_unit_zh(key: str) -> str:
    """Chinese unit of a metric key (``"元"``, ``"人"``...; ``"条"`` for ``"items"``)."""
    k = _key_index().get(key)
    return k.unit_zh if k else ""


def metric_label(key: str) -> str:
    """Legend label of a metric key, e.g. ``"投资额（元）"``; the key itself when unknown."""
    k = _key_index().get(key)
    return k.label if k else key


def assign_metric_keys(metrics_df: pd.DataFrame, path: str | Path | None = None) -> pd.DataFrame:
    """Add the column ``metric_key`` to a copy of ``metrics_df``.

    A metric gets the first family whose ``unit`` equals the metric's unit and one of whose cues
    occurs in its ``label`` or ``text``; otherwise the fallback key of its unit (``"other"`` for
    unknown units).

    Parameters
    ----------
    metrics_df : DataFrame
        Columns of :data:`METRIC_COLUMNS`.
    path : str or Path, optional
        Metric-keys JSON; defaults to ``data/config/metric_keys.json``.

    Returns
    -------
    DataFrame
    """
    families, fallbacks, _ = _metric_config(str(path or METRIC_KEYS_PATH))
    out = metrics_df.copy()
    if out.empty:
        out["metric_key"] = pd.Series([], dtype=object)
        return out
    unit = out["unit"].fillna("other").astype(str)
    hay = out["label"].fillna("").astype(str) + "\x1f" + out["text"].fillna("").astype(str)
    # Labels repeat a lot: decide once per distinct (unit, label, text), then broadcast.
    codes, uniques = pd.factorize(unit + "\x1e" + hay)
    decided = []
    for u in uniques:
        u_unit, u_hay = u.split("\x1e", 1)
        measure = measure_word(u_hay.rsplit("\x1f", 1)[-1])
        key = next((f.key for f in families if _in_family(f, u_unit, measure, u_hay)), None)
        decided.append(key or fallbacks.get(u_unit, fallbacks.get("other")).key)
    out["metric_key"] = np.asarray(decided, dtype=object)[codes]
    return out


def _in_family(family: MetricKey, unit: str, measure: str, hay: str) -> bool:
    """Unit equal, measure word listed (when the family lists any), a cue (when it has any)."""
    if family.unit != unit:
        return False
    if family.measures and measure not in family.measures:
        return False
    return not family.cues or any(c in hay for c in family.cues)


def _with_keys(metrics_df: pd.DataFrame) -> pd.DataFrame:
    return metrics_df if "metric_key" in metrics_df.columns else assign_metric_keys(metrics_df)


def metric_catalog(metrics_df: pd.DataFrame, items_df: pd.DataFrame | None = None) -> pd.DataFrame:
    """Metric keys present in the data, for a metric picker.

    Parameters
    ----------
    metrics_df : DataFrame
        Metrics, with or without ``metric_key``.
    items_df : DataFrame, optional
        Items; gives the count of the ``"items"`` row (else the number of distinct item ids
        that have metrics).

    Returns
    -------
    DataFrame
        Columns ``key, name_zh, unit, n``: ``"items"`` first, then keys by descending ``n``
        (number of metrics), ties in configuration order.
    """
    m = _with_keys(metrics_df)
    index = _key_index()
    order = {k: i for i, k in enumerate(index)}
    # catch-alls of unlike things (其他数量) are listed per item, never mapped
    counts = m["metric_key"].value_counts()
    counts = counts[[index[k].on_map if k in index else False for k in counts.index]]
    rows = [
        {
            "key": key,
            "name_zh": index[key].label if key in index else key,
            "unit": index[key].unit if key in index else "",
            "n": int(n),
        }
        for key, n in counts.items()
    ]
    rows.sort(key=lambda r: (-r["n"], order.get(r["key"], len(order))))
    n_items = len(items_df) if items_df is not None else int(m["item_id"].nunique())
    first = {"key": "items", "name_zh": index["items"].label, "unit": "", "n": n_items}
    return pd.DataFrame([first, *rows], columns=["key", "name_zh", "unit", "n"])


# --------------------------------------------------------------------------- filters


@dataclass
class Filters:
    """What the user wants to see. Empty fields do not restrict.

    Attributes
    ----------
    sectors : tuple of str
        Sector slugs matched against the item's primary ``sector``.
    townships : tuple of str
        Township codes matched against ``township_code``.
    bulletins : tuple of str
        Bulletin ids (``bulletin_id``, the SHA-256).
    date_from, date_to : str, optional
        ISO dates ``yyyy-mm-dd``, inclusive, compared with ``bulletin_date``; items without a
        date are dropped when either is set.
    text : str
        Substring searched (case-insensitively) in headline, body and unit.
    metric_key : str, optional
        Keep items that report this metric key (``"items"`` does not filter).
    metric_min, metric_max : float, optional
        Bounds, inclusive, on the item's value of ``metric_key`` (:func:`item_metric_values`).
    scopes : tuple of str
        Scopes of :data:`geo.models.SCOPES`.
    """

    sectors: tuple[str, ...] = ()
    townships: tuple[str, ...] = ()
    bulletins: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    text: str = ""
    metric_key: str | None = None
    metric_min: float | None = None
    metric_max: float | None = None
    scopes: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        """True when no field restricts."""
        return self == Filters()


def _isin(series: pd.Series, values: Iterable) -> np.ndarray:
    """``series.isin(values)`` as a bool array, through Arrow (pandas' own isin on Arrow
    strings loops in Python and takes ~0.3 s per 100,000 rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(series.astype("str") if series.dtype != "str" else series, from_pandas=True)
    if isinstance(values, pd.Series | pd.Index):
        value_set = pa.array(values.astype("str"), from_pandas=True).cast(arr.type)
    else:
        value_set = pa.array([str(v) for v in values], type=arr.type)
    return pc.is_in(arr, value_set=value_set).fill_null(False).to_numpy(zero_copy_only=False)


def filter_items(
    items_df: pd.DataFrame, metrics_df: pd.DataFrame, filters: Filters | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Items and metrics that pass ``filters`` (vectorised; 100,000 items take milliseconds).

    Parameters
    ----------
    items_df, metrics_df : DataFrame
        Frames of :func:`items_frame` (``metrics_df`` with or without ``metric_key``).
    filters : Filters or None
        ``None`` keeps everything.

    Returns
    -------
    (DataFrame, DataFrame)
        The kept items and their metrics (with ``metric_key``).
    """
    metrics_df = _with_keys(metrics_df)
    if filters is None or filters.is_empty():
        return items_df, metrics_df
    f = filters
    mask = np.ones(len(items_df), dtype=bool)
    if f.sectors:
        mask &= _isin(items_df["sector"], f.sectors)
    if f.townships:
        mask &= _isin(items_df["township_code"], [str(c) for c in f.townships])
    if f.bulletins:
        mask &= _isin(items_df["bulletin_id"], f.bulletins)
    if f.scopes:
        mask &= _isin(items_df["scope"], f.scopes)
    if f.date_from or f.date_to:
        dates = items_df["bulletin_date"].fillna("").astype(str).str.slice(0, 10)
        has = (dates != "").to_numpy()
        mask &= has
        if f.date_from:
            mask &= (dates >= f.date_from).to_numpy() | ~has
        if f.date_to:
            mask &= (dates <= f.date_to).to_numpy() | ~has
    text = (f.text or "").strip()
    if text:
        # Case folding only matters for Latin letters; skipping it keeps Chinese search fast.
        case = not any(c.isascii() and c.isalpha() for c in text)
        # Search only rows that survived the cheap filters, and the long body only where the
        # short fields did not match: substring search is the one costly filter.
        rows = np.flatnonzero(mask)
        hit = np.zeros(len(rows), dtype=bool)
        for col in ("headline", "unit", "body"):
            todo = np.flatnonzero(~hit)
            if not len(todo):
                break
            s = items_df[col].iloc[rows[todo]].fillna("").astype(str)
            hit[todo] = s.str.contains(text, case=case, regex=False).to_numpy()
        mask[rows] = hit
    if f.metric_key and f.metric_key != "items":
        totals = item_metric_values(metrics_df, f.metric_key)
        if f.metric_min is not None:
            totals = totals[totals >= f.metric_min]
        if f.metric_max is not None:
            totals = totals[totals <= f.metric_max]
        mask &= _isin(items_df["item_id"], totals.index)
    items = items_df[mask]
    metrics = metrics_df[_isin(metrics_df["item_id"], items["item_id"])]
    return items, metrics


# --------------------------------------------------------------------------- aggregates


def item_metric_values(metrics_df: pd.DataFrame, metric_key: str | None) -> pd.Series:
    """Per item, its one value of a metric key: the largest of its figures of that key.

    An item's several figures of one kind usually restate or nest rather than add up:
    达成就业意向 2600 人 includes 送工 2354 人, 签约 10 亿元 includes 首期 3 亿元. Summing them
    would report a total nobody wrote, so an item counts with its largest figure; totals over
    townships, sectors or bulletins then add items up.

    Parameters
    ----------
    metrics_df : DataFrame
        Metrics, with or without ``metric_key``.
    metric_key : str or None
        A metric key; ``None`` or ``"items"`` gives an empty series.

    Returns
    -------
    Series
        Float values named ``"value"``, indexed by ``item_id``.
    """
    if not metric_key or metric_key == "items":
        return pd.Series(dtype=float, name="value", index=pd.Index([], name="item_id"))
    m = _with_keys(metrics_df)
    m = m.loc[(m["metric_key"] == metric_key).to_numpy(), ["item_id", "value"]]
    return m.groupby("item_id", sort=False)["value"].max().astype(float)


def counted_metrics(metrics_df: pd.DataFrame) -> pd.Series:
    """Which figures count: per item and metric key the largest one (the first of equals).

    The others restate or are part of it (新增 2000 亩 within 总面积 5600 亩; 首期 3 亿元
    within 签约 10 亿元); every total — map, tables, CSV, PDF — adds counted figures only.

    Returns
    -------
    Series of bool
        Aligned with ``metrics_df``.
    """
    m = _with_keys(metrics_df)
    if m.empty:
        return pd.Series([], dtype=bool, index=m.index)
    order = m.assign(_pos=np.arange(len(m))).sort_values(
        ["item_id", "metric_key", "value", "_pos"], ascending=[True, True, False, True]
    )
    first = ~order.duplicated(["item_id", "metric_key"])
    return first.reindex(m.index).astype(bool)


def item_metric_values_by_key(metrics_df: pd.DataFrame) -> pd.DataFrame:
    """Every item's value of every metric key it reports (largest figure per key, as in
    :func:`item_metric_values`), e.g. for a township panel's totals per key.

    Returns
    -------
    DataFrame
        Columns ``item_id, metric_key, value``; summing ``value`` per ``metric_key`` gives
        totals that never add one item's restated figures.
    """
    m = _with_keys(metrics_df)
    out = m.groupby(["item_id", "metric_key"], sort=False)["value"].max().reset_index()
    return out.astype({"value": float})


def metric_total(items_df: pd.DataFrame, metrics_df: pd.DataFrame, metric_key: str) -> float:
    """One metric key's total over the given items, facts counted once as on the map (a
    repeat adds only what changed, running totals count at their latest); NaN when no item
    has the metric."""
    metrics = _with_keys(metrics_df)
    metrics = metrics[metrics["item_id"].isin(items_df["item_id"]).to_numpy()]
    total = _metric_totals(items_df.assign(_whole="all"), metrics, metric_key, "_whole")
    return float(total.iloc[0]) if len(total) else float("nan")


def metric_totals(items_df: pd.DataFrame, metrics_df: pd.DataFrame) -> pd.Series:
    """Every metric key's total over the given items (:func:`metric_total`), largest first.

    Parameters
    ----------
    items_df, metrics_df : pandas.DataFrame
        E.g. one township's items and the view's metrics.

    Returns
    -------
    pandas.Series
        Float totals indexed by metric key.
    """
    keys = _with_keys(metrics_df)
    keys = keys.loc[keys["item_id"].isin(items_df["item_id"]).to_numpy(), "metric_key"]
    totals = {str(k): metric_total(items_df, metrics_df, str(k)) for k in keys.dropna().unique()}
    totals = {k: v for k, v in totals.items() if np.isfinite(v)}
    return pd.Series(totals, dtype=float).sort_values(ascending=False, kind="stable")


def _metric_totals(items_df: pd.DataFrame, metrics_df: pd.DataFrame, metric_key: str, by: str):
    """Totals of ``metric_key`` per value of the items column ``by``, facts counted once
    (:mod:`geo.facts`: a repeat adds only what changed, running totals count at their latest;
    ``"items"`` counts first reports). Groups without facts are left out."""
    facts = counted_facts(items_df, _with_keys(metrics_df), metric_key)
    if facts.empty:
        return pd.Series(dtype=float)
    groups = items_df.loc[facts.index, by].astype(object)
    keep = groups.notna().to_numpy()
    return fact_totals(facts[keep], groups[keep].astype(str) if by != "sector" else groups[keep])


def aggregate_townships(
    items_df: pd.DataFrame,
    metrics_df: pd.DataFrame,
    metric_key: str = "items",
    township_codes: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Per-township totals for the choropleth.

    Parameters
    ----------
    items_df, metrics_df : DataFrame
        Filtered frames.
    metric_key : str
        ``"items"`` counts items told for the first time (a repeat of an earlier story adds
        none); any other key adds up, over items, each item's value of that metric (its
        largest figure of the key, see :func:`item_metric_values`) with facts counted once
        (:mod:`geo.facts`: a repeat adds only what changed, a running total counts at its
        latest).
    township_codes : iterable of str, optional
        Every township to report (e.g. all polygons), so townships without items get a row.

    Returns
    -------
    DataFrame
        Indexed by ``township_code``: ``township``, ``n_items`` (int), ``value`` (float, NaN
        where the township has no data for the metric) and ``n_<sector>`` counts per primary
        sector.
    """
    it = items_df.loc[
        items_df["township_code"].notna().to_numpy(), ["item_id", "township_code", "township"]
    ]
    it = it.assign(
        township_code=it["township_code"].astype(str),
        sector=items_df["sector"].fillna("other").astype(str),
    )
    g = it.groupby("township_code", sort=True)
    out = pd.DataFrame({"township": g["township"].first(), "n_items": g.size()})
    if len(it):
        sectors = it.groupby(["township_code", "sector"]).size().unstack(fill_value=0)
        sectors.columns = [f"n_{c}" for c in sectors.columns]
        out = out.join(sectors)
    totals = _metric_totals(items_df, metrics_df, metric_key, "township_code")
    out["value"] = totals.reindex(out.index).astype(float)
    if metric_key == "items":  # first reports: a township with only repeats has 0 new items
        out["value"] = out["value"].fillna(0.0)
    if township_codes is not None:
        out = out.reindex(pd.Index([str(c) for c in township_codes]).unique())
    count_cols = [c for c in out.columns if c == "n_items" or c.startswith("n_")]
    out[count_cols] = out[count_cols].fillna(0).astype(int)
    # A township no item mentions has no data, not a zero.
    out.loc[out["n_items"] == 0, "value"] = np.nan
    out.index.name = "township_code"
    cols = ["township", "n_items", "value", *[c for c in count_cols if c != "n_items"]]
    return out[cols]


def aggregate_sectors(
    items_df: pd.DataFrame, metrics_df: pd.DataFrame, metric_key: str = "items"
) -> pd.DataFrame:
    """Per primary sector: ``sector``, ``n_items``, ``value`` (NaN without data), by ``n_items``."""
    sectors = items_df["sector"].fillna("other").astype(str)
    n = sectors.value_counts()
    out = pd.DataFrame({"sector": n.index.astype(str), "n_items": n.to_numpy().astype(int)})
    totals = _metric_totals(items_df.assign(sector=sectors), metrics_df, metric_key, "sector")
    out["value"] = out["sector"].map(totals).astype(float)
    if metric_key == "items":
        out["value"] = out["value"].fillna(0.0)
    return out.reset_index(drop=True)


def aggregate_bulletins(
    items_df: pd.DataFrame, metrics_df: pd.DataFrame, metric_key: str = "items"
) -> pd.DataFrame:
    """Per bulletin: id, name, title, date, ``n_items`` and ``value``, newest first."""
    cols = ["bulletin_id", "bulletin_name", "bulletin_title", "bulletin_date"]
    g = items_df.groupby("bulletin_id", sort=False)
    out = g[cols[1:]].first().join(g.size().rename("n_items")).reset_index()
    totals = _metric_totals(items_df, metrics_df, metric_key, "bulletin_id")
    out["value"] = out["bulletin_id"].map(totals).astype(float)
    if metric_key == "items":
        out["value"] = out["value"].fillna(0.0)
    out = out.sort_values(["bulletin_date", "bulletin_name"], ascending=False, na_position="last")
    return out[[*cols, "n_items", "value"]].reset_index(drop=True)


# --------------------------------------------------------------------------- URL state


#: Panels under the map the URL can open, one at a time: the item table, the trend, the
#: two-period compare map, the placement review queue, the correction form, the cut review.
#: None open (the default) leaves the map alone on the page, the cheapest first view.
PANELS = ("items", "trend", "compare", "review", "correct", "recut")
_MONTH_PAIR = re.compile(r"^(\d{4}-(?:0[1-9]|1[0-2])),(\d{4}-(?:0[1-9]|1[0-2]))$")


@dataclass
class ViewState:
    """Map view kept in the app's URL: centre, zoom, base map and metric; whether the
    choropleth counts items whose place still needs review (``review=0`` leaves them out);
    the panel open under the map (one of :data:`PANELS`) and the two months compared
    (``"2024-01,2024-02"``)."""

    lat: float | None = None
    lon: float | None = None
    zoom: int | None = None
    basemap: str = "none"
    metric: str = "items"
    count_review: bool = True
    panel: str | None = None
    compare: str | None = None


_LIST_PARAMS = {
    "sector": "sectors",
    "township": "townships",
    "bulletin": "bulletins",
    "scope": "scopes",
}
_FLOAT_PARAMS = {"min": "metric_min", "max": "metric_max"}


def filters_to_query(filters: Filters | None, view: ViewState | Mapping | None = None) -> dict:
    """URL query parameters (strings) for ``filters`` and ``view``; defaults are left out.

    Lists are comma-joined: ``{"sector": "employment,investment", "from": "2024-01-01",
    "q": "招工", "lat": "32.35", "zoom": "10", "metric": "investment_yuan"}``; the period
    slider is ``from``/``to``, the panel under the map ``panel=items|trend|compare|…`` (one
    of :data:`PANELS`) and the months compared ``cmp=2024-01,2024-02``.
    """
    f = filters or Filters()
    q: dict[str, str] = {}
    for param, attr in _LIST_PARAMS.items():
        values = [str(v) for v in getattr(f, attr) if str(v)]
        if values:
            q[param] = ",".join(values)
    for param, value in (("from", f.date_from), ("to", f.date_to), ("mk", f.metric_key)):
        if value:
            q[param] = str(value)
    if f.text and f.text.strip():
        q["q"] = f.text.strip()
    for param, attr in _FLOAT_PARAMS.items():
        value = getattr(f, attr)
        if value is not None:
            q[param] = _exact_number(value)
    if view is not None:
        v = view if isinstance(view, ViewState) else ViewState(**dict(view))
        if v.lat is not None and v.lon is not None:
            q["lat"], q["lon"] = f"{v.lat:.5f}", f"{v.lon:.5f}"
        if v.zoom is not None:
            q["zoom"] = str(int(v.zoom))
        if v.basemap and v.basemap != "none":
            q["basemap"] = v.basemap
        if v.metric and v.metric != "items":
            q["metric"] = v.metric
        if not v.count_review:
            q["review"] = "0"
        if v.panel in PANELS:
            q["panel"] = v.panel
        if v.compare and _MONTH_PAIR.match(v.compare):
            q["cmp"] = v.compare
    return q


def _exact_number(value: float) -> str:
    """``value`` as a string that parses back to the same float (``%g`` would round
    12345678 to 1.23457e+07 and a shared link would lose the boundary item)."""
    x = float(value)
    return str(int(x)) if x.is_integer() else repr(x)


def _param(params: Mapping, name: str) -> str | None:
    value = params.get(name)
    if isinstance(value, list | tuple):
        value = value[-1] if value else None
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _float(value: str | None, lo: float = -math.inf, hi: float = math.inf) -> float | None:
    try:
        x = float(value) if value is not None else None
    except ValueError:
        return None
    return x if x is not None and math.isfinite(x) and lo <= x <= hi else None


def _iso_date(value: str | None) -> str | None:
    try:
        return pd.Timestamp(value).date().isoformat() if value else None
    except (ValueError, TypeError):
        return None


def filters_from_query(params: Mapping[str, Any]) -> tuple[Filters, ViewState]:
    """Parse URL query parameters written by :func:`filters_to_query`.

    Parameters
    ----------
    params : Mapping
        ``st.query_params`` or any mapping of str (or lists of str, last wins).
        Unparseable values are dropped: a hand-edited URL never breaks the app.

    Returns
    -------
    (Filters, ViewState)
    """
    kw: dict[str, Any] = {}
    for param, attr in _LIST_PARAMS.items():
        raw = _param(params, param)
        if raw:
            kw[attr] = tuple(dict.fromkeys(v.strip() for v in raw.split(",") if v.strip()))
    kw["date_from"] = _iso_date(_param(params, "from"))
    kw["date_to"] = _iso_date(_param(params, "to"))
    kw["text"] = (_param(params, "q") or "")[:200]
    kw["metric_key"] = _param(params, "mk")
    for param, attr in _FLOAT_PARAMS.items():
        kw[attr] = _float(_param(params, param))
    zoom = _float(_param(params, "zoom"), 0, 22)
    view = ViewState(
        lat=_float(_param(params, "lat"), -90, 90),
        lon=_float(_param(params, "lon"), -180, 180),
        zoom=int(zoom) if zoom is not None else None,
        basemap=_param(params, "basemap") or "none",
        metric=_param(params, "metric") or "items",
        count_review=_param(params, "review") != "0",
        panel=_param(params, "panel") if _param(params, "panel") in PANELS else None,
        compare=_param(params, "cmp") if _MONTH_PAIR.match(_param(params, "cmp") or "") else None,
    )
    if view.lat is None or view.lon is None:
        view.lat = view.lon = None
    return Filters(**kw), view


# --------------------------------------------------------------------------- approximate points


def _seat_point(county_seat, townships_gdf):
    """The county seat as a shapely point (falls back to a point inside the townships)."""
    from shapely.geometry import Point

    if county_seat is None:
        if townships_gdf is None or townships_gdf.empty:
            return None
        return townships_gdf.geometry.union_all().representative_point()
    if hasattr(county_seat, "geometry") and not hasattr(county_seat, "geom_type"):
        geoms = county_seat.to_crs(4326).geometry if county_seat.crs else county_seat.geometry
        return geoms.iloc[0].representative_point() if len(geoms) else None
    if hasattr(county_seat, "geom_type"):
        return (
            county_seat if county_seat.geom_type == "Point" else county_seat.representative_point()
        )
    lon, lat = county_seat
    return Point(float(lon), float(lat))


def _inner(polygon):
    """``polygon`` shrunk a little, so hashed points stay off township boundaries."""
    minx, miny, maxx, maxy = polygon.bounds
    inner = polygon.buffer(-0.08 * min(maxx - minx, maxy - miny))
    return inner if not inner.is_empty else polygon


def _hash_point(polygon, key: str, tries: int = 64, inner=None):
    """A deterministic point inside ``polygon`` chosen by the hash of ``key``.

    ``inner`` (from :func:`_inner`) may be passed in to reuse it for many keys.
    """
    import shapely
    from shapely.geometry import Point

    target = inner if inner is not None else _inner(polygon)
    minx, miny, maxx, maxy = polygon.bounds
    digest = b""
    seed = key.encode("utf-8")
    while len(digest) < tries * 4:
        seed = hashlib.sha256(seed).digest()
        digest += seed
    u = np.frombuffer(digest[: tries * 4], dtype=">u2").reshape(-1, 2) / 65535.0
    xs = minx + u[:, 0] * (maxx - minx)
    ys = miny + u[:, 1] * (maxy - miny)
    inside = shapely.contains_xy(target, xs, ys)
    if inside.any():
        i = int(np.argmax(inside))
        return Point(round(float(xs[i]), 6), round(float(ys[i]), 6))
    return polygon.representative_point()


def _township_polygons(townships_gdf) -> dict:
    """township_code → polygon (EPSG:4326)."""
    tw = townships_gdf
    if tw is None or len(tw) == 0:
        return {}
    if tw.crs is not None and tw.crs.to_epsg() != 4326:
        tw = tw.to_crs(4326)
    return dict(zip(tw["township_code"].astype(str), tw.geometry, strict=False))


def village_points(villages, townships_gdf):
    """Approximate village positions, the same points :func:`item_points` gives village items.

    Villages have no coordinates in the gazetteer, so each gets the deterministic point inside
    its township chosen by the hash of ``township_code:village_code``.

    Parameters
    ----------
    villages : DataFrame or iterable of geo.gazetteer.Village
        Columns (or attributes) ``village_code``/``code``, ``village``/``name``,
        ``township_code``.
    townships_gdf : GeoDataFrame
        Township polygons with ``township_code``.

    Returns
    -------
    GeoDataFrame
        ``village_code, village, township_code, position="approximate"``, EPSG:4326; villages
        whose township has no polygon are left out.
    """
    import geopandas as gpd

    if isinstance(villages, pd.DataFrame):
        df = villages.rename(columns={"code": "village_code", "name": "village"})
    else:
        rows = [
            {"village_code": v.code, "village": v.name, "township_code": v.township_code}
            for v in villages
        ]
        df = pd.DataFrame(rows, columns=["village_code", "village", "township_code"])
    polys = _township_polygons(townships_gdf)
    inner = {code: _inner(poly) for code, poly in polys.items()}
    keep, geoms = [], []
    for i, (t, code, name) in enumerate(
        zip(df["township_code"].astype(str), df["village_code"], df["village"], strict=True)
    ):
        if t not in polys:
            continue
        key = str(code) if isinstance(code, str) and code else str(name)
        keep.append(i)
        geoms.append(_hash_point(polys[t], f"{t}:{key}", inner=inner[t]))
    out = df.iloc[keep][["village_code", "village", "township_code"]].copy()
    out["position"] = "approximate"
    return gpd.GeoDataFrame(out.reset_index(drop=True), geometry=geoms, crs=4326)


def item_points(items_df: pd.DataFrame, townships_gdf, county_seat=None):
    """Approximate map positions of items, which carry no coordinates of their own.

    Township items sit at a representative point of their township polygon; village items at a
    deterministic point inside the township chosen by the hash of the village code (or name), so
    the same village always lands on the same spot; county-wide items at the county seat. Items
    whose township has no polygon, and items of unknown place, are left out.

    Parameters
    ----------
    items_df : DataFrame
        Items (columns of :data:`ITEM_COLUMNS`).
    townships_gdf : GeoDataFrame
        Township polygons with ``township_code`` (any CRS; output is EPSG:4326).
    county_seat : shapely Point, (lon, lat), GeoDataFrame, mapping or None
        Where county-wide items go; ``None`` uses a point inside the townships. A mapping
        ``{county_code: seat}`` (a prefecture's counties) puts each county-wide item at its
        own county's seat; items of counties it does not name are left out.

    Returns
    -------
    GeoDataFrame
        The placed items with their columns plus ``position`` (always ``"approximate"``) and
        ``placed_at`` (``"village"``, ``"township"`` or ``"county_seat"``), EPSG:4326.
    """
    import geopandas as gpd

    tw = townships_gdf
    if tw is not None and tw.crs is not None and tw.crs.to_epsg() != 4326:
        tw = tw.to_crs(4326)
    polys = _township_polygons(tw)
    if isinstance(county_seat, Mapping):
        seats = {str(c): _seat_point(s, None) for c, s in county_seat.items()}
        item_county = items_df["county_code"].fillna("").astype(str).to_numpy()
        seat_of = [seats.get(c) for c in item_county]
    else:
        seat = _seat_point(county_seat, tw)
        seat_of = [seat] * len(items_df)
    has_seat = np.array([s is not None for s in seat_of], dtype=bool)

    tcode = items_df["township_code"].fillna("").astype(str).to_numpy()
    vkey = items_df["village_code"].fillna("").astype(str)
    vkey = vkey.where(vkey != "", items_df["village"].fillna("").astype(str)).to_numpy()
    has_poly = np.isin(tcode, list(polys)) if polys else np.zeros(len(items_df), dtype=bool)
    scope = items_df["scope"].fillna("unknown").astype(str).to_numpy()
    at_village = has_poly & (vkey != "")
    at_township = has_poly & ~at_village
    at_seat = ~has_poly & (tcode == "") & (scope == "county") & has_seat
    placed_at = np.where(at_village, "village", np.where(at_township, "township", "county_seat"))
    keep = at_village | at_township | at_seat

    cache: dict[tuple[str, str], Any] = {}
    inner: dict[str, Any] = {}
    geoms = []
    seats_kept = [s for s, k in zip(seat_of, keep, strict=True) if k]
    for t, v, where, at in zip(tcode[keep], vkey[keep], placed_at[keep], seats_kept, strict=True):
        if where == "county_seat":
            geoms.append(at)
            continue
        k = (t, v) if where == "village" else (t, "")
        if k not in cache:
            if where == "village":
                if t not in inner:
                    inner[t] = _inner(polys[t])
                cache[k] = _hash_point(polys[t], f"{t}:{v}", inner=inner[t])
            else:
                cache[k] = polys[t].representative_point()
        geoms.append(cache[k])
    out = items_df[keep].copy()
    out["position"] = "approximate"
    out["placed_at"] = placed_at[keep]
    return gpd.GeoDataFrame(out, geometry=geoms, crs=4326)
