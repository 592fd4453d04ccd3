"""The store on both backends (a SQLite file and a PostGIS schema): ingest, idempotence,
atomicity, migrations, corrections, boundaries. Every test that takes ``store`` or
``store_location`` runs once per backend."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field

import pandas as pd
import pytest
from conftest import stored_clause_keys, texts_clause_keys
from error_codes import raises_code

from geo import paths, store_postgis, store_sqlite
from geo.aggregate import ITEM_COLUMNS, METRIC_COLUMNS, item_id, items_frame
from geo.errors import GeoInputError
from geo.models import Bulletin, BulletinHeader, Evidence, Item, Metric, Place
from geo.store import MIGRATIONS, SCHEMA_VERSION, IngestResult, Store, StoreError


# A two-township, two-village slice of 息县 written out by hand: the store only reads these fields.
@dataclass
class _Town:
    code: str
    name: str


@dataclass
class _Village:
    code: str
    name: str
    township_code: str


@dataclass
class _Gaz:
    county_name: str = "息县"
    county_code: str = "411528"
    townships: list = field(
        default_factory=lambda: [
            _Town("411528105", "小茴店镇"),
            _Town("411528201", "孙庙乡"),
        ]
    )
    villages: list = field(
        default_factory=lambda: [_Village("411528105201", "孙棚村", "411528105")]
    )

    def township_by_code(self, code):
        return next((t for t in self.townships if t.code == code), None)


def _bulletin(text_tag: str = "一", n_items: int = 2) -> Bulletin:
    """A hand-made bulletin; ``text_tag`` changes the content (and so the id)."""
    items = []
    for i in range(n_items):
        headline = f"孙庙乡开展冬季农田水利建设{text_tag}{i}"
        body = f"组织群众疏浚沟渠 12 公里，投入资金 35 万元，受益农户 800 余户。（孙庙乡 李{i}）"
        items.append(
            Item(
                index=i,
                headline=headline,
                body=body,
                unit="孙庙乡",
                authors=[f"李{i}"],
                start=i * 100,
                end=i * 100 + 60,
                metrics=[
                    Metric(350000, "yuan", "exact", "投入资金", "35 万元", (30, 35)),
                    Metric(800, "household", "approx", "受益农户", "800 余户", (40, 46)),
                ],
                sector="agriculture",
                sectors=["agriculture", "infrastructure"],
                sector_cues=["农田水利"],
                place=Place(
                    scope="township",
                    county="息县",
                    county_code="411528",
                    township="孙庙乡",
                    township_code="411528201",
                    evidence=[Evidence("孙庙乡", "unit", 0, 3, "township")],
                ),
            )
        )
    text = "\n".join(f"{it.headline}\n{it.body}" for it in items)
    return Bulletin(
        source_name=f"简报{text_tag}.txt",
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        header=BulletinHeader(title="工作简报", issue="第3期", date="2026-02-01"),
        county="息县",
        county_code="411528",
        items=items,
    )


@pytest.fixture
def store(store_location):
    with Store(store_location) as s:
        yield s


def _is_pg(location: str) -> bool:
    return str(location).startswith("postgresql://")


@contextlib.contextmanager
def _raw(location: str) -> Iterator:
    """A plain connection to the store's database (no Store in between), autocommitting."""
    if _is_pg(location):
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn:
            yield conn
    else:
        conn = sqlite3.connect(location, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()


def _run(conn, sql: str, params=()) -> list:
    """Run the store's kind of SQL (``?`` placeholders) on either kind of connection."""
    if not isinstance(conn, sqlite3.Connection):
        sql = store_postgis.to_pg_sql(sql)
    cur = conn.execute(sql, params)
    return cur.fetchall() if cur.description else []


def _old_store(location: str, version: int) -> None:
    """Make an empty store of an older schema ``version`` at ``location``."""
    with _raw(location) as conn:
        if _is_pg(location):
            with conn.transaction():
                store_postgis.migrate(conn, 0, target=version)
        else:
            store_sqlite.migrate(conn, 0, target=version)


_OLD_BULLETIN = (
    "INSERT INTO bulletins (id, source_name, title, issue, date, county, county_code, text,"
    " ingested_at) VALUES ('abc123abc123', '旧.txt', NULL, NULL, NULL, '息县', '411528', '正文',"
    " '2026-01-01')"
)


def test_ingest_then_same_content_changes_nothing(store):
    b = _bulletin()
    first = store.ingest(b)
    assert first == IngestResult(b.sha256, True, 2)
    again = store.ingest(_bulletin())
    assert again == IngestResult(b.sha256, False, 2)
    assert len(store.bulletins()) == 1
    items_df, metrics_df = store.frames()
    assert len(items_df) == 2 and len(metrics_df) == 4


def test_frames_match_items_frame_of_the_same_bulletins(store):
    bs = [_bulletin("一"), _bulletin("二", 3)]
    store.ingest_many(bs)
    got_items, got_metrics = store.frames()
    want_items, want_metrics = items_frame(bs)
    assert list(got_items.columns) == ITEM_COLUMNS
    assert list(got_metrics.columns) == METRIC_COLUMNS
    pd.testing.assert_frame_equal(got_items, want_items)
    pd.testing.assert_frame_equal(got_metrics, want_metrics)


def test_load_bulletins_round_trips_the_parsed_objects(store):
    b = _bulletin()
    store.ingest(b)
    (back,) = store.load_bulletins()
    assert back.to_dict() == b.to_dict()


def test_failure_mid_ingest_leaves_nothing_behind(store):
    bad = _bulletin("坏", 3)
    bad.items[2].index = 0  # duplicate item id: the third insert fails
    with pytest.raises(StoreError) as err:
        store.ingest(bad)
    assert err.value.code == "store.write" and "未保存" in str(err.value)
    assert store.bulletins().empty
    items_df, metrics_df = store.frames()
    assert items_df.empty and metrics_df.empty
    # the store is still usable
    assert store.ingest(_bulletin()).created


def test_ingest_many_reports_progress(store):
    seen = []
    results = store.ingest_many([_bulletin("一"), _bulletin("一"), _bulletin("二")], seen.append)
    assert [r.created for r in results] == [True, False, True]
    assert seen == results


def test_data_survives_reopening(store_location):
    with Store(store_location) as s:
        s.ingest(_bulletin())
        s.ingest(_bulletin("二", 3))
    with Store(store_location) as s:
        assert s.bulletins()["n_items"].tolist() == [2, 3]  # in ingest order
        assert s.schema_version == SCHEMA_VERSION and not s.read_only


def test_sqlite_file_uses_wal_and_foreign_keys_in_new_folders(tmp_path):
    path = tmp_path / "deep" / "folder" / "s.sqlite"
    with Store(path) as s:
        s.ingest(_bulletin())
        assert s._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert s.kind == "sqlite" and s.path == path


def test_delete_bulletin_removes_its_items_and_metrics(store):
    keep, gone = _bulletin("一"), _bulletin("二")
    store.ingest_many([keep, gone])
    assert store.delete_bulletin(gone.sha256[:10])
    assert not store.delete_bulletin("ffffffffff")
    items_df, metrics_df = store.frames()
    assert set(items_df["bulletin_id"]) == {keep.sha256}
    assert set(metrics_df["item_id"]) == {item_id(keep.sha256, 0), item_id(keep.sha256, 1)}
    with pytest.raises(StoreError):
        store.delete_bulletin("ab")


def test_older_store_is_migrated_and_keeps_its_rows(store_location):
    _old_store(store_location, 1)
    with _raw(store_location) as conn:
        _run(conn, _OLD_BULLETIN)
    with Store(store_location) as s:
        assert s.schema_version == SCHEMA_VERSION
        assert s.bulletins()["source_name"].tolist() == ["旧.txt"]
        if s.kind == "sqlite":
            indexes = {r[0] for r in s._conn.execute("SELECT name FROM sqlite_master")}
        else:
            rows = s._conn.execute("SELECT indexname FROM pg_indexes").fetchall()
            indexes = {r[0] for r in rows}
        assert "corrections_item" in indexes


def test_both_backends_have_a_step_for_every_schema_version():
    assert len(store_sqlite.MIGRATIONS) == len(store_postgis.MIGRATIONS) == SCHEMA_VERSION
    assert MIGRATIONS is store_sqlite.MIGRATIONS


def test_newer_store_is_refused_with_one_line(store_location):
    Store(store_location).close()
    with _raw(store_location) as conn:
        _run(conn, f"INSERT INTO schema_version VALUES ({SCHEMA_VERSION + 1}, 'later')")
    with pytest.raises(StoreError) as err:
        Store(store_location)
    assert err.value.code == "store.newer" and "升级" in str(err.value)
    assert isinstance(err.value, GeoInputError) and "\n" not in str(err.value)


def test_databases_holding_other_tables_of_ours_are_not_stores(store_location):
    with _raw(store_location) as conn:
        _run(conn, "CREATE TABLE bulletins (x INTEGER)")
    with pytest.raises(StoreError) as err:
        Store(store_location)
    assert err.value.code == "store.not_a_store"


def test_files_that_are_not_stores_are_refused(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError) as err:
        Store(junk)
    assert err.value.code == "store.damaged"
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE mine (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError) as err:
        Store(other)
    assert err.value.code == "store.not_a_store"
    with pytest.raises(StoreError) as err:
        Store(tmp_path)
    assert err.value.code == "store.not_a_file"


def test_store_path_prefers_argument_then_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.STORE_ENV, str(tmp_path / "env.sqlite"))
    assert paths.store_path() == tmp_path / "env.sqlite"
    assert paths.store_path(tmp_path / "arg.sqlite") == tmp_path / "arg.sqlite"
    monkeypatch.delenv(paths.STORE_ENV)
    default = paths.store_path()
    assert default.name == "activity.sqlite" and "township-activity-map" in str(default)


