"""乡镇工作动态地图 — Streamlit app over the ``geo`` package.

Run with ``streamlit run streamlit_app.py``. Thin on purpose: widgets and session state here,
everything computed in ``geo`` (``geo.app_state`` holds the app-only helpers). Opens on the default
county of ``data/counties.json`` with the bundled sample bulletin, no setup needed.
"""

from __future__ import annotations

import copy
import datetime as dt
import os

import pandas as pd
import streamlit as st

from geo import aggregate as agg
from geo import app_state, config
from geo.errors import GeoInputError
from geo.models import BulletinHeader

st.set_page_config(
    page_title="乡镇工作动态地图",
    page_icon="🗺️",
    layout="wide",
    initial_sidebar_state="expanded",
)

BOUNDARY_TYPES = ["zip", "geojson", "json", "gpkg"]
_NO_PLACE = "__none__"
_KEEP = "__keep__"


# --------------------------------------------------------------------------- cached resources


@st.cache_resource(show_spinner=False)
def _static_assets() -> dict:
    from geo import assets

    return assets.ensure_static_assets()


@st.cache_resource(show_spinner=False)
def _store(path: str):
    from geo.store import Store

    return Store(path)


@st.cache_resource(show_spinner=False)
def _gazetteer(county_code: str):
    from geo.gazetteer import load_gazetteer

    return load_gazetteer(county_code)


@st.cache_resource(show_spinner=False)
def _county_layers(county_code: str):
    from geo.boundaries import county_layers

    return county_layers(county_code)


@st.cache_resource(show_spinner=False, max_entries=16)
def _stored_boundaries(path: str, county_code: str, set_id: int):
    """A county's saved township layer, read once per saved set (``set_id``)."""
    return _store(path).boundaries(county_code)


@st.cache_resource(show_spinner=False, max_entries=8)
def _village_points(county_code: str, boundary_key, _gazetteer, _townships):
    """Approximate village dots for the map's hidden 村（社区） layer, per county and layer."""
    if _gazetteer is None or not _gazetteer.villages:
        return None
    return agg.village_points(_gazetteer.villages, _townships)


@st.cache_data(show_spinner=False)
def _sector_names() -> dict[str, str]:
    from geo.sectors import sector_names

    return dict(sector_names())


@st.cache_data(show_spinner="正在解析简报…", max_entries=16)
def _parse_cached(digest: str, _text: str, county: str, source_name: str):
    """Parse once per content (``digest``); filter changes never re-parse."""
    from geo.pipeline import parse_text

    bulletin = parse_text(_text, county=county, source_name=source_name)
    items_df, metrics_df = agg.items_frame([bulletin])
    return bulletin, items_df, agg.assign_metric_keys(metrics_df)


@st.cache_data(show_spinner="正在读取数据库…", max_entries=8)
def _store_frames(path: str, fingerprint: tuple):
    """Store frames with metric keys, recomputed only when the store changed."""
    items_df, metrics_df = _store(path).frames()
    return items_df, agg.assign_metric_keys(metrics_df)


def _store_fingerprint(store) -> tuple:
    b = store.bulletins()
    c = store.corrections()
    last = int(c["id"].max()) if len(c) else 0
    return (len(b), app_state.content_hash("".join(b["id"])), len(c), last)


def _tianditu_key() -> str | None:
    try:
        key = st.secrets.get("tianditu_key")
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        key = None
    return key or os.environ.get("TIANDITU_KEY") or None


# --------------------------------------------------------------------------- state from the URL


