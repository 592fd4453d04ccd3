"""Geocoding hand-written bulletin items (fictional texts about real 息县 places)."""

from __future__ import annotations

import re

import pytest

from geo.gazetteer import load_gazetteer
from geo.geocode import find_places, geocode_item, place_features_of
from geo.models import Item
from geo.place_features import county_scope_words


@pytest.fixture(scope="module")
def gaz():
    return load_gazetteer("息县")


def place(gaz, body, headline="", unit=None):
    return geocode_item(Item(index=0, headline=headline, body=body, unit=unit), gaz)


def test_township_reporting_unit_decides(gaz):
    p = place(
        gaz,
        "组织党员志愿者清理沟渠12条，发放宣传资料500份。",
        "息县开展人居环境整治",
        "白土店乡人民政府",
    )
    assert (p.scope, p.township, p.township_code) == ("township", "白土店乡", "411528206")
    assert p.county_code == "411528"
    assert any(e.field == "unit" and e.used for e in p.evidence)


def test_office_unit_maps_to_jiedao(gaz):
    p = place(gaz, "走访辖区企业8家，收集岗位120个。", "多措并举助企招工", "澺河街道办事处")
    assert (p.scope, p.township, p.township_code) == ("township", "澺河街道", "411528004")


def test_village_after_its_township(gaz):
    p = place(
        gaz,
        "引进合作社投资300万元，在白土店乡新庄村建设蔬菜大棚，带动群众就业50人。",
        "息县白土店乡发展大棚蔬菜",
        "白土店乡人民政府",
    )
    assert (p.scope, p.township, p.village, p.village_code) == (
        "village",
        "白土店乡",
        "新庄村",
        "411528206212",
    )


@pytest.mark.parametrize(
    "unit",
    [
        "县人社局",
        "县供电公司",
        "县招商服务中心",
        "县委组织部",
        "县行政审批局",
        "息县融媒体中心",
        "县乡村振兴局",
        "信阳市生态环境局息县分局",
    ],
)
def test_county_body_makes_county_item(gaz, unit):
    p = place(
        gaz,
        "动员各乡镇（街道）开展走访活动，累计服务群众3000余人次。",
        "息县优化服务温暖群众",
        unit,
    )
    assert (p.scope, p.township, p.village) == ("county", None, None)
    assert any(e.kind == "county_body" for e in p.evidence)


def test_county_body_item_clearly_about_one_township(gaz):
    p = place(
        gaz,
        "日前，息县在小茴店镇召开秋收秋种现场会。今年以来，小茴店镇实现机收面积4万亩，"
        "该镇农机合作社达到12家。",
        "",
        "县农业农村局",
    )
    assert (p.scope, p.township) == ("township", "小茴店镇")


def test_list_of_participating_townships_is_county_scope(gaz):
    p = place(
        gaz,
        "包信镇、夏庄镇、东岳镇和项店镇负责同志参加会议，会议要求各乡镇抓好秸秆禁烧工作。",
        "全县秸秆禁烧工作会议召开",
    )
    assert (p.scope, p.township) == ("county", None)
    assert not any(e.used for e in p.evidence if e.kind == "township")


def test_two_townships_with_equal_weight_is_county_scope(gaz):
    p = place(
        gaz,
        "息县包信镇新建冷库一座。息县夏庄镇新建烘干塔一座。",
        "我县两镇完善农业设施",
    )
    assert (p.scope, p.township) == ("county", None)


def test_outside_places_are_recorded_not_placed(gaz):
    p = place(
        gaz,
        "招商小分队赴苏州、上海等地拜访客商，并与长三角、珠三角商会座谈，签约项目3个。",
        "息县赴外开展招商活动",
        "县招商服务中心",
    )
    assert p.scope == "county" and p.township is None
    assert {"苏州", "上海", "长三角", "珠三角"} <= set(p.outside)
    assert all(not e.used for e in p.evidence if e.kind == "outside")


