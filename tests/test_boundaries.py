"""Boundaries: CRS and datum handling, repair reports, gazetteer joins, the default 息县 layer."""

from __future__ import annotations

import json
from types import SimpleNamespace

import eviltransform
import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import GeometryCollection, LineString, Point, Polygon, box

from geo.boundaries import (
    BoundaryReport,
    JoinReport,
    boundary_report,
    county_layers,
    gcj02_to_wgs84,
    join_to_gazetteer,
    metric_crs,
    read_boundaries,
    wgs84_to_gcj02,
)
from geo.boundary_join import FeatureMatch
from geo.errors import BoundaryReadError
from geo.gazetteer import Gazetteer, Township

# Two small neighbouring "townships" near 息县 (lon, lat), with a notch so shapes are not boxes.
WGS_POLYS = [
    Polygon([(114.60, 32.30), (114.70, 32.30), (114.70, 32.40), (114.65, 32.37), (114.60, 32.40)]),
    box(114.70, 32.30, 114.80, 32.40),
]


def _wgs() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"名称": ["甲乡", "乙镇"], "code": ["419999201", "419999101"]},
        geometry=WGS_POLYS,
        crs="EPSG:4326",
    )


def _gazetteer() -> Gazetteer:
    towns = [
        Township("419999001", "城关街道", "街道", aliases=("城关", "城关办事处")),
        Township("419999101", "乙镇", "镇", aliases=("乙",)),
        Township("419999201", "甲乡", "乡", aliases=("甲",)),
        Township("419999202", "李店乡", "乡"),
        Township("419999102", "李店镇", "镇"),
    ]
    return Gazetteer("测试县", "419999", "测试市", "测试省", townships=towns)


def _coords(gdf: gpd.GeoDataFrame) -> np.ndarray:
    return shapely.get_coordinates(gdf.geometry.values)


def _close(gdf: gpd.GeoDataFrame, tol: float, other: gpd.GeoDataFrame | None = None) -> bool:
    """Same shapes vertex for vertex within ``tol`` degrees, whatever the ring start/order
    (shapefiles store exterior rings clockwise, GeoJSON anticlockwise)."""
    other = _wgs() if other is None else other
    return len(gdf) == len(other) and all(
        shapely.get_num_coordinates(a) == shapely.get_num_coordinates(b)
        and a.hausdorff_distance(b) < tol
        for a, b in zip(gdf.geometry, other.geometry, strict=True)
    )


def _to_gcj(geom):
    def shift(xy):
        return np.array([eviltransform.wgs2gcj(lat, lon)[::-1] for lon, lat in xy])

    return shapely.transform(geom, shift)


# --------------------------------------------------------------------------- CRS and datum


@pytest.mark.parametrize(
    ("epsg", "driver", "suffix"),
    [
        (4326, "GeoJSON", ".geojson"),
        (4490, "GeoJSON", ".geojson"),  # CGCS2000, as Tianditu/geojson.cn exports say
        (4547, "ESRI Shapefile", ".shp"),
        (3857, "GPKG", ".gpkg"),
    ],
)
def test_any_crs_reads_back_to_the_same_wgs84(tmp_path, epsg, driver, suffix):
    path = tmp_path / f"towns{suffix}"
    _wgs().to_crs(epsg).to_file(path, driver=driver, engine="pyogrio")
    gdf = read_boundaries(path)
    assert gdf.crs.to_epsg() == 4326
    assert _close(gdf, 1e-7)
    assert boundary_report(gdf).source_crs.endswith(str(epsg))


def test_gcj02_file_is_moved_to_wgs84(tmp_path):
    gcj = _wgs()
    gcj["geometry"] = [_to_gcj(g) for g in WGS_POLYS]
    path = tmp_path / "amap.geojson"
    gcj.to_file(path, driver="GeoJSON", engine="pyogrio")
    # Without the datum the offset (~500 m) stays; with it the points return within ~1 cm.
    raw = read_boundaries(path)
    assert not _close(raw, 0.002)
    fixed = read_boundaries(path, datum="gcj02")
    assert _close(fixed, 1e-7)
    assert boundary_report(fixed).datum == "gcj02"


