"""A static cartographic render of the township map with geopandas and matplotlib.

Used for PNG exports when no Chromium is installed and for the map of the PDF report. The map is
drawn in a metric CRS (so the scale bar is true), with a Chinese legend, township names, a north
arrow, the title, data sources and the approximate-boundary note. Chinese text uses Noto Sans
CJK (the ``noto_cjk_sans_otc`` pip package, or Debian's ``fonts-noto-cjk``), never boxes.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import pandas as pd
from matplotlib import font_manager
from matplotlib import patheffects as pe
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from geo import aggregate as agg
from geo.boundaries import metric_crs
from geo.display import (
    APPROXIMATE_NOTE,
    COUNTY_UNIT_COLOR,
    COUNTY_UNIT_LEGEND,
    GROUP_MARKER_COLOR,
    GROUP_MARKER_LABEL,
    NO_TOWNSHIPS_NOTE,
    NODATA_LABEL,
    SECTOR_COLORS,
    SECTOR_KEY_TITLE,
    classify,
    classify_change,
    county_units_note,
    sector_color,
    sector_label,
)
from geo.errors import ExportError
from geo.picture import source_line
from geo.view import filter_summary

__all__ = [
    "CJK_FAMILY",
    "change_png",
    "cjk_font",
    "cjk_rc",
    "draw_change_map",
    "draw_map",
    "metric_crs_of",
    "render_figure",
    "render_png",
]

CJK_FAMILY = "Noto Sans CJK SC"
_DEBIAN_FONTS = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
_NODATA_FACE = "#eeeeee"
_NODATA_HATCH = "#9e9e9e"


@lru_cache(maxsize=1)
def _register_fonts() -> str:
    """Register Noto Sans CJK with matplotlib; return the family name to use."""
    paths = []
    try:
        import noto_cjk_sans_otc

        paths.append(Path(noto_cjk_sans_otc.__file__).parent / "NotoSansCJK-Regular.ttc")
    except ImportError:
        pass
    paths.append(_DEBIAN_FONTS)
    for path in paths:
        if path.exists():
            # A .ttc registers every face; "Noto Sans CJK SC" picks the Simplified Chinese one.
            font_manager.fontManager.addfont(str(path))
    names = {f.name for f in font_manager.fontManager.ttflist}
    if CJK_FAMILY not in names:
        raise RuntimeError(
            "找不到中文字体 Noto Sans CJK：请运行 apt-get install fonts-noto-cjk "
            "或 pip install noto-cjk-sans-otc"
        )
    return CJK_FAMILY


def cjk_font(size: float | None = None, weight: str = "normal") -> font_manager.FontProperties:
    """Font properties of Noto Sans CJK SC (registered on first use)."""
    return font_manager.FontProperties(family=_register_fonts(), size=size, weight=weight)


def cjk_rc() -> dict:
    """rcParams for a figure with Chinese text (TrueType-embedded, so PDF text is extractable)."""
    return {
        "font.family": [_register_fonts()],
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "axes.unicode_minus": False,
    }


def metric_crs_of(gdf):
    """A metric CRS for ``gdf`` (``geo.boundaries.metric_crs`` when available, else UTM)."""
    try:
        return metric_crs(gdf)
    except Exception:  # boundaries module missing or not ready: a UTM zone is as good here
        from pyproj import CRS

        lon, lat = gdf.to_crs(4326).union_all().representative_point().coords[0]
        zone = int((lon + 180) // 6) + 1
        return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def _view_parts(view):
    """Township aggregates (GeoDataFrame with value) and item points of a view."""
    tables = getattr(view, "aggregates", None)
    if tables is None:
        tw = view.townships.to_crs(4326) if view.townships.crs else view.townships
        codes = tw["township_code"].astype(str).tolist()
        table = agg.aggregate_townships(view.counted_items, view.metrics_df, view.metric_key, codes)
        tables = tw.assign(township_code=codes).merge(
            table.drop(columns="township").reset_index(), on="township_code", how="left"
        )
    points = getattr(view, "points", None)
    if points is None:
        points = agg.item_points(view.items_df, view.townships, getattr(view, "county_seat", None))
    return tables, points


def _nice_length(span_m: float) -> float:
    """A round scale-bar length near a fifth of the map width."""
    target = span_m / 5
    exp = 10 ** math.floor(math.log10(target))
    for f in (5, 2, 1):
        if f * exp <= target:
            return f * exp
    return exp


def _scale_bar(ax, font, x0: float, y0: float, length: float, height: float) -> None:
    for i in range(4):
        ax.add_patch(
            Rectangle(
                (x0 + i * length / 4, y0),
                length / 4,
                height,
                facecolor="#222222" if i % 2 == 0 else "white",
                edgecolor="#222222",
                linewidth=0.8,
                zorder=20,
            )
        )
    ticks = [(0, "0"), (length, f"{_num(length / 1000)} 公里")]
    for dx, text in ticks:
        ax.text(
            x0 + dx,
            y0 + height * 1.6,
            text,
            fontproperties=font,
            ha="center",
            va="bottom",
            zorder=20,
        )


def _num(x: float) -> str:
    return f"{x:g}"


def _north_arrow(ax, font, x: float, y: float, size: float) -> None:
    ax.annotate(
        "",
        xy=(x, y),
        xytext=(x, y - size),
        arrowprops={"facecolor": "#222222", "edgecolor": "#222222", "width": 3, "headwidth": 12},
        zorder=20,
    )
    ax.text(x, y + size * 0.08, "北", fontproperties=font, ha="center", va="bottom", zorder=20)


def draw_map(ax, view, *, labels: bool = True, legend: bool = True, items: bool = True) -> None:
    """Draw the choropleth of ``view`` on ``ax`` (in a metric CRS).

    Without township polygons only the county outline and the items placed at the seat are
    drawn, with no legend.

    Parameters
    ----------
    ax : matplotlib Axes
    view : geo.view.MapView
        Or any object with ``townships, outline, items_df, metrics_df, metric_key``.
    labels : bool
        Township names.
    legend : bool
        Legend with the metric name and unit, classes and 无数据.
    items : bool
        Approximate item points.
    """
    tables, points = _view_parts(view)
    tables = tables[tables.geometry.notna()] if len(tables) else tables
    outline = getattr(view, "outline", None)
    outline = outline if outline is not None and len(outline) else None
    if not len(tables) and outline is None:
        raise ExportError(
            "没有可画的内容（无乡镇边界，也无县界）：请先上传乡镇边界", code="export.no_map"
        )
    crs = metric_crs_of(tables if len(tables) else outline)
    tables = tables.to_crs(crs)
    # a prefecture's counties without townships: one unit each, outside the classes
    is_unit = tables["unit"].eq("county") if "unit" in tables else tables.index.isna()
    tw, units = tables[~is_unit], tables[is_unit]
    classes = classify(tw["value"].to_numpy(dtype=float), agg.metric_unit_zh(view.metric_key))
    _draw_townships(ax, tw, classes)
    if len(units):
        units.plot(ax=ax, color=COUNTY_UNIT_COLOR, edgecolor="#777777", linewidth=0.8, zorder=2)
    if outline is not None:
        outline = outline.to_crs(crs)
        outline.boundary.plot(ax=ax, color="#222222", linewidth=1.8, zorder=4)
    if items and points is not None and len(points):
        _draw_items(ax, points.to_crs(crs))
    extent = tw if len(tw) else outline
    if len(units) and outline is not None:
        extent = outline
    bounds = _frame_axes(ax, extent)
    base = max(7.0, min(13.0, min(ax.figure.get_size_inches()) * ax.figure.dpi / 85))
    if labels:  # a prefecture's many townships get smaller names
        _draw_labels(
            ax, tw, cjk_font(base * (0.75 if getattr(view, "is_prefecture", False) else 1.0))
        )
        unit_names = [f"{str(t).split('（')[0]}\n全县 {n} 条" for t, n in
                      zip(units["township"], units["n_items"], strict=True)]  # fmt: skip
        _draw_labels(ax, units.assign(township=unit_names), cjk_font(base * 0.9))
    _draw_furniture(ax, bounds, base)
    if legend and (len(tw) or len(units)):
        shown = points if items and points is not None else None
        _draw_legend(ax, classes, agg.metric_label(view.metric_key), base, bool(len(units)), shown)


def draw_change_map(ax, view, change: pd.Series, *, legend_title: str, labels: bool = True) -> None:
    """Draw the change per township between two periods on ``ax``, on a diverging palette.

    Parameters
    ----------
    ax : matplotlib Axes
    view : geo.view.MapView
        Gives the township polygons and the outline (its items are not drawn).
    change : pandas.Series
        Change per ``township_code`` (NaN = neither period has data: 无数据).
    legend_title : str
        E.g. ``"事项数变化（条）：2024年2月比1月"``.
    labels : bool
        Township names.

    Raises
    ------
    ValueError
        The view has no township polygons.
    """
    if not _has_polygons(view):
        raise ValueError("没有乡镇边界，无法绘制变化图")
    tw = view.townships[["township_code", "township", "geometry"]].copy()
    tw["township_code"] = tw["township_code"].astype(str)
    tw["value"] = tw["township_code"].map(change.rename(index=str)).astype(float)
    crs = metric_crs_of(tw)
    tw = tw.to_crs(crs)
    classes = classify_change(tw["value"].to_numpy(), agg.metric_unit_zh(view.metric_key))
    _draw_townships(ax, tw, classes)
    outline = getattr(view, "outline", None)
    if outline is not None and len(outline):
        outline.to_crs(crs).boundary.plot(ax=ax, color="#222222", linewidth=1.8, zorder=4)
    bounds = _frame_axes(ax, tw)
    base = max(7.0, min(13.0, min(ax.figure.get_size_inches()) * ax.figure.dpi / 85))
    if labels:
        _draw_labels(ax, tw, cjk_font(base))
    _draw_furniture(ax, bounds, base)
    _draw_legend(ax, classes, legend_title, base)


def change_png(
    view, change: pd.Series, *, title: str, legend_title: str, size: tuple[int, int] = (1600, 1200)
) -> bytes:
    """The change map (:func:`draw_change_map`) as PNG bytes, with a title and the notes
    every map carries (approximate boundaries, attribution)."""
    import io

    import matplotlib

    w, h = size
    with matplotlib.rc_context(cjk_rc()):
        fig = Figure(figsize=(w / 100, h / 100), dpi=100, facecolor="white")
        FigureCanvasAgg(fig)
        base = max(9.0, min(18.0, min(w, h) / 70))
        notes = [APPROXIMATE_NOTE] if getattr(view, "approximate", True) else []
        notes += list(getattr(view, "attribution", None) or ())[:2]
        bottom = 0.03 + len(notes) * base * 0.85 * 1.35 / 72 * 100 / h
        ax = fig.add_axes((0.03, bottom, 0.94, 0.9 - bottom))
        draw_change_map(ax, view, change, legend_title=legend_title)
        fig.text(
            0.5,
            0.975,
            title,
            ha="center",
            va="top",
            parse_math=False,
            fontproperties=cjk_font(base * 1.4, "bold"),
        )
        fig.text(
            0.03,
            0.015,
            "\n".join(notes),
            ha="left",
            va="bottom",
            parse_math=False,
            fontproperties=cjk_font(base * 0.85),
            color="#8a4b00",
            wrap=True,
        )
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, facecolor="white")
    return buf.getvalue()


def _draw_townships(ax, tw, classes) -> None:
    """Township polygons filled by class; 无数据 hatched."""
    idx = classes.index
    if len(tw):
        face = [classes.colors[i] if i >= 0 else _NODATA_FACE for i in idx]
        tw.plot(ax=ax, color=face, edgecolor="#555555", linewidth=0.8, zorder=2)
    nodata = tw[idx < 0]
    if len(nodata):
        nodata.plot(
            ax=ax, facecolor="none", edgecolor=_NODATA_HATCH, hatch="///", linewidth=0, zorder=3
        )
        nodata.boundary.plot(ax=ax, color="#555555", linewidth=0.8, zorder=3)


def _draw_items(ax, p) -> None:
    """One dot per location, sized by how many items share it (county items share the seat)."""
    xy = pd.DataFrame({"x": p.geometry.x.round(1), "y": p.geometry.y.round(1)})
    xy["color"] = [sector_color(s) for s in p["sector"]]
    spots = xy.groupby(["x", "y"], sort=False).agg(n=("color", "size"), color=("color", "first"))
    spots = spots.reset_index()
    # one marker style, as on the web map: several items at one place are a numbered dot
    spots.loc[spots["n"] > 1, "color"] = GROUP_MARKER_COLOR
    ax.scatter(
        spots["x"],
        spots["y"],
        s=40 + 25 * (spots["n"] - 1).clip(upper=12),
        c=spots["color"],
        edgecolors="white",
        linewidths=1.0,
        zorder=6,
    )
    for x, y, n in zip(spots["x"], spots["y"], spots["n"], strict=True):
        if n > 1:
            ax.text(x, y, str(n), fontsize=7, color="white", ha="center", va="center", zorder=7)


def _frame_axes(ax, extent) -> tuple[float, float, float, float, float]:
    """Axes fitted to ``extent`` with a margin; returns ``(minx, miny, maxx, maxy, pad)``."""
    ax.set_axis_off()
    ax.set_aspect("equal", adjustable="datalim")  # the frame keeps its box: the map fills it
    minx, miny, maxx, maxy = extent.total_bounds
    pad = 0.04 * max(maxx - minx, maxy - miny)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    return minx, miny, maxx, maxy, pad


def _draw_labels(ax, tw, font) -> None:
    halo = [pe.Stroke(linewidth=3, foreground="white")]
    for name, pt in zip(tw["township"], tw.geometry.representative_point(), strict=True):
        # Just above the point, so an item dot on the same point stays visible. The white
        # halo is a stroke-only copy; the plain text on top stays real (searchable) text.
        for effects in (halo, None):
            ax.annotate(
                str(name),
                (pt.x, pt.y),
                xytext=(0, 5),
                textcoords="offset points",
                fontproperties=font,
                ha="center",
                va="bottom",
                parse_math=False,
                zorder=10,
                path_effects=effects,
                color="#111111",
            )


def _draw_furniture(ax, bounds, base: float) -> None:
    """Scale bar and north arrow."""
    minx, miny, maxx, maxy, pad = bounds
    width, height = maxx - minx + 2 * pad, maxy - miny + 2 * pad
    _scale_bar(
        ax, cjk_font(base * 0.9), minx, miny - pad * 0.6, _nice_length(width), height * 0.012
    )
    _north_arrow(ax, cjk_font(base * 1.1, "bold"), maxx + pad * 0.4, maxy, height * 0.08)


def _dot_handles(points) -> list:
    """The key of the item dots: one per sector shown, and the numbered dot of items sharing
    a place."""
    from matplotlib.lines import Line2D

    if points is None or not len(points):
        return []
    dot = {"marker": "o", "linestyle": "none", "markeredgecolor": "white", "markersize": 8}
    slugs = [s if isinstance(s, str) and s else "other" for s in points["sector"]]
    order = [s for s in SECTOR_COLORS if s in slugs] + sorted(set(slugs) - set(SECTOR_COLORS))
    handles = [Line2D([], [], color="none", label=SECTOR_KEY_TITLE)]
    handles += [
        Line2D([], [], markerfacecolor=sector_color(s), label=sector_label(s), **dot) for s in order
    ]
    xy = pd.DataFrame({"x": points.geometry.x.round(7), "y": points.geometry.y.round(7)})
    if xy.duplicated().any():
        handles.append(
            Line2D([], [], markerfacecolor=GROUP_MARKER_COLOR, label=GROUP_MARKER_LABEL, **dot)
        )
    return handles


def _draw_legend(
    ax, classes, title: str, base: float, county_units: bool = False, points=None
) -> None:
    handles = [
        Patch(facecolor=c, edgecolor="#555555", label=lab)
        for c, lab in zip(classes.colors, classes.labels, strict=True)
    ]
    if (classes.index < 0).any() or not (handles or county_units):
        handles.append(
            Patch(facecolor=_NODATA_FACE, edgecolor=_NODATA_HATCH, hatch="///", label=NODATA_LABEL)
        )
    if county_units:
        handles.append(
            Patch(facecolor=COUNTY_UNIT_COLOR, edgecolor="#777777", label=COUNTY_UNIT_LEGEND)
        )
    handles += _dot_handles(points)
    leg = ax.legend(
        handles=handles,
        title=title,
        loc="lower right",
        prop=cjk_font(base * 0.9),
        title_fontproperties=cjk_font(base, "bold"),
        framealpha=0.92,
    )
    leg.set_zorder(30)


def _created(view) -> str:
    created = getattr(view, "created", None)
    return str(created)[:10] if created else pd.Timestamp.now().date().isoformat()


def render_figure(
    view, size: tuple[int, int] = (1600, 1200), *, labels: bool = True, dpi: int = 100
) -> Figure:
    """A complete map figure: title, map, legend, north arrow, scale bar, notes and sources.

    Parameters
    ----------
    view : geo.view.MapView
    size : (int, int)
        Width and height in pixels (portrait sizes stack the notes under the map).
    labels : bool
        Township names (tests compare renders with and without them).
    dpi : int
        Pixels per inch of the figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    w, h = size
    with matplotlib.rc_context(cjk_rc()):
        fig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi, facecolor="white")
        FigureCanvasAgg(fig)
        # font sizes in points, from the picture's size in inches (the same look at any dpi)
        base = max(9.0, min(18.0, min(w, h) / dpi * 100 / 70))
        title = getattr(view, "title", "") or f"{getattr(view, 'county', '') or ''}乡镇活动图"
        fig.text(
            0.5,
            0.975,
            title,
            fontproperties=cjk_font(base * 1.5, "bold"),
            ha="center",
            va="top",
            parse_math=False,
        )
        summary = _summary(view)
        fig.text(
            0.5,
            0.975 - base * 2.4 / h * dpi / 72 * 1.0,
            summary,
            parse_math=False,
            fontproperties=cjk_font(base),
            ha="center",
            va="top",
            color="#444444",
            wrap=True,
        )
        notes = _notes(view)
        # Reserve room for every note line below the map, so the notes never cover the scale bar;
        # the map takes everything between them and the title.
        line_frac = base * 0.85 * 1.35 / 72 * dpi / h
        bottom = 0.03 + (len(notes) + 0.5) * line_frac
        top = 0.975 - base * 4.4 / 72 * dpi / h
        ax = fig.add_axes((0.02, bottom, 0.96, top - bottom))
        draw_map(ax, view, labels=labels)
        fig.text(
            0.03,
            0.015,
            "\n".join(notes),
            parse_math=False,
            fontproperties=cjk_font(base * 0.85),
            ha="left",
            va="bottom",
            color="#8a4b00" if getattr(view, "approximate", True) else "#444444",
            wrap=True,
        )
    return fig


