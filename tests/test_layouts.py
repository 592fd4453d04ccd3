"""Bulletins in every common layout: items, units, townships, furniture and warnings.

The bulletins are composed by ``tests/bulletin_layouts.py`` from labelled items (the sample's and
invented ones) as .txt, as real .docx files (python-docx, Word heading styles and bold runs) and
as PDFs with a real, wrapped text layer (fpdf2).
"""

from __future__ import annotations

import io
import json
import random
import warnings

import bulletin_layouts as bl
import pytest

from geo.credits import credit_line
from geo.furniture import editor_note, find_furniture, section_name
from geo.gazetteer import township_key
from geo.io.bulletin_files import read_bulletin
from geo.items import split_bulletin, split_items
from geo.layout import unglue
from geo.lines import Para, head_candidates, is_title, numbering
from geo.markup import bold_mark, heading_mark, read_marks, unmark
from geo.normalise import normalise_text
from geo.pipeline import parse_text


def _parsed(fixture: bl.Fixture, fmt: str):
    if fmt == "docx":
        raw = read_bulletin(bl.make_docx(fixture), f"{fixture.name}.docx")
    elif fmt == "pdf":
        font = bl.cjk_font()
        assert font is not None, "fonts-noto-cjk is needed (bash tools/setup_tests.sh)"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = read_bulletin(bl.make_pdf(fixture, font), f"{fixture.name}.pdf")
    else:
        raw = fixture.text
    return parse_text(raw, county="息县", source_name=fixture.name)


def _fields(bulletin) -> list[dict]:
    return [
        {"headline": it.headline, "unit": it.unit, "township": it.place.township}
        for it in bulletin.items
    ]


def _check(fixture: bl.Fixture, bulletin) -> None:
    assert _fields(bulletin) == fixture.expected
    layout = bulletin.layout
    assert (layout.heads, layout.numbering) == (fixture.heads, fixture.numbering)
    if fixture.units:
        assert layout.units == fixture.units
    assert sorted({w.code for w in bulletin.warnings}) == sorted(set(fixture.warnings))
    assert layout.decided == ("text_before_first_head" not in fixture.warnings)
    for key, value in fixture.header.items():
        assert getattr(bulletin.header, key) == value, key
    furniture = bulletin.furniture
    assert len(furniture.toc) == fixture.toc
    assert bool(furniture.distribution or furniture.copies) == fixture.tail
    assert len(furniture.editor_notes) == fixture.notes
    # items never hold furniture, and their spans are in order inside the text
    spans = [(it.start, it.end) for it in bulletin.items]
    assert spans == sorted(spans)
    for start, end, _kind in furniture.spans:
        assert not any(s < end and start < e for s, e in spans)
    for it in bulletin.items:
        assert "共印" not in it.body and "责任编辑" not in it.body and "编者按" not in it.body
        assert not it.body.startswith(("#", "**"))


@pytest.mark.parametrize("make", bl.TEXT_FIXTURES, ids=lambda f: f.__name__)
def test_text_bulletins_split_by_their_layout(make):
    fixture = make()
    _check(fixture, _parsed(fixture, "txt"))


@pytest.mark.parametrize("make", bl.DOCX_FIXTURES, ids=lambda f: f.__name__)
def test_word_bulletins_split_by_heading_styles_and_bold(make):
    fixture = make()
    _check(fixture, _parsed(fixture, "docx"))


@pytest.mark.parametrize("make", [bl.numbered_cn, bl.lines_paren])
def test_pdf_bulletins_with_wrapped_lines(make):
    fixture = make()
    _check(fixture, _parsed(fixture, "pdf"))


def test_every_layout_meets_the_targets():
    """Right item count everywhere; headline, unit and township right on >= 95 % of fields."""
    right = total = 0
    for make, fmt in [(m, "txt") for m in bl.TEXT_FIXTURES] + [
        (m, "docx") for m in bl.DOCX_FIXTURES
    ]:
        fixture = make()
        got = _fields(_parsed(fixture, fmt))
        assert len(got) == len(fixture.expected), fixture.name
        for g, e in zip(got, fixture.expected, strict=True):
            right += sum(g[k] == e[k] for k in e)
            total += len(e)
    assert right / total >= 0.95


def test_text_fixture_files_are_in_step(tmp_path):
    """tests/fixtures/bulletins/*.txt are what tests/bulletin_layouts.py composes."""
    for make in bl.TEXT_FIXTURES:
        fixture = make()
        path = bl.FIXTURES / f"{fixture.name}.txt"
        assert path.read_text(encoding="utf-8") == fixture.text, (
            f"{path.name} is stale: run python tests/bulletin_layouts.py"
        )