def _restore_from_url(counties: dict[str, str]) -> None:
    """On a session's first run, seed widget state from ``st.query_params`` (shared links)."""
    if st.session_state.get("_restored"):
        return
    st.session_state["_restored"] = True
    params = st.query_params.to_dict()
    filters, view = agg.filters_from_query(params)
    county = params.get("county")
    if county and county not in counties:
        try:
            gaz = _gazetteer(county)
        except GeoInputError:
            county = None
        else:
            st.session_state.setdefault("_extra_counties", {})[gaz.county_code] = gaz.county_name
            counties[gaz.county_code] = gaz.county_name
            county = gaz.county_code
    if county in counties:
        st.session_state["county"] = county
    st.session_state["_url_filters"] = filters
    st.session_state["_url_view"] = view
    st.session_state["_url_county"] = st.session_state.get("county") or next(iter(counties))


def _add_county() -> None:
    """Button callback: find the typed county in the gazetteer and switch to it."""
    query = st.session_state.get("other_county", "").strip()
    if not query:
        return
    try:
        gaz = _gazetteer(query)
    except GeoInputError as err:
        st.session_state["_county_error"] = (str(err).strip() or "?").splitlines()[0]
        return
    st.session_state.pop("_county_error", None)
    st.session_state.setdefault("_extra_counties", {})[gaz.county_code] = gaz.county_name
    st.session_state["county"] = gaz.county_code


def _err_line(err: BaseException) -> str:
    """First line of a user-facing error, made inert (it may quote file names and contents)."""
    return app_state.md_escape((str(err).strip() or type(err).__name__).splitlines()[0])


def _seed(key: str, value, valid: bool = True) -> None:
    """Set a widget's first value (from the URL) unless the user already set it."""
    if key not in st.session_state and valid:
        st.session_state[key] = value


# --------------------------------------------------------------------------- sidebar: data in


def _upload_bulletins(store, county_code: str) -> None:
    """Upload in two steps: 读取 (read and parse in a bounded worker), then 导入 (store).

    Nothing is read before the user asks: an upload is untrusted, and reading it is work.
    """
    st.subheader("上传简报")
    nonce = st.session_state.setdefault("_upload_nonce", 0)
    files = st.file_uploader(
        "工作简报（txt / pdf / docx，可多选）",
        type=list(app_state.UPLOAD_TYPES),
        accept_multiple_files=True,
        key=f"bulletin_files_{nonce}",
    )
    for kind, msg in st.session_state.get("_upload_msgs", []):
        (st.error if kind == "error" else st.success)(app_state.md_escape(msg))
    if not files:
        return
    parsed: dict = st.session_state.setdefault("_parsed_uploads", {})
    keys = [(app_state.content_hash(f.getvalue()), county_code) for f in files]
    todo = [(f, k) for f, k in zip(files, keys, strict=True) if k not in parsed]
    if todo and st.button(f"读取 {len(todo)} 份简报", type="primary", key=f"up_read_{nonce}"):
        with st.spinner("正在读取简报…"):
            for f, k in todo:
                parsed[k] = app_state.parse_upload(f.name, f.getvalue(), county=county_code)
        st.rerun()
    ready = [parsed[k] for k in keys if k in parsed]
    if not ready:
        st.caption("点“读取”后显示每份简报的事项数；读取前不处理文件内容。")
        return
    headers = _upload_headers(ready, nonce)
    reassign = st.checkbox("已按其他县导入的简报，改按所选县重新导入", key=f"up_reassign_{nonce}")
    if not todo and st.button(f"导入 {len(ready)} 份简报", type="primary", key=f"up_go_{nonce}"):
        report = app_state.ingest_parsed(ready, store, headers=headers, reassign_county=reassign)
        msgs = [("error", msg) for _, msg in report.errors]
        for name, result in report.ingested:
            note = "" if result.created else "（已存在，未重复导入）"
            msgs.append(("success", f"{name}：{result.n_items} 条事项{note}"))
        st.session_state["_upload_msgs"] = msgs
        if report.ingested:
            st.session_state["_upload_nonce"] = nonce + 1  # clears the uploader
            st.session_state["_parsed_uploads"] = {}
            st.rerun()
        for _, msg in report.errors:
            st.error(app_state.md_escape(msg))


