"""Split normalised bulletin text into news items.

:func:`split_bulletin` first sets the bulletin's furniture aside (masthead, 编者按, 目录, column
names, footer; :mod:`geo.furniture`), then decides from the whole text how items are marked
(:mod:`geo.layout`):

* marked heads — numbered (``一、`` ``（一）`` ``1.`` ``1、`` ``第一、``), bracketed (``【…】``
  ``〖…〗``), Word heading styles or bold heads (:mod:`geo.markup`), the entries of the table of
  contents, or a colon after the first words of a paragraph (``白土店乡：…``): every head starts
  an item, nothing else does;
* headline lines, as in the sample: ``headline␠body … （县人社局 张继铭）`` or a headline on its
  own line (sometimes after a kicker line) with ``本报讯(记者 某某)…``; items end with their
  credits and start at headline lines.

Credits (unit and author parentheticals, ``供稿：``/``报送：``/``来源：``/``撰稿：`` lines,
bylines, datelines, ``某某 摄``, ``责任编辑`` lines) and web-page furniture (timestamps,
``来源:``/``点击量`` lines) are taken out of the body. An explicit credit names the reporting
unit before a colon-led head's name, and both before a dateline's outlet. What the splitter is
unsure of is reported as :class:`~geo.models.ParseWarning`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from geo.credits import (
    DATELINE,
    byline,
    closing_credit,
    credit_line,
    is_unit,
    parse_credit,
    photo_credit,
)
from geo.cues import label_pattern, layout_cues
from geo.furniture import find_furniture
from geo.layout import HeadPlan, missing_number_markers, plan_heads, unglue
from geo.lines import (
    Head,
    Para,
    head_candidates,
    inline_headline,
    is_footer_line,
    is_furniture_line,
    is_signature_line,
    is_title,
    paragraphs,
)
from geo.markup import unmark
from geo.masthead import masthead_end
from geo.models import UNIT_STYLES_ZH, Furniture, Item, Layout, ParseWarning
from geo.normalise import FINAL_MARKS

__all__ = [
    "Split",
    "parse_credit",
    "rebuild_item",
    "single_item",
    "split_bulletin",
    "split_items",
]

_WEB_SOURCE_LABELS = ("来源", "稿源", "信息来源")
_SUPPLIED = re.compile(r"(?:供稿|报送|提供)\s*[）)]\s*$")
_CLOSING_FAMILY = {"paren": "closing", "supplied": "closing", "line": "line"}
_COLON_GLUE = (
    r"[\u4e00-\u9fff]{1,12}?(?:乡|镇|街道|办事处|管理区|局|委|办|中心|公司|部|院|所|站|队)[：:]"
)


@dataclass
class Split:
    """Items of a bulletin with the layout they were found by and the splitter's doubts.

    Attributes
    ----------
    items : list of geo.models.Item
    layout : geo.models.Layout
    warnings : list of geo.models.ParseWarning
    furniture : geo.models.Furniture
    """

    items: list[Item] = field(default_factory=list)
    layout: Layout = field(default_factory=Layout)
    warnings: list[ParseWarning] = field(default_factory=list)
    furniture: Furniture = field(default_factory=Furniture)


@dataclass
class _Group:
    paras: list[Para]
    head: Head | None = None


# --- content paragraphs ------------------------------------------------------------------------


def _content(text: str, furniture: Furniture) -> tuple[list[Para], set[int], set[int]]:
    """Paragraphs outside furniture; starts of items forced by a column or note (offsets);
    those after a column name (numbering may restart)."""
    spans = sorted(furniture.spans)
    out: list[Para] = []
    forced: set[int] = set()
    restarts: set[int] = set()
    pending = None
    k = 0
    for p in paragraphs(text):
        while k < len(spans) and spans[k][1] < p.start:
            k += 1
        if k < len(spans) and spans[k][0] <= p.start <= spans[k][1]:
            kind = spans[k][2]
            if kind in ("section", "editor_note") and out:
                pending = kind if pending != "section" else pending
            continue
        if pending:
            forced.add(p.start)
            if pending == "section":
                restarts.add(p.start)
            pending = None
        out.append(p)
    return out, forced, restarts


def _indices(paras: list[Para], offsets: set[int]) -> set[int]:
    """Indices of the paragraphs that start at ``offsets``."""
    return {i for i, p in enumerate(paras) if p.start in offsets}


def _credit_marker() -> str:
    """A regex of a labelled credit line's start, for cutting glued ones apart."""
    cues = layout_cues()
    return rf"[（(]?(?:{label_pattern(cues.unit_labels + cues.author_labels)})\s*[：:]"