def test_township_of_another_county_is_not_taken(gaz):
    # 陈棚乡 is a 息县 township; here it follows another county's name.
    p = place(gaz, "固始县陈棚乡的客商到我县考察红薯加工项目。", "客商来息考察")
    assert p.township is None
    assert "固始县" in p.outside


def test_village_name_shared_by_two_townships(gaz):
    alone = place(gaz, "杨楼村新修生产路2公里，杨楼村群众出行更方便。", "修路惠民")
    assert alone.village is None  # two 杨楼村 in 息县, no township given
    with_town = place(gaz, "小茴店镇杨楼村新修生产路2公里，杨楼村群众出行更方便。", "修路惠民")
    assert (with_town.scope, with_town.township, with_town.village_code[:9]) == (
        "village",
        "小茴店镇",
        "411528105",
    )


def test_unique_village_implies_its_township(gaz):
    p = place(
        gaz,
        "白衣阁村种植艾草100亩，白衣阁村村集体年增收10万元。",
        "艾草种植助农增收",
    )
    assert (p.scope, p.township, p.village) == ("village", "白土店乡", "白衣阁村")


def test_quoted_persons_home_village_does_not_place_item(gaz):
    p = place(
        gaz,
        "全县秋粮收获进度已达九成。白土店乡新庄村村民张某说：“今年收成好。”全县完成机收60万亩。",
        "我县秋收进度过九成",
        "县农业农村局",
    )
    assert p.village is None
    assert p.scope == "county"


def test_several_villages_give_township_scope(gaz):
    p = place(
        gaz,
        "在新庄村、白衣阁村、魏寨村分别建成文化广场，白土店乡文化活动更加丰富。",
        "白土店乡建成三处文化广场",
        "白土店乡人民政府",
    )
    assert (p.scope, p.township, p.village) == ("township", "白土店乡", None)


def test_traditional_characters(gaz):
    p = place(gaz, "息縣白土店鄉新莊村建成光伏電站一座。", "光伏發電助力鄉村振興")
    assert (p.township, p.village) == ("白土店乡", "新庄村")
    used = [e for e in p.evidence if e.used and e.kind == "village"]
    assert used and used[0].text == "新莊村"


def test_without_gazetteer_scope_is_unknown():
    p = geocode_item(Item(index=0, headline="", body="白土店乡召开会议。"), None)
    assert p.scope == "unknown" and p.township is None


def test_common_words_are_not_township_stems(gaz):
    # 路口 (路口乡), 淮河 (淮河街道) and 龙湖 (龙湖街道) are also common words.
    p = place(gaz, "在十字路口设置警示牌，淮河沿岸和龙湖公园周边加强巡查。", "", "县交通运输局")
    assert (p.scope, p.township) == ("county", None)


def test_evidence_offsets_index_their_field(gaz):
    item = Item(
        index=0,
        headline="息县白土店乡发展鲜食玉米",
        body="在白土店乡新庄村建设示范基地，产品销往苏州。",
        unit="白土店乡人民政府",
    )
    p = geocode_item(item, gaz)
    fields = {"unit": item.unit, "headline": item.headline, "body": item.body}
    assert p.evidence
    for e in p.evidence:
        assert fields[e.field][e.start : e.end] == e.text


def test_find_places_marks_chains(gaz):
    ms = find_places("息县白土店乡新庄村", gaz)
    assert [m.text for m in ms] == ["息县", "白土店乡", "新庄村"]
    assert [m.chained_after for m in ms] == [None, 0, 1]


def _sample_items(text: str) -> list[Item]:
    """The sample bulletin's six items, split at their closing credit lines."""
    flat = re.sub(r"\s*\n\s*", "", text)
    items = []
    for i, m in enumerate(re.finditer(r"(.*?)（(\S+)\s+\S+）", flat)):
        head, _, body = m.group(1).strip().partition(" ")
        items.append(Item(index=i, headline=head, body=body, unit=m.group(2)))
    return items


