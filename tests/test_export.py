"""Every export opened and checked: HTML, PNG (matplotlib and Chromium), PDF, CSV, GeoJSON, GPKG."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandas as pd
import pyogrio
import pypdf
import pytest
from PIL import Image
from test_aggregate import SEAT, TOWNSHIPS, make_frames, make_outline, make_townships

from geo import aggregate as agg
from geo import display, export, picture, render
from geo.display import sector_label
from geo.errors import ExportError, GeoInputError
from geo.report_csv import strip_text_codes
from geo.view import (
    ATTRIBUTION_PATH,
    MapView,
    attribution_lines,
    available_exports,
    filter_summary,
    make_view,
)

HEADLINE = "<script>alert(1)</script>路口乡土地流转"


def _view(*, frames=None, **kw) -> MapView:
    items, metrics = frames or make_frames()
    kw.setdefault("metric_key", "investment_yuan")
    return make_view(
        items,
        metrics,
        make_townships(),
        county="息县",
        county_code="411528",
        outline=make_outline(),
        county_seat=SEAT,
        sources="测试用简报；乡镇边界为示意",
        created="2024-03-05",
        **kw,
    )


def _chromium() -> bool:
    try:
        from geo.browser import chromium_path
    except ImportError:
        return False
    return chromium_path() is not None


# --------------------------------------------------------------------------- view


def test_make_view_filters_and_titles():
    v = _view(filters=agg.Filters(sectors=("investment",)))
    assert len(v.items_df) == 2
    assert v.title == "息县乡镇活动图 · 投资额（元） · 招商投资"
    assert _view().title == "息县乡镇活动图 · 投资额（元）"
    assert filter_summary(v) == "筛选：行业 招商投资 · 共 2 条事项"
    agg_tw = v.aggregates.set_index("township_code")
    assert agg_tw.loc["411528201", "value"] == 1.2e8
    assert agg_tw.loc["411528101", "value"] == 5e7


def test_title_names_every_active_filter(tmp_path):
    f = agg.Filters(
        sectors=("investment", "agriculture"),
        townships=("411528201",),
        date_from="2024-01-01",
        date_to="2024-03-31",
        metric_key="investment_yuan",
        metric_min=5e6,
    )
    v = _view(filters=f)
    sectors = "、".join(display.sector_label(s) for s in f.sectors)
    assert v.title == (
        f"息县乡镇活动图 · 投资额（元） · {sectors} · 孙庙乡 · 2024-01-01 至 2024-03-31"
        " · 投资额 ≥500万元"
    )
    assert _view(filters=f, title="自定标题").title == "自定标题"
    # the HTML (page title and title box), the PNG's render and the PDF carry it
    html = export.export_html(v, tmp_path / "a.html").read_text(encoding="utf-8")
    assert html.count("孙庙乡 · 2024-01-01 至 2024-03-31") >= 2
    text = pypdf.PdfReader(export.export_pdf(v, tmp_path / "a.pdf")).pages[0].extract_text()
    assert "2024-01-01 至 2024-03-31" in text and sectors in text


def test_filter_summary_names_townships_dates_and_text():
    f = agg.Filters(townships=("411528101",), date_from="2024-01-01", text="招工")
    s = filter_summary(_view(filters=f))
    assert "乡镇 项店镇" in s and "日期 2024-01-01 至 …" in s and "关键词“招工”" in s


def test_make_view_places_gazetteer_villages(tmp_path):
    from geo.gazetteer import Village

    v = _view(villages=[Village("411528202201", "王庄村", "王庄村民委员会", "411528202")])
    assert list(v.villages["village"]) == ["王庄村"]
    assert v.townships.geometry.iloc[3].contains(v.villages.geometry.iloc[0])
    html = export.export_html(v, tmp_path / "v.html").read_text(encoding="utf-8")
    assert "王庄村（示意位置）" in html


def test_make_view_with_townships_lacking_codes_is_a_user_error():
    items, metrics = make_frames()
    with pytest.raises(GeoInputError, match="township_code"):
        make_view(items, metrics, make_townships().drop(columns="township_code"))


# --------------------------------------------------------------------------- no boundaries


def _bare_view(**kw) -> MapView:
    """A county without township polygons (any county until boundaries are uploaded)."""
    items, metrics = make_frames()
    kw.setdefault("metric_key", "investment_yuan")
    return make_view(
        items, metrics, kw.pop("townships", None), county="息县", created="2024-03-05", **kw
    )


def test_view_without_boundaries_offers_data_exports_only():
    v = _bare_view()
    assert not v.has_polygons and not v.can_draw_map
    assert available_exports(v) == ["csv", "geojson", "gpkg"]
    assert available_exports(_view()) == ["html", "png", "pdf", "csv", "geojson", "gpkg"]
    with_outline = _bare_view(outline=make_outline())
    assert with_outline.can_draw_map and not with_outline.has_polygons
    assert available_exports(with_outline)[:3] == ["html", "png", "pdf"]


@pytest.mark.parametrize("fmt", ["html", "png", "pdf"])
def test_map_exports_without_any_boundary_are_one_line_errors(tmp_path, fmt):
    with pytest.raises(ExportError, match="请先上传乡镇边界") as err:
        getattr(export, f"export_{fmt}")(_bare_view(), tmp_path / f"x.{fmt}")
    assert "\n" not in str(err.value)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_csv_without_boundaries(tmp_path):
    items_csv, metrics_csv, towns_csv = export.export_csv(
        _bare_view(), tmp_path / "t.csv", columns="keys"
    )
    items = pd.read_csv(items_csv, encoding="utf-8-sig", dtype={"township_code": str})
    assert len(items) == 6 and HEADLINE in set(items["headline"])
    assert items["lon"].isna().all()  # no seat given: no item has a position
    assert len(pd.read_csv(metrics_csv, encoding="utf-8-sig")) > 0
    tw = pd.read_csv(towns_csv, encoding="utf-8-sig", dtype={"township_code": str})
    tw = tw.set_index("township_code")
    # the townships items mention, with their totals
    assert tw.loc["411528201", "township"] == "孙庙乡" and tw.loc["411528201", "value"] == 1.2e8
    assert set(tw["quality"]) == {"none"}


def test_township_list_gives_every_township_a_row(tmp_path):
    from geo.gazetteer import Township

    towns = [Township(code, name, "镇") for code, name, _ in TOWNSHIPS]
    towns.append(Township("411528999", "新设镇", "镇"))
    v = _bare_view(townships=towns)
    assert not v.has_polygons
    t = v.table
    assert len(t) == 5 and t.loc["411528999", "township"] == "新设镇"
    assert t.loc["411528999", "n_items"] == 0 and np.isnan(t.loc["411528999", "value"])
    s = filter_summary(_bare_view(townships=towns, filters=agg.Filters(townships=("411528999",))))
    assert "乡镇 新设镇" in s


def test_geojson_and_gpkg_without_boundaries(tmp_path):
    v = _bare_view(county_seat=SEAT)
    doc = json.loads(export.export_geojson(v, tmp_path / "t.geojson").read_text("utf-8"))
    assert "无乡镇边界" in doc["note"]
    towns = [f for f in doc["features"] if f["properties"]["layer"] == "townships"]
    items = [f for f in doc["features"] if f["properties"]["layer"] == "items"]
    assert towns and all(f["geometry"] is None for f in towns)
    assert len(items) == 6  # every item, not only those with a position
    at_seat = [f for f in items if f["geometry"] is not None]
    assert [f["properties"]["scope"] for f in at_seat] == ["county"]
    assert at_seat[0]["geometry"]["coordinates"] == list(SEAT)

    path = export.export_gpkg(v, tmp_path / "t.gpkg")
    layers = dict(pyogrio.list_layers(path))
    assert layers["townships"] is None and layers["items"] == "Point"
    tw = pyogrio.read_dataframe(path, layer="townships")
    assert "411528201" in set(tw["township_code"])
    gi = pyogrio.read_dataframe(path, layer="items")
    assert len(gi) == 6 and gi.geometry.notna().sum() == 1


def test_map_exports_with_only_a_county_outline(tmp_path):
    v = _bare_view(outline=make_outline(), county_seat=SEAT)
    html = export.export_html(v, tmp_path / "o.html").read_text(encoding="utf-8")
    assert "尚无乡镇边界" in html and "县界" in html
    assert "geo-box geo-legend" not in html  # no choropleth, so no legend
    png = export.export_png(v, tmp_path / "o.png", (800, 600), browser=False)
    a = np.asarray(Image.open(png).convert("L"), dtype=int)
    assert Image.open(png).size == (800, 600) and a.std() > 10
    text = pypdf.PdfReader(export.export_pdf(v, tmp_path / "o.pdf")).pages[0].extract_text()
    assert "尚无乡镇边界" in text and "孙庙乡" in text  # ranking from the items' townships


# --------------------------------------------------------------------------- HTML


def test_html_is_standalone_and_escaped(tmp_path):
    path = export.export_html(_view(), tmp_path / "map.html")
    html = path.read_text(encoding="utf-8")
    srcs = re.findall(r"<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']([^\"']+)", html)
    assert srcs == []  # everything inlined
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']https?://", html)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;路口乡土地流转" in html
    for text in (
        "息县乡镇活动图",
        "投资额（元）",
        "无数据",
        "全部事项",
        "制图日期：2024-03-05",
        "数据来源：测试用简报",
        "示意范围，非官方边界",
    ):
        assert text in html


def test_html_from_a_built_map(tmp_path):
    from geo.webmap import build_map

    m = build_map(_view(), assets="static")
    html = export.export_html(m, tmp_path / "m").read_text(encoding="utf-8")
    assert (tmp_path / "m.html").exists()
    assert "/app/static/vendor" not in html and "Leaflet 1.9" in html


# --------------------------------------------------------------------------- PNG


def _label_boxes(view, size, dpi=100):
    """Pixel boxes (left, top, right, bottom) just above each township's label point."""
    fig = render.render_figure(view, size)
    ax = fig.axes[0]
    crs = render.metric_crs_of(view.aggregates)
    pts = view.aggregates.to_crs(crs).geometry.representative_point()
    boxes = {}
    for name, pt in zip(view.aggregates["township"], pts, strict=True):
        x, y = ax.transData.transform((pt.x, pt.y))
        top = size[1] - y  # display y grows upwards, image rows downwards
        boxes[name] = (int(x - 40), int(top - 30), int(x + 40), int(top))
    return boxes


