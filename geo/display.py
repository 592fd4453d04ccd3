"""Display vocabulary: every word, colour and number format a planner reads.

Labels, notes, colours and the Chinese tables of codes (scopes, boundary qualities, units), with
the functions that turn values into display text (``1.35亿元``) and choropleth classes. The web
map, the static render, the exports, the app and the CLI all take their words from here, so a
term reads the same everywhere.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from geo.aggregate import metric_unit_zh
from geo.metrics import measure_word
from geo.paths import config_dir
from geo.sectors import sector_names

__all__ = [
    "APPROXIMATE_BADGE",
    "APPROXIMATE_EXPLANATION",
    "APPROXIMATE_NOTE",
    "BASEMAP_OFFLINE_NOTE",
    "COUNTY_ITEMS_LABEL",
    "COUNTY_UNIT_COLOR",
    "COUNTY_UNIT_LEGEND",
    "CUMULATIVE_LABEL",
    "DIVERGING",
    "GROUP_MARKER_COLOR",
    "GROUP_MARKER_LABEL",
    "MEASURED_UNITS",
    "NODATA_COLOR",
    "NODATA_LABEL",
    "NO_CHANGE_LABEL",
    "NO_MAP_NOTE",
    "NO_TOWNSHIPS_NOTE",
    "POPUP_TEXT",
    "QUALIFIER_ZH",
    "QUALITY_ZH",
    "RAMP",
    "REPEAT_LABEL",
    "REVIEW_LEGEND",
    "SCOPE_ZH",
    "SECTOR_COLORS",
    "SECTOR_KEY_TITLE",
    "UNIT_NAMES_ZH",
    "Classes",
    "classify",
    "classify_change",
    "county_units_note",
    "format_change",
    "format_share",
    "format_value",
    "item_title",
    "left_out_note",
    "metric_texts",
    "metric_units_zh",
    "metric_value_text",
    "note_zh",
    "sector_color",
    "sector_label",
    "value_texts",
]

APPROXIMATE_NOTE = "示意范围，非官方边界 — 请上传官方乡镇边界"
#: The compact badge on every map drawn with approximate township areas.
APPROXIMATE_BADGE = "示意范围，非官方边界"
#: What the badge opens: what the approximate areas are and what they are not for.
APPROXIMATE_EXPLANATION = (
    "乡镇边界为示意范围，非官方边界。",
    "这些范围是本项目根据乡镇驻地位置、公开的面积和相邻关系估算的，边界误差可达数公里。",
    "可用于大致查看各乡镇的工作分布；不能用于面积统计、权属或归属判定，也不能作为正式边界使用。",
    "事项标在所属乡镇或村的示意点上，不是精确位置。",
    "取得官方乡镇边界（shapefile zip / GeoJSON / GeoPackage）后导入，地图与导出即改用官方边界。",
)
#: Said once on the map when the chosen base map's tiles cannot be loaded.
BASEMAP_OFFLINE_NOTE = "底图无法加载（网络不通或被拦截），已关闭底图；乡镇、事项等图层照常显示"
NO_TOWNSHIPS_NOTE = "尚无乡镇边界：仅显示县界与全县事项，请上传乡镇边界"
#: Legend entry of a prefecture map's counties drawn as one unit (no township polygons).
COUNTY_UNIT_LEGEND = "全县合计（无乡镇边界，不分级）"
#: Their fill: a plain grey-blue, apart from the classes and from 无数据's hatch.
COUNTY_UNIT_COLOR = "#dde4ea"


def county_units_note(names: list[str]) -> str:
    """The plain note of a prefecture map on its counties without township polygons."""
    if not names:
        return ""
    shown = "、".join(names[:6]) + (f"等 {len(names)} 个县（区）" if len(names) > 6 else "")
    return f"{shown}尚无乡镇边界：只显示县界与全县合计，不参与乡镇分级"


def left_out_note(n: int) -> str:
    """What a figure says when the review toggle left ``n`` items out of its counts: every
    count and total of a view then counts what the choropleth counts (``""`` when none)."""
    return f"未计入 {n} 条定位待核对" if n else ""


#: Why a map export cannot be drawn.
NO_MAP_NOTE = "没有乡镇边界，无法导出地图：请先上传乡镇边界（CSV、GeoJSON、GeoPackage 仍可导出）"
#: What the markers at the county seat are (legend and popups).
COUNTY_ITEMS_LABEL = "全县事项（标在县城）"
NODATA_LABEL = "无数据"
NODATA_COLOR = "#d9d9d9"
#: Sequential ramp (ColorBrewer YlOrRd, 5 classes) for the choropleth.
RAMP = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
#: Diverging palette (ColorBrewer RdBu, 7 classes) for change between two periods: falls in
#: reds, no change in the middle, rises in blues (readable with red-green colour blindness).
DIVERGING = ["#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7", "#d1e5f0", "#67a9cf", "#2166ac"]
#: An item that tells an earlier story again (counted once, at its first report).
REPEAT_LABEL = "重复"
#: A running total (累计, 截至目前…): counted at its latest value, never added up.
CUMULATIVE_LABEL = "累计"
#: The middle class of a change map.
NO_CHANGE_LABEL = "无变化"
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
#: One marker style: a dot per item coloured by sector; a numbered dot of this colour where
#: several items share a place (county-wide items at the seat), on the web map and the PNG.
GROUP_MARKER_COLOR = "#3f3f3f"
GROUP_MARKER_LABEL = "同一处多条事项（数字为条数）"
SECTOR_KEY_TITLE = "事项（圆点颜色 = 行业）"
#: Fixed popup texts; the web map adds them around the escaped bulletin strings.
POPUP_TEXT = {
    "untitled": "（无标题）",
    "unit": "单位：",
    "source": "来源：",
    "note": "位置为示意（乡镇/村内近似点）",
    "review": "定位待核对 · 置信度 ",
    "review_place": "定位待核对：",
}
#: Legend entry of the hollow markers: items whose place still needs a reviewer.
REVIEW_LEGEND = "空心圆：定位待核对"
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


#: Units whose figures read with the measure word the bulletin wrote (2万条, 45座, 36万千瓦时):
#: the family's unit would name the wrong thing.
MEASURED_UNITS = ("other", "item", "time")


def value_texts(values, units_zh, qualifiers) -> list[str]:
    """:func:`format_value` of many values at once, with the qualifier (约, ≥, ≤) in front."""
    v = np.asarray(values, dtype=float)
    a = np.abs(v)
    big, mid = a >= 1e8, a >= 1e4
    scaled = (v / np.where(big, 1e8, np.where(mid, 1e4, 1.0))).tolist()
    suffix = np.where(big, "亿", np.where(mid, "万", "")).tolist()
    out = []
    for x, s, u, q in zip(scaled, suffix, units_zh, qualifiers, strict=True):
        if not math.isfinite(x):
            out.append(NODATA_LABEL)
            continue
        # same digits as _num: two decimals at most, no trailing zeros
        out.append(f"{QUALIFIER_ZH.get(q, '')}{f'{x:.2f}'.rstrip('0').rstrip('.')}{s}{u}")
    return out


def metric_units_zh(units, texts, keys=None) -> list[str]:
    """The unit each figure reads with: the bulletin's measure word for :data:`MEASURED_UNITS`
    (when it wrote one), else the metric key's unit, else the base unit's Chinese name."""
    keys = keys if keys is not None else [None] * len(units)
    out = []
    for unit, text, key in zip(units, texts, keys, strict=True):
        word = measure_word(text) if unit in MEASURED_UNITS else ""
        if not word:
            word = (metric_unit_zh(key) if key else "") or UNIT_NAMES_ZH.get(unit, "")
        out.append(word)
    return out


def metric_texts(metrics_df: pd.DataFrame) -> list[str]:
    """How each metric row reads in popups, tables and exports: ``约300亩``, ``1.35亿元``,
    ``2万条``, ``45座`` (plain text: escape before HTML)."""
    if metrics_df is None or metrics_df.empty:
        return []
    keys = metrics_df["metric_key"].tolist() if "metric_key" in metrics_df else None
    texts = metrics_df["text"].tolist() if "text" in metrics_df else [""] * len(metrics_df)
    units = metric_units_zh(metrics_df["unit"].tolist(), texts, keys)
    qualifiers = metrics_df["qualifier"].tolist() if "qualifier" in metrics_df else None
    return value_texts(metrics_df["value"], units, qualifiers or [None] * len(units))


def metric_value_text(
    value: float | None,
    unit: str | None,
    text: str | None,
    unit_zh: str = "",
    qualifier: str | None = None,
) -> str:
    """How one metric reads (see :func:`metric_texts`).

    Parameters
    ----------
    value : float or None
    unit : str or None
        Base unit of the metric (``"yuan"``, ``"other"``...).
    text : str or None
        The metric's original text (``Metric.text``): its measure word is kept for counts.
    unit_zh : str
        Chinese unit otherwise (the metric key's).
    qualifier : str, optional
        ``approx``, ``at_least``, ``at_most``.
    """
    word = measure_word(text) if unit in MEASURED_UNITS else ""
    if value is None:
        return NODATA_LABEL
    return value_texts([value], [word or unit_zh], [qualifier])[0]


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


def format_change(value: float | None, unit_zh: str = "") -> str:
    """A change with its sign: ``+2.4万人``, ``−120人``, ``0人`` (无数据 for NaN)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return NODATA_LABEL
    v = float(value)
    if v == 0:
        return f"0{unit_zh}"
    return ("+" if v > 0 else "−") + format_value(abs(v), unit_zh)


def _side_uppers(magnitudes: np.ndarray, k: int) -> np.ndarray:
    distinct = np.unique(magnitudes)
    return distinct if len(distinct) <= k else _natural_breaks(magnitudes, k)


# colours of 1, 2 or 3 classes on one side, smallest change first (positions in DIVERGING)
_FALLS = {1: [1], 2: [2, 0], 3: [2, 1, 0]}
_RISES = {1: [5], 2: [4, 6], 3: [4, 5, 6]}


def _side(v: np.ndarray, members: np.ndarray, k: int, palette: dict) -> list:
    """``(positions, colour)`` per class of one side, smallest change first."""
    if not members.any():
        return []
    magnitude = np.abs(v)
    uppers = _side_uppers(magnitude[members], k)
    cls = np.minimum(np.searchsorted(uppers, magnitude, side="left"), len(uppers) - 1)
    colours = palette[len(uppers)]
    return [(members & (cls == i), DIVERGING[colours[i]]) for i in range(len(uppers))]


def classify_change(values, unit_zh: str = "", k: int = 3) -> Classes:
    """Classes of a change map on :data:`DIVERGING`: up to ``k`` classes of falls, one of no
    change, up to ``k`` of rises, each labelled with signed values in the metric's unit.

    Parameters
    ----------
    values : sequence of float
        Change per township; NaN is class ``-1`` (无数据).
    unit_zh : str
    k : int
        Most classes on each side (at most 3).

    Returns
    -------
    Classes
        Classes ordered from the largest fall to the largest rise.
    """
    v = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    valid = np.isfinite(v)
    k = max(1, min(int(k), 3))
    classes = _side(v, valid & (v < 0), k, _FALLS)[::-1]
    if (valid & (v == 0)).any():
        classes.append((valid & (v == 0), DIVERGING[3]))
    classes += _side(v, valid & (v > 0), k, _RISES)
    index = np.full(len(v), -1, dtype=int)
    labels = []
    for c, (members, _) in enumerate(classes):
        index[members] = c
        lo, hi = float(v[members].min()), float(v[members].max())
        if lo == hi == 0:
            labels.append(NO_CHANGE_LABEL)
        elif format_change(lo, unit_zh) == format_change(hi, unit_zh):
            labels.append(format_change(hi, unit_zh))
        else:
            labels.append(f"{format_change(lo)}～{format_change(hi, unit_zh)}")
    return Classes(index, [colour for _, colour in classes], labels)


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
    """Choropleth classes: ordered, non-overlapping, each labelled by the values it holds.

    With at most ``k`` distinct values each value is its own class (``1条``, ``2条``, ``5条``);
    with more, natural breaks (Fisher-Jenks, exact and deterministic) make ``k`` classes, each
    labelled from its smallest to its largest value (``3–5条``, ``666万–1.2亿元``), so classes
    never overlap and always run upwards. NaN is class ``-1`` (无数据).

    Parameters
    ----------
    values : sequence of float
    unit_zh : str
        Unit after the upper bound of each label.
    k : int
        Most classes.

    Returns
    -------
    Classes
    """
    v = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    valid = np.isfinite(v)
    index = np.full(len(v), -1, dtype=int)
    distinct = np.unique(v[valid])
    if len(distinct) == 0:
        return Classes(index, [], [])
    uppers = distinct if len(distinct) <= k else _natural_breaks(v[valid], k)
    index[valid] = np.minimum(np.searchsorted(uppers, v[valid], side="left"), len(uppers) - 1)
    labels = []
    for i in range(len(uppers)):
        held = v[valid][index[valid] == i]
        lo, hi = float(held.min()), float(held.max())
        one = format_value(lo, unit_zh) == format_value(hi, unit_zh)
        labels.append(
            format_value(hi, unit_zh) if one else f"{format_value(lo)}–{format_value(hi, unit_zh)}"
        )
    return Classes(index, _ramp(len(uppers)), labels)


def _natural_breaks(values: np.ndarray, k: int) -> np.ndarray:
    """Upper bounds of ``k`` Fisher-Jenks classes, strictly increasing."""
    import mapclassify

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Numba not installed": fine here
        bins = np.asarray(mapclassify.FisherJenks(values, k=k).bins, dtype=float)
    return np.unique(bins)


def _ramp(n: int) -> list[str]:
    """``n`` colours spread over :data:`RAMP` (one class: its dark end; two: light and dark)."""
    if n == 1:
        return [RAMP[3]]
    if n == 2:
        return [RAMP[1], RAMP[3]]
    return [RAMP[round(i * (len(RAMP) - 1) / (n - 1))] for i in range(n)]


def format_share(part: float | None, whole: float | None) -> str:
    """A share as planners write it: ``"37.5%"``, ``"100%"``, ``"<0.1%"``; ``"—"`` without a whole.

    Parameters
    ----------
    part, whole : float or None
        Both in the same unit.

    Returns
    -------
    str
    """
    if part is None or whole is None or not np.isfinite(part) or not np.isfinite(whole):
        return "—"
    if whole <= 0:
        return "—"
    share = 100.0 * float(part) / float(whole)
    if 0 < share < 0.1:
        return "<0.1%"
    return f"{_num(round(share, 1))}%"
