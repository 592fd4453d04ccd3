"""The interactive township map: a folium map that needs no network.

One function, :func:`build_map`, draws a choropleth of one metric per township, township labels,
item markers with popups, village points and the county outline, with a Chinese legend and
layer control. Scripts come from local files (:mod:`geo.assets`); the default base map is blank.
Bulletin text is untrusted: every string from it is ``html.escape``-d before it reaches a popup,
tooltip, label or legend, and JSON embedded in scripts has ``<``, ``>`` and ``&`` escaped too.
"""

from __future__ import annotations

import hashlib
import html
import json
import warnings
from dataclasses import dataclass
from functools import lru_cache

import folium
import numpy as np
import pandas as pd
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from geo import aggregate as agg
from geo.assets import localise
from geo.errors import GeoInputError

__all__ = [
    "APPROXIMATE_NOTE",
    "BASEMAPS",
    "NODATA_COLOR",
    "NODATA_LABEL",
    "Classes",
    "build_map",
    "build_map_from_view",
    "classify",
    "format_value",
    "sector_color",
    "sector_label",
]

APPROXIMATE_NOTE = "示意范围，非官方边界 — 请上传官方乡镇边界"
NODATA_LABEL = "无数据"
NODATA_COLOR = "#d9d9d9"
#: Base maps offered to users: key → Chinese name. "none" works offline.
BASEMAPS = {
    "none": "无底图",
    "osm": "OpenStreetMap",
    "tianditu_vec": "天地图 矢量",
    "tianditu_img": "天地图 影像",
    "amap": "高德地图",
}
_TIANDITU = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)
_AMAP = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}"
)
# Sequential ramp (ColorBrewer YlOrRd, 5 classes) for the choropleth.
_RAMP = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
# Marker colours (ColorBrewer Set1/Dark2) by sector; unknown sectors hash into the same list.
_SECTOR_COLORS = {
    "employment": "#1f78b4",
    "investment": "#e31a1c",
    "government_services": "#6a3d9a",
    "utilities": "#b15928",
    "agriculture": "#33a02c",
    "industry": "#ff7f00",
    "infrastructure": "#a6761d",
    "education_health": "#e7298a",
    "culture_tourism": "#1b9e77",
    "environment": "#66a61e",
    "social_welfare": "#7570b3",
    "other": "#737373",
}
# Used only when geo.sectors (the taxonomy) is not importable.
_SECTOR_NAMES = {
    "employment": "就业创业",
    "investment": "招商投资",
    "government_services": "政务服务",
    "utilities": "水电气讯",
    "agriculture": "农业农村",
    "industry": "工业企业",
    "infrastructure": "基础设施",
    "education_health": "教育卫生",
    "culture_tourism": "文化旅游",
    "environment": "生态环境",
    "social_welfare": "民生保障",
    "other": "其他",
}
_CLUSTER_FROM = 40  # cluster item markers from this many on
_SIMPLIFY = 1e-4  # degrees (~10 m): invisible at county scale, halves the payload
_GRID = 1e-5  # coordinate rounding


# --------------------------------------------------------------------------- helpers


@lru_cache(maxsize=1)
def _sector_names() -> dict[str, str]:
    try:
        from geo.sectors import sector_names

        return dict(sector_names())
    except Exception:  # taxonomy module missing or broken: fall back to built-in names
        return dict(_SECTOR_NAMES)


def sector_label(slug: str | None) -> str:
    """Chinese name of a sector slug (from ``geo.sectors`` when available)."""
    if not slug or slug != slug:  # None or NaN
        return _SECTOR_NAMES["other"]
    return _sector_names().get(slug, _SECTOR_NAMES.get(slug, slug))


def sector_color(slug: str | None) -> str:
    """Marker colour of a sector: fixed for known slugs, hashed for others."""
    slug = slug if isinstance(slug, str) and slug else "other"
    if slug in _SECTOR_COLORS:
        return _SECTOR_COLORS[slug]
    palette = list(_SECTOR_COLORS.values())
    return palette[int(hashlib.sha1(slug.encode()).hexdigest(), 16) % len(palette)]


