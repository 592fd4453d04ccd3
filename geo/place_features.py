"""Features: what each candidate township or village has going for and against it.

The third stage of the geocoder (:mod:`geo.geocode`). Every mention backing a candidate gets
its *roles* — the subject of the story, or an example (缩影, 如, 其中), a member of a list
(X乡、Y镇), an entry of an award list, a quoted person's home (…村村民某某说, 家住…), the host
of a meeting (在X召开), inside a quotation, after the county's name (息县白土店乡), near another
county's name — and each candidate gets one number per feature: which fields name it (reporting
unit, headline, lead sentence, body), how often, in which roles, whether a village backs it,
how many rival townships there are, and item-wide signals (a county body reports, the headline
names the county, 全县 frames the story). The word lists live in
``data/gazetteer/geocode_cues.json``; :mod:`geo.place_scoring` weighs the features.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from dataclasses import dataclass

from geo.gazetteer import Gazetteer, _short_region
from geo.place_candidates import Candidates, ItemText, TownCandidate, Use
from geo.place_names import Mention, cues

__all__ = [
    "DEMOTING_ROLES",
    "FEATURE_NAMES_ZH",
    "ROLE_NAMES_ZH",
    "TOWN_FEATURES",
    "VILLAGE_FEATURES",
    "ItemContext",
    "county_scope_words",
    "item_context",
    "propagate_examples",
    "role_of",
    "town_features",
    "village_features",
]

#: Roles that say a mention is not where the item happens.
DEMOTING_ROLES = ("listed", "example", "award", "person", "home", "quoted")
ROLE_NAMES_ZH = {
    "lead": "导语",
    "after_county": "紧跟县名",
    "listed": "列举之一",
    "example": "举例/缩影",
    "award": "表彰名单",
    "person": "人物住址",
    "home": "家住",
    "quoted": "引语中",
    "host": "会议/活动承办地",
    "outside_near": "邻近外县地名",
    "caption": "图片说明",
}
#: Township features, in the model's order.
TOWN_FEATURES = (
    "unit",
    "headline",
    "lead",
    "body",
    "village_body",
    "mentions",
    "spread",
    "after_county",
    "chain_village",
    "example",
    "example_any",
    "listed",
    "award",
    "person",
    "quoted",
    "host",
    "outside_near",
    "caption",
    "demoted_only",
    "listed_only",
    "person_county",
    "short_only",
    "village_only",
    "alias",
    "same_words",
    "share",
    "rivals",
    "top_rival",
    "tied",
    "first",
    "single",
    "county_unit",
    "county_headline",
    "county_scope",
    "county_words",
    "county_named",
    "county_frame",
    "county_figures",
)
#: Village features (for villages of the chosen township), in the model's order.
VILLAGE_FEATURES = (
    "unit",
    "headline",
    "lead",
    "body",
    "mentions",
    "chain",
    "example",
    "listed",
    "person",
    "home",
    "quoted",
    "caption",
    "demoted_only",
    "same_words",
    "share",
    "rivals",
    "ambiguous",
    "short_name",
    "alias",
    "town_named",
    "town_words",
    "town_dominance",
    "single",
    "county_unit",
    "county_headline",
)
FEATURE_NAMES_ZH = {
    **ROLE_NAMES_ZH,
    "unit": "报送单位",
    "headline": "标题提及",
    "lead": "导语提及",
    "body": "正文提及次数",
    "mentions": "提及总次数",
    "spread": "贯穿全文",
    "county_named": "县名出现次数",
    "village_body": "所辖村提及",
    "chain_village": "乡镇后接本乡村名",
    "chain": "紧跟所属乡镇",
    "example": "作为举例/缩影",
    "example_any": "本乡镇或其村被称为缩影/举例",
    "demoted_only": "仅作举例/列举/住址等提及",
    "listed_only": "仅在列举或举例中提及",
    "person_county": "全县框架下仅作人物住址",
    "short_only": "仅简称/误写",
    "village_only": "仅由村名推出",
    "alias": "别名表/规则",
    "same_words": "该乡/全镇等指代",
    "share": "提及占比",
    "rivals": "提及的其他乡镇数",
    "top_rival": "最强对手占比",
    "tied": "有同样多提及的对手",
    "county_frame": "全县框架下仅一次提及",
    "county_figures": "全县数字旁仅作一两次提及",
    "first": "最先提及",
    "single": "仅一次提及",
    "county_unit": "县直单位报送",
    "county_headline": "标题为全县",
    "county_scope": "全县/该县等表述",
    "county_words": "县级用语",
    "ambiguous": "县内同名村",
    "short_name": "村名过短",
    "town_named": "所属乡镇直接提及",
    "town_words": "全镇/该乡等全乡镇用语",
    "town_dominance": "乡镇提及多于村",
}
_SENTENCE_END = re.compile("[。！？!?\n]")
_SENTENCE_MAX = 500
_QUOTE_LOOKBACK = 1000
_OUTSIDE_NEAR = 30
_COUNTY_FIGURES_MIN = 3
_VILLAGE_TAIL_RE = re.compile(r"[\u4e00-\u9fff]{1,5}?(?:村|社区|组)")


# --------------------------------------------------------------------------- text cues


def _followed_by(text: str, pos: int, words: list[str]) -> str | None:
    if text.startswith("的", pos):  # 新庄村的村民
        pos += 1
    for w in sorted(words, key=len, reverse=True):
        if text.startswith(w, pos):
            return w
    return None


def _role_after(text: str, pos: int) -> str | None:
    """A person role at ``pos`` (甲鱼养殖户 with a trade before it; a named speaker too)."""
    c = cues()
    for verb in c["speech_verbs"]:
        if re.match(r"的[\u4e00-\u9fff]{2,3}" + re.escape(verb), text[pos : pos + 6 + len(verb)]):
            return "named speaker"
    for skip in range(3):
        if skip and not ("\u4e00" <= text[pos + skip - 1 : pos + skip] <= "\u9fff"):
            return None
        role = _followed_by(text, pos + skip, c["person_roles"])
        if role:
            if not skip and _collective_at_work(text, pos + len(role), role):
                return None
            return role
    return None


def _collective_at_work(text: str, pos: int, role: str) -> bool:
    """罗沟村村民正在村头务工: an unnamed group at work there marks the site, not an address."""
    c = cues()
    if role not in c.get("collective_roles", []):
        return False
    return _followed_by(text, pos, c.get("collective_activity_after", [])) is not None


def _address_of_person(text: str, pos: int) -> str | None:
    """慎水乡刘冢村村民, 黄寺岗乡邓寨村养殖户王某: the township is a person's address."""
    m = _VILLAGE_TAIL_RE.match(text, pos)
    if m is not None:
        return _role_after(text, m.end())
    return None


