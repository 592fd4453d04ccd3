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
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo import aggregate as agg
from geo import config
from geo.errors import GeoInputError
from geo.review import alternatives_text

__all__ = [
    "ATTRIBUTION_PATH",
    "BOUNDARY_KINDS",
    "DATA_FORMATS",
    "MAP_FORMATS",
    "ExportError",
    "MapView",
    "attribution_lines",
    "available_exports",
    "csv_safe",
    "export_csv",
    "export_geojson",
    "export_gpkg",
    "export_html",
    "export_pdf",
    "export_png",
    "filter_summary",
    "load_attribution",
    "make_view",
]

_ITEMS_IN_PDF = 14
_TOWNSHIPS_IN_PDF = 10
#: Exports that draw a map: they need township polygons or at least the county outline.
MAP_FORMATS = ("html", "png", "pdf")
#: Exports of the data: they work without any boundary.
DATA_FORMATS = ("csv", "geojson", "gpkg")
_NO_MAP = "没有乡镇边界，无法导出地图：请先上传乡镇边界（CSV、GeoJSON、GeoPackage 仍可导出）"
#: Source and licence wording of every data set (configuration, not code).
ATTRIBUTION_PATH = config.config_dir() / "attribution.json"
#: Where a view's township layer comes from, for :func:`attribution_lines`.
BOUNDARY_KINDS = ("approximate", "user", "official", "none")


class ExportError(GeoInputError):
    """An export could not be written (no townships, unwritable path, bad size...)."""


@dataclass
class MapView:
    """Everything a map or an export shows.

    Attributes
    ----------
    townships : GeoDataFrame or None
        Township polygons with ``township_code`` and ``township`` (EPSG:4326); ``None`` when
        the county has no polygons yet.
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
    township_list : DataFrame, optional
        ``township_code, township`` of every township (e.g. from the gazetteer) for the tables of
        a view without polygons; without it the tables list the townships items mention.
    attribution : tuple of str
        Source and licence lines every map export prints (:func:`attribution_lines`).
    """

    townships: gpd.GeoDataFrame | None
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
    township_list: pd.DataFrame | None = None
    attribution: tuple[str, ...] = ()

    @property
    def has_polygons(self) -> bool:
        """The view has township polygons (a choropleth can be drawn)."""
        return self.townships is not None and len(self.townships) > 0

    @property
    def can_draw_map(self) -> bool:
        """Township polygons or at least the county outline: the map exports work."""
        return self.has_polygons or (self.outline is not None and len(self.outline) > 0)

    def _township_frame(self) -> pd.DataFrame | None:
        """``township_code, township`` of the townships the tables report, None = as found."""
        if self.has_polygons:
            return pd.DataFrame(self.townships[["township_code", "township"]])
        return self.township_list

    @cached_property
    def table(self) -> pd.DataFrame:
        """Per-township aggregates (:func:`geo.aggregate.aggregate_townships`) of every polygon
        (without polygons: of ``township_list``, else of the townships items mention)."""
        frame = self._township_frame()
        codes = frame["township_code"].astype(str).tolist() if frame is not None else None
        out = agg.aggregate_townships(self.items_df, self.metrics_df, self.metric_key, codes)
        if frame is not None:  # townships without items have no name in the items
            names = dict(zip(frame["township_code"].astype(str), frame["township"], strict=True))
            out["township"] = [
                names.get(c, t) for c, t in zip(out.index, out["township"], strict=True)
            ]
        return out

    @cached_property
    def aggregates(self) -> gpd.GeoDataFrame:
        """Township polygons with ``n_items``, ``value``, sector counts and the metric's name
        (geometry ``None`` for a view without polygons)."""
        if self.has_polygons:
            tw = self.townships[["township_code", "township", "geometry"]].copy()
            tw["township_code"] = tw["township_code"].astype(str)
            out = tw.merge(
                self.table.drop(columns="township").reset_index(), on="township_code", how="left"
            )
            crs = self.townships.crs
        else:
            out = self.table.reset_index()
            out["geometry"] = None
            crs = 4326
        out["metric_key"] = self.metric_key
        out["metric"] = agg.metric_label(self.metric_key)
        out["quality"] = (
            "none" if not self.has_polygons else "approximate" if self.approximate else "official"
        )
        return gpd.GeoDataFrame(out, geometry="geometry", crs=crs)

    @cached_property
    def points(self) -> gpd.GeoDataFrame:
        """Approximate item points (:func:`geo.aggregate.item_points`); without polygons only
        county-wide items, at the seat (or inside the outline)."""
        seat = self.county_seat
        if seat is None and not self.has_polygons and self.can_draw_map:
            seat = self.outline.to_crs(4326).union_all().representative_point()
        return agg.item_points(self.items_df, self.townships, seat)


