"""Map snapshots and data exports: HTML, PNG, PDF, CSV, GeoJSON and GeoPackage.

Every export takes one :class:`MapView` (built with :func:`make_view`): the county, its township
polygons, the filtered items and metrics, the chosen metric and the notes that must travel with
the map (approximate boundaries, sources, date). Files are written at the edges; everything else
is computed from the view.

A county without township polygons (any county but 息县 until the user uploads boundaries) still
gets a view: the data exports (CSV, GeoJSON, GeoPackage) write the township aggregates without
geometry and every item, with a point only where one is known (county-wide items at the seat);
the map exports draw the county outline when there is one and otherwise raise
:class:`ExportError` asking for township boundaries. :func:`available_exports` says which work.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo import aggregate as agg
from geo import picture, render, report_csv
from geo.assets import localise
from geo.browser import chromium_path, screenshot_html
from geo.display import (
    APPROXIMATE_NOTE,
    NO_MAP_NOTE,
    NO_TOWNSHIPS_NOTE,
    format_value,
    item_title,
    left_out_note,
    metric_texts,
    sector_label,
)
from geo.errors import ExportError
from geo.review import alternatives_text
from geo.view import MapView, filter_summary
from geo.webmap import build_map

__all__ = [
    "csv_safe",
    "export_csv",
    "export_geojson",
    "export_gpkg",
    "export_html",
    "export_pdf",
    "export_png",
    "target_path",
    "writing_to",
]

_ITEMS_IN_PDF = 14
_TOWNSHIPS_IN_PDF = 10


def _require_map(view: MapView) -> None:
    if not view.can_draw_map:
        raise ExportError(NO_MAP_NOTE, code="export.no_map")


def _caption(view: MapView) -> list[str]:
    lines = [filter_summary(view), f"制图日期：{view.created}"]
    if view.sources:
        lines.append(f"数据来源：{view.sources}")
    return lines


def target_path(path: str | Path, suffix: str | None = None) -> Path:
    """Where to write: ``path`` with ``suffix``, its folder made; ExportError for a folder."""
    p = Path(path)
    if suffix and p.suffix.lower() != suffix:
        p = p.with_suffix(suffix)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(
            f"无法创建输出目录 {p.parent}：{err.strerror}", code="export.folder"
        ) from err
    if p.exists() and p.is_dir():
        raise ExportError(f"输出路径是一个目录：{p}", code="export.is_folder")
    return p


def writing_to(p: Path):
    """Turn OS errors while writing ``p`` into one-line ExportErrors (``with writing_to(p):``)."""

    class _Guard:
        def __enter__(self):
            return p

        def __exit__(self, exc_type, exc, tb):
            if exc_type is not None and issubclass(exc_type, OSError):
                raise ExportError(
                    f"无法写入 {p}：{exc.strerror or exc}", code="export.write"
                ) from exc
            return False

    return _Guard()


# --------------------------------------------------------------------------- HTML / PNG / PDF


def export_html(map_or_view, path: str | Path, *, tianditu_key: str | None = None) -> Path:
    """A standalone HTML map: Leaflet inlined, so it opens offline from a file.

    Parameters
    ----------
    map_or_view : MapView or folium.Map
        A view (title, filter summary, legend, date, sources and the approximate note are
        drawn on the map) or an already built map (its assets are switched to inline).
    path : str or Path
        Output file (``.html`` added when missing).
    tianditu_key : str, optional
        Key for 天地图 base maps.

    Returns
    -------
    Path

    Raises
    ------
    ExportError
        A view with neither township polygons nor a county outline.
    """

    if isinstance(map_or_view, MapView):
        _require_map(map_or_view)
    p = target_path(path, ".html")
    if isinstance(map_or_view, MapView):
        m = build_map(
            map_or_view,
            assets="inline",
            tianditu_key=tianditu_key,
            caption=_caption(map_or_view),
            attribution=map_or_view.attribution,
        )
    else:
        m = localise(map_or_view, "inline")
    with writing_to(p):
        p.write_text(m.get_root().render(), encoding="utf-8")
    return p


def _check_size(size) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError) as err:
        raise ExportError(f"图片尺寸应为 (宽, 高)，而不是 {size!r}", code="export.size") from err
    if not (200 <= w <= 8000 and 200 <= h <= 8000):
        raise ExportError(f"图片尺寸 {w}×{h} 超出范围（200–8000 像素）", code="export.size")
    return w, h


def _chromium_available() -> bool:
    return chromium_path() is not None


def export_png(
    view: MapView,
    path: str | Path,
    size: tuple[int, int] | None = None,
    *,
    preset: str | None = None,
    browser: bool | None = None,
    labels: bool = True,
    sources_file: bool = True,
) -> Path:
    """A PNG picture of the map at exactly ``size`` pixels, or at a preset's size and dpi.

    The map fills the picture under the title and the active filters; one short Chinese
    source line sits at the bottom (:func:`geo.picture.source_line`), the full sources and
    licences go in ``<stem>_数据来源.txt`` beside it and in the PNG's metadata. With Chromium
    (``geo.browser``) the standalone HTML map is screenshotted offline; otherwise, or when the
    browser fails, :mod:`geo.render` draws it with matplotlib. Base-map tiles are never
    fetched: pictures use the blank base map.

    Parameters
    ----------
    view : MapView
    path : str or Path
        Output file (``.png`` added when missing).
    size : (int, int), optional
        Width and height in pixels, e.g. (1600, 1200) (the default without a preset).
    preset : str, optional
        A key of :func:`geo.picture.png_presets`: ``wechat`` (1080×1440), ``a4`` and
        ``a4-landscape`` (300 dpi), ``slide`` (1920×1080). Not together with ``size``.
    browser : bool, optional
        ``None`` Chromium when installed; ``True`` Chromium only; ``False`` matplotlib only.
    labels : bool
        Township names (off only for tests that look for them).
    sources_file : bool
        Write the sources text file beside the picture.

    Returns
    -------
    Path
    """

    _require_map(view)
    if preset is not None and size is not None:
        raise ExportError(
            "图片尺寸与预设只能选一个：请去掉 --size 或 --preset", code="export.size_and_preset"
        )
    chosen = picture.png_preset(preset) if preset is not None else None
    w, h = _check_size(chosen.size if chosen else (size or (1600, 1200)))
    dpi, scale = (chosen.dpi, chosen.scale) if chosen else (96, 1.0)
    p = target_path(path, ".png")
    use_browser = _chromium_available() if browser is None else browser
    done = False
    if use_browser:
        try:
            _png_with_chromium(view, p, (w, h), labels, scale)
            done = True
        except Exception as err:  # any browser failure falls back to the static render
            if browser:
                raise ExportError(
                    f"Chromium 截图失败：{str(err).splitlines()[0]}", code="export.browser"
                ) from err
    if not done:
        with writing_to(p):
            render.render_png(view, p, (w, h), labels=labels, dpi=dpi)
    with writing_to(p):
        _finish_png(view, p, (w, h), dpi)
        if sources_file:
            picture.sources_path(p).write_text(picture.sources_text(view), encoding="utf-8")
    return p


def _finish_png(view: MapView, p: Path, size: tuple[int, int], dpi: int) -> None:
    """Exactly ``size`` pixels (a browser may round by one), the dpi and the full sources in
    the PNG's metadata."""
    from PIL import Image, PngImagePlugin

    with Image.open(p) as im:
        im = im.convert("RGB")
    if im.size != size:
        canvas = Image.new("RGB", size, "white")
        canvas.paste(im.crop((0, 0, min(size[0], im.width), min(size[1], im.height))))
        im = canvas
    meta = PngImagePlugin.PngInfo()
    meta.add_itxt("Title", view.title)
    meta.add_itxt("Source", picture.sources_text(view))
    im.save(p, dpi=(dpi, dpi), pnginfo=meta)