@functools.lru_cache(maxsize=8)
def _sentence_ends(text: str) -> tuple[int, ...]:
    """Offsets of every sentence end (。！？ or a line break) in ``text``, once per text."""
    return tuple(m.start() for m in _SENTENCE_END.finditer(text))


def _sentence(text: str, pos: int) -> tuple[int, int]:
    """Bounds of the sentence around ``pos``, at most ``_SENTENCE_MAX`` characters each way."""
    ends = _sentence_ends(text)
    k = bisect.bisect_left(ends, pos)
    start = ends[k - 1] + 1 if k and ends[k - 1] + 1 > pos - _SENTENCE_MAX else pos - _SENTENCE_MAX
    stop = ends[k] if k < len(ends) and ends[k] < pos + _SENTENCE_MAX else pos + _SENTENCE_MAX
    return max(0, start), min(len(text), stop)


def _in_quotes(text: str, pos: int) -> bool:
    para_start = max(
        text.rfind("\n", max(0, pos - _QUOTE_LOOKBACK), pos) + 1, pos - _QUOTE_LOOKBACK
    )
    before = text[para_start:pos]
    for open_q, close_q in cues()["quote_pairs"]:
        if open_q == close_q:
            if before.count(open_q) % 2 == 1:
                return True
        elif before.count(open_q) > before.count(close_q):
            return True
    return False