def test_sample_keeps_its_split_and_raises_no_warning(sample_text):
    split = split_bulletin(normalise_text(sample_text))
    assert len(split.items) == 6
    assert (split.layout.heads, split.layout.units, split.layout.decided) == (
        "lines",
        "paren",
        True,
    )
    assert split.warnings == []


# --- marks from Word files ------------------------------------------------------------------


def test_marks_read_and_removed():
    assert heading_mark(" 息县孙庙乡稻虾共作 ", 2) == "## 息县孙庙乡稻虾共作"
    assert bold_mark("白土店乡：", "近日，该乡…") == "**白土店乡：**近日，该乡…"
    marked = read_marks("## **一、息县召开会议**")
    assert (marked.heading, marked.text, marked.all_bold) == (2, "一、息县召开会议", True)
    assert read_marks("**白土店乡：**近日，该乡…").bold == "白土店乡："
    assert unmark("#没有空格不是标题") == "#没有空格不是标题"
    assert unmark("普通段落") == "普通段落"


def test_docx_reader_writes_heading_outline_and_bold_marks():
    docx = pytest.importorskip("docx")
    fixture = bl.Fixture(
        "marks",
        "",
        [
            ("title", "息县工作简报"),
            ("h2", "息县孙庙乡稻虾共作促农增收"),
            ("outline:1", "大纲级别标题"),
            ("bold", "整段加粗"),
            ("bold:5", "白土店乡：近日，该乡开展活动。"),
            ("p", "普通正文。"),
        ],
        [],
        "",
    )
    document = docx.Document(io.BytesIO(bl.make_docx(fixture)))
    table = document.add_table(rows=1, cols=1)
    table.cell(0, 0).paragraphs[0].add_run("加粗表头").bold = True
    buf = io.BytesIO()
    document.save(buf)
    assert read_bulletin(buf.getvalue(), "m.docx").split("\n") == [
        "# 息县工作简报",
        "## 息县孙庙乡稻虾共作促农增收",
        "# 大纲级别标题",
        "**整段加粗**",
        "**白土店乡：**近日，该乡开展活动。",
        "普通正文。",
        "加粗表头",  # table cells carry no marks
    ]


# --- one paragraph at a time ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("一、息县召开会议", ("一、", 1)),
        ("十二、息县召开会议", ("一、", 12)),
        ("（三）息县召开会议", ("（一）", 3)),
        ("2.息县召开会议", ("1.", 2)),
        ("2．息县召开会议", ("1.", 2)),
        ("3、息县召开会议", ("1、", 3)),
        ("（4）息县召开会议", ("（1）", 4)),
        ("第二、息县召开会议", ("第一", 2)),
        ("③息县召开会议", ("①", 3)),
        ("1.5万亩小麦长势良好", None),
        ("第一书记张三带领群众", None),
        ("2024年3月5日，县里召开会议", None),
    ],
)
def test_numbering_styles(line, expected):
    found = numbering(line)
    assert (found[:2] if found else None) == expected


@pytest.mark.parametrize(
    ("line", "kind", "headline", "rest"),
    [
        ("一、息县召开会议", "numbered", "息县召开会议", ""),
        (
            "（二）息县召开会议。3月5日，县里召开会议。",
            "numbered",
            "息县召开会议",
            "3月5日，县里召开会议。",
        ),
        ("一、商城县:茶乡如画卷。碧水润茶乡", "numbered", "商城县:茶乡如画卷", "碧水润茶乡"),
        ("【息县召开会议】", "bracket", "息县召开会议", ""),
        (
            "〖息县召开会议〗3月5日，县里召开会议。",
            "bracket",
            "息县召开会议",
            "3月5日，县里召开会议。",
        ),
        (
            "白土店乡：近日，该乡组织开展秋收秋种。",
            "colon",
            "白土店乡",
            "近日，该乡组织开展秋收秋种。",
        ),
        ("白土店乡：本报讯(记者 周强)", "colon", "白土店乡", "本报讯(记者 周强)"),
        ("## 息县召开会议", "heading", "息县召开会议", ""),
        ("**息县召开会议**", "bold", "息县召开会议", ""),
    ],
)
def test_head_candidates(line, kind, headline, rest):
    head = head_candidates(line)[kind]
    assert (head.headline, head.rest) == (headline, rest)


@pytest.mark.parametrize(
    "line",
    [
        "王永喜介绍说：“秸秆中含有丰富的氮、磷、钾等微量元素。”",
        "据了解：该项目总投资5亿元，年底建成。",
        "其中：签约项目4个，总投资25亿元。",
        "供稿：县农业农村局",
        "【链接】稻虾共作是一种生态种养模式，效益较好。",
        "汝南县板店乡:秸秆焚烧危害大 粉碎还田助丰收",
    ],
)
def test_lines_that_are_not_item_heads(line):
    found = head_candidates(line)
    assert "colon" not in found and "bracket" not in found


