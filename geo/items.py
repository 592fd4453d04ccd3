"""Split normalised bulletin text into news items.

Two layouts are recognised, and may be mixed in one text:

* work-bulletin form: ``headline␠body … （县人社局 张继铭）`` — the headline runs into the body
  after a space and a unit/author parenthetical closes the item;
* newspaper form: a headline on its own line (sometimes after a short kicker line), then
  ``本报讯(记者 某某)…`` or ``息县融媒体中心3月5日讯(全媒体记者 刘洋 陈静)…``.

Credits (unit and author parentheticals, bylines, ``某某 摄``, ``责任编辑`` lines) and
web-page furniture (timestamps, ``来源:``/``点击量`` lines) are taken out of the body;
mastheads are not items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from geo.ingest import _FINAL, _RULE_CHARS, masthead_end
from geo.models import Item

__all__ = ["parse_credit", "single_item", "split_items"]

_HAN = "\u4e00-\u9fff"
_ROLES = (
    "全媒体记者",
    "融媒体记者",
    "特约记者",
    "见习记者",
    "首席记者",
    "本报记者",
    "本台记者",
    "记者",
    "特约通讯员",
    "通讯员",
    "实习生",
    "撰稿人",
    "撰稿",
    "作者",
    "供稿",
    "报送",
    "摄影",
    "文/图",
    "图/文",
    "文图",
    "图文",
)
# Editors and reviewers are credited but are not the item's authors.
_EDITOR_ROLES = (
    "责任编辑",
    "值班编辑",
    "编辑",
    "审核",
    "校对",
    "审校",
    "初审",
    "复审",
    "终审",
    "监制",
)
# Every word that marks a credit, the source line's 来源 included.
_CREDIT_ROLES = _ROLES + _EDITOR_ROLES + ("来源",)
_ROLE_RE = "|".join(sorted(_CREDIT_ROLES, key=len, reverse=True))
_UNIT_SUFFIXES = (
    "办事处",
    "委员会",
    "管委会",
    "人民政府",
    "政府",
    "中心",
    "公司",
    "集团",
    "街道",
    "分局",
    "支行",
    "大队",
    "中队",
    "学校",
    "医院",
    "银行",
    "法院",
    "检察院",
    "协会",
    "协",
    "局",
    "委",
    "办",
    "院",
    "所",
    "站",
    "队",
    "部",
    "室",
    "处",
    "社",
    "行",
    "馆",
    "会",
    "联",
    "厂",
    "场",
    "乡",
    "镇",
    "网",
    "台",
)
_NOT_NAME_END = tuple("村乡镇县市区省局办委站所队部处社馆会厂场网台报图稿")
# Two-character units: 县委, 市委, 县办 (longer units end in one of _UNIT_SUFFIXES).
_SHORT_UNIT = re.compile(r"[省市县区乡镇][委办]")
# Short parentheticals that are not people: photo positions (左二), drafting notes, times.
_NOT_NAME = re.compile(
    r"^(?:[左右前后中][一二三四五六七八九十起]+|上午|下午|晚上|试行|草案|暂行|附件|社区|待续|"
    r"全文|图片|视频|资料|摘编|节选|有删节|下同|同上|注)"
)

_CLOSE_PAREN = re.compile(
    r"(?:^|(?<=[。！？!?…”」）)]))\s*[（(](?P<inner>[^（()）。，,；;！？!?]{1,60})[）)]\s*$"
)
_DATELINE = re.compile(
    r"^\s*(?:"
    r"(?P<own>本报|本台|本网|本刊)讯"
    rf"|(?P<outlet>[{_HAN}A-Za-z]{{1,12}}?(?:网|报|台|社|中心|新闻|频道|客户端))"
    rf"(?P<place>[{_HAN}]{{0,4}}?)(?:\d{{1,2}}月\d{{1,2}}日)?(?:讯|电|消息)"
    rf"|(?P<wire>[{_HAN}]{{2,6}}?)消息(?=\s*[（(])"
    r")\s*(?:[（(](?P<credit>[^（()）]{1,60})[）)])?"
)
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
    rf"|{_RULE_CHARS})$"
)
_FOOTER = re.compile(r"^(?:报|送|发|抄送|抄报|分送|主送|印发)\s*[：:]|共印\s*\d+\s*份|^[（(]共印")
_EDITOR_LINE = re.compile(rf"^[（(]?\s*(?:{'|'.join(_EDITOR_ROLES)})\s*[：:]?")
_SUBHEAD = re.compile(
    r"^(?:[一二三四五六七八九十]+[是要、]|[（(][一二三四五六七八九十0-9]+[）)]|[0-9]+[.、．]|第[一二三四五六七八九十]+[，,、])"
)
_SENTENCE_OPENER = re.compile(r"^(?:今年|去年|近日|日前|近年|目前|截至|截止|当前|据|\d)")
_SPACE_SPLIT = re.compile(r"(?<=[^\sA-Za-z0-9.%])\s+(?=[^\sA-Za-z0-9])")


# An HTML/XML-like tag in untrusted text. Items never strip or interpret tags (they are
# escaped where shown); credits are matched on the text around them, and a tag is one token.
_TAG = re.compile(r"<[^<>\n]{0,80}>")
_CREDIT_TOKEN = re.compile(r"(?:<[^<>\n]{0,80}>|[^\s、，,；;/／:：])+")


def _bare(token: str) -> str:
    """``token`` without tags, for recognising names and units (the token itself is kept)."""
    return _TAG.sub("", token) if "<" in token else token


@dataclass
class _Para:
    start: int
    end: int
    text: str


# --- credits -------------------------------------------------------------------------------


def _is_name(token: str) -> bool:
    token = _bare(token)
    if _NOT_NAME.match(token):
        return False
    return (
        2 <= len(token) <= 4
        and re.fullmatch(rf"[{_HAN}]+", token) is not None
        and not token.endswith(_NOT_NAME_END)
    ) or re.fullmatch(rf"[{_HAN}]{{1,6}}·[{_HAN}]{{1,8}}", token) is not None


def _is_unit(token: str) -> bool:
    token = _bare(token)
    if _SHORT_UNIT.fullmatch(token):
        return True
    return (
        len(token) >= 3
        and re.fullmatch(rf"[{_HAN}（）()]+", token) is not None
        and token.endswith(_UNIT_SUFFIXES)
        and not token.startswith(("暨", "及", "和", "与", "含", "即", "原", "包括", "位于", "在"))
    )


def _merge_singles(tokens: list[str]) -> list[str] | None:
    """Join two-character names typeset with a space ("张 伟" -> "张伟")."""
    out: list[str] = []
    pending = ""
    for t in tokens:
        if len(_bare(t)) == 1:
            if pending:
                out.append(pending + t)
                pending = ""
            else:
                pending = t
        else:
            if pending:
                return None
            out.append(t)
    return None if pending else out


def parse_credit(credit: str) -> tuple[str | None, list[str]] | None:
    """Unit and authors of a credit such as ``"县人社局 张继铭"`` or ``"全媒体记者 刘洋 陈静"``.

    Parameters
    ----------
    credit : str
        The inside of a unit/author parenthetical or a byline line.

    Returns
    -------
    tuple of (str or None, list of str), or None
        ``(unit, authors)``; ``None`` when ``credit`` is not a credit at all (for example
        ``"暨驻苏州办事处"`` or ``"相关资料图"``). Editors are not authors: ``"编辑 方晓"``
        gives ``(None, [])``.
    """
    s = credit.strip()
    if not s or len(s) > 60:
        return None
    # A space after each role ("通讯员:周平" -> "通讯员 周平"); an outlet glued before a role
    # ("大象新闻记者") stays one token and is dropped with the role.
    s = re.sub(rf"({_ROLE_RE})\s*[：:]?", r"\1 ", s)
    tokens = _CREDIT_TOKEN.findall(s)
    unit: str | None = None
    names: list[str] = []
    editor = False
    found_role = False
    group: list[str] = []
    for tok in tokens:
        role = next((r for r in _CREDIT_ROLES if _bare(tok).endswith(r)), None)
        if role is not None:
            found_role = True
            merged = _merge_singles(group)
            if merged is None:
                return None
            names.extend([] if editor else merged)
            group = []
            editor = role in _EDITOR_ROLES
            prefix = _bare(tok)[: -len(role)]
            if role in ("供稿", "报送", "来源") and prefix:
                if not _is_unit(prefix):
                    return None
                unit = unit or prefix
            continue
        if _is_unit(tok) and not group and not names and unit is None:
            unit = tok
            continue
        if len(_bare(tok)) == 1 or _is_name(tok):
            group.append(tok)
            continue
        split = _split_unit_name(tok)
        if split and unit is None and not group and not names:
            unit = split[0]
            group.append(split[1])
            continue
        return None
    merged = _merge_singles(group)
    if merged is None:
        return None
    names.extend([] if editor else merged)
    if unit is None and not names and not found_role:
        return None
    return unit, names


def _split_unit_name(token: str) -> tuple[str, str] | None:
    """``"县人社局张继铭"`` -> ``("县人社局", "张继铭")``."""
    for size in (3, 2):
        unit, name = token[:-size], token[-size:]
        if _is_unit(unit) and _is_name(name):
            return unit, name
    return None


def _closing_credit(s: str) -> tuple[int, str | None, list[str]] | None:
    """A unit/author parenthetical ending ``s``: ``(start, unit, authors)``."""
    m = _CLOSE_PAREN.search(s)
    if not m:
        return None
    parsed = parse_credit(m.group("inner"))
    if parsed is None:
        return None
    return m.start(), parsed[0], parsed[1]


def _photo_credit(s: str) -> tuple[int, list[str]] | None:
    """``"…现场。马林 摄"`` -> ``(start, ["马林"])``."""
    if not s.rstrip().endswith("摄"):
        return None
    head = s.rstrip()[:-1].rstrip()
    cut = max(head.rfind(c) for c in _FINAL + "”）)")
    segment = head[cut + 1 :]
    tokens = segment.split()
    names: list[str] = []
    while tokens and (len(_bare(tokens[-1])) == 1 or _is_name(tokens[-1])):
        names.insert(0, tokens.pop())
    merged = _merge_singles(names) if names else None
    if not merged:
        return None
    start = cut + 1 + len(" ".join(tokens))
    return start, merged


def _byline(s: str) -> tuple[str | None, list[str]] | None:
    """A line that is only a credit: ``"全媒体记者 赵刚 孙丽"``, ``"本报记者"``."""
    if len(s) > 60 or any(c in s for c in "。，,！？"):
        return None
    if not re.search(_ROLE_RE, s):
        return None
    inner = s.strip()
    if inner[:1] in "（(" and inner[-1:] in "）)":
        inner = inner[1:-1]
    return parse_credit(inner)


# --- paragraphs ----------------------------------------------------------------------------


def _paragraphs(text: str, start: int = 0) -> list[_Para]:
    out = []
    pos = start
    for line in text[start:].split("\n"):
        if line.strip():
            lead = len(line) - len(line.lstrip())
            out.append(_Para(pos + lead, pos + len(line.rstrip()), line.strip()))
        pos += len(line) + 1
    return out


def _is_signature_line(s: str) -> bool:
    if s[:1] not in "（(":
        return False
    found = _closing_credit(s)
    return found is not None and found[0] == 0


def _is_furniture(s: str) -> bool:
    return bool(_FURNITURE.match(s)) or bool(_EDITOR_LINE.match(s) and len(s) <= 40)


def _is_title(s: str) -> bool:
    """A headline or kicker on its own line: short, no sentence punctuation."""
    if not 2 <= len(s) <= 50 or s[-1] in _FINAL + "，,、：:（(“":
        return False
    if any(c in s for c in "。；;"):
        return False
    if _SUBHEAD.match(s) or _DATELINE.match(s) or _photo_credit(s) or _byline(s):
        return False
    return not s.endswith(("”", "」")) or "“" in s[:-1]


def _inline_headline(s: str) -> tuple[str, str] | None:
    """``"息县春节招工不“打烊” 围绕县域…"`` -> ``("息县春节招工不“打烊”", "围绕县域…")``."""
    m = _SPACE_SPLIT.search(s)
    if not m:
        return None
    head, rest = s[: m.start()], s[m.end() :]
    if not 6 <= len(head) <= 40 or len(rest) < 10:
        return None
    if any(c in head for c in "，,。；;！？!?") or head[-1] in "：:、":
        return None
    if _SENTENCE_OPENER.match(head) or _DATELINE.match(head):
        return None
    return head, rest


# --- grouping ------------------------------------------------------------------------------


def _group(paras: list[_Para]) -> list[list[_Para]]:
    """Paragraphs of each item, in order."""
    groups: list[list[_Para]] = []
    cur: list[_Para] = []
    has_body = False

    def close():
        nonlocal cur, has_body
        if cur:
            groups.append(cur)
        cur, has_body = [], False

    for p in paras:
        s = p.text
        if _FOOTER.search(s):
            continue
        if _is_signature_line(s):
            if cur:
                cur.append(p)
                close()
            elif groups:
                groups[-1].append(p)  # a second credit line ("（供稿：…）") after the first
            continue
        if _is_furniture(s):
            if cur:  # kept inside an item's span; never starts one
                cur.append(p)
            continue
        if _byline(s) or (_photo_credit(s) and len(s) <= 20):
            cur.append(p)
            if has_body and _photo_credit(s):
                close()  # "马 童 摄" under a photo caption ends that item
            continue
        if _is_title(s):
            if has_body:
                close()
            cur.append(p)
            continue
        if has_body and (dateline := _DATELINE.match(s)) and dateline.group("credit"):
            close()  # a new newspaper story without its own headline line
        cur.append(p)
        has_body = True
        if _closing_credit(s) or _photo_credit(s):
            close()
    close()
    return groups


def _build(index: int, paras: list[_Para], *, max_title_lines: int = 3) -> Item:
    titles: list[str] = []
    unit: str | None = None
    authors: list[str] = []
    body: list[str] = []

    def credit(u: str | None, names: list[str]) -> None:
        nonlocal unit
        unit = unit or u
        authors.extend(n for n in names if n not in authors)

    for p in paras:
        s = p.text
        if _is_furniture(s):
            continue
        if not body and len(titles) < max_title_lines and not authors and _is_title(s):
            titles.append(s)
            continue
        if _is_signature_line(s):
            _, u, names = _closing_credit(s)
            credit(u, names)
            continue
        byline = _byline(s)
        if byline:
            credit(*byline)
            continue
        dateline = _DATELINE.match(s) if not body else None
        if dateline:
            if dateline.group("outlet"):
                unit = unit or dateline.group("outlet")
            if dateline.group("credit"):
                parsed = parse_credit(dateline.group("credit"))
                if parsed:
                    credit(*parsed)
            s = s[dateline.end() :].strip()
        tail = _closing_credit(s)
        if tail:
            s = s[: tail[0]].rstrip()
            credit(tail[1], tail[2])
        photo = _photo_credit(s)
        if photo:
            s = s[: photo[0]].rstrip()
            credit(None, photo[1])
        if not titles and not body and not dateline and s:
            inline = _inline_headline(s)
            if inline:
                titles.append(inline[0])
                s = inline[1]
        if s:
            body.append(s)
    return Item(
        index=index,
        headline=" ".join(titles),
        body="\n".join(body),
        unit=unit,
        authors=authors,
        start=paras[0].start,
        end=paras[-1].end,
    )


def split_items(text: str) -> list[Item]:
    """The news items of a bulletin.

    Parameters
    ----------
    text : str
        Normalised bulletin text (:func:`geo.ingest.normalise_text`): one paragraph per line.

    Returns
    -------
    list of geo.models.Item
        In order, ``index`` from 0; ``text[item.start:item.end]`` is the whole item (headline,
        body and credit lines). ``body`` has the headline and credits removed and keeps its
        paragraphs joined by ``"\\n"``. Mastheads, tables of contents and distribution footers
        are not items.
    """
    paras = _paragraphs(text, masthead_end(text))
    # Groups of only credits or furniture, or a lone headline, are not items.
    built = [_build(0, group) for group in _group(paras)]
    items = [it for it in built if it.body]
    for i, it in enumerate(items):
        it.index = i
    return items


def single_item(text: str) -> list[Item]:
    """The whole text as one item.

    The headline is the first line when it looks like a title (short, no sentence-final
    punctuation; a short kicker line before it is kept too), else ``""``. Credits are read and
    removed as in :func:`split_items`.

    Returns
    -------
    list of geo.models.Item
        One item, or an empty list when ``text`` has no content.
    """
    paras = [p for p in _paragraphs(text, masthead_end(text)) if not _FOOTER.search(p.text)]
    if not paras:
        return []
    return [_build(0, paras, max_title_lines=2)]
