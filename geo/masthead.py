"""The masthead of a bulletin: title, issue, total issue, publisher and date.

County bulletins open with a masthead (刊名, 第X期/总第X期, 主办/编印单位, date) and often a
table of contents; :func:`parse_header` reads the fields and :func:`masthead_end` says where
the masthead stops. The line tests here also serve :mod:`geo.normalise`, which must not join a
masthead line into a paragraph.
"""

from __future__ import annotations

import datetime as _dt
import re

from geo.markup import unmark
from geo.models import BulletinHeader

__all__ = [
    "MASTHEAD_MISC",
    "RULE_CHARS",
    "TOC_HEADING",
    "cn_number",
    "find_date",
    "is_masthead_line",
    "masthead_end",
    "parse_header",
    "toc_key",
]

_TITLE_WORDS = (
    "工作简报",
    "政务信息",
    "信息专报",
    "工作动态",
    "政务动态",
    "督查通报",
    "情况通报",
    "工作通讯",
    "简报",
    "专报",
    "快报",
    "要情",
    "动态",
    "通讯",
)
_CN_DIGITS = "〇零一二三四五六七八九"
_TITLE_LINE = re.compile(
    r"^[\u4e00-\u9fff（）()“”]{0,16}?(?:"
    + "|".join(_TITLE_WORDS)
    + r")(?:[（(](?![^）)]*期)[^）)]{1,8}[）)])?"
    # the title word ends the title: "息县通讯员培训班开班" is a headline, not a masthead
    + rf"(?=$|\s|[（(]|第|\d|[{_CN_DIGITS}]{{4}}\s*年)"
)
_CN_DIGIT_VALUES = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "两": 2}
_CN_TENS = {"十": 10, "百": 100, "千": 1000}
_NUM = rf"[0-9{_CN_DIGITS}十百千两]+"
_ISSUE = re.compile(
    rf"(?:(?P<year>\d{{4}}|[{_CN_DIGITS}]{{4}})\s*年\s*(?:度\s*)?)?"
    rf"(?<!总)第\s*(?P<no>{_NUM})\s*期"
)
_DATE_ARABIC = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*(?:年\s*(?P<m1>\d{1,2})\s*月\s*(?P<d1>\d{1,2})\s*日"
    r"|[-./]\s*(?P<m2>\d{1,2})\s*[-./]\s*(?P<d2>\d{1,2})(?!\d))"
)
_DATE_CHINESE = re.compile(
    rf"(?P<y>[{_CN_DIGITS}]{{4}})\s*年\s*(?P<m>[{_CN_DIGITS}十]{{1,3}})\s*月"
    rf"\s*(?P<d>[{_CN_DIGITS}十]{{1,3}})\s*日"
)
MASTHEAD_MISC = re.compile(
    r"^(?:[（(【\[]?\s*(?:内部资料|内部刊物|注意保存|内部资料\s*注意保存|秘密|机密|绝密|"
    r"此件?公开发布|不公开|特急|加急)\s*[】\])）]?"
    r"|(?:签发|主编|编辑|责任编辑|审核|校对|编印|印发|主办|承办|联系电话|电话|邮箱|投稿)\s*[：:].{0,40}"
    r"|[\u4e00-\u9fff（）()]{2,30}(?:编|印发|主办|编印|办公室|编辑部|信息科)"
    r"(?:\s+\S{0,20})?)$"
)
# A horizontal rule drawn with dashes, stars or box-drawing characters.
RULE_CHARS = r"[\s\-—–_=*＊~～·•━─═]{3,}"
_RULE = re.compile(rf"^{RULE_CHARS}$")
TOC_HEADING = re.compile(r"^(?:目\s*录|本期要目|本期目录|本期导读|本期内容)\s*[：:]?$")
_TOC_ENTRY = re.compile(
    r"^(?:[★☆●○◆◇■□▲△►▶※·•\-—]|[0-9]{1,2}[.、．]|[一二三四五六七八九十]{1,3}、|[（(][0-9一二三四五六七八九十]{1,3}[）)])"
    r"|(?:[.…·．\s]{3,}\s*\d{1,3})$"
)
_MAX_MASTHEAD_LINES = 15
_ISSUE_TOTAL = re.compile(rf"总\s*第\s*(?P<no>{_NUM})\s*期")
_PUBLISHER_LABELLED = re.compile(
    r"^(?:主办单位|编印单位|编辑单位|印发单位|主办|编印|承办|编发)\s*[：:]\s*(?P<v>[^：:\s]{2,40})"
)
_PUBLISHER_SUFFIXED = re.compile(
    r"^(?P<v>[\u4e00-\u9fff（）()]{2,30}?)\s*(?:编印|编发|主办|印发|编)$"
)
_PUBLISHER_ORG = re.compile(
    r"^(?P<v>[\u4e00-\u9fff（）()]{2,30}(?:办公室|编辑部|信息科|信息中心|委员会|人民政府|政府|"
    r"督查室|研究室|局|委|办|中心|部|室|科|处))$"
)
# Web-page furniture and "白土店乡：…" leads carry dates too but are not a masthead.
_NOT_MASTHEAD = re.compile(
    r"点击|阅读|浏览|来源|发表时间|发布时间|更新时间"
    r"|^(?!(?:主办|承办|编印|编发|印发|签发|主编|编辑|责任编辑|审核|校对|联系电话|电话|邮箱|投稿|"
    r"主办单位|编印单位|编辑单位|印发单位))[^：:\s]{2,12}[：:]"
)
_TOC_KEY_NOISE = re.compile(r"[\s.…·．★☆●○◆◇■□▲△►▶※•\-—【】〖〗]+|\d{1,3}$")


