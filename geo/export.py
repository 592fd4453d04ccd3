"""Map snapshots and data exports: HTML, PNG, PDF, CSV, GeoJSON and GeoPackage.

Every export takes one :class:`MapView` (built with :func:`make_view`): the county, its township
polygons, the filtered items and metrics, the chosen metric and the notes that must travel with
the map (approximate boundaries, sources, date). Files are written at the edges; everything else
is computed from the view.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import textwrap
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo import aggregate as agg
from geo.errors import GeoInputError

__all__ = [
    "ExportError",
    "MapView",
    "export_csv",
    "export_geojson",
    "export_gpkg",
    "export_html",
    "export_pdf",
    "export_png",
    "filter_summary",
    "make_view",
]

_ITEMS_IN_PDF = 14
_TOWNSHIPS_IN_PDF = 10


class ExportError(GeoInputError):
    """An export could not be written (no townships, unwritable path, bad size...)."""


@dataclass
class MapView:
    """Everything a map or an export shows.

    Attributes
    ----------
    townships : GeoDataFrame
        Township polygons with ``township_code`` and ``township`` (EPSG:4326).
    items_df, metrics_df : DataFrame
        The filtered frames (``metrics_df`` with ``metric_key``).
    county, county_code : str
        County name and 6-digit code.
    outline : GeoDataFrame, optional
        County outline.
    filters : Filters
        The filters that produced the frames (for the summary line).
    metric_key : str
        Metric of the choropleth (``"items"`` = number of items).
    basemap : str
        Base map of the interactive map (a key of :data:`geo.webmap.BASEMAPS`).
    title : str
        Map title.
    approximate : bool
        Township polygons are an estimate: every output says 示意范围，非官方边界.
    sources : str
        Data sources line (boundaries, bulletins).
    created : str
        ISO date of the map.
    county_seat : Point or (lon, lat), optional
        Where county-wide items are drawn.
    villages : GeoDataFrame, optional
        Village points.
    """

    townships: gpd.GeoDataFrame
    items_df: pd.DataFrame
    metrics_df: pd.DataFrame
    county: str = ""
    county_code: str | None = None
    outline: gpd.GeoDataFrame | None = None
    filters: agg.Filters = field(default_factory=agg.Filters)
    metric_key: str = "items"
    basemap: str = "none"
    title: str = ""
    approximate: bool = True
    sources: str = ""
    created: str = field(default_factory=lambda: pd.Timestamp.now().date().isoformat())
    county_seat: Any = None
    villages: gpd.GeoDataFrame | None = None

    @cached_property
    def table(self) -> pd.DataFrame:
        """Per-township aggregates (:func:`geo.aggregate.aggregate_townships`) of every polygon."""
        codes = self.townships["township_code"].astype(str).tolist()
        return agg.aggregate_townships(self.items_df, self.metrics_df, self.metric_key, codes)

    @cached_property
    def aggregates(self) -> gpd.GeoDataFrame:
        """Township polygons with ``n_items``, ``value``, sector counts and the metric's name."""
        tw = self.townships[["township_code", "township", "geometry"]].copy()
        tw["township_code"] = tw["township_code"].astype(str)
        out = tw.merge(
            self.table.drop(columns="township").reset_index(), on="township_code", how="left"
        )
        out["metric_key"] = self.metric_key
        out["metric"] = agg.metric_label(self.metric_key)
        out["quality"] = "approximate" if self.approximate else "official"
        return gpd.GeoDataFrame(out, geometry="geometry", crs=self.townships.crs)

    @cached_property
    def points(self) -> gpd.GeoDataFrame:
        """Approximate item points (:func:`geo.aggregate.item_points`)."""
        return agg.item_points(self.items_df, self.townships, self.county_seat)


