"""The main area: header bar with key figures and downloads (the monthly report among them),
the map with its township drawer, the trend and compare-two-periods panels under it, the item
table (a row jumps to its place on the map) and the data sources."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st
from streamlit import dataframe_util

from app import cache, common, map_frame
from geo import aggregate as agg
from geo import app_support, charts, display, figures, trends
from geo.picture import png_presets
from geo.webmap import display_to_wgs84

#: Rows the item table sends to a planner's browser at most (the first ones in its order):
#: every row of a 100,000-item store would be ~20 MB per planner; filters and the CSV export
#: reach the others.
TABLE_ROWS_MAX = 20_000
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


def header_bar(
    view,
    view_key: tuple,
    county_items,
    county_metrics,
    *,
    sample: bool,
    stem: str,
    report=None,
) -> None:
    """One compact line over the map: county · metric · period · count, the key figures of
    the current filter, and the downloads one tap away (``report()``, when given, draws the
    monthly report's buttons among them)."""

    # counted as the choropleth counts; the key holds the review toggle
    head = cache.data_fact(
        "header", view_key, lambda: figures.header(view, county_items, county_metrics)
    )
    line, key_figures = head.line, head.figures
    with st.container(key="geo_head", horizontal=True, vertical_alignment="center"):
        line = app_support.md_escape(line)
        name, _, rest = line.partition(" · ")
        badge = " :orange-badge[示例数据]" if sample else ""
        if head.note:  # the note is fixed wording and a number: nothing to escape
            badge += f" :gray-badge[{head.note}]"
        st.markdown(
            f"**{name}** · {rest}{badge}", width="content", help=SAMPLE_NOTE if sample else None
        )
        with st.container(key="geo_kpis", horizontal=True, width="content"):
            for fig in key_figures:
                st.metric(fig.label, fig.value, help=fig.help, width="content")
        with st.popover("导出", icon=":material/download:", key="geo_exports"):
            st.caption("导出当前视图（筛选、指标与底图同地图）")
            exports(view, stem)
            if report is not None:
                report()


def _metric_names(metrics_df) -> dict[str, str]:
    if "metric_key" not in metrics_df:
        return {}
    return {k: agg.metric_label(k) for k in metrics_df["metric_key"].dropna().unique()}


def _township_panel(view, code: str, name: str, sectors: dict[str, str]) -> None:
    """The drawer of one township: rank, items, totals, and 只看此乡镇 near the top."""
    items_df, metrics_df = view.items_df, view.metrics_df
    info = app_support.township_summary(
        items_df,
        metrics_df,
        code,
        _metric_names(metrics_df),
        include_needs_review=view.count_needs_review,
    )
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
    if info["total_texts"]:
        lines = [
            f"- {app_support.md_escape(name)}：{app_support.md_escape(text)}"
            for name, text in info["total_texts"][:8]
        ]
        st.markdown("**合计**\n\n" + "\n".join(lines))
    _item_expanders(info["items"])
    if info["n_items"] > _PANEL_ITEMS:
        st.caption(f"另有 {info['n_items'] - _PANEL_ITEMS} 条，点“只看此乡镇”在事项表中查看。")
    _left_out_items(info["left_out"])


def _left_out_items(left_out) -> None:
    """The township's items the review toggle leaves out of its figures, listed after a note."""
    if left_out.empty:
        return
    st.caption(display.left_out_note(len(left_out)) + "（地图上为空心圆，不计入以上数字）：")
    _item_expanders(left_out)


def _item_expanders(items) -> None:
    """The first :data:`_PANEL_ITEMS` items, each a titled expander holding its text."""
    for row in items.head(_PANEL_ITEMS).itertuples():
        with st.expander(app_support.md_escape(display.item_title(row.headline, row.body))):
            st.text(row.body or "")


def _only_township(code: str) -> None:
    st.session_state["f_towns"] = [code]
    st.session_state["panel"] = "items"  # the township's items, all of them, in the table


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
        changed = code != st.session_state.get("town")
        st.session_state["town"] = code
        if changed and st.session_state.get("panel") == "trend":
            st.rerun(scope="app")  # the trend panel under the map adds the township's line


def _keep_view(state, basemap: str) -> None:
    center, zoom = (state or {}).get("center"), (state or {}).get("zoom")
    if center and zoom:
        # the map reports GCJ-02 on 高德: keep WGS84 so links and other base maps agree
        lat, lon = display_to_wgs84(center["lat"], center["lng"], basemap)
        now = (round(lat, 5), round(lon, 5), int(zoom))
        if now != st.session_state.get("_view_now"):
            st.session_state["_view_now"] = now
            # the whole link as the last full run wrote it, with the new view: a fragment
            # rerun can carry the browser's link from before that run (without the panel just
            # opened), and updating that one would drop what the run had put in
            params = dict(st.session_state.get("_url_params") or st.query_params.to_dict())
            params |= {"lat": f"{now[0]:.5f}", "lon": f"{now[1]:.5f}", "zoom": str(now[2])}
            st.session_state["_url_params"] = params
            st.query_params.from_dict(params)


def _opening(map_key: tuple, focus, start) -> tuple[tuple | None, int | None]:
    """Where the map opens: where the planner left it when the map is new (other items or
    townships), else where the map in the browser opened, so a metric change keeps the same
    map (same script, same component) and only restyles it, at the planner's current view."""
    location = (start.lat, start.lon) if start.lat is not None else None
    opened = st.session_state.get("_map_opened")
    if opened is not None and opened[0] == (map_key, focus):
        return opened[1], opened[2]
    st.session_state["_map_opened"] = ((map_key, focus), location, start.zoom)
    return location, start.zoom


@st.fragment
def map_and_panel(view, keys, townships, sectors, start, focus=None, tianditu_key=None) -> None:
    """Map and township drawer. A fragment: clicking or panning the map reruns only this part.
    ``keys`` are the view's key and the same key without the metric (the map in the browser
    is kept across metrics, and only restyled); ``tianditu_key`` is given only while a 天地图
    base map is on."""
    if not view.can_draw_map:  # no map, so nothing to click for the township panel either
        st.info(
            "该县尚无乡镇边界，无法绘制地图：请在侧栏“乡镇边界”一节上传乡镇边界"
            "（shapefile zip / GeoJSON / GeoPackage）。事项表（下方选择）及 CSV、GeoJSON、"
            "GeoPackage 导出不受影响。"
        )
        return
    # ``start`` is fixed between full reruns, so panning (a fragment rerun) never changes the
    # map's HTML, which would re-mount it.
    view_key, map_key = keys
    location, zoom = _opening(map_key, focus, start)
    key = (*map_key, location, zoom, focus)
    # the box holds the map and, once a township is clicked, the drawer over it
    with st.container(key="geo_mapbox"):
        with st.container(key="geo_map"):
            frame = cache.built_map(key, view, location, zoom, tianditu_key, focus, APP_EXPLANATION)
            state = map_frame.draw(
                frame,
                height=560,  # the CSS of app/style.css sizes the frame to the screen
                use_container_width=True,
                returned_objects=["last_active_drawing", "last_object_clicked", "center", "zoom"],
            )
        map_frame.restyle(cache.map_restyle(view_key, view))  # colours, tips, legend
        _take_click(state, townships)
        _keep_view(state, view.basemap)
        code = st.session_state.get("town")
        if code and view.has_polygons:
            names = dict(zip(townships["township_code"], townships["township"], strict=True))
            with st.container(key="town_panel"):
                _township_panel(view, code, names.get(code, ""), sectors)


@dataclass(frozen=True)
class ItemTable:
    """The item table of a view, shared by every session showing the view (read-only).

    Attributes
    ----------
    frame : DataFrame
        :func:`geo.app_support.planner_table` (empty without items).
    ids : tuple of str
        Item id of each row.
    key : str
        The table widget's key: a new table (other filters or metric) is a new widget, so no
        stale row stays picked.
    metric : str or None
        The metric column shown (None for 事项数).
    n_rows : int
        Rows of the whole table (``frame`` holds at most :data:`TABLE_ROWS_MAX`).
    arrow : pyarrow.Table or None
        ``frame`` converted to Arrow as ``st.dataframe`` converts it, once for every session
        (each session then only serializes it).
    """

    frame: pd.DataFrame
    ids: tuple[str, ...]
    key: str
    metric: str | None
    n_rows: int = 0
    arrow: object = None


def shared_table(view, view_key: tuple, sectors: dict[str, str]) -> ItemTable:
    """The view's :class:`ItemTable`, built once for every session with the same view."""

    def build() -> ItemTable:
        metric = None if view.metric_key == "items" else view.metric_key
        if view.items_df.empty:
            return ItemTable(pd.DataFrame(), (), "items_table_empty", metric)
        whole = app_support.planner_table(view.items_df, view.metrics_df, sectors, metric)
        frame = whole.head(TABLE_ROWS_MAX)
        ids = tuple(frame["编号"].tolist())
        key = "items_table_" + app_support.content_hash("\n".join(ids))[:12]
        arrow = dataframe_util.convert_pandas_df_to_arrow_table(frame)
        return ItemTable(frame, ids, key, metric, len(whole), arrow)

    return cache.shared_table(view_key, build)


def table_focus(view, table: ItemTable) -> str | None:
    """The item the planner picked in the table (``item_id``), read before the map is drawn so
    the map opens on it; a newly picked item moves the map there."""
    picked = (st.session_state.get(table.key) or {}).get("selection", {}).get("rows", [])
    ids = table.ids
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


def items_section(view, table: ItemTable, n_total: int) -> None:
    """The item table: the chosen metric as a sortable column, empty columns left out; picking
    a row shows the item on the map."""
    st.subheader(f"事项（{len(view.items_df)} / {n_total}）")
    if view.items_df.empty:
        st.caption("没有符合当前筛选的事项。" if n_total else "该县还没有事项：请在侧栏上传简报。")
        return
    metric = table.metric
    hint = "点选一行，地图即定位到该事项；" if view.can_draw_map else ""
    hint += "点列标题排序。"
    if metric:
        hint += f"默认按{agg.metric_name(metric)}从大到小排列。"
    if view.left_out:  # listed to be checked, but the map's figures leave them out
        hint += f"表中列出全部事项，其中 {view.left_out} 条定位待核对，不计入地图分级与合计。"
    if table.n_rows > len(table.frame):
        hint += (
            f"表中列出前 {len(table.frame):,} 条（共 {table.n_rows:,} 条）：请用筛选缩小范围，"
            "全部事项可从“导出”下载 CSV。"
        )
    st.caption(hint)
    config = {
        "已更正": st.column_config.CheckboxColumn("已更正"),
        "累计": st.column_config.CheckboxColumn("累计", help="累计数：按最新值计，不相加"),
        "重复": st.column_config.TextColumn("重复", help="重复报道：只按首次报道计一次"),
    }
    numeric = [c for c in table.frame.columns if c not in app_support.TABLE_COLUMNS]
    for col in numeric:
        config[col] = st.column_config.NumberColumn(col, format="%.6g")
    st.dataframe(
        table.frame if table.arrow is None else table.arrow,
        hide_index=True,
        width="stretch",
        column_config=config,
        key=table.key,
        on_select="rerun",
        selection_mode="single-row",
        placeholder="—",  # an item without the chosen metric
    )


def exports(view, stem: str) -> None:
    """Download buttons; each file is generated only when its button is clicked. The PNG's
    size is chosen first (WeChat, A4 portrait or landscape at 300 dpi, 16:9 slide); the CSVs
    are the 报表版 (Chinese headers, codes kept as text) unless English keys are chosen."""
    presets = png_presets()
    preset = st.selectbox(
        "图片尺寸",
        list(presets),
        format_func=lambda k: presets[k].label_zh,
        key="png_preset",
        help="地图铺满画面；图上一行简注来源，完整来源与许可见“图片的数据来源”文件。",
    )
    choice = st.radio(
        "CSV 列名",
        list(app_support.CSV_COLUMN_CHOICES),
        horizontal=True,
        key="csv_columns",
        help="报表版：中文表头带单位、领域为中文、代码在 Excel/WPS 中保持为文本；"
        "英文键：供程序读取的原始列名与数值",
    )
    columns = app_support.CSV_COLUMN_CHOICES[choice]
    _download_buttons(app_support.export_specs(view, stem, csv_columns=columns, png_preset=preset))


def _download_buttons(specs) -> None:
    for spec in specs:
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


#: What the planner can open under the map, one at a time (``panel=`` in the URL). Nothing
#: open by default: a first view loads the map, not the table's grid, the charts' Vega or the
#: review forms (their scripts, styles and work cost each new browser and the server).
PANEL_LABELS = {
    "": "无",
    "items": "事项表",
    "trend": "趋势",
    "compare": "两期对比",
    "review": "核对定位",
    "correct": "更正事项",
    "recut": "检查切分",
}
#: The title over each review panel (what its expander used to say).
REVIEW_TITLES = {
    "review": "核对定位（置信度低的事项）",
    "correct": "更正事项（乡镇、村、行业、重复、累计）",
    "recut": "检查事项切分（合并 / 拆分）",
}


def chosen_panel() -> str:
    """The panel open under the map (``""`` for none): the planner's choice, on a session's
    first run the URL's. Read before the map is drawn (a row picked in the table moves it)."""
    url_v: agg.ViewState = st.session_state.get("_url_view") or agg.ViewState()
    common.seed("panel", url_v.panel or "")
    panel = st.session_state.get("panel") or ""
    return panel if panel in PANEL_LABELS else ""


def panel_chooser() -> str:
    """The row of panels under the map; returns the one open (kept in the URL). The labels
    never change (no counts in them): the browser resets a radio whose labels change."""
    return st.radio(
        "地图下方显示",
        list(PANEL_LABELS),
        format_func=PANEL_LABELS.get,
        horizontal=True,
        key="panel",
        help="一次打开一个面板：事项表、趋势、两期对比与核对更正；所选面板写在链接里。",
    )


def time_section(
    panel: str,
    items_df,
    metrics_df,
    metric: str,
    townships,
    view,
    data_key: tuple,
    *,
    months,
    left_out: int = 0,
) -> None:
    """The trend panel or the compare-two-periods map (``panel``), under the map.

    ``items_df``/``metrics_df`` are the county's items with every filter but the dates (and
    what each repeat adds, :func:`geo.trends.counting_frames`) that the map counts;
    ``left_out`` items whose place needs review were left out by the sidebar's toggle (said
    under the panel, as the map's exports say it); ``view`` gives the township layer and the
    notes of the compare map; ``months`` their months (:func:`geo.app_support.month_options`).
    """
    if left_out:
        st.caption(
            f"{display.left_out_note(left_out)}的事项"
            "（与地图分级一致：侧栏“分级统计计入待核对的定位”已关闭）。"
        )
    if panel == "trend":
        _trend_panel(items_df, metrics_df, metric, townships)
    elif len(months) < 2:
        st.info("两期对比需要至少两个月的简报。")
    else:
        url_v: agg.ViewState = st.session_state.get("_url_view") or agg.ViewState()
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
                "排名": figures.rank_text(r.rank, r.n_ranked, tied=r.tied),
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


def report_buttons(view, view_all, months: list[str], end_month: str | None, stem: str) -> None:
    """The monthly report of the chosen month (the period slider's last month), DOCX and PDF;
    each file is made only when its button is clicked (``view_all()`` then gives the view
    with every month, of which the report shows one and compares it with the one before)."""
    if not months or not view.can_draw_map:
        return
    period = end_month if end_month in months else months[-1]
    st.caption(f"{trends.period_label_zh(period)}月报（地图、两期对比、趋势、乡镇排名、事项）")
    town = st.session_state.get("town")
    _download_buttons(app_support.report_specs(view_all, period, f"{stem}-{period}", town))
