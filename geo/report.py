"""The monthly report: one period of a county, as an editable Word file or a PDF.

:func:`monthly_report` gathers, from a county's :class:`~geo.view.MapView` (its filters and
metric, every period), what a planner's monthly summary holds: the period's map, the change map
against the previous period, the trend chart, the townships ranked by the metric and the
period's items by township, each with its bulletin and date. Facts are counted once
(:mod:`geo.facts`): repeats are listed but add nothing, running totals count at their latest.
:func:`write_report_docx` (python-docx: Word and WPS open and edit it) and
:func:`write_report_pdf` (matplotlib, text embedded so Chinese is searchable) write it; both
carry the approximate-boundary note where it applies and the full attribution.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import pandas as pd

from geo import aggregate as agg
from geo import render
from geo.charts import draw_trend, trend_png
from geo.display import (
    APPROXIMATE_NOTE,
    CUMULATIVE_LABEL,
    REPEAT_LABEL,
    SCOPE_ZH,
    format_change,
    format_value,
    item_title,
    metric_texts,
)
from geo.errors import ExportError
from geo.export import target_path, writing_to
from geo.review import counted_frames
from geo.trends import (
    counting_frames,
    period_bounds,
    period_change,
    period_label_zh,
    previous_period,
    trend_series,
)
from geo.view import MapView, filter_summary

__all__ = [
    "REPORT_FORMATS",
    "MonthlyReport",
    "monthly_report",
    "report_pages",
    "report_png_pages",
    "write_report",
    "write_report_docx",
    "write_report_pdf",
]

#: File formats of the report.
REPORT_FORMATS = ("docx", "pdf")
#: Columns of :attr:`MonthlyReport.ranking` (Chinese: the table is printed as it is).
RANKING_COLUMNS = ["排名", "乡镇", "指标", "新事项", "重复", "较上期"]
#: Columns of :attr:`MonthlyReport.items`.
ITEM_COLUMNS = ["乡镇", "标题", "简报", "日期", "主要数据", "标记"]
_COUNTING_NOTE = (
    "统计口径：重复报道的事项只计一次（按首次报道），数字有更新时按新值计；"
    "累计数按最新值计，不相加。"
)


@dataclass
class MonthlyReport:
    """Everything the report shows, computed once for both formats.

    Attributes
    ----------
    period, previous : str
        The period (``2024-02``) and the one before it.
    view : MapView
        The period's view (items of the period, the county's layer and notes).
    change : DataFrame
        :func:`geo.trends.period_change` (previous → period) per township.
    county_series, township_series : DataFrame
        :func:`geo.trends.trend_series` of the county and of ``township_code`` (or None).
    ranking, items : DataFrame
        The two tables, columns :data:`RANKING_COLUMNS` and :data:`ITEM_COLUMNS`.
    summary : list of str
        Opening sentences (new items, repeats, the metric's total and change).
    notes : list of str
        Counting rule, approximate-boundary note, attribution, date.
    """

    period: str
    previous: str
    view: MapView
    change: pd.DataFrame
    county_series: pd.DataFrame
    township_series: pd.DataFrame | None
    ranking: pd.DataFrame
    items: pd.DataFrame
    summary: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.view.county}乡镇工作动态月报 · {period_label_zh(self.period)}"

    @property
    def metric_label(self) -> str:
        return agg.metric_label(self.view.metric_key)

    @property
    def change_title(self) -> str:
        return (
            f"{agg.metric_name(self.view.metric_key)}变化：{period_label_zh(self.period)}"
            f"比{period_label_zh(self.previous)}"
        )


def _period_view(view: MapView, period: str) -> MapView:
    lo, hi = period_bounds(period)
    f = replace(view.filters, date_from=lo, date_to=hi)
    items, metrics = agg.filter_items(view.items_df, view.metrics_df, f)
    values = {f_.name: getattr(view, f_.name) for f_ in fields(view)}
    title = (
        f"{view.county}乡镇活动图 · {agg.metric_label(view.metric_key)} · {period_label_zh(period)}"
    )
    return MapView(
        **{**values, "items_df": items, "metrics_df": metrics, "filters": f, "title": title}
    )


def monthly_report(
    view: MapView, *, period: str, township_code: str | None = None
) -> MonthlyReport:
    """Gather the monthly report of ``period`` from a county's view.

    Parameters
    ----------
    view : MapView
        The county's view with the filters and metric wanted and *every* period
        (:func:`geo.workflows.county_view` without a date filter).
    period : str
        ``2024-02`` (a quarter ``2024-Q1`` or a year ``2024`` also work).
    township_code : str, optional
        A township whose trend is drawn beside the county's.

    Returns
    -------
    MonthlyReport

    Raises
    ------
    ExportError
        The view cannot draw a map (no township polygons and no outline).
    """
    if not view.can_draw_map:
        raise ExportError(
            "没有乡镇边界，无法生成月报：请先上传乡镇边界", code="export.no_boundaries"
        )
    items_all, metrics_all = counting_frames(view.items_df, view.metrics_df)
    view = replace(view, items_df=items_all, metrics_df=metrics_all)
    previous = previous_period(period)
    now = _period_view(view, period)
    codes = now.table.index.tolist()
    # the change, the trends and the ranking count what the map counts (view.counted_items)
    items_c, metrics_c, _ = counted_frames(
        items_all, metrics_all, include_needs_review=view.count_needs_review
    )
    change = period_change(items_c, metrics_c, view.metric_key, previous, period, codes)
    county_series = trend_series(items_c, metrics_c, view.metric_key)
    town_series = None
    if township_code:
        town_series = trend_series(items_c, metrics_c, view.metric_key, township_code=township_code)
    report = MonthlyReport(
        period=period,
        previous=previous,
        view=now,
        change=change,
        county_series=county_series,
        township_series=town_series,
        ranking=_ranking(now, change),
        items=_items(now),
    )
    report.summary = _summary(report)
    report.notes = _notes(now)
    return report


def _ranking(view: MapView, change: pd.DataFrame) -> pd.DataFrame:
    """Townships with something in the period, by the metric, largest first."""
    unit = agg.metric_unit_zh(view.metric_key)
    t = view.table.copy()
    counted = view.counted_items  # as the table counts them (the review toggle)
    repeats = counted[counted.get("repeat", False) == True]  # noqa: E712
    n_rep = repeats.groupby(repeats["township_code"].astype(str)).size()
    t["n_repeated"] = pd.Series(n_rep).reindex(t.index).fillna(0).astype(int)
    t = t[t["n_items"] > 0].copy()
    t["rank"] = t["value"].rank(ascending=False, method="min")
    t = t.sort_values(["rank", "township"], na_position="last")
    rows = [
        [
            "" if r["rank"] != r["rank"] else int(r["rank"]),
            str(r["township"]),
            format_value(r["value"], unit),
            int(r["n_items"] - r["n_repeated"]),
            int(r["n_repeated"]),
            format_change(change["change"].get(code), unit),
        ]
        for code, r in t.iterrows()
    ]
    return pd.DataFrame(rows, columns=RANKING_COLUMNS)


def _items(view: MapView) -> pd.DataFrame:
    """The period's items by township (county-wide and unplaced ones last), with bulletin,
    date, figures and marks (重复, 累计); those the map counts (the review toggle), as the
    summary and the ranking count them."""
    it = view.counted_items
    if it.empty:
        return pd.DataFrame(columns=ITEM_COLUMNS)
    figures: dict[str, list[str]] = {}
    for iid, text in zip(view.metrics_df["item_id"], metric_texts(view.metrics_df), strict=True):
        figures.setdefault(iid, []).append(text)
    rows = []
    for r in it.itertuples():
        town = r.township if isinstance(r.township, str) and r.township else None
        marks = [REPEAT_LABEL] if getattr(r, "repeat", False) else []
        marks += [CUMULATIVE_LABEL] if bool(getattr(r, "cumulative", False)) else []
        bulletin = " ".join(
            str(x) for x in (r.bulletin_title, r.bulletin_issue) if isinstance(x, str) and x
        )
        rows.append(
            [
                town or SCOPE_ZH.get(r.scope, "未定位"),
                item_title(r.headline, r.body, 40),
                bulletin or str(r.bulletin_name),
                str(r.bulletin_date or ""),
                "；".join(figures.get(r.item_id, [])[:4]),
                "、".join(marks),
                town is None,
                r.index,
            ]
        )
    out = pd.DataFrame(rows, columns=[*ITEM_COLUMNS, "_last", "_index"])
    out = out.sort_values(["_last", "乡镇", "日期", "_index"], kind="stable")
    return out[ITEM_COLUMNS].reset_index(drop=True)


def _summary(r: MonthlyReport) -> list[str]:
    it = r.view.counted_items  # what the map counts; filter_summary says what it leaves out
    n_rep = int(it["repeat"].sum()) if "repeat" in it else 0
    unit = agg.metric_unit_zh(r.view.metric_key)
    row = r.county_series.set_index("period")
    now = float(row["value"].get(r.period, 0.0))
    before = float(row["value"].get(r.previous, 0.0))
    lines = [
        f"{period_label_zh(r.period)}共有事项 {len(it)} 条，其中新事项 {len(it) - n_rep} 条，"
        f"重复报道 {n_rep} 条（不重复计入）。",
        f"{r.metric_label}：{format_value(now, unit)}，较{period_label_zh(r.previous)}"
        f"{format_change(now - before, unit)}。",
        filter_summary(r.view),
    ]
    return lines


def _notes(view: MapView) -> list[str]:
    notes = [_COUNTING_NOTE]
    if view.has_polygons and view.approximate:
        notes.append(APPROXIMATE_NOTE + "；事项位置为乡镇/村内示意点")
    notes.extend(view.attribution)
    notes.append(f"制图日期：{view.created}")
    return notes


# --------------------------------------------------------------------------- pictures


def _map_png(r: MonthlyReport) -> bytes:
    fig = render.render_figure(r.view, (1600, 1200))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi, facecolor="white")
    return buf.getvalue()


def _change_png(r: MonthlyReport) -> bytes | None:
    if not r.view.has_polygons:
        return None
    unit = agg.metric_unit_zh(r.view.metric_key) or "条"
    return render.change_png(
        r.view, r.change["change"], title=r.change_title, legend_title=f"{r.change_title}（{unit}）"
    )


# --------------------------------------------------------------------------- DOCX


def _docx_fonts(document) -> None:
    """Body text in 宋体 for Chinese (Word and WPS have it), Latin in Times New Roman."""
    from docx.oxml.ns import qn
    from docx.shared import Pt

    for name in ("Normal", "Heading 1", "Heading 2", "Title"):
        style = document.styles[name]
        style.font.name = "Times New Roman"
        rpr = style.element.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = rpr.makeelement(qn("w:rFonts"), {})
            rpr.append(fonts)
        fonts.set(qn("w:eastAsia"), "黑体" if name != "Normal" else "宋体")
    document.styles["Normal"].font.size = Pt(10.5)


def _docx_table(document, table: pd.DataFrame) -> None:
    t = document.add_table(rows=1, cols=len(table.columns))
    t.style = "Table Grid"
    for cell, name in zip(t.rows[0].cells, table.columns, strict=True):
        cell.text = str(name)
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in table.itertuples(index=False):
        cells = t.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = "" if value is None or value != value else str(value)


def write_report_docx(report: MonthlyReport, path: str | Path) -> Path:
    """The report as a Word document (python-docx): headings, pictures, tables, notes.

    Returns
    -------
    Path
    """
    import docx
    from docx.shared import Cm

    p = target_path(path, ".docx")
    document = docx.Document()
    _docx_fonts(document)
    document.core_properties.title = report.title
    document.add_heading(report.title, level=0)
    for line in report.summary:
        document.add_paragraph(line)
    document.add_heading(f"一、{period_label_zh(report.period)}分布图：{report.metric_label}", 1)
    document.add_picture(io.BytesIO(_map_png(report)), width=Cm(16))
    change = _change_png(report)
    if change is not None:
        document.add_heading(f"二、{report.change_title}", 1)
        document.add_picture(io.BytesIO(change), width=Cm(16))
    document.add_heading("三、逐月趋势", 1)
    document.add_picture(io.BytesIO(_trend_png(report)), width=Cm(16))
    document.add_heading(f"四、乡镇排名：{report.metric_label}", 1)
    _docx_table(document, report.ranking)
    document.add_heading("五、本期事项（按乡镇）", 1)
    _docx_table(document, report.items)
    document.add_heading("说明", 2)
    for line in report.notes:
        document.add_paragraph(line)
    with writing_to(p):
        document.save(str(p))
    return p


def _trend_png(report: MonthlyReport) -> bytes:
    return trend_png(
        report.county_series,
        report.township_series,
        report.view.metric_key,
        title=f"{report.metric_label}逐月趋势",
    )


# --------------------------------------------------------------------------- PDF

_A4 = (11.69, 8.27)


def _page(title: str):
    from matplotlib.figure import Figure

    fig = Figure(figsize=_A4, dpi=100, facecolor="white")
    _text(fig, 0.03, 0.965, title, size=15, weight="bold")
    return fig


def _text(fig, x: float, y: float, text: str, *, size: float, **kw) -> None:
    weight = kw.pop("weight", "normal")
    kw.setdefault("va", "top")
    fig.text(x, y, text, fontproperties=render.cjk_font(size, weight), parse_math=False, **kw)


def _draw_table(
    fig,
    table: pd.DataFrame,
    *,
    x: float,
    y: float,
    widths: list[float],
    size: float = 8.5,
    step: float = 0.026,
    bottom: float = 0.06,
) -> int:
    """Rows of ``table`` from ``(x, y)`` down, column starts ``widths`` apart; returns how
    many rows fitted above ``bottom``."""
    xs = [x]
    for w in widths[:-1]:
        xs.append(xs[-1] + w)
    for cx, name in zip(xs, table.columns, strict=False):
        _text(fig, cx, y, str(name), size=size, weight="bold")
    y -= step
    done = 0
    for row in table.itertuples(index=False):
        if y < bottom:
            break
        for cx, w, value in zip(xs, widths, row, strict=False):
            cell = "" if value is None or value != value else str(value)
            _text(fig, cx, y, _clip(cell, w, size), size=size)
        y -= step
        done += 1
    return done


def _clip(text: str, width: float, size: float) -> str:
    """``text`` cut to about ``width`` of the page at ``size`` points."""
    room = max(2, int(width * 11.69 * 72 / size))  # CJK characters are about 1 em wide
    return text if len(text) <= room else text[: room - 1] + "…"


def _items_table(fig, rows: pd.DataFrame) -> int:
    return _draw_table(fig, rows, x=0.03, y=0.92, widths=[0.09, 0.36, 0.17, 0.08, 0.22, 0.06])


def _first_page(report: MonthlyReport):
    v = report.view
    fig = _page(report.title)
    _text(fig, 0.03, 0.925, "\n".join(report.summary), size=9, color="#333333")
    render.draw_map(fig.add_axes((0.02, 0.16, 0.56, 0.66)), v)
    _text(fig, 0.61, 0.80, f"乡镇排名：{report.metric_label}", size=11, weight="bold")
    widths = [0.04, 0.09, 0.09, 0.05, 0.04, 0.08]
    _draw_table(fig, report.ranking, x=0.61, y=0.76, widths=widths, bottom=0.16)
    colour = "#8a4b00" if v.approximate else "#444444"
    _text(fig, 0.03, 0.02, "\n".join(report.notes), size=7, va="bottom", color=colour)
    return fig


def _second_page(report: MonthlyReport):
    v = report.view
    fig = _page(f"{report.change_title} · 逐月趋势")
    if v.has_polygons:
        title = f"{report.change_title}（{agg.metric_unit_zh(v.metric_key) or '条'}）"
        ax = fig.add_axes((0.02, 0.08, 0.5, 0.8))
        render.draw_change_map(ax, v, report.change["change"], legend_title=title)
    ax = fig.add_axes((0.58, 0.3, 0.39, 0.45))
    draw_trend(ax, report.county_series, report.township_series, v.metric_key, base=8)
    _text(fig, 0.58, 0.82, f"{report.metric_label}逐月趋势", size=11, weight="bold")
    return fig


def report_pages(report: MonthlyReport) -> Iterator:
    """The report's pages as matplotlib figures (A4 landscape): map and ranking, change map
    and trend, then the items by township over as many pages as they need. Draw them inside
    ``matplotlib.rc_context(geo.render.cjk_rc())``."""
    yield _first_page(report)
    yield _second_page(report)
    rest = report.items
    heading = f"本期事项（按乡镇，共 {len(report.items)} 条）"
    while True:
        fig = _page(heading)
        fitted = _items_table(fig, rest)
        yield fig
        rest = rest.iloc[max(fitted, 1) :]
        if rest.empty:
            return


def write_report_pdf(report: MonthlyReport, path: str | Path) -> Path:
    """The report as a PDF (A4 landscape pages; text embedded as TrueType).

    Returns
    -------
    Path
    """
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    p = target_path(path, ".pdf")
    with matplotlib.rc_context(render.cjk_rc()), writing_to(p), PdfPages(p) as pdf:
        for fig in report_pages(report):
            pdf.savefig(fig)
    return p


def report_png_pages(report: MonthlyReport, *, dpi: int = 100) -> list[bytes]:
    """The report's pages as PNG pictures (previews, the README)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    out = []
    with matplotlib.rc_context(render.cjk_rc()):
        for fig in report_pages(report):
            FigureCanvasAgg(fig)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
            out.append(buf.getvalue())
    return out


def write_report(report: MonthlyReport, path: str | Path, fmt: str | None = None) -> Path:
    """Write ``report`` as ``docx`` or ``pdf`` (default: from the file's suffix).

    Raises
    ------
    ExportError
        An unknown format.
    """
    fmt = (fmt or Path(path).suffix.lstrip(".")).lower()
    if fmt not in REPORT_FORMATS:
        raise ExportError(f"月报格式应为 docx 或 pdf，而不是“{fmt}”", code="export.format")
    return write_report_docx(report, path) if fmt == "docx" else write_report_pdf(report, path)
