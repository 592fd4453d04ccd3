"""Reading boundary files: formats, uploads as bytes, and hostile or broken archives."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from error_codes import raises_code
from shapely.geometry import Point, box

from geo.errors import BoundaryReadError, GeoInputError
from geo.io.boundary_files import MAX_ZIP_ENTRIES, read_vector

SHP_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def _towns() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["甲乡", "乙镇"], "code": ["411528201", "411528101"]},
        geometry=[box(114.60, 32.30, 114.70, 32.40), box(114.70, 32.30, 114.80, 32.40)],
        crs="EPSG:4326",
    )


def _write_shp(folder: Path, stem: str = "towns") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.shp"
    _towns().to_file(path, driver="ESRI Shapefile", engine="pyogrio")
    return path


def _zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _shp_files(folder: Path, stem: str = "towns", prefix: str = "") -> dict[str, bytes]:
    _write_shp(folder, stem)
    return {
        f"{prefix}{stem}{ext}": (folder / f"{stem}{ext}").read_bytes()
        for ext in SHP_PARTS
        if (folder / f"{stem}{ext}").exists()
    }


# --------------------------------------------------------------------------- formats


def test_geojson_path_and_bytes(tmp_path):
    path = tmp_path / "towns.geojson"
    _towns().to_file(path, driver="GeoJSON", engine="pyogrio")
    for source in (path, path.read_bytes()):
        gdf = read_vector(source, name="towns.geojson")
        assert list(gdf["name"]) == ["甲乡", "乙镇"]
        assert gdf.crs.to_epsg() == 4326


def test_shapefile_with_sidecars(tmp_path):
    gdf = read_vector(_write_shp(tmp_path))
    assert list(gdf["code"]) == ["411528201", "411528101"]
    assert gdf.crs.to_epsg() == 4326


def test_shapefile_without_prj_has_no_crs(tmp_path):
    path = _write_shp(tmp_path)
    path.with_suffix(".prj").unlink()
    assert read_vector(path).crs is None


@pytest.mark.parametrize(("side", "word"), [(".dbf", "属性表"), (".shx", "索引")])
def test_shapefile_missing_sidecar(tmp_path, side, word):
    path = _write_shp(tmp_path)
    path.with_suffix(side).unlink()
    with pytest.raises(BoundaryReadError, match=rf"缺少 \{side}（{word}）") as err:
        read_vector(path)
    assert "\n" not in str(err.value)


def test_zipped_shapefile_in_subfolder_path_and_bytes(tmp_path):
    data = _zip_of(_shp_files(tmp_path / "src", prefix="export/"))
    path = tmp_path / "towns.zip"
    path.write_bytes(data)
    for source in (path, data):
        gdf = read_vector(source, name="towns.zip")
        assert sorted(gdf["name"]) == ["乙镇", "甲乡"]
        assert gdf.crs.to_epsg() == 4326


def test_zip_ignores_macos_junk_and_other_files(tmp_path):
    files = _shp_files(tmp_path / "src")
    files["__MACOSX/._towns.shp"] = b"\x00\x05\x16\x07junk"
    files["readme.txt"] = "说明".encode()
    assert len(read_vector(_zip_of(files), name="u.zip")) == 2


def test_zipped_shapefile_missing_dbf(tmp_path):
    files = _shp_files(tmp_path / "src")
    del files["towns.dbf"]
    with pytest.raises(BoundaryReadError, match=r"\.dbf"):
        read_vector(_zip_of(files), name="towns.zip")


def test_zip_with_several_shapefiles_picks_the_polygon_one(tmp_path):
    files = _shp_files(tmp_path / "a", "towns")
    pts = gpd.GeoDataFrame({"n": [1]}, geometry=[Point(114.7, 32.3)], crs="EPSG:4326")
    (tmp_path / "b").mkdir()
    pts.to_file(tmp_path / "b" / "seats.shp", engine="pyogrio")
    for ext in (".shp", ".shx", ".dbf", ".prj"):
        files[f"seats{ext}"] = (tmp_path / "b" / f"seats{ext}").read_bytes()
    gdf = read_vector(_zip_of(files), name="two.zip")
    assert list(gdf["name"]) == ["甲乡", "乙镇"]
    assert len(read_vector(_zip_of(files), name="two.zip", layer="seats")) == 1


def test_zip_holding_a_geojson(tmp_path):
    path = tmp_path / "t.geojson"
    _towns().to_file(path, driver="GeoJSON", engine="pyogrio")
    gdf = read_vector(_zip_of({"data/t.geojson": path.read_bytes()}), name="t.zip")
    assert len(gdf) == 2


def test_geopackage_first_polygon_layer_or_named(tmp_path):
    path = tmp_path / "layers.gpkg"
    pts = gpd.GeoDataFrame({"n": [1]}, geometry=[Point(114.7, 32.3)], crs="EPSG:4326")
    pts.to_file(path, layer="seats", driver="GPKG", engine="pyogrio")
    _towns().to_file(path, layer="townships", driver="GPKG", engine="pyogrio")
    assert list(read_vector(path)["name"]) == ["甲乡", "乙镇"]
    assert len(read_vector(path.read_bytes(), name="up.gpkg", layer="seats")) == 1
    with raises_code(BoundaryReadError, "boundary.layer"):
        read_vector(path, layer="roads")


def test_geopackage_without_polygon_layer(tmp_path):
    path = tmp_path / "pts.gpkg"
    gpd.GeoDataFrame({"n": [1]}, geometry=[Point(114.7, 32.3)], crs="EPSG:4326").to_file(
        path, layer="seats", driver="GPKG", engine="pyogrio"
    )
    with raises_code(BoundaryReadError, "boundary.no_polygons"):
        read_vector(path)


# --------------------------------------------------------------------------- bad input


def test_zip_with_path_traversal_entry_is_refused(tmp_path):
    files = _shp_files(tmp_path / "src")
    files["../../evil.shp"] = b"x"
    with raises_code(BoundaryReadError, "boundary.zip"):
        read_vector(_zip_of(files), name="evil.zip")
    assert not (tmp_path / "evil.shp").exists()


def test_zip_with_absolute_entry_is_refused():
    with raises_code(BoundaryReadError, "boundary.zip"):
        read_vector(_zip_of({"/tmp/abs.shp": b"x"}), name="abs.zip")


def test_zip_with_symlink_entry_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("towns.dbf")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with raises_code(BoundaryReadError, "boundary.zip"):
        read_vector(buf.getvalue(), name="link.zip")


def test_zip_bomb_high_ratio_is_refused():
    data = _zip_of({"towns.shp": b"\0" * (8 * 1024 * 1024)})
    assert len(data) < 100_000  # really a high-ratio entry
    with raises_code(BoundaryReadError, "boundary.zip"):
        read_vector(data, name="bomb.zip")


def test_zip_with_too_many_entries_is_refused():
    files = {f"f{i}.prj": b"x" for i in range(MAX_ZIP_ENTRIES + 1)}
    with raises_code(BoundaryReadError, "boundary.zip"):
        read_vector(_zip_of(files), name="many.zip")


def test_broken_zip():
    with raises_code(BoundaryReadError, "boundary.zip"):
        read_vector(b"PK\x03\x04 this is not really a zip", name="broken.zip")


def test_zip_without_data():
    with pytest.raises(BoundaryReadError, match=r"中没有 \.shp"):
        read_vector(_zip_of({"notes.txt": b"hello"}), name="empty.zip")


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "x.geojson", "空文件"),
        (b'{"type": "Topology"}', "x.json", "不是 GeoJSON"),
        (b"{not json", "x.geojson", "不是有效的 JSON"),
        (b'{"type": "FeatureCollection", "features": []}', "x.geojson", "没有要素"),
        (b"\x00\x00\x27\x0a" + b"\0" * 96, "x.shp", "一起打包"),
        ("息县乡镇".encode(), "x.txt", "不是边界文件"),
    ],
)
def test_bad_uploads_give_one_line(data, name, message):
    with pytest.raises(GeoInputError, match=message) as err:
        read_vector(data, name=name)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with raises_code(BoundaryReadError, "boundary.missing"):
        read_vector(tmp_path / "nope.geojson")
