"""The map in the page: streamlit-folium's component, fed with arguments made once per built map.

``st_folium`` turns a folium map into the component's arguments (the Leaflet script, the
header, the asset links) on every call: at 10,000 items that is most of a session's script time
(jinja templates compiled again, the map deep-copied because the conversion mutates it). Every
planner with the same view gets the same arguments, so :func:`frame_of` makes them once (the
app's shared map cache keeps them) and :func:`draw` hands them to the very same component, which
each session only serializes.

:func:`frame_of` follows ``st_folium`` step by step (``render=False``, no feature group, layer
control or centre/zoom override); ``tests/test_map_frame.py`` checks that a frame carries
exactly the arguments ``st_folium`` sends, so an upgrade of streamlit-folium that changes them
fails there.

A metric change sends no new frame: the app's map carries no metric figure, and
:func:`restyle` colours it (``geo.webmap.restyle_call``) from an element of its own, a hidden
frame whose script finds the map's frame on the page and runs the call there. The map's
component then gets the very same arguments on every rerun of its view, and Streamlit sends an
element it has already sent as a reference to the browser's copy (its ForwardMsg cache, for
messages of ``global.minCachedMessageSize`` and more): the map's data go over the wire once,
and a metric change sends only the restyle (~10 KB, not the ~0.6 MB map of 10,000 items).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import folium
import folium.elements
import streamlit as st
import streamlit.components.v1 as components
import streamlit_folium as stf

__all__ = ["MapFrame", "draw", "frame_of", "restyle", "restyle_page"]

#: The keys of ``st_folium``'s defaults, in its order (what the map reports before any click).
_DEFAULT_KEYS = (
    "last_clicked",
    "last_object_clicked",
    "last_object_clicked_count",
    "last_object_clicked_tooltip",
    "last_object_clicked_popup",
    "all_drawings",
    "last_active_drawing",
    "bounds",
    "zoom",
    "last_circle_radius",
    "last_circle_polygon",
    "selected_layers",
    "selected_tags",
    "last_geocoder_result",
)


@dataclass(frozen=True)
class MapFrame:
    """streamlit-folium's arguments for one built map (shared read-only by every session).

    Attributes
    ----------
    script, header, html : str
        The map's Leaflet script, the page header (styles) and the map's HTML.
    map_id : str
        The folium id of the map.
    bounds : dict
        The map's bounds as Leaflet reports them (``_southWest``, ``_northEast``).
    zoom : int or None
        The zoom the map opens at.
    css_links, js_links : tuple of str
        The stylesheets and scripts the frame loads (the app's local copies).
    key : str
        The widget key the map is drawn under.
    hash_key : str
        The component's own key, derived from the script and ``key`` as ``st_folium`` derives
        it (a new map is a new component instance).
    """

    script: str
    header: str
    html: str
    map_id: str
    bounds: dict = field(hash=False)
    zoom: Any
    css_links: tuple[str, ...]
    js_links: tuple[str, ...]
    key: str
    hash_key: str


def _assets(m: folium.Map) -> Iterator[folium.elements.JSCSSMixin]:
    if isinstance(m, folium.elements.JSCSSMixin):
        yield m
    for child in getattr(m, "_children", {}).values():
        yield from _assets(child)


def _bounds(m: folium.Map) -> dict:
    (south, west), (north, east) = m.get_bounds()
    return {
        "_southWest": {"lat": south, "lng": west},
        "_northEast": {"lat": north, "lng": east},
    }


def frame_of(m: folium.Map, *, key: str) -> MapFrame:
    """The component's arguments for ``m``, whose page (``m.get_root()``) is rendered already.

    Parameters
    ----------
    m : folium.Map
        A built map; it is changed (element ids renamed as ``st_folium`` renames them), so it
        must not be drawn again.
    key : str
        The widget key the map will be drawn under (``st_folium``'s ``key``).

    Returns
    -------
    MapFrame
    """
    m.render()
    # the order matters: the script's conversion renames the elements' ids (as st_folium does)
    html = stf._get_html(m)
    header = stf._get_header(m)
    script = stf._get_map_string(m)
    css: list[str] = []
    js: list[str] = []
    for element in _assets(m):
        css.extend(href for _, href in getattr(element, "default_css", []))
        js.extend(src for _, src in getattr(element, "default_js", []))
    return MapFrame(
        script=script,
        header=header,
        html=html,
        map_id=stf.get_full_id(m),
        bounds=_bounds(m),
        zoom=m.options.get("zoom"),
        css_links=tuple(dict.fromkeys(css)),
        js_links=tuple(dict.fromkeys(js)),
        key=key,
        hash_key=stf.generate_js_hash(script, key, False),
    )


def draw(
    frame: MapFrame,
    *,
    height: int,
    returned_objects: Iterable[str],
    use_container_width: bool = True,
    width: int | None = 500,
) -> dict | None:
    """Draw ``frame`` with streamlit-folium's component; returns what the map reports, as
    ``st_folium`` does (and, as it does, keeps it in ``st.session_state[frame.key]``).

    The arguments depend on ``frame`` alone (no restyle among them: :func:`restyle`), so the
    element is the same message for every rerun of the same map."""
    returned = list(returned_objects)
    everything = dict.fromkeys(_DEFAULT_KEYS)
    everything.update(bounds=copy.deepcopy(frame.bounds), zoom=frame.zoom)
    defaults = {k: v for k, v in everything.items() if k in returned}
    hash_key = frame.hash_key

    def on_change() -> None:
        st.session_state[frame.key] = st.session_state.get(hash_key, {})

    return stf._component_func(
        script=frame.script,
        header=frame.header,
        html=frame.html,
        id=frame.map_id,
        key=hash_key,
        height=height,
        width=None if use_container_width else width,
        returned_objects=returned,
        default=defaults,
        zoom=None,
        center=None,
        feature_group=None,
        return_on_hover=False,
        layer_control=None,
        pixelated=False,
        css_links=list(frame.css_links),
        js_links=list(frame.js_links),
        on_change=on_change,
        wrap_longitude=False,
    )


# Runs in the hidden frame of :func:`restyle`: finds the map's frame on the page (the one
# whose window has the base map's ``geoRestyle``) and runs the call on its map, once per map
# and call; it keeps looking, so a map drawn later (a first load, a new map) is coloured too.
_RESTYLE_PAGE = """<!doctype html><meta charset="utf-8"><script>
(function () {
  var call = %(call)s, key = %(key)s;
  function mapWindow() {
    var frames = window.parent.document.querySelectorAll("iframe");
    for (var i = 0; i < frames.length; i++) {
      try {
        var w = frames[i].contentWindow;
        if (w && w.geoRestyle && w.map) { return w; }
      } catch (e) { /* another origin's frame */ }
    }
    return null;
  }
  function apply() {
    var w = mapWindow();
    if (w && w.map.geoRestyleKey !== key) { w.eval(call); w.map.geoRestyleKey = key; }
  }
  apply();
  setInterval(apply, 250);
})();
</script>"""


def restyle_page(call: str) -> str:
    """The hidden frame's page that runs ``call`` (``geo.webmap.restyle_call``, on
    ``window.map``) on the map's frame; ``call`` goes in as a JavaScript string (no ``<`` in it,
    so no text can close the script)."""
    key = hashlib.sha256(call.encode("utf-8")).hexdigest()[:16]

    def literal(text: str) -> str:
        return json.dumps(text).replace("<", "\\u003c").replace(">", "\\u003e")

    return _RESTYLE_PAGE % {"call": literal(call), "key": literal(key)}


def restyle(call: str) -> None:
    """Colour the map on the page by ``call`` from a hidden element of its own (the app's
    CSS hides ``.st-key-geo_restyle``), so the map's own element never changes with it."""
    with st.container(key="geo_restyle"):
        components.html(restyle_page(call), height=0)
