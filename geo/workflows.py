"""Workflows the app and the command line share, so that both go one way through.

* :func:`active_townships` — which township layer a county uses (an uploaded set kept in the
  store, else the county's default layer, else none) and what that means for every output
  (approximate or not, the attribution's boundary kind and source);
* :func:`county_frames` — the items of one county out of frames that may hold several;
* :func:`county_view` — the :class:`~geo.view.MapView` of a county for given filters and metric,
  with its outline, seat, villages and attribution;
* :func:`prefecture_townships` and :func:`prefecture_view` — the same for a prefecture: every
  county's township layer in one choropleth, the open county outlines drawn over, counties
  without township polygons shown as one unit with their county-level totals.

``county_frames`` takes a prefecture's 4-digit code as well as a county's 6-digit one.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

from geo import aggregate as agg
from geo.boundaries import CountyLayers, county_layers
from geo.outlines import OUTLINE_ATTRIBUTION, county_outlines
from geo.prefecture import Prefecture
from geo.view import MapView, attribution_lines, data_sources, export_attribution, make_view

__all__ = [
    "ActiveTownships",
    "PrefectureTownships",
    "active_townships",
    "county_frames",
    "county_view",
    "prefecture_data_sources",
    "prefecture_townships",
    "prefecture_view",
]


@dataclass(frozen=True)
class ActiveTownships:
    """The township layer a county uses, and where it comes from.

    Attributes
    ----------
    county_code : str
    townships : GeoDataFrame or None
        Polygons in use (``township_code``, ``township``, EPSG:4326); None without any.
    approximate : bool
        The polygons are an estimate (示意范围，非官方边界): every output says so.
    meta : dict or None
        The stored boundary set in use (``Store.boundary_set``); None for the default layer.
    layers : geo.boundaries.CountyLayers
        The county's default layers (outline, seat, default townships, note).
    """

    county_code: str
    townships: gpd.GeoDataFrame | None
    approximate: bool
    meta: dict | None = None
    layers: CountyLayers = field(default_factory=CountyLayers)

    @property
    def key(self) -> tuple:
        """Changes whenever the layer in use does (for caches)."""
        return ("stored", self.meta["id"]) if self.meta else ("default", self.county_code)

    @property
    def has_polygons(self) -> bool:
        return self.townships is not None and len(self.townships) > 0


def active_townships(
    county_code: str,
    *,
    store: Any = None,
    read_stored: Callable[[Mapping], gpd.GeoDataFrame | None] | None = None,
    layers: CountyLayers | None = None,
) -> ActiveTownships:
    """The township layer of a county: a set kept in the store wins over the default layer.

    Parameters
    ----------
    county_code : str
        Six-digit code.
    store : geo.store.Store, optional
        Where uploaded sets are kept; without one only the default layer counts.
    read_stored : callable, optional
        ``meta -> GeoDataFrame`` reading the stored set (the app passes a cached reader);
        default ``store.boundaries(county_code)``.
    layers : geo.boundaries.CountyLayers, optional
        The county's default layers, when the caller already has them.

    Returns
    -------
    ActiveTownships
    """
    layers = layers if layers is not None else county_layers(county_code)
    meta = store.boundary_set(county_code) if store is not None else None
    if meta is not None:
        stored = read_stored(meta) if read_stored else store.boundaries(county_code)
        approximate = meta.get("quality") == "approximate"
        return ActiveTownships(county_code, stored, approximate, dict(meta), layers)
    return ActiveTownships(county_code, layers.townships, layers.approximate, None, layers)


def county_frames(
    items_df: pd.DataFrame, metrics_df: pd.DataFrame, county_code: str, *, keep_unknown: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The items of one county, or of every county of a prefecture (and their metrics),
    index reset.

    Parameters
    ----------
    county_code : str
        6-digit county code, or 4-digit prefecture code.
    keep_unknown : bool
        Also keep items whose county is unknown (a bulletin parsed without a county).
    """
    codes = items_df["county_code"]
    if len(str(county_code)) == 4:
        keep = codes.astype(str).str[:4] == str(county_code)
    else:
        keep = codes.astype(str) == str(county_code)
    if keep_unknown:
        keep |= codes.isna()
    items = items_df[keep.to_numpy()].reset_index(drop=True)
    metrics = metrics_df[metrics_df["item_id"].isin(items["item_id"])].reset_index(drop=True)
    return items, metrics


