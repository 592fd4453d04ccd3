"""The 报表版 of the CSV exports: Chinese headers with units, Chinese values, codes kept as text.

A planner opens the item and township tables in Excel or WPS and pastes them into a report, so
the default CSV (:func:`geo.export.export_csv`, ``geo export --format csv``, the app's CSV
downloads) reads like a report table:

- headers in Chinese from ``data/config/report_columns.json``; each metric-total column is named
  after its metric family with its one unit (``投资额（万元）``, ``就业人数（人）``); money is
  written in 万元, every other figure in its family's unit; catch-all keys whose figures are in
  unlike units (``other``, never a map metric) get no total column — their figures stay in the
  ``指标（原文）`` column as the bulletin wrote them;
- sector slugs as their Chinese names, scopes, positions and boundary sources in Chinese
  (``示意位置，非精确位置`` and ``示意范围，非官方边界`` keep approximate data labelled);
- administrative codes and ids written as ``="411528203001"``: Excel and WPS show the code as
  text with every digit (a bare 12-digit number would show as ``4.11528E+11``), and
  ``pandas.read_csv`` reads the column as text (strip the ``="…"`` with
  :func:`strip_text_codes` to get the bare code).

The machine version (``columns="keys"``) keeps the English keys and plain values.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import pandas as pd

from geo import aggregate as agg
from geo.display import metric_units_zh, sector_label
from geo.models import DATE_SOURCES_ZH
from geo.paths import config_dir

__all__ = [
    "COLUMN_STYLES",
    "LISTING_TABLES",
    "report_items",
    "report_listing",
    "report_metrics",
    "report_townships",
    "strip_text_codes",
]

#: ``columns=`` of the CSV exports: the 报表版 (default) and the machine version.
COLUMN_STYLES = ("report", "keys")

#: The CLI listings with a 报表版 (``geo bulletins --format csv`` …): tables of
#: ``report_columns.json``.
LISTING_TABLES = ("bulletins", "corrections", "cuts", "counties", "boundary_sets")

#: Metric keys measured in 元 are written in 万元 in the 报表版.
_WAN = 10_000
#: Text a spreadsheet would turn into a number or a date (digits, signs, exponents, dashes).
_NUMBER_LIKE = re.compile(r"^[0-9][0-9.eE+/:-]*$")


@lru_cache(maxsize=2)
def _config(path: str | None = None) -> dict:
    p = Path(path) if path else config_dir() / "report_columns.json"
    return json.loads(p.read_text(encoding="utf-8"))


def _as_text_code(value: object) -> object:
    """``="411528203001"`` for a code; empty cells stay empty."""
    if value is None or value != value or value == "":
        return ""
    text = str(value)
    if text.endswith(".0") and text[:-2].isdigit():  # a code read back as a float
        text = text[:-2]
    # only what a spreadsheet would read as a number or date is wrapped (ids such as
    # 8449bb4e9faf-000 are text already); no quote can get inside the formula
    return f'="{text}"' if _NUMBER_LIKE.match(text) else text


def strip_text_codes(series: pd.Series) -> pd.Series:
    """The bare codes of a 报表版 code column read with pandas (``="4115"`` -> ``"4115"``).

    Parameters
    ----------
    series : pandas.Series

    Returns
    -------
    pandas.Series
    """
    return series.astype("string").str.removeprefix('="').str.removesuffix('"')


def _codes_as_text(df: pd.DataFrame) -> pd.DataFrame:
    for col in _config()["text_codes"]:
        if col in df.columns:
            df[col] = df[col].map(_as_text_code).astype(object)
    return df


def _translate_values(df: pd.DataFrame) -> pd.DataFrame:
    for col, names in _config()["values"].items():
        if col in df.columns:
            df[col] = df[col].map(lambda v, n=names: n.get(str(v), v) if v == v else v)
    for col in ("sector", "sectors"):
        if col in df.columns:
            df[col] = df[col].map(_sector_names)
    for col in ("date_source", "bulletin_date_source"):
        if col in df.columns:
            df[col] = df[col].map(lambda v: DATE_SOURCES_ZH.get(v, v) if v == v else v)
    return df


def _sector_names(value: object) -> object:
    if not isinstance(value, str) or not value:
        return value
    return "、".join(sector_label(s.strip()) for s in re.split(r"[;,|]", value) if s.strip())


def _metric_header(key: str) -> tuple[str, float]:
    """Header of a metric-total column and the divisor of its values (万元 for money)."""
    name, unit = agg.metric_name(key), agg.metric_unit_zh(key)
    if unit == "元":
        return f"{name}（万元）", _WAN
    return (f"{name}（{unit}）" if unit else name), 1


def _metric_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Metric-total columns renamed by family and unit; catch-all (off-map) keys dropped."""
    keys = {k.key: k for k in agg.load_metric_keys()}
    rename = {}
    for col in [c for c in df.columns if c in keys and c != "items"]:
        if not keys[col].on_map:
            df = df.drop(columns=col)
            continue
        header, divisor = _metric_header(col)
        if divisor != 1:
            df[col] = (df[col] / divisor).round(4)
        rename[col] = header
    return df.rename(columns=rename)