@pytest.mark.parametrize("size", [(1600, 1200), (750, 1334)])
def test_png_static_render_size_content_and_chinese_labels(tmp_path, size):
    v = _view()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing CJK glyph warns: make it fail
        with_labels = export.export_png(v, tmp_path / "a.png", size, browser=False)
        without = export.export_png(v, tmp_path / "b.png", size, browser=False, labels=False)
    a = np.asarray(Image.open(with_labels).convert("L"), dtype=int)
    b = np.asarray(Image.open(without).convert("L"), dtype=int)
    assert Image.open(with_labels).size == size
    assert a.std() > 20 and len(np.unique(a)) > 20  # not blank
    crops = {}
    for name, (x0, y0, x1, y1) in _label_boxes(v, size).items():
        diff = np.abs(a[y0:y1, x0:x1] - b[y0:y1, x0:x1])
        assert (diff > 60).sum() > 30, f"no label drawn for {name}"
        crops[name] = a[y0:y1, x0:x1]
    # Two different three-character names must not look alike (tofu boxes would).
    assert np.abs(crops["孙庙乡"] - crops["路口乡"]).sum() > 2000


@pytest.mark.browser
@pytest.mark.skipif(not _chromium(), reason="Debian chromium not installed")
@pytest.mark.parametrize("size", [(1600, 1200), (750, 1334)])
def test_png_chromium_size_and_labels(tmp_path, size):
    v = _view()
    a_path = export.export_png(v, tmp_path / "a.png", size, browser=True)
    b_path = export.export_png(v, tmp_path / "b.png", size, browser=True, labels=False)
    a = np.asarray(Image.open(a_path).convert("L"), dtype=int)
    b = np.asarray(Image.open(b_path).convert("L"), dtype=int)
    assert Image.open(a_path).size == size
    assert a.std() > 20
    changed = np.argwhere(np.abs(a - b) > 60)
    assert len(changed) > 200  # the four township names
    rows = changed[:, 0]
    assert rows.min() > 0.1 * size[1] and rows.max() < 0.95 * size[1]  # on the map, not edges


