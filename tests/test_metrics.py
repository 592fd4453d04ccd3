"""geo.metrics: numbers, multipliers, units, qualifiers and labels of reported quantities."""

from __future__ import annotations

import json
import random
import re
from collections import Counter

import pytest

from geo.errors import GeoInputError
from geo.evaluate import match_metrics
from geo.items import single_item
from geo.metrics import extract_metrics, load_grammar, parse_chinese_number
from geo.normalise import normalise_text

CORE = ("yuan", "person", "person_time", "mu", "tonne", "enterprise", "project")


def _triples(text: str) -> list[tuple[float, str, str]]:
    return [(m.value, m.unit, m.qualifier) for m in extract_metrics(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "今年以来，全镇新增就业岗位两千余个，组织招聘会6场，参会企业85家，达成就业意向1,200人。",
            [
                (2000, "item", "approx"),
                (6, "time", "exact"),
                (85, "enterprise", "exact"),
                (1200, "person", "exact"),
            ],
        ),
        (
            "该村流转土地三千五百亩发展稻虾共作，亩均增收1500元左右，带动脱贫户32户。",
            [(3500, "mu", "exact"), (1500, "yuan", "approx"), (32, "household", "exact")],
        ),
        (
            "项目总投资1.2亿，其中争取上级资金3000万，预计年产值突破5亿元。",
            [(1.2e8, "yuan", "exact"), (3e7, "yuan", "exact"), (5e8, "yuan", "at_least")],
        ),
        (
            "全年收购小麦3.6万吨、稻谷8000斤、茶叶30万公斤，生猪出栏约2万头。",
            [
                (36000, "tonne", "exact"),
                (4, "tonne", "exact"),
                (300, "tonne", "exact"),
                (20000, "other", "approx"),
            ],
        ),
        (
            "2024年3月15日，县医院组织专家15名开展义诊，服务群众300余人次，发放资料2000份。",
            [(15, "person", "exact"), (300, "person_time", "approx"), (2000, "other", "exact")],
        ),
        (
            "引进企业5家，签约项目3个，新开工8个项目，走访商户12家。",
            [
                (5, "enterprise", "exact"),
                (3, "project", "exact"),
                (8, "project", "exact"),
                (12, "enterprise", "exact"),
            ],
        ),
        (
            "每亩补贴200至300元，参训人员不足50人，发放贷款200万元以上。",
            [(200, "yuan", "at_least"), (50, "person", "at_most"), (2e6, "yuan", "at_least")],
        ),
        (
            "每户可增收2至5万元，月工资三四千元，年龄在45岁以下的村民优先。",
            [(20000, "yuan", "at_least"), (3000, "yuan", "at_least")],
        ),
        (
            "累计接待游客12.6万人次，实现旅游综合收入8600万元，景区点击量超 30 万次。",
            [
                (126000, "person_time", "exact"),
                (8.6e7, "yuan", "exact"),
                (300000, "time", "at_least"),
            ],
        ),
        (
            "打造千亩蓝莓基地和万亩油茶林，新建高标准农田2.5万亩。",
            [(1000, "mu", "approx"), (10000, "mu", "approx"), (25000, "mu", "exact")],
        ),
        (
            "发放救助金两万元，慰问困难群众一百二十户，办理“十件实事”。",
            [(20000, "yuan", "exact"), (120, "household", "exact"), (10, "item", "exact")],
        ),
        (
            "查处违法案件17起，罚没款4.3万元，近百名志愿者参与，上千人观看。",
            [
                (17, "item", "exact"),
                (43000, "yuan", "exact"),
                (100, "person", "approx"),
                (1000, "person", "at_least"),
            ],
        ),
        (
            "该镇年产值达4亿多元，村集体增收达10多万元，带动就业人数超 100 人。",
            [(4e8, "yuan", "approx"), (1e5, "yuan", "approx"), (100, "person", "at_least")],
        ),
        (
            "力争打造百亿级产业集群，流转林地50公顷。",
            [(1e10, "yuan", "approx"), (750, "mu", "exact")],
        ),
    ],
)
def test_values_units_and_qualifiers(text, expected):
    assert _triples(text) == [(float(v), u, q) for v, u, q in expected]


