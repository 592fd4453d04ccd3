"""A metric change in the app: bytes the browser receives over Streamlit's websocket and the
CPU of server and browser, at N stored items (issue 14: restyle instead of a new map).

    python bench/metric_change.py --items 10000 [--repo DIR ...] [--store FILE]

Each ``--repo`` (a checkout of this app, default this one) is served on the same store; one
headless Debian chromium (only localhost) opens the map, waits until it is drawn and quiet,
then changes 指标 to the first metric other than 事项数 and waits until the legend names it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from planners import _MAP_READY, _browser_cpu_s, _cpu_s, _free_port, build_store  # noqa: E402

from geo.browser import CHROMIUM_ARGS, chromium_path, is_local_url  # noqa: E402

_LEGEND = (
    "() => [...document.querySelectorAll('iframe')].some(f => { try { const t = "
    "f.contentDocument.querySelector('.geo-legend-title'); return t && "
    "!t.innerText.startsWith('事项数'); } catch (e) { return false; } })"
)


def _serve(repo: Path, store: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(repo / "streamlit_app.py")]
    cmd += ["--server.headless", "true", "--server.port", str(port)]
    cmd += ["--browser.gatherUsageStats", "false"]
    env = dict(os.environ, GEO_STORE=str(store))
    proc = subprocess.Popen(
        cmd, cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return proc, f"http://127.0.0.1:{port}/"


def measure(repo: Path, store: Path) -> dict:
    """The figures of one metric change on the app of ``repo``."""
    from playwright.sync_api import sync_playwright

    proc, url = _serve(repo, store)
    received = [0]
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.route(
                "**/*", lambda r: r.continue_() if is_local_url(r.request.url) else r.abort()
            )
            page.on(
                "websocket",
                lambda ws: ws.on(
                    "framereceived", lambda p: received.__setitem__(0, received[0] + len(p))
                ),
            )
            deadline = time.monotonic() + 180
            while True:
                try:
                    page.goto(url, wait_until="domcontentloaded")
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(1)
            page.wait_for_function(_MAP_READY, timeout=300_000)
            page.wait_for_timeout(4000)
            first = received[0]
            received[0] = 0
            cpu0, b0, t0 = _cpu_s(proc.pid), _browser_cpu_s(proc.pid), time.monotonic()
            box = page.locator(
                '[data-testid="stSidebar"] [data-testid="stSelectbox"]', has_text="指标"
            )
            box.click()
            options = page.get_by_role("option")
            options.first.wait_for()
            label = next(t for t in options.all_inner_texts() if t.strip() and "事项数" not in t)
            page.get_by_role("option", name=label.strip(), exact=True).click()
            page.wait_for_function(_LEGEND, timeout=300_000)
            seen = time.monotonic() - t0
            page.wait_for_timeout(3000)  # the rest of the rerun (table, header) settles
            out = {
                "first_view_ws_bytes": first,
                "metric_change_ws_bytes": received[0],
                "metric_change_to_legend_s": round(seen, 2),
                "metric_change_server_cpu_s": round(_cpu_s(proc.pid) - cpu0, 2),
                "metric_change_browser_cpu_s": round(_browser_cpu_s(proc.pid) - b0, 2),
                "metric": label.strip(),
                "load_before": round(os.getloadavg()[0], 2),
            }
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--repo", type=Path, action="append")
    ap.add_argument("--store", type=Path)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        store = args.store
        if store is None:
            import run  # the benchmark corpus

            texts, _ = run.build_corpus(args.items)
            gaz = __import__("geo.gazetteer", fromlist=["x"]).load_gazetteer(run.COUNTY_CODE)
            _, bulletins = run.bench_pipeline(texts, gaz, 1)
            store = Path(tmp) / "metric.sqlite"
            build_store(store, bulletins, args.items)
        for repo in args.repo or [REPO]:
            print(json.dumps({"repo": str(repo), **measure(repo, store)}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
