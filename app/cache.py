"""Work the app keeps across reruns and sessions: the store, gazetteers, layers, parsed
samples, store frames and built maps (Streamlit caches), and the secrets it reads."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from typing import Any

import streamlit as st

from app import map_frame
from geo import aggregate as agg
from geo import assets, paths, render, webmap
from geo.boundaries import county_layers
from geo.errors import GeoInputError
from geo.gazetteer import load_gazetteer
from geo.pipeline import parse_text
from geo.prefecture import find_area
from geo.sectors import sector_names as taxonomy_sector_names
from geo.store import Store
from geo.trends import counting_frames
from geo.workflows import county_frames


@st.cache_resource(show_spinner=False)
def static_assets() -> dict:
    return assets.ensure_static_assets()


@st.cache_resource(show_spinner=False)
def store_at(path: str):
    return Store(path)


@st.cache_resource(show_spinner=False)
def gazetteer(county_code: str):
    return load_gazetteer(county_code)


@st.cache_resource(show_spinner=False)
def area(query: str):
    """A county's gazetteer or a prefecture (:func:`geo.prefecture.find_area`)."""
    return find_area(query)


@st.cache_resource(show_spinner=False)
def county_layers_of(county_code: str):
    return county_layers(county_code)


@st.cache_resource(show_spinner=False, max_entries=16)
def stored_boundaries(path: str, county_code: str, set_id: int):
    """A county's saved township layer, read once per saved set (``set_id``)."""
    return store_at(path).boundaries(county_code)


@st.cache_resource(show_spinner=False, max_entries=8)
def village_points(county_code: str, boundary_key, _gazetteer, _townships):
    """Approximate village dots for the map's hidden 村（社区） layer, per county and layer."""
    if _gazetteer is None or not _gazetteer.villages:
        return None
    return agg.village_points(_gazetteer.villages, _townships)


@st.cache_data(show_spinner=False)
def sector_names() -> dict[str, str]:
    return dict(taxonomy_sector_names())


@st.cache_data(show_spinner="正在解析简报…", max_entries=16)
def parse_cached(digest: str, _text: str, county: str, source_name: str):
    """Parse once per content (``digest``); filter changes never re-parse."""
    bulletin = parse_text(_text, county=county, source_name=source_name)
    items_df, metrics_df = agg.items_frame([bulletin])
    return bulletin, *counting_frames(items_df, agg.assign_metric_keys(metrics_df))


#: The widget key of the app's map (what it reports is kept under it in the session state).
MAP_KEY = "map"
#: How long a shared entry lives unused; with ``max_entries`` it bounds what the caches hold.
_TTL_S = 3600
#: Builds per cache since the process started (tests read it: a second session with the same
#: view must not build again).
builds: Counter = Counter()


@st.cache_resource(show_spinner="正在读取数据库…", max_entries=2, ttl=_TTL_S)
def store_frames(path: str, revision: int):
    """Store frames with metric keys and what each repeat and figure adds (facts counted
    once), read once per store revision for every session.

    Shared, not copied: callers treat them as read-only (pandas operations return new frames).
    """
    builds["store_frames"] += 1
    items_df, metrics_df = store_at(path).frames()
    return counting_frames(items_df, agg.assign_metric_keys(metrics_df))


@st.cache_resource(show_spinner=False, max_entries=8, ttl=_TTL_S)
def county_frames_of(path: str, revision: int, county_code: str):
    """``(items_df, metrics_df)`` of one county (or prefecture) at a store revision."""
    builds["county_frames"] += 1
    items_df, metrics_df = store_frames(path, revision)
    return county_frames(items_df, metrics_df, county_code, keep_unknown=False)


def store_fingerprint(store) -> tuple:
    """Changes whenever the store does (any write, by any process)."""
    return (store.path, store.revision())


@st.cache_resource(show_spinner=False, max_entries=16, ttl=_TTL_S)
def shared_view(key: tuple, _build: Callable[[], Any]):
    """The filtered map view of ``key`` (data, layer, filters, metric, base map), built once for
    every session. Its lazily computed tables (aggregates, points) are then shared as well."""
    builds["view"] += 1
    return _build()


