"""The Streamlit app (AppTest, no browser) and its pure helpers in geo.app_support."""

from __future__ import annotations

import hashlib
import io
import json
import re

import geopandas as gpd
import pandas as pd
import pytest
from error_codes import raises_code
from shapely.geometry import box

from geo import aggregate as agg
from geo import app_support, display, paths
from geo.aggregate import items_frame
from geo.county_settings import county_choices, default_county_code
from geo.errors import GeoInputError
from geo.models import Bulletin, BulletinHeader, Item, Metric, Place
from geo.view import boundary_label, data_sources, export_attribution, make_view

APP = str(paths.data_dir().parent / "streamlit_app.py")
TIMEOUT = 120


# --------------------------------------------------------------------------- helpers' tests


def _bulletin(items: list[Item], name: str = "测试简报.txt", date: str | None = "2024-02-01"):
    text = "\n".join(f"{it.headline}\n{it.body}" for it in items)
    return Bulletin(
        source_name=name,
        text=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        header=BulletinHeader(title="工作简报", issue="第3期", date=date),
        county="息县",
        county_code="411528",
        items=items,
    )


def _item(index, headline, body, *, town=None, code=None, sector="agriculture", metrics=()):
    scope = "township" if code else "county"
    place = Place(
        scope=scope, county="息县", county_code="411528", township=town, township_code=code
    )
    return Item(
        index=index,
        headline=headline,
        body=body,
        unit="县农业农村局",
        sector=sector,
        sectors=[sector],
        place=place,
        metrics=list(metrics),
    )


@pytest.fixture()
def frames():
    b = _bulletin(
        [
            _item(
                1,
                "息县甲乡发展大棚蔬菜",
                "新建大棚120座，带动就业80人。",
                town="甲乡",
                code="411528201",
                metrics=[Metric(120, "other", label="大棚"), Metric(80, "person", label="就业")],
            ),
            _item(
                2,
                "息县全县招工",
                "送工2354人。",
                sector="employment",
                metrics=[Metric(2354, "person")],
            ),
            _item(
                3,
                "息县甲乡修路",
                "修路5公里。",
                town="甲乡",
                code="411528201",
                sector="infrastructure",
            ),
        ]
    )
    items_df, metrics_df = items_frame([b])
    metrics_df = metrics_df.assign(metric_key=["count_other", "people", "people"])
    return items_df, metrics_df


def test_md_escape_neutralises_html_and_markdown():
    out = app_support.md_escape('<script>alert("x")</script> ![图](http://evil.example/a.png)')
    assert "<" not in out and ">" not in out
    assert "![" not in out and "](" not in out
    assert "&lt;script&gt;" in out


def test_content_hash_is_sha256_of_utf8():
    assert app_support.content_hash("息县") == hashlib.sha256("息县".encode()).hexdigest()
    assert app_support.content_hash(b"ab") == hashlib.sha256(b"ab").hexdigest()


