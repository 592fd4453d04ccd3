"""What one paragraph of a bulletin is, read on its own.

A paragraph may be web-page furniture (a timestamp, ``来源:某网|点击量``), a headline on its own
line, a headline running into its body (``息县春节招工不“打烊” 围绕县域…``), or an item head of
one of the marked kinds: numbered (``一、`` ``（一）`` ``1.`` ``1、`` ``（1）`` ``第一、`` ``①``),
bracketed (``【…】`` ``〖…〗``), colon-led (``白土店乡：…``), or marked in a Word file (heading
style, bold; see :mod:`geo.markup`). Whether a kind of head really starts items is decided for
the whole bulletin by :mod:`geo.layout`, never from one paragraph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from geo.credits import DATELINE, EDITOR_ROLES, byline, closing_credit, photo_credit
from geo.cues import label_pattern, layout_cues
from geo.markup import read_marks
from geo.masthead import RULE_CHARS, cn_number
from geo.normalise import FINAL_MARKS

__all__ = [
    "NUMBERING_STYLES",
    "Head",
    "Para",
    "head_candidates",
    "inline_headline",
    "is_footer_line",
    "is_furniture_line",
    "is_signature_line",
    "is_title",
    "numbering",
    "paragraphs",
]

_HAN = "\u4e00-\u9fff"
_CN_NUM = "一二三四五六七八九十百"
_FURNITURE = re.compile(
    r"^(?:\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?"
    r"|(?:(?:发布|发表|更新)?时间|日期)\s*[:：]?\s*\d{4}[^。]{0,80}"
    r"|(?:来源|稿源|信息来源)\s*[:：][^。]{0,60}"
    r"|[^。，；]{0,60}(?:点击量|阅读量|浏览量|浏览次数|阅读|浏览)\s*[:：]?\s*\d[^。，；]{0,40}"
    r"|[^。，；]{0,60}(?:字号\s*[:：]?\s*[大中小]|分享到)[^。，；]{0,40}"
    r"|[（(【\[]?\s*(?:相关)?(?:资料图|资料图片|图片|组图|视频)\s*[）)】\]]?"
    r"|\S+\.(?:jpg|jpeg|png|gif|webp|bmp)"
    rf"|[{_HAN}]{{2,10}}(?:融媒体中心|新闻网|日报|晚报|电视台|广播电视台|客户端)"
    r"|[（(]?\s*(?:完|全文完|END|end)\s*[）)]?"
    rf"|{RULE_CHARS})$"
)
_FOOTER = re.compile(r"^(?:报|送|发|抄送|抄报|分送|主送|印发)\s*[：:]|共印\s*\d+\s*份|^[（(]共印")
_EDITOR_LINE = re.compile(rf"^[（(]?\s*(?:{'|'.join(EDITOR_ROLES)})\s*[：:]?")
_SUBHEAD = re.compile(
    r"^(?:[一二三四五六七八九十]+[是要、]|[（(][一二三四五六七八九十0-9]+[）)]|[0-9]+[.、．]|第[一二三四五六七八九十]+[，,、])"
)
_SENTENCE_OPENER = re.compile(r"^(?:今年|去年|近日|日前|近年|目前|截至|截止|当前|据|\d)")
_SPACE_SPLIT = re.compile(r"(?<=[^\sA-Za-z0-9.%])\s+(?=[^\sA-Za-z0-9])")

#: Numbering styles of item heads: key -> pattern of the marker (group ``n`` is the number).
NUMBERING_STYLES: dict[str, re.Pattern] = {
    "一、": re.compile(rf"^(?P<n>[{_CN_NUM}]{{1,4}})\s*[、，,．.](?![{_CN_NUM}])"),
    "（一）": re.compile(rf"^[（(]\s*(?P<n>[{_CN_NUM}]{{1,4}})\s*[）)]"),
    "1.": re.compile(r"^(?P<n>\d{1,2})\s*[.．](?!\d)"),
    "1、": re.compile(r"^(?P<n>\d{1,2})\s*、"),
    "（1）": re.compile(r"^[（(]\s*(?P<n>\d{1,2})\s*[）)]"),
    "第一": re.compile(rf"^第(?P<n>[{_CN_NUM}]{{1,4}})(?:\s*[、，,：:．.]|\s+)"),
    "①": re.compile(r"^(?P<n>[①-⑳])"),
}
_BRACKET = re.compile(r"^(?:【(?P<a>[^【】\n]{1,80})】|〖(?P<b>[^〖〗\n]{1,80})〗)")
_COLON_LEAD = re.compile(
    r"^(?P<lead>[^，,。；;：:！？!?\s（(“\"‘'][^，,。；;：:！？!?]{1,29}?)\s*[：:]\s*(?P<rest>\S.*)$"
)
_HEAD_END = re.compile(r"[。！？!?：:]")
_SENTENCE_STOP = re.compile(r"[。！？!?]")
_MAX_HEADLINE = 60


@dataclass
class Para:
    """One paragraph (one line of normalised text) and its offsets in the whole text."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Head:
    """A paragraph read as an item head of one kind.

    Attributes
    ----------
    kind : str
        ``heading`` (Word heading style), ``bold``, ``bold_lead``, ``numbered``, ``bracket``,
        ``colon``.
    headline : str
        The head's text without marks, number or brackets (``""`` when the paragraph opens
        with the number and goes straight into a sentence).
    rest : str
        Body text after the head in the same paragraph (``""`` for a head on its own line).
    style : str
        Numbering style key of :data:`NUMBERING_STYLES` (``"一、"``), the heading level as a
        string (``"2"``), or ``""``.
    number : int or None
        The head's number for numbered heads.
    """

    kind: str
    headline: str
    rest: str = ""
    style: str = ""
    number: int | None = None
    sentence: bool = False

    @property
    def own_line(self) -> bool:
        """True when the head is the whole paragraph."""
        return not self.rest

    @property
    def shape(self) -> str:
        """``line`` (a headline alone), ``lead`` (a headline, then body) or ``sentence`` (a
        numbered sentence such as ``（三）铺设灌溉管道18公里。``, a sub-point)."""
        if self.sentence:
            return "sentence"
        return "line" if self.own_line else "lead"