def test_bd09_file_is_moved_to_wgs84(tmp_path):
    def to_bd(xy):
        return np.array([eviltransform.wgs2bd(lat, lon)[::-1] for lon, lat in xy])

    bd = _wgs()
    bd["geometry"] = shapely.transform(bd.geometry.values, to_bd)
    path = tmp_path / "baidu.geojson"
    bd.to_file(path, driver="GeoJSON", engine="pyogrio")
    # eviltransform's BD-09 inverse is itself approximate (~1e-5 degrees).
    assert _close(read_boundaries(path, datum="bd09"), 5e-5)


def test_gcj02_round_trip_and_outside_china_unchanged():
    gdf = gpd.GeoDataFrame(geometry=[Point(114.7, 32.3), Point(2.35, 48.85)], crs="EPSG:4326")
    there = wgs84_to_gcj02(gdf)
    lat, lon = eviltransform.wgs2gcj(32.3, 114.7)
    assert there.geometry.iloc[0].x == pytest.approx(lon, abs=1e-12)
    assert there.geometry.iloc[0].y == pytest.approx(lat, abs=1e-12)
    assert there.geometry.iloc[1].equals(Point(2.35, 48.85))
    back = gcj02_to_wgs84(there)
    assert np.allclose(_coords(back), _coords(gdf), atol=1e-9)
    assert gdf.geometry.iloc[0].equals(Point(114.7, 32.3))  # input untouched


def test_shapefile_without_prj_needs_a_crs(tmp_path):
    path = tmp_path / "towns.shp"
    _wgs().to_crs(4547).to_file(path, engine="pyogrio")
    path.with_suffix(".prj").unlink()
    with pytest.raises(BoundaryReadError, match=r"没有坐标系（缺少 \.prj）——请选择它的坐标系"):
        read_boundaries(path)
    gdf = read_boundaries(path, crs="EPSG:4547")
    assert _close(gdf, 1e-7)
    assert boundary_report(gdf).crs_assigned


def test_projected_coordinates_labelled_lonlat_are_refused(tmp_path):
    path = tmp_path / "wrong.geojson"
    metres = _wgs().to_crs(4547)
    path.write_text(metres.set_crs(None, allow_override=True).to_json(), encoding="utf-8")
    with pytest.raises(BoundaryReadError, match="坐标不是经纬度"):
        read_boundaries(path)
    assert len(read_boundaries(path, crs=4547)) == 2


def test_unknown_crs_and_datum():
    with pytest.raises(BoundaryReadError, match="未知的基准面"):
        read_boundaries(b"{}", name="x.geojson", datum="bd2000")
    with pytest.raises(BoundaryReadError, match="未知的坐标系"):
        read_boundaries(_wgs().to_json().encode(), name="x.geojson", crs="EPSG:not-a-code")


def test_metric_crs_by_central_meridian():
    def at(lon):
        return gpd.GeoDataFrame(geometry=[Point(lon, 32.3)], crs="EPSG:4326")

    assert metric_crs(at(114.2)).to_epsg() == 4547
    assert metric_crs(at(114.9)).to_epsg() == 4547
    assert metric_crs(at(116.6)).to_epsg() == 4548
    assert metric_crs(at(75.4)).to_epsg() == 4534
    assert metric_crs(at(134.9)).to_epsg() == 4554
    assert metric_crs(at(114.2).to_crs(3857)).to_epsg() == 4547
    assert metric_crs(at(2.35)).to_epsg() == 32631  # outside China: UTM


# --------------------------------------------------------------------------- repair and report


def _feature(geometry, name):
    return {"type": "Feature", "properties": {"name": name}, "geometry": geometry}


def test_bow_tie_is_repaired_and_reported(tmp_path):
    bow = {
        "type": "Polygon",
        "coordinates": [
            [[114.6, 32.3], [114.7, 32.4], [114.7, 32.3], [114.6, 32.4], [114.6, 32.3]]
        ],
    }
    doc = {
        "type": "FeatureCollection",
        "features": [
            _feature(bow, "蝴蝶乡"),
            _feature(box(114.7, 32.3, 114.8, 32.4).__geo_interface__, "好镇"),
        ],
    }
    path = tmp_path / "bow.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    gdf = read_boundaries(path)
    report = boundary_report(gdf)
    assert isinstance(report, BoundaryReport)
    assert report.repaired == ["#1 蝴蝶乡"]
    assert gdf.is_valid.all()
    assert gdf.geometry.iloc[0].area == pytest.approx(0.005, rel=1e-6)  # two triangles
    assert "1 个无效几何已修复：#1 蝴蝶乡" in report.to_text()


