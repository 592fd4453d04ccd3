"""Candidates: every township (with its villages) an item could be placed in.

The second stage of the geocoder (:mod:`geo.geocode`). From the mentions of
:mod:`geo.place_names` in the reporting unit, the headline and the body, each township of the
county that is named — in full, short (濮城 for 濮城镇), with a slip of suffix (东岳乡 for
东岳镇, 陈店镇 for 陈店乡), through a renamed unit's old name, through one of its villages, or
through the alias table or a county rule (landmarks, natural villages) — becomes a
:class:`TownCandidate` holding every mention that backs it. Names right after another county's
name belong to that county and back nothing; a village name shared by several townships backs
one only when the text settles which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from geo.gazetteer import Gazetteer
from geo.models import Item
from geo.place_names import Mention, PreparedText, prepare_text, scan_field
from geo.place_rules import CountyRules, PlaceRule

__all__ = [
    "FIELDS",
    "Candidates",
    "ItemText",
    "TownCandidate",
    "Use",
    "collect_candidates",
    "read_item",
]

#: The fields of an item, in the order they are trusted.
FIELDS = ("unit", "headline", "body")
_SENTENCE_END = re.compile("[。！？!?\n]")
#: Only this far into the body does a first sentence count as the lead.
_LEAD_MAX = 150
_SUFFIX_OF_TYPE = {"乡": "乡", "镇": "镇", "街道": "街"}


@dataclass(frozen=True)
class ItemText:
    """An item's fields as matched, their mentions, and where the body's lead sentence ends.

    ``named`` holds the codes of the townships and villages named in full somewhere in the
    item: their bare stems then count anywhere (閔莊 after 閔莊村, 北界 after 北界镇).
    """

    fields: dict[str, PreparedText]
    mentions: dict[str, list[Mention]]
    lead_end: int
    unit: str
    named: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Use:
    """One mention backing a township or village.

    ``form`` is how the place is written: ``full`` (a gazetteer name), ``short`` (the stem
    without suffix), ``slip`` (the stem with the other suffix), ``alias`` (the alias table),
    ``rule`` (a county rule), ``village`` (a village name) or ``stem`` (a village without 村).
    ``end`` is the end of the name in the prepared field (a slip includes its suffix).
    """

    field: str
    index: int
    form: str
    code: str
    end: int


@dataclass
class TownCandidate:
    """A township the item could be placed in, and every mention that backs it."""

    code: str
    name: str
    type: str
    uses: list[Use] = field(default_factory=list)
    village_uses: dict[str, list[Use]] = field(default_factory=dict)
    unit: str = ""
    unit_rule: PlaceRule | None = None

    def all_uses(self) -> list[Use]:
        """Township and village mentions together, in text order per field."""
        out = list(self.uses)
        for uses in self.village_uses.values():
            out.extend(uses)
        return out


@dataclass
class Candidates:
    """Township candidates of one item and what was set aside, for the evidence."""

    towns: dict[str, TownCandidate]
    rejected: list[tuple[str, int, str, str]] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    county_named: list[tuple[str, int]] = field(default_factory=list)


def read_item(item: Item, gaz: Gazetteer, *, rules: CountyRules | None = None) -> ItemText:
    """Prepare and scan the reporting unit (its first word), the headline and the body."""
    unit = (item.unit or "").strip()
    unit = re.split(r"\s+", unit)[0] if unit else ""
    raw = {"unit": unit, "headline": item.headline or "", "body": item.body or ""}
    fields = {k: prepare_text(v) for k, v in raw.items()}
    mentions = {k: scan_field(fields[k], gaz, k, rules=rules) for k in FIELDS}
    body = fields["body"].simple
    stop = _SENTENCE_END.search(body, 0, _LEAD_MAX)
    lead_end = stop.start() if stop else min(len(body), _LEAD_MAX)
    named = {
        code
        for ms in mentions.values()
        for m in ms
        for e in m.entries
        if e.kind in ("township", "village")
        for code in e.codes
    }
    return ItemText(fields, mentions, lead_end, unit, frozenset(named))


# --------------------------------------------------------------------------- townships


def _township_use(text: ItemText, fname: str, i: int, gaz: Gazetteer) -> Use | None:
    """How mention ``i`` names a township, or None when it cannot count as one."""
    m = text.mentions[fname][i]
    entry = m.township_entry()
    town = gaz.township_by_code(entry.codes[0])
    if town is None:
        return None
    if entry.origin in ("alias", "rule"):
        return Use(fname, i, entry.origin, town.code, m.end)
    if entry.kind == "township":
        return Use(fname, i, "full", town.code, m.end)
    simple = text.fields[fname].simple
    nxt = simple[m.end : m.end + 1]
    if nxt in ("乡", "镇") and nxt != _SUFFIX_OF_TYPE.get(town.type):
        return Use(fname, i, "slip", town.code, m.end + 1)  # 陈店镇 for our 陈店乡
    if nxt in ("乡", "镇", "街") or fname == "unit" or len(m.text) >= 3:
        return Use(fname, i, "short", town.code, m.end)
    if _short_stem_backed(text, fname, i, gaz, town.code):
        return Use(fname, i, "short", town.code, m.end)
    return None  # 路口, 淮河, 龙湖: two-character stems are common words


def _short_stem_backed(text: ItemText, fname: str, i: int, gaz: Gazetteer, code: str) -> bool:
    """A bare two-character stem counts in the headline, after the county's name (荥阳高村),
    or right before one of its villages (濮城王路庄)."""
    ms = text.mentions[fname]
    if fname == "headline" or code in text.named:
        return True
    prev = ms[ms[i].chained_after] if ms[i].chained_after is not None else None
    if prev is not None and (prev.entry("county") or prev.entry("context")):
        return True
    nxt = ms[i + 1] if i + 1 < len(ms) and ms[i + 1].chained_after == i else None
    if nxt is None:
        return False
    village = nxt.entry("village") or nxt.entry("village_stem")
    return village is not None and any(_town_of(gaz, c) == code for c in village.codes)


def _town_of(gaz: Gazetteer, village_code: str) -> str:
    v = gaz.village_by_code(village_code)
    return v.township_code if v else village_code[:9]


# --------------------------------------------------------------------------- villages


def _village_use(
    text: ItemText, fname: str, i: int, chain_town: str | None, gaz: Gazetteer
) -> tuple[Use, tuple[str, ...]] | None:
    """A village mention and the village codes it may stand for, or None."""
    m = text.mentions[fname][i]
    entry = m.entry("village")
    if entry is None:
        stem = m.entry("village_stem")
        if stem is None:
            return None
        # bare village stems only right after their township (白土店乡新庄), or where the
        # full name is in the item too (閔莊 … 閔莊村)
        if chain_town is not None:
            codes = tuple(c for c in stem.codes if _town_of(gaz, c) == chain_town)
        else:
            codes = tuple(c for c in stem.codes if c in text.named)
        return (Use(fname, i, "stem", codes[0], m.end), codes) if codes else None
    if len(m.text) <= 2 and chain_town is None and entry.origin == "gazetteer":
        return None  # 街村, 湾村: too short to trust without the township before it
    codes = entry.codes
    if chain_town is not None:
        codes = tuple(c for c in codes if _town_of(gaz, c) == chain_town) or codes
    form = entry.origin if entry.origin in ("alias", "rule") else "village"
    return Use(fname, i, form, codes[0], m.end), codes


# --------------------------------------------------------------------------- collecting


def _candidate(cands: Candidates, gaz: Gazetteer, code: str) -> TownCandidate:
    if code not in cands.towns:
        t = gaz.township_by_code(code)
        cands.towns[code] = TownCandidate(code, t.name, t.type)
    return cands.towns[code]


def _is_local(m: Mention) -> bool:
    return m.township_entry() is not None or m.entry("village") or m.entry("village_stem")


def _scan_field(
    text: ItemText, fname: str, gaz: Gazetteer, cands: Candidates, pending: list
) -> None:
    """Sort one field's mentions into candidates, set-asides and pending shared villages."""
    ms = text.mentions[fname]
    chain_town: dict[int, str] = {}
    for i, m in enumerate(ms):
        prev = ms[m.chained_after] if m.chained_after is not None else None
        if m.entry("outside"):
            if m.entry("outside").name not in cands.outside:
                cands.outside.append(m.entry("outside").name)
            continue
        if m.entry("county"):
            cands.county_named.append((fname, i))
            continue
        if not _is_local(m):
            continue
        if prev is not None and prev.entry("outside"):
            cands.rejected.append((fname, i, _kind(m), "紧跟外县地名，属外县"))
            continue
        village_first = m.entry("village") is not None and m.entry("township") is None
        if m.township_entry() and not village_first:
            use = _township_use(text, fname, i, gaz)
            if use is not None:
                _candidate(cands, gaz, use.code).uses.append(use)
                chain_town[i] = use.code
            continue
        found = _village_use(text, fname, i, chain_town.get(m.chained_after), gaz)
        if found is None:
            continue
        use, codes = found
        towns = {_town_of(gaz, c) for c in codes}
        if len(codes) == 1 or (len(towns) == 1 and chain_town.get(m.chained_after)):
            _add_village(cands, gaz, use)
        else:
            pending.append((use, codes))