def _in_list(text: str, ms: list[Mention], i: int, township: bool) -> bool:
    """Mention ``i`` is joined to another place of its level by 、/和/及/与, or ends in 等."""
    c = cues()
    joiners = c["list_joiners"]

    def same_level(x: Mention) -> bool:
        if township:
            return x.township_entry() is not None and x.entry("village") is None
        return x.entry("village") is not None

    m = ms[i]
    for j in (i - 1, i + 1):
        if 0 <= j < len(ms) and same_level(ms[j]):
            a, b = (ms[j], m) if j < i else (m, ms[j])
            gap = text[a.end : b.start]
            # Allow a suffix between a stem and the joiner (白土店、小茴店等乡镇).
            if gap in joiners or (len(gap) <= 2 and gap.endswith("、")):
                return True
    return text.startswith(tuple(c["list_enders"]), m.end)


@functools.lru_cache(maxsize=1)
def _example_before_re() -> re.Pattern:
    words = "|".join(re.escape(w) for w in cues().get("example_before", []))
    return re.compile(rf"(?:{words})[，,：:]?$") if words else re.compile(r"(?!x)x")


def _is_example(text: str, start: int, end: int) -> bool:
    """Called an example: 缩影 later in the sentence, or 如/比如/其中 right before it."""
    s0, s1 = _sentence(text, end)
    if any(w in text[end:s1] for w in cues()["example_words"]):
        return True
    if text.startswith(tuple(cues().get("example_after", [])), end):
        return True
    return bool(_example_before_re().search(text[max(s0, start - 4) : start]))


def _in_award_list(text: str, start: int) -> bool:
    s0, s1 = _sentence(text, start)
    return any(w in text[s0:s1] for w in cues().get("award_words", []))


def _is_host(text: str, start: int, end: int) -> bool:
    """在X召开/举行, X承办, 走进X: the place hosts a meeting or a visit."""
    c = cues()
    before = text[max(0, start - 6) : start]
    if any(before.endswith(w) for w in c.get("host_before", [])):
        after = text[end : end + 16]
        stop = re.search("[，。；,;！？]", after)
        window = after[: stop.start()] if stop else after
        return any(w in window for w in c.get("host_verbs", [])) or before.endswith(
            tuple(c.get("visit_before", []))
        )
    return text.startswith(tuple(c.get("host_after", [])), end)


def _outside_near(ms: list[Mention], i: int, text: str) -> bool:
    start = ms[i].start
    s0, _ = _sentence(text, start)
    for j in range(i - 1, -1, -1):
        if ms[j].end < max(s0, start - _OUTSIDE_NEAR):
            break
        if ms[j].entry("outside"):
            return True
    return False


def _after_home_word(text: str, ms: list[Mention], i: int) -> bool:
    """家住白土店乡新庄村的某某: the place (or the chain it ends) is where someone lives."""
    while ms[i].chained_after is not None:
        i = ms[i].chained_after
    return any(text.endswith(w, 0, ms[i].start) for w in cues()["home_words"])


# --------------------------------------------------------------------------- roles


def role_of(text: ItemText, use: Use, *, township: bool) -> frozenset[str]:
    """The roles of one mention (see :data:`ROLE_NAMES_ZH`)."""
    ms = text.mentions[use.field]
    m = ms[use.index]
    simple = text.fields[use.field].simple
    roles = set()
    prev = ms[m.chained_after] if m.chained_after is not None else None
    if use.field == "body" and m.start < text.lead_end:
        roles.add("lead")
    if prev is not None and (prev.entry("county") or prev.entry("context")):
        roles.add("after_county")
    if use.field == "unit":
        return frozenset(roles)
    if _in_list(simple, ms, use.index, township):
        roles.add("listed")
    if _is_example(simple, m.start, use.end):
        roles.add("example")
    # a township is a person's address only through a village (某乡某村村民); 某乡党委书记 is
    # the township's own official
    person = _address_of_person(simple, use.end) if township else _role_after(simple, use.end)
    if person:
        roles.add("person")
    if _after_home_word(simple, ms, use.index):
        roles.add("home")
    if _in_quotes(simple, m.start):
        roles.add("quoted")
    if _in_award_list(simple, m.start):
        roles.add("award")
    if _is_host(simple, m.start, use.end):
        roles.add("host")
    if _outside_near(ms, use.index, simple):
        roles.add("outside_near")
    if _in_caption(simple, m.start):
        roles.add("caption")
    return frozenset(roles)


def _in_caption(text: str, start: int) -> bool:
    """图为…: the place is where a photo was taken."""
    s0, _ = _sentence(text, start)
    return any(w in text[s0:start] for w in cues().get("caption_words", []))