def format_value(value: float | None, unit_zh: str = "") -> str:
    """A number as Chinese readers write it: ``1.35亿元``, ``2.4万人``, ``85人``."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return NODATA_LABEL
    v = float(value)
    for size, suffix in ((1e8, "亿"), (1e4, "万")):
        if abs(v) >= size:
            return f"{_num(v / size)}{suffix}{unit_zh}"
    return f"{_num(v)}{unit_zh}"


def _num(v: float) -> str:
    if float(v).is_integer():
        return f"{int(v)}"
    return f"{v:.2f}".rstrip("0").rstrip(".")


@dataclass
class Classes:
    """Choropleth classes of per-township values.

    Attributes
    ----------
    index : ndarray of int
        Class of each value, ``-1`` for no data.
    colors : list of str
        Fill colour per class.
    labels : list of str
        Legend text per class (Chinese, with unit).
    """

    index: np.ndarray
    colors: list[str]
    labels: list[str]


def classify(values, unit_zh: str = "", k: int = 5) -> Classes:
    """Class breaks for a choropleth.

    Natural breaks (Fisher-Jenks, exact and deterministic) with up to ``k`` classes; with one or
    two distinct values each value is its own class; NaN is class ``-1`` (无数据).
    """
    v = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    valid = np.isfinite(v)
    index = np.full(len(v), -1, dtype=int)
    distinct = np.unique(v[valid])
    if len(distinct) == 0:
        return Classes(index, [], [])
    if len(distinct) <= 2:
        colors = [_RAMP[1], _RAMP[3]][: len(distinct)] if len(distinct) == 2 else [_RAMP[3]]
        index[valid] = np.searchsorted(distinct, v[valid])
        return Classes(index, colors, [format_value(d, unit_zh) for d in distinct])
    import mapclassify

    n = min(k, len(distinct))
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", UserWarning
        )  # "Numba not installed": fine for 20-odd values
        bins = np.asarray(mapclassify.FisherJenks(v[valid], k=n).bins, dtype=float)
    index[valid] = np.minimum(np.searchsorted(bins, v[valid], side="left"), len(bins) - 1)
    colors = [_RAMP[round(i * (len(_RAMP) - 1) / max(len(bins) - 1, 1))] for i in range(len(bins))]
    lows = [float(distinct.min()), *bins[:-1].tolist()]
    labels = []
    for i, (lo, hi) in enumerate(zip(lows, bins.tolist(), strict=True)):
        sep = "–" if i == 0 else "以上 – "
        labels.append(f"{format_value(lo, '')}{sep}{format_value(hi, unit_zh)}")
    return Classes(index, colors, labels)


def _safe_json(obj) -> str:
    """JSON for embedding inside a <script> element."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # "<" and ">" only: enough to keep "</script>" out; "&" stays so escaped text reads as is.
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


