"""Splitting normalised bulletin text into items: headlines, bodies, units, authors, offsets."""

from __future__ import annotations

import itertools
import re

import pytest

from geo.items import parse_credit, single_item, split_items
from geo.normalise import normalise_text

SAMPLE_ITEMS = [
    ("息县春节招工不“打烊”", "县人社局", ["张继铭"]),
    ("息县招商工作迎来开门红", "县招商服务中心", ["罗文众"]),
    ("息县提升便民服务质效温暖返乡群众", "县行政审批局", ["张万淼"]),
    ("息县细化举措保障企业复工用电", "县供电公司", ["马建"]),
    ("息县澺河街道多措并举助企招工", "澺河街道办事处", ["佘腾宇"]),
    ("息县白土店乡发展鲜食玉米种植产业", "白土店乡人民政府", ["周京京"]),
]


def _check_offsets(text, items):
    for it in items:
        chunk = text[it.start : it.end]
        assert chunk == chunk.strip()
        if it.headline:
            assert chunk.startswith(it.headline.split(" ")[0])
        # every body paragraph comes from the item's own span
        for para in it.body.split("\n"):
            assert para in chunk
    ends = [(it.start, it.end) for it in items]
    assert ends == sorted(ends)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(ends))


def test_sample_splits_into_its_six_items(sample_text):
    text = normalise_text(sample_text)
    items = split_items(text)
    assert [(it.headline, it.unit, it.authors) for it in items] == SAMPLE_ITEMS
    assert [it.index for it in items] == list(range(6))
    _check_offsets(text, items)
    first = items[0]
    assert first.body.startswith("围绕县域重点企业春节用工需求，召开春节前招工工作专题会议")
    assert first.body.endswith("就业岗位 10000 余个。")
    assert text[first.start : first.end].endswith("（县人社局 张继铭）")
    assert items[5].body.endswith("村集体经济年增收 2.5 万元。")
    assert all("（" + it.unit not in it.body for it in items)
    assert items[1].text == f"{items[1].headline}\n{items[1].body}"


BULLETIN = """息县工作简报
第9期
县委办公室编 2024年3月8日
息县孙庙乡推广稻渔综合种养 今年以来，孙庙乡引导农户发展稻虾共作，稻虾面积达 1.2 万亩。
下一步，该乡将建设小龙虾交易市场，延伸产业链条。
（孙庙乡人民政府 赵磊、钱红）
息县张陶乡新建农产品冷链仓储中心 项目总投资 600 万元，库容 5000 吨。 (张陶乡人民政府 孙明)
报：市委办公室
送：县委、县人大、县政府、县政协领导
（共印 60 份）"""


def test_bulletin_with_masthead_and_footer():
    text = normalise_text(BULLETIN)
    items = split_items(text)
    assert [(it.headline, it.unit, it.authors) for it in items] == [
        ("息县孙庙乡推广稻渔综合种养", "孙庙乡人民政府", ["赵磊", "钱红"]),
        ("息县张陶乡新建农产品冷链仓储中心", "张陶乡人民政府", ["孙明"]),
    ]
    assert items[0].body.split("\n") == [
        "今年以来，孙庙乡引导农户发展稻虾共作，稻虾面积达 1.2 万亩。",
        "下一步，该乡将建设小龙虾交易市场，延伸产业链条。",
    ]
    assert items[1].body == "项目总投资 600 万元，库容 5000 吨。"
    _check_offsets(text, items)
    assert "共印" not in text[items[-1].start : items[-1].end]


def test_headlines_on_their_own_lines_without_credits():
    text = (
        "息县临河乡开展防汛应急演练\n"
        "6月10日，临河乡在淮河大堤组织防汛应急演练，参演人员 150 人。\n"
        "演练设置了险情处置、人员转移等科目。\n"
        "息县谯楼街道举办夜市文化节\n"
        "活动持续 5 天，吸引游客 3 万余人次，带动商户营业额 80 余万元。"
    )
    items = split_items(text)
    assert [it.headline for it in items] == [
        "息县临河乡开展防汛应急演练",
        "息县谯楼街道举办夜市文化节",
    ]
    assert items[0].body.count("\n") == 1
    assert items[0].unit is None and items[0].authors == []
    _check_offsets(text, items)


