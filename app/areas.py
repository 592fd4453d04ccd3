"""What differs between a county and a prefecture in the app: the area menu, the township layers
in use, the 乡镇 filter's names, the notices, the map view and the data sources. Everything is
computed in ``geo`` (:mod:`geo.workflows`, :mod:`geo.app_support`); this module only wires it."""

from __future__ import annotations

import streamlit as st

from app import cache, common
from geo import app_support
from geo.boundaries import CountyLayers
from geo.display import county_units_note
from geo.errors import GeoInputError
from geo.prefecture import Prefecture, is_prefecture_code
from geo.view import boundary_label, data_sources
from geo.workflows import (
    ActiveTownships,
    PrefectureTownships,
    active_townships,
    county_view,
    prefecture_data_sources,
    prefecture_townships,
    prefecture_view,
)


def choose_area(counties: dict[str, str]) -> str:
    """The county or prefecture menu, and the box to find any other one."""
    code = st.selectbox(
        "县（区）或地级市", list(counties), format_func=lambda c: counties[c], key="county"
    )
    with st.expander("其他县（区）或地级市"):
        st.text_input(
            "名称或代码",
            key="other_county",
            placeholder="例如 光山县、411522、信阳市 或 4115",
        )
        st.button("切换", key="other_county_go", on_click=common.add_county)
        if st.session_state.get("_county_error"):
            st.error(app_support.md_escape(st.session_state["_county_error"]))
    return code


def county_active(store, store_path: str, county_code: str) -> ActiveTownships:
    """A county's township layer in use; one that cannot be read is said, and the default used."""
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


def area_active(store, store_path: str, code: str) -> ActiveTownships | PrefectureTownships:
    """The layers in use: one county's, or every county's of a prefecture."""
    if not is_prefecture_code(code):
        return county_active(store, store_path, code)
    try:
        return prefecture_townships(
            cache.area(code),
            store=store,
            layers_of=cache.county_layers_of,
            read_stored=lambda county, meta: cache.stored_boundaries(
                store_path, county, meta["id"]
            ),
        )
    except GeoInputError as err:  # a stored layer that cannot be read: the defaults
        st.error(common.err_line(err))
        return prefecture_townships(cache.area(code), layers_of=cache.county_layers_of)


def towns(code: str, gazetteer, active) -> dict[str, str]:
    """``township code -> name`` for the 乡镇 filter (``县·乡镇`` in a prefecture)."""
    if isinstance(active, PrefectureTownships):
        return app_support.prefecture_towns(active.prefecture, cache.gazetteer)
    if gazetteer is not None:
        return {t.code: t.name for t in gazetteer.townships}
    if active.has_polygons:
        tw = active.townships
        return dict(zip(tw["township_code"], tw["township"], strict=False))
    return {}


def notices(active) -> None:
    """What the map's layers are, said plainly under it (approximate township areas are said
    by the badge on the map, which opens the full explanation)."""
    if isinstance(active, PrefectureTownships):
        missing = [active.prefecture.county_name(c) for c in active.without_polygons]
        if missing:
            st.info(county_units_note(missing) + "。乡镇边界请在各县（区）页面上传。")
        return
    if not active.has_polygons and active.layers.outline is not None:
        st.info("该县尚无乡镇边界：地图只显示县界与全县事项，请在侧栏上传乡镇边界。")
    elif active.meta is not None:
        st.caption("乡镇边界：" + app_support.md_escape(boundary_label(active.meta)))


def view(c, villages):
    """The map view of the chosen area (see ``streamlit_app._County``)."""
    if isinstance(c.active, PrefectureTownships):
        return prefecture_view(
            c.items_df,
            c.metrics_df,
            c.active,
            filters=c.filters,
            metric_key=c.metric,
            basemap=c.basemap,
            sample=c.sample_bulletin is not None,
        )
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


def townships_of(active):
    """The polygons the map's clicks are read against."""
    if isinstance(active, PrefectureTownships):
        return active.townships()
    return active.townships


def sources(active, sample: bool) -> list[dict]:
    """The 数据来源 rows of the area."""
    if isinstance(active, PrefectureTownships):
        return prefecture_data_sources(active, sample=sample)
    return data_sources(active.county_code, active.layers, active.meta, sample=sample)


def is_prefecture(active) -> bool:
    return isinstance(active, PrefectureTownships)


def gazetteer_of(code: str, prefecture: Prefecture | None):
    """The gazetteer the review form uses: the county's, or (in a prefecture) a reader that
    gives each item's own county's."""
    if prefecture is not None:
        return cache.gazetteer
    try:
        return cache.gazetteer(code)
    except GeoInputError as err:
        st.error(common.err_line(err))
        return None
