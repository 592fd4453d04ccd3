"""The evaluation command on small hand-made labelled files."""

from __future__ import annotations

import json

import pytest
from error_codes import raises_code

from geo.errors import GeoInputError
from geo.evaluate import evaluate, load_labelled, main, match_metrics, same_township, same_village
from geo.gazetteer import load_gazetteer
from geo.models import Metric

ITEMS = [
    {
        "id": "own-1",
        "county": "息县",
        "text": "息县白土店乡发展大棚蔬菜\n近日，息县白土店乡新庄村新建蔬菜大棚30座，"
        "带动群众就业50人。该村蔬菜年销售额达到200万元。",
        "township": "白土店乡",
        "village": "新庄村",
        "sector": "agriculture",
        "metrics": [
            {"value": 50, "unit": "person", "qualifier": "exact", "label": "就业"},
            {"value": 2000000, "unit": "yuan", "qualifier": "exact", "label": "销售额"},
            {"value": 30, "unit": "other", "qualifier": "exact", "label": "大棚(座)"},
        ],
    },
    {
        "id": "own-2",
        "county": "411528",
        "text": "我县召开秋季秸秆禁烧工作会议\n"
        "会议要求各乡镇（街道）落实责任，全县出动宣传车60辆。",
        "township": None,
        "village": None,
        "sector": "environment",
        "metrics": [{"value": 60, "unit": "other", "qualifier": "exact", "label": "宣传车(辆)"}],
    },
]


@pytest.fixture
def labelled(tmp_path):
    path = tmp_path / "own.jsonl"
    path.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in ITEMS) + "\n", "utf-8")
    return path


def test_evaluate_scores_places(labelled):
    summary = evaluate(load_labelled(labelled))
    assert summary["items"] == 2
    assert summary["township_accuracy"] == 1.0
    assert summary["village_accuracy"] == 1.0
    assert {r["id"] for r in summary["results"]} == {"own-1", "own-2"}
    assert summary["metrics_core"]["labelled"] == 2
    assert summary["metrics_other"]["labelled"] == 2


def test_main_prints_table_and_json(labelled, capsys):
    assert main([str(labelled), "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "township accuracy" in out and "village accuracy" in out and "sector accuracy" in out
    assert "coverage at threshold" in out and "calibration error (ECE)" in out
    assert "township acc., not flagged" in out and "village acc., not flagged" in out
    assert main([str(labelled), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["township_accuracy"] == 1.0
    review = data["review"]
    assert set(review) == {
        "threshold",
        "coverage",
        "township_accuracy",
        "village_accuracy",
        "flagged",
        "ece",
    }
    assert 0.0 <= review["coverage"] <= 1.0 and 0.0 <= review["ece"] <= 1.0
    assert all(0.0 <= r["confidence"] <= 1.0 for r in data["results"])


def test_main_bad_input_is_one_line_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "missing.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("错误（eval.missing）：")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x"}\n', "utf-8")
    assert main([str(bad)]) == 2
    assert "county" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x7fELF\x02\x01\x01\x00\xd0\xff\xfe binary", "第 1 行不是 UTF-8"),
        ('{"text": "x", "county": "息县"}\n{"text": \n'.encode(), "第 2 行不是 JSON"),
        ('{"county": "息县"}\n'.encode(), "第 1 行缺少 text 或 county"),
        ('{"text": "某乡召开会议"}\n'.encode(), "第 1 行缺少 text 或 county"),
        ('{"text": 5, "county": "息县"}\n'.encode(), "第 1 行的 text 和 county 须为字符串"),
        ('{"text": "x", "county": "息县", "metrics": [{"value": "五"}]}'.encode(), "metrics"),
    ],
)
def test_main_bad_files_give_one_error_line_and_exit_2(tmp_path, capsys, content, expected):
    path = tmp_path / "labels.jsonl"
    path.write_bytes(content)
    assert main([str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("错误（eval.format）：labels.jsonl ")
    assert expected in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_main_directory_is_not_a_file(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("错误（eval.missing）：找不到标注文件")


def test_load_labelled_rejects_broken_json(tmp_path):
    p = tmp_path / "b.jsonl"
    p.write_text('{"text": \n', "utf-8")
    with raises_code(GeoInputError, "eval.format"):
        load_labelled(p)


def test_match_metrics_is_one_to_one_with_tolerance():
    preds = [
        Metric(value=50, unit="person"),
        Metric(value=2_000_500, unit="yuan"),  # within 0.5 %
        Metric(value=50, unit="person"),  # duplicate: only one can match
        Metric(value=30, unit="household"),
    ]
    labels = [
        {"value": 50, "unit": "person"},
        {"value": 2_000_000, "unit": "yuan"},
        {"value": 300, "unit": "mu"},
        {"value": 30, "unit": "other"},
    ]
    matched, n_pred, n_lab, missed, spurious = match_metrics(preds, labels, core=True)
    assert (matched, n_pred, n_lab) == (2, 3, 3)
    assert len(missed) == 1 and missed[0].startswith("300 mu")
    assert len(spurious) == 1
    # Non-core quantities match on value alone (household vs other).
    assert match_metrics(preds, labels, core=False)[:3] == (1, 1, 1)
    assert match_metrics([Metric(value=2_100_000, unit="yuan")], labels, core=True)[0] == 0


def test_same_township_and_village_compare_units_not_spellings():
    g = load_gazetteer("商城县")
    wanggang = g.match_township_name("汪岗镇")[0].code
    assert same_township(g, "汪岗镇", wanggang)
    assert same_township(g, "河凤桥乡", g.match_township_name("河凤桥镇")[0].code)
    assert not same_township(g, "汪岗镇", g.match_township_name("观庙镇")[0].code)
    assert same_township(g, None, None) and not same_township(g, None, wanggang)
    hanchong = g.match_village_name("韩冲村", wanggang)[0].code
    assert same_village(g, "韩冲村", "汪岗镇", hanchong)
    assert not same_village(g, None, "汪岗镇", hanchong)
    gs = load_gazetteer("光山县")
    heping = gs.match_village_name("和平社区")
    assert heping and same_village(gs, "和平社区", "紫水街道", heping[0].code)


def test_dev_set_evaluation_runs(dev_items):
    summary = evaluate(dev_items)
    assert summary["items"] == len(dev_items)
    assert summary["township_accuracy"] >= 0.9
    assert summary["village_accuracy"] >= 0.85


def test_a_county_name_several_counties_share_is_qualified_by_the_province():
    # 海州区 is in 辽宁 and in 江苏: the label's province picks one instead of an error
    item = {
        "id": "shared-name",
        "county": "海州区",
        "province": "江苏省",
        "text": "锦屏镇召开农业生产会议\n近日，锦屏镇召开会议，部署秋收秋种工作。",
        "township": "锦屏镇",
        "village": None,
        "sector": "agriculture",
        "metrics": [],
    }
    s = evaluate([item])
    assert s["results"][0]["error"] in (None, "")
    assert s["township_accuracy"] == 1.0
    s = evaluate([{k: v for k, v in item.items() if k != "province"}])
    assert "海州区" in s["results"][0]["error"]