def _e(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


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
    try:
        from geo.boundaries import wgs84_to_gcj02

        return wgs84_to_gcj02(gdf)
    except ImportError:
        import eviltransform
        import shapely

        def shift(coords: np.ndarray) -> np.ndarray:
            out = [eviltransform.wgs2gcj(lat, lon) for lon, lat in coords]
            return np.array([(lon, lat) for lat, lon in out]).reshape(coords.shape)

        out = gdf.copy()
        out.geometry = shapely.transform(gdf.geometry.values, shift)
        return out


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


class _Setup(folium.MacroElement):
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
        {% endmacro %}
        """
    )

    def __init__(self, background: str):
        super().__init__()
        self._name = "GeoSetup"
        css = f"""
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
.geo-pop {{ font-size: 12px; line-height: 1.5; max-width: 300px; }}
.geo-pop b {{ font-size: 13px; }}
.geo-pop ul {{ margin: 4px 0; padding-left: 16px; }}
.geo-pop small {{ color: #8a4b00; }}
"""
        defs = (
            '<defs><pattern id="geo-nodata-hatch" patternUnits="userSpaceOnUse" width="8"'
            ' height="8" patternTransform="rotate(45)"><rect width="8" height="8"'
            ' fill="#eeeeee"/><line x1="0" y1="0" x2="0" y2="8" stroke="#9e9e9e"'
            ' stroke-width="3"/></pattern></defs>'
        )
        self.css = _safe_json(css)
        self.defs = _safe_json(defs)


class _PointLayer(JSCSSMixin, Layer):
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


class _Box(folium.MacroElement):
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


def _legend_html(title: str, classes: Classes, has_nodata: bool) -> str:
    rows = [f'<div class="geo-legend-title"><b>{_e(title)}</b></div>']
    for color, label in zip(classes.colors, classes.labels, strict=True):
        rows.append(f'<div><i style="background:{color}"></i>{_e(label)}</div>')
    if has_nodata or not classes.colors:
        rows.append(f'<div><i class="geo-nodata"></i>{NODATA_LABEL}</div>')
    return "".join(rows)


def _popup_html(row, metric_lines: list[str]) -> str:
    where = "".join(_e(x) for x in (row.get("township"), row.get("village")) if _e(x))
    if not where:
        where = "全县" if row.get("scope") == "county" else "地点不详"
    parts = [
        f"<b>{_e(row.get('headline')) or '（无标题）'}</b>",
        f"<div>{_e(sector_label(row.get('sector')))} · {where}</div>",
    ]
    if _e(row.get("unit")):
        parts.append(f"<div>单位：{_e(row.get('unit'))}</div>")
    source = " ".join(
        _e(row.get(c))
        for c in ("bulletin_title", "bulletin_issue", "bulletin_date")
        if _e(row.get(c))
    )
    if source:
        parts.append(f"<div>来源：{source}</div>")
    if metric_lines:
        parts.append("<ul>" + "".join(f"<li>{line}</li>" for line in metric_lines) + "</ul>")
    parts.append("<small>位置为示意（乡镇/村内近似点）</small>")
    return '<div class="geo-pop">' + "".join(parts) + "</div>"


def _metric_lines(metrics_df: pd.DataFrame) -> dict[str, list[str]]:
    """Escaped "label value" lines per item id."""
    if metrics_df is None or metrics_df.empty:
        return {}
    m = agg._with_keys(metrics_df)
    out: dict[str, list[str]] = {}
    qual = {"approx": "约", "at_least": "≥", "at_most": "≤"}
    for iid, label, value, key, q in zip(
        m["item_id"], m["label"], m["value"], m["metric_key"], m["qualifier"], strict=True
    ):
        name = _e(label) or _e(agg.metric_name(key))
        text = qual.get(q, "") + format_value(value, agg.metric_unit_zh(key))
        out.setdefault(iid, []).append(f"{name}：{_e(text)}")
    return out


def _tile_layers(m, basemap: str, tianditu_key: str | None, notes: list[str]) -> None:
    if basemap == "osm":
        folium.TileLayer(
            "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            attr="&copy; OpenStreetMap contributors",
            name=BASEMAPS["osm"],
            max_zoom=19,
        ).add_to(m)
    elif basemap in ("tianditu_vec", "tianditu_img"):
        if not tianditu_key:
            notes.append("天地图需要密钥（tk），未加载底图")
            return
        base, label = ("vec", "cva") if basemap == "tianditu_vec" else ("img", "cia")
        key = html.escape(str(tianditu_key).strip(), quote=True)
        for layer, overlay, name in ((base, False, BASEMAPS[basemap]), (label, True, "天地图注记")):
            folium.TileLayer(
                _TIANDITU.format(layer=layer, key=key, s="{s}"),
                attr="&copy; 天地图",
                name=name,
                overlay=overlay,
                subdomains="01234567",
                max_zoom=18,
            ).add_to(m)
    elif basemap == "amap":
        folium.TileLayer(
            _AMAP, attr="&copy; 高德地图", name=BASEMAPS["amap"], subdomains="1234", max_zoom=18
        ).add_to(m)
        notes.append("高德底图为 GCJ-02 坐标，图层已相应偏移")


# --------------------------------------------------------------------------- build


def build_map(
    townships_gdf,
    items_df: pd.DataFrame,
    metrics_df: pd.DataFrame,
    *,
    metric_key: str = "items",
    outline=None,
    villages=None,
    basemap: str = "none",
    assets: str = "static",
    approximate: bool = True,
    title: str = "",
    tianditu_key: str | None = None,
    location: tuple[float, float] | None = None,
    zoom: int | None = None,
    county_seat=None,
    labels: bool = True,
    caption: tuple[str, ...] | list[str] = (),
) -> folium.Map:
    """The interactive township map.

    Parameters
    ----------
    townships_gdf : GeoDataFrame
        Township polygons with ``township_code`` and ``township`` (any CRS, WGS84 datum).
    items_df, metrics_df : DataFrame
        The (already filtered) frames of :func:`geo.aggregate.items_frame`.
    metric_key : str
        Metric of the choropleth (``"items"`` = number of items).
    outline : GeoDataFrame, optional
        County outline.
    villages : GeoDataFrame, optional
        Village points (``village`` or ``name`` column), drawn as a hidden-by-default layer.
    basemap : str
        A key of :data:`BASEMAPS`; unknown keys fall back to ``"none"``.
    assets : {"static", "inline"}
        See :func:`geo.assets.localise`.
    approximate : bool
        Show the approximate-boundary note.
    title : str
        Title box at the top of the map (escaped).
    tianditu_key : str, optional
        天地图 key; without it the 天地图 layers are left out and a note says so.
    location : (lat, lon), optional
        Initial centre; with ``zoom``. By default the map fits the townships.
    zoom : int, optional
        Initial zoom.
    county_seat : Point or (lon, lat), optional
        Where county-wide items are drawn.
    labels : bool
        Township name labels.
    caption : sequence of str
        Extra lines under the title (filter summary, date, sources), escaped.

    Returns
    -------
    folium.Map
    """
    notes: list[str] = []
    if basemap not in BASEMAPS:
        notes.append(f"未知底图 {basemap}，已改为无底图")
        basemap = "none"
    shift = _to_gcj02 if basemap == "amap" else (lambda g: g)

    if townships_gdf is None or "township_code" not in townships_gdf.columns:
        raise GeoInputError("乡镇边界缺少 township_code 列：请先与行政区划对照后再制图")
    tw = _to_wgs84(townships_gdf).reset_index(drop=True)
    tw["township_code"] = tw["township_code"].astype(str)
    codes = tw["township_code"].tolist()
    table = agg.aggregate_townships(items_df, metrics_df, metric_key, township_codes=codes)
    unit_zh = agg.metric_unit_zh(metric_key)
    label = agg.metric_label(metric_key)
    values = table["value"].reindex(codes).to_numpy(dtype=float)
    n_items = table["n_items"].reindex(codes).fillna(0).astype(int).to_numpy()
    classes = classify(values, unit_zh)

    points = agg.item_points(items_df, tw, county_seat)
    placed = items_df["township_code"].dropna().astype(str)
    missing = int((~placed.isin(codes)).sum())
    if missing:
        notes.append(f"{missing} 条事项所在乡镇不在边界图层中，未在图上显示")
    labels_at = tw.geometry.representative_point()
    tw_draw = _compact(shift(tw))

    minx, miny, maxx, maxy = tw.total_bounds if len(tw) else (73.0, 18.0, 135.0, 54.0)
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
    _Setup("#f7f6f2" if basemap == "none" else "#dddddd").add_to(m)
    _tile_layers(m, basemap, tianditu_key, notes)

    # Choropleth
    props = []
    for i, code in enumerate(codes):
        v = values[i]
        cls = int(classes.index[i])
        props.append(
            {
                "township_code": code,
                "township": _e(tw["township"].iloc[i] if "township" in tw else code),
                "value": None if not np.isfinite(v) else float(v),
                "value_text": _e(format_value(v, unit_zh)),
                "n_items": int(n_items[i]),
                "fill": classes.colors[cls] if cls >= 0 else "url(#geo-nodata-hatch)",
            }
        )
    folium.GeoJson(
        _features(tw_draw, props),
        name=f"乡镇：{_e(label)}",
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"],
            "fillOpacity": 0.75 if f["properties"]["value"] is not None else 0.6,
            "color": "#555555",
            "weight": 1,
        },
        highlight_function=lambda f: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(
            fields=["township", "value_text", "n_items"],
            aliases=["乡镇", _e(label), "事项数"],
            sticky=True,
        ),
        zoom_on_click=False,
    ).add_to(m)

    if outline is not None and len(outline):
        ol = _compact(shift(_to_wgs84(outline)))
        folium.GeoJson(
            _features(ol, [{} for _ in range(len(ol))]),
            name="县界",
            style_function=lambda f: {"fill": False, "color": "#222222", "weight": 2.5},
            interactive=False,
        ).add_to(m)

    if villages is not None and len(villages):
        vg = _compact(shift(_to_wgs84(villages)))
        vg = vg[vg.geometry.notna()]
        vg["geometry"] = vg.geometry.representative_point()
        name_col = next((c for c in ("village", "name") if c in vg.columns), None)
        names = vg[name_col] if name_col else [""] * len(vg)
        vprops = [{"tip": f"{_e(n)}（示意位置）"} for n in names]
        vdata = _features(vg, vprops)
        _PointLayer(
            vdata, name="村（社区）", radius=2.5, fill="#555", stroke="#555", show=False
        ).add_to(m)

    import geopandas as gpd

    lab = _compact(shift(gpd.GeoDataFrame(geometry=labels_at.values, crs=4326)))
    # Leaflet positions the icon element itself; the inner span lifts the name above the point.
    lprops = [{"html": f"<span>{p['township']}</span>"} for p in props]
    if labels:
        _PointLayer(_features(lab, lprops), name="乡镇名称", kind="label").add_to(m)

    if len(points):
        lines = _metric_lines(metrics_df)
        pts = _compact(shift(points))
        iprops = [
            {
                "popup": _popup_html(row, lines.get(row["item_id"], [])),
                "color": sector_color(row["sector"]),
            }
            for row in points.to_dict("records")
        ]
        # Items sharing a point (e.g. county-wide ones at the seat) only separate in a cluster.
        shared = points.geometry.to_wkb().duplicated().any()
        cluster = len(points) >= _CLUSTER_FROM or bool(shared)
        _PointLayer(_features(pts, iprops), name=f"事项（{len(points)}）", cluster=cluster).add_to(
            m
        )

    folium.LayerControl(collapsed=True).add_to(m)
    legend = _legend_html(label, classes, bool((classes.index < 0).any()))
    _Box(legend, "bottomright", "geo-box geo-legend").add_to(m)
    if title or caption:
        head = f'<div class="geo-title">{_e(title)}</div>' if title else ""
        lines = "".join(f'<div class="geo-caption">{_e(c)}</div>' for c in caption if c)
        _Box(head + lines, "topleft", "geo-box geo-head").add_to(m)
        m.get_root().title = _e(title) if title else None
    if approximate:
        notes.insert(0, APPROXIMATE_NOTE)
    if notes:
        body = "<br>".join(_e(n) for n in notes)
        _Box(f'<div class="geo-note">{body}</div>', "bottomleft").add_to(m)
    if location is None and len(tw):
        bounds = _to_wgs84(shift(tw)).total_bounds
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    return localise(m, assets)


def build_map_from_view(
    view,
    *,
    assets: str = "static",
    location: tuple[float, float] | None = None,
    zoom: int | None = None,
    tianditu_key: str | None = None,
    labels: bool = True,
    caption: tuple[str, ...] | list[str] = (),
) -> folium.Map:
    """:func:`build_map` from an :class:`geo.export.MapView`."""
    return build_map(
        view.townships,
        view.items_df,
        view.metrics_df,
        metric_key=view.metric_key,
        outline=view.outline,
        villages=view.villages,
        basemap=view.basemap,
        assets=assets,
        approximate=view.approximate,
        title=view.title,
        tianditu_key=tianditu_key,
        location=location,
        zoom=zoom,
        county_seat=view.county_seat,
        labels=labels,
        caption=caption,
    )
