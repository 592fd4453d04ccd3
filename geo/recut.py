"""Reviewers' fixes of where items are cut: merge two neighbouring items, split one in two.

A cut fix is kept as an offset into the bulletin's normalised text, not as item numbers, so it
still means the same after the bulletin is deleted and ingested again: a *merge* removes the
boundary where the second item starts, a *split* adds a boundary where the new item starts.
:func:`apply_cut` and :func:`apply_cuts` rebuild only the items a fix touches
(:func:`geo.items.rebuild_item`, read the way the bulletin's layout reads items); the caller
annotates those again (metrics, sector, place). :func:`review_notes`, :func:`review_items`,
:func:`cut_points` and :func:`split_offset` are what a review screen needs: the layout and
warnings in Chinese, each item's span and warnings, and the positions a split may take.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from geo.errors import GeoInputError
from geo.items import rebuild_item
from geo.lines import paragraphs
from geo.markup import unmark
from geo.models import Bulletin, Item

__all__ = [
    "CUT_KINDS",
    "Cut",
    "CutError",
    "CutPoint",
    "apply_cut",
    "apply_cuts",
    "cut_points",
    "describe_cut",
    "merge_cut",
    "review_items",
    "review_notes",
    "split_cut",
    "split_offset",
]

#: Kinds of cut fix, with their Chinese names.
CUT_KINDS = {"merge": "合并", "split": "拆分"}


class CutError(GeoInputError):
    """A merge or split that cannot be made (message in Chinese)."""

    code = "recut"


@dataclass(frozen=True)
class Cut:
    """One cut fix.

    Attributes
    ----------
    kind : {"merge", "split"}
    at : int
        Offset in the normalised text: where the second item starts (merge), where the new
        item starts (split).
    id : int or None
        The fix's id in the store.
    note : str
        Why, for the next reviewer.
    """

    kind: str
    at: int
    id: int | None = None
    note: str = ""


@dataclass(frozen=True)
class CutPoint:
    """A place inside an item where a split could start a new item: a paragraph start."""

    at: int
    preview: str


def _find(items: list[Item], at: int) -> int | None:
    return next((k for k, it in enumerate(items) if it.start <= at < it.end), None)


def merge_cut(items: list[Item], first: int, second: int, *, note: str = "") -> Cut:
    """The fix that merges items ``first`` and ``second`` (indices; neighbours, any order).

    Raises
    ------
    CutError
        The items are not neighbours.
    """
    a, b = sorted((first, second))
    if a == b or not (0 <= a < len(items) and 0 <= b < len(items)):
        raise CutError(
            f"无法合并：第{first + 1}条和第{second + 1}条不是两条不同的事项", code="recut.same_item"
        )
    if b != a + 1:
        raise CutError(
            f"只能合并相邻的两条：第{a + 1}条和第{b + 1}条之间还有 {b - a - 1} 条，请逐对合并",
            code="recut.not_adjacent",
        )
    return Cut("merge", items[b].start, note=note)


def split_cut(text: str, item: Item, at: int, *, note: str = "") -> Cut:
    """The fix that splits ``item`` so that a new item starts at offset ``at``.

    ``at`` moves forward over spaces and line breaks, so the new item starts at its first
    character.

    Raises
    ------
    CutError
        ``at`` is not inside the item, or one of the two parts would be empty.
    """
    end = min(item.end, len(text))
    while item.start < at < end and text[at] in " \n\t":
        at += 1
    if not item.start < at < end:
        raise CutError(
            f"拆分位置 {at} 不在第{item.index + 1}条的范围内（{item.start}–{end}），"
            "或拆开后有一部分是空的",
            code="recut.outside",
        )
    if not text[item.start : at].strip() or not text[at:end].strip():
        raise CutError("拆开后有一部分是空的，请换一个位置", code="recut.empty_part")
    return Cut("split", at, note=note)


def apply_cut(
    text: str, items: list[Item], cut: Cut, *, heads: str = "lines"
) -> tuple[list[Item], list[int]]:
    """Items after one cut fix, and the indices of those rebuilt (to annotate again).

    Parameters
    ----------
    text : str
        The bulletin's normalised text.
    items : list of geo.models.Item
        In order; not changed (items whose index moves are copied).
    cut : Cut
    heads : str
        The bulletin's :attr:`geo.models.Layout.heads`.

    Returns
    -------
    tuple of (list of geo.models.Item, list of int)

    Raises
    ------
    CutError
        The fix does not fit these items (no item starts at a merge offset; a split offset
        outside every item or already a boundary).
    """
    if cut.kind == "merge":
        k = next((k for k, it in enumerate(items) if it.start == cut.at), None)
        if not k:
            raise CutError(f"位置 {cut.at} 不是两条事项的分界，无法合并", code="recut.not_boundary")
        merged = rebuild_item(text, items[k - 1].start, items[k].end, index=k - 1, heads=heads)
        new, changed = [*items[: k - 1], merged, *items[k + 1 :]], [k - 1]
    elif cut.kind == "split":
        k = _find(items, cut.at)
        if k is None or items[k].start == cut.at:
            raise CutError(f"位置 {cut.at} 不在任何一条事项中间，无法拆分", code="recut.not_inside")
        it = items[k]
        first = rebuild_item(text, it.start, cut.at, index=k, heads=heads)
        second = rebuild_item(text, cut.at, it.end, index=k + 1, heads=heads)
        new, changed = [*items[:k], first, second, *items[k + 1 :]], [k, k + 1]
    else:
        raise CutError(f"未知的切分更正类型 {cut.kind!r}（应为 merge 或 split）", code="recut.kind")
    return [it if it.index == i else replace(it, index=i) for i, it in enumerate(new)], changed


def apply_cuts(
    text: str, items: list[Item], cuts: list[Cut], *, heads: str = "lines"
) -> tuple[list[Item], set[int], list[Cut]]:
    """Items after every fix in order; the rebuilt indices; the fixes that no longer fit.

    A fix no longer fits when the splitter now cuts the text differently (for example a
    merge whose boundary the splitter no longer makes); it is skipped, not an error.

    Returns
    -------
    tuple of (list of geo.models.Item, set of int, list of Cut)
    """
    changed: set[int] = set()
    skipped: list[Cut] = []
    for cut in cuts:
        try:
            new, touched = apply_cut(text, items, cut, heads=heads)
        except CutError:
            skipped.append(cut)
            continue
        shift = len(new) - len(items)
        first, removed = min(touched), 2 if cut.kind == "merge" else 1
        kept = {i for i in changed if not first <= i < first + removed}
        changed = {i if i < first else i + shift for i in kept} | set(touched)
        items = new
    return items, changed, skipped


def cut_points(text: str, item: Item) -> list[CutPoint]:
    """Paragraph starts inside ``item`` (after its first paragraph) where a split may go.

    Returns
    -------
    list of CutPoint
        ``preview`` is the paragraph's first 24 characters without marks.
    """
    out = []
    for p in paragraphs(text, item.start, item.end)[1:]:
        s = unmark(p.text)
        out.append(CutPoint(p.start, s if len(s) <= 24 else s[:23] + "…"))
    return out


def split_offset(text: str, item: Item, before: str) -> int:
    """Where ``before`` (a few words of the item) starts, for splitting there.

    Raises
    ------
    CutError
        The words are not in the item after its first character.
    """
    needle = before.strip()
    pos = text.find(needle, item.start + 1, item.end) if needle else -1
    if pos < 0:
        raise CutError(
            f"第{item.index + 1}条里（开头之后）找不到“{needle}”", code="recut.not_found"
        )
    return pos


def describe_cut(cut: Cut, text: str) -> str:
    """One Chinese line about a fix: ``"拆分：在「该乡还建成…」处另起一条"``.

    Returns
    -------
    str
    """
    line = text[cut.at :].split("\n", 1)[0].strip() if 0 <= cut.at < len(text) else ""
    line = unmark(line)
    preview = line if len(line) <= 16 else line[:15] + "…"
    if cut.kind == "merge":
        return f"合并：「{preview}」并入上一条"
    return f"拆分：在「{preview}」处另起一条"


def review_notes(bulletin: Bulletin) -> list[str]:
    """Chinese lines about how a bulletin was cut: layout, furniture found, every warning.

    Parameters
    ----------
    bulletin : geo.models.Bulletin

    Returns
    -------
    list of str
        ``"版式：编号标题（一、）；单位：文末（单位供稿）"``, then ``"其他部分：…"`` when there is
        a masthead, 目录, 编者按, columns or a footer, then one ``"提示：…"`` per warning.
    """
    lines = [f"版式：{bulletin.layout.describe_zh()}"]
    f = bulletin.furniture
    h = bulletin.header
    masthead = " ".join(x for x in (h.issue_total, h.publisher) if x)
    found = [
        f"报头：{masthead}" if masthead else "",
        f"目录 {len(f.toc)} 条" if f.toc else "",
        f"编者按 {len(f.editor_notes)} 段" if f.editor_notes else "",
        "栏目：" + "、".join(f.sections) if f.sections else "",
        "文尾报送" if f.distribution or f.copies or f.people else "",
    ]
    if any(found):
        lines.append("其他部分：" + "；".join(x for x in found if x))
    lines.extend(f"提示：{w.message}" for w in bulletin.warnings)
    return lines


def review_items(bulletin: Bulletin) -> list[dict]:
    """One record per item for a screen where a reviewer checks and fixes the cuts.

    Returns
    -------
    list of dict
        ``index, start, end, headline, unit, text`` (the item's whole span of the normalised
        text, marks included, to be escaped where shown), ``warnings`` (Chinese messages about
        this item), ``cut_points`` (:class:`CutPoint` list) and ``merge_next`` (the offset that
        :class:`Cut` ``("merge", …)`` takes to merge the item with the next, or ``None``).
    """
    out = []
    for k, it in enumerate(bulletin.items):
        nxt = bulletin.items[k + 1] if k + 1 < len(bulletin.items) else None
        out.append(
            {
                "index": it.index,
                "start": it.start,
                "end": it.end,
                "headline": it.headline,
                "unit": it.unit,
                "text": bulletin.text[it.start : it.end],
                "warnings": [w.message for w in bulletin.warnings if w.item == it.index],
                "cut_points": cut_points(bulletin.text, it),
                "merge_next": nxt.start if nxt is not None else None,
            }
        )
    return out