@pytest.mark.parametrize(
    "text",
    [
        "落实“1+1+1”帮扶机制，创建3A级景区，荣获五星支部称号，完成“十四五”规划中期评估。",
        "占比达35%，同比增长2.3倍，近六成农户参与，为期3个月，举办第十一期培训班。",
        "一是强化组织领导；二是压实责任。全镇数千名群众参与，几十家商户响应。",
        "咨询电话13812345678，2025-02-06 09:15:22 发布，“3·15”当天，5G基站。",
        "点击量:10万+ 阅读 61253",
        "该村距县城7公里，北纬32度，今年58岁的村民说，2023年以来三年内完成。",
        "千方百计稳就业，三番五次上门走访，四面八方来客，一次办好，三个一批，五位一体，三轮车。",
        "推动一二三产业融合发展，争创“四星”支部，一村一品，两委班子。",
    ],
)
def test_not_metrics(text):
    assert extract_metrics(text) == []


def test_empty_text():
    assert extract_metrics("") == []


def test_labels_from_words_before_or_noun_after():
    text = (
        "各招工稳工责任单位送工共计 2354 人，对接甲、乙等 5 家企业，"
        "流转土地 300 余亩，总投资 13.5 亿元，各类平台点击量超 40 万次。"
    )
    labels = {m.unit: m.label for m in extract_metrics(text)}
    assert labels == {
        "person": "送工",
        "enterprise": "企业",
        "mu": "流转土地",
        "yuan": "总投资",
        "time": "点击量",
    }


@pytest.mark.parametrize(
    ("text", "label"),
    [
        # The plain 12-character cut would start inside 路口乡 (口乡成功签约…).
        ("息县路口乡成功签约食品加工项目1个，总投资5000万元。", "成功签约食品加工项目"),
        ("息县路口乡成功签约食品加工项目总投资5000万元。", "成功签约食品加工项目总投资"),
        ("近日夏庄镇举办招聘会达成就业意向230人。", "举办招聘会达成就业意向"),  # not 镇举办…
        ("光山县东岳镇小李村耕地面积达到4390亩。", "东岳镇小李村耕地面积"),  # not 县东…
        # 乡村 and 市场 are words, not places: no cut inside them either.
        ("今年城郊乡乡村振兴产业园占地面积2000亩。", "乡村振兴产业园占地面积"),
        ("各乡镇新建农贸市场与村民议事场所面积300平方米。", "贸市场与村民议事场所面积"),
        # Short labels are untouched.
        ("路口乡签约项目3个。", "路口乡签约项目"),
    ],
)
def test_long_labels_do_not_start_inside_a_place_name(text, label):
    assert extract_metrics(text)[0].label == label


def test_spans_index_into_item_text_and_cover_qualifiers():
    headline = "某镇发展茶叶产业"
    body = "全镇茶园面积超 1.5 万亩，年产干茶 300 余吨。"
    text = f"{headline}\n{body}"
    metrics = extract_metrics(text)
    assert [m.text for m in metrics] == ["超 1.5 万亩", "300 余吨"]
    for m in metrics:
        assert text[m.span[0] : m.span[1]] == m.text
        assert m.span[0] > len(headline)


def test_number_at_end_of_headline_does_not_take_a_unit_from_the_body():
    assert extract_metrics("迎接2024\n年货市场开张") == []


def test_full_width_digits_are_read():
    (m,) = extract_metrics("新建厂房１２０００平方米")
    assert (m.value, m.unit, m.text) == (12000, "other", "１２０００平方米")


def test_restatement_is_one_fact():
    text = "集中开工项目共有7个，分别是甲项目、乙项目等。7个项目总投资4.4亿元。"
    assert _triples(text) == [(7.0, "project", "exact"), (4.4e8, "yuan", "exact")]


def test_metric_to_dict_has_integer_value():
    (m,) = extract_metrics("发放补贴2.5万元")
    assert m.to_dict()["value"] == 25000


@pytest.mark.parametrize(
    ("s", "value"),
    [
        ("十", 10),
        ("十五", 15),
        ("三十五", 35),
        ("三千五百", 3500),
        ("三千五", 3500),
        ("两万", 20000),
        ("两万五", 25000),
        ("一万零五", 10005),
        ("一百二十", 120),
        ("百亿", 1e10),
        ("万", 10000),
        ("十四五", None),
        ("一二三", None),
        ("", None),
    ],
)
def test_parse_chinese_number(s, value):
    assert parse_chinese_number(s) == (None if value is None else float(value))


def test_bad_grammar_file_is_one_line_error(tmp_path):
    bad = tmp_path / "metric_units.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(GeoInputError) as err:
        load_grammar(bad)
    assert "\n" not in str(err.value)


