"""The prefecture view: a prefecture wherever a county can be chosen (``--county 信阳市`` or
``4115``), every county's townships in one choropleth with the open county outlines over them,
counties without township polygons as one unit with their county-level totals, items placed in
their own county, filters and exports as for a county."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import geopandas as gpd
import pytest
from conftest import run_geo
from shapely.geometry import box

from geo import aggregate as agg
from geo import export, webmap
from geo.errors import CountyNotFoundError
from geo.gazetteer import Gazetteer
from geo.outlines import OUTLINE_ATTRIBUTION
from geo.prefecture import Prefecture, find_area, parse_prefecture_text
from geo.store import Store
from geo.workflows import county_frames, prefecture_townships, prefecture_view

REPO = Path(__file__).resolve().parents[1]
XINYANG = "4115"
# Written for these tests in the style of a prefecture bulletin (not taken from a real one).
CITY_BULLETIN = """信阳市工作简报
2024年第3期
信阳市人民政府办公室            2024年3月8日
 光山县槐店乡发展茶叶种植 新建茶园 500 亩，投入资金 80 万元，带动农户 120 户。
（槐店乡 张三）
 息县孙庙乡推进冬季农田水利建设 疏浚沟渠 12 公里，投入资金 35 万元。
（孙庙乡 李明）
 泼陂河镇举办返乡创业培训 培训返乡青年 60 人。
（泼陂河镇 赵六）
 全市开展安全生产大检查 检查企业 300 家，整改隐患 45 处。
