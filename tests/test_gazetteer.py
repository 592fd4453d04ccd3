"""Gazetteer loading, name keys and county detection on the committed data."""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys

import pytest

from geo.errors import CountyNotFoundError, GeoInputError
from geo.gazetteer import (
    detect_gazetteer,
    list_counties,
    load_gazetteer,
    township_key,
    village_short_name,
)


@pytest.fixture(scope="module")
def xixian():
    return load_gazetteer("息县")


@pytest.mark.parametrize(
    "query",
    ["息县", "息", "411528", "411528000000", "信阳市息县", "河南省信阳市息县", "信阳息县", "息縣"],
)
def test_load_gazetteer_accepts_names_codes_and_qualified_names(query):
    g = load_gazetteer(query)
    assert (g.county_code, g.county_name, g.city, g.province) == (
        "411528",
        "息县",
        "信阳市",
        "河南省",
    )


def test_renamed_county_found_by_former_name():
    g = load_gazetteer("淮阳县")  # 撤县设区 2019
    assert (g.county_code, g.county_name) == ("411603", "淮阳区")
    assert "淮阳县" in g.former_names
    assert detect_gazetteer("淮阳县召开秋粮收购工作会议").county_code == "411603"


def test_load_gazetteer_other_counties_and_cache():
    assert load_gazetteer("光山").county_code == "411522"
    assert load_gazetteer("光山县").county_code == "411522"
    assert load_gazetteer("新县").county_code == "411523"
    # One object per county: boundaries and the geocoder cache on it.
    assert load_gazetteer("息县") is load_gazetteer("411528")


def test_ambiguous_county_name_lists_candidates_until_qualified():
    with pytest.raises(CountyNotFoundError) as err:
        load_gazetteer("朝阳区")
    msg = str(err.value)
    assert "110105" in msg and "220104" in msg and "\n" not in msg
    assert load_gazetteer("北京朝阳区").county_code == "110105"
    assert load_gazetteer("长春市朝阳区").county_code == "220104"


@pytest.mark.parametrize("query", ["", "   ", "不存在县", "999999", "12"])
def test_unknown_county_is_a_one_line_input_error(query):
    with pytest.raises(GeoInputError) as err:
        load_gazetteer(query)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("query", ["信阳市", "信阳", "4115", "兴安盟", "延边", "延边朝鲜族自治州"])
def test_a_prefecture_where_a_county_is_wanted_says_so(query):
    with pytest.raises(CountyNotFoundError) as err:
        load_gazetteer(query)
    assert err.value.code == "county.prefecture"
    assert "地级市" in str(err.value) and "\n" not in str(err.value)


def test_xixian_townships_include_newer_mca_units(xixian):
    codes = {t.code: t for t in xixian.townships}
    assert len(codes) == 23
    yihe = codes["411528004"]
    assert (yihe.name, yihe.type, yihe.sources) == ("澺河街道", "街道", ("mca2025",))
    assert codes["411528206"].name == "白土店乡" and codes["411528206"].type == "乡"
    assert codes["411528105"].type == "镇"
    assert codes["411528400"].type == "other"  # 濮公山管理区, NBS only
    assert all(len(c) == 9 and c.startswith("411528") for c in codes)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("白土店乡", "411528206"),
        ("白土店", "411528206"),
        ("白土店乡人民政府", "411528206"),
        ("白土店乡党委", "411528206"),
        ("白土店乡政府", "411528206"),
        ("白土店鄉", "411528206"),
        ("澺河街道办事处", "411528004"),
        ("澺河办事处", "411528004"),
        ("息县小茴店镇", "411528105"),
        ("小茴店乡", "411528105"),  # written the old way after the 乡→镇 upgrade
    ],
)
def test_match_township_name_is_alias_and_suffix_insensitive(xixian, name, code):
    assert [t.code for t in xixian.match_township_name(name)] == [code]


def test_match_township_name_unknown(xixian):
    assert xixian.match_township_name("文殊乡") == []


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("白土店乡", "白土店"),
        ("白土店乡人民政府", "白土店"),
        ("澺河街道办事处", "澺河街道"),
        ("澺河 街道", "澺河"),
        ("常营回族乡", "常营"),
        ("白土店鄉", "白土店乡"),
    ],
)
def test_township_key_equal_forms(a, b):
    assert township_key(a) == township_key(b)


def test_township_key_keeps_different_townships_apart():
    assert township_key("白土店乡") != township_key("小茴店镇")


@pytest.mark.parametrize(
    ("full", "short"),
    [
        ("新庄村民委员会", "新庄村"),
        ("北街社区居民委员会", "北街社区"),
        ("李楼村村民委员会", "李楼村"),
        ("东关社区居委会", "东关社区"),
        ("王湾村委会", "王湾村"),
        ("大梁村村委会", "大梁村"),
        ("黄桷村村委员会", "黄桷村"),
        ("红泥井村委", "红泥井村"),
        ("花园村村民委员会会", "花园村"),
    ],
)
def test_village_short_name(full, short):
    assert village_short_name(full) == short