def _sample_items(raw: str) -> list[tuple[str, str]]:
    """(unit, text) per item: the sample's hard line breaks joined, split at the unit lines."""
    flat = re.sub(r"\s*\n\s*", "", raw)
    parts = re.split(r"（([^（）]{2,20}) [^（）]{2,4}）", flat)
    return [(parts[k + 1], parts[k].strip()) for k in range(0, len(parts) - 1, 2)]


def test_sample_bulletin(sample_text):
    items = dict(_sample_items(sample_text))
    assert len(items) == 6

    def facts(unit):
        return {(m.value, m.unit, m.qualifier, m.label) for m in extract_metrics(items[unit])}

    rs = facts("县人社局")
    assert (364, "person", "exact", "组织村支部书记") in rs
    assert (400000, "time", "at_least", "点击量") in rs
    assert (30000, "person_time", "approx", "直播间累计观看人数") in rs
    assert (2354, "person", "exact", "送工") in rs
    assert {(m.value, m.qualifier) for m in extract_metrics(items["县人社局"])} >= {
        (100, "approx"),
        (2600, "approx"),
        (10000, "approx"),
    }
    zs = facts("县招商服务中心")
    assert (1.35e9, "yuan", "exact", "总投资") in zs
    assert (1.664e10, "yuan", "exact", "总投资") in zs
    assert {(m.value, m.unit) for m in extract_metrics(items["县招商服务中心"])} >= {
        (5, "project"),
        (33, "project"),
    }
    ws = facts("澺河街道办事处")
    assert ws >= {
        (5, "enterprise", "exact", "企业"),
        (123, "person", "exact", "送工"),
        (23, "person", "exact", "入职"),
    }
    bs = facts("白土店乡人民政府")
    assert bs >= {
        (300, "mu", "approx", "流转土地"),
        (400, "tonne", "approx", "鲜食玉米年产量"),
        (5e6, "yuan", "exact", "年销售额"),
        (8000, "yuan", "exact", "人均增收"),
        (25000, "yuan", "exact", "村集体经济年增收"),
        (100, "person", "at_least", "带动就业人数"),
    }
    gd = {(m.value, m.unit) for m in extract_metrics(items["县供电公司"])}
    assert gd == {(17, "enterprise"), (12, "item"), (3, "item"), (2, "item")}


def test_dev_set_core_f1(dev_items):
    tp = fp = fn = 0
    for it in dev_items:
        gold = Counter(
            (round(m["value"], 3), m["unit"]) for m in it["metrics"] if m["unit"] in CORE
        )
        got = Counter(
            (round(m.value, 3), m.unit) for m in extract_metrics(it["text"]) if m.unit in CORE
        )
        hit = sum((gold & got).values())
        tp, fp, fn = tp + hit, fp + sum(got.values()) - hit, fn + sum(gold.values()) - hit
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert f1 >= 0.90, json.dumps({"tp": tp, "fp": fp, "fn": fn})


def test_quantity_at_the_very_start_of_the_text():
    assert _triples("300亩高标准农田已完工") == [(300.0, "mu", "exact")]


def test_bounded_class_descriptions_are_not_amounts():
    text = "全镇50亩以上的种植大户23户，签约项目6个，其中超亿元项目3个。"
    assert _triples(text) == [
        (23.0, "household", "exact"),
        (6.0, "project", "exact"),
        (3.0, "project", "exact"),
    ]


def test_lai_marks_an_approximate_number():
    (m,) = extract_metrics("我们合作社今年种了800来亩西瓜")
    assert (m.value, m.unit, m.qualifier, m.label) == (800.0, "mu", "approx", "种西瓜")


def test_same_value_with_own_qualifier_is_not_a_restatement():
    assert _triples("近万人参与，上万名群众受益") == [
        (10000.0, "person", "approx"),
        (10000.0, "person", "at_least"),
    ]


def test_voltage_grade_and_qualifier_lookalikes():
    assert _triples("110千伏变电站投运，附近3个村受益，节约资金20万元") == [
        (3.0, "other", "exact"),
        (200000.0, "yuan", "exact"),
    ]


def test_shared_multiplier_of_a_range_scales_the_lower_bound():
    assert _triples("每户增收2至10万元，参与群众两至三万人") == [
        (20000.0, "yuan", "at_least"),
        (20000.0, "person", "at_least"),
    ]


def test_zero_is_not_an_amount():
    assert extract_metrics("全年发生安全事故0起") == []