def test_sample_bulletin(gaz, sample_text):
    items = _sample_items(sample_text)
    assert len(items) == 6
    places = {it.unit: geocode_item(it, gaz) for it in items}
    for unit in ("县人社局", "县招商服务中心", "县行政审批局", "县供电公司"):
        assert (places[unit].scope, places[unit].township) == ("county", None)
    yihe = places["澺河街道办事处"]
    assert (yihe.scope, yihe.township_code) == ("township", "411528004")
    btd = places["白土店乡人民政府"]
    assert (btd.scope, btd.township, btd.village) == ("village", "白土店乡", "新庄村")
    placed = {p.township for p in places.values()} | {p.village for p in places.values()}
    assert not placed & {"苏州", "长三角"}
    assert {"苏州", "长三角"} <= set(places["县招商服务中心"].outside)


def test_dev_items_township_and_village(dev_items):
    """Geocoding alone on the labelled dev items (headline = first line)."""
    from geo.evaluate import same_township, same_village

    ok_t = ok_v = 0
    for d in dev_items:
        g = load_gazetteer(d["county"])
        head, _, body = d["text"].strip().partition("\n")
        p = geocode_item(Item(index=0, headline=head, body=body), g)
        ok_t += same_township(g, d["township"], p.township_code)
        ok_v += same_village(g, d["village"], d["township"], p.village_code)
    assert ok_t / len(dev_items) >= 0.9
    assert ok_v / len(dev_items) >= 0.85


@pytest.mark.parametrize(
    ("county", "zone"), [("411771", "驻马店市职教园区"), ("411726", "工业园区")]
)
def test_zones_are_not_townships(county, zone):
    # Both are township-level statistical units of these counties, not townships.
    gaz = load_gazetteer(county)
    assert gaz.match_township_name(zone)
    item = Item(index=0, headline=f"{zone}举办招聘会", body=f"{zone}举办招聘会，企业30家参加。")
    assert geocode_item(item, gaz).township is None


def test_management_area_is_a_township(gaz):
    p = place(gaz, "濮公山管理区组织干部群众植树造林，栽植苗木3000株。", "濮公山管理区植树造林")
    assert (p.scope, p.township_code) == ("township", "411528400")


def test_spaces_inside_names_from_pdf_justification(gaz):
    p = place(
        gaz, "息县白 土 店 乡新　庄 村建成光伏电站一座，带动就业20人。", "光伏发电助力乡村振兴"
    )
    assert (p.township, p.village) == ("白土店乡", "新庄村")
    texts = {e.text for e in p.evidence if e.used}
    assert {"白 土 店 乡", "新　庄 村"} <= texts
    ms = find_places("息县白 土 店 乡", gaz)
    assert [(m.text, m.start, m.end) for m in ms] == [("息县", 0, 2), ("白 土 店 乡", 2, 9)]


@pytest.mark.parametrize(
    ("county", "township", "village", "headline", "body"),
    [
        (
            "淮滨县",
            "新里镇",
            "孙庄村",
            "淮滨：小龙虾跳出致富路",
            "5月20日，在淮滨县新里镇孙庄村的稻虾养殖基地，村民们正忙着捕捞小龙虾。"
            "孙庄村今年养殖面积800亩，预计产值400万元。",
        ),
        (
            "正阳县",
            None,
            None,
            "正阳县召开花生产业发展大会",
            "会上，熊寨镇、大林镇、永兴镇、袁寨镇分别作了交流发言。全县花生种植面积达170万亩。",
        ),
        (
            "新蔡县",
            "练村镇",
            "练村",
            "新蔡县练村镇练村：小辣椒红火大产业",
            "新蔡县练村镇练村种植辣椒2000亩，练村村委会与企业签订订单，带动群众就业300人。",
        ),
        (
            "新蔡县",
            "李桥回族镇",
            None,
            "李桥镇开展秸秆禁烧宣传",
            "新蔡县李桥回族镇出动宣传车20辆，发放资料5000份。",
        ),
        (
            "固始县",
            "往流镇",
            None,
            "",
            "本报讯(记者 张三)近日，往流镇组织开展防汛应急演练，参演人员200余人。"
            "演练模拟了淮河水位暴涨等险情，全镇防汛能力得到提升。",
        ),
        (
            "新县",
            None,
            None,
            "客商考察",
            "新蔡县陈店镇的客商到我县考察茶叶加工项目，双方签约项目2个。",
        ),
        (
            "淮滨县",
            None,
            None,
            "县长调研秋粮收购",
            "县长先后到马集镇、防胡镇、期思镇的粮库调研秋粮收购工作，要求确保颗粒归仓。",
        ),
    ],
)
def test_items_from_other_henan_counties(county, township, village, headline, body):
    p = geocode_item(Item(index=0, headline=headline, body=body), load_gazetteer(county))
    assert (p.township, p.village) == (township, village)


