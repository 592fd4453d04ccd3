"""Place one bulletin item: a village, a township, the whole county, or unknown.

The reporting unit (``Item.unit``), the headline and the body are trusted in that
order. Place names are found with one Aho-Corasick automaton per county (gazetteer
names and aliases, plus the national list of counties, cities, provinces and
regions that mark a place as *outside* the county). Each mention is weighed by
where and how it occurs -- after the county name (息县白土店乡), in a list of
participants (X乡、Y镇), inside a quotation, before a person's role (…村党支部书记) --
and the evidence is kept on the :class:`~geo.models.Place`.
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
    Village,
    _counties,
    _short_region,
    mask_pinyin_glosses,
    simplify_chars,
    township_key,
)
from geo.models import Evidence, Item, Place

__all__ = ["Mention", "find_places", "geocode_item"]

_MAX_EVIDENCE = 40


@dataclass(frozen=True)
class _Entry:
    kind: str  # township, township_stem, village, village_stem, county, context, outside
    codes: tuple[str, ...]
    name: str


@dataclass
class Mention:
    """One place name found in one field of an item (offsets into that field)."""

    field: str
    start: int
    end: int
    text: str
    entries: tuple[_Entry, ...]
    weight: float = 0.0
    reason: str = ""
    chained_after: int | None = None  # index of the mention this one directly follows

    def entry(self, kind: str) -> _Entry | None:
        """The first gazetteer entry of this ``kind`` behind the name, or None."""
        return next((e for e in self.entries if e.kind == kind), None)


# --------------------------------------------------------------------------- data


@functools.lru_cache(maxsize=1)
def _cues() -> dict:
    with open(DATA_DIR / "geocode_cues.json", encoding="utf-8") as fh:
        return json.load(fh)


def _simplify(text: str) -> str:
    # Character-by-character so offsets into the original text stay valid.
    return simplify_chars(mask_pinyin_glosses(text))


@functools.lru_cache(maxsize=1)
def _national_places() -> tuple[tuple[str, str, str], ...]:
    """``(name, county_code or "", kind)`` for every county, city, province and region."""
    out: list[tuple[str, str, str]] = []
    for r in _counties().itertuples(index=False):
        if r.name not in _GENERIC_NAMES and len(r.name) >= 2:
            out.append((r.name, r.code, "county"))
        for former in filter(None, r.former_names.split("|")):
            out.append((former, r.code, "county"))
    with open(DATA_DIR / "cities.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["name"] in _GENERIC_NAMES:
                continue
            out.append((r["name"], r["code"], "city"))
            short = _short_region(r["name"])
            if short != r["name"] and len(short) >= 2:
                out.append((short, r["code"], "city"))
    with open(DATA_DIR / "outside_regions.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            out.append((r["name"], "", "region"))
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _automaton(gaz: Gazetteer) -> ahocorasick.Automaton:
    """One automaton per county: local names first, national outside names last."""
    entries: dict[str, list[_Entry]] = defaultdict(list)

    def add(key: str, entry: _Entry) -> None:
        if key and entry not in entries[key]:
            entries[key].append(entry)

    placeable = tuple(_cues()["placeable_other_suffixes"])
    for t in gaz.townships:
        if t.type == "other":
            # Zones and farms named 工业园区 or 农场 are not places an item happens in.
            suffix = next((x for x in placeable if t.name.endswith(x)), None)
            if suffix is None or len(t.name) - len(suffix) < 2:
                continue
        add(t.name, _Entry("township", (t.code,), t.name))
        for alias in t.aliases:
            stem_only = alias == township_key(t.name) or alias == township_key(alias)
            kind = "township_stem" if stem_only else "township"
            add(alias, _Entry(kind, (t.code,), t.name))
    by_name: dict[str, list[str]] = defaultdict(list)
    stems: dict[str, list[str]] = defaultdict(list)
    for v in gaz.villages:
        by_name[v.name].append(v.code)
        for other in {v.full_name, *v.aliases} - {v.name}:
            by_name[other].append(v.code)
        # Bare stems (新庄 for 新庄村, 大新庄 for 大新庄社区) count only right after their
        # township; two-character 社区 stems (北街, 东关) are street names even there.
        if v.name.endswith("村") and len(v.name) >= 3:
            stems[v.name[:-1]].append(v.code)
        elif v.name.endswith("社区") and len(v.name) >= 5:
            stems[v.name[:-2]].append(v.code)
    for name, codes in by_name.items():
        add(name, _Entry("village", tuple(codes), name))
    for stem, codes in stems.items():
        add(stem, _Entry("village_stem", tuple(codes), stem))
    own = {gaz.county_name, gaz.short_name if len(gaz.short_name) >= 2 else "", *gaz.former_names}
    own.discard("")
    for name in own:
        add(name, _Entry("county", (gaz.county_code,), gaz.county_name))
    context = {
        gaz.city,
        _short_region(gaz.city),
        gaz.province,
        _short_region(gaz.province),
    } - {""}
    for name in context:
        add(name, _Entry("context", (), name))
    local = set(entries)
    for name, code, kind in _national_places():
        if name in local or name in own or code == gaz.county_code:
            continue
        if code and (gaz.county_code.startswith(code) and kind == "city"):
            continue
        add(name, _Entry("outside", (code,) if code else (), name))
    auto = ahocorasick.Automaton()
    for key, lst in entries.items():
        auto.add_word(key, (key, tuple(lst)))
    auto.make_automaton()
    return auto


# --------------------------------------------------------------------------- matching


def _scan(text: str, auto: ahocorasick.Automaton, field: str) -> list[Mention]:
    """Leftmost-longest, non-overlapping matches in ``text``."""
    if not text:
        return []
    out = []
    for end, (key, entries) in auto.iter_long(text):
        out.append(Mention(field, end - len(key) + 1, end + 1, key, entries))
    return out


def find_places(text: str, gazetteer: Gazetteer, field: str = "body") -> list[Mention]:
    """All place names of ``gazetteer`` (and outside places) found in ``text``.

    Parameters
    ----------
    text : str
        Any text; traditional characters are read as simplified.
    gazetteer : Gazetteer
    field : str
        Field name recorded on each mention.
    """
    original = text or ""
    simple, index = _compact(_simplify(original))
    mentions = _find(simple, gazetteer, field)
    if index:
        for m in mentions:
            m.start, m.end = index[m.start], index[m.end - 1] + 1
            m.text = original[m.start : m.end]
    return mentions


def _find(simple: str, gazetteer: Gazetteer, field: str) -> list[Mention]:
    mentions = _scan(simple, _automaton(gazetteer), field)
    for i in range(1, len(mentions)):
        if mentions[i - 1].end == mentions[i].start:
            mentions[i].chained_after = i - 1
    return mentions


#: How far back an opening quote is looked for: quotations run a sentence or two, and a bound
#: keeps the check linear on a text that is one huge paragraph.
_QUOTE_LOOKBACK = 1000


def _in_quotes(text: str, pos: int) -> bool:
    # An odd number of opening quotes before ``pos`` on the same paragraph.
    para_start = max(
        text.rfind("\n", max(0, pos - _QUOTE_LOOKBACK), pos) + 1, pos - _QUOTE_LOOKBACK
    )
    before = text[para_start:pos]
    for open_q, close_q in _cues()["quote_pairs"]:
        if open_q == close_q:
            if before.count(open_q) % 2 == 1:
                return True
        elif before.count(open_q) > before.count(close_q):
            return True
    return False


def _followed_by(text: str, pos: int, words: list[str]) -> str | None:
    if text.startswith("的", pos):  # 新庄村的村民
        pos += 1
    for w in sorted(words, key=len, reverse=True):
        if text.startswith(w, pos):
            return w
    return None


def _in_list(text: str, ms: list[Mention], i: int, kinds: tuple[str, ...]) -> bool:
    """Mention ``i`` is joined to another mention of the same kind by 、/和/及/与."""
    joiners = _cues()["list_joiners"]
    m = ms[i]

    def of_kind(x: Mention) -> bool:
        return any(e.kind in kinds for e in x.entries)

    for j in (i - 1, i + 1):
        if 0 <= j < len(ms) and of_kind(ms[j]):
            a, b = (ms[j], m) if j < i else (m, ms[j])
            gap = text[a.end : b.start]
            # Allow a suffix between a stem and the joiner (白土店、小茴店等乡镇).
            if gap in joiners or (len(gap) <= 2 and gap.endswith("、")):
                return True
    # "白土店乡等乡镇": an example from a longer list.
    return text.startswith(tuple(_cues()["list_enders"]), m.end)


_VILLAGE_TAIL_RE = re.compile(r"[\u4e00-\u9fff]{1,5}?(?:村|社区|组)")


def _address_of_person(text: str, pos: int, roles: list[str]) -> str | None:
    """慎水乡刘冢村村民, 黄寺岗乡邓寨村养殖户王某: the township is a person's address."""
    m = _VILLAGE_TAIL_RE.match(text, pos)
    if m is None:
        return None
    return _role_after(text, m.end(), roles)