#: The picture around the browser's map: the title and filters above it, the source line
#: under it; the map takes the rest (flex column), so it fills the picture.
_SHEET_CSS = """<style>
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; background: #ffffff;
  font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; }
.folium-map { order: 1; flex: 1 1 auto; height: auto !important; min-height: 0; }
.geo-sheet-head { order: 0; padding: 8px 12px 6px; color: #222; }
.geo-sheet-head .t { font-size: 20px; font-weight: 700; line-height: 1.3; }
.geo-sheet-head .s { font-size: 12px; color: #555; line-height: 1.4; }
.geo-sheet-foot { order: 2; padding: 4px 12px 6px; font-size: 11px; color: #555;
  line-height: 1.35; }
.leaflet-control-zoom, .leaflet-control-layers { display: none; }
</style>"""


def _sheet_parts(view: MapView) -> tuple[str, str]:
    """The escaped header and footer of the browser picture."""
    from html import escape

    head = (
        f'<div class="geo-sheet-head"><div class="t">{escape(view.title)}</div>'
        f'<div class="s">{escape(filter_summary(view))} · 制图日期：{escape(view.created)}'
        "</div></div>"
    )
    foot = f'<div class="geo-sheet-foot">{escape(picture.source_line(view))}</div>'
    return head, foot