def test_villages_of_township(xixian):
    names = [v.name for v in xixian.villages_of("411528206")]
    assert "新庄村" in names and "白衣阁村" in names
    v = next(v for v in xixian.villages if v.name == "新庄村")
    assert (v.code, v.full_name, v.township_code) == ("411528206212", "新庄村民委员会", "411528206")
    assert all(
        len(v.code) == 12 and xixian.township_by_code(v.township_code) for v in xixian.villages
    )
    # Namesakes in one county are kept apart by their township.
    yanglou = xixian.match_village_name("杨楼村")
    assert len(yanglou) == 2
    assert [v.township_code for v in xixian.match_village_name("杨楼村", "411528105")] == [
        "411528105"
    ]


def test_recoded_townships_keep_their_villages():
    # The 2025 list swapped the codes of 商城县 汪岗镇 and 观庙镇: villages follow the name.
    g = load_gazetteer("商城县")
    wanggang = g.match_township_name("汪岗镇")[0]
    assert "韩冲村" in [v.name for v in g.villages_of(wanggang.code)]
    assert wanggang.code != wanggang.nbs_code
    assert g.township_by_nbs_code(wanggang.nbs_code) == wanggang
    assert g.township_by_code(wanggang.nbs_code).name == "观庙镇"
    hefengqiao = g.match_township_name("河凤桥乡")
    assert [t.name for t in hefengqiao] == ["河凤桥镇"]
    assert g.villages_of(hefengqiao[0].code)


def test_chengguan_town_replaced_by_its_only_new_jiedao():
    # 宝丰县: NBS 2023 城关镇 is gone in 2025 and 父城街道 is the county's only new 街道.
    g = load_gazetteer("宝丰县")
    assert [t.name for t in g.match_township_name("城关镇")] == ["父城街道"]
    assert g.villages_of(g.match_township_name("父城街道")[0].code)


def test_detect_gazetteer():
    assert (
        detect_gazetteer("息县白土店乡召开秋播工作推进会，息县农业农村局参加。").county_code
        == "411528"
    )
    assert detect_gazetteer("我县召开全县秋播工作会议。") is None
    assert detect_gazetteer("") is None
    # A name shared by two counties counts only with its city or province.
    assert detect_gazetteer("朝阳区召开会议") is None
    assert detect_gazetteer("北京市朝阳区召开会议").county_code == "110105"


def test_list_counties():
    df = list_counties("41")
    assert {"code", "name", "short_name", "city", "province"} <= set(df.columns)
    assert df["code"].str.startswith("41").all()
    assert "411528" in set(df["code"])
    assert len(list_counties()) > 2800


