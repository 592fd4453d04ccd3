"""The sidebar's filters and base map, seeded from the URL on a session's first run."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from app import cache, common
from geo import aggregate as agg
from geo import app_state
from geo.webmap import BASEMAPS


def filters_sidebar(items_df, metrics_df, towns: dict[str, str], sectors: dict[str, str]):
    """Filter widgets; returns (Filters, metric_key)."""
    url_f: agg.Filters = st.session_state.get("_url_filters") or agg.Filters()
    url_v: agg.ViewState = st.session_state.get("_url_view") or agg.ViewState()
    catalog = agg.metric_catalog(metrics_df, items_df)
    metric_labels = {r.key: f"{agg.metric_label(r.key)} · {int(r.n)}" for r in catalog.itertuples()}

    st.header("筛选")
    common.seed("f_sectors", [s for s in url_f.sectors if s in sectors])
    chosen_sectors = st.multiselect(
        "行业",
        list(sectors),
        format_func=lambda s: sectors.get(s, s),
        placeholder="全部行业",
        key="f_sectors",
    )
    metric_key = url_f.metric_key or url_v.metric
    common.seed("f_metric", metric_key, metric_key in metric_labels)
    metric = st.selectbox(
        "指标",
        list(metric_labels),
        format_func=lambda k: metric_labels.get(k, k),
        key="f_metric",
    )
    lo_hi = app_state.metric_bounds(metrics_df, metric)
    metric_min = metric_max = None
    # whole 万元/亿元 for money, whole units otherwise; filters get base units back
    scale = app_state.metric_slider(metric, *lo_hi) if lo_hi is not None else None
    if scale is not None:
        # Bounds in the key: new data gives a fresh slider instead of an out-of-range value.
        rkey = f"f_range_{metric}_{lo_hi[0]:g}_{lo_hi[1]:g}"
        exact = (None, None)
        if url_f.metric_key == metric:
            exact = (url_f.metric_min, url_f.metric_max)
            start = scale.lo if exact[0] is None else scale.to_slider(exact[0])
            end = scale.hi if exact[1] is None else scale.to_slider(exact[1], upper=True)
            common.seed(rkey, (start, max(start, end)))
        low, high = st.slider(
            f"{agg.metric_name(metric)} 范围（{scale.unit}）",
            min_value=scale.lo,
            max_value=scale.hi,
            value=(scale.lo, scale.hi),
            step=1,
            format=f"%d {scale.unit}",
            key=rkey,
        )
        metric_min, metric_max = scale.to_range(low, high, *exact)
    common.seed("f_towns", [t for t in url_f.townships if t in towns])
    chosen_towns = st.multiselect(
        "乡镇",
        list(towns),
        format_func=lambda c: towns.get(c, c),
        placeholder="全部乡镇",
        key="f_towns",
    )
    b_labels = app_state.bulletin_labels(items_df)
    common.seed("f_bulletins", [b for b in url_f.bulletins if b in b_labels])
    chosen_bulletins = st.multiselect(
        "简报",
        list(b_labels),
        format_func=lambda b: b_labels.get(b, b),
        placeholder="全部简报",
        key="f_bulletins",
    )
    date_from = date_to = None
    dates = pd.to_datetime(items_df["bulletin_date"], errors="coerce").dropna()
    if not dates.empty and dates.min() < dates.max():
        dmin, dmax = dates.min().date(), dates.max().date()
        dkey = f"f_dates_{dmin}_{dmax}"
        if url_f.date_from or url_f.date_to:
            start = dt.date.fromisoformat(url_f.date_from) if url_f.date_from else dmin
            end = dt.date.fromisoformat(url_f.date_to) if url_f.date_to else dmax
            common.seed(dkey, (min(max(start, dmin), dmax), max(min(end, dmax), dmin)))
        picked = st.date_input(
            "简报日期", value=(dmin, dmax), min_value=dmin, max_value=dmax, key=dkey
        )
        if isinstance(picked, tuple | list) and len(picked) == 2:
            date_from = None if picked[0] <= dmin else picked[0].isoformat()
            date_to = None if picked[1] >= dmax else picked[1].isoformat()
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


def basemap_choice() -> str:
    url_v: agg.ViewState = st.session_state.get("_url_view") or agg.ViewState()
    common.seed("basemap", url_v.basemap, url_v.basemap in BASEMAPS)
    basemap = st.selectbox("底图", list(BASEMAPS), format_func=lambda k: BASEMAPS[k], key="basemap")
    if app_state.is_online_basemap(basemap):
        st.caption("在线底图需联网；离线环境请选择“无底图”")
    if basemap.startswith("tianditu") and not cache.tianditu_key():
        st.warning("天地图需要密钥：在 secrets.toml 设置 tianditu_key 或环境变量 TIANDITU_KEY。")
    return basemap