def available_exports(view: MapView) -> list[str]:
    """Export formats that work for ``view``: the data formats always, the map formats
    (:data:`MAP_FORMATS`) only with township polygons or a county outline.

    Returns
    -------
    list of str
        Among ``"html", "png", "pdf", "csv", "geojson", "gpkg"``, in that order.
    """
    maps = list(MAP_FORMATS) if view.can_draw_map else []
    return [*maps, *DATA_FORMATS]


def _require_map(view: MapView) -> None:
    if not view.can_draw_map:
        raise ExportError(_NO_MAP)


def _township_list(townships) -> pd.DataFrame | None:
    """``township_code, township`` from a table or gazetteer ``Township`` objects."""
    if townships is None:
        return None
    if isinstance(townships, pd.DataFrame):
        df = townships.rename(columns={"code": "township_code", "name": "township"})
    else:
        rows = [(t.code, t.name) for t in townships]
        df = pd.DataFrame(rows, columns=["township_code", "township"])
    if "township_code" not in df.columns:
        raise ExportError("乡镇列表缺少 township_code 列：请先与行政区划对照")
    df = pd.DataFrame(df).copy()
    df["township_code"] = df["township_code"].astype(str)
    if "township" not in df.columns:
        df["township"] = df["township_code"]
    return df[["township_code", "township"]].drop_duplicates("township_code")


@lru_cache(maxsize=4)
def _load_json(path: str) -> dict:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ExportError(f"无法读取署名配置 {path}：{err}") from err
    if not isinstance(doc, dict):
        raise ExportError(f"署名配置 {path} 不是 JSON 对象")
    return doc


def load_attribution(path: str | Path | None = None) -> dict:
    """The source and licence wording of ``data/config/attribution.json``.

    Parameters
    ----------
    path : str or Path, optional
        Another attribution file (same keys); default :data:`ATTRIBUTION_PATH`.

    Returns
    -------
    dict
        Keys ``gazetteer`` (list of ``data, source, licence, line``), ``outline``,
        ``townships``, ``layers``, ``seat``, ``sample``, ``basemap``. Shared: do not modify.

    Raises
    ------
    ExportError
        The file is missing or not a JSON object.
    """
    return _load_json(str(path or ATTRIBUTION_PATH))


def _county_entry(county_code: str | None) -> dict:
    """The county's entry of ``data/counties.json`` (``{}`` when it has none)."""
    if not county_code:
        return {}
    try:
        doc = _load_json(str(config.data_dir() / "counties.json"))
    except ExportError:
        return {}
    counties = doc.get("counties")
    entry = counties.get(str(county_code)) if isinstance(counties, dict) else None
    return entry if isinstance(entry, dict) else {}


def _layer_source(layer: Any) -> str:
    """First ``source`` value of a layer, up to its first ";" (the rest is the caveat)."""
    if layer is None or "source" not in getattr(layer, "columns", ()):
        return ""
    values = layer["source"].dropna().astype(str)
    return values.iloc[0].split(";")[0].strip() if len(values) else ""


