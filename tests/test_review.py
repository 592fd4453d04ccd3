"""Pure helpers of the review queue: ordering, highlighting, choices, rule suggestions."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from geo.aggregate import ITEM_COLUMNS, items_frame
from geo.gazetteer import load_gazetteer
from geo.geocode import geocode_item
from geo.models import Alternative, Bulletin, Evidence, Item
from geo.review import (
    alternatives_text,
    choices,
    count_for_map,
    counted_frames,
    deciding_span,
    highlight_spans,
    parse_alternatives,
    review_queue,
    rule_suggestions,
)


@pytest.fixture(scope="module")
def gaz():
    return load_gazetteer("息县")


def _frame(rows: list[dict]) -> pd.DataFrame:
    full = [{c: r.get(c) for c in ITEM_COLUMNS} for r in rows]
    return pd.DataFrame(full, columns=ITEM_COLUMNS)


def test_review_queue_puts_flagged_items_first_lowest_confidence_first():
    df = _frame(
        [
            {"item_id": "a", "confidence": 0.95, "needs_review": False, "corrected": False},
            {"item_id": "b", "confidence": 0.40, "needs_review": True, "corrected": False},
            {"item_id": "c", "confidence": 0.70, "needs_review": True, "corrected": False},
            {"item_id": "d", "confidence": None, "needs_review": True, "corrected": False},
            {"item_id": "e", "confidence": 0.10, "needs_review": True, "corrected": True},
        ]
    )
    assert review_queue(df)["item_id"].tolist() == ["d", "b", "c"]
    everything = review_queue(df, include_reviewed=True)["item_id"].tolist()
    assert everything == ["d", "b", "c", "e", "a"]
    assert review_queue(df.iloc[0:0]).empty


def test_count_for_map_leaves_out_unreviewed_flagged_items():
    df = _frame(
        [
            {"item_id": "a", "needs_review": False, "corrected": False},
            {"item_id": "b", "needs_review": True, "corrected": False},
            {"item_id": "c", "needs_review": True, "corrected": True},
        ]
    )
    assert count_for_map(df, include_needs_review=False).tolist() == [True, False, True]
    assert count_for_map(df, include_needs_review=True).all()


def test_counted_frames_keep_what_the_map_counts_with_their_figures():
    df = _frame(
        [
            {"item_id": "a", "needs_review": False, "corrected": False},
            {"item_id": "b", "needs_review": True, "corrected": False},
            {"item_id": "c", "needs_review": True, "corrected": True},
        ]
    )
    metrics = pd.DataFrame({"item_id": ["a", "b", "b", "c"], "value": [1.0, 2.0, 3.0, 4.0]})
    items, figures, left_out = counted_frames(df, metrics, include_needs_review=False)
    assert items["item_id"].tolist() == ["a", "c"] and left_out == 1
    assert figures["value"].tolist() == [1.0, 4.0]
    same = counted_frames(df, metrics, include_needs_review=True)
    assert same[0] is df and same[1] is metrics and same[2] == 0


def test_deciding_span_and_highlights_index_the_item_fields(gaz):
    item = Item(
        index=0,
        headline="息县白土店乡发展鲜食玉米",
        body="在白土店乡新庄村建设示范基地。项店镇也有种植。",
    )
    p = geocode_item(item, gaz)
    span = deciding_span(p.evidence)
    fields = {"headline": item.headline, "body": item.body}
    assert span is not None and fields[span.field][span.start : span.end] == span.text
    # the stored JSON form works the same
    stored = json.loads(json.dumps([e.to_dict() for e in p.evidence]))
    assert deciding_span(stored) == span
    spans = highlight_spans(p.evidence, p.alternatives)
    assert [s.role for s in spans].count("deciding") == 1
    for s in spans:
        assert fields.get(s.field, "")[s.start : s.end] == s.text
    roles = {s.text: s.role for s in spans}
    assert roles.get("项店镇") in ("alternative", "other")


def test_no_deciding_span_when_nothing_is_named():
    assert deciding_span([Evidence("苏州", "body", 0, 2, "outside", "县外地名", False)]) is None


def test_alternatives_parse_and_read():
    alts = [
        Alternative("village", "项店镇", "411528105", "李楼村", "411528105201", 0.12),
        Alternative("county", score=0.05),
    ]
    stored = json.dumps([a.to_dict() for a in alts], ensure_ascii=False)
    assert parse_alternatives(stored) == alts
    assert parse_alternatives(None) == [] and parse_alternatives(float("nan")) == []
    assert alternatives_text(stored) == "项店镇/李楼村 0.12；全县 0.05"


def test_choices_offer_accept_alternatives_and_county_wide():
    row = {
        "scope": "township",
        "township": "白土店乡",
        "township_code": "411528206",
        "village": None,
        "village_code": None,
        "confidence": 0.6,
        "alternatives": json.dumps(
            [
                {
                    "scope": "township",
                    "township": "项店镇",
                    "township_code": "411528105",
                    "village": None,
                    "village_code": None,
                    "score": 0.3,
                }
            ]
        ),
    }
    got = choices(row)
    assert [c.label for c in got] == [
        "确认：白土店乡",
        "改为：项店镇",
        "改为：全县（不属于单个乡镇）",
    ]
    assert got[0].current and (got[0].township_code, got[0].score) == ("411528206", 0.6)
    assert (got[2].township_code, got[2].village_code) == ("", "")


def test_rule_suggestions_from_a_correction(gaz):
    row = {"unit": "城关办 张三", "headline": "谯楼开展夜市整治", "body": "商户80家签订承诺书。"}
    got = rule_suggestions(row, "411528001", "", gaz)
    assert [(s.kind, s.text) for s in got] == [("unit", "城关办"), ("alias", "谯楼")]
    assert got[0].label == "报送单位「城关办」→谯楼街道"
    # a unit that already names the township suggests nothing
    row = {"unit": "谯楼街道办事处", "headline": "谯楼街道开展夜市整治", "body": ""}
    assert rule_suggestions(row, "411528001", "", gaz) == []
    assert rule_suggestions(row, "", "", gaz) == []


def test_items_frame_carries_confidence_and_alternatives(gaz):
    item = Item(index=0, headline="", body="包信镇新建冷库一座，夏庄镇新建烘干塔一座。")
    item.place = geocode_item(item, gaz)
    df, _ = items_frame([Bulletin("x.txt", item.body, "ab" * 32, items=[item])])
    row = df.iloc[0]
    assert row["confidence"] == item.place.confidence
    assert bool(row["needs_review"]) == item.place.needs_review
    assert parse_alternatives(row["alternatives"]) == item.place.alternatives