def make_view(
    items_df: pd.DataFrame,
    metrics_df: pd.DataFrame,
    townships: gpd.GeoDataFrame | None,
    *,
    county: str = "",
    county_code: str | None = None,
    outline: gpd.GeoDataFrame | None = None,
    filters: agg.Filters | None = None,
    metric_key: str = "items",
    basemap: str = "none",
    title: str | None = None,
    approximate: bool = True,
    sources: str = "",
    created: str | None = None,
    county_seat: Any = None,
    villages: Any = None,
) -> MapView:
    """Build a :class:`MapView`: apply ``filters`` and check the inputs.

    Parameters
    ----------
    items_df, metrics_df : DataFrame
        Unfiltered frames of :func:`geo.aggregate.items_frame` or the store.
    townships : GeoDataFrame
        Township polygons (``township_code``, ``township``); any CRS, reprojected to EPSG:4326.
    title : str, optional
        Defaults to ``"<county>乡镇活动图 · <metric>"``.
    villages : GeoDataFrame, DataFrame or iterable of geo.gazetteer.Village, optional
        Village points; without geometry they are placed by :func:`geo.aggregate.village_points`.
    Other parameters
        As the attributes of :class:`MapView`.

    Raises
    ------
    ExportError
        Without township polygons.
    """
    if townships is None or len(townships) == 0:
        raise ExportError("没有乡镇边界，无法制图：请先上传乡镇边界文件")
    if "township_code" not in townships.columns:
        raise ExportError("乡镇边界缺少 township_code 列：请先与行政区划对照")
    tw = townships.to_crs(4326) if townships.crs and townships.crs.to_epsg() != 4326 else townships
    tw = tw.copy()
    tw["township_code"] = tw["township_code"].astype(str)
    if "township" not in tw.columns:
        tw["township"] = tw["township_code"]
    if villages is not None and not isinstance(villages, gpd.GeoDataFrame):
        villages = agg.village_points(villages, tw)  # gazetteer villages have no coordinates
    f = filters or agg.Filters()
    items, metrics = agg.filter_items(items_df, metrics_df, f)
    label = agg.metric_label(metric_key)
    return MapView(
        townships=tw,
        items_df=items,
        metrics_df=metrics,
        county=county or "",
        county_code=county_code,
        outline=outline,
        filters=f,
        metric_key=metric_key,
        basemap=basemap,
        title=title if title is not None else f"{county or ''}乡镇活动图 · {label}",
        approximate=approximate,
        sources=sources,
        created=created or pd.Timestamp.now().date().isoformat(),
        county_seat=county_seat,
        villages=villages,
    )


def filter_summary(view: MapView) -> str:
    """One Chinese line on what the view shows: ``筛选：行业 就业创业 · 共 12 条事项``."""
    from geo.webmap import sector_label

    f = view.filters or agg.Filters()
    parts = []
    if f.sectors:
        parts.append("行业 " + "、".join(sector_label(s) for s in f.sectors))
    if f.townships:
        names = dict(zip(view.townships["township_code"], view.townships["township"], strict=True))
        parts.append("乡镇 " + "、".join(str(names.get(str(c), c)) for c in f.townships))
    if f.bulletins:
        names = dict(zip(view.items_df["bulletin_id"], view.items_df["bulletin_name"], strict=True))
        parts.append("简报 " + "、".join(str(names.get(b, b[:12])) for b in f.bulletins))
    if f.date_from or f.date_to:
        parts.append(f"日期 {f.date_from or '…'} 至 {f.date_to or '…'}")
    if f.text and f.text.strip():
        parts.append(f"关键词“{f.text.strip()}”")
    if f.metric_key and f.metric_key != "items":
        rng = ""
        if f.metric_min is not None:
            rng += f" ≥ {f.metric_min:g}"
        if f.metric_max is not None:
            rng += f" ≤ {f.metric_max:g}"
        parts.append(f"含指标 {agg.metric_label(f.metric_key)}{rng}")
    if f.scopes:
        zh = {"village": "村", "township": "乡镇", "county": "全县", "unknown": "未定位"}
        parts.append("范围 " + "、".join(zh.get(s, s) for s in f.scopes))
    head = "筛选：" + "；".join(parts) if parts else "全部事项"
    return f"{head} · 共 {len(view.items_df)} 条事项"


def _caption(view: MapView) -> list[str]:
    lines = [filter_summary(view), f"制图日期：{view.created}"]
    if view.sources:
        lines.append(f"数据来源：{view.sources}")
    return lines


