"""The sidebar's filters and base map, seeded from the URL on a session's first run."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from app import cache, common
from geo import aggregate as agg
from geo import app_support
from geo.errors import GeoInputError
from geo.trends import period_label_zh
from geo.webmap import BASEMAPS


def filters_sidebar(
    items_df, metrics_df, towns: dict[str, str], sectors: dict[str, str], data_key: tuple
):
    """Filter widgets; returns (Filters, metric_key).

    What the widgets offer (metrics, bulletins, ranges) is worked out once per ``data_key``
    for every session (:func:`app.cache.data_fact`)."""
    url_f: agg.Filters = st.session_state.get("_url_filters") or agg.Filters()
    st.header("筛选")
    chosen_sectors = _multi("f_sectors", "行业", sectors, url_f.sectors, "全部行业")
    metric = _metric_choice(items_df, metrics_df, url_f, data_key)
    metric_min, metric_max = _metric_range(metrics_df, metric, url_f, data_key)
    chosen_towns = _multi("f_towns", "乡镇", towns, url_f.townships, "全部乡镇")
    b_labels = bulletin_labels(items_df, data_key)
    chosen_bulletins = _multi("f_bulletins", "简报", b_labels, url_f.bulletins, "全部简报")
    date_from, date_to = _period_range(items_df, url_f, data_key)
    common.seed("f_text", url_f.text)
    text = st.text_input("搜索（标题、正文、单位）", key="f_text")
    filters = agg.Filters(
        sectors=tuple(chosen_sectors),
        townships=tuple(chosen_towns),
        bulletins=tuple(chosen_bulletins),
        date_from=date_from,
        date_to=date_to,
        text=text.strip(),
        metric_key=metric if metric_min is not None or metric_max is not None else None,
        metric_min=metric_min,
        metric_max=metric_max,
    )
    return filters, metric


def bulletin_labels(items_df, data_key: tuple) -> dict[str, str]:
    """``bulletin_id -> menu label`` of the data, shared by every session."""
    return cache.data_fact(
        "bulletin_labels", data_key, lambda: app_support.bulletin_labels(items_df)
    )


def _multi(key: str, label: str, options: dict[str, str], from_url, placeholder: str) -> list:
    """A multiselect over ``options`` (key -> shown name), first seeded from the URL."""
    common.seed(key, [o for o in from_url if o in options])
    return st.multiselect(
        label,
        list(options),
        format_func=lambda o: options.get(o, o),
        placeholder=placeholder,
        key=key,
    )


def _metric_choice(items_df, metrics_df, url_f: agg.Filters, data_key: tuple) -> str:
    url_v: agg.ViewState = st.session_state.get("_url_view") or agg.ViewState()

    def build() -> dict[str, str]:
        catalog = agg.metric_catalog(metrics_df, items_df)
        return {r.key: f"{agg.metric_label(r.key)} · {int(r.n)}" for r in catalog.itertuples()}

    labels = cache.data_fact("metric_labels", data_key, build)
    metric_key = url_f.metric_key or url_v.metric
    common.seed("f_metric", metric_key, metric_key in labels)
    return st.selectbox(
        "指标", list(labels), format_func=lambda k: labels.get(k, k), key="f_metric"
    )


def _metric_range(metrics_df, metric: str, url_f: agg.Filters, data_key: tuple) -> tuple:
    """The chosen metric's range slider with two number boxes beside it that move with it;
    ``(min, max)`` in base units, None = open."""
    lo_hi = cache.data_fact(
        "metric_bounds", (*data_key, metric), lambda: app_support.metric_bounds(metrics_df, metric)
    )
    # whole 万元/亿元 for money, whole units otherwise; filters get base units back
    scale = app_support.metric_slider(metric, *lo_hi) if lo_hi is not None else None
    if scale is None:
        return None, None
    # Bounds in the key: new data gives a fresh slider instead of an out-of-range value.
    rkey = f"f_range_{metric}_{lo_hi[0]:g}_{lo_hi[1]:g}"
    fine, fine_unit = app_support.fine_scale(scale)
    if url_f.metric_key == metric and rkey not in st.session_state:
        exact = (url_f.metric_min, url_f.metric_max)
        start = scale.lo if exact[0] is None else scale.to_slider(exact[0])
        end = scale.hi if exact[1] is None else scale.to_slider(exact[1], upper=True)
        common.seed(rkey, (start, max(start, end)))
        common.seed(f"{rkey}_exact", exact)
    common.seed(f"{rkey}_exact", (None, None))
    _seed_boxes(rkey, scale, fine, lo_hi)
    st.slider(
        f"{agg.metric_name(metric)} 范围（{scale.unit}）",
        min_value=scale.lo,
        max_value=scale.hi,
        value=(scale.lo, scale.hi),
        step=1,
        format=f"%d {scale.unit}",
        key=rkey,
        on_change=_slider_moved,
        args=(rkey, scale, fine),
    )
    low_box, high_box = st.columns(2)
    for box, end, label in ((low_box, "lo", "最小"), (high_box, "hi", "最大")):
        box.number_input(
            f"{label}（{fine_unit}）",
            step=1.0,
            format="%g",
            key=f"{rkey}_{end}",
            on_change=_box_changed,
            args=(rkey, scale, fine),
        )
    exact_min, exact_max = st.session_state[f"{rkey}_exact"]
    return (
        exact_min if exact_min is not None and exact_min > lo_hi[0] else None,
        exact_max if exact_max is not None and exact_max < lo_hi[1] else None,
    )


def _seed_boxes(rkey: str, scale, fine: float, lo_hi) -> None:
    """The number boxes start at the exact bounds, else at the data's ends."""
    exact_min, exact_max = st.session_state[f"{rkey}_exact"]
    common.seed(f"{rkey}_lo", float(lo_hi[0] if exact_min is None else exact_min) / fine)
    common.seed(f"{rkey}_hi", float(lo_hi[1] if exact_max is None else exact_max) / fine)