def county_view(
    items_df: pd.DataFrame,
    metrics_df: pd.DataFrame,
    active: ActiveTownships,
    *,
    county: str,
    gazetteer: Any = None,
    filters: agg.Filters | None = None,
    metric_key: str = "items",
    basemap: str = "none",
    villages: Any = None,
    sample: bool = False,
) -> MapView:
    """The :class:`~geo.view.MapView` of a county: its layer in use, outline, seat, attribution.

    Parameters
    ----------
    items_df, metrics_df : DataFrame
        The county's unfiltered frames (``metrics_df`` with ``metric_key``).
    active : ActiveTownships
        From :func:`active_townships`.
    county : str
        County name (titles).
    gazetteer : geo.gazetteer.Gazetteer, optional
        Gives every township a table row when the county has no polygons.
    filters, metric_key, basemap
        As :func:`geo.view.make_view`.
    villages : GeoDataFrame, optional
        Village points for the map's hidden 村（社区） layer.
    sample : bool
        The bundled sample bulletin is shown (the attribution says so).
    """
    townships = active.townships
    if not active.has_polygons:
        townships = gazetteer.townships if gazetteer is not None else None
    layers = active.layers
    return make_view(
        items_df,
        metrics_df,
        townships,
        county=county,
        county_code=active.county_code,
        outline=layers.outline,
        county_seat=layers.seat,
        filters=filters,
        metric_key=metric_key,
        basemap=basemap,
        approximate=active.approximate and active.has_polygons,
        villages=villages,
        attribution=export_attribution(active.county_code, layers, active.meta, sample=sample),
    )


# --------------------------------------------------------------------------- prefectures


@dataclass(frozen=True)
class PrefectureTownships:
    """The township layers of a prefecture's counties, and what that means for the map.

    Attributes
    ----------
    prefecture : geo.prefecture.Prefecture
    counties : dict
        ``{county_code: ActiveTownships}`` of every county.
    outlines : GeoDataFrame
        Open county outlines (:func:`geo.outlines.county_outlines`), drawn over the townships.
    """

    prefecture: Prefecture
    counties: dict[str, ActiveTownships]
    outlines: gpd.GeoDataFrame

    @property
    def key(self) -> tuple:
        """Changes whenever a county's layer in use does (for caches)."""
        return (self.prefecture.code, *(a.key for a in self.counties.values()))

    @property
    def with_polygons(self) -> list[str]:
        return [code for code, a in self.counties.items() if a.has_polygons]

    @property
    def without_polygons(self) -> list[str]:
        return [code for code, a in self.counties.items() if not a.has_polygons]

    @property
    def approximate(self) -> bool:
        """Some county's polygons are an estimate (every output says so)."""
        return any(self.counties[c].approximate for c in self.with_polygons)

    def townships(self) -> gpd.GeoDataFrame | None:
        """Every county's polygons in one layer (EPSG:4326), with ``county_code``, ``quality``."""
        parts = []
        for code in self.with_polygons:
            active = self.counties[code]
            tw = active.townships.to_crs(4326)
            quality = "approximate" if active.approximate else "user"
            if "quality" not in tw.columns:
                tw = tw.assign(quality=quality)
            parts.append(tw.assign(county_code=code, quality=tw["quality"].fillna(quality)))
        if not parts:
            return None
        columns = ["township_code", "township", "county_code", "quality", "geometry"]
        merged = pd.concat([p[[c for c in columns if c in p.columns]] for p in parts])
        return gpd.GeoDataFrame(merged.reset_index(drop=True), geometry="geometry", crs=4326)

    def county_units(self) -> gpd.GeoDataFrame:
        """Outlines of the counties without township polygons (``county_code``, ``county``)."""
        missing = self.without_polygons
        units = self.outlines[self.outlines["code"].isin(missing)]
        return gpd.GeoDataFrame(
            {
                "county_code": units["code"].tolist(),
                "county": [self.prefecture.county_name(c) for c in units["code"]],
            },
            geometry=units.geometry.tolist(),
            crs=4326,
        )

    def seats(self) -> dict[str, Any]:
        """Where each county's county-wide items go: its seat, else a point inside its outline."""
        points = dict(zip(self.outlines["code"], self.outlines.geometry, strict=True))
        out: dict[str, Any] = {}
        for code, active in self.counties.items():
            seat = active.layers.seat
            if seat is not None:
                out[code] = seat
            elif code in points:
                out[code] = points[code].representative_point()
        return out