def propagate_examples(cands: Candidates, roles: dict[Use, frozenset[str]], text: ItemText):
    """A township written right before a village that is called an example (在项店镇李楼村 …
    李楼村只是…的缩影 reads the first 李楼村 as the example's) is an example mention too.
    Updates ``roles`` in place."""
    for cand in cands.towns.values():
        for uses in cand.village_uses.values():
            if not any("example" in roles[u] for u in uses):
                continue
            chained = set()
            for u in uses:
                after = text.mentions[u.field][u.index].chained_after
                if after is not None and "example" in roles[u]:
                    chained.add((u.field, after))
            for t in cand.uses:
                if (t.field, t.index) in chained:
                    roles[t] = roles[t] | {"example"}


def _plain(roles: frozenset[str]) -> bool:
    return not roles.intersection(DEMOTING_ROLES)


# --------------------------------------------------------------------------- item context


@dataclass(frozen=True)
class ItemContext:
    """Item-wide signals shared by every candidate."""

    county_unit: bool
    county_headline: bool
    county_scope: bool
    county_words: bool
    county_named: int
    body: str
    headline: str
    body_unnamed: str = ""
    # the county's own kind of county-wide word (全区 in a district) frames a single or
    # person-only township mention; the item-wide ``county_scope`` feature keeps the 县 words
    # the scorer was fitted on
    county_frame_words: bool = False
    # figures in sentences about the county (全县茶园面积34万亩, 常宁油茶林种植面积达100万亩)
    county_figures: int = 0


@functools.lru_cache(maxsize=256)
def _county_body_re(gaz: Gazetteer) -> re.Pattern:
    names = "|".join(re.escape(n) for n in {gaz.county_name, gaz.short_name + "县"} if n)
    city = "|".join(re.escape(n) for n in {gaz.city, _short_region(gaz.city)} if n)
    endings = "|".join(re.escape(e) for e in cues()["county_body_endings"])
    city_prefix = f"(?:{city})?" if city else ""
    return re.compile(
        rf"^{city_prefix}(?:{names}|县)\S{{0,16}}?(?:{endings})|(?:{names})\S{{0,8}}(?:{endings})$"
    )


def county_scope_words(county_name: str) -> list[str]:
    """The county-wide words of one county: 全县/该县 for every county, and the words of its
    own kind (全区 for a district, 全市 for a county-level city, 全旗 for a banner). 全市 in a
    县's bulletin is the prefecture, so the kind words of other suffixes are not used."""
    c = cues()
    by_suffix = c.get("county_scope_words_by_suffix", {})
    return [*c["county_scope_words"], *by_suffix.get(county_name[-1:], [])]


def _has_county_scope(text: str, ms: list[Mention], words: list[str]) -> bool:
    """Whether a county-wide word (全县, 该县) frames the text, not just a place (该县某镇)."""
    starts = {m.start for m in ms if m.township_entry() or m.entry("village")}
    for w in words:
        for hit in re.finditer(re.escape(w), text):
            if hit.end() not in starts:
                return True
    return False


@functools.lru_cache(maxsize=1)
def _figure_re() -> re.Pattern:
    units = sorted(cues().get("county_figure_units", []), key=len, reverse=True)
    if not units:
        return re.compile(r"(?!x)x")
    words = "|".join(re.escape(u) for u in units)
    return re.compile(rf"[0-9０-９]+(?:[.．][0-9０-９]+)?(?:余|多)?(?:{words})")


def _county_figures(text: str, ms: list[Mention], words: list[str]) -> int:
    """How many figures the county-wide sentences give: sentences with a county-wide word
    (全县, not 该县某镇) or the county's name and no township or village of the county in them
    (该县某镇有茶园3万亩 is the township's figure)."""
    places = [m.start for m in ms if m.township_entry() or m.entry("village")]
    starts = set(places)
    anchors = [m.start for m in ms if m.entry("county")]
    for w in words:
        anchors += [h.start() for h in re.finditer(re.escape(w), text) if h.end() not in starts]
    spans = {_sentence(text, a) for a in anchors}
    return sum(
        len(_figure_re().findall(text, s0, s1))
        for s0, s1 in spans
        if not any(s0 <= p < s1 for p in places)
    )