@st.cache_resource(show_spinner=False, max_entries=16, ttl=_TTL_S)
def shared_table(key: tuple, _build: Callable[[], Any]):
    """The item table of a view (``key`` = the view's key), built once for every session."""
    builds["table"] += 1
    return _build()


@st.cache_resource(show_spinner=False, max_entries=8, ttl=_TTL_S)
def shared_frames(key: tuple, _build: Callable[[], Any]):
    """Frames derived from one county's data and a filter (``key`` says which), built once for
    every session; read-only, like :func:`store_frames`."""
    builds["frames"] += 1
    return _build()


@st.cache_resource(show_spinner=False, max_entries=64, ttl=_TTL_S)
def data_fact(kind: str, key: tuple, _build: Callable[[], Any]):
    """Something derived from one county's data only (menu labels, metric catalogue, slider
    bounds, date span): ``kind`` names it, ``key`` is the data's key."""
    builds[kind] += 1
    return _build()


def _secret(name: str) -> str | None:
    try:
        return st.secrets.get(name)
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return None


def store_location() -> str:
    """Where the app's store is: ``$GEO_STORE``, else ``geo_store`` of
    ``.streamlit/secrets.toml`` (where a server's password belongs), else the default file.

    Raises
    ------
    StoreError
        A location that cannot be honoured (``store.url``).
    """
    given = None if os.environ.get(paths.STORE_ENV, "").strip() else _secret("geo_store")
    return str(paths.store_location(given))


def tianditu_key(store=None) -> str | None:
    """The 天地图 key: the one a planner saved in the app (kept in the store), else
    ``tianditu_key`` of the secrets or ``$TIANDITU_KEY``. The map's tiles use it; no export
    ever does."""
    saved = _saved_tianditu_key(store) if store is not None else None
    return saved or _secret("tianditu_key") or os.environ.get("TIANDITU_KEY") or None


def _saved_tianditu_key(store) -> str | None:
    try:
        return store.setting("tianditu_key")
    except GeoInputError:  # an unreadable store is said elsewhere; the map works without tiles
        return None


@st.cache_resource(show_spinner="正在绘制地图…", max_entries=8, ttl=_TTL_S)
def built_map(key: tuple, _view, location, zoom, tianditu_key, focus=None, explanation=()):
    """The map of a view as streamlit-folium's arguments (:class:`app.map_frame.MapFrame`),
    built, rendered and converted once per ``key`` (data + filters + view) for every session.

    The app's map has no title box (the header bar says it), fills the frame the app's CSS
    sizes, opens on ``focus`` (an item picked in the table) when given, and its approximate-
    boundary badge opens ``explanation`` (the app's own wording). Sessions only send the
    frame: nothing is copied or rendered per session.
    """
    builds["map"] += 1
    m = webmap.build_map(
        _view,
        restyle_inline=False,
        assets="static",
        location=location,
        zoom=zoom,
        tianditu_key=tianditu_key,
        title_box=False,
        explanation=explanation,
        focus_item=focus,
        fill_frame=True,
    )
    m.get_root().render()
    return map_frame.frame_of(m, key=MAP_KEY)


@st.cache_resource(show_spinner=False, max_entries=32, ttl=_TTL_S)
def map_restyle(key: tuple, _view) -> str:
    """The script colouring the shared map by the view's metric (``webmap.restyle_call``),
    made once per view ``key`` for every session; a metric change sends only it."""
    builds["restyle"] += 1
    return webmap.restyle_call(_view)


@st.cache_data(show_spinner="正在绘制对比图…", max_entries=16)
def change_map_png(key: tuple, _view, _change, title: str, legend_title: str) -> bytes:
    """The compare map's picture, drawn once per ``key`` (county, metric, months, data)."""
    return render.change_png(_view, _change, title=title, legend_title=legend_title)
