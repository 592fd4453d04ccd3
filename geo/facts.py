"""Facts counted once: what a total adds up when stories are told again and figures run on.

Two rules make every total — the map, the tables, the trend, the monthly report — count a fact
once:

* **Repeats.** An item that repeats a story (``repeat_of``, linked by the store or by
  :func:`geo.near_duplicates.link_reports`, or set by a reviewer) adds no item, and its figures
  add only what changed: each report of a story contributes its value minus the value of the
  story's report before it. Over any span of time the contributions add up to the story's
  latest value there, so a figure brought up to date shows as the new value, never added to
  the old one; a report that repeats a figure unchanged adds nothing.
* **Running totals** (``cumulative``: 累计, 截至目前, 今年以来) are levels: in any span of
  time a place counts with its latest report (the latest bulletin's figures there), never the
  sum of its reports; places are still added up (two townships' running totals are two facts).

Every item keeps its own figures (:func:`geo.aggregate.item_metric_values`); only totals change.
Functions here expect ``metric_key`` on the metrics (:func:`geo.aggregate.assign_metric_keys`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "FACT_COLUMNS",
    "counted_facts",
    "fact_totals",
    "story_ids",
    "with_contributions",
]

#: Columns of :func:`counted_facts`.
FACT_COLUMNS = [
    "item_id",
    "story",
    "repeat",
    "cumulative",
    "bulletin_id",
    "bulletin_date",
    "place",
    "value",
    "contribution",
]
_MAX_HOPS = 8  # reviewers may point a repeat at another repeat; stories stay finite


def story_ids(items_df: pd.DataFrame) -> pd.Series:
    """The story of every item: the first report it repeats, else itself.

    A reviewer's ``repeat_of`` may name another repeat; the chain is followed to its start
    (cycles stop after a few hops at the item reached).

    Returns
    -------
    pandas.Series
        Aligned with ``items_df``; string item ids.
    """
    ids = items_df["item_id"].to_numpy(dtype=object)
    if "repeat_of" not in items_df:
        return pd.Series(ids, index=items_df.index, name="story", dtype=object)
    parent = items_df["repeat_of"].to_numpy(dtype=object)
    has_parent = pd.notna(parent) & (parent != "")
    story = np.where(has_parent, parent, ids)
    index = pd.Index(ids)
    for _ in range(_MAX_HOPS):  # vectorised: one lookup per hop for every item at once
        pos = index.get_indexer(story)
        found = pos >= 0
        step = np.where(found, has_parent[np.where(found, pos, 0)], False)
        if not step.any():
            break
        story = np.where(step, parent[np.where(found, pos, 0)], story)
    return pd.Series(story, index=items_df.index, name="story", dtype=object)


def _counted_rows(metrics_df: pd.DataFrame) -> pd.DataFrame:
    """Per item and metric key the figure that counts: the largest (the first of equals)."""
    m = metrics_df.assign(_pos=np.arange(len(metrics_df)))
    m = m.sort_values(
        ["item_id", "metric_key", "value", "_pos"], ascending=[True, True, False, True]
    )
    return m[~m.duplicated(["item_id", "metric_key"])]


def _place_keys(items_df: pd.DataFrame) -> np.ndarray:
    """``county|township|village`` of every item: where a running total is of."""
    cols = [
        items_df[c].to_numpy(dtype=object) for c in ("county_code", "township_code", "village_code")
    ]
    return np.array(
        ["|".join(v if isinstance(v, str) else "" for v in row) for row in zip(*cols, strict=True)],
        dtype=object,
    )


def _item_facts(items_df: pd.DataFrame) -> pd.DataFrame:
    """Item columns facts need: story, repeat, bulletin, date, position and place (the story
    and place kept by :func:`with_contributions` are reused)."""
    ids = items_df["item_id"].to_numpy(dtype=object)
    story = (
        items_df["story"].to_numpy(dtype=object)
        if "story" in items_df
        else story_ids(items_df).to_numpy()
    )
    place = (
        items_df["fact_place"].to_numpy(dtype=object)
        if "fact_place" in items_df
        else _place_keys(items_df)
    )
    dates = items_df["bulletin_date"].to_numpy(dtype=object)
    columns = {
        "item_id": ids,
        "story": story,
        "repeat": story != ids,
        "bulletin_id": items_df["bulletin_id"].to_numpy(dtype=object),
        "bulletin_date": np.where(pd.notna(dates), dates, "9999-99-99").astype(object),
        "index": items_df["index"].to_numpy(),
        "place": place,
    }
    # object columns as they are: no conversion to Arrow strings and back for every total
    return pd.DataFrame({k: pd.Series(v, dtype=v.dtype) for k, v in columns.items()})


def with_contributions(
    items_df: pd.DataFrame, metrics_df: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frames with what each item and figure adds to a total (computed on all the data,
    before any filter, so a window sees what its repeats add beyond earlier reports).

    Parameters
    ----------
    items_df : DataFrame
        Unfiltered items (``repeat_of`` optional).
    metrics_df : DataFrame
        Their metrics with ``metric_key`` (``cumulative`` optional).

    Returns
    -------
    (DataFrame, DataFrame)
        Copies: items with ``story`` and ``repeat``; metrics with ``counted`` (the figure
        that counts for its item and key) and ``contribution`` (NaN for figures that do not
        count; a running total's own value).
    """
    facts = _item_facts(items_df)
    items = items_df.assign(
        story=facts["story"].to_numpy(),
        repeat=facts["repeat"].to_numpy(),
        fact_place=facts["place"].to_numpy(),
    )
    metrics = metrics_df.copy()
    if "cumulative" not in metrics:
        metrics["cumulative"] = False
    metrics["cumulative"] = metrics["cumulative"].fillna(False).astype(bool)
    metrics["counted"] = False
    metrics["contribution"] = np.nan
    if metrics.empty:
        return items, metrics
    counted = _counted_rows(metrics)
    c = counted[["item_id", "metric_key", "value", "cumulative"]].assign(_row=counted.index)
    c = c.merge(facts, on="item_id")
    c = c.sort_values(["story", "metric_key", "bulletin_date", "bulletin_id", "index"])
    before = c.groupby(["story", "metric_key"], sort=False)["value"].shift()
    added = c["value"] - before.fillna(0.0)
    contribution = added.where(~c["cumulative"], c["value"])
    metrics.loc[counted.index, "counted"] = True
    metrics.loc[c["_row"].to_numpy(), "contribution"] = contribution.to_numpy()
    return items, metrics