def _upload_headers(ready, nonce: int) -> dict[str, BulletinHeader]:
    """One line per read upload; a date (and issue) asked for where the masthead had none."""
    headers: dict[str, BulletinHeader] = {}
    for i, up in enumerate(ready):
        name = app_state.md_escape(up.name)
        if up.error:
            st.error(app_state.md_escape(up.error))
            continue
        st.caption(f"{name}：{len(up.bulletin.items)} 条事项")
        if up.needs_date:
            st.caption(f"{name}：未在报头找到日期，请补充")
            date = st.date_input("简报日期", value=None, key=f"up_date_{nonce}_{i}")
            issue = st.text_input("期号（可选）", key=f"up_issue_{nonce}_{i}")
            headers[up.name] = BulletinHeader(
                issue=issue.strip() or None, date=date.isoformat() if date else None
            )
    return headers


def _active_boundaries(store, store_path: str, county_code: str):
    """(saved layer or None, its metadata or None): saved boundaries win over the default."""
    try:
        meta = store.boundary_set(county_code)
        if meta is None:
            return None, None
        return _stored_boundaries(store_path, county_code, meta["id"]), meta
    except GeoInputError as err:
        st.error(_err_line(err))
        return None, None


def _upload_boundaries(store, county_code: str, meta, default_note: str) -> None:
    st.subheader("乡镇边界")
    label = app_state.boundary_label(meta, default_note)
    st.caption("当前使用：" + app_state.md_escape(label))
    if meta is not None:
        if st.button("恢复默认边界", key="boundary_reset", help="删除已保存的边界，改用默认图层"):
            store.delete_boundaries(county_code)
            st.session_state.pop("_boundary_msg", None)
            st.rerun()
        if meta.get("join_report"):
            with st.expander("边界匹配报告"):
                st.text(app_state.note_zh(meta["join_report"]))
    f = st.file_uploader(
        "上传官方乡镇边界（zip 打包的 shapefile / GeoJSON / GeoPackage），保存后长期使用",
        type=BOUNDARY_TYPES,
        key="boundary_file",
    )
    crs_choices = app_state.boundary_crs_choices()
    crs_label = st.selectbox(
        "坐标系（CRS）",
        list(crs_choices),
        key="boundary_crs",
        help="文件没有 .prj 或声明有误时选择；投影坐标（高斯-克吕格、Web 墨卡托）会换算为经纬度",
    )
    typed = ""
    if crs_label == app_state.OTHER_CRS:
        typed = st.text_input("EPSG 代码", key="boundary_epsg", placeholder="例如 4549")
    datum_label = st.selectbox(
        "坐标基准（datum）",
        list(app_state.DATUM_CHOICES),
        key="boundary_datum",
        help="高德、腾讯地图导出的坐标为 GCJ-02，百度为 BD-09；与坐标系无关，需另选",
    )
    if st.session_state.get("_boundary_err"):
        st.error(st.session_state.pop("_boundary_err"))
        st.info("请在“字段选择”中指定乡镇代码字段或乡镇名称字段后重试。")
    if st.session_state.get("_boundary_msg"):
        st.success(app_state.md_escape(st.session_state.pop("_boundary_msg")))
    if f is None:
        return
    if crs_choices[crs_label] == "" and not typed.strip():
        st.caption("请输入 EPSG 代码后读取文件。")
        return
    try:
        crs = crs_choices[crs_label]
        if crs == "":
            crs = app_state.parse_crs(typed)
    except GeoInputError as err:
        st.error(_err_line(err))
        return
    datum = app_state.DATUM_CHOICES[datum_label]
    gdf = _read_boundary_file(f, crs, datum)
    if gdf is None:
        return
    code_field, name_field = _boundary_fields(gdf)
    if st.button("使用此边界", key="boundary_go"):
        _save_boundaries(store, county_code, f.name, gdf, datum, code_field, name_field)


