"""Benchmark of the bulletin pipeline, the map and the app (outside the test suite).

Usage::

    python bench/run.py [--quick] [--out bench/results.json]

Measures, in one process so ratios compare like with like:

* pipeline throughput (items/s) and time per stage (split, metrics, sectors, geocode) on a corpus
  of >= 10,000 items recombined from the sample bulletin and the dev items (sentences shuffled
  and paragraphs swapped between items: no invented text);
* jionlp ``parse_location(text, town_village=True)`` on the same items, ``speedup_vs_jionlp``
  (our geocode stage vs jionlp), and township accuracy of both on the labelled dev items;
* peak memory (tracemalloc over one pipeline pass, and the process's ``ru_maxrss``);
* filter + aggregate time for 10,000 and 100,000 items (``geo.aggregate``);
* the 息县 map's HTML size (``geo.webmap``) and the app's cold start to the first map drawn in
  headless Chromium (streamlit + ``geo.browser``);
* the map at 10,000 items: ``build_map`` + HTML render time and page size, also with every
  headline, unit and metric value made distinct (the corpus repeats them, which flatters the
  map's shared string table);
* archive ingest (``python -m geo ingest DIR --jobs N`` as a planner runs it) of 100,000 items
  (10,000 with ``--quick``) into a SQLite file and into PostGIS (a throwaway cluster on
  localhost with durable settings, ``tools/pg_cluster.py``): items/s for ``--jobs 1`` and
  ``--jobs 2`` and the speedup of 2 over 1;
* many planners on one app server (``bench/planners.py``, issue 14): the server's CPU per map view
  at 10,000 and 100,000 stored items, the time to the map for 1, 4 and 8 planners opening it at
  once (Debian chromium, headless) and the server's RSS after 50 sessions opened and closed, at
  10,000 items (``--planners`` runs this step alone and merges it into ``--out``);
* the prefecture map: 信阳市's 10 counties with every county's ~227 townships (Voronoi cells of
  each open county outline stand in for township polygons, saved in a store as uploads) and
  5,000 items spread over them: view + ``build_map`` + HTML render time and page size.

A part whose modules are missing or fail is recorded under ``"skipped"`` with the reason; the rest
still runs. Results go to ``bench/results.json`` and a table on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import hashlib
import io
import json
import math
import os
import platform
import random
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

import planners  # noqa: E402 - bench/planners.py, beside this file

from geo.view import make_view  # noqa: E402 - the repository is on the path from here on

SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLE = REPO / "data" / "xixian-bulletin-sample.txt"
DEFAULT_OUT = REPO / "bench" / "results.json"
COUNTY_CODE = "411528"
TARGET_ITEMS = 10_000
ITEMS_PER_BULLETIN = 20
SEED = 20261127

_SENTENCE = re.compile(r"[^。！？；]*[。！？；]+|[^。！？；]+$")
_ATTRIBUTION = re.compile(r"[（(][^（）()\n]{2,40}[）)]\s*$")


# --------------------------------------------------------------------------- corpus


@dataclass
class _Source:
    """One real item cut into parts that can be recombined."""

    headline: str
    sentences: list[str]
    attribution: str  # "（县人社局 张某）" or ""


def _sentences(text: str) -> list[str]:
    flat = "".join(text.split())
    return [s for s in _SENTENCE.findall(flat) if s.strip()]


def _sample_sources() -> list[_Source]:
    from geo.items import split_items
    from geo.normalise import normalise_text

    text = normalise_text(SAMPLE.read_text(encoding="utf-8"))
    out = []
    for it in split_items(text):
        segment = text[it.start : it.end] if it.end > it.start else it.body
        m = _ATTRIBUTION.search(segment)
        body = it.body
        attribution = m.group(0).strip() if m else ""
        if attribution and body.rstrip().endswith(attribution):
            body = body.rstrip()[: -len(attribution)]
        out.append(_Source(it.headline, _sentences(body), attribution))
    return out


def _dev_items() -> list[dict]:
    path = SHARED_DATA / "dev_bulletins.jsonl"
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _dev_sources(dev: list[dict]) -> list[_Source]:
    out = []
    for d in dev:
        lines = [x.strip() for x in d["text"].splitlines() if x.strip()]
        if len(lines) > 1 and len(lines[0]) <= 40:
            headline, rest = lines[0], "".join(lines[1:])
        else:
            sents = _sentences(d["text"])
            headline, rest = sents[0].rstrip("。！？；"), "".join(sents[1:])
        sentences = _sentences(rest)
        if sentences:
            out.append(_Source(headline, sentences, ""))
    return out


def build_corpus(target_items: int, seed: int = SEED) -> tuple[list[str], int]:
    """Bulletin texts recombined from real items until the splitter finds ``target_items``.

    Returns
    -------
    (list of str, int)
        Raw bulletin texts and the number of real source items they were built from.
    """
    from geo.items import split_items
    from geo.normalise import normalise_text

    sample = _sample_sources()
    pool = sample + _dev_sources(_dev_items())
    attributions = [s.attribution for s in sample if s.attribution]
    rng = random.Random(seed)
    texts, n_items = [], 0
    while n_items < target_items:
        parts = []
        for _ in range(ITEMS_PER_BULLETIN):
            base = rng.choice(pool)
            sents = list(base.sentences)
            rng.shuffle(sents)
            if rng.random() < 0.5:  # paragraph recombination: swap in sentences of another item
                donor = rng.choice(pool).sentences
                k = min(2, len(donor))
                sents[: min(k, len(sents))] = rng.sample(donor, k)
            attribution = base.attribution or (rng.choice(attributions) if attributions else "")
            parts.append(f" {base.headline} {''.join(sents)}\n{attribution}\n")
        text = "\n".join(parts)
        texts.append(text)
        n_items += len(split_items(normalise_text(text)))
    return texts, len(pool)


# --------------------------------------------------------------------------- pipeline


def run_pipeline(texts: list[str], gazetteer) -> tuple[dict, list]:
    """Run the text stages over ``texts`` stage by stage; return timings and bulletins."""
    from geo.geocode import geocode_item
    from geo.items import split_items
    from geo.masthead import parse_header
    from geo.metrics import extract_metrics
    from geo.models import Bulletin
    from geo.normalise import normalise_text
    from geo.sectors import classify_sector, load_taxonomy

    taxonomy = load_taxonomy()
    stages = dict.fromkeys(("split", "metrics", "sectors", "geocode"), 0.0)
    t = time.perf_counter()
    bulletins = []
    for raw in texts:
        text = normalise_text(raw)
        bulletins.append(
            Bulletin(
                source_name="bench.txt",
                text=text,
                sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                header=parse_header(text),
                county=gazetteer.county_name,
                county_code=gazetteer.county_code,
                items=split_items(text),
            )
        )
    stages["split"] = time.perf_counter() - t
    items = [it for b in bulletins for it in b.items]
    t = time.perf_counter()
    for it in items:
        it.metrics = extract_metrics(it.text)
    stages["metrics"] = time.perf_counter() - t
    t = time.perf_counter()
    for it in items:
        r = classify_sector(it.headline, it.body, it.unit, taxonomy)
        it.sector, it.sectors, it.sector_cues = r.primary, r.sectors, r.cues
    stages["sectors"] = time.perf_counter() - t
    t = time.perf_counter()
    for it in items:
        it.place = geocode_item(it, gazetteer)
    stages["geocode"] = time.perf_counter() - t
    return stages, bulletins


def bench_pipeline(texts: list[str], gazetteer, repeats: int = 1) -> tuple[dict, list]:
    """Best of ``repeats`` runs: the machine is shared, and the minimum is the least disturbed."""
    run_pipeline(texts[:5], gazetteer)  # warm caches (automata, taxonomy) as a running app has
    runs = []
    for _ in range(repeats):
        gc.collect()
        runs.append(run_pipeline(texts, gazetteer))
    stages, bulletins = min(runs, key=lambda r: sum(r[0].values()))
    n = sum(len(b.items) for b in bulletins)
    total = sum(stages.values())
    res = {
        "repeats": repeats,
        "run_totals_s": [sum(r[0].values()) for r in runs],
        "n_bulletins": len(bulletins),
        "n_items": n,
        "items_per_s": n / total,
        "total_s": total,
        "stage_s": stages,
        "stage_items_per_s": {k: (n / v if v else None) for k, v in stages.items()},
        "n_metrics": sum(len(it.metrics) for b in bulletins for it in b.items),
        "scope_counts": _count(it.place.scope for b in bulletins for it in b.items),
    }
    return res, bulletins


def _count(values) -> dict:
    out: dict = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def bench_memory(texts: list[str], gazetteer) -> dict:
    gc.collect()
    tracemalloc.start()
    run_pipeline(texts, gazetteer)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"tracemalloc_peak_mb": peak / 2**20, "tracemalloc_bulletins": len(texts)}


# --------------------------------------------------------------------------- jionlp baseline


def _jionlp():
    # jionlp prints a banner on import; keep the table clean
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        import jionlp

    return jionlp


def bench_jionlp(item_texts: list[str]) -> dict:
    jio = _jionlp()
    jio.parse_location(item_texts[0], town_village=True)  # loads its dictionaries
    t = time.perf_counter()
    for text in item_texts:
        jio.parse_location(text, town_village=True)
    elapsed = time.perf_counter() - t
    return {
        "n_items": len(item_texts),
        "total_s": elapsed,
        "items_per_s": len(item_texts) / elapsed,
    }


def _same_township(pred: str | None, label: str | None) -> bool:
    from geo.gazetteer import township_key

    if not pred or not label:
        return not pred and not label
    return township_key(pred) == township_key(label)


def bench_accuracy(dev: list[dict]) -> dict:
    from geo.pipeline import parse_text

    jio = _jionlp()
    ours = theirs = 0
    for d in dev:
        item = parse_text(d["text"], county=d["county"], single=True, source_name=d["id"]).items[0]
        ours += _same_township(item.place.township, d["township"])
        loc = jio.parse_location(d["text"], town_village=True)
        theirs += _same_township(loc.get("town"), d["township"])
    n = len(dev)
    return {"n_dev_items": n, "township_accuracy": ours / n, "jionlp_township_accuracy": theirs / n}


# --------------------------------------------------------------------------- store


def bench_store(bulletins: list) -> dict:
    """Ingest the corpus into a fresh store file, then read it back as frames."""
    from geo.store import Store

    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.sqlite") as store:
        n = sum(len(b.items) for b in bulletins)
        t = time.perf_counter()
        store.ingest_many(bulletins)
        ingest_s = time.perf_counter() - t
        t = time.perf_counter()
        store.ingest_many(bulletins)  # all unchanged: the hash check only
        reingest_s = time.perf_counter() - t
        t = time.perf_counter()
        items_df, _ = store.frames()
        frames_s = time.perf_counter() - t
        size = sum(f.stat().st_size for f in Path(tmp).iterdir())
    return {
        "store_ingest_items_per_s": n / ingest_s,
        "store_reingest_s": reingest_s,
        "store_frames_s": frames_s,
        "store_frames_rows": len(items_df),
        "store_bytes": size,
    }


# --------------------------------------------------------------------------- archive ingest


def _write_archive(folder: Path, texts: list[str], n_items: int, per_text: int) -> int:
    """Bulletin files holding at least ``n_items`` items: the corpus texts, each again under
    its own copy number (a new text to the store) as often as needed."""
    written, copy = 0, 0
    while written < n_items:
        for k, text in enumerate(texts):
            path = folder / f"{copy:02d}" / f"简报{k:05d}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"息县工作简报（第{copy}-{k}份）\n{text}", encoding="utf-8")
            written += per_text
            if written >= n_items:
                break
        copy += 1
    return written


def _timed_ingest(folder: Path, store: str, jobs: int) -> tuple[float, int]:
    """Wall seconds of ``python -m geo ingest`` and the items it stored."""
    from geo.store import Store

    cmd = [sys.executable, "-m", "geo", "ingest", str(folder), "--county", COUNTY_CODE,
           "--jobs", str(jobs), "--date", "2024-02-01", "--store", store]  # fmt: skip
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"ingest failed: {proc.stderr.strip()[-300:]}")
    with Store(store) as s:
        n = int(s.bulletins()["n_items"].sum())
    return elapsed, n


def bench_archive_ingest(texts: list[str], n_items: int) -> dict:
    """``ingest DIR --jobs 1`` and ``--jobs 2`` of ``n_items`` items into SQLite and PostGIS."""
    sys.path.insert(0, str(REPO / "tools"))
    from pg_cluster import pg_cluster

    per_text = ITEMS_PER_BULLETIN
    out: dict = {"archive_items_target": n_items}
    with tempfile.TemporaryDirectory() as tmp, pg_cluster(fast=False) as cluster:
        folder = Path(tmp) / "archive"
        _write_archive(folder, texts, n_items, per_text)
        out["archive_files"] = len(list(folder.rglob("*.txt")))
        import psycopg

        for backend in ("sqlite", "postgis"):
            for jobs in (1, 2):
                if backend == "sqlite":
                    store = str(Path(tmp) / f"ingest-{jobs}.sqlite")
                else:
                    schema = f"bench_{jobs}"
                    with psycopg.connect(cluster.url, autocommit=True) as conn:
                        conn.execute(f"CREATE SCHEMA {schema}")
                    store = f"{cluster.url}?options=-csearch_path%3D{schema},public"
                elapsed, n = _timed_ingest(folder, store, jobs)
                out[f"ingest_{backend}_jobs{jobs}_s"] = elapsed
                out[f"ingest_{backend}_jobs{jobs}_items_per_s"] = n / elapsed
                out["archive_items"] = n
            out[f"ingest_{backend}_speedup_jobs2"] = (
                out[f"ingest_{backend}_jobs1_s"] / out[f"ingest_{backend}_jobs2_s"]
            )
    return out


# --------------------------------------------------------------------------- prefecture map


def _voronoi_townships(outline, codes: list[str], names: list[str], seed: int):
    """Stand-in township polygons: Voronoi cells of random points inside a county outline."""
    import geopandas as gpd
    import numpy as np
    import shapely

    rng = np.random.default_rng(seed)
    shape = outline.geometry.iloc[0]
    minx, miny, maxx, maxy = shape.bounds
    points: list = []
    while len(points) < len(codes):
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(4 * len(codes), 2))
        inside = shapely.contains_xy(shape, xy[:, 0], xy[:, 1])
        points += [shapely.Point(p) for p in xy[inside]]
    cells = shapely.voronoi_polygons(shapely.MultiPoint(points[: len(codes)]), extend_to=shape)
    cells = [c.intersection(shape) for c in cells.geoms]
    by_point = [next(c for c in cells if c.contains(p)) for p in points[: len(codes)]]
    return gpd.GeoDataFrame(
        {"township_code": codes, "township": names, "quality": "user", "source": "bench"},
        geometry=by_point,
        crs="EPSG:4326",
    )


def bench_prefecture_map(bulletins: list, n_items: int = 5000, repeats: int = 3) -> dict:
    """信阳市 with every county's townships (stand-ins) and ``n_items`` items spread over them."""
    from geo import aggregate as agg
    from geo import webmap
    from geo.gazetteer import load_gazetteer
    from geo.outlines import county_outline
    from geo.prefecture import find_area
    from geo.store import Store
    from geo.workflows import prefecture_townships, prefecture_view

    prefecture = find_area("信阳市")
    towns = []
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "p.sqlite") as store:
        for k, code in enumerate(prefecture.county_codes):
            gaz = load_gazetteer(code)
            codes = [t.code for t in gaz.townships]
            layer = _voronoi_townships(
                county_outline(code), codes, [t.name for t in gaz.townships], k
            )
            store.save_boundaries(code, layer, source_name=f"{gaz.county_name}.geojson")
            towns += [(code, t.code, t.name) for t in gaz.townships]
        area = prefecture_townships(prefecture, store=store)
    items_df, metrics_df = agg.items_frame(bulletins)
    items_df = items_df.iloc[:n_items].copy()
    spread = [towns[i % len(towns)] for i in range(len(items_df))]
    items_df["county_code"] = [c for c, _, _ in spread]
    items_df["township_code"] = [t for _, t, _ in spread]
    items_df["township"] = [n for _, _, n in spread]
    metrics_df = agg.assign_metric_keys(metrics_df[metrics_df["item_id"].isin(items_df["item_id"])])
    runs = []
    for _ in range(repeats + 1):  # the first warms imports and caches, as in a running app
        t = time.perf_counter()
        view = prefecture_view(items_df, metrics_df, area)
        html = webmap.build_map(view, assets="static").get_root().render()
        runs.append((time.perf_counter() - t, len(html.encode("utf-8"))))
    runs = runs[1:]
    build_s = statistics.median(t for t, _ in runs)
    return {
        "prefecture_counties": len(prefecture.counties),
        "prefecture_townships": len(view.townships),
        "prefecture_items": len(items_df),
        "prefecture_map_build_s": build_s,
        "prefecture_map_payload_bytes": runs[0][1],
        "prefecture_map_under_1s": build_s < 1.0,
        "prefecture_map_under_2mb": runs[0][1] < 2 * 1024 * 1024,
    }


