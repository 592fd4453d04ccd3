"""The main area: the map with its township panel, downloads and data sources."""

from __future__ import annotations

import copy

import streamlit as st
from streamlit_folium import st_folium

from app import cache
from geo import aggregate as agg
from geo import app_support, display
from geo.view import data_sources
from geo.webmap import display_to_wgs84

_PANEL_ITEMS = 30  # more go to the table below; hundreds of expanders would slow the page


def _township_panel(code: str, name: str, items_df, metrics_df, sectors: dict[str, str]) -> None:
    info = app_support.township_summary(items_df, metrics_df, code, _metric_names(metrics_df))
    st.subheader(app_support.md_escape(name or info["township"]))
    st.metric("事项数", info["n_items"])
    if info["sectors"]:
        st.caption(
            "行业：" + "、".join(f"{sectors.get(s, s)} {n}" for s, n in info["sectors"].items())
        )
    for label, value in info["totals"][:8]:
        st.write(f"{app_support.md_escape(label)}：{display.format_value(value)}")
    for row in info["items"].head(_PANEL_ITEMS).itertuples():
        with st.expander(app_support.md_escape(display.item_title(row.headline, row.body))):
            st.text(row.body or "")
    if info["n_items"] > _PANEL_ITEMS:
        st.caption(f"另有 {info['n_items'] - _PANEL_ITEMS} 条，点“只看此乡镇”在下表查看。")
    # The filter widget is already drawn: change it in a callback, then rerun the whole app
    # (this runs inside the map fragment).
    if st.button("只看此乡镇", key="town_only", on_click=_only_township, args=(code,)):
        st.rerun()


def _only_township(code: str) -> None:
    st.session_state["f_towns"] = [code]


def _metric_names(metrics_df) -> dict[str, str]:
    if "metric_key" not in metrics_df:
        return {}
    return {k: agg.metric_label(k) for k in metrics_df["metric_key"].dropna().unique()}


@st.fragment
def map_and_panel(view, map_key, townships, items_df, metrics_df, sectors, start) -> None:
    """Map and township panel. A fragment: clicking or panning the map reruns only this part."""

    if not view.can_draw_map:  # no map, so nothing to click for the township panel either
        st.info(
            "该县尚无乡镇边界，无法绘制地图：请在侧栏“乡镇边界”一节上传乡镇边界"
            "（shapefile zip / GeoJSON / GeoPackage）。下表及 CSV、GeoJSON、GeoPackage "
            "导出不受影响。"
        )
        return
    map_col, panel_col = st.columns([3, 1])
    with map_col:
        # ``start`` is fixed between full reruns, so panning (a fragment rerun) never
        # changes the map's HTML, which would re-mount it.
        location = (start.lat, start.lon) if start.lat is not None else None
        key = (*map_key, location, start.zoom)
        m = copy.deepcopy(cache.built_map(key, view, location, start.zoom, cache.tianditu_key()))
        state = st_folium(
            m,
            key="map",
            height=560,
            use_container_width=True,
            returned_objects=["last_active_drawing", "last_object_clicked", "center", "zoom"],
            render=False,
        )
        clicked = app_support.township_from_map(state, townships)
        if clicked:
            st.session_state["town"] = clicked
        center, zoom = (state or {}).get("center"), (state or {}).get("zoom")
        if center and zoom:
            # the map reports GCJ-02 on 高德: keep WGS84 so links and other base maps agree
            lat, lon = display_to_wgs84(center["lat"], center["lng"], view.basemap)
            now = (round(lat, 5), round(lon, 5), int(zoom))
            if now != st.session_state.get("_view_now"):
                st.session_state["_view_now"] = now
                st.query_params.update(
                    {"lat": f"{now[0]:.5f}", "lon": f"{now[1]:.5f}", "zoom": str(now[2])}
                )
    with panel_col:
        code = st.session_state.get("town")
        if code:
            names = {}
            if townships is not None and "township" in townships:
                names = dict(zip(townships["township_code"], townships["township"], strict=True))
            _township_panel(code, names.get(code, ""), items_df, metrics_df, sectors)
        elif view.has_polygons:  # an outline-only map has no township to click
            st.caption("点击地图上的乡镇查看其事项与合计。")


def exports(view, stem: str) -> None:
    """Download buttons; each file is generated only when its button is clicked."""
    specs = app_support.export_specs(view, stem)
    cols = st.columns(len(specs))
    for col, spec in zip(cols, specs, strict=True):
        col.download_button(
            spec.label,
            data=spec.build,
            file_name=spec.file_name,
            mime=spec.mime,
            on_click="ignore",
            key=f"dl_{spec.fmt}",
        )


def data_sources_section(county_code: str, layers, boundary_meta, sample: bool) -> None:
    """The 数据来源 section: every source with its licence (CC BY 4.0 needs the attribution)."""
    rows = data_sources(county_code, layers, boundary_meta, sample=sample)
    with st.expander("数据来源"):
        for r in rows:
            licence = f"（{app_support.md_escape(r['licence'])}）" if r["licence"] else ""
            st.markdown(
                f"- **{app_support.md_escape(r['data'])}**：{app_support.md_escape(r['source'])}"
                + licence
            )