def _role_after(text: str, pos: int, roles: list[str]) -> str | None:
    """A person role at ``pos``, allowing a two-character trade before it (甲鱼养殖户).

    A named speaker (新庄村的王小明说) counts as a person too.
    """
    for verb in _cues()["speech_verbs"]:
        if re.match(r"的[\u4e00-\u9fff]{2,3}" + re.escape(verb), text[pos : pos + 6 + len(verb)]):
            return "named speaker"
    for skip in range(3):
        if skip and not ("\u4e00" <= text[pos + skip - 1 : pos + skip] <= "\u9fff"):
            return None
        role = _followed_by(text, pos + skip, roles)
        if role:
            if not skip and _collective_at_work(text, pos + len(role), role):
                return None
            return role
    return None


def _collective_at_work(text: str, pos: int, role: str) -> bool:
    """罗沟村村民正在村头务工: an unnamed group at work there marks the site, not an address."""
    cues = _cues()
    if role not in cues.get("collective_roles", []):
        return False
    return _followed_by(text, pos, cues.get("collective_activity_after", [])) is not None


def _after_home_word(text: str, pos: int, ms: list[Mention], i: int, words: list[str]) -> bool:
    """家住白土店乡新庄村的某某: the place (or the chain it ends) is where someone lives."""
    while i > 0 and ms[i].chained_after is not None:
        i = ms[i].chained_after
        pos = ms[i].start
    return any(text.endswith(w, 0, pos) for w in words)