def test_newspaper_form_with_datelines():
    text = (
        "息县陈棚乡举办返乡创业座谈会\n"
        "本报讯(记者 周 强 通讯员 吴 敏)2月18日，陈棚乡召开返乡创业座谈会，40 余人参加。\n"
        "息县夏庄镇集中开工三个项目\n"
        "息县融媒体中心3月2日讯(全媒体记者 郑一鸣 孔 洁)3月1日，夏庄镇 3 个项目集中开工，"
        "总投资 2.6 亿元。"
    )
    items = split_items(text)
    assert [(it.headline, it.unit, it.authors) for it in items] == [
        ("息县陈棚乡举办返乡创业座谈会", None, ["周强", "吴敏"]),
        ("息县夏庄镇集中开工三个项目", "息县融媒体中心", ["郑一鸣", "孔洁"]),
    ]
    assert items[0].body.startswith("2月18日，陈棚乡召开")
    assert items[1].body.startswith("3月1日，夏庄镇 3 个项目集中开工")


def test_kicker_line_joins_the_headline():
    text = "岗李店乡\n扎实推进人居环境整治\n本报讯(冯 雪)近日，岗李店乡清理生活垃圾 80 余吨。"
    (item,) = split_items(text)
    assert item.headline == "岗李店乡 扎实推进人居环境整治"
    assert item.authors == ["冯雪"]
    assert item.body == "近日，岗李店乡清理生活垃圾 80 余吨。"


@pytest.mark.parametrize(
    ("closing", "unit", "authors"),
    [
        ("（通讯员 徐静）", None, ["徐静"]),
        ("(作者：胡斌)", None, ["胡斌"]),
        ("（县农业农村局供稿）", "县农业农村局", []),
        ("（县农业农村局 胡斌 徐静）", "县农业农村局", ["胡斌", "徐静"]),
        ("(县农业农村局 胡 斌)", "县农业农村局", ["胡斌"]),
        ("（编辑 许诺）", None, []),
    ],
)
def test_trailing_credits(closing, unit, authors):
    text = f"息县小茴店镇推进小麦统防统治 全镇完成飞防作业 5 万亩，覆盖 28 个村。{closing}"
    (item,) = split_items(text)
    assert item.headline == "息县小茴店镇推进小麦统防统治"
    assert item.body == "全镇完成飞防作业 5 万亩，覆盖 28 个村。"
    assert (item.unit, item.authors) == (unit, authors)


def test_editor_lines_are_dropped_and_not_authors():
    text = (
        "息县项店镇举办技能培训\n"
        "培训电焊、家政等工种 4 期，参训 260 人次。\n"
        "（通讯员 刘畅）\n"
        "责任编辑：马丽"
    )
    (item,) = split_items(text)
    assert item.authors == ["刘畅"]
    assert "责任编辑" not in item.body


def test_parenthesis_inside_a_sentence_is_not_a_credit():
    text = "息县招商成果丰硕 驻外办事处（暨驻苏州办事处）谋划项目 8 个。下一步继续对接（广东）"
    (item,) = split_items(text)
    assert item.unit is None and item.authors == []
    assert item.body.endswith("下一步继续对接（广东）")


def test_body_sentences_with_spaces_do_not_make_headlines():
    text = "截至目前 全县已发放补贴 300 万元，惠及群众 1200 户。"
    (item,) = split_items(text)
    assert item.headline == ""
    assert item.body == text


def test_split_items_of_empty_text():
    assert split_items("") == []
    assert split_items("息县工作简报\n第1期") == []
    assert single_item("") == []


# --- single items --------------------------------------------------------------------------


def test_single_item_with_title_line():
    text = (
        "息县关店乡发展林下经济\n"
        "2024-05-06 10:20:30\n"
        "来源:某某网 点击量:3000\n"
        "关店乡利用林地发展林下养鸡，年出栏 5 万只。\n"
        "该乡还建成林下中药材基地 300 亩。(通讯员:郭娟)"
    )
    (item,) = single_item(text)
    assert item.headline == "息县关店乡发展林下经济"
    assert item.body.split("\n") == [
        "关店乡利用林地发展林下养鸡，年出栏 5 万只。",
        "该乡还建成林下中药材基地 300 亩。",
    ]
    assert item.authors == ["郭娟"]
    assert (item.index, item.start, item.end) == (0, 0, len(text))


def test_single_item_without_title_and_with_photo_credit():
    text = "日前，息县城郊乡组织志愿者为老人义诊，服务群众 200 余人次。图为义诊现场。孟 华 摄"
    (item,) = single_item(text)
    assert item.headline == ""
    assert item.authors == ["孟华"]
    assert item.body == "日前，息县城郊乡组织志愿者为老人义诊，服务群众 200 余人次。图为义诊现场。"


