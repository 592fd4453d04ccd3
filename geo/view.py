"""The map view-model: what a map or an export shows, and the words that travel with it.

:func:`make_view` turns the (unfiltered) frames, the township layer in use and the chosen filters
and metric into a :class:`MapView`; the web map (:mod:`geo.webmap`), the static render
(:mod:`geo.render`) and every export (:mod:`geo.export`) draw from it. The attribution lines
(data sets, licences, caveats) and the filter summary are made here too, from
``data/config/attribution.json`` and ``data/counties.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo import aggregate as agg
from geo import paths
from geo.county_settings import county_entry
from geo.display import (
    QUALITY_ZH,
    SCOPE_ZH,
    format_value,
    left_out_note,
    note_zh,
    sector_label,
)
from geo.errors import ExportError
from geo.review import counted_frames
from geo.trends import counting_frames

__all__ = [
    "ATTRIBUTION_PATH",
    "BOUNDARY_KINDS",
    "DATA_FORMATS",
    "MAP_FORMATS",
    "MapView",
    "attribution_lines",
    "available_exports",
    "boundary_label",
    "data_sources",
    "export_attribution",
    "filter_parts",
    "filter_summary",
    "load_attribution",
    "make_view",
]

#: Exports that draw a map: they need township polygons or at least the county outline.
MAP_FORMATS = ("html", "png", "pdf")
#: Exports of the data: they work without any boundary.
DATA_FORMATS = ("csv", "geojson", "gpkg")
#: Source and licence wording of every data set (configuration, not code).
ATTRIBUTION_PATH = paths.config_dir() / "attribution.json"
#: Where a view's township layer comes from, for :func:`attribution_lines`.
BOUNDARY_KINDS = ("approximate", "user", "official", "none")


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
    county_seat : Point, (lon, lat) or mapping, optional
        Where county-wide items are drawn (``{county_code: seat}`` in a prefecture).
    villages : GeoDataFrame, optional
        Village points.
    township_list : DataFrame, optional
        ``township_code, township`` of every township (e.g. from the gazetteer) for the tables of
        a view without polygons; without it the tables list the townships items mention.
    attribution : tuple of str
        Source and licence lines every map export prints (:func:`attribution_lines`).
    count_needs_review : bool
        The choropleth and township tables count items whose place still needs review (True),
        or leave them out (False; they stay on the map as hollow markers).
    county_units : GeoDataFrame, optional
        A prefecture view's counties without township polygons (``county_code``, ``county``,
        outline geometry): each is shown as one unit with its county-level totals, outside the
        township classes. ``None`` for a county view.
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
    county_units: gpd.GeoDataFrame | None = None
    count_needs_review: bool = True

    @property
    def has_polygons(self) -> bool:
        """The view has township polygons (a choropleth can be drawn)."""
        return self.townships is not None and len(self.townships) > 0

    @property
    def can_draw_map(self) -> bool:
        """Township polygons or at least the county outline: the map exports work."""
        return self.has_polygons or (self.outline is not None and len(self.outline) > 0)

    @property
    def is_prefecture(self) -> bool:
        """A prefecture's view (several counties; see ``county_units``)."""
        return self.county_units is not None

    @cached_property
    def _counted(self) -> tuple[pd.DataFrame, pd.DataFrame, int]:
        return counted_frames(
            self.items_df, self.metrics_df, include_needs_review=self.count_needs_review
        )

    @property
    def counted_items(self) -> pd.DataFrame:
        """The items the choropleth and the township tables count (see ``count_needs_review``)."""
        return self._counted[0]

    @property
    def counted_metrics(self) -> pd.DataFrame:
        """The figures of :attr:`counted_items` (every count and total of the view sums these)."""
        return self._counted[1]

    @property
    def left_out(self) -> int:
        """Items of the view the counts leave out (their place needs review and the review
        toggle is off); they stay on the map as hollow markers."""
        return self._counted[2]

    @cached_property
    def county_table(self) -> pd.DataFrame:
        """County-level totals of ``county_units`` (all their items: township, village and
        county-wide), indexed by county code like :attr:`table` by township code."""
        units = self.county_units
        codes = [] if units is None else units["county_code"].astype(str).tolist()
        counted = self.counted_items
        items = counted[counted["county_code"].astype(str).isin(codes).to_numpy()]
        items = items.assign(township_code=items["county_code"].astype(str))
        out = agg.aggregate_townships(items, self.metrics_df, self.metric_key, codes)
        if codes:
            names = dict(zip(codes, units["county"], strict=True))
            out["township"] = [f"{names[c]}（全县合计，无乡镇边界）" for c in out.index]
        return out

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
        out = agg.aggregate_townships(self.counted_items, self.metrics_df, self.metric_key, codes)
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
        out["quality"], out["quality_source"] = self._quality(out["township_code"])
        if self.is_prefecture:
            out = self._with_county_units(out)
            crs = 4326
        return gpd.GeoDataFrame(out, geometry="geometry", crs=crs)

    def _with_county_units(self, townships: pd.DataFrame) -> pd.DataFrame:
        """Township rows and a prefecture's county-total rows (``unit`` says which), each with
        its ``county_code``."""
        townships = pd.DataFrame(townships).assign(unit="township")
        if townships["geometry"].notna().any():
            geoms = gpd.GeoSeries(townships["geometry"], crs=self.townships.crs).to_crs(4326)
            townships["geometry"] = geoms.values
        units = self.county_units.to_crs(4326)
        table = self.county_table.reset_index()
        rows = table.assign(
            geometry=units.set_index("county_code").geometry.reindex(table["township_code"]).values,
            metric_key=self.metric_key,
            metric=agg.metric_label(self.metric_key),
            quality="none",
            quality_source="",
            unit="county",
        )
        out = pd.concat([townships, rows], ignore_index=True)
        counts = [c for c in out.columns if c.startswith("n_")]
        out[counts] = out[counts].fillna(0).astype(int)
        out.insert(0, "county_code", out["township_code"].astype(str).str[:6])
        return out

    def _quality(self, codes: pd.Series) -> tuple[list[str], list[str]]:
        """Per township: ``approximate``, ``user_upload`` or what the uploader declared
        (``official``, with its source) — never ``official`` by default; ``none`` without
        polygons."""
        if not self.has_polygons:
            return ["none"] * len(codes), [""] * len(codes)
        fallback = "approximate" if self.approximate else "user_upload"
        tw = self.townships
        declared, sources = {}, {}
        if "quality" in tw.columns:
            keys = tw["township_code"].astype(str)
            declared = dict(zip(keys, tw["quality"], strict=True))
            if "source" in tw.columns:
                sources = dict(zip(keys, tw["source"], strict=True))
        names = {"user": "user_upload", "official": "official", "approximate": "approximate"}
        quality = [names.get(declared.get(str(c)), fallback) for c in codes]
        source = [
            str(sources.get(str(c)) or "") if q == "official" else ""
            for c, q in zip(codes, quality, strict=True)
        ]
        return quality, source

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
        raise ExportError(
            "乡镇列表缺少 township_code 列：请先与行政区划对照", code="export.township_code"
        )
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
        raise ExportError(f"无法读取署名配置 {path}：{err}", code="export.credits_config") from err
    if not isinstance(doc, dict):
        raise ExportError(f"署名配置 {path} 不是 JSON 对象", code="export.credits_config")
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
        raise ExportError(
            f"未知的边界来源 {boundary!r}：应为 {'、'.join(BOUNDARY_KINDS)}",
            code="export.boundary_kind",
        )
    cfg = load_attribution(path)
    entry = county_entry(county_code)
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


