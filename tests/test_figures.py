"""The header line, the key figures and township ranks (geo.figures) on hand-made frames."""

from __future__ import annotations

import pandas as pd
from test_aggregate import make_frames, make_townships

from geo import aggregate as agg
from geo import figures
from geo.view import make_view


def _view(**kw):
    items, metrics = make_frames()
    kw.setdefault("county", "息县")
    return make_view(items, metrics, make_townships(), **kw), items, metrics


def _by_label(figs) -> dict[str, str]:
    return {f.label: f.value for f in figs}


def test_header_line_names_county_metric_period_and_count():
    view, items, _ = _view(metric_key="investment_yuan")
    line = figures.header_line(view, n_total=len(items))
    assert line == "息县 · 投资额（元） · 2024-02-01 至 2024-03-01 · 6 条事项"
    sub, _, _ = _view(filters=agg.Filters(sectors=("investment",)))
    assert figures.header_line(sub, n_total=6).endswith(" · 2 / 6 条事项")


def test_period_reads_one_day_a_range_or_no_date():
    one = pd.DataFrame({"bulletin_date": ["2024-03-08", "2024-03-08"]})
    assert figures.period_text(one) == "2024-03-08"
    mixed = pd.DataFrame({"bulletin_date": ["2024-03-08", None, "不是日期", "2023-12-30"]})
    assert figures.period_text(mixed) == "2023-12-30 至 2024-03-08"
    assert figures.period_text(pd.DataFrame({"bulletin_date": [None]})) == figures.NO_DATE


def test_key_figures_for_a_money_metric_in_chinese_units():
    view, items, metrics = _view(metric_key="investment_yuan")
    figs = figures.key_figures(view, items, metrics)
    assert 3 <= len(figs) <= 5
    assert _by_label(figs) == {
        "事项": "6 条",
        "涉及乡镇": "3 / 4 个",  # 项店镇, 孙庙乡, 路口乡; the county-wide item is not a township
        "投资额合计": "1.7亿元",  # 1.2亿 + 5000万, each item once
        "占全县": "100%",
    }
    assert all(f.help for f in figs)


def test_key_figures_follow_the_filter_and_share_the_county_total():
    items, metrics = make_frames()
    view = make_view(
        items,
        metrics,
        make_townships(),
        metric_key="investment_yuan",
        filters=agg.Filters(townships=("411528101",)),
    )
    shown = _by_label(figures.key_figures(view, items, metrics))
    assert shown["事项"] == "2 条" and shown["涉及乡镇"] == "1 / 4 个"
    assert shown["投资额合计"] == "5000万元"
    assert shown["占全县"] == "29.4%"  # 5000万 of 1.7亿


def test_key_figures_for_the_item_count_and_for_nothing_found():
    view, items, metrics = _view()
    shown = _by_label(figures.key_figures(view, items, metrics))
    assert shown == {"事项": "6 条", "涉及乡镇": "3 / 4 个", "涉及行业": "4 个", "占全县": "100%"}
    none, _, _ = _view(metric_key="land_mu", filters=agg.Filters(text="没有这样的事项"))
    shown = _by_label(figures.key_figures(none, items, metrics))
    assert shown["事项"] == "0 条" and shown["涉及乡镇"] == "0 / 4 个"
    assert shown["流转土地合计"] == "无数据" and shown["占全县"] == "—"


def test_township_rank_by_the_views_metric_with_ties():
    money, _, _ = _view(metric_key="investment_yuan")
    first = figures.township_rank(money, "411528201")  # 孙庙乡 1.2亿
    assert (first.rank, first.of, first.n_townships, first.tied) == (1, 2, 4, False)
    assert first.text == "第 1 / 2" and first.value == "1.2亿元"
    assert figures.township_rank(money, "411528101").text == "第 2 / 2"
    nodata = figures.township_rank(money, "411528202")  # 路口乡 reports no money
    assert nodata.rank is None and nodata.text == "无数据"
    count, _, _ = _view()
    tie = figures.township_rank(count, "411528201")  # one item, like 路口乡
    assert tie.text == "并列第 2 / 3" and tie.tied
    assert figures.township_rank(count, "411528101").text == "第 1 / 3"
    assert figures.township_rank(count, "999999999").rank is None


def _one_needs_review(**kw):
    """The frames with every place sure but 孙庙乡's (its 1.2亿 item) needing review."""
    items, metrics = make_frames()
    items = items.assign(needs_review=items["township_code"] == "411528201", corrected=False)
    view = make_view(items, metrics, make_townships(), county="息县", **kw)
    return view, items, metrics


def test_every_figure_of_a_view_counts_what_the_choropleth_counts_under_the_review_toggle():
    from geo.app_support import township_summary
    from geo.view import filter_summary

    on, items, metrics = _one_needs_review(metric_key="investment_yuan")
    head = figures.header(on, items, metrics)
    assert head.line.endswith(" · 6 条事项") and head.note == ""
    assert _by_label(head.figures)["投资额合计"] == "1.7亿元"
    assert figures.township_rank(on, "411528201").text == "第 1 / 2"
    off, _, _ = _one_needs_review(metric_key="investment_yuan", count_needs_review=False)
    assert off.left_out == 1 and len(off.items_df) == 6  # the marker stays on the map
    head = figures.header(off, items, metrics)
    assert head.line.endswith(" · 5 条事项") and head.note == "未计入 1 条定位待核对"
    shown = _by_label(head.figures)
    assert shown == {
        "事项": "5 条",
        "涉及乡镇": "2 / 4 个",  # 孙庙乡's only item is left out, as in its class
        "投资额合计": "5000万元",
        "占全县": "100%",  # the county's total leaves it out too
    }
    assert "未计入 1 条定位待核对" in head.figures[0].help
    assert figures.township_rank(off, "411528201").rank is None
    assert filter_summary(off).endswith("共 5 条事项（未计入 1 条定位待核对）")
    assert filter_summary(on).endswith("共 6 条事项")
    # the drawer of 孙庙乡: nothing counted, the item listed apart
    kw = {"include_needs_review": False}
    town = township_summary(off.items_df, off.metrics_df, "411528201", **kw)
    assert town["n_items"] == 0 and town["total_texts"] == [] and len(town["left_out"]) == 1
    town = township_summary(on.items_df, on.metrics_df, "411528201")
    assert town["n_items"] == 1 and town["left_out"].empty
    assert ("投资额", "1.2亿元") in town["total_texts"]
    # a filter: the share's whole is the county as counted
    sub, _, _ = _one_needs_review(
        metric_key="investment_yuan",
        count_needs_review=False,
        filters=agg.Filters(townships=("411528101",)),
    )
    assert figures.header(sub, items, metrics).line.endswith(" · 2 / 5 条事项")
    assert sub.left_out == 0 and figures.header(sub, items, metrics).note == ""