def prefecture_townships(
    prefecture: Prefecture,
    *,
    store: Any = None,
    read_stored: Callable[[str, Mapping], gpd.GeoDataFrame | None] | None = None,
    layers_of: Callable[[str], CountyLayers] | None = None,
) -> PrefectureTownships:
    """The township layer in use in every county of a prefecture (see :func:`active_townships`).

    Parameters
    ----------
    prefecture : geo.prefecture.Prefecture
    store : geo.store.Store, optional
    read_stored : callable, optional
        ``(county_code, meta) -> GeoDataFrame`` reading a stored set (the app's cached reader).
    layers_of : callable, optional
        ``county_code -> CountyLayers`` (the app's cached reader); default
        :func:`geo.boundaries.county_layers`.
    """
    layers_of = layers_of or county_layers
    counties = {}
    for code in prefecture.county_codes:
        reader = None
        if read_stored is not None:
            reader = functools.partial(read_stored, code)
        counties[code] = active_townships(
            code, store=store, read_stored=reader, layers=layers_of(code)
        )
    return PrefectureTownships(prefecture, counties, county_outlines(prefecture.code))


def _prefecture_attribution(area: PrefectureTownships, *, sample: bool) -> list[str]:
    """Every county's boundary source (once each), the plain note for counties without
    polygons, and the open outlines' ODbL attribution."""
    lines: list[str] = []
    for code in area.with_polygons:
        active = area.counties[code]
        layers = dataclasses.replace(active.layers, outline=None)  # the open outlines are drawn
        lines += export_attribution(code, layers, active.meta, sample=sample)
    if not lines:  # no county has township polygons (the map's note names those without)
        lines += attribution_lines(None, boundary="none", sample=sample)
    lines.append(OUTLINE_ATTRIBUTION)
    return list(dict.fromkeys(lines))


def prefecture_view(
    items_df: pd.DataFrame,
    metrics_df: pd.DataFrame,
    area: PrefectureTownships,
    *,
    filters: agg.Filters | None = None,
    metric_key: str = "items",
    basemap: str = "none",
    sample: bool = False,
) -> MapView:
    """The :class:`~geo.view.MapView` of a prefecture: its counties' townships in one
    choropleth, the county outlines over them, counties without township polygons as one unit
    each with their county-level totals.

    Parameters
    ----------
    items_df, metrics_df : DataFrame
        The prefecture's unfiltered frames (:func:`county_frames` with its 4-digit code);
        items carry their own county's places.
    area : PrefectureTownships
        From :func:`prefecture_townships`.
    filters, metric_key, basemap, sample
        As :func:`county_view`.
    """
    p = area.prefecture
    return make_view(
        items_df,
        metrics_df,
        area.townships(),
        county=p.name,
        county_code=p.code,
        outline=area.outlines,
        county_seat=area.seats(),
        filters=filters,
        metric_key=metric_key,
        basemap=basemap,
        approximate=area.approximate,
        attribution=_prefecture_attribution(area, sample=sample),
        county_units=area.county_units(),
    )


def prefecture_data_sources(area: PrefectureTownships, *, sample: bool = False) -> list[dict]:
    """Every data source of a prefecture view (the app's 数据来源), each once: the sources of
    each county's layer in use and the open county outlines (ODbL)."""
    codes = area.with_polygons or list(area.counties)[:1]
    rows: list[dict] = []
    for code in codes:
        active = area.counties[code]
        layers = dataclasses.replace(active.layers, outline=None)
        rows += data_sources(code, layers, active.meta, sample=sample)
    rows.append(
        {
            "data": "县界（全市各县）",
            "source": OUTLINE_ATTRIBUTION.removeprefix("县界："),
            "licence": "ODbL 1.0",
        }
    )
    seen, out = set(), []
    for r in rows:
        key = tuple(r.values())
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out
