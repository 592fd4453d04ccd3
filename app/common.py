"""Session helpers shared by the app's sections: URL state, county switching, error lines,
the county's data (store or sample)."""

from __future__ import annotations

import streamlit as st

from app import cache
from geo import aggregate as agg
from geo import app_support
from geo.errors import GeoInputError, one_line


def err_line(err: BaseException) -> str:
    """First line of a user-facing error, made inert (it may quote file names and contents)."""
    return app_support.md_escape(one_line(err))


def seed(key: str, value, valid: bool = True) -> None:
    """Set a widget's first value (from the URL) unless the user already set it."""
    if key not in st.session_state and valid:
        st.session_state[key] = value


def restore_from_url(counties: dict[str, str]) -> None:
    """On a session's first run, seed widget state from ``st.query_params`` (shared links)."""
    if st.session_state.get("_restored"):
        return
    st.session_state["_restored"] = True
    params = st.query_params.to_dict()
    filters, view = agg.filters_from_query(params)
    county = params.get("county")
    if county and county not in counties:
        try:
            gaz = cache.gazetteer(county)
        except GeoInputError:
            county = None
        else:
            st.session_state.setdefault("_extra_counties", {})[gaz.county_code] = gaz.county_name
            counties[gaz.county_code] = gaz.county_name
            county = gaz.county_code
    if county in counties:
        st.session_state["county"] = county
    st.session_state["_url_filters"] = filters
    st.session_state["_url_view"] = view
    st.session_state["_url_county"] = st.session_state.get("county") or next(iter(counties))


def add_county() -> None:
    """Button callback: find the typed county in the gazetteer and switch to it."""
    query = st.session_state.get("other_county", "").strip()
    if not query:
        return
    try:
        gaz = cache.gazetteer(query)
    except GeoInputError as err:
        st.session_state["_county_error"] = one_line(err)
        return
    st.session_state.pop("_county_error", None)
    st.session_state.setdefault("_extra_counties", {})[gaz.county_code] = gaz.county_name
    st.session_state["county"] = gaz.county_code


def county_data(store, store_path: str, county_code: str):
    """(items_df, metrics_df, sample_bulletin, data_key) for the county: the store, else the
    sample. ``data_key`` changes whenever the data does (it keys the map cache)."""
    fingerprint = cache.store_fingerprint(store)
    items_df, metrics_df = cache.store_frames(store_path, fingerprint)
    mine = items_df["county_code"].astype(str) == county_code
    if mine.any():
        items_df = items_df[mine.to_numpy()]
        metrics_df = metrics_df[metrics_df["item_id"].isin(items_df["item_id"])]
        key = ("store", store_path, fingerprint, county_code)
        return items_df.reset_index(drop=True), metrics_df.reset_index(drop=True), None, key
    if county_code != app_support.SAMPLE_COUNTY_CODE:
        return items_df.iloc[0:0], metrics_df.iloc[0:0], None, ("empty", county_code)
    text = app_support.sample_text()
    digest = app_support.content_hash(text)
    bulletin, s_items, s_metrics = cache.parse_cached(
        digest, text, county_code, app_support.SAMPLE_PATH.name
    )
    return s_items, s_metrics, bulletin, ("sample", digest, county_code)