def test_empty_and_mixed_geometries(tmp_path):
    mixed = GeometryCollection([box(114.6, 32.3, 114.7, 32.4), LineString([(114, 32), (115, 33)])])
    doc = {
        "type": "FeatureCollection",
        "features": [
            _feature(box(114.7, 32.3, 114.8, 32.4).__geo_interface__, "好镇"),
            _feature({"type": "Polygon", "coordinates": []}, "空乡"),
            _feature(None, "无形乡"),
            _feature(Point(114.75, 32.35).__geo_interface__, "点镇"),
            _feature(mixed.__geo_interface__, "混合乡"),
        ],
    }
    path = tmp_path / "mixed.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    gdf = read_boundaries(path)
    report = boundary_report(gdf)
    assert list(gdf["name"]) == ["好镇", "混合乡"]
    assert report.dropped_empty == ["#2 空乡", "#3 无形乡"]
    assert report.dropped_non_polygon == ["#4 点镇 (Point)"]
    assert report.trimmed_mixed == ["#5 混合乡"]
    assert gdf.geometry.iloc[1].equals(box(114.6, 32.3, 114.7, 32.4))
    assert (report.n_read, report.n_kept) == (5, 2)


def test_no_polygons_at_all(tmp_path):
    pts = gpd.GeoDataFrame(geometry=[Point(114.7, 32.3)], crs="EPSG:4326")
    with pytest.raises(BoundaryReadError, match="没有面要素"):
        read_boundaries(pts.to_json().encode(), name="pts.geojson")


def test_zipped_shapefile_bytes_end_to_end(tmp_path):
    import io
    import zipfile

    _wgs().to_crs(4547).to_file(tmp_path / "t.shp", engine="pyogrio")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            zf.write(tmp_path / f"t{ext}", f"t{ext}")
    gdf = read_boundaries(buf.getvalue(), name="乡镇界.zip")
    assert _close(gdf, 1e-7)
    assert boundary_report(gdf).source == "乡镇界.zip"


# --------------------------------------------------------------------------- gazetteer join


def test_join_by_12_digit_and_156_codes():
    gdf = gpd.GeoDataFrame(
        {"XZQDM": ["419999201000", "156419999101", "419999999000", "411528201"]},
        geometry=[*WGS_POLYS, box(114.8, 32.3, 114.9, 32.4), box(114.9, 32.3, 115.0, 32.4)],
        crs="EPSG:4326",
    )
    out, report = join_to_gazetteer(gdf, _gazetteer(), source="县界.shp")
    assert list(out.columns) == ["township_code", "township", "quality", "source", "geometry"]
    assert list(out["township_code"]) == ["419999101", "419999201"]
    assert list(out["township"]) == ["乙镇", "甲乡"]
    assert set(out["quality"]) == {"user"} and set(out["source"]) == {"县界.shp"}
    assert out.crs.to_epsg() == 4326
    assert (report.method, report.field) == ("code", "XZQDM")
    assert report.unmatched == ["419999999000", "411528201"]
    assert report.missing == ["城关街道", "李店乡", "李店镇"]
    assert not report.complete


def test_village_codes_dissolve_into_their_township():
    halves = [box(114.6, 32.3, 114.65, 32.4), box(114.65, 32.3, 114.7, 32.4)]
    gdf = gpd.GeoDataFrame(
        {"vcode": [419999201001.0, 419999201002.0]}, geometry=halves, crs="EPSG:4326"
    )
    out, report = join_to_gazetteer(gdf, _gazetteer())
    assert list(out["township"]) == ["甲乡"]
    assert out.geometry.iloc[0].area == pytest.approx(box(114.6, 32.3, 114.7, 32.4).area)
    assert report.field == "vcode"


def test_join_by_name_with_suffix_variants_unmatched_and_ambiguous():
    names = ["甲", "乙镇", "城关办事处", "测试县李店", "不存在乡"]
    geoms = [box(114.6 + i * 0.1, 32.3, 114.7 + i * 0.1, 32.4) for i in range(len(names))]
    gdf = gpd.GeoDataFrame(
        {"id": range(5), "备注": ["x"] * 5, "NAME": names}, geometry=geoms, crs="EPSG:4326"
    )
    out, report = join_to_gazetteer(gdf, _gazetteer())
    assert (report.method, report.field) == ("name", "NAME")
    assert dict(zip(out["township"], out["township_code"], strict=True)) == {
        "城关街道": "419999001",
        "乙镇": "419999101",
        "甲乡": "419999201",
    }
    assert report.unmatched == ["不存在乡"]
    assert report.ambiguous == ["测试县李店 → 李店乡 / 李店镇"]
    assert report.missing == ["李店乡", "李店镇"]
    text = report.to_text()
    assert "按名称字段“NAME”匹配到 3 个乡镇" in text
    assert "不存在乡" in text and "李店乡 / 李店镇" in text


