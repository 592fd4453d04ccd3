"""Trend charts: the metric per period for the county and a township.

Two renderings of one series (:func:`geo.trends.trend_series`): a Vega-Lite chart for the app
(Altair; Streamlit serves Vega itself, so it draws offline) and a matplotlib figure for the
monthly report (Chinese text in Noto Sans CJK, embedded in PDF and PNG).
"""

from __future__ import annotations

from io import BytesIO

import altair as alt
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from geo import aggregate as agg
from geo.display import format_value
from geo.render import cjk_font, cjk_rc
from geo.trends import period_label_zh

__all__ = ["COUNTY_SERIES_ZH", "draw_trend", "trend_chart", "trend_frame", "trend_png"]

#: Name of the county's line in the legends.
COUNTY_SERIES_ZH = "全县"
_COUNTY_COLOUR = "#1f78b4"
_TOWN_COLOUR = "#e31a1c"


def trend_frame(county: pd.DataFrame, township: pd.DataFrame | None = None) -> pd.DataFrame:
    """One long table of the series to draw: ``period, 时间, 范围, value, new_items,
    repeated_items`` (the county's rows first, then the township's)."""
    parts = [county.assign(范围=COUNTY_SERIES_ZH)]
    if township is not None and len(township):
        name = township["township"].dropna()
        parts.append(township.assign(范围=str(name.iloc[0]) if len(name) else "乡镇"))
    out = pd.concat(parts, ignore_index=True)
    out["时间"] = [period_label_zh(p) for p in out["period"]]
    return out[["period", "时间", "范围", "value", "new_items", "repeated_items"]]


def trend_chart(county: pd.DataFrame, township: pd.DataFrame | None, metric_key: str) -> alt.Chart:
    """The app's trend chart: a line per series, points with the period's new and repeated
    items in the tooltip, the metric's name and unit on the axis.

    Parameters
    ----------
    county, township : DataFrame
        :func:`geo.trends.trend_series` of the county and of the selected township (or None).
    metric_key : str
    """
    data = trend_frame(county, township)
    names = list(dict.fromkeys(data["范围"]))
    colours = [_COUNTY_COLOUR, _TOWN_COLOUR][: len(names)]
    label = agg.metric_label(metric_key)
    base = alt.Chart(data).encode(
        x=alt.X("period:O", title="月份", sort=list(dict.fromkeys(data["period"]))),
        y=alt.Y("value:Q", title=label),
        color=alt.Color(
            "范围:N", scale=alt.Scale(domain=names, range=colours), legend=alt.Legend(title=None)
        ),
        tooltip=[
            alt.Tooltip("时间:N"),
            alt.Tooltip("范围:N"),
            alt.Tooltip("value:Q", title=label, format=",.4~g"),
            alt.Tooltip("new_items:Q", title="新事项"),
            alt.Tooltip("repeated_items:Q", title="重复（不计入）"),
        ],
    )
    return (base.mark_line() + base.mark_point(filled=True, size=60)).properties(height=260)


def draw_trend(
    ax, county: pd.DataFrame, township: pd.DataFrame | None, metric_key: str, *, base: float = 10
) -> None:
    """The trend on a matplotlib ``ax``: the county's line, the township's, values labelled."""
    data = trend_frame(county, township)
    periods = list(dict.fromkeys(data["period"]))
    x_of = {p: i for i, p in enumerate(periods)}
    unit = agg.metric_unit_zh(metric_key)
    for (name, rows), colour in zip(
        data.groupby("范围", sort=False), (_COUNTY_COLOUR, _TOWN_COLOUR), strict=False
    ):
        xs = [x_of[p] for p in rows["period"]]
        ax.plot(xs, rows["value"], marker="o", color=colour, label=name, linewidth=2)
        for x, y in zip(xs, rows["value"], strict=True):
            ax.annotate(
                format_value(y, unit),
                (x, y),
                xytext=(0, 6),
                textcoords="offset points",
                ha="center",
                fontproperties=cjk_font(base * 0.8),
                parse_math=False,
            )
    ax.set_xticks(range(len(periods)))
    ax.set_xticklabels([period_label_zh(p) for p in periods], fontproperties=cjk_font(base * 0.8))
    ax.set_ylabel(agg.metric_label(metric_key), fontproperties=cjk_font(base))
    ax.set_ylim(bottom=min(0.0, float(data["value"].min()) * 1.15))
    ax.grid(axis="y", color="#dddddd")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(prop=cjk_font(base * 0.85), frameon=False)


def trend_png(
    county: pd.DataFrame,
    township: pd.DataFrame | None,
    metric_key: str,
    *,
    title: str = "",
    size: tuple[int, int] = (1200, 520),
    dpi: int = 150,
) -> bytes:
    """The trend chart as PNG bytes (for the DOCX report)."""
    import matplotlib

    with matplotlib.rc_context(cjk_rc()):
        fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi, facecolor="white")
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.1, 0.16, 0.86, 0.72))
        draw_trend(ax, county, township, metric_key, base=9)
        if title:
            fig.text(0.5, 0.96, title, ha="center", va="top", fontproperties=cjk_font(11, "bold"))
        buf = BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()
