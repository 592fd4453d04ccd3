"""geo.sectors: taxonomy file, weighted cue scoring and the sample's sectors."""

from __future__ import annotations

import json
import re

import ahocorasick
import pytest
from error_codes import raises_code

from geo.errors import GeoInputError
from geo.items import single_item
from geo.normalise import normalise_text
from geo.sectors import SECTOR_SLUGS, classify_sector, load_taxonomy, sector_names


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy()


def test_taxonomy_has_the_twelve_sectors_with_chinese_names(taxonomy):
    names = sector_names(taxonomy)
    assert set(names) == set(SECTOR_SLUGS)
    assert names["employment"] == "就业"
    assert names["government_services"] == "政务服务"
    assert names["other"] == "其他"
    assert all(re.fullmatch(r"[\u4e00-\u9fff]+", n) for n in names.values())
    assert isinstance(taxonomy.text_automaton, ahocorasick.Automaton)
    assert sector_names() == names


@pytest.mark.parametrize(
    ("headline", "body", "unit", "sector"),
    [
        (
            "某镇举办春风行动招聘会",
            "现场提供就业岗位800个，达成求职意向300人。",
            None,
            "employment",
        ),
        ("某县重点项目集中开工", "此次集中开工项目12个，总投资36亿元。", None, "investment"),
        (
            "某县推进一网通办",
            "政务服务大厅新增自助终端，群众办事更便捷。",
            None,
            "government_services",
        ),
        ("某镇完成农村电网改造", "新增变压器12台，保障群众用电。", None, "utilities"),
        ("某村小麦喜获丰收", "全村种植小麦3000亩，亩产达1200斤。", None, "agriculture"),
        ("某县智能制造产业园投产", "园区工业企业新增生产线5条。", None, "industry"),
        ("某镇农村公路通车", "新建道路8公里，改造桥梁2座。", None, "infrastructure"),
        ("某县开展送医下乡义诊", "县医院专家为群众免费体检。", None, "education_health"),
        ("某镇乡村旅游火热", "景区接待游客5万人次，民宿一房难求。", None, "culture_tourism"),
        ("某镇全力做好秸秆禁烧", "镇村干部巡查田块，严防焚烧。", None, "environment"),
        ("某县为困难群众送温暖", "为低保户、特困人员发放慰问金。", None, "social_welfare"),
        ("某县开展交通秩序整治", "查扣非法营运车辆10辆。", None, "other"),
    ],
)
def test_one_clear_item_per_sector(taxonomy, headline, body, unit, sector):
    assert classify_sector(headline, body, unit, taxonomy).primary == sector


def test_no_cue_falls_back_to_other(taxonomy):
    result = classify_sector("某镇召开会议", "会议研究部署了下一阶段工作。", None, taxonomy)
    assert (result.primary, result.sectors, result.cues) == ("other", ["other"], [])
    assert classify_sector(None, None, None, taxonomy).primary == "other"


def test_reporting_unit_decides_a_neutral_text(taxonomy):
    headline, body = "某县召开专题会议", "研究部署春节期间相关工作。"
    assert classify_sector(headline, body, "县供电公司", taxonomy).primary == "utilities"
    assert classify_sector(headline, body, "县人社局", taxonomy).primary == "employment"
    assert (
        classify_sector(headline, body, "县行政审批局", taxonomy).primary == "government_services"
    )
    assert classify_sector(headline, body, "县招商服务中心", taxonomy).primary == "investment"


def test_headline_cues_weigh_more_than_body_cues(taxonomy):
    body_only = classify_sector("", "组织人员开展秸秆禁烧巡查，同时做好小麦田管。", None, taxonomy)
    assert body_only.primary == "environment"
    flipped = classify_sector("某镇小麦种植", "组织人员开展秸秆禁烧巡查。", None, taxonomy)
    assert flipped.primary == "agriculture"


def test_purpose_clause_decides(taxonomy):
    body = "市直单位帮扶联系村筹资10万元，用于该村道路硬化和基础设施建设。"
    result = classify_sector("", body, None, taxonomy)
    assert result.primary == "infrastructure"
    assert result.cues[0] in body


