"""Sidebar sections that bring data in: bulletin uploads and township boundary uploads.

Nothing of an upload is read until the planner asks (读取), and then in a bounded worker
(:mod:`geo.worker`): uploads are untrusted.
"""

from __future__ import annotations

import streamlit as st

from app import cache, common
from geo import app_support, display, recut
from geo.boundary_import import import_boundaries, overrides_from_table, save_result
from geo.errors import GeoInputError
from geo.models import BulletinHeader
from geo.view import boundary_label
from geo.worker import run_bounded

BOUNDARY_TYPES = ["zip", "geojson", "json", "gpkg", "kml"]
# Error codes of a join that found no usable code or name column
_FIELD_ERRORS = {"boundary.field", "boundary.no_match"}


def upload_bulletins(store, county_code: str) -> None:
    """Upload in two steps: 读取 (read and parse in a bounded worker), then 导入 (store).

    Nothing is read before the user asks: an upload is untrusted, and reading it is work.
    """
    st.subheader("上传简报")
    nonce = st.session_state.setdefault("_upload_nonce", 0)
    files = st.file_uploader(
        "工作简报（txt / pdf / docx，可多选）",
        type=list(app_support.UPLOAD_TYPES),
        accept_multiple_files=True,
        key=f"bulletin_files_{nonce}",
    )
    for kind, msg in st.session_state.get("_upload_msgs", []):
        (st.error if kind == "error" else st.success)(app_support.md_escape(msg))
    if not files:
        return
    parsed: dict = st.session_state.setdefault("_parsed_uploads", {})
    keys = [(app_support.content_hash(f.getvalue()), county_code) for f in files]
    todo = [(f, k) for f, k in zip(files, keys, strict=True) if k not in parsed]
    if todo and st.button(f"读取 {len(todo)} 份简报", type="primary", key=f"up_read_{nonce}"):
        with st.spinner("正在读取简报…"):
            for f, k in todo:
                parsed[k] = app_support.parse_upload(f.name, f.getvalue(), county=county_code)
        st.rerun()
    ready = [parsed[k] for k in keys if k in parsed]
    if not ready:
        st.caption("点“读取”后显示每份简报的事项数；读取前不处理文件内容。")
        return
    headers = _upload_headers(ready, nonce)
    reassign = st.checkbox("已按其他县导入的简报，改按所选县重新导入", key=f"up_reassign_{nonce}")
    undated = [up.name for up in ready if up.needs_date and not _given_date(headers, up.name)]
    if undated:
        st.warning(app_support.md_escape("请先填写简报日期：" + "、".join(undated)))
    if not todo and st.button(
        f"导入 {len(ready)} 份简报", type="primary", key=f"up_go_{nonce}", disabled=bool(undated)
    ):
        report = app_support.ingest_parsed(ready, store, headers=headers, reassign_county=reassign)
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
            st.error(app_support.md_escape(msg))


def _given_date(headers: dict[str, BulletinHeader], name: str) -> str | None:
    h = headers.get(name)
    return h.date if h is not None else None


def _upload_headers(ready, nonce: int) -> dict[str, BulletinHeader]:
    """One line per read upload; a date is required where neither the masthead nor the file
    gives one, and may replace a date taken from the file's properties."""
    headers: dict[str, BulletinHeader] = {}
    for i, up in enumerate(ready):
        name = app_support.md_escape(up.name)
        if up.error:
            st.error(app_support.md_escape(up.error))
            continue
        h = up.bulletin.header
        when = f"，日期 {h.date}" if h.date else ""
        st.caption(f"{name}：{len(up.bulletin.items)} 条事项{when}")
        for line in recut.review_notes(up.bulletin):
            (st.warning if line.startswith("提示") else st.caption)(app_support.md_escape(line))
        if up.date_note:
            st.info(app_support.md_escape(f"{up.name}：{up.date_note}"))
        if up.needs_date or up.date_note:
            label = "简报日期（必填）" if up.needs_date else "简报日期（可改）"
            if up.needs_date:
                st.caption(f"{name}：报头和文件属性中都没有日期，请填写")
            date = st.date_input(label, value=None, key=f"up_date_{nonce}_{i}")
            issue = st.text_input("期号（可选）", key=f"up_issue_{nonce}_{i}")
            headers[up.name] = BulletinHeader(
                issue=issue.strip() or None, date=date.isoformat() if date else None
            )
    return headers


