"""Text normalisation (extraction artefacts) and masthead parsing."""

from __future__ import annotations

import pytest

from geo.masthead import cn_number, masthead_end, parse_header
from geo.models import BulletinHeader
from geo.normalise import normalise_text

# Hard-wrapped like a PDF extraction: CRLF, a blank line after every line, a page-number line,
# a page break that leaves a leading space and no blank line, full-width, zero-width and
# no-break spaces.
WRAPPED = (
    "\u3000息县关店乡推进秸秆\u200b综合利用 组织农机手深入田间，\r\n"
    "\r\n"
    "开展秸秆打捆离田作业，全乡已打捆秸秆 2600\u00a0余\r\n"
    "\r\n"
    "吨，带动 35 名群众就近务工。同时建立秸秆收储\r\n"
    "\r\n"
    "点 4 个，实现秸秆变废为宝。\r\n"
    "\r\n"
    "（关店乡人民政府 陈晓）\r\n"
    "\r\n"
    "- 2 -\r\n"
    "\r\n"
    "息县项店镇开展冬季消防安全检查 镇应急办联合派\r\n"
    "\r\n"
    "出所对辖区 12 家企业、8 个人员密集场所逐一检\r\n"
    " 查，排查整改隐患 19 处，发放宣传资料 1500 余\r\n"
    "\r\n"
    "份。（项店镇人民政府 刘洋）\r\n"
)
WRAPPED_CLEAN = (
    "息县关店乡推进秸秆综合利用 组织农机手深入田间，开展秸秆打捆离田作业，全乡已打捆秸秆"
    " 2600 余吨，带动 35 名群众就近务工。同时建立秸秆收储点 4 个，实现秸秆变废为宝。\n"
    "（关店乡人民政府 陈晓）\n"
    "息县项店镇开展冬季消防安全检查 镇应急办联合派出所对辖区 12 家企业、8 个人员密集场所"
    "逐一检查，排查整改隐患 19 处，发放宣传资料 1500 余份。（项店镇人民政府 刘洋）"
)


def test_wrapped_text_is_rejoined_into_paragraphs():
    assert normalise_text(WRAPPED) == WRAPPED_CLEAN


def test_same_text_with_cr_only_line_ends():
    assert normalise_text(WRAPPED.replace("\r\n", "\r")) == WRAPPED_CLEAN


def test_normalise_is_idempotent():
    assert normalise_text(WRAPPED_CLEAN) == WRAPPED_CLEAN
    assert normalise_text(normalise_text(WRAPPED)) == WRAPPED_CLEAN


def test_indented_lines_start_paragraphs_in_wrapped_text():
    raw = (
        "\u3000\u3000今年以来，息县路口乡把发展庭院经济作为增收的抓\n"
        "手，引导群众在房前屋后种植果蔬，全乡已发展庭院\n"
        "经济示范户 210 户，户均年增收 3000 余元，效果很好。\n"
        "\u3000\u3000下一步，该乡将继续完善技术指导和销售渠道，推\n"
        "动庭院经济提质扩面，让更多群众在家门口增收致富。\n"
    )
    assert normalise_text(raw).split("\n") == [
        "今年以来，息县路口乡把发展庭院经济作为增收的抓手，引导群众在房前屋后种植果蔬，"
        "全乡已发展庭院经济示范户 210 户，户均年增收 3000 余元，效果很好。",
        "下一步，该乡将继续完善技术指导和销售渠道，推动庭院经济提质扩面，"
        "让更多群众在家门口增收致富。",
    ]


def test_blank_lines_that_separate_paragraphs_are_kept_as_breaks():
    raw = (
        "息县杨店乡组织开展农村道路隐患排查行动，共排查\n"
        "乡村道路 46 条，发现并整改隐患点 17 处，设置警\n"
        "示标志 60 余块，群众出行安全得到有效保障，获好评\n"
        "\n"
        "同时，该乡组织交通劝导员在集镇路口开展文明出\n"
        "行宣传，发放宣传页 2000 余份，劝导群众规范出行\n"
    )
    assert normalise_text(raw).split("\n") == [
        "息县杨店乡组织开展农村道路隐患排查行动，共排查乡村道路 46 条，发现并整改隐患点 17 处，"
        "设置警示标志 60 余块，群众出行安全得到有效保障，获好评",
        "同时，该乡组织交通劝导员在集镇路口开展文明出行宣传，发放宣传页 2000 余份，"
        "劝导群众规范出行",
    ]