def test_png_bad_size_is_a_user_error(tmp_path):
    with pytest.raises(ExportError, match="尺寸"):
        export.export_png(_view(), tmp_path / "x.png", (10, 10), browser=False)
    with pytest.raises(ExportError):
        export.export_png(_view(), tmp_path / "x.png", "big", browser=False)


# --------------------------------------------------------------------------- PDF


def test_pdf_one_page_with_extractable_chinese(tmp_path):
    path = export.export_pdf(_view(), tmp_path / "report.pdf")
    reader = pypdf.PdfReader(path)
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    for s in (
        "息县乡镇活动图",
        "投资额（元）",
        "乡镇排名",
        "孙庙乡",
        "1.2亿元",
        "项店镇",
        "孙庙乡新签约农产品加工项目",
        "示意范围，非官方边界",
        "制图日期：2024-03-05",
    ):
        assert s in text, s
    assert "<script>alert(1)</script>" in text  # PDF text is not HTML: shown as written


# --------------------------------------------------------------------------- tables


def test_csv_utf8_bom_items_metrics_townships(tmp_path):
    paths = export.export_csv(_view(), tmp_path / "items.csv", columns="keys")
    assert [p.name for p in paths] == ["items.csv", "items_metrics.csv", "items_townships.csv"]
    for p in paths:
        assert p.read_bytes()[:3] == b"\xef\xbb\xbf"
    items = pd.read_csv(paths[0], encoding="utf-8-sig", dtype={"township_code": str})
    assert HEADLINE in set(items["headline"])
    row = items.set_index("headline").loc["孙庙乡新签约农产品加工项目"]
    assert row["investment_yuan"] == 1.2e8 and row["project"] == 2
    assert "总投资=1.2亿元" in row["metrics"]
    assert row["position"] == "approximate" and 32.3 < row["lat"] < 32.5
    assert {"confidence", "needs_review", "alternatives"} <= set(items.columns)
    metrics = pd.read_csv(paths[1], encoding="utf-8-sig")
    assert "metric_key" in metrics.columns and "总投资" in set(metrics["label"])
    tw = pd.read_csv(paths[2], encoding="utf-8-sig", dtype={"township_code": str})
    tw = tw.set_index("township_code")
    assert tw.loc["411528201", "township"] == "孙庙乡" and tw.loc["411528201", "value"] == 1.2e8
    assert np.isnan(tw.loc["411528001", "value"])
    assert set(tw["metric"]) == {"投资额（元）"}


