"""Facts counted once: running totals, repeated stories, what totals add up (issue 11)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from geo import aggregate as agg
from geo import facts
from geo.models import Item
from geo.near_duplicates import (
    Report,
    comparable_text,
    link_reports,
    load_rules,
    repeat_keys,
    same_story,
    text_key,
)
from geo.pipeline import parse_text
from geo.running_totals import is_running_total, mark_running_totals

MASTHEAD = "息县工作简报\n2024年第{n}期\n息县人民政府办公室 2024年{m}月1日\n"


def _sample(sample_text: str, month: int, change=None):
    text = sample_text if change is None else sample_text.replace(*change)
    return parse_text(
        MASTHEAD.format(n=month, m=month) + text, county="息县", source_name=f"{month}.txt"
    )


# --------------------------------------------------------------------------- running totals


@pytest.mark.parametrize(
    ("text", "figure", "expected"),
    [
        ("截至目前，已上报签约项目 5 个，总投资 13.5 亿元。", "13.5", True),
        ("已累计服务返乡人员 3600 余人次，办件 2800 余件。", "2800", True),
        ("今年以来，全乡新增就业 120 人。", "120", True),
        ("本月新增就业 120 人。截至目前累计", "120", False),  # the cue is in the next sentence
        ("流转土地 300 余亩连片种植。", "300", False),
    ],
)
def test_running_totals_are_told_by_a_cue_before_the_figure_in_its_sentence(text, figure, expected):
    assert is_running_total(text, text.index(figure)) is expected


def test_the_pipeline_marks_running_totals(sample_text):
    b = parse_text(sample_text, county="息县")
    by_text = {m.text: m.cumulative for it in b.items for m in it.metrics}
    assert by_text["13.5 亿元"] and by_text["3600 余人次"] and by_text["123 人"]
    assert not by_text["300 余亩"] and not by_text["2354 人"]
    item = Item(0, "标题", "截至目前，累计送工 50 人。")
    from geo.metrics import extract_metrics

    item.metrics = extract_metrics(item.text)
    mark_running_totals([item])
    assert [m.cumulative for m in item.metrics] == [True]


# --------------------------------------------------------------------------- near duplicates

TEXT = (
    "孙庙乡推进冬季农田水利建设\n组织群众疏浚沟渠 12 公里，新修机耕路 3.5 公里，"
    "投入资金 35 万元，受益农户 800 余户，有效改善了全乡的灌溉条件。"
)


def _report(item_id, bulletin, text=TEXT, town="411528201", date="2024-02-01", **kw):
    return Report(item_id, bulletin, text, "411528", town, kw.get("village"), date, (bulletin, 0))


def test_same_story_needs_the_same_place_and_near_identical_text():
    first = _report("a-000", "a")
    assert same_story(_report("b-000", "b", date="2024-03-01"), first) >= 99
    updated = TEXT.replace("800", "950")  # a figure brought up to date
    assert same_story(_report("b-000", "b", updated, date="2024-03-01"), first) >= 95
    assert same_story(_report("b-000", "b", town="411528105"), first) is None
    assert same_story(_report("b-000", "a"), first) is None  # same bulletin: two facts
    assert same_story(_report("b-000", "b", date="2025-03-01"), first) is None  # too late
    other = "孙庙乡召开冬季征兵工作会议\n部署今冬明春征兵工作，要求各村做好宣传发动和体检组织。"
    assert same_story(_report("b-000", "b", other), first) is None


def test_different_months_named_are_different_stories():
    feb = _report("a-000", "a", "2月份，" + TEXT)
    mar = _report("b-000", "b", "3月份，" + TEXT, date="2024-03-01")
    assert same_story(mar, feb) is None
    assert same_story(_report("c-000", "c", "2月份，" + TEXT), feb) is not None


def test_repeat_keys_hold_the_place_and_ignore_figures():
    a = repeat_keys(TEXT, county_code="411528", township_code="411528201")
    b = repeat_keys(TEXT.replace("800", "950"), county_code="411528", township_code="411528201")
    c = repeat_keys(TEXT, county_code="411528", township_code="411528105")
    assert a and set(a) == set(b) and not set(a) & set(c)


def test_text_key_is_the_whole_text_and_place_whitespace_aside():
    place = {"county_code": "411528", "township_code": "411528201"}
    key = text_key(TEXT, **place)
    assert text_key(TEXT.replace("，", "，\n  "), **place) == key  # a reflowed copy
    assert text_key(TEXT.replace("800", "950"), **place) != key  # a figure brought up to date
    assert text_key(TEXT, county_code="411528", township_code="411528105") != key
    assert text_key(" \n", **place) is None
    assert -(2**63) <= key < 2**63  # a signed 64-bit column on both backends


def _direct_score(a: str, b: str) -> float | None:
    """same_story's text test as the thresholds say it, with no shortcut."""
    from rapidfuzz import fuzz

    rules = load_rules()
    if fuzz.ratio(a, b) >= rules.similarity_min:
        return fuzz.ratio(a, b)
    shorter, longer = sorted((len(a), len(b)))
    if shorter / longer >= rules.partial_length_share:
        partial = fuzz.partial_ratio(a, b)
        return partial if partial >= rules.partial_similarity_min else None
    return None