# --- grouping ----------------------------------------------------------------------------------


def _is_closer(s: str) -> bool:
    """A paragraph that ends an item: a credit parenthetical or a labelled unit line."""
    if is_signature_line(s) or closing_credit(s):
        return True
    line = credit_line(s)
    return line is not None and not set(line.labels) <= set((*_WEB_SOURCE_LABELS, "审核"))


def _group_lines(paras: list[Para], forced: set[int], *, datelines_open: bool) -> list[_Group]:
    """Items of a bulletin without marked heads: they end with credits, start at headlines."""
    groups: list[list[Para]] = []
    cur: list[Para] = []
    has_body = False

    def close():
        nonlocal cur, has_body
        if cur:
            groups.append(cur)
        cur, has_body = [], False

    for i, p in enumerate(paras):
        if i in forced:
            close()
        s = unmark(p.text)
        if is_footer_line(s):
            continue
        if is_signature_line(s) or (credit_line(s) and (has_body or not cur)):
            if cur:
                cur.append(p)
                if has_body or is_signature_line(s):
                    close()
            elif groups:
                groups[-1].append(p)  # a second credit line ("审核：…") after the first
            continue
        if is_furniture_line(s):
            if cur:  # kept inside an item's span; never starts one
                cur.append(p)
            continue
        if byline(s) or (photo_credit(s) and len(s) <= 20):
            cur.append(p)
            if has_body and photo_credit(s):
                close()  # "马 童 摄" under a photo caption ends that item
            continue
        if is_title(s):
            if has_body:
                close()
            cur.append(p)
            continue
        dateline = DATELINE.match(s)
        if datelines_open and has_body and dateline and dateline.group("credit"):
            close()  # a new newspaper story without its own headline line
        cur.append(p)
        has_body = True
        if closing_credit(s) or photo_credit(s):
            close()
    close()
    return [_Group(g) for g in groups]


def _group_heads(paras: list[Para], heads: dict[int, Head], forced: set[int]) -> list[_Group]:
    """Items of a bulletin with marked heads: each head, and only a head, starts one."""
    groups: list[_Group] = []
    cur = _Group([])
    for i, p in enumerate(paras):
        if (i in heads or i in forced) and cur.paras:
            groups.append(cur)
            cur = _Group([])
        if i in heads and not cur.paras:
            cur.head = heads[i]
        if is_footer_line(unmark(p.text)):
            continue
        cur.paras.append(p)
    if cur.paras:
        groups.append(cur)
    return groups


def _split_missed_heads(groups: list[_Group]) -> tuple[list[_Group], list[ParseWarning]]:
    """Cut a group where a headline runs into its body mid-item (its credit went missing)."""
    out: list[_Group] = []
    warnings: list[ParseWarning] = []
    for g in groups:
        start = 0
        for k in range(1, len(g.paras)):
            prev, s = unmark(g.paras[k - 1].text), unmark(g.paras[k].text)
            if k - start < 1 or is_title(prev) or not prev.endswith(tuple(FINAL_MARKS + "”）)")):
                continue
            inline = inline_headline(s)
            if inline and not DATELINE.match(s):
                out.append(_Group(g.paras[start:k]))
                start = k
                warnings.append(
                    ParseWarning(
                        "cut_uncertain",
                        f"「{inline[0]}」像是新一条的标题，但前一条没有署名结尾；已在此切开，请核对",
                        offset=g.paras[k].start,
                    )
                )
        out.append(_Group(g.paras[start:]))
    return out, warnings