（市应急局 王五）
"""


@pytest.fixture(scope="module")
def xinyang() -> Prefecture:
    return find_area("信阳市")


@pytest.fixture(scope="module")
def city_frames(xinyang):
    bulletin = parse_prefecture_text(CITY_BULLETIN, xinyang, source_name="市简报.txt")
    items, metrics = agg.items_frame([bulletin])
    return items, agg.assign_metric_keys(metrics)


def test_prefectures_are_found_by_name_or_code_and_counties_stay_counties():
    for query in ("信阳市", "4115", "河南省信阳市", "信阳"):
        area = find_area(query)
        assert isinstance(area, Prefecture) and area.code == XINYANG, query
    area = find_area("信阳市")
    assert len(area.counties) == 10 and ("411528", "息县") in area.counties
    assert "411571" not in area.county_codes  # 高新区 is not in the 2025 list
    assert isinstance(find_area("息县"), Gazetteer) and isinstance(find_area("411522"), Gazetteer)
    with pytest.raises(CountyNotFoundError):
        find_area("不存在市")


def test_items_of_a_prefecture_bulletin_are_placed_in_their_own_county(xinyang):
    b = parse_prefecture_text(CITY_BULLETIN, xinyang, source_name="市简报.txt")
    places = [(it.place.county_code, it.place.township) for it in b.items]
    assert places == [
        ("411522", "槐店乡"),  # names its county
        ("411528", "孙庙乡"),
        ("411522", "泼陂河镇"),  # names no county: the one county with such a township
        (None, None),  # the whole city: placed in no county rather than a wrong one
    ]
    assert b.county == "信阳市" and b.county_code is None


def test_prefecture_view_draws_townships_and_county_totals(xinyang, city_frames):
    items, metrics = county_frames(*city_frames, XINYANG, keep_unknown=True)
    view = prefecture_view(items, metrics, prefecture_townships(xinyang))
    assert view.is_prefecture and view.has_polygons and view.title.startswith("信阳市")
    aggs = view.aggregates
    towns = aggs[aggs["unit"] == "township"]
    units = aggs[aggs["unit"] == "county"].set_index("county_code")
    assert set(towns["county_code"]) == {"411528"}  # only 息县 has township polygons
    assert len(units) == 9 and units.loc["411522", "n_items"] == 2  # 光山: both its items
    assert units.loc["411522", "township"] == "光山县（全县合计，无乡镇边界）"
    assert towns.set_index("township").loc["孙庙乡", "n_items"] == 1
    assert OUTLINE_ATTRIBUTION in view.attribution  # the outlines are drawn: ODbL
    html = webmap.build_map(view, assets="inline").get_root().render()
    assert "全县 2 条" in html and "尚无乡镇边界" in html and "不参与乡镇分级" in html


def test_prefecture_filters_and_exports_work_as_for_a_county(xinyang, city_frames, tmp_path):
    items, metrics = county_frames(*city_frames, XINYANG, keep_unknown=True)
    area = prefecture_townships(xinyang)
    view = prefecture_view(
        items, metrics, area, filters=agg.Filters(sectors=("agriculture",)), metric_key="items"
    )
    assert 0 < len(view.items_df) < len(items)
    written = export.export_csv(view, tmp_path / "信阳.csv")
    rows = list(csv.DictReader(io.StringIO(written[2].read_text(encoding="utf-8-sig"))))
    assert {r["unit"] for r in rows} == {"township", "county"}
    gj = json.loads(export.export_geojson(view, tmp_path / "信阳.geojson").read_text("utf-8"))
    layers = [f["properties"] for f in gj["features"]]
    kinds = {p.get("unit") for p in layers if p["layer"] == "townships"}
    assert kinds == {"township", "county"}
    for fmt in ("html", "pdf"):
        path = getattr(export, f"export_{fmt}")(view, tmp_path / f"信阳.{fmt}")
        assert path.stat().st_size > 1000
    html = (tmp_path / "信阳.html").read_text(encoding="utf-8")
    assert "geoBoundaries（ODbL 1.0）" in html
    png = export.export_png(view, tmp_path / "信阳.png", size=(800, 600), browser=False)
    assert png.stat().st_size > 10_000


def test_a_county_with_stored_townships_joins_the_choropleth(store_location, xinyang, city_frames):
    squares = gpd.GeoDataFrame(
        {"township_code": ["411522209", "411522205"], "township": ["槐店乡", "泼陂河镇"]},
        geometry=[box(114.9, 31.9, 115.0, 32.0), box(115.0, 31.9, 115.1, 32.0)],
        crs="EPSG:4326",
    )
    codes = {t.name: t.code for t in find_area("光山县").townships}
    squares["township_code"] = [codes["槐店乡"], codes["泼陂河镇"]]
    with Store(store_location) as store:
        store.save_boundaries("411522", squares, source_name="光山乡镇.geojson")
        area = prefecture_townships(xinyang, store=store)
    assert set(area.with_polygons) == {"411522", "411528"}
    items, metrics = county_frames(*city_frames, XINYANG, keep_unknown=True)
    view = prefecture_view(items, metrics, area)
    towns = view.aggregates[view.aggregates["unit"] == "township"].set_index("township")
    assert towns.loc["槐店乡", "n_items"] == 1 and towns.loc["泼陂河镇", "n_items"] == 1
    assert "411522" not in set(view.county_units["county_code"])
    assert any("光山乡镇.geojson" in line for line in view.attribution)


# --------------------------------------------------------------------------- the command line


def _geo(*args, store, timeout: float = 300):
    return run_geo(*args, store=store, timeout=timeout)


def test_cli_ingests_a_prefecture_bulletin_and_exports_the_prefecture(tmp_path):
    source = tmp_path / "市简报.txt"
    source.write_text(CITY_BULLETIN, encoding="utf-8")
    store = tmp_path / "s.sqlite"
    proc = _geo("ingest", source, "--county", "信阳市", "--date", "2024-02-01", store=store)
    assert proc.returncode == 0, proc.stderr
    again = _geo("ingest", source, "--county", "4115", "--jobs", "2", "--date", "2024-02-01",
                 store=store)  # fmt: skip
    assert again.returncode == 0 and again.stdout.startswith("已存在"), again.stderr
    proc = _geo("export", "--county", "信阳市", "--format", "png", "--out", tmp_path / "xy.png",
                "--size", "800x600", store=store)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "xy.png").stat().st_size > 10_000
    out = tmp_path / "t.csv"
    proc = _geo("export", "--county", "4115", "--township", "泼陂河镇", "--out", out, store=store)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [r["乡镇（街道）"] for r in rows] == ["泼陂河镇"] and rows[0]["县代码"] == '="411522"'
    proc = _geo("export", "--county", "信阳市", "--township", "火星乡", "--out", out, store=store)
    assert proc.returncode == 2 and "火星乡" in proc.stderr
