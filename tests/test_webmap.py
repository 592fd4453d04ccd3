"""The folium map: local assets only, escaping, legend, notes, base maps, payload size."""

from __future__ import annotations

import html as html_lib
import itertools
import json
import re
import warnings
from contextlib import contextmanager
from pathlib import Path

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from error_codes import raises_code
from shapely.geometry import Point
from test_aggregate import SEAT, make_frames, make_outline, make_townships

from geo import aggregate as agg
from geo import assets, display, webmap
from geo.view import make_view

SHARED_XIXIAN = Path(__file__).resolve().parents[2] / "shared" / "data" / "xixian"


def _html(m: folium.Map) -> str:
    return m.get_root().render()


def _resource_urls(html: str) -> list[str]:
    """src of every <script> and href of every stylesheet <link>."""
    scripts = re.findall(r"<script\b[^>]*\bsrc\s*=\s*[\"']([^\"']+)", html, flags=re.I)
    links = re.findall(r"<link\b[^>]*\bhref\s*=\s*[\"']([^\"']+)", html, flags=re.I)
    return scripts + links


_DRAWING = {"assets", "location", "zoom", "tianditu_key", "labels", "caption", "attribution"}
_DRAWING |= {"title_box", "explanation", "focus_item", "fill_frame", "restyle_inline"}


def build(townships, items, metrics, **kw) -> folium.Map:
    """``webmap.build_map`` of the view these frames and options make (no title unless given)."""
    drawing = {k: v for k, v in kw.items() if k in _DRAWING}
    options = {k: v for k, v in kw.items() if k not in _DRAWING}
    options.setdefault("title", "")
    options.setdefault("attribution", ())
    view = make_view(items, metrics, townships, **options)
    return webmap.build_map(view, **drawing)


def _map(**kw) -> folium.Map:
    items, metrics = make_frames()
    kw.setdefault("county_seat", SEAT)
    return build(make_townships(), items, metrics, outline=make_outline(), **kw)


def _township_layer(m: folium.Map) -> folium.GeoJson:
    return next(c for c in m._children.values() if isinstance(c, folium.GeoJson))


def _restyle(page: str) -> dict:
    """The payload the map's own restyle call applies (metric colours, tooltips, legend)."""
    (payload,) = re.findall(r"geoRestyle\(map_\w+, (\{.*\})\);", page)
    return json.loads(payload)


def _tips(m: folium.Map) -> dict[str, str]:
    return _restyle(_html(m))["tips"]


# --------------------------------------------------------------------------- assets


@pytest.mark.parametrize("mode", ["static", "inline"])
def test_no_remote_script_or_stylesheet(mode):
    html = _html(_map(assets=mode))
    urls = _resource_urls(html)
    assert not [u for u in urls if re.match(r"(https?:)?//", u)]
    if mode == "static":
        assert urls and all(u.startswith("/app/static/vendor/") for u in urls)
        assert "/app/static/vendor/leaflet/leaflet.js" in urls
    else:
        assert urls == []
        assert "Leaflet 1.9" in html and len(html) > 140_000  # Leaflet itself is in the page
    for cdn in ("cdn.jsdelivr", "cdnjs", "code.jquery", "bootstrapcdn", "fontawesome"):
        assert cdn not in html


def test_many_items_cluster_with_local_markercluster():
    items, metrics = make_frames()
    many = pd.concat([items] * 15, ignore_index=True)
    many["item_id"] = [f"x-{i:04d}" for i in range(len(many))]
    m = build(make_townships(), many, metrics, assets="static", county_seat=SEAT)
    html = _html(m)
    assert "L.markerClusterGroup" in html
    urls = _resource_urls(html)
    assert "/app/static/vendor/markercluster/leaflet.markercluster.js" in urls
    assert "/app/static/vendor/markercluster/MarkerCluster.Default.css" in urls


def test_ensure_static_assets_copies_vendor_files(tmp_path):
    urls = assets.ensure_static_assets(tmp_path)
    assert urls["leaflet"] == "/app/static/vendor/leaflet/leaflet.js"
    assert (tmp_path / "leaflet" / "leaflet.js").stat().st_size > 100_000
    assert (tmp_path / "leaflet" / "images" / "layers.png").exists()
    assert (tmp_path / "markercluster" / "leaflet.markercluster.js").exists()
    assert assets.ensure_static_assets(tmp_path) == urls  # idempotent


def test_localise_drops_unknown_cdn_resources_with_a_warning():
    m = folium.Map(tiles=None)
    folium.plugins.Fullscreen().add_to(m)
    with pytest.warns(UserWarning, match="dropped non-local"):
        assets.localise(m, "static")
    assert not [u for u in _resource_urls(_html(m)) if u.startswith("http")]


def test_inline_css_embeds_leaflet_images():
    html = _html(_map(assets="inline"))
    assert "url(data:image/png;base64," in html
    assert "url(images/" not in html


# --------------------------------------------------------------------------- escaping


def test_bulletin_text_is_escaped_everywhere():
    items, metrics = make_frames()
    gdf = make_townships()
    gdf.loc[0, "township"] = '<img src=x onerror="alert(2)">街道'
    m = build(gdf, items, metrics, title="<b>标题</b>", county_seat=SEAT, assets="inline")
    html = _html(m)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;路口乡土地流转" in html
    assert "<img src=x" not in html and "&lt;img src=x" in html
    assert "<b>标题</b>" not in html and "&lt;b&gt;标题&lt;/b&gt;" in html
    assert "<title>&lt;b&gt;标题&lt;/b&gt;</title>" in html