def _read_boundary_file(f, crs, datum):
    """The uploaded layer once the user asked for it to be read (bounded worker), else None."""
    key = (app_state.content_hash(f.getvalue()), f.name, str(crs), datum)
    done = st.session_state.get("_boundary_read")
    if done is not None and done[0] == key:
        if done[2]:
            st.error(app_state.md_escape(done[2]))
        return done[1]
    if st.button("读取边界文件", key="boundary_read", type="primary"):
        with st.spinner("正在读取边界文件…"):
            try:
                gdf, error = (
                    app_state.read_boundary_upload(f.name, f.getvalue(), crs=crs, datum=datum),
                    None,
                )
            except GeoInputError as err:
                gdf, error = None, _err_line(err)
        st.session_state["_boundary_read"] = (key, gdf, error)
        st.session_state.pop("_boundary_field_error", None)
        st.rerun()
    st.caption("点“读取边界文件”后选择字段并保存；读取前不处理文件内容。")
    return None


def _boundary_fields(gdf) -> tuple[str | None, str | None]:
    """The code and name columns the user picked (None = recognise automatically)."""
    columns = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    st.caption(f"已读取 {len(gdf)} 个面要素")
    with st.expander("字段选择", expanded=bool(st.session_state.get("_boundary_field_error"))):
        st.caption("自动识别失败时，请指定边界文件中的乡镇代码或名称字段。")
        auto = "（自动识别）"
        c1, c2 = st.columns(2)
        code_field = c1.selectbox("乡镇代码字段", [auto, *columns], key="boundary_code_field")
        name_field = c2.selectbox("乡镇名称字段", [auto, *columns], key="boundary_name_field")
    return (
        None if code_field == auto else code_field,
        None if name_field == auto else name_field,
    )


def _save_boundaries(store, county_code, source_name, gdf, datum, code_field, name_field):
    from geo.boundaries import boundary_report, join_to_gazetteer

    try:
        joined, report = join_to_gazetteer(
            gdf,
            _gazetteer(county_code),
            code_field=code_field,
            name_field=name_field,
            source=source_name,
        )
        read_report = boundary_report(gdf)
        crs_note = ""
        if read_report is not None and read_report.source_crs:
            crs_note = read_report.source_crs + ("（指定）" if read_report.crs_assigned else "")
        store.save_boundaries(
            county_code,
            joined,
            source_name=source_name,
            report=[read_report, report],
            crs_note=crs_note,
            datum=datum,
            name=_gazetteer(county_code).county_name,
        )
    except GeoInputError as err:
        st.error(_err_line(err))
        # no code/name column recognised: open 字段选择 so the user can name it
        field_error = "column" in str(err) or "字段" in str(err)
        if field_error and not st.session_state.get("_boundary_field_error"):
            st.session_state["_boundary_field_error"] = True
            st.session_state["_boundary_err"] = _err_line(err)
            st.rerun()
    else:
        st.session_state.pop("_boundary_field_error", None)
        st.session_state.pop("_boundary_read", None)
        st.session_state["_boundary_msg"] = f"已保存乡镇边界：{source_name}（{len(joined)} 个乡镇）"
        st.rerun()  # the map and the note above were drawn with the old layer


# --------------------------------------------------------------------------- main


def _county_data(store, store_path: str, county_code: str):
    """(items_df, metrics_df, sample_bulletin, data_key) for the county: the store, else the
    sample. ``data_key`` changes whenever the data does (it keys the map cache)."""
    fingerprint = _store_fingerprint(store)
    items_df, metrics_df = _store_frames(store_path, fingerprint)
    mine = items_df["county_code"].astype(str) == county_code
    if mine.any():
        items_df = items_df[mine.to_numpy()]
        metrics_df = metrics_df[metrics_df["item_id"].isin(items_df["item_id"])]
        key = ("store", store_path, fingerprint, county_code)
        return items_df.reset_index(drop=True), metrics_df.reset_index(drop=True), None, key
    if county_code != app_state.DEFAULT_COUNTY_CODE:
        return items_df.iloc[0:0], metrics_df.iloc[0:0], None, ("empty", county_code)
    text = app_state.sample_text()
    digest = app_state.content_hash(text)
    bulletin, s_items, s_metrics = _parse_cached(
        digest, text, county_code, app_state.SAMPLE_PATH.name
    )
    return s_items, s_metrics, bulletin, ("sample", digest, county_code)


