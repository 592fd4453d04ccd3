"""Leaflet and its plugins from local files, never from a CDN.

folium elements name their scripts and stylesheets in ``default_js`` / ``default_css`` class
attributes that point at CDNs. :func:`localise` overrides them on every element of a map with
files shipped by the pip packages ``xstatic-leaflet`` and ``xstatic-leaflet-markercluster``:

* ``mode="static"`` links ``/app/static/vendor/...`` (the app; :func:`ensure_static_assets`
  copies the files into ``<repo>/static/vendor/``, which Streamlit serves when
  ``server.enableStaticServing`` is on);
* ``mode="inline"`` embeds the file contents in ``<script>``/``<style>`` (standalone exports).

What the map does not need (jQuery, Bootstrap, Font Awesome, awesome-markers) is dropped; a
few lines of our own stand in for the two jQuery calls folium's templates make.
"""

from __future__ import annotations

import base64
import importlib
import re
import shutil
import warnings
from functools import lru_cache
from pathlib import Path

__all__ = [
    "STATIC_DIR",
    "STATIC_URL_PREFIX",
    "VENDOR_FILES",
    "ensure_static_assets",
    "localise",
    "vendor_path",
    "vendor_text",
]

REPO = Path(__file__).resolve().parents[1]
#: Where the app's static files live (``./static`` beside ``streamlit_app.py``).
STATIC_DIR = REPO / "static" / "vendor"
#: URL of ``STATIC_DIR`` under Streamlit's static serving.
STATIC_URL_PREFIX = "/app/static/vendor"

#: Local file per folium resource name: (xstatic package, file in its data dir, kind).
VENDOR_FILES: dict[str, tuple[str, str, str]] = {
    "leaflet": ("xstatic.pkg.leaflet", "leaflet.js", "js"),
    "leaflet_css": ("xstatic.pkg.leaflet", "leaflet.css", "css"),
    "markerclusterjs": ("xstatic.pkg.leaflet_markercluster", "leaflet.markercluster.js", "js"),
    "markerclustercss": ("xstatic.pkg.leaflet_markercluster", "MarkerCluster.css", "css"),
    "markerclusterdefaultcss": (
        "xstatic.pkg.leaflet_markercluster",
        "MarkerCluster.Default.css",
        "css",
    ),
}
_IMAGES = (
    "layers.png",
    "layers-2x.png",
    "marker-icon.png",
    "marker-icon-2x.png",
    "marker-shadow.png",
)
#: folium resources the map does without (CircleMarker/DivIcon instead of awesome-markers).
_NOT_NEEDED = {
    "jquery",
    "bootstrap",
    "awesome_markers",
    "bootstrap_css",
    "glyphicons_css",
    "awesome_markers_font_css",
    "awesome_markers_css",
    "awesome_rotate_css",
}
# folium's Popup template parses its HTML with $(`...`)[0] and Map uses $(document).ready(f);
# this stand-in covers exactly those two calls so no jQuery is needed.
_JQUERY_STANDIN = """window.$ = window.$ || function (x) {
  if (x === document) {
    return {ready: function (f) {
      if (document.readyState !== "loading") { f(); }
      else { document.addEventListener("DOMContentLoaded", f); }
    }};
  }
  var box = document.createElement("div");
  box.innerHTML = String(x).trim();
  return [box.firstElementChild || box];
};
"""
_STANDIN_NAME = "jquery_standin"


def _package_dir(package: str) -> Path:
    return Path(importlib.import_module(package).BASE_DIR)


def _subdir(package: str) -> str:
    return "leaflet" if package.endswith(".leaflet") else "markercluster"


def vendor_path(name: str) -> Path:
    """Path of the installed file behind a folium resource name (e.g. ``"leaflet"``)."""
    package, filename, _ = VENDOR_FILES[name]
    return _package_dir(package) / filename


#: Leaflet 1.9's default attribution prefix carries a national flag (an inline SVG). A map for
#: government reports shows no political symbol: the flag is cut from the library text itself,
#: so no map (app, export, snapshot) can show it, and :mod:`geo.webmap` sets a plain prefix.
_FLAG_SVG = re.compile(r"'<svg aria-hidden=\"true\"[^']*leaflet-attribution-flag[^']*</svg> '")


@lru_cache(maxsize=16)
def vendor_text(name: str) -> str:
    """The text of a vendored file as the map uses it (Leaflet without its attribution flag).

    Parameters
    ----------
    name : str
        A folium resource name of :data:`VENDOR_FILES` (e.g. ``"leaflet"``).

    Returns
    -------
    str
    """
    text = vendor_path(name).read_text(encoding="utf-8")
    if name == "leaflet":
        text = _FLAG_SVG.sub("''", text)
    return text