def upload_boundaries(store, county_code: str, meta, default_note: str) -> None:
    """Boundary upload in two steps: 读取边界文件 (read, position check and join, in a bounded
    worker; the join table can be corrected row by row), then 使用此边界 (save)."""
    st.subheader("乡镇边界")
    _boundary_in_use(store, county_code, meta, default_note)
    f = st.file_uploader(
        "上传官方乡镇边界（zip 打包的 shapefile / GeoJSON / Esri JSON / GeoPackage / KML），"
        "保存后长期使用",
        type=BOUNDARY_TYPES,
        key="boundary_file",
    )
    options = _boundary_options()
    if st.session_state.get("_boundary_err"):
        st.error(st.session_state.pop("_boundary_err"))
        st.info("请在“字段选择”中指定乡镇代码字段或乡镇名称字段后重试。")
    if st.session_state.get("_boundary_msg"):
        st.success(app_support.md_escape(st.session_state.pop("_boundary_msg")))
    if f is None or options is None:
        return
    check = _checked_file(f, county_code, options)
    if check is None:
        return
    fields = _boundary_fields(check)
    chosen = any(fields.values())
    if chosen and st.button("按所选字段重新检查", key="boundary_recheck"):
        with st.spinner("正在检查…"):
            check = _run_check(f, county_code, {**options, **fields})
        st.session_state["_boundary_read"] = (st.session_state["_boundary_read"][0], check)
        st.rerun()
    overrides = _join_table(check)
    force = False
    if check.result is not None and check.result.position and check.result.position.offset:
        force = st.checkbox("确认位置无误，仍然使用（--force）", key="boundary_force")
    # saving needs a join, or columns named by the planner to join on
    if (check.result is not None or chosen) and st.button("使用此边界", key="boundary_go"):
        _save_boundaries(store, county_code, f, {**options, **fields, "force": force}, overrides)


def _boundary_in_use(store, county_code: str, meta, default_note: str) -> None:
    st.caption("当前使用：" + app_support.md_escape(boundary_label(meta, default_note)))
    if meta is None:
        return
    if st.button("恢复默认边界", key="boundary_reset", help="删除已保存的边界，改用默认图层"):
        store.delete_boundaries(county_code)
        st.session_state.pop("_boundary_msg", None)
        st.rerun()
    if meta.get("join_report"):
        with st.expander("边界匹配报告"):
            st.text(display.note_zh(meta["join_report"]))


def _boundary_options() -> dict | None:
    """CRS, datum and declared quality; None while a typed EPSG code is missing or wrong."""
    crs_choices = cache.data_fact("crs_choices", (), app_support.boundary_crs_choices)
    crs_label = st.selectbox(
        "坐标系（CRS）",
        list(crs_choices),
        key="boundary_crs",
        help="文件没有 .prj 或声明有误时选择；投影坐标（高斯-克吕格、Web 墨卡托）会换算为经纬度",
    )
    typed = ""
    if crs_label == app_support.OTHER_CRS:
        typed = st.text_input("EPSG 代码", key="boundary_epsg", placeholder="例如 4549")
    datum_label = st.selectbox(
        "坐标基准（datum）",
        list(app_support.DATUM_CHOICES),
        key="boundary_datum",
        help="高德、腾讯地图导出的坐标为 GCJ-02，百度为 BD-09；与坐标系无关，需另选",
    )
    source = st.text_input(
        "官方来源（可选）",
        key="boundary_quality_source",
        placeholder="例如 某县自然资源局 2024 年乡镇界",
        help="填写后此边界标为“官方”并注明来源；不填则标为“用户上传”",
    ).strip()
    crs = crs_choices[crs_label]
    if crs == "":
        if not typed.strip():
            st.caption("请输入 EPSG 代码后读取文件。")
            return None
        try:
            crs = app_support.parse_crs(typed)
        except GeoInputError as err:
            st.error(common.err_line(err))
            return None
    return {
        "crs": crs,
        "datum": app_support.DATUM_CHOICES[datum_label],
        "declared_quality": "official" if source else "user",
        "quality_source": source,
    }