# ---- generalisation to web copies and county-wide features (hold-out review, 2026-11)


def test_community_stem_right_after_its_township(gaz):
    # 社区 names are often written without 社区 straight after the township.
    p = place(gaz, "龙湖街道办事处听淮桥是一个老旧小区集中的片区，近日新装路灯40盏。")
    assert (p.township, p.village) == ("龙湖街道", "听淮桥社区")


def test_community_stem_alone_is_not_a_place(gaz):
    p = place(gaz, "听淮桥一带近日新装路灯40盏。", "息县点亮背街小巷")
    assert p.village is None


# The labelled corpus (eval/tuning.jsonl) places an item whose place is called a 缩影 in that
# place about as often as county-wide, so the learned scorer does not drop such a place: it
# finds the role, lowers the score, and offers county-wide first among the alternatives. The
# stricter reading stays a specification sentence (data/geocode/behaviours.jsonl) and is counted
# by test_specification_sentences.


def _roles(gaz, body, headline=""):
    f = place_features_of(Item(index=0, headline=headline, body=body), gaz)
    return {
        (f.text.mentions[u.field][u.index].text, u.field, u.index): f.roles[u] for u in f.roles
    }, f


def test_township_called_an_example_of_the_county_trend(gaz):
    body = (
        "近年来全县大力发展稻渔综合种养，面积达到3万亩。"
        "路口乡只是全县发展稻渔产业的一个缩影，该乡去年新挖虾沟20公里。"
    )
    roles, _ = _roles(gaz, body, "息县稻渔产业富了一方百姓")
    assert [r for (text, *_), r in roles.items() if text == "路口乡"] == [frozenset({"example"})]
    p = place(gaz, body, "息县稻渔产业富了一方百姓")
    assert p.needs_review and p.alternatives[0].scope == "county"


def test_village_called_an_example_is_found(gaz):
    body = "在项店镇李楼村，村民正在起虾。李楼村的变化只是全县稻渔产业发展的缩影。"
    roles, f = _roles(gaz, body, "息县稻渔共作成为增收新路")
    village_roles = [r for (text, *_), r in roles.items() if text == "李楼村"]
    assert "example" in village_roles[1] and "example" not in village_roles[0]
    town = next(c for c, t in f.cands.towns.items() if t.name == "项店镇")
    assert f.towns[town]["example_any"] == 1.0
    assert "county" in {a.scope for a in place(gaz, body, "息县稻渔共作成为增收新路").alternatives}


def test_address_of_a_quoted_person_does_not_place_a_county_item(gaz):
    p = place(
        gaz,
        "“俺家也装上了光伏板！”白土店乡桂庄村村民李某高兴地说。"
        "今年全县整合资金建成村级光伏电站60座，收益用于公益岗位。",
    )
    assert p.township is None


def test_trade_before_a_role_still_marks_a_person(gaz):
    p = place(
        gaz,
        "全县有甲鱼养殖合作社8个。图为白土店乡时楼村甲鱼养殖户张某在收获。",
    )
    assert (p.township, p.village) == (None, None)