def test_store_location_tells_files_from_server_urls_and_refuses_other_schemes(
    monkeypatch, tmp_path
):
    url = "postgresql://geo:secret@db.intranet:5432/activity"
    monkeypatch.setenv(paths.STORE_ENV, url)
    assert paths.store_location() == url
    assert paths.store_location("postgres://db/x") == "postgres://db/x"
    assert paths.store_location(tmp_path / "a.sqlite") == tmp_path / "a.sqlite"
    with pytest.raises(StoreError) as err:
        paths.store_path()  # a server is not a file
    assert err.value.code == "store.not_a_file"
    monkeypatch.chdir(tmp_path)
    for bad in ("mysql://geo:secret@db/x", "postgresql:/db/x", "http://db/x", "sqlite:x.db"):
        with pytest.raises(StoreError) as err:
            Store(bad)
        assert err.value.code == "store.url" and "secret" not in str(err.value)
        assert "\n" not in str(err.value) and "postgresql://" in str(err.value)
    assert list(tmp_path.iterdir()) == []  # no folder named "postgresql:" or "mysql:"


def test_township_and_village_corrections_win_and_name_from_gazetteer(store):
    b = _bulletin()
    store.ingest(b)
    first = item_id(b.sha256, 0)
    gaz = _Gaz()
    store.correct(first, township_code="411528105", note="实为小茴店镇", gazetteer=gaz)
    items_df, _ = store.frames(gazetteer_loader=lambda code: gaz)
    row = items_df.set_index("item_id").loc[first]
    assert (row.township, row.township_code, row.scope) == ("小茴店镇", "411528105", "township")
    assert bool(row.corrected)
    other = items_df.set_index("item_id").loc[item_id(b.sha256, 1)]
    assert other.township == "孙庙乡" and not bool(other.corrected)

    store.correct(first, village_code="411528105201", gazetteer=gaz)
    row = store.frames(gazetteer_loader=lambda code: gaz)[0].set_index("item_id").loc[first]
    assert (row.village, row.village_code, row.scope) == ("孙棚村", "411528105201", "village")

    # "" = not in any single township: the item becomes county-wide
    store.correct(first, township_code="", gazetteer=gaz)
    row = store.frames(gazetteer_loader=lambda code: gaz)[0].set_index("item_id").loc[first]
    assert pd.isna(row.township) and pd.isna(row.village) and row.scope == "county"
    assert store.corrections()["field"].tolist() == [
        "township_code",
        "village_code",
        "township_code",
    ]


def test_corrections_use_stored_names_without_a_gazetteer(store):
    b = _bulletin()
    store.ingest(b)
    first = item_id(b.sha256, 0)
    store.correct(first, township_code="411528105", gazetteer=_Gaz())

    def no_gazetteer(code):
        raise StoreError("测试：没有行政区划", code="store.no_gazetteer")

    row = store.frames(gazetteer_loader=no_gazetteer)[0].set_index("item_id").loc[first]
    assert row.township == "小茴店镇"


