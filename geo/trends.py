"""Activity over time: periods derived from bulletin dates, trend series, two-period change.

Every item carries its bulletin's date; its month, quarter and year are derived from it here,
never stored. Totals count facts once (:mod:`geo.facts`): a repeated story adds only what
changed, running totals count at their latest value. The CLI's ``geo trend``, the app's trend
panel and compare map, and the monthly report all read these functions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from geo import aggregate as agg
from geo.errors import GeoInputError
from geo.facts import counted_facts, fact_totals, with_contributions

__all__ = [
    "PERIOD_KINDS",
    "SERIES_COLUMNS",
    "counting_frames",
    "period_bounds",
    "period_change",
    "period_label_zh",
    "period_of",
    "periods_between",
    "previous_period",
    "township_ranks",
    "trend_series",
]

#: Period kinds: month ``2024-02``, quarter ``2024-Q1``, year ``2024``.
PERIOD_KINDS = ("month", "quarter", "year")
#: Columns of :func:`trend_series` (and of ``geo trend``).
SERIES_COLUMNS = ["period", "township", "value", "new_items", "repeated_items"]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


def period_of(dates: pd.Series, by: str = "month") -> pd.Series:
    """The period of each ISO date: ``2024-02``, ``2024-Q1`` or ``2024`` (NaN without date).

    Parameters
    ----------
    dates : Series of str
    by : {"month", "quarter", "year"}
    """
    _check_kind(by)
    d = dates.astype(object).where(dates.notna(), "").astype(str).str.slice(0, 10)
    ok = d.str.match(r"^\d{4}-\d{2}")
    if by == "year":
        out = d.str.slice(0, 4)
    elif by == "month":
        out = d.str.slice(0, 7)
    else:
        month = pd.to_numeric(d.str.slice(5, 7), errors="coerce").fillna(1).astype(int)
        out = d.str.slice(0, 4) + "-Q" + ((month - 1) // 3 + 1).astype(str)
    return out.where(ok, np.nan)


def _check_kind(by: str) -> None:
    if by not in PERIOD_KINDS:
        raise GeoInputError(f"未知的时间段“{by}”：应为 month、quarter 或 year", code="period.kind")


def _parse(period: str) -> tuple[str, int, int]:
    """``(kind, year, number)`` of a period string, or GeoInputError."""
    p = str(period or "").strip()
    for kind, pattern in (("month", _MONTH), ("quarter", _QUARTER), ("year", _YEAR)):
        m = pattern.match(p)
        if m:
            year = int(m.group(1))
            number = int(m.group(2)) if kind != "year" else 1
            if kind == "month" and not 1 <= number <= 12:
                break
            return kind, year, number
    raise GeoInputError(
        f"时间段“{period}”无法识别：应为 2024-02（月）、2024-Q1（季度）或 2024（年）",
        code="period.invalid",
    )


def period_bounds(period: str) -> tuple[str, str]:
    """First and last day of a period, ISO: ``("2024-02-01", "2024-02-29")``."""
    kind, year, n = _parse(period)
    first_month, months = {"month": (n, 1), "quarter": (3 * n - 2, 3), "year": (1, 12)}[kind]
    start = dt.date(year, first_month, 1)
    end_month = first_month + months
    end = dt.date(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1)
    return start.isoformat(), (end - dt.timedelta(days=1)).isoformat()


def previous_period(period: str) -> str:
    """The period before: ``2024-01`` → ``2023-12``, ``2024-Q1`` → ``2023-Q4``."""
    kind, year, n = _parse(period)
    if kind == "year":
        return str(year - 1)
    if kind == "quarter":
        return f"{year - 1}-Q4" if n == 1 else f"{year}-Q{n - 1}"
    return f"{year - 1}-12" if n == 1 else f"{year}-{n - 1:02d}"


def periods_between(first: str, last: str) -> list[str]:
    """Every period from ``first`` to ``last`` (same kind), both included."""
    kind_a, _, _ = _parse(first)
    kind_b, _, _ = _parse(last)
    if kind_a != kind_b or first > last:
        return [first] if first == last else []
    out = [last]
    while out[-1] != first and len(out) < 10_000:
        out.append(previous_period(out[-1]))
    return out[::-1]


def period_label_zh(period: str) -> str:
    """``2024年2月``, ``2024年第1季度``, ``2024年``."""
    kind, year, n = _parse(period)
    if kind == "month":
        return f"{year}年{n}月"
    if kind == "quarter":
        return f"{year}年第{n}季度"
    return f"{year}年"


def counting_frames(
    items_df: pd.DataFrame, metrics_df: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All of a county's frames made ready for counting over time: metric keys, stories,
    what each figure adds (:func:`geo.facts.with_contributions`). Filter them afterwards."""
    metrics = metrics_df if "metric_key" in metrics_df else agg.assign_metric_keys(metrics_df)
    if "contribution" in metrics and "repeat" in items_df:
        return items_df, metrics
    return with_contributions(items_df, metrics)


def _facts(items_df, metrics_df, metric_key: str, by: str) -> pd.DataFrame:
    items, metrics = counting_frames(items_df, metrics_df)
    facts = counted_facts(items, metrics, metric_key)
    facts["period"] = period_of(
        facts["bulletin_date"].where(~facts["bulletin_date"].str.startswith("9999")), by
    )
    facts["township_code"] = items.loc[facts.index, "township_code"].to_numpy()
    return facts[facts["period"].notna().to_numpy()]