def counted_facts(
    items_df: pd.DataFrame, metrics_df: pd.DataFrame, metric_key: str
) -> pd.DataFrame:
    """One row per item that counts towards ``metric_key``, with what it adds.

    Parameters
    ----------
    items_df, metrics_df : DataFrame
        Frames from :func:`with_contributions` (else the given frames are taken as all the
        data there is).
    metric_key : str
        ``"items"``: every item, value 1, contribution 0 for a repeat; else items with a
        figure of that key.

    Returns
    -------
    DataFrame
        Columns :data:`FACT_COLUMNS`, indexed like the matching rows of ``items_df`` (so its
        other columns — township, sector, dates — can be joined on the index).
    """
    if "repeat" not in items_df or ("contribution" not in metrics_df and metric_key != "items"):
        items_df, metrics_df = with_contributions(items_df, metrics_df)
    base = _item_facts(items_df).set_index(items_df.index)
    base["repeat"] = items_df["repeat"].to_numpy(dtype=bool)
    if metric_key == "items":
        out = base.assign(cumulative=False, value=1.0, contribution=(~base["repeat"]).astype(float))
        return out[FACT_COLUMNS]
    m = metrics_df.loc[
        (metrics_df["metric_key"] == metric_key).to_numpy() & metrics_df["counted"].to_numpy(),
        ["item_id", "value", "cumulative", "contribution"],
    ]
    pos = pd.Index(base["item_id"].to_numpy(dtype=object)).get_indexer(
        m["item_id"].to_numpy(dtype=object)
    )
    keep = pos >= 0
    out = base.iloc[pos[keep]].copy()
    out["cumulative"] = m["cumulative"].to_numpy(dtype=bool)[keep]
    out["value"] = m["value"].to_numpy(dtype=float)[keep]
    out["contribution"] = m["contribution"].to_numpy(dtype=float)[keep]
    return out[FACT_COLUMNS]


def fact_totals(facts: pd.DataFrame, by: pd.Series | str) -> pd.Series:
    """Totals of facts per group: contributions added, running totals at their latest.

    Parameters
    ----------
    facts : DataFrame
        From :func:`counted_facts`, already cut to the span of time and the filters wanted.
    by : Series or str
        The group of each fact (aligned with ``facts``) or one of its columns.

    Returns
    -------
    pandas.Series
        Float totals indexed by group; groups with facts but nothing added give 0.
    """
    groups = facts[by] if isinstance(by, str) else by.reindex(facts.index)
    groups = groups.rename("_group")
    flows = facts.loc[~facts["cumulative"].to_numpy(), "contribution"]
    total = flows.groupby(groups[flows.index], sort=False).sum()
    levels = facts[facts["cumulative"].to_numpy()]
    if len(levels):
        g = groups[levels.index]
        stamp = levels["bulletin_date"] + "|" + levels["bulletin_id"].astype(str)
        latest = stamp.groupby([g, levels["place"]], sort=False).transform("max")
        keep = (stamp == latest).to_numpy()
        level_sum = levels.loc[keep, "value"].groupby(g[keep], sort=False).sum()
        total = total.add(level_sum, fill_value=0.0)
    total.index.name = None
    return total.astype(float)