def _target(path: str | Path, suffix: str | None = None) -> Path:
    p = Path(path)
    if suffix and p.suffix.lower() != suffix:
        p = p.with_suffix(suffix)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(f"无法创建输出目录 {p.parent}：{err.strerror}") from err
    if p.exists() and p.is_dir():
        raise ExportError(f"输出路径是一个目录：{p}")
    return p


def _writing(p: Path):
    """Turn OS errors while writing ``p`` into one-line ExportErrors."""

    class _Guard:
        def __enter__(self):
            return p

        def __exit__(self, exc_type, exc, tb):
            if exc_type is not None and issubclass(exc_type, OSError):
                raise ExportError(f"无法写入 {p}：{exc.strerror or exc}") from exc
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
    """
    from geo.assets import localise
    from geo.webmap import build_map_from_view

    p = _target(path, ".html")
    if isinstance(map_or_view, MapView):
        m = build_map_from_view(
            map_or_view, assets="inline", tianditu_key=tianditu_key, caption=_caption(map_or_view)
        )
    else:
        m = localise(map_or_view, "inline")
    with _writing(p):
        p.write_text(m.get_root().render(), encoding="utf-8")
    return p


def _check_size(size) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError) as err:
        raise ExportError(f"图片尺寸应为 (宽, 高)，而不是 {size!r}") from err
    if not (200 <= w <= 8000 and 200 <= h <= 8000):
        raise ExportError(f"图片尺寸 {w}×{h} 超出范围（200–8000 像素）")
    return w, h


def _chromium_available() -> bool:
    try:
        from geo.browser import chromium_path
    except ImportError:
        return False
    return chromium_path() is not None


def export_png(
    view: MapView,
    path: str | Path,
    size: tuple[int, int] = (1600, 1200),
    *,
    browser: bool | None = None,
    labels: bool = True,
) -> Path:
    """A PNG snapshot of the map at exactly ``size`` pixels.

    With Chromium (``geo.browser``) the standalone HTML map is screenshotted offline; otherwise,
    or when the browser fails, :mod:`geo.render` draws it with matplotlib. Base-map tiles are
    never fetched: snapshots use the blank base map.

    Parameters
    ----------
    view : MapView
    path : str or Path
        Output file (``.png`` added when missing).
    size : (int, int)
        Width and height in pixels, e.g. (1600, 1200) or a phone's (750, 1334).
    browser : bool, optional
        ``None`` Chromium when installed; ``True`` Chromium only; ``False`` matplotlib only.
    labels : bool
        Township names (off only for tests that look for them).

    Returns
    -------
    Path
    """
    from geo import render

    w, h = _check_size(size)
    p = _target(path, ".png")
    use_browser = _chromium_available() if browser is None else browser
    if use_browser:
        try:
            _png_with_chromium(view, p, (w, h), labels)
            return p
        except Exception as err:  # any browser failure falls back to the static render
            if browser:
                raise ExportError(f"Chromium 截图失败：{str(err).splitlines()[0]}") from err
    with _writing(p):
        render.render_png(view, p, (w, h), labels=labels)
    return p


def _png_with_chromium(view: MapView, out: Path, size: tuple[int, int], labels: bool) -> None:
    from branca.element import Element

    from geo.browser import screenshot_html
    from geo.webmap import build_map_from_view

    snap = MapView(**{**_fields(view), "basemap": "none"})
    m = build_map_from_view(snap, assets="inline", labels=labels, caption=_caption(view))
    # A snapshot has nothing to click: hide the zoom buttons and the layer switcher.
    hide = "<style>.leaflet-control-zoom, .leaflet-control-layers { display: none; }</style>"
    m.get_root().header.add_child(Element(hide), name="snapshot_css")
    tmp = Path(tempfile.mkdtemp(prefix="geo-png-"))
    try:
        html_path = tmp / "map.html"
        html_path.write_text(m.get_root().render(), encoding="utf-8")
        blocked = screenshot_html(html_path, tmp / "map.png", size, settle_ms=400)
        if blocked:
            raise RuntimeError(f"page tried to load {blocked.urls[0]}")
        with _writing(out):
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


def export_pdf(view: MapView, path: str | Path) -> Path:
    """A one-page A4 (landscape) report: map, legend, filters, top townships and items.

    Text is embedded as TrueType (Noto Sans CJK), so Chinese is searchable and extractable.

    Returns
    -------
    Path
    """
    import matplotlib

    from geo import render
    from geo.webmap import APPROXIMATE_NOTE, format_value, sector_label

    p = _target(path, ".pdf")
    with matplotlib.rc_context(render.cjk_rc()):
        from matplotlib.backends.backend_pdf import FigureCanvasPdf
        from matplotlib.figure import Figure

        fig = Figure(figsize=(11.69, 8.27), dpi=100, facecolor="white")
        FigureCanvasPdf(fig)
        font = render.cjk_font
        kw = {"parse_math": False}  # "$" in bulletin text is not TeX
        fig.text(0.03, 0.965, view.title, fontproperties=font(16, "bold"), va="top", **kw)
        fig.text(
            0.03,
            0.925,
            filter_summary(view),
            fontproperties=font(9),
            va="top",
            color="#444444",
            **kw,
        )
        ax = fig.add_axes((0.02, 0.09, 0.56, 0.81))
        render.draw_map(ax, view)

        # Right column: top townships, then the items.
        x, y = 0.61, 0.89
        unit_zh = agg.metric_unit_zh(view.metric_key)
        fig.text(
            x,
            y,
            f"乡镇排名：{agg.metric_label(view.metric_key)}",
            fontproperties=font(11, "bold"),
            va="top",
            **kw,
        )
        y -= 0.035
        top = view.table.dropna(subset=["value"]).sort_values("value", ascending=False)
        top = top.head(_TOWNSHIPS_IN_PDF)
        if top.empty:
            fig.text(x, y, "（无数据）", fontproperties=font(9), va="top", **kw)
            y -= 0.03
        for rank, (_, row) in enumerate(top.iterrows(), 1):
            fig.text(x, y, f"{rank}. {_s(row['township'])}", fontproperties=font(9), va="top", **kw)
            fig.text(
                x + 0.2,
                y,
                format_value(row["value"], unit_zh),
                fontproperties=font(9),
                va="top",
                ha="right",
                **kw,
            )
            fig.text(
                x + 0.29,
                y,
                f"{int(row['n_items'])} 条",
                fontproperties=font(9),
                va="top",
                ha="right",
                color="#666666",
                **kw,
            )
            y -= 0.026
        y -= 0.015
        fig.text(
            x,
            y,
            f"事项（共 {len(view.items_df)} 条）",
            fontproperties=font(11, "bold"),
            va="top",
            **kw,
        )
        y -= 0.035
        items = view.items_df.sort_values(
            ["bulletin_date", "index"], ascending=[False, True], na_position="last"
        )
        for _, row in items.head(_ITEMS_IN_PDF).iterrows():
            if y < 0.1:
                break
            where = _s(row["township"]) + _s(row["village"])
            where = where or ("全县" if row["scope"] == "county" else "未定位")
            date = _s(row["bulletin_date"])
            meta = " · ".join(v for v in (date, where, sector_label(_s(row["sector"]))) if v)
            for line in _wrap(_s(row["headline"]) or "（无标题）", 30, 2):
                fig.text(x, y, line, fontproperties=font(8.5), va="top", **kw)
                y -= 0.022
            fig.text(x + 0.01, y, meta, fontproperties=font(7.5), va="top", color="#666666", **kw)
            y -= 0.026
        if len(view.items_df) > _ITEMS_IN_PDF:
            fig.text(
                x,
                max(y, 0.07),
                f"……其余 {len(view.items_df) - _ITEMS_IN_PDF} 条见 CSV 导出",
                fontproperties=font(8),
                va="top",
                color="#666666",
                **kw,
            )

        notes = []
        if view.approximate:
            notes.append(APPROXIMATE_NOTE + "；事项位置为乡镇/村内示意点")
        if view.sources:
            notes.append(f"数据来源：{view.sources}")
        notes.append(f"制图日期：{view.created}")
        fig.text(
            0.03,
            0.02,
            "\n".join(notes),
            fontproperties=font(8),
            va="bottom",
            color="#8a4b00" if view.approximate else "#444444",
            **kw,
        )
        with _writing(p):
            fig.savefig(p, format="pdf", facecolor="white")
    return p


# --------------------------------------------------------------------------- tables and layers


def _items_table(view: MapView) -> pd.DataFrame:
    """Items with their metrics: a readable ``metrics`` column and one total column per key."""
    from geo.webmap import format_value

    items = view.items_df.copy()
    m = agg._with_keys(view.metrics_df)
    if len(m):
        totals = m.pivot_table(index="item_id", columns="metric_key", values="value", aggfunc="sum")
        totals.columns = [str(c) for c in totals.columns]
        items = items.merge(totals, left_on="item_id", right_index=True, how="left")
        labels = m["label"].fillna("").astype(str)
        names = labels.where(labels != "", m["metric_key"].astype(str))
        values = [
            format_value(v, agg.metric_unit_zh(k))
            for v, k in zip(m["value"], m["metric_key"], strict=True)
        ]
        text = names + "=" + pd.Series(values, index=m.index, dtype=str)
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


def export_csv(view: MapView, path: str | Path) -> list[Path]:
    """CSV tables, UTF-8 with BOM (Excel opens the Chinese correctly).

    Writes ``<stem>.csv`` (one row per item, metric totals per key, a readable ``metrics``
    column and the approximate ``lon``/``lat``), ``<stem>_metrics.csv`` (one row per metric) and
    ``<stem>_townships.csv`` (per-township aggregates of the view's metric).

    Returns
    -------
    list of Path
    """
    p = _target(path, ".csv")
    out = [p, p.with_name(f"{p.stem}_metrics.csv"), p.with_name(f"{p.stem}_townships.csv")]
    tables = [_items_table(view), agg._with_keys(view.metrics_df), _townships_table(view)]
    for target, table in zip(out, tables, strict=True):
        with _writing(target):
            table.to_csv(target, index=False, encoding="utf-8-sig")
    return out


def _items_layer(view: MapView) -> gpd.GeoDataFrame:
    table = _items_table(view)
    table = table[table["placed_at"].notna()].drop(columns=["lon", "lat"])
    geoms = view.points.set_index("item_id").geometry
    gdf = gpd.GeoDataFrame(table, geometry=table["item_id"].map(geoms).to_numpy(), crs=4326)
    # GeoPackage/GeoJSON want plain types: object columns as str, no mixed None/float.
    for col in gdf.columns:
        if col != "geometry" and gdf[col].dtype == object:
            gdf[col] = gdf[col].map(lambda v: None if v is None or v != v else str(v))
    return gdf


def _townships_layer(view: MapView) -> gpd.GeoDataFrame:
    import shapely

    gdf = view.aggregates.copy()
    gdf["geometry"] = shapely.set_precision(gdf.geometry.values, 1e-6)
    return gdf


def export_geojson(view: MapView, path: str | Path) -> Path:
    """One GeoJSON FeatureCollection (WGS84): township polygons with the view's aggregates
    (``layer="townships"``) and approximate item points (``layer="items"``).

    Returns
    -------
    Path
    """
    p = _target(path, ".geojson")
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
        "note": "示意范围，非官方边界" if view.approximate else "",
        "features": features,
    }
    with _writing(p):
        p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return p


def export_gpkg(view: MapView, path: str | Path) -> Path:
    """A GeoPackage with layers ``townships`` (polygons with aggregates) and ``items`` (points
    at approximate positions), plus ``outline`` when the view has one. Overwrites ``path``.

    Returns
    -------
    Path
    """
    import pyogrio

    p = _target(path, ".gpkg")
    with _writing(p):
        if p.exists():
            p.unlink()
        pyogrio.write_dataframe(_townships_layer(view), p, layer="townships", driver="GPKG")
        items = _items_layer(view)
        if len(items):
            pyogrio.write_dataframe(items, p, layer="items", driver="GPKG", append=True)
        if view.outline is not None and len(view.outline):
            outline = view.outline.to_crs(4326)[["geometry"]]
            pyogrio.write_dataframe(outline, p, layer="outline", driver="GPKG", append=True)
    return p