def _own_figures(cand: TownCandidate, text: ItemText) -> int:
    """How many figures the body sentences naming the candidate or its villages give."""
    body, ms = text.fields["body"].simple, text.mentions["body"]
    spans = {_sentence(body, ms[u.index].start) for u in cand.all_uses() if u.field == "body"}
    return sum(len(_figure_re().findall(body, s0, s1)) for s0, s1 in spans)


def item_context(text: ItemText, cands: Candidates, gaz: Gazetteer) -> ItemContext:
    """Item-wide signals: a county body reports, the headline or 全县 frames the county."""
    unit = text.fields["unit"].simple
    unit_local = any(c.unit in ("township", "village") for c in cands.towns.values())
    county_unit = bool(unit) and not unit_local and bool(_county_body_re(gaz).search(unit))
    body, headline = text.fields["body"].simple, text.fields["headline"].simple
    county_headline = any(f == "headline" for f, _ in cands.county_named)
    words = cues()["county_words"]
    return ItemContext(
        county_unit=county_unit,
        county_headline=county_headline,
        county_scope=_has_county_scope(body, text.mentions["body"], cues()["county_scope_words"]),
        county_frame_words=_has_county_scope(
            body, text.mentions["body"], county_scope_words(gaz.county_name)
        ),
        county_figures=_county_figures(
            body, text.mentions["body"], county_scope_words(gaz.county_name)
        ),
        county_words=any(w in body or w in headline for w in words),
        county_named=sum(1 for f, _ in cands.county_named if f == "body"),
        body=body,
        headline=headline,
        body_unnamed=_without_names(body, text.mentions["body"]),
    )


def _without_names(text: str, ms: list[Mention]) -> str:
    """``text`` with each place name and the two characters after it blanked (小茴店镇政府 →
    a blank, so that 镇政府 there is not read as 该镇's 镇政府)."""
    chars = list(text)
    for m in ms:
        for k in range(m.start, min(len(chars), m.end + 2)):
            chars[k] = " "
    return "".join(chars)


# --------------------------------------------------------------------------- features


def _log_count(n: int) -> float:
    return math.log1p(n)


def _plain_count(uses: list[Use], roles: dict[Use, frozenset[str]]) -> int:
    return sum(1 for u in uses if u.field != "unit" and _plain(roles[u]))


def _role_shares(uses: list[Use], roles: dict[Use, frozenset[str]]) -> dict[str, float]:
    """The share of text mentions in each role (a candidate named only as an example: 1.0)."""
    text_uses = [u for u in uses if u.field != "unit"]
    n = len(text_uses) or 1
    names = (*DEMOTING_ROLES, "host", "outside_near", "caption")
    return {r: sum(1 for u in text_uses if r in roles[u]) / n for r in names}


def _only(uses: list[Use], roles: dict[Use, frozenset[str]], kinds: tuple[str, ...]) -> bool:
    """Every text mention has one of these roles."""
    text_uses = [u for u in uses if u.field != "unit"]
    return bool(text_uses) and all(roles[u].intersection(kinds) for u in text_uses)


def _demoted_only(uses: list[Use], roles: dict[Use, frozenset[str]]) -> bool:
    """Named in the text, but only as an example, a list entry, a person's home …"""
    text_uses = [u for u in uses if u.field != "unit"]
    return bool(text_uses) and not any(_plain(roles[u]) for u in text_uses)


def _spread(uses: list[Use], roles: dict[Use, frozenset[str]], text: ItemText) -> float:
    """How much of the body lies between the first and the last plain body mention."""
    ms = text.mentions["body"]
    spots = [ms[u.index].start for u in uses if u.field == "body" and _plain(roles[u])]
    size = len(text.fields["body"].simple)
    return (max(spots) - min(spots)) / size if len(spots) > 1 and size else 0.0


