"""乡镇工作动态地图 — Streamlit app over the ``geo`` package.

Run with ``streamlit run streamlit_app.py``. Thin on purpose: this file runs the page; the
sections (widgets and session state) live in ``app/``, and everything computed in ``geo``.
Opens on the default county of ``data/counties.json`` with the bundled sample bulletin, no setup
needed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app import areas, cache, common, filters, panels, placements, review, uploads
from geo import aggregate as agg
from geo import app_support
from geo.county_settings import county_choices, default_county_code
from geo.errors import GeoInputError
from geo.review import counted_frames
from geo.workflows import ActiveTownships, PrefectureTownships

st.set_page_config(
    page_title="乡镇工作动态地图",
    page_icon="🗺️",
    layout="wide",
    # open beside the map on a laptop, folded away on a phone (one tap on the top-left button)
    initial_sidebar_state="auto",
)
#: The app's own static CSS (the map is the page); no bulletin text ever goes through it.
STYLE = Path(__file__).resolve().parent / "app" / "style.css"


@dataclass
class _County:
    """What the page shows for the chosen county or prefecture (built in the sidebar, used
    below it)."""

    code: str
    name: str
    gazetteer: Any  # the county's; in a prefecture a reader of each item's county's
    items_df: pd.DataFrame
    metrics_df: pd.DataFrame
    sample_bulletin: Any
    data_key: tuple
    active: ActiveTownships | PrefectureTownships
    filters: agg.Filters
    metric: str
    basemap: str
    count_review: bool = True


def _sidebar(store, store_path: str, counties: dict[str, str], sectors: dict) -> _County:
    st.title("乡镇工作动态地图")
    code = areas.choose_area(counties)
    active = areas.area_active(store, store_path, code)
    prefecture = active.prefecture if areas.is_prefecture(active) else None
    gazetteer = areas.gazetteer_of(code, prefecture)
    items_df, metrics_df, sample_bulletin, data_key = common.county_data(store, store_path, code)
    towns = areas.towns(code, None if prefecture else gazetteer, active)
    chosen, metric = filters.filters_sidebar(items_df, metrics_df, towns, sectors, data_key)
    n_review = cache.data_fact("review_queue", data_key, lambda: placements.queue_size(items_df))
    count_review = filters.review_toggle(n_review)
    basemap = filters.basemap_choice(store)
    st.divider()
    uploads.upload_bulletins(store, code)
    if prefecture is None:
        uploads.upload_boundaries(store, code, active.meta, active.layers.note)
    else:
        st.subheader("乡镇边界")
        st.caption("乡镇边界按县（区）保存：请在各县（区）页面上传。")
    name = counties.get(code, code)
    return _County(
        code,
        name,
        gazetteer,
        items_df,
        metrics_df,
        sample_bulletin,
        data_key,
        active,
        chosen,
        metric,
        basemap,
        count_review,
    )


def _notices(c: _County) -> None:
    """What the layer in use means, under the map (the approximate-boundary notice is a badge
    on the map itself, which opens the full explanation)."""
    areas.notices(c.active)


def _start_view(county_code: str) -> agg.ViewState:
    """Where the map opens: where the user left it, else the URL's view of this county."""
    url_v: agg.ViewState = st.session_state.get("_url_view") or agg.ViewState()
    if st.session_state.get("_url_county") != county_code:
        # the URL's centre and zoom belong to the county it was shared for
        url_v = agg.ViewState(basemap=url_v.basemap, metric=url_v.metric)
    previous = st.session_state.get("_view_county")
    st.session_state["_view_county"] = county_code
    if previous is not None and previous != county_code:  # a new county: forget the old view
        st.session_state.pop("_view_now", None)
        st.session_state.pop("town", None)
    now = st.session_state.get("_view_now")
    return agg.ViewState(lat=now[0], lon=now[1], zoom=now[2]) if now else url_v


def _view_key(c: _County) -> tuple:
    """What a view depends on: the data (store, revision, area), the area's name and township
    layer in use, the filters, metric, base map and whether placements needing review count
    (and the day, which the map's date line shows)."""
    today = dt.date.today().isoformat()
    return (
        *c.data_key,
        c.name,
        c.active.key,
        repr(c.filters),
        c.metric,
        c.basemap,
        c.count_review,
        today,
    )


def _view(c: _County, key: tuple):
    """The area's map view (every county gets one: without polygons the table, the data
    exports and, with an outline, an outline-only map still work), shared by every session
    with the same ``key``."""

    def build():
        villages = None
        if not areas.is_prefecture(c.active) and c.active.has_polygons:
            villages = cache.village_points(c.code, c.active.key, c.gazetteer, c.active.townships)
        return areas.view(c, villages)

    return cache.shared_view(key, build)