def test_corrections_survive_delete_and_reingest(store):
    b = _bulletin()
    store.ingest(b)
    first = item_id(b.sha256, 1)
    store.correct(first, township_code="411528105", gazetteer=_Gaz())
    store.delete_bulletin(b.sha256)
    assert store.frames()[0].empty
    store.ingest(_bulletin())
    row = store.frames(gazetteer_loader=lambda c: _Gaz())[0].set_index("item_id").loc[first]
    assert row.township == "小茴店镇" and bool(row.corrected)


def test_bad_corrections_are_refused(store):
    b = _bulletin()
    store.ingest(b)
    first = item_id(b.sha256, 0)
    gaz = _Gaz()
    with raises_code(StoreError, "store.unknown_item"):
        store.correct("000000000000-009", township_code="411528105", gazetteer=gaz)
    with raises_code(StoreError, "store.nothing_to_correct"):
        store.correct(first)
    with raises_code(StoreError, "store.unknown_place"):
        store.correct(first, township_code="411502001", gazetteer=gaz)
    with raises_code(StoreError, "store.unknown_place"):
        store.correct(first, township_code="411528201", village_code="411528105201", gazetteer=gaz)
    assert store.corrections().empty


def test_sector_correction_checks_the_taxonomy(store):
    sectors = pytest.importorskip("geo.sectors")
    names = sectors.sector_names()
    assert "employment" in names
    b = _bulletin()
    store.ingest(b)
    first = item_id(b.sha256, 0)
    with raises_code(StoreError, "store.unknown_sector"):
        store.correct(first, sector="space_travel")
    store.correct(first, sector="employment", note="以招工为主")
    row = store.frames()[0].set_index("item_id").loc[first]
    assert row.sector == "employment"
    assert row.sectors == "employment,agriculture,infrastructure"


def test_regeocode_updates_places_but_corrections_still_win(store):
    gazetteer = pytest.importorskip("geo.gazetteer")
    pytest.importorskip("geo.geocode")
    gaz = gazetteer.load_gazetteer("411528")
    b = _bulletin()
    for it in b.items:  # pretend an older geocoder found nothing
        it.place = Place(scope="unknown")
    store.ingest(b)
    first, second = item_id(b.sha256, 0), item_id(b.sha256, 1)
    store.correct(first, township_code="411528105", gazetteer=gaz)
    keyed = stored_clause_keys(store)
    assert store.regeocode(lambda code: gaz) == 2
    assert stored_clause_keys(store) == texts_clause_keys(store) != keyed  # moved: new salt
    items_df = store.frames(gazetteer_loader=lambda code: gaz)[0].set_index("item_id")
    assert items_df.loc[second, "township"] == "孙庙乡"
    assert items_df.loc[first, "township"] == "小茴店镇"
    assert store.regeocode(lambda code: gaz) == 0


def test_correct_checks_codes_against_the_items_own_county(store):
    pytest.importorskip("geo.gazetteer")
    b = _bulletin()
    store.ingest(b)
    first = item_id(b.sha256, 0)
    with raises_code(StoreError, "store.unknown_place"):
        store.correct(first, township_code="411521001")  # a 罗山县 code
    store.correct(first, village_code="411528105201")
    row = store.frames()[0].set_index("item_id").loc[first]
    assert (row.township, row.village, row.scope) == ("小茴店镇", "孙棚村", "village")


# --------------------------------------------------------------------------- township boundaries


def _squares(names=("孙庙乡", "路口乡"), x0=114.6, quality="user"):
    """Joined-layer shaped squares (EPSG:4326), one per township, 0.1 degree wide."""
    import geopandas as gpd
    from shapely.geometry import box

    codes = {"孙庙乡": "411528201", "路口乡": "411528202", "小茴店镇": "411528105"}
    return gpd.GeoDataFrame(
        {
            "township_code": [codes[n] for n in names],
            "township": list(names),
            "quality": quality,
            "source": "乡镇.geojson",
        },
        geometry=[box(x0 + 0.1 * i, 32.3, x0 + 0.1 * (i + 1), 32.4) for i in range(len(names))],
        crs="EPSG:4326",
    )


def test_saved_boundaries_come_back_and_the_latest_set_is_active(store):
    assert store.boundaries("411528") is None and store.boundary_set("411528") is None
    first = store.save_boundaries(
        "411528", _squares(), source_name="旧.geojson", report="Matched 2 townships"
    )
    second = store.save_boundaries(
        "411528",
        _squares(("小茴店镇",), quality="official"),
        source_name="自然资源局.zip",
        report=["kept 1 of 1 features", "Matched 1 townships"],
        crs_note="EPSG:4547",
        datum="gcj02",
        name="息县",
    )
    assert second > first
    gdf = store.boundaries("411528")
    assert list(gdf.columns) == ["township_code", "township", "quality", "source", "geometry"]
    assert gdf.crs.to_epsg() == 4326
    assert gdf["township"].tolist() == ["小茴店镇"] and gdf["quality"].tolist() == ["official"]
    assert gdf.geometry.iloc[0].bounds == pytest.approx((114.6, 32.3, 114.7, 32.4))
    meta = gdf.attrs["boundary_set"]
    assert meta["source_name"] == "自然资源局.zip" and meta["datum"] == "gcj02"
    assert meta["join_report"] == "kept 1 of 1 features\nMatched 1 townships"
    assert meta["n_townships"] == 1 and meta["crs_note"] == "EPSG:4547"
    sets = store.boundary_sets()
    assert sets["id"].tolist() == [second, first]
    assert sets["active"].tolist() == [True, False]
    assert store.boundaries("411522") is None  # other counties keep their default
    assert store.delete_boundaries("411528") == 2
    assert store.boundaries("411528") is None and store.boundary_sets().empty


def test_boundaries_in_another_crs_are_kept_in_wgs84(store_location):
    metric = _squares().to_crs("EPSG:4547")
    with Store(store_location) as s:
        s.save_boundaries("411528", metric, source_name="gk.shp")
    with Store(store_location) as s:  # survives reopening
        got = s.boundaries("411528")
    assert got.crs.to_epsg() == 4326
    assert got.geometry.iloc[0].bounds == pytest.approx((114.6, 32.3, 114.7, 32.4), abs=1e-7)