_SENTENCE_END = re.compile("[。！？!?\n]")
#: The longest sentence looked through (bounded so that a huge item stays linear).
_SENTENCE_MAX = 500


def _is_example(text: str, pos: int) -> bool:
    """The place is called an example (缩影) of something wider in the same sentence."""
    end = _SENTENCE_END.search(text, pos, pos + _SENTENCE_MAX)
    stop = end.start() if end else min(len(text), pos + _SENTENCE_MAX)
    return any(w in text[pos:stop] for w in _cues()["example_words"])


# --------------------------------------------------------------------------- deciding


@functools.lru_cache(maxsize=64)
def _county_body_re(gaz: Gazetteer) -> re.Pattern:
    names = "|".join(re.escape(n) for n in {gaz.county_name, gaz.short_name + "县"} if n)
    city = "|".join(re.escape(n) for n in {gaz.city, _short_region(gaz.city)} if n)
    endings = "|".join(re.escape(e) for e in _cues()["county_body_endings"])
    city_prefix = f"(?:{city})?" if city else ""
    return re.compile(
        rf"^{city_prefix}(?:{names}|县)\S{{0,16}}?(?:{endings})|(?:{names})\S{{0,8}}(?:{endings})$"
    )


def _is_county_body(unit: str, unit_mentions: list[Mention], gaz: Gazetteer) -> bool:
    """县人社局, 息县供电公司, 信阳市生态环境局息县分局: a county-level reporting body."""
    if any(_township_of(m) or m.entry("village") for m in unit_mentions):
        return False
    return bool(_county_body_re(gaz).search(unit))


_HAN_GAP_RE = re.compile(r"(?<=[\u4e00-\u9fff])[ \t\u3000\u00a0]+(?=[\u4e00-\u9fff])")