def test_join_with_duck_typed_gazetteer_uses_township_key():
    gaz = SimpleNamespace(
        county_code="419999",
        townships=[SimpleNamespace(code="419999003", name="河西街道", aliases=())],
    )
    gdf = gpd.GeoDataFrame({"乡镇": ["河西办事处"]}, geometry=[WGS_POLYS[0]], crs="EPSG:4326")
    out, report = join_to_gazetteer(gdf, gaz)
    assert list(out["township"]) == ["河西街道"] and report.complete


def test_join_reprojects_and_honours_given_fields():
    gdf = _wgs().to_crs(4547)
    out, report = join_to_gazetteer(gdf, _gazetteer(), name_field="名称", quality="official")
    assert out.crs.to_epsg() == 4326 and set(out["quality"]) == {"official"}
    assert report.name_field == "名称"
    with pytest.raises(BoundaryReadError, match="没有字段“code9”"):
        join_to_gazetteer(gdf, _gazetteer(), code_field="code9")


def test_join_without_usable_column_or_match():
    gdf = gpd.GeoDataFrame({"id": [1, 2]}, geometry=WGS_POLYS, crs="EPSG:4326")
    with pytest.raises(BoundaryReadError, match="找不到419999的乡镇代码或名称字段"):
        join_to_gazetteer(gdf, _gazetteer())
    other = gpd.GeoDataFrame({"name": ["某乡", "某镇"]}, geometry=WGS_POLYS, crs="EPSG:4326")
    with pytest.raises(BoundaryReadError, match="2 个要素都没有匹配到"):
        join_to_gazetteer(other, _gazetteer(), name_field="name")


def _xixian_towns(names, geoms) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"乡镇名称": names}, geometry=geoms, crs="EPSG:4326")


def test_features_far_from_the_county_outline_are_not_joined():
    from geo.gazetteer import load_gazetteer

    gaz = load_gazetteer("息县")
    towns = county_layers("411528").townships.set_index("township")
    inside = towns.loc["项店镇"].geometry
    # 路口乡 drawn at lon 10 / lat 10; 孙庙乡 ~20 km east of the county (a GCJ/BD mix-up or
    # another county); 临河乡 just 2 km outside the outline, within the 5 km margin.
    far = box(10.0, 10.0, 10.1, 10.1)
    east = box(115.40, 32.30, 115.45, 32.35)
    outline = county_layers("411528").outline.union_all()
    maxx = outline.bounds[2]
    near = box(maxx + 0.01, 32.30, maxx + 0.03, 32.32)  # ~1-3 km east of the easternmost point
    gdf = _xixian_towns(["项店镇", "路口乡", "孙庙乡", "临河乡"], [inside, far, east, near])
    out, report = join_to_gazetteer(gdf, gaz)
    assert sorted(out["township"]) == ["临河乡", "项店镇"]
    assert report.outside == ["#2 路口乡", "#3 孙庙乡"]
    assert not report.complete
    text = report.to_text()
    assert "2 个要素不在息县（相距 >5 km）范围内——请检查坐标系/基准面" in text
    assert "#2 路口乡" in text and "路口乡" in report.missing


def test_all_features_outside_the_county_is_an_error(tmp_path):
    from geo.gazetteer import load_gazetteer

    gdf = _xixian_towns(["项店镇"], [box(10.0, 10.0, 10.1, 10.1)])
    path = tmp_path / "towns.geojson"
    gdf.to_file(path, driver="GeoJSON", engine="pyogrio")
    with pytest.raises(BoundaryReadError, match=r"坐标系或基准面错了") as err:
        join_to_gazetteer(read_boundaries(path), load_gazetteer("息县"))
    assert "\n" not in str(err.value) and "towns.geojson：全部 1 个要素" in str(err.value)


