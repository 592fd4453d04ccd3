"""Clean extracted bulletin text and read its masthead.

Text copied out of PDF and Word files carries typesetting artefacts: lines broken at the page
width, blank lines between every line, a stray space where a page ended, page-number lines,
full-width and zero-width spaces. :func:`normalise_text` repairs them and returns one paragraph
per line; :func:`parse_header` reads the title, issue and date of a masthead when there is one.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata

from geo.markup import unmark
from geo.models import BulletinHeader

__all__ = ["cn_number", "masthead_end", "normalise_text", "parse_header"]

# Characters removed outright: zero-width spaces/joiners, word joiner, BOM, soft hyphen.
_DROP = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"), None)
# Spaces of every width become one ASCII space.
_SPACES = dict.fromkeys(
    map(
        ord,
        "\t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
        "\u202f\u205f\u3000",
    ),
    " ",
)
# Control characters (Unicode category Cc) other than the line feed are extraction debris.
_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"\r\n|[\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_FULLWIDTH_ALNUM = re.compile(r"[０-９Ａ-Ｚａ-ｚ]+")
_FULLWIDTH_DECIMAL = re.compile(r"(?<=[0-9])．(?=[0-9])")

_PAGE_NUMBER = re.compile(
    r"^\s*(?:[-—–－_·•]*\s*\d{1,4}\s*[-—–－_·•]*"
    r"|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?"
    r"|\d{1,4}\s*/\s*\d{1,4}"
    r"|(?:page|Page|PAGE)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?)\s*$"
)
# A line ends a sentence when its last visible character is one of these (closing quotes and
# brackets count when they follow one).
_FINAL = "。！？!?；;…"
_CLOSERS = "”’」』）)》】\"'"
_CONTINUES = "，,、：:（(“‘《【—-"
# A unit/author parenthetical closing a line: "（县人社局 张继铭）" alone or after a sentence.
_SIGNATURE_TAIL = re.compile(
    r"(?:^|(?<=[。！？!?…”」）)]))\s*[（(][^（()）。，,；;！？!?]{1,40}[）)]\s*$"
)

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
_MASTHEAD_MISC = re.compile(
    r"^(?:[（(【\[]?\s*(?:内部资料|内部刊物|注意保存|内部资料\s*注意保存|秘密|机密|绝密|"
    r"此件?公开发布|不公开|特急|加急)\s*[】\])）]?"
    r"|(?:签发|主编|编辑|责任编辑|审核|校对|编印|印发|主办|承办|联系电话|电话|邮箱|投稿)\s*[：:].{0,40}"
    r"|[\u4e00-\u9fff（）()]{2,30}(?:编|印发|主办|编印|办公室|编辑部|信息科)"
    r"(?:\s+\S{0,20})?)$"
)
# A horizontal rule drawn with dashes, stars or box-drawing characters.
_RULE_CHARS = r"[\s\-—–_=*＊~～·•━─═]{3,}"
_RULE = re.compile(rf"^{_RULE_CHARS}$")
_TOC = re.compile(r"^(?:目\s*录|本期要目|本期目录|本期导读|本期内容)\s*[：:]?$")
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


# --- normalise -----------------------------------------------------------------------------


def normalise_text(raw: str) -> str:
    """Clean extracted bulletin text into one paragraph per line.

    Parameters
    ----------
    raw : str
        Text as extracted from a .txt/.pdf/.docx file.

    Returns
    -------
    str
        Paragraphs separated by ``"\\n"``, no blank lines, no page-number lines, single ASCII
        spaces, full-width digits and Latin letters made ASCII (Chinese punctuation kept).

    Notes
    -----
    Lines are joined when the text looks hard-wrapped (most lines have about the same display
    width) and a line neither ends a sentence short of that width, nor ends with a unit/author
    parenthetical, nor is followed by an indented line. Blank lines count as paragraph breaks,
    unless they sit between (nearly) every pair of lines, as in text copied out of some PDFs.
    """
    lines = _clean_chars(raw).split("\n")
    lines = [ln.rstrip() for ln in lines]
    lines = _drop_page_furniture(lines)
    content = [ln for ln in lines if ln.strip()]
    if not content:
        return ""
    wrap_width = _wrap_width([ln.strip() for ln in content])
    blanks_hard = _blank_lines_are_breaks(lines)

    # Each paragraph is gathered as a list of pieces and joined once: growing one string line
    # by line is quadratic on a long hard-wrapped text.
    paragraphs: list[str] = []
    pieces: list[str] = []
    prev = None
    blank_since_prev = False
    for ln in lines:
        if not ln.strip():
            blank_since_prev = True
            continue
        piece = ln.strip()
        if prev is not None and (
            (blank_since_prev and blanks_hard) or _breaks(prev, ln, wrap_width)
        ):
            paragraphs.append("".join(pieces))
            pieces = []
        if pieces:
            pieces.append(_joint(pieces[-1], piece))
        pieces.append(piece)
        prev = ln
        blank_since_prev = False
    paragraphs.append("".join(pieces))
    return "\n".join(_squeeze(p) for p in paragraphs if p.strip())


def _drop_page_furniture(lines: list[str]) -> list[str]:
    """Remove page-number lines and repeats of a masthead line printed on every page.

    Blank lines around them go too: they come from the page break, not from a paragraph end.
    """
    seen: set[str] = set()
    marked: list[str | None] = []
    for ln in lines:
        key = re.sub(r"\s+", "", ln)
        if _PAGE_NUMBER.match(ln) or key in seen:
            marked.append(None)
            continue
        if 0 < len(key) <= 40 and _is_masthead_line(key) and not _MASTHEAD_MISC.match(key):
            seen.add(key)
        marked.append(ln)
    out: list[str] = []
    after_dropped = False  # in a run of blank lines that follows a dropped line
    for ln in marked:
        if ln is None:
            while out and not out[-1].strip():
                out.pop()
            after_dropped = True
            continue
        if not ln.strip():
            if not out or after_dropped:
                continue
        else:
            after_dropped = False
        out.append(ln)
    return out


def _clean_chars(raw: str) -> str:
    text = _LINE_BREAKS.sub("\n", raw)
    text = text.translate(_DROP).translate(_SPACES)
    # Full-width digits and letters to ASCII so numbers read the same everywhere; NFKC on the
    # whole text would also turn Chinese punctuation （，） into ASCII, which we keep.
    text = _FULLWIDTH_ALNUM.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    text = _FULLWIDTH_DECIMAL.sub(".", text)
    # Other control characters are extraction debris.
    return _CONTROLS.sub("", text)


def _wide_class() -> re.Pattern:
    """A character class of the Basic Multilingual Plane's wide, full-width and ambiguous
    characters, built once: matching it is C-speed where a per-character lookup is not."""
    ranges: list[list[int]] = []
    for o in range(0x80, 0x10000):
        if unicodedata.east_asian_width(chr(o)) in "WFA" and not 0xD800 <= o <= 0xDFFF:
            if ranges and ranges[-1][1] == o - 1:
                ranges[-1][1] = o
            else:
                ranges.append([o, o])
    body = "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )
    return re.compile(f"[^{body}\U00020000-\U0003ffff]")


_NARROW = _wide_class()


def _width(s: str) -> int:
    """Display width in columns: 2 for wide and ambiguous characters, 1 for the rest."""
    return len(s) + len(_NARROW.sub("", s))


def _wrap_width(lines: list[str]) -> int | None:
    """The page width in display columns when the text is hard-wrapped, else ``None``."""
    widths = sorted(_width(ln) for ln in lines)
    if len(widths) < 4:
        return None
    width = widths[(3 * len(widths)) // 4]
    if width > 160:  # no printed page is that wide: these are whole paragraphs
        return None
    full = sum(1 for w in widths if 0.85 * width <= w <= 1.15 * width)
    if full >= 3 and full >= 0.5 * len(widths):
        return width
    return _short_line_page_width(lines, widths)


def _short_line_page_width(lines: list[str], widths: list[int]) -> int | None:
    """The page width of a hard-wrapped bulletin whose lines are mostly short (heads, credits,
    目录): full lines near the widest that stop mid-sentence show it, and no line is wider.
    Paragraph-per-line text ends its lines with punctuation and has paragraphs far wider than
    most lines."""
    page = widths[(9 * len(widths)) // 10]
    if page > 160:
        return None
    full = [ln for ln in lines if 0.85 * page <= _width(ln) <= 1.15 * page]
    mid_sentence = sum(1 for ln in full if ln.rstrip()[-1:] not in _FINAL + _CLOSERS)
    wider = sum(1 for w in widths if w > 1.15 * page)
    if mid_sentence >= 3 and len(full) >= 0.2 * len(widths) and wider <= 0.02 * len(widths):
        return page
    return None


def _blank_lines_are_breaks(lines: list[str]) -> bool:
    """False when blank lines sit between most lines (a double-spacing artefact)."""
    gaps = blanks = 0
    seen = False
    blank = False
    for ln in lines:
        if not ln.strip():
            blank = True
            continue
        if seen:
            gaps += 1
            blanks += blank
        seen, blank = True, False
    return not (gaps >= 3 and blanks >= 0.6 * gaps)


def _ends_sentence(s: str) -> bool:
    s = s.rstrip()
    while s and s[-1] in _CLOSERS:
        if s[-1] in "）)" and _SIGNATURE_TAIL.search(s):
            return True
        s = s[:-1]
    return bool(s) and s[-1] in _FINAL


def _is_signature_line(s: str) -> bool:
    s = s.strip()
    return bool(s) and s[0] in "（(" and bool(_SIGNATURE_TAIL.fullmatch(s))


def _breaks(prev: str, line: str, wrap_width: int | None) -> bool:
    """Is there a paragraph break between ``prev`` and ``line`` (both raw lines)?"""
    if wrap_width is None:
        return True  # not hard-wrapped: every line is a paragraph
    if line.startswith("  ") or _is_signature_line(line):
        return True  # indented first line, or a unit/author line of its own
    p = prev.strip()
    if _SIGNATURE_TAIL.search(p):
        return True  # "…余个。 （县人社局 张继铭）": the item ends here
    if _block_edge(p, line.strip(), wrap_width):
        return True
    width = _width(p)
    if _ends_sentence(p):
        return width < 0.9 * wrap_width
    if p[-1] in _CONTINUES:
        return False
    return width < 0.6 * wrap_width


# Lines that open a block of a bulletin: an item head (一、 （一） 1. 第一、 【…】), a credit or
# footer line, an editor's note or table of contents.
_BLOCK_START = re.compile(
    r"^(?:[一二三四五六七八九十]{1,3}、|[（(][一二三四五六七八九十]{1,3}[）)]|\d{1,2}[.．、](?!\d)"
    r"|第[一二三四五六七八九十]{1,3}[、，,]|[【〖#]|\*\*"
    r"|(?:供稿|报送|来源|撰稿|审核|报|送|发|抄送|责任编辑|签发)\s*[：:]|[（(]?共印|编者按|目\s*录|本期要目)"
)


def _block_edge(prev: str, line: str, wrap_width: int) -> bool:
    """Does a wrapped paragraph stop between ``prev`` and ``line`` because a block starts or a
    masthead line ends? A head wraps only when it fills its line."""
    if _BLOCK_START.match(line) or _is_masthead_line(prev) or _TOC.match(prev):
        return True
    return bool(_BLOCK_START.match(prev)) and _width(prev) < 0.9 * wrap_width


def _joint(left: str, right: str) -> str:
    """What goes between two joined lines: Latin words broken at the margin need their space
    back; Chinese lines join directly."""
    if left[-1:].isascii() and left[-1:].isalnum() and right[:1].isascii() and right[:1].isalpha():
        return " "
    return ""


def _squeeze(p: str) -> str:
    return re.sub(r" {2,}", " ", p).strip()


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


def _find_date(line: str) -> str | None:
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
        if _is_masthead_line(s):
            in_toc = in_toc or bool(_TOC.match(s))
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


def _is_masthead_line(s: str) -> bool:
    s = unmark(s)
    if len(s) > 60 or _NOT_MASTHEAD.search(s):
        return False
    if _RULE.match(s) or _TOC.match(s) or _MASTHEAD_MISC.match(s):
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
        masthead lacks it or there is no masthead.
    """
    header = BulletinHeader()
    for _, _, line in _masthead_lines(text):
        s = unmark(line)
        if _TOC.match(s):
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
            header.date = _find_date(s)
        if header.publisher is None:
            header.publisher = _publisher(s)
    return header


def _publisher(line: str) -> str | None:
    """The issuing office named on a masthead line.

    ``主办：…``, ``…办公室编``, ``…办公室 2024-2-5``; ``None`` when the line names none.
    """
    m = _PUBLISHER_LABELLED.match(line)
    if m:
        return m.group("v")
    if _MASTHEAD_MISC.match(line) and re.match(r"^\S{2,6}\s*[：:]", line):
        return None  # 签发：, 责任编辑：, 联系电话：… name people, not the office
    rest = line
    for pattern in (_TITLE_LINE, _ISSUE, _ISSUE_TOTAL, _DATE_ARABIC, _DATE_CHINESE):
        m = pattern.search(rest)
        if m:
            rest = rest[: m.start()] + " " + rest[m.end() :]
    rest = re.sub(r"[\s（）()【】\[\]·•—\-_|,，、]+", "", rest)
    m = _PUBLISHER_SUFFIXED.match(rest) or _PUBLISHER_ORG.match(rest)
    return m.group("v") if m else None