# --- masthead ------------------------------------------------------------------------------


def cn_number(s: str) -> int | None:
    """Integer value of an Arabic or Chinese numeral (``"5"``, ``"十二"``, ``"二〇二四"``).

    Returns ``None`` when ``s`` is not a number.
    """
    s = s.strip()
    if not s:
        return None
    if s.isdigit():
        return int(s)
    if all(c in _CN_DIGIT_VALUES for c in s):
        return int("".join(str(_CN_DIGIT_VALUES[c]) for c in s))  # 二〇二四: digit by digit
    total, num = 0, 0
    for c in s:
        if c in _CN_DIGIT_VALUES:
            num = _CN_DIGIT_VALUES[c]
        elif c in _CN_TENS:
            total += (num or 1) * _CN_TENS[c]
            num = 0
        else:
            return None
    return total + num


def _iso_date(y: int | None, m: int | None, d: int | None) -> str | None:
    try:
        return _dt.date(y, m, d).isoformat() if y and m and d else None
    except ValueError:
        return None


def find_date(line: str) -> str | None:
    m = _DATE_ARABIC.search(line)
    if m:
        month = m.group("m1") or m.group("m2")
        day = m.group("d1") or m.group("d2")
        return _iso_date(int(m.group("y")), int(month), int(day))
    m = _DATE_CHINESE.search(line)
    if m:
        return _iso_date(cn_number(m.group("y")), cn_number(m.group("m")), cn_number(m.group("d")))
    return None


