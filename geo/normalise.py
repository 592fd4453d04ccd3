"""Clean extracted bulletin text into one paragraph per line.

Text copied out of PDF and Word files carries typesetting artefacts: lines broken at the page
width, blank lines between every line, a stray space where a page ended, page-number lines,
full-width and zero-width spaces. :func:`normalise_text` repairs them and returns one paragraph
per line (the masthead is read by :mod:`geo.masthead`).
"""

from __future__ import annotations

import re
import unicodedata

from geo.masthead import MASTHEAD_MISC, TOC_HEADING, is_masthead_line

__all__ = ["FINAL_MARKS", "normalise_text"]

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
FINAL_MARKS = "。！？!?；;…"
_CLOSERS = "”’」』）)》】\"'"
_CONTINUES = "，,、：:（(“‘《【—-"
# A unit/author parenthetical closing a line: "（县人社局 张继铭）" alone or after a sentence.
_SIGNATURE_TAIL = re.compile(
    r"(?:^|(?<=[。！？!?…”」）)]))\s*[（(][^（()）。，,；;！？!?]{1,40}[）)]\s*$"
)

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
        if 0 < len(key) <= 40 and is_masthead_line(key) and not MASTHEAD_MISC.match(key):
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
    mid_sentence = sum(1 for ln in full if ln.rstrip()[-1:] not in FINAL_MARKS + _CLOSERS)
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
    return bool(s) and s[-1] in FINAL_MARKS


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
    if _BLOCK_START.match(line) or is_masthead_line(prev) or TOC_HEADING.match(prev):
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