def test_bad_boundaries_are_refused_with_one_line(store):
    for county, gdf, datum, match in (
        ("4115", _squares(), "wgs84", "store.county_code"),
        ("411528", _squares().drop(columns="township_code"), "wgs84", "store.boundary_columns"),
        ("411528", _squares().iloc[0:0], "wgs84", "store.no_polygons"),
        ("411528", _squares(quality="guess"), "wgs84", "store.boundary_quality"),
        ("411528", _squares(), "utm", "store.datum"),
    ):
        with raises_code(StoreError, match) as err:
            store.save_boundaries(county, gdf, source_name="x", datum=datum)
        assert "\n" not in str(err.value)
    assert store.boundary_sets().empty


def test_damaged_stored_boundaries_are_a_store_error(store):
    store.save_boundaries("411528", _squares(), source_name="x")
    if store.kind == "sqlite":
        store._conn.execute("UPDATE boundaries SET geojson = '{broken'")
    else:  # the polygons of the set are gone
        store._conn.execute("DELETE FROM boundary_townships")
    with raises_code(StoreError, "store.damaged") as err:
        store.boundaries("411528")
    assert err.value.code == "store.damaged"


def test_previous_schema_version_gains_the_boundaries_table(store_location):
    """A store written before boundaries were kept (version 2) opens, keeps its rows, migrates."""
    _old_store(store_location, 2)
    with _raw(store_location) as conn:
        _run(conn, _OLD_BULLETIN)
        _run(
            conn,
            "INSERT INTO corrections (item_id, field, value, created_at)"
            " VALUES ('abc123abc123-000', 'sector', 'agriculture', '2026-01-01')",
        )
    assert SCHEMA_VERSION >= 4
    with Store(store_location) as s:
        assert s.schema_version == SCHEMA_VERSION
        assert s.bulletins()["source_name"].tolist() == ["旧.txt"]
        assert len(s.corrections()) == 1
        assert s.boundaries("411528") is None
        s.save_boundaries("411528", _squares(), source_name="新.geojson")
    with Store(store_location) as s:
        assert s.boundary_set("411528")["source_name"] == "新.geojson"
        versions = [r[0] for r in s._conn.execute("SELECT version FROM schema_version")]
        assert versions == list(range(1, SCHEMA_VERSION + 1))


def _save_v3_set(location: str) -> None:
    """A boundary set as version 3 kept it (before provenance)."""
    with _raw(location) as conn:
        if not _is_pg(location):
            _run(
                conn,
                "INSERT INTO boundaries (county_code, source_name, geojson, created_at)"
                " VALUES ('411528', '旧.shp', ?, '2026-01-01')",
                (_squares().to_json(),),
            )
            return
        (set_id,) = _run(
            conn,
            "INSERT INTO boundaries (county_code, source_name, created_at)"
            " VALUES ('411528', '旧.shp', '2026-01-01') RETURNING id",
        )[0]
        for pos, geom in enumerate(_squares().geometry):
            _run(
                conn,
                "INSERT INTO boundary_townships (set_id, position, township_code, geom)"
                " VALUES (?, ?, '411528201', ST_Multi(ST_GeomFromText(?, 4326)))",
                (set_id, pos, geom.wkt),
            )


def test_boundary_sets_of_version_3_keep_their_rows_and_gain_provenance(store_location):
    """Migration 4 adds uploader, declared-quality source, encoding and structured reports;
    a set saved before it keeps everything, with empty provenance."""
    _old_store(store_location, 3)
    _save_v3_set(store_location)
    with Store(store_location) as s:
        old = s.boundary_set("411528")
        assert (old["source_name"], old["uploader"], old["report_json"]) == ("旧.shp", "", {})
        report = {"join": {"vintage": "nbs2023", "rows": [{"row": 1, "status": "ok"}]}}
        s.save_boundaries(
            "411528",
            _squares(),
            source_name="新.zip",
            datum="gcj02",
            uploader="张三",
            quality_source="",
            encoding="GB18030（自动识别）",
            report_data=report,
        )
        meta = s.boundary_set("411528")
        assert (meta["uploader"], meta["datum"], meta["encoding"]) == (
            "张三",
            "gcj02",
            "GB18030（自动识别）",
        )
        assert meta["report_json"] == report and meta["created_at"]
        assert s.boundaries("411528").attrs["boundary_set"]["uploader"] == "张三"
        assert list(s.boundary_sets()["uploader"]) == ["张三", ""]


# --------------------------------------------------------------------------- issue 11: counting


def _dated(sample_text: str, month: int, change=None) -> Bulletin:
    from geo.pipeline import parse_text

    text = sample_text if change is None else sample_text.replace(*change)
    head = f"息县工作简报\n2024年第{month}期\n息县人民政府办公室 2024年{month}月1日\n"
    return parse_text(head + text, county="息县", source_name=f"{month}月.txt")


def test_a_repeated_bulletin_is_linked_to_its_first_report(store, sample_text):
    feb = store.ingest(_dated(sample_text, 2))
    mar = store.ingest(_dated(sample_text, 3, ("2600", "2800")))
    assert (feb.n_repeats, mar.n_repeats) == (0, 6)
    items, metrics = store.frames()
    march = items[items["bulletin_id"] == mar.bulletin_id]
    assert march["repeat_of"].str.startswith(feb.bulletin_id[:12]).all()
    assert (march["repeat_score"] >= 90).all()
    assert items.loc[items["bulletin_id"] == feb.bulletin_id, "repeat_of"].isna().all()
    assert metrics["cumulative"].any() and items["cumulative"].any()
    assert set(store.bulletins()["date_source"]) == {"masthead"}


def test_an_older_bulletin_ingested_later_becomes_the_first_report(store, sample_text):
    mar = store.ingest(_dated(sample_text, 3))
    feb = store.ingest(_dated(sample_text, 2))
    assert feb.n_repeats == 6
    items, _ = store.frames()
    assert items.loc[items["bulletin_id"] == feb.bulletin_id, "repeat_of"].isna().all()
    march = items[items["bulletin_id"] == mar.bulletin_id]
    assert march["repeat_of"].str.startswith(feb.bulletin_id[:12]).all()


