"""The interactive township map: a folium map that needs no network.

One function, :func:`build_map`, draws a choropleth of one metric per township, township labels,
item markers with popups, village points and the county outline, with a Chinese legend and
layer control. Scripts come from local files (:mod:`geo.assets`); the default base map is blank.
Bulletin text is untrusted: every string from it is ``html.escape``-d (braces too) before it
reaches a popup, tooltip, label or legend; JSON embedded in scripts has ``<`` and ``>`` escaped,
and our elements' scripts are never compiled as Jinja templates (see :class:`_Direct`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from geo import aggregate as agg
from geo.assets import localise
from geo.boundaries import gcj02_to_wgs84, wgs84_to_gcj02
from geo.display import (
    APPROXIMATE_BADGE,
    APPROXIMATE_EXPLANATION,
    BASEMAP_OFFLINE_NOTE,
    COUNTY_ITEMS_LABEL,
    COUNTY_UNIT_COLOR,
    COUNTY_UNIT_LEGEND,
    GROUP_MARKER_COLOR,
    GROUP_MARKER_LABEL,
    NO_TOWNSHIPS_NOTE,
    NODATA_LABEL,
    POPUP_TEXT,
    REVIEW_LEGEND,
    SECTOR_COLORS,
    SECTOR_KEY_TITLE,
    Classes,
    classify,
    county_units_note,
    format_value,
    item_title,
    left_out_note,
    metric_texts,
    sector_color,
    sector_label,
)
from geo.errors import GeoInputError
from geo.review import needs_review_mask
from geo.view import MapView

__all__ = [
    "ATTRIBUTION_PREFIX",
    "BASEMAPS",
    "BASEMAPS_PATH",
    "Basemap",
    "build_map",
    "display_to_wgs84",
    "load_basemaps",
    "restyle_call",
]

BASEMAPS_PATH = Path(__file__).resolve().parents[1] / "data" / "config" / "basemaps.json"
_CLUSTER_FROM = 40  # cluster item markers from this many on
#: More items than this are drawn as one marker per place (their count and sectors) instead of
#: one per item: items sit on a few hundred township and village points, so 100,000 markers
#: would only pile up, and every planner's browser would be sent all of them.
ITEM_MARKERS_MAX = 20_000
#: The township layer's name in the layer control (the legend names the metric).
TOWNSHIP_LAYER_NAME = "乡镇（按指标着色）"
#: A township before :func:`restyle_call` colours it (and where its payload says nothing).
_TOWNSHIP_STYLE = {"color": "#555555", "weight": 1, "fillColor": "#cccccc", "fillOpacity": 0.6}
_SIMPLIFY = 1e-4  # degrees (~10 m): invisible at county scale, halves the payload
_GRID = 1e-5  # coordinate rounding
_DIGITS = 5  # decimals of point coordinates (= _GRID)
_KEY_OK = re.compile(r"[A-Za-z0-9]{1,64}")
_BLANK_BACKGROUND = "#f7f6f2"  # the map's background without tiles
#: Leaflet's attribution prefix: the plain name, never Leaflet 1.9's default with a flag.
ATTRIBUTION_PREFIX = "Leaflet"
_TILE_WAIT_MS = 8000  # tiles that started loading and sent nothing back by then: unreachable


# --------------------------------------------------------------------------- base maps


@dataclass(frozen=True)
class Basemap:
    """One base map of ``data/config/basemaps.json``.

    Attributes
    ----------
    key : str
        Identifier used in URLs (``"none"``, ``"osm"``, ``"amap"``...).
    name_zh : str
        Menu name.
    datum : str
        Datum of the tiles (``"WGS84"``, ``"CGCS2000"``, ``"GCJ-02"``).
    gcj02 : bool
        Overlays must be shifted to GCJ-02 to sit on the tiles.
    layers : tuple of dict
        Tile layers: ``url`` (Leaflet template; ``{tk}`` = key placeholder), ``attribution``,
        optional ``name_zh``, ``overlay``, ``subdomains``, ``max_zoom``.
    needs_key : str, optional
        Name of the key the tiles need (``"tianditu"``).
    note_zh : str
        Note shown on the map when this base map is on.
    note_missing_key_zh : str
        Note shown instead of the tiles when the key is missing.
    """

    key: str
    name_zh: str
    datum: str = "n/a"
    gcj02: bool = False
    layers: tuple[dict, ...] = field(default_factory=tuple)
    needs_key: str | None = None
    note_zh: str = ""
    note_missing_key_zh: str = ""


@lru_cache(maxsize=4)
def _basemaps(path: str) -> dict[str, Basemap]:
    cfg = json.loads(Path(path).read_text(encoding="utf-8"))
    out = {}
    for b in cfg["basemaps"]:
        out[b["key"]] = Basemap(
            key=b["key"],
            name_zh=b["name_zh"],
            datum=b.get("datum", "n/a"),
            gcj02=bool(b.get("gcj02", False)),
            layers=tuple(dict(layer) for layer in b.get("layers", ())),
            needs_key=b.get("needs_key"),
            note_zh=b.get("note_zh", ""),
            note_missing_key_zh=b.get("note_missing_key_zh", ""),
        )
    return out


def load_basemaps(path: str | Path | None = None) -> dict[str, Basemap]:
    """Base maps by key, in menu order, from ``data/config/basemaps.json``.

    Parameters
    ----------
    path : str or Path, optional
        Another base-map file of the same form.

    Returns
    -------
    dict of str to Basemap
    """
    return dict(_basemaps(str(path or BASEMAPS_PATH)))


#: Base maps offered to users: key → Chinese name (menu order). "none" works offline.
BASEMAPS: dict[str, str] = {k: b.name_zh for k, b in load_basemaps().items()}


# --------------------------------------------------------------------------- helpers


def display_to_wgs84(lat: float, lon: float, basemap: str = "none") -> tuple[float, float]:
    """A map position as WGS84: undoes the GCJ-02 shift of 高德-type base maps.

    The map of a GCJ-02 base map is drawn in shifted coordinates, so the centre it reports is
    ~500 m off WGS84; shared links and other base maps need the WGS84 position.

    Parameters
    ----------
    lat, lon : float
        Position reported by the map.
    basemap : str
        Key of the base map it was drawn on.

    Returns
    -------
    (lat, lon)
    """
    return _point_shift(lat, lon, basemap, to_display=False)


def _point_shift(lat: float, lon: float, basemap: str, *, to_display: bool) -> tuple[float, float]:
    bm = load_basemaps().get(basemap)
    if bm is None or not bm.gcj02:
        return float(lat), float(lon)

    pt = gpd.GeoDataFrame(geometry=gpd.points_from_xy([float(lon)], [float(lat)]), crs=4326)
    out = (wgs84_to_gcj02 if to_display else gcj02_to_wgs84)(pt).geometry.iloc[0]
    return float(out.y), float(out.x)


_JINJA_OPENERS = re.compile(r"\{([{%#])")


def _safe_json(obj) -> str:
    """JSON for embedding inside a <script> element."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # "<" and ">" only: enough to keep "</script>" out; "&" stays so escaped text reads as is.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e")
    # folium/branca compile rendered scripts as Jinja templates: a "{{" from bulletin text would
    # be evaluated. Compact JSON has "{{", "{%" and "{#" only inside strings, where a \u escape
    # reads the same.
    return _JINJA_OPENERS.sub(lambda m: f"{{\\u{ord(m.group(1)):04x}", text)


# html.escape(quote=True) plus braces, so that no Jinja pass can see "{{" or "{%".
_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&#x27;",
        "{": "&#123;",
        "}": "&#125;",
    }
)