def town_features(
    cand: TownCandidate,
    cands: Candidates,
    ctx: ItemContext,
    roles: dict[Use, frozenset[str]],
    text: ItemText,
) -> dict[str, float]:
    """One number per :data:`TOWN_FEATURES` for a township candidate.

    ``roles`` holds :func:`role_of` of every use of every candidate.
    """
    uses = cand.all_uses()
    village_uses = [u for vs in cand.village_uses.values() for u in vs]
    plain = {code: _plain_count(c.all_uses(), roles) for code, c in cands.towns.items()}
    named = {code: _text_count(c.all_uses()) for code, c in cands.towns.items()}
    direct = {code: _plain_count(c.uses, roles) for code, c in cands.towns.items()}
    total = sum(plain.values())
    others = [n for code, n in plain.items() if code != cand.code]
    rivals = [n for code, n in named.items() if code != cand.code and n]
    share = _role_shares(uses, roles)
    head = [u for u in uses if u.field == "headline" and _plain(roles[u])]
    return {
        "unit": 1.0 if cand.unit else 0.0,
        "headline": 1.0 if head else 0.0,
        "lead": 1.0 if any("lead" in roles[u] and _plain(roles[u]) for u in uses) else 0.0,
        "body": _log_count(_plain_count([u for u in cand.uses if u.field == "body"], roles)),
        "village_body": _log_count(_plain_count(village_uses, roles)),
        "mentions": _log_count(sum(1 for u in uses if u.field != "unit")),
        "spread": _spread(uses, roles, text),
        "after_county": 1.0 if any("after_county" in roles[u] for u in uses) else 0.0,
        "chain_village": 1.0 if _chains_village(cand, text) else 0.0,
        "example": share["example"],
        "example_any": 1.0 if any("example" in roles[u] for u in uses) else 0.0,
        "listed": share["listed"],
        "award": share["award"],
        "person": min(1.0, share["person"] + share["home"]),
        "quoted": share["quoted"],
        "host": share["host"],
        "outside_near": share["outside_near"],
        "caption": share["caption"],
        "demoted_only": 1.0 if _demoted_only(uses, roles) and not cand.unit else 0.0,
        "listed_only": 1.0 if _only(uses, roles, ("listed", "example")) else 0.0,
        "person_county": 1.0
        if (ctx.county_frame_words or ctx.county_headline)
        and _only(uses, roles, ("person", "home", "quoted"))
        else 0.0,
        "short_only": 1.0
        if cand.uses and all(u.form in ("short", "slip") for u in cand.uses)
        else 0.0,
        "village_only": 0.0 if cand.uses or cand.unit else 1.0,
        "alias": 1.0 if any(u.form in ("alias", "rule") for u in uses) else 0.0,
        "same_words": 1.0 if _same_township_words(cand, ctx) else 0.0,
        "share": plain[cand.code] / total if total else 0.0,
        "rivals": _log_count(len(rivals)),
        "top_rival": max(others) / total if others and total else 0.0,
        "tied": 1.0 if rivals and _tied(cand.code, direct, named) else 0.0,
        "first": 1.0 if _first_plain(cands, roles) == cand.code else 0.0,
        "single": 1.0 if plain[cand.code] == 1 and not cand.unit else 0.0,
        "county_unit": 1.0 if ctx.county_unit else 0.0,
        "county_headline": 1.0 if ctx.county_headline and not head else 0.0,
        "county_scope": 1.0 if ctx.county_scope else 0.0,
        "county_words": 1.0 if ctx.county_words else 0.0,
        "county_named": _log_count(ctx.county_named),
        "county_frame": 1.0
        if (ctx.county_headline or ctx.county_frame_words)
        and plain[cand.code] <= 1
        and not head
        and not cand.unit
        else 0.0,
        "county_figures": 1.0 if _example_of_county_figures(cand, ctx, roles, text) else 0.0,
    }


def _example_of_county_figures(
    cand: TownCandidate, ctx: ItemContext, roles: dict[Use, frozenset[str]], text: ItemText
) -> bool:
    """The story's figures are the county's (at least ``_COUNTY_FIGURES_MIN`` in sentences
    about the county, none in those naming the candidate or its villages) and the township is
    named at most twice, not in the headline, not as the reporting unit, not in a photo caption
    (the labels place a caption's spot) and without 该镇/全乡 words: an example or a scene."""
    uses = cand.all_uses()
    return (
        ctx.county_figures >= _COUNTY_FIGURES_MIN
        and _text_count(cand.uses) <= 2
        and not cand.unit
        and not any(u.field == "headline" for u in uses)
        and not any("caption" in roles[u] for u in uses)
        and not _same_township_words(cand, ctx)
        and _own_figures(cand, text) == 0
    )