def paragraphs(text: str, start: int = 0, end: int | None = None) -> list[Para]:
    """Non-blank lines of ``text[start:end]`` with their offsets, stripped.

    Returns
    -------
    list of Para
    """
    end = len(text) if end is None else end
    out = []
    pos = start
    for line in text[start:end].split("\n"):
        if line.strip():
            lead = len(line) - len(line.lstrip())
            out.append(Para(pos + lead, pos + len(line.rstrip()), line.strip()))
        pos += len(line) + 1
    return out


# --- furniture and credits ------------------------------------------------------------------


def is_signature_line(s: str) -> bool:
    """True for a paragraph that is only a unit/author parenthetical (``（县人社局 张继铭）``)."""
    if s[:1] not in "（(":
        return False
    found = closing_credit(s)
    return found is not None and found[0] == 0


def is_furniture_line(s: str) -> bool:
    """True for web-page furniture (timestamps, source and click-count lines) and editor lines."""
    return bool(_FURNITURE.match(s)) or bool(_EDITOR_LINE.match(s) and len(s) <= 40)


def is_footer_line(s: str) -> bool:
    """True for a distribution footer line (``报：…``, ``送：…``, ``共印 60 份``)."""
    return bool(_FOOTER.search(s))


# --- headlines --------------------------------------------------------------------------------


def is_title(s: str) -> bool:
    """A headline or kicker on its own line: short, no sentence punctuation.

    Returns
    -------
    bool
    """
    if not 2 <= len(s) <= 50 or s[-1] in FINAL_MARKS + "，,、：:（(“":
        return False
    if any(c in s for c in "。；;"):
        return False
    if _SUBHEAD.match(s) or DATELINE.match(s) or photo_credit(s) or byline(s):
        return False
    if closing_credit(s):  # "马 童 摄（县人社局供稿）"
        return False
    return not s.endswith(("”", "」")) or "“" in s[:-1]


def inline_headline(s: str) -> tuple[str, str] | None:
    """``"息县春节招工不“打烊” 围绕县域…"`` -> ``("息县春节招工不“打烊”", "围绕县域…")``.

    Returns
    -------
    tuple of (str, str), or None
        Headline and the rest of the paragraph, when it opens with a headline and a space.
    """
    m = _SPACE_SPLIT.search(s)
    if not m:
        return None
    head, rest = s[: m.start()], s[m.end() :]
    if not 6 <= len(head) <= 40 or len(rest) < 10:
        return None
    if any(c in head for c in "，,。；;！？!?") or head[-1] in "：:、":
        return None
    if _SENTENCE_OPENER.match(head) or DATELINE.match(head):
        return None
    return head, rest


# --- item heads -------------------------------------------------------------------------------