# --- building ----------------------------------------------------------------------------------


def _ending(texts: list[str]) -> str:
    """How an item gives its unit: a key of :data:`geo.models.UNIT_STYLES_ZH` (not ``mixed``)."""
    for s in reversed(texts):
        line = credit_line(s)
        if line is not None:
            if line.unit or (line.authors and not set(line.labels) <= set(_WEB_SOURCE_LABELS)):
                return "line"
            continue  # 审核：… after the credit that counts
        if is_signature_line(s) or closing_credit(s):
            return "supplied" if _SUPPLIED.search(s) else "paren"
        if photo_credit(s):
            return "photo"
        if not is_furniture_line(s):
            break
    if any(DATELINE.match(s) and not DATELINE.match(s).group("wire") for s in texts[:3]):
        return "dateline"
    return "none"


@dataclass
class _Credits:
    """Units by how sure they are, and authors in order."""

    explicit: str | None = None
    lead: str | None = None
    dateline: str | None = None
    authors: list[str] = field(default_factory=list)

    def add(self, unit: str | None, names: list[str], level: str = "explicit") -> None:
        if unit and getattr(self, level) is None:
            setattr(self, level, unit)
        self.authors.extend(n for n in names if n not in self.authors)

    @property
    def unit(self) -> str | None:
        return self.explicit or self.lead or self.dateline


def _read_credits(s: str, credits: _Credits, *, in_body: bool) -> bool:
    """Take ``s`` as a credit or furniture line if it is one; True when it was."""
    line = credit_line(s)
    if line is not None and (in_body or not set(line.labels) <= set(_WEB_SOURCE_LABELS)):
        credits.add(line.unit, line.authors)
        return True
    if is_furniture_line(s):
        return True
    if is_signature_line(s):
        _, unit, names = closing_credit(s)
        credits.add(unit, names)
        return True
    found = byline(s)
    if found:
        credits.add(*found)
        return True
    return False


def _body_text(s: str, credits: _Credits, *, first: bool) -> tuple[str, bool]:
    """A body paragraph without its dateline and closing credits; and whether it had a
    dateline."""
    dateline = DATELINE.match(s) if first else None
    if dateline:
        credits.add(dateline.group("outlet"), [], "dateline")
        if dateline.group("credit"):
            parsed = parse_credit(dateline.group("credit"))
            if parsed:
                credits.add(parsed[0], parsed[1], "dateline")
        s = s[dateline.end() :].strip()
    while tail := closing_credit(s):  # "…。(通讯员:李潭)（东和店镇供稿）"
        s = s[: tail[0]].rstrip()
        credits.add(tail[1], tail[2])
    photo = photo_credit(s)
    if photo:
        s = s[: photo[0]].rstrip()
        credits.add(None, photo[1])
    return s, bool(dateline)


def _build(
    index: int, paras: list[Para], *, head: Head | None = None, max_title_lines: int = 3
) -> Item:
    """One item from its paragraphs; ``head`` is the marked head its first paragraph is."""
    titles: list[str] = []
    body: list[str] = []
    credits = _Credits()
    texts = [unmark(p.text) for p in paras]
    if head is not None:
        titles = [head.headline] if head.headline else []
        if head.kind in ("colon", "bold_lead") and is_unit(head.headline):
            credits.lead = head.headline  # 白土店乡：… reports from 白土店乡
        texts[0] = head.rest
        max_title_lines = 0
    for s in texts:
        if not s or _read_credits(s, credits, in_body=bool(body)):
            continue
        if not body and len(titles) < max_title_lines and not credits.authors and is_title(s):
            titles.append(s)
            continue
        s, had_dateline = _body_text(s, credits, first=not body)
        if not titles and not body and not had_dateline and s and head is None:
            inline = inline_headline(s)
            if inline:
                titles.append(inline[0])
                s = inline[1]
        if s:
            body.append(s)
    return Item(
        index=index,
        headline=" ".join(titles),
        body="\n".join(body),
        unit=credits.unit,
        authors=credits.authors,
        start=paras[0].start,
        end=paras[-1].end,
    )