def _kind(m: Mention) -> str:
    return "township" if m.township_entry() and not m.entry("village") else "village"


def _add_village(cands: Candidates, gaz: Gazetteer, use: Use) -> None:
    cand = _candidate(cands, gaz, _town_of(gaz, use.code))
    cand.village_uses.setdefault(use.code, []).append(use)


def _settle_shared_villages(cands: Candidates, gaz: Gazetteer, pending: list) -> None:
    """A name shared by several villages backs the one whose township the text names."""
    named = {code for code, c in cands.towns.items() if c.uses}
    for use, codes in pending:
        inside = [c for c in codes if _town_of(gaz, c) in named]
        if len(inside) == 1:
            _add_village(cands, gaz, Use(use.field, use.index, use.form, inside[0], use.end))
        else:
            cands.rejected.append((use.field, use.index, "village", "多个同名村，无法确定"))


def collect_candidates(
    text: ItemText, gaz: Gazetteer, *, rules: CountyRules | None = None
) -> Candidates:
    """Township candidates of one item with the mentions that back them.

    Parameters
    ----------
    text : ItemText
        From :func:`read_item`.
    gaz : Gazetteer
        The item's county.
    rules : CountyRules, optional
        A ``unit`` rule for the item's reporting unit makes its township a candidate named by
        the unit (alias and landmark rules are already among the mentions).

    Returns
    -------
    Candidates
    """
    cands = Candidates(towns={})
    pending: list = []
    for fname in FIELDS:
        _scan_field(text, fname, gaz, cands, pending)
    _settle_shared_villages(cands, gaz, pending)
    for cand in cands.towns.values():
        from_unit = [u for u in cand.all_uses() if u.field == "unit"]
        if from_unit:
            cand.unit = "township" if any(u in cand.uses for u in from_unit) else "village"
    rule = rules.unit_rule(text.unit) if rules else None
    if rule is not None and gaz.township_by_code(rule.township_code) is not None:
        for cand in cands.towns.values():
            cand.unit = ""  # the reviewer's rule says which township this unit is
        cand = _candidate(cands, gaz, rule.township_code)
        cand.unit, cand.unit_rule = "rule", rule
    return cands