def _compact(text: str) -> tuple[str, list[int] | None]:
    """``text`` without spaces between Chinese characters (白 土 店 乡 from PDF justification).

    Returns the compact text and, if anything was removed, the original offset of each
    of its characters.
    """
    gaps = [m.span() for m in _HAN_GAP_RE.finditer(text)]
    if not gaps:
        return text, None
    index: list[int] = []
    prev = 0
    for start, end in gaps:
        index.extend(range(prev, start))
        prev = end
    index.extend(range(prev, len(text)))
    return _HAN_GAP_RE.sub("", text), index


def _evidence(
    m: Mention, src: tuple[str, list[int] | None], kind: str, reason: str, used: bool
) -> Evidence:
    original, index = src
    start, end = (index[m.start], index[m.end - 1] + 1) if index else (m.start, m.end)
    return Evidence(original[start:end], m.field, start, end, kind, reason, used)


def _township_of(m: Mention) -> _Entry | None:
    return m.entry("township") or m.entry("township_stem")


def geocode_item(item: Item, gazetteer: Gazetteer | None) -> Place:
    """Decide where one item happens.

    Parameters
    ----------
    item : Item
        Uses ``unit``, ``headline`` and ``body``.
    gazetteer : Gazetteer or None
        The bulletin's county. Without it the item is ``unknown`` (only outside
        places are recorded).

    Returns
    -------
    Place
        ``scope`` is ``village`` (village and its township set), ``township``,
        ``county`` (county-wide or several townships with equal weight) or ``unknown``.
    """
    if gazetteer is None:
        return Place(scope="unknown")
    gaz = gazetteer
    cues = _cues()
    unit = (item.unit or "").strip()
    unit = re.split(r"\s+", unit)[0] if unit else ""
    fields = {"unit": unit, "headline": item.headline or "", "body": item.body or ""}
    simple: dict[str, str] = {}
    srcs: dict[str, tuple[str, list[int] | None]] = {}
    for k, v in fields.items():
        simple[k], index = _compact(_simplify(v))
        srcs[k] = (v, index)
    mentions = {k: _find(v, gaz, k) for k, v in simple.items()}

    place = Place(county=gaz.county_name, county_code=gaz.county_code)
    evidence: list[Evidence] = []
    outside: list[str] = []
    county_signal = False

    # Per-township and per-village weights, with the mentions behind them.
    t_weight: dict[str, float] = defaultdict(float)
    t_full: dict[str, int] = defaultdict(int)  # plain (full-weight) body mentions
    headline_towns: set[str] = set()
    example_towns: set[str] = set()  # called a 缩影 of the county: the item is wider
    example_villages: set[str] = set()
    unit_town: str | None = None
    unit_village: tuple[str, ...] | None = None
    # (mention, field, weight, township it follows, village entry, reason)
    v_mentions: list[tuple[Mention, str, float, str | None, _Entry, str]] = []
    codes_of: dict[int, str] = {}  # id(evidence) -> township or village code it names

    if unit and _is_county_body(simple["unit"], mentions["unit"], gaz):
        county_signal = True
        evidence.append(
            Evidence(unit, "unit", 0, len(unit), "county_body", "county body reports", True)
        )

    for fname in ("unit", "headline", "body"):
        text, ms = simple[fname], mentions[fname]
        for i, m in enumerate(ms):
            prev = ms[m.chained_after] if m.chained_after is not None else None
            if m.entry("outside"):
                # A local name right after another county's name belongs to that county.
                name = m.entry("outside").name
                if name not in outside:
                    outside.append(name)
                evidence.append(_evidence(m, srcs[fname], "outside", "outside the county", False))
                continue
            if m.entry("county") or m.entry("context"):
                if m.entry("county"):
                    county_signal = True
                    evidence.append(_evidence(m, srcs[fname], "county", "county named", True))
                continue
            after_outside = prev is not None and prev.entry("outside") is not None
            tow = _township_of(m)
            vil = m.entry("village")
            if tow and not vil:
                is_stem = m.entry("township") is None
                if after_outside:
                    evidence.append(
                        _evidence(m, srcs[fname], "township", "name of another county", False)
                    )
                    continue
                if is_stem and fname != "unit":
                    # Bare stems (路口, 淮河, 龙湖) are common words: count only with a suffix word.
                    nxt = text[m.end : m.end + 1]
                    if len(m.text) < 3 and nxt not in ("乡", "镇", "街"):
                        continue
                    unit_type = gaz.township_by_code(tow.codes[0]).type
                    if nxt == "镇" and unit_type == "乡":
                        continue  # 陈店镇 is another county's town, not our 陈店乡
                code = tow.codes[0]
                if fname == "unit":
                    unit_town = code
                    evidence.append(_evidence(m, srcs[fname], "township", "reporting unit", True))
                    codes_of[id(evidence[-1])] = code
                    continue
                w = 3.0 if fname == "headline" else 1.0
                reason = "headline" if fname == "headline" else "body"
                if prev is not None and prev.entry("county"):
                    w += 1.0
                    reason += ", after county name"
                if fname == "body" and "。" not in text[: m.start] and m.start < 120:
                    w += 0.5
                    reason += ", lead sentence"
                if _in_list(text, ms, i, ("township", "township_stem")):
                    w = 0.0
                    reason += ", in a list of townships"
                elif _is_example(text, m.end):
                    w = 0.0
                    reason += ", an example of a wider trend"
                    example_towns.add(code)
                elif role := _address_of_person(text, m.end, cues["person_roles"]):
                    w *= 0.25
                    reason += f", address of a person ({role})"
                elif _after_home_word(text, m.start, ms, i, cues["home_words"]):
                    w *= 0.25
                    reason += ", a person's home (家住…)"
                elif _in_quotes(text, m.start):
                    w *= 0.5
                    reason += ", in a quotation"
                if is_stem:
                    w *= 0.5
                if fname == "headline" and w > 0:
                    headline_towns.add(code)
                if fname == "body" and w >= 1.0:
                    t_full[code] += 1
                t_weight[code] += w
                evidence.append(_evidence(m, srcs[fname], "township", reason, w > 0))
                codes_of[id(evidence[-1])] = code
                continue
            if vil or m.entry("village_stem"):
                chain_town = _township_of(prev) if prev is not None else None
                if vil is None:
                    # Bare village names only directly after their township (白土店乡新庄).
                    if chain_town is None:
                        continue
                    vil = m.entry("village_stem")
                    codes = tuple(c for c in vil.codes if _vt(gaz, c) == chain_town.codes[0])
                    if not codes:
                        continue
                    vil = _Entry("village", codes, gaz.village_by_code(codes[0]).name)
                if after_outside:
                    evidence.append(
                        _evidence(m, srcs[fname], "village", "name of another county", False)
                    )
                    continue
                if len(m.text) <= 2 and chain_town is None:
                    continue  # 街村, 湾村: too short to trust without the township before it
                if fname == "unit":
                    unit_village = vil.codes
                    evidence.append(_evidence(m, srcs[fname], "village", "reporting unit", True))
                    continue
                w = 3.0 if fname == "headline" else 1.0
                reason = fname
                if chain_town is not None:
                    w += 1.0
                    reason += ", after township name"
                role = _role_after(text, m.end, cues["person_roles"])
                if _in_list(text, ms, i, ("village",)):
                    w = 0.0
                    reason += ", in a list of villages"
                elif _is_example(text, m.end):
                    w = 0.0
                    reason += ", an example of a wider trend"
                    example_towns.update(
                        {chain_town.codes[0]} if chain_town else {_vt(gaz, c) for c in vil.codes}
                    )
                    example_villages.update(vil.codes)
                elif role:
                    w *= 0.25
                    reason += f", before a person ({role})"
                elif _after_home_word(text, m.start, ms, i, cues["home_words"]):
                    # Too weak to place the item, but still one of the villages named.
                    w = min(w, 1.0)
                    reason += ", a person's home (家住…)"
                elif _in_quotes(text, m.start):
                    w *= 0.5
                    reason += ", in a quotation"
                v_mentions.append(
                    (m, fname, w, chain_town.codes[0] if chain_town else None, vil, reason)
                )

    county_unit = any(e.kind == "county_body" for e in evidence)
    # A village of an already-named township backs it (鄢岗镇 … 山坎村秋月梨).
    for _m, _f, w, chain_town, vil, _r in v_mentions:
        towns = {chain_town} if chain_town else {_vt(gaz, c) for c in vil.codes}
        if w >= 1.0 and not chain_town and len(towns) == 1:
            town = towns.pop()
            if t_weight.get(town, 0.0) > 0:
                t_weight[town] += 0.5
    headline_county = any(m.entry("county") for m in mentions["headline"])
    for code in example_towns - headline_towns:
        t_weight[code] = 0.0
    # Words like 该乡/全镇 back a single township candidate.
    alive = [c for c, w in t_weight.items() if w > 0]
    if len(alive) == 1:
        kind = gaz.township_by_code(alive[0]).type
        words = cues["same_township_words"].get(kind, [])
        body = simple["body"]
        if any(w in body for w in words):
            t_weight[alive[0]] += 1.0
    if any(w in simple["body"] or w in simple["headline"] for w in cues["county_words"]):
        county_signal = True

    # ---- township
    township: str | None = None
    t_reason = ""
    if unit_town:
        township, t_reason = unit_town, "reporting unit"
    elif unit_village:
        towns = {_vt(gaz, c) for c in unit_village}
        if len(towns) == 1:
            township, t_reason = towns.pop(), "reporting village"
    if township is None:
        township, t_reason = _choose_township(t_weight, headline_towns, county_unit)
        body_towns = [c for c, w in t_weight.items() if w > 0]
        if township and headline_county and not headline_towns and len(body_towns) > 1:
            # 郏县返乡创业结硕果: examples from several townships under a county headline.
            township, t_reason = None, ""
        elif (
            township is None
            and county_unit
            and len(body_towns) == 1
            and t_full.get(body_towns[0], 0) >= 2
            and not _has_county_scope(simple["body"], mentions["body"], cues["county_scope_words"])
        ):
            # A county station's report that goes to one township (一进入周河乡境内…在周河乡…)
            # and frames nothing county-wide is about that township.
            township, t_reason = body_towns[0], "only township, named twice"

    # ---- village
    village: Village | None = None
    scores: dict[str, float] = defaultdict(float)
    for m, fname, w, chain_town, vil, reason in v_mentions:
        codes = vil.codes
        if chain_town:
            codes = tuple(c for c in codes if _vt(gaz, c) == chain_town) or codes
        if township:
            in_town = tuple(c for c in codes if _vt(gaz, c) == township)
            if not in_town:
                evidence.append(
                    _evidence(m, srcs[fname], "village", "village of another township", False)
                )
                continue
            codes = in_town
        if len(codes) != 1:
            evidence.append(
                _evidence(m, srcs[fname], "village", "name shared by several villages", False)
            )
            continue
        scores[codes[0]] += w
        evidence.append(_evidence(m, srcs[fname], "village", reason, w > 0))
        codes_of[id(evidence[-1])] = codes[0]
    for code in example_villages:
        scores[code] = 0.0
    same_village = any(w in simple["body"] for w in cues["same_village_words"])
    alive_v = [c for c, w in scores.items() if w > 0]
    if same_village and len(alive_v) == 1:
        scores[alive_v[0]] += 1.0
    if unit_village and len(unit_village) == 1:
        village = gaz.village_by_code(unit_village[0])
    else:
        village = _choose_village(
            gaz, scores, t_weight, township, unit_town, county_unit, dict(t_full)
        )
    if village is not None:
        if township is None:
            township, t_reason = village.township_code, "township of the village"
        elif village.township_code != township:
            village = None

    # A county headline over a county-wide frame (全县/该县 counts) with one passing township
    # mention: the township is the photo's or an example's spot, not the item's. (Without
    # a headline, a captioned lead event decides, as in the labels.)
    if township and headline_county and not (unit_town or unit_village or headline_towns):
        kind = gaz.township_by_code(township).type
        own_words = cues["same_township_words"].get(kind, [])
        if (
            t_full.get(township, 0) <= 1
            and not any(w in simple["body"] for w in own_words)
            and _has_county_scope(simple["body"], mentions["body"], cues["county_scope_words"])
        ):
            township, village, t_reason = None, None, ""

    # ---- assemble
    if township:
        t = gaz.township_by_code(township)
        place.township, place.township_code = t.name, t.code
        place.scope = "township"
    if village:
        place.village, place.village_code = village.name, village.code
        place.scope = "village"
    if not township:
        place.scope = "county" if (county_signal or not outside) else "unknown"
    # Mark the evidence that decided the place.
    chosen = {township, village.code if village else None} - {None}
    for e in evidence:
        if e.kind in ("township", "village") and e.used:
            e.used = codes_of.get(id(e)) in chosen
            if e.used and e.kind == "township" and t_reason:
                e.reason += f"; chosen: {t_reason}"
        elif e.kind == "county" and township:
            e.used = False
    place.outside = outside
    place.evidence = evidence[:_MAX_EVIDENCE]
    return place


