"""Sidebar sections that bring data in: bulletin uploads and township boundary uploads.

Nothing of an upload is read until the planner asks (读取), and then in a bounded worker
(:mod:`geo.worker`): uploads are untrusted.
"""

from __future__ import annotations

import streamlit as st

from app import cache, common
from geo import app_state, display
from geo.boundaries import boundary_report, join_to_gazetteer
from geo.errors import GeoInputError
from geo.models import BulletinHeader
from geo.view import boundary_label

BOUNDARY_TYPES = ["zip", "geojson", "json", "gpkg"]


def upload_bulletins(store, county_code: str) -> None:
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


def upload_boundaries(store, county_code: str, meta, default_note: str) -> None:
    st.subheader("乡镇边界")
    label = boundary_label(meta, default_note)
    st.caption("当前使用：" + app_state.md_escape(label))
    if meta is not None:
        if st.button("恢复默认边界", key="boundary_reset", help="删除已保存的边界，改用默认图层"):
            store.delete_boundaries(county_code)
            st.session_state.pop("_boundary_msg", None)
            st.rerun()
        if meta.get("join_report"):
            with st.expander("边界匹配报告"):
                st.text(display.note_zh(meta["join_report"]))
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
        st.error(common.err_line(err))
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
                gdf, error = None, common.err_line(err)
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
    try:
        joined, report = join_to_gazetteer(
            gdf,
            cache.gazetteer(county_code),
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
            name=cache.gazetteer(county_code).county_name,
        )
    except GeoInputError as err:
        st.error(common.err_line(err))
        # no code/name column recognised: open 字段选择 so the user can name it
        field_error = "column" in str(err) or "字段" in str(err)
        if field_error and not st.session_state.get("_boundary_field_error"):
            st.session_state["_boundary_field_error"] = True
            st.session_state["_boundary_err"] = common.err_line(err)
            st.rerun()
    else:
        st.session_state.pop("_boundary_field_error", None)
        st.session_state.pop("_boundary_read", None)
        st.session_state["_boundary_msg"] = f"已保存乡镇边界：{source_name}（{len(joined)} 个乡镇）"
        st.rerun()  # the map and the note above were drawn with the old layer
