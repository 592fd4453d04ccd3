"""Display vocabulary: every word, colour and number format a planner reads.

Labels, notes, colours and the Chinese tables of codes (scopes, boundary qualities, units), with
the functions that turn values into display text (``1.35亿元``) and choropleth classes. The web
map, the static render, the exports, the app and the CLI all take their words from here, so a
term reads the same everywhere.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from geo.paths import config_dir
from geo.sectors import sector_names

__all__ = [
    "APPROXIMATE_NOTE",
    "COUNTY_ITEMS_LABEL",
    "NODATA_COLOR",
    "NODATA_LABEL",
    "NO_MAP_NOTE",
    "NO_TOWNSHIPS_NOTE",
    "POPUP_TEXT",
    "QUALIFIER_ZH",
    "QUALITY_ZH",
    "RAMP",
    "SCOPE_ZH",
    "SECTOR_COLORS",
    "UNIT_NAMES_ZH",
    "Classes",
    "classify",
    "format_number",
    "format_value",
    "item_title",
    "metric_value_text",
    "note_zh",
    "sector_color",
    "sector_label",
]

APPROXIMATE_NOTE = "示意范围，非官方边界 — 请上传官方乡镇边界"
NO_TOWNSHIPS_NOTE = "尚无乡镇边界：仅显示县界与全县事项，请上传乡镇边界"
#: Why a map export cannot be drawn.
NO_MAP_NOTE = "没有乡镇边界，无法导出地图：请先上传乡镇边界（CSV、GeoJSON、GeoPackage 仍可导出）"
#: What the markers at the county seat are (legend and popups).
COUNTY_ITEMS_LABEL = "全县事项（标在县城）"
NODATA_LABEL = "无数据"
NODATA_COLOR = "#d9d9d9"
#: Sequential ramp (ColorBrewer YlOrRd, 5 classes) for the choropleth.
RAMP = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
#: Marker colours (ColorBrewer Set1/Dark2) by sector; unknown sectors hash into the same list.
SECTOR_COLORS = {
    "employment": "#1f78b4",
    "investment": "#e31a1c",
    "government_services": "#6a3d9a",
    "utilities": "#b15928",
    "agriculture": "#33a02c",
    "industry": "#ff7f00",
    "infrastructure": "#a6761d",
    "education_health": "#e7298a",
    "culture_tourism": "#1b9e77",
    "environment": "#66a61e",
    "social_welfare": "#7570b3",
    "other": "#737373",
}
#: Fixed popup texts; the web map adds them around the escaped bulletin strings.
POPUP_TEXT = {
    "untitled": "（无标题）",
    "unit": "单位：",
    "source": "来源：",
    "note": "位置为示意（乡镇/村内近似点）",
}
#: Qualifiers of a metric in front of its number.
QUALIFIER_ZH = {"approx": "约", "at_least": "≥", "at_most": "≤"}
#: Where an item is placed.
SCOPE_ZH = {"village": "村", "township": "乡镇", "county": "全县", "unknown": "未定位"}
#: Where a township layer comes from.
QUALITY_ZH = {"official": "官方", "user": "用户上传", "approximate": "示意"}
#: How each base unit reads after a number in Chinese tables ("other" keeps the bulletin's word).
UNIT_NAMES_ZH = {
    "yuan": "元",
    "person": "人",
    "person_time": "人次",
    "mu": "亩",
    "tonne": "吨",
    "enterprise": "家",
    "project": "个项目",
    "item": "件",
    "time": "次",
    "household": "户",
    "other": "",
}


UI_ZH_PATH = config_dir() / "ui_zh.json"


def _ui_replacements(path: Path | None = None) -> list[tuple[re.Pattern, str]]:
    doc = json.loads(Path(path or UI_ZH_PATH).read_text(encoding="utf-8"))
    return [(re.compile(p), r) for p, r in doc["replacements"]]


def note_zh(text: str | None, path: Path | None = None) -> str:
    """Chinese wording of English boundary reports kept by stores of earlier versions.

    Every report and note is written in Chinese today; stores written before kept their
    boundary read/join reports in English, and the app still shows those through this. The
    patterns live in ``data/config/ui_zh.json``; a line no pattern knows is kept as it is.

    Parameters
    ----------
    text : str or None
    path : pathlib.Path, optional
        Another file of the same form.

    Returns
    -------
    str
    """
    rules = _ui_replacements(path)
    lines = []
    for line in str(text or "").split("\n"):
        for pattern, repl in rules:
            line = pattern.sub(repl, line)
        lines.append(line)
    return "\n".join(lines)


@lru_cache(maxsize=1)
def _sector_names() -> dict[str, str]:
    return dict(sector_names())


def sector_label(slug: str | None) -> str:
    """Chinese name of a sector slug (:func:`geo.sectors.sector_names`; the slug if unknown)."""
    names = _sector_names()
    if not slug or slug != slug:  # None or NaN
        return names.get("other", "其他")
    return names.get(slug, slug)


def sector_color(slug: str | None) -> str:
    """Marker colour of a sector: fixed for known slugs, hashed for others."""
    slug = slug if isinstance(slug, str) and slug else "other"
    if slug in SECTOR_COLORS:
        return SECTOR_COLORS[slug]
    palette = list(SECTOR_COLORS.values())
    return palette[int(hashlib.sha1(slug.encode()).hexdigest(), 16) % len(palette)]


def format_value(value: float | None, unit_zh: str = "") -> str:
    """A number as Chinese readers write it: ``1.35亿元``, ``2.4万人``, ``85人``."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return NODATA_LABEL
    v = float(value)
    for size, suffix in ((1e8, "亿"), (1e4, "万")):
        if abs(v) >= size:
            return f"{_num(v / size)}{suffix}{unit_zh}"
    return f"{_num(v)}{unit_zh}"