def _slider_moved(rkey: str, scale, fine: float) -> None:
    """The slider moved: the boxes follow it, and the slider's whole units are the range
    (its ends open)."""
    low, high = st.session_state[rkey]
    exact_min, exact_max = scale.to_range(low, high)
    st.session_state[f"{rkey}_exact"] = (exact_min, exact_max)
    st.session_state[f"{rkey}_lo"] = float(low * scale.scale) / fine
    st.session_state[f"{rkey}_hi"] = float(high * scale.scale) / fine


def _box_changed(rkey: str, scale, fine: float) -> None:
    """A number typed in a box is the exact bound; the slider moves to show it."""
    low = st.session_state[f"{rkey}_lo"] * fine
    high = st.session_state[f"{rkey}_hi"] * fine
    if high < low:
        low, high = high, low
        st.session_state[f"{rkey}_lo"], st.session_state[f"{rkey}_hi"] = low / fine, high / fine
    st.session_state[f"{rkey}_exact"] = (low, high)
    st.session_state[rkey] = (scale.to_slider(low), scale.to_slider(high, upper=True))


def _period_range(items_df, url_f: agg.Filters, data_key: tuple) -> tuple[str | None, str | None]:
    """The period slider in month steps (bulletins of two months or more), else the day
    picker; a shared link's exact days are kept while the slider shows their months."""
    months = cache.data_fact("months", data_key, lambda: app_support.month_options(items_df))
    if len(months) < 2:
        return _date_range(items_df, url_f, data_key)
    key = f"f_period_{months[0]}_{months[-1]}"
    # the start value (a shared link's months, fixed for the session) also makes the slider a
    # range: it is given every run, never through the session state
    start, end = app_support.period_slider_value(months, url_f.date_from, url_f.date_to)
    picked = st.select_slider(
        "时间（按月）",
        options=months,
        value=(start, end),
        format_func=period_label_zh,
        key=key,
    )
    start, end = (picked, picked) if isinstance(picked, str) else picked  # one month or two
    exact = (url_f.date_from, url_f.date_to)
    return app_support.period_filter(months, start, end, exact)


def _date_span(items_df) -> tuple[dt.date, dt.date] | None:
    """First and last bulletin date, None unless the bulletins span several days."""
    dates = pd.to_datetime(items_df["bulletin_date"], errors="coerce").dropna()
    if dates.empty or not dates.min() < dates.max():
        return None
    return dates.min().date(), dates.max().date()


