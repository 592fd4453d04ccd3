"""Many planners on one app server: CPU per map view, waits under concurrency, memory.

Used by ``bench/run.py`` (step ``planners``); runnable alone::

    python bench/planners.py --items 10000 [--items 100000] [--sessions 50] [--store FILE]

``python bench/run.py --planners`` runs this step alone (10,000 items in full, 100,000 items for
the CPU per view) and merges the figures into ``bench/results.json``.

A store of N items (the benchmark corpus, repeated with distinct texts) is served by one
``streamlit run`` process; headless Debian chromium (Playwright, every request outside
localhost blocked) opens the map as planners do, each in a new browser context (a new session):

* ``server_cpu_per_view_s`` — the server's CPU time (user + system, from /proc) spent per map
  view, over views opened one after another after a warm-up view;
* ``wait_1_s``, ``wait_4_s``, ``wait_8_s`` — seconds until every one of k planners opening the
  map at the same moment sees it (the slowest of the k), and their ratios to one planner, each
  planner in a new browser (empty HTTP cache); ``warm_wait_…`` the same with browsers that
  visited the app before (its static files cached, as on a planner's second day);
* ``rss_after_sessions_mb`` — the server's resident memory after opening and closing
  ``--sessions`` sessions (and the RSS before them);
* ``server_cpu_per_view_warm_s``, ``browser_cpu_per_view_warm_s`` — the same per view with a
  browser that visited the app before (Streamlit's scripts from its HTTP cache, as on a
  planner's second visit), each view still a new session. Such browsers are not routed through
  Playwright (routing turns the HTTP cache off, which made earlier "warm" figures fetch every
  script again); they are fenced by a host resolver that knows only localhost, and any request
  that tried to leave is counted in ``offsite_requests``;
* ``browser_cpu_per_view_s`` — the CPU the planner's browser (chromium, on the same machine)
  spends per view, over the same views: what bounds the waits of k planners on 2 cores;
* ``first_view_cpu_s`` — the server's CPU for the very first view (start-up, reading the store,
  building the shared caches), which every later planner with the same view is spared;
* ``load_before`` — the machine's 1-minute load average when the step started (the machine is
  shared: figures taken under load are slower, ratios less so).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from geo.browser import CHROMIUM_ARGS, chromium_path, is_local_url  # noqa: E402

_TICKS = os.sysconf("SC_CLK_TCK")
#: Chromium resolves no host name but localhost (a second fence around the offline browsers).
_OFFLINE_ARGS = ("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",)
_MAP_READY = (
    "() => [...document.querySelectorAll('iframe')].some(f => { try { return "
    "f.contentDocument.querySelector('.leaflet-container path.leaflet-interactive'); } "
    "catch (e) { return false; } })"
)


# --------------------------------------------------------------------------- the store


def _distinct(bulletin, k: int):
    """A copy of ``bulletin`` whose text (and so its id) differs, items unchanged."""
    text = f"{bulletin.text}\n（第{k}份）"
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return replace(bulletin, text=text, sha256=sha, source_name=f"{k}-{bulletin.source_name}")


def build_store(path: Path, bulletins: list, n_items: int) -> int:
    """Ingest ``bulletins`` over and over (distinct copies) until ``n_items`` are stored."""
    from geo.store import Store

    stored = 0
    with Store(path) as store:
        k = 0
        while stored < n_items:
            for b in bulletins:
                if stored >= n_items:
                    break
                store.ingest(_distinct(b, k) if k else b)
                stored += len(b.items)
            k += 1
    return stored


# --------------------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def _browser_cpu_s(server_pid: int) -> float:
    """CPU time (user + system, with reaped children's) of this process's descendants but the
    server: Playwright's driver and chromium with its renderers (the planners' browsers run
    on the same machine and take their share of its cores)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        if pid == server_pid:
            continue
        todo += children.get(pid, [])
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return total / _TICKS


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_app(store: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, GEO_STORE=str(store))
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "streamlit_app.py")]
    cmd += ["--server.headless", "true", "--server.port", str(port)]
    cmd += ["--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return proc, f"http://127.0.0.1:{port}/"


def stop_app(proc: subprocess.Popen) -> None:
    """End the server started by :func:`start_app` (killed if it does not stop in 15 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------------- planners


#: Requests that tried to leave the machine, from browsers that keep their HTTP cache (these
#: are counted, not routed: Playwright's request routing turns a context's HTTP cache off).
OFFSITE: list[str] = []


async def _new_context(browser, *, cached: bool = False):
    """A new browser (context). Every request outside localhost is blocked; with ``cached`` it
    is only recorded in :data:`OFFSITE` instead (the browser is launched with
    :data:`_OFFLINE_ARGS`, so it cannot leave the machine anyway), because routing requests
    would turn the HTTP cache off and every "returning" planner would fetch the app's
    scripts again."""
    context = await browser.new_context(viewport={"width": 1366, "height": 768})
    if cached:
        context.on("request", lambda r: None if is_local_url(r.url) else OFFSITE.append(r.url))
        return context

    async def route(r):
        await (r.continue_() if is_local_url(r.request.url) else r.abort())

    await context.route("**/*", route)
    return context


async def _open_map(browser, url: str, timeout_s: float, context=None) -> float:
    """Seconds until the map shows its township polygons in a new session: in a new browser
    (empty HTTP cache), or as a new tab of ``context`` (a browser that has the app's static
    files cached, as a planner's browser has after the first visit)."""
    own = context is None
    context = await _new_context(browser) if own else context
    page = await context.new_page()
    t = time.perf_counter()
    try:
        await page.goto(url, wait_until="domcontentloaded", timeout=timeout_s * 1000)
        await page.wait_for_function(_MAP_READY, timeout=timeout_s * 1000, polling=100)
        return time.perf_counter() - t
    finally:
        await (context.close() if own else page.close())


async def _wait_ready(browser, url: str, proc: subprocess.Popen, timeout_s: float) -> None:
    start = time.perf_counter()
    while True:
        if proc.poll() is not None:
            raise RuntimeError("the app exited")
        try:
            await _open_map(browser, url, 30)
            return
        except Exception:
            if time.perf_counter() - start > timeout_s:
                raise
            await asyncio.sleep(1)


async def _waits(browser, url: str) -> dict:
    """Time to the map for 1, 4 and 8 planners opening it at the same moment (the slowest):
    each in a new browser (``wait_k_s``: the app's 23 MB of scripts fetched and compiled by
    every one of them), and each in a browser that visited the app before (``warm_wait_k_s``:
    static files from its HTTP cache, a new session all the same)."""
    out = {}
    for k in (1, 4, 8):
        waits = await asyncio.gather(*(_open_map(browser, url, 300) for _ in range(k)))
        out[f"wait_{k}_s"] = max(waits)
    for k in (1, 4, 8):
        contexts = [await _new_context(browser, cached=True) for _ in range(k)]
        try:
            for c in contexts:  # yesterday's visit
                await _open_map(browser, url, 300, c)
            waits = await asyncio.gather(*(_open_map(browser, url, 300, c) for c in contexts))
        finally:
            for c in contexts:
                await c.close()
        out[f"warm_wait_{k}_s"] = max(waits)
    for prefix in ("", "warm_"):
        for k in (4, 8):
            out[f"{prefix}wait_{k}_over_1"] = out[f"{prefix}wait_{k}_s"] / out[f"{prefix}wait_1_s"]
    return out


async def _warm_views(browser, url: str, server_pid: int, views: int) -> dict:
    """Server and browser CPU per view when the browser visited the app before (its static
    files cached): each view a new tab, so a new session all the same."""
    context = await _new_context(browser, cached=True)
    try:
        await _open_map(browser, url, 180, context)
        cpu0, browser0 = _cpu_s(server_pid), _browser_cpu_s(server_pid)
        for _ in range(views):
            await _open_map(browser, url, 180, context)
        return {
            "server_cpu_per_view_warm_s": (_cpu_s(server_pid) - cpu0) / views,
            "browser_cpu_per_view_warm_s": (_browser_cpu_s(server_pid) - browser0) / views,
        }
    finally:
        await context.close()


async def _measure(
    url: str, proc: subprocess.Popen, views: int, sessions: int, waits: bool
) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=chromium_path(), headless=True, args=[*CHROMIUM_ARGS, *_OFFLINE_ARGS]
        )
        try:
            await _wait_ready(browser, url, proc, 600)  # also the warm-up view
            out = {"first_view_cpu_s": _cpu_s(proc.pid)}
            cpu0, browser0 = _cpu_s(proc.pid), _browser_cpu_s(proc.pid)
            for _ in range(views):
                await _open_map(browser, url, 180)
            out["server_cpu_per_view_s"] = (_cpu_s(proc.pid) - cpu0) / views
            out["browser_cpu_per_view_s"] = (_browser_cpu_s(proc.pid) - browser0) / views
            out.update(await _warm_views(browser, url, proc.pid, views))
            out["views"] = views
            if waits:
                out.update(await _waits(browser, url))
            if sessions:
                out["rss_before_sessions_mb"] = _rss_mb(proc.pid)
                for _ in range(sessions):
                    await _open_map(browser, url, 180)
                await asyncio.sleep(2)
                out["rss_after_sessions_mb"] = _rss_mb(proc.pid)
                out["sessions"] = sessions
            out["offsite_requests"] = len(OFFSITE)
        finally:
            await browser.close()
    return out


def serve_and_measure(store: Path, *, views: int, sessions: int, waits: bool) -> dict:
    """Start the app on ``store`` and take the figures above."""
    load = os.getloadavg()[0]
    proc, url = start_app(store)
    try:
        out = asyncio.run(_measure(url, proc, views, sessions, waits))
    finally:
        stop_app(proc)
    return {"load_before": round(load, 2), **out}


def bench_planners(
    bulletins: list, n_items: int, *, views: int = 5, sessions: int = 50, waits: bool = True
) -> dict:
    """The figures above for a store of ``n_items`` items (``sessions=0``: no RSS run,
    ``waits=False``: no concurrent planners)."""
    if chromium_path() is None:
        raise FileNotFoundError("no system chromium")
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "planners.sqlite"
        stored = build_store(store, bulletins, n_items)
        out = serve_and_measure(store, views=views, sessions=sessions, waits=waits)
    return {"items": stored, **out}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, action="append", help="stored items (repeatable)")
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--views", type=int, default=5)
    ap.add_argument("--no-waits", action="store_true", help="skip the 1/4/8 planners")
    ap.add_argument("--store", type=Path, help="measure this existing SQLite store instead")
    args = ap.parse_args(argv)
    if args.store:
        out = serve_and_measure(
            args.store, views=args.views, sessions=args.sessions, waits=not args.no_waits
        )
        print(json.dumps(out, ensure_ascii=False))
        return 0
    sys.path.insert(0, str(REPO / "bench"))
    import run  # the benchmark corpus

    texts, _ = run.build_corpus(10_000)
    gaz = __import__("geo.gazetteer", fromlist=["x"]).load_gazetteer(run.COUNTY_CODE)
    _, bulletins = run.bench_pipeline(texts, gaz, 1)
    for n in args.items or [10_000]:
        r = bench_planners(
            bulletins, n, views=args.views, sessions=args.sessions, waits=not args.no_waits
        )
        print(json.dumps(r, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