def numbering(s: str) -> tuple[str, int, int] | None:
    """The numbering that opens ``s``: ``(style, number, end of the marker)``.

    Parameters
    ----------
    s : str
        A paragraph without marks.

    Returns
    -------
    tuple of (str, int, int), or None
        ``("一、", 3, 2)`` for ``"三、息县…"``.
    """
    for style, pattern in NUMBERING_STYLES.items():
        m = pattern.match(s)
        if not m:
            continue
        raw = m.group("n")
        number = ord(raw) - ord("①") + 1 if style == "①" else cn_number(raw)
        if number is not None and 0 < number <= 200:
            return style, number, m.end()
    return None


def _split_head(text: str) -> tuple[str, str]:
    """A head's text after its marker split into ``(headline, rest of the paragraph)``."""
    text = text.strip().lstrip("、.．：: ")
    if not text:
        return "", ""
    bracket = _BRACKET.match(text)
    if bracket:
        return (bracket.group("a") or bracket.group("b")).strip(), text[bracket.end() :].strip()
    whole = is_title(text) or (len(text) <= _MAX_HEADLINE and not re.search(r"[。；;！？!?]", text))
    if whole and not text.endswith(("，", ",")):
        return text.rstrip("：:"), ""
    # A sentence end first ("商城县:茶乡如画卷。…" keeps its colon), then a colon.
    for end in (_SENTENCE_STOP, _HEAD_END):
        m = end.search(text, 0, _MAX_HEADLINE + 1)
        if m and m.start() >= 2 and not re.search(r"[，,；;]", text[: m.start()]):
            return text[: m.start()].strip(), text[m.end() :].strip()
    inline = inline_headline(text)
    if inline:
        return inline
    return "", text


def _colon_head(s: str) -> Head | None:
    m = _COLON_LEAD.match(s)
    if not m:
        return None
    lead, rest = m.group("lead").strip(), m.group("rest").strip()
    cues = layout_cues()
    if len(re.findall(f"[{_HAN}]", lead)) < 2:
        return None
    # "白土店乡：本报讯(记者 …)" or "…：全媒体记者 朱剑锋": the body starts on the next line
    starts_body = byline(rest) or DATELINE.match(rest) or _FURNITURE.match(rest)
    if (len(rest) < 10 or not re.search(r"[，,。；;]", rest)) and not (
        starts_body or photo_credit(rest)
    ):
        return None
    if lead.startswith(cues.colon_lead_stopwords) or lead.endswith(cues.colon_lead_bad_endings):
        return None
    labels = cues.credit_labels + cues.tail_labels + cues.tail_people_labels
    if re.fullmatch(label_pattern(labels + cues.editor_note_labels + cues.toc_labels), lead):
        return None
    if re.search(r"\d", lead) or DATELINE.match(lead):
        return None
    return Head("colon", lead, rest)


def _bracket_head(s: str) -> Head | None:
    m = _BRACKET.match(s)
    if not m:
        return None
    inside = (m.group("a") or m.group("b")).strip()
    if not inside or inside.startswith(layout_cues().in_item_brackets):
        return None
    return Head("bracket", inside, s[m.end() :].strip())


def head_candidates(line: str) -> dict[str, Head]:
    """Every kind of item head ``line`` could be, keyed by kind.

    Parameters
    ----------
    line : str
        One paragraph of normalised text, marks included.

    Returns
    -------
    dict of str to Head
        Keys among ``heading``, ``bold``, ``bold_lead``, ``numbered``, ``bracket``, ``colon``;
        empty for an ordinary paragraph.
    """
    marked = read_marks(line)
    s = marked.text
    out: dict[str, Head] = {}
    num = numbering(s)
    after_number = s[num[2] :] if num else s
    if marked.heading:
        headline, rest = _split_head(after_number)
        out["heading"] = Head("heading", headline, rest, str(marked.heading))
    if marked.all_bold:
        out["bold"] = Head("bold", _split_head(after_number)[0] or s)
    elif marked.bold:
        bold = marked.bold
        if num and bold.startswith(s[: num[2]]):
            bold = bold[num[2] :]
        out["bold_lead"] = Head("bold_lead", bold.strip().rstrip("：:。 "), s[len(marked.bold) :])
    if num:
        headline, rest = _split_head(after_number)
        sentence = not rest and s[-1:] in FINAL_MARKS + "，,"
        out["numbered"] = Head("numbered", headline, rest, num[0], num[1], sentence)
    bracket = _bracket_head(s)
    if bracket:
        out["bracket"] = bracket
    colon = _colon_head(s) if not num and not bracket else None
    if colon:
        out["colon"] = colon
    return out
