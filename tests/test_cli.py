"""``python -m geo`` run as a user runs it: a subprocess, real files, real exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from geo.aggregate import ITEM_COLUMNS
from geo.cli import display_width, format_table
from geo.report_csv import strip_text_codes
from geo.sectors import sector_names

# Written for these tests in the style of a county bulletin (hard breaks, author lines).
BULLETIN = """\
 息县孙庙乡推进冬季农田水利建设 组织群众疏浚沟渠 12 公里，

新修机耕路 3.5 公里，投入资金 35 万元，受益农户 800 余户。

（孙庙乡 李明）

 息县小茴店镇开展返乡青年就业对接活动 组织辖区 16 家企业

现场招聘，提供岗位 600 余个，达成就业意向 210 人。

（小茴店镇 王芳）
"""
#: The date the test bulletins are ingested with (they have no masthead).
D = "2024-02-01"
OTHER = """\
 息县路口乡开展秸秆禁烧巡查 出动巡查人员 320 人次，

清理田间秸秆 45 吨，发放宣传资料 5000 余份。

（路口乡 赵强）
"""


def _run(*args, stdin=None, env_store=None, cwd=None):
    env = dict(os.environ)
    if env_store is not None:
        env["GEO_STORE"] = str(env_store)
    return subprocess.run(
        [sys.executable, "-m", "geo", *map(str, args)],
        input=stdin,
        capture_output=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


#: The one stderr line of a failed command: 错误（CODE）：Chinese message.
ERROR_LINE = re.compile(r"错误（([a-z_.]+)）：(.*[\u4e00-\u9fff].*)")


def _err_line(proc) -> str:
    """The message of the one error line (after its code); it is Chinese."""
    return _error(proc)[1]


def _err_code(proc) -> str:
    return _error(proc)[0]


def _error(proc) -> tuple[str, str]:
    err = proc.stderr.decode("utf-8")
    assert "Traceback" not in err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    m = ERROR_LINE.fullmatch(lines[0])
    assert m, lines[0]
    return m.group(1), m.group(2)


@pytest.fixture
def bulletin_file(tmp_path):
    path = tmp_path / "简报-2026-03.txt"
    path.write_text(BULLETIN, encoding="utf-8")
    return path


@pytest.fixture
def other_file(tmp_path):
    path = tmp_path / "简报-2026-04.txt"
    path.write_text(OTHER, encoding="utf-8")
    return path


def _pipeline_ready():
    try:
        import geo.pipeline  # noqa: F401
    except ImportError as err:
        pytest.skip(f"pipeline not importable yet: {err}")


# --------------------------------------------------------------------------- pure helpers


def test_display_width_counts_cjk_as_two_columns():
    assert display_width("abc") == 3
    assert display_width("息县") == 4
    assert display_width("（县人社局）") == 12
    assert display_width("2354人") == 6


def test_format_table_aligns_cjk_columns_and_clips():
    text = format_table(
        [["小茴店镇", "35万元"], ["八里岔乡开展冬季农田水利建设活动", 1]],
        ["乡镇", "指标"],
        [12, 10],
    )
    lines = text.splitlines()
    assert lines[2].startswith("小茴店镇     35万元")
    assert "…" in lines[3]
    # the second column starts at the same display column on every line
    starts = {
        display_width(line[: line.rindex(cell)])
        for line, cell in ((lines[0], "指标"), (lines[2], "35万元"), (lines[3], "1"))
    }
    assert starts == {display_width("八里岔乡开…") + 2}


# --------------------------------------------------------------------------- errors and usage


def test_no_command_and_bad_options_exit_2():
    proc = _run()
    assert proc.returncode == 2
    assert "错误（usage）：" in proc.stderr.decode()
    proc = _run("parse", "--format", "yaml", "x.txt")
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr
    proc = _run("export", "--out", "map.png", "--size", "big")
    assert proc.returncode == 2 and "错误（usage）：参数 --size" in proc.stderr.decode()
    proc = _run("export", "--format", "csv")  # argparse's own message, in Chinese
    assert proc.returncode == 2 and "错误（usage）：缺少必需的参数：--out" in proc.stderr.decode()
    helped = _run("export", "-h").stdout.decode()
    assert helped.startswith("用法：python -m geo export") and "报表版" in helped
    assert "显示本帮助并退出" in helped and "show this help" not in helped


def test_missing_and_empty_files_are_one_line_errors(tmp_path):
    _pipeline_ready()
    proc = _run("parse", tmp_path / "nope.txt")
    assert proc.returncode == 2
    _err_line(proc)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    proc = _run("parse", empty)
    assert proc.returncode == 2
    _err_line(proc)


def test_unknown_county_is_one_line_error(bulletin_file):
    _pipeline_ready()
    proc = _run("parse", bulletin_file, "--county", "不存在县")
    assert proc.returncode == 2
    assert "不存在县" in _err_line(proc)


def test_store_from_a_newer_version_is_one_line_error(tmp_path):
    from geo.store import SCHEMA_VERSION, Store

    path = tmp_path / "s.sqlite"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"INSERT INTO schema_version VALUES ({SCHEMA_VERSION + 1}, 'later')")
    conn.commit()
    conn.close()
    proc = _run("bulletins", "--store", path)
    assert proc.returncode == 2
    assert _err_code(proc) == "store.newer"


# --------------------------------------------------------------------------- counties


def test_counties_lists_xi_county_in_henan():
    proc = _run("counties", "--province", "41", "--format", "csv", "--columns", "keys")
    assert proc.returncode == 0, proc.stderr.decode()
    rows = list(csv.DictReader(io.StringIO(proc.stdout.decode("utf-8"))))
    assert {"code": "411528", "name": "息县"}.items() <= next(
        r for r in rows if r["code"] == "411528"
    ).items()
    assert all(r["code"].startswith("41") for r in rows)
    proc = _run("counties", "--province", "99")
    assert proc.returncode == 2
    _err_line(proc)


def test_listing_csvs_are_report_tables_by_default(bulletin_file, tmp_path):
    """A planner opens a listing's CSV in Excel or WPS: Chinese headers and values, a BOM,
    codes kept as text; ``--columns keys`` gives programs the English keys."""
    _pipeline_ready()
    store = tmp_path / "s.sqlite"
    assert (
        _run("ingest", bulletin_file, "--county", "息县", "--date", D, "--store", store).returncode
        == 0
    )
    expected = {
        ("bulletins",): ["简报编号", "简报文件", "简报日期", "县代码", "事项数（条）", "日期来源"],
        ("corrections",): ["事项编号", "更正字段", "更正为"],
        ("recut", "list"): ["切分更正编号", "类型", "位置（字符）"],
        ("review", "--all"): ["事项编号", "乡镇（街道）", "定位置信度", "定位待核对"],
        ("boundaries", "list"): ["边界编号", "县代码", "边界来源", "使用中"],
        ("counties", "--province", "4115"): ["县代码", "名称", "市", "省"],
    }
    for command, headers in expected.items():
        if command[0] != "counties":  # the gazetteer's listing reads no store
            command = (*command, "--store", store)
        proc = _run(*command, "--format", "csv")
        assert proc.returncode == 0, proc.stderr.decode()
        text = proc.stdout.decode("utf-8")
        assert text.startswith("\ufeff"), command
        header = next(csv.reader(io.StringIO(text[1:])))
        assert set(headers) <= set(header), (command, header)
        assert not [h for h in header if re.fullmatch(r"[a-z_0-9]+", h)], (command, header)
        keys = _run(*command, "--format", "csv", "--columns", "keys")
        assert next(csv.reader(io.StringIO(keys.stdout.decode("utf-8"))))[0].isascii()
    rows = list(
        csv.DictReader(
            io.StringIO(
                _run("bulletins", "--format", "csv", "--store", store).stdout.decode("utf-8-sig")
            )
        )
    )
    assert rows[0]["县代码"] == '="411528"' and rows[0]["日期来源"] == "上传时填写"
    review = _run("review", "--all", "--format", "csv", "--store", store).stdout.decode("utf-8-sig")
    others = [r["其他可能的位置"] for r in csv.DictReader(io.StringIO(review))]
    assert any(others) and not [o for o in others if o.startswith("[")]  # 白土店乡 0.27；全县 0.05
    county = _run("counties", "--province", "4115", "--format", "csv")
    xi = next(
        r
        for r in csv.DictReader(io.StringIO(county.stdout.decode("utf-8-sig")))
        if r["名称"] == "息县"
    )
    assert xi["县代码"] == '="411528"' and xi["见于民政部 2025 区划"] == "是"


# --------------------------------------------------------------------------- parse


def test_parse_json_prints_items_and_writes_no_store(bulletin_file, tmp_path):
    _pipeline_ready()
    store = tmp_path / "never.sqlite"
    proc = _run("parse", bulletin_file, "--county", "息县", env_store=store)
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode("utf-8")
    assert "孙庙乡" in out  # ensure_ascii=False: Chinese as is, not \\u escapes
    data = json.loads(out)
    assert data["county_code"] == "411528"
    assert data["source_name"] == "简报-2026-03.txt"
    assert len(data["items"]) == 2
    first = data["items"][0]
    assert first["township"] == "孙庙乡"
    assert first["item_id"] == f"{data['sha256'][:12]}-000"
    assert any(m["value"] == 350000 and m["unit"] == "yuan" for m in first["metrics"])
    for item in data["items"]:  # the JSON contract of issue 9
        assert 0.0 <= item["confidence"] <= 1.0
        assert isinstance(item["needs_review"], bool)
        assert isinstance(item["alternatives"], list)
    assert not store.exists()


def test_parse_reads_stdin_and_single_item(tmp_path):
    _pipeline_ready()
    proc = _run("parse", "-", "--single-item", stdin=BULLETIN.encode("utf-8"))
    assert proc.returncode == 0, proc.stderr.decode()
    data = json.loads(proc.stdout)
    assert data["source_name"] == "<stdin>"
    assert len(data["items"]) == 1


def test_parse_table_is_aligned_for_people(bulletin_file):
    _pipeline_ready()
    proc = _run("parse", bulletin_file, "--format", "table")
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode("utf-8").splitlines()
    table, notes = lines[: lines.index("")], lines[lines.index("") + 1 :]
    header, rule, *rows = table[1:]
    assert header.split()[:3] == ["#", "标题", "单位"]
    assert len(rows) == 2
    assert notes[0].startswith("版式：")
    assert "孙庙乡" in rows[0] and "小茴店镇" in rows[1]
    # columns line up in display width: the rule's gaps match the header's column starts
    col = display_width(header[: header.index("单位")])
    assert rule[col - 2 : col] == "  "
    for row in rows:
        assert display_width(row) <= display_width(rule)


def test_parse_csv_has_item_columns(bulletin_file):
    _pipeline_ready()
    proc = _run("parse", bulletin_file, "--format", "csv", "--columns", "keys")
    assert proc.returncode == 0, proc.stderr.decode()
    rows = list(csv.reader(io.StringIO(proc.stdout.decode("utf-8"))))
    assert rows[0] == ITEM_COLUMNS
    assert len(rows) == 3


# --------------------------------------------------------------------------- store commands


def test_ingest_reports_each_file_and_keeps_going_after_a_bad_one(
    bulletin_file, other_file, tmp_path
):
    _pipeline_ready()
    store = tmp_path / "s.sqlite"
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"")
    proc = _run(
        "ingest",
        bulletin_file,
        bad,
        other_file,
        "--county",
        "411528",
        "--date",
        D,
        "--store",
        store,
    )
    assert proc.returncode == 2
    out = proc.stdout.decode("utf-8")
    assert out.count("新增 ") >= 2 and "简报-2026-04.txt" in out
    assert "bad.txt" in _err_line(proc)

    proc = _run("ingest", bulletin_file, "--date", D, env_store=store)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().startswith("已存在")

    proc = _run("bulletins", "--format", "csv", "--columns", "keys", "--store", store)
    rows = list(csv.DictReader(io.StringIO(proc.stdout.decode("utf-8"))))
    assert sorted(r["source_name"] for r in rows) == ["简报-2026-03.txt", "简报-2026-04.txt"]

    gone = next(r["id"] for r in rows if r["source_name"] == "简报-2026-04.txt")
    assert _run("delete", gone[:8], "--store", store).returncode == 0
    proc = _run("bulletins", "--format", "csv", "--store", store)
    assert "简报-2026-04.txt" not in proc.stdout.decode("utf-8")


def test_ingest_with_unknown_county_fails_once(bulletin_file, other_file, tmp_path):
    _pipeline_ready()
    store = tmp_path / "s.sqlite"
    proc = _run(
        "ingest", bulletin_file, other_file, "--county", "不存在县", "--date", D, "--store", store
    )
    assert proc.returncode == 2
    assert "不存在县" in _err_line(proc)


def test_correct_then_list_corrections(bulletin_file, tmp_path):
    _pipeline_ready()
    from geo.store import Store

    store = tmp_path / "s.sqlite"
    assert _run("ingest", bulletin_file, "--date", D, "--store", store).returncode == 0
    with Store(store) as s:
        first = s.frames()[0]["item_id"].iloc[0]
    proc = _run(
        "correct", first, "--township", "小茴店镇", "--note", "实为小茴店镇", "--store", store
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert "小茴店镇" in proc.stdout.decode("utf-8")
    proc = _run("correct", first, "--township", "火星乡", "--store", store)
    assert proc.returncode == 2
    assert "火星乡" in _err_line(proc)
    proc = _run("correct", "000000000000-001", "--township", "小茴店镇", "--store", store)
    assert proc.returncode == 2
    _err_line(proc)

    proc = _run("corrections", "--format", "json", "--store", store)
    (row,) = json.loads(proc.stdout)
    assert (row["item_id"], row["value"], row["name"], row["note"]) == (
        first,
        "411528105",
        "小茴店镇",
        "实为小茴店镇",
    )
    with Store(store) as s:
        items = s.frames()[0].set_index("item_id")
    assert items.loc[first, "township"] == "小茴店镇" and bool(items.loc[first, "corrected"])

    # a village by name is looked up in the item's (corrected) township
    proc = _run("correct", first, "--village", "孙棚村", "--store", store)
    assert proc.returncode == 0, proc.stderr.decode()
    with Store(store) as s:
        items = s.frames()[0].set_index("item_id")
    assert (items.loc[first, "village"], items.loc[first, "scope"]) == ("孙棚村", "village")


# --------------------------------------------------------------------------- export


def test_export_given_bulletins_writes_html_and_no_store(bulletin_file, tmp_path):
    _pipeline_ready()
    pytest.importorskip("geo.export")
    store = tmp_path / "never.sqlite"
    out = tmp_path / "map.html"
    proc = _run("export", bulletin_file, "--format", "html", "--out", out, env_store=store)
    assert proc.returncode == 0, proc.stderr.decode()
    html = out.read_text(encoding="utf-8")
    assert "孙庙乡" in html and "leaflet" in html.lower()
    assert not store.exists()


def test_export_csv_from_store_filters_by_township(bulletin_file, other_file, tmp_path):
    _pipeline_ready()
    pytest.importorskip("geo.export")
    store = tmp_path / "s.sqlite"
    assert _run("ingest", bulletin_file, other_file, "--date", D, "--store", store).returncode == 0
    out = tmp_path / "items.csv"
    proc = _run("export", "--township", "路口乡", "--out", out, "--store", store)
    assert proc.returncode == 0, proc.stderr.decode()
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows and {r["乡镇（街道）"] for r in rows} == {"路口乡"}  # the 报表版 by default
    proc = _run("export", "--sector", "space_travel", "--out", out, "--store", store)
    assert proc.returncode == 2
    _err_line(proc)


def test_export_csv_report_and_keys_columns(tmp_path):
    _pipeline_ready()
    out = tmp_path / "report.csv"
    sample = Path(__file__).resolve().parents[1] / "data" / "xixian-bulletin-sample.txt"
    never = tmp_path / "never.sqlite"
    proc = _run(
        "export", sample, "--county", "息县", "--format", "csv", "--out", out, env_store=never
    )
    assert proc.returncode == 0, proc.stderr.decode()
    items = pd.read_csv(out, encoding="utf-8-sig")  # pandas' own dtype inference
    assert {"标题", "领域", "乡镇（街道）", "村代码", "乡镇代码", "指标（原文）"} <= set(
        items.columns
    )
    assert not any(c.isascii() for c in items.columns)  # every header is Chinese
    villages = items["村代码"].dropna()
    assert len(villages) and villages.map(lambda v: isinstance(v, str)).all()
    assert strip_text_codes(villages).str.fullmatch(r"\d{12}").all()
    assert set(items["领域"]) <= set(sector_names().values())
    towns = pd.read_csv(tmp_path / "report_townships.csv", encoding="utf-8-sig")
    assert towns["乡镇代码"].map(lambda v: isinstance(v, str)).all()

    keys = tmp_path / "keys.csv"
    args = ("export", sample, "--county", "息县", "--out", keys, "--columns", "keys")
    proc = _run(*args, env_store=never)
    assert proc.returncode == 0, proc.stderr.decode()
    machine = pd.read_csv(keys, encoding="utf-8-sig", dtype={"village_code": str})
    assert {"item_id", "headline", "sector", "township_code", "village_code"} <= set(machine)
    assert set(machine["sector"]) <= set(sector_names())
    assert set(machine["village_code"].dropna()) == set(strip_text_codes(villages))


def test_export_uses_uploaded_boundaries(tmp_path):
    _pipeline_ready()
    pytest.importorskip("geo.export")
    squares = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": name},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[x, 32.3], [x + 0.1, 32.3], [x + 0.1, 32.4], [x, 32.4], [x, 32.3]]
                    ],
                },
            }
            for name, x in (("孙庙乡", 114.6), ("路口乡", 114.7))
        ],
    }
    bounds = tmp_path / "乡镇.geojson"
    bounds.write_text(json.dumps(squares, ensure_ascii=False), encoding="utf-8")
    bulletin = tmp_path / "one.txt"
    bulletin.write_text(
        BULLETIN.split("（孙庙乡 李明）")[0] + "（孙庙乡 李明）\n", encoding="utf-8"
    )
    out = tmp_path / "out.geojson"
    proc = _run("export", bulletin, "--boundaries", bounds, "--out", out)
    assert proc.returncode == 0, proc.stderr.decode()
    feats = json.loads(out.read_text(encoding="utf-8"))["features"]
    polys = {
        f["properties"]["township"]: f["properties"]
        for f in feats
        if f["geometry"]["type"] == "Polygon"
    }
    assert set(polys) == {"孙庙乡", "路口乡"}
    assert polys["孙庙乡"]["n_items"] == 1 and polys["路口乡"]["n_items"] == 0

    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json", encoding="utf-8")
    proc = _run("export", bulletin, "--boundaries", broken, "--out", out)
    assert proc.returncode == 2
    _err_line(proc)


# --------------------------------------------------------------------------- stdin size cap


def test_oversized_stdin_is_refused_without_reading_it_all():
    """25 MB on stdin: one error line, exit 2, and the CLI stops reading near the 20 MB cap."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "geo", "parse", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    chunk = ("息县孙庙乡推进冬季农田水利建设。" * 4000).encode("utf-8")  # ~180 kB
    total, accepted = 40 * 1024 * 1024, 0
    try:
        while accepted < total:
            proc.stdin.write(chunk)
            accepted += len(chunk)
        proc.stdin.close()
    except BrokenPipeError:
        pass  # the CLI stopped reading: what we want
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 2
    line = _err_line(subprocess.CompletedProcess([], 2, out, err))
    assert _err_code(subprocess.CompletedProcess([], 2, out, err)) == "bulletin.too_large"
    assert "<stdin>" in line
    assert accepted < 30 * 1024 * 1024  # it never swallowed the whole 40 MB