# --------------------------------------------------------------------------- content


def test_township_features_carry_codes_and_values():
    m = _map(metric_key="investment_yuan")
    features = _township_layer(m).data["features"]
    props = {f["properties"]["township_code"]: f["properties"] for f in features}
    assert set(props) == {"411528001", "411528101", "411528201", "411528202"}
    # the polygons carry no figure: the restyle payload colours them and fills the tooltips
    assert all(set(p) == {"township_code", "township"} for p in props.values())
    payload = _restyle(_html(m))
    assert set(payload["fill"]) == set(props)
    assert "<td>1.2亿元</td>" in payload["tips"]["411528201"]
    assert "<td>无数据</td>" in payload["tips"]["411528001"]
    assert payload["fill"]["411528001"] == "url(#geo-nodata-hatch)"
    assert payload["fill"]["411528201"].startswith("#")


def test_base_map_depends_on_no_metric():
    """The app's map (restyle apart) is the same script for every metric; the restyle differs."""
    items, metrics = make_frames()
    views = [
        make_view(items, metrics, make_townships(), metric_key=k, county_seat=SEAT, title="")
        for k in ("items", "investment_yuan")
    ]
    pages = [
        webmap.build_map(v, restyle_inline=False, location=(32.3, 114.7), zoom=11)
        .get_root()
        .render()
        for v in views
    ]
    strip = [re.sub(r"_[0-9a-f]{32}", "", p) for p in pages]
    assert strip[0] == strip[1] and "geoRestyle(map" not in strip[0]
    calls = [webmap.restyle_call(v) for v in views]
    assert calls[0] != calls[1] and all(c.startswith("geoRestyle(window.map, {") for c in calls)


def test_legend_in_chinese_with_unit_and_nodata():
    html = _html(_map(metric_key="investment_yuan"))
    assert "投资额（元）" in html
    assert "5000万元" in html and "1.2亿元" in html
    assert "无数据" in html and "geo-nodata-hatch" in html


def test_labels_markers_villages_outline_and_layer_control():
    villages = gpd.GeoDataFrame(
        {"village": ["王庄村", "李楼村"]}, geometry=[Point(114.85, 32.45), Point(114.75, 32.35)]
    ).set_crs(4326)
    html = _html(_map(villages=villages))
    for name in ("谯楼街道", "项店镇", "孙庙乡", "路口乡", "王庄村", "李楼村"):
        assert name in html
    layers = [
        c.layer_name for c in _map(villages=villages)._children.values() if hasattr(c, "layer_name")
    ]
    assert {"乡镇名称", "村（社区）", "县界"} <= set(layers)
    assert "L.control.layers" in html
    assert "L.circleMarker" in html
    assert "就业创业" in html or "employment" not in html  # popups name sectors in Chinese


def _badge_boxes(page: str) -> list[str]:
    return [b for b in _boxes(page) if 'class="geo-badge"' in b]


def test_approximate_badge_shown_only_when_approximate():
    badges = _badge_boxes(_html(_map(approximate=True)))
    assert len(badges) == 1
    assert display.APPROXIMATE_BADGE in badges[0]
    for line in display.APPROXIMATE_EXPLANATION:  # the full explanation, hidden until clicked
        assert html_lib.escape(line, quote=True) in badges[0] or line in badges[0]
    assert 'class="geo-box geo-explain" role="note" hidden' in badges[0]
    assert _badge_boxes(_html(_map(approximate=False))) == []
    assert display.APPROXIMATE_BADGE not in _html(_map(approximate=False))


def test_badge_explanation_is_escaped_and_can_be_the_apps_own():
    hostile = ["示意范围说明", '<img src=x onerror="alert(1)">{{ 7*7 }}']
    badge = _badge_boxes(_html(_map(approximate=True, explanation=hostile)))[0]
    assert "<p>示意范围说明</p>" in badge
    assert "<img" not in badge and "{{" not in badge and "&lt;img src=x" in badge


def test_title_box_can_be_left_to_the_app():
    heads = [b for b in _boxes(_html(_map(title="息县乡镇活动图"))) if "geo-title" in b]
    assert len(heads) == 1
    no_head = _boxes(_html(_map(title="息县乡镇活动图", title_box=False)))
    assert not [b for b in no_head if "geo-title" in b]


def test_map_fills_the_apps_frame_only_when_asked():
    assert "#map_div { height: 100vh !important; }" in _html(_map(fill_frame=True))
    assert "#map_div" not in _html(_map())


def test_online_basemap_is_watched_and_blank_is_not():
    html = _html(_map(basemap="osm"))
    tile_names = re.findall(r"var (tile_layer_\w+) = L\.tileLayer", html)
    assert len(tile_names) == 1
    watch = re.search(r"var layers = \[([^\]]*)\];", html)
    assert watch and watch.group(1) == tile_names[0]
    assert "tileerror" in html and display.BASEMAP_OFFLINE_NOTE in html
    blank = _html(_map())
    assert "tileerror" not in blank and display.BASEMAP_OFFLINE_NOTE not in blank
    # a base map that needs a missing key adds no tiles, so nothing to watch
    assert "tileerror" not in _html(_map(basemap="tianditu_vec"))


