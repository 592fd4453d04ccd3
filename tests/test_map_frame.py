"""The app's map frame (issue 14): streamlit-folium's arguments made once per built map carry
exactly what ``st_folium`` itself would send for the same map, so every session can be handed
the shared frame instead of converting (and deep-copying) the map again."""

from __future__ import annotations

import copy
import json
import re

import streamlit_folium as stf
from test_aggregate import SEAT, make_frames, make_outline, make_townships
from test_webmap import build

from app import map_frame
from geo import webmap
from geo.view import make_view

_RETURNED = ["last_active_drawing", "last_object_clicked", "center", "zoom"]


def _app_map(**kw):
    """A map as the app builds it (local assets, no title box, filling the frame)."""
    items, metrics = make_frames()
    m = build(
        make_townships(),
        items,
        metrics,
        outline=make_outline(),
        county_seat=SEAT,
        assets="static",
        title_box=False,
        fill_frame=True,
        **kw,
    )
    m.get_root().render()
    return m


def _recorded(monkeypatch, draw) -> dict:
    """The arguments ``draw()`` hands to streamlit-folium's component."""
    calls: list[dict] = []
    monkeypatch.setattr(stf, "_component_func", lambda **kw: calls.append(kw))
    draw()
    assert len(calls) == 1
    args = calls[0]
    args.pop("on_change")  # a new function per call in both
    return args


def test_frame_carries_what_st_folium_sends(monkeypatch):
    m = _app_map()
    theirs = _recorded(
        monkeypatch,
        lambda: stf.st_folium(
            copy.deepcopy(m),
            key="map",
            height=560,
            use_container_width=True,
            returned_objects=_RETURNED,
            render=False,
        ),
    )
    frame = map_frame.frame_of(copy.deepcopy(m), key="map")
    ours = _recorded(
        monkeypatch,
        lambda: map_frame.draw(
            frame, height=560, use_container_width=True, returned_objects=_RETURNED
        ),
    )
    assert ours == theirs
    assert "L.map(" in ours["script"] and ours["js_links"]  # a real map, with its scripts
    assert all(link.startswith("/app/static/") for link in ours["js_links"] + ours["css_links"])


def test_frame_is_not_changed_by_drawing(monkeypatch):
    frame = map_frame.frame_of(_app_map(), key="map")
    before = copy.deepcopy(frame)
    for _ in range(2):
        args = _recorded(
            monkeypatch,
            lambda: map_frame.draw(frame, height=560, returned_objects=[*_RETURNED, "bounds"]),
        )
        args["default"]["bounds"]["_southWest"]["lat"] = 0.0  # a caller changing its copy
    assert frame == before


def _base_frame(metric_key: str) -> map_frame.MapFrame:
    """The app's map of one metric, restyle apart (as ``app.cache.built_map`` makes it)."""
    return map_frame.frame_of(_app_map(metric_key=metric_key, restyle_inline=False), key="map")


def test_a_metric_change_sends_the_same_map_element_and_only_a_new_restyle(monkeypatch):
    """One base map for every metric: the component gets the very same arguments (so
    Streamlit sends the element again only as a reference to the browser's copy), and only
    the restyle page of the hidden frame changes."""
    frames = [_base_frame(k) for k in ("items", "investment_yuan")]
    assert frames[0].hash_key == frames[1].hash_key
    items, metrics = make_frames()
    calls = [
        webmap.restyle_call(
            make_view(items, metrics, make_townships(), metric_key=k, county_seat=SEAT)
        )
        for k in ("items", "investment_yuan")
    ]
    sent = [
        _recorded(
            monkeypatch, lambda f=f: map_frame.draw(f, height=560, returned_objects=_RETURNED)
        )
        for f in frames
    ]
    assert sent[0] == sent[1] and sent[0]["feature_group"] is None
    pages = [map_frame.restyle_page(c) for c in calls]
    assert calls[0] != calls[1] and pages[0] != pages[1]
    assert "投资额" in calls[1] and "投资额" not in sent[1]["script"]
    assert len(pages[1]) < len(sent[1]["script"]) / 2  # the restyle is the small part


def test_the_restyle_page_carries_the_call_as_a_string_no_text_can_close():
    call = 'geoRestyle(window.map, {"tips": {"1": "</script><script>alert(1)</script>"}});'
    page = map_frame.restyle_page(call)
    assert page.count("</script>") == 1 and "<script>alert" not in page
    literal = re.search(r'var call = ("(?:[^"\\]|\\.)*")', page).group(1)
    assert json.loads(literal) == call