# --------------------------------------------------------------------------- boundaries


def _square_features(names_x, y0=32.3):
    return [
        {
            "type": "Feature",
            "properties": {"name": name},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[x, y0], [x + 0.1, y0], [x + 0.1, y0 + 0.1], [x, y0 + 0.1], [x, y0]]
                ],
            },
        }
        for name, x in names_x
    ]


def _polygons(path) -> dict[str, dict]:
    feats = json.loads(path.read_text(encoding="utf-8"))["features"]
    return {
        f["properties"]["township"]: f
        for f in feats
        if f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    }


def test_boundaries_import_list_export_delete(bulletin_file, tmp_path):
    _pipeline_ready()
    pytest.importorskip("geo.export")
    store = tmp_path / "s.sqlite"
    squares = {
        "type": "FeatureCollection",
        "features": _square_features((("孙庙乡", 114.6), ("路口乡", 114.7))),
    }
    bounds = tmp_path / "自然资源局乡镇.geojson"
    bounds.write_text(json.dumps(squares, ensure_ascii=False), encoding="utf-8")

    proc = _run("boundaries", "list", "--store", store)
    assert proc.returncode == 0 and "还没有导入的乡镇边界" in proc.stdout.decode()
    proc = _run("boundaries", "import", bounds, "--county", "息县", "--store", store)
    assert proc.returncode == 0, proc.stderr.decode()
    text = proc.stdout.decode()
    assert "匹配到 2 个乡镇" in text and "没有面的乡镇" in text and "已保存乡镇边界集 1" in text
    proc = _run("boundaries", "list", "--store", store)
    listing = proc.stdout.decode()
    assert "自然资源局乡镇.geojson" in listing and "411528" in listing and "*" in listing

    assert _run("ingest", bulletin_file, "--date", D, "--store", store).returncode == 0
    out = tmp_path / "map.geojson"
    proc = _run("export", "--out", out, "--store", store)
    assert proc.returncode == 0, proc.stderr.decode()
    polys = _polygons(out)
    assert set(polys) == {"孙庙乡", "路口乡"}  # the stored layer, not the 23 default areas
    assert polys["孙庙乡"]["properties"]["n_items"] == 1

    proc = _run("boundaries", "delete", "--county", "411528", "--store", store)
    assert proc.returncode == 0 and "重新使用默认图层" in proc.stdout.decode()
    proc = _run("export", "--out", out, "--store", store)
    assert proc.returncode == 0, proc.stderr.decode()
    assert len(_polygons(out)) > 2  # back to the county's default layer
    proc = _run("boundaries", "delete", "--county", "411528", "--store", store)
    assert proc.returncode == 2 and _err_code(proc) == "store.no_boundaries"


