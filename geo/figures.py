"""What a planner reads at a glance about a view: the header line, the key figures and a
township's rank.

Pure functions over a :class:`~geo.view.MapView` (and, for shares, the county's unfiltered
frames); the app shows them above its map and in the township panel. Numbers read the Chinese
way (``1.35亿元``) through :mod:`geo.display`; a figure never adds different units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo import aggregate as agg
from geo.display import format_share, format_value, left_out_note
from geo.review import counted_frames
from geo.view import MapView, filter_parts

__all__ = [
    "Header",
    "KeyFigure",
    "TownshipRank",
    "county_counted",
    "header",
    "header_line",
    "key_figures",
    "metric_total",
    "period_text",
    "rank_text",
    "township_rank",
]

#: Shown for a period when no item carries a bulletin date.
NO_DATE = "日期不详"


@dataclass(frozen=True)
class KeyFigure:
    """One figure of the strip above the map.

    Attributes
    ----------
    label : str
        What it counts ("事项", "投资额合计"...).
    value : str
        The figure with its unit, Chinese style ("6 条", "1.35亿元", "37.5%").
    help : str
        One sentence on how it is counted.
    """

    label: str
    value: str
    help: str = ""


@dataclass(frozen=True)
class TownshipRank:
    """Where a township stands among the townships of a view for its metric.

    Attributes
    ----------
    rank : int or None
        1 = the largest value; None when the township has no data for the metric.
    of : int
        Townships with data for the metric.
    n_townships : int
        Every township of the view.
    tied : bool
        Another township has the same value.
    value : str
        The township's value, Chinese style ("无数据" without).
    metric : str
        The metric's label ("投资额（元）").
    """

    rank: int | None
    of: int
    n_townships: int
    tied: bool
    value: str
    metric: str

    @property
    def text(self) -> str:
        """``"第 2 / 5"``, ``"并列第 1 / 5"`` or ``"无数据"``."""
        return rank_text(self.rank, self.of, tied=self.tied)


def rank_text(rank: float | None, of: int, *, tied: bool = False) -> str:
    """A rank as planners read it: ``"第 2 / 5"``, ``"并列第 1 / 5"``; ``"无数据"`` without
    one (None or NaN)."""
    if rank is None or rank != rank:
        return "无数据"
    return f"{'并列' if tied else ''}第 {int(rank)} / {of}"


def period_text(items_df: pd.DataFrame) -> str:
    """The bulletin dates the items span: ``"2024-03-08"``, ``"2024-01-05 至 2024-03-08"``.

    Parameters
    ----------
    items_df : DataFrame
        Items with ``bulletin_date`` (ISO text; missing or unreadable dates are skipped).

    Returns
    -------
    str
        :data:`NO_DATE` when no item has a date.
    """
    if "bulletin_date" not in items_df or items_df.empty:
        return NO_DATE
    dates = pd.to_datetime(items_df["bulletin_date"], errors="coerce").dropna()
    if dates.empty:
        return NO_DATE
    first, last = dates.min().date().isoformat(), dates.max().date().isoformat()
    return first if first == last else f"{first} 至 {last}"


def header_line(view: MapView, n_total: int | None = None) -> str:
    """The compact line above the map: county · metric · active filters · period · item count.

    Parameters
    ----------
    view : MapView
    n_total : int, optional
        Items of the county before filtering, counted as the view counts
        (:func:`county_counted`); the count reads ``"2 / 6 条事项"`` when fewer are shown.

    Returns
    -------
    str
        Plain text (escape it before Markdown: the county name may come from a user).
    """
    n = len(view.counted_items)  # what the choropleth counts (the review toggle)
    count = f"{n} 条事项" if n_total is None or n_total == n else f"{n} / {n_total} 条事项"
    county = view.county or view.county_code or ""
    parts = [county, agg.metric_label(view.metric_key), *filter_parts(view)]
    parts += [period_text(view.items_df), count]
    return " · ".join(p for p in parts if p)


def metric_total(items_df: pd.DataFrame, metrics_df: pd.DataFrame, metric_key: str) -> float:
    """The total of a metric over items as the map counts it (each item with its largest figure
    of the key, a repeated story once, running totals at their latest:
    :func:`geo.aggregate.metric_total`); the number of items for ``"items"``.

    Returns
    -------
    float
        NaN when no item has the metric.
    """
    if metric_key == "items":
        return float(len(items_df))
    return agg.metric_total(items_df, metrics_df, metric_key)


def _townships_reached(view: MapView) -> KeyFigure:
    table = view.table
    reached = int((table["n_items"] > 0).sum())
    of = view.township_list if not view.has_polygons else view.townships
    if of is None or not len(of):
        return KeyFigure("涉及乡镇", f"{reached} 个", "有事项的乡镇（街道）数")
    return KeyFigure(
        "涉及乡镇",
        f"{reached} / {len(of)} 个",
        f"全县 {len(of)} 个乡镇（街道）中有事项的个数；全县性事项不计入",
    )


def key_figures(
    view: MapView, county_items: pd.DataFrame, county_metrics: pd.DataFrame
) -> list[KeyFigure]:
    """Four figures for the current filter: items, townships reached, the chosen metric's total
    (the sectors touched for the metric 事项数) and its share of the whole county.

    Parameters
    ----------
    view : MapView
        The filtered view.
    county_items, county_metrics : DataFrame
        The county's frames before filtering (for the share); ``county_metrics`` with
        ``metric_key``. Counted as the view counts: with ``view.count_needs_review`` False,
        items whose place needs review are left out of the part and the whole alike.

    Returns
    -------
    list of KeyFigure
    """
    key = view.metric_key
    county_items, county_metrics, _ = county_counted(view, county_items, county_metrics)
    items, metrics = view.counted_items, view.counted_metrics
    n, n_all = len(items), len(county_items)
    filtered = f"全县共 {n_all} 条，当前筛选 {n} 条" if n != n_all else f"全县共 {n_all} 条"
    if view.left_out:
        filtered += f"；{left_out_note(view.left_out)}（地图上为空心圆）"
    figures = [KeyFigure("事项", f"{n} 条", filtered), _townships_reached(view)]
    part = metric_total(items, metrics, key)
    whole = metric_total(county_items, county_metrics, key)
    if key == "items":
        sectors = items["sector"].fillna("other").nunique() if n else 0
        figures.append(KeyFigure("涉及行业", f"{sectors} 个", "当前事项所属行业的个数"))
        share_help = "当前筛选的事项占全县事项的比例"
    else:
        name, unit = agg.metric_name(key), agg.metric_unit_zh(key)
        figures.append(
            KeyFigure(
                f"{name}合计",
                format_value(part if np.isfinite(part) else None, unit),
                f"当前事项的{name}之和；一条事项有几个{name}数字时只取最大的一个，"
                "重复报道只计一次，累计数按最新值计",
            )
        )
        share_help = f"当前筛选的{name}占全县（不筛选）{name}合计的比例"
    figures.append(KeyFigure("占全县", format_share(part, whole), share_help))
    return figures


def county_counted(
    view: MapView, county_items: pd.DataFrame, county_metrics: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The county's unfiltered frames counted as ``view`` counts them (the review toggle,
    ``view.count_needs_review``): :func:`geo.review.counted_frames`."""
    return counted_frames(
        county_items, county_metrics, include_needs_review=view.count_needs_review
    )