def _review_view(count_needs_review: bool) -> MapView:
    """:func:`_view` with every place sure but 孙庙乡's (its 1.2亿 item) needing review."""
    items, metrics = make_frames()
    items = items.assign(needs_review=items["township_code"] == "411528201", corrected=False)
    return _view(frames=(items, metrics), count_needs_review=count_needs_review)


def test_exports_count_what_the_choropleth_counts_under_the_review_toggle(tmp_path):
    off, on = _review_view(False), _review_view(True)
    summary = "全部事项 · 共 5 条事项（未计入 1 条定位待核对）"
    html = export.export_html(off, tmp_path / "off.html").read_text(encoding="utf-8")
    assert summary in html
    on_html = export.export_html(on, tmp_path / "on.html").read_text(encoding="utf-8")
    assert "共 6 条事项" in on_html and "未计入" not in on_html
    assert summary in picture.sources_text(off)  # beside the PNG, as on it
    text = pypdf.PdfReader(export.export_pdf(off, tmp_path / "off.pdf")).pages[0].extract_text()
    assert summary in text and "事项（共 5 条；未计入 1 条定位待核对）" in text
    assert "1.2亿元" not in text and "孙庙乡新签约农产品加工项目" not in text
    text = pypdf.PdfReader(export.export_pdf(on, tmp_path / "on.pdf")).pages[0].extract_text()
    assert "事项（共 6 条）" in text and "1.2亿元" in text
    paths = export.export_csv(off, tmp_path / "off.csv", columns="keys")
    items = pd.read_csv(paths[0], encoding="utf-8-sig")
    assert len(items) == 6 and items["needs_review"].sum() == 1  # every item listed, flagged
    tw = pd.read_csv(paths[2], encoding="utf-8-sig", dtype={"township_code": str})
    tw = tw.set_index("township_code")
    assert tw.loc["411528201", "n_items"] == 0 and np.isnan(tw.loc["411528201", "value"])


def _coords(geom: dict):
    if geom["type"] == "Point":
        yield geom["coordinates"]
    elif geom["type"] == "Polygon":
        for ring in geom["coordinates"]:
            yield from ring
    elif geom["type"] == "MultiPolygon":
        for poly in geom["coordinates"]:
            for ring in poly:
                yield from ring


def test_geojson_valid_types_and_ranges(tmp_path):
    path = export.export_geojson(_view(), tmp_path / "map.geojson")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    layers = {"townships": 0, "items": 0}
    for f in doc["features"]:
        assert f["type"] == "Feature"
        kind = f["properties"]["layer"]
        layers[kind] += 1
        expected = {"Point"} if kind == "items" else {"Polygon", "MultiPolygon"}
        assert f["geometry"]["type"] in expected
        for lon, lat in _coords(f["geometry"]):
            assert 73 < lon < 136 and 3 < lat < 54
    assert layers == {"townships": 4, "items": 5}  # the item of unknown place has no point
    heads = {f["properties"].get("headline") for f in doc["features"]}
    assert HEADLINE in heads
    item = next(f["properties"] for f in doc["features"] if f["properties"]["layer"] == "items")
    assert {"confidence", "needs_review", "alternatives"} <= set(item)


