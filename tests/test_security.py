"""Hostile input that must stay closed (docs/security.md): files that make GDAL reach the
network or read server files, work bombs under the size limits, store races and damage, deep
nesting. Each case asserts the clear error and that nothing was stored or requested."""

from __future__ import annotations

import http.server
import io
import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import box

from geo.errors import BoundaryReadError, BulletinReadError, StoreError, WorkLimitError
from geo.io.boundary_files import read_vector
from geo.io.bulletin_files import MAX_BULLETIN_CHARS, MAX_DOCX_XML_BYTES
from geo.models import Bulletin, Item
from geo.pipeline import parse_file
from geo.store import Store
from geo.worker import run_bounded

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "xixian-bulletin-sample.txt"


# --------------------------------------------------------------------------- a listener


@pytest.fixture
def listener():
    """An HTTP server on localhost that records every request it gets (none may arrive)."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"type": "FeatureCollection", "features": []}')

        do_HEAD = do_GET

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def _geo(*args: str, unprivileged: bool = False) -> subprocess.CompletedProcess:
    """``python -m geo ARGS`` as a user runs it."""
    cmd = [sys.executable, "-m", "geo", *args]
    if unprivileged and os.geteuid() == 0:
        # root ignores file modes; drop the capabilities that let it, as a real user would be
        cmd = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=120)


def _vrt(source: str, sql: str = "") -> bytes:
    src_sql = f"<SrcSQL>{sql}</SrcSQL>" if sql else ""
    return (
        "<OGRVRTDataSource><OGRVRTLayer name='towns'>"
        f"<SrcDataSource>{source}</SrcDataSource>{src_sql}"
        "</OGRVRTLayer></OGRVRTDataSource>"
    ).encode()


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


# --------------------------------------------------------------------------- SSRF / file read


@pytest.mark.parametrize(
    "name", ["towns.gpkg", "towns.geojson", "towns.json", "towns.shp", "towns.kml", "q.esrijson"]
)
def test_vrt_under_another_name_is_refused_and_requests_nothing(listener, name):
    url, hits = listener
    data = _vrt(f"/vsicurl/{url}/towns.geojson")
    with pytest.raises(BoundaryReadError) as err:
        read_vector(data, name=name)
    # a bare .shp upload is refused before any driver opens it (no .shx/.dbf/.prj beside it)
    codes = {"boundary.driver", "boundary.format", "boundary.shapefile_sidecar"}
    assert err.value.code in codes
    assert "\n" not in str(err.value)
    time.sleep(0.2)
    assert hits == []


@pytest.mark.parametrize("inner", ["towns.gpkg", "towns.geojson", "towns.shp", "towns.kml"])
def test_vrt_inside_a_zip_is_refused_and_requests_nothing(listener, inner):
    url, hits = listener
    files = {inner: _vrt(f"/vsicurl/{url}/a.geojson")}
    if inner.endswith(".shp"):
        files |= {"towns.shx": _vrt(f"{url}/b"), "towns.dbf": b"\x03" + b"\0" * 40}
    with pytest.raises(BoundaryReadError):
        read_vector(_zip(files), name="upload.zip")
    time.sleep(0.2)
    assert hits == []


def test_vrt_named_kml_on_disk_is_refused_before_gdal_opens_it(listener, tmp_path):
    url, hits = listener
    path = tmp_path / "towns.kml"
    path.write_bytes(_vrt(f"/vsicurl/{url}/towns.geojson"))
    with pytest.raises(BoundaryReadError) as err:
        read_vector(path)
    assert err.value.code == "boundary.driver" and "<kml>" in str(err.value)
    time.sleep(0.2)
    assert hits == []


_KML_POLYGON = (
    "<Placemark><name>路口乡</name><Polygon><outerBoundaryIs><LinearRing><coordinates>"
    "114.7,32.3 114.8,32.3 114.8,32.4 114.7,32.4 114.7,32.3"
    "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>"
)


@pytest.mark.parametrize(
    ("prologue", "body", "code"),
    [
        # an external entity (file read / request) and an expansion bomb
        ('<!DOCTYPE kml [<!ENTITY x SYSTEM "{url}/secret">]>', "&x;", "boundary.kml_dtd"),
        ('<!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>', "&b;", None),
        ("", "<NetworkLink><Link><href>{url}/more.kml</href></Link></NetworkLink>", None),
    ],
)
def test_kml_with_entities_or_network_links_is_refused_and_requests_nothing(
    listener, prologue, body, code
):
    url, hits = listener
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?>' + prologue.format(url=url)
        + '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        + body.format(url=url) + _KML_POLYGON + "</Document></kml>"
    )  # fmt: skip
    with pytest.raises(BoundaryReadError) as err:
        read_vector(doc.encode(), name="towns.kml")
    assert err.value.code in {"boundary.kml_dtd", "boundary.kml_link"}
    assert code is None or err.value.code == code
    time.sleep(0.2)
    assert hits == []


def test_kml_is_refused_when_gdal_would_open_it_with_libkml(tmp_path):
    """GDAL's KML driver takes no ``KML:`` prefix; if GDAL was loaded before ``geo`` (so LIBKML,
    which follows links, is registered) the driver check still refuses the file."""
    path = tmp_path / "towns.kml"
    path.write_text(
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        + _KML_POLYGON
        + "</Document></kml>",
        encoding="utf-8",
    )
    script = (
        "import pyogrio; pyogrio.list_drivers()\n"  # GDAL registers every driver first
        "from geo.io.boundary_files import read_vector, UNSAFE_DRIVERS_REGISTERED\n"
        "from geo.errors import BoundaryReadError\n"
        "assert 'LIBKML' in UNSAFE_DRIVERS_REGISTERED, UNSAFE_DRIVERS_REGISTERED\n"
        "try:\n"
        f"    read_vector({str(path)!r})\n"
        "except BoundaryReadError as err:\n"
        "    print(err.code, err)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "GDAL_SKIP"}  # as a fresh process
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("boundary.driver") and "LIBKML" in proc.stdout


def test_plain_kml_and_esri_json_still_read():
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        "<Document>" + _KML_POLYGON + "</Document></kml>"
    )
    assert list(read_vector(doc.encode(), name="towns.kml")["Name"]) == ["路口乡"]
    esri = {
        "geometryType": "esriGeometryPolygon",
        "spatialReference": {"wkid": 4326},
        "fields": [{"name": "NAME", "type": "esriFieldTypeString"}],
        "features": [
            {
                "attributes": {"NAME": "路口乡"},
                "geometry": {
                    "rings": [[[114.7, 32.3], [114.7, 32.4], [114.8, 32.4], [114.7, 32.3]]]
                },
            }
        ],
    }
    gdf = read_vector(json.dumps(esri, ensure_ascii=False).encode(), name="query.json")
    assert list(gdf["NAME"]) == ["路口乡"] and gdf.crs.to_epsg() == 4326


def test_esri_json_field_contents_are_echoed_only_as_bounded_samples():
    from geo.boundary_import import import_boundaries

    secret = "db_password=" + "y" * 300
    rings = [[[114.70, 32.30], [114.70, 32.35], [114.75, 32.35], [114.70, 32.30]]]
    esri = {
        "geometryType": "esriGeometryPolygon",
        "spatialReference": {"wkid": 4326},
        "fields": [{"name": "名称", "type": "esriFieldTypeString"}],
        "features": [
            {"attributes": {"名称": secret}, "geometry": {"rings": rings}},
            {"attributes": {"名称": "路口乡"}, "geometry": {"rings": rings}},
        ],
    }
    data = json.dumps(esri, ensure_ascii=False).encode()
    result = import_boundaries(data, county="411528", name="query.json")
    text = result.to_text() + result.table.to_csv()
    assert "db_password=" in text and secret not in text


def test_gdal_cannot_reach_the_network_anywhere_in_the_process(listener):
    url, hits = listener
    for source in (
        f"/vsicurl/{url}/a.geojson",
        f"/vsicurl_streaming/{url}/b.geojson",
        f"GeoJSON:{url}/c.geojson",
        f"{url}/d.geojson",
        f"WFS:{url}/wfs",
    ):
        with pytest.raises(Exception):  # noqa: B017 - any refusal will do; no request may leave
            pyogrio.read_info(source)
    time.sleep(0.2)
    assert hits == []
    assert "OGR_VRT" not in pyogrio.list_drivers() or os.environ.get("GDAL_SKIP")


def test_vrt_reading_a_server_file_through_sql_is_refused_by_the_cli(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("line\ndb_password=hunter2\n", encoding="utf-8")
    upload = tmp_path / "towns.gpkg"
    upload.write_bytes(_vrt(f"CSV:{secret}", sql="SELECT line AS name FROM secret"))
    store = tmp_path / "store.sqlite"
    proc = _geo("boundaries", "import", str(upload), "--county", "息县", "--store", str(store))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "hunter2" not in proc.stderr + proc.stdout
    assert not store.exists()  # nothing stored, not even an empty store


def _gpkg(tmp_path: Path, sql: str) -> Path:
    path = tmp_path / "towns.gpkg"
    gpd.GeoDataFrame(
        {"name": ["路口乡"]}, geometry=[box(114.7, 32.3, 114.8, 32.4)], crs=4326
    ).to_file(path, driver="GPKG", layer="towns")
    conn = sqlite3.connect(path)
    conn.executescript(sql)
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE VIEW towns_view AS SELECT * FROM towns;",
        "CREATE TRIGGER steal AFTER UPDATE ON towns BEGIN SELECT 1; END;",
        "PRAGMA writable_schema = ON; INSERT INTO sqlite_master VALUES ('table', 'ext', 'ext',"
        " 0, 'CREATE VIRTUAL TABLE ext USING VirtualOGR(''/vsicurl/http://127.0.0.1:9/x'')');",
    ],
)
def test_geopackage_with_sql_parts_is_refused(tmp_path, sql):
    path = _gpkg(tmp_path, sql)
    for source in (path, path.read_bytes()):
        with pytest.raises(BoundaryReadError) as err:
            read_vector(source, name="towns.gpkg")
        assert err.value.code == "boundary.gpkg_sql"


def test_plain_geopackage_still_reads(tmp_path):
    assert list(read_vector(_gpkg(tmp_path, ""))["name"]) == ["路口乡"]


def test_unrecognised_field_contents_are_echoed_only_as_bounded_samples():
    from geo.boundaries import join_to_gazetteer
    from geo.gazetteer import load_gazetteer

    secret = "db_password=" + "x" * 200
    gdf = gpd.GeoDataFrame(
        {"名称": [secret, "路口乡"]},
        geometry=[box(114.70, 32.30, 114.75, 32.35), box(114.75, 32.30, 114.80, 32.35)],
        crs=4326,
    )
    _, report = join_to_gazetteer(gdf, load_gazetteer("411528"), name_field="名称")
    text = report.to_text()
    assert "db_password=" in text and secret not in text
    assert max(len(part) for part in text.split("、")) < 200


# --------------------------------------------------------------------------- nesting


def test_deeply_nested_geojson_is_one_clear_error(tmp_path):
    depth = 200_000
    doc = b'{"type": "Polygon", "coordinates": ' + b"[" * depth + b"]" * depth + b"}"
    with pytest.raises(BoundaryReadError) as err:
        read_vector(doc, name="deep.geojson")
    assert err.value.code == "boundary.too_deep"
    path = tmp_path / "deep.geojson"
    path.write_bytes(doc)
    proc = _geo(
        "boundaries", "import", str(path), "--county", "息县", "--store", str(tmp_path / "s.db")
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- bounded work


def _docx(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def test_docx_with_more_xml_than_the_cap_is_refused_before_parsing():
    # highly compressible XML: small file, large inflated part
    body = "<w:p/>" * (MAX_DOCX_XML_BYTES // 6 + 10)
    data = _zip({"word/document.xml": body.encode(), "[Content_Types].xml": b"<Types/>"})
    assert len(data) < 1_000_000
    with pytest.raises(BulletinReadError) as err:
        parse_file(data, "炸弹.docx", county="息县")
    assert err.value.code == "bulletin.docx_too_large"


def test_docx_under_the_xml_cap_but_over_the_character_cap_stops_within_bounds():
    import random

    # varied text (repeated text compresses past the zip-bomb ratio check, a different guard)
    rng = random.Random(7)
    words = "息县白土店乡流转土地亩发展鲜食玉米种植项目投资万元村社区企业就业招商签约建设"
    paragraphs = ["".join(rng.choices(words, k=900)) + "。" for _ in range(2400)]
    data = _docx(paragraphs)
    assert sum(map(len, paragraphs)) > MAX_BULLETIN_CHARS
    with pytest.raises(BulletinReadError) as err:
        run_bounded(parse_file, data, "长.docx", county="息县", timeout=120, memory_mb=1500)
    assert err.value.code == "bulletin.too_many_chars"


def test_hard_wrapped_gb18030_text_over_the_character_cap_is_refused():
    line = "息县招商工作迎来开门红树牢企业至上企业家至上的理念夯实企业发展平台持续完"
    data = ("\n".join([line] * (MAX_BULLETIN_CHARS // len(line) + 100))).encode("gb18030")
    with pytest.raises(BulletinReadError) as err:
        run_bounded(parse_file, data, "长.txt", county="息县", timeout=120, memory_mb=1500)
    assert err.value.code == "bulletin.too_many_chars"


def test_text_just_under_the_character_cap_parses_within_the_bounds():
    line = (
        "息县招商工作迎来开门红，树牢企业至上理念，签约项目5个，总投资13.5亿元，"
        "白土店乡流转土地300亩。"
    )
    data = "\n".join([line] * (MAX_BULLETIN_CHARS // (len(line) + 1) - 100)).encode("utf-8")
    bulletin = run_bounded(parse_file, data, "大.txt", county="息县", timeout=120, memory_mb=2000)
    assert bulletin.items and len(bulletin.text) < MAX_BULLETIN_CHARS


def _sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "finished"


def _allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def test_bounded_worker_stops_a_job_over_time_or_memory():
    started = time.monotonic()
    with pytest.raises(WorkLimitError) as err:
        run_bounded(_sleep, 60, timeout=1)
    assert err.value.code == "work.timeout" and time.monotonic() - started < 30
    with pytest.raises(WorkLimitError) as err:
        run_bounded(_allocate, 4000, memory_mb=300)
    assert err.value.code == "work.memory"
    assert run_bounded(_allocate, 50, memory_mb=300) == 50 * 1024 * 1024
    assert run_bounded(_sleep, 0) == "finished"


# --------------------------------------------------------------------------- the store


def _bulletin(text: str, county_code: str = "411528") -> Bulletin:
    import hashlib

    return Bulletin(
        source_name=f"{text}.txt",
        text=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        county="息县" if county_code == "411528" else "光山县",
        county_code=county_code,
        items=[Item(index=0, headline=text, body=text)],
    )


def _open_and_ingest(path: str, text: str, barrier, results) -> None:
    barrier.wait()
    try:
        with Store(path) as store:
            store.ingest(_bulletin(text))
        results.put("ok")
    except Exception as err:  # reported to the parent, which asserts
        results.put(f"{type(err).__name__}: {err}")


def test_concurrent_first_opens_both_succeed_every_time(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for round_no in range(20):
        path = str(tmp_path / f"race-{round_no}.sqlite")
        barrier, results = ctx.Barrier(2), ctx.Queue()
        procs = [
            ctx.Process(
                target=_open_and_ingest, args=(path, f"简报{round_no}-{k}", barrier, results)
            )
            for k in range(2)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        outcomes = [results.get(timeout=5) for _ in procs]
        assert outcomes == ["ok", "ok"], (round_no, outcomes)
        with Store(path) as store:
            assert len(store.bulletins()) == 2


def _damage(path: Path) -> None:
    """Overwrite pages 2 and 3 (b-tree pages of the schema's tables) with garbage."""
    with open(path, "r+b") as fh:
        fh.seek(4096)
        fh.write(b"\xde\xad\xbe\xef" * 2048)


def test_damaged_store_is_refused_and_never_written(tmp_path):
    path = tmp_path / "store.sqlite"
    with Store(path) as store:
        for k in range(30):
            store.ingest(_bulletin(f"简报{k}" * 50))
    _damage(path)
    before = path.read_bytes()
    with pytest.raises(StoreError) as err:
        Store(path)
    assert err.value.code == "store.damaged" and "\n" not in str(err.value)
    proc = _geo(
        "ingest", str(SAMPLE), "--county", "息县", "--date", "2024-02-01", "--store", str(path)
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert path.read_bytes() == before


def test_store_in_a_read_only_folder_can_be_read_but_not_written(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "store.sqlite"
    with Store(path) as store:
        store.ingest(parse_file(SAMPLE, county="息县"))
    folder.chmod(0o555)
    path.chmod(0o444)
    try:
        listing = _geo("bulletins", "--store", str(path), unprivileged=True)
        assert listing.returncode == 0, listing.stderr
        assert SAMPLE.name in listing.stdout
        ingest = _geo(
            "ingest",
            str(SAMPLE),
            "--county",
            "光山县",
            "--date",
            "2024-02-01",
            "--store",
            str(path),
            unprivileged=True,
        )
        assert ingest.returncode == 2 and "只读" in ingest.stderr, ingest.stderr
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)
    assert sorted(p.name for p in folder.iterdir()) == ["store.sqlite"]


def test_failed_ingest_leaves_no_store_behind(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    store = tmp_path / "new" / "store.sqlite"
    proc = _geo("ingest", str(empty), "--county", "息县", "--store", str(store))
    assert proc.returncode == 2
    assert not store.exists()


def test_reingest_under_another_county_is_an_explicit_choice(store_location):
    with Store(store_location) as store:
        store.ingest(_bulletin("同一份简报"))
        with pytest.raises(StoreError) as err:
            store.ingest(_bulletin("同一份简报", county_code="411522"))
        assert err.value.code == "store.county_conflict"
        assert set(store.bulletins()["county_code"]) == {"411528"}
        assert store.ingest(_bulletin("同一份简报"), reassign_county=False).created is False
        result = store.ingest(_bulletin("同一份简报", county_code="411522"), reassign_county=True)
        assert result.created
        assert set(store.bulletins()["county_code"]) == {"411522"}


# --------------------------------------------------------------------------- the app


def test_app_shows_no_tracebacks_and_hides_the_developer_menu():
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"
    assert config["client"]["toolbarMode"] == "viewer"


def test_app_reads_an_upload_only_after_the_user_asks(monkeypatch, tmp_path, listener):
    from streamlit.testing.v1 import AppTest

    url, hits = listener
    monkeypatch.setenv("GEO_STORE", str(tmp_path / "store.sqlite"))
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=120).run()
    at.file_uploader(key="boundary_file").set_value(
        ("towns.gpkg", _vrt(f"/vsicurl/{url}/a.geojson"), "application/octet-stream")
    ).run()
    assert not at.error and hits == []  # uploaded, not read
    at.button(key="boundary_read").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "GeoPackage" in at.error[0].value
    time.sleep(0.2)
    assert hits == []


def test_bounded_jobs_never_rerun_the_main_script(tmp_path, monkeypatch):
    """Under Streamlit the app script is ``__main__``: a job must not run the app again."""
    import types

    marker = tmp_path / "ran.txt"
    script = tmp_path / "app_script.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('ran')\n", encoding="utf-8")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert run_bounded(_sleep, 0) == "finished"
    assert not marker.exists()