def test_single_item_with_byline_line():
    text = "全媒体记者 韩磊 宋佳\n息县彭店乡村村通了天然气，惠及 3000 余户。\n（编辑 陈晨）"
    (item,) = single_item(text)
    assert item.headline == ""
    assert item.authors == ["韩磊", "宋佳"]
    assert item.body == "息县彭店乡村村通了天然气，惠及 3000 余户。"


def test_single_item_keeps_many_items_together(sample_text):
    text = normalise_text(sample_text)
    (item,) = single_item(text)
    assert item.headline == "息县春节招工不“打烊”"
    assert "息县白土店乡发展鲜食玉米种植产业" in item.body


def test_dev_items_read_as_single_items(dev_items):
    for d in dev_items:
        text = normalise_text(d["text"])
        (item,) = single_item(text)
        assert item.body, d["id"]
        assert not re.search(r"点击量|阅读 \d|来源:", item.body), d["id"]
        assert item.headline == "" or "。" not in item.headline, d["id"]


# --- credits -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credit", "expected"),
    [
        ("县人社局 张继铭", ("县人社局", ["张继铭"])),
        ("县人社局张继铭", ("县人社局", ["张继铭"])),
        ("澺河街道办事处 佘腾宇", ("澺河街道办事处", ["佘腾宇"])),
        ("全媒体记者 王一 李二", (None, ["王一", "李二"])),
        ("大象新闻记者 吴凡 通讯员 曾静", (None, ["吴凡", "曾静"])),
        ("新 宇 元 森", (None, ["新宇", "元森"])),
        ("供稿：县文广旅局", ("县文广旅局", [])),
        ("暨驻苏州办事处", None),
        ("相关资料图", None),
        ("左二", None),
        ("社", None),
    ],
)
def test_parse_credit(credit, expected):
    assert parse_credit(credit) == expected


# --- untrusted markup ------------------------------------------------------------------------


TAGGED = (
    "息县<b>某</b>乡召开秋收动员会议 该乡日前召开秋收动员会议，部署秋粮收购工作，"
    "全乡共组织农机300余台。（<i>县委办</i> 张三）\n"
    "项店镇举办招聘会 近日，项店镇举办招聘会，达成就业意向230人，送工150人。（项店镇 李四）\n"
)


def test_tags_are_ordinary_text_for_splitting():
    first, second = split_items(normalise_text(TAGGED))
    # The tags stay as written (they are escaped where shown) and do not move the credit.
    assert first.headline == "息县<b>某</b>乡召开秋收动员会议"
    assert (first.unit, first.authors) == ("<i>县委办</i>", ["张三"])
    assert first.body.endswith("全乡共组织农机300余台。")
    assert (second.headline, second.unit, second.authors) == (
        "项店镇举办招聘会",
        "项店镇",
        ["李四"],
    )


def test_tags_in_headline_on_its_own_line():
    text = TAGGED.replace("会议 该乡", "会议\n该乡").replace("招聘会 近日", "招聘会\n近日")
    first, second = split_items(normalise_text(text))
    assert first.headline == "息县<b>某</b>乡召开秋收动员会议" and first.unit == "<i>县委办</i>"
    assert second.unit == "项店镇"


def test_tagged_two_character_unit_closes_its_item():
    text = (
        "息县某镇开展秸秆禁烧巡查 该镇组织干部开展巡查，出动车辆20台次。（县农业农村局 王五）\n"
        "息县<b>某</b>乡召开会议 该乡日前召开秋收动员会议，部署秋粮收购工作。（<i>县委</i> 张三）\n"
        "项店镇举办招聘会 近日，项店镇举办招聘会，达成就业意向230人。（项店镇 李四）\n"
    )
    items = split_items(normalise_text(text))
    assert [(it.headline, it.unit) for it in items] == [
        ("息县某镇开展秸秆禁烧巡查", "县农业农村局"),
        ("息县<b>某</b>乡召开会议", "<i>县委</i>"),
        ("项店镇举办招聘会", "项店镇"),
    ]
    assert items[1].authors == ["张三"] and "（" not in items[1].body


@pytest.mark.parametrize(
    ("credit", "expected"),
    [
        ("县委 张三", ("县委", ["张三"])),
        ("<i>县委办</i> 张三", ("<i>县委办</i>", ["张三"])),
        (
            '<a href="http://x/y">县人社局</a>张继铭',
            ('<a href="http://x/y">县人社局</a>', ["张继铭"]),
        ),
        ("全媒体记者 <b>王一</b> 李二", (None, ["<b>王一</b>", "李二"])),
        ("<script>alert(1)</script>", None),
    ],
)
def test_parse_credit_keeps_tags_as_text(credit, expected):
    assert parse_credit(credit) == expected