def test_an_older_bulletin_ingested_later_takes_every_report_of_its_story(store, sample_text):
    """March and April tell February's stories; February comes last: its items become the
    first reports and both later reports point at them, their scores kept."""
    mar = store.ingest(_dated(sample_text, 3))
    apr = store.ingest(_dated(sample_text, 4, ("2600", "2800")))
    items, _ = store.frames()
    april_scores = (
        items[items["bulletin_id"] == apr.bulletin_id].sort_values("index")["repeat_score"].tolist()
    )
    feb = store.ingest(_dated(sample_text, 2))
    assert feb.n_repeats == 6
    items, _ = store.frames()
    assert items.loc[items["bulletin_id"] == feb.bulletin_id, "repeat_of"].isna().all()
    for later in (mar, apr):
        rows = items[items["bulletin_id"] == later.bulletin_id].sort_values("index")
        assert rows["repeat_of"].tolist() == [item_id(feb.bulletin_id, k) for k in range(6)]
        assert rows["repeat_score"].notna().all()
    april = items[items["bulletin_id"] == apr.bulletin_id].sort_values("index")
    assert april["repeat_score"].tolist() == april_scores


def _shortened(bulletin: Bulletin, index: int, share: float) -> Bulletin:
    """``bulletin`` with item ``index``'s body cut to its first ``share`` (a reprint that
    leaves the end out) and the figures of the cut part dropped."""
    import dataclasses

    items = list(bulletin.items)
    it = items[index]
    body = it.body[: int(len(it.body) * share)]
    kept = [m for m in it.metrics if m.span[1] <= len(it.headline) + 1 + len(body)]
    items[index] = dataclasses.replace(it, body=body, metrics=kept)
    return dataclasses.replace(bulletin, items=items)


def _links(store: Store, bulletin_id: str) -> list:
    items = store.frames()[0]
    rows = items[items["bulletin_id"] == bulletin_id].sort_values("index")
    return [r if isinstance(r, str) else None for r in rows["repeat_of"]]


def test_a_shortened_reprint_is_linked_and_an_unrelated_item_is_not(store, sample_text):
    feb = store.ingest(_dated(sample_text, 2))
    mar = store.ingest(_shortened(_dated(sample_text, 3), 0, 0.7))
    first = item_id(feb.bulletin_id, 0)
    assert mar.n_repeats == 6 and _links(store, mar.bulletin_id)[0] == first
    items = store.frames()[0].set_index("item_id")
    assert items.loc[item_id(mar.bulletin_id, 0), "repeat_score"] >= 96  # by partial_ratio
    apr = store.ingest(_shortened(_dated(sample_text, 4), 0, 0.3))  # too little of it left
    assert apr.n_repeats == 5 and _links(store, apr.bulletin_id)[0] is None


def test_a_reprint_months_later_is_linked_within_the_window_only(store, sample_text):
    feb = store.ingest(_dated(sample_text, 2))
    jul = store.ingest(_dated(sample_text, 7, ("2600", "2900")))  # 151 days, a figure updated
    assert jul.n_repeats == 6
    assert set(_links(store, jul.bulletin_id)) == {item_id(feb.bulletin_id, k) for k in range(6)}
    store.delete_bulletin(jul.bulletin_id)
    sep = store.ingest(_dated(sample_text, 9))  # 213 days: beyond max_gap_days (186)
    assert sep.n_repeats == 0 and set(_links(store, sep.bulletin_id)) == {None}


def test_reports_too_old_to_be_the_story_take_no_candidate_place(store, sample_text, monkeypatch):
    """A stored report sharing more keys but beyond the window (max_gap_days) does not crowd
    out a nearer one that shares fewer: with room for one candidate, the nearer one is it."""
    import dataclasses

    from geo import store_facts

    old = _dated(sample_text, 6)
    old = dataclasses.replace(old, header=dataclasses.replace(old.header, date="2023-06-01"))
    store.ingest(old)  # 274 days before March 2024: too old to be the same story
    feb = store.ingest(_shortened(_dated(sample_text, 2), 0, 0.7))  # fewer keys shared
    monkeypatch.setattr(store_facts, "MAX_CANDIDATES", 1)
    mar = store.ingest(_dated(sample_text, 3))
    assert _links(store, mar.bulletin_id)[0] == item_id(feb.bulletin_id, 0)


def test_an_older_bulletin_telling_a_story_twice_takes_one_report_into_it(store, sample_text):
    """Within one bulletin, the first copy becomes the story's first report; the second copy,
    whose candidates now belong to a story holding its bulletin, stays a fact of its own."""
    mar = store.ingest(_dated(sample_text, 3))
    feb = store.ingest(_dated(sample_text + "\n" + sample_text, 2))
    assert feb.n_repeats == 6
    links = _links(store, feb.bulletin_id)
    assert len(links) == 12 and set(links) == {None}
    firsts = {item_id(feb.bulletin_id, k) for k in range(6)}
    assert set(_links(store, mar.bulletin_id)) == firsts


def test_a_clause_held_by_too_many_items_finds_no_candidates(store, sample_text, monkeypatch):
    """Each month's items are told with another comma (a clause end, so the clause keys are
    the same), so no item is a word-for-word copy and only the clause index can find one."""
    from geo import store_facts

    def month(n: int) -> Bulletin:
        return _dated(sample_text, n, ("，", "，；、：,;"[n - 2]))

    store.ingest(month(2))
    store.ingest(month(3))
    # every clause of April's items is then held by three items (February's, March's, its own)
    monkeypatch.setattr(store_facts, "MAX_KEY_HOLDERS", 2)
    assert store.ingest(month(4)).n_repeats == 0
    monkeypatch.setattr(store_facts, "MAX_KEY_HOLDERS", 3)  # May's: four holders, one too many
    assert store.ingest(month(5)).n_repeats == 0
    monkeypatch.setattr(store_facts, "MAX_KEY_HOLDERS", 5)  # June's: five, just allowed
    assert store.ingest(month(6)).n_repeats == 6


def test_a_story_reprinted_month_after_month_is_one_holder_of_its_clauses(
    store, sample_text, monkeypatch
):
    """Stock phrases are told by the texts holding a clause, not the items: a story reprinted
    word for word is one text, so a report of it with an updated figure still finds it."""
    from geo import store_facts

    for n in (2, 3, 4):
        store.ingest(_dated(sample_text, n))  # February's items, word for word
    monkeypatch.setattr(store_facts, "MAX_KEY_HOLDERS", 2)  # February's text and May's own
    assert store.ingest(_dated(sample_text, 5, ("2600", "2800"))).n_repeats == 6


