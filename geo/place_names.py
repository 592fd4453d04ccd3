"""Place names in text: every gazetteer, alias-table and county-rule name found in one field.

The first stage of the geocoder (:mod:`geo.geocode`). Names are matched leftmost-longest
with one Aho-Corasick automaton per county: its townships with their aliases, villages,
village stems, the shipped alias table ``data/gazetteer/place_aliases.csv`` and the county's own
names, then every other county, city, province and region of China (which marks a place as
*outside* the county). A reviewer's county rules (:mod:`geo.place_rules`) are found
by plain search and win over a gazetteer name on the same span.

Text is read through a same-length simplified copy (traditional characters, pinyin glosses
blanked) with spaces between Chinese characters removed, so offsets map back to the original.
"""

from __future__ import annotations

import csv
import functools
import json
import re
from collections import defaultdict
from dataclasses import dataclass

import ahocorasick

from geo.gazetteer import (
    _GENERIC_NAMES,
    DATA_DIR,
    Gazetteer,
    _counties,
    _short_region,
    mask_pinyin_glosses,
    simplify_chars,
    township_key,
)
from geo.place_rules import CountyRules

__all__ = [
    "ALIAS_TABLE",
    "Mention",
    "NameEntry",
    "PreparedText",
    "alias_rows",
    "cues",
    "find_places",
    "prepare_text",
    "scan_field",
]

#: The shipped alias table: natural villages, landmarks and customary short forms, each sourced.
ALIAS_TABLE = DATA_DIR / "place_aliases.csv"
_ALIAS_KINDS_ZH = {"natural_village": "自然村", "landmark": "地标", "short_form": "简称"}
#: Entry kinds that name a township or village of the county.
LOCAL_KINDS = ("township", "township_stem", "village", "village_stem")


@dataclass(frozen=True)
class NameEntry:
    """What one matched name can stand for.

    ``kind`` is ``township``, ``township_stem`` (a township name without its suffix),
    ``village``, ``village_stem`` (a village without 村/社区), ``county`` (the item's own
    county), ``context`` (its city or province) or ``outside`` (another county, city, province
    or region). ``origin`` says where the name comes from: ``gazetteer``, ``alias`` (the alias
    table, ``ref`` = its row) or ``rule`` (a county rule, ``ref`` = its id).
    """

    kind: str
    codes: tuple[str, ...]
    name: str
    origin: str = "gazetteer"
    ref: str = ""
    label: str = ""


@dataclass
class Mention:
    """One place name found in one field of an item (offsets into the prepared text).

    ``chained_after`` is the index of the mention this one directly follows (白土店乡新庄村,
    also across a 的: 官陂镇的公田村).
    """

    field: str
    start: int
    end: int
    text: str
    entries: tuple[NameEntry, ...]
    chained_after: int | None = None

    def entry(self, kind: str) -> NameEntry | None:
        """The first entry of this ``kind`` behind the name, or None."""
        return next((e for e in self.entries if e.kind == kind), None)

    def township_entry(self) -> NameEntry | None:
        """The township (full name or stem) the name stands for, or None."""
        return self.entry("township") or self.entry("township_stem")