def _has_county_scope(text: str, ms: list[Mention], words: list[str]) -> bool:
    """Whether a county-wide word (全县, 该县) frames the text, not just a place (该县某镇)."""
    starts = {m.start for m in ms if _township_of(m) or m.entry("village")}
    for w in words:
        for hit in re.finditer(re.escape(w), text):
            if hit.end() not in starts:
                return True
    return False


def _choose_township(
    weights: dict[str, float], headline_towns: set[str], county_unit: bool
) -> tuple[str | None, str]:
    """The township that clearly dominates the mentions, or None (county-wide, or a tie)."""
    ranked = sorted(((c, w) for c, w in weights.items() if w > 0), key=lambda kv: -kv[1])
    if len(headline_towns) > 1:
        return None, "several townships in the headline"
    if not ranked:
        return None, ""
    top, tw = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    # A county body's item needs more than a mention; one lead mention will do otherwise.
    need = 3.0 if county_unit else 1.5
    strong = top in headline_towns or (tw >= need and tw >= 2 * second)
    if strong and tw > second:
        return top, "strongest township mention"
    return None, ""


def _choose_village(
    gaz: Gazetteer,
    scores: dict[str, float],
    t_weight: dict[str, float],
    township: str | None,
    unit_town: str | None,
    county_unit: bool,
    t_full: dict[str, int] | None = None,
) -> Village | None:
    """The one village the item is about, or None (no village, or several)."""
    ranked = sorted(((c, w) for c, w in scores.items() if w >= 1.0), key=lambda kv: -kv[1])
    village = None
    if len(ranked) == 1:
        vcode, w = ranked[0]
        cand = gaz.village_by_code(vcode)
        # One plain mention is enough only inside the reporting township.
        if w >= (3.0 if county_unit else 2.0) or (unit_town and cand.township_code == unit_town):
            village = cand
    elif len(ranked) > 1 and ranked[0][1] >= 4 and ranked[0][1] >= 3 * ranked[1][1]:
        village = gaz.village_by_code(ranked[0][0])
    if village is not None and township is None:
        # A village alone implies its township, unless other townships compete.
        others = [w for c, w in t_weight.items() if w > 0 and c != village.township_code]
        own = t_weight.get(village.township_code, 0.0)
        if others and max(others) >= scores[village.code]:
            return None
        if others and max(others) >= own and scores[village.code] < 3.0:
            return None  # 在朱堂乡老寨山…在铁铺镇何家冲村: examples from several townships
        # 先后来到张庄乡任店小学、赵集镇三小: another township named as often is a second
        # site, so the village cannot settle a tie between townships.
        rivals = [c for c, n in (t_full or {}).items() if n >= 2 and c != village.township_code]
        if rivals and max(t_weight.get(c, 0.0) for c in rivals) >= own:
            return None
    return village


def _vt(gaz: Gazetteer, village_code: str) -> str:
    """Current township code of a village."""
    v = gaz.village_by_code(village_code)
    return v.township_code if v else village_code[:9]
