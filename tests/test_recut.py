"""Reviewers' cut fixes: merge two items, split one; kept in the store like corrections."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import bulletin_layouts as bl
import pytest
from conftest import stored_clause_keys, texts_clause_keys
from error_codes import raises_code

from geo.aggregate import item_id
from geo.errors import GeoInputError
from geo.items import split_bulletin
from geo.models import Item
from geo.normalise import normalise_text
from geo.pipeline import parse_text
from geo.recut import (
    Cut,
    CutError,
    apply_cut,
    apply_cuts,
    cut_points,
    describe_cut,
    merge_cut,
    split_cut,
    split_offset,
)
from geo.store import SCHEMA_VERSION, Store, StoreError
from geo.store_postgis import migrate as pg_migrate
from geo.store_postgis import to_pg_sql
from geo.store_sqlite import migrate as sqlite_migrate


@pytest.fixture(scope="module")
def sample(sample_text):
    text = normalise_text(sample_text)
    return text, split_bulletin(text).items


def _key(items: list[Item]) -> list[tuple]:
    return [(it.index, it.headline, it.unit, it.start, it.end) for it in items]


# --- pure -----------------------------------------------------------------------------------


def test_merge_then_split_at_the_same_place_gives_the_items_back(sample):
    text, items = sample
    merge = merge_cut(items, 2, 1)
    assert merge == Cut("merge", items[2].start)
    merged, changed = apply_cut(text, items, merge)
    assert changed == [1] and len(merged) == 5
    assert merged[1].headline == "息县招商工作迎来开门红" and merged[1].unit == "县招商服务中心"
    assert (merged[1].start, merged[1].end) == (items[1].start, items[2].end)
    assert "息县提升便民服务质效温暖返乡群众" in merged[1].body
    assert [it.index for it in merged] == list(range(5))
    back, changed = apply_cut(text, merged, split_cut(text, merged[1], items[2].start))
    assert changed == [1, 2] and _key(back) == _key(items)
    assert items[3].index == 3  # the caller's items are not changed


def test_split_inside_a_paragraph_and_at_a_paragraph_start(sample):
    text, items = sample
    at = split_offset(text, items[4], "与企业建立长期")
    first, second = apply_cut(text, items, split_cut(text, items[4], at))[0][4:6]
    assert first.body.endswith("工资福利待遇等问题。") and first.unit is None
    assert second.body.startswith("与企业建立长期有效对接机制") and second.unit == "澺河街道办事处"
    # a split just before a line break starts the new item on the next line
    cut = split_cut(text, items[1], items[1].end - len("（县招商服务中心 罗文众）") - 1)
    assert text[cut.at] == "（"


def test_bad_fixes_are_refused_in_chinese(sample):
    text, items = sample
    # scripts tell a refused fix (family "recut") and its reason from other errors
    for call, code in [
        (lambda: merge_cut(items, 0, 2), "recut.not_adjacent"),
        (lambda: merge_cut(items, 3, 3), "recut.same_item"),
        (lambda: split_cut(text, items[0], items[0].end + 5), "recut.outside"),
        (lambda: split_cut(text, items[0], items[0].start), "recut.outside"),
        (lambda: split_offset(text, items[0], "并不存在的文字"), "recut.not_found"),
        (lambda: apply_cut(text, items, Cut("merge", items[0].start + 3)), "recut.not_boundary"),
        (lambda: apply_cut(text, items, Cut("split", items[1].start)), "recut.not_inside"),
        (lambda: apply_cut(text, items, Cut("join", items[1].start)), "recut.kind"),
    ]:
        with raises_code(CutError, code):
            call()
    assert isinstance(CutError("无法切分", code="cut"), GeoInputError)


def test_fixes_that_no_longer_fit_are_skipped(sample):
    text, items = sample
    fixes = [Cut("merge", items[5].start), Cut("merge", 7), Cut("split", items[0].start + 40)]
    new, changed, skipped = apply_cuts(text, items, fixes)
    assert skipped == [fixes[1]]
    assert len(new) == 6 and changed == {0, 1, 5}
    assert new[5].headline == "息县澺河街道多措并举助企招工"


def test_helpers_for_a_review_screen(sample):
    text, items = sample
    points = cut_points(text, items[1])
    assert [p.preview for p in points] == ["（县招商服务中心 罗文众）"]
    assert text[points[0].at :].startswith("（县招商服务中心")
    assert describe_cut(Cut("merge", items[2].start), text).startswith("合并：「息县提升便民服务")
    assert (
        describe_cut(Cut("split", points[0].at), text)
        == "拆分：在「（县招商服务中心 罗文众）」处另起一条"
    )


def test_fixes_rebuild_items_the_layouts_way():
    fixture = bl.numbered_cn()
    text = normalise_text(fixture.text)
    split = split_bulletin(text)
    items = split.items
    merged, _ = apply_cut(text, items, merge_cut(items, 0, 1), heads=split.layout.heads)
    assert merged[0].headline == "息县孙庙乡稻虾共作促农增收"
    assert "二、项店镇举办春风行动专场招聘会" in merged[0].body
    back, _ = apply_cut(text, merged, Cut("split", items[1].start), heads=split.layout.heads)
    assert _key(back) == _key(items)


# --- store ----------------------------------------------------------------------------------


@pytest.fixture
def stored(store_location, sample_text):
    """The sample in a store, once per backend (SQLite, PostGIS)."""
    bulletin = parse_text(sample_text, county="息县", source_name="样稿.txt")
    with Store(store_location) as store:
        store.ingest(bulletin)
        yield store, bulletin


def _ids(store) -> list[str]:
    return store.frames()[0]["item_id"].tolist()


def test_store_merges_and_splits_and_corrections_follow(stored):
    store, bulletin = stored
    ids = _ids(store)
    store.correct(ids[2], sector="industry", note="第三条")
    store.correct(ids[4], sector="agriculture", note="第五条")
    assert store.merge_items(ids[2], ids[1], note="原文是一条") == ids[1]
    assert stored_clause_keys(store) == texts_clause_keys(store)  # the merged text's, not theirs
    items_df = store.frames()[0]
    assert len(items_df) == 5
    fixes = store.corrections().set_index("note")["item_id"]
    assert fixes["第五条"] == ids[3] and fixes["第三条"] == ids[1]
    assert items_df.set_index("item_id").loc[ids[3], "sector"] == "agriculture"

    _, item = store.item(ids[3])
    text = store.bulletin_text(bulletin.sha256)
    first, second = store.split_item(ids[3], split_offset(text, item, "与企业建立长期"))
    assert (first, second) == (ids[3], ids[4])
    assert len(store.frames()[0]) == 6
    cuts = store.cuts()
    assert cuts["kind"].tolist() == ["merge", "split"] and cuts["note"][0] == "原文是一条"
    assert store.bulletins()["n_cuts"].tolist() == [2]


def test_fixes_survive_delete_and_reingest_and_undo_restores(stored):
    store, bulletin = stored
    ids = _ids(store)
    store.correct(ids[2], sector="industry", note="第三条")
    store.merge_items(ids[1], ids[2])
    before = store.frames()[0][["item_id", "headline", "unit", "sector"]].values.tolist()
    assert store.delete_bulletin(bulletin.sha256)
    result = store.ingest(bulletin)
    assert result.created and result.n_items == 5
    assert store.frames()[0][["item_id", "headline", "unit", "sector"]].values.tolist() == before
    assert len(bulletin.items) == 6  # the caller's bulletin is not changed

    store.undo_cut(int(store.cuts()["id"].iloc[0]))
    assert store.cuts().empty
    items_df = store.frames()[0]
    assert items_df["headline"].tolist() == [it.headline for it in bulletin.items]
    assert store.corrections().set_index("note")["item_id"]["第三条"] == ids[2]


def test_store_refuses_bad_fixes_with_one_chinese_line(stored, tmp_path, sample_text):
    store, _ = stored
    ids = _ids(store)
    for call, code in [
        (lambda: store.merge_items(ids[0], ids[3]), "recut.not_adjacent"),
        (lambda: store.merge_items(ids[0], "nope-000"), "store.unknown_item"),
        (lambda: store.split_item(ids[0], 10**6), "recut.outside"),
        (lambda: store.undo_cut(99), "store.unknown_cut"),
    ]:
        with raises_code(StoreError, code):
            call()
    other = parse_text(bl.numbered_di().text, county="息县", source_name="另一份.txt")
    store.ingest(other)
    with pytest.raises(StoreError, match="不在同一份简报中"):
        store.merge_items(ids[0], item_id(other.sha256, 0))


def test_store_keeps_masthead_layout_warnings_and_furniture(store_location):
    fixture = bl.broken_toc_count()
    bulletin = parse_text(fixture.text, county="息县", source_name="目录.txt")
    with Store(store_location) as store:
        store.ingest(bulletin)
        (back,) = store.load_bulletins()
        row = store.bulletins().iloc[0]
    assert back.header == bulletin.header and back.header.publisher == "中共息县县委办公室"
    assert back.header.issue_total == "总第212期"
    assert back.layout == bulletin.layout and back.warnings == bulletin.warnings
    assert back.furniture == bulletin.furniture and len(back.furniture.toc) == 4
    assert (row["issue_total"], row["n_warnings"]) == ("总第212期", 1)
    assert row["layout"] == "编号标题（一、）；单位：文末（单位 作者）"


def _version_3_store(location: str) -> None:
    """A store of schema version 3 (before masthead fields and cut fixes) with one bulletin."""
    insert = (
        "INSERT INTO bulletins (id, source_name, title, issue, date, county, county_code, text,"
        " ingested_at) VALUES ('abc123abc123', '旧.txt', '息县工作简报', '第1期',"
        " '2026-01-05', '息县', '411528', '正文', '2026-01-06')"
    )
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn, conn.transaction():
            pg_migrate(conn, 0, target=3)
            conn.execute(to_pg_sql(insert))
        return
    conn = sqlite3.connect(location, isolation_level=None)
    sqlite_migrate(conn, 0, target=3)
    conn.execute(insert)
    conn.close()


def test_version_3_store_is_migrated_and_keeps_its_rows(store_location, sample_text):
    _version_3_store(store_location)
    with Store(store_location) as store:
        assert store.schema_version == SCHEMA_VERSION
        row = store.bulletins().iloc[0]
        assert (row["title"], row["issue_total"], row["n_warnings"], row["n_cuts"]) == (
            "息县工作简报",
            None,
            0,
            0,
        )
        (old,) = store.load_bulletins()
        assert old.layout.heads == "lines" and old.warnings == []
        store.ingest(parse_text(sample_text, county="息县"))
        assert len(store.bulletins()) == 2


# --- command line ---------------------------------------------------------------------------


def _run(*args, store):
    env = dict(os.environ, GEO_STORE=str(store))
    return subprocess.run(
        [sys.executable, "-m", "geo", *map(str, args)], capture_output=True, env=env, timeout=300
    )


def test_cli_recut_merge_split_list_undo(tmp_path):
    store = tmp_path / "s.sqlite"
    path = tmp_path / "缺署名.txt"
    path.write_text(bl.broken_paren_missing_inline().text, encoding="utf-8")
    proc = _run("ingest", path, "--county", "息县", "--date", "2024-02-01", store=store)
    out = proc.stdout.decode("utf-8")
    assert proc.returncode == 0 and "提示：" in out and "没有文末（单位 作者）" in out
    sha = parse_text(path.read_text(encoding="utf-8")).sha256
    a, b = item_id(sha, 1), item_id(sha, 2)

    proc = _run("recut", "merge", a, b, "--note", "原文是一条", store=store)
    assert proc.returncode == 0 and proc.stdout.decode("utf-8").startswith(f"已合并 {a} 和 {b}")
    proc = _run("recut", "split", a, "--before", "息县提升便民服务", store=store)
    assert proc.returncode == 0 and "已拆分" in proc.stdout.decode("utf-8")
    proc = _run("recut", "list", store=store)
    table = proc.stdout.decode("utf-8")
    assert proc.returncode == 0 and "合并" in table and "原文是一条" in table


def test_cli_recut_list_undo_and_errors(tmp_path, capsys):
    from geo.cli import main

    store = tmp_path / "s.sqlite"
    bulletin = parse_text(bl.numbered_di().text, county="息县", source_name="b.txt")
    with Store(store) as s:
        s.ingest(bulletin)
        s.merge_items(item_id(bulletin.sha256, 0), item_id(bulletin.sha256, 1))
    capsys.readouterr()
    assert main(["recut", "list", "--format", "json", "--store", str(store)]) == 0
    (listing,) = json.loads(capsys.readouterr().out)
    assert listing["kind"] == "merge" and listing["description"].startswith("合并：「第二、")
    assert main(["recut", "undo", str(listing["id"]), "--store", str(store)]) == 0
    assert capsys.readouterr().out.strip() == f"已撤销切分更正 {listing['id']}"
    first, third = item_id(bulletin.sha256, 0), item_id(bulletin.sha256, 2)
    for args, message in [
        (("merge", first, third), "只能合并相邻的两条"),
        (("split", first), "--at 偏移量 或 --before 文字"),
        (("split", first, "--before", "没有这句话"), "找不到"),
        (("undo", "42"), "没有编号为 42 的切分更正"),
        ((), "recut merge|split|list|undo"),
    ]:
        assert main(["recut", *args, "--store", str(store)] if args else ["recut"]) == 2
        err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
        assert len(err) == 1 and err[0].startswith("错误（") and message in err[0], err


def test_cli_parse_table_shows_layout_and_warnings(tmp_path):
    path = tmp_path / "缺编号.txt"
    path.write_text(bl.broken_number_skipped().text, encoding="utf-8")
    proc = _run("parse", path, "--format", "table", store=tmp_path / "unused.sqlite")
    lines = proc.stdout.decode("utf-8").splitlines()
    assert proc.returncode == 0
    notes = lines[lines.index("") + 1 :]
    assert notes[0] == "版式：编号标题（一、）；单位：文末（单位供稿）"
    assert notes[1].startswith("提示：编号跳过了 三、")
    assert not (tmp_path / "unused.sqlite").exists()


def test_review_helpers_for_the_app():
    from geo.recut import review_items, review_notes

    bulletin = parse_text(bl.broken_supply_missing().text, county="息县")
    notes = review_notes(bulletin)
    assert notes[0] == "版式：【】标题；单位：供稿/报送/来源行"
    assert notes[1].startswith("提示：第3条「岗李店乡扎实推进人居环境整治」没有供稿")
    rows = review_items(bulletin)
    assert [bool(r["warnings"]) for r in rows] == [False, False, True, False]
    assert rows[0]["text"].startswith("【夏庄镇三个项目集中开工】")
    assert rows[0]["merge_next"] == rows[1]["start"] and rows[-1]["merge_next"] is None
    assert rows[2]["cut_points"][0].preview.startswith("今年以来，岗李店乡")
    merged, _ = apply_cut(bulletin.text, bulletin.items, Cut("merge", rows[0]["merge_next"]))
    assert len(merged) == 3
    full = parse_text(bl.numbered_cn().text, county="息县")
    assert (
        review_notes(full)[1] == "其他部分：报头：总第212期 中共息县县委办公室；目录 5 条；文尾报送"
    )