def _fit_script(m, view: MapView) -> str:
    """After load: fit the townships (or outline) to the map with no zoom steps, so the
    county fills the frame as tightly as it can."""
    extent = view.townships if view.has_polygons else view.outline
    minx, miny, maxx, maxy = extent.to_crs(4326).total_bounds
    bounds = json.dumps([[miny, minx], [maxy, maxx]])
    name = m.get_name()
    return (
        "<script>window.addEventListener('load', function () {"
        f"var m = window.{name}; m.options.zoomSnap = 0;"
        f"m.fitBounds({bounds}, {{padding: [12, 12], animate: false}});"
        "});</script>"
    )


def _png_with_chromium(
    view: MapView, out: Path, size: tuple[int, int], labels: bool, scale: float = 1.0
) -> None:
    from branca.element import Element

    snap = MapView(**{**_fields(view), "basemap": "none"})
    m = build_map(snap, assets="inline", labels=labels, title_box=False)
    root = m.get_root()
    root.header.add_child(Element(_SHEET_CSS), name="snapshot_css")
    head, foot = _sheet_parts(view)
    root.html.add_child(Element(head), name="sheet_head")
    root.html.add_child(Element(foot), name="sheet_foot")
    root.html.add_child(Element(_fit_script(m, snap)), name="sheet_fit")
    viewport = (max(1, round(size[0] / scale)), max(1, round(size[1] / scale)))
    tmp = Path(tempfile.mkdtemp(prefix="geo-png-"))
    try:
        html_path = tmp / "map.html"
        html_path.write_text(root.render(), encoding="utf-8")
        blocked = screenshot_html(
            html_path,
            tmp / "map.png",
            viewport,
            settle_ms=400,
            device_scale_factor=size[0] / viewport[0],
        )
        if blocked:
            raise RuntimeError(f"导出页面试图联网加载 {blocked.urls[0]}（程序错误，请报告）")
        with writing_to(out):
            shutil.copyfile(tmp / "map.png", out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fields(view: MapView) -> dict:
    from dataclasses import fields

    return {f.name: getattr(view, f.name) for f in fields(view)}


def _s(value) -> str:
    """A cell as text: "" for None/NaN (pandas turns missing strings into NaN)."""
    return "" if value is None or value != value else str(value)


def _wrap(text: str, width: int, max_lines: int = 3) -> list[str]:
    lines = textwrap.wrap(str(text), width=width, break_long_words=True) or [""]
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1][: width - 1] + "…"]
    return lines


_PDF_NOTE_PT = 7.5
_A4_SHORT_PT = 595.0
_PDF_NOTE_CHARS = 100  # a note line's width in CJK characters at _PDF_NOTE_PT on A4 landscape


def _pdf_notes(view: MapView) -> list[str]:
    """Lines under the PDF's map: boundary caveat, the full attribution, the date."""

    notes = []
    if not view.has_polygons:
        notes.append(NO_TOWNSHIPS_NOTE)
    elif view.approximate:
        notes.append(APPROXIMATE_NOTE + "；事项位置为乡镇/村内示意点")
    if view.sources:
        notes.append(f"数据来源：{view.sources}")
    for line in view.attribution:
        notes.extend(_wrap(line, _PDF_NOTE_CHARS, 2))
    notes.append(f"制图日期：{view.created}")
    return notes


