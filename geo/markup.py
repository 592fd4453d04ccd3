"""Marks that carry a Word document's headings and bold heads into plain text.

A bulletin travels through the pipeline as text, where a .docx's paragraph styles would be lost.
:mod:`geo.io.bulletin_files` therefore writes a paragraph in a heading style (Heading 1–9,
标题 1–9, Title, or an outline level) as a Markdown heading (``## 息县…``), a wholly bold
paragraph as ``**息县…**`` and a bold run opening a paragraph as ``**白土店乡：**近日，…``. The
same marks in a .txt (a Markdown export) mean the same. The splitter reads them to find item
heads; headlines and bodies never keep them, and offsets into the text count them like any
other character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MarkedLine", "bold_mark", "heading_mark", "read_marks", "unmark"]

_HEADING = re.compile(r"^(#{1,6})[ \t]+(?=\S)")
_BOLD_LEAD = re.compile(r"^\*\*(?P<bold>[^*\n]*?[^*\s][^*\n]*?)\*\*")
_MAX_LEVEL = 6


@dataclass(frozen=True)
class MarkedLine:
    """One line with its marks read.

    Attributes
    ----------
    text : str
        The line without marks, stripped.
    heading : int
        Heading level (1 = ``#``); 0 when the line is not a heading.
    bold : str
        The bold text opening the line (the whole ``text`` when all of it is bold); ``""``
        when the line does not open in bold.
    """

    text: str
    heading: int = 0
    bold: str = ""

    @property
    def all_bold(self) -> bool:
        """True when the whole line is bold."""
        return bool(self.bold) and self.bold == self.text


def heading_mark(text: str, level: int = 1) -> str:
    """``text`` as a heading line of ``level`` (1–6; deeper levels count as 6).

    Parameters
    ----------
    text : str
    level : int

    Returns
    -------
    str
        ``"## 息县…"`` for level 2.
    """
    level = min(max(int(level), 1), _MAX_LEVEL)
    return f"{'#' * level} {text.strip()}"


def bold_mark(bold: str, rest: str = "") -> str:
    """A line whose opening ``bold`` part is bold, followed by plain ``rest``.

    Returns
    -------
    str
        ``"**白土店乡：**近日，…"``; just ``rest`` when ``bold`` is blank.
    """
    return f"**{bold.strip()}**{rest}" if bold.strip() else rest


def read_marks(line: str) -> MarkedLine:
    """The heading level, bold opening and plain text of ``line``.

    Parameters
    ----------
    line : str
        One paragraph of normalised text.

    Returns
    -------
    MarkedLine
    """
    s = line.strip()
    level = 0
    m = _HEADING.match(s)
    if m:
        level = len(m.group(1))
        s = s[m.end() :]
    bold = ""
    b = _BOLD_LEAD.match(s)
    if b:
        bold = b.group("bold").strip()
        s = (bold + s[b.end() :]).strip()
    return MarkedLine(text=s, heading=level, bold=bold)


def unmark(line: str) -> str:
    """``line`` without heading or bold marks, stripped.

    Returns
    -------
    str
    """
    if not line or line.lstrip()[:1] not in "#*":
        return line.strip()
    return read_marks(line).text
