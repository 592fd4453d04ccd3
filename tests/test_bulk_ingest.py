"""Archive-scale ingest (``python -m geo ingest DIR… --jobs N``) on both store backends: folders,
a process pool, one transaction per bulletin, a summary, and a killed run resumed by running it
again without duplicates."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_geo

from geo import bulk_ingest
from geo.bulk_ingest import bulletin_files, ingest_files
from geo.errors import GeoInputError
from geo.store import Store

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "xixian-bulletin-sample.txt"


def _geo(*args, store, timeout: float = 300):
    return run_geo(*args, store=store, timeout=timeout)


def _archive(folder: Path, n: int, *, repeat: int = 1) -> list[Path]:
    """``n`` distinct bulletins (the sample under another issue number and date) in nested
    folders."""
    text = SAMPLE.read_text(encoding="utf-8")
    paths = []
    for k in range(n):
        sub = folder / f"{2020 + k % 3}年"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"简报第{k:03d}期.txt"
        head = f"息县工作简报（第{k}期）\n息县人民政府办公室 {2020 + k % 3}年{k % 12 + 1}月1日\n"
        path.write_text(head + text * repeat, encoding="utf-8")
        paths.append(path)
    return paths


def test_folders_are_searched_for_bulletin_files_in_name_order(tmp_path):
    _archive(tmp_path / "a", 3)
    (tmp_path / "a" / "说明.xlsx").write_bytes(b"x")
    hidden = tmp_path / "a" / ".trash"
    hidden.mkdir()
    (hidden / "旧.txt").write_text("x", encoding="utf-8")
    lone = tmp_path / "单份.TXT"
    lone.write_text("x", encoding="utf-8")
    files, missing = bulletin_files([str(tmp_path / "a"), str(lone), str(tmp_path / "无")])
    assert [Path(f).name for f in files] == [
        "简报第000期.txt",
        "简报第001期.txt",
        "简报第002期.txt",
        "单份.TXT",
    ]
    assert [m.code for m in missing] == ["bulletin.missing"]


def _lines(out: str, status: str) -> int:
    """Files of an ingest log with this status (新增 / 已存在 / 失败)."""
    return sum(line.startswith(status) for line in out.splitlines())


def test_jobs_2_stores_every_bulletin_once_with_a_summary(store_location, tmp_path):
    _archive(tmp_path / "archive", 6)
    bad = tmp_path / "archive" / "2020年" / "空白.txt"
    bad.write_bytes(b"")
    proc = _geo("ingest", tmp_path / "archive", "--county", "息县", "--jobs", "2",
                store=store_location)  # fmt: skip
    assert proc.returncode == 2, proc.stderr  # the empty file failed, the others went in
    assert _lines(proc.stdout, "新增") == 6 and "空白.txt" in proc.stderr
    summary = proc.stdout.strip().splitlines()[-1]
    assert summary.startswith("完成：新增 6 份，已存在 0 份，失败 1 份") and "2 个进程" in summary
    with Store(store_location) as store:
        bulletins = store.bulletins()
        items_df, _ = store.frames()
    assert len(bulletins) == 6 and bulletins["n_items"].nunique() == 1
    assert items_df["item_id"].is_unique
    # ingest order is the files' order, whatever order the workers finished in
    files, _ = bulletin_files([str(tmp_path / "archive")])
    order = [Path(f).name for f in files if Path(f).name != "空白.txt"]
    assert bulletins["source_name"].tolist() == order


def test_a_rerun_recognises_stored_files_without_parsing_them(
    store_location, tmp_path, monkeypatch
):
    files = [str(p) for p in _archive(tmp_path, 4)]
    first = ingest_files(files, store_location=store_location, county="息县")
    assert (first.created, first.unchanged, first.failed) == (4, 0, 0) and first.n_items > 0

    def no_parsing(*args, **kwargs):
        raise AssertionError("a stored file was parsed again")

    monkeypatch.setattr(bulk_ingest, "parse_text", no_parsing)
    seen = []
    again = ingest_files(
        files, store_location=store_location, county="411528", on_outcome=seen.append
    )
    assert (again.created, again.unchanged, again.failed) == (0, 4, 0)
    assert [o.path for o in seen] == files and {o.status for o in seen} == {"unchanged"}


def test_a_killed_run_is_resumed_by_running_it_again(store_location, tmp_path):
    _archive(tmp_path / "archive", 24, repeat=4)
    env = dict(os.environ, GEO_STORE=str(store_location))
    cmd = [sys.executable, "-m", "geo", "ingest", str(tmp_path / "archive"), "--county", "息县",
           "--jobs", "2"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=REPO,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    created = 0
    try:
        for line in proc.stdout:
            created += line.startswith("新增")
            if created >= 3 or time.monotonic() > deadline:
                break
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its workers, mid-run
    finally:
        proc.wait(30)
    with Store(store_location) as store:
        kept = len(store.bulletins())
    assert 3 <= kept < 24
    rerun = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert _lines(rerun.stdout, "已存在") == kept and _lines(rerun.stdout, "新增") == 24 - kept
    with Store(store_location) as store:
        assert len(store.bulletins()) == 24 and store.frames()[0]["item_id"].is_unique


def test_bad_jobs_and_an_empty_folder_are_one_line_errors(tmp_path):
    with pytest.raises(GeoInputError) as err:
        ingest_files([], store_location=str(tmp_path / "s.sqlite"), jobs=1000)
    assert err.value.code == "input.jobs"
    (tmp_path / "空").mkdir()
    proc = _geo("ingest", tmp_path / "空", store=tmp_path / "s.sqlite")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "没有简报文件" in proc.stderr
    assert not (tmp_path / "s.sqlite").exists()


def test_sample_ingest_then_csv_export_gives_the_same_rows_on_both_backends(pg_url, tmp_path):
    """The issue's check: the sample into SQLite and into PostGIS, then the CSV export."""
    tables = {}
    for name, store in (("sqlite", tmp_path / "s.sqlite"), ("postgis", pg_url)):
        proc = _geo("ingest", SAMPLE, "--county", "息县", "--date", "2024-02-01", store=store)
        assert proc.returncode == 0, proc.stderr
        out = tmp_path / f"{name}.csv"
        proc = _geo("export", "--format", "csv", "--out", out, store=store)
        assert proc.returncode == 0, proc.stderr
        tables[name] = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert len(tables["sqlite"]) > 1 and tables["sqlite"] == tables["postgis"]