def _series_rows(facts: pd.DataFrame, periods: list[str]) -> pd.DataFrame:
    values = fact_totals(facts, "period").reindex(periods).fillna(0.0)
    counts = facts.groupby(["period", "repeat"], sort=False).size().unstack(fill_value=0)
    counts = counts.reindex(index=periods, columns=[False, True], fill_value=0)
    return pd.DataFrame(
        {
            "period": periods,
            "value": values.to_numpy(dtype=float),
            "new_items": counts[False].to_numpy(dtype=int),
            "repeated_items": counts[True].to_numpy(dtype=int),
        }
    )


def trend_series(
    items_df: pd.DataFrame,
    metrics_df: pd.DataFrame,
    metric_key: str = "items",
    *,
    by: str = "month",
    township_code: str | None = None,
    periods: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The metric per period, for the county or one township, facts counted once.

    Parameters
    ----------
    items_df, metrics_df : DataFrame
        A county's frames (other filters applied, not the date; see :func:`counting_frames`).
    metric_key : str
        ``"items"`` (new items) or a metric key.
    by : {"month", "quarter", "year"}
    township_code : str, optional
        Only this township's items (``township`` then holds its name).
    periods : iterable of str, optional
        The periods to report; default every period from the first to the last dated item.

    Returns
    -------
    DataFrame
        Columns :data:`SERIES_COLUMNS`: ``value`` (float; 0 where nothing counts),
        ``new_items`` and ``repeated_items`` (items of the period reporting the metric that
        are first reports and repeats).
    """
    facts = _facts(items_df, metrics_df, metric_key, by)
    all_periods = list(periods) if periods is not None else _span(items_df, by)
    name = None
    if township_code is not None:
        facts = facts[facts["township_code"].astype(str).to_numpy() == str(township_code)]
        names = items_df.loc[items_df["township_code"].astype(str) == str(township_code)]
        name = (
            str(names["township"].dropna().iloc[0])
            if names["township"].notna().any()
            else str(township_code)
        )
    out = _series_rows(facts, all_periods)
    out.insert(1, "township", name)
    return out[SERIES_COLUMNS]


def _span(items_df: pd.DataFrame, by: str) -> list[str]:
    periods = period_of(items_df["bulletin_date"], by).dropna()
    if periods.empty:
        return []
    return periods_between(periods.min(), periods.max())


def _window_totals(facts: pd.DataFrame, period: str, codes: list[str]) -> pd.Series:
    lo, hi = period_bounds(period)
    d = facts["bulletin_date"]
    inside = facts[((d >= lo) & (d <= hi)).to_numpy()]
    inside = inside[inside["township_code"].notna().to_numpy()]
    return fact_totals(inside, inside["township_code"].astype(str)).reindex(codes)


def period_change(
    items_df: pd.DataFrame,
    metrics_df: pd.DataFrame,
    metric_key: str,
    first: str,
    second: str,
    township_codes: Iterable[str],
) -> pd.DataFrame:
    """Per township the metric in two periods and the change from the first to the second.

    Parameters
    ----------
    items_df, metrics_df : DataFrame
        A county's frames (see :func:`trend_series`).
    metric_key : str
    first, second : str
        Periods (:func:`period_bounds`), e.g. ``"2024-01"`` and ``"2024-02"``.
    township_codes : iterable of str
        Every township to report.

    Returns
    -------
    DataFrame
        Indexed by ``township_code``: ``value_1``, ``value_2`` (NaN where nothing was
        reported in that period) and ``change`` (``value_2 − value_1``, a missing side taken
        as 0; NaN where neither period has data).
    """
    codes = [str(c) for c in dict.fromkeys(township_codes)]
    facts = _facts(items_df, metrics_df, metric_key, "month")
    a = _window_totals(facts, first, codes)
    b = _window_totals(facts, second, codes)
    change = b.fillna(0.0) - a.fillna(0.0)
    change[a.isna() & b.isna()] = np.nan
    out = pd.DataFrame({"value_1": a, "value_2": b, "change": change})
    out.index = pd.Index(codes, name="township_code")
    return out


def township_ranks(
    items_df: pd.DataFrame,
    metrics_df: pd.DataFrame,
    metric_key: str,
    township_code: str,
    *,
    by: str = "month",
    periods: Iterable[str] | None = None,
) -> pd.DataFrame:
    """A township's rank among the county's townships in each period (1 = highest value).

    Returns
    -------
    DataFrame
        Columns ``period``, ``rank`` (NaN when the township has nothing that period),
        ``n_ranked`` (townships with something that period) and ``tied`` (another township
        has the same value that period; equal values share the higher rank).
    """
    facts = _facts(items_df, metrics_df, metric_key, by)
    facts = facts[facts["township_code"].notna().to_numpy()]
    keys = facts["period"] + "\x1f" + facts["township_code"].astype(str)
    totals = fact_totals(facts, keys)
    split = totals.index.str.split("\x1f", n=1)
    table = pd.DataFrame(
        {"period": [s[0] for s in split], "code": [s[1] for s in split], "value": totals}
    )
    table["rank"] = table.groupby("period")["value"].rank(ascending=False, method="min")
    table["tied"] = table.groupby(["period", "rank"])["rank"].transform("size") > 1
    all_periods = list(periods) if periods is not None else _span(items_df, by)
    mine = table[table["code"] == str(township_code)].set_index("period")
    n = table.groupby("period").size()
    return pd.DataFrame(
        {
            "period": all_periods,
            "rank": mine["rank"].reindex(all_periods).to_numpy(dtype=float),
            "n_ranked": n.reindex(all_periods).fillna(0).to_numpy(dtype=int),
            "tied": mine["tied"].reindex(all_periods).fillna(False).to_numpy(dtype=bool),
        }
    )