def attribution_lines(
    county_code: str | None = None,
    *,
    boundary: str = "approximate",
    boundary_source: str = "",
    outline: Any = None,
    seat: bool = False,
    sample: bool = False,
    path: str | Path | None = None,
) -> list[str]:
    """The attribution every map export carries: data sets, their licences and caveats.

    Parameters
    ----------
    county_code : str, optional
        County of the map; its ``data/counties.json`` entry says whether the outline is a
        display aid (``outline_quality``) and where the seat comes from (``seat_source``).
    boundary : {"approximate", "user", "official", "none"}
        Where the township layer comes from: the project's estimate, a user's upload (also
        ``"official"`` when the uploader said so) or nothing yet.
    boundary_source : str
        The uploaded file or layer name, for ``"user"`` and ``"official"``.
    outline : GeoDataFrame, optional
        The county outline shown (its ``source`` column names its origin).
    seat : bool
        The map places county-wide items at the county seat.
    sample : bool
        The bundled sample bulletin is shown.
    path : str or Path, optional
        Another attribution file.

    Returns
    -------
    list of str
        Plain text, one line each; the CC BY 4.0 line of the gazetteer always comes first.

    Raises
    ------
    ExportError
        Unknown ``boundary`` or an unreadable attribution file.
    """
    if boundary not in BOUNDARY_KINDS:
        raise ExportError(f"未知的边界来源 {boundary!r}：应为 {'、'.join(BOUNDARY_KINDS)}")
    cfg = load_attribution(path)
    entry = _county_entry(county_code)
    # the CC BY 4.0 line first: it must survive any truncation of the list
    gaz = sorted(cfg.get("gazetteer", []), key=lambda r: "CC BY" not in r.get("licence", ""))
    lines = [r["line"] for r in gaz if r.get("line")]
    towns = cfg.get("townships", {})
    source = boundary_source.strip() or "（未注明来源）"
    lines.append(towns.get(f"line_{boundary}", "").format(source=source))
    if outline is not None and len(outline):
        o = cfg.get("outline", {})
        origin = _layer_source(outline) or str(entry.get("outline") or "（未注明来源）")
        kind = "approximate" if entry.get("outline_quality") == "approximate" else "other"
        lines.append(o.get(f"line_{kind}", "").format(source=origin))
    if seat and entry.get("seat_source"):
        lines.append(cfg.get("seat", {}).get("line", "").format(source=entry["seat_source"]))
    if sample:
        lines.append(cfg.get("sample", {}).get("line", ""))
    return [line for line in lines if line]