# --------------------------------------------------------------------------- filter + aggregate


def _scaled_frames(items_df, metrics_df, n: int):
    """``n`` item rows: the corpus frames repeated with fresh item ids."""
    import pandas as pd

    reps = -(-n // len(items_df))
    items, metrics = [], []
    for r in range(reps):
        i, m = items_df.copy(), metrics_df.copy()
        i["item_id"] = i["item_id"] + f"-r{r}"
        m["item_id"] = m["item_id"] + f"-r{r}"
        items.append(i)
        metrics.append(m)
    items_n = pd.concat(items, ignore_index=True).iloc[:n]
    metrics_n = pd.concat(metrics, ignore_index=True)
    metrics_n = metrics_n[metrics_n["item_id"].isin(items_n["item_id"])]
    # rebuild the columns in one piece, as items_frame / Store.frames make them: concat leaves
    # 10-chunk Arrow strings whose row selection costs ~10x and would measure the copy, not us
    return _contiguous(items_n), _contiguous(metrics_n)


def _contiguous(df):
    import pandas as pd

    return pd.DataFrame({c: df[c].tolist() for c in df.columns})


def bench_filter_aggregate(bulletins: list, township_codes: list[str], repeats: int) -> dict:
    from geo import aggregate as agg

    items_df, metrics_df = agg.items_frame(bulletins)
    metrics_df = agg.assign_metric_keys(metrics_df)
    catalog = agg.metric_catalog(metrics_df, items_df)
    # the map's usual question: how much money, per township
    money = [r.key for r in catalog.itertuples() if r.unit == "yuan"]
    metric_key = money[0] if money else "items"
    top_sectors = tuple(items_df["sector"].value_counts().index[:3])
    filters = agg.Filters(sectors=top_sectors)
    out = {"metric_key": metric_key, "sectors": list(top_sectors)}
    for n, name in ((10_000, "filter_aggregate_10k_s"), (100_000, "filter_aggregate_100k_s")):
        items_n, metrics_n = _scaled_frames(items_df, metrics_df, n)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            fi, fm = agg.filter_items(items_n, metrics_n, filters)
            agg.aggregate_townships(fi, fm, metric_key=metric_key, township_codes=township_codes)
            times.append(time.perf_counter() - t)
        out[name] = statistics.median(times)
        out[name.replace("_s", "_rows")] = len(items_n)
    return out


# --------------------------------------------------------------------------- activity over time


def _dated_frames(items_df, metrics_df, n: int, months: int = 36):
    """``n`` items spread over ``months`` months (2022-01…), every 5th a repeat of the item
    before it (a story told again next month), with what each figure adds."""
    from geo import trends

    items_n, metrics_n = _scaled_frames(items_df, metrics_df, n)
    k = list(range(len(items_n)))
    items_n["bulletin_date"] = [
        f"{2022 + (i % months) // 12}-{(i % months) % 12 + 1:02d}-01" for i in k
    ]
    items_n["bulletin_id"] = [f"b{i % months:02d}" for i in k]
    ids = items_n["item_id"].tolist()
    items_n["repeat_of"] = [ids[i - 1] if i % 5 == 4 else None for i in k]
    t = time.perf_counter()
    frames = trends.counting_frames(items_n, metrics_n)
    return frames, time.perf_counter() - t


def bench_time_series(bulletins: list, township_codes: list[str], repeats: int) -> dict:
    """The trend series, the two-period change and the township ranks at 100,000 items over
    36 months (issue 11: each < 0.5 s), after the once-per-store counting step."""
    from geo import aggregate as agg
    from geo import trends

    items_df, metrics_df = agg.items_frame(bulletins)
    metrics_df = agg.assign_metric_keys(metrics_df)
    money = [k for k in metrics_df["metric_key"].dropna().unique() if k.endswith("_yuan")]
    metric = money[0] if money else "items"
    (items_n, metrics_n), counting_s = _dated_frames(items_df, metrics_df, 100_000)
    steps = {
        "trend_series_100k_s": lambda m: trends.trend_series(items_n, metrics_n, m),
        "period_change_100k_s": lambda m: trends.period_change(
            items_n, metrics_n, m, "2024-11", "2024-12", township_codes
        ),
        "township_ranks_100k_s": lambda m: trends.township_ranks(
            items_n, metrics_n, m, township_codes[0]
        ),
    }
    out = {"time_metric": metric, "time_counting_100k_s": counting_s}
    for name, fn in steps.items():
        for key, suffix in ((metric, ""), ("items", "_items")):
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                fn(key)
                times.append(time.perf_counter() - t)
            out[f"{name[:-2]}{suffix}_s"] = statistics.median(times)
    return out


def _dated_bulletins(bulletins: list, n_items: int, start: int = 0) -> list:
    """The corpus bulletins from position ``start`` on, holding at least ``n_items`` items,
    each dated a month after the one before (36 months); past the corpus's end it is read
    again under new ids (its stories then repeat)."""
    import dataclasses
    import hashlib as _hashlib

    out, written, k = [], 0, start
    while written < n_items:
        b = bulletins[k % len(bulletins)]
        month = k % 36
        date = f"{2022 + month // 12}-{month % 12 + 1:02d}-01"
        sha = _hashlib.sha256(f"{k // len(bulletins)}:{b.sha256 or b.text}".encode()).hexdigest()
        header = dataclasses.replace(b.header, date=date, date_source="user")
        out.append(dataclasses.replace(b, sha256=sha, header=header))
        written += len(b.items)
        k += 1
    return out


def _ingest_s(bulletins: list, stored: list, *, link: bool, repeats: int = 3) -> tuple:
    """Seconds to ingest ``bulletins`` into a store already holding ``stored`` (median of
    ``repeats`` runs, each on a fresh copy of the same stored file), with the repeat keys and
    links (``link``) or without (the same store code, those steps off): wall-clock and this
    process's CPU (SQLite runs in it; CPU is less shaken by other work on a shared machine);
    and how many new items were found to repeat a story."""
    import shutil

    from geo import store as store_module

    saved = store_module.insert_repeat_keys, store_module.link_bulletin, store_module.text_keys
    if not link:
        store_module.insert_repeat_keys = lambda *a, **k: None
        store_module.text_keys = lambda *a, **k: {}
        store_module.link_bulletin = lambda *a, **k: 0
    times, cpu, found = [], [], 0
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp) / "stored.sqlite"
            with store_module.Store(base) as s:
                s.ingest_many(stored)
            for k in range(repeats):
                copy = Path(tmp) / f"run{k}.sqlite"
                shutil.copyfile(base, copy)
                with store_module.Store(copy) as s:
                    t, c = time.perf_counter(), time.process_time()
                    results = s.ingest_many(bulletins)
                    times.append(time.perf_counter() - t)
                    cpu.append(time.process_time() - c)
                found = sum(r.n_repeats for r in results)
    finally:
        (
            store_module.insert_repeat_keys,
            store_module.link_bulletin,
            store_module.text_keys,
        ) = saved
    return statistics.median(times), statistics.median(cpu), found