@dataclass(frozen=True)
class PreparedText:
    """A field as matched: ``simple`` (simplified, compacted) and the original with its index."""

    original: str
    simple: str
    index: tuple[int, ...] | None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Offsets in ``simple`` mapped to offsets in ``original``."""
        if self.index is None or start >= end:
            return start, end
        return self.index[start], self.index[end - 1] + 1


# --------------------------------------------------------------------------- data


@functools.lru_cache(maxsize=1)
def cues() -> dict:
    """Word lists of ``data/gazetteer/geocode_cues.json`` (roles, county words, list joiners)."""
    with open(DATA_DIR / "geocode_cues.json", encoding="utf-8") as fh:
        return json.load(fh)


@functools.lru_cache(maxsize=1)
def alias_rows() -> dict[str, tuple[dict, ...]]:
    """Rows of the alias table grouped by county code (comment lines skipped)."""
    out: dict[str, list[dict]] = defaultdict(list)
    if ALIAS_TABLE.exists():
        with open(ALIAS_TABLE, encoding="utf-8") as fh:
            rows = csv.DictReader(line for line in fh if not line.startswith("#"))
            for n, row in enumerate(rows, 1):
                out[row["county_code"]].append({**row, "row": str(n)})
    return {k: tuple(v) for k, v in out.items()}


_HAN_GAP_RE = re.compile(r"(?<=[\u4e00-\u9fff])[ \t\u3000\u00a0]+(?=[\u4e00-\u9fff])")


def prepare_text(text: str) -> PreparedText:
    """``text`` read as simplified characters without spaces between Chinese characters.

    Spaces inside names (白 土 店 乡) come from PDF justification; the index maps every
    character of the compact text back to the original.
    """
    original = text or ""
    simple = simplify_chars(mask_pinyin_glosses(original))
    gaps = [m.span() for m in _HAN_GAP_RE.finditer(simple)]
    if not gaps:
        return PreparedText(original, simple, None)
    index: list[int] = []
    prev = 0
    for start, end in gaps:
        index.extend(range(prev, start))
        prev = end
    index.extend(range(prev, len(simple)))
    return PreparedText(original, _HAN_GAP_RE.sub("", simple), tuple(index))


# --------------------------------------------------------------------------- automata


@functools.lru_cache(maxsize=1)
def _national_places() -> dict[str, tuple[tuple[str, str], ...]]:
    """Every county, city, province and region of China: ``name -> ((code, kind), ...)``."""
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for r in _counties().itertuples(index=False):
        if r.name not in _GENERIC_NAMES and len(r.name) >= 2:
            found[r.name].add((r.code, "county"))
        for former in filter(None, r.former_names.split("|")):
            found[former].add((r.code, "county"))
    with open(DATA_DIR / "cities.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["name"] in _GENERIC_NAMES:
                continue
            found[r["name"]].add((r["code"], "city"))
            short = _short_region(r["name"])
            if short != r["name"] and len(short) >= 2:
                found[short].add((r["code"], "city"))
    with open(DATA_DIR / "outside_regions.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            found[r["name"]].add(("", "region"))
    return {name: tuple(sorted(codes)) for name, codes in found.items()}


@functools.lru_cache(maxsize=1)
def _outside_names() -> dict[str, tuple[frozenset[str], NameEntry]]:
    """Every national name with the codes that own it (a county's own code, or its city's or
    province's, keeps the name from being outside) and its one ``outside`` entry."""
    out = {}
    for name, codes in _national_places().items():
        owners = frozenset(code for code, kind in codes if kind in ("county", "city") and code)
        first = codes[0][0]
        out[name] = (owners, NameEntry("outside", (first,) if first else (), name))
    return out


def _township_entries(gaz: Gazetteer, add) -> None:
    placeable = tuple(cues()["placeable_other_suffixes"])
    for t in gaz.townships:
        if t.type == "other":
            # Zones and farms named 工业园区 or 农场 are not places an item happens in.
            suffix = next((x for x in placeable if t.name.endswith(x)), None)
            if suffix is None or len(t.name) - len(suffix) < 2:
                continue
        add(t.name, NameEntry("township", (t.code,), t.name))
        for alias in t.aliases:
            stem_only = alias == township_key(t.name) or alias == township_key(alias)
            kind = "township_stem" if stem_only else "township"
            add(alias, NameEntry(kind, (t.code,), t.name))


def _village_entries(gaz: Gazetteer, add) -> None:
    by_name: dict[str, list[str]] = defaultdict(list)
    stems: dict[str, list[str]] = defaultdict(list)
    for v in gaz.villages:
        for name in {v.name, v.full_name, *v.aliases}:
            # 王村村 (王村 written with 村 again) is found as 王村 + 村, so that 王村村民 still
            # reads as 王村 + 村民
            if name == v.name or not name.endswith("村村"):
                by_name[name].append(v.code)
        # Bare stems (新庄 for 新庄村, 大新庄 for 大新庄社区) count only right after their
        # township; two-character 社区 stems (北街, 东关) are street names even there.
        if v.name.endswith("村") and len(v.name) >= 3:
            stems[v.name[:-1]].append(v.code)
        elif v.name.endswith("社区") and len(v.name) >= 5:
            stems[v.name[:-2]].append(v.code)
    for name, codes in by_name.items():
        add(name, NameEntry("village", tuple(codes), name))
    for stem, codes in stems.items():
        add(stem, NameEntry("village_stem", tuple(codes), stem))


def _alias_entries(gaz: Gazetteer, add) -> None:
    """Rows of the alias table: a landmark or natural village stands for its village or
    township; a customary short form (颍回镇) for its township."""
    for row in alias_rows().get(gaz.county_code, ()):
        village = row.get("village_code") or ""
        label = f"别名表第 {row['row']} 行（{_ALIAS_KINDS_ZH.get(row['kind'], row['kind'])}）"
        if village and gaz.village_by_code(village) is not None:
            entry = NameEntry("village", (village,), row["alias"], "alias", row["row"], label)
        elif gaz.township_by_code(row["township_code"]) is not None:
            code = row["township_code"]
            entry = NameEntry("township", (code,), row["alias"], "alias", row["row"], label)
        else:
            continue  # a row for a unit this build of the gazetteer does not hold
        add(row["alias"], entry)


@functools.lru_cache(maxsize=64)  # a few MB each; an evaluation run visits ~200 counties
def _county_automaton(gaz: Gazetteer) -> ahocorasick.Automaton:
    """The county's own names and every outside place, one automaton per county."""
    entries: dict[str, dict[NameEntry, None]] = defaultdict(dict)

    def add(key: str, entry: NameEntry) -> None:
        if key:
            entries[key][entry] = None

    _township_entries(gaz, add)
    _village_entries(gaz, add)
    _alias_entries(gaz, add)
    for name in gaz.own_names():
        add(name, NameEntry("county", (gaz.county_code,), gaz.county_name))
    context = {gaz.city, _short_region(gaz.city), gaz.province, _short_region(gaz.province)}
    for name in context - {""}:
        add(name, NameEntry("context", (), name))
    # Outside places last: a name of the county's own (a village called 新县村, the county's
    # city under another spelling) is never read as outside.
    own = {gaz.county_code, gaz.county_code[:4], gaz.county_code[:2]}
    for name, (codes, entry) in _outside_names().items():
        if name not in entries and not codes & own:
            entries[name] = {entry: None}
    auto = ahocorasick.Automaton()
    for key, found in entries.items():
        auto.add_word(key, (key, tuple(found)))
    auto.make_automaton()
    return auto


# --------------------------------------------------------------------------- matching


def _rule_hits(simple: str, rules: CountyRules | None) -> list[tuple[int, int, NameEntry]]:
    hits = []
    for rule in rules.text_rules() if rules else ():
        key = rule.match_text
        entry = NameEntry(
            rule.entry_kind, (rule.target_code,), rule.text, "rule", str(rule.id), rule.label
        )
        for m in re.finditer(re.escape(key), simple):
            hits.append((m.start(), m.end(), entry))
    return hits


def _spans(simple: str, gaz: Gazetteer, rules: CountyRules | None) -> list[tuple]:
    """Candidate spans ``(start, -length, priority, end, key, entries)``: the automaton's
    leftmost-longest names, and the county rules' names (which win on an equal span)."""
    spans = [
        (end - len(key) + 1, -len(key), 1, end + 1, key, found)
        for end, (key, found) in _county_automaton(gaz).iter_long(simple)
    ]
    hits = _rule_hits(simple, rules)
    if not hits:
        return spans
    for start, end, entry in hits:
        spans.append((start, -(end - start), 0, end, simple[start:end], (entry,)))
    spans.sort(key=lambda s: s[:3])
    return spans


def scan_field(
    prepared: PreparedText, gaz: Gazetteer, field: str, *, rules: CountyRules | None = None
) -> list[Mention]:
    """Leftmost-longest, non-overlapping mentions in one prepared field.

    At one start the longest name wins; on an equal span a county rule beats the county's own
    names, which beat outside names.
    """
    simple = prepared.simple
    if not simple:
        return []
    out: list[Mention] = []
    taken = 0
    for start, _neg, _prio, end, key, found in _spans(simple, gaz, rules):
        if start < taken:
            continue
        out.append(Mention(field, start, end, key, tuple(found)))
        taken = end
    for i in range(1, len(out)):
        gap = simple[out[i - 1].end : out[i].start]
        if gap in ("", "的"):
            out[i].chained_after = i - 1
    return out


def find_places(
    text: str, gazetteer: Gazetteer, field: str = "body", *, rules: CountyRules | None = None
) -> list[Mention]:
    """All place names of ``gazetteer`` (and outside places) found in ``text``.

    Parameters
    ----------
    text : str
        Any text; traditional characters are read as simplified.
    gazetteer : Gazetteer
    field : str
        Field name recorded on each mention.
    rules : CountyRules, optional
        A reviewer's county rules; their names are found too.

    Returns
    -------
    list of Mention
        Offsets and ``text`` index the original ``text``.
    """
    prepared = prepare_text(text)
    mentions = scan_field(prepared, gazetteer, field, rules=rules)
    for m in mentions:
        m.start, m.end = prepared.span(m.start, m.end)
        m.text = prepared.original[m.start : m.end]
    return mentions