def report_items(items: pd.DataFrame) -> pd.DataFrame:
    """The 报表版 of the items table of :func:`geo.export.export_csv`.

    Parameters
    ----------
    items : pandas.DataFrame
        English keys: item columns, one total column per metric key, ``metrics``, positions.

    Returns
    -------
    pandas.DataFrame
        Chinese headers; ``bulletin_id`` last (the item id already names its bulletin).
    """
    df = _metric_columns(items.copy())
    if "bulletin_id" in df.columns:
        df = df[[c for c in df.columns if c != "bulletin_id"] + ["bulletin_id"]]
    df = _codes_as_text(_translate_values(df))
    return df.rename(columns=_config()["items"])


def report_metrics(metrics: pd.DataFrame) -> pd.DataFrame:
    """The 报表版 of the per-figure table: each figure with its own unit as the bulletin wrote it.

    Parameters
    ----------
    metrics : pandas.DataFrame
        With ``metric_key``.

    Returns
    -------
    pandas.DataFrame
    """
    df = metrics.copy()
    if len(df):
        texts = df["text"].fillna("").astype(str).tolist()
        df["unit"] = metric_units_zh(df["unit"].tolist(), texts, df["metric_key"].tolist())
        df["metric_key"] = df["metric_key"].map(agg.metric_name)
    order = [c for c in _config()["metrics"] if c in df.columns]
    df = _codes_as_text(_translate_values(df[order + [c for c in df if c not in order]]))
    return df.rename(columns=_config()["metrics"])


def report_townships(townships: pd.DataFrame, *, metric_key: str) -> pd.DataFrame:
    """The 报表版 of the township aggregates.

    Parameters
    ----------
    townships : pandas.DataFrame
        ``value`` holds ``metric_key``'s total; ``n_<sector>`` the item counts per sector.
    metric_key : str
        The view's metric.

    Returns
    -------
    pandas.DataFrame
    """
    df = townships.copy().drop(columns=["metric_key"], errors="ignore")
    if metric_key == "items":  # the value is the item count, already in 事项数（条）
        header, divisor = agg.metric_label("items"), 1
        df = df.drop(columns="value", errors="ignore")
    else:
        header, divisor = _metric_header(metric_key)
    if "value" in df.columns and divisor != 1:
        df["value"] = (df["value"] / divisor).round(4)
    if "metric" in df.columns:
        df["metric"] = header
    rename = {"value": header}
    rename |= {c: f"{sector_label(c[2:])}事项数（条）" for c in df.columns if c.startswith("n_")}
    rename |= _config()["townships"]
    df = _codes_as_text(_translate_values(df))
    return df.rename(columns={c: rename[c] for c in df.columns if c in rename})


def report_listing(df: pd.DataFrame, *, table: str) -> pd.DataFrame:
    """The 报表版 of a CLI listing (``geo bulletins``, ``corrections``, ``recut list``,
    ``counties``, ``boundaries list`` with ``--format csv``).

    Parameters
    ----------
    df : pandas.DataFrame
        The listing with its English keys.
    table : str
        One of :data:`LISTING_TABLES`: the headers' table in ``report_columns.json``.

    Returns
    -------
    pandas.DataFrame
        Chinese headers and values, codes as text; columns the table does not name keep
        their key.
    """
    if table not in LISTING_TABLES:
        raise ValueError(f"未知的列表 {table!r}：可选 {'、'.join(LISTING_TABLES)}")
    out = _codes_as_text(_translate_values(df.copy()))
    return out.rename(columns=_config()[table])