def _filters_sidebar(items_df, metrics_df, towns: dict[str, str], sectors: dict[str, str]):
    """Filter widgets; returns (Filters, metric_key)."""
    url_f: agg.Filters = st.session_state.get("_url_filters") or agg.Filters()
    url_v: agg.ViewState = st.session_state.get("_url_view") or agg.ViewState()
    catalog = agg.metric_catalog(metrics_df, items_df)
    metric_labels = {r.key: f"{agg.metric_label(r.key)} · {int(r.n)}" for r in catalog.itertuples()}

    st.header("筛选")
    _seed("f_sectors", [s for s in url_f.sectors if s in sectors])
    chosen_sectors = st.multiselect(
        "行业",
        list(sectors),
        format_func=lambda s: sectors.get(s, s),
        placeholder="全部行业",
        key="f_sectors",
    )
    metric_key = url_f.metric_key or url_v.metric
    _seed("f_metric", metric_key, metric_key in metric_labels)
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
            _seed(rkey, (start, max(start, end)))
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
    _seed("f_towns", [t for t in url_f.townships if t in towns])
    chosen_towns = st.multiselect(
        "乡镇",
        list(towns),
        format_func=lambda c: towns.get(c, c),
        placeholder="全部乡镇",
        key="f_towns",
    )
    b_labels = app_state.bulletin_labels(items_df)
    _seed("f_bulletins", [b for b in url_f.bulletins if b in b_labels])
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
            _seed(dkey, (min(max(start, dmin), dmax), max(min(end, dmax), dmin)))
        picked = st.date_input(
            "简报日期", value=(dmin, dmax), min_value=dmin, max_value=dmax, key=dkey
        )
        if isinstance(picked, tuple | list) and len(picked) == 2:
            date_from = None if picked[0] <= dmin else picked[0].isoformat()
            date_to = None if picked[1] >= dmax else picked[1].isoformat()
    _seed("f_text", url_f.text)
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


def _basemap_choice() -> str:
    from geo.webmap import BASEMAPS

    url_v: agg.ViewState = st.session_state.get("_url_view") or agg.ViewState()
    _seed("basemap", url_v.basemap, url_v.basemap in BASEMAPS)
    basemap = st.selectbox("底图", list(BASEMAPS), format_func=lambda k: BASEMAPS[k], key="basemap")
    if app_state.is_online_basemap(basemap):
        st.caption("在线底图需联网；离线环境请选择“无底图”")
    if basemap.startswith("tianditu") and not _tianditu_key():
        st.warning("天地图需要密钥：在 secrets.toml 设置 tianditu_key 或环境变量 TIANDITU_KEY。")
    return basemap


_PANEL_ITEMS = 30  # more go to the table below; hundreds of expanders would slow the page


def _township_panel(code: str, name: str, items_df, metrics_df, sectors: dict[str, str]) -> None:
    from geo.webmap import item_title

    info = app_state.township_summary(items_df, metrics_df, code, _metric_names(metrics_df))
    st.subheader(app_state.md_escape(name or info["township"]))
    st.metric("事项数", info["n_items"])
    if info["sectors"]:
        st.caption(
            "行业：" + "、".join(f"{sectors.get(s, s)} {n}" for s, n in info["sectors"].items())
        )
    for label, value in info["totals"][:8]:
        st.write(f"{app_state.md_escape(label)}：{app_state.format_number(value)}")
    for row in info["items"].head(_PANEL_ITEMS).itertuples():
        with st.expander(app_state.md_escape(item_title(row.headline, row.body))):
            st.text(row.body or "")
    if info["n_items"] > _PANEL_ITEMS:
        st.caption(f"另有 {info['n_items'] - _PANEL_ITEMS} 条，点“只看此乡镇”在下表查看。")
    # The filter widget is already drawn: change it in a callback, then rerun the whole app
    # (this runs inside the map fragment).
    if st.button("只看此乡镇", key="town_only", on_click=_only_township, args=(code,)):
        st.rerun()