def test_county_headline_with_examples_from_several_townships(gaz):
    body = (
        "在息县小茴店镇的一家养殖场，负责人说返乡办场是小茴店镇政府牵的线。"
        "在路口乡的服装厂里，几十名女工正在赶订单。"
    )
    f = place_features_of(Item(index=0, headline="息县返乡创业结硕果", body=body), gaz)
    feats = {f.cands.towns[c].name: v for c, v in f.towns.items()}
    assert feats["小茴店镇"]["rivals"] > 0 and feats["路口乡"]["tied"] == 1.0
    # 小茴店镇政府 is the town's own government, not a 该镇/镇政府 word for the item
    assert feats["小茴店镇"]["same_words"] == 0.0
    p = place(gaz, body, "息县返乡创业结硕果")
    assert p.alternatives[0].scope == "county"


def test_scenes_from_two_townships_need_review(gaz):
    p = place(
        gaz,
        "春节期间，在白土店乡的花海，游客纷至沓来；在项店镇李楼村，群众欢聚看大戏。",
    )
    assert p.needs_review and p.confidence < 0.5
    assert {"county", "township"} <= {a.scope for a in p.alternatives}


def test_pinyin_glosses_do_not_split_place_names(gaz):
    p = place(gaz, "“俺村也通了自來水！”白土店鄉(xiāng)桂莊村村民說(shuō)。全縣今年新建水廠3座。")
    assert p.township is None  # a quoted villager's address, read through the glosses
    p = place(gaz, "近日,項(xiàng)店鎮(zhèn)李樓村新修道路2公里。")
    assert (p.township, p.village) == ("项店镇", "李楼村")


def test_village_of_a_named_township_backs_it(gaz):
    p = place(
        gaz,
        "金秋时节，全县处处是丰收景象。在素有“粮仓”之称的白土店乡，稻谷连片金黄。"
        "时楼村的稻田里，收割机来回穿梭。",
    )
    assert p.township == "白土店乡"


def test_county_headline_frame_ignores_a_captioned_township(gaz):
    body = (
        "这是位于息县白土店乡新庄村的光伏电站。今年，该县在86个行政村建设光伏电站，"
        "带动1200户群众增收。"
    )
    headed = place(gaz, body, "息县光伏扶贫助群众增收")
    # Without a county headline the captioned place decides, as in the labels; with one it
    # is less sure (the corpus places such items either way) and offers county-wide first.
    p = place(gaz, body)
    assert (p.township, p.village) == ("白土店乡", "新庄村")
    assert headed.confidence < p.confidence
    assert headed.alternatives[0].scope == "county"


def test_county_frame_needs_a_county_wide_word(gaz):
    p = place(
        gaz,
        "白土店乡新庄村的大棚里，群众正在采摘西瓜，每人每天收入80元。",
        "息县大棚西瓜喜获丰收",
    )
    assert p.township == "白土店乡"


def test_named_speaker_marks_a_home_not_the_place(gaz):
    p = place(
        gaz,
        "“有了这张卡，找村干部方便多了！”白土店乡新庄村的王小明说。全县已发放便民卡3万余张。",
        "便民卡走进千家万户",
    )
    assert (p.township, p.village) == (None, None)


def test_home_of_a_person_does_not_place_the_item(gaz):
    p = place(gaz, "家住白土店乡新庄村的李春生，今年流转土地300亩种植水稻，亩产达1200斤。")
    assert p.village is None
    p = place(gaz, "今年在白土店乡新庄村流转土地300亩种植水稻，亩产达1200斤。")
    assert p.village == "新庄村"


def test_unnamed_villagers_at_work_mark_the_site(gaz):
    # A caption: the villagers are working in their own village, not quoted from home.
    p = place(gaz, "图为5月6日，息县项店镇徐集村村民正在村头的服装厂务工，该厂已吸纳群众80余人。")
    assert (p.township, p.village) == ("项店镇", "徐集村")


def test_named_villager_is_still_an_address(gaz):
    p = place(gaz, "“在家门口就能挣钱。”项店镇徐集村村民李大姐说。全县扶贫车间已有40个。")
    assert p.village is None


