"""The main area: header bar with key figures and downloads, the map with its township drawer,
the item table (a row jumps to its place on the map) and the data sources."""

from __future__ import annotations

import copy

import streamlit as st
from streamlit_folium import st_folium

from app import cache
from geo import aggregate as agg
from geo import app_support, display, figures
from geo.picture import png_presets
from geo.webmap import display_to_wgs84

_PANEL_ITEMS = 30  # more go to the table below; hundreds of expanders would slow the page
_FOCUS_ZOOM = 12  # zoom of a jump from the table to an item: the item and its township
#: What the approximate-boundary badge on the app's map opens: the general explanation, with
#: where to fix it in this app.
APP_EXPLANATION = (
    *display.APPROXIMATE_EXPLANATION[:-1],
    "请在侧栏“乡镇边界”一节导入官方边界（shapefile zip / GeoJSON / GeoPackage），"
    "地图与导出即改用官方边界。",
)
SAMPLE_NOTE = "示例数据：内置的息县工作简报。上传简报后显示数据库中的简报。"


def header_bar(view, county_items, county_metrics, *, sample: bool, stem: str) -> None:
    """One compact line over the map: county · metric · period · count, the key figures of
    the current filter, and the downloads one tap away."""
    with st.container(key="geo_head", horizontal=True, vertical_alignment="center"):
        line = app_support.md_escape(figures.header_line(view, len(county_items)))
        name, _, rest = line.partition(" · ")
        badge = " :orange-badge[示例数据]" if sample else ""
        st.markdown(
            f"**{name}** · {rest}{badge}", width="content", help=SAMPLE_NOTE if sample else None
        )
        with st.container(key="geo_kpis", horizontal=True, width="content"):
            for fig in figures.key_figures(view, county_items, county_metrics):
                st.metric(fig.label, fig.value, help=fig.help, width="content")
        with st.popover("导出", icon=":material/download:", key="geo_exports"):
            st.caption("导出当前视图（筛选、指标与底图同地图）")
            exports(view, stem)


def _metric_names(metrics_df) -> dict[str, str]:
    if "metric_key" not in metrics_df:
        return {}
    return {k: agg.metric_label(k) for k in metrics_df["metric_key"].dropna().unique()}


def _township_panel(view, code: str, name: str, sectors: dict[str, str]) -> None:
    """The drawer of one township: rank, items, totals, and 只看此乡镇 near the top."""
    items_df, metrics_df = view.items_df, view.metrics_df
    info = app_support.township_summary(items_df, metrics_df, code, _metric_names(metrics_df))
    with st.container(key="town_head", horizontal=True, vertical_alignment="center"):
        st.subheader(app_support.md_escape(name or info["township"]), width="stretch")
        # The filter widget is already drawn: change it in a callback, then rerun the whole
        # app (this runs inside the map fragment).
        if st.button("只看此乡镇", key="town_only", on_click=_only_township, args=(code,)):
            st.rerun()
        st.button("关闭", key="town_close", icon=":material/close:", on_click=_close_township)
    rank = figures.township_rank(view, code)
    with st.container(horizontal=True):
        # no items: 无数据, as the legend and the tooltip say (never "0" beside 无数据)
        st.metric("事项数", info["n_items"] or display.NODATA_LABEL, width="content")
        st.metric(
            "排名",
            rank.text,
            width="content",
            help=f"按{rank.metric}在有数据的 {rank.of} 个乡镇中排名（共 {rank.n_townships} 个）",
        )
        if view.metric_key != "items":
            st.metric(agg.metric_name(view.metric_key), rank.value, width="content")
    if info["sectors"]:
        st.caption(
            "行业：" + "、".join(f"{sectors.get(s, s)} {n}" for s, n in info["sectors"].items())
        )
    if info["totals"]:
        lines = [
            f"- {app_support.md_escape(label)}：{display.format_value(value)}"
            for label, value in info["totals"][:8]
        ]
        st.markdown("**合计**\n\n" + "\n".join(lines))
    for row in info["items"].head(_PANEL_ITEMS).itertuples():
        with st.expander(app_support.md_escape(display.item_title(row.headline, row.body))):
            st.text(row.body or "")
    if info["n_items"] > _PANEL_ITEMS:
        st.caption(f"另有 {info['n_items'] - _PANEL_ITEMS} 条，点“只看此乡镇”在下表查看。")


def _only_township(code: str) -> None:
    st.session_state["f_towns"] = [code]


def _close_township() -> None:
    st.session_state.pop("town", None)


def _take_click(state, townships) -> None:
    """A new click on a township opens its drawer (the same click read again does not; a
    click on an item marker shows the item's popup only)."""
    click = app_support.map_click(state)
    if click is None or click == st.session_state.get("_last_click"):
        return
    st.session_state["_last_click"] = click
    if app_support.clicked_a_marker(state):  # an item: its popup tells about it
        return
    code = app_support.township_from_map(state, townships)
    if code:
        st.session_state["town"] = code


def _keep_view(state, basemap: str) -> None:
    center, zoom = (state or {}).get("center"), (state or {}).get("zoom")
    if center and zoom:
        # the map reports GCJ-02 on 高德: keep WGS84 so links and other base maps agree
        lat, lon = display_to_wgs84(center["lat"], center["lng"], basemap)
        now = (round(lat, 5), round(lon, 5), int(zoom))
        if now != st.session_state.get("_view_now"):
            st.session_state["_view_now"] = now
            st.query_params.update(
                {"lat": f"{now[0]:.5f}", "lon": f"{now[1]:.5f}", "zoom": str(now[2])}
            )