def export_pdf(view: MapView, path: str | Path) -> Path:
    """A one-page A4 (landscape) report: map, legend, filters, top townships and items.

    Text is embedded as TrueType (Noto Sans CJK), so Chinese is searchable and extractable.

    Returns
    -------
    Path
    """
    import matplotlib
    from matplotlib.backends.backend_pdf import FigureCanvasPdf
    from matplotlib.figure import Figure

    _require_map(view)
    p = target_path(path, ".pdf")
    with matplotlib.rc_context(render.cjk_rc()):
        fig = Figure(figsize=(11.69, 8.27), dpi=100, facecolor="white")
        FigureCanvasPdf(fig)
        _pdf_text(fig, 0.03, 0.965, view.title, size=16, weight="bold")
        _pdf_text(fig, 0.03, 0.925, filter_summary(view), size=9, color="#444444")
        notes = _pdf_notes(view)
        # the notes block grows with the attribution; map and item list stop above it
        foot = 0.02 + len(notes) * _PDF_NOTE_PT * 1.3 / _A4_SHORT_PT
        ax = fig.add_axes((0.02, foot + 0.02, 0.56, 0.88 - foot))
        render.draw_map(ax, view)
        y = _pdf_ranking(fig, view, x=0.61, y=0.89)
        _pdf_items(fig, view, x=0.61, y=y - 0.015, foot=foot)
        color = "#8a4b00" if view.approximate else "#444444"
        _pdf_text(fig, 0.03, 0.02, "\n".join(notes), size=_PDF_NOTE_PT, color=color, va="bottom")
        with writing_to(p):
            fig.savefig(p, format="pdf", facecolor="white")
    return p


def _pdf_text(fig, x: float, y: float, text: str, *, size: float, **kw) -> None:
    """One text block of the PDF in the CJK font ("$" in bulletin text is not TeX)."""
    weight = kw.pop("weight", "normal")
    kw.setdefault("va", "top")
    fig.text(x, y, text, fontproperties=render.cjk_font(size, weight), parse_math=False, **kw)


def _pdf_ranking(fig, view: MapView, *, x: float, y: float) -> float:
    """The top townships by the view's metric; returns where the next block starts."""
    unit_zh = agg.metric_unit_zh(view.metric_key)
    _pdf_text(fig, x, y, f"乡镇排名：{agg.metric_label(view.metric_key)}", size=11, weight="bold")
    y -= 0.035
    top = view.table.dropna(subset=["value"]).sort_values("value", ascending=False)
    top = top.head(_TOWNSHIPS_IN_PDF)
    if top.empty:
        _pdf_text(fig, x, y, "（无数据）", size=9)
        y -= 0.03
    for rank, (_, row) in enumerate(top.iterrows(), 1):
        _pdf_text(fig, x, y, f"{rank}. {_s(row['township'])}", size=9)
        _pdf_text(fig, x + 0.2, y, format_value(row["value"], unit_zh), size=9, ha="right")
        if view.metric_key != "items":  # the number of items is the value itself otherwise
            count = f"{int(row['n_items'])} 条事项"
            _pdf_text(fig, x + 0.29, y, count, size=9, ha="right", color="#666666")
        y -= 0.026
    return y


def _pdf_items(fig, view: MapView, *, x: float, y: float, foot: float) -> None:
    """The newest items the map counts (the review toggle), as many as fit above the notes."""
    counted = view.counted_items
    left_out = f"；{left_out_note(view.left_out)}" if view.left_out else ""
    _pdf_text(fig, x, y, f"事项（共 {len(counted)} 条{left_out}）", size=11, weight="bold")
    y -= 0.035
    items = counted.sort_values(
        ["bulletin_date", "index"], ascending=[False, True], na_position="last"
    )
    for _, row in items.head(_ITEMS_IN_PDF).iterrows():
        if y < foot + 0.05:
            break
        where = _s(row["township"]) + _s(row["village"])
        where = where or ("全县" if row["scope"] == "county" else "未定位")
        date = _s(row["bulletin_date"])
        meta = " · ".join(v for v in (date, where, sector_label(_s(row["sector"]))) if v)
        for line in _wrap(item_title(row["headline"], row["body"]), 30, 2):
            _pdf_text(fig, x, y, line, size=8.5)
            y -= 0.022
        _pdf_text(fig, x + 0.01, y, meta, size=7.5, color="#666666")
        y -= 0.026
    rest = len(counted) - _ITEMS_IN_PDF
    if rest > 0:
        _pdf_text(
            fig, x, max(y, foot + 0.03), f"……其余 {rest} 条见 CSV 导出", size=8, color="#666666"
        )


