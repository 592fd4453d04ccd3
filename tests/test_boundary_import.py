"""Boundary joins that never put a township's name on another's polygon (issue 15).

Every test builds its layer from the gazetteer's own codes and the shipped county outlines and
asserts the exact polygon ↔ township pairs, what the join report lists, and that nothing is
mislabelled silently: code vintages of a renumbered county (罗山县: 宝城/龙山/丽水街道 took each
other's codes), names that agree or disagree, variant and duplicate names, GCJ-02/BD-09/offset
layers, a GBK shapefile without .cpg, Esri JSON and KML, provenance in the store and exports.
"""

from __future__ import annotations

import json
import zipfile

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import box

from geo.aggregate import items_frame
from geo.boundaries import _shift, county_layers, wgs84_to_gcj02
from geo.boundary_import import (
    JOIN_TABLE_COLUMNS,
    import_boundaries,
    join_table,
    overrides_from_table,
    save_result,
)
from geo.boundary_join import BoundaryJoinError, join_to_gazetteer
from geo.errors import BoundaryReadError
from geo.gazetteer import load_gazetteer
from geo.outlines import county_outline, county_outlines
from geo.position_check import _gcj_to_bd_xy, check_position
from geo.store import Store
from geo.view import make_view

LUOSHAN = "411521"  # 罗山县: no shipped township polygons; renumbered in a cycle since 2023


def _strips(county_code: str, n: int) -> list:
    """``n`` vertical strips of the county's outline, west to east (a layer covering it)."""
    outline = county_outline(county_code).union_all()
    minx, miny, maxx, maxy = outline.bounds
    xs = np.linspace(minx, maxx, n + 1)
    return [outline.intersection(box(xs[i], miny, xs[i + 1], maxy)) for i in range(n)]


def _luoshan_layer(vintage: str, names: dict[str, str] | None = None) -> gpd.GeoDataFrame:
    """One strip per township of 罗山县 in both lists, coded in ``vintage``; the name column
    says each township's name unless ``names`` replaces some (by township name)."""
    gaz = load_gazetteer(LUOSHAN)
    towns = [t for t in gaz.townships if t.nbs_code and "mca2025" in t.sources]
    codes = [t.nbs_code if vintage == "nbs2023" else t.code for t in towns]
    shown = [(names or {}).get(t.name, t.name) for t in towns]
    geoms = _strips(LUOSHAN, len(towns))
    return gpd.GeoDataFrame({"XZQDM": codes, "XZQMC": shown}, geometry=geoms, crs=4326), towns


def _pairs(out: gpd.GeoDataFrame, layer: gpd.GeoDataFrame) -> dict[int, str]:
    """Which joined township each input polygon went to, by exact geometry."""
    found = {}
    for i, geom in enumerate(layer.geometry):
        for code, name, joined in zip(
            out["township_code"], out["township"], out.geometry, strict=True
        ):
            if joined.equals(geom) or joined.buffer(1e-9).contains(geom.buffer(-1e-9)):
                found[i] = f"{code} {name}"
    return found


# --------------------------------------------------------------------------- code vintages


def test_renumbered_county_really_swapped_codes():
    gaz = load_gazetteer(LUOSHAN)
    cycle = {t.name: (t.nbs_code, t.code) for t in gaz.townships if t.name.endswith("街道")}
    # 宝城's 2023 code is 龙山's 2025 code, 龙山's 2023 code is 丽水's, 丽水's is 宝城's
    assert cycle == {
        "宝城街道": ("411521002", "411521001"),
        "龙山街道": ("411521003", "411521002"),
        "丽水街道": ("411521001", "411521003"),
    }


@pytest.mark.parametrize("vintage", ["nbs2023", "mca2025"])
def test_each_vintage_with_agreeing_names_joins_every_polygon_to_its_own_township(vintage):
    layer, towns = _luoshan_layer(vintage)
    out, report = join_to_gazetteer(layer, load_gazetteer(LUOSHAN))
    assert report.vintage == vintage and (report.code_field, report.name_field) == (
        "XZQDM",
        "XZQMC",
    )
    assert _pairs(out, layer) == {i: f"{t.code} {t.name}" for i, t in enumerate(towns)}
    assert report.disagreements == [] and all(r.method == "code+name" for r in report.rows)
    assert "按 2025 解读" in report.vintage_evidence and "按 2023 解读" in report.vintage_evidence