def test_spans_stay_valid_on_scrambled_text():
    rng = random.Random(7)
    alphabet = (
        "0123456789.,，。万亿千百十余多来约超近至到-"
        "人名次亩吨斤元家个项目件户村年月第两三一%+·“”的企业 \n"
    )
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 50)))
        for m in extract_metrics(text):
            assert text[m.span[0] : m.span[1]] == m.text != ""
            assert m.value > 0
            assert m.qualifier in ("exact", "approx", "at_least", "at_most")


# ---- generalisation to web copies (hold-out review, 2026-11)


def test_traditional_characters_keep_their_spans():
    text = "該鎮流轉土地3200畝，總投資1.5億元，帶動農戶120戶。"
    ms = extract_metrics(text)
    assert [(m.value, m.unit) for m in ms] == [
        (3200, "mu"),
        (150_000_000, "yuan"),
        (120, "household"),
    ]
    assert [text[m.span[0] : m.span[1]] for m in ms] == ["3200畝", "1.5億元", "120戶"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今年共谋划12个重点招商项目。", (12, "project")),  # head noun, not 点
        ("纳入5个省、市重点项目。", (5, "project")),  # a list inside the noun phrase
        ("纳入7个省“三个一批”项目。", (7, "project")),  # a quoted name inside it
        ("吸引外地的9家企业到该镇落户。", (9, "enterprise")),  # 落户 is not the noun
        ("其中有6家企业生产的4个品种。", (4, "other")),  # 企业 qualifies 品种 via 的
    ],
)
def test_counted_noun_is_the_head_of_its_phrase(text, expected):
    got = [(m.value, m.unit) for m in extract_metrics(text) if m.value == expected[0]]
    assert got == [expected]


def test_people_counted_without_a_measure_word():
    assert _triples("全镇已有2万农民在家门口就业，帮扶带动360贫困人口增收。") == [
        (20000, "person", "exact"),
        (360, "person", "exact"),
    ]


def test_colon_after_a_place_name_is_not_a_clock_time():
    assert _triples("路口乡:3万群众喝上放心水") == [(30000, "person", "exact")]
    assert _triples("会议于17:30结束") == []


def test_position_in_kilometres_is_not_an_amount():
    assert _triples("在镇区以东3公里处新建一座桥，并新修道路2.5公里。") == [(2.5, "other", "exact")]


def test_headline_figure_restated_in_the_body_is_one_fact():
    text = "全县12个项目集中开工\n此次集中开工项目12个，总投资8亿元。另有12个项目完成签约。"
    assert _triples(text) == [
        (12, "project", "exact"),
        (800_000_000, "yuan", "exact"),
        (12, "project", "exact"),
    ]


def test_spoken_ge_yi_and_enumerated_range():
    assert _triples("项目投产后产值可达15个亿。") == [(1_500_000_000, "yuan", "exact")]
    assert _triples("母兔一窝能产7、8只。") == [(7, "other", "at_least")]


def test_small_counts_of_tables_bottles_and_trips():
    assert _triples("摆起流水席30多桌，卖出矿泉水150多瓶，往返两趟，两家饭店满座。") == [
        (30, "other", "approx"),
        (150, "other", "approx"),
        (2, "time", "exact"),
        (2, "enterprise", "exact"),
    ]


def test_couple_is_not_a_head_count():
    assert _triples("夫妻二人都在车间上班，每月工资4500元。") == [(4500, "yuan", "exact")]


def test_pinyin_glosses_of_mirror_sites_do_not_split_quantities():
    text = "全鎮(zhèn)茶園近3萬(wàn)畝,產(chǎn)值1.2億元。"
    ms = extract_metrics(text)
    assert [(m.value, m.unit, m.qualifier) for m in ms] == [
        (30000, "mu", "approx"),
        (120_000_000, "yuan", "exact"),
    ]
    assert text[ms[0].span[0] : ms[0].span[1]] == "近3萬(wàn)畝"


def test_latin_unit_abbreviations():
    assert _triples("年新增粮食产能56.5万kg，硬化机耕路2.4km，新增蓄水12万m3。") == [
        (565, "tonne", "exact"),
        (2.4, "other", "exact"),
        (120000, "other", "exact"),
    ]
    assert _triples("全村通了5G网络") == []


def test_population_after_its_label_is_a_head_count():
    got = [
        (m.value, m.unit, m.qualifier)
        for m in extract_metrics("全乡有人口3.2万，其中农村人口近2万，外出务工5000余人。")
    ]
    assert got == [
        (32000, "person", "exact"),
        (20000, "person", "approx"),
        (5000, "person", "approx"),
    ]