@dataclass(frozen=True)
class Header:
    """The strip above the map: its line, its key figures and what they leave out.

    Attributes
    ----------
    line : str
        :func:`header_line` (plain text).
    figures : list of KeyFigure
        :func:`key_figures`.
    note : str
        ``"未计入 N 条定位待核对"`` when the review toggle leaves items of the view out of
        every figure (:func:`geo.display.left_out_note`), else ``""``.
    """

    line: str
    figures: list[KeyFigure]
    note: str = ""


def header(view: MapView, county_items: pd.DataFrame, county_metrics: pd.DataFrame) -> Header:
    """Everything the strip above the map shows, counted as the choropleth counts.

    Parameters
    ----------
    view : MapView
        The filtered view.
    county_items, county_metrics : DataFrame
        The county's frames before filtering (the total and the shares).

    Returns
    -------
    Header
    """
    # counted once here; key_figures finds nothing more to leave out of these frames
    county_items, county_metrics, _ = county_counted(view, county_items, county_metrics)
    return Header(
        header_line(view, len(county_items)),
        key_figures(view, county_items, county_metrics),
        left_out_note(view.left_out),
    )


def township_rank(view: MapView, township_code: str) -> TownshipRank:
    """Rank of a township among the view's townships by the view's metric (largest first).

    Parameters
    ----------
    view : MapView
    township_code : str

    Returns
    -------
    TownshipRank
        Equal values share a rank (``tied``); townships without data are not ranked.
    """
    table = view.table
    values = table["value"].astype(float)
    with_data = values[np.isfinite(values.to_numpy())]
    label = agg.metric_label(view.metric_key)
    unit = agg.metric_unit_zh(view.metric_key)
    code = str(township_code)
    mine = float(values.get(code, np.nan)) if code in values.index else np.nan
    if not np.isfinite(mine):
        return TownshipRank(None, len(with_data), len(table), False, format_value(None), label)
    rank = int((with_data > mine).sum()) + 1
    tied = int((with_data == mine).sum()) > 1
    return TownshipRank(rank, len(with_data), len(table), tied, format_value(mine, unit), label)
