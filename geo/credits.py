"""Credits of news items: reporting units, authors, bylines, datelines and photo credits.

A credit is read from a unit/author parenthetical (``（县人社局 张继铭）``,
``（县农业农村局供稿）``),
a byline line (``全媒体记者 刘洋 陈静``), a dateline opening a story (``本报讯(记者 周强)``,
``息县融媒体中心3月2日讯(…)``), a photo credit (``马林 摄``) or a labelled credit line
(``供稿：县农业农村局``, ``撰稿：张三 审核：李四``; the labels are in
``data/config/bulletin_layout.json``). Editors and reviewers are credited but are not authors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from geo.cues import label_pattern, layout_cues
from geo.normalise import FINAL_MARKS

__all__ = [
    "DATELINE",
    "EDITOR_ROLES",
    "CreditLine",
    "byline",
    "closing_credit",
    "credit_line",
    "is_name",
    "is_unit",
    "parse_credit",
    "photo_credit",
]

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
EDITOR_ROLES = (
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
_CREDIT_ROLES = _ROLES + EDITOR_ROLES + ("来源",)
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
    r"(?:^|(?<=[。！？!?…”」）)摄]))\s*[（(](?P<inner>[^（()）。，,；;！？!?]{1,60})[）)]\s*$"
)
DATELINE = re.compile(
    r"^\s*(?:"
    r"(?P<own>本报|本台|本网|本刊)讯"
    rf"|(?P<outlet>[{_HAN}A-Za-z]{{1,12}}?(?:网|报|台|社|中心|新闻|频道|客户端))"
    rf"(?P<place>[{_HAN}]{{0,4}}?)(?:\d{{1,2}}月\d{{1,2}}日)?(?:讯|电|消息)"
    rf"|(?P<wire>[{_HAN}]{{2,6}}?)消息(?=\s*[（(])"
    r")\s*(?:[（(](?P<credit>[^（()）]{1,60})[）)])?"
)
# An HTML/XML-like tag in untrusted text. Items never strip or interpret tags (they are
# escaped where shown); credits are matched on the text around them, and a tag is one token.
_TAG = re.compile(r"<[^<>\n]{0,80}>")
_CREDIT_TOKEN = re.compile(r"(?:<[^<>\n]{0,80}>|[^\s、，,；;/／:：])+")


def _bare(token: str) -> str:
    """``token`` without tags, for recognising names and units (the token itself is kept)."""
    return _TAG.sub("", token) if "<" in token else token


def is_name(token: str) -> bool:
    token = _bare(token)
    if _NOT_NAME.match(token):
        return False
    return (
        2 <= len(token) <= 4
        and re.fullmatch(rf"[{_HAN}]+", token) is not None
        and not token.endswith(_NOT_NAME_END)
    ) or re.fullmatch(rf"[{_HAN}]{{1,6}}·[{_HAN}]{{1,8}}", token) is not None


def is_unit(token: str) -> bool:
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
    found = _parse_credit(credit.strip())
    return None if found is None else (found[0], list(found[1]))


@lru_cache(maxsize=8192)
def _parse_credit(s: str) -> tuple[str | None, tuple[str, ...]] | None:
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
            editor = role in EDITOR_ROLES
            prefix = _bare(tok)[: -len(role)]
            if role in ("供稿", "报送", "来源") and prefix:
                if not is_unit(prefix):
                    return None
                unit = unit or prefix
            continue
        if is_unit(tok) and not group and not names and unit is None:
            unit = tok
            continue
        if len(_bare(tok)) == 1 or is_name(tok):
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
    return unit, tuple(names)


def _split_unit_name(token: str) -> tuple[str, str] | None:
    """``"县人社局张继铭"`` -> ``("县人社局", "张继铭")``."""
    for size in (3, 2):
        unit, name = token[:-size], token[-size:]
        if is_unit(unit) and is_name(name):
            return unit, name
    return None


def closing_credit(s: str) -> tuple[int, str | None, list[str]] | None:
    """A unit/author parenthetical ending ``s``.

    Parameters
    ----------
    s : str
        One paragraph.

    Returns
    -------
    tuple of (int, str or None, list of str), or None
        ``(start, unit, authors)``: where the parenthetical starts in ``s``, and its credit.
    """
    found = _closing_credit(s)
    return None if found is None else (found[0], found[1], list(found[2]))


@lru_cache(maxsize=8192)
def _closing_credit(s: str) -> tuple[int, str | None, tuple[str, ...]] | None:
    # The splitter asks about the same paragraph several times: cached, immutable.
    m = _CLOSE_PAREN.search(s)
    if not m:
        return None
    parsed = parse_credit(m.group("inner"))
    if parsed is None:
        return None
    return m.start(), parsed[0], tuple(parsed[1])


def photo_credit(s: str) -> tuple[int, list[str]] | None:
    """A photo credit ending ``s``: ``"…现场。马林 摄"`` -> ``(start, ["马林"])``.

    Returns
    -------
    tuple of (int, list of str), or None
    """
    if not s.rstrip().endswith("摄"):
        return None
    head = s.rstrip()[:-1].rstrip()
    cut = max(head.rfind(c) for c in FINAL_MARKS + "”）)")
    segment = head[cut + 1 :]
    tokens = segment.split()
    names: list[str] = []
    while tokens and (len(_bare(tokens[-1])) == 1 or is_name(tokens[-1])):
        names.insert(0, tokens.pop())
    merged = _merge_singles(names) if names else None
    if not merged:
        return None
    start = cut + 1 + len(" ".join(tokens))
    return start, merged


def byline(s: str) -> tuple[str | None, list[str]] | None:
    """A line that is only a credit: ``"全媒体记者 赵刚 孙丽"``, ``"本报记者"``.

    Returns
    -------
    tuple of (str or None, list of str), or None
        ``(unit, authors)`` as :func:`parse_credit` gives them.
    """
    if len(s) > 60 or any(c in s for c in "。，,！？"):
        return None
    if not re.search(_ROLE_RE, s):
        return None
    inner = s.strip()
    if inner[:1] in "（(" and inner[-1:] in "）)":
        inner = inner[1:-1]
    return parse_credit(inner)


# --- labelled credit lines -----------------------------------------------------------------


@dataclass(frozen=True)
class CreditLine:
    """A labelled credit line such as ``供稿：县农业农村局`` or ``撰稿：张三 审核：李四``.

    Attributes
    ----------
    unit : str or None
        The unit after a unit label (供稿, 报送, 来源 …).
    authors : list of str
        Names after an author label (撰稿, 作者 …); reviewers are not authors.
    labels : tuple of str
        The labels, in order.
    """

    unit: str | None = None
    authors: list[str] = field(default_factory=list)
    labels: tuple[str, ...] = ()

    @property
    def gives_unit(self) -> bool:
        """True when the line names a reporting unit."""
        return self.unit is not None


_UNIT_VALUE = re.compile(rf"[{_HAN}A-Za-z0-9（）()·<>/=\"' ]{{2,40}}")


@lru_cache(maxsize=1)
def _label_re() -> re.Pattern:
    cues = layout_cues()
    return re.compile(rf"(?P<label>{label_pattern(cues.credit_labels)})\s*[：:]\s*")


def credit_line(s: str) -> CreditLine | None:
    """A paragraph that is only labelled credits, read; else ``None``.

    Parameters
    ----------
    s : str
        One paragraph, e.g. ``"供稿：县农业农村局"``, ``"（报送单位：白土店乡人民政府）"``,
        ``"供稿：县人社局 撰稿：张继铭 审核：王五"``.

    Returns
    -------
    CreditLine or None
        ``None`` when anything in ``s`` is not a label and its value (a sentence, a date, a
        web page's ``来源:某网|点击量``).
    """
    s = s.strip()
    if s[:1] in "（(" and s[-1:] in "）)":
        s = s[1:-1].strip()
    if not s or len(s) > 80 or any(c in s for c in "。；;！？!?|"):
        return None
    label_re = _label_re()
    found = list(label_re.finditer(s))
    if not found or found[0].start() != 0:
        return None
    cues = layout_cues()
    unit: str | None = None
    authors: list[str] = []
    for m, nxt in zip(found, [*found[1:], None], strict=True):
        value = s[m.end() : nxt.start() if nxt else len(s)].strip(" ，,、")
        label = m.group("label")
        if not value:
            return None
        if label in cues.unit_labels:
            parsed = _unit_value(value)
            if parsed is None:
                return None
            unit = unit or parsed[0]
            authors.extend(n for n in parsed[1] if n not in authors)
        elif label in cues.author_labels:
            names = _names(value)
            if names is None:
                return None
            authors.extend(n for n in names if n not in authors)
    return CreditLine(unit, authors, tuple(m.group("label") for m in found))


def _unit_value(value: str) -> tuple[str, list[str]] | None:
    """``"县人社局 张继铭"`` -> ``("县人社局", ["张继铭"])``; any short name is a unit here."""
    parsed = parse_credit(value)
    if parsed is not None and parsed[0]:
        return parsed[0], parsed[1]
    if not _UNIT_VALUE.fullmatch(value) or re.search(r"\d{4}", value):
        return None
    return value.split()[0], []


def _names(value: str) -> list[str] | None:
    tokens = [t for t in re.split(r"[\s、，,]+", value) if t]
    merged = _merge_singles(tokens)
    if not merged or not all(is_name(t) for t in merged):
        return None
    return merged