# --- the whole bulletin ------------------------------------------------------------------------


def _plan(
    paras: list[Para], furniture: Furniture, restarts: set[int]
) -> tuple[list[Para], HeadPlan]:
    """The head plan, after cutting apart heads a PDF's line joining glued to a sentence."""
    plan = plan_heads(paras, toc=furniture.toc, restarts=_indices(paras, restarts))
    glue = missing_number_markers(plan) if plan.kind == "numbered" else None
    if plan.kind == "bracket":
        glue = "[【〖]"
    if plan.kind == "colon":  # "…送工150人。岗李店乡：今年以来…"
        glue = _COLON_GLUE
    if glue:
        unglued = unglue(paras, glue)
        if len(unglued) > len(paras):
            paras = unglued
            plan = plan_heads(paras, toc=furniture.toc, restarts=_indices(paras, restarts))
    return paras, plan


def _drop_columns(
    paras: list[Para], plan: HeadPlan, forced: set[int], furniture: Furniture
) -> tuple[list[Para], dict[int, Head], set[int]]:
    """Paragraphs without the column lines the layout found, heads re-indexed, and item
    starts forced after those lines; the columns go to the furniture."""
    keep: dict[int, int] = {}
    for i, p in enumerate(paras):
        if i in plan.columns:
            furniture.sections.append(unmark(p.text))
            furniture.spans.append((p.start, p.end, "section"))
            if i + 1 < len(paras):
                forced = forced | {paras[i + 1].start}
        else:
            keep[i] = len(keep)
    furniture.spans.sort()
    heads = {keep[i]: h for i, h in plan.heads.items()}
    return [p for i, p in enumerate(paras) if i in keep], heads, forced


def split_bulletin(text: str) -> Split:
    """The items of a bulletin, the layout they were found by and what is uncertain.

    Parameters
    ----------
    text : str
        Normalised bulletin text (:func:`geo.normalise.normalise_text`): one paragraph per line;
        Word headings and bold heads as marks (:mod:`geo.markup`).

    Returns
    -------
    Split
        ``items`` in order, ``index`` from 0; ``text[item.start:item.end]`` is the whole item
        (head, body and credit lines). ``body`` has the headline and credits removed and keeps
        its paragraphs joined by ``"\\n"``. Furniture is never part of an item.
    """
    furniture = find_furniture(text)
    paras, forced, restarts = _content(text, furniture)
    paras = unglue(paras, _credit_marker())
    paras, plan = _plan(paras, furniture, restarts)
    warnings = list(plan.warnings)
    if plan.heads:
        paras, heads, forced = _drop_columns(paras, plan, forced, furniture)
        groups = _group_heads(paras, heads, _indices(paras, forced))
    else:
        closers = sum(_is_closer(unmark(p.text)) for p in paras)
        groups = _group_lines(paras, _indices(paras, forced), datelines_open=closers < 2)
        if closers >= 2:
            groups, missed = _split_missed_heads(groups)
            warnings.extend(missed)
    built = [(_build(0, g.paras, head=g.head), g) for g in groups]
    kept = [(it, g) for it, g in built if it.body or (g.head is not None and it.headline)]
    items = [it for it, _ in kept]
    for i, it in enumerate(items):
        it.index = i
    endings = [_ending([unmark(p.text) for p in g.paras]) for _, g in kept]
    units = _unit_style(endings)
    # a lead-in before the first head already has its warning
    checked = [
        (it, e) for (it, g), e in zip(kept, endings, strict=True) if g.head or not plan.heads
    ]
    warnings.extend(_unit_warnings([it for it, _ in checked], [e for _, e in checked], units))
    warnings.extend(_count_warnings(items, furniture))
    decided = plan.decided and _lines_decided(items, endings, plan.kind, warnings)
    layout = Layout(plan.kind, plan.numbering, units, decided)
    return Split(items, layout, _attach(warnings, items), furniture)