def _data_sources(county_code: str, layers, boundary_meta, sample: bool) -> None:
    """The 数据来源 section: every source with its licence (CC BY 4.0 needs the attribution)."""
    rows = app_state.data_sources(county_code, layers, boundary_meta, sample=sample)
    with st.expander("数据来源"):
        for r in rows:
            licence = f"（{app_state.md_escape(r['licence'])}）" if r["licence"] else ""
            st.markdown(
                f"- **{app_state.md_escape(r['data'])}**：{app_state.md_escape(r['source'])}"
                + licence
            )


def _only_township(code: str) -> None:
    st.session_state["f_towns"] = [code]


def _metric_names(metrics_df) -> dict[str, str]:
    if "metric_key" not in metrics_df:
        return {}
    return {k: agg.metric_label(k) for k in metrics_df["metric_key"].dropna().unique()}


def _review(store, items_df, sample_bulletin, gazetteer, sectors: dict[str, str]) -> None:
    """Correct an item's township, village or sector (kept in the store, shown as corrected)."""
    if items_df.empty:
        st.caption("没有可更正的事项。")
        return
    labels = app_state.review_labels(items_df)
    iid = st.selectbox("事项", list(labels), format_func=labels.get, key="rv_item")
    row = items_df[items_df["item_id"] == iid].iloc[0]

    def text(value, empty: str) -> str:
        return empty if value is None or pd.isna(value) or value == "" else str(value)

    sector_now = text(row["sector"], "")
    st.caption(
        app_state.md_escape(
            f"当前：{text(row['township'], '（无乡镇）')} / {text(row['village'], '（无村）')} / "
            f"{sectors.get(sector_now, sector_now or '（无行业）')}"
            + ("（已更正）" if bool(row["corrected"]) else "")
        )
    )
    towns = {_KEEP: "不修改", _NO_PLACE: "不属于单一乡镇"}
    towns.update({t.code: t.name for t in gazetteer.townships} if gazetteer else {})
    c1, c2, c3 = st.columns(3)
    town = c1.selectbox("乡镇", list(towns), format_func=towns.get, key=f"rv_town_{iid}")
    village_town = text(row["township_code"], "") if town == _KEEP else town
    villages = {_KEEP: "不修改", _NO_PLACE: "不属于单一村"}
    if gazetteer and village_town and village_town != _NO_PLACE:
        villages.update({v.code: v.name for v in gazetteer.villages_of(str(village_town))})
    village = c2.selectbox(
        "村（社区）", list(villages), format_func=villages.get, key=f"rv_vil_{iid}"
    )
    sector_opts = {_KEEP: "不修改", **sectors}
    sector = c3.selectbox(
        "行业", list(sector_opts), format_func=sector_opts.get, key=f"rv_sector_{iid}"
    )
    note = st.text_input("说明（可选）", key=f"rv_note_{iid}")
    if st.button("保存更正", key="rv_save"):
        kw = {
            "township_code": None if town == _KEEP else ("" if town == _NO_PLACE else town),
            "village_code": None if village == _KEEP else ("" if village == _NO_PLACE else village),
            "sector": None if sector == _KEEP else sector,
        }
        try:
            if sample_bulletin is not None:
                store.ingest(sample_bulletin)  # corrections need the item in the store
            store.correct(iid, note=note, gazetteer=gazetteer, **kw)
        except GeoInputError as err:
            st.error(_err_line(err))
        else:
            st.session_state["_review_msg"] = f"已保存更正：{labels[iid]}"
            st.rerun()
    if st.session_state.get("_review_msg"):
        st.success(app_state.md_escape(st.session_state.pop("_review_msg")))