def _township_layers(townships) -> tuple[gpd.GeoDataFrame | None, pd.DataFrame | None]:
    """``(polygons in EPSG:4326, None)`` or ``(None, township table)`` of what a view is given."""
    polygons = (
        isinstance(townships, gpd.GeoDataFrame)
        and townships._geometry_column_name in townships.columns
        and bool(townships.geometry.notna().any())
    )
    if not polygons:
        has_rows = townships is not None and len(townships)
        return None, _township_list(townships) if has_rows else None
    if "township_code" not in townships.columns:
        raise ExportError(
            "乡镇边界缺少 township_code 列：请先与行政区划对照", code="export.township_code"
        )
    tw = townships.to_crs(4326) if townships.crs and townships.crs.to_epsg() != 4326 else townships
    tw = tw[tw.geometry.notna()].copy()
    tw["township_code"] = tw["township_code"].astype(str)
    if "township" not in tw.columns:
        tw["township"] = tw["township_code"]
    return tw, None


def _village_layer(villages: Any, tw: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """Village points: gazetteer villages have no coordinates, so they are placed inside their
    township's polygon (none without polygons)."""
    if villages is None or isinstance(villages, gpd.GeoDataFrame):
        return villages
    return agg.village_points(villages, tw) if tw is not None else None


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
    county_units: gpd.GeoDataFrame | None = None,
    count_needs_review: bool = True,
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
    county_seat, county_units
        See :class:`MapView`; a prefecture's seats are ``{county_code: seat}``.
    Other parameters
        As the attributes of :class:`MapView`.

    Raises
    ------
    ExportError
        Townships without ``township_code``.
    """
    tw, township_list, outline, villages = _view_layers(townships, outline, villages)
    f, items, metrics = _filtered_frames(items_df, metrics_df, filters)
    if attribution is None:
        attribution = _default_attribution(
            county_code, tw is not None, approximate, sources, outline, county_seat
        )
    view = MapView(
        townships=tw,
        items_df=items,
        metrics_df=metrics,
        county=county or "",
        county_code=county_code,
        outline=outline,
        filters=f,
        metric_key=metric_key,
        basemap=basemap,
        title=title or "",
        approximate=approximate,
        sources=sources,
        created=created or pd.Timestamp.now().date().isoformat(),
        county_seat=county_seat,
        villages=villages,
        township_list=township_list,
        attribution=tuple(str(a) for a in attribution if a),
        county_units=county_units,
        count_needs_review=count_needs_review,
    )
    if title is None:
        view.title = _default_title(view)
    return view


def _view_layers(townships, outline, villages) -> tuple:
    """The view's township polygons (or None) and list, its outline (None when empty) and
    its village points."""
    tw, township_list = _township_layers(townships)
    outline = outline if outline is not None and len(outline) else None
    return tw, township_list, outline, _village_layer(villages, tw)


def _filtered_frames(
    items_df: pd.DataFrame, metrics_df: pd.DataFrame, filters: agg.Filters | None
) -> tuple[agg.Filters, pd.DataFrame, pd.DataFrame]:
    """The filters (none given: keep everything) and the items and figures they keep; what
    each repeat and figure adds is decided on all the data, before any filter."""
    f = filters or agg.Filters()
    items_df, metrics_df = counting_frames(items_df, metrics_df)
    return f, *agg.filter_items(items_df, metrics_df, f)


def _default_title(view: MapView) -> str:
    """``"<county>乡镇活动图 · <metric>"`` and the active filters: they belong in the title of
    every map and export."""
    head = f"{view.county}乡镇活动图 · {agg.metric_label(view.metric_key)}"
    return " · ".join([head, *filter_parts(view)])


def _names(names: list[str], what: str, most: int = 3) -> str:
    """``孙庙乡、路口乡`` or ``孙庙乡、路口乡、项店镇等 5 个乡镇``."""
    if len(names) <= most:
        return "、".join(names)
    return "、".join(names[:most]) + f"等 {len(names)} 个{what}"


def _township_names(view: MapView, codes) -> list[str]:
    frame = view._township_frame()
    if frame is None:
        frame = view.items_df[["township_code", "township"]].dropna()
    names = dict(zip(frame["township_code"].astype(str), frame["township"], strict=True))
    return [str(names.get(str(c), c)) for c in codes]


def _period(f: agg.Filters) -> str:
    if f.date_from and f.date_to:
        return f"{f.date_from} 至 {f.date_to}"
    return f"{f.date_from} 起" if f.date_from else f"至 {f.date_to}"


def filter_parts(view: MapView) -> list[str]:
    """The active filters in a few words each, for map titles: sectors, townships, period,
    bulletins, the metric's range, keyword and scope (the metric itself is in the title).

    Parameters
    ----------
    view : MapView

    Returns
    -------
    list of str
        Empty when nothing is filtered; plain text (escape before HTML or Markdown).
    """
    f = view.filters or agg.Filters()
    parts = []
    if f.sectors:
        parts.append(_names([sector_label(s) for s in f.sectors], "行业"))
    if f.townships:
        parts.append(_names(_township_names(view, f.townships), "乡镇"))
    if f.date_from or f.date_to:
        parts.append(_period(f))
    if f.bulletins:
        names = dict(zip(view.items_df["bulletin_id"], view.items_df["bulletin_name"], strict=True))
        parts.append("简报 " + _names([str(names.get(b, b[:12])) for b in f.bulletins], "期"))
    if f.metric_key and (f.metric_min is not None or f.metric_max is not None):
        unit = agg.metric_unit_zh(f.metric_key)
        ends = (("≥", f.metric_min), ("≤", f.metric_max))
        rng = [f"{sign}{format_value(v, unit)}" for sign, v in ends if v is not None]
        parts.append(agg.metric_name(f.metric_key) + " " + " ".join(rng))
    if f.text and f.text.strip():
        parts.append(f"含“{f.text.strip()}”")
    if f.scopes:
        parts.append("、".join(SCOPE_ZH.get(s, s) for s in f.scopes))
    return parts


def filter_summary(view: MapView) -> str:
    """One Chinese line on what the view shows: ``筛选：行业 就业创业 · 共 12 条事项``."""

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
        parts.append("范围 " + "、".join(SCOPE_ZH.get(s, s) for s in f.scopes))
    head = "筛选：" + "；".join(parts) if parts else "全部事项"
    # the count is the choropleth's: with the review toggle off, what it leaves out is said
    tail = f"（{left_out_note(view.left_out)}）" if view.left_out else ""
    return f"{head} · 共 {len(view.counted_items)} 条事项{tail}"


def boundary_label(meta: Mapping | None, default_note: str = "") -> str:
    """Which township layer is in use, in one line for the sidebar and the map note.

    Parameters
    ----------
    meta : mapping or None
        ``geo.store.Store.boundary_set`` of the county; None for the default layer.
    default_note : str
        The default layer's note (``CountyLayers.note``), shown through :func:`note_zh`.

    Returns
    -------
    str
        Plain text (escape it before Markdown: it holds a file name).
    """
    if not meta:
        note = note_zh(default_note)
        return f"默认图层（{note}）" if note else "默认图层"
    quality = QUALITY_ZH.get(str(meta.get("quality")), "用户上传")
    when = str(meta.get("created_at") or "")[:10]
    n = meta.get("n_townships")
    count = f"，{n} 个乡镇" if n else ""
    return f"{meta.get('source_name', '')}（{quality}，{when} 保存{count}）"


def _boundary_kind(layers: Any, boundary_meta: Mapping | None) -> tuple[str, str]:
    """(kind for ``geo.view.attribution_lines``, source name) of the township layer in use."""
    if boundary_meta:
        quality = str(boundary_meta.get("quality") or "user")
        kind = quality if quality in ("approximate", "official") else "user"
        return kind, str(boundary_meta.get("source_name") or "")
    if getattr(layers, "townships", None) is None:
        return "none", ""
    if getattr(layers, "approximate", False):
        return "approximate", ""
    return "official", _layer_source(layers.townships)  # a default layer that is not estimated


def export_attribution(
    county_code: str,
    layers: Any = None,
    boundary_meta: Mapping | None = None,
    *,
    sample: bool = False,
) -> list[str]:
    """The attribution lines the app's map exports carry (``make_view(attribution=...)``).

    Parameters
    ----------
    county_code : str
    layers : geo.boundaries.CountyLayers, optional
        The county's default layers.
    boundary_meta : mapping, optional
        The stored boundary set in use (``Store.boundary_set``); it replaces the default layer.
    sample : bool
        True when the bundled sample bulletin is shown.

    Returns
    -------
    list of str
        From :func:`geo.view.attribution_lines`: the CC BY 4.0 gazetteer line, the boundary
        source (approximate estimate, upload or none), the outline's display-aid note, the seat.
    """
    kind, source = _boundary_kind(layers, boundary_meta)
    return attribution_lines(
        county_code,
        boundary=kind,
        boundary_source=source,
        outline=getattr(layers, "outline", None),
        seat=getattr(layers, "seat", None) is not None,
        sample=sample,
    )


def data_sources(
    county_code: str,
    layers: Any = None,
    boundary_meta: Mapping | None = None,
    *,
    sample: bool = False,
    path: Path | None = None,
) -> list[dict[str, str]]:
    """Every data source behind the current view, with its licence (the app's 数据来源).

    Parameters
    ----------
    county_code : str
    layers : geo.boundaries.CountyLayers, optional
        The county's default layers; their ``source`` columns name where they come from.
    boundary_meta : mapping, optional
        The stored boundary set in use (``Store.boundary_set``); replaces the default
        township layer in the list.
    sample : bool
        True when the bundled sample bulletin is shown.
    path : pathlib.Path, optional
        A counties.json; default ``data/counties.json`` (its ``attribution`` and
        ``seat_source``).

    Returns
    -------
    list of dict
        Keys ``data``, ``source``, ``licence``; plain text (escape before Markdown). The
        wording comes from ``data/config/attribution.json``.
    """
    cfg = load_attribution()
    entry = county_entry(county_code, path)
    rows = [{k: str(r.get(k, "")) for k in ("data", "source", "licence")} for r in cfg["gazetteer"]]
    attribution = str(entry.get("attribution") or "")
    outline = getattr(layers, "outline", None)
    if outline is not None:
        o = cfg["outline"]
        approximate_outline = entry.get("outline_quality") == "approximate"
        rows.append(
            {
                "data": o["data"],
                "source": _layer_source(outline) or str(entry.get("outline") or ""),
                "licence": o["licence_approximate"] if approximate_outline else o["licence_other"],
            }
        )
    t = cfg["townships"]
    if boundary_meta:
        rows.append(
            {
                "data": t["data_user"],
                "source": boundary_label(boundary_meta),
                "licence": t["licence_user"],
            }
        )
    elif getattr(layers, "townships", None) is not None:
        kind = "approximate" if getattr(layers, "approximate", False) else "default"
        rows.append(
            {
                "data": t[f"data_{kind}"],
                "source": _layer_source(layers.townships) or str(entry.get("townships") or ""),
                "licence": t[f"licence_{kind}"],
            }
        )
    if attribution and (outline is not None or getattr(layers, "townships", None) is not None):
        rows.append({"data": cfg["layers"]["data"], "source": attribution, "licence": ""})
    if entry.get("seat_source"):
        rows.append(
            {"data": cfg["seat"]["data"], "source": str(entry["seat_source"]), "licence": ""}
        )
    for key, wanted in (("sample", sample), ("basemap", True)):
        if wanted:
            rows.append({k: str(cfg[key][k]) for k in ("data", "source", "licence")})
    for r in rows:  # GeoNames and others state their licence inside the source text
        if not r["licence"] and "CC BY" in r["source"]:
            r["licence"] = "CC BY 4.0"
        r["source"] = note_zh(r["source"])
    return rows


# ---------------------------------------------------------------------------------------------
# labels and wording