def ensure_static_assets(static_dir: str | Path | None = None) -> dict[str, str]:
    """Copy Leaflet and MarkerCluster into ``static_dir`` and return their URLs.

    Idempotent and cheap: files already present with the same size are kept.

    Parameters
    ----------
    static_dir : str or Path, optional
        Defaults to ``<repo>/static/vendor`` (git-ignored).

    Returns
    -------
    dict
        folium resource name → URL under :data:`STATIC_URL_PREFIX`.
    """
    root = Path(static_dir) if static_dir else STATIC_DIR
    urls = {}
    for name, (package, filename, _) in VENDOR_FILES.items():
        rel = f"{_subdir(package)}/{filename}"
        _write_text(root / rel, vendor_text(name))
        urls[name] = f"{STATIC_URL_PREFIX}/{rel}"
    for image in _IMAGES:
        _copy(
            _package_dir("xstatic.pkg.leaflet") / "images" / image,
            root / "leaflet" / "images" / image,
        )
    standin = root / "standin" / "jquery-standin.js"
    if not standin.exists() or standin.read_text(encoding="utf-8") != _JQUERY_STANDIN:
        standin.parent.mkdir(parents=True, exist_ok=True)
        standin.write_text(_JQUERY_STANDIN, encoding="utf-8")
    urls[_STANDIN_NAME] = f"{STATIC_URL_PREFIX}/standin/jquery-standin.js"
    return urls


def _write_text(dst: Path, text: str) -> None:
    if dst.exists() and dst.read_text(encoding="utf-8") == text:
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(text, encoding="utf-8")


def _copy(src: Path, dst: Path) -> None:
    if dst.exists() and dst.stat().st_size == src.stat().st_size:
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


@lru_cache(maxsize=16)
def _inline_text(name: str) -> str:
    """File contents ready to sit inside <script>/<style>, images as data URIs."""
    package, _, kind = VENDOR_FILES[name]
    text = vendor_text(name)
    if kind == "css":
        images = _package_dir(package) / "images"

        def data_uri(match: re.Match) -> str:
            path = images / match.group(1)
            if not path.exists():
                return match.group(0)
            b64 = base64.b64encode(path.read_bytes()).decode("ascii")
            return f"url(data:image/png;base64,{b64})"

        text = re.sub(r"url\(images/([\w.-]+\.png)\)", data_uri, text)
    # Keep a literal end tag inside the file from closing the element early.
    return text.replace("</script", "<\\/script").replace("</style", "<\\/style")


def _walk(element):
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def localise(m, mode: str = "static", url_prefix: str = STATIC_URL_PREFIX):
    """Point every script and stylesheet of a folium map at local copies.

    Parameters
    ----------
    m : folium.Map
        The map (its whole figure is processed, so call it after adding every element).
    mode : {"static", "inline"}
        ``"static"`` links ``url_prefix/...``; ``"inline"`` embeds the files in the page.
    url_prefix : str
        URL of the vendor directory in static mode.

    Returns
    -------
    folium.Map
        ``m`` itself.
    """
    from branca.element import Element

    if mode not in ("static", "inline"):
        raise ValueError(f"资源方式须为 static 或 inline，而不是 {mode!r}")
    if mode == "static":
        ensure_static_assets()
    figure = m.get_root()
    needed: list[str] = []
    for el in _walk(figure):
        if not hasattr(el, "default_js"):
            continue
        kept_js, kept_css = [], []
        for name, url in [*el.default_js, *el.default_css]:
            if name in VENDOR_FILES:
                (kept_js if VENDOR_FILES[name][2] == "js" else kept_css).append(name)
                if name not in needed:
                    needed.append(name)
            elif name not in _NOT_NEEDED and not url.startswith(url_prefix):
                warnings.warn(f"dropped non-local map resource {name} ({url})", stacklevel=2)
        if el is m:
            kept_js.insert(1, _STANDIN_NAME)
        if mode == "static":
            el.default_js = [(n, _url(n, url_prefix)) for n in kept_js]
            el.default_css = [(n, _url(n, url_prefix)) for n in kept_css]
        else:
            el.default_js, el.default_css = [], []
    if mode == "inline":
        # Header children render in insertion order: Leaflet before its plugins.
        order = [n for n in VENDOR_FILES if n in needed]
        for name in order:
            tag = "script" if VENDOR_FILES[name][2] == "js" else "style"
            figure.header.add_child(
                Element(f"<{tag}>{_inline_text(name)}</{tag}>"), name=f"inline_{name}"
            )
            if name == "leaflet":
                figure.header.add_child(
                    Element(f"<script>{_JQUERY_STANDIN}</script>"), name="inline_standin"
                )
    return m


def _url(name: str, prefix: str) -> str:
    if name == _STANDIN_NAME:
        return f"{prefix}/standin/jquery-standin.js"
    package, filename, _ = VENDOR_FILES[name]
    return f"{prefix}/{_subdir(package)}/{filename}"