def test_secondary_sectors_and_cues(taxonomy):
    result = classify_sector(
        "某镇招商引资助企招工",
        "新签约项目3个，总投资5亿元；组织招聘会，送工200人，入职150人。",
        None,
        taxonomy,
    )
    assert set(result.sectors) == {"investment", "employment"}
    assert result.sectors[0] == result.primary
    assert result.cues and all(
        c in "某镇招商引资助企招工新签约项目总投资招聘会送工入职" for c in result.cues
    )


def test_longest_cue_counts_once(taxonomy):
    # 土地流转 is one cue; 流转 inside it must not score again.
    result = classify_sector("", "土地流转", None, taxonomy)
    assert result.cues == ["土地流转"]
    assert result.scores == {"agriculture": taxonomy.cues["agriculture"]["土地流转"]}


def _sample_items(raw: str) -> list[tuple[str, str, str]]:
    flat = re.sub(r"\s*\n\s*", "", raw)
    parts = re.split(r"（([^（）]{2,20}) [^（）]{2,4}）", flat)
    items = []
    for k in range(0, len(parts) - 1, 2):
        headline, _, body = parts[k].strip().partition(" ")
        items.append((headline, body, parts[k + 1]))
    return items


def test_sample_bulletin_sectors(sample_text, taxonomy):
    got = [classify_sector(h, b, u, taxonomy).primary for h, b, u in _sample_items(sample_text)]
    assert got == [
        "employment",
        "investment",
        "government_services",
        "utilities",
        "employment",
        "agriculture",
    ]


def test_dev_set_accuracy(dev_items, taxonomy):
    ok = 0
    for it in dev_items:
        first, _, rest = it["text"].partition("\n")
        short = rest and len(first.strip()) <= 40 and not first.rstrip().endswith("。")
        headline, body = (first, rest) if short else ("", it["text"])
        ok += classify_sector(headline, body, None, taxonomy).primary == it["sector"]
    assert ok / len(dev_items) >= 0.85


def test_missing_sector_is_one_line_error(tmp_path):
    path = tmp_path / "sectors.json"
    path.write_text(json.dumps({"sectors": {"other": {"name": "其他"}}}), encoding="utf-8")
    with raises_code(GeoInputError, "config.sectors") as err:
        load_taxonomy(path)
    assert "\n" not in str(err.value)


def test_unreadable_taxonomy_is_one_line_error(tmp_path):
    path = tmp_path / "sectors.json"
    path.write_text("[1, 2", encoding="utf-8")
    with pytest.raises(GeoInputError):
        load_taxonomy(path)
    with pytest.raises(GeoInputError):
        load_taxonomy(tmp_path / "absent.json")


def test_traditional_characters_are_classified(taxonomy):
    r = classify_sector("縣重點項目集中簽約開工", "總投資12億元，涉及項目8個。", None, taxonomy)
    assert r.primary == "investment"


def test_village_factory_jobs_are_employment(taxonomy):
    r = classify_sector(
        "家门口上班 留守妇女有了稳定收入",
        "村里引进一家服装加工厂，建起扶贫车间，30多名留守妇女在车间上班，每月工资2500元。",
        None,
        taxonomy,
    )
    assert r.primary == "employment"


def test_returning_entrepreneurs_are_employment(taxonomy):
    r = classify_sector(
        "返乡创业 带富乡邻",
        "外出务工多年的张某回乡创业，流转土地种植果蔬，建起养殖大棚，带动村民就业。",
        None,
        taxonomy,
    )
    assert r.primary == "employment"


def test_pinyin_glosses_do_not_hide_cue_words(taxonomy):
    r = classify_sector("全縣招(zhāo)商(shāng)引資簽(qiān)約項目12個", "", None, taxonomy)
    assert r.primary == "investment"


def test_photovoltaic_poverty_relief_is_utilities(taxonomy):
    r = classify_sector(
        "光伏扶贫让贫困户稳定增收",
        "全乡12个村的光伏电站全部并网发电，装机总容量600千瓦，收益用于帮扶脱贫户。",
        None,
        taxonomy,
    )
    assert r.primary == "utilities"


