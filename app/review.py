"""Review: correct an item's township, village or sector, and the counting decisions (a repeat
of an earlier story or a new fact; a running total or not); check and fix how bulletins were
cut."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import cache, common, filters
from geo import aggregate as agg
from geo import app_support, display, recut
from geo.errors import GeoInputError

_NO_PLACE = "__none__"


_KEEP = "__keep__"
_NEW_FACT = "__new__"
_CUMULATIVE = {_KEEP: "不修改", "1": "是累计数（按最新值计，不相加）", "0": "不是累计数（相加）"}
#: Items listed in the correction menu at once (the search box finds the others).
_MENU_ITEMS = 200


def _first_report_options(items_df, row, labels: dict[str, str]) -> dict[str, str]:
    """What the item may repeat: items of the same place from other bulletins, not later."""
    same_place = items_df["township_code"].fillna("").astype(str) == str(row["township_code"] or "")
    other = items_df["bulletin_id"] != row["bulletin_id"]
    dates = items_df["bulletin_date"].fillna("").astype(str)
    earlier = (dates <= str(row["bulletin_date"] or "9999")) | (dates == "")
    rows = items_df[(same_place & other & earlier).to_numpy()]
    options = {_KEEP: "不修改", _NEW_FACT: "不是重复（作为新事项计入）"}
    options.update({iid: "重复，首次报道：" + labels[iid] for iid in rows["item_id"]})
    return options


def _counting(row) -> str:
    first = row.get("repeat_of")
    said = f"重复（首次报道 {first}）" if isinstance(first, str) and first else "新事项"
    return said + ("；累计数" if bool(row.get("cumulative")) else "")


def item_gazetteer(gazetteer_of, county_code):
    """The gazetteer of an item's county through ``gazetteer_of`` (None when unknown)."""
    if not isinstance(county_code, str) or not county_code:
        return None
    try:
        return gazetteer_of(county_code)
    except GeoInputError:
        return None


def _review_menu(items_df: pd.DataFrame, data_key: tuple | None = None) -> dict[str, str]:
    """``item_id -> label`` of the correction menu: the items matching the search box, at
    most :data:`_MENU_ITEMS` of them (labelling every item of a large store would cost every
    planner's page), and the item already chosen. Without a search the menu's labels are made
    once per data (``data_key``) for every session."""
    query = st.text_input(
        "查找事项", key="rv_find", placeholder="标题、正文或编号中的字词，例如 招聘会"
    ).strip()
    found = items_df
    if query:
        hit = items_df["item_id"].astype(str).str.contains(query, regex=False)
        for col in ("headline", "body"):
            hit |= items_df[col].fillna("").astype(str).str.contains(query, regex=False)
        found = items_df[hit.to_numpy()]
    if len(found) > _MENU_ITEMS:
        st.caption(f"共 {len(found)} 条符合，菜单列出前 {_MENU_ITEMS} 条：输入字词可缩小范围。")
    elif query and found.empty:
        st.caption("没有符合的事项。")
    shown = found.head(_MENU_ITEMS)
    chosen = st.session_state.get("rv_item")
    if query or data_key is None:
        labels = app_support.review_labels(shown)
    else:
        labels = cache.data_fact("review_menu", data_key, lambda: app_support.review_labels(shown))
    if chosen is not None and chosen not in labels:
        chosen_row = items_df[items_df["item_id"] == chosen]
        return {**app_support.review_labels(chosen_row), **labels}
    return labels