def _checked_file(f, county_code: str, options: dict):
    """The file's check (read, position, join) once the user asked for it, else None."""
    key = (
        app_support.content_hash(f.getvalue()),
        f.name,
        county_code,
        repr(sorted(options.items())),
    )
    done = st.session_state.get("_boundary_read")
    if done is not None and done[0] == key:
        return done[1]
    if st.button("读取边界文件", key="boundary_read", type="primary"):
        with st.spinner("正在读取边界文件…"):
            check = _run_check(f, county_code, options)
        st.session_state["_boundary_read"] = (key, check)
        st.session_state.pop("_boundary_field_error", None)
        st.rerun()
    st.caption("点“读取边界文件”后检查位置与匹配结果，再保存；读取前不处理文件内容。")
    return None


def _run_check(f, county_code: str, options: dict):
    try:
        return run_bounded(
            app_support.check_boundary_upload,
            f.name,
            f.getvalue(),
            county=county_code,
            timeout=app_support.UPLOAD_TIMEOUT_S,
            **options,
        )
    except GeoInputError as err:
        return app_support.BoundaryCheck(error=common.err_line(err), error_code=err.code)


def _boundary_fields(check) -> dict:
    """The code and name columns the user picked (None = recognise automatically)."""
    if check.error:
        st.error(app_support.md_escape(check.error))
        if check.error_code in _FIELD_ERRORS:
            st.info("请在“字段选择”中指定乡镇代码字段或乡镇名称字段后重试。")
    if check.result is not None:
        read = check.result.read
        if read is not None:
            st.caption(f"已读取 {read.n_kept} 个面要素")
        st.text(check.result.to_text())
    if not check.columns:
        return {}
    open_fields = bool(st.session_state.get("_boundary_field_error")) or bool(check.error)
    with st.expander("字段选择", expanded=open_fields):
        st.caption("自动识别失败时，请指定边界文件中的乡镇代码或名称字段。")
        auto = "（自动识别）"
        c1, c2 = st.columns(2)
        code = c1.selectbox("乡镇代码字段", [auto, *check.columns], key="boundary_code_field")
        name = c2.selectbox("乡镇名称字段", [auto, *check.columns], key="boundary_name_field")
    return {
        "code_field": None if code == auto else code,
        "name_field": None if name == auto else name,
    }


def _join_table(check) -> dict[int, str | None]:
    """The join table; the planner corrects a row's 乡镇代码 (empty or "-" leaves it out)."""
    if check.result is None or check.result.join is None:
        return {}
    table = check.result.table
    with st.expander(f"匹配表（{len(table)} 个面要素，可修改乡镇代码）", expanded=False):
        edited = st.data_editor(
            table,
            key="boundary_table",
            hide_index=True,
            disabled=[c for c in table.columns if c != "乡镇代码"],
        )
    return overrides_from_table(edited, table)


def _save_boundaries(store, county_code: str, f, options: dict, overrides: dict) -> None:
    """Import again with the user's fields and row fixes (bounded), then save it here."""
    try:
        result = run_bounded(
            import_boundaries,
            f.getvalue(),
            county=county_code,
            name=f.name,
            overrides=overrides or None,
            timeout=app_support.UPLOAD_TIMEOUT_S,
            **options,
        )
        if result.refused:
            why = "未保存乡镇边界：" + result.refused[0]
            raise GeoInputError(why, code=result.refusal_codes[0])
        save_result(result, store=store)
    except GeoInputError as err:
        st.error(common.err_line(err))
        if err.code in _FIELD_ERRORS and not st.session_state.get("_boundary_field_error"):
            # no code/name column recognised: open 字段选择 so the user can name it
            st.session_state["_boundary_field_error"] = True
            st.session_state["_boundary_err"] = common.err_line(err)
            st.rerun()
        return
    st.session_state.pop("_boundary_field_error", None)
    st.session_state.pop("_boundary_read", None)
    n = len(result.layer) if result.layer is not None else 0
    st.session_state["_boundary_msg"] = f"已保存乡镇边界：{f.name}（{n} 个乡镇）"
    st.rerun()  # the map and the note above were drawn with the old layer