def test_county_without_outline_is_checked_against_china():
    # 测试县 (419999) has no outline: features must at least lie in China's lon/lat box.
    gdf = _wgs()
    gdf.loc[1, "geometry"] = box(2.3, 48.8, 2.4, 48.9)  # Paris: lon/lat swapped or wrong CRS
    out, report = join_to_gazetteer(gdf, _gazetteer(), name_field="名称")
    assert list(out["township"]) == ["甲乡"]
    assert report.outside == ["#2 乙镇"] and "中国" in report.outside_warning
    gdf["geometry"] = [box(2.3, 48.8, 2.4, 48.9), box(2.4, 48.8, 2.5, 48.9)]
    with pytest.raises(BoundaryReadError, match="全部 2 个要素都不在中国"):
        join_to_gazetteer(gdf, _gazetteer())


def test_unrecognised_column_says_how_to_choose():
    gdf = gpd.GeoDataFrame({"XZMC": ["某乡", "某镇"]}, geometry=WGS_POLYS, crs="EPSG:4326")
    with pytest.raises(BoundaryReadError) as err:
        join_to_gazetteer(gdf, _gazetteer())
    msg = str(err.value)
    assert "（columns: XZMC）" in msg
    assert "--name-field/--code-field" in msg and "字段选择" in msg and "\n" not in msg


def test_join_report_text_when_complete():
    row = FeatureMatch(row=1, file_code="419999201", township_code="419999201", township="甲乡")
    row.status, row.method = "ok", "code"
    report = JoinReport(code_field="code", rows=[row])
    assert report.complete and report.to_text() == "按代码字段“code”匹配到 1 个乡镇。"
    assert JoinReport.from_dict(report.to_dict()) == report


# --------------------------------------------------------------------------- default layers


def test_default_layer_covers_the_county_without_overlaps():
    layers = county_layers()
    assert layers.county_code == "411528" and layers.name == "息县"
    assert layers.approximate and layers.note == "示意范围，非官方边界"
    towns, outline = layers.townships, layers.outline
    assert towns.crs.to_epsg() == 4326 and outline.crs.to_epsg() == 4326
    assert len(towns) == 23 and towns["township_code"].is_unique
    assert towns["township_code"].str.fullmatch(r"411528\d{3}").all()
    assert set(towns["quality"]) == {"approximate"}
    assert towns.is_valid.all()
    m = towns.to_crs(metric_crs(towns))
    county = outline.to_crs(m.crs).union_all()
    union = m.union_all()
    assert union.symmetric_difference(county).area / county.area < 1e-4
    overlaps = sum(
        a.intersection(b).area for i, a in enumerate(m.geometry) for b in m.geometry[i + 1 :]
    )
    assert overlaps / county.area < 1e-6
    # Estimated seats sit inside their own polygon, and areas are in a plausible range.
    seats = gpd.points_from_xy(towns["seat_lon"], towns["seat_lat"], crs="EPSG:4326")
    assert all(g.contains(s) for g, s in zip(towns.geometry, seats, strict=True))
    assert m.area.between(10e6, 200e6).all()
    lon, lat = layers.seat
    assert outline.union_all().contains(Point(lon, lat))


def test_default_layer_joins_to_the_real_gazetteer():
    from geo.gazetteer import load_gazetteer

    layers = county_layers("411528")
    out, report = join_to_gazetteer(layers.townships, load_gazetteer("息县"))
    assert report.complete and len(out) == 23


def test_county_without_defaults():
    layers = county_layers("411521")
    assert layers.outline is None and layers.townships is None and layers.seat is None
    assert not layers.approximate and "上传乡镇边界" in layers.note


def test_default_layer_is_a_fresh_copy():
    a = county_layers().townships
    a.loc[0, "township"] = "改过"
    assert county_layers().townships.loc[0, "township"] != "改过"


def test_every_county_layer_file_exists_and_has_its_sources(repo_root):
    cfg = json.loads((repo_root / "data" / "counties.json").read_text(encoding="utf-8"))
    assert cfg["default"] in cfg["counties"]
    for entry in cfg["counties"].values():
        for key in ("outline", "townships"):
            path = repo_root / "data" / entry[key]
            assert path.is_file()
            sources = (path.parent / "SOURCES.md").read_text(encoding="utf-8")
            assert f"`{path.name}`" in sources
    text = (repo_root / "data" / "xixian" / "SOURCES.md").read_text(encoding="utf-8")
    for word in ("WGS84", "APPROXIMATE", "示意范围，非官方边界", "display aid only", "2026-11-27"):
        assert word in text