def _write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def test_build_script_merges_lists_by_name_before_code(tmp_path, repo_root):
    """Rerun tools/build_gazetteer.py on a tiny hand-made pair of lists."""
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _write_csv(nbs / "provinces.csv", ["code", "name"], [["41", "河南省"]])
    _write_csv(nbs / "cities.csv", ["code", "name", "provinceCode"], [["4199", "测试市", "41"]])
    _write_csv(
        nbs / "areas.csv",
        ["code", "name", "cityCode", "provinceCode"],
        [["419901", "甲县", "4199", "41"]],
    )
    _write_csv(
        nbs / "streets.csv",
        ["code", "name", "areaCode", "provinceCode", "cityCode"],
        [
            ["419901101", "东镇", "419901", "41", "4199"],
            ["419901102", "西镇", "419901", "41", "4199"],
            ["419901201", "南乡", "419901", "41", "4199"],
            ["419901202", "甲县北街道", "419901", "41", "4199"],
            ["419901103", "炮台镇", "419901", "41", "4199"],
            ["419901107", "甲镇", "419901", "41", "4199"],
            ["419901108", "乙乡", "419901", "41", "4199"],
        ],
    )
    _write_csv(
        nbs / "villages.csv",
        ["code", "name", "streetCode", "provinceCode", "cityCode", "areaCode"],
        [
            ["419901101200", "东村民委员会", "419901101", "41", "4199", "419901"],
            ["419901201200", "南湾村村民委员会", "419901201", "41", "4199", "419901"],
        ],
    )
    mca = tmp_path / "mca"
    (mca / "data").mkdir(parents=True)
    towns = {
        "419901000000": {
            "county": "甲县",
            "townships": {
                "东镇": "419901102000",  # codes of 东镇 and 西镇 swapped
                "西镇": "419901101000",
                "南镇": "419901105000",  # 南乡 upgraded with a new code
                "北街道": "419901202000",
                "新街道": "419901003000",  # only in the newer list
                "砲台镇": "419901106000",  # variant spelling, new code
                "甲镇": "419901108000",  # new code, which was 乙乡's (gone) in 2023
            },
        }
    }
    (mca / "data" / "townships_v1.json").write_text(json.dumps(towns), encoding="utf-8")
    (mca / "data" / "divisions_v1.json").write_text(json.dumps({"provinces": {}}), "utf-8")
    renamed = {
        "year": 2019,
        "type": "撤县设市",
        "level": 3,
        "old": {"code": "419981000000", "name": "甲城县"},
        "new": {"code": "419901000000", "name": "甲县"},
    }
    history = json.dumps({"events": [renamed]}, ensure_ascii=False)
    (mca / "data" / "historical_changes_v1.json").write_text(history, "utf-8")
    out = tmp_path / "out"
    script = str(repo_root / "tools" / "build_gazetteer.py")
    cmd = [sys.executable, script, str(nbs), str(mca), "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    with gzip.open(out / "townships" / "41.csv.gz", "rt", encoding="utf-8") as fh:
        rows = {r["name"]: r for r in csv.DictReader(fh)}
    assert rows["东镇"]["code"] == "419901102" and rows["东镇"]["nbs_code"] == "419901101"
    assert rows["南镇"]["former_name"] == "南乡" and rows["南镇"]["nbs_code"] == "419901201"
    assert rows["北街道"]["in_nbs_2023"] == "yes"  # county prefix removed before matching
    assert rows["新街道"]["in_nbs_2023"] == "no" and rows["新街道"]["type"] == "街道"
    # a variant spelling pairs the two lists; the NBS spelling is kept as an alias with its source
    assert rows["砲台镇"]["nbs_code"] == "419901103" and rows["砲台镇"]["former_name"] == "炮台镇"
    with open(out / "variant_aliases.csv", encoding="utf-8") as fh:
        spelling = next(csv.DictReader(fh))
    assert (spelling["township_code"], spelling["alias"], spelling["kind"]) == (
        "419901106",
        "炮台镇",
        "variant",
    )
    assert "NBS 2023 spelling" in spelling["source"]
    # no code twice in a county: 乙乡's 2023 code now names 甲镇, so 乙乡 is retired, listed
    assert "乙乡" not in rows and len({r["code"] for r in rows.values()}) == len(rows)
    with open(out / "retired_townships.csv", encoding="utf-8") as fh:
        retired = next(csv.DictReader(fh))
    assert (retired["nbs_code"], retired["name"], retired["now_named"]) == (
        "419901108",
        "乙乡",
        "甲镇",
    )
    with open(out / "counties.csv", encoding="utf-8") as fh:
        county = next(csv.DictReader(fh))
    assert (county["name"], county["short_name"], county["city"]) == ("甲县", "甲", "测试市")
    assert county["former_names"] == "甲城县"


def test_simplify_chars_keeps_length():
    from geo.chars import simplify_chars

    text = "總投資540億元 萬畝 噸 個 鄉 鎮 著名"
    out = simplify_chars(text)
    assert out == "总投资540亿元 万亩 吨 个 乡 镇 著名"
    assert len(out) == len(text)
    assert simplify_chars("") == ""


def test_mask_pinyin_glosses_keeps_length_and_other_brackets():
    from geo.chars import mask_pinyin_glosses

    text = "慎水鄉(xiāng)劉冢村(記者 王某)供水190萬m3(m3)"
    out = mask_pinyin_glosses(text)
    assert len(out) == len(text)
    assert out.startswith("慎水鄉" + " " * 7 + "劉冢村(記者 王某)")
    assert out.endswith("(m3)")  # no tone mark: not a reading


def test_no_code_twice_in_a_county_and_variants_kept_with_their_source(repo_root):
    townships = repo_root / "data" / "gazetteer" / "townships"
    for path in sorted(townships.glob("*.csv.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        keys = [(r["county_code"], r["code"]) for r in rows]
        assert len(keys) == len(set(keys)), path.name
        nbs = [(r["county_code"], r["nbs_code"]) for r in rows if r["nbs_code"]]
        assert len(nbs) == len(set(nbs)), path.name
    gaz = load_gazetteer("445202")  # 揭阳 榕城区: 砲台镇 (MCA 2025) = 炮台镇 (NBS 2023)
    paotai = gaz.match_township_name("炮台镇")
    assert [t.name for t in paotai] == ["砲台镇"] and ("炮台镇", "variant") in paotai[0].alias_kinds
    assert gaz.township_by_nbs_code("445202102") == paotai[0]
    lankao = load_gazetteer("兰考县")
    assert [t.name for t in lankao.match_township_variant("固阳镇")] == ["堌阳镇"]
    assert [t.name for t in lankao.match_township_variant("闫楼乡")] == ["阎楼乡"]
    assert load_gazetteer("130638").retired == {"130638205": "七间房乡"}


def test_village_names_lose_a_leading_county_and_township():
    # NBS writes some villages with their county and township: 栾川县庙子镇庄子村村民委员会
    names = {v.name for v in load_gazetteer("栾川县").villages}
    assert "庄子村" in names and not any(n.startswith("栾川县") for n in names)


def test_an_autonomous_county_goes_by_its_place_name():
    g = load_gazetteer("南涧彝族自治县")
    assert {"南涧彝族自治县", "南涧", "南涧县"} <= set(g.own_names())
    # an ordinary county keeps its names; a one-character short name is not one
    assert load_gazetteer("光山县").own_names() == ("光山县", "光山")
    assert load_gazetteer("息县").own_names() == ("息县",)
