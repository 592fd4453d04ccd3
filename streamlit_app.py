"""乡镇工作动态地图 — Streamlit app over the ``geo`` package.

Run with ``streamlit run streamlit_app.py``. Thin on purpose: this file runs the page; the
sections (widgets and session state) live in ``app/``, and everything computed in ``geo``.
Opens on the default county of ``data/counties.json`` with the bundled sample bulletin, no setup
needed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import streamlit as st

from app import cache, common, filters, panels, review, uploads
from geo import aggregate as agg
from geo import app_support, paths
from geo.boundaries import CountyLayers
from geo.county_settings import county_choices, default_county_code
from geo.errors import GeoInputError
from geo.view import boundary_label
from geo.workflows import ActiveTownships, active_townships, county_view

st.set_page_config(
    page_title="乡镇工作动态地图",
    page_icon="🗺️",
    layout="wide",
    initial_sidebar_state="expanded",
)


@dataclass
class _County:
    """What the page shows for the chosen county (built in the sidebar, used below it)."""

    code: str
    name: str
    gazetteer: Any
    items_df: pd.DataFrame
    metrics_df: pd.DataFrame
    sample_bulletin: Any
    data_key: tuple
    active: ActiveTownships
    filters: agg.Filters
    metric: str
    basemap: str


def _choose_county(counties: dict[str, str]) -> str:
    county_code = st.selectbox(
        "县（区）", list(counties), format_func=lambda c: counties[c], key="county"
    )
    with st.expander("其他县（区）"):
        st.text_input("县名或 6 位代码", key="other_county", placeholder="例如 光山县 或 411522")
        st.button("切换", key="other_county_go", on_click=common.add_county)
        if st.session_state.get("_county_error"):
            st.error(app_support.md_escape(st.session_state["_county_error"]))
    return county_code


def _active(store, store_path: str, county_code: str) -> ActiveTownships:
    """The township layer in use; a layer that cannot be read is said, and the default used."""
    try:
        layers = cache.county_layers_of(county_code)
    except GeoInputError as err:
        st.error(common.err_line(err))
        layers = CountyLayers(county_code=county_code)
    try:
        return active_townships(
            county_code,
            store=store,
            layers=layers,
            read_stored=lambda meta: cache.stored_boundaries(store_path, county_code, meta["id"]),
        )
    except GeoInputError as err:
        st.error(common.err_line(err))
        return active_townships(county_code, layers=layers)


def _sidebar(store, store_path: str, counties: dict[str, str], sectors: dict) -> _County:
    st.title("乡镇工作动态地图")
    code = _choose_county(counties)
    try:
        gazetteer = cache.gazetteer(code)
    except GeoInputError as err:
        st.error(common.err_line(err))
        gazetteer = None
    items_df, metrics_df, sample_bulletin, data_key = common.county_data(store, store_path, code)
    active = _active(store, store_path, code)
    towns = {}
    if gazetteer is not None:
        towns = {t.code: t.name for t in gazetteer.townships}
    elif active.has_polygons:
        tw = active.townships
        towns = dict(zip(tw["township_code"], tw["township"], strict=False))
    chosen, metric = filters.filters_sidebar(items_df, metrics_df, towns, sectors)
    basemap = filters.basemap_choice()
    st.divider()
    uploads.upload_bulletins(store, code)
    uploads.upload_boundaries(store, code, active.meta, active.layers.note)
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
    )


def _notices(c: _County) -> None:
    st.title(f"{app_support.md_escape(c.name)} 乡镇工作动态")
    if c.sample_bulletin is not None:
        st.caption("示例数据：内置的息县工作简报。上传简报后显示数据库中的简报。")
    if c.active.approximate and c.active.has_polygons:
        st.warning(
            "乡镇边界为**示意范围，非官方边界**。请在侧栏“乡镇边界”一节导入官方边界"
            "（shapefile zip / GeoJSON / GeoPackage）。"
        )
    elif not c.active.has_polygons and c.active.layers.outline is not None:
        st.info("该县尚无乡镇边界：地图只显示县界与全县事项，请在侧栏上传乡镇边界。")
    elif c.active.meta is not None:
        st.caption("乡镇边界：" + app_support.md_escape(boundary_label(c.active.meta)))


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


def _view(c: _County):
    """The county's map view (every county gets one: without polygons the table, the data
    exports and, with an outline, an outline-only map still work)."""
    villages = None
    if c.active.has_polygons:
        villages = cache.village_points(c.code, c.active.key, c.gazetteer, c.active.townships)
    return county_view(
        c.items_df,
        c.metrics_df,
        c.active,
        county=c.name,
        gazetteer=c.gazetteer,
        filters=c.filters,
        metric_key=c.metric,
        basemap=c.basemap,
        villages=villages,
        sample=c.sample_bulletin is not None,
    )


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
    )
    params = {"county": c.code, **agg.filters_to_query(c.filters, view_state)}
    if c.code == default_county_code():
        params.pop("county")
    if params != st.query_params.to_dict():
        st.query_params.from_dict(params)


def main() -> None:
    cache.static_assets()
    counties = {**county_choices(), **st.session_state.get("_extra_counties", {})}
    common.restore_from_url(counties)
    store_path = str(paths.store_path())
    try:
        store = cache.store_at(store_path)
    except GeoInputError as err:
        st.error(common.err_line(err))
        st.stop()
    sectors = cache.sector_names()
    with st.sidebar:
        c = _sidebar(store, store_path, counties, sectors)
    _notices(c)
    view = _view(c)
    shown_items, shown_metrics = view.items_df, view.metrics_df
    map_key = (*c.data_key, c.active.key, repr(c.filters), c.metric, c.basemap, view.approximate)
    start = _start_view(c.code)
    panels.map_and_panel(
        view, map_key, c.active.townships, shown_items, shown_metrics, sectors, start
    )
    # the trend, the compare map and the report span every month: all filters but the dates
    every_month = replace(c, filters=replace(c.filters, date_from=None, date_to=None))
    t_items, t_metrics = agg.filter_items(c.items_df, c.metrics_df, every_month.filters)
    panels.time_section(t_items, t_metrics, c.metric, c.active.townships, view, map_key)
    st.subheader(f"事项（{len(shown_items)} / {len(c.items_df)}）")
    st.dataframe(
        app_support.items_table(shown_items, shown_metrics, sectors),
        hide_index=True,
        width="stretch",
        column_config={
            "已更正": st.column_config.CheckboxColumn("已更正"),
            "累计": st.column_config.CheckboxColumn("累计", help="累计数：按最新值计，不相加"),
            "重复": st.column_config.TextColumn("重复", help="重复报道：只按首次报道计一次"),
        },
    )
    with st.expander("更正事项（乡镇、村、行业、重复、累计）"):
        review.review(store, c.items_df, c.sample_bulletin, c.gazetteer, sectors)
    st.subheader("导出当前视图")
    panels.exports(view, f"{c.name}-乡镇工作动态")
    months = app_support.month_options(c.items_df)
    end_month = (c.filters.date_to or "")[:7] or None
    panels.report_buttons(_view(every_month), months, end_month, f"{c.name}-月报")
    panels.data_sources_section(
        c.code, c.active.layers, c.active.meta, c.sample_bulletin is not None
    )
    _sync_url(c)


main()