def _exports(view, stem: str) -> None:
    """Download buttons; each file is generated only when its button is clicked."""
    specs = app_state.export_specs(view, stem)
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


def main() -> None:
    _static_assets()
    counties = {**app_state.county_choices(), **st.session_state.get("_extra_counties", {})}
    _restore_from_url(counties)
    store_path = str(config.store_path())
    try:
        store = _store(store_path)
    except GeoInputError as err:
        st.error(_err_line(err))
        st.stop()
    sectors = _sector_names()

    with st.sidebar:
        st.title("乡镇工作动态地图")
        county_code = st.selectbox(
            "县（区）", list(counties), format_func=lambda c: counties[c], key="county"
        )
        with st.expander("其他县（区）"):
            st.text_input(
                "县名或 6 位代码", key="other_county", placeholder="例如 光山县 或 411522"
            )
            st.button("切换", key="other_county_go", on_click=_add_county)
            if st.session_state.get("_county_error"):
                st.error(app_state.md_escape(st.session_state["_county_error"]))
        try:
            gazetteer = _gazetteer(county_code)
        except GeoInputError as err:
            st.error(_err_line(err))
            gazetteer = None
        items_df, metrics_df, sample_bulletin, data_key = _county_data(
            store, store_path, county_code
        )
        try:
            layers = _county_layers(county_code)
        except GeoInputError as err:
            from geo.boundaries import CountyLayers

            st.error(_err_line(err))
            layers = CountyLayers(county_code=county_code)
        user_towns, boundary_meta = _active_boundaries(store, store_path, county_code)
        townships = user_towns if user_towns is not None else layers.townships
        towns = {}
        if gazetteer is not None:
            towns = {t.code: t.name for t in gazetteer.townships}
        elif townships is not None:
            towns = dict(zip(townships["township_code"], townships["township"], strict=False))
        filters, metric = _filters_sidebar(items_df, metrics_df, towns, sectors)
        basemap = _basemap_choice()
        st.divider()
        _upload_bulletins(store, county_code)
        _upload_boundaries(store, county_code, boundary_meta, layers.note)

    county_name = counties.get(county_code, county_code)
    approximate = (
        boundary_meta.get("quality") == "approximate"
        if boundary_meta is not None
        else layers.approximate
    )
    st.title(f"{app_state.md_escape(county_name)} 乡镇工作动态")
    if sample_bulletin is not None:
        st.caption("示例数据：内置的息县工作简报。上传简报后显示数据库中的简报。")
    if approximate:
        st.warning(
            "乡镇边界为**示意范围，非官方边界**。请在侧栏“乡镇边界”一节导入官方边界"
            "（shapefile zip / GeoJSON / GeoPackage）。"
        )
    elif townships is None and layers.outline is not None:
        st.info("该县尚无乡镇边界：地图只显示县界与全县事项，请在侧栏上传乡镇边界。")
    elif boundary_meta is not None:
        st.caption("乡镇边界：" + app_state.md_escape(app_state.boundary_label(boundary_meta)))

    shown_items, shown_metrics = agg.filter_items(items_df, metrics_df, filters)
    url_v: agg.ViewState = st.session_state.get("_url_view") or agg.ViewState()
    if st.session_state.get("_url_county") != county_code:
        # the URL's centre and zoom belong to the county it was shared for
        url_v = agg.ViewState(basemap=url_v.basemap, metric=url_v.metric)
    previous = st.session_state.get("_view_county")
    st.session_state["_view_county"] = county_code
    if previous is not None and previous != county_code:  # a new county: forget the old view
        st.session_state.pop("_view_now", None)
        st.session_state.pop("town", None)

    from geo import export

    # Every county gets a view: without polygons the table, the data exports and (with an
    # outline) an outline-only map still work; the gazetteer gives every township a table row.
    boundary_key = ("stored", boundary_meta["id"]) if boundary_meta else "default"
    view = export.make_view(
        items_df,
        metrics_df,
        townships if townships is not None else (gazetteer.townships if gazetteer else None),
        county=county_name,
        county_code=county_code,
        outline=layers.outline,
        county_seat=layers.seat,
        filters=filters,
        metric_key=metric,
        basemap=basemap,
        approximate=approximate,
        villages=None
        if townships is None
        else _village_points(county_code, boundary_key, gazetteer, townships),
        attribution=app_state.export_attribution(
            county_code, layers, boundary_meta, sample=sample_bulletin is not None
        ),
    )
    map_key = (*data_key, boundary_key, repr(filters), metric, basemap, approximate)
    # A map rebuilt after a filter change opens where the user left the previous one.
    now = st.session_state.get("_view_now")
    start = agg.ViewState(lat=now[0], lon=now[1], zoom=now[2]) if now else url_v
    _map_and_panel(view, map_key, townships, shown_items, shown_metrics, sectors, start)

    st.subheader(f"事项（{len(shown_items)} / {len(items_df)}）")
    st.dataframe(
        app_state.items_table(shown_items, shown_metrics, sectors),
        hide_index=True,
        width="stretch",
        column_config={"已更正": st.column_config.CheckboxColumn("已更正")},
    )
    with st.expander("更正事项（乡镇、村、行业）"):
        _review(store, items_df, sample_bulletin, gazetteer, sectors)
    st.subheader("导出当前视图")
    _exports(view, f"{county_name}-乡镇工作动态")
    _data_sources(county_code, layers, boundary_meta, sample_bulletin is not None)

    lat, lon, zoom = st.session_state.get("_view_now", (url_v.lat, url_v.lon, url_v.zoom))
    view_state = agg.ViewState(lat=lat, lon=lon, zoom=zoom, basemap=basemap, metric=metric)
    params = {"county": county_code, **agg.filters_to_query(filters, view_state)}
    if county_code == app_state.default_county_code():
        params.pop("county")
    if params != st.query_params.to_dict():
        st.query_params.from_dict(params)