_CLAUSE_END = re.compile(r"[，。；！？、：,;!?:\n（）()“”\"]+")  # as geo.near_duplicates cuts
_FIGURE = re.compile(r"\d+(?![\d.月日年号时])")  # a quantity, not a date or a month


def _story_tag(n: int) -> str:
    """Three CJK characters naming story ``n``."""
    return chr(0x4E00 + n // 400) + chr(0x5000 + n % 400) + chr(0x5800 + n % 397)


def _told_own_way(item, tag: str):
    """``item`` with every clause opened by ``tag``: its clauses are its story's alone, as a real
    bulletin's are (the benchmark corpus recombines the same real sentences). Metric spans are
    left as they were (ingest stores them; nothing here reads them)."""
    import dataclasses

    def mark(text: str) -> str:
        return tag + _CLAUSE_END.sub(lambda m: m.group() + tag, text) if text else text

    return dataclasses.replace(item, headline=mark(item.headline), body=mark(item.body))


def _realistic_bulletins(
    stored: list, new: list, *, reprint_share: float = 0.1, seed: int = SEED
) -> tuple[list, list]:
    """``stored`` and ``new`` with every story told in its own words, and about
    ``reprint_share`` of the new items reprints of a story stored from the three bulletins
    before (in the last months), one quantity brought up to date (a date or a month named is
    left alone: a different month named is a different story): what repeats look like in a
    county's real run of bulletins."""
    import dataclasses

    rng = random.Random(seed)
    n = 0

    def own_way(bulletins: list) -> list:
        nonlocal n
        out = []
        for b in bulletins:
            items = []
            for it in b.items:
                items.append(_told_own_way(it, _story_tag(n)))
                n += 1
            out.append(dataclasses.replace(b, items=items))
        return out

    stored_out, new_out = own_way(stored), own_way(new)
    for k, b in enumerate(new_out):
        items = list(b.items)
        for j in range(len(items)):
            if rng.random() < reprint_share:
                source = (
                    stored_out[-1 - rng.randrange(3)]
                    if k < 3
                    else new_out[k - 1 - rng.randrange(3)]
                )
                old = rng.choice(source.items)
                body = _FIGURE.sub(lambda m: str(int(m.group()) + 1), old.body, count=1)
                items[j] = dataclasses.replace(old, index=items[j].index, body=body)
        new_out[k] = dataclasses.replace(b, items=items)
    return stored_out, new_out


def _parse_s(bulletins: list) -> float:
    """Seconds to read ``bulletins`` from their text as ``geo ingest`` does before storing
    them (cut into items, figures, sectors, places), best of two runs."""
    from geo.pipeline import parse_text

    best = math.inf
    for _ in range(2):
        t = time.perf_counter()
        for b in bulletins:
            parse_text(b.text, county=b.county_code, source_name=b.source_name)
        best = min(best, time.perf_counter() - t)
    return best


def bench_dedup_ingest(
    bulletins: list, *, stored_items: int = 10_000, new_items: int = 1_000
) -> dict:
    """What finding repeats adds to ingest with 10,000 items stored (issue 11: < 20 %): on the
    benchmark corpus (recombined real sentences: clauses shared by many unrelated items, the
    hard case) and on the same bulletins told as real ones are (:func:`_realistic_bulletins`).
    Against the store step alone (``…_overhead``) and against the whole ingest of a bulletin
    file, reading it included (``…_ingest_whole_overhead``)."""
    stored = _dated_bulletins(bulletins, stored_items)
    new = _dated_bulletins(bulletins, new_items, start=len(stored))
    parse_s = _parse_s(new)
    out: dict = {
        "dedup_stored_items": sum(len(b.items) for b in stored),
        "dedup_new_items": sum(len(b.items) for b in new),
        "dedup_parse_s": parse_s,
    }
    real_stored, real_new = _realistic_bulletins(stored, new)
    for prefix, (old, fresh) in (
        ("dedup", (stored, new)),
        ("dedup_real", (real_stored, real_new)),
    ):
        with_s, with_cpu, repeats = _ingest_s(fresh, old, link=True)
        without_s, without_cpu, _ = _ingest_s(fresh, old, link=False)
        # ratios of the same run, so the machine's load cancels out
        out[f"{prefix}_ingest_s"] = with_s
        out[f"{prefix}_ingest_off_s"] = without_s
        out[f"{prefix}_ingest_overhead"] = with_s / without_s - 1.0
        out[f"{prefix}_ingest_cpu_overhead"] = with_cpu / without_cpu - 1.0
        out[f"{prefix}_ingest_whole_overhead"] = (with_s - without_s) / (parse_s + without_s)
        out[f"{prefix}_repeats_found"] = repeats
    return out


# --------------------------------------------------------------------------- map and app


def _timed_map(layers, items_df, metrics_df) -> tuple[float, int]:
    """Seconds to build and render the 息县 map as the app does, and its HTML size in bytes."""
    from geo import webmap

    view = make_view(
        items_df,
        metrics_df,
        layers.townships,
        outline=layers.outline,
        county_seat=layers.seat,
        approximate=layers.approximate,
        title="息县",
        attribution=(),
    )
    t = time.perf_counter()
    m = webmap.build_map(view, assets="static")
    html = m.get_root().render()
    return time.perf_counter() - t, len(html.encode("utf-8"))


def bench_map_payload() -> dict:
    from geo import aggregate as agg
    from geo.boundaries import county_layers
    from geo.pipeline import parse_text

    bulletin = parse_text(
        SAMPLE.read_text(encoding="utf-8"), county=COUNTY_CODE, source_name=SAMPLE.name
    )
    items_df, metrics_df = agg.items_frame([bulletin])
    metrics_df = agg.assign_metric_keys(metrics_df)
    layers = county_layers(COUNTY_CODE)
    _, payload = _timed_map(layers, items_df, metrics_df)
    out = {"map_payload_bytes": payload}
    with contextlib.suppress(ImportError):
        from geo import export

        view = make_view(
            items_df,
            metrics_df,
            layers.townships,
            county="息县",
            county_code=COUNTY_CODE,
            outline=layers.outline,
            county_seat=layers.seat,
            approximate=layers.approximate,
            sources=layers.note,
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = export.export_html(view, Path(tmp) / "map.html")
            out["standalone_html_bytes"] = Path(path).stat().st_size
    return out


def bench_map_10k(bulletins: list, repeats: int) -> dict:
    """``build_map`` + HTML render of the 息县 map with the first 10,000 corpus items."""
    import numpy as np

    from geo import aggregate as agg
    from geo.boundaries import county_layers

    items_df, metrics_df = agg.items_frame(bulletins)
    items_df = items_df.iloc[:TARGET_ITEMS]
    metrics_df = agg.assign_metric_keys(metrics_df[metrics_df["item_id"].isin(items_df["item_id"])])
    layers = county_layers(COUNTY_CODE)

    def build(items, metrics) -> tuple[float, int]:
        return _timed_map(layers, items, metrics)

    build(items_df, metrics_df)  # warm-up: imports and caches, as in a running app
    runs = [build(items_df, metrics_df) for _ in range(repeats)]
    # Real bulletins repeat metric labels (a vocabulary) but hardly headlines or values: make
    # every headline, reporting unit and metric value distinct for a realistic upper bound.
    tag = items_df["item_id"].str[-9:]
    distinct = items_df.assign(
        headline=items_df["headline"] + tag, unit=items_df["unit"].fillna("") + tag
    )
    distinct_m = metrics_df.assign(value=metrics_df["value"] + np.arange(len(metrics_df)) + 0.5)
    d_time, d_bytes = build(distinct, distinct_m)
    return {
        "map_10k_items": len(items_df),
        "map_build_10k_s": statistics.median(t for t, _ in runs),
        "map_payload_10k_bytes": runs[0][1],
        "map_build_10k_distinct_s": d_time,
        "map_payload_10k_distinct_bytes": d_bytes,
    }


def bench_bounded_input() -> dict:
    """Normalisation is linear: a 20 MB hard-wrapped text against a 2 MB one (ratio ~10, where
    the old quadratic join gave ~100), and a bulletin just under the character cap end to end."""
    from geo.io.bulletin_files import MAX_BULLETIN_CHARS
    from geo.normalise import normalise_text
    from geo.pipeline import parse_text

    line = "息县招商工作迎来开门红树牢企业至上企业家至上的理念夯实企业发展平台持续完善基础设施统筹"
    out: dict = {}
    for mb in (2, 20):
        text = "\n".join([line] * (mb * 1024 * 1024 // (3 * (len(line) + 1))))
        t = time.perf_counter()
        normalise_text(text)
        out[f"normalise_{mb}mb_s"] = time.perf_counter() - t
    out["normalise_20mb_over_2mb"] = out["normalise_20mb_s"] / out["normalise_2mb_s"]
    body = (
        "息县招商工作迎来开门红，树牢企业至上理念，签约项目5个，总投资13.5亿元，"
        "白土店乡流转土地300亩。"
    )
    text = "\n".join([body] * (MAX_BULLETIN_CHARS // (len(body) + 1) - 100))
    t = time.perf_counter()
    parse_text(text, county=COUNTY_CODE)
    out["parse_at_char_cap_s"] = time.perf_counter() - t
    out["parse_at_char_cap_chars"] = len(text)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _map_drawn(page) -> bool:
    for frame in page.frames:
        with contextlib.suppress(Exception):
            if frame.query_selector(".leaflet-container path.leaflet-interactive"):
                return True
    return False


def bench_app_cold_start(timeout: float = 180.0) -> dict:
    from geo.browser import browser_page, chromium_path

    app = REPO / "streamlit_app.py"
    if not app.exists():
        raise FileNotFoundError("streamlit_app.py is not in the repository yet")
    if chromium_path() is None:
        raise FileNotFoundError("no system chromium")
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, GEO_STORE=str(Path(tmp) / "cold.sqlite"))
        cmd = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(app),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ]
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            with browser_page((1280, 900)) as (page, blocked):
                url = f"http://127.0.0.1:{port}/"
                while True:
                    if time.perf_counter() - t0 > timeout:
                        raise TimeoutError("the app did not answer")
                    if proc.poll() is not None:
                        raise RuntimeError(f"streamlit exited: {proc.stderr.read()[-300:]!r}")
                    try:
                        page.goto(url, wait_until="domcontentloaded", timeout=5000)
                        break
                    except Exception:  # server not listening yet
                        time.sleep(0.2)
                t_page = time.perf_counter() - t0
                while not _map_drawn(page):
                    if time.perf_counter() - t0 > timeout:
                        seen = ""
                        with contextlib.suppress(Exception):
                            seen = " ".join(page.inner_text("body").split())[:200]
                        raise TimeoutError(
                            f"no township paths in a Leaflet map after {timeout:.0f}s; "
                            f"page shows: {seen!r}"
                        )
                    page.wait_for_timeout(100)
                elapsed = time.perf_counter() - t0
                return {
                    "app_cold_start_s": elapsed,
                    "app_first_page_s": t_page,
                    "app_blocked_requests": len(blocked),
                }
        finally:
            planners.stop_app(proc)


# --------------------------------------------------------------------------- report


def machine() -> dict:
    def first(path: str, key: str) -> str | None:
        with contextlib.suppress(OSError):
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        return None

    mem = first("/proc/meminfo", "MemTotal")
    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(int(mem.split()[0]) / 2**20, 1) if mem else None,
        "cpu": first("/proc/cpuinfo", "model name") or platform.processor(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        # other work on the machine slows every figure: the load says how busy it was
        "load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def _step(results: dict, name: str, fn: Callable[[], dict | None]) -> dict | None:
    print(f"… {name}", file=sys.stderr, flush=True)
    t = time.perf_counter()
    try:
        out = fn()
    except Exception as err:  # a missing or broken module must not stop the other parts
        results["skipped"][name] = f"{type(err).__name__}: {' '.join(str(err).split())[:300]}"
        print(f"  skipped: {results['skipped'][name]}", file=sys.stderr)
        return None
    print(f"  done in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    return out


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.3f}" if v < 100 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def print_table(r: dict) -> None:
    p, j, a = r.get("pipeline") or {}, r.get("jionlp") or {}, r.get("accuracy") or {}
    bi = r.get("bounded_input") or {}
    rows = [
        ("corpus items (bulletins)", f"{_fmt(p.get('n_items'))} ({_fmt(p.get('n_bulletins'))})"),
        ("pipeline items/s", _fmt(p.get("items_per_s"))),
    ]
    for k, v in (p.get("stage_s") or {}).items():
        rows.append((f"  {k} s (items/s)", f"{_fmt(v)} ({_fmt(p['stage_items_per_s'][k])})"))
    rows += [
        ("jionlp items/s (n)", f"{_fmt(j.get('items_per_s'))} ({_fmt(j.get('n_items'))})"),
        ("speedup_vs_jionlp (geocode)", _fmt(r.get("speedup_vs_jionlp"))),
        (
            "township accuracy ours / jionlp",
            f"{_fmt(a.get('township_accuracy'))} / "
            f"{_fmt(a.get('jionlp_township_accuracy'))} (n={_fmt(a.get('n_dev_items'))})",
        ),
        ("tracemalloc peak MB", _fmt((r.get("memory") or {}).get("tracemalloc_peak_mb"))),
        ("ru_maxrss MB", _fmt((r.get("memory") or {}).get("ru_maxrss_mb"))),
        ("filter_aggregate_10k_s", _fmt(r.get("filter_aggregate_10k_s"))),
        ("filter_aggregate_100k_s", _fmt(r.get("filter_aggregate_100k_s"))),
        *_time_rows(r),
        ("store ingest items/s", _fmt(r.get("store_ingest_items_per_s"))),
        (
            "store frames() s (rows)",
            f"{_fmt(r.get('store_frames_s'))} ({_fmt(r.get('store_frames_rows'))})",
        ),
        ("map_payload_bytes", _fmt(r.get("map_payload_bytes"))),
        (
            "map_build_10k_s (payload bytes)",
            f"{_fmt(r.get('map_build_10k_s'))} ({_fmt(r.get('map_payload_10k_bytes'))})",
        ),
        (
            "  distinct headlines, units, values",
            f"{_fmt(r.get('map_build_10k_distinct_s'))} "
            f"({_fmt(r.get('map_payload_10k_distinct_bytes'))})",
        ),
        ("standalone_html_bytes", _fmt(r.get("standalone_html_bytes"))),
        (
            "normalise 2 MB / 20 MB s (ratio)",
            f"{_fmt(bi.get('normalise_2mb_s'))} / {_fmt(bi.get('normalise_20mb_s'))} "
            f"({_fmt(bi.get('normalise_20mb_over_2mb'))})",
        ),
        (
            "parse at the character cap s (chars)",
            f"{_fmt(bi.get('parse_at_char_cap_s'))} ({_fmt(bi.get('parse_at_char_cap_chars'))})",
        ),
        ("app_cold_start_s", _fmt(r.get("app_cold_start_s"))),
        (
            "archive ingest items (files)",
            f"{_fmt(r.get('archive_items'))} ({_fmt(r.get('archive_files'))})",
        ),
    ]
    for backend in ("sqlite", "postgis"):
        rows.append(
            (
                f"  {backend} items/s jobs 1 / jobs 2 (speedup)",
                f"{_fmt(r.get(f'ingest_{backend}_jobs1_items_per_s'))} / "
                f"{_fmt(r.get(f'ingest_{backend}_jobs2_items_per_s'))} "
                f"({_fmt(r.get(f'ingest_{backend}_speedup_jobs2'))})",
            )
        )
    rows.append(
        (
            "prefecture map s (bytes; townships, items)",
            f"{_fmt(r.get('prefecture_map_build_s'))} "
            f"({_fmt(r.get('prefecture_map_payload_bytes'))}; "
            f"{_fmt(r.get('prefecture_townships'))}, {_fmt(r.get('prefecture_items'))})",
        )
    )
    width = max(len(k) for k, _ in rows)
    print(
        f"benchmark {r['date']} quick={r['quick']} on {r['machine']['cpu']}, "
        f"{r['machine']['nproc']} cpu, {r['machine']['ram_gb']} GB, "
        f"load at start {r['machine'].get('load_avg_1_5_15')}"
    )
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    for k, v in r["skipped"].items():
        print(f"skipped {k}: {v}")


def _time_steps(results: dict, bulletins: list, codes: list[str], *, quick: bool) -> None:
    """Activity over time: trend, change and ranks at 100k items; the cost of finding repeats."""
    ts = _step(
        results, "time_series", lambda: bench_time_series(bulletins, codes, 3 if quick else 5)
    )
    if ts:
        results.update(ts)
    dd = _step(results, "dedup_ingest", lambda: bench_dedup_ingest(bulletins))
    if dd:
        results.update(dd)


def _time_rows(r: dict) -> list[tuple[str, str]]:
    return [
        (
            "trend / change / ranks 100k s",
            f"{_fmt(r.get('trend_series_100k_s'))} / {_fmt(r.get('period_change_100k_s'))} / "
            f"{_fmt(r.get('township_ranks_100k_s'))} (counting once "
            f"{_fmt(r.get('time_counting_100k_s'))})",
        ),
        (
            "ingest with repeats found / off s (overhead)",
            f"{_fmt(r.get('dedup_ingest_s'))} / {_fmt(r.get('dedup_ingest_off_s'))} "
            f"({_fmt(r.get('dedup_ingest_overhead'))},"
            f" CPU {_fmt(r.get('dedup_ingest_cpu_overhead'))};"
            f" {_fmt(r.get('dedup_stored_items'))} stored,"
            f" {_fmt(r.get('dedup_repeats_found'))} repeats)",
        ),
        (
            "  same, stories in their own words",
            f"{_fmt(r.get('dedup_real_ingest_s'))} / {_fmt(r.get('dedup_real_ingest_off_s'))} "
            f"({_fmt(r.get('dedup_real_ingest_overhead'))},"
            f" CPU {_fmt(r.get('dedup_real_ingest_cpu_overhead'))};"
            f" {_fmt(r.get('dedup_real_repeats_found'))} repeats)",
        ),
        (
            "  against the whole ingest (reading the file included, parse s)",
            f"{_fmt(r.get('dedup_ingest_whole_overhead'))} /"
            f" {_fmt(r.get('dedup_real_ingest_whole_overhead'))}"
            f" (parse {_fmt(r.get('dedup_parse_s'))})",
        ),
    ]


#: Targets of issue 14 (one run on a 2-core machine): (figure, store size, limit, lower is better)
PLANNER_TARGETS = (
    ("server_cpu_per_view_s", "10000", 0.3),
    ("server_cpu_per_view_s", "100000", 1.0),
    ("wait_4_over_1", "10000", 2.0),
    ("wait_8_over_1", "10000", 3.0),
    ("warm_wait_4_over_1", "10000", 2.0),
    ("warm_wait_8_over_1", "10000", 3.0),
    ("rss_after_sessions_mb", "10000", 600.0),
)


def bench_planners_step(bulletins: list, *, quick: bool) -> dict:
    """``bench/planners.py`` at 10,000 items (CPU, waits, RSS after 50 sessions; 20 with
    ``quick``) and at 100,000 items (CPU per view; not with ``quick``)."""
    out = {"10000": planners.bench_planners(bulletins, 10_000, sessions=20 if quick else 50)}
    if not quick:
        out["100000"] = planners.bench_planners(
            bulletins, 100_000, views=3, sessions=0, waits=False
        )
    return {"planners": out}


def print_planners(r: dict) -> None:
    """The planners' figures against the targets of issue 14."""
    runs = r.get("planners") or {}
    for size, fig in runs.items():
        keys = ("first_view_cpu_s", "server_cpu_per_view_s", "browser_cpu_per_view_s")
        keys += ("server_cpu_per_view_warm_s", "browser_cpu_per_view_warm_s")
        keys += ("wait_1_s", "wait_4_s", "wait_8_s")
        keys += ("wait_4_over_1", "wait_8_over_1", "warm_wait_1_s", "warm_wait_4_s")
        keys += ("warm_wait_8_s", "warm_wait_4_over_1", "warm_wait_8_over_1")
        keys += ("rss_before_sessions_mb",)
        keys += ("rss_after_sessions_mb", "sessions", "load_before")
        shown = ", ".join(f"{k} {_fmt(fig[k])}" for k in keys if k in fig)
        print(f"planners at {size} items: {shown}")
    for key, size, limit in PLANNER_TARGETS:
        value = (runs.get(size) or {}).get(key)
        verdict = "—" if value is None else ("met" if value <= limit else "NOT met")
        print(f"  target {key} at {size} items <= {limit:g}: {_fmt(value)} {verdict}")


def _planners_only(args) -> int:
    """``--planners``: the corpus, one pipeline pass and the planners step, merged into the
    results file (the other figures in it are kept)."""
    texts, _ = build_corpus(args.items)
    gaz = __import__("geo.gazetteer", fromlist=["x"]).load_gazetteer(COUNTY_CODE)
    _, bulletins = bench_pipeline(texts, gaz, 1)
    results = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
    results.setdefault("skipped", {}).pop("planners", None)
    out = _step(results, "planners", lambda: bench_planners_step(bulletins, quick=args.quick))
    if out:
        results.update(out)
        results["planners_date"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        results["planners_machine"] = machine()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print_planners(results)
    print(f"wrote {args.out}")
    return 0


def _shared_store_steps(
    results: dict, corpus: dict | None, bulletins: list, *, quick: bool
) -> None:
    """The prefecture map and the archive ingest into SQLite and PostGIS."""
    if bulletins:
        pm = _step(results, "prefecture_map", lambda: bench_prefecture_map(bulletins))
        if pm:
            results.update(pm)
    if corpus:
        n_archive = 10_000 if quick else 100_000
        ai = _step(
            results, "archive_ingest", lambda: bench_archive_ingest(corpus["texts"], n_archive)
        )
        if ai:
            results.update(ai)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="jionlp on a subset, fewer repeats")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--items", type=int, default=TARGET_ITEMS, help="corpus size (>= 10000)")
    ap.add_argument("--no-app", action="store_true", help="skip the app cold start and planners")
    ap.add_argument(
        "--planners",
        action="store_true",
        help="only the many-planners step (issue 14), merged into --out",
    )
    args = ap.parse_args(argv)
    if args.planners:
        return _planners_only(args)
    started = time.perf_counter()
    results: dict = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
        "skipped": {},
    }

    corpus = _step(
        results,
        "corpus",
        lambda: dict(zip(("texts", "n_sources"), build_corpus(args.items), strict=True)),
    )
    gaz = _step(
        results,
        "gazetteer",
        lambda: {"g": __import__("geo.gazetteer", fromlist=["x"]).load_gazetteer(COUNTY_CODE)},
    )
    bulletins = []
    if corpus and gaz:
        results["corpus"] = {
            "n_source_items": corpus["n_sources"],
            "n_bulletins": len(corpus["texts"]),
        }
        out = _step(
            results,
            "pipeline",
            lambda: bench_pipeline(corpus["texts"], gaz["g"], 1 if args.quick else 3),
        )
        if out:
            results["pipeline"], bulletins = out
    items_texts = [it.text for b in bulletins for it in b.items]
    if items_texts:
        n_jio = 500 if args.quick else len(items_texts)
        jio = _step(results, "jionlp", lambda: bench_jionlp(items_texts[:n_jio]))
        if jio:
            results["jionlp"] = jio
            ours = results["pipeline"]["stage_items_per_s"]["geocode"]
            results["speedup_vs_jionlp"] = ours / jio["items_per_s"]
    dev = _dev_items()
    if dev:
        acc = _step(results, "accuracy", lambda: bench_accuracy(dev))
        if acc:
            results["accuracy"] = acc
    if corpus and gaz:
        texts = corpus["texts"][: max(1, len(corpus["texts"]) // (5 if args.quick else 1))]
        mem = _step(results, "memory", lambda: bench_memory(texts, gaz["g"]))
        if mem:
            results["memory"] = mem
    if bulletins:
        st = _step(results, "store", lambda: bench_store(bulletins))
        if st:
            results.update(st)
    if bulletins and gaz:
        codes = [t.code for t in gaz["g"].townships]
        fa = _step(
            results,
            "filter_aggregate",
            lambda: bench_filter_aggregate(bulletins, codes, 3 if args.quick else 5),
        )
        if fa:
            results.update(fa)
        _time_steps(results, bulletins, codes, quick=args.quick)
    bounded = _step(results, "bounded_input", bench_bounded_input)
    if bounded:
        results["bounded_input"] = bounded
    mp = _step(results, "map_payload", bench_map_payload)
    if mp:
        results.update(mp)
    if bulletins:
        m10 = _step(results, "map_10k", lambda: bench_map_10k(bulletins, 3 if args.quick else 5))
        if m10:
            results.update(m10)
    _shared_store_steps(results, corpus, bulletins, quick=args.quick)
    if args.no_app:
        results["skipped"]["app_cold_start"] = "--no-app"
        results["skipped"]["planners"] = "--no-app"
    else:
        limit = 90.0 if args.quick else 180.0
        app = _step(results, "app_cold_start", lambda: bench_app_cold_start(limit))
        if app:
            results.update(app)
        if bulletins:
            pl = _step(
                results, "planners", lambda: bench_planners_step(bulletins, quick=args.quick)
            )
            if pl:
                results.update(pl)
    # ru_maxrss is KiB on Linux; it covers the whole run (corpus, pandas, jionlp's dictionaries)
    results.setdefault("memory", {})["ru_maxrss_mb"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    results["bench_wall_s"] = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print_table(results)
    print_planners(results)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