def test_gpkg_layers_open_with_pyogrio(tmp_path):
    path = export.export_gpkg(_view(), tmp_path / "map.gpkg")
    names = {name for name, _ in pyogrio.list_layers(path)}
    assert {"items", "townships", "outline"} <= names
    items = pyogrio.read_dataframe(path, layer="items")
    assert set(items.geom_type) == {"Point"} and len(items) == 5
    assert set(items["position"]) == {"approximate"}
    assert HEADLINE in set(items["headline"])
    tw = pyogrio.read_dataframe(path, layer="townships")
    assert len(tw) == 4 and set(tw.geom_type) <= {"Polygon", "MultiPolygon"}
    assert tw.crs.to_epsg() == 4326
    # writing again replaces the file instead of failing or appending
    export.export_gpkg(_view(), path)
    assert len(pyogrio.read_dataframe(path, layer="townships")) == 4


def test_exports_of_an_empty_view(tmp_path):
    empty = make_view(
        pd.DataFrame(columns=agg.ITEM_COLUMNS),
        pd.DataFrame(columns=agg.METRIC_COLUMNS),
        make_townships(),
        county="息县",
    )
    assert filter_summary(empty) == "全部事项 · 共 0 条事项"
    export.export_html(empty, tmp_path / "e.html")
    export.export_png(empty, tmp_path / "e.png", browser=False)
    assert len(pypdf.PdfReader(export.export_pdf(empty, tmp_path / "e.pdf")).pages) == 1
    tw = pd.read_csv(
        export.export_csv(empty, tmp_path / "e.csv", columns="keys")[2], encoding="utf-8-sig"
    )
    assert len(tw) == 4 and (tw["n_items"] == 0).all()
    doc = json.loads(export.export_geojson(empty, tmp_path / "e.geojson").read_text("utf-8"))
    assert len(doc["features"]) == 4
    assert {n for n, _ in pyogrio.list_layers(export.export_gpkg(empty, tmp_path / "e.gpkg"))} >= {
        "townships"
    }


def test_unwritable_target_is_a_user_error(tmp_path):
    (tmp_path / "taken.csv").mkdir()
    with pytest.raises(ExportError):
        export.export_csv(_view(), tmp_path / "taken.csv")


# --------------------------------------------------------------------------- attribution

CC_BY = "数据来源：中国行政区划数据集（活更新版）nbsetsail/real-china-division"


def test_attribution_lines_name_gazetteer_boundaries_outline_and_seat():
    lines = attribution_lines("411528", boundary="approximate", outline=make_outline(), seat=True)
    assert lines[0].startswith(CC_BY) and "CC BY 4.0" in lines[0]
    text = "\n".join(lines)
    assert "国家统计局" in text  # the NBS code list too
    assert "示意范围，非官方边界" in text  # the estimated township areas say so
    assert "仅作示意" in text  # 息县's outline is a display aid (counties.json)
    assert "GeoNames" in text  # the seat's source

    user = attribution_lines("411522", boundary="user", boundary_source="自然资源局.zip")
    assert any("用户上传 自然资源局.zip" in line for line in user)
    assert not any("示意" in line or "县界" in line for line in user)  # no outline, no estimate
    none = attribution_lines("411522", boundary="none")
    assert none[0].startswith(CC_BY) and any("尚无" in line for line in none)
    with pytest.raises(ExportError):
        attribution_lines("411528", boundary="guessed")


def test_config_file_is_the_source_of_the_wording(tmp_path):
    cfg = json.loads(ATTRIBUTION_PATH.read_text(encoding="utf-8"))
    cfg["townships"]["line_none"] = "乡镇边界：测试用措辞"
    path = tmp_path / "attribution.json"
    path.write_text(json.dumps(cfg, ensure_ascii=False), encoding="utf-8")
    assert "乡镇边界：测试用措辞" in attribution_lines("411528", boundary="none", path=path)


def test_make_view_attribution_defaults_from_the_boundaries():
    assert any("示意范围" in a for a in _view().attribution)
    bare = _bare_view(county_code="411528")
    assert bare.attribution[0].startswith(CC_BY)
    assert any("尚无" in a for a in bare.attribution)
    mine = _view(attribution=["第一行", "第二行"])
    assert mine.attribution == ("第一行", "第二行")


def test_html_export_carries_the_full_attribution_escaped(tmp_path):
    html = export.export_html(_view(), tmp_path / "a.html").read_text(encoding="utf-8")
    assert CC_BY in html and "仅作示意" in html
    assert "乡镇范围：本项目估算的示意范围，非官方边界" in html

    lines = attribution_lines(
        "411528", boundary="user", boundary_source="<b>乡镇</b>.zip", outline=make_outline()
    )
    view = _view(approximate=False, attribution=lines)
    html = export.export_html(view, tmp_path / "b.html").read_text(encoding="utf-8")
    assert CC_BY in html and "用户上传 &lt;b&gt;乡镇&lt;/b&gt;.zip" in html
    assert "<b>乡镇</b>" not in html


