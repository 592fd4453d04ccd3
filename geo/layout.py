"""Decide, for a whole bulletin, how its items are marked.

Every kind of item head (:func:`geo.lines.head_candidates`) is tried on all content paragraphs
at once. A kind qualifies when its heads open the content and come at least twice; numbered
heads must also run 一、二、三… (a column name may restart the count), so sub-points inside an
item (``（一）``, ``1.`` restarting in every item) or a byline or quotation inside a body never
start an item. Of the kinds that qualify, the one whose first head comes first wins, then the
most explicit (Word heading style, number, brackets, bold, 目录 entries, colon lead). When none
qualifies the bulletin is read as headline lines (the sample's form) by :mod:`geo.items`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from geo.lines import (
    NUMBERING_STYLES,
    Head,
    Para,
    head_candidates,
    inline_headline,
    is_title,
)
from geo.markup import unmark
from geo.masthead import toc_key
from geo.models import HEAD_KINDS_ZH, ParseWarning

__all__ = ["HEAD_PRIORITY", "HeadPlan", "missing_number_markers", "plan_heads", "unglue"]

#: Head kinds from most to least explicit.
HEAD_PRIORITY = ("heading", "numbered", "bracket", "bold", "bold_lead", "toc", "colon")
_CN_DIGITS = "零一二三四五六七八九"
_SENTENCE_END = r"(?<=[。！？!?”」])"


@dataclass
class HeadPlan:
    """Where items start, for a bulletin whose heads are marked.

    Attributes
    ----------
    kind : str
        The winning head kind (``lines`` when no marked kind qualified).
    heads : dict of int to Head
        Paragraph index -> the head it is.
    numbering : str or None
        Numbering style of numbered heads.
    warnings : list of geo.models.ParseWarning
        Skipped numbers, rival layouts.
    decided : bool
        False when another layout was nearly as likely.
    columns : set of int
        Indices of short lines found to name a column because the numbering starts again
        right after them (their names are not in the column word list).
    """

    kind: str = "lines"
    heads: dict[int, Head] = field(default_factory=dict)
    numbering: str | None = None
    warnings: list[ParseWarning] = field(default_factory=list)
    decided: bool = True
    columns: set[int] = field(default_factory=set)


def _qualifies(indices: list[int]) -> bool:
    """Heads open the content and there are at least two."""
    return len(indices) >= 2 and indices[0] == 0


def _nearly(heads: dict[int, Head], n_paras: int) -> bool:
    """Heads that would qualify but for a paragraph or two before the first.

    They must run through the text (the last in its second half) and not be numbered
    sentences, so a list of sub-points in the first item does not pass.
    """
    indices = sorted(heads)
    return (
        len(indices) >= 3
        and 0 < indices[0] <= 2
        and indices[-1] * 2 >= n_paras
        and all(h.shape != "sentence" for h in heads.values())
    )


def _number_marker(style: str, n: int) -> str:
    """How number ``n`` is written in ``style``: ``("一、", 3)`` -> ``"三、"``."""
    if style in ("1.", "1、", "（1）"):
        digits = str(n)
    elif style == "①":
        return chr(ord("①") + n - 1) if 1 <= n <= 20 else ""
    elif n < 10:
        digits = _CN_DIGITS[n]
    elif n < 20:
        digits = "十" + (_CN_DIGITS[n - 10] if n > 10 else "")
    else:
        digits = _CN_DIGITS[n // 10] + "十" + (_CN_DIGITS[n % 10] if n % 10 else "")
    return {
        "一、": f"{digits}、",
        "（一）": f"（{digits}）",
        "1.": f"{digits}.",
        "1、": f"{digits}、",
    }.get(style, f"（{digits}）" if style == "（1）" else f"第{digits}、")


def _number_run(
    cands: list[dict[str, Head]], style: str, restarts: set[int]
) -> tuple[dict[int, Head], list[tuple[int, int, int]]]:
    """Numbered heads of ``style`` that run 1, 2, 3…; and the gaps ``(index, expected, got)``.

    ``restarts`` are paragraph indices right after a column name, where the count may start
    again at 1. Heads keep one shape (a headline alone, a headline and its body, or a numbered
    sentence), so sub-points in another shape are never heads. One or two numbers may be
    skipped, a number may come twice (the second is not a head) and the count may start again
    at 1 elsewhere (a column without a recognised name): each is reported.
    """
    heads: dict[int, Head] = {}
    gaps: list[tuple[int, int, int]] = []
    expected, shape, last = 1, None, -1
    for i, c in enumerate(cands):
        h = c.get("numbered")
        if h is None or h.style != style or (shape is not None and h.shape != shape):
            continue
        restart = h.number == 1 and any(last < r <= i for r in restarts)
        if heads and h.number == expected - 1 and not restart:
            gaps.append((i, expected, h.number))  # the same number twice: reported
            continue
        if h.number == expected or restart:
            pass
        elif heads and h.number == 1 and expected > 2:
            gaps.append((i, expected, 1))  # a new series without a column name: reported
        elif heads and expected < h.number <= expected + 2:
            gaps.append((i, expected, h.number))
        elif not heads and h.number == 2:
            gaps.append((i, 1, 2))  # the list starts at 二: 一 is missing
        else:
            continue
        heads[i] = h
        shape = h.shape if shape is None else shape
        expected, last = h.number + 1, i
    return heads, gaps


def _numbered(
    cands: list[dict[str, Head]], restarts: set[int]
) -> tuple[str | None, dict[int, Head], list[tuple[int, int, int]]]:
    """The numbering style whose run opens the content, with its heads and gaps."""
    best: tuple[str | None, dict[int, Head], list] = (None, {}, [])
    for style in NUMBERING_STYLES:
        if not any(c.get("numbered") and c["numbered"].style == style for c in cands):
            continue
        heads, gaps = _number_run(cands, style, restarts)
        if heads and (best[0] is None or min(heads) < min(best[1])):
            best = (style, heads, gaps)
    return best


def _heading_heads(cands: list[dict[str, Head]]) -> dict[int, Head]:
    """Word-heading heads of the level that opens the content."""
    levels = sorted({int(c["heading"].style) for c in cands if "heading" in c})
    for level in levels:
        heads = {
            i: c["heading"]
            for i, c in enumerate(cands)
            if "heading" in c and c["heading"].style == str(level)
        }
        if _qualifies(sorted(heads)):
            return heads
    return {}


def _toc_heads(paras: list[Para], toc: list[str]) -> dict[int, Head]:
    """Paragraphs that open with the 目录 entries, in order."""
    if len(toc) < 2:
        return {}
    heads: dict[int, Head] = {}
    i = 0
    for entry in toc:
        key = toc_key(entry)
        for j in range(i, len(paras)):
            s = unmark(paras[j].text)
            if key and toc_key(s[: len(entry) + 8]).startswith(key):
                inline = inline_headline(s)
                rest = s[len(entry) :].strip() if s.startswith(entry) else ""
                if inline and toc_key(inline[0]) == key:
                    rest = inline[1]
                heads[j] = Head("toc", entry, rest)
                i = j + 1
                break
    return heads if len(heads) >= len(toc) - 1 else {}


def _kind_heads(
    kind: str, paras: list[Para], cands: list[dict[str, Head]], toc: list[str]
) -> dict[int, Head]:
    if kind == "heading":
        return _heading_heads(cands)
    if kind == "toc":
        return _toc_heads(paras, toc)
    return {i: c[kind] for i, c in enumerate(cands) if kind in c}


def plan_heads(paras: list[Para], *, toc: list[str], restarts: set[int]) -> HeadPlan:
    """Decide which paragraphs start items, from the whole text.

    Parameters
    ----------
    paras : list of geo.lines.Para
        Content paragraphs (furniture removed), in order.
    toc : list of str
        Entries of the bulletin's table of contents.
    restarts : set of int
        Indices of paragraphs right after a column name.

    Returns
    -------
    HeadPlan
        ``kind="lines"`` and no heads when no kind of marked head qualifies.
    """
    cands = [head_candidates(p.text) for p in paras]
    found: dict[str, dict[int, Head]] = {}
    nearly: dict[str, dict[int, Head]] = {}
    numbering_style, gaps = None, []
    for kind in HEAD_PRIORITY:
        if kind == "numbered":
            numbering_style, heads, gaps = _numbered(cands, restarts)
        else:
            heads = _kind_heads(kind, paras, cands, toc)
        if _qualifies(sorted(heads)):
            found[kind] = heads
        elif _nearly(heads, len(paras)):
            nearly[kind] = heads
    if not found and not nearly:
        return HeadPlan()
    lead_in = None
    if not found:
        found = {k: nearly[k] for k in HEAD_PRIORITY if k in nearly}
        first = min(next(iter(found.values())))
        if not _column_line(paras, first):
            # Text before the first head stays an item of its own, and a reviewer is told.
            lead_in = ParseWarning(
                "text_before_first_head",
                f"第一个条目标题前有 {first} 段文字，已单独成一条，请核对（可合并到下一条）",
                offset=paras[0].start,
            )
    kind = next(k for k in HEAD_PRIORITY if k in found)
    heads = found[kind]
    plan = HeadPlan(kind=kind, heads=heads, decided=lead_in is None)
    if lead_in:
        plan.warnings.append(lead_in)
    elif min(heads) == 1:
        plan.columns.add(0)
    if kind != "numbered" and "numbered" in found and set(found["numbered"]) == set(heads):
        plan.numbering = numbering_style  # numbered Word headings, bold numbers …
    elif kind == "numbered":
        plan.numbering = numbering_style
    if kind == "numbered" or plan.numbering:
        gaps = _column_restarts(gaps, paras, plan)
        plan.warnings.extend(_gap_warnings(gaps, paras, numbering_style))
    rivals = [k for k in found if k != kind and not set(found[k]) <= set(heads)]
    if rivals:
        names = "、".join(HEAD_KINDS_ZH.get(k, k) for k in (kind, *rivals))
        plan.decided = False
        plan.warnings.append(
            ParseWarning(
                "layout_undecided",
                f"版式未能确定：{names}都像条目标题，"
                f"已按{HEAD_KINDS_ZH.get(kind, kind)}切分，请核对",
                offset=paras[0].start,
            )
        )
    return plan


def _column_line(paras: list[Para], first: int) -> bool:
    """Is the one paragraph before the first head a short title line (a column name)?"""
    text = unmark(paras[0].text) if first == 1 else ""
    return 2 <= len(text) <= 12 and is_title(text)


def _column_restarts(
    gaps: list[tuple[int, int, int]], paras: list[Para], plan: HeadPlan
) -> list[tuple[int, int, int]]:
    """Restarts right after a short title line: that line names a column (no warning)."""
    out = []
    for i, expected, got in gaps:
        named = got == 1 and i > 0 and _column_line(paras[i - 1 :], 1) and i - 1 not in plan.heads
        if named:
            plan.columns.add(i - 1)
        else:
            out.append((i, expected, got))
    return out


def _gap_warnings(
    gaps: list[tuple[int, int, int]], paras: list[Para], style: str | None
) -> list[ParseWarning]:
    out = []
    for i, expected, got in gaps:
        if got == 1 and expected > 2:
            out.append(
                ParseWarning(
                    "numbering_restarted",
                    f"编号到 {_number_marker(style or '1.', expected - 1)} 后又从 "
                    f"{_number_marker(style or '1.', 1)} 开始（没有栏目名），"
                    "已按新的一组切分，请核对",
                    offset=paras[i].start,
                )
            )
            continue
        if got < expected:
            marker = _number_marker(style or "1.", got)
            out.append(
                ParseWarning(
                    "numbering_repeated",
                    f"编号 {marker} 出现了两次，第二处未当作新的一条；请核对切分",
                    offset=paras[i].start,
                )
            )
            continue
        missing = "、".join(_number_marker(style or "1.", n) for n in range(expected, got))
        out.append(
            ParseWarning(
                "numbering_skipped",
                f"编号跳过了 {missing}（{_number_marker(style or '1.', got)} 前面），"
                "请核对是否漏切或原文缺号",
                offset=paras[i].start,
            )
        )
    return out


def unglue(paras: list[Para], marker: str) -> list[Para]:
    """Split paragraphs where ``marker`` follows a sentence end inside them.

    A PDF line that ends a sentence at the full page width is joined to the next line by
    :func:`geo.normalise.normalise_text`, so a head (``三、``, ``【``) or a credit line (``供稿：``)
    may sit inside the previous paragraph.

    Parameters
    ----------
    paras : list of geo.lines.Para
    marker : str
        A regular expression matched right after the sentence end.

    Returns
    -------
    list of geo.lines.Para
        The same paragraphs, split at each glued marker (offsets preserved).
    """
    pattern = re.compile(_SENTENCE_END + r"\s*(?=" + marker + ")")
    out: list[Para] = []
    for p in paras:
        cuts = [m.end() for m in pattern.finditer(p.text) if m.start() > 0]
        prev = 0
        for cut in [*cuts, len(p.text)]:
            piece = p.text[prev:cut]
            if piece.strip():
                lead = len(piece) - len(piece.lstrip())
                start = p.start + prev + lead
                out.append(Para(start, start + len(piece.strip()), piece.strip()))
            prev = cut
    return out


def missing_number_markers(plan: HeadPlan) -> str | None:
    """A regex of the number markers a numbered plan lacks (gaps and the next after the last).

    Returns
    -------
    str or None
        ``None`` when the plan is not numbered.
    """
    if not plan.numbering:
        return None
    numbers = sorted(h.number for h in plan.heads.values() if h.number is not None)
    if not numbers:
        return None
    wanted = [n for n in range(1, numbers[-1] + 2) if n not in numbers]
    markers = [_number_marker(plan.numbering, n) for n in wanted]
    return "|".join(re.escape(m) for m in markers if m) or None
