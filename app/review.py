"""The review form: correct an item's township, village or sector."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import common
from geo import app_support
from geo.errors import GeoInputError

_NO_PLACE = "__none__"


_KEEP = "__keep__"


def review(store, items_df, sample_bulletin, gazetteer, sectors: dict[str, str]) -> None:
    """Correct an item's township, village or sector (kept in the store, shown as corrected)."""
    if items_df.empty:
        st.caption("没有可更正的事项。")
        return
    labels = app_support.review_labels(items_df)
    iid = st.selectbox("事项", list(labels), format_func=labels.get, key="rv_item")
    row = items_df[items_df["item_id"] == iid].iloc[0]

    def text(value, empty: str) -> str:
        return empty if value is None or pd.isna(value) or value == "" else str(value)

    sector_now = text(row["sector"], "")
    st.caption(
        app_support.md_escape(
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
            st.error(common.err_line(err))
        else:
            st.session_state["_review_msg"] = f"已保存更正：{labels[iid]}"
            st.rerun()
    if st.session_state.get("_review_msg"):
        st.success(app_support.md_escape(st.session_state.pop("_review_msg")))