def _notes(view) -> list[str]:
    """The lines under the map: what the boundaries are, one short source line, the date (the
    full sources and licences go beside the picture, :func:`geo.picture.sources_text`)."""
    notes = []
    units = getattr(view, "county_units", None)
    if units is not None and len(units):
        notes.append(county_units_note(units["county"].tolist()))
    if not _has_polygons(view):
        notes.append(NO_TOWNSHIPS_NOTE if not notes else "")
    elif getattr(view, "approximate", True):
        notes.append(APPROXIMATE_NOTE + "；事项位置为乡镇/村内示意点")
    notes = [n for n in notes if n]
    notes.append(f"{source_line(view)}　制图日期：{_created(view)}")
    return notes


def _has_polygons(view) -> bool:
    townships = getattr(view, "townships", None)
    return townships is not None and len(townships) > 0


def _summary(view) -> str:
    try:
        return filter_summary(view)
    except ImportError:
        return ""


def render_png(
    view,
    path: str | Path,
    size: tuple[int, int] = (1600, 1200),
    *,
    labels: bool = True,
    dpi: int = 100,
) -> Path:
    """Write the static map of ``view`` as a PNG of exactly ``size`` pixels at ``dpi``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = render_figure(view, size, labels=labels, dpi=dpi)
    fig.savefig(path, dpi=fig.dpi, facecolor="white")
    return path