def test_focus_item_is_the_index_of_its_marker():
    items, _ = make_frames()
    m = _map(focus_item=items["item_id"].iloc[1])
    layer = next(c for c in m._children.values() if getattr(c, "_name", "") == "GeoItems")
    assert json.loads(layer.opts)["focus"] == 1
    none = next(c for c in _map()._children.values() if getattr(c, "_name", "") == "GeoItems")
    assert json.loads(none.opts)["focus"] is None
    gone = _map(focus_item="no-such-item")
    layer = next(c for c in gone._children.values() if getattr(c, "_name", "") == "GeoItems")
    assert json.loads(layer.opts)["focus"] is None


def test_items_of_townships_without_polygons_are_counted_in_a_note():
    items, metrics = make_frames()
    gdf = make_townships()
    m = build(gdf[gdf["township_code"] != "411528101"], items, metrics)
    assert "2 条事项所在乡镇不在边界图层中" in _html(m)


def test_townships_without_codes_are_a_user_error():
    from geo.errors import GeoInputError

    items, metrics = make_frames()
    with raises_code(GeoInputError, "export.township_code"):  # the view checks first
        build(make_townships().drop(columns="township_code"), items, metrics)


def test_map_without_items():
    empty_items = pd.DataFrame(columns=agg.ITEM_COLUMNS)
    empty_metrics = pd.DataFrame(columns=agg.METRIC_COLUMNS)
    m = build(make_townships(), empty_items, empty_metrics, metric_key="land_mu")
    payload = _restyle(_html(m))
    assert set(payload["fill"].values()) == {"url(#geo-nodata-hatch)"}
    assert all("<td>无数据</td>" in t for t in payload["tips"].values())
    assert "流转土地（亩）" in _html(m) and "无数据" in _html(m)


def test_map_with_only_a_county_outline():
    items, metrics = make_frames()
    m = build(None, items, metrics, outline=make_outline(), county_seat=SEAT)
    html = _html(m)
    assert display.NO_TOWNSHIPS_NOTE in html and display.APPROXIMATE_NOTE not in html
    assert "4 条乡镇/村事项需乡镇边界才能显示" in html
    data = _item_table(m)
    assert [data["s"][r[3]] for r in data["i"]] == ["全县事项（标在县城）"]  # at the seat
    assert data["p"] == [[SEAT[1], SEAT[0]]]
    assert not [c for c in m._children.values() if getattr(c, "layer_name", "") == "乡镇名称"]


def test_map_without_townships_or_outline_is_a_user_error():
    from geo.errors import GeoInputError

    items, metrics = make_frames()
    with raises_code(GeoInputError, "map.no_boundaries"):
        build(None, items, metrics)


def test_sector_names_come_from_the_taxonomy():
    from geo.sectors import sector_names

    names = sector_names()
    assert all(display.sector_label(slug) == name for slug, name in names.items())
    assert display.sector_label("brand_new_sector") == "brand_new_sector"


def test_township_labels_can_be_turned_off():
    names = [getattr(c, "layer_name", "") for c in _map(labels=False)._children.values()]
    assert "乡镇名称" not in names
    assert "乡镇名称" in [getattr(c, "layer_name", "") for c in _map()._children.values()]


def test_bulletin_text_never_runs_as_a_jinja_template():
    items, metrics = make_frames()
    items.loc[0, "headline"] = "{{ 7*7 }}项店镇{% if true %}招工{% endif %}"
    items.loc[0, "unit"] = "{# 注 #}项店镇"
    gdf = make_townships()
    gdf.loc[1, "township"] = "{{ 6*7 }}镇"
    m = build(gdf, items, metrics, title="{{ 5*5 }}", caption=["{% raw %}x"], county_seat=SEAT)
    html = _html(m)
    for text in ("7*7", "if true", "6*7", "5*5", "raw", "注"):
        assert text in html, text  # still there as text, not evaluated or dropped
    shown = [html_lib.unescape(t) for t in _item_table(m)["s"]]  # as the popup shows them
    assert "{{ 7*7 }}项店镇{% if true %}招工{% endif %}" in shown


def _item_table(m: folium.Map) -> dict:
    layer = next(c for c in m._children.values() if type(c).__name__ == "_ItemLayer")
    return json.loads(layer.data)


def test_item_markers_are_one_compact_table():
    m = _map(metric_key="investment_yuan")
    data = _item_table(m)
    assert len(data["i"]) == 5  # the item of unknown place has no marker
    assert data["s"][0] == ""
    # shared strings and points are stored once
    assert len(set(data["s"])) == len(data["s"])
    assert len({tuple(p) for p in data["p"]}) == len(data["p"])
    rows = {data["s"][r[2]]: r for r in data["i"]}
    row = rows["孙庙乡新签约农产品加工项目"]
    lat, lon = data["p"][row[0]]
    assert 32.4 < lat < 32.5 and 114.7 < lon < 114.8  # inside 孙庙乡, [lat, lon] for Leaflet
    name, color = data["k"][row[1]]
    assert data["s"][name] == display.sector_label("investment")
    assert color == display.sector_color("investment")
    assert data["s"][row[3]] == "孙庙乡"
    pairs = [(data["s"][a], data["s"][b]) for a, b in zip(row[6::2], row[7::2], strict=True)]
    assert ("总投资", "1.2亿元") in pairs
    html = _html(m)
    assert "bindPopup(function" in html and "geo-pop" in html