def test_pdf_export_carries_the_full_attribution(tmp_path):
    text = pypdf.PdfReader(export.export_pdf(_view(), tmp_path / "a.pdf")).pages[0].extract_text()
    assert CC_BY in text
    assert "仅作示意" in text and "乡镇范围：本项目估算的示意范围" in text
    assert "孙庙乡新签约农产品加工项目" in text  # the item list still fits above the notes
    bare = _bare_view(county_code="411528", outline=make_outline(), county_seat=SEAT)
    text = pypdf.PdfReader(export.export_pdf(bare, tmp_path / "b.pdf")).pages[0].extract_text()
    assert CC_BY in text and "尚无" in text


def test_png_carries_a_short_source_line_and_the_full_sources_beside(tmp_path):
    v = _view()
    line = picture.source_line(v)
    assert line.startswith("数据：县政府工作简报；乡镇边界：示意范围，非官方边界；")
    assert "CC BY 4.0" in line and "底图：无" in line and len(line) < 90
    assert not any(c.isascii() and c.isalpha() for c in line.replace("real-china-division", "")
                   .replace("CC BY", ""))  # fmt: skip
    out = export.export_png(v, tmp_path / "a.png", (1200, 900), browser=False)
    beside = tmp_path / "a_数据来源.txt"
    text = beside.read_text(encoding="utf-8")
    assert CC_BY in text and "乡镇范围：本项目估算的示意范围，非官方边界" in text
    assert v.title in text and "制图日期：2024-03-05" in text
    info = Image.open(out).info
    assert CC_BY in info["Source"] and info["Title"] == v.title
    official = _view(approximate=False, attribution=attribution_lines(
        "411528", boundary="official", boundary_source="县自然资源局"))  # fmt: skip
    assert "乡镇边界：官方边界（上传者提供）" in picture.source_line(official)


def _map_share(path, size) -> float:
    """Share of the picture the browser's map frame covers: the rows whose right edge is the
    map's background (title and source strips above and below it are white)."""
    a = np.asarray(Image.open(path).convert("RGB"), dtype=int)
    assert a.shape[:2] == (size[1], size[0])
    edge = a[:, -3, :]
    return float((edge.min(axis=1) < 252).mean())


@pytest.mark.parametrize("preset", ["wechat", "a4", "a4-landscape", "slide"])
def test_png_presets_static_size_dpi_and_map_share(tmp_path, preset):
    p = picture.png_preset(preset)
    v = _view(filters=agg.Filters(sectors=("investment",)))
    out = export.export_png(v, tmp_path / "m.png", preset=preset, browser=False)
    im = Image.open(out)
    assert im.size == p.size and round(im.info["dpi"][0]) == p.dpi
    fig = render.render_figure(v, p.size, dpi=p.dpi)
    box = fig.axes[0].get_position()
    assert box.width * box.height >= 0.6, box  # the map's axes cover 60 % of the picture
    a = np.asarray(im.convert("L"), dtype=int)
    assert a.std() > 20


@pytest.mark.browser
@pytest.mark.skipif(not _chromium(), reason="Debian chromium not installed")
@pytest.mark.parametrize("preset", ["wechat", "a4-landscape", "slide"])
def test_png_presets_in_chromium_size_dpi_and_map_share(tmp_path, preset):
    p = picture.png_preset(preset)
    out = export.export_png(_view(), tmp_path / "m.png", preset=preset, browser=True)
    im = Image.open(out)
    assert im.size == p.size and round(im.info["dpi"][0]) == p.dpi
    assert _map_share(out, p.size) >= 0.6


def test_png_preset_and_size_together_or_unknown_are_user_errors(tmp_path):
    with pytest.raises(ExportError, match="预设"):
        export.export_png(_view(), tmp_path / "x.png", (800, 600), preset="a4", browser=False)
    with pytest.raises(ExportError, match="wechat"):
        export.export_png(_view(), tmp_path / "x.png", preset="poster", browser=False)


def test_data_exports_when_no_item_has_a_position(tmp_path):
    v = _bare_view()  # no polygons, no seat: no item can be placed
    doc = json.loads(export.export_geojson(v, tmp_path / "t.geojson").read_text("utf-8"))
    items = [f for f in doc["features"] if f["properties"]["layer"] == "items"]
    assert len(items) == 6 and all(f["geometry"] is None for f in items)
    gi = pyogrio.read_dataframe(export.export_gpkg(v, tmp_path / "t.gpkg"), layer="items")
    assert len(gi) == 6 and gi.geometry.isna().all()