#: Long standing formulas a county's bulletins open many items with.
_STOCK = (
    "坚持以新时代中国特色社会主义思想为指导全面推进各项工作",
    "深入贯彻落实上级决策部署和县委县政府工作要求",
    "以高质量发展为首要任务统筹推进经济社会发展",
)


def _told_in_stock_phrases(bulletin: Bulletin, own: list[str]) -> Bulletin:
    """``bulletin``'s first ``len(own)`` items, each told as the stock formulas and then its
    own clause, all in the first item's place."""
    import dataclasses

    place = bulletin.items[0].place
    items = [
        dataclasses.replace(
            it, headline="", body="，".join([*_STOCK, o]) + "。", metrics=[], place=place
        )
        for it, o in zip(bulletin.items, own, strict=False)
    ]
    return dataclasses.replace(bulletin, items=items)


def test_an_item_told_mostly_in_stock_phrases_still_finds_its_repeat(
    store, sample_text, monkeypatch
):
    """Its one clause that is not a stock phrase is enough to find the earlier report (the
    similarity still decides), and the other items sharing only the formulas are not found."""
    from geo import store_facts

    own = [
        "新建高标准农田两千亩",
        "建成村级光伏电站一座",
        "新修通村道路十二公里",
        "改造老旧小区三处",
    ]
    feb = store.ingest(_told_in_stock_phrases(_dated(sample_text, 2), own))
    monkeypatch.setattr(store_facts, "MAX_KEY_HOLDERS", 3)  # each formula: five holders
    mar = store.ingest(_told_in_stock_phrases(_dated(sample_text, 3), own[:1]))
    assert mar.n_repeats == 1
    assert _links(store, mar.bulletin_id) == [item_id(feb.bulletin_id, 0)]


_SHARED_CLAUSES = (
    "全面推进高标准农田建设项目工程",
    "持续完善沟渠路桥涵闸配套设施",
    "组织技术人员深入田间地头指导",
    "确保项目按期保质保量完成建设",
)


def _one_story(k: int, own: str, date: str) -> Bulletin:
    """A hand-made bulletin (number ``k``, dated ``date``) of one item in 孙庙乡 told as the
    four shared clauses and its ``own`` last clause."""
    import dataclasses

    base = _bulletin(f"篇{k}", n_items=1)
    item = dataclasses.replace(
        base.items[0], headline="", body="，".join([*_SHARED_CLAUSES, own]) + "。", metrics=[]
    )
    text = f"第{k}篇\n{item.body}"
    header = dataclasses.replace(base.header, date=date)
    return dataclasses.replace(
        base,
        text=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        header=header,
        items=[item],
    )


def test_a_word_for_word_reprint_is_found_among_many_stories_sharing_its_clauses(store):
    """Sixty stored stories share all four clause keys of an item (none a stock phrase), so
    the clause index gives sixteen of them at most; the reprint's own first report, a
    word-for-word copy, is found by its whole text wherever it would have ranked."""
    own = "今年新建机耕道路十二公里"
    first = store.ingest(_one_story(0, own, "2024-01-05"))
    for k in range(1, 61):  # other stories: the same clauses, another last clause (similarity ~82)
        store.ingest(_one_story(k, f"今年新建灌溉泵站{k:03d}座次", f"2024-02-{k % 28 + 1:02d}"))
    reprint = store.ingest(_one_story(99, own, "2024-03-10"))
    assert reprint.n_repeats == 1
    assert _links(store, reprint.bulletin_id) == [item_id(first.bulletin_id, 0)]
    items = store.frames()[0].set_index("item_id")
    assert items.loc[item_id(reprint.bulletin_id, 0), "repeat_score"] == 100


def test_a_reprint_whose_copy_is_too_old_is_a_fact_of_its_own(store):
    own = "今年新建机耕道路十二公里"
    store.ingest(_one_story(0, own, "2023-01-05"))  # 430 days before: never the same story
    assert store.ingest(_one_story(1, own, "2024-03-10")).n_repeats == 0


def test_deleting_a_first_report_makes_the_next_report_first(store, sample_text):
    feb = store.ingest(_dated(sample_text, 2))
    mar = store.ingest(_dated(sample_text, 3))
    apr = store.ingest(_dated(sample_text, 4))
    store.delete_bulletin(feb.bulletin_id)
    items, _ = store.frames()
    assert items.loc[items["bulletin_id"] == mar.bulletin_id, "repeat_of"].isna().all()
    april = items[items["bulletin_id"] == apr.bulletin_id]
    assert april["repeat_of"].str.startswith(mar.bulletin_id[:12]).all()
    assert store._conn.execute("SELECT COUNT(*) FROM repeat_keys").fetchone()[0] > 0


def test_reviewers_override_repeats_and_running_totals_and_it_survives_reingest(store, sample_text):
    store.ingest(_dated(sample_text, 2))
    mar = store.ingest(_dated(sample_text, 3))
    items, _ = store.frames()
    march = items[items["bulletin_id"] == mar.bulletin_id].sort_values("index")
    repeat, running = march["item_id"].iloc[5], march["item_id"].iloc[4]
    store.correct(repeat, repeat_of="", note="不是重复：新一轮种植")
    store.correct(running, cumulative=False)
    items, metrics = store.frames()
    row = items.set_index("item_id")
    assert not isinstance(row.loc[repeat, "repeat_of"], str)  # a new fact now
    assert not row.loc[running, "cumulative"] and not row.loc[running, "corrected"]
    assert not metrics.loc[metrics["item_id"] == running, "cumulative"].any()
    store.delete_bulletin(mar.bulletin_id)
    store.ingest(_dated(sample_text, 3))
    again = store.frames()[0].set_index("item_id")
    assert not isinstance(again.loc[repeat, "repeat_of"], str)
    assert set(store.corrections()["field"]) == {"repeat_of", "cumulative"}
    with pytest.raises(StoreError):
        store.correct(repeat, repeat_of=repeat)
    with pytest.raises(StoreError):
        store.correct(repeat, repeat_of="000000000000-000")