@st.fragment
def map_and_panel(view, map_key, townships, sectors, start, focus=None, tianditu_key=None) -> None:
    """Map and township drawer. A fragment: clicking or panning the map reruns only this part.
    ``tianditu_key`` is given only while a 天地图 base map is on."""
    if not view.can_draw_map:  # no map, so nothing to click for the township panel either
        st.info(
            "该县尚无乡镇边界，无法绘制地图：请在侧栏“乡镇边界”一节上传乡镇边界"
            "（shapefile zip / GeoJSON / GeoPackage）。下表及 CSV、GeoJSON、GeoPackage "
            "导出不受影响。"
        )
        return
    # ``start`` is fixed between full reruns, so panning (a fragment rerun) never changes the
    # map's HTML, which would re-mount it.
    location = (start.lat, start.lon) if start.lat is not None else None
    key = (*map_key, location, start.zoom, focus)
    # the box holds the map and, once a township is clicked, the drawer over it
    with st.container(key="geo_mapbox"):
        with st.container(key="geo_map"):
            built = cache.built_map(
                key, view, location, start.zoom, tianditu_key, focus, APP_EXPLANATION
            )
            state = st_folium(
                copy.deepcopy(built),
                key="map",
                height=560,  # the CSS of app/style.css sizes the frame to the screen
                use_container_width=True,
                returned_objects=["last_active_drawing", "last_object_clicked", "center", "zoom"],
                render=False,
            )
        _take_click(state, townships)
        _keep_view(state, view.basemap)
        code = st.session_state.get("town")
        if code and view.has_polygons:
            names = dict(zip(townships["township_code"], townships["township"], strict=True))
            with st.container(key="town_panel"):
                _township_panel(view, code, names.get(code, ""), sectors)


def table_focus(view) -> str | None:
    """The item the planner picked in the table (``item_id``), read before the map is drawn so
    the map opens on it; a newly picked item moves the map there."""
    table_key = st.session_state.get("_table_key")
    picked = (st.session_state.get(table_key) or {}).get("selection", {}).get("rows", [])
    ids = st.session_state.get("_table_ids", [])
    item = ids[picked[0]] if picked and picked[0] < len(ids) else None
    if item is None:
        st.session_state.pop("_focus_item", None)
        return None
    if item != st.session_state.get("_focus_item"):
        st.session_state["_focus_item"] = item
        where = app_support.item_location(view, item)
        if where is None:
            st.toast("该事项在地图上没有位置（乡镇不在边界图层中或地点不详）。", icon="ℹ️")
        else:
            st.toast("已在上方地图定位所选事项。", icon=":material/my_location:")
            zoom = max(_FOCUS_ZOOM, (st.session_state.get("_view_now") or (0, 0, 0))[2])
            st.session_state["_view_now"] = (round(where[0], 5), round(where[1], 5), zoom)
    return item


def items_section(view, n_total: int, sectors: dict[str, str]) -> None:
    """The item table: the chosen metric as a sortable column, empty columns left out; picking
    a row shows the item on the map."""
    st.subheader(f"事项（{len(view.items_df)} / {n_total}）")
    if view.items_df.empty:
        st.caption("没有符合当前筛选的事项。" if n_total else "该县还没有事项：请在侧栏上传简报。")
        return
    metric = None if view.metric_key == "items" else view.metric_key
    table = app_support.planner_table(view.items_df, view.metrics_df, sectors, metric)
    ids = table["编号"].tolist()
    # a new table (other filters or metric) is a new widget: no stale row stays picked
    table_key = "items_table_" + app_support.content_hash("\n".join(ids))[:12]
    st.session_state["_table_ids"], st.session_state["_table_key"] = ids, table_key
    hint = "点选一行，地图即定位到该事项；" if view.can_draw_map else ""
    hint += "点列标题排序。"
    if metric:
        hint += f"默认按{agg.metric_name(metric)}从大到小排列。"
    st.caption(hint)
    config = {"已更正": st.column_config.CheckboxColumn("已更正")}
    numeric = [c for c in table.columns if c not in app_support.TABLE_COLUMNS]
    for col in numeric:
        config[col] = st.column_config.NumberColumn(col, format="%.6g")
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config=config,
        key=table_key,
        on_select="rerun",
        selection_mode="single-row",
        placeholder="—",  # an item without the chosen metric
    )


def exports(view, stem: str) -> None:
    """Download buttons; each file is generated only when its button is clicked. The PNG's
    size is chosen first (WeChat, A4 portrait or landscape at 300 dpi, 16:9 slide)."""
    presets = png_presets()
    preset = st.selectbox(
        "图片尺寸",
        list(presets),
        format_func=lambda k: presets[k].label_zh,
        key="png_preset",
        help="地图铺满画面；图上一行简注来源，完整来源与许可见“图片的数据来源”文件。",
    )
    for spec in app_support.export_specs(view, stem, png_preset=preset):
        st.download_button(
            spec.label,
            data=spec.build,
            file_name=spec.file_name,
            mime=spec.mime,
            on_click="ignore",
            key=f"dl_{spec.fmt}",
            width="stretch",
        )


def data_sources_section(rows: list[dict]) -> None:
    """The 数据来源 section: every source with its licence (CC BY 4.0 and the outlines' ODbL
    need the attribution)."""
    with st.expander("数据来源"):
        for r in rows:
            licence = f"（{app_support.md_escape(r['licence'])}）" if r["licence"] else ""
            st.markdown(
                f"- **{app_support.md_escape(r['data'])}**：{app_support.md_escape(r['source'])}"
                + licence
            )