def test_village_cannot_break_a_tie_between_two_sites(gaz):
    body = (
        "爱心协会先后来到项店镇徐集小学、包信镇中心校捐赠图书。"
        "在项店镇徐集小学，志愿者送去图书300册；在包信镇中心校，又送去图书200册。"
    )
    f = place_features_of(Item(index=0, headline="", body=body), gaz)
    feats = {f.cands.towns[c].name: v for c, v in f.towns.items()}
    # a village found through a school (徐集小学) does not break the tie between the townships
    assert feats["项店镇"]["tied"] == 1.0 and feats["包信镇"]["tied"] == 1.0
    p = place(gaz, body)
    assert {a.township for a in p.alternatives} >= {"包信镇"}


def test_county_station_report_on_one_township(gaz):
    body = (
        "国庆假期，游客纷纷来到乡村游玩。一进入东岳镇境内，车辆川流不息。"
        "在东岳镇杨庄村的荷花园里，游客拍照打卡，农家乐生意红火。"
    )
    p = place(gaz, body, "假日乡村游升温", "息县融媒体中心")
    assert p.township == "东岳镇"


# ---- stages, confidence and rules (issue 9)


def test_every_place_has_confidence_review_flag_and_alternatives(gaz, sample_text):
    from geo.place_scoring import load_model

    threshold = load_model().review_threshold
    for it in _sample_items(sample_text):
        p = geocode_item(it, gaz)
        assert 0.0 <= p.confidence <= 1.0
        assert p.needs_review == (p.confidence < threshold)
        assert isinstance(p.alternatives, list)
        assert all(0.0 <= a.score <= 1.0 - p.confidence + 1e-9 for a in p.alternatives)


def test_without_gazetteer_confidence_is_zero_and_needs_review():
    p = geocode_item(Item(index=0, headline="", body="白土店乡召开会议。"), None)
    assert (p.confidence, p.needs_review) == (0.0, True)


def test_deciding_mention_is_marked_and_explained(gaz):
    p = place(gaz, "在白土店乡新庄村建设蔬菜大棚。", "息县白土店乡发展大棚蔬菜")
    deciding = [e for e in p.evidence if e.deciding]
    assert len(deciding) == 1 and deciding[0].used
    assert "选定" in deciding[0].reason and "置信度" in deciding[0].reason
    # the explanation names weighted features in Chinese
    assert "标题提及" in deciding[0].reason or "紧跟" in deciding[0].reason


def test_county_wide_decision_is_explained_on_the_county_name(gaz):
    p = place(gaz, "全县新建高标准农田5万亩。", "息县推进高标准农田建设")
    deciding = [e for e in p.evidence if e.deciding]
    assert p.scope == "county" and deciding and deciding[0].kind == "county"
    assert "未提及本县乡镇" in deciding[0].reason


def test_rivals_are_alternatives(gaz):
    p = place(gaz, "包信镇新建冷库一座，夏庄镇新建烘干塔一座，包信镇冷库已投入使用。")
    names = {p.township} | {a.township for a in p.alternatives}
    assert {"包信镇", "夏庄镇"} <= names
    scores = [a.score for a in p.alternatives]
    assert scores == sorted(scores, reverse=True)


def test_suffix_slip_and_short_forms_are_candidates(gaz):
    # 东岳乡 for 东岳镇 (an upgraded 乡 written the old way); 陈棚镇 for our 陈棚乡
    f = place_features_of(Item(index=0, headline="东岳乡秋收忙", body="陈棚镇群众正在收割。"), gaz)
    names = {t.name: t for t in f.cands.towns.values()}
    assert {"东岳镇", "陈棚乡"} <= set(names)
    assert [u.form for u in names["陈棚乡"].uses] == ["slip"]


def test_bare_two_character_stems_count_only_when_backed(gaz):
    # 路口 alone is a word; in the headline, after the county's name, or with the full name
    # elsewhere in the item, it is the township
    alone = place_features_of(Item(index=0, headline="", body="在十字路口设置警示牌。"), gaz)
    assert not alone.cands.towns
    headed = place_features_of(Item(index=0, headline="路口稻虾丰收", body="群众忙收虾。"), gaz)
    assert [t.name for t in headed.cands.towns.values()] == ["路口乡"]
    backed = place_features_of(
        Item(index=0, headline="", body="路口乡成立合作社。路口群众增收。"), gaz
    )
    (town,) = backed.cands.towns.values()
    assert [u.form for u in town.uses] == ["full", "short"]