# --------------------------------------------------------------------------- tables and layers


def _items_table(view: MapView) -> pd.DataFrame:
    """Items with their metrics: a readable ``metrics`` column and one total column per key."""

    items = view.items_df.copy()
    if "alternatives" in items:  # the stored JSON list as one readable cell
        items["alternatives"] = items["alternatives"].map(alternatives_text)
    m = agg._with_keys(view.metrics_df)
    if len(m):
        # the item's value of each key is its counted figure, as on the map (never a sum of
        # figures that restate each other)
        per_key = agg.item_metric_values_by_key(m)
        totals = per_key.pivot(index="item_id", columns="metric_key", values="value")
        totals.columns = [str(c) for c in totals.columns]
        items = items.merge(totals, left_on="item_id", right_index=True, how="left")
        labels = m["label"].fillna("").astype(str)
        names = labels.where(labels != "", m["metric_key"].astype(str))
        text = names + "=" + pd.Series(metric_texts(m), index=m.index, dtype=str)
        joined = text.groupby(m["item_id"].to_numpy()).agg("; ".join)
        items["metrics"] = items["item_id"].map(joined).fillna("")
    else:
        items["metrics"] = ""
    placed = view.points[["item_id", "placed_at"]]
    xy = view.points.geometry
    placed = placed.assign(lon=xy.x.round(6), lat=xy.y.round(6))
    items = items.merge(placed, on="item_id", how="left")
    items["position"] = items["placed_at"].notna().map({True: "approximate", False: ""})
    return items


def _townships_table(view: MapView) -> pd.DataFrame:
    t = view.aggregates.drop(columns="geometry")
    return pd.DataFrame(t)