def _unit_style(endings: list[str]) -> str:
    counts = Counter(e for e in endings if e != "none")
    if not counts:
        return "none"
    families = Counter(_CLOSING_FAMILY.get(e, e) for e in endings if e != "none")
    if len(families) > 1 and families.most_common()[1][1] >= 2:
        return "mixed"
    return counts.most_common(1)[0][0]


def _unit_warnings(items: list[Item], endings: list[str], units: str) -> list[ParseWarning]:
    family = _CLOSING_FAMILY.get(units)
    have = sum(_CLOSING_FAMILY.get(e) == family for e in endings) if family else 0
    if not family or have < 2 or have < 0.6 * len(items) or have == len(items):
        return []
    others = "本期其他各条都有" if have == len(items) - 1 else "本期多数条目有"
    out = []
    for it, e in zip(items, endings, strict=True):
        if _CLOSING_FAMILY.get(e) != family:
            out.append(
                ParseWarning(
                    "unit_missing",
                    f"第{it.index + 1}条「{_short(it)}」没有{UNIT_STYLES_ZH[units]}（{others}），"
                    "请核对单位和切分",
                    item=it.index,
                    offset=it.start,
                )
            )
    return out


def _count_warnings(items: list[Item], furniture: Furniture) -> list[ParseWarning]:
    if furniture.toc and len(furniture.toc) != len(items):
        return [
            ParseWarning(
                "toc_count",
                f"目录列出 {len(furniture.toc)} 条，正文切出 {len(items)} 条，请核对切分",
            )
        ]
    return []


def _lines_decided(
    items: list[Item], endings: list[str], kind: str, warnings: list[ParseWarning]
) -> bool:
    if kind != "lines" or len(items) < 2:
        return True
    marked = sum(bool(it.headline) or e != "none" for it, e in zip(items, endings, strict=True))
    if marked * 2 >= len(items):
        return True
    warnings.append(
        ParseWarning(
            "layout_undecided",
            "版式未能确定：多数条目既没有标题行也没有署名结尾，切分可能不准，请核对",
        )
    )
    return False


def _short(item: Item, width: int = 16) -> str:
    text = item.headline or item.body
    return text if len(text) <= width else text[: width - 1] + "…"


def _attach(warnings: list[ParseWarning], items: list[Item]) -> list[ParseWarning]:
    """Give each warning with an offset the index of the item it falls in."""
    for w in warnings:
        if w.item is None and w.offset is not None:
            w.item = next((it.index for it in items if it.start <= w.offset <= it.end), None)
    return warnings


def split_items(text: str) -> list[Item]:
    """The news items of a bulletin (:func:`split_bulletin` without layout and warnings).

    Parameters
    ----------
    text : str
        Normalised bulletin text.

    Returns
    -------
    list of geo.models.Item
    """
    return split_bulletin(text).items


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
    paras = [p for p in paragraphs(text, masthead_end(text)) if not is_footer_line(unmark(p.text))]
    if not paras:
        return []
    return [_build(0, paras, max_title_lines=2)]


def rebuild_item(text: str, start: int, end: int, *, index: int = 0, heads: str = "lines") -> Item:
    """The item made of ``text[start:end]``, read the way its bulletin's layout reads items.

    Used when a reviewer merges or splits items (:mod:`geo.recut`).

    Parameters
    ----------
    text : str
        The bulletin's normalised text.
    start, end : int
        Offsets of the new item.
    index : int
        The item's index.
    heads : str
        The bulletin's :attr:`geo.models.Layout.heads`; its first paragraph is read as a head
        of that kind when it is one.

    Returns
    -------
    geo.models.Item
        With an empty body when the span has no text.
    """
    paras = paragraphs(text, start, end)
    if not paras:
        return Item(index=index, headline="", body="", start=start, end=start)
    head = head_candidates(paras[0].text).get(heads)
    return _build(index, paras, head=head)