def review(
    store, items_df, sample_bulletin, gazetteer, sectors: dict[str, str], *, data_key=None
) -> None:
    """Correct an item's place, sector or counting (kept in the store like every correction).

    ``gazetteer`` is the county's, or in a prefecture a reader ``county_code -> gazetteer``
    that gives each item's own county's; ``data_key`` (the data's key) shares the menu's
    labels between sessions."""
    if items_df.empty:
        st.caption("没有可更正的事项。")
        return
    labels = _review_menu(items_df, data_key)
    iid = st.selectbox(
        "事项",
        list(labels),
        format_func=labels.get,
        index=None,
        placeholder="选择要更正的事项",
        key="rv_item",
    )
    if iid is None:
        return
    row = items_df[items_df["item_id"] == iid].iloc[0]
    if callable(gazetteer):  # a prefecture: the item's own county
        gazetteer = item_gazetteer(gazetteer, row["county_code"])

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
    st.caption(app_support.md_escape("计数：" + _counting(row)))
    repeats = _first_report_options(items_df, row, labels)
    c4, c5 = st.columns(2)
    repeat = c4.selectbox("重复", list(repeats), format_func=repeats.get, key=f"rv_repeat_{iid}")
    cumulative = c5.selectbox(
        "累计", list(_CUMULATIVE), format_func=_CUMULATIVE.get, key=f"rv_cum_{iid}"
    )
    note = st.text_input("说明（可选）", key=f"rv_note_{iid}")
    if st.button("保存更正", key="rv_save"):
        kw = {
            "township_code": None if town == _KEEP else ("" if town == _NO_PLACE else town),
            "village_code": None if village == _KEEP else ("" if village == _NO_PLACE else village),
            "sector": None if sector == _KEEP else sector,
            "repeat_of": None if repeat == _KEEP else ("" if repeat == _NEW_FACT else repeat),
            "cumulative": None if cumulative == _KEEP else cumulative == "1",
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


def cut_review(store, items_df, sample_bulletin, data_key: tuple) -> None:
    """Check how a bulletin was cut into items: its layout and warnings, and the reviewer's
    merge/split fixes (kept in the store, applied again on re-ingest, undoable).

    A bulletin is read from the store only once the reviewer picks it (the only one is
    picked at once)."""
    labels = filters.bulletin_labels(items_df, data_key) if not items_df.empty else {}
    if not labels:
        st.caption("没有可检查的简报。")
        return
    bid = st.selectbox(
        "简报",
        list(labels),
        format_func=labels.get,
        index=0 if len(labels) == 1 else None,
        placeholder=f"选择要检查的简报（共 {len(labels)} 份）",
        key="cut_bulletin",
    )
    if bid is None:
        return
    bulletin = _bulletin(store, bid, sample_bulletin)
    if bulletin is None:
        return
    for line in recut.review_notes(bulletin):
        show = st.warning if line.startswith("提示") else st.caption
        show(app_support.md_escape(line))
    rows = recut.review_items(bulletin)
    options = {
        k: f"{k + 1}. {display.item_title(r['headline'], r['text'])}"
        + ("（有提示）" if r["warnings"] else "")
        for k, r in enumerate(rows)
    }
    k = st.selectbox("事项", list(options), format_func=options.get, key=f"cut_item_{bid}")
    row = rows[k]
    st.text(row["text"][:3000])
    iid = agg.item_id(bid, row["index"])
    c1, c2 = st.columns(2)
    if row["merge_next"] is not None and c1.button("与下一条合并", key="cut_merge"):
        nxt = agg.item_id(bid, rows[k + 1]["index"])
        _cut(store, sample_bulletin, lambda: store.merge_items(iid, nxt), "已合并两条事项")
    words = c2.text_input("新事项从这几个字开始", key=f"cut_words_{bid}_{k}")
    if words.strip() and c2.button("在此拆分", key="cut_split"):
        item = bulletin.items[k]

        def split():
            return store.split_item(iid, recut.split_offset(bulletin.text, item, words.strip()))

        _cut(store, sample_bulletin, split, "已拆分事项")
    _undo_cuts(store, bid)
    if st.session_state.get("_cut_msg"):
        st.success(app_support.md_escape(st.session_state.pop("_cut_msg")))


def _bulletin(store, bid: str, sample_bulletin):
    """The bulletin as stored (cut fixes applied), or the sample before it is stored."""
    try:
        found = store.load_bulletins([bid])
    except GeoInputError as err:
        st.error(common.err_line(err))
        return None
    if found:
        return found[0]
    return sample_bulletin if sample_bulletin is not None else None


def _cut(store, sample_bulletin, action, done: str) -> None:
    try:
        if sample_bulletin is not None:
            store.ingest(sample_bulletin)  # a fix needs the bulletin in the store
        action()
    except GeoInputError as err:
        st.error(common.err_line(err))
        return
    st.session_state["_cut_msg"] = done
    st.rerun()


def _undo_cuts(store, bid: str) -> None:
    try:
        fixes = store.cuts(bid)
    except GeoInputError:
        return
    if fixes.empty:
        return
    st.caption("已做的切分更正（最新的可撤销）：")
    last = fixes.iloc[-1]
    for row in fixes.itertuples():
        kind = "合并" if row.kind == "merge" else "拆分"
        st.caption(app_support.md_escape(f"{row.created_at[:16]} {kind} {row.note or ''}"))
    if st.button("撤销最近一次切分更正", key="cut_undo"):
        try:
            store.undo_cut(int(last["id"]))
        except GeoInputError as err:
            st.error(common.err_line(err))
            return
        st.session_state["_cut_msg"] = "已撤销"
        st.rerun()