def test_village_after_de_and_stem_backed_by_full_name():
    gaz = load_gazetteer("诏安县")
    p = place(gaz, "诏安县北部山区官陂镇的公田村，是全县海拔最高的建制村。公田村茶园750亩。")
    assert (p.township, p.village) == ("官陂镇", "公田村")
    g2 = load_gazetteer("泌阳县")
    f = place_features_of(
        Item(index=0, headline="", body="铜山乡政府距离闵庄15公里。闵庄村位于泌阳县东部。"), g2
    )
    (town,) = f.cands.towns.values()
    forms = sorted(u.form for uses in town.village_uses.values() for u in uses)
    assert forms == ["stem", "village"]


def test_alias_table_places_natural_villages_and_landmarks():
    gaz = load_gazetteer("新县")
    p = place(gaz, "国庆期间，田铺大塆接待游客3万人次。", "田铺大塆游人如织")
    assert p.township == "田铺乡"
    assert any("别名表" in e.reason for e in p.evidence if e.used)


def test_county_rules_place_items_and_are_named_in_the_evidence(gaz):
    from geo.place_rules import CountyRules, make_rule

    alias = make_rule(
        county_code="411528",
        kind="alias",
        text="老城区",
        township_code="411528001",
        author="张三",
        gazetteer=gaz,
    )
    landmark = make_rule(
        county_code="411528",
        kind="landmark",
        text="濮公山景区",
        township_code="411528400",
        author="李四",
        gazetteer=gaz,
    )
    unit = make_rule(
        county_code="411528",
        kind="unit",
        text="城关办",
        township_code="411528001",
        author="王五",
        gazetteer=gaz,
    )
    rules = CountyRules("411528", (alias, landmark, unit))
    item = Item(index=0, headline="老城区开展夜市整治", body="商户80家签订承诺书。")
    before, after = geocode_item(item, gaz), geocode_item(item, gaz, rules=rules)
    assert before.township is None and after.township == gaz.township_by_code("411528001").name
    assert any("规则" in e.reason and "张三" in e.reason for e in after.evidence if e.used)
    p = geocode_item(Item(index=0, headline="", body="濮公山景区迎来游客高峰。"), gaz, rules=rules)
    assert p.township_code == "411528400"
    p = geocode_item(
        Item(index=0, headline="", body="开展安全检查。", unit="城关办"), gaz, rules=rules
    )
    assert p.township_code == "411528001"
    assert any(e.field == "unit" and "报送单位" in e.reason and e.deciding for e in p.evidence)


def test_specification_sentences():
    """The shipped model meets at least as many specification sentences as when it was built
    (data/geocode/behaviours.jsonl, counted in the model's provenance)."""
    import json

    from geo.evaluate import same_township, same_village
    from geo.paths import data_dir
    from geo.place_scoring import MODEL_PATH

    recorded = json.loads(MODEL_PATH.read_text("utf-8"))["provenance"]["specification_met"]
    met = 0
    lines = (data_dir() / "geocode" / "behaviours.jsonl").read_text("utf-8").splitlines()
    for line in lines:
        d = json.loads(line)
        g = load_gazetteer(d["county"])
        p = geocode_item(Item(index=0, headline=d["headline"], body=d["body"], unit=d["unit"]), g)
        town = None if d["township"] == "*" else d["township"]
        t_ok = d["township"] == "*" or same_township(g, town, p.township_code)
        v_ok = d["village"] == "*" or same_village(g, d["village"], town, p.village_code)
        met += t_ok and v_ok
    assert met >= int(recorded.split("/")[0]) and len(lines) == int(recorded.split("/")[1])