def _e(value) -> str:
    """HTML-escaped text (quotes and braces too); ``""`` for None and NaN."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).translate(_ESCAPES)


def _to_wgs84(gdf):
    if gdf is None or len(gdf) == 0:
        return gdf
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        return gdf.to_crs(4326)
    return gdf


def _to_gcj02(gdf):
    """Shift WGS84 geometries to GCJ-02 so they sit on 高德 tiles."""
    if gdf is None or len(gdf) == 0:
        return gdf
    return wgs84_to_gcj02(gdf)


def _compact(gdf):
    """Simplified, rounded geometries: a small payload for the browser."""
    import shapely

    out = gdf.copy()
    geoms = shapely.simplify(out.geometry.values, _SIMPLIFY, preserve_topology=True)
    out.geometry = shapely.set_precision(geoms, _GRID)
    return out


def _features(gdf, props) -> dict:
    """A FeatureCollection from geometries and a list of property dicts."""
    import shapely

    feats = []
    for geom, p in zip(gdf.geometry.values, props, strict=True):
        if geom is None or geom.is_empty:
            continue
        feats.append(
            {"type": "Feature", "properties": p, "geometry": json.loads(shapely.to_geojson(geom))}
        )
    return {"type": "FeatureCollection", "features": feats}


# --------------------------------------------------------------------------- map elements


class _Raw(Element):
    """Text that joins the page as it is."""

    def __init__(self, text: str):
        super().__init__()
        self._text = text

    def render(self, **kwargs) -> str:
        return self._text


class _Direct(MacroElement):
    """A MacroElement whose rendered parts join the page as plain text.

    branca wraps each rendered macro in a new ``Element``, which compiles it as a Jinja template
    once more: slow for a big payload (0.8 s for 6 MB) and unsafe, since a "{{" in bulletin text
    would be evaluated. Elements of this module skip that second pass.
    """

    def render(self, **kwargs) -> None:
        figure = self.get_root()
        module = self._template.module
        for part, target in (
            ("header", figure.header),
            ("html", figure.html),
            ("script", figure.script),
        ):
            macro = getattr(module, part, None)
            if macro is not None:
                target.add_child(_Raw(macro(self, kwargs)), name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)


class _Setup(_Direct):
    """Page CSS and the SVG hatch pattern used for 无数据 townships."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
          if (document.getElementById("geo-map-style")) { return; }
          var style = document.createElement("style");
          style.id = "geo-map-style";
          style.textContent = {{ this.css }};
          document.head.appendChild(style);
          var ns = "http://www.w3.org/2000/svg";
          var svg = document.createElementNS(ns, "svg");
          svg.setAttribute("width", "0"); svg.setAttribute("height", "0");
          svg.style.position = "absolute";
          svg.innerHTML = {{ this.defs }};
          document.body.appendChild(svg);
        })();
        L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        if ({{ this._parent.get_name() }}.attributionControl) {
          {{ this._parent.get_name() }}.attributionControl.setPrefix({{ this.prefix }});
        }
        {% endmacro %}
        """
    )

    def __init__(self, background: str, *, fill_frame: bool = False):
        super().__init__()
        self._name = "GeoSetup"
        # streamlit-folium gives its map div a fixed height; the app sizes the frame instead
        fill = "#map_div { height: 100vh !important; }\n" if fill_frame else ""
        css = (
            fill
            + f"""
.leaflet-container {{ background: {background}; font-family: "Noto Sans CJK SC",
  "Microsoft YaHei", "PingFang SC", sans-serif; }}
.geo-tlabel {{ background: none; border: none; pointer-events: none; }}
.geo-tlabel span {{ display: inline-block; color: #222; font-size: 12px; font-weight: 600;
  white-space: nowrap; text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff;
  transform: translate(-50%, -190%); }}