# --------------------------------------------------------------------------- CSV injection


def test_csv_safe_quotes_formula_text_and_keeps_numbers():
    df = pd.DataFrame(
        {
            "headline": ['=HYPERLINK("http://evil.example","点击")', "+1", "@SUM(A1)", "正常标题"],
            "unit": ["-2+3", "\tx", "\rx", None],
            "value": [-5.0, 1.5, 2.0, 3.0],
        }
    )
    out = export.csv_safe(df)
    assert list(out["headline"]) == [
        '\'=HYPERLINK("http://evil.example","点击")',
        "'+1",
        "'@SUM(A1)",
        "正常标题",
    ]
    assert list(out["unit"][:3]) == ["'-2+3", "'\tx", "'\rx"] and pd.isna(out["unit"][3])
    assert out["value"].dtype == float and out["value"][0] == -5.0
    assert df["headline"][0].startswith("=")  # input untouched


def test_export_csv_neutralises_formula_headlines(tmp_path):
    items, metrics = make_frames()
    items.loc[0, "headline"] = '=HYPERLINK("http://evil.example","点击")'
    metrics.loc[0, "label"] = "@cmd"
    metrics.loc[0, "value"] = -3.0
    view = make_view(
        items, metrics, make_townships(), county="息县", county_code="411528", county_seat=SEAT
    )
    items_csv, metrics_csv, towns_csv = export.export_csv(view, tmp_path / "t.csv", columns="keys")
    rows = pd.read_csv(items_csv, encoding="utf-8-sig", dtype=str)
    heads = rows["headline"].dropna()
    assert '\'=HYPERLINK("http://evil.example","点击")' in set(heads)
    assert not heads.str.startswith(("=", "+", "-", "@")).any()
    mets = pd.read_csv(metrics_csv, encoding="utf-8-sig")
    assert "'@cmd" in set(mets["label"])
    assert mets["value"].dtype == float and -3.0 in set(mets["value"])  # numbers stay numbers
    towns = pd.read_csv(towns_csv, encoding="utf-8-sig", dtype=str)
    assert not towns.fillna("").map(lambda s: s.startswith(("=", "@"))).any().any()


def test_csv_shows_other_units_as_written_and_pdf_titles_fall_back_to_the_body(tmp_path):
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
    items.loc[:, "headline"] = ""
    items.loc[:, "body"] = "全村组织志愿者清理沟渠杂草，共出动人员六十余人次。"
    view = make_view(
        items, metrics, make_townships(), county="息县", county_code="411528", county_seat=SEAT
    )
    rows = pd.read_csv(
        export.export_csv(view, tmp_path / "t.csv", columns="keys")[0], encoding="utf-8-sig"
    )
    text = rows.set_index("item_id").loc[iid, "metrics"]
    assert "新建桥梁=45座" in text and "45个" not in text
    pdf = export.export_pdf(view, tmp_path / "t.pdf")
    page = pypdf.PdfReader(pdf).pages[0].extract_text()
    assert "（无标题）" not in page and "全村组织志愿者" in page


def test_alternatives_are_one_readable_cell(tmp_path):
    import json as _json

    items, metrics = make_frames()
    alts = [
        {
            "scope": "township",
            "township": "孙庙乡",
            "township_code": "411528201",
            "village": None,
            "village_code": None,
            "score": 0.2,
        }
    ]
    items["alternatives"] = _json.dumps(alts, ensure_ascii=False)
    items["confidence"], items["needs_review"] = 0.7, True
    view = make_view(
        items,
        metrics,
        make_townships(),
        county="息县",
        county_code="411528",
        metric_key="investment_yuan",
    )
    path = export.export_csv(view, tmp_path / "a.csv", columns="keys")[0]
    got = pd.read_csv(path, encoding="utf-8-sig")
    assert set(got["alternatives"]) == {"孙庙乡 0.20"}
    assert got["needs_review"].all() and (got["confidence"] == 0.7).all()


# --------------------------------------------------------------------------- the 报表版 CSV


def _view_with_village(**kw) -> MapView:
    items, metrics = make_frames()
    # one item placed in a village, the others not: a bare code column would read as floats
    items["village_code"] = items["village_code"].astype(object)
    items.loc[0, ["village", "village_code"]] = ["新庄村", "411528201001"]
    return make_view(
        items,
        metrics,
        make_townships(),
        county="息县",
        county_code="411528",
        county_seat=SEAT,
        metric_key="investment_yuan",
        **kw,
    )


