"""The parts of a bulletin that are not items.

A work bulletin opens with a masthead (刊名, 第X期/总第X期, 主办/编印单位, date; read by
:mod:`geo.masthead`), often an editor's note (编者按) and a table of contents (目录, 本期要目), may
group its items under column names (乡镇动态, 【部门动态】) and ends with a footer (报：/送：/发：,
共印X份, 责任编辑, 签发). :func:`find_furniture` finds them all so that the splitter keeps them
out of items. Labels and column words are in ``data/config/bulletin_layout.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from geo.cues import label_pattern, layout_cues
from geo.lines import Para, head_candidates, inline_headline, is_title, paragraphs
from geo.markup import unmark
from geo.masthead import RULE_CHARS, find_date, masthead_end, toc_key
from geo.models import Furniture

__all__ = ["editor_note", "find_furniture", "section_name"]

_DECORATION = re.compile(r"[\s◆◇■□●○★☆▲△►▶※·•【】〖〗\[\]<>《》「」—\-_=~～]+")
_SECTION_NUMBER = re.compile(
    r"^(?:[一二三四五六七八九十]{1,3}[、.．]|[（(][一二三四五六七八九十0-9]{1,3}[）)]|\d{1,2}[.、．])"
)
_RULE = re.compile(rf"^{RULE_CHARS}$")
_COPIES = re.compile(r"共印\s*(?P<n>\d+)\s*份")
_PRINTED = re.compile(r"印发\s*[）)]?$")
_STRONG_PEOPLE = ("责任编辑", "本期责任编辑", "签发", "签发人", "主编")


@dataclass(frozen=True)
class _Patterns:
    toc: re.Pattern
    note: re.Pattern
    tail: re.Pattern
    people: re.Pattern


@lru_cache(maxsize=1)
def _patterns() -> _Patterns:
    cues = layout_cues()
    return _Patterns(
        toc=re.compile(rf"^[【\[]?(?:{label_pattern(cues.toc_labels)})[】\]]?\s*[：:]?$"),
        note=re.compile(
            rf"^[【\[（(]?(?P<label>{label_pattern(cues.editor_note_labels)})[】\]）)]?"
            r"(?:\s*[：:]\s*|(?<=[】\]）)])\s*|\s*$)"
        ),
        tail=re.compile(rf"^(?:{label_pattern(cues.tail_labels)})\s*[：:]"),
        people=re.compile(rf"^(?P<label>{label_pattern(cues.tail_people_labels)})\s*[：:]\s*"),
    )


def section_name(line: str) -> str | None:
    """The column name a short line gives (``"乡镇动态"`` for ``"【乡镇动态】"``), else ``None``.

    Parameters
    ----------
    line : str
        One paragraph, marks included.

    Returns
    -------
    str or None
    """
    cues = layout_cues()
    s = unmark(line)
    if len(s) > cues.column_max_chars + 8 or re.search(r"[，,。；;：:！？!?]", s):
        return None
    name = _DECORATION.sub("", _SECTION_NUMBER.sub("", _DECORATION.sub("", s)))
    if not 2 <= len(name) <= cues.column_max_chars:
        return None
    if not re.fullmatch(r"[\u4e00-\u9fff]+", name) or not name.endswith(cues.column_words):
        return None
    return name


def editor_note(line: str) -> str | None:
    """The text of an editor's note paragraph (``编者按：…``, ``【编者按】…``), else ``None``.

    Returns
    -------
    str or None
        ``""`` for a label on its own line (the note is the next paragraph).
    """
    m = _patterns().note.match(unmark(line))
    if not m:
        return None
    return unmark(line)[m.end() :].strip()


def find_furniture(text: str) -> Furniture:
    """Masthead, editor's notes, table of contents, column names and footer of a bulletin.

    Parameters
    ----------
    text : str
        Normalised bulletin text.

    Returns
    -------
    geo.models.Furniture
        ``spans`` cover every paragraph that belongs to no item; the other fields hold what
        those paragraphs say.
    """
    paras = paragraphs(text)
    found = Furniture()
    first = _front_matter(paras, masthead_end(text), found)
    last = _tail(paras, first, found)
    i = first
    while i < last:
        p = paras[i]
        if editor_note(p.text) is not None:
            i = _note(paras, i, last, found)
            continue
        name = section_name(p.text)
        if name:
            found.sections.append(name)
            found.spans.append((p.start, p.end, "section"))
        i += 1
    found.spans.sort()
    return found


def _front_matter(paras: list[Para], head_end: int, found: Furniture) -> int:
    """Record masthead, 目录, 编者按 and intro lines at the top; the first content index."""
    pat = _patterns()
    cues = layout_cues()
    i = 0
    while i < len(paras) and paras[i].end <= head_end and not pat.toc.match(unmark(paras[i].text)):
        i += 1
    if i:
        found.spans.append((paras[0].start, paras[i - 1].end, "masthead"))
    while i < len(paras):
        p = paras[i]
        s = unmark(p.text)
        if pat.toc.match(s):
            end = _toc(paras, i + 1, found)
            found.spans.append((p.start, paras[end - 1].end, "toc"))
            i = end
        elif editor_note(s) is not None:
            i = _note(paras, i, len(paras), found)
        elif _RULE.match(s) or (s.endswith(cues.intro_endings) and len(s) <= 80):
            found.spans.append((p.start, p.end, "intro" if not _RULE.match(s) else "masthead"))
            i += 1
        else:
            break
    return i


def _note(paras: list[Para], i: int, last: int, found: Furniture) -> int:
    """Record the editor's note at ``paras[i]`` (its label may stand alone, the note on the
    next line); the index after it."""
    note = editor_note(paras[i].text)
    end = i + 1 if note or i + 1 >= last else i + 2
    found.editor_notes.append(note or unmark(paras[i + 1].text))
    found.spans.append((paras[i].start, paras[end - 1].end, "editor_note"))
    return end


def _head_keys(s: str) -> list[str]:
    """Keys of the headlines ``s`` may open with, for spotting the first item after a 目录."""
    keys = [toc_key(s)]
    inline = inline_headline(unmark(s))
    if inline:
        keys.append(toc_key(inline[0]))
    keys.extend(toc_key(h.headline) for h in head_candidates(s).values() if h.headline)
    return [k for k in keys if k]


def _repeats(keys: list[str], seen: list[str]) -> bool:
    for k in keys:
        for e in seen:
            if k == e or (min(len(k), len(e)) >= 6 and (k.startswith(e) or e.startswith(k))):
                return True
    return False


def _toc(paras: list[Para], i: int, found: Furniture) -> int:
    """Read 目录 entries from ``paras[i:]``; the index after the last entry."""
    start = i
    seen: list[str] = []
    by_repeat = False
    while i < len(paras):
        s = unmark(paras[i].text)
        if _repeats(_head_keys(paras[i].text), seen):
            by_repeat = True
            break
        if len(s) > 60 or "。" in s or not toc_key(s):
            break
        if section_name(s):
            nxt = paras[i + 1].text if i + 1 < len(paras) else ""
            if seen and _repeats(_head_keys(nxt), seen):  # the first column of items
                by_repeat = True
                break
        else:
            seen.append(toc_key(s))
            found.toc.append(_entry_text(s))
        i += 1
    # Without a repeat, a title-like last "entry" followed by body text is the first headline.
    if not by_repeat and i - start >= 3 and i < len(paras) and found.toc:
        nxt = unmark(paras[i].text)
        if is_title(unmark(paras[i - 1].text)) and not is_title(nxt) and not inline_headline(nxt):
            found.toc.pop()
            i -= 1
    return max(i, start)


def _entry_text(s: str) -> str:
    """A 目录 entry without its number, leaders and page number."""
    s = re.sub(r"[.…·．\s]{3,}\s*\d{1,3}$|\s+\d{1,3}$", "", s).strip()
    s = re.sub(
        r"^(?:[★☆●○◆◇■□▲△►▶※·•\-—]\s*|[0-9]{1,2}[.、．]\s*|[一二三四五六七八九十]{1,3}[、.．]\s*"
        r"|[（(][0-9一二三四五六七八九十]{1,3}[）)]\s*)",
        "",
        s,
    )
    return s.strip("【】〖〗 ")


def _tail_kind(s: str) -> str | None:
    """``"strong"`` for footer lines, ``"weak"`` for lines that only go with them, else None."""
    pat = _patterns()
    if pat.tail.match(s) or _COPIES.search(s) or (_PRINTED.search(s) and find_date(s)):
        return "strong"
    people = pat.people.match(s)
    if people and len(s) <= 60:
        return "strong" if people.group("label") in _STRONG_PEOPLE else "weak"
    if _RULE.match(s) or (len(s) <= 20 and find_date(s)):
        return "weak"
    return None


def _people(s: str) -> dict[str, str]:
    """``"责任编辑：王芳 签发：李强"`` -> ``{"责任编辑": "王芳", "签发": "李强"}``."""
    labels = label_pattern(layout_cues().tail_people_labels)
    found = list(re.finditer(rf"(?P<label>{labels})\s*[：:]\s*", s))
    out = {}
    for m, nxt in zip(found, [*found[1:], None], strict=True):
        out[m.group("label")] = s[m.end() : nxt.start() if nxt else len(s)].strip()
    return out


def _tail(paras: list[Para], first: int, found: Furniture) -> int:
    """Record the footer block at the end; the index after the last content paragraph."""
    j = len(paras)
    while j > first and _tail_kind(unmark(paras[j - 1].text)):
        j -= 1
    run = paras[j:]
    strong = next((k for k, p in enumerate(run) if _tail_kind(unmark(p.text)) == "strong"), None)
    if strong is None:
        return len(paras)
    run = run[strong:]
    pat = _patterns()
    for p in run:
        s = unmark(p.text)
        copies = _COPIES.search(s)
        people = pat.people.match(s)
        if pat.tail.match(s):
            found.distribution.append(s)
        elif copies:
            found.copies = int(copies.group("n"))
        elif people:
            found.people.update(_people(s))
    found.spans.append((run[0].start, run[-1].end, "tail"))
    return j + strong