.geo-box {{ background: rgba(255,255,255,0.92); padding: 6px 9px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font-size: 12px; line-height: 1.5; color: #222; }}
.geo-legend i {{ display: inline-block; width: 18px; height: 12px; margin-right: 6px;
  vertical-align: middle; border: 1px solid #999; }}
.geo-legend .geo-nodata {{ background: repeating-linear-gradient(45deg, #eeeeee 0 3px,
  #9e9e9e 3px 5px); }}
.geo-note {{ color: #8a4b00; font-weight: 600; max-width: 260px; }}
.geo-title {{ font-size: 15px; font-weight: 700; }}
.geo-head {{ max-width: 420px; }}
.geo-caption {{ color: #444; }}
.geo-attr {{ color: #444; font-size: 10px; line-height: 1.35; max-width: 560px; }}
.geo-pop {{ font-size: 12px; line-height: 1.5; max-width: 300px; }}
.geo-pop b {{ font-size: 13px; }}
.geo-pop ul {{ margin: 4px 0; padding-left: 16px; }}
.geo-pop small {{ color: #8a4b00; }}
.geo-badge {{ display: inline-flex; align-items: center; gap: 4px; border: 1px solid #e0b062;
  background: #fff6e0; color: #7a4100; font-family: inherit; font-size: 12px;
  font-weight: 600; line-height: 1.4; padding: 3px 8px;
  border-radius: 12px; cursor: pointer; box-shadow: 0 1px 3px rgba(0,0,0,0.25); }}
.geo-badge:hover, .geo-badge:focus-visible {{ background: #ffecc2; outline: none; }}
.geo-explain {{ margin-top: 6px; max-width: 300px; font-size: 12px; line-height: 1.55; }}
.geo-explain p {{ margin: 0 0 4px; }}
.geo-explain p:first-child {{ color: #8a4b00; font-weight: 700; }}
.geo-explain button {{ float: right; border: 1px solid #bbb; background: #fff;
  border-radius: 4px; font-size: 12px; padding: 1px 8px; cursor: pointer; }}
.geo-offline {{ color: #7a2e00; font-weight: 600; max-width: 280px; }}
.geo-focus {{ pointer-events: none; }}
.geo-group {{ display: flex; align-items: center; justify-content: center; border-radius: 50%;
  background: {GROUP_MARKER_COLOR}; border: 2px solid #ffffff; color: #ffffff;
  font-size: 12px; font-weight: 700; box-shadow: 0 1px 3px rgba(0,0,0,0.35);
  box-sizing: border-box; }}
.geo-legend i.geo-dot {{ width: 11px; height: 11px; border-radius: 50%; margin: 0 9px 0 3px;
  border: 1px solid #ffffff; box-shadow: 0 0 0 1px #999; }}
.geo-legend-sub {{ margin-top: 4px; color: #444; }}
.geo-legend {{ max-width: 250px; }}
.geo-keys span {{ display: inline-block; white-space: nowrap; margin-right: 6px; }}
.geo-legend .geo-keys i.geo-dot {{ margin: 0 3px 0 2px; }}
@media (max-width: 420px) {{
  /* a phone: the dots' key would cover the county; each dot's popup names its sector */
  .geo-legend-sub, .geo-keys, .geo-legend .geo-group-row {{ display: none; }}
}}
@media (max-width: 600px) {{
  .geo-pop {{ font-size: 14px; line-height: 1.55; }}
  .geo-pop b {{ font-size: 15px; }}
  .leaflet-tooltip {{ font-size: 13px; }}
  .geo-box {{ padding: 4px 7px; font-size: 11px; }}
  .geo-legend i {{ width: 14px; height: 10px; margin-right: 4px; }}
  .geo-explain {{ max-width: 240px; }}
  .geo-tlabel span {{ font-size: 11px; }}
}}
"""
        )
        defs = (
            '<defs><pattern id="geo-nodata-hatch" patternUnits="userSpaceOnUse" width="8"'
            ' height="8" patternTransform="rotate(45)"><rect width="8" height="8"'
            ' fill="#eeeeee"/><line x1="0" y1="0" x2="0" y2="8" stroke="#9e9e9e"'
            ' stroke-width="3"/></pattern></defs>'
        )
        self.css = _safe_json(css)
        self.defs = _safe_json(defs)
        self.prefix = _safe_json(ATTRIBUTION_PREFIX)


class _PointLayer(JSCSSMixin, Layer, _Direct):
    """Points from a GeoJSON FeatureCollection: item markers, village dots or text labels.

    Properties used: ``popup`` and ``tip`` (already escaped HTML), ``color``, ``html`` (labels).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
          var data = {{ this.data }};
          var o = {{ this.opts }};
          var group = o.cluster
            ? L.markerClusterGroup({showCoverageOnHover: false, maxClusterRadius: 40})
            : L.featureGroup();
          var layers = [];
          L.geoJSON(data, {
            pointToLayer: function (f, latlng) {
              var p = f.properties;
              if (o.kind === "label") {
                return L.marker(latlng, {icon: L.divIcon({className: "geo-tlabel",
                  html: p.html, iconSize: null}), interactive: false, keyboard: false});
              }
              return L.circleMarker(latlng, {radius: o.radius, color: o.stroke, weight: 1,
                fillColor: p.color || o.fill, fillOpacity: 0.85});
            },
            onEachFeature: function (f, layer) {
              if (f.properties.popup) { layer.bindPopup(f.properties.popup, {maxWidth: 320}); }
              if (f.properties.tip) { layer.bindTooltip(f.properties.tip); }
            }
          }).eachLayer(function (l) { layers.push(l); });
          if (o.cluster) { group.addLayers(layers); }
          else { layers.forEach(function (l) { group.addLayer(l); }); }
          return group;
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: dict,
        *,
        name: str,
        kind: str = "marker",
        cluster: bool = False,
        radius: float = 6,
        fill: str = "#3182bd",
        stroke: str = "#ffffff",
        show: bool = True,
        control: bool = True,
    ):
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "GeoPoints"
        self.data = _safe_json(data)
        opts = {"kind": kind, "cluster": cluster, "radius": radius, "fill": fill, "stroke": stroke}
        self.opts = _safe_json(opts)
        if cluster:
            self.default_js = [("markerclusterjs", "")]
            self.default_css = [("markerclustercss", ""), ("markerclusterdefaultcss", "")]


class _Box(_Direct):
    """A Leaflet control holding pre-escaped HTML (legend, notes, title)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
          var c = L.control({position: {{ this.position }}});
          c.onAdd = function () {
            var div = L.DomUtil.create("div", {{ this.cls }});
            div.innerHTML = {{ this.html }};
            L.DomEvent.disableClickPropagation(div);
            return div;
          };
          c.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, position: str = "bottomright", cls: str = "geo-box"):
        super().__init__()
        self._name = "GeoBox"
        self.html = _safe_json(html_text)
        self.position = _safe_json(position)
        self.cls = _safe_json(cls)


class _Restylable(_Direct):
    """Names a layer on its map (``map.<slot>``) for :func:`restyle_call`'s script."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.{{ this.slot }} = {{ this.layer.get_name() }};
        {% endmacro %}
        """
    )

    def __init__(self, slot: str, layer: folium.GeoJson):
        super().__init__()
        self._name = "GeoRestylable"
        self.slot = slot
        self.layer = layer


class _RestyleFunction(_Direct):
    """``geoRestyle(map, payload)``: colours the townships, sets the township and county-unit
    tooltips (HTML escaped in Python) and fills the legend. The app calls it again with a
    new payload when only the metric changes, on the map already drawn."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>.geo-tip th { text-align: left; padding-right: 6px; font-weight: normal;
        color: #555; } .geo-tip td { font-weight: bold; }</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        window.geoRestyle = function (map, p) {
          function tips(group, table, key) {
            group.eachLayer(function (l) {
              var tip = table[l.feature.properties[key]];
              l.unbindTooltip();
              if (tip) { l.bindTooltip(tip, {sticky: true}); }
            });
          }
          var t = map.geoTownships, base = {{ this.base }};
          if (t) {
            t.options.style = function (f) {
              var c = f.properties.township_code, s = Object.assign({}, base);
              if (p.fill[c]) { s.fillColor = p.fill[c]; }
              if (c in p.opacity) { s.fillOpacity = p.opacity[c]; }
              return s;
            };
            t.eachLayer(function (l) { t.resetStyle(l); });
            tips(t, p.tips, "township_code");
          }
          if (map.geoUnits) { tips(map.geoUnits, p.units, "county_code"); }
          var box = map.getContainer().querySelector(".geo-legend");
          if (box && p.legend !== null) { box.innerHTML = p.legend; }
          map.geoRestyled = (map.geoRestyled || 0) + 1;
        };
        {% endmacro %}
        """
    )

    def __init__(self):
        super().__init__()
        self._name = "GeoRestyleFunction"
        self.base = _safe_json(_TOWNSHIP_STYLE)


class _RestyleCall(_Direct):
    """The restyle of an exported map, run as the page loads."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this.call }}
        {% endmacro %}
        """
    )

    def __init__(self, call: str):
        super().__init__()
        self._name = "GeoRestyleCall"
        self.call = call


class _Badge(_Direct):
    """The approximate-boundary badge: a small button on the map that opens the explanation.

    The badge and explanation texts are escaped in Python; the script only shows and hides
    the explanation (it starts hidden, so snapshots show the badge alone).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
          var c = L.control({position: {{ this.position }}});
          c.onAdd = function () {
            var div = L.DomUtil.create("div", "geo-badge-box");
            div.innerHTML = {{ this.html }};
            var badge = div.querySelector(".geo-badge");
            var box = div.querySelector(".geo-explain");
            function show(open) {
              box.hidden = !open;
              badge.setAttribute("aria-expanded", open ? "true" : "false");
            }
            L.DomEvent.on(badge, "click", function () { show(box.hidden); });
            L.DomEvent.on(box.querySelector("button"), "click", function () { show(false); });
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
          };
          c.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, badge: str, explanation: list[str] | tuple[str, ...], position: str):
        super().__init__()
        self._name = "GeoBadge"
        paras = "".join(f"<p>{_e(line)}</p>" for line in explanation if line)
        html_text = (
            f'<button type="button" class="geo-badge" aria-expanded="false" title="点击查看说明">'
            f'⚠ {_e(badge)} <span aria-hidden="true">ⓘ</span></button>'
            f'<div class="geo-box geo-explain" role="note" hidden>{paras}'
            '<button type="button">知道了</button></div>'
        )
        self.html = _safe_json(html_text)
        self.position = _safe_json(position)


class _TileWatch(_Direct):
    """Says once, on the map, that the base map cannot load, and takes its tiles away.

    On a closed network tile requests fail (``tileerror``) or hang; either way Leaflet would
    leave an empty grey grid. When the tiles started loading and none arrived (two errors, or
    nothing after ``wait_ms``), the tile layers are removed, the blank background comes back and
    one note says why; overlays stay.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
          var map = {{ this._parent.get_name() }};
          var layers = [{{ this.layer_list }}];
          var o = {{ this.opts }};
          var started = 0, loaded = 0, failed = 0, said = false;
          function giveUp() {
            layers.forEach(function (l) { if (map.hasLayer(l)) { map.removeLayer(l); } });
            map.getContainer().style.background = o.background;
            if (said) { return; }
            said = true;
            var c = L.control({position: o.position});
            c.onAdd = function () {
              var div = L.DomUtil.create("div", "geo-box geo-offline");
              div.setAttribute("role", "status");
              div.innerHTML = o.html;
              L.DomEvent.disableClickPropagation(div);
              return div;
            };
            c.addTo(map);
          }
          layers.forEach(function (l) {
            l.on("tileloadstart", function () {
              started += 1;
              if (started === 1) {
                setTimeout(function () { if (!loaded) { giveUp(); } }, o.wait_ms);
              }
            });
            l.on("tileload", function () { loaded += 1; });
            l.on("tileerror", function () {
              failed += 1;
              if (!loaded && failed >= 2) { giveUp(); }
            });
          });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, layer_names: list[str], background: str, wait_ms: int | None = None):
        super().__init__()
        self._name = "GeoTileWatch"
        # folium's own variable names (tile_layer_<hex>): identifiers, never user text
        names = [n for n in layer_names if re.fullmatch(r"[A-Za-z_]\w*", n)]
        self.layer_list = ", ".join(names)
        opts = {
            "background": background,
            "wait_ms": int(_TILE_WAIT_MS if wait_ms is None else wait_ms),
            "position": "bottomleft",
            "html": _e(BASEMAP_OFFLINE_NOTE),
        }
        self.opts = _safe_json(opts)


def _legend_html(
    title: str,
    classes: Classes,
    has_nodata: bool,
    county_units: bool = False,
    sectors: tuple[tuple[str, str], ...] = (),
    grouped: bool = False,
    county_items: bool = False,
    review_items: bool = False,
    left_out: int = 0,
) -> str:
    """The legend: the classes, 无数据, a prefecture's county units, then the key of the item
    dots (one colour per sector shown, the numbered dot of items sharing a place, the hollow
    dot of a place needing review, saying how many items the counts leave out)."""
    rows = [f'<div class="geo-legend-title"><b>{_e(title)}</b></div>']
    for color, label in zip(classes.colors, classes.labels, strict=True):
        rows.append(f'<div><i style="background:{color}"></i>{_e(label)}</div>')
    if has_nodata or (not classes.colors and not county_units):
        rows.append(f'<div><i class="geo-nodata"></i>{NODATA_LABEL}</div>')
    if county_units:
        rows.append(
            f'<div><i style="background:{COUNTY_UNIT_COLOR}"></i>{COUNTY_UNIT_LEGEND}</div>'
        )
    if sectors:
        rows.append(f'<div class="geo-legend-sub">{_e(SECTOR_KEY_TITLE)}</div>')
        keys = "".join(
            f'<span><i class="geo-dot" style="background:{color}"></i>{_e(label)}</span>'
            for label, color in sectors
        )
        rows.append(f'<div class="geo-keys">{keys}</div>')
    if grouped:
        # the numbered dot: items sharing a place (county-wide ones pile up on the seat)
        where = f"；{COUNTY_ITEMS_LABEL}" if county_items else ""
        rows.append(
            f'<div class="geo-group-row"><i class="geo-dot geo-group-key" '
            f'style="background:{GROUP_MARKER_COLOR}"></i>{GROUP_MARKER_LABEL}{where}</div>'
        )
    if review_items:
        rows.append(
            '<div><i style="border-radius:50%;width:10px;height:10px;background:none;'
            f'border:2px solid #737373;box-sizing:border-box"></i>{REVIEW_LEGEND}'
            f"{'（' + left_out_note(left_out) + '）' if left_out else ''}</div>"
        )
    return "".join(rows)


def _sector_key(points) -> tuple[tuple[str, str], ...]:
    """(name, colour) of each sector among the item dots, in the taxonomy's order."""
    if not len(points) or "sector" not in points:
        return ()
    slugs = points["sector"].where(points["sector"].notna() & (points["sector"] != ""), "other")
    present = set(slugs.astype(str))
    order = [s for s in SECTOR_COLORS if s in present] + sorted(present - set(SECTOR_COLORS))
    return tuple((sector_label(s), sector_color(s)) for s in order)


def _clustered(points) -> bool:
    """Items sharing a point (e.g. county-wide ones at the seat) only separate in a cluster."""
    if len(points) >= _CLUSTER_FROM:
        return True
    xy = np.column_stack([points.geometry.x.to_numpy(), points.geometry.y.to_numpy()])
    return len(np.unique(xy, axis=0)) < len(points)


class _ItemLayer(JSCSSMixin, Layer, _Direct):
    """Item markers from a compact table (see :func:`_item_data`), popups built on opening.

    One record per item instead of a GeoJSON feature with its popup HTML keeps 10,000 items
    near 1.5 MB: points, sectors and strings are shared through lookup tables. Every string in
    the table is HTML-escaped in Python; the script only adds fixed markup around them.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
          var d = {{ this.data }};
          var o = {{ this.opts }};
          var S = d.s, t = o.text;
          // one marker style: a numbered dot (the legend's) where items share a place
          function groupIcon(c) {
            var n = c.getChildCount(), px = n < 10 ? 24 : n < 100 ? 30 : 36;
            return L.divIcon({html: "<span>" + n + "</span>", className: "geo-group",
              iconSize: L.point(px, px)});
          }
          var group = o.cluster
            ? L.markerClusterGroup({showCoverageOnHover: false, maxClusterRadius: 40,
                chunkedLoading: true, iconCreateFunction: groupIcon})
            : L.featureGroup();
          // records whose place needs review, with their words; per place (d.h), only the
          // places where every item does are drawn hollow
          var Q = {}, H = null;
          (d.q || []).forEach(function (i, j) { Q[i] = d.c[j]; });
          if (d.h) { H = {}; d.h.forEach(function (i) { H[i] = true; }); }
          function popup(r, n) {
            var k = d.k[r[1]];
            var h = '<div class="geo-pop"><b>' + (S[r[2]] || t.untitled) + '</b><div>'
              + S[k[0]] + ' · ' + S[r[3]] + '</div>';
            if (Q.hasOwnProperty(n)) {
              h += '<div class="geo-review">' + (H ? t.review_place : t.review) + Q[n]
                + '</div>';
            }
            if (r[4]) { h += '<div>' + t.unit + S[r[4]] + '</div>'; }
            if (r[5]) { h += '<div>' + t.source + S[r[5]] + '</div>'; }
            if (r.length > 6) {
              h += '<ul>';
              for (var j = 6; j < r.length; j += 2) {
                h += '<li>' + S[r[j]] + '：' + S[r[j + 1]] + '</li>';
              }
              h += '</ul>';
            }
            return h + '<small>' + t.note + '</small></div>';
          }
          // a popup never wider than the map (phones): readable without zooming
          var width = Math.max(200, Math.min(320, window.innerWidth - 60));
          var layers = d.i.map(function (r, n) {
            // a place that still needs review: a hollow ring in the sector's colour
            var style = (H ? H.hasOwnProperty(n) : Q.hasOwnProperty(n))
              ? {radius: o.radius, color: d.k[r[1]][1], weight: 2.5, fillOpacity: 0,
                 className: "geo-review-marker"}
              : {radius: o.radius, color: o.stroke, weight: 1, fillColor: d.k[r[1]][1],
                 fillOpacity: 0.85};
            return L.circleMarker(d.p[r[0]], style)
              .bindPopup(function () { return popup(r, n); }, {maxWidth: width});
          });
          if (o.cluster) { group.addLayers(layers); }
          else { layers.forEach(function (l) { group.addLayer(l); }); }
          if (o.focus !== null && layers[o.focus]) {
            // the item a planner jumped to from the table: ringed, its popup open
            group.once("add", function () {
              var l = layers[o.focus], map = group._map;
              L.circleMarker(l.getLatLng(), {radius: 13, color: "#b5452b", weight: 3,
                fill: false, interactive: false, className: "geo-focus"}).addTo(map);
              // on the map itself, not the marker: a marker inside a cluster has no popup to
              // open; after the first view is set (a fit to the townships comes last)
              setTimeout(function () {
                L.popup({maxWidth: width}).setLatLng(l.getLatLng())
                  .setContent(popup(d.i[o.focus], o.focus)).openOn(map);
              }, 0);
            });
          }
          return group;
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self, data: dict, *, name: str, cluster: bool, show: bool = True, focus: int | None = None
    ):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "GeoItems"
        self.data = _safe_json(data)
        text = {k: _e(v) for k, v in POPUP_TEXT.items()}
        opts = {"cluster": cluster, "radius": 6, "stroke": "#ffffff", "text": text, "focus": focus}
        self.opts = _safe_json(opts)
        if cluster:
            self.default_js = [("markerclusterjs", "")]
            self.default_css = [("markerclustercss", ""), ("markerclusterdefaultcss", "")]


def _strings(values: list, escape: bool = True) -> list[str]:
    """``_e`` of each value, escaping each distinct value once."""
    cache: dict = {}
    out = []
    for v in values:
        k = v if isinstance(v, str) else repr(v)
        if k not in cache:
            cache[k] = _e(v) if escape else ("" if v is None else str(v))
        out.append(cache[k])
    return out


def _metric_lines(metrics_df: pd.DataFrame, item_ids=None) -> dict[str, list[tuple[str, str]]]:
    """Escaped (label, value text) pairs per item id.

    Value texts are :func:`geo.display.metric_texts` (digits, 万/亿, the key's unit or the
    bulletin's measure word), escaped.
    """
    if metrics_df is None or metrics_df.empty:
        return {}
    m = agg._with_keys(metrics_df)
    if item_ids is not None:
        m = m[agg._isin(m["item_id"], item_ids)]
    keys = m["metric_key"].astype(str).tolist()
    labels = m["label"].tolist()
    # Labels come from a small vocabulary: escape each distinct (label, key) once.
    names: dict[tuple, str] = {}
    for pair in set(zip(labels, keys, strict=True)):
        names[pair] = _e(pair[0]) or _e(agg.metric_name(pair[1]))
    texts = _strings(metric_texts(m))
    out: dict[str, list[tuple[str, str]]] = {}
    for iid, label, key, text in zip(m["item_id"].tolist(), labels, keys, texts, strict=True):
        out.setdefault(iid, []).append((names[(label, key)], text))
    return out


def _item_data(points, metrics_df: pd.DataFrame, shift) -> dict:
    """The compact item table of :class:`_ItemLayer`.

    ``{"s": strings, "p": [[lat, lon]...], "k": [[sector name, colour]...], "i": items}``,
    an item being ``[point, sector, headline, place, unit, source, label, value, label,
    value...]`` with indexes into ``p``, ``k`` and ``s`` (``s[0] = ""``). Metric labels and
    value texts ("85人") repeat across items, so they are stored apart.
    """
    n = len(points)
    table: dict[str, int] = {"": 0}
    add = table.setdefault  # add(text, len(table)): index of text, added when new
    latlon, where = _spots(points, shift)

    needed = ("item_id", "headline", "body", "unit", "township", "village", "scope", "sector")
    needed += ("bulletin_title", "bulletin_issue", "bulletin_date")
    col = {c: points[c].tolist() if c in points else [None] * n for c in needed}
    heads = _strings(
        [
            h if isinstance(h, str) and h.strip() else item_title(None, b)
            for h, b in zip(col["headline"], col["body"], strict=True)
        ]
    )
    units = _strings(col["unit"])
    towns, villages = _strings(col["township"]), _strings(col["village"])
    scopes = col["scope"]
    sources = [
        " ".join(x for x in parts if x)
        for parts in zip(
            _strings(col["bulletin_title"]),
            _strings(col["bulletin_issue"]),
            _strings(col["bulletin_date"]),
            strict=True,
        )
    ]
    sectors: dict[str, int] = {}
    sector_rows: list[list] = []
    lines = _metric_lines(metrics_df, points["item_id"])
    items = []
    for i in range(n):
        slug = col["sector"][i]
        slug = slug if isinstance(slug, str) and slug else "other"
        if slug not in sectors:
            sectors[slug] = len(sector_rows)
            sector_rows.append([add(_e(sector_label(slug)), len(table)), sector_color(slug)])
        place = towns[i] + villages[i]
        if not place:
            place = COUNTY_ITEMS_LABEL if scopes[i] == "county" else "地点不详"
        row = [
            int(where[i]),
            sectors[slug],
            add(heads[i], len(table)),
            add(place, len(table)),
            add(units[i], len(table)),
            add(sources[i], len(table)),
        ]
        for name, text in lines.get(col["item_id"][i], ()):
            row += (add(name, len(table)), add(text, len(table)))
        items.append(row)
    flagged, confidence = _review_flags(points)
    return {
        "s": list(table),
        "p": latlon,
        "k": sector_rows,
        "i": items,
        "q": flagged,
        "c": confidence,
    }


def _spots(points, shift) -> tuple[list[list[float]], np.ndarray]:
    """``([[lat, lon]...], spot of each point)``: items share a handful of spots (township
    points, village points, the seat), shifted to the base map's datum."""
    xy = np.column_stack([points.geometry.x.to_numpy(), points.geometry.y.to_numpy()])
    spots, where = np.unique(xy, axis=0, return_inverse=True)
    spot_gdf = gpd.GeoDataFrame(geometry=gpd.points_from_xy(spots[:, 0], spots[:, 1]), crs=4326)
    spot_gdf = shift(spot_gdf)
    lat = np.round(spot_gdf.geometry.y.to_numpy(), _DIGITS).tolist()
    lon = np.round(spot_gdf.geometry.x.to_numpy(), _DIGITS).tolist()
    return [[y, x] for y, x in zip(lat, lon, strict=True)], np.asarray(where).ravel()


def _place_data(points, shift, *, top: int = 6) -> dict:
    """The item table of :class:`_ItemLayer` with one record per place instead of per item
    (views of more than :data:`ITEM_MARKERS_MAX` items): the place's item count as its title,
    its largest sectors with their counts as its lines, coloured by its largest sector."""
    latlon, where = _spots(points, shift)
    n = len(points)
    table: dict[str, int] = {"": 0}
    add = table.setdefault
    col = {c: points[c].tolist() if c in points else [None] * n for c in ("township", "village")}
    scope = points["scope"].tolist() if "scope" in points else [None] * n
    slugs = points["sector"].tolist() if "sector" in points else [None] * n
    frame = pd.DataFrame(
        {
            "spot": where,
            "review": needs_review_mask(points).to_numpy(),
            "sector": [s if isinstance(s, str) and s else "other" for s in slugs],
            "place": [
                t + v or (COUNTY_ITEMS_LABEL if sc == "county" else "地点不详")
                for t, v, sc in zip(
                    _strings(col["township"]), _strings(col["village"]), scope, strict=True
                )
            ],
        }
    )
    counts = frame.groupby(["spot", "sector"], sort=False).size()
    places = frame.drop_duplicates("spot").set_index("spot")["place"]
    to_review = frame.groupby("spot")["review"].sum()
    sectors: dict[str, int] = {}
    sector_rows: list[list] = []
    items = []
    for spot, per_sector in counts.groupby(level="spot", sort=True):
        per_sector = per_sector.droplevel("spot").sort_values(ascending=False, kind="stable")
        first = per_sector.index[0]
        if first not in sectors:
            sectors[first] = len(sector_rows)
            sector_rows.append([add(_e(sector_label(first)), len(table)), sector_color(first)])
        title = f"{int(per_sector.sum())} 条事项（按位置汇总，详见下方事项表）"
        row = [
            int(spot),
            sectors[first],
            add(title, len(table)),
            add(places[spot], len(table)),
            0,
            0,
        ]
        for slug, k in per_sector.head(top).items():
            row += (add(_e(sector_label(slug)), len(table)), add(f"{int(k)} 条", len(table)))
        items.append(row)
    flagged, texts, hollow = _place_review(to_review, counts.groupby(level="spot").sum())
    return {
        "s": list(table),
        "p": latlon,
        "k": sector_rows,
        "i": items,
        "q": flagged,
        "c": texts,
        "h": hollow,
    }


def _place_review(to_review: pd.Series, n_items: pd.Series) -> tuple[list, list, list]:
    """Per place record (in spot order): those holding items whose place needs review, with
    the words "3 条（共 8 条）", and those where every item does (hollow rings: the place
    itself is unsure; a place with some sure items keeps its colour)."""
    flagged, texts, hollow = [], [], []
    for record, (k, n) in enumerate(zip(to_review.sort_index(), n_items.sort_index(), strict=True)):
        if k:
            flagged.append(record)
            texts.append(f"{int(k)} 条（共 {int(n)} 条）")
        if k and k == n:
            hollow.append(record)
    return flagged, texts, hollow


def _review_flags(points) -> tuple[list[int], list[str]]:
    """Indexes of the items whose place needs review (hollow markers) and their confidence
    texts ("0.62"; "未评分" for items never scored)."""
    mask = needs_review_mask(points).to_numpy()
    idx = np.flatnonzero(mask).tolist()
    conf = (
        points["confidence"].to_numpy() if "confidence" in points else np.full(len(points), np.nan)
    )
    texts = ["未评分" if pd.isna(conf[i]) else f"{float(conf[i]):.2f}" for i in idx]
    return idx, texts


def _tile_layers(m, basemap: Basemap, tianditu_key: str | None, notes: list[str]) -> list[str]:
    """Add the base map's tile layers; returns their script names (empty: no tiles)."""
    key = ""
    if basemap.needs_key:
        key = str(tianditu_key or "").strip()
        if not key:
            notes.append(basemap.note_missing_key_zh or f"{basemap.name_zh}需要密钥，未加载底图")
            return []
        if not _KEY_OK.fullmatch(key):
            notes.append(f"{basemap.name_zh}密钥格式不对（应为字母和数字），未加载底图")
            return []
    names = []
    for i, layer in enumerate(basemap.layers):
        kw = {"subdomains": layer["subdomains"]} if layer.get("subdomains") else {}
        tile = folium.TileLayer(
            layer["url"].replace("{tk}", key),
            attr=layer.get("attribution", ""),
            name=layer.get("name_zh") or (basemap.name_zh if i == 0 else f"{basemap.name_zh} {i}"),
            overlay=bool(layer.get("overlay", False)),
            max_zoom=int(layer.get("max_zoom", 18)),
            **kw,
        ).add_to(m)
        names.append(tile.get_name())
    if basemap.note_zh:
        notes.append(basemap.note_zh)
    if names:
        _TileWatch(names, _BLANK_BACKGROUND).add_to(m)
    return names


# --------------------------------------------------------------------------- build


@dataclass
class _Frame:
    """What the map draws, in WGS84, with the shift to the base map's datum."""

    tw: gpd.GeoDataFrame
    outline: gpd.GeoDataFrame | None
    points: gpd.GeoDataFrame
    basemap: Basemap
    shift: Any
    notes: list[str]
    units: gpd.GeoDataFrame | None = None  # a prefecture's counties without townships

    @property
    def has_townships(self) -> bool:
        return len(self.tw) > 0

    @property
    def extent(self) -> gpd.GeoDataFrame:
        """What the map fits: the townships, or the outline(s) where they reach further (a
        prefecture with townships in some counties only)."""
        if not self.has_townships:
            return self.outline
        if self.outline is None or self.units is None:
            return self.tw
        return pd.concat([self.tw[["geometry"]], self.outline[["geometry"]]], ignore_index=True)


def build_map(
    view: MapView,
    *,
    assets: str = "static",
    location: tuple[float, float] | None = None,
    zoom: int | None = None,
    tianditu_key: str | None = None,
    labels: bool = True,
    caption: tuple[str, ...] | list[str] = (),
    attribution: tuple[str, ...] | list[str] = (),
    title_box: bool = True,
    explanation: tuple[str, ...] | list[str] = APPROXIMATE_EXPLANATION,
    focus_item: str | None = None,
    fill_frame: bool = False,
    restyle_inline: bool = True,
) -> folium.Map:
    """The interactive township map of a view.

    Parameters
    ----------
    view : geo.view.MapView
        Townships (or none: the county ``outline`` with the county-wide items only), the
        filtered items and metrics, the metric, base map, title and approximate flag. Item
        markers are one compact table with popups built in the browser on opening: 10,000
        items make a page of about 1.5 MB.
    assets : {"static", "inline"}
        See :func:`geo.assets.localise`.
    location, zoom : (lat, lon) and int, optional
        Initial centre in WGS84 (shifted to GCJ-02 on such base maps) and zoom. By default
        the map fits the townships.
    tianditu_key : str, optional
        天地图 key; without it the 天地图 layers are left out and a note says so.
    labels : bool
        Township name labels.
    caption : sequence of str
        Extra lines under the title (filter summary, date, sources), escaped.
    attribution : sequence of str
        Data sources and licences (``geo.view.attribution_lines``), in a small box at the
        bottom left, escaped; the exports pass ``view.attribution``, the app shows its own
        数据来源 section.
    title_box : bool
        The title box at the top left (the app shows its own header line instead).
    explanation : sequence of str
        Paragraphs the approximate-boundary badge opens (escaped); a map of approximate
        townships always carries the badge (:data:`geo.display.APPROXIMATE_BADGE`).
    focus_item : str, optional
        ``item_id`` of an item to ring and open (the app's jump from its table); ignored
        when the item is not on the map.
    fill_frame : bool
        The map fills the height of the streamlit-folium frame it is drawn in (the app sizes
        that frame with CSS).
    restyle_inline : bool
        The metric's colours, legend and township tooltips applied by a script in the map
        (:func:`restyle_call`). ``False``: the map depends on no metric, and the app sends
        :func:`restyle_call` apart (a metric change restyles the map already drawn).

    Returns
    -------
    folium.Map

    Raises
    ------
    GeoInputError
        Townships without ``township_code``, or neither townships nor an outline.
    """
    frame = _frame(view)
    m = _new_map(frame, location, zoom, fill_frame)
    _RestyleFunction().add_to(m)
    _tile_layers(m, frame.basemap, tianditu_key, frame.notes)
    _add_layers(m, frame, view, labels=labels, focus_item=focus_item)
    _add_boxes(m, frame, view, (caption if title_box else None), attribution)
    if restyle_inline:
        _RestyleCall(restyle_call(view, frame=frame, map_name=m.get_name())).add_to(m)
    if frame.has_townships and view.approximate:
        _Badge(APPROXIMATE_BADGE, tuple(explanation), "topleft").add_to(m)
    if location is None:
        _fit(m, frame)
    return localise(m, assets)


def _fit(m: folium.Map, frame: _Frame) -> None:
    """Open the map on the county's extent (on the base map's datum)."""
    bounds = _to_wgs84(frame.shift(frame.extent)).total_bounds
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])


def _add_layers(
    m: folium.Map, frame: _Frame, view: MapView, *, labels: bool, focus_item: str | None
) -> None:
    """The overlays in drawing order (townships, county units, outline, villages, labels,
    items) and the layer control over them."""
    props = _add_choropleth(m, frame)
    _add_county_units(m, frame, view)
    _add_outline(m, frame)
    _add_villages(m, frame, view.villages)
    if labels and frame.has_townships:
        _add_labels(m, frame, props)
    _add_items(m, frame, view.metrics_df, focus_item)
    folium.LayerControl(collapsed=True).add_to(m)


def _frame(view: MapView) -> _Frame:
    """The view's layers checked and in WGS84, its item points, and the first notes."""
    notes: list[str] = []
    basemaps = load_basemaps()
    key = view.basemap
    if key not in basemaps:
        notes.append(f"未知底图 {key}，已改为无底图")
        key = "none"
    bm = basemaps[key]
    townships, outline = view.townships, view.outline
    has_townships = townships is not None and len(townships) > 0
    has_outline = outline is not None and len(outline) > 0
    if townships is not None and "township_code" not in townships.columns:
        raise GeoInputError(
            "乡镇边界缺少 township_code 列：请先与行政区划对照后再制图", code="map.township_code"
        )
    if not has_townships and not has_outline:
        raise GeoInputError(
            "没有乡镇边界，无法制图：请先上传乡镇边界文件", code="map.no_boundaries"
        )
    if has_townships:
        tw = _to_wgs84(townships).reset_index(drop=True)
        tw["township_code"] = tw["township_code"].astype(str)
    else:
        tw = gpd.GeoDataFrame({"township_code": [], "township": []}, geometry=[], crs=4326)
    outline = _to_wgs84(outline) if has_outline else None
    seat = view.county_seat
    if seat is None and not has_townships:
        seat = outline.geometry.union_all().representative_point()
    points = agg.item_points(view.items_df, tw, seat)
    units = _to_wgs84(view.county_units) if view.county_units is not None else None
    items = view.items_df
    if units is not None:  # their items are in the county totals
        notes.append(county_units_note(units["county"].tolist()))
        items = items[~items["county_code"].astype(str).isin(units["county_code"]).to_numpy()]
    placed = items["township_code"].dropna().astype(str)
    missing = int((~placed.isin(tw["township_code"].tolist())).sum())
    if missing and has_townships:
        notes.append(f"{missing} 条事项所在乡镇不在边界图层中，未在图上显示")
    elif missing:
        notes.append(f"{missing} 条乡镇/村事项需乡镇边界才能显示")
    shift = _to_gcj02 if bm.gcj02 else (lambda g: g)
    return _Frame(tw, outline, points, bm, shift, [n for n in notes if n], units)


def _new_map(frame: _Frame, location, zoom, fill_frame: bool = False) -> folium.Map:
    minx, miny, maxx, maxy = frame.extent.total_bounds
    if location is not None:  # given in WGS84, drawn in the tiles' datum
        location = _point_shift(*location, frame.basemap.key, to_display=True)
    center = location or ((miny + maxy) / 2, (minx + maxx) / 2)
    m = folium.Map(
        location=list(center),
        zoom_start=zoom or 10,
        tiles=None,
        control_scale=False,  # a metric-only scale bar is added by _Setup
        width="100%",
        height="100%",
        zoom_snap=0.25,
        # folium hands max_zoom to tile layers only; MarkerCluster needs it on the map itself.
        **{"maxZoom": 18, "minZoom": 4},
    )
    background = _BLANK_BACKGROUND if frame.basemap.key == "none" else "#dddddd"
    _Setup(background, fill_frame=fill_frame).add_to(m)
    return m


def _add_choropleth(m: folium.Map, frame: _Frame) -> list[dict]:
    """The township polygons, grey until :func:`restyle_call` colours them by a metric (so
    the app's map depends on no metric); returns the feature properties."""
    if not frame.has_townships:
        return []
    tw = frame.tw
    codes = tw["township_code"].tolist()
    names = tw["township"].tolist() if "township" in tw else codes
    props = [{"township_code": c, "township": _e(n)} for c, n in zip(codes, names, strict=True)]
    layer = folium.GeoJson(
        _features(_compact(frame.shift(tw)), props),
        name=TOWNSHIP_LAYER_NAME,
        style_function=lambda f: dict(_TOWNSHIP_STYLE),
        highlight_function=lambda f: {"weight": 3, "color": "#000000"},
        zoom_on_click=False,
    ).add_to(m)
    _Restylable("geoTownships", layer).add_to(m)
    return props


def _township_restyle(frame: _Frame, view: MapView) -> tuple[Classes, dict]:
    """The metric's classes and, per township code, fill colour, opacity and tooltip HTML."""
    tw, key = frame.tw, view.metric_key
    unit_zh, label = agg.metric_unit_zh(key), agg.metric_label(key)
    codes = tw["township_code"].tolist()
    table = agg.aggregate_townships(view.counted_items, view.metrics_df, key, township_codes=codes)
    values = table["value"].reindex(codes).to_numpy(dtype=float)
    n_items = table["n_items"].reindex(codes).fillna(0).astype(int).to_numpy()
    classes = classify(values, unit_zh)
    names = tw["township"].tolist() if "township" in tw else codes
    fill, opacity, tips = {}, {}, {}
    for i, code in enumerate(codes):
        v, cls = values[i], int(classes.index[i])
        fill[code] = classes.colors[cls] if cls >= 0 else "url(#geo-nodata-hatch)"
        opacity[code] = 0.75 if np.isfinite(v) else 0.6
        rows = [("乡镇", names[i]), (label, format_value(v, unit_zh))]
        # the number of items is the value itself on the 事项数 map: said once
        if key != "items":  # a township without items says 无数据 like its value, never "0"
            rows.append(("事项数", f"{int(n_items[i])} 条" if n_items[i] else NODATA_LABEL))
        tips[code] = _tip_html(rows)
    return classes, {"fill": fill, "opacity": opacity, "tips": tips}


def _tip_html(rows) -> str:
    """A tooltip's table of (name, value) rows, escaped."""
    cells = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<table class="geo-tip">{cells}</table>'


def _add_county_units(m: folium.Map, frame: _Frame, view: MapView) -> None:
    """A prefecture's counties without townships: hatched, outside the classes, with their
    county-level totals in the tooltip (:func:`restyle_call`) and a label."""
    if frame.units is None or not len(frame.units):
        return
    table = view.county_table
    props = []
    for code, name in zip(frame.units["county_code"], frame.units["county"], strict=True):
        n = int(table.at[code, "n_items"]) if code in table.index else 0
        props.append({"county_code": str(code), "html": f"<span>{_e(name)}<br>全县 {n} 条</span>"})
    shapes = _compact(frame.shift(frame.units))
    layer = folium.GeoJson(
        _features(shapes, props),
        name=COUNTY_UNIT_LEGEND,
        style_function=lambda f: {
            "fillColor": COUNTY_UNIT_COLOR,
            "fillOpacity": 0.7,
            "color": "#777777",
            "weight": 1,
        },
        zoom_on_click=False,
    ).add_to(m)
    _Restylable("geoUnits", layer).add_to(m)
    at = gpd.GeoDataFrame(geometry=shapes.geometry.representative_point().values, crs=4326)
    _PointLayer(_features(at, props), name="县（区）合计", kind="label").add_to(m)


def _unit_tips(frame: _Frame, view: MapView) -> dict[str, str]:
    """Tooltip HTML of each county unit (county code → its totals of the view's metric)."""
    if frame.units is None or not len(frame.units):
        return {}
    table, key = view.county_table, view.metric_key
    unit_zh, label = agg.metric_unit_zh(key), agg.metric_label(key)
    tips = {}
    for code, name in zip(frame.units["county_code"], frame.units["county"], strict=True):
        n = int(table.at[code, "n_items"]) if code in table.index else 0
        value = float(table.at[code, "value"]) if code in table.index else float("nan")
        rows = [
            ("县（区）", f"{name}（全县合计，无乡镇边界）"),
            (label, format_value(value, unit_zh)),
            ("事项数", n),
        ]
        tips[str(code)] = _tip_html(rows)
    return tips


def restyle_call(
    view: MapView, *, frame: _Frame | None = None, map_name: str = "window.map"
) -> str:
    """The script that colours a map of ``view`` (built by :func:`build_map`) by the view's
    metric: township fills and tooltips, county units' tooltips and the legend.

    Parameters
    ----------
    view : geo.view.MapView
    frame : optional
        The view's checked layers, when already made.
    map_name : str
        The JavaScript expression naming the Leaflet map (``window.map`` in
        streamlit-folium's frame).

    Returns
    -------
    str
        ``geoRestyle(<map>, {...});`` with every text escaped.
    """
    frame = frame if frame is not None else _frame(view)
    classes = Classes(np.zeros(0, dtype=int), [], [])
    payload: dict = {"fill": {}, "opacity": {}, "tips": {}}
    if frame.has_townships:
        classes, payload = _township_restyle(frame, view)
    payload["units"] = _unit_tips(frame, view)
    payload["legend"] = _legend_of(frame, view, classes)
    return f"geoRestyle({map_name}, {_safe_json(payload)});"


def _add_outline(m: folium.Map, frame: _Frame) -> None:
    if frame.outline is None:
        return
    ol = _compact(frame.shift(frame.outline))
    folium.GeoJson(
        _features(ol, [{} for _ in range(len(ol))]),
        name="县界",
        style_function=lambda f: {"fill": False, "color": "#222222", "weight": 2.5},
        interactive=False,
    ).add_to(m)


def _add_villages(m: folium.Map, frame: _Frame, villages) -> None:
    if villages is None or not len(villages):
        return
    vg = _compact(frame.shift(_to_wgs84(villages)))
    vg = vg[vg.geometry.notna()]
    vg["geometry"] = vg.geometry.representative_point()
    name_col = next((c for c in ("village", "name") if c in vg.columns), None)
    vnames = vg[name_col] if name_col else [""] * len(vg)
    vprops = [{"tip": f"{_e(n)}（示意位置）"} for n in vnames]
    _PointLayer(
        _features(vg, vprops), name="村（社区）", radius=2.5, fill="#555", stroke="#555", show=False
    ).add_to(m)


def _add_labels(m: folium.Map, frame: _Frame, props: list[dict]) -> None:
    at = gpd.GeoDataFrame(geometry=frame.tw.geometry.representative_point().values, crs=4326)
    # Leaflet positions the icon element itself; the inner span lifts the name above the point.
    lprops = [{"html": f"<span>{p['township']}</span>"} for p in props]
    _PointLayer(_features(_compact(frame.shift(at)), lprops), name="乡镇名称", kind="label").add_to(
        m
    )


def _add_items(m: folium.Map, frame: _Frame, metrics_df: pd.DataFrame, focus_item=None) -> None:
    points = frame.points
    if not len(points):
        return
    hits = []
    if focus_item is not None:
        hits = np.flatnonzero(points["item_id"].astype(str).to_numpy() == str(focus_item))
    name = f"事项（{len(points)}）"
    if len(points) > ITEM_MARKERS_MAX:
        data = _place_data(points, frame.shift)
        name = f"事项（{len(points)}，按位置汇总）"
        focus = None
        if len(hits):  # the item a planner picked in the table: its own marker, over its place
            one = _item_data(points.iloc[hits[:1]], metrics_df, frame.shift)
            focus = _append_record(data, one)
        _ItemLayer(data, name=name, cluster=len(data["i"]) >= _CLUSTER_FROM, focus=focus).add_to(m)
        return
    data = _item_data(points, metrics_df, frame.shift)
    cluster = _clustered(points)
    focus = int(hits[0]) if len(hits) else None
    _ItemLayer(data, name=name, cluster=cluster, focus=focus).add_to(m)


def _append_record(data: dict, one: dict) -> int:
    """Add the single record of ``one`` (an :func:`_item_data` table) to ``data``; its index."""
    (record,) = one["i"]
    strings = {text: k for k, text in enumerate(data["s"])}

    def string(k: int) -> int:
        return strings.setdefault(one["s"][k], len(strings))

    data["p"].append(one["p"][record[0]])
    data["k"].append([string(one["k"][record[1]][0]), one["k"][record[1]][1]])
    out = [len(data["p"]) - 1, len(data["k"]) - 1, *(string(k) for k in record[2:])]
    data["s"] = list(strings)
    data["i"].append(out)
    return len(data["i"]) - 1


def _legend_of(frame: _Frame, view: MapView, classes: Classes) -> str | None:
    """The legend's HTML (None: a map without townships or county units has none)."""
    points = frame.points
    units = frame.units is not None and len(frame.units) > 0
    if not (frame.has_townships or units):
        return None
    county_items = "scope" in points and bool((points["scope"] == "county").any())
    nodata = bool((classes.index < 0).any())
    review = bool(len(points)) and bool(needs_review_mask(points).any())
    grouped = bool(len(points)) and _clustered(points)
    label = agg.metric_label(view.metric_key)
    sectors = _sector_key(points)
    return _legend_html(
        label, classes, nodata, units, sectors, grouped, county_items, review, view.left_out
    )


def _add_boxes(m, frame: _Frame, view: MapView, caption, attribution) -> None:
    """Legend (filled by :func:`restyle_call`), title with caption (``caption=None``: no
    title box), notes and attribution, each in its corner."""
    units = frame.units is not None and len(frame.units) > 0
    if frame.has_townships or units:
        _Box("", "bottomright", "geo-box geo-legend").add_to(m)
    title = view.title
    m.get_root().title = _e(title) if title else None
    if caption is not None and (title or caption):  # None: no title box
        head = f'<div class="geo-title">{_e(title)}</div>' if title else ""
        lines = "".join(f'<div class="geo-caption">{_e(c)}</div>' for c in caption if c)
        _Box(head + lines, "topleft", "geo-box geo-head").add_to(m)
    notes = list(frame.notes)
    if not frame.has_townships and not units:
        notes.insert(0, NO_TOWNSHIPS_NOTE)
    if notes:
        body = "<br>".join(_e(n) for n in notes)
        _Box(f'<div class="geo-note">{body}</div>', "bottomleft").add_to(m)
    if any(attribution):
        body = "<br>".join(_e(a) for a in attribution if a)
        _Box(f'<div class="geo-attr">{body}</div>', "bottomleft", "geo-box").add_to(m)