def test_nbs_codes_without_names_are_decided_by_the_codes_only_one_vintage_has():
    layer, towns = _luoshan_layer("nbs2023")
    # 高店镇's 2023 code 411521209 exists only in 2023: the file is NBS-coded
    out, report = join_to_gazetteer(layer.drop(columns="XZQMC"), load_gazetteer(LUOSHAN))
    assert report.vintage == "nbs2023"
    assert _pairs(out, layer) == {i: f"{t.code} {t.name}" for i, t in enumerate(towns)}


def test_codes_of_either_vintage_without_any_evidence_are_not_guessed():
    layer, towns = _luoshan_layer("nbs2023")
    keep = [i for i, t in enumerate(towns) if t.name.endswith("街道")]  # only the swapped codes
    part = layer.iloc[keep].drop(columns="XZQMC").reset_index(drop=True)
    with pytest.raises(BoundaryJoinError) as err:
        join_to_gazetteer(part, load_gazetteer(LUOSHAN))
    report = err.value.report
    assert report.vintage == "unknown"
    assert [r.status for r in report.rows] == ["ambiguous"] * 3
    assert "文件无法判定代码版本" in report.to_text() and err.value.code == "boundary.no_match"


def test_name_column_that_disagrees_is_listed_row_by_row_and_never_joined_silently():
    # two names swapped between townships, one name of another county's unit
    wrong = {"周党镇": "竹竿镇", "竹竿镇": "周党镇", "灵山镇": "某某镇"}
    layer, towns = _luoshan_layer("nbs2023", names=wrong)
    out, report = join_to_gazetteer(layer, load_gazetteer(LUOSHAN))
    assert report.vintage == "nbs2023"
    expected = {i: f"{t.code} {t.name}" for i, t in enumerate(towns)}
    swapped = [i for i, t in enumerate(towns) if t.name in ("周党镇", "竹竿镇")]
    for i in swapped:
        del expected[i]  # code and name disagree: left unjoined, not guessed
    assert _pairs(out, layer) == expected
    disagree = {r.row - 1: r for r in report.disagreements}
    assert sorted(disagree) == swapped
    assert all(r.status == "disagree" and r.township is None for r in disagree.values())
    lingshan = next(r for r in report.rows if r.file_name == "某某镇")
    assert lingshan.township == "灵山镇" and "不是本县乡镇" in lingshan.problems[0]
    text = report.to_text()
    assert "代码与名称不一致（2）" in text and "周党镇" in text and "竹竿镇" in text
    assert "某某镇" in text and "周党镇" in report.missing and "竹竿镇" in report.missing


def test_names_written_for_the_other_vintage_decide_the_vintage_and_say_so():
    # a file coded NBS 2023 whose names were filled in from the 2025 codes (the mistake of
    # the issue): the names agree with the 2025 reading, so that reading is chosen and the
    # evidence is reported — the polygon keeps the name its file gives it
    gaz = load_gazetteer(LUOSHAN)
    layer, _ = _luoshan_layer("nbs2023")
    layer["XZQMC"] = [
        (gaz.township_by_code(c) or gaz.township_by_nbs_code(c)).name for c in layer["XZQDM"]
    ]
    _, report = join_to_gazetteer(layer, gaz)
    assert report.vintage == "mca2025" and "民政 2025" in report.vintage_evidence
    assert [r.township for r in report.rows] == list(layer["XZQMC"])


# --------------------------------------------------------------------------- names


def _named(names, county="410225", codes=None):
    geoms = _strips(county, len(names))
    data = {"名称": names}
    if codes is not None:
        data["代码"] = codes
    return gpd.GeoDataFrame(data, geometry=geoms, crs=4326)


def test_variant_characters_join_and_are_reported_as_such():
    layer = _named(["固阳镇", "闫楼乡", "南彰镇"])  # 兰考: 堌阳镇, 阎楼乡 in the gazetteer
    out, report = join_to_gazetteer(layer, load_gazetteer("兰考县"))
    assert _pairs(out, layer) == {
        0: "410225101 堌阳镇",
        1: "410225209 阎楼乡",
        2: "410225102 南彰镇",
    }
    assert [r.method for r in report.rows] == ["variant", "variant", "name"]
    table = join_table(report)
    assert list(table.columns) == JOIN_TABLE_COLUMNS
    assert list(table["匹配方式"]) == ["异体字", "异体字", "名称"]


def test_one_name_on_two_polygons_is_refused_with_the_report():
    # 堌阳镇 and its variant spelling 固阳镇 on two different polygons
    layer = _named(["堌阳镇", "固阳镇", "南彰镇"])
    with pytest.raises(BoundaryJoinError) as err:
        join_to_gazetteer(layer, load_gazetteer("兰考县"))
    assert err.value.code == "boundary.join_conflict"
    conflicts = err.value.report.conflicts
    assert len(conflicts) == 1 and "一个名称对应多个面：堌阳镇 ← #1" in conflicts[0]
    assert "#2" in conflicts[0] and "拒绝导入" in err.value.report.to_text()