def metric_value_text(
    value: float | None, unit: str | None, text: str | None, unit_zh: str = ""
) -> str:
    """How one metric reads in tables and popups.

    A metric of unit ``other`` ("45座", "3.5公里") is shown as written in the bulletin, since
    its family unit (个) would be wrong; the others as :func:`format_value` with ``unit_zh``.

    Parameters
    ----------
    value : float or None
    unit : str or None
        Base unit of the metric (``"yuan"``, ``"other"``...).
    text : str or None
        The metric's original text (``Metric.text``).
    unit_zh : str
        Chinese unit for the other units.

    Returns
    -------
    str
        Plain text (escape before HTML).
    """
    if unit == "other":
        written = "".join(str(text or "").split())
        return written or format_value(value)
    return format_value(value, unit_zh)


def item_title(headline: str | None, body: str | None, n: int = 20) -> str:
    """An item's title: its headline, else the first ``n`` characters of its body.

    Parameters
    ----------
    headline, body : str or None
    n : int
        Characters of the body used when there is no headline.

    Returns
    -------
    str
        Plain text; "（无标题）" when both are empty.
    """

    def clean(v) -> str:
        return "" if v is None or v != v else " ".join(str(v).split())

    head = clean(headline)
    if head:
        return head
    text = clean(body)
    if not text:
        return POPUP_TEXT["untitled"]
    return text[:n] + ("…" if len(text) > n else "")


def _num(v: float) -> str:
    if float(v).is_integer():
        return f"{int(v)}"
    return f"{v:.2f}".rstrip("0").rstrip(".")


@dataclass
class Classes:
    """Choropleth classes of per-township values.

    Attributes
    ----------
    index : ndarray of int
        Class of each value, ``-1`` for no data.
    colors : list of str
        Fill colour per class.
    labels : list of str
        Legend text per class (Chinese, with unit).
    """

    index: np.ndarray
    colors: list[str]
    labels: list[str]


def classify(values, unit_zh: str = "", k: int = 5) -> Classes:
    """Class breaks for a choropleth.

    Natural breaks (Fisher-Jenks, exact and deterministic) with up to ``k`` classes; with one or
    two distinct values each value is its own class; NaN is class ``-1`` (无数据).
    """
    v = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    valid = np.isfinite(v)
    index = np.full(len(v), -1, dtype=int)
    distinct = np.unique(v[valid])
    if len(distinct) == 0:
        return Classes(index, [], [])
    if len(distinct) <= 2:
        colors = [RAMP[1], RAMP[3]][: len(distinct)] if len(distinct) == 2 else [RAMP[3]]
        index[valid] = np.searchsorted(distinct, v[valid])
        return Classes(index, colors, [format_value(d, unit_zh) for d in distinct])
    import mapclassify

    n = min(k, len(distinct))
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", UserWarning
        )  # "Numba not installed": fine for 20-odd values
        bins = np.asarray(mapclassify.FisherJenks(v[valid], k=n).bins, dtype=float)
    index[valid] = np.minimum(np.searchsorted(bins, v[valid], side="left"), len(bins) - 1)
    colors = [RAMP[round(i * (len(RAMP) - 1) / max(len(bins) - 1, 1))] for i in range(len(bins))]
    lows = [float(distinct.min()), *bins[:-1].tolist()]
    labels = []
    for i, (lo, hi) in enumerate(zip(lows, bins.tolist(), strict=True)):
        if format_value(lo, unit_zh) == format_value(hi, unit_zh):
            # one value (or values that read the same): "200条", not "200–200条"
            labels.append(format_value(hi, unit_zh))
            continue
        sep = "–" if i == 0 else "以上 – "
        labels.append(f"{format_value(lo, '')}{sep}{format_value(hi, unit_zh)}")
    return Classes(index, colors, labels)


def format_number(value: float) -> str:
    """A compact Chinese reading of a number: 6660000 -> "666万", 1.35e9 -> "13.5亿".

    Parameters
    ----------
    value : float

    Returns
    -------
    str
    """
    if abs(value) >= 1e8:
        return f"{value / 1e8:.4g}亿"
    if abs(value) >= 1e4:
        return f"{value / 1e4:.4g}万"
    return f"{value:.4g}"