def test_a_shortened_reprint_is_the_same_story_and_the_shortcut_changes_no_answer():
    body = TEXT.split("\n")[1]
    cut = _report("b-000", "b", TEXT[: len(TEXT) - len(body) // 3], date="2024-03-01")
    assert same_story(cut, _report("a-000", "a")) >= 96  # by partial_ratio
    other = "孙庙乡召开冬季征兵工作会议\n部署今冬明春征兵工作，要求各村做好宣传发动和体检组织。"
    variants = [TEXT[:k] for k in range(30, len(TEXT), 7)] + [
        TEXT.replace("800", "950"),
        TEXT[20:],
        other + TEXT[:40],
        TEXT[:50] + other,
        TEXT.replace("组织群众", "全乡"),
        TEXT.replace("沟渠", "河道").replace("机耕路", "生产路"),
    ]
    for text in variants:
        got = same_story(_report("b-000", "b", text, date="2024-03-01"), _report("a-000", "a"))
        want = _direct_score(comparable_text(text), comparable_text(TEXT))
        assert (got is None) == (want is None) and (got is None or abs(got - want) < 1e-9), text


def test_link_reports_links_to_the_earliest_report_one_item_per_bulletin():
    reports = [
        _report("c-000", "c", date="2024-04-01"),
        _report("a-000", "a"),
        _report("b-000", "b", date="2024-03-01"),
        _report("b-001", "b", date="2024-03-01"),  # the same text twice in one bulletin
    ]
    links = link_reports(reports)
    assert links["b-000"][0] == "a-000" and links["c-000"][0] == "a-000"
    assert "a-000" not in links and "b-001" not in links


# --------------------------------------------------------------------------- counting once


def test_items_frame_links_repeats_and_totals_count_them_once(sample_text):
    feb = _sample(sample_text, 2)
    mar = _sample(sample_text, 3, ("2600", "2800"))
    items, metrics = agg.items_frame([feb, mar])
    assert items["repeat_of"].notna().sum() == 6
    assert (items.loc[items["bulletin_date"] == "2024-02-01", "repeat_of"].isna()).all()
    metrics = agg.assign_metric_keys(metrics)
    town = agg.aggregate_townships(items, metrics, "items")
    assert town["n_items"].sum() == 4 and town["value"].sum() == 2  # repeats add no item
    jobs = agg.item_metric_values(metrics, "employment_person")
    county = items["township_code"].isna()
    first = items.loc[county & (items["bulletin_date"] == "2024-02-01"), "item_id"].iloc[0]
    assert jobs[first] == 2600
    # over both bulletins the story counts at its new value, never 2600 + 2800
    f = facts.counted_facts(items, metrics, "employment_person")
    total = facts.fact_totals(f, pd.Series("all", index=f.index))["all"]
    assert total == 2800 + 123 + 100


def test_running_totals_count_at_their_latest_value_per_place():
    items = pd.DataFrame(
        {
            "item_id": ["a-000", "b-000", "b-001"],
            "bulletin_id": ["a", "b", "b"],
            "bulletin_date": ["2024-02-01", "2024-03-01", "2024-03-01"],
            "index": [0, 0, 1],
            "county_code": ["411528"] * 3,
            "township_code": ["411528201", "411528201", "411528105"],
            "village_code": [None] * 3,
            "repeat_of": [None] * 3,
        }
    )
    metrics = pd.DataFrame(
        {
            "item_id": ["a-000", "b-000", "b-001"],
            "value": [100.0, 150.0, 40.0],
            "metric_key": ["employment_person"] * 3,
            "cumulative": [True, True, True],
        }
    )
    f = facts.counted_facts(items, metrics, "employment_person")
    everything = facts.fact_totals(f, pd.Series("all", index=f.index))
    assert everything["all"] == 150 + 40  # latest of 孙庙乡, plus 小茴店镇; never 100 + 150
    by_month = facts.fact_totals(f, f["bulletin_date"].str[:7])
    assert by_month.to_dict() == {"2024-02": 100.0, "2024-03": 190.0}


def test_a_reviewer_may_chain_repeats_and_stories_stay_finite():
    items = pd.DataFrame({"item_id": ["a", "b", "c", "d"], "repeat_of": [None, "a", "b", "d"]})
    assert facts.story_ids(items).tolist() == ["a", "a", "a", "d"]
    loop = pd.DataFrame({"item_id": ["x", "y"], "repeat_of": ["y", "x"]})
    assert len(facts.story_ids(loop)) == 2


def test_with_contributions_adds_what_changed(sample_text):
    items, metrics = agg.items_frame([_sample(sample_text, 2), _sample(sample_text, 3)])
    items, metrics = facts.with_contributions(items, agg.assign_metric_keys(metrics))
    assert set(items["repeat"]) == {True, False}
    repeats = set(items.loc[items["repeat"], "item_id"])
    added = metrics[metrics["item_id"].isin(repeats) & metrics["counted"]]
    flows = added[~added["cumulative"]]
    assert (flows["contribution"] == 0).all()  # told again unchanged: adds nothing
    assert metrics.loc[~metrics["counted"], "contribution"].map(math.isnan).all()