def test_two_names_on_one_polygon_is_refused():
    layer = _named(["南彰镇", "考城镇", "红庙镇"])
    layer.loc[1, "geometry"] = layer.geometry[0]  # the same polygon under two names
    with pytest.raises(BoundaryJoinError) as err:
        join_to_gazetteer(layer, load_gazetteer("兰考县"))
    assert err.value.report.conflicts == [
        "两个名称落在同一个面上：#1 南彰镇 与 #2 考城镇（重叠 100%）"
    ]


def test_parts_of_one_township_with_one_identity_are_dissolved_not_refused():
    layer = _named(["南彰镇", "南彰镇", "考城镇"], codes=["410225102", "410225102", "410225103"])
    out, report = join_to_gazetteer(layer, load_gazetteer("兰考县"))
    assert list(out["township"]) == ["南彰镇", "考城镇"] and not report.conflicts
    assert out.geometry[0].area == pytest.approx(layer.geometry[0].area + layer.geometry[1].area)


def test_156_prefixed_and_village_codes_of_one_township_are_one_identity():
    codes = ["156410225102", "410225102001", "410225102002", "410225103"]
    layer = _named(["", "", "", ""], codes=codes).drop(columns="名称")
    out, report = join_to_gazetteer(layer, load_gazetteer("兰考县"))
    assert list(out["township"]) == ["南彰镇", "考城镇"] and report.conflicts == []


def test_gazetteer_duplicate_codes_resolved_so_nbs_codes_find_the_right_unit():
    # 揭阳 榕城区: 2023 炮台镇 445202102 is 2025 砲台镇 445202103; 445202102 is now 地都镇
    layer = _named(["炮台镇", "地都镇"], county="445202", codes=["445202102", "445202103"])
    out, report = join_to_gazetteer(layer, load_gazetteer("445202"))
    assert report.vintage == "nbs2023"
    assert _pairs(out, layer) == {0: "445202103 砲台镇", 1: "445202102 地都镇"}


def test_a_code_of_a_retired_unit_is_explained():
    gaz = load_gazetteer("130638")  # 七间房乡 (2023, 130638205) is gone; 北沙口乡 holds the code
    layer = _named(["七间房乡"], county="130638", codes=["130638205"])
    layer["名称"] = ["七间房乡"]
    with pytest.raises(BoundaryJoinError) as err:
        join_to_gazetteer(layer, gaz)
    row = err.value.report.rows[0]
    assert row.status == "disagree" and "北沙口乡" in row.problems[0]


# --------------------------------------------------------------------------- position


def _bd(layer):
    return _shift(wgs84_to_gcj02(layer), _gcj_to_bd_xy)


def _east(layer, metres):
    out = layer.copy()
    out["geometry"] = layer.to_crs(4547).translate(metres, 0).to_crs(4326).values
    return out


def _xixian():
    towns = county_layers("411528").townships
    return towns[["township_code", "township", "geometry"]].copy()


@pytest.mark.parametrize("county", ["411528", LUOSHAN])
def test_gcj02_bd09_and_shifted_layers_are_named_and_not_made_active(county, tmp_path):
    wgs = _xixian() if county == "411528" else _luoshan_layer("mca2025")[0]
    cases = {
        "gcj02": wgs84_to_gcj02(wgs),
        "bd09": _bd(wgs),
        "east": _east(wgs, 10_000),
    }
    name = "息县" if county == "411528" else "罗山县"
    assert check_position(wgs, county_code=county, county_name=name).offset is False
    with Store(tmp_path / "s.sqlite") as store:
        for label, layer in cases.items():
            path = tmp_path / f"{label}.geojson"
            layer.to_file(path, driver="GeoJSON", engine="pyogrio")
            result = import_boundaries(path, county=county, store=store)
            assert not result.saved and result.refusal_codes == ["boundary.offset"], label
            text = result.to_text()
            if label == "east":
                assert result.position.suggested_datum is None
                assert "明显偏离县界，且不是 GCJ-02/BD-09 的偏移" in text
                assert result.position.shift_m[0] == pytest.approx(10_000, abs=300)
            else:
                assert result.position.suggested_datum == label
                assert f"这看起来是 {'GCJ-02' if label == 'gcj02' else 'BD-09'}" in text
                assert f"--datum {label}" in text
                fixed = import_boundaries(path, county=county, store=store, datum=label)
                assert fixed.saved and not fixed.position.offset
                assert fixed.position.shift_distance_m < 250
        assert store.boundary_set(county)["datum"] == "bd09"
        forced = import_boundaries(
            tmp_path / "east.geojson", county=county, store=store, force=True
        )
        assert forced.saved and forced.forced
        meta = store.boundary_set(county)
        assert meta["report_json"]["forced"] is True
        assert meta["report_json"]["position"]["offset"] is True