def test_ten_thousand_items_make_a_small_page():
    items, metrics = make_frames()
    reps = 10_000 // len(items) + 1
    many = pd.concat([items] * reps, ignore_index=True).iloc[:10_000]
    many["source_id"] = many["item_id"]
    many["item_id"] = [f"x-{i:05d}" for i in range(len(many))]
    # every headline distinct: the string table cannot share them
    many["headline"] = many["headline"] + [f"（第{i}条）" for i in range(len(many))]
    big_metrics = metrics.rename(columns={"item_id": "source_id"}).merge(
        many[["item_id", "source_id"]], on="source_id"
    )[agg.METRIC_COLUMNS]
    m = build(make_townships(), many, big_metrics, assets="static", county_seat=SEAT, labels=False)
    html = _html(m)
    assert len(html.encode("utf-8")) < 2_000_000
    assert html.count("L.markerClusterGroup") == 1 and "chunkedLoading" in html
    assert "（第9999条）" in html
    assert len(_item_table(m)["i"]) == (many["scope"] != "unknown").sum()


def test_more_items_than_markers_are_drawn_one_marker_per_place(monkeypatch):
    items, _ = make_frames()
    one_each = _item_table(_map())
    monkeypatch.setattr(webmap, "ITEM_MARKERS_MAX", 2)
    m = _map()
    data = _item_table(m)
    places = {data["s"][r[3]]: r for r in data["i"]}
    assert len(data["i"]) == len(data["p"]) == len({tuple(p) for p in one_each["p"]})
    titles = [data["s"][r[2]] for r in data["i"]]
    assert sum(int(t.split(" ")[0]) for t in titles) == len(one_each["i"])
    assert all("按位置汇总" in t for t in titles)
    sunmiao = places["孙庙乡"]  # its sector with its count as the popup's lines
    assert (data["s"][sunmiao[6]], data["s"][sunmiao[7]]) == (
        display.sector_label("investment"),
        "1 条",
    )
    assert "按位置汇总" in _html(m) and "孙庙乡新签约农产品加工项目" not in _html(m)
    # an item picked in the table keeps its own marker and popup
    picked = items.loc[items["headline"] == "孙庙乡新签约农产品加工项目", "item_id"].iloc[0]
    data = _item_table(_map(focus_item=picked))
    layer = next(
        c for c in _map(focus_item=picked)._children.values() if type(c).__name__ == "_ItemLayer"
    )
    focus = json.loads(layer.opts)["focus"]
    assert data["s"][data["i"][focus][2]] == "孙庙乡新签约农产品加工项目"
    assert len(data["i"]) == len(data["p"])


# --------------------------------------------------------------------------- base maps


def test_places_drawn_one_marker_each_say_how_many_items_need_review(monkeypatch):
    """Per place: the popup counts the items whose place needs review; only a place where
    every item does is drawn hollow (a place with sure items keeps its sector's colour)."""
    items, metrics = make_frames()
    items["needs_review"] = False
    items.loc[items.index[0], "needs_review"] = True  # one of 项店镇's two items
    items.loc[items["township"] == "孙庙乡", "needs_review"] = True
    monkeypatch.setattr(webmap, "ITEM_MARKERS_MAX", 2)
    m = build(make_townships(), items, metrics, outline=make_outline(), county_seat=SEAT)
    data = _item_table(m)
    place_of = {k: data["s"][r[3]] for k, r in enumerate(data["i"])}
    words = {place_of[k]: text for k, text in zip(data["q"], data["c"], strict=True)}
    assert words == {"项店镇": "1 条（共 2 条）", "孙庙乡": "1 条（共 1 条）"}
    assert [place_of[k] for k in data["h"]] == ["孙庙乡"]
    html = _html(m)
    assert "review_place" in html and "定位待核对：" in html


def test_the_legend_says_how_many_items_the_counts_leave_out():
    """With the review toggle off the hollow dot's legend line says how many items are not
    counted (the classes leave them out); with it on, only what the dot means."""
    items, metrics = make_frames()
    items["needs_review"] = False
    items.loc[items["township"] == "孙庙乡", "needs_review"] = True
    for counted, line in ((True, "空心圆：定位待核对<"), (False, "（未计入 1 条定位待核对）")):
        m = build(make_townships(), items, metrics, count_needs_review=counted)
        assert line in _restyle(_html(m))["legend"]


def test_basemaps_come_from_the_config_file():
    config = webmap.load_basemaps()
    assert list(webmap.BASEMAPS) == list(config) and next(iter(config)) == "none"
    assert webmap.BASEMAPS["amap"] == "高德地图" and config["amap"].gcj02
    assert config["amap"].datum == "GCJ-02" and config["osm"].datum == "WGS84"
    for b in config.values():
        for layer in b.layers:
            assert layer["url"].startswith("https://") and layer["attribution"]
        if b.needs_key:
            assert all("{tk}" in layer["url"] for layer in b.layers)
    assert "tianditu" not in Path(webmap.__file__).read_text(encoding="utf-8").split("BASEMAPS")[0]


def test_malformed_tianditu_key_loads_no_tiles():
    html = _html(_map(basemap="tianditu_vec", tianditu_key='abc"><script>'))
    assert "tianditu.gov.cn" not in html and "密钥格式不对" in html


def test_blank_basemap_has_no_tiles():
    html = _html(_map())
    for host in ("openstreetmap", "tianditu", "autonavi"):
        assert host not in html


