"""Work the app keeps across reruns and sessions: the store, gazetteers, layers, parsed
samples, store frames and built maps (Streamlit caches), and the secrets it reads."""

from __future__ import annotations

import os

import streamlit as st

from geo import aggregate as agg
from geo import assets, paths, webmap
from geo.boundaries import county_layers
from geo.errors import GeoInputError
from geo.gazetteer import load_gazetteer
from geo.pipeline import parse_text
from geo.prefecture import find_area
from geo.sectors import sector_names as taxonomy_sector_names
from geo.store import Store


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
    return bulletin, items_df, agg.assign_metric_keys(metrics_df)


@st.cache_data(show_spinner="正在读取数据库…", max_entries=8)
def store_frames(path: str, fingerprint: tuple):
    """Store frames with metric keys, recomputed only when the store changed."""
    items_df, metrics_df = store_at(path).frames()
    return items_df, agg.assign_metric_keys(metrics_df)


def store_fingerprint(store) -> tuple:
    """Changes whenever the store does (any write, by any process)."""
    return (store.path, store.revision())


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


@st.cache_resource(show_spinner="正在绘制地图…", max_entries=8)
def built_map(key: tuple, _view, location, zoom, tianditu_key, focus=None, explanation=()):
    """The folium map of a view, built and rendered once per ``key`` (data + filters + view).

    The app's map has no title box (the header bar says it), fills the frame the app's CSS
    sizes, opens on ``focus`` (an item picked in the table) when given, and its approximate-
    boundary badge opens ``explanation`` (the app's own wording). st_folium mutates
    the map it draws, so callers get a deep copy; the big GeoJSON payloads are strings, which
    the copy shares, so copying costs milliseconds.
    """
    m = webmap.build_map(
        _view,
        assets="static",
        location=location,
        zoom=zoom,
        tianditu_key=tianditu_key,
        title_box=False,
        explanation=explanation,
        focus_item=focus,
        fill_frame=True,
    )
    root = m.get_root()
    root.render()  # once here, so st_folium can skip it (render=False)
    # st_folium reads only the header of the rendered page; the rendered script holds the whole
    # payload as a jinja template, which every deep copy would recompile (~1 s at 10,000 items).
    root.script._children.clear()
    return m