def test_outlines_cover_nearly_every_county_with_a_clean_loader():
    henan = county_outlines("41")
    assert len(henan) >= 140 and henan["code"].str.startswith("41").all()
    assert set(henan.columns) >= {"code", "name", "source", "quality", "geometry"}
    assert henan.crs.to_epsg() == 4326 and henan.is_valid.all()
    xinyang = county_outlines("4115")
    assert {"411528", "411521"} <= set(xinyang["code"])
    xi = county_outline("411528")
    assert xi.loc[0, "name"] == "息县" and "ODbL" in xi.loc[0, "source"]
    assert county_outline("999999") is None and county_outline("bad") is None
    assert len(county_outlines()) > 2500
    # agrees with the (independently converted) default 息县 outline
    default = county_layers("411528").outline.to_crs(4547).union_all()
    ours = xi.to_crs(4547).union_all()
    assert default.intersection(ours).area / default.union(ours).area > 0.95


# --------------------------------------------------------------------------- formats


def _xixian_named():
    towns = _xixian()
    return gpd.GeoDataFrame(
        {"XZQMC": towns["township"], "XZQDM": towns["township_code"].astype(int)},
        geometry=towns.geometry.values,
        crs=4326,
    )


def test_gbk_shapefile_without_cpg_is_detected_reported_and_overridable(tmp_path):
    layer = _xixian_named()
    folder = tmp_path / "shp"
    folder.mkdir()
    layer.to_file(folder / "乡镇.shp", engine="pyogrio", encoding="GBK")
    (folder / "乡镇.cpg").unlink()
    archive = tmp_path / "乡镇界.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in folder.iterdir():
            zf.write(part, part.name)
    result = import_boundaries(archive, county="息县")
    assert (result.read.encoding, result.read.encoding_how) == ("GB18030", "detected")
    assert "属性表编码：GB18030（未找到 .cpg，自动识别" in result.to_text()
    assert dict(zip(result.layer["township_code"], result.layer["township"], strict=True)) == dict(
        zip(layer["XZQDM"].astype(str), layer["XZQMC"], strict=True)
    )
    assert result.join.disagreements == [] and not result.refused
    with pytest.raises(BoundaryReadError) as err:
        import_boundaries(archive, county="息县", encoding="UTF-8")
    assert err.value.code == "boundary.encoding"


def test_esri_json_from_an_arcgis_rest_service_joins(tmp_path):
    layer = _xixian_named().iloc[:5]
    features = [
        {
            "attributes": {"XZQMC": n, "XZQDM": int(c)},
            "geometry": {"rings": [list(map(list, g.exterior.coords))]},
        }
        for n, c, g in zip(layer["XZQMC"], layer["XZQDM"], layer.geometry.values, strict=True)
        if g.geom_type == "Polygon"
    ]
    doc = {
        "geometryType": "esriGeometryPolygon",
        "spatialReference": {"wkid": 4326},
        "fields": [
            {"name": "XZQMC", "type": "esriFieldTypeString"},
            {"name": "XZQDM", "type": "esriFieldTypeInteger"},
        ],
        "features": features,
    }
    path = tmp_path / "query.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = import_boundaries(path, county="411528")
    polygons = layer[layer.geom_type == "Polygon"]
    expected = dict(zip(polygons["XZQDM"].astype(str), polygons["XZQMC"], strict=True))
    assert (
        dict(zip(result.layer["township_code"], result.layer["township"], strict=True)) == expected
    )
    assert all(r.method == "code+name" for r in result.join.rows)


def test_kml_reads_through_the_kml_driver(tmp_path):
    layer = _xixian_named()[["XZQMC", "geometry"]].rename(columns={"XZQMC": "Name"})
    path = tmp_path / "乡镇.kml"
    layer.to_file(path, driver="KML", engine="pyogrio")
    result = import_boundaries(path.read_bytes(), county="息县", name="乡镇.kml")
    assert sorted(result.layer["township"]) == sorted(layer["Name"])
    assert result.join.name_field == "Name"


