"""County rules: checking, plain CSV/JSON files with who and when, Chinese messages."""

from __future__ import annotations

import csv
import io
import json

import pytest

from geo.gazetteer import load_gazetteer
from geo.place_rules import (
    RULE_COLUMNS,
    RULE_HEADERS_ZH,
    CountyRules,
    RuleFileError,
    make_rule,
    read_rules,
    rules_to_csv,
    rules_to_json,
)


@pytest.fixture(scope="module")
def gaz():
    return load_gazetteer("息县")


def _rules(gaz):
    return [
        make_rule(
            county_code="411528",
            kind="alias",
            text="老城区",
            township_code="411528001",
            author="张三",
            created_at="2026-12-05T08:00:00+00:00",
            note="当地习惯叫法",
            gazetteer=gaz,
        ),
        make_rule(
            county_code="411528",
            kind="landmark",
            text="濮公山景区",
            township_code="411528400",
            author="李四",
            created_at="2026-12-05T09:00:00+00:00",
            gazetteer=gaz,
        ),
    ]


def test_make_rule_names_codes_from_the_gazetteer(gaz):
    rule = _rules(gaz)[0]
    assert (rule.township, rule.village, rule.entry_kind) == ("谯楼街道", "", "township")
    assert rule.label.startswith("规则（简称/别名「老城区」→谯楼街道，张三 2026-12-05")
    village = gaz.villages_of("411528206")[0]
    landmark = make_rule(
        county_code="411528",
        kind="landmark",
        text="某某大塆",
        township_code="411528206",
        village_code=village.code,
        gazetteer=gaz,
    )
    assert (landmark.entry_kind, landmark.target_code, landmark.village) == (
        "village",
        village.code,
        village.name,
    )
    assert landmark.created_at  # when: filled in


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "nickname"}, "未知的规则类型"),
        ({"county_code": "4115"}, "6 位数字"),
        ({"text": ""}, "规则文字"),
        ({"text": "谯"}, "太短"),
        ({"township_code": "411528"}, "9 位数字"),
        ({"township_code": "411522001"}, "不属于县"),
        ({"township_code": "411528999"}, "没有代码为 411528999 的乡镇"),
        ({"village_code": "411528206212"}, "只有地标/自然村规则可以指向村"),
    ],
)
def test_bad_rules_get_one_chinese_message(gaz, fields, message):
    args = {
        "county_code": "411528",
        "kind": "alias",
        "text": "老城区",
        "township_code": "411528001",
        **fields,
    }
    with pytest.raises(RuleFileError) as err:
        make_rule(**args, gazetteer=gaz)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_landmark_village_must_be_in_the_township(gaz):
    other = gaz.villages_of("411528206")[0].code
    with pytest.raises(RuleFileError, match="没有代码为"):
        make_rule(
            county_code="411528",
            kind="landmark",
            text="某景区",
            township_code="411528001",
            village_code=other,
            gazetteer=gaz,
        )


def test_csv_and_json_round_trip_with_who_and_when(gaz, tmp_path):
    rules = _rules(gaz)
    csv_text = rules_to_csv(rules, headers="keys")
    assert csv_text.splitlines()[0] == ",".join(RULE_COLUMNS)
    (tmp_path / "r.csv").write_text(csv_text, "utf-8")
    (tmp_path / "r.json").write_text(rules_to_json(rules), "utf-8")
    for name in ("r.csv", "r.json"):
        back = read_rules(tmp_path / name)
        assert back == rules
        assert [r.author for r in back] == ["张三", "李四"]
        assert back[0].created_at == "2026-12-05T08:00:00+00:00"
    doc = json.loads((tmp_path / "r.json").read_text("utf-8"))
    assert doc["format"] and doc["rules"][0]["kind"] == "alias"
    assert read_rules(csv_text.encode("utf-8"), name="r.csv") == rules


def test_formula_like_text_stays_text_in_csv(gaz):
    rule = make_rule(
        county_code="411528",
        kind="landmark",
        text="=HYPERLINK(1)",
        township_code="411528400",
        created_at="2026-12-05T09:00:00+00:00",
        gazetteer=gaz,
    )
    text = rules_to_csv([rule])
    assert "'=HYPERLINK(1)" in text
    assert read_rules(text.encode("utf-8"), name="r.csv")[0].text == "=HYPERLINK(1)"


def test_the_planners_csv_has_chinese_headers_and_survives_a_spreadsheet(gaz, tmp_path):
    """The default rule CSV is for Excel/WPS: Chinese headers and kinds, codes kept as text;
    it reads back as the same rules, and so does the file a spreadsheet saves from it."""
    rules = _rules(gaz)
    text = rules_to_csv(rules)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == [RULE_HEADERS_ZH[c] for c in RULE_COLUMNS]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["类型"] == "简称/别名" and first["乡镇代码"] == '="411528001"'
    assert read_rules(text.encode("utf-8"), name="r.csv") == rules
    # saved by a spreadsheet: the formulas become their values, the kinds stay Chinese
    saved = text.replace('="', "").replace('"', "")
    assert read_rules(saved.encode("utf-8"), name="r.csv") == rules
    with pytest.raises(RuleFileError, match="乡镇代码（township_code）"):
        read_rules("县代码,类型,文中写法\n411528,alias,老城区\n".encode(), name="r.csv")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00binary", "不是 UTF-8"),
        (b'{"rules": [', "不是有效的 JSON"),
        (b'{"rules": 5}', "规则列表"),
        (b"county_code,kind\n411528,alias\n", "缺少列"),
        (
            "county_code,kind,text,township_code,created_at\n"
            "411528,alias,老城区,411528001,2026-12-05\n"
            "411528,wrong,老城区,411528001,2026-12-05\n".encode(),
            "第 3 条：未知的规则类型",
        ),
        (
            "county_code,kind,text,township_code\n411528,alias,老城区,411528001\n".encode(),
            "缺少创建时间",
        ),
    ],
)
def test_bad_rule_files_name_the_file_and_line(content, message):
    with pytest.raises(RuleFileError) as err:
        read_rules(content, name="rules.csv")
    assert message in str(err.value)


def test_missing_rule_file_is_a_clear_error(tmp_path):
    with pytest.raises(RuleFileError, match="无法读取规则文件"):
        read_rules(tmp_path / "missing.csv")


def test_county_rules_find_unit_rules_and_sort_text_rules(gaz):
    rules = _rules(gaz)
    unit = make_rule(
        county_code="411528", kind="unit", text="城关办", township_code="411528001", gazetteer=gaz
    )
    cr = CountyRules("411528", (*rules, unit))
    assert bool(cr) and not CountyRules("411528")
    assert cr.unit_rule("城关办") == unit and cr.unit_rule("城 关 办") == unit
    assert cr.unit_rule("县人社局") is None
    assert [r.text for r in cr.text_rules()] == ["濮公山景区", "老城区"]
    assert hash(cr) == hash(CountyRules("411528", (*rules, unit)))