def test_township_service_hall_is_government_services(taxonomy):
    r = classify_sector(
        "乡群众工作中心方便群众办事",
        "中心办事大厅设有民政、社保等服务窗口，村干部周一集中办公，群众进一个门就能办成事。",
        None,
        taxonomy,
    )
    assert r.primary == "government_services"


def test_stated_theme_of_a_donation_decides(taxonomy):
    # Charity words pull to social_welfare; the stated theme (主题是捐资助学) is the purpose.
    body = (
        "县志愿者协会来到镇中心小学开展爱心捐赠活动，为贫困家庭的孩子送去文具200套。"
        "此次活动由县慈善协会牵头，主题是捐资助学。"
    )
    assert classify_sector("", body, "", taxonomy).primary == "education_health"


@pytest.mark.parametrize(
    ("headline", "body", "sector"),
    [
        # Civilisation building is culture, even when the text lists the roads it paved.
        (
            "某镇获评全国文明村镇",
            "近年来该镇改造道路、铺设管网，更以乡风文明建设为抓手，建成新时代文明实践站。",
            "culture_tourism",
        ),
        # Rural governance campaigns are the government's own service to residents.
        (
            "某村入选全国乡村治理示范村",
            "村里推行积分制管理，修缮了村内道路和水库，村容村貌焕然一新。",
            "government_services",
        ),
        (
            "",
            "某镇开展我为群众办实事活动，梳理群众急难愁盼问题，班子成员每人领办一件。",
            "government_services",
        ),
        (
            "",
            "某镇建成农村综合信息化平台，群众在网上就能查政策、看农技视频、办便民事项。",
            "government_services",
        ),
        # Relocation of poor households is welfare, whatever the settlers grow afterwards.
        (
            "",
            "该乡对住在河堤上的三个村的群众实施易地扶贫搬迁，搬迁户住进了新房，还在屋后种上了蔬菜。",
            "social_welfare",
        ),
        # A poverty-relief workshop is about jobs, though the story speaks of 脱贫.
        (
            "扶贫车间助力脱贫",
            "18户贫困户在车间接受岗位培训后上岗，每月有固定收入，实现脱贫。",
            "employment",
        ),
        # Orchards, tea and ginseng are farming.
        ("", "脐橙熟了，果农忙着把脐橙装箱，不少游客也来村里游玩。", "agriculture"),
        ("", "茶乡的茶产业红火，干茶供不应求，摄影爱好者纷纷来此采风。", "agriculture"),
        ("", "人参市场的人参产品销往全国，产值逐年提高。", "agriculture"),
        # A rice mill's production line is industry, though it buys the farmers' rice.
        (
            "米厂开足马力赶订单",
            "米厂的流水线上工人们正封装大米，米厂与农户签订水稻种植合同。",
            "industry",
        ),
        # Roads and irrigation works are infrastructure, though they serve farmland.
        (
            "",
            "村民拓宽路基、修建水泥路3公里，又新修生产路两条，解决了耕地的出行难题。",
            "infrastructure",
        ),
        (
            "",
            "乡里建成全程喷灌工程，喷灌井192眼，小麦、玉米都浇上了喷灌水。",
            "infrastructure",
        ),
        # Afforestation and village clean-ups are environment.
        (
            "",
            "镇工作队深入农户宣传平原绿化，四个村共挖树穴2万个，预购树苗2万株。",
            "environment",
        ),
        (
            "",
            "村里告别脏乱差，打造生态宜居的和美乡村，村民在房前屋后种植花草。",
            "environment",
        ),
        # A pooled village investment in a distant park is investment.
        (
            "",
            "九个乡镇的85个村以飞地抱团形式投资产业园项目，每年获得固定收益。",
            "investment",
        ),
        # Illegal land sales are a law-and-order story, not farming.
        (
            "",
            "农民反映村干部违法卖地，有人充当保护伞，耕地上建起了房子，庄稼被毁。",
            "other",
        ),
    ],
)
def test_general_cue_families(taxonomy, headline, body, sector):
    assert classify_sector(headline, body, None, taxonomy).primary == sector