@pytest.mark.parametrize(
    ("line", "unit", "authors"),
    [
        ("供稿：县农业农村局", "县农业农村局", []),
        ("（报送单位：白土店乡人民政府）", "白土店乡人民政府", []),
        ("供稿：县人社局  撰稿：张继铭  审核：王五", "县人社局", ["张继铭"]),
        ("撰稿：张 三", None, ["张三"]),
        ("来源：河南日报", "河南日报", []),
        ("审核：李四", None, []),
    ],
)
def test_labelled_credit_lines(line, unit, authors):
    found = credit_line(line)
    assert (found.unit, found.authors) == (unit, authors)


@pytest.mark.parametrize(
    "line",
    ["来源:驻马店广视网|点击量:10万+", "来源：县人社局 2024-03-05", "供稿：县里召开会议。", "作者"],
)
def test_lines_that_are_not_credit_lines(line):
    assert credit_line(line) is None


def test_title_test_rejects_credits_and_subpoints():
    assert is_title("息县孙庙乡稻虾共作促农增收")
    assert not is_title("马 童 摄（县人社局供稿）")
    assert not is_title("一是强化技术指导")


# --- furniture ------------------------------------------------------------------------------


def test_furniture_blocks_are_found_and_read():
    text = normalise_text(bl.lines_paren().text)
    found = find_furniture(text)
    kinds = [k for _, _, k in found.spans]
    assert kinds == ["masthead", "editor_note", "tail"]
    assert found.editor_notes[0].startswith("春节前后是返乡人员集中的时期")
    assert found.distribution[0] == "报：市委办公室，市政府办公室" and len(found.distribution) == 3
    assert found.copies == 60
    assert found.people == {"责任编辑": "王芳", "签发": "李强"}


def test_toc_stops_where_the_first_head_repeats_an_entry():
    text = normalise_text(bl.numbered_cn().text)
    found = find_furniture(text)
    assert found.toc[0] == "息县孙庙乡稻虾共作促农增收" and len(found.toc) == 5
    toc_end = next(end for _, end, kind in found.spans if kind == "toc")
    assert text[toc_end + 1 :].startswith("一、息县孙庙乡稻虾共作促农增收\n今年以来")


def test_columns_and_editor_notes():
    assert section_name("【乡镇动态】") == "乡镇动态"
    assert section_name("◆ 部门动态 ◆") == "部门动态"
    assert section_name("二、工作动态") == "工作动态"
    assert section_name("息县孙庙乡稻虾共作促农增收") is None
    assert editor_note("【编者按】今年以来，各地积极行动。") == "今年以来，各地积极行动。"
    assert editor_note("编者按") == ""
    assert editor_note("按照要求，全县开展检查。") is None


def test_credit_lines_at_the_end_stay_with_the_last_item():
    """审核：… after the last item is its credit, not the bulletin's footer."""
    text = (
        "【息县召开会议】\n县里召开会议，部署工作。\n供稿：县委办\n审核：李四\n"
        "【息县开展检查】\n全县开展检查。\n供稿：县应急局\n审核：王五"
    )
    split = split_bulletin(text)
    assert not split.furniture.spans
    assert split.items[-1].end == len(text) and split.items[-1].unit == "县应急局"


# --- whole-text decisions --------------------------------------------------------------------


def test_byline_inside_a_numbered_item_never_starts_an_item():
    text = (
        "一、项店镇举办招聘会\n"
        "信阳网讯(记者 王明 通讯员 李芳)2月20日，项店镇举办招聘会，42家企业参加。\n"
        "映象网讯(大象新闻记者 吴凡)现场达成就业意向230人。\n"
        "二、夏庄镇项目开工\n"
        "3月1日，夏庄镇3个项目集中开工。"
    )
    items = split_items(text)
    assert [it.headline for it in items] == ["项店镇举办招聘会", "夏庄镇项目开工"]
    assert items[0].body.endswith("现场达成就业意向230人。")  # still the first item's text
    assert items[0].authors == ["王明", "李芳"]


def test_numbered_sub_points_inside_items_are_not_heads():
    split = split_bulletin(normalise_text(bl.numbered_cn().text))
    assert len(split.items) == 5
    assert "（二）整治沟渠30条" in split.items[3].body
    assert "二是抓好病虫防控" in split.items[2].body


def test_a_repeated_number_is_reported():
    text = (
        "（一）息县召开会议。县里召开会议。\n（二）息县开展检查。全县开展检查。\n"
        "（二）息县举办培训。全县举办培训。\n（三）息县表彰先进。全县表彰先进。"
    )
    split = split_bulletin(text)
    assert "numbering_repeated" in {w.code for w in split.warnings}
    assert len(split.items) == 3