def test_boundaries_import_assigns_crs_and_converts_gcj02(tmp_path):
    import zipfile

    import geopandas as gpd

    from geo.boundaries import wgs84_to_gcj02

    wgs = gpd.GeoDataFrame.from_features(
        _square_features((("孙庙乡", 114.6), ("路口乡", 114.7))), crs="EPSG:4326"
    )
    folder = tmp_path / "shp"
    folder.mkdir()
    wgs84_to_gcj02(wgs).to_crs("EPSG:3857").to_file(folder / "t.shp", encoding="utf-8")
    (folder / "t.prj").unlink()  # the file no longer says it is Web Mercator
    archive = tmp_path / "高德导出.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in folder.iterdir():
            zf.write(part, part.name)
    store = tmp_path / "s.sqlite"

    proc = _run("boundaries", "import", archive, "--county", "息县", "--store", store)
    assert proc.returncode == 2 and "没有坐标系" in _err_line(proc) and "--crs" in _err_line(proc)
    proc = _run(
        "boundaries", "import", archive, "--county", "息县", "--crs", "EPSG:3857",
        "--datum", "gcj02", "--store", store,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    assert "坐标系 EPSG:3857，用户指定；基准 gcj02" in proc.stdout.decode()
    from geo.store import Store

    with Store(store) as s:
        got = s.boundaries("411528").set_index("township").geometry
    for name, geom in zip(wgs["name"], wgs.geometry, strict=True):
        assert got[name].bounds == pytest.approx(geom.bounds, abs=2e-5)  # about 2 m


def test_boundaries_import_names_the_datum_and_refuses_an_offset_layer(tmp_path):
    from geo.boundaries import county_layers, wgs84_to_gcj02

    towns = county_layers("411528").townships[["township_code", "township", "geometry"]]
    gcj = tmp_path / "高德乡镇.geojson"
    wgs84_to_gcj02(towns).to_file(gcj, driver="GeoJSON", engine="pyogrio")
    store = tmp_path / "s.sqlite"
    proc = _run("boundaries", "import", gcj, "--county", "息县", "--store", store)
    assert proc.returncode == 2 and "boundary" not in _err_line(proc)
    assert "未保存乡镇边界" in _err_line(proc)
    out = proc.stdout.decode()
    assert "这看起来是 GCJ-02（高德/腾讯） 坐标——请使用 --datum gcj02" in out
    assert not store.exists()  # nothing saved, not even an empty store
    proc = _run(
        "boundaries", "import", gcj, "--county", "息县", "--datum", "gcj02", "--store", store,
        "--uploader", "王工", "--table",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    assert "已保存乡镇边界集 1" in out and "匹配方式" in out and "代码与名称一致" in out
    listing = _run("boundaries", "list", "--store", store).stdout.decode()
    assert "王工" in listing and "gcj02" in listing


def test_boundaries_import_check_and_override(tmp_path):
    feats = _square_features((("孙庙乡", 114.6), ("不存在乡", 114.7)))
    path = tmp_path / "乡镇.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), "utf-8")
    store = tmp_path / "s.sqlite"
    proc = _run("boundaries", "import", path, "--county", "息县", "--check", "--store", store)
    assert proc.returncode == 0 and "仅检查" in proc.stdout.decode() and not store.exists()
    assert "不在名录（未匹配）（1）：不存在乡" in proc.stdout.decode()
    proc = _run(
        "boundaries", "import", path, "--county", "息县", "--override", "2=411528202",
        "--store", store,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    from geo.store import Store

    with Store(store) as s:
        assert sorted(s.boundaries("411528")["township"]) == ["孙庙乡", "路口乡"]
    proc = _run("boundaries", "import", path, "--county", "息县", "--override", "x")
    assert proc.returncode == 2 and "行号=乡镇代码" in _err_line(proc)


def test_boundaries_errors_are_one_line(tmp_path):
    store = tmp_path / "s.sqlite"
    proc = _run("boundaries")
    assert proc.returncode == 2 and "import|list|delete" in _err_line(proc)
    missing = tmp_path / "无.geojson"
    proc = _run("boundaries", "import", missing, "--county", "息县", "--store", store)
    assert proc.returncode == 2
    _err_line(proc)
    elsewhere = tmp_path / "别县.geojson"
    elsewhere.write_text(
        json.dumps(
            {"type": "FeatureCollection", "features": _square_features((("某某镇", 100.0),))},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    proc = _run("boundaries", "import", elsewhere, "--county", "息县", "--store", store)
    assert proc.returncode == 2
    _err_line(proc)
    proc = _run("boundaries", "import", elsewhere, "--county", "不存在县", "--store", store)
    assert proc.returncode == 2 and "不存在县" in _err_line(proc)


# --------------------------------------------------------------------------- counties without
# township polygons (any county but 息县 until boundaries are imported)

# Written for this test: one item of 光山县 in the bulletin style.
GUANGSHAN = (
    "光山县槐店乡发展茶叶种植 新建高标准茶园200亩，带动周边群众就业60人。（槐店乡人民政府 陈晓）\n"
)


def test_export_without_township_polygons(tmp_path):
    _pipeline_ready()
    pytest.importorskip("geo.export")
    item = tmp_path / "光山.txt"
    item.write_text(GUANGSHAN, encoding="utf-8")
    args = ("export", item, "--county", "光山县", "--single-item")
    store = tmp_path / "never.sqlite"

    proc = _run(*args, "--out", tmp_path / "out.csv", env_store=store)
    assert proc.returncode == 0, proc.stderr.decode()
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text("utf-8-sig"))))
    assert len(rows) == 1 and rows[0]["乡镇（街道）"] == "槐店乡"
    assert rows[0]["县代码"] == '="411522"'  # a code kept as text in Excel/WPS
    towns = list(
        csv.DictReader(io.StringIO((tmp_path / "out_townships.csv").read_text("utf-8-sig")))
    )
    assert len(towns) > 10  # every township of the gazetteer, not only the one mentioned
    hit = next(t for t in towns if t["乡镇（街道）"] == "槐店乡")
    assert hit["事项数（条）"] == "1" and {t["边界来源"] for t in towns} == {"无乡镇边界"}

    proc = _run(*args, "--out", tmp_path / "out.geojson", env_store=store)
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads((tmp_path / "out.geojson").read_text(encoding="utf-8"))
    assert "无乡镇边界" in doc["note"]
    assert all(f["geometry"] is None for f in doc["features"])  # nothing has a position

    proc = _run(*args, "--out", tmp_path / "out.gpkg", env_store=store)
    assert proc.returncode == 0, proc.stderr.decode()

    for fmt in ("png", "html", "pdf"):  # no polygons and no outline: nothing to draw
        proc = _run(*args, "--out", tmp_path / f"map.{fmt}", env_store=store)
        assert proc.returncode == 2
        assert "请先上传乡镇边界" in _err_line(proc)
        assert not (tmp_path / f"map.{fmt}").exists()
    assert not store.exists()


def test_map_exports_carry_the_attribution(bulletin_file, tmp_path):
    _pipeline_ready()
    pytest.importorskip("geo.export")
    out = tmp_path / "map.html"
    proc = _run("export", bulletin_file, "--out", out, env_store=tmp_path / "s.sqlite")
    assert proc.returncode == 0, proc.stderr.decode()
    html = out.read_text(encoding="utf-8")
    assert "数据来源：中国行政区划数据集（活更新版）nbsetsail/real-china-division" in html
    assert "仅作示意" in html and "乡镇范围：本项目估算的示意范围" in html


def test_parse_csv_quotes_formula_cells(tmp_path):
    _pipeline_ready()
    path = tmp_path / "公式.txt"
    path.write_text(
        ' =HYPERLINK("http://evil.example","点击") 路口乡组织群众疏浚沟渠 12 公里。\n',
        encoding="utf-8",
    )
    for columns in ("keys", "report"):
        proc = _run("parse", path, "--single-item", "--format", "csv", "--columns", columns)
        assert proc.returncode == 0, proc.stderr.decode()
        rows = list(csv.DictReader(io.StringIO(proc.stdout.decode("utf-8-sig"))))
        cells = [v for r in rows for v in r.values() if v]
        assert any("HYPERLINK" in v for v in cells)
        # the 报表版 writes codes as ="411528" on purpose (text in Excel); nothing else
        formulas = [v for v in cells if v.startswith(("=", "+", "-", "@"))]
        assert all(re.fullmatch(r'="\d+"', v) for v in formulas), formulas


def test_parse_table_calls_the_sector_column_hangye(bulletin_file):
    _pipeline_ready()
    proc = _run("parse", bulletin_file, "--format", "table")
    header = proc.stdout.decode("utf-8").splitlines()[1]
    assert "行业" in header and "领域" not in header


def test_parse_table_shows_other_units_as_written(tmp_path):
    _pipeline_ready()
    path = tmp_path / "桥.txt"
    path.write_text(" 息县孙庙乡新建便民桥梁 全乡新建桥梁 45 座。\n", encoding="utf-8")
    proc = _run("parse", path, "--single-item", "--format", "table")
    out = proc.stdout.decode("utf-8")
    assert proc.returncode == 0 and "45座" in out and "45个" not in out


# --------------------------------------------------------------------------- issue 11: time


def _march_copy(tmp_path, sample_path) -> object:
    """The sample again under another masthead dated 2024-03-01, one figure brought up to date."""
    text = sample_path.read_text(encoding="utf-8").replace("2600", "2800")
    path = tmp_path / "2024年第3期.txt"
    path.write_text("息县工作简报\n2024年第3期\n息县人民政府办公室 2024年3月1日\n" + text, "utf-8")
    return path


@pytest.fixture(scope="module")
def two_months_store(tmp_path_factory, sample_path):
    tmp_path = tmp_path_factory.mktemp("two_months")
    store = tmp_path / "time.sqlite"
    proc = _run("ingest", sample_path, "--county", "息县", "--date", "2024-02-01", "--store", store)
    assert proc.returncode == 0, proc.stderr.decode()
    proc = _run("ingest", _march_copy(tmp_path, sample_path), "--county", "息县", "--store", store)
    assert proc.returncode == 0, proc.stderr.decode()
    assert "6 条重复" in proc.stdout.decode() and "2024-03-01" in proc.stdout.decode()
    return store


@pytest.fixture
def two_months(two_months_store, tmp_path):
    """A copy of the two-month store for one test (tests that correct must not leak)."""
    import shutil

    copy = tmp_path / "time.sqlite"
    shutil.copyfile(two_months_store, copy)
    return copy


def test_trend_counts_a_repeated_bulletin_once(two_months, tmp_path):
    proc = _run(
        "trend", "--metric", "items", "--by", "month", "--format", "json", "--store", two_months
    )
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    assert doc["metric"] == "items" and doc["by"] == "month"
    assert doc["series"] == [
        {"period": "2024-02", "township": None, "value": 6, "new_items": 6, "repeated_items": 0},
        {"period": "2024-03", "township": None, "value": 0, "new_items": 0, "repeated_items": 6},
    ]
    assert len(doc["repeats"]) == 6 and {r["first_date"] for r in doc["repeats"]} == {"2024-02-01"}
    table = _run("trend", "--store", two_months).stdout.decode()
    assert table.count("重复  2024-03-01") == 6 and "→ 首次报道 2024-02-01" in table
    # the updated figure shows as the new value (2600 → 2800: +200), never added (5400)
    out = tmp_path / "jobs.csv"
    proc = _run(
        "trend",
        "--metric",
        "employment_person",
        "--format",
        "csv",
        "--out",
        out,
        "--store",
        two_months,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert list(rows[0]) == ["period", "township", "value", "new_items", "repeated_items"]
    feb, mar = (float(r["value"]) for r in rows)
    assert feb == 2600 + 123 + 100 and mar == 200 + 123  # 123: a running total, at its latest
    town = _run("trend", "--township", "白土店乡", "--format", "json", "--store", two_months)
    series = json.loads(town.stdout)["series"]
    assert [s["township"] for s in series] == ["白土店乡", "白土店乡"]
    assert [s["value"] for s in series] == [1, 0]


def test_ingest_refuses_a_bulletin_without_any_date(bulletin_file, tmp_path):
    store = tmp_path / "nodate.sqlite"
    proc = _run("ingest", bulletin_file, "--store", store)
    assert proc.returncode == 2 and "--date" in proc.stderr.decode()
    assert not store.exists()
    proc = _run("ingest", bulletin_file, "--date", "2024-02-30", "--store", store)
    assert proc.returncode == 2 and "2024-02-30" in _err_line(proc)


def test_correct_overrides_the_counting(two_months):
    from geo.store import Store

    with Store(two_months) as s:
        items = s.frames()[0]
    repeat = items.loc[items["repeat_of"].notna(), "item_id"].iloc[0]
    proc = _run("correct", repeat, "--repeat-of", "-", "--store", two_months)
    assert proc.returncode == 0 and "新事项" in proc.stdout.decode()
    doc = json.loads(_run("trend", "--format", "json", "--store", two_months).stdout)
    assert [s["new_items"] for s in doc["series"]] == [6, 1]
    proc = _run("correct", repeat, "--cumulative", "maybe", "--store", two_months)
    assert proc.returncode == 2 and "yes 或 no" in _err_line(proc)


def test_a_negative_count_is_a_usage_error(tmp_path):
    for command in (("review", "--limit", "-1"), ("ingest", tmp_path, "--jobs", "-2")):
        proc = _run(*command, "--store", tmp_path / "s.sqlite")
        err = proc.stderr.decode("utf-8")
        assert proc.returncode == 2 and "Traceback" not in err
        assert err.splitlines()[-1].startswith("错误（usage）") and "0 或正整数" in err
    assert not (tmp_path / "s.sqlite").exists()


def test_trend_and_report_of_a_prefecture_say_to_choose_a_county(two_months, tmp_path):
    """Trends and the monthly report are a county's: a prefecture gets one clear line."""
    for command in (
        ("trend", "--county", "信阳市"),
        ("report", "--county", "4115", "--period", "2024-03", "--out", tmp_path / "r.docx"),
    ):
        proc = _run(*command, "--store", two_months)
        assert proc.returncode == 2
        assert _err_code(proc) == "usage.prefecture"
        assert "信阳市" in _err_line(proc) and "--county" in _err_line(proc)
    assert not (tmp_path / "r.docx").exists()


def test_monthly_report_docx_and_pdf(two_months, tmp_path):
    import docx
    import pypdf

    out = tmp_path / "息县-2024-03.docx"
    proc = _run(
        "report",
        "--county",
        "息县",
        "--period",
        "2024-03",
        "--format",
        "docx",
        "--out",
        out,
        "--store",
        two_months,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    document = docx.Document(str(out))
    assert len(document.inline_shapes) == 3  # the map, the change map, the trend chart
    text = "\n".join(p.text for p in document.paragraphs)
    assert "息县乡镇工作动态月报 · 2024年3月" in text and "示意范围，非官方边界" in text
    assert "重复报道 6 条" in text
    ranking, items = document.tables
    assert ranking.rows[0].cells[1].text == "乡镇"
    cells = {c.text for row in items.rows for c in row.cells}
    assert {"白土店乡", "澺河街道", "2024-03-01"} <= cells and "重复、累计" in cells

    pdf = tmp_path / "report.pdf"
    proc = _run(
        "report",
        "--county",
        "息县",
        "--period",
        "2024-02",
        "--out",
        pdf,
        "--metric",
        "employment_person",
        "--store",
        two_months,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    reader = pypdf.PdfReader(pdf)
    text = "\n".join(page.extract_text() for page in reader.pages)
    for s in (
        "息县乡镇工作动态月报",
        "就业人数（人）",
        "乡镇排名",
        "白土店乡",
        "澺河街道",
        "示意范围，非官方边界",
        "制图日期",
        "息县白土店乡发展鲜食玉米种植产业",
    ):
        assert s in text, s
    assert "数据来源：中国行政区划数据集（活更新版）nbsetsail/real-china-division" in text
    bad = _run("report", "--period", "二月", "--out", pdf, "--store", two_months)
    assert bad.returncode == 2 and "2024-02" in _err_line(bad)


def _store_with_a_review_item(tmp_path):
    """February: one sure item in 项店镇; March: one in 项店镇 whose place needs review and a
    sure one in 白土店乡."""
    head = "息县工作简报\n2024年第{m}期\n息县人民政府办公室 2024年{m}月1日\n"
    feb = tmp_path / "2.txt"
    feb.write_text(head.format(m=2) + "一、项店镇硬化村道\n项店镇完成李楼村道路硬化5公里。\n")
    mar = tmp_path / "3.txt"
    mar.write_text(
        head.format(m=3) + "一、春节期间文旅活动丰富\n春节期间，在白土店乡的花海，游客纷至沓来；"
        "在项店镇李楼村，群众欢聚看大戏。\n（花海景区管委会 王五）\n"
        "二、白土店乡发展鲜食玉米\n在白土店乡新庄村建设示范基地，种植鲜食玉米300亩。\n"
    )
    store = tmp_path / "review.sqlite"
    proc = _run("ingest", feb, mar, "--county", "息县", "--store", store)
    assert proc.returncode == 0, proc.stderr.decode()
    assert "待核 1 条（共 3 条）" in _run("review", "--store", store).stdout.decode()
    return store


def test_trend_and_report_count_items_needing_review_as_the_app_does_by_default(tmp_path):
    store = _store_with_a_review_item(tmp_path)
    assert "--without-review" in _run("trend", "--help").stdout.decode()
    doc = json.loads(_run("trend", "--format", "json", "--store", store).stdout)
    assert [s["value"] for s in doc["series"]] == [1, 2]  # the app's default: counted
    assert doc["needs_review_left_out"] == 0
    proc = _run("trend", "--format", "json", "--without-review", "--store", store)
    doc = json.loads(proc.stdout)
    assert [s["value"] for s in doc["series"]] == [1, 1]  # the toggle switched off
    assert doc["needs_review_left_out"] == 1
    table = _run("trend", "--without-review", "--store", store).stdout.decode()
    assert "未计入 1 条定位待核对的事项" in table

    import docx

    texts = {}
    for flag in ((), ("--without-review",)):
        out = tmp_path / f"report{len(flag)}.docx"
        proc = _run("report", "--period", "2024-03", "--out", out, *flag, "--store", store)
        assert proc.returncode == 0, proc.stderr.decode()
        document = docx.Document(str(out))
        ranking = [[c.text for c in row.cells] for row in document.tables[0].rows]
        cells = " ".join(c.text for t in document.tables for row in t.rows for c in row.cells)
        texts[flag] = ("\n".join(p.text for p in document.paragraphs), ranking, cells)
    text, ranking, cells = texts[()]
    assert "春节期间文旅活动丰富" in cells
    assert "事项数（条）：2条，较2024年2月+1条" in text
    assert ["1", "项店镇", "1条", "1", "0", "0条"] in ranking
    text, ranking, cells = texts[("--without-review",)]
    assert "春节期间文旅活动丰富" not in cells  # the items listed are those counted
    # the change and the trend leave it out like the ranking and the map
    assert "事项数（条）：1条，较2024年2月0条" in text and "未计入 1 条定位待核对" in text
    assert [r[1] for r in ranking[1:]] == ["白土店乡"]


# --------------------------------------------------------------------------- review and rules

NICKNAME = "老城区开展夜市整治\n老城区组织商户80家签订诚信经营承诺书，夜市秩序明显好转。\n"
NICKNAME_2 = "老城区启动背街小巷改造\n老城区计划改造背街小巷12条，年内完工。\n"


def test_review_correct_with_rule_export_import_and_apply(tmp_path):
    _pipeline_ready()
    from geo.store import Store

    first, second = tmp_path / "一.txt", tmp_path / "二.txt"
    first.write_text(NICKNAME, "utf-8")
    second.write_text(NICKNAME_2, "utf-8")
    store, other = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    assert (
        _run(
            "ingest", first, "--county", "息县", "--single-item", "--date", D, "--store", store
        ).returncode
        == 0
    )
    with Store(store) as s:
        iid = s.frames()[0]["item_id"].iloc[0]
    proc = _run("review", "--all", "--store", store)
    assert proc.returncode == 0 and iid in proc.stdout.decode() and "置信度" in proc.stdout.decode()
    proc = _run(
        "correct",
        iid,
        "--township",
        "谯楼街道",
        "--rule",
        "alias",
        "--rule-text",
        "老城区",
        "--author",
        "张三",
        "--store",
        store,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert "已保存规则#1（简称/别名「老城区」→谯楼街道，张三" in proc.stdout.decode()
    proc = _run("rules", "list", "--store", store)
    assert "老城区" in proc.stdout.decode() and "张三" in proc.stdout.decode()
    out = tmp_path / "规则.json"
    proc = _run("rules", "export", out, "--store", store)
    assert proc.returncode == 0 and "已导出 1 条规则" in proc.stdout.decode()
    assert json.loads(out.read_text("utf-8"))["rules"][0]["author"] == "张三"
    proc = _run("rules", "import", out, "--store", other)
    assert proc.returncode == 0 and "已导入 1 条规则" in proc.stdout.decode()
    proc = _run("rules", "list", "--format", "csv", "--columns", "keys", "--store", other)
    assert "老城区,411528001,谯楼街道" in proc.stdout.decode()
    # the planners' CSV (Chinese headers, codes as text) goes back in as the same rule
    sheet = tmp_path / "规则.csv"
    assert _run("rules", "export", sheet, "--store", other).returncode == 0
    assert sheet.read_text("utf-8-sig").startswith("县代码,类型,文中写法,乡镇代码")
    proc = _run("rules", "import", sheet, "--store", other)
    assert proc.returncode == 0 and "替换 0 条，保留原有 1 条" in proc.stdout.decode()
    # a new bulletin ingested into the other installation is placed by the imported rule
    assert (
        _run(
            "ingest", second, "--county", "息县", "--single-item", "--date", D, "--store", other
        ).returncode
        == 0
    )
    with Store(other) as s:
        assert s.frames()[0]["township"].tolist() == ["谯楼街道"]
    # and `parse --rules` applies a rule file without any store
    proc = _run("parse", second, "--county", "息县", "--single-item", "--rules", out)
    item = json.loads(proc.stdout)["items"][0]
    assert item["township"] == "谯楼街道"
    assert any("规则" in e["reason"] for e in item["evidence"] if e["deciding"])
    assert _run("rules", "delete", "1", "--store", other).returncode == 0
    proc = _run("rules", "delete", "1", "--store", other)
    assert proc.returncode == 2 and "没有编号为 1 的规则" in _err_line(proc)


def test_bad_rule_file_is_one_line_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("county_code,kind,text,township_code,created_at\n411528,x,老城区,1,2026\n")
    proc = _run("rules", "import", bad, "--store", tmp_path / "s.sqlite")
    assert proc.returncode == 2
    assert "bad.csv 第 2 条：未知的规则类型" in _err_line(proc)


def test_export_png_presets_write_the_size_and_the_sources_beside(tmp_path, sample_path):
    from PIL import Image

    out = tmp_path / "微信.png"
    proc = _run(
        "export", sample_path, "--county", "息县", "--format", "png", "--preset", "wechat",
        "--out", out, env_store=tmp_path / "s.sqlite",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    beside = tmp_path / "微信_数据来源.txt"
    assert proc.stdout.decode().split() == [str(out), str(beside)]
    assert Image.open(out).size == (1080, 1440)
    assert "CC BY 4.0" in beside.read_text(encoding="utf-8")
    proc = _run(
        "export", sample_path, "--county", "息县", "--format", "png", "--preset", "a4",
        "--size", "800x600", "--out", out, env_store=tmp_path / "s.sqlite",
    )  # fmt: skip
    assert proc.returncode == 2 and "预设" in proc.stderr.decode()
    proc = _run("export", "--format", "png", "--preset", "poster", "--out", out)
    assert proc.returncode == 2 and b"a4-landscape" in proc.stderr