def test_osm_tiles_only_when_chosen():
    html = _html(_map(basemap="osm"))
    assert "tile.openstreetmap.org" in html
    assert not [u for u in _resource_urls(html) if u.startswith("http")]


def test_tianditu_needs_a_key():
    html = _html(_map(basemap="tianditu_vec"))
    assert "tianditu.gov.cn" not in html and "天地图需要密钥" in html
    html = _html(_map(basemap="tianditu_img", tianditu_key="abc123"))
    assert "img_w" in html and "cia_w" in html and "tk=abc123" in html


def test_amap_shifts_every_overlay_to_gcj02():
    plain = _township_layer(_map()).data["features"][0]["geometry"]["coordinates"][0][0]
    shifted = _township_layer(_map(basemap="amap")).data["features"][0]["geometry"]
    dx = shifted["coordinates"][0][0][0] - plain[0]
    dy = shifted["coordinates"][0][0][1] - plain[1]
    # GCJ-02 near 息县 is about +0.005° lon, -0.002° lat
    assert 0.003 < dx < 0.008 and -0.004 < dy < -0.0005
    assert "autonavi" in _html(_map(basemap="amap"))


def test_unknown_basemap_falls_back_to_blank():
    html = _html(_map(basemap="nope"))
    assert "未知底图" in html


# --------------------------------------------------------------------------- classes and numbers


def test_classify_handles_few_and_many_values():
    c = display.classify([np.nan, np.nan])
    assert list(c.index) == [-1, -1] and c.colors == []
    c = display.classify([5.0, np.nan, 5.0], "人")
    assert list(c.index) == [0, -1, 0] and c.labels == ["5人"]
    c = display.classify([1.0, 3.0, 1.0], "人")
    assert list(c.index) == [0, 1, 0] and len(c.colors) == 2
    values = [1, 2, 3, 10, 11, 12, 50, 55, 100, 120, np.nan]
    c = display.classify(values, "元")
    assert len(c.colors) == 5 and len(c.labels) == 5
    assert c.index[-1] == -1
    assert list(c.index[:-1]) == sorted(c.index[:-1])  # classes grow with the values
    assert c.index[0] == 0 and c.index[-2] == 4


def test_sector_names_and_colours_tolerate_missing_values():
    assert display.sector_label(None) == display.sector_label(float("nan")) == "其他"
    assert display.sector_color(float("nan")) == display.sector_color("other")
    assert display.sector_color("brand_new_sector") == display.sector_color("brand_new_sector")


def test_popup_values_are_formatted_like_format_value():
    values = [0, 85, 85.5, 2.999, 12_000, 26_000, 1.35e9, 1.2e8, 99_999_999, -3.25, 0.004]
    texts = display.value_texts(values, ["人"] * len(values), [None] * len(values))
    assert texts == [display.format_value(v, "人") for v in values]
    assert display.value_texts([5e7, 3], ["元", "个"], ["approx", "at_least"]) == [
        "约5000万元",
        "≥3个",
    ]


def test_format_value_in_chinese_units():
    assert display.format_value(1.35e9, "元") == "13.5亿元"
    assert display.format_value(26000, "人") == "2.6万人"
    assert display.format_value(85, "人") == "85人"
    assert display.format_value(float("nan"), "人") == "无数据"


# --------------------------------------------------------------------------- payload


def test_geometries_are_simplified_and_rounded():
    circle = Point(114.8, 32.4).buffer(0.1, quad_segs=2000)  # 8000 vertices
    gdf = gpd.GeoDataFrame(
        {"township_code": ["411528001"], "township": ["谯楼街道"]}, geometry=[circle], crs=4326
    )
    items, metrics = make_frames()
    m = build(gdf, items, metrics)
    ring = _township_layer(m).data["features"][0]["geometry"]["coordinates"][0]
    assert len(ring) < 1000
    assert all(len(repr(x).split(".")[-1]) <= 5 for x, _ in ring)


@pytest.mark.skipif(not SHARED_XIXIAN.exists(), reason="../shared/data/xixian not present")
def test_xixian_sized_map_is_under_one_megabyte():
    outline = gpd.read_file(SHARED_XIXIAN / "xixian_county_outline_wgs84.geojson")
    poly = outline.geometry.iloc[0]
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = poly.bounds
    seeds = []
    while len(seeds) < 23:
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if poly.contains(p):
            seeds.append(p)
    cells = shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=poly.envelope)
    cells = [c.intersection(poly) for s in seeds for c in cells.geoms if c.contains(s)]
    townships = gpd.GeoDataFrame(
        {"township_code": [f"411528{i:03d}" for i in range(23)], "township": ["某某镇"] * 23},
        geometry=cells,
        crs=4326,
    )
    villages = gpd.GeoDataFrame(
        {"village": ["某村"] * 364},
        geometry=[
            shapely.Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy)) for _ in range(364)
        ],
        crs=4326,
    )
    items, metrics = make_frames()
    for mode in ("static", "inline"):
        m = build(townships, items, metrics, outline=outline, villages=villages, assets=mode)
        assert len(_html(m).encode("utf-8")) < 1_000_000


# --------------------------------------------------------------------------- in a browser


def _chromium():
    try:
        from geo.browser import chromium_path
    except ImportError:
        return None
    return chromium_path()