# --------------------------------------------------------------------------- provenance


def test_uploads_are_user_upload_and_declared_official_sets_carry_their_source(
    tmp_path, store_location
):

    path = tmp_path / "乡镇.geojson"
    _xixian_named().to_file(path, driver="GeoJSON", engine="pyogrio")
    with Store(store_location) as store:
        import_boundaries(path, county="息县", store=store, uploader="王工")
        stored = store.boundaries("411528")
        meta = stored.attrs["boundary_set"]
        assert (meta["quality"], meta["uploader"], meta["source_name"]) == (
            "user",
            "王工",
            "乡镇.geojson",
        )
        assert meta["report_json"]["join"]["rows"][0]["method"] == "code+name"
        assert meta["report_json"]["read"]["source"] == "乡镇.geojson"
        view = make_view(*items_frame([]), stored, county="息县",
                                county_code="411528", approximate=False)  # fmt: skip
        assert set(view.aggregates["quality"]) == {"user_upload"}
        with pytest.raises(BoundaryReadError) as err:
            import_boundaries(path, county="息县", store=store, declared_quality="official")
        assert err.value.code == "boundary.quality_source"
        import_boundaries(
            path,
            county="息县",
            store=store,
            declared_quality="official",
            quality_source="息县自然资源局 2024 年乡镇界",
        )
        stored = store.boundaries("411528")
        view = make_view(*items_frame([]), stored, county="息县",
                                county_code="411528", approximate=False)  # fmt: skip
        agg = view.aggregates
        assert set(agg["quality"]) == {"official"}
        assert set(agg["quality_source"]) == {"息县自然资源局 2024 年乡镇界（乡镇.geojson）"}
        assert store.boundary_set("411528")["quality_source"] == "息县自然资源局 2024 年乡镇界"


def test_make_view_without_quality_column_never_claims_official():

    towns = _xixian().drop(columns=[])
    view = make_view(*items_frame([]), towns, county="息县",
                            county_code="411528", approximate=False)  # fmt: skip
    assert set(view.aggregates["quality"]) == {"user_upload"}


# --------------------------------------------------------------------------- the planner's table


def test_planner_fixes_rows_in_the_table_and_the_import_saves_them(tmp_path, store_location):
    wrong = {"周党镇": "竹竿镇", "竹竿镇": "周党镇"}
    layer, towns = _luoshan_layer("nbs2023", names=wrong)
    path = tmp_path / "罗山.geojson"
    layer.to_file(path, driver="GeoJSON", engine="pyogrio")
    with Store(store_location) as store:
        first = import_boundaries(path, county=LUOSHAN)
        table = first.table
        assert list(table.loc[table["状态"] == "代码与名称不一致", "文件名称"]) == [
            "竹竿镇",
            "周党镇",
        ]
        edited = table.copy()
        # the planner checks the map: the codes were right, the names swapped
        for i in edited.index[edited["状态"] == "代码与名称不一致"]:
            code = layer.loc[i, "XZQDM"]
            edited.loc[i, "乡镇代码"] = load_gazetteer(LUOSHAN).township_by_nbs_code(code).code
        fixes = overrides_from_table(edited, table)
        assert len(fixes) == 2
        preview = join_table(first.join, overrides=fixes, gazetteer=load_gazetteer(LUOSHAN))
        assert set(preview.set_index("行").loc[list(fixes), "匹配方式"]) == {"人工指定"}
        result = import_boundaries(path, county=LUOSHAN, store=store, overrides=fixes)
        assert result.saved
        got = dict(zip(result.layer["township_code"], result.layer["township"], strict=True))
        assert got == {t.code: t.name for t in towns}
        assert len(result.join.disagreements) == 2  # still named in the report
        excluded = import_boundaries(path, county=LUOSHAN, overrides={1: None})
        assert excluded.join.rows[0].status == "excluded"
    with pytest.raises(BoundaryReadError, match="没有第 99 行"):
        import_boundaries(path, county=LUOSHAN, overrides={99: "411521101"})


def test_save_result_refuses_a_refused_import(tmp_path, store_location):
    layer = _named(["堌阳镇", "固阳镇", "南彰镇"])
    path = tmp_path / "兰考.geojson"
    layer.to_file(path, driver="GeoJSON", engine="pyogrio")
    result = import_boundaries(path, county="兰考县")
    assert result.refusal_codes == ["boundary.join_conflict"] and result.layer is None
    with Store(store_location) as store, pytest.raises(BoundaryReadError):
        save_result(result, store=store)
    assert shapely.__version__  # the layer was never written
