"""What the PostgreSQL + PostGIS store adds to the shared store tests (tests/test_store.py runs
those on both backends): the views a GIS opens, clear errors for a server that cannot be used,
read-only roles, many processes at once, a lost connection. Against the session's throwaway
cluster on localhost (tests/conftest.py)."""

from __future__ import annotations

import hashlib
import multiprocessing
import secrets
import socket
import time
from dataclasses import replace

import psycopg
import pytest
from conftest import schema_url, stored_clause_keys, texts_clause_keys

from geo.aggregate import item_id
from geo.models import Bulletin, Item, Metric, Place
from geo.store import SCHEMA_VERSION, Store, StoreError
from geo.store_postgis import mask_url, migrate, to_pg_sql

_SHARED_STORY = (
    "孙庙乡推进高标准农田建设",
    "全乡完成土地平整和沟渠清淤，新修田间道路，灌溉条件明显改善。",
)


def _bulletin(
    tag: str, county_code: str = "411528", n: int = 2, *, shared: bool = False
) -> Bulletin:
    """``n`` items of their own (``tag`` in each), and with ``shared`` one more told word
    for word in every such bulletin."""
    items = [
        Item(
            index=i,
            headline=f"孙庙乡修建水渠{tag}{i}",
            body=f"投入资金 {i + 1} 万元。",
            metrics=[Metric((i + 1) * 10000, "yuan", "exact", "投入资金", f"{i + 1} 万元", (5, 9))],
            sector="agriculture",
            sectors=["agriculture"],
            place=Place(
                scope="township",
                county="息县",
                county_code=county_code,
                township="孙庙乡",
                township_code="411528201",
            ),
        )
        for i in range(n)
    ]
    if shared:
        headline, body = _SHARED_STORY
        items.append(replace(items[0], index=n, headline=headline, body=body, metrics=[]))
    text = f"简报{tag}\n" + "\n".join(it.headline for it in items)
    return Bulletin(
        source_name=f"{tag}.txt",
        text=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        county="息县",
        county_code=county_code,
        items=items,
    )


def _squares():
    import geopandas as gpd
    from shapely.geometry import box

    return gpd.GeoDataFrame(
        {
            "township_code": ["411528201", "411528202"],
            "township": ["孙庙乡", "路口乡"],
            "quality": "user",
            "source": "乡镇.geojson",
        },
        geometry=[box(114.6, 32.3, 114.7, 32.4), box(114.7, 32.3, 114.8, 32.4)],
        crs="EPSG:4326",
    )


def _one_line_zh(err: StoreError) -> None:
    text = str(err)
    assert "\n" not in text and any("\u4e00" <= ch <= "\u9fff" for ch in text), text


# --------------------------------------------------------------------------- the views


def test_township_activity_is_a_postgis_view_a_gis_opens(pg_url):
    import geopandas as gpd
    import sqlalchemy

    with Store(pg_url) as store:
        b = _bulletin("一", n=3)
        store.ingest(b)
        store.save_boundaries("411528", _squares(), source_name="乡镇.geojson")
        # a reviewer moves one item to 路口乡: the view follows the correction
        store.correct(item_id(b.sha256, 2), township_code="411528202", gazetteer=_Gaz())
    engine = sqlalchemy.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        gdf = gpd.read_postgis(
            "SELECT * FROM township_activity ORDER BY township_code", engine, geom_col="geom"
        )
        with engine.connect() as conn:
            registered = conn.execute(
                sqlalchemy.text(
                    "SELECT srid, type FROM geometry_columns WHERE f_table_name ="
                    " 'township_activity' AND f_table_schema = current_schema()"
                )
            ).fetchall()
    finally:
        engine.dispose()
    assert gdf.crs.to_epsg() == 4326 and len(gdf) == 2
    assert gdf["township"].tolist() == ["孙庙乡", "路口乡"]
    assert gdf["n_items"].tolist() == [2, 1] and gdf["n_corrected"].tolist() == [0, 1]
    assert gdf["fid"].is_unique and set(gdf.geom_type) == {"MultiPolygon"}
    assert gdf.geometry.iloc[0].bounds == pytest.approx((114.6, 32.3, 114.7, 32.4))
    assert registered == [(4326, "MULTIPOLYGON")]  # QGIS lists it as a polygon layer


def test_only_the_latest_boundary_set_of_a_county_is_in_the_view(pg_url):
    with Store(pg_url) as store:
        store.save_boundaries("411528", _squares(), source_name="旧.geojson")
        store.save_boundaries("411528", _squares().iloc[:1], source_name="新.geojson")
        rows = store._conn.execute(
            "SELECT boundary_source, township_code FROM township_activity"
        ).fetchall()
        sectors = store._conn.execute("SELECT * FROM township_sector_counts").fetchall()
    assert [tuple(r) for r in rows] == [("新.geojson", "411528201")]
    assert sectors == []