def test_students_counted_without_a_measure_word():
    got = [(m.value, m.unit) for m in extract_metrics("村小学现有158学生，师生共计170人。")]
    assert got == [(158, "person"), (170, "person")]


def test_a_big_number_without_people_label_is_not_a_head_count():
    assert [m.unit for m in extract_metrics("该镇面积达到12万，位置偏远。")] == []


def test_a_rank_is_not_a_head_count_but_present_staff_are():
    got = [
        (m.value, m.unit) for m in extract_metrics("评比前三名的村各奖励5000元，目前3名干部驻村。")
    ]
    assert got == [(5000, "yuan"), (3, "person")]


def test_pairs_teams_and_latin_kw_are_counted():
    got = [
        (m.value, m.unit)
        for m in extract_metrics("新建1200KW电站，年产布鞋30万双，组建宣讲队12支。")
    ]
    assert got == [(1200, "other"), (300000, "other"), (12, "other")]
    assert extract_metrics("一双手、一支笔，写出好日子。") == []


def test_bare_wan_yuan_is_a_lost_number_but_round_sums_stay():
    # Mirrors sometimes drop digits: 协调资金万元 is not 10000 yuan.
    assert _triples("驻村工作队协调资金万元，发展大棚16个。") == [(16.0, "other", "exact")]
    assert _triples("户均增收超万元。") == [(10000.0, "yuan", "at_least")]


def test_labourers_counted_with_ge_are_people():
    assert _triples("带动300多个闲置劳动力务工就业。") == [(300.0, "person", "approx")]


def test_slogan_with_round_numbers_is_not_a_metric():
    assert _triples("按照“千企帮千村”要求，企业选派3名干部驻村。") == [(3.0, "person", "exact")]


def test_round_sum_before_a_place_or_firm_is_a_grade_not_an_amount():
    # 亿元村 / 十亿元镇 / 亿元企业 name a class of village, town or firm.
    assert _triples("该村入选全国乡村特色产业亿元村名单。") == []
    assert _triples("全省共有6个十亿元镇、4个亿元村榜上有名。") == [(6.0, "other", "exact")]
    assert _triples("全村有规上企业六家，其中亿元企业三家。") == [
        (6.0, "enterprise", "exact"),
        (3.0, "enterprise", "exact"),
    ]
    # A round sum that is an amount stays one.
    assert _triples("市场年交易额突破亿元。") == [(1e8, "yuan", "at_least")]
    assert _triples("项目总投资15个亿，建成后带动300人就业。") == [
        (1.5e9, "yuan", "exact"),
        (300.0, "person", "exact"),
    ]


def test_a_pinyin_gloss_inside_the_counted_noun_does_not_hide_it():
    # mirrored copies print readings after characters: 項(xiàng)目17個(gè)
    assert _triples("共簽約招商項(xiàng)目17個(gè),新簽約項(xiàng)目9個(gè)。") == [
        (17.0, "project", "exact"),
        (9.0, "project", "exact"),
    ]


def test_a_count_after_renshu_is_an_amount_but_shu_before_a_chinese_numeral_is_not():
    # 人数/户数 name what is counted; 数万, 几十 are no amounts
    assert _triples("入社户数3.8万户，带动人数10.4万人。") == [
        (38000.0, "household", "exact"),
        (104000.0, "person", "exact"),
    ]
    assert _triples("吸引数万名游客，几十个村参加。") == []


def test_a_foreign_currency_is_never_yuan():
    # 12亿港元 is no 12亿元: a figure in its own unit (other), never added to yuan totals
    assert _triples("项目总投资12亿港元，出口创汇3500万美元，另投资5000万欧元。") == [
        (1.2e9, "other", "exact"),
        (3.5e7, "other", "exact"),
        (5e7, "other", "exact"),
    ]
    assert _triples("项目投资1.2亿美金，配套资金2亿元。") == [
        (1.2e8, "other", "exact"),
        (2e8, "yuan", "exact"),
    ]


def test_tuning_set_core_metric_f1_holds(repo_root):
    # The floor of the tuning part (eval/tuning.jsonl) on the core units, one item at a time.
    path = repo_root / "eval" / "tuning.jsonl"
    matched = predicted = labelled = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        item = single_item(normalise_text(d["text"]))[0]
        m, p, n, _, _ = match_metrics(extract_metrics(item.text), d["metrics"], core=True)
        matched, predicted, labelled = matched + m, predicted + p, labelled + n
    precision, recall = matched / predicted, matched / labelled
    assert 2 * precision * recall / (precision + recall) >= 0.93