def test_resettled_people_looking_for_jobs_are_employment(taxonomy):
    # 移民 names who is helped; the jobs are the purpose (移民 is a weak welfare cue).
    r = classify_sector(
        "移民要工作 镇里很上心",
        "镇里组织辖区企业定向招工，移民在家门口上班，200多名移民已经入职，移民新村更和谐。",
        None,
        taxonomy,
    )
    assert r.primary == "employment"


def _sector_accuracy(path, taxonomy) -> float:
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    ok = 0
    for d in items:
        item = single_item(normalise_text(d["text"]))[0]
        result = classify_sector(item.headline, item.body, item.unit, taxonomy)
        ok += result.primary == d["sector"]
    return ok / len(items)


def test_tuning_set_sector_accuracy_holds(repo_root, taxonomy):
    # The floor of the tuning part (eval/tuning.jsonl), read as the pipeline reads it.
    assert _sector_accuracy(repo_root / "eval" / "tuning.jsonl", taxonomy) >= 0.91


def test_page_furniture_in_a_copied_headline_does_not_count(taxonomy):
    # A web copy's title line carries its date, source and editor; the source's name
    # (文化旅游网) is no cue of the item's purpose.
    body = "今年该村种植黄桃300亩，预计亩产2000斤，果农增收明显。"
    bare = classify_sector("某村黄桃喜获丰收", body, None, taxonomy)
    copied = classify_sector(
        "某村黄桃喜获丰收 2020-07-08 15:59 来源:某省文化旅游网 编辑:张三", body, None, taxonomy
    )
    assert copied.primary == bare.primary == "agriculture"
    assert copied.scores == bare.scores
    assert "culture_tourism" not in copied.scores


def test_a_byline_taken_for_a_headline_counts_nothing(taxonomy):
    body = "近日，该镇开展农村人居环境整治，清理垃圾杂物，村容村貌焕然一新。"
    for byline in ("□记者 付永奇 文/图", "▢ 全媒体记者 骆红婷", "【本报记者俞秋英、朱娟"):
        assert classify_sector(byline, body, None, taxonomy).scores == (
            classify_sector(None, body, None, taxonomy).scores
        )
    # A headline that starts with 记者 and goes on is a headline.
    assert classify_sector("记者探访村里的垃圾分类", "", None, taxonomy).primary == "environment"


def test_sparse_cues_in_a_long_text_leave_the_default(taxonomy):
    # One passing cue word in a long text names no main purpose (data: min_density).
    filler = "会上，与会人员围绕共享联盟的内容合作、活动联动和平台运营交流了意见。" * 20
    long_text = classify_sector("微融站授牌仪式举行", filler + "双方将加强建设。", None, taxonomy)
    assert long_text.primary == "other"
    assert long_text.scores  # the weak cue is still reported
    short = classify_sector("微融站授牌仪式举行", "双方将加强道路建设。", None, taxonomy)
    assert short.primary == "infrastructure"


def test_a_place_profile_takes_the_default_sector(taxonomy):
    # A township's 简介 page lists farming facts but reports no activity (data: place_profile).
    body = (
        "某镇位于某县东南部，距县城22公里，东与甲镇毗邻。全镇总面积66平方公里，耕地面积6.6万亩，"
        "总人口4.8万人，下辖32个行政村、143个自然村。农业以种植小麦、玉米为主，蔬菜、水果种植初具规模。"
    )
    result = classify_sector("某镇简介", body, None, taxonomy)
    assert result.primary == "other"
    assert result.scores["agriculture"] > 0
    # The same farming sentence in a report of an activity keeps its sector.
    report = "某镇组织农技人员下田指导群众种植小麦、玉米，蔬菜、水果种植初具规模，总面积6600亩。"
    assert classify_sector("某镇抓好秋播", report, None, taxonomy).primary == "agriculture"


def test_forest_ecology_works_are_environment_not_farming(taxonomy):
    # shelter belts and reserve forests are ecological works even when trees are planted
    body = (
        "全县实施农田防护林和国家储备林建设，完成森林抚育2万亩，"
        "种植苗木30万株，建成生态廊道50公里。"
    )
    assert classify_sector("", body, None, taxonomy).primary == "environment"
    assert classify_sector(
        "", "种植苗木30万株，苗木销售收入达500万元。", None, taxonomy
    ).primary == ("agriculture")