def _sync_url(c: _County) -> None:
    url_v: agg.ViewState = st.session_state.get("_url_view") or agg.ViewState()
    lat, lon, zoom = st.session_state.get("_view_now", (url_v.lat, url_v.lon, url_v.zoom))
    panel = st.session_state.get("panel") or None
    view_state = agg.ViewState(
        lat=lat,
        lon=lon,
        zoom=zoom,
        basemap=c.basemap,
        metric=c.metric,
        panel=panel,
        compare=st.session_state.get("_compare") if panel == "compare" else None,
        count_review=c.count_review,
    )
    params = {"county": c.code, **agg.filters_to_query(c.filters, view_state)}
    if c.code == default_county_code():
        params.pop("county")
    st.session_state["_url_params"] = params  # the map fragment writes the link from it
    if params != st.query_params.to_dict():
        st.query_params.from_dict(params)


def _open_store():
    """``(location, store)``, or ``(None, None)`` after saying why the store cannot be opened."""
    try:
        store_path = cache.store_location()
        return store_path, cache.store_at(store_path)
    except GeoInputError as err:
        st.error(common.err_line(err))
        st.stop()
        return None, None  # st.stop() only stops a script run by Streamlit's runtime


def _every_month(c: _County) -> _County:
    """The trend, the compare map and the report span every month: all filters but the dates."""
    return replace(c, filters=replace(c.filters, date_from=None, date_to=None))


def _stage(c: _County, view, view_key: tuple, store, sectors: dict, focus) -> None:
    """The header line with the downloads, and the map with the township drawer."""
    every_month = _every_month(c)
    months = cache.data_fact("months", c.data_key, lambda: app_support.month_options(c.items_df))
    end_month = (c.filters.date_to or "")[:7] or None
    with st.container(key="geo_stage"):
        panels.header_bar(
            view,
            view_key,
            c.items_df,
            c.metrics_df,
            sample=c.sample_bulletin is not None,
            stem=f"{c.name}-乡镇工作动态",
            # the monthly report is a county's (a prefecture's townships are many layers)
            report=None
            if areas.is_prefecture(c.active)
            else lambda: panels.report_buttons(
                view,
                lambda: _view(every_month, _view_key(every_month)),
                months,
                end_month,
                f"{c.name}-月报",
            ),
        )
        panels.map_and_panel(
            view,
            (view_key, _view_key(replace(c, metric=""))),
            areas.townships_of(c.active),
            sectors,
            _start_view(c.code),
            focus,
            cache.tianditu_key(store) if c.basemap.startswith("tianditu") else None,
        )


def _time_section(c: _County, panel: str, view, view_key: tuple) -> None:
    """The trend or compare panel, over every month (all filters but the dates), counting what
    the map counts (the review toggle decides on items whose place needs review)."""
    every = _every_month(c).filters
    every_key = (*c.data_key, repr(every), c.count_review)

    def counted():
        items, metrics = agg.filter_items(c.items_df, c.metrics_df, every)
        return counted_frames(items, metrics, include_needs_review=c.count_review)

    t_items, t_metrics, left_out = cache.shared_frames(every_key, counted)
    t_months = cache.data_fact(
        "months_every", every_key, lambda: app_support.month_options(t_items)
    )
    townships = areas.townships_of(c.active)
    panels.time_section(
        panel,
        t_items,
        t_metrics,
        c.metric,
        townships,
        view,
        view_key,
        months=t_months,
        left_out=left_out,
    )


def _review_section(c: _County, panel: str, store, sectors: dict) -> None:
    """The review queue, the correction form or the cut review, under its title."""
    st.subheader(panels.REVIEW_TITLES[panel])
    if panel == "review":
        placements.review_queue(
            store, c.items_df, c.sample_bulletin, c.gazetteer, data_key=c.data_key
        )
    elif panel == "correct":
        review.review(
            store, c.items_df, c.sample_bulletin, c.gazetteer, sectors, data_key=c.data_key
        )
    else:
        review.cut_review(store, c.items_df, c.sample_bulletin, c.data_key)


def _panel(c: _County, panel: str, view, view_key: tuple, table, store, sectors: dict) -> None:
    """The one panel the planner opened under the map; nothing of the others is built or sent
    (a first view loads only the map: issue 14)."""
    if panel == "items":
        panels.items_section(view, table, len(c.items_df))
    elif panel in ("trend", "compare"):
        _time_section(c, panel, view, view_key)
    elif panel in panels.REVIEW_TITLES:
        _review_section(c, panel, store, sectors)


def main() -> None:
    cache.static_assets()
    st.html(STYLE)
    counties = {
        **app_support.area_choices(county_choices()),
        **st.session_state.get("_extra_counties", {}),
    }
    common.restore_from_url(counties)
    store_path, store = _open_store()
    if store is None:
        return
    sectors = cache.sector_names()
    with st.sidebar:
        c = _sidebar(store, store_path, counties, sectors)
    view_key = _view_key(c)
    view = _view(c, view_key)
    panel = panels.chosen_panel()
    table, focus = None, None
    if panel == "items":
        table = panels.shared_table(view, view_key, sectors)
        focus = panels.table_focus(view, table)  # a row picked in the table opens the map on it
    _stage(c, view, view_key, store, sectors, focus)
    _notices(c)
    panel = panels.panel_chooser()
    _panel(c, panel, view, view_key, table, store, sectors)
    panels.data_sources_section(areas.sources(c.active, c.sample_bulletin is not None))
    _sync_url(c)


main()
