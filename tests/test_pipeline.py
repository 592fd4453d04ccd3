"""The whole text pipeline on the sample bulletin: the issues' done-when checks in one place."""

from __future__ import annotations

from geo.pipeline import parse_text


def test_sample_gives_six_annotated_items(sample_text):
    b = parse_text(sample_text, county="息县", source_name="sample.txt")
    assert [it.unit for it in b.items] == [
        "县人社局",
        "县招商服务中心",
        "县行政审批局",
        "县供电公司",
        "澺河街道办事处",
        "白土店乡人民政府",
    ]
    assert [it.sector for it in b.items] == [
        "employment",
        "investment",
        "government_services",
        "utilities",
        "employment",
        "agriculture",
    ]
    scopes = [it.place.scope for it in b.items]
    assert scopes[:4] == ["county"] * 4
    assert (b.items[4].place.township, b.items[4].place.township_code) == ("澺河街道", "411528004")
    assert (b.items[5].place.township, b.items[5].place.village) == ("白土店乡", "新庄村")
    assert b.items[5].place.scope == "village"
    # Places outside the county are recognised, never placed.
    invest = b.items[1]
    assert invest.place.township is None
    assert {"苏州", "长三角"} <= set(invest.place.outside)


def test_sample_metrics_normalised(sample_text):
    b = parse_text(sample_text, county="411528")
    found = {(m.value, m.unit, m.qualifier) for it in b.items for m in it.metrics}
    assert (1350000000, "yuan", "exact") in found
    assert (30000, "person_time", "approx") in found
    assert (25000, "yuan", "exact") in found
    assert (300, "mu", "approx") in found
    assert (400000, "time", "at_least") in found


def test_text_without_item_structure_is_one_item():
    b = parse_text("白土店乡新庄村新建鲜食玉米基地 流转土地120亩", county="息县")
    assert len(b.items) == 1
    assert b.items[0].place.township == "白土店乡"
    assert [(m.value, m.unit) for m in b.items[0].metrics] == [(120, "mu")]


def test_county_detected_from_text_when_not_given(sample_text):
    b = parse_text(sample_text)
    assert (b.county, b.county_code) == ("息县", "411528")
