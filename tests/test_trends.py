"""Activity over time: periods, trend series, two-period change, ranks, the URL and the
period slider's arithmetic (issue 11)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from geo import aggregate as agg
from geo import app_support, charts, figures, trends
from geo.display import DIVERGING, classify_change, format_change
from geo.errors import GeoInputError
from geo.pipeline import parse_text

MASTHEAD = "息县工作简报\n2024年第{n}期\n息县人民政府办公室 2024年{m}月1日\n"


@pytest.fixture(scope="module")
def frames(sample_text):
    """The sample in February, again (one figure updated) in March, a new story in April."""
    feb = parse_text(MASTHEAD.format(n=2, m=2) + sample_text, county="息县", source_name="2.txt")
    mar_text = MASTHEAD.format(n=3, m=3) + sample_text.replace("2600", "2800")
    mar = parse_text(mar_text, county="息县", source_name="3.txt")
    apr = parse_text(
        MASTHEAD.format(n=4, m=4)
        + " 息县白土店乡开展春季植树活动 组织干部群众植树 5000 余棵，带动就业 30 人。"
        "（白土店乡人民政府 周京京）\n",
        county="息县",
        source_name="4.txt",
    )
    items, metrics = agg.items_frame([feb, mar, apr])
    return trends.counting_frames(items, agg.assign_metric_keys(metrics))


def test_periods_are_derived_from_dates():
    dates = __import__("pandas").Series(["2024-02-01", "2024-11-30", None, "bad"])
    assert trends.period_of(dates, "month").tolist()[:2] == ["2024-02", "2024-11"]
    assert trends.period_of(dates, "quarter").tolist()[:2] == ["2024-Q1", "2024-Q4"]
    assert trends.period_of(dates, "year").tolist()[:2] == ["2024", "2024"]
    assert trends.period_of(dates).isna().tolist()[2:] == [True, True]
    assert trends.period_bounds("2024-02") == ("2024-02-01", "2024-02-29")
    assert trends.period_bounds("2024-Q4") == ("2024-10-01", "2024-12-31")
    assert trends.previous_period("2024-01") == "2023-12"
    assert trends.previous_period("2024-Q1") == "2023-Q4"
    assert trends.periods_between("2023-11", "2024-02") == [
        "2023-11",
        "2023-12",
        "2024-01",
        "2024-02",
    ]
    assert trends.period_label_zh("2024-02") == "2024年2月"
    with pytest.raises(GeoInputError) as err:
        trends.period_bounds("2024-13")
    assert err.value.code == "period.invalid"


def test_trend_counts_repeats_once_and_shows_an_updated_figure_as_the_change(frames):
    items, metrics = frames
    s = trends.trend_series(items, metrics, "items")
    assert list(s.columns) == trends.SERIES_COLUMNS
    assert s[["period", "value", "new_items", "repeated_items"]].values.tolist() == [
        ["2024-02", 6.0, 6, 0],
        ["2024-03", 0.0, 0, 6],
        ["2024-04", 1.0, 1, 0],
    ]
    jobs = trends.trend_series(items, metrics, "employment_person").set_index("period")
    # 2600 in February; March repeats the story with 2800: +200, plus the running total (123)
    assert jobs.loc["2024-02", "value"] == 2600 + 123 + 100
    assert jobs.loc["2024-03", "value"] == 200 + 123
    assert jobs.loc["2024-04", "value"] == 30


def test_township_series_ranks_and_change(frames):
    items, metrics = frames
    code = items.loc[items["township"] == "白土店乡", "township_code"].iloc[0]
    town = trends.trend_series(items, metrics, "items", township_code=code)
    assert set(town["township"]) == {"白土店乡"} and town["value"].tolist() == [1, 0, 1]
    ranks = trends.township_ranks(items, metrics, "items", code)
    assert ranks.loc[ranks["period"] == "2024-04", "rank"].item() == 1
    feb = ranks.set_index("period").loc["2024-02"]
    # in February 白土店乡 and 澺河街道 have one item each: they share the first rank, and say so
    assert (feb["rank"], feb["n_ranked"], bool(feb["tied"])) == (1, 2, True)
    assert not ranks.set_index("period").loc["2024-04", "tied"]
    assert figures.rank_text(1.0, 5, tied=True) == "并列第 1 / 5"
    assert figures.rank_text(float("nan"), 5) == "无数据"
    codes = items["township_code"].dropna().unique().tolist()
    change = trends.period_change(items, metrics, "items", "2024-03", "2024-04", codes)
    assert change.loc[code, "change"] == 1 and change.loc[code, "value_1"] == 0


def test_change_classes_diverge_around_zero():
    c = classify_change([-100, 0, 50, 200, math.nan], "人")
    assert c.index.tolist() == [0, 1, 2, 3, -1]
    assert c.labels == ["−100人", "无变化", "+50人", "+200人"]
    assert c.colors[1] == DIVERGING[3]
    assert set(c.colors[:1]) <= set(DIVERGING[:3]) and set(c.colors[2:]) <= set(DIVERGING[4:])
    assert format_change(-12000, "元") == "−1.2万元" and format_change(np.nan) == "无数据"


def test_url_keeps_the_panel_and_the_months_compared():
    f = agg.Filters(date_from="2024-02-01", date_to="2024-03-31")
    v = agg.ViewState(panel="compare", compare="2024-02,2024-03")
    q = agg.filters_to_query(f, v)
    assert q == {
        "from": "2024-02-01",
        "to": "2024-03-31",
        "panel": "compare",
        "cmp": "2024-02,2024-03",
    }
    f2, v2 = agg.filters_from_query(q)
    assert (f2, v2.panel, v2.compare) == (f, "compare", "2024-02,2024-03")
    _, bad = agg.filters_from_query({"panel": "x", "cmp": "2024-13,2024-02"})
    assert bad.panel is None and bad.compare is None


def test_period_slider_arithmetic(frames):
    items, _ = frames
    months = app_support.month_options(items)
    assert months == ["2024-02", "2024-03", "2024-04"]
    assert app_support.period_filter(months, "2024-02", "2024-04") == (None, None)
    assert app_support.period_filter(months, "2024-03", "2024-03") == ("2024-03-01", "2024-03-31")
    # a shared link's exact days stay while the slider shows their months
    exact = ("2024-03-05", None)
    assert app_support.period_filter(months, "2024-03", "2024-04", exact) == ("2024-03-05", None)
    assert app_support.period_slider_value(months, "2024-03-05", None) == ("2024-03", "2024-04")
    assert app_support.period_slider_value(months, "2020-01-01", "2030-01-01") == (
        "2024-02",
        "2024-04",
    )


def test_trend_chart_is_vega_lite_without_remote_data(frames):
    items, metrics = frames
    county = trends.trend_series(items, metrics, "items")
    spec = json.dumps(charts.trend_chart(county, None, "items").to_dict(), ensure_ascii=False)
    assert "事项数（条）" in spec and "全县" in spec
    assert "http" not in spec.replace("https://vega.github.io/schema", "")  # data is inline
    png = charts.trend_png(county, None, "items", title="趋势")
    assert png.startswith(b"\x89PNG")
