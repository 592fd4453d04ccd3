"""Many planners on one server (issue 14): sessions share the work of a view, and every change to
the store (ingest, correction) reaches every session on its next rerun, never a stale view or
another filter's map. Real SQLite store, the real app in AppTest sessions of one process (the
way one ``streamlit run`` serves many planners)."""

from __future__ import annotations

import json

import pytest

from app import cache
from geo import aggregate as agg
from geo import paths
from geo.pipeline import parse_text
from geo.store import Store
from geo.trends import counting_frames

APP = str(paths.data_dir().parent / "streamlit_app.py")
TIMEOUT = 120
SAMPLE = paths.data_dir() / "xixian-bulletin-sample.txt"
# Hand-written in the 工作简报 style (not taken from any real bulletin).
_NEW_TEXT = (
    "息县工作简报\n2024年第12期\n息县人民政府办公室            2024年5月6日\n"
    "息县项店镇开展农村人居环境整治 清理沟渠45公里，清运垃圾320吨。\n（项店镇人民政府 赵强）\n"
)


@pytest.fixture
def store_path(monkeypatch, tmp_path) -> str:
    """A store holding the sample bulletin (so the app shows the store, not the sample)."""
    path = tmp_path / "shared.sqlite"
    text = SAMPLE.read_text(encoding="utf-8")
    with Store(path) as store:
        store.ingest(parse_text(text, county="息县", source_name=SAMPLE.name))
    monkeypatch.setenv("GEO_STORE", str(path))
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    return str(path)


def _session(panel: str = "items"):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["panel"] = panel  # the panel under the map (a shared link opens it)
    at.run()
    assert not at.exception, at.exception
    return at


def _table(at):
    return at.dataframe[0].value


def _map_items(at) -> int:
    """Number of items on the session's map (the item layer's name says it)."""
    comp = next(
        c
        for c in at.get("component_instance")
        if c.proto.component_name == "streamlit_folium.st_folium"
    )
    script = json.loads(comp.proto.json_args)["script"]
    start = script.find('{"s":')  # the item layer's table (geo.webmap._item_data)
    if start < 0:
        return 0
    data, _ = json.JSONDecoder().raw_decode(script[start:])
    return len(data["i"])


def test_a_second_session_with_the_same_view_builds_nothing(store_path):
    first = _session()
    before = dict(cache.builds)
    second = _session()
    assert cache.builds == before  # frames, view, table, figures and map: all shared
    assert _table(second).equals(_table(first))
    assert _map_items(second) == _map_items(first) == len(_table(first))
    # what the sessions share was never changed in place by either of them
    with Store(store_path) as store:
        revision, (items, metrics) = store.revision(), store.frames()
    fresh = counting_frames(items, agg.assign_metric_keys(metrics))[0]
    shared = cache.store_frames(store_path, revision)[0]
    assert shared.equals(fresh)


def test_an_ingest_in_one_session_shows_in_the_other_on_its_next_rerun(store_path):
    planner, other = _session(), _session()
    n = len(_table(other))
    planner.file_uploader(key="bulletin_files_0").set_value(
        [("新简报.txt", _NEW_TEXT.encode("utf-8"), "text/plain")]
    ).run()
    planner.button(key="up_read_0").click().run()
    planner.button(key="up_go_0").click().run()
    assert not planner.exception and not planner.error, [e.value for e in planner.error]
    assert len(_table(planner)) == n + 1
    other.run()  # any rerun: the store's revision moved, so nothing cached before is served
    assert not other.exception
    assert len(_table(other)) == n + 1 and _map_items(other) == n + 1
    assert any("农村人居环境整治" in t for t in _table(other)["标题"])


def test_a_correction_in_one_session_shows_in_the_other(store_path):
    planner, other = _session(), _session()
    first = _table(planner).loc[0, "编号"]
    assert not bool(_table(other).set_index("编号").loc[first, "已更正"])
    planner.radio(key="panel").set_value("correct").run()  # the correction form's panel
    planner.selectbox(key="rv_item").set_value(first).run()
    planner.selectbox(key=f"rv_sector_{first}").set_value("agriculture").run()
    planner.button(key="rv_save").click().run()
    assert not planner.exception and not planner.error
    other.run()
    row = _table(other).set_index("编号").loc[first]
    assert bool(row["已更正"]) and row["行业"] == "农业"


def test_a_filter_change_never_serves_another_filters_map(store_path):
    a, b = _session(), _session()
    everything = _map_items(a)
    a.multiselect(key="f_sectors").set_value(["employment"]).run()
    employment = len(_table(a))
    assert 0 < employment < everything
    assert _map_items(a) == employment
    b.run()  # b's filters are its own: still every item
    assert _map_items(b) == everything and len(_table(b)) == everything
    builds = dict(cache.builds)
    b.multiselect(key="f_sectors").set_value(["employment"]).run()
    assert _map_items(b) == employment
    assert cache.builds["map"] == builds["map"] and cache.builds["view"] == builds["view"]
    a.multiselect(key="f_sectors").set_value([]).run()  # back: every item again
    assert _map_items(a) == everything and len(_table(a)) == everything
    assert _map_items(b) == employment  # b is left as it was


def test_the_correction_menu_lists_a_bounded_page_found_by_search(store_path):
    n_items = len(_table(_session()))
    at = _session("correct")
    menu = at.selectbox(key="rv_item")
    assert menu.value is None and len(menu.options) == n_items
    at.text_input(key="rv_find").input("玉米").run()
    options = at.selectbox(key="rv_item").options
    assert len(options) == 1 and "玉米" in options[0]


def test_a_large_table_sends_its_first_rows_and_says_so(store_path, monkeypatch):
    from app import panels

    monkeypatch.setattr(panels, "TABLE_ROWS_MAX", 2)
    at = _session()
    assert len(_table(at)) == 2
    assert "事项（6 / 6）" in [s.value for s in at.subheader]
    assert any("表中列出前 2 条（共 6 条）" in c.value for c in at.caption)