def test_paragraph_per_line_text_is_kept_as_is():
    raw = (
        "息县八里岔乡举办电商培训班\n\n"
        "本报讯(通讯员 孙丽)近日，息县八里岔乡举办农村电商培训班，120 名群众参加培训。\n\n"
        "培训围绕直播带货、网店运营等内容展开。"
    )
    assert normalise_text(raw).split("\n") == [
        "息县八里岔乡举办电商培训班",
        "本报讯(通讯员 孙丽)近日，息县八里岔乡举办农村电商培训班，120 名群众参加培训。",
        "培训围绕直播带货、网店运营等内容展开。",
    ]


@pytest.mark.parametrize(
    "marker", ["- 3 -", "—3—", "3", "第3页", "第 3 页 共 8 页", "3/8", "Page 3"]
)
def test_page_number_lines_are_dropped(marker):
    raw = f"息县城郊乡新建村级卫生室 6 个。\n{marker}\n完善村医队伍建设。"
    assert normalise_text(raw) == "息县城郊乡新建村级卫生室 6 个。\n完善村医队伍建设。"


def test_running_page_headers_are_dropped():
    raw = (
        "息县工作简报 第5期\n"
        "息县东岳镇推进小麦良种繁育 今年全镇建设良种繁育基\n"
        "地 2 万亩，与种业公司签订回收协议，带动种植户\n"
        "息县工作简报 第5期\n"
        "增收 600 余万元，良种覆盖率明显提升，农民得实惠。\n"
        "（东岳镇人民政府 张强）\n"
    )
    assert normalise_text(raw).split("\n") == [
        "息县工作简报 第5期",
        "息县东岳镇推进小麦良种繁育 今年全镇建设良种繁育基地 2 万亩，与种业公司签订回收协议，"
        "带动种植户增收 600 余万元，良种覆盖率明显提升，农民得实惠。",
        "（东岳镇人民政府 张强）",
    ]


def test_page_break_with_blank_lines_inside_a_paragraph():
    raw = (
        "息县长陵乡建成村级养老服务站 全乡已建成养老服务\n"
        "站 9 个，配备护理员 27 名，为 400 余名老人提供助餐\n"
        "\n"
        "- 4 -\n"
        "\n"
        "服务和日间照料服务，让老人在家门口安享晚年生活。\n"
        "\n"
        "下一步，该乡将把养老服务站与村卫生室结合起来，提\n"
        "升医养结合水平，进一步增强群众的获得感和幸福感。\n"
    )
    assert normalise_text(raw).split("\n") == [
        "息县长陵乡建成村级养老服务站 全乡已建成养老服务站 9 个，配备护理员 27 名，"
        "为 400 余名老人提供助餐服务和日间照料服务，让老人在家门口安享晚年生活。",
        "下一步，该乡将把养老服务站与村卫生室结合起来，提升医养结合水平，"
        "进一步增强群众的获得感和幸福感。",
    ]


def test_character_cleanup_keeps_chinese_punctuation():
    raw = "投资\u3000１３．５亿元，建成ＡＢ区（一期）；\u00a0\u00a0共“３”栋\u200d。\u00ad"
    assert normalise_text(raw) == "投资 13.5亿元，建成AB区（一期）； 共“3”栋。"


def test_empty_and_blank_input():
    assert normalise_text("") == ""
    assert normalise_text("\n \u3000\n\u200b\n") == ""