def _default_attribution(
    county_code: str | None, has_polygons: bool, approximate: bool, sources: str, outline, seat
) -> list[str]:
    """Attribution guessed from what :func:`make_view` is given (callers may pass their own)."""
    if not has_polygons:
        kind, source = "none", ""
    elif approximate:
        kind, source = "approximate", ""
    else:
        kind, source = "user", sources.removeprefix("乡镇边界：")
    return attribution_lines(
        county_code, boundary=kind, boundary_source=source, outline=outline, seat=seat is not None
    )


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
    attribution: Sequence[str] | None = None,
) -> MapView:
    """Build a :class:`MapView`: apply ``filters`` and check the inputs.

    Parameters
    ----------
    items_df, metrics_df : DataFrame
        Unfiltered frames of :func:`geo.aggregate.items_frame` or the store.
    townships : GeoDataFrame, DataFrame, iterable of geo.gazetteer.Township or None
        Township polygons (``township_code``, ``township``); any CRS, reprojected to EPSG:4326.
        Without polygons (``None``, a table without geometry, or the gazetteer's townships) the
        view has no choropleth: see :func:`available_exports`.
    title : str, optional
        Defaults to ``"<county>乡镇活动图 · <metric>"``.
    villages : GeoDataFrame, DataFrame or iterable of geo.gazetteer.Village, optional
        Village points; without geometry they are placed by :func:`geo.aggregate.village_points`.
    attribution : sequence of str, optional
        Source and licence lines of the map exports; default :func:`attribution_lines` for
        ``county_code`` with the boundary kind read from ``townships``/``approximate``/``sources``
        (pass your own when you know more, e.g. a stored upload's file name).
    Other parameters
        As the attributes of :class:`MapView`.

    Raises
    ------
    ExportError
        Townships without ``township_code``.
    """
    tw, township_list = None, None
    polygons = (
        isinstance(townships, gpd.GeoDataFrame)
        and townships._geometry_column_name in townships.columns
        and bool(townships.geometry.notna().any())
    )
    if polygons:
        if "township_code" not in townships.columns:
            raise ExportError("乡镇边界缺少 township_code 列：请先与行政区划对照")
        tw = (
            townships.to_crs(4326)
            if townships.crs and townships.crs.to_epsg() != 4326
            else townships
        )
        tw = tw[tw.geometry.notna()].copy()
        tw["township_code"] = tw["township_code"].astype(str)
        if "township" not in tw.columns:
            tw["township"] = tw["township_code"]
    elif townships is not None and len(townships):
        township_list = _township_list(townships)
    if outline is not None and len(outline) == 0:
        outline = None
    if villages is not None and not isinstance(villages, gpd.GeoDataFrame):
        # gazetteer villages have no coordinates: placed inside their township's polygon
        villages = agg.village_points(villages, tw) if tw is not None else None
    f = filters or agg.Filters()
    items, metrics = agg.filter_items(items_df, metrics_df, f)
    label = agg.metric_label(metric_key)
    if attribution is None:
        attribution = _default_attribution(
            county_code, tw is not None, approximate, sources, outline, county_seat
        )
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
        township_list=township_list,
        attribution=tuple(str(a) for a in attribution if a),
    )


def filter_summary(view: MapView) -> str:
    """One Chinese line on what the view shows: ``筛选：行业 就业创业 · 共 12 条事项``."""
    from geo.webmap import sector_label

    f = view.filters or agg.Filters()
    parts = []
    if f.sectors:
        parts.append("行业 " + "、".join(sector_label(s) for s in f.sectors))
    if f.townships:
        frame = view._township_frame()
        if frame is None:
            frame = view.items_df[["township_code", "township"]].dropna()
        names = dict(zip(frame["township_code"].astype(str), frame["township"], strict=True))
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