_UNDO_STEP_11 = (  # the clause keys held per item again, as schema 10 kept them
    "DROP TABLE repeat_keys",
    "CREATE TABLE repeat_keys (key BIGINT NOT NULL,"
    " item_id TEXT NOT NULL REFERENCES items(item_id) ON DELETE CASCADE)",
    "CREATE INDEX repeat_keys_key ON repeat_keys (key)",
    "CREATE INDEX repeat_keys_item ON repeat_keys (item_id)",
    "DROP INDEX items_text_key",
    "CREATE INDEX items_text_key ON items (text_key)",
    "DELETE FROM schema_version WHERE version = 11",
)
_UNDO_STEP_10 = (
    *_UNDO_STEP_11,
    "DROP INDEX items_text_key",
    "ALTER TABLE items DROP COLUMN text_key",
    "DELETE FROM schema_version WHERE version = 10",
)
_UNDO_STEP_8 = (
    *_UNDO_STEP_10,  # steps 11, 10 and 9, undone first
    "DROP TABLE settings",
    "DELETE FROM schema_version WHERE version = 9",
    "DROP TABLE repeat_keys",
    "DROP INDEX items_repeat",
    "ALTER TABLE items DROP COLUMN repeat_of",
    "ALTER TABLE items DROP COLUMN repeat_score",
    "ALTER TABLE metrics DROP COLUMN cumulative",
    "ALTER TABLE bulletins DROP COLUMN date_source",
    "DELETE FROM schema_version WHERE version = 8",
)


def test_a_schema_7_store_is_brought_up_with_running_totals_and_links(store_location, sample_text):
    """A store with bulletins written before step 8 gains the columns, its running totals
    marked and its repeats linked, in the upgrade's own transaction (both backends)."""
    with Store(store_location) as s:
        s.ingest(_dated(sample_text, 2))
        s.ingest(_dated(sample_text, 3))
        s.correct(s.frames()[0]["item_id"].iloc[0], sector="agriculture")
    with _raw(store_location) as conn:  # what step 8 added is gone: a schema-7 store
        for sql in _UNDO_STEP_8:
            _run(conn, sql)
    with Store(store_location) as s:
        assert s.schema_version == SCHEMA_VERSION == 11
        items, metrics = s.frames()
        assert items["repeat_of"].notna().sum() == 6
        assert metrics["cumulative"].any() and items["cumulative"].any()
        assert s.corrections()["field"].tolist() == ["sector"]
        first = items.loc[items["repeat_of"].notna(), "item_id"].iloc[0]
        s.correct(first, repeat_of="")  # the widened check takes counting corrections
        assert set(s.corrections()["field"]) == {"sector", "repeat_of"}


def test_a_schema_9_store_gains_whole_text_keys_and_keeps_its_links(store_location, sample_text):
    with Store(store_location) as s:
        s.ingest(_dated(sample_text, 2))
        s.ingest(_dated(sample_text, 3, ("2600", "2800")))
    with _raw(store_location) as conn:  # what steps 10 and 11 did is undone: a schema-9 store
        for sql in _UNDO_STEP_10:
            _run(conn, sql)
    with Store(store_location) as s:
        assert s.schema_version == SCHEMA_VERSION == 11
        assert s.frames()[0]["repeat_of"].notna().sum() == 6
        missing = s._conn.execute("SELECT COUNT(*) FROM items WHERE text_key IS NULL")
        assert missing.fetchone()[0] == 0
        april = s.ingest(_dated(sample_text, 4))  # February's items word for word
        assert april.n_repeats == 6


def _count(store, sql: str) -> int:
    return int(store._conn.execute(sql).fetchone()[0])


def test_a_schema_10_store_keys_each_text_once_and_keeps_its_links(store_location, sample_text):
    with Store(store_location) as s:
        s.ingest(_dated(sample_text, 2))
        s.ingest(_dated(sample_text, 3, ("2600", "2800")))
    with _raw(store_location) as conn:  # the clause keys held per item: a schema-10 store
        for sql in _UNDO_STEP_11:
            _run(conn, sql)
        _run(conn, "UPDATE items SET repeat_score = 42 WHERE repeat_of IS NOT NULL")
    with Store(store_location) as s:
        assert s.schema_version == SCHEMA_VERSION == 11
        linked = s.frames()[0].dropna(subset=["repeat_of"])
        assert len(linked) == 6 and (linked["repeat_score"] == 42).all()  # kept, not remade
        texts = _count(s, "SELECT COUNT(DISTINCT text_key) FROM items")  # 6, one told anew
        keyed = _count(s, "SELECT COUNT(DISTINCT text_key) FROM repeat_keys")
        assert keyed == texts == 7
        april = s.ingest(_dated(sample_text, 4, ("2600", "3100")))  # one figure new again
        assert april.n_repeats == 6


def test_clause_keys_are_held_once_per_text_while_an_item_holds_it(store, sample_text):
    feb = store.ingest(_dated(sample_text, 2))
    held = _count(store, "SELECT COUNT(*) FROM repeat_keys")
    mar = store.ingest(_dated(sample_text, 3))  # word for word: no clause key more
    assert held > 0 and _count(store, "SELECT COUNT(*) FROM repeat_keys") == held
    near = store.ingest(_dated(sample_text, 4, ("2600", "2800")))  # one text new
    assert near.n_repeats == 6 and _count(store, "SELECT COUNT(*) FROM repeat_keys") > held
    assert stored_clause_keys(store) == texts_clause_keys(store)
    store.delete_bulletin(near.bulletin_id)
    store.delete_bulletin(feb.bulletin_id)  # March still holds every text
    assert _count(store, "SELECT COUNT(*) FROM repeat_keys") == held
    assert stored_clause_keys(store) == texts_clause_keys(store)
    store.delete_bulletin(mar.bulletin_id)
    assert _count(store, "SELECT COUNT(*) FROM repeat_keys") == 0


def test_step_8_on_an_empty_schema_7_store(store_location):
    _old_store(store_location, 7)
    with Store(store_location) as s:
        assert s.schema_version == SCHEMA_VERSION
        assert s.frames()[0].empty


def test_revision_changes_with_every_write_and_only_then(store_location):
    with Store(store_location) as store:
        seen = [store.revision()]
        store.ingest(_bulletin())
        seen.append(store.revision())
        store.frames(), store.bulletins(), store.corrections()  # reads change nothing
        assert store.revision() == seen[-1]
        iid = store.frames()[0]["item_id"].iloc[0]
        store.correct(iid, sector="agriculture")
        seen.append(store.revision())
        store.save_boundaries("411528", _squares(), source_name="x.geojson")
        seen.append(store.revision())
        assert seen == sorted(set(seen))  # strictly increasing
    with Store(store_location) as again:  # another connection sees the same number
        assert again.revision() == seen[-1]


# ---- confidence, review and county rules (issue 9, schema version 7)