def _masthead_lines(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, line)`` of the masthead lines at the top of normalised text."""
    out: list[tuple[int, int, str]] = []
    pos = 0
    in_toc = False
    entries: set[str] = set()
    for line in text.split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        s = unmark(line)
        if not s:
            continue
        if len(out) >= _MAX_MASTHEAD_LINES and not in_toc:
            break
        if is_masthead_line(s):
            in_toc = in_toc or bool(TOC_HEADING.match(s))
            out.append((start, end, line))
        elif in_toc and len(s) <= 60 and "。" not in s and _TOC_ENTRY.search(s):
            key = toc_key(s)
            if key in entries:  # the first item's head repeats the first entry
                break
            entries.add(key)
            out.append((start, end, line))
        else:
            break
    return out


def toc_key(entry: str) -> str:
    """A table-of-contents entry or a headline reduced for comparison.

    Numbering, bullets, dot leaders, page numbers, brackets, marks and spaces are removed, so
    ``"一、息县召开招商大会……3"`` and ``"## 一、息县召开招商大会"`` give the same key.

    Parameters
    ----------
    entry : str

    Returns
    -------
    str
    """
    s = unmark(entry)
    s = re.sub(
        r"^(?:[0-9]{1,2}[.、．]|[一二三四五六七八九十]{1,3}[、.．]|[（(][0-9一二三四五六七八九十]{1,3}[）)]"
        r"|第[一二三四五六七八九十]{1,3}[、，,：:．.\s])",
        "",
        s,
    )
    return _TOC_KEY_NOISE.sub("", s)


def is_masthead_line(s: str) -> bool:
    s = unmark(s)
    if len(s) > 60 or _NOT_MASTHEAD.search(s):
        return False
    if _RULE.match(s) or TOC_HEADING.match(s) or MASTHEAD_MISC.match(s):
        return True
    rest = s
    title = _TITLE_LINE.match(rest)
    if title:
        rest = rest[title.end() :]
    issue = _ISSUE.search(rest)
    if issue:
        rest = rest[: issue.start()] + rest[issue.end() :]
    total = _ISSUE_TOTAL.search(rest)
    if total:
        rest = rest[: total.start()] + rest[total.end() :]
    date = _DATE_ARABIC.search(rest) or _DATE_CHINESE.search(rest)
    if date:
        rest = rest[: date.start()] + rest[date.end() :]
    if not (title or issue or date or total):
        return False
    # What is left may be the issuing office or decoration, not a sentence.
    rest = re.sub(r"[\s（）()【】\[\]《》·•—\-_|,，、：:]", "", rest)
    rest = re.sub(r"总第\s*\S{1,6}?期", "", rest)
    return len(rest) <= 20 and not any(c in rest for c in "。！？")


def masthead_end(text: str) -> int:
    """Offset in normalised ``text`` where the masthead (title, issue, date, 目录) ends.

    ``0`` when the text starts directly with an item.
    """
    lines = _masthead_lines(text)
    if not lines:
        return 0
    end = lines[-1][1]
    return end + 1 if end < len(text) else end


def parse_header(text: str) -> BulletinHeader:
    """The masthead fields of a bulletin: title, issue, date, total issue and publisher.

    Parameters
    ----------
    text : str
        Normalised bulletin text (see :func:`normalise_text`).

    Returns
    -------
    geo.models.BulletinHeader
        ``title`` such as ``"息县工作简报"``, ``issue`` such as ``"2024年第3期"`` (numerals made
        Arabic), ``date`` as ISO ``"2024-02-05"``, ``issue_total`` such as ``"总第212期"``,
        ``publisher`` (主办/编印单位) such as ``"中共息县县委办公室"``; each ``None`` when the
        masthead lacks it or there is no masthead; ``date_source`` is ``"masthead"`` when the
        date was found.
    """
    header = BulletinHeader()
    for _, _, line in _masthead_lines(text):
        s = unmark(line)
        if TOC_HEADING.match(s):
            break
        if header.title is None:
            m = _TITLE_LINE.match(s)
            if m:
                header.title = re.sub(r"\s+", "", m.group())
        if header.issue is None:
            m = _ISSUE.search(s)
            if m:
                no = cn_number(m.group("no"))
                year = cn_number(m.group("year")) if m.group("year") else None
                if no is not None:
                    header.issue = (f"{year}年" if year else "") + f"第{no}期"
        if header.issue_total is None:
            m = _ISSUE_TOTAL.search(s)
            no = cn_number(m.group("no")) if m else None
            header.issue_total = f"总第{no}期" if no is not None else None
        if header.date is None:
            header.date = find_date(s)
        if header.publisher is None:
            header.publisher = _publisher(s)
    header.date_source = "masthead" if header.date else None
    return header


def _publisher(line: str) -> str | None:
    """The issuing office named on a masthead line.

    ``主办：…``, ``…办公室编``, ``…办公室 2024-2-5``; ``None`` when the line names none.
    """
    m = _PUBLISHER_LABELLED.match(line)
    if m:
        return m.group("v")
    if MASTHEAD_MISC.match(line) and re.match(r"^\S{2,6}\s*[：:]", line):
        return None  # 签发：, 责任编辑：, 联系电话：… name people, not the office
    rest = line
    for pattern in (_TITLE_LINE, _ISSUE, _ISSUE_TOTAL, _DATE_ARABIC, _DATE_CHINESE):
        m = pattern.search(rest)
        if m:
            rest = rest[: m.start()] + " " + rest[m.end() :]
    rest = re.sub(r"[\s（）()【】\[\]·•—\-_|,，、]+", "", rest)
    m = _PUBLISHER_SUFFIXED.match(rest) or _PUBLISHER_ORG.match(rest)
    return m.group("v") if m else None
