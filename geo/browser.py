"""Drive Debian's chromium through Playwright, offline.

Playwright's own browser download is never used: the tests, the PNG/PDF exports and the
screenshot helper launch the system ``chromium`` (installed by ``tools/setup_tests.sh``) with
``executable_path``. Every request that leaves the machine is blocked and recorded, so a page
that still needs a CDN shows up as a failure instead of a silent network call.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "CHROMIUM_ARGS",
    "BlockedRequests",
    "ChromiumNotFoundError",
    "browser_page",
    "chromium_path",
    "is_local_url",
    "launch_chromium",
    "pdf_html",
    "screenshot_html",
]

#: Flags for a quiet, sandbox-free headless chromium that never phones home.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
)

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
_LOCAL_SCHEMES = {"file", "data", "about", "blob"}
_CANDIDATES = ("chromium", "chromium-browser")


class ChromiumNotFoundError(RuntimeError):
    """Debian's chromium is not installed (``apt-get install chromium``)."""


@dataclass
class BlockedRequests:
    """URLs a page tried to load from outside the machine (in request order)."""

    urls: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.urls)

    def __len__(self) -> int:
        return len(self.urls)


def chromium_path() -> str | None:
    """Path of the system chromium, or None when it is not installed.

    Returns
    -------
    str or None
        ``shutil.which("chromium")`` (Debian), else ``chromium-browser``.
    """
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def is_local_url(url: str) -> bool:
    """Whether ``url`` stays on this machine (localhost, file:, data:, about:, blob:).

    Parameters
    ----------
    url : str

    Returns
    -------
    bool
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in _LOCAL_SCHEMES:
        return True
    if scheme in ("http", "https", "ws", "wss"):
        return (parts.hostname or "").lower() in _LOCAL_HOSTS
    return False


def launch_chromium(playwright, *, args: tuple[str, ...] = ()):
    """Launch Debian's chromium through a started Playwright instance.

    Parameters
    ----------
    playwright : playwright.sync_api.Playwright
        From ``sync_playwright().start()`` or ``with sync_playwright() as p``.
    args : tuple of str
        Extra command-line flags, appended to :data:`CHROMIUM_ARGS`.

    Returns
    -------
    playwright.sync_api.Browser

    Raises
    ------
    ChromiumNotFoundError
        If no system chromium is on ``PATH``.
    """
    exe = chromium_path()
    if exe is None:
        raise ChromiumNotFoundError(
            "找不到 chromium 浏览器：请安装 Debian 的 chromium（bash tools/setup_tests.sh）"
        )
    return playwright.chromium.launch(
        executable_path=exe, headless=True, args=[*CHROMIUM_ARGS, *args]
    )


def _block_remote(blocked: BlockedRequests):
    def handler(route) -> None:
        url = route.request.url
        if is_local_url(url):
            route.continue_()
        else:
            blocked.urls.append(url)
            route.abort("blockedbyclient")

    return handler


@contextmanager
def browser_page(
    size: tuple[int, int] = (1280, 800),
    *,
    device_scale_factor: float = 1.0,
    locale: str = "zh-CN",
) -> Iterator[tuple[object, BlockedRequests]]:
    """A fresh chromium page whose non-local requests are all blocked.

    Parameters
    ----------
    size : tuple of int
        Viewport width and height in CSS pixels.
    device_scale_factor : float
        2.0 for crisp (retina) screenshots.
    locale : str
        Browser locale.

    Yields
    ------
    (playwright.sync_api.Page, BlockedRequests)
        The page, and the list that collects every blocked URL.

    Raises
    ------
    ChromiumNotFoundError
        If no system chromium is on ``PATH``.
    """
    from playwright.sync_api import sync_playwright

    blocked = BlockedRequests()
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            context = browser.new_context(
                viewport={"width": int(size[0]), "height": int(size[1])},
                device_scale_factor=device_scale_factor,
                locale=locale,
                service_workers="block",
            )
            # Routes on the context also cover iframes and workers the page creates.
            context.route("**/*", _block_remote(blocked))
            page = context.new_page()
            yield page, blocked
            context.close()
        finally:
            browser.close()


def screenshot_html(
    html_path: str | Path,
    out_png: str | Path,
    size: tuple[int, int] = (1200, 900),
    *,
    wait_selector: str | None = ".leaflet-container",
    settle_ms: int = 500,
    device_scale_factor: float = 1.0,
    timeout_ms: int = 30_000,
) -> BlockedRequests:
    """Render a local HTML file in chromium and save a PNG of the viewport.

    Parameters
    ----------
    html_path : str or path-like
        A self-contained HTML file (assets inlined or local).
    out_png : str or path-like
        Where to write the screenshot; parent folders are created.
    size : tuple of int
        Viewport width and height in CSS pixels.
    wait_selector : str, optional
        CSS selector to wait for before the shot (the Leaflet map by default); None to skip.
    settle_ms : int
        Extra wait for tiles/animations after the selector appears.
    device_scale_factor : float
        Pixel ratio of the PNG.
    timeout_ms : int
        Timeout for loading the page and the selector.

    Returns
    -------
    BlockedRequests
        URLs the page tried to fetch from outside the machine (blocked, so absent from the PNG).

    Raises
    ------
    FileNotFoundError
        If ``html_path`` does not exist.
    ChromiumNotFoundError
        If no system chromium is on ``PATH``.
    """
    src = Path(html_path).resolve()
    if not src.is_file():
        raise FileNotFoundError(src)
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    with browser_page(size, device_scale_factor=device_scale_factor) as (page, blocked):
        page.goto(src.as_uri(), wait_until="load", timeout=timeout_ms)
        if wait_selector:
            page.wait_for_selector(wait_selector, timeout=timeout_ms)
        if settle_ms:
            page.wait_for_timeout(settle_ms)
        page.screenshot(path=str(out), full_page=False)
    return blocked


def pdf_html(
    html_path: str | Path,
    out_pdf: str | Path,
    *,
    size: tuple[int, int] = (1200, 900),
    paper: str = "A4",
    landscape: bool = True,
    wait_selector: str | None = ".leaflet-container",
    settle_ms: int = 500,
    timeout_ms: int = 30_000,
) -> BlockedRequests:
    """Print a local HTML file to PDF with chromium (vector text, CJK fonts from the system).

    Parameters
    ----------
    html_path : str or path-like
        A self-contained HTML file.
    out_pdf : str or path-like
        Where to write the PDF; parent folders are created.
    size : tuple of int
        Viewport used to lay the page out before printing.
    paper : str
        Paper format understood by chromium ("A4", "A3", "Letter"...).
    landscape : bool
        Landscape orientation.
    wait_selector, settle_ms, timeout_ms
        As in :func:`screenshot_html`.

    Returns
    -------
    BlockedRequests
        URLs the page tried to fetch from outside the machine.
    """
    src = Path(html_path).resolve()
    if not src.is_file():
        raise FileNotFoundError(src)
    out = Path(out_pdf)
    out.parent.mkdir(parents=True, exist_ok=True)
    with browser_page(size) as (page, blocked):
        page.goto(src.as_uri(), wait_until="load", timeout=timeout_ms)
        if wait_selector:
            page.wait_for_selector(wait_selector, timeout=timeout_ms)
        if settle_ms:
            page.wait_for_timeout(settle_ms)
        page.emulate_media(media="screen")
        page.pdf(path=str(out), format=paper, landscape=landscape, print_background=True)
    return blocked