class _Gaz:
    county_name = "息县"
    county_code = "411528"
    townships = ()
    villages = ()

    def township_by_code(self, code):
        names = {"411528201": "孙庙乡", "411528202": "路口乡"}
        return type("T", (), {"code": code, "name": names[code]}) if code in names else None


# --------------------------------------------------------------------------- unusable servers


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_server_is_a_clear_error_without_the_password(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"postgresql://geo:topsecret@127.0.0.1:{_closed_port()}/geo?connect_timeout=3"
    started = time.monotonic()
    with pytest.raises(StoreError) as err:
        Store(url)
    assert time.monotonic() - started < 10
    assert err.value.code == "store.unreachable" and "topsecret" not in str(err.value)
    assert "geo:***@127.0.0.1" in str(err.value)
    _one_line_zh(err.value)
    assert list(tmp_path.iterdir()) == []  # never a folder named "postgresql:"


def test_wrong_password_and_missing_database_are_told_apart(postgis_cluster):
    bad_password = postgis_cluster.url.replace("geo:", "geo:wrong", 1)
    with pytest.raises(StoreError) as err:
        Store(bad_password)
    assert err.value.code == "store.auth" and "wrong" not in str(err.value)
    _one_line_zh(err.value)
    no_db = postgis_cluster.url.rsplit("/", 1)[0] + "/no_such_db"
    with pytest.raises(StoreError) as err:
        Store(no_db)
    assert err.value.code == "store.no_database"
    _one_line_zh(err.value)


def test_a_database_without_postgis_is_refused_until_it_is_enabled(postgis_cluster):
    name = f"plain_{secrets.token_hex(4)}"
    with psycopg.connect(postgis_cluster.admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name} OWNER geo")
    url = postgis_cluster.url.rsplit("/", 1)[0] + f"/{name}"
    admin_url = postgis_cluster.admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        with pytest.raises(StoreError) as err:
            Store(url)  # the owner may not enable PostGIS (not a trusted extension)
        assert err.value.code == "store.no_postgis" and "CREATE EXTENSION postgis" in str(err.value)
        _one_line_zh(err.value)
        with psycopg.connect(url) as conn:  # and nothing was created
            assert conn.execute("SELECT to_regclass('bulletins')").fetchone()[0] is None
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute("CREATE EXTENSION postgis")
        with Store(url) as store:
            assert store.schema_version == SCHEMA_VERSION
    finally:
        with psycopg.connect(postgis_cluster.admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_a_search_path_without_a_schema_is_a_clear_error(postgis_cluster):
    url = schema_url(postgis_cluster, "no_such_schema").replace(",public", "")
    with pytest.raises(StoreError) as err:
        Store(url)
    assert err.value.code in ("store.permission", "store.no_postgis")
    _one_line_zh(err.value)


def test_a_missing_table_is_damage_and_nothing_is_written(pg_url):
    Store(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE metrics CASCADE")
    with pytest.raises(StoreError) as err:
        Store(pg_url)
    assert err.value.code == "store.damaged" and "metrics" in str(err.value)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM bulletins").fetchone()[0] == 0


# --------------------------------------------------------------------------- read-only roles


def _reader(cluster, pg_url: str, schema: str) -> str:
    """A role that may only read the schema's tables; its store URL."""
    role, password = f"reader_{secrets.token_hex(4)}", secrets.token_hex(8)
    with psycopg.connect(cluster.admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        admin.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        admin.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")
    return pg_url.replace(cluster.url.split("@", 1)[0], f"postgresql://{role}:{password}", 1)


def _schema_of(url: str) -> str:
    return url.rsplit("%3D", 1)[1].split(",", 1)[0]


def test_a_role_that_may_only_read_opens_read_only(postgis_cluster, pg_url):
    with Store(pg_url) as store:
        store.ingest(_bulletin("一"))
    url = _reader(postgis_cluster, pg_url, _schema_of(pg_url))
    with Store(url) as store:
        assert store.read_only
        assert store.bulletins()["source_name"].tolist() == ["一.txt"]
        assert len(store.frames()[0]) == 2
        with pytest.raises(StoreError) as err:
            store.ingest(_bulletin("二"))
        assert err.value.code == "store.read_only"
        _one_line_zh(err.value)
        with pytest.raises(StoreError) as err:
            store.delete_boundaries("411528")
        assert err.value.code == "store.read_only"


def test_an_old_store_a_reader_cannot_upgrade_is_refused(postgis_cluster, pg_url):
    with psycopg.connect(pg_url, autocommit=True) as conn, conn.transaction():
        migrate(conn, 0, target=2)
    url = _reader(postgis_cluster, pg_url, _schema_of(pg_url))
    with pytest.raises(StoreError) as err:
        Store(url)
    assert err.value.code == "store.read_only" and "旧版本" in str(err.value)


# --------------------------------------------------------------------------- many at once


def _open_and_ingest(url: str, tag: str, barrier, results, shared: bool) -> None:
    barrier.wait()
    try:
        with Store(url) as store:
            results.put(("ok", store.ingest(_bulletin(tag, shared=shared)).created))
    except Exception as err:  # reported to the parent, which asserts
        results.put((f"{type(err).__name__}: {err}", None))


def _race(url: str, tags: list[str], *, shared: bool = False) -> list:
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(len(tags)), ctx.Queue()
    procs = [
        ctx.Process(target=_open_and_ingest, args=(url, tag, barrier, results, shared))
        for tag in tags
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    return sorted(results.get(timeout=5) for _ in procs)


def test_concurrent_first_opens_of_a_new_schema_all_succeed(postgis_cluster):
    for round_no in range(5):
        schema = f"race_{round_no}_{secrets.token_hex(3)}"
        with psycopg.connect(postgis_cluster.url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        url = schema_url(postgis_cluster, schema)
        outcomes = _race(url, [f"简报{round_no}-{k}" for k in range(4)])
        assert outcomes == [("ok", True)] * 4, (round_no, outcomes)
        with Store(url) as store:
            assert len(store.bulletins()) == 4 and store.schema_version == SCHEMA_VERSION


def test_the_same_bulletin_ingested_by_several_processes_is_stored_once(pg_url):
    Store(pg_url).close()
    outcomes = _race(pg_url, ["同一份"] * 4)
    assert outcomes == [("ok", False)] * 3 + [("ok", True)]
    with Store(pg_url) as store:
        assert len(store.bulletins()) == 1 and len(store.frames()[0]) == 2


def test_bulletins_telling_one_story_stored_at_once_keep_its_clause_keys_once(pg_url):
    Store(pg_url).close()
    outcomes = _race(pg_url, [f"同讲一事{k}" for k in range(4)], shared=True)
    assert outcomes == [("ok", True)] * 4
    with Store(pg_url) as store:
        assert stored_clause_keys(store) == texts_clause_keys(store)
        items = store.frames()[0]
        story = items[items["headline"] == _SHARED_STORY[0]]
        assert len(story) == 4 and story["repeat_of"].notna().sum() == 3  # one fact
        store.delete_bulletin(story["bulletin_id"].iloc[0])
        assert stored_clause_keys(store) == texts_clause_keys(store)


def test_a_lost_connection_is_one_error_then_the_store_connects_again(postgis_cluster, pg_url):
    with Store(pg_url) as store:
        store.ingest(_bulletin("一"))
        pid = store._conn.raw.info.backend_pid
        with psycopg.connect(postgis_cluster.admin_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        time.sleep(0.2)
        with pytest.raises(StoreError) as err:
            store.bulletins()
        assert err.value.code == "store.unreachable"
        _one_line_zh(err.value)
        assert store.bulletins()["source_name"].tolist() == ["一.txt"]  # connected again
        assert store.ingest(_bulletin("二")).created


# --------------------------------------------------------------------------- helpers


def test_placeholders_and_percent_signs_are_translated_outside_quotes():
    assert to_pg_sql("SELECT ? WHERE x LIKE ?") == "SELECT %s WHERE x LIKE %s"
    assert to_pg_sql("SELECT '?%' || ?") == "SELECT '?%%' || %s"
    assert to_pg_sql('SELECT "a?b" FROM t') == 'SELECT "a?b" FROM t'


def test_passwords_never_reach_messages():
    assert mask_url("postgresql://u:p%40ss@h:5/db") == "postgresql://u:***@h:5/db"
    assert mask_url("postgresql://h/db?password=x&sslmode=require") == (
        "postgresql://h/db?password=***&sslmode=require"
    )
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"


def test_both_backends_have_the_same_tables_and_columns(pg_url, tmp_path):
    """A schema step ported by hand to PostgreSQL keeps every table and column of SQLite's
    (besides what PostgreSQL keeps differently: ingest order, polygons as geometries)."""
    import sqlite3

    Store(tmp_path / "s.sqlite").close()
    conn = sqlite3.connect(tmp_path / "s.sqlite")
    tables = [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if r[0] != "sqlite_sequence"
    ]
    lite = {t: {r[1] for r in conn.execute(f"PRAGMA table_info({t})")} for t in tables}
    conn.close()
    Store(pg_url).close()
    with psycopg.connect(pg_url) as pg:
        rows = pg.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema()"
        ).fetchall()
    pgsql: dict[str, set[str]] = {}
    for table, column in rows:
        pgsql.setdefault(table, set()).add(column)
    lite["boundaries"].discard("geojson")  # PostGIS: boundary_townships.geom
    pgsql["bulletins"].discard("rowid")  # SQLite's implicit rowid, explicit here
    assert {t: pgsql.get(t) for t in lite} == lite