def test_county_choices_put_default_first(tmp_path):
    path = tmp_path / "counties.json"
    path.write_text(
        json.dumps(
            {
                "default": "411528",
                "counties": {"411521": {"name": "罗山县"}, "411528": {"name": "息县"}},
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    assert list(county_choices(path).items()) == [
        ("411528", "息县"),
        ("411521", "罗山县"),
    ]
    assert default_county_code(path) == "411528"
    assert county_choices(tmp_path / "missing.json") == {"411528": "息县"}


def test_township_from_map_reads_feature_properties_then_coordinates():
    towns = gpd.GeoDataFrame(
        {"township_code": ["411528201", "411528202"]},
        geometry=[box(114.0, 32.0, 114.1, 32.1), box(114.1, 32.0, 114.2, 32.1)],
        crs="EPSG:4326",
    )
    drawn = {"last_active_drawing": {"properties": {"township_code": "411528202"}}}
    assert app_support.township_from_map(drawn) == "411528202"
    clicked = {"last_active_drawing": None, "last_object_clicked": {"lat": 32.05, "lng": 114.05}}
    assert app_support.township_from_map(clicked, towns) == "411528201"
    outside = {"last_object_clicked": {"lat": 10.0, "lng": 10.0}}
    assert app_support.township_from_map(outside, towns) is None
    assert app_support.township_from_map(None) is None


def test_items_table_has_chinese_headers_and_metric_summary(frames):
    items_df, metrics_df = frames
    table = app_support.items_table(items_df, metrics_df, {"agriculture": "农业农村"})
    assert list(table.columns) == list(app_support.TABLE_COLUMNS)
    assert table.loc[0, "行业"] == "农业农村"
    assert table.loc[0, "主要数据"] == "120；80人"
    assert table.loc[1, "乡镇"] == "全县"  # no township: the scope is shown
    assert table.loc[1, "主要数据"] == "2354人"
    assert table.loc[2, "主要数据"] == ""


def test_planner_table_drops_empty_columns_and_sorts_by_the_metric():
    bare = _bulletin(
        [
            _item(
                1,
                "甲乡签约",
                "签约项目总投资5000万元。",
                town="甲乡",
                code="411528201",
                metrics=[Metric(5e7, "yuan", label="总投资")],
            ),
            _item(
                2,
                "全县招商",
                "全县签约总投资1.35亿元。",
                sector="investment",
                metrics=[Metric(1.35e8, "yuan", label="总投资")],
            ),
            _item(3, "甲乡修路", "修路5公里。", town="甲乡", code="411528201"),
        ],
        date=None,
    )
    bare.header = BulletinHeader()  # no date, no issue, no title
    items_df, metrics_df = items_frame([bare])
    from geo.aggregate import assign_metric_keys

    metrics_df = assign_metric_keys(metrics_df)
    table = app_support.planner_table(items_df, metrics_df, None, "investment_yuan")
    assert "日期" not in table.columns and "期号" not in table.columns  # nobody has them
    assert "村（社区）" not in table.columns
    assert {"标题", "乡镇", "编号", "已更正"} <= set(table.columns)  # kept even when empty/False
    assert list(table.columns[:2]) == ["标题", "投资额（万元）"]
    assert list(table["标题"]) == ["全县招商", "甲乡签约", "甲乡修路"]  # largest first
    assert table["投资额（万元）"].tolist()[:2] == [13500.0, 5000.0]
    assert pd.isna(table["投资额（万元）"].iloc[2])
    plain = app_support.planner_table(items_df, metrics_df, None, "items")
    assert list(plain["标题"]) == ["甲乡签约", "全县招商", "甲乡修路"]  # bulletin order
    assert not any("（" in c and "）" in c and c != "村（社区）" for c in plain.columns)


def test_readable_scale_and_metric_column_units():
    assert app_support.readable_scale("investment_yuan", 2e9) == (1e8, "亿元")
    assert app_support.readable_scale("investment_yuan", 5e5) == (1e4, "万元")
    assert app_support.readable_scale("investment_yuan", 5e4) == (1.0, "元")
    assert app_support.readable_scale("employment_person", 5e6) == (1.0, "人")
    items_df = pd.DataFrame({"item_id": ["a", "b"]})
    metrics_df = pd.DataFrame(
        {"item_id": ["a"], "metric_key": ["employment_person"], "value": [85.0]}
    )
    header, values = app_support.metric_column(items_df, metrics_df, "employment_person")
    assert header == "就业人数（人）"
    assert values.iloc[0] == 85.0 and pd.isna(values.iloc[1])
    assert app_support.metric_column(items_df, metrics_df, "items") is None


def test_map_click_tells_a_new_click_from_the_same_one_read_again():
    polygon = {
        "last_object_clicked": {"lat": 32.1, "lng": 114.7},
        "last_active_drawing": {"properties": {"township_code": "411528201"}},
    }
    assert app_support.map_click(polygon) == (32.1, 114.7, "411528201")
    again = {**polygon, "center": {"lat": 32.0, "lng": 114.0}, "zoom": 12}  # panned since
    assert app_support.map_click(again) == app_support.map_click(polygon)
    elsewhere = {**polygon, "last_object_clicked": {"lat": 32.2, "lng": 114.7}}
    assert app_support.map_click(elsewhere) != app_support.map_click(polygon)
    assert app_support.map_click(None) is None and app_support.map_click({}) is None
    assert not app_support.clicked_a_marker(polygon)
    marker = {
        "last_object_clicked": {"lat": 32.3, "lng": 114.8},
        "last_active_drawing": {
            "type": "Feature",
            "properties": {},
            "geometry": {"type": "Point", "coordinates": [114.8, 32.3]},
        },
    }
    assert app_support.clicked_a_marker(marker) and not app_support.clicked_a_marker(None)


def test_item_location_is_where_the_map_draws_the_item(frames):
    from shapely.geometry import box as shp_box

    items_df, metrics_df = frames
    towns = gpd.GeoDataFrame(
        {"township_code": ["411528201"], "township": ["甲乡"]},
        geometry=[shp_box(114.0, 32.0, 114.1, 32.1)],
        crs=4326,
    )
    view = make_view(items_df, metrics_df, towns, county_seat=(114.05, 32.5))
    lat, lon = app_support.item_location(view, items_df["item_id"].iloc[0])
    assert 32.0 < lat < 32.1 and 114.0 < lon < 114.1  # inside its township
    assert app_support.item_location(view, items_df["item_id"].iloc[1]) == (32.5, 114.05)  # seat
    assert app_support.item_location(view, "no-such-item") is None


def test_metric_bounds_and_township_summary(frames):
    items_df, metrics_df = frames
    assert app_support.metric_bounds(metrics_df, "people") == (80.0, 2354.0)
    assert app_support.metric_bounds(metrics_df, "items") is None
    info = app_support.township_summary(items_df, metrics_df, "411528201", {"people": "人数（人）"})
    assert info["township"] == "甲乡"
    assert info["n_items"] == 2
    assert info["sectors"] == {"agriculture": 1, "infrastructure": 1}
    assert ("人数（人）", 80.0) in info["totals"]


def test_township_totals_count_a_repeated_bulletin_once_in_readable_units(sample_text):
    from geo.pipeline import parse_text
    from geo.trends import counting_frames

    head = "息县工作简报\n2024年第{m}期\n息县人民政府办公室 2024年{m}月1日\n"
    bulletins = [
        parse_text(head.format(m=m) + sample_text, county="息县", source_name=f"{m}.txt")
        for m in (2, 3)
    ]
    items, metrics = agg.items_frame(bulletins)
    items, metrics = counting_frames(items, agg.assign_metric_keys(metrics))
    code = items.loc[items["township"] == "白土店乡", "township_code"].iloc[0]
    info = app_support.township_summary(items, metrics, code)
    texts = dict(info["total_texts"])
    assert texts["投资额"] == "666万元"  # the March repeat adds nothing; 万元, not 6660000
    assert dict(info["totals"])["investment_yuan"] == 6_660_000.0
    # the same figure the map counts for the township
    table = agg.aggregate_townships(items, metrics, "investment_yuan", [code])
    assert table.loc[code, "value"] == 6_660_000.0
    # the header's 合计 too: the county's total is one bulletin's, not two
    from geo import figures

    one_items, one_metrics = agg.items_frame(bulletins[:1])
    once = figures.metric_total(one_items, agg.assign_metric_keys(one_metrics), "investment_yuan")
    assert figures.metric_total(items, metrics, "investment_yuan") == once


def test_parse_crs_accepts_epsg_codes_only():
    assert app_support.parse_crs("4547") == "EPSG:4547"
    assert app_support.parse_crs(" epsg：3857 ") == "EPSG:3857"
    for bad, code in (("", "input.epsg"), ("高斯", "input.epsg"), ("EPSG:99999", "input.crs")):
        with raises_code(GeoInputError, code):
            app_support.parse_crs(bad)


def test_boundary_label_names_the_layer_in_use():
    assert boundary_label(None, "示意范围，非官方边界") == "默认图层（示意范围，非官方边界）"
    meta = {"source_name": "乡镇.zip", "quality": "official", "created_at": "2026-03-01T08:00:00"}
    assert boundary_label({**meta, "n_townships": 23}) == (
        "乡镇.zip（官方，2026-03-01 保存，23 个乡镇）"
    )


def test_data_sources_follow_the_layers_in_use():
    from geo.boundaries import county_layers

    layers = county_layers("411528")
    rows = data_sources("411528", layers, sample=True)
    text = " ".join(f"{r['data']} {r['source']} {r['licence']}" for r in rows)
    assert "数据来源：中国行政区划数据集（活更新版）nbsetsail/real-china-division" in text
    assert "仅作示意" in text and "示意范围，非官方边界" in text and "示例简报" in text
    meta = {"source_name": "<b>乡镇</b>.zip", "quality": "user", "created_at": "2026-03-01"}
    rows = data_sources("411528", layers, meta)
    assert not any(r["data"].startswith("乡镇范围") for r in rows)  # the estimate is not shown
    assert any("<b>乡镇</b>.zip" in r["source"] for r in rows)  # escaped by the app when shown
    bare = data_sources("411522", county_layers("411522"))
    assert [r["data"] for r in bare][:2] == [r["data"] for r in rows][:2]
    assert not any(r["data"] in ("县界", "县城位置") for r in bare)


class _ListStore:
    """The smallest store: keeps what it is given (the real Store is tested elsewhere)."""

    def __init__(self):
        self.bulletins = []

    def ingest(self, bulletin, *, reassign_county=False):
        self.bulletins.append(bulletin)
        return type("R", (), {"created": True, "n_items": len(bulletin.items)})()


def test_ingest_parsed_reports_bad_files_and_keeps_the_others():
    text = "息县白土店乡发展鲜食玉米种植 流转土地300余亩。（白土店乡人民政府 张三）"
    good = app_support.parse_upload("好.txt", text.encode(), county="411528")
    assert good.bulletin is not None and good.needs_date
    bad = app_support.parse_upload("坏.pdf", b"%PDF-1.4 not really a pdf", county="411528")
    assert bad.error and bad.error_code == "bulletin.damaged" and "坏.pdf" in bad.error
    store = _ListStore()
    done = []
    report = app_support.ingest_parsed(
        [bad, good],
        store,
        headers={"好.txt": BulletinHeader(date="2024-03-01", issue="第5期")},
        progress=lambda n, name: done.append((n, name)),
    )
    assert [name for name, _ in report.ingested] == ["好.txt"]
    assert len(report.errors) == 1 and report.errors[0][0] == "坏.pdf"
    assert "坏.pdf" in report.errors[0][1] and "\n" not in report.errors[0][1]
    assert store.bulletins[0].header.date == "2024-03-01"
    assert store.bulletins[0].header.issue == "第5期"
    assert done == [(1, "坏.pdf"), (2, "好.txt")]


# --------------------------------------------------------------------------- the app (AppTest)

# Hand-written bulletins in the 工作简报 style (not taken from any real bulletin).
_MASTHEAD = "息县工作简报\n2024年第7期\n息县人民政府办公室            2024年3月8日\n"
_GOOD_TEXT = (
    _MASTHEAD + "息县路口乡开展春季招聘会 组织辖区企业12家进场招聘，提供岗位300余个，"
    "达成就业意向85人。\n（路口乡人民政府 李明）\n"
    + "息县曹黄林镇推进高标准农田建设 新建高标准农田1.2万亩，总投资1800万元。"
    "\n（曹黄林镇人民政府 王芳）\n"
)


_DOCX_TEXT = (
    "息县工作简报\n2024年第9期\n息县人民政府办公室            2024年4月12日\n"
    "息县项店镇开展农村人居环境整治 清理沟渠45公里，清运垃圾320吨。\n（项店镇人民政府 赵强）\n"
)


def _app(monkeypatch, tmp_path, panel: str | None = "items"):
    """The app in AppTest, opened with ``panel`` under the map (the item table unless told:
    most tests read it; a planner's first view opens none, see
    ``test_first_view_opens_no_panel_and_every_panel_is_one_choice_away``)."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("GEO_STORE", str(tmp_path / "store.sqlite"))
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if panel:
        at.query_params["panel"] = panel
    return at


def _open_panel(at, panel: str):
    """Choose ``panel`` under the map, as a planner does (one at a time)."""
    return at.radio(key="panel").set_value(panel).run()


def _table(at) -> pd.DataFrame:
    return at.dataframe[0].value


def _map_badge(at) -> str:
    """The approximate-boundary badge on the app's map, with the explanation it opens (the
    HTML our badge control puts into the map's script), or "" when the map has none."""
    import re

    for comp in at.get("component_instance"):
        if comp.proto.component_name != "streamlit_folium.st_folium":
            continue
        script = json.loads(comp.proto.json_args)["script"]
        boxes = re.findall(r'div\.innerHTML = ("(?:[^"\\]|\\.)*");', script)
        return next((h for h in map(json.loads, boxes) if 'class="geo-badge"' in h), "")
    return ""


def _metric(at, label: str):
    return next(m for m in at.metric if m.label == label)


def _markdown_texts(at) -> list[str]:
    """Every string the app rendered as Markdown (markdown, captions, labels, alerts...)."""
    out = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "error",
                 "warning", "info", "success", "expander", "metric"):  # fmt: skip
        for el in getattr(at, kind, []):
            for attr in ("value", "label", "body"):
                v = getattr(el, attr, None)
                if isinstance(v, str):
                    out.append(v)
    return out


def test_first_view_opens_no_panel_and_every_panel_is_one_choice_away(monkeypatch, tmp_path):
    """A planner's first view is the map alone: no item grid, chart or review form is built or
    sent (each costs the planner's browser and the server, issue 14); every panel is one
    choice under the map away, one at a time, and kept in the URL."""
    at = _app(monkeypatch, tmp_path, panel=None).run()
    assert not at.exception
    assert not at.dataframe and not at.get("vega_lite_chart") and not at.info
    assert not any(b.key and b.key.startswith(("rv_", "rq_", "cut_")) for b in at.button)
    assert _n_shown(at) == 6 and _map_badge(at)  # the count and the map all the same
    chooser = at.radio(key="panel")
    assert chooser.value == "" and "panel" not in at.query_params
    assert chooser.options == [
        "无",
        "事项表",
        "趋势",
        "两期对比",
        "核对定位",
        "更正事项",
        "检查切分",
    ]
    _open_panel(at, "items")
    assert len(_table(at)) == 6 and at.query_params["panel"] == "items"
    _open_panel(at, "trend")  # the sample has no dates: the trend panel says so
    assert not at.dataframe and [i.value for i in at.info] == ["没有带日期的事项，无法显示趋势。"]
    _open_panel(at, "correct")
    assert at.selectbox(key="rv_item") and not at.info
    assert "更正事项（乡镇、村、行业、重复、累计）" in [s.value for s in at.subheader]
    _open_panel(at, "recut")
    assert at.selectbox(key="cut_bulletin") and at.query_params["panel"] == "recut"
    _open_panel(at, "")
    assert not at.dataframe and "panel" not in at.query_params
    linked = _app(monkeypatch, tmp_path, panel="review").run()  # a shared link opens its panel
    assert linked.radio(key="panel").value == "review"
    assert "核对定位（置信度低的事项）" in [s.value for s in linked.subheader]


def test_default_view_shows_the_six_sample_items(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path).run()
    assert not at.exception
    assert len(_table(at)) == 6
    assert "事项（6 / 6）" in [s.value for s in at.subheader]
    badge = _map_badge(at)  # on the map, where the approximate areas show
    assert "示意范围，非官方边界" in badge and display.APPROXIMATE_EXPLANATION[1] in badge
    assert at.selectbox(key="county").value == "411528"


def test_sector_filter_changes_the_table_and_the_url(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path).run()
    at.multiselect(key="f_sectors").set_value(["employment"]).run()
    table = _table(at)
    assert 0 < len(table) < 6
    assert set(table["行业"]) == {"就业"}
    assert at.query_params["sector"] == "employment"


def test_query_params_restore_filters(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path)
    at.query_params["sector"] = "agriculture"
    at.query_params["q"] = "玉米"
    at.query_params["basemap"] = "osm"
    at.run()
    assert at.multiselect(key="f_sectors").value == ["agriculture"]
    assert at.text_input(key="f_text").value == "玉米"
    assert at.selectbox(key="basemap").value == "osm"
    table = _table(at)
    assert len(table) == 1 and "玉米" in table.loc[0, "标题"]


def test_bad_upload_shows_an_error_and_the_good_file_is_ingested(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path).run()
    import io

    import docx

    doc = docx.Document()
    for line in _DOCX_TEXT.splitlines():
        doc.add_paragraph(line)
    buf = io.BytesIO()
    doc.save(buf)
    at.file_uploader(key="bulletin_files_0").set_value(
        [
            ("坏文件.pdf", b"%PDF-1.4 this is not a real pdf", "application/pdf"),
            ("三月简报.txt", _GOOD_TEXT.encode("utf-8"), "text/plain"),
            ("四月简报.docx", buf.getvalue(), "application/octet-stream"),
        ]
    ).run()
    assert not at.error  # nothing is read before the user asks
    at.button(key="up_read_0").click().run()
    at.button(key="up_go_0").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "坏文件.pdf" in errors[0] and "\n" not in errors[0]
    assert any("三月简报.txt" in s.value for s in at.success)
    assert any("四月简报.docx" in s.value for s in at.success)
    # the store now holds the good bulletins, so the app shows them instead of the sample
    table = _table(at)
    assert len(table) == 3
    assert sorted(set(table["日期"])) == ["2024-03-08", "2024-04-12"]
    from geo.store import Store

    with Store(tmp_path / "store.sqlite") as store:
        assert sorted(store.bulletins()["source_name"]) == ["三月简报.txt", "四月简报.docx"]


def test_upload_without_a_masthead_date_asks_for_it(monkeypatch, tmp_path):
    import datetime as dt

    at = _app(monkeypatch, tmp_path).run()
    body = _GOOD_TEXT.split("\n", 3)[3]  # no masthead
    at.file_uploader(key="bulletin_files_0").set_value(
        ("无报头.txt", body.encode("utf-8"), "text/plain")
    ).run()
    at.button(key="up_read_0").click().run()
    # no date in the masthead nor the file: importing waits for one
    assert at.button(key="up_go_0").disabled
    assert any("请先填写简报日期" in w.value for w in at.warning)
    at.date_input(key="up_date_0_0").set_value(dt.date(2024, 4, 1))
    at.text_input(key="up_issue_0_0").input("第9期").run()  # a browser reruns on each change
    at.button(key="up_go_0").click().run()
    table = _table(at)
    assert set(table["日期"]) == {"2024-04-01"} and set(table["期号"]) == {"第9期"}


def test_review_corrects_an_item_and_marks_it(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path).run()
    first = _table(at).loc[0, "编号"]
    _open_panel(at, "correct")  # the correction form, in its own panel
    at.selectbox(key="rv_item").set_value(first).run()
    gaz = __import__("geo.gazetteer", fromlist=["load_gazetteer"]).load_gazetteer("411528")
    town = next(t for t in gaz.townships if t.name.startswith("路口"))
    at.selectbox(key=f"rv_town_{first}").set_value(town.code).run()
    at.selectbox(key=f"rv_sector_{first}").set_value("agriculture").run()
    at.button(key="rv_save").click().run()
    assert not at.exception and not at.error
    captions = [c.value for c in at.caption]
    assert any(c.startswith("当前：") and "（已更正）" in c for c in captions)
    assert not any("nan" in c for c in captions)
    assert any("已保存更正" in m.value for m in at.success)
    row = _table(_open_panel(at, "items")).set_index("编号").loc[first]
    assert row["乡镇"] == town.name and row["行业"] == "农业" and bool(row["已更正"])


def test_bulletin_html_is_never_rendered(monkeypatch, tmp_path):
    from geo.store import Store

    evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    b = _bulletin(
        [
            _item(
                1,
                f"息县甲乡{evil}修路",
                f"正文 {evil} ![图](http://evil.example/a.png) 修路5公里。",
                town="息县",
                code=None,
            )
        ]
    )
    with Store(tmp_path / "store.sqlite") as store:
        store.ingest(b)
    at = _app(monkeypatch, tmp_path)
    at.run()
    gaz = __import__("geo.gazetteer", fromlist=["load_gazetteer"]).load_gazetteer("411528")
    code = gaz.townships[0].code
    with Store(tmp_path / "store.sqlite") as store:
        store.correct(f"{b.sha256[:12]}-001", township_code=code)
    at.session_state["town"] = code  # as if the township was clicked on the map
    at.run()
    assert not at.exception
    assert _table(at).loc[0, "标题"] == f"息县甲乡{evil}修路"  # shown as plain text
    texts = _markdown_texts(at)
    assert any("修路" in t for t in texts)  # the panel did render the item
    for t in texts:
        assert "<img" not in t and "<script" not in t, t
        assert "](http" not in t, t
    # the body goes through st.text, which shows characters as they are and renders nothing
    assert any(evil in el.value for el in at.text)


def test_export_specs_write_the_current_view(frames):
    from geo.boundaries import county_layers

    items_df, metrics_df = frames
    layers = county_layers("411528")
    gaz_code = layers.townships["township_code"].iloc[0]
    items_df = items_df.assign(
        township_code=items_df["township_code"].where(items_df["township_code"].isna(), gaz_code)
    )
    from geo.aggregate import Filters

    view = make_view(
        items_df,
        metrics_df.drop(columns="metric_key"),
        layers.townships,
        county="息县",
        county_code="411528",
        filters=Filters(sectors=("agriculture",)),
    )
    specs = {s.fmt: s for s in app_support.export_specs(view, "息县-测试")}
    assert list(specs) == [
        "html", "png", "png_sources", "pdf", "csv", "csv_townships", "geojson", "gpkg",
    ]  # fmt: skip
    assert specs["png"].file_name == "息县-测试-微信竖图.png"
    assert specs["png"].label == "图片 PNG（微信竖图 1080×1440）"
    from PIL import Image

    assert Image.open(io.BytesIO(specs["png"].build())).size == (1080, 1440)
    sources = specs["png_sources"].build().decode("utf-8")
    assert specs["png_sources"].file_name == "息县-测试-微信竖图_数据来源.txt"
    assert "CC BY 4.0" in sources and view.title in sources
    slide = {s.fmt: s for s in app_support.export_specs(view, "息县", png_preset="slide")}
    assert slide["png"].file_name == "息县-幻灯片.png"
    assert specs["csv"].file_name == "息县-测试.csv"
    csv_text = specs["csv"].build().decode("utf-8-sig")
    assert "息县甲乡发展大棚蔬菜" in csv_text
    assert "息县全县招工" not in csv_text  # the sector filter is applied
    towns_csv = specs["csv_townships"].build().decode("utf-8-sig")
    assert "乡镇代码" in towns_csv.splitlines()[0] and "息县甲乡" not in towns_csv  # 报表版
    keys = {s.fmt: s for s in app_support.export_specs(view, "息县", csv_columns="keys")}
    assert keys["csv_townships"].build().decode("utf-8-sig").startswith("township_code,")
    assert set(app_support.CSV_COLUMN_CHOICES.values()) == {"report", "keys"}
    geo = json.loads(specs["geojson"].build())
    assert geo["type"] == "FeatureCollection"
    html_bytes = specs["html"].build()
    assert b"leaflet" in html_bytes.lower() and b"unpkg.com" not in html_bytes
    assert specs["gpkg"].build()[:16] == b"SQLite format 3\x00"


def _two_townships():
    """Two townships of the default 息县 layer, as a file would give them (WGS84)."""
    from geo.boundaries import county_layers

    towns = county_layers("411528").townships
    mine = towns[towns["township"].isin(["路口乡", "曹黄林镇"])][["township", "geometry"]]
    return mine.rename(columns={"township": "名称"}).reset_index(drop=True)


def _stored(tmp_path):
    from geo.store import Store

    with Store(tmp_path / "store.sqlite") as store:
        return store.boundaries("411528")


def _use_boundaries(at) -> None:
    """读取边界文件 (when not read yet), then 使用此边界."""
    if any(b.key == "boundary_read" for b in at.button):
        at.button(key="boundary_read").click().run()
    if any(b.key == "boundary_go" for b in at.button):
        at.button(key="boundary_go").click().run()


def _approximate_warning(at) -> bool:
    return "示意范围" in _map_badge(at)


def test_boundary_upload_is_saved_for_later_sessions_until_reset(monkeypatch, tmp_path):
    data = _two_townships().to_json().encode("utf-8")
    at = _app(monkeypatch, tmp_path).run()
    assert _approximate_warning(at)
    at.file_uploader(key="boundary_file").set_value(
        ("乡镇边界.geojson", data, "application/geo+json")
    ).run()
    at.selectbox(key="boundary_crs").set_value("从文件读取").run()
    _use_boundaries(at)
    assert not at.exception and not at.error
    assert not _approximate_warning(at)  # the uploaded layer is in use
    assert any("乡镇边界.geojson" in c.value for c in at.caption)
    stored = _stored(tmp_path)
    assert sorted(stored["township"]) == ["曹黄林镇", "路口乡"]
    assert "匹配到 2 个乡镇" in stored.attrs["boundary_set"]["join_report"]

    later = _app(monkeypatch, tmp_path).run()  # a new browser session, same store
    assert not later.exception and not _approximate_warning(later)
    assert any("当前使用：乡镇边界.geojson" in c.value for c in later.caption)
    assert any(e.label == "边界匹配报告" for e in later.expander)
    later.button(key="boundary_reset").click().run()
    assert not later.exception and _approximate_warning(later)
    assert _stored(tmp_path) is None


def test_hostile_boundary_file_name_is_inert_everywhere(monkeypatch, tmp_path):
    name = "![x](http://evil.example/a.png)<img src=x>.geojson"
    at = _app(monkeypatch, tmp_path).run()
    at.file_uploader(key="boundary_file").set_value(
        (name, _two_townships().to_json().encode("utf-8"), "application/geo+json")
    ).run()
    _use_boundaries(at)
    assert not at.exception and not at.error
    assert _stored(tmp_path).attrs["boundary_set"]["source_name"] == name
    shown = _markdown_texts(at)
    assert any("evil.example" in t for t in shown)  # it is shown, as text
    for t in shown:
        assert "<img" not in t and "![" not in t and "](http" not in t, t


def _shapefile_zip(gdf, tmp_path) -> bytes:
    """A zipped shapefile of ``gdf`` without its .prj, as old GIS exports often come."""
    import zipfile

    folder = tmp_path / "shp"
    folder.mkdir()
    gdf.to_file(folder / "towns.shp", encoding="utf-8")
    (folder / "towns.prj").unlink()
    out = tmp_path / "towns.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for part in folder.iterdir():
            zf.write(part, part.name)
    return out.read_bytes()


def _assert_same_places(stored, original, tol_deg=2e-5):
    """Each stored polygon sits where the WGS84 original does (2e-5 deg is about 2 m)."""
    got = stored.set_index("township").geometry
    for name, geom in zip(original["名称"], original.geometry, strict=True):
        assert got[name].centroid.distance(geom.centroid) < tol_deg, name
        assert abs(got[name].area - geom.area) / geom.area < 1e-3, name


def test_gcj02_file_in_web_mercator_is_read_with_its_own_crs(monkeypatch, tmp_path):
    from geo.boundaries import wgs84_to_gcj02

    original = _two_townships()
    gcj_mercator = wgs84_to_gcj02(original).to_crs("EPSG:3857")
    data = _shapefile_zip(gcj_mercator, tmp_path)
    at = _app(monkeypatch, tmp_path).run()
    at.file_uploader(key="boundary_file").set_value(("高德.zip", data, "application/zip")).run()
    at.selectbox(key="boundary_crs").set_value("Web 墨卡托 (EPSG:3857)").run()
    at.selectbox(key="boundary_datum").set_value("GCJ-02（高德/腾讯导出）").run()
    _use_boundaries(at)
    assert not at.exception and not at.error
    stored = _stored(tmp_path)
    meta = stored.attrs["boundary_set"]
    assert meta["datum"] == "gcj02" and meta["crs_note"].startswith("EPSG:3857")
    _assert_same_places(stored, original)


def test_crs_menu_has_projected_zones_and_a_typed_code(monkeypatch, tmp_path):
    original = _two_townships()
    data = _shapefile_zip(original.to_crs("EPSG:4547"), tmp_path)
    at = _app(monkeypatch, tmp_path).run()
    options = at.selectbox(key="boundary_crs").options
    for code in ("EPSG:4546", "EPSG:4547", "EPSG:4548", "EPSG:3857"):
        assert any(code in o for o in options), code
    assert at.selectbox(key="boundary_datum").options[0].startswith("WGS84")
    at.file_uploader(key="boundary_file").set_value(("国土.zip", data, "application/zip")).run()
    at.selectbox(key="boundary_crs").set_value(app_support.OTHER_CRS).run()
    at.text_input(key="boundary_epsg").input("EPSG:99999").run()
    _use_boundaries(at)
    assert len(at.error) == 1 and "99999" in at.error[0].value
    assert _stored(tmp_path) is None
    at.text_input(key="boundary_epsg").input("4547").run()
    _use_boundaries(at)
    assert not at.exception and not at.error
    _assert_same_places(_stored(tmp_path), original, tol_deg=1e-6)


def test_data_sources_section_gives_the_cc_by_attribution(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path).run()
    section = next(e for e in at.expander if e.label == "数据来源")
    text = " ".join(m.value for m in section.markdown).replace("\\", "")
    assert "数据来源：中国行政区划数据集（活更新版）nbsetsail/real-china-division" in text
    assert "CC BY 4.0" in text and "china-division" in text
    assert "仅作示意" in text and "示意范围" in text


def test_bad_boundary_file_shows_one_line_error(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path).run()
    at.file_uploader(key="boundary_file").set_value(
        ("坏.geojson", b'{"type": "FeatureCollection", "features": [', "application/geo+json")
    ).run()
    _use_boundaries(at)
    assert not at.exception
    assert len(at.error) == 1 and "\n" not in at.error[0].value
    assert _approximate_warning(at)  # still the default layer


def test_switch_to_another_county_from_the_gazetteer(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path).run()
    at.text_input(key="other_county").input("光山县")
    at.button(key="other_county_go").click().run()
    assert not at.exception
    assert at.selectbox(key="county").value == "411522"
    assert at.query_params["county"] == "411522"
    # nothing ingested for 光山 yet, and the 息县 sample is not shown (said in Chinese, no grid)
    assert "事项（0 / 0）" in [s.value for s in at.subheader] and not at.dataframe
    assert any("该县还没有事项" in c.value for c in at.caption)
    assert any("上传乡镇边界" in i.value for i in at.info)  # no default layer: asked to upload
    at.text_input(key="other_county").input("不存在县")
    at.button(key="other_county_go").click().run()
    assert len(at.error) == 1 and at.selectbox(key="county").value == "411522"


def test_county_in_the_url_is_restored(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path)
    at.query_params["county"] = "411522"
    at.run()
    assert not at.exception
    assert at.selectbox(key="county").value == "411522"


def test_township_panel_lists_items_and_filters_to_the_township(monkeypatch, tmp_path):
    gaz = __import__("geo.gazetteer", fromlist=["load_gazetteer"]).load_gazetteer("411528")
    code = next(t.code for t in gaz.townships if t.name == "白土店乡")
    at = _app(monkeypatch, tmp_path)
    at.session_state["town"] = code  # as if clicked on the map
    at.run()
    assert "白土店乡" in [s.value for s in at.subheader]
    assert _metric(at, "事项数").value == "1"
    assert any("鲜食玉米" in e.label for e in at.expander)
    at.button(key="town_only").click().run()
    assert not at.exception
    assert at.multiselect(key="f_towns").value == [code]
    assert len(_table(at)) == 1
    assert at.query_params["township"] == code


def test_hostile_file_names_are_inert_in_messages(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path).run()
    name = "![x](http://evil.example/a.png)<img src=x>.pdf"
    at.file_uploader(key="bulletin_files_0").set_value(
        (name, b"%PDF-1.4 broken", "application/pdf")
    ).run()
    at.button(key="up_read_0").click().run()
    assert len(at.error) >= 1
    for t in _markdown_texts(at):
        assert "<img" not in t and "![" not in t and "](http" not in t, t


def test_metric_range_restores_from_the_url_and_filters(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path)
    at.query_params["metric"] = "employment_person"
    at.query_params["mk"] = "employment_person"
    at.query_params["min"] = "120"
    at.run()
    assert not at.exception
    assert at.selectbox(key="f_metric").value == "employment_person"
    slider = at.slider[0]
    assert slider.value[0] == 120
    shown = len(_table(at))
    assert 0 < shown < 6  # only items with at least 120 employed people
    slider.set_range(slider.min, slider.max).run()
    assert "min" not in at.query_params
    assert len(_table(at)) > shown


# --------------------------------------------------------------------------- counties without
# township polygons, and the attribution of the exports

# Written for these tests: one 光山县 item in the bulletin style.
_GUANGSHAN = (
    "光山县槐店乡发展茶叶种植 新建高标准茶园200亩，带动周边群众就业60人。（槐店乡人民政府 陈晓）\n"
)


def _guangshan_frames():
    from geo.aggregate import assign_metric_keys
    from geo.pipeline import parse_text

    bulletin = parse_text(_GUANGSHAN, county="光山县", single=True, source_name="光山.txt")
    items_df, metrics_df = items_frame([bulletin])
    return bulletin, items_df, assign_metric_keys(metrics_df)


def test_export_specs_offer_only_the_data_formats_without_polygons():
    from geo.gazetteer import load_gazetteer

    _, items_df, metrics_df = _guangshan_frames()
    gaz = load_gazetteer("411522")
    view = make_view(items_df, metrics_df, gaz.townships, county="光山县", county_code="411522")
    specs = {s.fmt: s for s in app_support.export_specs(view, "光山县")}
    assert list(specs) == ["csv", "csv_townships", "geojson", "gpkg"]
    assert "槐店乡发展茶叶种植" in specs["csv"].build().decode("utf-8-sig")
    towns = pd.read_csv(io.BytesIO(specs["csv_townships"].build()), encoding="utf-8-sig")
    assert len(towns) == len(gaz.townships)  # every township of the gazetteer has a row
    assert specs["gpkg"].build()[:16] == b"SQLite format 3\x00"


def test_export_attribution_follows_the_layer_in_use():
    from geo.boundaries import county_layers

    cc_by = "数据来源：中国行政区划数据集（活更新版）nbsetsail/real-china-division"
    layers = county_layers("411528")
    lines = export_attribution("411528", layers, sample=True)
    assert lines[0].startswith(cc_by)
    text = "\n".join(lines)
    assert "示意范围" in text and "仅作示意" in text and "示例简报" in text
    meta = {"source_name": "自然资源局乡镇.zip", "quality": "official", "created_at": "2026-03-01"}
    text = "\n".join(export_attribution("411528", layers, meta))
    assert "自然资源局乡镇.zip（官方边界" in text and "本项目估算" not in text
    bare = export_attribution("411522", county_layers("411522"))
    assert bare[0].startswith(cc_by) and any("尚无" in line for line in bare)


def test_data_sources_wording_comes_from_the_config_file():
    from geo.view import load_attribution

    cfg = load_attribution()
    rows = data_sources("411522")
    assert [r["source"] for r in rows[:2]] == [g["source"] for g in cfg["gazetteer"]]
    assert rows[-1]["data"] == cfg["basemap"]["data"]


def test_county_without_polygons_shows_table_and_data_downloads(monkeypatch, tmp_path):
    from geo.store import Store

    bulletin, _, _ = _guangshan_frames()
    with Store(tmp_path / "store.sqlite") as store:
        store.ingest(bulletin)
    at = _app(monkeypatch, tmp_path).run()
    at.text_input(key="other_county").input("光山县")
    at.button(key="other_county_go").click().run()
    assert not at.exception
    assert at.selectbox(key="county").value == "411522"
    table = _table(at)
    assert list(table["标题"]) == ["光山县槐店乡发展茶叶种植"] and list(table["乡镇"]) == ["槐店乡"]
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["事项表 CSV", "乡镇汇总 CSV", "GeoJSON", "GeoPackage"]
    assert any("无法绘制地图" in i.value and "上传乡镇边界" in i.value for i in at.info)
    # 息县 again: polygons, so the map formats are back
    at.selectbox(key="county").set_value("411528").run()
    labels = [b.label for b in at.get("download_button")]
    assert labels[:4] == ["网页地图 HTML", "图片 PNG（微信竖图 1080×1440）", "图片的数据来源 TXT",
                          "报告 PDF"] and len(labels) == 8  # fmt: skip
    at.selectbox(key="png_preset").set_value("a4-landscape").run()
    labels = [b.label for b in at.get("download_button")]
    assert labels[1] == "图片 PNG（A4 横版 300 dpi（3508×2480））"


# --------------------------------------------------------------------------- QA fixes


def test_metric_slider_reads_money_in_wan_or_yi_and_counts_as_integers():
    s = app_support.metric_slider("investment_yuan", 5e4, 1.2e8)
    assert (s.scale, s.unit, s.lo, s.hi) == (1e4, "万元", 5, 12000)
    assert s.to_range(5, 12000) == (None, None)  # ends of the slider: no filter
    assert s.to_range(100, 500) == (1e6, 5e6)
    yi = app_support.metric_slider("investment_yuan", 6.66e6, 1.799e10)
    assert (yi.unit, yi.lo, yi.hi) == ("亿元", 0, 180)
    people = app_support.metric_slider("employment_person", 23.5, 2600)
    assert (people.scale, people.unit, people.lo, people.hi) == (1.0, "人", 23, 2600)
    assert app_support.metric_slider("employment_person", 5, 5) is None
    # a shared link's exact bound survives while the slider still shows it
    start = yi.to_slider(1.35e9)
    assert start == 13 and yi.to_range(start, yi.hi, 1.35e9) == (1.35e9, None)
    assert yi.to_range(20, yi.hi, 1.35e9) == (2e9, None)  # moved: whole 亿元


def test_money_slider_in_the_app_keeps_the_url_exact(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path)
    at.query_params["metric"] = "investment_yuan"
    at.query_params["mk"] = "investment_yuan"
    at.query_params["min"] = "1350000000"
    at.run()
    assert not at.exception
    slider = at.slider[0]
    # The item's value is its largest 投资额 figure (166.4 亿元), rounded up to whole 亿元.
    assert "亿元" in slider.label and slider.value == (13, 167)
    assert slider.step == 1 and slider.proto.format == "%d 亿元"  # whole 亿元, no decimals
    assert len(_table(at)) == 1  # only the item with 13.5 and 166.4 亿元
    assert float(at.query_params["min"]) == 1.35e9
    slider.set_range(20, 167).run()
    assert float(at.query_params["min"]) == 2e9


def test_online_basemap_caption(monkeypatch, tmp_path):
    note = "在线底图需联网；离线环境请选择“无底图”"
    at = _app(monkeypatch, tmp_path).run()
    assert at.selectbox(key="basemap").value == "none"
    assert note not in [c.value for c in at.caption]
    for key in ("osm", "amap", "tianditu_vec"):
        at.selectbox(key="basemap").set_value(key).run()
        assert note in [c.value for c in at.caption], key
    assert app_support.is_online_basemap("osm") and not app_support.is_online_basemap("none")


def test_boundary_field_selection_is_used_for_the_join(monkeypatch, tmp_path):
    towns = _two_townships().rename(columns={"名称": "XZMC"})
    towns["BH"] = ["甲", "乙"]
    data = towns.to_json().encode("utf-8")
    at = _app(monkeypatch, tmp_path).run()
    at.file_uploader(key="boundary_file").set_value(
        ("字段.geojson", data, "application/geo+json")
    ).run()
    assert not any(e.label == "字段选择" for e in at.expander)  # not read before asked
    at.button(key="boundary_read").click().run()
    assert any(e.label == "字段选择" for e in at.expander)
    assert at.selectbox(key="boundary_name_field").options[-2:] == ["XZMC", "BH"]
    at.selectbox(key="boundary_name_field").set_value("BH").run()
    _use_boundaries(at)  # the chosen column holds no township names
    assert not at.exception and len(at.error) == 1 and "BH" in at.error[0].value
    assert _stored(tmp_path) is None
    at.selectbox(key="boundary_name_field").set_value("XZMC").run()
    _use_boundaries(at)
    assert not at.exception and not at.error, [e.value for e in at.error]
    stored = _stored(tmp_path)
    assert sorted(stored["township"]) == ["曹黄林镇", "路口乡"]
    assert "“XZMC”" in stored.attrs["boundary_set"]["join_report"]


def test_boundary_field_error_opens_the_field_selection(monkeypatch, tmp_path):
    from shapely.geometry import box as shp_box

    gdf = gpd.GeoDataFrame(
        {"ID": [1, 2]},
        geometry=[shp_box(114.7, 32.3, 114.75, 32.35), shp_box(114.75, 32.3, 114.8, 32.35)],
        crs=4326,
    )
    at = _app(monkeypatch, tmp_path).run()
    at.file_uploader(key="boundary_file").set_value(
        ("无名.geojson", gdf.to_json().encode(), "application/geo+json")
    ).run()
    _use_boundaries(at)
    assert not at.exception
    assert len(at.error) == 1 and any("字段选择" in i.value for i in at.info)
    assert next(e for e in at.expander if e.label == "字段选择").proto.expanded


def test_item_titles_fall_back_to_the_body_and_labels_name_the_bulletin():
    b = _bulletin(
        [
            _item(1, "", "全村组织志愿者清理沟渠杂草，共出动人员六十余人次，清运垃圾八车。"),
            _item(2, "息县甲乡修路", "修路5公里。", town="甲乡", code="411528201"),
        ]
    )
    items_df, metrics_df = items_frame([b])
    table = app_support.items_table(items_df, metrics_df)
    assert table.loc[0, "标题"] == "全村组织志愿者清理沟渠杂草，共出动人员六…"
    labels = list(app_support.review_labels(items_df).values())
    assert labels[0] == "全村组织志愿者清理沟渠杂草，共出动人员六…（2024-02-01 测试简报.txt）"
    assert labels[1] == "息县甲乡修路（2024-02-01 测试简报.txt）"


def test_bulletin_labels_prefer_title_issue_date_else_file_name():
    named = _bulletin([_item(1, "甲", "乙。")], name="a.txt")
    bare = _bulletin([_item(1, "丙", "丁。")], name="无报头.txt")
    bare.header = BulletinHeader()
    items_df, _ = items_frame([named, bare])
    labels = app_support.bulletin_labels(items_df)
    assert sorted(labels.values()) == ["工作简报 第3期 2024-02-01", "无报头.txt"]


def test_other_unit_metrics_show_their_own_unit_word(frames):
    items_df, metrics_df = frames
    metrics_df = metrics_df.copy()
    metrics_df.loc[metrics_df["unit"] == "other", "text"] = "120 座"
    table = app_support.items_table(items_df, metrics_df)
    assert table.loc[0, "主要数据"] == "120座；80人"


def test_english_notes_and_reports_read_in_chinese():
    from geo.boundaries import county_layers

    label = boundary_label(None, county_layers("411522").note)
    assert "411522" in label and "没有默认乡镇边界" in label and "upload" not in label
    report = (
        "乡镇.geojson: kept 2 of 2 features (CRS EPSG:4326, assigned by user, datum wgs84).\n"
        "Matched 2 townships by name (column '名称').\n"
        "Townships without a polygon: 项店镇、小茴店镇"
    )
    zh = display.note_zh(report)
    assert zh.splitlines() == [
        "乡镇.geojson：保留 2/2 个要素（坐标系 EPSG:4326，用户指定；基准 wgs84）。",
        "按名称（字段“名称”）匹配到 2 个乡镇。",
        "没有边界的乡镇：项店镇、小茴店镇",
    ]
    rows = data_sources("411528", county_layers("411528"))
    text = " ".join(r["source"] for r in rows)
    assert "precision" not in text and "display aid" not in text


def test_app_wording_points_to_the_boundary_section(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path).run()
    warning = _map_badge(at)
    assert "“乡镇边界”一节" in warning and "上传乡镇边界”" not in warning
    shown = " ".join(_markdown_texts(at))
    assert "display aid" not in shown and "precision" not in shown


# --------------------------------------------------------------------------- map-first layout


def test_header_bar_shows_the_key_figures_of_the_filter(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path).run()
    assert not at.exception
    head = next(m.value for m in at.markdown if m.value.startswith("**息县**"))
    assert head == "**息县** · 事项数（条） · 日期不详 · 6 条事项 :orange-badge[示例数据]"
    shown = {m.label: m.value for m in at.metric}
    assert shown == {"事项": "6 条", "涉及乡镇": "2 / 23 个", "涉及行业": "5 个", "占全县": "100%"}
    assert not at.main.title  # no big title above the map: the header line says it
    at.multiselect(key="f_sectors").set_value(["employment"]).run()
    shown = {m.label: m.value for m in at.metric}
    assert shown["事项"] == "2 条" and shown["占全县"] == "33.3%"
    head = next(m.value for m in at.markdown if m.value.startswith("**息县**"))
    assert head.startswith(f"**息县** · 事项数（条） · {display.sector_label('employment')} · ")
    at.multiselect(key="f_sectors").set_value([]).run()
    at.selectbox(key="f_metric").set_value("investment_yuan").run()
    shown = {m.label: m.value for m in at.metric}
    assert shown["投资额合计"].endswith("亿元") and shown["占全县"] == "100%"
    # the downloads are in the header bar's 导出 menu, one tap away
    labels = [b.label for b in at.get("download_button")]
    assert labels[:4] == ["网页地图 HTML", "图片 PNG（微信竖图 1080×1440）", "图片的数据来源 TXT",
                          "报告 PDF"] and len(labels) == 8  # fmt: skip
    at.selectbox(key="png_preset").set_value("a4-landscape").run()
    labels = [b.label for b in at.get("download_button")]
    assert labels[1] == "图片 PNG（A4 横版 300 dpi（3508×2480））"


def test_table_sorts_by_the_metric_and_drops_empty_columns(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path)
    at.query_params["metric"] = "investment_yuan"
    at.run()
    table = _table(at)
    assert "日期" not in table.columns and "期号" not in table.columns  # the sample has none
    column = next(c for c in table.columns if c.startswith("投资额（"))
    values = table[column].dropna().tolist()
    assert values == sorted(values, reverse=True) and len(values) >= 2


def test_picking_a_table_row_opens_the_map_on_that_item(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path).run()
    ids = _table(at)["编号"].tolist()
    row = next(i for i, t in enumerate(_table(at)["标题"]) if "鲜食玉米" in t)
    table_key = "items_table_" + app_support.content_hash("\n".join(ids))[:12]
    at.session_state[table_key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.session_state["_focus_item"] == ids[row]
    lat, lon, zoom = at.session_state["_view_now"]
    from geo.boundaries import county_layers

    towns = county_layers("411528").townships
    baitu = towns[towns["township"] == "白土店乡"].geometry.iloc[0]
    from shapely.geometry import Point

    assert baitu.contains(Point(lon, lat)) and zoom >= 12  # on the item, in its township
    assert at.query_params["zoom"] == str(zoom)
    comp = next(iter(at.get("component_instance")))
    assert re.search(r'"focus":\d+', json.loads(comp.proto.json_args)["script"])


def test_township_drawer_opens_on_a_township_and_closes(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path).run()
    assert not any(m.label == "排名" for m in at.metric)  # nothing before a click
    gaz = __import__("geo.gazetteer", fromlist=["load_gazetteer"]).load_gazetteer("411528")
    code = next(t.code for t in gaz.townships if t.name == "白土店乡")
    at.session_state["town"] = code  # as if clicked on the map
    at.run()
    assert _metric(at, "排名").value == "并列第 1 / 2"  # one item, like 澺河街道
    assert any(m.value.startswith("**合计**") for m in at.markdown)
    at.button(key="town_close").click().run()
    assert not at.exception and "town" not in at.session_state
    assert not any(m.label == "排名" for m in at.metric)
    at.run()
    assert not any(m.label == "排名" for m in at.metric)  # stays closed


# --------------------------------------------------------------------------- prefectures


def test_area_menu_offers_the_prefecture_of_each_county():
    assert app_support.area_choices({"411528": "息县"}) == {
        "411528": "息县",
        "4115": "信阳市（全市）",
    }


def test_prefecture_view_in_the_app(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path).run()
    at.selectbox(key="county").set_value("4115").run()
    assert not at.exception
    assert any(m.value.startswith("**信阳市**") for m in at.markdown)
    assert len(_table(at)) == 6  # the sample's 息县 items, in their own county
    infos = " ".join(i.value for i in at.info)
    assert "光山县" in infos and "尚无乡镇边界" in infos and "全县合计" in infos
    labels = [b.label for b in at.get("download_button")]
    assert (
        labels[0] == "网页地图 HTML" and labels[1].startswith("图片 PNG") and "报告 PDF" in labels
    )
    assert any("ODbL" in t for t in _markdown_texts(at))
    towns = at.multiselect(key="f_towns").options
    assert any(t.startswith("光山县·") for t in towns) and any(t.startswith("息县·") for t in towns)
    assert at.query_params["county"] == "4115"


def test_a_prefecture_typed_by_name_and_its_uploads_place_items_in_their_counties(
    monkeypatch, tmp_path
):
    at = _app(monkeypatch, tmp_path).run()
    at.text_input(key="other_county").input("信阳市")
    at.button(key="other_county_go").click().run()
    assert at.selectbox(key="county").value == "4115"
    text = (
        "信阳市工作简报\n2024年第3期\n信阳市人民政府办公室            2024年3月8日\n"
        " 光山县槐店乡发展茶叶种植 新建茶园 500 亩。\n（槐店乡 张三）\n"
        " 息县孙庙乡推进冬季农田水利建设 疏浚沟渠 12 公里。\n（孙庙乡 李明）\n"
    )
    at.file_uploader(key="bulletin_files_0").set_value(
        [("市简报.txt", text.encode("utf-8"), "text/plain")]
    ).run()
    at.button(key="up_read_0").click().run()
    at.button(key="up_go_0").click().run()
    assert not at.exception
    table = _table(at)
    assert sorted(table["乡镇"]) == ["孙庙乡", "槐店乡"]
    from geo.store import Store

    with Store(tmp_path / "store.sqlite") as store:
        items, _ = store.frames()
    assert sorted(items["county_code"]) == ["411522", "411528"]


def test_the_store_can_come_from_secrets_and_a_bad_url_is_one_line(monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    from geo.store import Store

    with Store(tmp_path / "secret.sqlite") as store:
        store.ingest(_guangshan_frames()[0])
    monkeypatch.delenv("GEO_STORE", raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["geo_store"] = str(tmp_path / "secret.sqlite")
    at.query_params["county"] = "411522"
    at.query_params["panel"] = "items"
    at.run()
    assert not at.exception
    assert list(_table(at)["标题"]) == ["光山县槐店乡发展茶叶种植"]
    monkeypatch.setenv("GEO_STORE", "mysql://planner:secret@db/activity")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert "postgresql\\://" in error and "secret" not in error and "\n" not in error


def _n_shown(at) -> int:
    """Items of the current view, from the line over the map ("… · 6 条事项")."""
    line = next(m.value for m in at.main.markdown if "条事项" in m.value)
    return int(re.search(r"(\d+)(?: / \d+)? 条事项", line).group(1))


def test_cut_review_merges_splits_and_undoes(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path).run()
    n = len(_table(at))
    assert _n_shown(at) == n
    _open_panel(at, "recut")
    assert "检查事项切分（合并 / 拆分）" in [s.value for s in at.subheader]
    assert any(c.value.startswith("版式：") for c in at.caption)
    at.button(key="cut_merge").click().run()  # the first item with the second
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert _n_shown(at) == n - 1
    assert any("已合并" in s.value for s in at.success)
    at.button(key="cut_undo").click().run()
    assert not at.exception and _n_shown(at) == n
    bid = at.selectbox(key="cut_bulletin").value
    item_key = f"cut_words_{bid}_0"
    text = next(t.value for t in at.text if t.value)
    words = text.strip().splitlines()[-1][10:18]  # a few characters inside the first item
    at.text_input(key=item_key).input(words).run()
    at.button(key="cut_split").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert _n_shown(at) == n + 1
    assert len(_table(_open_panel(at, "items"))) == n + 1


# --------------------------------------------------------------------------- review queue

_QUEUE_TEXT = (
    "息县工作简报\n2024年第3期\n息县人民政府办公室 2024年3月1日\n一、春节期间文旅活动丰富\n"
    "春节期间，在白土店乡的花海，游客纷至沓来；在项店镇李楼村，群众欢聚看大戏。\n"
    "（花海景区管委会 王五）\n"
    "二、白土店乡发展鲜食玉米\n在白土店乡新庄村建设示范基地，种植鲜食玉米300亩。\n"
)


def _queued_store(tmp_path):
    from geo.pipeline import parse_text
    from geo.store import Store

    with Store(tmp_path / "store.sqlite") as store:
        store.ingest(parse_text(_QUEUE_TEXT, county="息县", source_name="文旅.txt"))


def test_review_queue_accepts_an_alternative_and_the_map_follows(monkeypatch, tmp_path):
    _queued_store(tmp_path)
    at = _app(monkeypatch, tmp_path, panel="review").run()
    assert not at.exception
    assert any("定位待核对：**1** 条" in m.value for m in at.sidebar.markdown)
    assert at.radio(key="panel").value == "review"  # a link can open the queue
    labels = [b.label for b in at.button if b.key and b.key.startswith("rq_")]
    assert labels[0].startswith("确认：项店镇") and any("白土店乡" in x for x in labels)
    assert any("全县" in x for x in labels)
    highlighted = " ".join(h.proto.body for h in at.get("html"))
    assert "李楼村</span>" in highlighted and "决定定位的地名" in highlighted
    # the hollow marker: the map's item table lists the flagged item
    comp = next(iter(at.get("component_instance")))
    assert re.search(r'"q":\[\d+\]', json.loads(comp.proto.json_args)["script"])
    pick = next(b for b in at.button if b.label.startswith("改为：白土店乡"))
    pick.click().run()
    assert not at.exception
    assert any("定位待核对：0 条" in c.value for c in at.sidebar.caption)
    row = _table(_open_panel(at, "items")).set_index("标题").loc["春节期间文旅活动丰富"]
    assert row["乡镇"] == "白土店乡"
    from geo.store import Store

    with Store(tmp_path / "store.sqlite") as store:
        notes = store.corrections()["note"].tolist()
    assert notes and notes[-1].startswith("核对：改为：白土店乡")


def test_choropleth_can_leave_out_placements_that_need_review(monkeypatch, tmp_path):
    _queued_store(tmp_path)
    at = _app(monkeypatch, tmp_path).run()
    assert at.toggle(key="count_review").value is True
    at.toggle(key="count_review").set_value(False).run()
    assert not at.exception
    assert at.query_params["review"] == "0"
    comp = next(iter(at.get("component_instance")))
    script = json.loads(comp.proto.json_args)["script"]
    assert "未计入分级" in script or "待核对" in script  # said on the map
    at2 = _app(monkeypatch, tmp_path)
    at2.query_params["review"] = "0"
    at2.run()
    assert at2.toggle(key="count_review").value is False  # a shared link keeps it


def _restyle_call(at) -> str:
    """The restyle script the app colours its map with (:func:`geo.webmap.restyle_call`), as
    the hidden frame of :func:`app.map_frame.restyle` carries it."""
    (page,) = [f.proto.srcdoc for f in at.get("iframe") if "geoRestyleKey" in f.proto.srcdoc]
    return json.loads(re.search(r'var call = ("(?:[^"\\]|\\.)*")', page).group(1))


def _tooltip_count(call: str, code: str) -> int:
    """The 事项数 a township's tooltip on the app's map gives (``call``: :func:`_restyle_call`);
    0 when it says 无数据."""
    tip = json.loads(call[call.index("{") : call.rindex("}") + 1])["tips"][code]
    found = re.search(r"<th>事项数[^<]*</th><td>(\d+)", tip)
    assert found or display.NODATA_LABEL in tip, tip
    return int(found.group(1)) if found else 0


def _head(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**息县**"))


_XIANGDIAN = "411528104"  # 项店镇: the queue's item needing review is placed there
_NOTE = ":gray-badge[未计入 1 条定位待核对]"


def test_header_and_drawer_count_what_the_map_counts_under_the_review_toggle(monkeypatch, tmp_path):
    _queued_store(tmp_path)
    at = _app(monkeypatch, tmp_path)
    at.session_state["town"] = _XIANGDIAN  # as if clicked on the map
    at.run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["事项"] == "2 条" and shown["涉及乡镇"] == "2 / 23 个"
    assert shown["涉及行业"] == "2 个" and shown["占全县"] == "100%"
    assert _head(at).endswith("2 条事项") and _NOTE not in _head(at)
    assert shown["事项数"] == "1" and shown["排名"] == "并列第 1 / 2"  # the drawer
    at.toggle(key="count_review").set_value(False).run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    # the header strip counts what the classes count: 项店镇's item is left out
    assert shown["事项"] == "1 条" and shown["涉及乡镇"] == "1 / 23 个"
    assert shown["涉及行业"] == "1 个" and shown["占全县"] == "100%"
    assert "1 条事项" in _head(at) and _NOTE in _head(at)  # and says so
    # the drawer of 项店镇: nothing counted, its rank and count agree, the item listed apart
    assert shown["事项数"] == display.NODATA_LABEL and shown["排名"] == "无数据"
    assert any(c.value.startswith("未计入 1 条定位待核对") for c in at.caption)
    assert "春节期间文旅活动丰富" in [e.label for e in at.expander]
    # the item table still lists it, to be checked, and says the figures leave it out
    assert any("其中 1 条定位待核对，不计入地图分级与合计" in c.value for c in at.caption)
    # the map's tooltips count the same (项店镇 has no counted item)
    call = _restyle_call(at)
    assert _tooltip_count(call, _XIANGDIAN) == 0
    assert _tooltip_count(call, "411528206") == 1  # 白土店乡
    # another planner's session (the toggle on) is not served these figures, nor they its
    other = _app(monkeypatch, tmp_path)
    other.session_state["town"] = _XIANGDIAN
    other.run()
    shown = {m.label: m.value for m in other.metric}
    assert shown["事项"] == "2 条" and shown["事项数"] == "1" and _NOTE not in _head(other)
    at.run()
    assert _metric(at, "事项").value == "1 条" and _metric(at, "事项数").value == "无数据"
    assert _NOTE in _head(at)
    link = _review_months_app_again(monkeypatch, tmp_path, "items", review="0")
    link.run()
    assert _metric(link, "事项").value == "1 条" and _NOTE in _head(link)


def _review_months_app(monkeypatch, tmp_path, panel: str):
    """February: one sure item in 项店镇; March: the queue's bulletin (an item in 项店镇 that
    needs review, a sure one in 白土店乡)."""
    from geo.pipeline import parse_text
    from geo.store import Store

    february = (
        "息县工作简报\n2024年第2期\n息县人民政府办公室 2024年2月1日\n"
        "一、项店镇硬化村道\n项店镇完成李楼村道路硬化5公里。\n"
    )
    with Store(tmp_path / "store.sqlite") as store:
        store.ingest(parse_text(february, county="息县", source_name="2.txt"))
        store.ingest(parse_text(_QUEUE_TEXT, county="息县", source_name="3.txt"))
    return _app(monkeypatch, tmp_path, panel=panel)


def _review_months_app_again(monkeypatch, tmp_path, panel: str, review: str | None = None):
    """A second session on the store :func:`_review_months_app` made."""
    at = _app(monkeypatch, tmp_path, panel=panel)
    if review is not None:
        at.query_params["review"] = review
    return at


def _chart_series(at) -> dict[str, list[float]]:
    """The trend chart's values per line (全县, a township), read from the data Streamlit
    sends the browser."""
    import pyarrow as pa

    chart = at.get("vega_lite_chart")[0].proto
    frames = [pa.ipc.open_stream(d.data.data).read_pandas() for d in chart.datasets]
    data = pd.concat(frames) if frames else pd.DataFrame()
    return {k: g.sort_values("period")["value"].tolist() for k, g in data.groupby("范围")}


_LEFT_OUT = "未计入 1 条定位待核对的事项"


def test_trend_and_compare_count_what_the_map_counts_under_the_review_toggle(monkeypatch, tmp_path):
    at = _review_months_app(monkeypatch, tmp_path, "trend").run()
    assert not at.exception
    assert _chart_series(at)["全县"] == [1.0, 2.0]  # the toggle's default: every item
    assert not any(_LEFT_OUT in c.value for c in at.caption)
    at.toggle(key="count_review").set_value(False).run()
    assert not at.exception and at.query_params["review"] == "0"
    assert _chart_series(at)["全县"] == [1.0, 1.0]  # March's item needing review left out
    assert any(_LEFT_OUT in c.value for c in at.caption)  # and said
    # the township clicked: its line and ranks count the same way
    at.session_state["town"] = "411528104"  # 项店镇
    at.run()
    assert _chart_series(at)["项店镇"] == [1.0, 0.0]
    ranks = at.dataframe[0].value
    assert ranks["排名"].tolist() == ["第 1 / 1", "无数据"]  # as the drawer says it
    # another planner's session (toggle on) is not served these figures, nor they its
    other = _review_months_app_again(monkeypatch, tmp_path, "trend").run()
    assert _chart_series(other)["全县"] == [1.0, 2.0]
    other.session_state["town"] = "411528104"
    other.run()
    assert _chart_series(other)["项店镇"] == [1.0, 1.0]
    # March: 项店镇 and one other township with an item each, a tie
    assert other.dataframe[0].value["排名"].tolist() == ["第 1 / 1", "并列第 1 / 2"]
    at.run()
    assert _chart_series(at)["全县"] == [1.0, 1.0]


def _image_url(at) -> str:
    """Where the compare map's picture is served from (named by its content)."""
    (image,) = at.get("image")
    return image.proto.imgs[0].url


def _changes(at) -> dict[str, str]:
    table = at.dataframe[0].value
    return dict(zip(table["乡镇"], table["变化"], strict=True))


def test_compare_map_and_table_follow_the_review_toggle(monkeypatch, tmp_path):
    at = _review_months_app(monkeypatch, tmp_path, "compare").run()
    assert not at.exception and at.query_params["cmp"] == "2024-02,2024-03"
    every = _changes(at)
    png_every = _image_url(at)
    off = _review_months_app_again(monkeypatch, tmp_path, "compare", review="0").run()
    assert not off.exception and off.toggle(key="count_review").value is False
    sure = _changes(off)
    assert every["白土店乡"] == sure["白土店乡"] == display.format_change(1.0, "条")
    assert every["项店镇"] == display.format_change(0.0, "条")
    assert sure["项店镇"] == display.format_change(-1.0, "条")  # March's 项店镇 item left out
    assert any(_LEFT_OUT in c.value for c in off.caption)
    assert not any(_LEFT_OUT in c.value for c in at.caption)
    assert _image_url(off) != png_every  # a change map of its own


# --------------------------------------------------------------------------- time (issue 11)


def _two_months_app(monkeypatch, tmp_path, sample_text):
    """The sample dated February, then again (one figure updated) under a March masthead."""
    from geo.pipeline import parse_text
    from geo.store import Store

    head = "息县工作简报\n2024年第{m}期\n息县人民政府办公室 2024年{m}月1日\n"
    with Store(tmp_path / "store.sqlite") as store:
        store.ingest(parse_text(head.format(m=2) + sample_text, county="息县", source_name="2.txt"))
        march = head.format(m=3) + sample_text.replace("2600", "2800")
        store.ingest(parse_text(march, county="息县", source_name="3.txt"))
    return _app(monkeypatch, tmp_path)


def test_month_slider_trend_and_compare_panels_and_the_report_buttons(
    monkeypatch, tmp_path, sample_text
):
    at = _two_months_app(monkeypatch, tmp_path, sample_text).run()
    assert not at.exception
    table = _table(at)
    assert len(table) == 12 and table["重复"].str.startswith("重复（首次 2024-02-01）").sum() == 6
    assert table["累计"].any()
    slider = at.select_slider(key="f_period_2024-02_2024-03")
    assert slider.label == "时间（按月）" and slider.options == ["2024年2月", "2024年3月"]
    assert tuple(slider.value) == ("2024-02", "2024-03")
    slider.set_range("2024-03", "2024-03").run()  # the slider stays a range, on March only
    assert at.session_state["f_period_2024-02_2024-03"] == ("2024-03", "2024-03")
    assert len(_table(at)) == 6 and at.query_params["from"] == "2024-03-01"
    # a shared link's period: the slider on March only
    at = _app(monkeypatch, tmp_path)
    at.query_params["from"] = "2024-03-01"
    at.run()
    slider = at.select_slider(key="f_period_2024-02_2024-03")
    assert tuple(slider.value) == ("2024-03", "2024-03") and len(_table(at)) == 6
    # the report of the slider's last month, in the header's downloads
    labels = {b.label for b in at.get("download_button")}
    assert {"2024年3月月报 DOCX", "2024年3月月报 PDF"} <= labels
    at.radio(key="panel").set_value("trend").run()
    assert not at.exception and at.query_params["panel"] == "trend"
    assert at.query_params["from"] == "2024-03-01"  # the period survives other reruns
    assert len(at.get("vega_lite_chart")) == 1
    at.radio(key="panel").set_value("compare").run()
    assert not at.exception and at.query_params["cmp"] == "2024-02,2024-03"
    assert len(at.get("image")) == 1
    changes = at.dataframe[0].value  # the table of changes comes before the item table
    assert list(changes.columns) == ["乡镇", "2024年2月", "2024年3月", "变化"]


def test_number_boxes_beside_the_slider_choose_666_wan_yuan(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path).run()
    at.selectbox(key="f_metric").set_value("investment_yuan").run()
    slider = at.slider[0]
    assert slider.label.endswith("（亿元）") and slider.value == (0, 167)
    low, high = (n for n in at.number_input if n.key.startswith(slider.key))
    assert (low.label, high.label) == ("最小（万元）", "最大（万元）")
    assert (low.value, high.value) == (666, 1664000)  # the data's ends, in 万元
    high.set_value(1000).run()  # up to 1000 万元: the township's 666 万元, not the 166.4 亿元
    assert not at.exception
    assert len(_table(at)) == 1 and at.slider[0].value == (0, 1)  # the slider follows
    assert float(at.query_params["max"]) == 1e7
    assert "投资额 ≤1000万元" in next(
        m.value for m in at.markdown if m.value.startswith("**息县**")
    )
    at.slider[0].set_range(1, 167).run()  # the slider moved: the boxes follow it
    low, high = (n for n in at.number_input if n.key.startswith(slider.key))
    assert (low.value, high.value) == (10000, 1670000)
    assert len(_table(at)) == 1 and float(at.query_params["min"]) == 1e8


def _map_script(at) -> str:
    comp = next(
        c for c in at.get("component_instance")
        if c.proto.component_name == "streamlit_folium.st_folium"
    )  # fmt: skip
    return json.loads(comp.proto.json_args)["script"]


def test_tianditu_key_is_entered_masked_kept_in_the_store_and_never_shown(monkeypatch, tmp_path):
    from geo.store import Store

    key = "abc123TIANDITU"
    at = _app(monkeypatch, tmp_path).run()
    assert not any(t.key == "tianditu_key_input" for t in at.text_input)  # only with 天地图
    at.selectbox(key="basemap").set_value("tianditu_vec").run()
    box = at.text_input(key="tianditu_key_input")
    assert box.proto.type == box.proto.PASSWORD  # masked
    assert any("天地图需要密钥" in w.value for w in at.warning)
    assert "tk=" not in _map_script(at)  # no key, no tiles (the map says so)
    box.input("bad key<b>").run()
    at.button(key="tianditu_save").click().run()
    assert any("字母和数字" in e.value for e in at.error)
    at.text_input(key="tianditu_key_input").input(key).run()
    at.button(key="tianditu_save").click().run()
    assert not at.exception and not at.error
    assert at.text_input(key="tianditu_key_input").value == ""  # not kept in the page
    assert any("天地图密钥已设置" in c.value for c in at.caption)
    assert f"tk={key}" in _map_script(at)  # the tiles use it
    assert not any(key in t for t in _markdown_texts(at))
    with Store(tmp_path / "store.sqlite") as store:  # kept for every later session
        assert store.setting("tianditu_key") == key
    # another session finds it; 清除 forgets it
    again = _app(monkeypatch, tmp_path).run()
    again.selectbox(key="basemap").set_value("tianditu_vec").run()
    assert f"tk={key}" in _map_script(again)
    again.button(key="tianditu_forget").click().run()
    assert "tk=" not in _map_script(again)
    with Store(tmp_path / "store.sqlite") as store:
        assert store.setting("tianditu_key") is None


def test_no_export_carries_the_tianditu_key(monkeypatch, tmp_path, frames):
    from geo.boundaries import county_layers
    from geo.store import Store

    key = "abc123TIANDITU"
    monkeypatch.setenv("TIANDITU_KEY", key)
    with Store(tmp_path / "store.sqlite") as store:
        store.set_setting("tianditu_key", key)
    items_df, metrics_df = frames
    view = make_view(
        items_df,
        metrics_df.drop(columns="metric_key"),
        county_layers("411528").townships,
        county="息县",
        county_code="411528",
        basemap="tianditu_vec",
    )
    specs = app_support.export_specs(view, "息县")
    assert {s.fmt for s in specs} >= {"html", "png", "png_sources", "pdf", "csv", "gpkg"}
    for spec in specs:
        data = spec.build()
        assert key.encode() not in data, spec.fmt
        assert b"tianditu.gov.cn" not in data, spec.fmt  # no tiles asked for with any key