def _text_count(uses: list[Use]) -> int:
    return sum(1 for u in uses if u.field != "unit")


def _tied(code: str, direct: dict[str, int], named: dict[str, int]) -> bool:
    """Another township is named at least as often: by name in plain mentions (a village
    found through one of them, 项店镇徐集小学, does not break the tie), or — when this one has
    no plain mention — in any mentions (包信镇、夏庄镇、东岳镇和项店镇)."""
    counts = direct if direct[code] else named
    return any(n >= counts[code] for c, n in counts.items() if c != code and n)


def _first_plain(cands: Candidates, roles: dict[Use, frozenset[str]]) -> str | None:
    order = {"headline": 0, "body": 1}
    best: tuple | None = None
    for code, c in cands.towns.items():
        for u in c.all_uses():
            if u.field in order and _plain(roles[u]):
                key = (order[u.field], u.index)
                if best is None or key < best[0]:
                    best = (key, code)
    return best[1] if best else None


def _chains_village(cand: TownCandidate, text: ItemText) -> bool:
    return any(_village_chained(cand, uses, text) for uses in cand.village_uses.values())


def _same_township_words(cand: TownCandidate, ctx: ItemContext) -> bool:
    """该镇/全乡/镇党委 on their own, not as the end of a name (小茴店镇政府)."""
    words = cues()["same_township_words"].get(cand.type, [])
    return any(w in ctx.body_unnamed for w in words)


def village_features(
    code: str,
    cand: TownCandidate,
    ctx: ItemContext,
    roles: dict[Use, frozenset[str]],
    gaz: Gazetteer,
    text: ItemText,
) -> dict[str, float]:
    """One number per :data:`VILLAGE_FEATURES` for a village of the candidate township."""
    uses = cand.village_uses[code]
    text_uses = [u for u in uses if u.field != "unit"]
    plain = {c: _plain_count(us, roles) for c, us in cand.village_uses.items()}
    total = sum(plain.values())
    village = gaz.village_by_code(code)
    name = village.name if village else ""
    share = _role_shares(uses, roles)
    same = cues()["same_village_words"]
    return {
        "unit": 1.0 if any(u.field == "unit" for u in uses) else 0.0,
        "headline": 1.0 if any(u.field == "headline" and _plain(roles[u]) for u in uses) else 0.0,
        "lead": 1.0 if any("lead" in roles[u] and _plain(roles[u]) for u in uses) else 0.0,
        "body": _log_count(_plain_count([u for u in uses if u.field == "body"], roles)),
        "mentions": _log_count(len(text_uses)),
        "chain": 1.0 if _village_chained(cand, uses, text) else 0.0,
        "example": share["example"],
        "listed": share["listed"],
        "person": share["person"],
        "home": share["home"],
        "quoted": share["quoted"],
        "caption": share["caption"],
        "demoted_only": 1.0 if _demoted_only(uses, roles) else 0.0,
        "same_words": 1.0 if any(w in ctx.body for w in same) else 0.0,
        "share": plain[code] / total if total else 0.0,
        "rivals": _log_count(sum(1 for c, n in plain.items() if n and c != code)),
        "ambiguous": 1.0 if len(gaz.match_village_name(name)) > 1 else 0.0,
        "short_name": 1.0 if len(name) <= 2 else 0.0,
        "alias": 1.0 if any(u.form in ("alias", "rule", "stem") for u in uses) else 0.0,
        "town_named": 1.0 if cand.uses or cand.unit == "township" else 0.0,
        "town_words": 1.0 if _same_township_words(cand, ctx) else 0.0,
        "town_dominance": _log_count(_plain_count(cand.uses, roles)) - _log_count(plain[code]),
        "single": 1.0 if plain[code] == 1 else 0.0,
        "county_unit": 1.0 if ctx.county_unit else 0.0,
        "county_headline": 1.0 if ctx.county_headline else 0.0,
    }


def _village_chained(cand: TownCandidate, uses: list[Use], text: ItemText) -> bool:
    """A village mention right after its township's (白土店乡新庄村, 官陂镇的公田村)."""
    starts = {(u.field, u.index) for u in cand.uses}
    for u in uses:
        after = text.mentions[u.field][u.index].chained_after
        if after is not None and (u.field, after) in starts:
            return True
    return False