def test_report_csv_is_the_default_with_chinese_headers_and_units(tmp_path):
    items_csv, metrics_csv, towns_csv = export.export_csv(_view_with_village(), tmp_path / "t.csv")
    items = pd.read_csv(items_csv, encoding="utf-8-sig")
    assert not [c for c in items.columns if c.isascii()]  # no English header left
    assert {"标题", "领域", "乡镇（街道）", "村代码", "投资额（万元）", "指标（原文）"} <= set(
        items
    )
    assert "其他数量" not in "".join(items.columns)  # catch-all figures stay in 指标（原文）
    row = items.set_index("标题").loc["孙庙乡新签约农产品加工项目"]
    assert row["投资额（万元）"] == 12000  # 1.2亿元 in 万元: one unit per column
    assert row["领域"] in set(sector_label(s) for s in ("investment", "industry", "agriculture"))
    assert row["位置精度"].startswith("示意")  # approximate positions stay labelled
    metrics = pd.read_csv(metrics_csv, encoding="utf-8-sig")
    assert {"事项编号", "指标", "数值", "单位"} <= set(metrics) and "元" in set(metrics["单位"])
    towns = pd.read_csv(towns_csv, encoding="utf-8-sig")
    assert {"乡镇代码", "乡镇（街道）", "事项数（条）", "投资额（万元）"} <= set(towns)
    assert set(towns["地图指标"]) == {"投资额（万元）"}


def test_report_csv_keeps_codes_as_text_in_pandas_and_excel(tmp_path):
    items_csv, _, towns_csv = export.export_csv(_view_with_village(), tmp_path / "t.csv")
    items = pd.read_csv(items_csv, encoding="utf-8-sig")  # default dtype inference
    villages = items["村代码"].dropna()
    # text in pandas; Excel/WPS show 411528201001 with every digit
    assert '="411528201001"' in set(villages) and villages.str.fullmatch(r'="\d{12}"').all()
    assert "411528201001" in set(strip_text_codes(villages))
    assert items["乡镇代码"].dropna().map(lambda v: isinstance(v, str)).all()
    assert items["县代码"].map(lambda v: v == '="411528"').all()
    towns = pd.read_csv(towns_csv, encoding="utf-8-sig")
    assert towns["乡镇代码"].str.fullmatch(r'="\d{9}"').all()
    # the machine version: English keys, bare codes (read them with dtype=str)
    keys = pd.read_csv(
        export.export_csv(_view_with_village(), tmp_path / "k.csv", columns="keys")[0],
        encoding="utf-8-sig",
        dtype={"village_code": str},
    )
    assert {"item_id", "headline", "sector", "village_code", "investment_yuan"} <= set(keys)
    assert set(keys["village_code"].dropna()) == set(strip_text_codes(villages))


def test_report_csv_quotes_formula_text_but_writes_codes_as_text_formulas(tmp_path):
    items, metrics = make_frames()
    items.loc[0, "headline"] = '=HYPERLINK("http://evil.example","点击")'
    items.loc[1, "township_code"] = '=1+1"'
    view = make_view(items, metrics, make_townships(), county="息县", county_code="411528")
    rows = pd.read_csv(export.export_csv(view, tmp_path / "t.csv")[0], encoding="utf-8-sig")
    assert '\'=HYPERLINK("http://evil.example","点击")' in set(rows["标题"])
    codes = rows["乡镇代码"].dropna()
    # only bare digits become ="…"; anything else that starts like a formula is quoted
    assert codes.map(lambda v: bool(re.fullmatch(r'="\d+"', v)) or v.startswith("'")).all()


def test_unknown_column_style_is_a_coded_error(tmp_path):
    with pytest.raises(ExportError) as err:
        export.export_csv(_view(), tmp_path / "t.csv", columns="english")
    assert err.value.code == "export.columns" and "报表版" in str(err.value)


def test_html_export_carries_no_flag_and_a_plain_prefix(tmp_path):
    html = export.export_html(_view(), tmp_path / "a.html").read_text(encoding="utf-8")
    assert 'leaflet-attribution-flag"' not in html and "#FFD500" not in html
    assert "\U0001f1fa\U0001f1e6" not in html
    assert '.attributionControl.setPrefix("Leaflet")' in html


def test_pdf_ranking_says_each_unit_once(tmp_path):
    text = pypdf.PdfReader(export.export_pdf(_view(metric_key="items"), tmp_path / "a.pdf"))
    text = text.pages[0].extract_text()
    ranking = text[text.index("乡镇排名") :].splitlines()[1:4]
    for line in ranking:
        assert line.count("条") == 1, ranking
    text = pypdf.PdfReader(export.export_pdf(_view(), tmp_path / "b.pdf")).pages[0].extract_text()
    assert "1.2亿元" in text and "1 条事项" in text
