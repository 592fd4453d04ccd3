"""Workflows the app and the command line share, so that both go one way through.

* :func:`active_townships` — which township layer a county uses (an uploaded set kept in the
  store, else the county's default layer, else none) and what that means for every output
  (approximate or not, the attribution's boundary kind and source);
* :func:`county_frames` — the items of one county out of frames that may hold several;
* :func:`county_view` — the :class:`~geo.view.MapView` of a county for given filters and metric,
  with its outline, seat, villages and attribution.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

from geo import aggregate as agg
from geo.boundaries import CountyLayers, county_layers
from geo.view import MapView, export_attribution, make_view

__all__ = ["ActiveTownships", "active_townships", "county_frames", "county_view"]


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
    """The items of one county (and their metrics), index reset.

    Parameters
    ----------
    keep_unknown : bool
        Also keep items whose county is unknown (a bulletin parsed without a county).
    """
    codes = items_df["county_code"]
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