@st.cache_resource(show_spinner="正在绘制地图…", max_entries=8)
def _built_map(key: tuple, _view, location, zoom, tianditu_key):
    """The folium map of a view, built and rendered once per ``key`` (data + filters + view).

    st_folium mutates the map it draws, so callers get a deep copy; the big GeoJSON payloads
    are strings, which the copy shares, so copying costs milliseconds.
    """
    from geo import webmap

    m = webmap.build_map_from_view(
        _view, assets="static", location=location, zoom=zoom, tianditu_key=tianditu_key
    )
    root = m.get_root()
    root.render()  # once here, so st_folium can skip it (render=False)
    # st_folium reads only the header of the rendered page; the rendered script holds the whole
    # payload as a jinja template, which every deep copy would recompile (~1 s at 10,000 items).
    root.script._children.clear()
    return m


@st.fragment
def _map_and_panel(view, map_key, townships, items_df, metrics_df, sectors, start) -> None:
    """Map and township panel. A fragment: clicking or panning the map reruns only this part."""
    from streamlit_folium import st_folium

    from geo.webmap import display_to_wgs84

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
        m = copy.deepcopy(_built_map(key, view, location, start.zoom, _tianditu_key()))
        state = st_folium(
            m,
            key="map",
            height=560,
            use_container_width=True,
            returned_objects=["last_active_drawing", "last_object_clicked", "center", "zoom"],
            render=False,
        )
        clicked = app_state.township_from_map(state, townships)
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


main()