#: Cell starts that spreadsheets (Excel, WPS, LibreOffice) read as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells cannot run as spreadsheet formulas.

    Text starting with ``= + - @``, a tab or a carriage return gets a leading single quote (the
    OWASP guidance on CSV injection), so a headline such as ``=HYPERLINK(...)`` stays text in
    Excel or WPS. Numeric columns are untouched: a negative number stays a number.

    Parameters
    ----------
    df : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
    """
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(_safe_cell)
    return out


def export_csv(view: MapView, path: str | Path, *, columns: str = "report") -> list[Path]:
    """CSV tables, UTF-8 with BOM (Excel and WPS open the Chinese correctly).

    Writes ``<stem>.csv`` (one row per item, metric totals per key, a readable ``metrics``
    column and the approximate ``lon``/``lat``), ``<stem>_metrics.csv`` (one row per metric) and
    ``<stem>_townships.csv`` (per-township aggregates of the view's metric). Text cells pass
    through :func:`csv_safe`.

    Parameters
    ----------
    view : MapView
    path : str or Path
        The items file; the two others are written beside it.
    columns : {"report", "keys"}
        ``"report"`` (default): the 报表版 of :mod:`geo.report_csv` — Chinese headers with
        units, Chinese sector names, money in 万元, codes kept as text. ``"keys"``: the machine
        version with English keys and plain values.

    Returns
    -------
    list of Path
    """
    if columns not in report_csv.COLUMN_STYLES:
        raise ExportError(
            f"未知的列名样式 {columns!r}：请选 report（报表版，中文表头）或 keys（英文键）",
            code="export.columns",
        )
    p = target_path(path, ".csv")
    out = [p, p.with_name(f"{p.stem}_metrics.csv"), p.with_name(f"{p.stem}_townships.csv")]
    tables = [
        csv_safe(t)
        for t in (_items_table(view), agg._with_keys(view.metrics_df), _townships_table(view))
    ]
    if columns == "report":
        tables = [
            report_csv.report_items(tables[0]),
            report_csv.report_metrics(tables[1]),
            report_csv.report_townships(tables[2], metric_key=view.metric_key),
        ]
    for target, table in zip(out, tables, strict=True):
        with writing_to(target):
            table.to_csv(target, index=False, encoding="utf-8-sig")
    return out


def _items_layer(view: MapView) -> gpd.GeoDataFrame:
    """Item points; without township polygons every item, unplaced ones with null geometry."""
    table = _items_table(view)
    if view.has_polygons:
        table = table[table["placed_at"].notna()]
    table = table.drop(columns=["lon", "lat"])
    geoms = view.points.set_index("item_id").geometry
    # reindex keeps the geometry dtype even when no item has a point (map() gives floats)
    geometry = gpd.GeoSeries(geoms.reindex(table["item_id"].to_numpy()).values, crs=4326)
    gdf = gpd.GeoDataFrame(table.reset_index(drop=True), geometry=geometry, crs=4326)
    # GeoPackage/GeoJSON want plain types: object columns as str, no mixed None/float.
    for col in gdf.columns:
        if col != "geometry" and gdf[col].dtype == object:
            gdf[col] = gdf[col].map(lambda v: None if v is None or v != v else str(v))
    return gdf


def _townships_layer(view: MapView) -> gpd.GeoDataFrame:
    import shapely

    gdf = view.aggregates.copy()
    if view.has_polygons:
        gdf["geometry"] = shapely.set_precision(gdf.geometry.values, 1e-6)
    return gdf


def export_geojson(view: MapView, path: str | Path) -> Path:
    """One GeoJSON FeatureCollection (WGS84): township polygons with the view's aggregates
    (``layer="townships"``) and approximate item points (``layer="items"``).

    Without township polygons the township features and the items that have no known position
    (all but county-wide items at the seat) have ``"geometry": null``.

    Returns
    -------
    Path
    """
    p = target_path(path, ".geojson")
    features = []
    for name, layer in (("townships", _townships_layer(view)), ("items", _items_layer(view))):
        if len(layer) == 0:
            continue
        fc = json.loads(layer.to_crs(4326).to_json(na="null", drop_id=True))
        for feat in fc["features"]:
            feat["properties"] = {"layer": name, **feat["properties"]}
            features.append(feat)
    doc = {
        "type": "FeatureCollection",
        "name": view.title,
        "metric": {"key": view.metric_key, "label": agg.metric_label(view.metric_key)},
        "note": _geo_note(view),
        "features": features,
    }
    with writing_to(p):
        p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return p


def _geo_note(view: MapView) -> str:
    if not view.has_polygons:
        return "无乡镇边界：乡镇汇总无几何，事项仅全县事项有位置（县城）"
    return "示意范围，非官方边界" if view.approximate else ""


def export_gpkg(view: MapView, path: str | Path) -> Path:
    """A GeoPackage with layers ``townships`` (polygons with aggregates) and ``items`` (points
    at approximate positions), plus ``outline`` when the view has one. Overwrites ``path``.

    Without township polygons ``townships`` is a table without geometry and ``items`` holds
    every item, with a null geometry where no position is known.

    Returns
    -------
    Path
    """
    import pyogrio

    p = target_path(path, ".gpkg")
    with writing_to(p):
        if p.exists():
            p.unlink()
        townships = _townships_layer(view)
        if not view.has_polygons:  # an attribute table: GeoPackage allows layers without geometry
            townships = pd.DataFrame(townships.drop(columns="geometry"))
        pyogrio.write_dataframe(townships, p, layer="townships", driver="GPKG")
        items = _items_layer(view)
        if len(items):
            pyogrio.write_dataframe(
                items, p, layer="items", driver="GPKG", append=True, geometry_type="Point"
            )
        if view.outline is not None and len(view.outline):
            outline = view.outline.to_crs(4326)[["geometry"]]
            pyogrio.write_dataframe(outline, p, layer="outline", driver="GPKG", append=True)
    return p