def _static_view(view: MapView) -> MapView:
    """The view for :mod:`geo.render`, which prints ``数据来源：<sources>``: the attribution
    folded in first, so its CC BY line reads exactly as required after that prefix."""
    if not view.attribution:
        return view
    lines = [view.attribution[0].removeprefix("数据来源："), *view.attribution[1:], view.sources]
    return MapView(**{**_fields(view), "sources": "；".join(s for s in lines if s)})


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

    Raises
    ------
    ExportError
        A view with neither township polygons nor a county outline.
    """
    from geo.assets import localise
    from geo.webmap import build_map_from_view

    if isinstance(map_or_view, MapView):
        _require_map(map_or_view)
    p = _target(path, ".html")
    if isinstance(map_or_view, MapView):
        m = build_map_from_view(
            map_or_view,
            assets="inline",
            tianditu_key=tianditu_key,
            caption=_caption(map_or_view),
            attribution=map_or_view.attribution,
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

    _require_map(view)
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
        render.render_png(_static_view(view), p, (w, h), labels=labels)
    return p


def _png_with_chromium(view: MapView, out: Path, size: tuple[int, int], labels: bool) -> None:
    from branca.element import Element

    from geo.browser import screenshot_html
    from geo.webmap import build_map_from_view

    snap = MapView(**{**_fields(view), "basemap": "none"})
    m = build_map_from_view(
        snap, assets="inline", labels=labels, caption=_caption(view), attribution=view.attribution
    )
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


_PDF_NOTE_PT = 7.5
_A4_SHORT_PT = 595.0
_PDF_NOTE_CHARS = 100  # a note line's width in CJK characters at _PDF_NOTE_PT on A4 landscape


def _pdf_notes(view: MapView) -> list[str]:
    """Lines under the PDF's map: boundary caveat, the full attribution, the date."""
    from geo.webmap import APPROXIMATE_NOTE, NO_TOWNSHIPS_NOTE

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

    from geo import render
    from geo.webmap import format_value, item_title, sector_label

    _require_map(view)
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
        notes = _pdf_notes(view)
        # the notes block grows with the attribution; map and item list stop above it
        foot = 0.02 + len(notes) * _PDF_NOTE_PT * 1.3 / _A4_SHORT_PT
        ax = fig.add_axes((0.02, foot + 0.02, 0.56, 0.88 - foot))
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
            if y < foot + 0.05:
                break
            where = _s(row["township"]) + _s(row["village"])
            where = where or ("全县" if row["scope"] == "county" else "未定位")
            date = _s(row["bulletin_date"])
            meta = " · ".join(v for v in (date, where, sector_label(_s(row["sector"]))) if v)
            for line in _wrap(item_title(row["headline"], row["body"]), 30, 2):
                fig.text(x, y, line, fontproperties=font(8.5), va="top", **kw)
                y -= 0.022
            fig.text(x + 0.01, y, meta, fontproperties=font(7.5), va="top", color="#666666", **kw)
            y -= 0.026
        if len(view.items_df) > _ITEMS_IN_PDF:
            fig.text(
                x,
                max(y, foot + 0.03),
                f"……其余 {len(view.items_df) - _ITEMS_IN_PDF} 条见 CSV 导出",
                fontproperties=font(8),
                va="top",
                color="#666666",
                **kw,
            )

        fig.text(
            0.03,
            0.02,
            "\n".join(notes),
            fontproperties=font(_PDF_NOTE_PT),
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
    from geo.webmap import metric_value_text

    items = view.items_df.copy()
    if "alternatives" in items:  # the stored JSON list as one readable cell
        items["alternatives"] = items["alternatives"].map(alternatives_text)
    m = agg._with_keys(view.metrics_df)
    if len(m):
        totals = m.pivot_table(index="item_id", columns="metric_key", values="value", aggfunc="sum")
        totals.columns = [str(c) for c in totals.columns]
        items = items.merge(totals, left_on="item_id", right_index=True, how="left")
        labels = m["label"].fillna("").astype(str)
        names = labels.where(labels != "", m["metric_key"].astype(str))
        # unit "other" reads as written ("45座"), not with its family's 个
        values = [
            metric_value_text(v, u, t, agg.metric_unit_zh(k))
            for v, u, t, k in zip(m["value"], m["unit"], m["text"], m["metric_key"], strict=True)
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


def export_csv(view: MapView, path: str | Path) -> list[Path]:
    """CSV tables, UTF-8 with BOM (Excel opens the Chinese correctly).

    Writes ``<stem>.csv`` (one row per item, metric totals per key, a readable ``metrics``
    column and the approximate ``lon``/``lat``), ``<stem>_metrics.csv`` (one row per metric) and
    ``<stem>_townships.csv`` (per-township aggregates of the view's metric). Text cells pass
    through :func:`csv_safe`.

    Returns
    -------
    list of Path
    """
    p = _target(path, ".csv")
    out = [p, p.with_name(f"{p.stem}_metrics.csv"), p.with_name(f"{p.stem}_townships.csv")]
    tables = [_items_table(view), agg._with_keys(view.metrics_df), _townships_table(view)]
    for target, table in zip(out, tables, strict=True):
        with _writing(target):
            csv_safe(table).to_csv(target, index=False, encoding="utf-8-sig")
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
        "note": _geo_note(view),
        "features": features,
    }
    with _writing(p):
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

    p = _target(path, ".gpkg")
    with _writing(p):
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