def test_glued_heads_and_credit_lines_are_cut_apart():
    paras = [Para(0, 30, "全县开展检查。供稿：县应急局"), Para(31, 40, "二、息县召开会议")]
    assert [p.text for p in unglue(paras, "供稿：")] == [
        "全县开展检查。",
        "供稿：县应急局",
        "二、息县召开会议",
    ]
    text = (
        "一、息县召开会议\n县里召开会议。二、息县开展检查\n"
        "全县开展检查。\n三、息县举办培训\n全县举办培训。"
    )
    items = split_items(text)
    assert [it.headline for it in items] == ["息县召开会议", "息县开展检查", "息县举办培训"]


def test_warnings_name_their_items():
    fixture = bl.broken_supply_missing()
    split = split_bulletin(normalise_text(fixture.text))
    (warning,) = split.warnings
    assert warning.item == 2 and "第3条" in warning.message and "岗李店乡" in warning.message
    assert split.items[2].start <= warning.offset <= split.items[2].end


def test_json_of_parse_carries_layout_and_warnings():
    bulletin = parse_text(bl.broken_number_skipped().text, county="息县")
    data = json.loads(json.dumps(bulletin.to_dict(), ensure_ascii=False))
    assert data["layout"] == {
        "heads": "numbered",
        "numbering": "一、",
        "units": "supplied",
        "decided": True,
    }
    assert (
        data["warnings"][0]["code"] == "numbering_skipped"
        and "三、" in data["warnings"][0]["message"]
    )
    assert [it["start"] < it["end"] for it in data["items"]] == [True] * 4


# --- real items (dev set, read from ../shared, never copied here) ---------------------------


def _dev_items(dev_items):
    out = []
    for d in dev_items:
        lines = [x.strip() for x in d["text"].split("\n") if x.strip()]
        if is_title(lines[0]) and len(lines) > 2 and is_title(lines[1]) and len(lines[0]) <= 8:
            headline, body = f"{lines[0]} {lines[1]}", lines[2:]
        elif is_title(lines[0]) and len(lines) > 1:
            headline, body = lines[0], lines[1:]
        else:
            headline, body = d["county"] + (d["township"] or "") + "扎实推进重点工作", lines
        unit = f"{d['township']}人民政府" if d["township"] else f"{d['county']}政府办公室"
        out.append({**d, "headline": headline, "body": body, "unit": unit})
    return out


_REAL_HEADS = {
    "一、": lambda n, h: f"{'一二三四五六'[n - 1]}、{h}",
    "【】": lambda n, h: f"【{h}】",
    "lines": lambda n, h: h,
}
_REAL_UNITS = {
    "paren": lambda it, body: [*body, f"（{it['unit']} 张三）"],
    "supplied": lambda it, body: [*body[:-1], f"{body[-1]}（{it['unit']}供稿）"],
    "line": lambda it, body: [*body, f"供稿：{it['unit']}", "审核：李四"],
}


def test_real_items_in_every_layout(dev_items):
    """Real items (datelines, bylines, quotations, web furniture, photo credits inside them)
    laid out as county offices do: every bulletin splits right, >= 95 % of fields right."""
    items = _dev_items(dev_items)
    rng = random.Random(13)
    right = total = 0
    for heads, head in _REAL_HEADS.items():
        for units, close in _REAL_UNITS.items():
            for county in ("息县", "光山县", "商城县"):
                pool = [it for it in items if it["county"] == county]
                chosen = rng.sample(pool, min(5, len(pool)))
                lines = [t for _, t in bl.MASTHEAD]
                if heads == "一、":  # many short lines must not read as a hard-wrapped page
                    lines += ["本期要目"] + [
                        head(n, it["headline"]) for n, it in enumerate(chosen, 1)
                    ]
                for n, it in enumerate(chosen, start=1):
                    lines += [head(n, it["headline"]), *close(it, it["body"])]
                lines += [t for _, t in bl.TAIL]
                bulletin = parse_text("\n".join(lines), county=county)
                assert len(bulletin.items) == len(chosen), (heads, units, county)
                for got, it in zip(bulletin.items, chosen, strict=True):
                    town = got.place.township
                    right += got.headline == it["headline"]
                    right += got.unit == it["unit"]
                    right += (
                        town
                        and it["township"]
                        and township_key(town) == township_key(it["township"])
                    ) or town == it["township"]
                    total += 3
    assert right / total >= 0.95


def test_columns_named_by_topic_are_found_from_the_numbering():
    split = split_bulletin(normalise_text(bl.topic_columns().text))
    assert split.furniture.sections == ["乡村振兴", "项目建设"]
    assert [k for _, _, k in split.furniture.spans] == ["section", "section"]
    assert split.warnings == [] and len(split.items) == 4
