"""Many users at once on one PostGIS store (issue 12): several app processes, each a planner
uploading a bulletin through the app, while two command-line ingests with overlapping archives
run, all at the same time against the session's PostGIS server on localhost. Nothing is lost or
stored twice, and every app shows everyone's bulletins after a rerun. Bounded in time."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

from geo.pipeline import parse_text
from geo.store import Store

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "xixian-bulletin-sample.txt"
N_APPS = 3
TIME_LIMIT_S = 300


def _text(tag: str) -> str:
    head = f"息县工作简报（{tag}）\n息县人民政府办公室 2024年2月1日\n"  # dated: no date to fill
    return head + SAMPLE.read_text(encoding="utf-8")


def _app_session(url: str, tag: str, ready, go, rerun, results) -> None:
    """One planner in an app process: open the app, upload a bulletin when told, rerun."""
    os.environ["GEO_STORE"] = url
    os.environ.pop("TIANDITU_KEY", None)
    try:
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=180)
        at.query_params["panel"] = "items"  # the item table under the map (a shared link)
        at.run()
        assert not at.exception, at.exception
        ready.wait(120)
        go.wait(120)
        at.file_uploader(key="bulletin_files_0").set_value(
            [(f"{tag}.txt", _text(tag).encode("utf-8"), "text/plain")]
        ).run()
        at.button(key="up_read_0").click().run()
        at.button(key="up_go_0").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        rerun.wait(240)
        at.run()  # the planner reruns (any widget change): the page reads the store again
        assert not at.exception, at.exception
        seen = next(s.value for s in at.subheader if s.value.startswith("事项（"))
        results.put((tag, "ok", seen, len(at.dataframe[0].value)))
    except BaseException as err:  # reported to the parent, which asserts
        results.put((tag, f"{type(err).__name__}: {err}", "", 0))


def _lines(out: str, status: str) -> int:
    """Files of an ingest log with this status (新增 / 已存在 / 失败)."""
    return sum(line.startswith(status) for line in out.splitlines())


def _archive(folder: Path, tags: list[str]) -> Path:
    folder.mkdir(parents=True)
    for tag in tags:
        (folder / f"{tag}.txt").write_text(_text(tag), encoding="utf-8")
    return folder


def test_app_processes_and_two_ingests_share_one_postgis_store(pg_url, tmp_path):
    started = time.monotonic()
    n_items = len(parse_text(_text("x"), county="息县").items)
    Store(pg_url).close()  # the schema exists before the crowd arrives
    # two archives that overlap in four bulletins, ingested at the same time
    first = _archive(tmp_path / "a", [f"档案{k:02d}" for k in range(0, 10)])
    second = _archive(tmp_path / "b", [f"档案{k:02d}" for k in range(6, 14)])
    ctx = multiprocessing.get_context("spawn")
    ready, go, rerun, results = ctx.Barrier(N_APPS + 1), ctx.Event(), ctx.Event(), ctx.Queue()
    tags = [f"上传{k}" for k in range(N_APPS)]
    apps = [
        ctx.Process(target=_app_session, args=(pg_url, tag, ready, go, rerun, results))
        for tag in tags
    ]
    for p in apps:
        p.start()
    try:
        ready.wait(150)  # every app has drawn its first page
        env = dict(os.environ, GEO_STORE=pg_url)
        command = [sys.executable, "-m", "geo", "ingest", "--county", "息县", "--jobs", "2",
                   "--date", "2024-02-01"]  # fmt: skip
        ingests = [
            subprocess.Popen(
                [*command, str(folder)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=REPO,
            )
            for folder in (first, second)
        ]
        go.set()  # the planners upload while the archives go in
        outs = [p.communicate(timeout=TIME_LIMIT_S) for p in ingests]
        for proc, (_, err) in zip(ingests, outs, strict=True):
            assert proc.returncode == 0, err
        rerun.set()
        seen = sorted(results.get(timeout=TIME_LIMIT_S) for _ in apps)
    finally:
        go.set()
        rerun.set()
        for p in apps:
            p.join(60)
            if p.is_alive():
                p.kill()
    n_bulletins = 14 + N_APPS
    want = f"事项（{n_bulletins * n_items} / {n_bulletins * n_items}）"
    assert seen == [(tag, "ok", want, n_bulletins * n_items) for tag in tags], seen
    created = sum(_lines(out, "新增") for out, _ in outs)
    assert created == 14  # each overlapping bulletin went in once, whoever came first
    with Store(pg_url) as store:
        bulletins = store.bulletins()
        items_df, _ = store.frames()
    assert len(bulletins) == n_bulletins and bulletins["id"].is_unique
    assert len(items_df) == n_bulletins * n_items and items_df["item_id"].is_unique
    assert set(bulletins["source_name"]) >= {f"{tag}.txt" for tag in tags}
    assert time.monotonic() - started < TIME_LIMIT_S