def _parsed(text: str):
    from geo.pipeline import parse_text

    return parse_text(text, county="息县", single=True, source_name="条目.txt")


_ALIAS_TEXT = "老城区开展夜市整治\n老城区组织商户80家签订诚信经营承诺书，夜市秩序明显好转。"


def test_scores_are_stored_and_read_back(store):
    b = _parsed("白土店乡发展鲜食玉米\n在白土店乡新庄村建设示范基地，种植鲜食玉米300亩。")
    store.ingest(b)
    items_df, _ = store.frames()
    row = items_df.iloc[0]
    place = b.items[0].place
    assert row["confidence"] == pytest.approx(place.confidence)
    assert bool(row["needs_review"]) == place.needs_review
    loaded = store.load_bulletins()[0].items[0].place
    assert (loaded.confidence, loaded.needs_review) == (place.confidence, place.needs_review)
    assert loaded.alternatives == place.alternatives
    assert loaded.evidence == place.evidence


def test_older_store_migrates_and_unscored_items_need_review(tmp_path):
    path = tmp_path / "v4.sqlite"
    _old_store(str(path), 4)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        "INSERT INTO bulletins VALUES ('abc123abc123', '旧.txt', NULL, NULL, NULL, '息县',"
        " '411528', '白土店乡召开会议', '2026-01-01')"
    )
    conn.execute(
        "INSERT INTO items (item_id, bulletin_id, idx, headline, body, scope, county,"
        " county_code, township, township_code) VALUES ('abc123abc123-000', 'abc123abc123', 0,"
        " '白土店乡召开会议', '白土店乡召开秋收工作会议。', 'township', '息县', '411528',"
        " '白土店乡', '411528206')"
    )
    conn.close()
    with Store(path) as s:
        assert s.schema_version == SCHEMA_VERSION >= 7
        items_df, _ = s.frames()
        assert items_df["confidence"].isna().all() and items_df["needs_review"].all()
        assert s.rules() == []
        assert s.regeocode() == 1  # scores the old item
        items_df, _ = s.frames()
        assert items_df["confidence"].notna().all()


def test_correction_and_acceptance_take_an_item_out_of_review(store):
    b = _parsed("春节期间，在白土店乡的花海，游客纷至沓来；在项店镇李楼村，群众欢聚看大戏。")
    store.ingest(b)
    iid = item_id(b.sha256, 0)
    items_df, _ = store.frames()
    assert bool(items_df.iloc[0]["needs_review"])
    store.accept_place(iid)
    items_df, _ = store.frames()
    row = items_df.iloc[0]
    assert not row["needs_review"] and row["corrected"]
    assert row["township_code"] == b.items[0].place.township_code
    assert store.corrections()["note"].tolist()[-1] == "确认"


def test_rule_from_correction_places_new_and_regeocoded_items(store):
    first = _parsed(_ALIAS_TEXT)
    store.ingest(first)
    iid = item_id(first.sha256, 0)
    assert first.items[0].place.township is None
    with pytest.raises(StoreError, match="尚未更正到某个乡镇"):
        store.rule_from_correction(iid, kind="alias", text="老城区")
    store.correct(iid, township_code="411528001")
    with pytest.raises(StoreError, match="不在该事项的文字中"):
        store.rule_from_correction(iid, kind="alias", text="新城区")
    with pytest.raises(StoreError, match="没有报送单位"):
        store.rule_from_correction(iid, kind="unit")
    rule = store.rule_from_correction(
        iid, kind="alias", text="老城区", author="张三", note="习惯叫法"
    )
    assert (rule.id, rule.township, rule.author, rule.source_item) == (1, "谯楼街道", "张三", iid)
    assert store.rules("411528") == [rule] and store.county_rules("411528").rules == (rule,)
    # a new item of the county is placed by the rule when ingested
    second = _parsed("老城区启动背街小巷改造\n老城区计划改造背街小巷12条。")
    store.ingest(second)
    items_df, _ = store.frames()
    new = items_df[items_df["item_id"] == item_id(second.sha256, 0)].iloc[0]
    assert new["township"] == "谯楼街道" and not new["corrected"]
    evidence = store.load_bulletins([second.sha256])[0].items[0].place.evidence
    assert any("规则#1" in e.reason and "张三" in e.reason for e in evidence if e.used)
    # forgetting the rule and re-geocoding puts the new item back where the text alone says
    assert store.delete_rule(rule.id) and not store.delete_rule(rule.id)
    assert store.regeocode(county_code="411528") >= 1
    items_df, _ = store.frames()
    new = items_df[items_df["item_id"] == item_id(second.sha256, 0)].iloc[0]
    assert new["township"] is None or new["township"] != new["township"]


def test_add_and_import_rules_replace_or_keep(store):
    from geo.place_rules import PlaceRule

    rule = PlaceRule("411528", "alias", "老城区", "411528001", created_at="2026-12-05")
    kept, what = store.add_rule(rule)
    assert what == "added" and kept.township == "谯楼街道"
    assert store.add_rule(rule)[1] == "kept"
    other = PlaceRule("411528", "alias", "老城区", "411528002", created_at="2026-12-06")
    assert store.import_rules([other]) == {"added": 0, "replaced": 0, "kept": 1}
    assert store.rules()[0].township_code == "411528001"
    assert store.import_rules([other], replace=True) == {"added": 0, "replaced": 1, "kept": 0}
    assert store.rules()[0].township_code == "411528002"
    with pytest.raises(StoreError, match="没有代码为"):
        store.add_rule(PlaceRule("411528", "alias", "某地", "411528999", created_at="2026"))


def test_settings_are_kept_checked_and_forgotten(store_location):
    with Store(store_location) as store:
        assert store.setting("tianditu_key") is None
        store.set_setting("tianditu_key", " abc123DEF ")
    with Store(store_location) as store:  # kept for later sessions
        assert store.setting("tianditu_key") == "abc123DEF"
        store.set_setting("tianditu_key", "xyz789")
        assert store.setting("tianditu_key") == "xyz789"
        with pytest.raises(StoreError, match="字母和数字") as err:
            store.set_setting("tianditu_key", "bad key<script>")
        assert err.value.code == "store.setting.value"
        assert store.setting("tianditu_key") == "xyz789"  # a bad value loses nothing
        with pytest.raises(StoreError, match="未知的设置项"):
            store.set_setting("password", "x")
        store.set_setting("tianditu_key", "")
        assert store.setting("tianditu_key") is None