@pytest.mark.browser
@pytest.mark.skipif(_chromium() is None, reason="Debian chromium not installed")
def test_inline_map_runs_offline_in_chromium(tmp_path):
    from geo.browser import browser_page

    path = tmp_path / "map.html"
    path.write_text(_html(_map(assets="inline", metric_key="investment_yuan")), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with browser_page((1000, 800)) as (page, blocked):
            errors, dialogs = [], []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_selector(".leaflet-container")
            n_polygons = page.locator("path.leaflet-interactive").count()
            labels = page.locator(".geo-tlabel").all_inner_texts()
            legend = page.locator(".geo-legend").inner_text()
            # the agriculture item (green) carries the <script> headline
            page.locator('path.leaflet-interactive[fill="#33a02c"]').click()
            popup = page.locator(".leaflet-popup-content").inner_text()
    assert not errors and not blocked and not dialogs
    assert n_polygons >= 4
    assert sorted(labels) == sorted(["谯楼街道", "项店镇", "孙庙乡", "路口乡"])
    assert "投资额（元）" in legend and "无数据" in legend
    assert "<script>alert(1)</script>路口乡土地流转" in popup  # shown as text, never run
    assert "流转土地：3000亩" in popup and display.sector_label("agriculture") in popup


@pytest.mark.browser
@pytest.mark.skipif(_chromium() is None, reason="Debian chromium not installed")
def test_outline_only_map_runs_offline_in_chromium(tmp_path):
    from geo.browser import browser_page

    items, metrics = make_frames()
    items.loc[3, "headline"] = "{{ 7*7 }}全县<b>春耕</b>"  # the county-wide item, at the seat
    m = build(None, items, metrics, outline=make_outline(), county_seat=SEAT, assets="inline")
    path = tmp_path / "outline.html"
    path.write_text(_html(m), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with browser_page((900, 700)) as (page, blocked):
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri(), wait_until="load")
            note = page.locator(".geo-note").inner_text()
            page.locator("path.leaflet-interactive").first.click()
            popup = page.locator(".leaflet-popup-content").inner_text()
    assert not errors and not blocked
    assert display.NO_TOWNSHIPS_NOTE in note
    assert "{{ 7*7 }}全县<b>春耕</b>" in popup and "全县" in popup


@contextmanager
def _opened(tmp_path, m: folium.Map, size=(900, 700), before=None):
    """The map's standalone page in offline chromium: ``(page, blocked, page errors)``;
    ``before(page)`` runs before the page loads (e.g. to add a route)."""
    from geo.browser import browser_page

    path = tmp_path / "map.html"
    path.write_text(_html(m), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with browser_page(size) as (page, blocked):
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            if before is not None:
                before(page)
            page.goto(path.as_uri(), wait_until="load")
            yield page, blocked, errors


@pytest.mark.browser
@pytest.mark.skipif(_chromium() is None, reason="Debian chromium not installed")
def test_unreachable_base_map_is_said_once_and_the_overlays_stay(tmp_path):
    """Tiles refused (a closed network): one note, no grey grid, every overlay still drawn."""
    with _opened(tmp_path, _map(assets="inline", basemap="osm")) as (page, blocked, errors):
        page.locator(".geo-offline").wait_for()
        page.wait_for_timeout(300)
        notes = page.locator(".geo-offline").all_inner_texts()
        tiles = page.locator(".leaflet-tile-pane img").count()
        polygons = page.locator("path.leaflet-interactive").count()
        background = page.evaluate(
            "() => getComputedStyle(document.querySelector('.leaflet-container')).backgroundColor"
        )
        page.mouse.move(450, 350)  # panning asks for no more tiles
        page.mouse.down()
        page.mouse.move(300, 250, steps=5)
        page.mouse.up()
        page.wait_for_timeout(300)
        asked = len(blocked.urls)
        notes_after = page.locator(".geo-offline").count()
    assert not errors
    assert blocked and all("tile.openstreetmap.org" in u for u in blocked.urls)
    assert notes == [display.BASEMAP_OFFLINE_NOTE] and notes_after == 1
    assert tiles == 0 and polygons >= 4
    assert background == "rgb(247, 246, 242)"  # the blank map's, not Leaflet's grey
    assert asked == len(blocked.urls)


@pytest.mark.browser
@pytest.mark.skipif(_chromium() is None, reason="Debian chromium not installed")
def test_hanging_tiles_are_given_up_after_a_wait(tmp_path, monkeypatch):
    """Tile requests that never answer (a firewall that drops packets) end the same way."""
    monkeypatch.setattr(webmap, "_TILE_WAIT_MS", 1500)
    hanging = []

    def hold_tiles(page) -> None:
        page.route("https://tile.openstreetmap.org/**", lambda r: hanging.append(r))  # no answer

    m = _map(assets="inline", basemap="osm")
    with _opened(tmp_path, m, before=hold_tiles) as (page, _blocked, errors):
        page.locator(".geo-offline").wait_for(timeout=10_000)
        tiles = page.locator(".leaflet-tile-pane img").count()
        for route in hanging:
            route.abort()
    assert hanging and tiles == 0 and not errors


@pytest.mark.browser
@pytest.mark.skipif(_chromium() is None, reason="Debian chromium not installed")
def test_badge_opens_the_explanation_and_a_focused_item_opens_its_popup(tmp_path):
    items, _ = make_frames()
    m = _map(assets="inline", approximate=True, focus_item=items["item_id"].iloc[0])
    with _opened(tmp_path, m) as (page, blocked, errors):
        explain = page.locator(".geo-explain")
        hidden_before = explain.is_hidden()
        popup = page.locator(".leaflet-popup-content").inner_text()  # opened by the focus
        rings = page.locator("path.geo-focus").count()
        page.locator(".geo-badge").click()
        explain.wait_for()
        text = explain.inner_text()
        expanded = page.locator(".geo-badge").get_attribute("aria-expanded")
        explain.get_by_role("button", name="知道了").click()
        hidden_after = explain.is_hidden()
    assert not blocked and not errors
    assert hidden_before and expanded == "true" and hidden_after
    assert all(line in text for line in display.APPROXIMATE_EXPLANATION)
    assert popup.startswith(items["headline"].iloc[0]) and rings == 1


def test_single_value_class_shows_one_number():
    # the lowest class holds only 200: "200条", never "200–200条"
    c = display.classify([200, 1000, 5000, 1000, 5000], "条")
    assert c.labels[0] == "200条"
    assert all("200–200" not in lab for lab in c.labels)
    # few distinct counts: one class each, whole numbers (issue 16: 1条, 2条, 3–5条)
    assert c.labels == ["200条", "1000条", "5000条"]
    c = display.classify([1, 2, 3, 10, 11, 12, 50, 55, 100, 120], "元")
    assert c.labels[0] == "1–3元"  # real ranges keep both bounds


def test_legend_classes_are_ordered_and_never_overlap():
    rng = np.random.default_rng(3)
    for values, unit in (
        (rng.integers(1, 40, 60).astype(float), "条"),
        (rng.lognormal(15, 2, 80), "元"),
        ([8, 46, 18.5, 73, 360100, 2, 5, 9, 300, 12_000], "个"),
    ):
        c = display.classify(values, unit)
        held = [sorted(np.asarray(values)[c.index == i]) for i in range(len(c.labels))]
        assert all(h for h in held)  # no empty class
        # each class lies wholly above the one before: ordered and non-overlapping
        assert all(a[-1] < b[0] for a, b in itertools.pairwise(held))
        for h, label in zip(held, c.labels, strict=True):
            top = display.format_value(h[-1], unit)
            assert label.endswith(top), (label, top)
            if h[0] != h[-1] and display.format_value(h[0], unit) != top:
                assert label.startswith(display.format_value(h[0])), (label, h)


def _boxes(page: str) -> list[str]:
    """The HTML our boxes put into the page (each is a JSON string in a script)."""
    return [json.loads(b) for b in re.findall(r'div\.innerHTML = ("(?:[^"\\]|\\.)*");', page)]


def test_attribution_box_is_escaped_and_only_when_given():
    lines = [
        "数据来源：测试数据集（CC BY 4.0）",
        "乡镇边界：用户上传 <img src=x onerror=alert(1)>.zip",
    ]
    boxes = [b for b in _boxes(_html(_map(attribution=lines))) if 'class="geo-attr"' in b]
    assert len(boxes) == 1
    assert "数据来源：测试数据集（CC BY 4.0）<br>" in boxes[0]
    assert "&lt;img src=x onerror=alert(1)&gt;.zip" in boxes[0] and "<img" not in boxes[0]
    plain = _boxes(_html(_map()))
    assert plain and not any('class="geo-attr"' in b for b in plain)  # legend etc., no sources


# --------------------------------------------------------------------------- QA fixes


def test_item_without_headline_shows_the_start_of_its_body():
    items, metrics = make_frames()
    items.loc[0, "headline"] = ""
    items.loc[0, "body"] = "全村组织志愿者清理沟渠杂草，共出动人员六十余人次，清运垃圾八车。"
    m = build(make_townships(), items, metrics, county_seat=SEAT)
    strings = _item_table(m)["s"]
    assert "全村组织志愿者清理沟渠杂草，共出动人员六…" in strings  # 20 characters
    assert display.item_title(None, None) == "（无标题）"
    assert display.item_title(" 标题 ", "正文") == "标题"


def test_other_unit_metrics_read_as_written():
    items, metrics = make_frames()
    iid = items.loc[0, "item_id"]
    extra = pd.DataFrame(
        {
            "item_id": [iid],
            "value": [45.0],
            "unit": ["other"],
            "qualifier": ["exact"],
            "label": ["新建桥梁"],
            "text": ["45 座"],
        }
    )
    metrics = agg.assign_metric_keys(pd.concat([metrics, extra], ignore_index=True))
    m = build(make_townships(), items, metrics, county_seat=SEAT)
    strings = _item_table(m)["s"]
    assert "45座" in strings and "45个" not in strings
    assert display.metric_value_text(45, "other", "45 座", "个") == "45座"
    assert display.metric_value_text(1.2e6, "yuan", "120万元", "元") == "120万元"


def test_county_wide_items_are_explained_in_the_legend():
    html = _html(_map())
    assert "全县事项（标在县城）" in html
    data = _item_table(_map())
    assert "全县事项（标在县城）" in data["s"]


def test_amap_centre_is_wgs84_in_and_out():
    lat, lon = 32.35, 114.74
    m = build(
        make_townships(), *make_frames(), county_seat=SEAT, basemap="amap", location=(lat, lon)
    )
    shown = m.location
    assert abs(shown[0] - lat) > 1e-4 or abs(shown[1] - lon) > 1e-4  # drawn on GCJ-02 tiles
    back = webmap.display_to_wgs84(shown[0], shown[1], "amap")
    assert abs(back[0] - lat) < 1e-5 and abs(back[1] - lon) < 1e-5
    assert webmap.display_to_wgs84(lat, lon, "osm") == (lat, lon)
    plain = build(
        make_townships(), *make_frames(), county_seat=SEAT, basemap="osm", location=(lat, lon)
    )
    assert list(plain.location) == [lat, lon]


# --------------------------------------------------------------------------- attribution prefix


def _no_flag(text: str) -> None:
    assert 'leaflet-attribution-flag"' not in text  # the SVG flag element of Leaflet 1.9
    assert "#FFD500" not in text and "\U0001f1fa\U0001f1e6" not in text


def test_vendored_leaflet_has_no_flag_in_any_mode(tmp_path):
    _no_flag(assets.vendor_text("leaflet"))
    assets.ensure_static_assets(tmp_path)
    _no_flag((tmp_path / "leaflet" / "leaflet.js").read_text(encoding="utf-8"))
    page = _html(_map(assets="inline"))
    _no_flag(page)
    assert f".attributionControl.setPrefix({json.dumps(webmap.ATTRIBUTION_PREFIX)})" in page


@pytest.mark.browser
@pytest.mark.skipif(_chromium() is None, reason="Debian chromium not installed")
def test_attribution_prefix_reads_leaflet_without_a_flag(tmp_path):
    with _opened(tmp_path, _map(assets="inline")) as (page, blocked, errors):
        page.wait_for_selector(".leaflet-control-attribution")
        text = page.locator(".leaflet-control-attribution").inner_text()
        svgs = page.locator(".leaflet-control-attribution svg").count()
    assert not errors and not blocked
    assert text.strip() == "Leaflet" and svgs == 0


# --------------------------------------------------------------------------- one marker style


def _two_at_the_seat():
    items, metrics = make_frames()
    twin = items[items["scope"] == "county"].assign(item_id="cccccccccccc-001")
    return pd.concat([items, twin], ignore_index=True), metrics


def test_legend_keys_the_sector_dots_and_the_numbered_dot():
    items, metrics = _two_at_the_seat()
    m = build(make_townships(), items, metrics, outline=make_outline(), county_seat=SEAT)
    page = _html(m)
    legend = _restyle(page)["legend"]
    assert display.SECTOR_KEY_TITLE in legend
    shown = set(items["sector"]) - {"other"}  # the unplaced item has no dot
    for slug in shown:
        row = f'background:{display.sector_color(slug)}"></i>{display.sector_label(slug)}</span>'
        assert row in legend, slug
    assert display.sector_label("other") not in legend
    # the county-wide bubble: the legend's numbered dot, in the same colour as on the map
    assert f"background:{display.GROUP_MARKER_COLOR}" in legend
    assert display.GROUP_MARKER_LABEL in legend and "全县事项（标在县城）" in legend
    assert "iconCreateFunction: groupIcon" in page and 'className: "geo-group"' in page
    # without shared places there is no numbered dot to explain
    items, metrics = make_frames()
    apart = items.iloc[[0, 1, 2]]  # three townships, three places
    alone = _restyle(_html(build(make_townships(), apart, metrics, county_seat=SEAT)))
    assert display.GROUP_MARKER_LABEL not in alone["legend"]


def test_tooltip_never_says_0_beside_nodata():
    m = _map(metric_key="investment_yuan")
    features = _township_layer(m).data["features"]
    names = {f["properties"]["township"]: f["properties"]["township_code"] for f in features}
    tips = _tips(m)
    nodata = "<td>无数据</td>"
    assert tips[names["谯楼街道"]].count(nodata) == 2  # value and count: 无数据, never 0
    assert nodata in tips[names["路口乡"]] and "<td>1 条</td>" in tips[names["路口乡"]]
    assert "<td>1 条</td>" in tips[names["孙庙乡"]]
    # on the 事项数 map the count is the value: said once
    assert all(t.count("<tr>") == 2 for t in _tips(_map(metric_key="items")).values())


@pytest.mark.browser
@pytest.mark.skipif(_chromium() is None, reason="Debian chromium not installed")
def test_county_bubble_has_the_legends_colour(tmp_path):
    items, metrics = _two_at_the_seat()
    m = build(
        make_townships(), items, metrics, outline=make_outline(), county_seat=SEAT,
        assets="inline",
    )  # fmt: skip
    with _opened(tmp_path, m) as (page, blocked, errors):
        page.wait_for_selector(".geo-group")
        # the bubble fades in: its style reads once it is shown
        page.wait_for_function(
            "getComputedStyle(document.querySelector('.geo-group')).opacity == 1"
        )
        bubble = page.locator(".geo-group").first
        colour = bubble.evaluate("e => getComputedStyle(e).backgroundColor")
        text = bubble.inner_text()
        key = page.locator(".geo-legend i.geo-group-key")
        key_colour = key.evaluate("e => getComputedStyle(e).backgroundColor")
        default_bubbles = page.locator(".marker-cluster-small, .marker-cluster-medium").count()
    assert not errors and not blocked
    assert colour == key_colour == "rgb(63, 63, 63)" and text.strip() == "2"
    assert default_bubbles == 0  # never markercluster's green/yellow bubbles
