"""Metric keys, filters, per-township aggregates, URL state and approximate item points.

The builders at the top (``make_bulletins``, ``make_frames``, ``make_townships``) are hand-made
inputs shared with test_webmap.py and test_export.py.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geo import aggregate as agg
from geo.models import Bulletin, BulletinHeader, Item, Metric, Place

# Four square townships of 0.1° west to east, two rows.
TOWNSHIPS = [
    ("411528001", "谯楼街道", (114.70, 32.30)),
    ("411528101", "项店镇", (114.80, 32.30)),
    ("411528201", "孙庙乡", (114.70, 32.40)),
    ("411528202", "路口乡", (114.80, 32.40)),
]
SEAT = (114.74, 32.34)


def make_townships() -> gpd.GeoDataFrame:
    """Square township polygons in EPSG:4326 with township_code and township."""
    return gpd.GeoDataFrame(
        {
            "township_code": [c for c, _, _ in TOWNSHIPS],
            "township": [n for _, n, _ in TOWNSHIPS],
            "quality": "approximate",
        },
        geometry=[box(x, y, x + 0.1, y + 0.1) for _, _, (x, y) in TOWNSHIPS],
        crs=4326,
    )


def make_outline() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": ["息县"]}, geometry=[box(114.7, 32.3, 114.9, 32.5)], crs=4326)


def _item(index, headline, body, unit, sector, place, metrics=()):
    return Item(
        index=index,
        headline=headline,
        body=body,
        unit=unit,
        sector=sector,
        sectors=[sector],
        metrics=[Metric(v, u, label=lab, text=t) for v, u, lab, t in metrics],
        place=place,
    )


def _place(scope, code=None, name=None, village=None, vcode=None):
    return Place(
        scope=scope,
        county="息县",
        county_code="411528",
        township=name,
        township_code=code,
        village=village,
        village_code=vcode,
    )


def make_bulletins() -> list[Bulletin]:
    """Two small bulletins written for these tests (not real texts)."""
    items_a = [
        _item(
            1,
            "项店镇开展春季招工对接活动",
            "组织企业进村宣讲，帮助求职群众达成就业意向120人，送工入厂85人。",
            "项店镇",
            "employment",
            _place("township", "411528101", "项店镇"),
            [(120, "person", "达成就业意向", "120人"), (85, "person", "送工", "85人")],
        ),
        _item(
            2,
            "孙庙乡新签约农产品加工项目",
            "孙庙乡新签约农产品加工项目2个，总投资1.2亿元。",
            "孙庙乡",
            "investment",
            _place("township", "411528201", "孙庙乡"),
            [(2, "project", "签约项目", "2个"), (1.2e8, "yuan", "总投资", "1.2亿元")],
        ),
        _item(
            3,
            "<script>alert(1)</script>路口乡土地流转",
            "路口乡王庄村流转土地3000亩，发展优质稻种植。",
            "路口乡",
            "agriculture",
            _place("village", "411528202", "路口乡", "王庄村", "411528202201"),
            [(3000, "mu", "流转土地", "3000亩")],
        ),
        _item(
            4,
            "县人社局举办线上招聘会",
            "全县共有36家企业参加，提供岗位1500个。",
            "县人社局",
            "employment",
            _place("county"),
            [(36, "enterprise", "参加企业", "36家"), (1500, "item", "岗位", "1500个")],
        ),
    ]
    items_b = [
        _item(
            1,
            "项店镇招商引资再添新项目",
            "项店镇签约服装加工项目，总投资5000万元，预计带动就业200人。",
            "项店镇",
            "investment",
            _place("township", "411528101", "项店镇"),
            [(5e7, "yuan", "总投资", "5000万元"), (200, "person", "带动就业", "200人")],
        ),
        _item(
            2,
            "某地召开会议",
            "会议研究部署有关工作。",
            None,
            "other",
            _place("unknown"),
        ),
    ]
    return [
        Bulletin(
            "a.txt",
            "甲",
            "a" * 64,
            BulletinHeader("息县工作简报", "第1期", "2024-02-01"),
            "息县",
            "411528",
            items_a,
        ),
        Bulletin(
            "b.txt",
            "乙",
            "b" * 64,
            BulletinHeader("息县工作简报", "第2期", "2024-03-01"),
            "息县",
            "411528",
            items_b,
        ),
    ]


def make_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    items, metrics = agg.items_frame(make_bulletins())
    return items, agg.assign_metric_keys(metrics)


# --------------------------------------------------------------------------- metric keys


def test_assign_metric_keys_by_unit_and_cue():
    _, metrics = make_frames()
    keys = dict(zip(metrics["label"], metrics["metric_key"], strict=True))
    assert keys["总投资"] == "investment_yuan"
    assert keys["送工"] == "employment_person"
    assert keys["带动就业"] == "employment_person"
    assert keys["流转土地"] == "land_mu"
    assert keys["岗位"] == "jobs_item"
    assert keys["签约项目"] == "project"
    assert keys["参加企业"] == "enterprise"


def test_assign_metric_keys_fallback_and_unknown_unit():
    m = pd.DataFrame(
        {
            "item_id": ["x", "y", "z"],
            "value": [10.0, 5.0, 3.0],
            "unit": ["yuan", "person", "parsec"],
            "qualifier": "exact",
            "label": ["", "参加会议", ""],
            "text": ["10元", "5人", "3秒差距"],
        }
    )
    out = agg.assign_metric_keys(m)
    assert list(out["metric_key"]) == ["amount_yuan", "people_person", "other"]
    assert "metric_key" not in m.columns  # input untouched


def test_metric_labels_in_chinese():
    assert agg.metric_label("investment_yuan") == "投资额（元）"
    assert agg.metric_label("items") == "事项数（条）"
    assert agg.metric_unit_zh("land_mu") == "亩"


def test_metric_key_index_is_read_once_per_file(tmp_path):
    # the map asks for names and units tens of thousands of times per build
    assert agg._key_index() is agg._key_index()
    custom = tmp_path / "keys.json"
    custom.write_text(
        '{"unit_zh": {"mu": "亩"}, "items": {"key": "items", "name_zh": "事项", "unit_zh": "条"},'
        ' "families": [{"key": "pond_mu", "name_zh": "坑塘", "unit": "mu", "cues": ["坑塘"]}],'
        ' "fallbacks": {"mu": {"key": "area_mu", "name_zh": "面积"}}}',
        encoding="utf-8",
    )
    index = agg._key_index(custom)
    assert set(index) == {"items", "pond_mu", "area_mu"} and index["pond_mu"].label == "坑塘（亩）"
    assert "pond_mu" not in agg._key_index()


def test_metric_catalog_counts():
    items, metrics = make_frames()
    cat = agg.metric_catalog(metrics, items)
    assert list(cat.columns) == ["key", "name_zh", "unit", "n"]
    assert cat.iloc[0].to_dict() == {"key": "items", "name_zh": "事项数（条）", "unit": "", "n": 6}
    row = cat.set_index("key").loc["investment_yuan"]
    assert row["n"] == 2 and row["unit"] == "yuan" and row["name_zh"] == "投资额（元）"


# --------------------------------------------------------------------------- filters


def test_filter_by_sector_township_and_text():
    items, metrics = make_frames()
    i, m = agg.filter_items(items, metrics, agg.Filters(sectors=("investment",)))
    assert set(i["headline"]) == {"孙庙乡新签约农产品加工项目", "项店镇招商引资再添新项目"}
    assert set(m["item_id"]) == set(i["item_id"])
    i, _ = agg.filter_items(items, metrics, agg.Filters(townships=("411528101",)))
    assert len(i) == 2
    i, _ = agg.filter_items(items, metrics, agg.Filters(text="优质稻"))
    assert list(i["township"]) == ["路口乡"]
    i, _ = agg.filter_items(items, metrics, agg.Filters(text="人社局"))  # found in unit
    assert list(i["scope"]) == ["county"]


def test_filter_by_dates_bulletins_scopes():
    items, metrics = make_frames()
    i, _ = agg.filter_items(items, metrics, agg.Filters(date_from="2024-02-15"))
    assert set(i["bulletin_name"]) == {"b.txt"}
    i, _ = agg.filter_items(items, metrics, agg.Filters(date_to="2024-02-01"))
    assert set(i["bulletin_name"]) == {"a.txt"}
    i, _ = agg.filter_items(items, metrics, agg.Filters(bulletins=("b" * 64,)))
    assert len(i) == 2
    i, _ = agg.filter_items(items, metrics, agg.Filters(scopes=("village", "county")))
    assert sorted(i["scope"]) == ["county", "village"]


def test_filter_by_metric_range():
    items, metrics = make_frames()
    f = agg.Filters(metric_key="investment_yuan", metric_min=6e7)
    i, m = agg.filter_items(items, metrics, f)
    assert list(i["township"]) == ["孙庙乡"]
    assert set(m["item_id"]) == set(i["item_id"])
    i, _ = agg.filter_items(items, metrics, agg.Filters(metric_key="employment_person"))
    assert len(i) == 2
    i, _ = agg.filter_items(items, metrics, agg.Filters(metric_key="items", metric_min=1e9))
    assert len(i) == len(items)  # "items" is not a metric filter


def test_one_item_counts_its_largest_figure_of_a_key_not_their_sum():
    items, metrics = make_frames()
    per_item = agg.item_metric_values(metrics, "employment_person")
    # Item a/1 reports 意向 120 and 送工 85 (both employment_person): 120, not 205.
    assert per_item.sort_values().tolist() == [120.0, 200.0]
    assert agg.item_metric_values(metrics, "items").empty
    codes = [c for c, _, _ in TOWNSHIPS]
    t = agg.aggregate_townships(items, metrics, "employment_person", township_codes=codes)
    assert t.loc["411528101", "value"] == 320  # 120 + 200 over two items, not 405
    # The range filter reads the same per-item value: 120 is below 150, 200 is not.
    f = agg.Filters(metric_key="employment_person", metric_min=150)
    i, _ = agg.filter_items(items, metrics, f)
    assert list(i["headline"]) == ["项店镇招商引资再添新项目"]
    f = agg.Filters(metric_key="employment_person", metric_min=121, metric_max=199)
    assert agg.filter_items(items, metrics, f)[0].empty
    by_key = agg.item_metric_values_by_key(metrics)
    assert list(by_key.columns) == ["item_id", "metric_key", "value"]
    assert by_key.groupby("metric_key")["value"].sum()["employment_person"] == 320
    assert len(by_key) == len(metrics) - 1  # only 意向/送工 of one item collapse


def test_filter_none_and_empty_keep_everything():
    items, metrics = make_frames()
    for f in (None, agg.Filters()):
        i, m = agg.filter_items(items, metrics, f)
        assert len(i) == len(items) and len(m) == len(metrics)


# --------------------------------------------------------------------------- aggregates


def test_aggregate_townships_items_and_metric():
    items, metrics = make_frames()
    codes = [c for c, _, _ in TOWNSHIPS]
    t = agg.aggregate_townships(items, metrics, "items", township_codes=codes)
    assert list(t.index) == codes
    assert t.loc["411528101", "n_items"] == 2
    assert t.loc["411528101", "n_employment"] == 1 and t.loc["411528101", "n_investment"] == 1
    assert np.isnan(t.loc["411528001", "value"]) and t.loc["411528001", "n_items"] == 0
    inv = agg.aggregate_townships(items, metrics, "investment_yuan", township_codes=codes)
    assert inv.loc["411528101", "value"] == 5e7
    assert inv.loc["411528201", "value"] == 1.2e8
    assert np.isnan(inv.loc["411528202", "value"])  # items but no investment figures
    assert inv.loc["411528202", "n_items"] == 1


def test_aggregate_sectors_and_bulletins():
    items, metrics = make_frames()
    s = agg.aggregate_sectors(items, metrics, "employment_person").set_index("sector")
    assert s.loc["employment", "n_items"] == 2
    assert s.loc["employment", "value"] == 120  # 意向 120 includes 送工 85: the item counts 120
    assert s.loc["investment", "value"] == 200
    assert np.isnan(s.loc["agriculture", "value"])
    b = agg.aggregate_bulletins(items, metrics, "investment_yuan")
    assert list(b["bulletin_name"]) == ["b.txt", "a.txt"]  # newest first
    assert list(b["value"]) == [5e7, 1.2e8]


def test_filter_and_aggregate_100k_items():
    # Speed is measured outside the tests (house rule: no timing assertions).
    rng = np.random.default_rng(0)
    n = 100_000
    codes = np.array([c for c, _, _ in TOWNSHIPS])
    sectors = np.array(["employment", "investment", "agriculture", "other"])
    items = pd.DataFrame({c: None for c in agg.ITEM_COLUMNS}, index=range(n))
    items["item_id"] = [f"{i:012d}-001" for i in range(n)]
    items["bulletin_id"] = "c" * 64
    items["bulletin_date"] = "2024-05-01"
    items["headline"] = np.where(rng.random(n) < 0.1, "某镇春季招工", "某乡秋收工作")
    items["body"] = "组织群众开展工作，成效明显。" * 10
    items["unit"] = "某乡"
    items["sector"] = sectors[rng.integers(0, 4, n)]
    items["scope"] = "township"
    items["township_code"] = codes[rng.integers(0, 4, n)]
    items["township"] = "某乡"
    metrics = pd.DataFrame(
        {
            "item_id": items["item_id"].repeat(2).to_numpy(),
            "value": rng.random(2 * n) * 1e6,
            "unit": np.tile(["yuan", "person"], n),
            "qualifier": "exact",
            "label": np.tile(["总投资", "送工"], n),
            "text": "",
        }
    )
    metrics = agg.assign_metric_keys(metrics)
    f = agg.Filters(sectors=("employment", "investment"), text="招工", metric_key="investment_yuan")
    i, m = agg.filter_items(items, metrics, f)
    t = agg.aggregate_townships(i, m, "investment_yuan", township_codes=codes)
    expected = items["headline"].str.contains("招工") & items["sector"].isin(f.sectors)
    assert len(i) == int(expected.sum()) and t["n_items"].sum() == len(i)
    assert np.isclose(t["value"].sum(), m.loc[m["metric_key"] == "investment_yuan", "value"].sum())


# --------------------------------------------------------------------------- URL state


def test_query_round_trip():
    f = agg.Filters(
        sectors=("employment", "investment"),
        townships=("411528101",),
        date_from="2024-01-01",
        text="招工",
        metric_key="investment_yuan",
        metric_min=1000.0,
        scopes=("township",),
    )
    view = agg.ViewState(lat=32.35, lon=114.74, zoom=11, basemap="osm", metric="land_mu")
    q = agg.filters_to_query(f, view)
    assert all(isinstance(v, str) for v in q.values())
    assert q["sector"] == "employment,investment" and q["q"] == "招工"
    f2, v2 = agg.filters_from_query(q)
    assert f2 == f
    assert v2 == view
    assert agg.filters_to_query(agg.Filters(), agg.ViewState()) == {}


@pytest.mark.parametrize("bound", [12345678.0, 1234567.5, 0.1 + 0.2, 1e20, -3.0, 2.5e-7])
def test_query_metric_bounds_are_exact(bound):
    q = agg.filters_to_query(agg.Filters(metric_key="investment_yuan", metric_min=bound))
    assert "e+" not in q["min"] or abs(bound) >= 1e16
    f, _ = agg.filters_from_query(q)
    assert f.metric_min == bound
    assert agg.filters_to_query(agg.Filters(metric_max=12345678.0))["max"] == "12345678"


def test_query_bad_values_are_dropped():
    f, v = agg.filters_from_query(
        {"from": "not-a-date", "min": "abc", "lat": "91", "lon": "114", "zoom": ["3", "x"]}
    )
    assert f == agg.Filters()
    assert v.lat is None and v.lon is None and v.zoom is None and v.metric == "items"


# --------------------------------------------------------------------------- points


def test_item_points_inside_townships_and_at_seat():
    items, _ = make_frames()
    gdf = make_townships()
    pts = agg.item_points(items, gdf, county_seat=Point(SEAT))
    assert pts.crs.to_epsg() == 4326
    assert set(pts["position"]) == {"approximate"}
    assert "某地召开会议" not in set(pts["headline"])  # unknown place: not drawn
    polys = dict(zip(gdf["township_code"], gdf.geometry, strict=True))
    for _, row in pts.iterrows():
        if row["placed_at"] == "county_seat":
            assert (row.geometry.x, row.geometry.y) == SEAT
        else:
            assert polys[row["township_code"]].contains(row.geometry)
    village = pts[pts["placed_at"] == "village"].geometry.iloc[0]
    assert not village.equals(polys["411528202"].representative_point())


def test_item_points_are_deterministic_and_spread():
    items, _ = make_frames()
    gdf = make_townships()
    v1 = agg._hash_point(gdf.geometry.iloc[3], "411528202:a")
    v2 = agg._hash_point(gdf.geometry.iloc[3], "411528202:a")
    v3 = agg._hash_point(gdf.geometry.iloc[3], "411528202:b")
    assert v1.equals(v2) and not v1.equals(v3)
    # township items whose township has no polygon are not placed
    pts = agg.item_points(items, gdf[gdf["township_code"] != "411528101"], SEAT)
    assert "411528101" not in set(pts["township_code"].dropna())


@pytest.mark.parametrize("seat", [None, SEAT])
def test_item_points_seat_forms(seat):
    items, _ = make_frames()
    pts = agg.item_points(items, make_townships(), seat)
    county = pts[pts["placed_at"] == "county_seat"]
    assert len(county) == 1
    assert make_townships().union_all().contains(county.geometry.iloc[0])


def test_village_points_match_village_item_points():
    from geo.gazetteer import Village

    gdf = make_townships()
    villages = [
        Village("411528202201", "王庄村", "王庄村民委员会", "411528202"),
        Village("411528202202", "李楼村", "李楼村民委员会", "411528202"),
        Village("411528999201", "某村", "某村民委员会", "411528999"),  # township without polygon
    ]
    vp = agg.village_points(villages, gdf)
    assert list(vp["village"]) == ["王庄村", "李楼村"]
    assert set(vp["position"]) == {"approximate"} and vp.crs.to_epsg() == 4326
    assert all(gdf.geometry.iloc[3].contains(g) for g in vp.geometry)
    assert not vp.geometry.iloc[0].equals(vp.geometry.iloc[1])
    items, _ = make_frames()
    pts = agg.item_points(items, gdf, SEAT)
    wangzhuang = pts[pts["village"] == "王庄村"].geometry.iloc[0]
    assert wangzhuang.equals(vp.geometry.iloc[0])  # the item sits on its village's dot
    frame = pd.DataFrame(
        {"code": ["411528202201"], "name": ["王庄村"], "township_code": ["411528202"]}
    )
    assert agg.village_points(frame, gdf).geometry.iloc[0].equals(wangzhuang)
