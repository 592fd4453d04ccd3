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
            code, label = _area_entry(county)
        except GeoInputError:
            county = None
        else:
            st.session_state.setdefault("_extra_counties", {})[code] = label
            counties[code] = label
            county = code
    if county in counties:
        st.session_state["county"] = county
    st.session_state["_url_filters"] = filters
    st.session_state["_url_view"] = view
    st.session_state["_url_county"] = st.session_state.get("county") or next(iter(counties))


def _area_entry(query: str) -> tuple[str, str]:
    """``(code, menu label)`` of a county or prefecture by name or code."""
    area = cache.area(query)
    code = getattr(area, "county_code", None) or area.code
    return code, app_support.area_label(area)


def add_county() -> None:
    """Button callback: find the typed county or prefecture and switch to it."""
    query = st.session_state.get("other_county", "").strip()
    if not query:
        return
    try:
        code, label = _area_entry(query)
    except GeoInputError as err:
        st.session_state["_county_error"] = one_line(err)
        return
    st.session_state.pop("_county_error", None)
    st.session_state.setdefault("_extra_counties", {})[code] = label
    st.session_state["county"] = code


def county_data(store, store_path: str, county_code: str):
    """(items_df, metrics_df, sample_bulletin, data_key) for the county (or the prefecture of
    a 4-digit code): the store, else the sample. ``data_key`` changes whenever the data does
    (it keys the caches shared by all sessions)."""
    revision = store.revision()
    # shared by every session and read-only: nothing here is changed in place
    mine, their_metrics = cache.county_frames_of(store_path, revision, county_code)
    if len(mine):
        key = ("store", store_path, revision, county_code)
        return mine, their_metrics, None, key
    if not app_support.SAMPLE_COUNTY_CODE.startswith(county_code):
        key = ("empty", store_path, revision, county_code)
        return mine, their_metrics, None, key
    text = app_support.sample_text()
    digest = app_support.content_hash(text)
    # the sample is a 息县 bulletin, also in its prefecture's view
    bulletin, s_items, s_metrics = cache.parse_cached(
        digest, text, app_support.SAMPLE_COUNTY_CODE, app_support.SAMPLE_PATH.name
    )
    return s_items, s_metrics, bulletin, ("sample", digest, county_code)
