"""The main area: the map with its township panel, the trend and compare panels, downloads
and data sources."""

from __future__ import annotations

import copy

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app import cache, common
from geo import aggregate as agg
from geo import app_support, charts, display, trends
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


_PANEL_LABELS = {"": "不显示", "trend": "趋势", "compare": "两期对比"}


def time_section(items_df, metrics_df, metric: str, townships, view, data_key: tuple) -> None:
    """Under the map: the trend panel or the compare-two-periods map (kept in the URL).

    ``items_df``/``metrics_df`` are the county's items with every filter but the dates (and
    what each repeat adds, :func:`geo.trends.counting_frames`); ``view`` gives the township
    layer and the notes of the compare map.
    """
    url_v: agg.ViewState = st.session_state.get("_url_view") or agg.ViewState()
    common.seed("panel", url_v.panel or "")
    panel = st.radio(
        "时间分析",
        list(_PANEL_LABELS),
        format_func=_PANEL_LABELS.get,
        horizontal=True,
        key="panel",
    )
    months = app_support.month_options(items_df)
    if panel == "trend":
        _trend_panel(items_df, metrics_df, metric, townships)
    elif panel == "compare":
        if len(months) < 2:
            st.info("两期对比需要至少两个月的简报。")
            return
        _compare_panel(items_df, metrics_df, metric, view, months, url_v.compare, data_key)


def _trend_panel(items_df, metrics_df, metric: str, townships) -> None:
    county = trends.trend_series(items_df, metrics_df, metric)
    if county.empty:
        st.info("没有带日期的事项，无法显示趋势。")
        return
    code = st.session_state.get("town")
    town = None
    if code:
        town = trends.trend_series(items_df, metrics_df, metric, township_code=code)
    st.altair_chart(charts.trend_chart(county, town, metric), width="stretch")
    label = agg.metric_label(metric)
    st.caption(
        f"{app_support.md_escape(label)}逐月（重复报道只计一次，累计数按最新值）。"
        + ("" if code else "点击地图上的乡镇，可同时查看该乡镇的趋势与排名。")
    )
    if code and town is not None:
        ranks = trends.township_ranks(items_df, metrics_df, metric, code)
        name = town["township"].iloc[0] if len(town) else code
        rows = [
            {
                "月份": trends.period_label_zh(r.period),
                "排名": "—" if r.rank != r.rank else f"第 {int(r.rank)} / {r.n_ranked}",
                label: display.format_value(v, agg.metric_unit_zh(metric)),
            }
            for r, v in zip(ranks.itertuples(), town["value"], strict=True)
        ]
        st.markdown(f"**{app_support.md_escape(name)}** 在各乡镇中的排名")
        st.dataframe(pd.DataFrame(rows), hide_index=True)


def _compare_panel(items_df, metrics_df, metric: str, view, months, from_url, data_key) -> None:
    default = (months[-2], months[-1])
    if from_url:
        first, second = from_url.split(",")
        if first in months and second in months:
            default = (first, second)
    common.seed("cmp_1", default[0])
    common.seed("cmp_2", default[1])
    c1, c2 = st.columns(2)
    first = c1.selectbox("前一期", months, format_func=trends.period_label_zh, key="cmp_1")
    second = c2.selectbox("后一期", months, format_func=trends.period_label_zh, key="cmp_2")
    st.session_state["_compare"] = f"{first},{second}"
    codes = view.table.index.tolist()
    change = trends.period_change(items_df, metrics_df, metric, first, second, codes)
    unit = agg.metric_unit_zh(metric) or "条"
    title = (
        f"{agg.metric_name(metric)}变化：{trends.period_label_zh(second)}"
        f"比{trends.period_label_zh(first)}"
    )
    if view.has_polygons:
        png = cache.change_map_png(
            (*data_key, metric, first, second, repr(view.filters)),
            view,
            change["change"],
            title,
            f"{title}（{unit}）",
        )
        st.image(png, caption=title, width="stretch")
    names = dict(zip(view.table.index, view.table["township"], strict=True))
    table = change.dropna(subset=["change"]).sort_values("change", ascending=False)
    st.dataframe(
        pd.DataFrame(
            {
                "乡镇": [names.get(c, c) for c in table.index],
                trends.period_label_zh(first): [
                    display.format_value(v, unit) for v in table["value_1"]
                ],
                trends.period_label_zh(second): [
                    display.format_value(v, unit) for v in table["value_2"]
                ],
                "变化": [display.format_change(v, unit) for v in table["change"]],
            }
        ),
        hide_index=True,
    )


def report_buttons(view_all, months: list[str], end_month: str | None, stem: str) -> None:
    """The monthly report of the chosen month (the slider's last month), DOCX and PDF."""
    if not months or not view_all.can_draw_map:
        return
    period = end_month if end_month in months else months[-1]
    specs = app_support.report_specs(
        view_all, period, f"{stem}-{period}", st.session_state.get("town")
    )
    cols = st.columns(len(specs) + 2)
    for col, spec in zip(cols, specs, strict=False):
        col.download_button(
            spec.label,
            data=spec.build,
            file_name=spec.file_name,
            mime=spec.mime,
            on_click="ignore",
            key=f"dl_{spec.fmt}",
        )