def test_person_who_comes_from_a_village_and_states_marks_a_home(gaz):
    # 来自…的某某称: the village is where the speaker comes from, not where the item happens
    p = place(
        gaz,
        "“离家近，工资也稳定。”来自白土店乡新庄村的王小明称，他已在县城找到工作。"
        "全县招聘会提供岗位2000个。",
    )
    assert (p.township, p.village) == (None, None)
    p = place(gaz, "在白土店乡新庄村，王小明称，今年蔬菜大棚增加到30座。")
    assert (p.township, p.village) == ("白土店乡", "新庄村")


def test_county_scope_words_follow_the_kind_of_county():
    assert "全区" in county_scope_words("平桥区") and "全县" in county_scope_words("平桥区")
    assert "全市" in county_scope_words("济源市") and "全旗" in county_scope_words("某某旗")
    # 全市 in a 县's bulletin is the prefecture, not the county
    assert "全市" not in county_scope_words("息县") and "全区" not in county_scope_words("息县")


def test_district_wide_word_frames_a_single_township_mention():
    district = load_gazetteer("信阳市平桥区")
    body = "全区秋粮收获进度已达九成。明港镇组织农机300台。"
    f = place_features_of(Item(index=0, headline="", body=body), district)
    (feats,) = f.towns.values()
    # the frame of a once-named township; the item-wide feature keeps the 县 words
    assert (feats["county_frame"], feats["county_scope"]) == (1.0, 0.0)
    f = place_features_of(Item(index=0, headline="", body=body.replace("全区", "全市")), district)
    (feats,) = f.towns.values()
    assert feats["county_frame"] == 0.0


_TEA_SCENE = (
    "时下，走进息县白土店乡茶叶种植基地，随处能看到茶农采摘的身影。近年来，息县大力发展茶产业，"
    "打造息县茶叶品牌。据统计，息县茶园面积达3.92万亩，年产干茶1967吨，实现产值9050万元。"
)


def test_opening_scene_of_county_figures_is_county_wide(gaz):
    # the figures are the county's and the township is only the opening scene
    p = place(gaz, _TEA_SCENE)
    assert (p.scope, p.township) == ("county", None)
    (feats,) = place_features_of(Item(index=0, headline="", body=_TEA_SCENE), gaz).towns.values()
    assert feats["county_figures"] == 1.0


@pytest.mark.parametrize(
    "body",
    [
        # one county figure is not a county-wide story
        _TEA_SCENE.replace("，年产干茶1967吨，实现产值9050万元", ""),
        # the township's own figure
        _TEA_SCENE.replace("茶叶种植基地", "茶叶种植基地（茶园1200亩）"),
        # a news agency's photo caption is labelled at its spot
        _TEA_SCENE.replace("时下，走进息县白土店乡", "这是4月12日拍摄的息县白土店乡"),
    ],
)
def test_county_figures_leave_a_township_with_its_own_evidence(gaz, body):
    (feats,) = place_features_of(Item(index=0, headline="", body=body), gaz).towns.values()
    assert feats["county_figures"] == 0.0
    assert place(gaz, body).township == "白土店乡"


def test_county_figures_are_not_a_townships_figures(gaz):
    # 息县白土店乡有茶园3万亩 is the township's figure, not the county's
    body = "息县白土店乡有茶园3.92万亩，年产干茶1967吨，实现产值9050万元。茶农忙着采茶。"
    (feats,) = place_features_of(Item(index=0, headline="", body=body), gaz).towns.values()
    assert feats["county_figures"] == 0.0


def test_autonomous_county_short_name_is_the_county_not_its_seat_town():
    nanjian = load_gazetteer("南涧彝族自治县")
    body = "南涧县改造低产茶园10000亩，茶叶总产值1.86亿元。全县茶园面积10.6万亩。"
    p = geocode_item(Item(index=0, headline="茶叶产业已成南涧骨干产业", body=body), nanjian)
    assert (p.scope, p.township) == ("county", None)
    p = geocode_item(
        Item(index=0, headline="南涧镇开展茶园管理培训", body="南涧镇组织茶农200人参加培训。"),
        nanjian,
    )
    assert p.township == "南涧镇"