def test_sample_becomes_eleven_paragraphs(sample_text):
    lines = normalise_text(sample_text).split("\n")
    assert len(lines) == 11
    assert lines[0].startswith("息县春节招工不“打烊” 围绕县域重点企业春节用工需求，召开")
    assert lines[0].endswith("就业岗位 10000 余个。 （县人社局 张继铭）")
    assert lines[1].startswith("息县招商工作迎来开门红 树牢")
    assert lines[2] == "（县招商服务中心 罗文众）"
    assert "最大限度降低企业用电成本，确保企业" in lines[5]  # page-break space repaired
    assert "返聘就业" in lines[9] and " 返聘" not in lines[9]
    assert lines[10] == "（白土店乡人民政府 周京京）"
    assert all(line == line.strip() and line for line in lines)


# --- masthead ------------------------------------------------------------------------------

MASTHEAD = (
    "息县工作简报\n"
    "第5期\n"
    "中共息县县委办公室编          2024年2月5日\n"
    "息县春节招工不停歇 县人社局组织专场招聘会 8 场。（县人社局 王强）"
)


def test_masthead_is_parsed():
    text = normalise_text(MASTHEAD)
    assert parse_header(text) == BulletinHeader(
        title="息县工作简报",
        issue="第5期",
        date="2024-02-05",
        publisher="中共息县县委办公室",
        date_source="masthead",
    )
    assert text[masthead_end(text) :].startswith("息县春节招工不停歇")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "政务信息\n2024年第3期\n二〇二四年二月五日\n正文第一段内容较长，写了很多工作情况。",
            BulletinHeader("政务信息", "2024年第3期", "2024-02-05"),
        ),
        (
            "息县工作动态（第十二期）\n县政府办公室 2024-02-05\n正文。",
            BulletinHeader("息县工作动态", "第12期", "2024-02-05", publisher="县政府办公室"),
        ),
        (
            "政务信息（增刊）\n2024年2月5日\n正文。",
            BulletinHeader("政务信息（增刊）", None, "2024-02-05"),
        ),
        (
            "工作简报\n二〇二三年第二十一期\n二〇二三年十二月二十五日\n正文。",
            BulletinHeader("工作简报", "2023年第21期", "2023-12-25"),
        ),
        (
            "内部资料 注意保存\n息县工作简报\n第 7 期（总第 212 期）\n2024.3.8\n正文。",
            BulletinHeader("息县工作简报", "第7期", "2024-03-08", issue_total="总第212期"),
        ),
    ],
)
def test_masthead_variants(raw, expected):
    expected.date_source = "masthead" if expected.date else None  # where the date came from
    assert parse_header(normalise_text(raw)) == expected


def test_no_masthead_gives_empty_header(sample_text):
    text = normalise_text(sample_text)
    assert parse_header(text) == BulletinHeader()
    assert masthead_end(text) == 0


def test_dates_in_the_body_are_not_the_bulletin_date():
    text = "息县召开会议 2024年2月5日，县里召开专题会议，部署春季生产工作。"
    assert parse_header(text) == BulletinHeader()


def test_headline_containing_a_title_word_is_not_a_masthead():
    text = "息县通讯员培训班开班\n全县 60 名通讯员参加培训。"
    assert masthead_end(text) == 0
    assert parse_header(text) == BulletinHeader()


def test_impossible_date_is_ignored():
    assert parse_header("息县工作简报\n2024年2月30日\n正文。").date is None


def test_table_of_contents_is_masthead():
    raw = (
        "息县工作简报\n第2期\n目录\n1. 息县召开招商大会\n2. 白土店乡发展玉米产业\n"
        "息县召开招商大会 会议总结了去年工作，部署今年任务。（县招商服务中心 李华）"
    )
    text = normalise_text(raw)
    assert text[masthead_end(text) :].startswith("息县召开招商大会 会议总结")


@pytest.mark.parametrize(
    ("s", "n"), [("5", 5), ("十二", 12), ("二十一", 21), ("一百零五", 105), ("二〇二四", 2024)]
)
def test_cn_number(s, n):
    assert cn_number(s) == n
    assert cn_number("第五") is None
