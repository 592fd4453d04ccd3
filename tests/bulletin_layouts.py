"""Test bulletins in every common layout, composed from the labelled items of
``tests/fixtures/bulletins/items.json`` (the sample's six items and invented ones).

Each :class:`Fixture` says which layout it shows, holds its paragraphs with the Word style each
would have in a .docx, and the labels a right split must give (headline, reporting unit,
township per item; the layout; the warnings a broken bulletin must raise). The .txt fixtures
are also written to ``tests/fixtures/bulletins/`` (``python tests/bulletin_layouts.py``) so
people can read them and run ``python -m geo parse`` on them; a test keeps those files in step.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bulletins"
ITEMS = {d["key"]: d for d in json.loads((FIXTURES / "items.json").read_text("utf-8"))["items"]}
CN = "零一二三四五六七八九十"
OUTLET = "息县融媒体中心"

MASTHEAD = [
    ("title", "息县工作简报"),
    ("p", "第5期（总第212期）"),
    ("p", "中共息县县委办公室编          2024年3月8日"),
]
MASTHEAD_HEADER = {
    "title": "息县工作简报",
    "issue": "第5期",
    "issue_total": "总第212期",
    "publisher": "中共息县县委办公室",
    "date": "2024-03-08",
}
TAIL = [
    ("p", "报：市委办公室，市政府办公室"),
    ("p", "送：县委、县人大、县政府、县政协领导"),
    ("p", "发：各乡镇党委、政府，县直各单位"),
    ("p", "责任编辑：王芳    签发：李强"),
    ("p", "（共印60份）"),
]
NOTE = (
    "p",
    "编者按：春节前后是返乡人员集中的时期，各地各部门抓住时机稳就业、抓招商、优服务。现将有关做法摘编如下，供参考。",
)


@dataclass
class Fixture:
    """One test bulletin.

    ``blocks`` are ``(style, text)``: style ``p`` (body), ``title`` (Word Title), ``h1``/``h2``
    (Word Heading 1/2), ``bold`` (a wholly bold paragraph), ``bold:N`` (the first N characters
    bold), ``outline:N`` (a paragraph with outline level N, as WPS writes headings).
    """

    name: str
    shows: str
    blocks: list[tuple[str, str]]
    expected: list[dict]
    heads: str
    numbering: str | None = None
    units: str | None = None
    warnings: tuple[str, ...] = ()
    header: dict = field(default_factory=dict)
    toc: int = 0
    tail: bool = False
    notes: int = 0

    @property
    def text(self) -> str:
        """The bulletin as a .txt file would hold it (no Word styles)."""
        return "\n".join(t for _, t in self.blocks) + "\n"


def _num(style: str, n: int) -> str:
    cn = CN[n] if n <= 10 else "十" + CN[n - 10]
    return {
        "一、": f"{cn}、",
        "（一）": f"（{cn}）",
        "1.": f"{n}.",
        "1、": f"{n}、",
        "第一": f"第{cn}、",
    }[style]


def _credit(item: dict, units: str) -> list[tuple[str, str]]:
    authors = " ".join(item["authors"])
    return {
        "paren": [("p", f"（{item['unit']} {authors}）")],
        "line": [("p", f"供稿：{item['unit']}")],
        "line_review": [("p", f"供稿：{item['unit']}  撰稿：{authors}"), ("p", "审核：张涛")],
        "report": [("p", f"报送：{item['unit']}"), ("p", "审核：张涛")],
        "none": [],
    }.get(units, [])


def _body(item: dict, units: str) -> list[str]:
    body = list(item["body"])
    if units == "supplied":
        body[-1] += f"（{item['unit']}供稿）"
    if units == "dateline":
        body[0] = f"{OUTLET}讯(记者 {' '.join(item['authors'])}){body[0]}"
    return body


def _expect(item: dict, units: str, headline: str | None = None) -> dict:
    unit = OUTLET if units == "dateline" else (None if units == "none" else item["unit"])
    return {"headline": headline or item["headline"], "unit": unit, "township": item["township"]}


def _compose(
    keys: list[str], head, units: str, *, inline: bool = False, head_style: str = "p"
) -> tuple[list[tuple[str, str]], list[dict]]:
    """Blocks and labels of items ``keys``; ``head(n, headline)`` writes the n-th head."""
    blocks: list[tuple[str, str]] = []
    expected = []
    for n, key in enumerate(keys, start=1):
        item = ITEMS[key]
        body = _body(item, units)
        if inline:
            blocks.append(("p", head(n, item["headline"]) + body[0]))
            blocks.extend(("p", b) for b in body[1:])
        else:
            blocks.append((head_style, head(n, item["headline"])))
            blocks.extend(("p", b) for b in body)
        blocks.extend(_credit(item, units))
        expected.append(_expect(item, units))
    return blocks, expected


def _toc(keys: list[str], style: str | None) -> list[tuple[str, str]]:
    entries = [
        (_num(style, n) if style else "") + ITEMS[k]["headline"] for n, k in enumerate(keys, 1)
    ]
    return [("p", "本期要目")] + [("p", e) for e in entries]


# --- layouts -------------------------------------------------------------------------------------


def lines_paren() -> Fixture:
    keys = ["sunmiao-daoxia", "xiangdian-zhaopin", "xiazhuang-kaigong", "qiaolou-yeshi"]
    keys.append("county-xiaomai")
    blocks, expected = _compose(keys, lambda n, h: h, "paren")
    return Fixture(
        "lines_paren",
        "标题行单独一行，文末（单位 作者）署名；报头、编者按、文尾报送块。"
        "Headline lines as in the sample (own line), trailing (unit author); masthead, editor's "
        "note, footer. A news dateline with a byline sits inside the second item.",
        [*MASTHEAD, NOTE, *blocks, *TAIL],
        expected,
        "lines",
        units="paren",
        header=MASTHEAD_HEADER,
        tail=True,
        notes=1,
    )


def numbered_cn() -> Fixture:
    keys = ["sunmiao-daoxia", "xiangdian-zhaopin", "county-xiaomai", "caohuanglin-nongtian"]
    keys.append("changling-chuangye")
    blocks, expected = _compose(keys, lambda n, h: _num("一、", n) + h, "supplied")
    return Fixture(
        "numbered_cn",
        "一、二、三…编号标题单独一行，文末（单位供稿）；带编号目录。Numbered heads 一、 on their "
        "own line, trailing (unit 供稿); numbered table of contents; bylines, 一是… and （一）… "
        "sub-points inside items.",
        MASTHEAD + _toc(keys, "一、") + blocks + TAIL,
        expected,
        "numbered",
        "一、",
        "supplied",
        header=MASTHEAD_HEADER,
        toc=len(keys),
        tail=True,
    )


def numbered_paren_inline() -> Fixture:
    keys = ["sample-zhaogong", "sample-zhaoshang", "sample-bianmin", "sample-yongdian"]
    keys.append("lukou-jinglaoyuan")
    blocks, expected = _compose(
        keys, lambda n, h: f"{_num('（一）', n)}{h}。", "paren", inline=True
    )
    return Fixture(
        "numbered_paren_inline",
        "（一）（二）…编号，标题为段首第一句（以句号结束），正文接排；（单位 作者）另起一行。"
        "Numbered heads （一） as the first sentence of a paragraph; (unit author) lines.",
        blocks,
        expected,
        "numbered",
        "（一）",
        "paren",
    )


def numbered_arabic() -> Fixture:
    keys = ["lukou-jinglaoyuan", "gangli-renju", "baoxin-dianwang", "linhe-fangxun"]
    blocks, expected = _compose(keys, lambda n, h: _num("1.", n) + h, "line_review")
    masthead = [
        ("p", "内部资料 注意保存"),
        ("p", "息县政务信息"),
        ("p", "2024年第7期"),
        ("p", "息县人民政府办公室          2024年4月2日"),
    ]
    return Fixture(
        "numbered_arabic",
        "1. 2. 3.编号标题单独一行，文末“供稿：单位 撰稿：作者”和“审核：”两行。Numbered heads 1. "
        "on their own line; 供稿/撰稿 and 审核 lines close each item.",
        masthead + blocks,
        expected,
        "numbered",
        "1.",
        "line",
        header={
            "title": "息县政务信息",
            "issue": "2024年第7期",
            "date": "2024-04-02",
            "publisher": "息县人民政府办公室",
        },
    )


def numbered_dateline() -> Fixture:
    keys = ["xiazhuang-kaigong", "chenpeng-chuangye", "sunmiao-daoxia", "gangli-renju"]
    blocks, expected = _compose(keys, lambda n, h: _num("1、", n) + h, "dateline")
    return Fixture(
        "numbered_dateline",
        "1、2、编号标题单独一行，单位在正文开头的“××讯(记者 …)”中。Numbered heads 1、; units "
        "given by a leading dateline 息县融媒体中心讯(记者 …).",
        blocks,
        expected,
        "numbered",
        "1、",
        "dateline",
    )


def numbered_di() -> Fixture:
    keys = ["linhe-fangxun", "chenpeng-chuangye", "baoxin-dianwang"]
    blocks, expected = _compose(keys, lambda n, h: _num("第一", n) + h, "paren")
    return Fixture(
        "numbered_di",
        "第一、第二、编号标题单独一行，（单位 作者）另起一行。Heads numbered 第一、第二、.",
        blocks,
        expected,
        "numbered",
        "第一",
        "paren",
    )


def bracket_supply_line() -> Fixture:
    keys = ["xiangdian-zhaopin", "xiazhuang-kaigong", "changling-chuangye", "gangli-renju"]
    keys.append("baoxin-dianwang")
    blocks, expected = _compose(keys, lambda n, h: f"【{h}】", "line")
    return Fixture(
        "bracket_supply_line",
        "【】标题单独一行，每条以“供稿：单位”一行结束；编者按、文尾报送块。【】 heads on their "
        "own line, a closing 供稿： line; editor's note and footer.",
        [*MASTHEAD, NOTE, *blocks, *TAIL],
        expected,
        "bracket",
        units="line",
        header=MASTHEAD_HEADER,
        tail=True,
        notes=1,
    )


def bracket_inline_supplied() -> Fixture:
    keys = ["sunmiao-daoxia", "xiangdian-zhaopin", "county-xiaomai", "lukou-jinglaoyuan"]
    keys.append("sample-baitudian")
    blocks, expected = _compose(keys, lambda n, h: f"〖{h}〗", "supplied", inline=True)
    return Fixture(
        "bracket_inline_supplied",
        "〖〗标题与正文接排，文末（单位供稿）；第二条正文里有“信阳网讯(记者…)”。〖〗 heads running "
        "into the body, trailing (unit 供稿); a news byline inside the second item.",
        blocks,
        expected,
        "bracket",
        units="supplied",
    )


_COLON_ITEMS = [
    ("孙庙乡", "sunmiao-daoxia", "孙庙乡"),
    ("项店镇", "xiangdian-zhaopin", "项店镇"),
    ("岗李店乡", "gangli-renju", "岗李店乡"),
    ("县农业农村局", "county-xiaomai", "县农业农村局"),
    ("县供电公司", "baoxin-dianwang", "县供电公司"),
]


def _colon_blocks(style: str = "p") -> tuple[list[tuple[str, str]], list[dict]]:
    blocks: list[tuple[str, str]] = [("p", "乡镇动态")]
    expected = []
    for k, (lead, key, unit) in enumerate(_COLON_ITEMS):
        item = ITEMS[key]
        if k == 3:
            blocks.append(("p", "部门动态"))
        body = [b.replace("信阳网讯(记者 王明 通讯员 李芳)", "") for b in item["body"]]
        blocks.append((f"bold:{len(lead) + 1}" if style == "bold" else "p", f"{lead}：{body[0]}"))
        blocks.extend(("p", b) for b in body[1:])
        expected.append({"headline": lead, "unit": unit, "township": item["township"]})
    return blocks, expected


def colon_lead() -> Fixture:
    blocks, expected = _colon_blocks()
    return Fixture(
        "colon_lead",
        "栏目（乡镇动态、部门动态）下，每条以“单位：”开头（段首冒号标题），无署名。Colon-led heads "
        "(白土店乡：…) under column names; the lead names the reporting unit.",
        MASTHEAD + blocks,
        expected,
        "colon",
        units="none",
        header=MASTHEAD_HEADER,
    )


def toc_report_lines() -> Fixture:
    keys = ["gangli-renju", "baoxin-dianwang", "linhe-fangxun", "chenpeng-chuangye"]
    blocks, expected = _compose(keys, lambda n, h: h, "report")
    return Fixture(
        "toc_report_lines",
        "目录列出各条标题；标题行单独一行，每条以“报送：单位”“审核：”两行结束。A plain table of "
        "contents, headline lines, 报送： and 审核： lines closing each item.",
        MASTHEAD + _toc(keys, None) + blocks + TAIL[:2],
        expected,
        "toc",
        units="line",
        header=MASTHEAD_HEADER,
        toc=len(keys),
        tail=True,
    )


def sections_numbered() -> Fixture:
    first, expected = _compose(
        ["sunmiao-daoxia", "gangli-renju"], lambda n, h: _num("一、", n) + h, "supplied"
    )
    second, more = _compose(
        ["changling-chuangye", "baoxin-dianwang", "county-xiaomai"],
        lambda n, h: _num("一、", n) + h,
        "supplied",
    )
    return Fixture(
        "sections_numbered",
        "两个栏目【乡镇动态】【部门动态】，各自从“一、”编号。Two columns, each numbered from 一、.",
        [*MASTHEAD, ("p", "【乡镇动态】"), *first, ("p", "【部门动态】"), *second, *TAIL],
        expected + more,
        "numbered",
        "一、",
        "supplied",
        header=MASTHEAD_HEADER,
        tail=True,
    )


def topic_columns() -> Fixture:
    first, expected = _compose(
        ["sunmiao-daoxia", "gangli-renju"], lambda n, h: _num("一、", n) + h, "supplied"
    )
    second, more = _compose(
        ["changling-chuangye", "baoxin-dianwang"], lambda n, h: _num("一、", n) + h, "supplied"
    )
    return Fixture(
        "topic_columns",
        "栏目名不在栏目词表里（乡村振兴、项目建设），各栏目从“一、”重新编号。Columns named by "
        "topic, numbering restarting after each: the short line before a restart is a column.",
        [("p", "乡村振兴"), *first, ("p", "项目建设"), *second],
        expected + more,
        "numbered",
        "一、",
        "supplied",
    )


def mixed_units() -> Fixture:
    keys = ["lukou-jinglaoyuan", "gangli-renju", "linhe-fangxun", "chenpeng-chuangye"]
    styles = ["paren", "line", "supplied", "line"]
    blocks: list[tuple[str, str]] = []
    expected = []
    for key, units in zip(keys, styles, strict=True):
        item = ITEMS[key]
        blocks.append(("p", f"【{item['headline']}】"))
        blocks.extend(("p", b) for b in _body(item, units))
        blocks.extend(_credit(item, units))
        expected.append(_expect(item, units))
    return Fixture(
        "mixed_units",
        "【】标题；单位写法混用：（单位 作者）、供稿行、（单位供稿）。"
        "【】 heads, mixed unit styles.",
        blocks,
        expected,
        "bracket",
        units="mixed",
    )


# --- broken bulletins (each must raise its warning) ----------------------------------------------


def broken_number_skipped() -> Fixture:
    keys = ["sunmiao-daoxia", "gangli-renju", "linhe-fangxun", "chenpeng-chuangye"]
    blocks, expected = _compose(
        keys, lambda n, h: _num("一、", n if n < 3 else n + 1) + h, "supplied"
    )
    return Fixture(
        "broken_number_skipped",
        "一、二、四、五：编号缺“三、”。Numbered heads with 三、 skipped: four items and a warning.",
        blocks,
        expected,
        "numbered",
        "一、",
        "supplied",
        warnings=("numbering_skipped",),
    )


def broken_number_restart() -> Fixture:
    first, expected = _compose(
        ["lukou-jinglaoyuan", "gangli-renju", "linhe-fangxun"],
        lambda n, h: _num("一、", n) + h,
        "paren",
    )
    second, more = _compose(
        ["chenpeng-chuangye", "baoxin-dianwang"], lambda n, h: _num("一、", n) + h, "paren"
    )
    return Fixture(
        "broken_number_restart",
        "一、二、三、之后又从一、编号，中间没有栏目名。Numbering starts again at 一、 without a "
        "column line: a new series, with a warning.",
        first + second,
        expected + more,
        "numbered",
        "一、",
        "paren",
        warnings=("numbering_restarted",),
    )


def broken_supply_missing() -> Fixture:
    keys = ["xiazhuang-kaigong", "changling-chuangye", "gangli-renju", "baoxin-dianwang"]
    blocks, expected = _compose(keys, lambda n, h: f"【{h}】", "line")
    blocks.remove(("p", "供稿：岗李店乡人民政府"))
    expected[2]["unit"] = None
    return Fixture(
        "broken_supply_missing",
        "【】标题、供稿行，第三条缺供稿行。"
        "【】 heads with 供稿 lines; the third item lacks its line.",
        blocks,
        expected,
        "bracket",
        units="line",
        warnings=("unit_missing",),
    )


def broken_supply_missing_lines() -> Fixture:
    keys = ["lukou-jinglaoyuan", "gangli-renju", "linhe-fangxun", "chenpeng-chuangye"]
    blocks, expected = _compose(keys, lambda n, h: h, "line")
    blocks.remove(("p", "供稿：临河乡人民政府"))
    expected[2]["unit"] = None
    return Fixture(
        "broken_supply_missing_lines",
        "标题行单独一行、供稿行，第三条缺供稿行。Headline lines with 供稿 lines; one line missing.",
        blocks,
        expected,
        "lines",
        units="line",
        warnings=("unit_missing",),
    )


def broken_paren_missing_inline() -> Fixture:
    keys = ["sample-zhaogong", "sample-zhaoshang", "sample-bianmin", "sample-yihe"]
    blocks, expected = _compose(keys, lambda n, h: h + " ", "paren", inline=True)
    blocks.remove(("p", "（县招商服务中心 罗文众）"))
    expected[1]["unit"] = None
    return Fixture(
        "broken_paren_missing_inline",
        "样稿式“标题 正文（单位 作者）”，第二条缺署名。The sample's form with one credit missing: "
        "cut at the next headline, with warnings.",
        blocks,
        expected,
        "lines",
        units="paren",
        warnings=("cut_uncertain", "unit_missing"),
    )


def broken_toc_count() -> Fixture:
    keys = ["gangli-renju", "baoxin-dianwang", "linhe-fangxun"]
    blocks, expected = _compose(keys, lambda n, h: _num("一、", n) + h, "paren")
    toc = _toc([*keys, "chenpeng-chuangye"], "一、")
    return Fixture(
        "broken_toc_count",
        "目录列了4条，正文只有3条。The table of contents lists four items, the text has three.",
        MASTHEAD + toc + blocks,
        expected,
        "numbered",
        "一、",
        "paren",
        warnings=("toc_count",),
        header=MASTHEAD_HEADER,
        toc=4,
    )


def broken_intro_numbered() -> Fixture:
    keys = ["gangli-renju", "baoxin-dianwang", "linhe-fangxun"]
    blocks, expected = _compose(keys, lambda n, h: _num("一、", n) + h, "paren")
    intro = ("p", "近期各地工作亮点纷呈，以下三条信息值得关注，供领导参阅。")
    return Fixture(
        "broken_intro_numbered",
        "编号标题前多了一段没有标签的导语。An unlabelled intro before numbered heads: it stays an "
        "item of its own and a warning says so.",
        [intro, *blocks],
        [{"headline": "", "unit": None, "township": None}, *expected],
        "numbered",
        "一、",
        "paren",
        warnings=("text_before_first_head",),
    )


# --- Word documents ------------------------------------------------------------------------------


def docx_heading() -> Fixture:
    keys = ["sunmiao-daoxia", "xiangdian-zhaopin", "lukou-jinglaoyuan", "baoxin-dianwang"]
    blocks, expected = _compose(keys, lambda n, h: h, "line_review", head_style="h2")
    return Fixture(
        "docx_heading",
        "Word：标题为“标题 2”样式，报头为“标题”样式，有编者按、目录和文尾报送块。Word Heading 2 "
        "heads, Title masthead, editor's note, table of contents, footer.",
        [*MASTHEAD, NOTE, *_toc(keys, None), *blocks, *TAIL],
        expected,
        "heading",
        units="line",
        header=MASTHEAD_HEADER,
        toc=len(keys),
        tail=True,
        notes=1,
    )


def docx_heading_numbered() -> Fixture:
    keys = ["county-xiaomai", "caohuanglin-nongtian", "qiaolou-yeshi"]
    blocks, expected = _compose(keys, lambda n, h: _num("一、", n) + h, "paren", head_style="h1")
    return Fixture(
        "docx_heading_numbered",
        "Word：“一、…”编号标题用“标题 1”样式。Numbered Heading 1 paragraphs.",
        blocks,
        expected,
        "heading",
        "一、",
        "paren",
    )


def docx_bold() -> Fixture:
    keys = ["chenpeng-chuangye", "sample-yihe", "xiazhuang-kaigong", "linhe-fangxun"]
    blocks, expected = _compose(keys, lambda n, h: h, "supplied", head_style="bold")
    return Fixture(
        "docx_bold",
        "Word：标题为整段加粗的普通段落，文末（单位供稿）。"
        "Wholly bold heads, trailing (unit 供稿).",
        MASTHEAD + blocks + TAIL,
        expected,
        "bold",
        units="supplied",
        header=MASTHEAD_HEADER,
        tail=True,
    )


def docx_bold_lead() -> Fixture:
    blocks, expected = _colon_blocks("bold")
    return Fixture(
        "docx_bold_lead",
        "Word：段首“单位：”加粗，正文接排，分栏目。A bold 单位： opening each item, in columns.",
        blocks,
        expected,
        "bold_lead",
        units="none",
    )


def docx_outline() -> Fixture:
    keys = ["gangli-renju", "linhe-fangxun", "baoxin-dianwang"]
    blocks, expected = _compose(keys, lambda n, h: h, "paren", head_style="outline:1")
    return Fixture(
        "docx_outline",
        "Word（WPS）：标题只设了大纲级别 1，没有标题样式。Heads marked only by outline level.",
        blocks,
        expected,
        "heading",
        units="paren",
    )


TEXT_FIXTURES = [
    lines_paren,
    numbered_cn,
    numbered_paren_inline,
    numbered_arabic,
    numbered_dateline,
    numbered_di,
    bracket_supply_line,
    bracket_inline_supplied,
    colon_lead,
    toc_report_lines,
    sections_numbered,
    topic_columns,
    mixed_units,
    broken_number_skipped,
    broken_number_restart,
    broken_supply_missing,
    broken_supply_missing_lines,
    broken_paren_missing_inline,
    broken_toc_count,
    broken_intro_numbered,
]
DOCX_FIXTURES = [docx_heading, docx_heading_numbered, docx_bold, docx_bold_lead, docx_outline]


def make_docx(fixture: Fixture) -> bytes:
    """The fixture as a real .docx (python-docx), heads in their Word styles."""
    import io

    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    for style, text in fixture.blocks:
        if style == "title":
            document.add_paragraph(text, style="Title")
        elif style in ("h1", "h2"):
            document.add_heading(text, level=int(style[1]))
        elif style == "bold":
            document.add_paragraph().add_run(text).bold = True
        elif style.startswith("bold:"):
            n = int(style.split(":")[1])
            p = document.add_paragraph()
            p.add_run(text[:n]).bold = True
            p.add_run(text[n:])
        elif style.startswith("outline:"):
            p = document.add_paragraph(text)
            level = OxmlElement("w:outlineLvl")
            level.set(qn("w:val"), str(int(style.split(":")[1]) - 1))
            p._p.get_or_add_pPr().append(level)
        else:
            document.add_paragraph(text)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def cjk_font() -> tuple[str, int] | None:
    """A Noto Sans CJK collection and the index of its simplified-Chinese face, if installed."""
    candidates = [Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")]
    try:
        import noto_cjk_sans_otc

        candidates.append(Path(noto_cjk_sans_otc.__file__).parent / "NotoSansCJK-Regular.ttc")
    except ImportError:
        pass
    # JP, KR, SC, TC, HK: index 2 is SC
    return next(((str(p), 2) for p in candidates if p.exists()), None)


def make_pdf(fixture: Fixture, font: tuple[str, int]) -> bytes:
    """The fixture as a PDF with a real text layer, paragraphs wrapped at the page width
    (as printed bulletins are), heads and credit lines on lines of their own."""
    import fpdf

    pdf = fpdf.FPDF(format=(148, 210))
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    # pypdf misreads glyph codes above 255 in one fpdf2 subset: a new family every 200 glyphs
    glyphs: set[str] = set()
    families = 0
    for _, text in fixture.blocks:
        if families == 0 or len(glyphs | set(text)) > 200:
            families += 1
            glyphs = set()
            pdf.add_font(f"noto{families}", fname=font[0], collection_font_number=font[1])
            pdf.set_font(f"noto{families}", size=10)
        glyphs |= set(text)
        # Chinese lines break between any two characters, not at spaces only
        pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT", wrapmode=fpdf.enums.WrapMode.CHAR)
    return bytes(pdf.output())


def write_text_fixtures(folder: Path = FIXTURES) -> list[Path]:
    """Write every text fixture as ``<name>.txt`` (UTF-8) and return the paths."""
    paths = []
    for make in TEXT_FIXTURES:
        fixture = make()
        path = folder / f"{fixture.name}.txt"
        path.write_text(fixture.text, encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write_text_fixtures():
        print(p.relative_to(Path.cwd()) if p.is_relative_to(Path.cwd()) else p, file=sys.stdout)
