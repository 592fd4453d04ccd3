"""The review queue of placements: items whose place the geocoder is unsure of, lowest
confidence first, each with its deciding mention highlighted and one click to accept, pick an
alternative or mark it county-wide; a correction can be kept as a county rule."""

from __future__ import annotations

import html

import streamlit as st

from app import cache, common, review
from geo import app_support
from geo import review as rv
from geo.errors import GeoInputError

_ROLE_STYLE = {
    "deciding": "background:#ffd54f;font-weight:600",
    "chosen": "background:#fff3c4",
    "alternative": "background:#cfe3ff",
    "other": "text-decoration:underline dotted",
}
_FIELD_ZH = {"unit": "报送单位", "headline": "标题", "body": "正文"}
_LEGEND = (
    '<span style="{deciding}">决定定位的地名</span> · <span style="{chosen}">同一地点</span> · '
    '<span style="{alternative}">备选地点</span>'
).format(**_ROLE_STYLE)


def queue_size(items_df) -> int:
    """How many items' places still need review."""
    return int(rv.needs_review_mask(items_df).sum()) if len(items_df) else 0


def review_queue(store, items_df, sample_bulletin, gazetteer, *, data_key=None) -> None:
    """The queue: one item at a time, lowest confidence first.

    ``gazetteer`` is the county's, or a reader ``county_code -> gazetteer`` (a prefecture);
    with ``data_key`` (the data's key) the queue's order is worked out once for every session."""
    if st.session_state.get("_rq_msg"):
        st.success(app_support.md_escape(st.session_state.pop("_rq_msg")))
    _rule_offer(store, gazetteer)
    if data_key is None:
        queue = rv.review_queue(items_df)
    else:  # shared by every session: read only
        key = (*data_key, "review_order")
        queue = cache.shared_frames(key, lambda: rv.review_queue(items_df))
    if queue.empty:
        st.caption("没有待核对的定位。")
        return
    pos = min(int(st.session_state.get("_rq_pos", 0)), len(queue) - 1)
    row = queue.iloc[pos]
    iid = str(row["item_id"])
    conf = row["confidence"]
    conf_text = "未评分" if conf is None or conf != conf else f"{float(conf):.2f}"
    st.caption(f"第 {pos + 1} / {len(queue)} 条（置信度最低的在前） · 置信度 {conf_text}")
    _item_text(store, iid, row)
    _choice_buttons(store, sample_bulletin, row, gazetteer)
    c1, c2 = st.columns(2)
    if pos > 0 and c1.button("上一条", key="rq_prev"):
        st.session_state["_rq_pos"] = pos - 1
        st.rerun()
    if pos + 1 < len(queue) and c2.button("跳过，下一条", key="rq_next"):
        st.session_state["_rq_pos"] = pos + 1
        st.rerun()


def _item_text(store, iid: str, row) -> None:
    """The item's fields with its place mentions highlighted by role."""
    try:
        _, item = store.item(iid)
        evidence = item.place.evidence if item.place else []
        fields = {"unit": item.unit or "", "headline": item.headline or "", "body": item.body}
    except GeoInputError:  # the sample before it is stored: no offsets kept
        evidence, fields = [], {"unit": "", "headline": row["headline"], "body": row["body"]}
    spans = rv.highlight_spans(evidence, row.get("alternatives"))
    parts = []
    for name, text in fields.items():
        if text:
            own = [s for s in spans if s.field == name]
            parts.append(f"<p><b>{_FIELD_ZH[name]}</b>：{_marked(str(text)[:2000], own)}</p>")
    st.html(f'<div class="geo-queue-item">{"".join(parts)}<small>{_LEGEND}</small></div>')
    alts = rv.alternatives_text(row.get("alternatives"))
    if alts:
        st.caption(app_support.md_escape("备选：" + alts))


def _marked(text: str, spans) -> str:
    """``text`` escaped, with each span wrapped in a styled, titled ``<span>``."""
    out, at = [], 0
    for s in sorted(spans, key=lambda s: s.start):
        if s.start < at or s.end > len(text):
            continue
        title = html.escape(s.reason or s.role, quote=True)
        out.append(html.escape(text[at : s.start]))
        out.append(
            f'<span style="{_ROLE_STYLE[s.role]}" title="{title}">'
            f"{html.escape(text[s.start : s.end])}</span>"
        )
        at = s.end
    out.append(html.escape(text[at:]))
    return "".join(out)


def _choice_buttons(store, sample_bulletin, row, gazetteer) -> None:
    """One button per answer: accept the place, an alternative, or county-wide."""
    iid = str(row["item_id"])
    for j, choice in enumerate(rv.choices(row)):
        score = "" if choice.score is None else f"（{choice.score:.2f}）"
        if st.button(choice.label + score, key=f"rq_{iid}_{j}", width="stretch"):
            _apply(store, sample_bulletin, row, choice, gazetteer)


def _apply(store, sample_bulletin, row, choice: rv.Choice, gazetteer) -> None:
    iid = str(row["item_id"])
    gaz = _gazetteer_of(gazetteer, row.get("county_code"))
    try:
        if sample_bulletin is not None:
            store.ingest(sample_bulletin)  # corrections need the item in the store
        if choice.current:
            store.accept_place(iid, note="核对：确认")
        else:
            store.correct(
                iid,
                township_code=choice.township_code,
                village_code=choice.village_code,
                note="核对：" + choice.label,
                gazetteer=gaz,
            )
    except GeoInputError as err:
        st.error(common.err_line(err))
        return
    st.session_state["_rq_msg"] = f"已保存：{choice.label}"
    if not choice.current and choice.township_code and gaz is not None:
        st.session_state["_rq_rule"] = (iid, dict(row), choice.township_code, choice.village_code)
    st.rerun()


def _rule_offer(store, gazetteer) -> None:
    """After a correction: keep it as a county rule (a short form, a reporting unit)."""
    offer = st.session_state.get("_rq_rule")
    if not offer:
        return
    iid, row, town, village = offer
    gaz = _gazetteer_of(gazetteer, row.get("county_code"))
    suggestions = rv.rule_suggestions(row, town, village, gaz) if gaz is not None else []
    for k, sug in enumerate(suggestions):
        if st.button(f"保存为本县规则：{sug.label}", key=f"rq_rule_{k}"):
            try:
                store.rule_from_correction(iid, kind=sug.kind, text=sug.text, note="核对队列")
            except GeoInputError as err:
                st.error(common.err_line(err))
                return
            st.session_state.pop("_rq_rule", None)
            st.session_state["_rq_msg"] = f"已保存规则：{sug.label}（新简报按此定位）"
            st.rerun()
    if not suggestions or st.button("不保存规则", key="rq_rule_skip"):
        st.session_state.pop("_rq_rule", None)


def _gazetteer_of(gazetteer, county_code):
    """The county's gazetteer, or in a prefecture the item's own county's."""
    return review.item_gazetteer(gazetteer, county_code) if callable(gazetteer) else gazetteer