def _date_range(items_df, url_f: agg.Filters, data_key: tuple) -> tuple[str | None, str | None]:
    """The bulletin-date range picker (only when the bulletins span several days)."""
    span = cache.data_fact("date_span", data_key, lambda: _date_span(items_df))
    if span is None:
        return None, None
    dmin, dmax = span
    dkey = f"f_dates_{dmin}_{dmax}"
    if url_f.date_from or url_f.date_to:
        start = dt.date.fromisoformat(url_f.date_from) if url_f.date_from else dmin
        end = dt.date.fromisoformat(url_f.date_to) if url_f.date_to else dmax
        common.seed(dkey, (min(max(start, dmin), dmax), max(min(end, dmax), dmin)))
    picked = st.date_input("简报日期", value=(dmin, dmax), min_value=dmin, max_value=dmax, key=dkey)
    if not (isinstance(picked, tuple | list) and len(picked) == 2):
        return None, None
    date_from = None if picked[0] <= dmin else picked[0].isoformat()
    date_to = None if picked[1] >= dmax else picked[1].isoformat()
    return date_from, date_to


#: What the review toggle covers: every count and total of the view, one rule everywhere.
REVIEW_TOGGLE_HELP = (
    "关闭后，待核对的定位不计入任何数字，只计已确认或置信度足够的定位：地图分级与乡镇提示、"
    "地图上方的事项数、涉及乡镇、涉及行业、合计与占全县、乡镇面板的事项数、合计与排名、"
    "趋势与两期对比、月报与导出（HTML、PNG、PDF、CSV 乡镇表）的统计。"
    "待核对的事项仍以空心圆显示在地图上，并列在事项表与乡镇面板中，注明未计入的条数。"
)


def review_toggle(n_review: int) -> bool:
    """The review queue's size, and whether the choropleth counts items whose place still
    needs review (kept in the URL as ``review=0``)."""
    url_v: agg.ViewState = st.session_state.get("_url_view") or agg.ViewState()
    common.seed("count_review", url_v.count_review)
    if n_review:
        st.markdown(f"定位待核对：**{n_review}** 条（地图上为空心圆，在地图下方“核对定位”中处理）")
    else:
        st.caption("定位待核对：0 条")
    return st.toggle(
        "分级统计计入待核对的定位",
        key="count_review",
        help=REVIEW_TOGGLE_HELP,
    )


def basemap_choice(store) -> str:
    """The base-map menu; with a 天地图 map, the field for its key (kept in the store)."""
    url_v: agg.ViewState = st.session_state.get("_url_view") or agg.ViewState()
    common.seed("basemap", url_v.basemap, url_v.basemap in BASEMAPS)
    basemap = st.selectbox("底图", list(BASEMAPS), format_func=lambda k: BASEMAPS[k], key="basemap")
    if app_support.is_online_basemap(basemap):
        st.caption("在线底图需联网；离线环境请选择“无底图”")
    if basemap.startswith("tianditu"):
        tianditu_key_field(store)
    return basemap


def tianditu_key_field(store) -> None:
    """Where a planner enters the 天地图 key: masked, kept in the store for every session,
    never shown again and never written into an export."""
    saved = cache.tianditu_key(store)
    with st.container(key="tianditu_box"):
        st.text_input(
            "天地图密钥（tk）",
            type="password",
            key="tianditu_key_input",
            placeholder="已设置（输入新密钥可替换）" if saved else "在天地图官网申请的密钥",
            help="保存在本应用的数据库中，供所有使用者的天地图底图使用；不会写入任何导出文件。",
        )
        save, forget = st.columns(2)
        save.button("保存密钥", key="tianditu_save", on_click=_save_tianditu_key, args=(store,))
        if saved:
            forget.button(
                "清除", key="tianditu_forget", on_click=_forget_tianditu_key, args=(store,)
            )
        if st.session_state.get("_tianditu_error"):
            st.error(st.session_state["_tianditu_error"])
        elif saved:
            st.caption("天地图密钥已设置。底图加载不了时，地图上会提示一次并改为无底图。")
        else:
            st.warning("天地图需要密钥：请在上方输入并保存。")


def _save_tianditu_key(store) -> None:
    typed = st.session_state.get("tianditu_key_input", "")
    st.session_state["tianditu_key_input"] = ""  # the key never stays in the page
    st.session_state.pop("_tianditu_error", None)
    try:
        store.set_setting("tianditu_key", typed)
    except GeoInputError as err:
        st.session_state["_tianditu_error"] = common.err_line(err)


def _forget_tianditu_key(store) -> None:
    st.session_state.pop("_tianditu_error", None)
    try:
        store.set_setting("tianditu_key", None)
    except GeoInputError as err:
        st.session_state["_tianditu_error"] = common.err_line(err)
