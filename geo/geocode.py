"""Place one bulletin item: a village, a township, the whole county, or unknown.

The geocoder runs as named stages, each a module of its own:

1. **names** (:mod:`geo.place_names`): every gazetteer, alias-table and county-rule name in the
   reporting unit, the headline and the body, and every outside place;
2. **candidates** (:mod:`geo.place_candidates`): the townships those names stand for — in full,
   short, with a slip of suffix, renamed, through a village or a landmark — with the mentions
   that back each one;
3. **features** (:mod:`geo.place_features`): per candidate, which fields name it, how often, in
   which role (subject, example, list or award-list entry, a person's home, a meeting's host),
   after the county's name, backed by a village, against how many rivals, near which outside
   places;
4. **scoring and decision** (:mod:`geo.place_scoring`): a weighted sum per candidate, one
   softmax over the candidates and *county-wide*, a calibrated probability, the alternatives,
   and an explanation.

:func:`geocode_item` ties them together and writes the answer and its evidence on a
:class:`~geo.models.Place`.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo.gazetteer import Gazetteer
from geo.models import Alternative, Evidence, Item, Place
from geo.place_candidates import Candidates, ItemText, TownCandidate, Use, collect_candidates
from geo.place_candidates import read_item as _read_item
from geo.place_features import (
    ROLE_NAMES_ZH,
    ItemContext,
    item_context,
    propagate_examples,
    role_of,
    town_features,
    village_features,
)
from geo.place_names import Mention, find_places
from geo.place_rules import CountyRules
from geo.place_scoring import Decision, Model, decide, explain, load_model

__all__ = ["ItemFeatures", "Mention", "find_places", "geocode_item", "place_features_of"]

_MAX_EVIDENCE = 40
_MAX_ALTERNATIVES = 4
_FORM_ZH = {
    "full": "全称",
    "short": "简称",
    "slip": "后缀误写",
    "alias": "别名表",
    "rule": "规则",
    "village": "村名",
    "stem": "村名（省略“村”）",
}
_FIELD_ZH = {"unit": "报送单位", "headline": "标题", "body": "正文"}


@dataclass
class ItemFeatures:
    """The first three stages of one item: its text, candidates, roles and features.

    ``roles`` maps every use to its roles; ``towns`` is ``{township code: {feature: value}}``;
    ``villages`` is ``{township code: {village code: {feature: value}}}``.
    """

    text: ItemText
    cands: Candidates
    roles: dict[Use, frozenset[str]]
    ctx: ItemContext
    towns: dict[str, dict[str, float]]
    villages: dict[str, dict[str, dict[str, float]]]


def place_features_of(
    item: Item, gazetteer: Gazetteer, *, rules: CountyRules | None = None
) -> ItemFeatures:
    """Names, candidates, roles and features of one item (what the scorer weighs).

    The tool that rebuilds the model (``tools/build_geocode_model.py``) learns from these.
    """
    text = _read_item(item, gazetteer, rules=rules)
    cands = collect_candidates(text, gazetteer, rules=rules)
    roles: dict[Use, frozenset[str]] = {}
    for cand in cands.towns.values():
        for u in cand.uses:
            roles[u] = role_of(text, u, township=True)
        for uses in cand.village_uses.values():
            for u in uses:
                roles[u] = role_of(text, u, township=False)
    propagate_examples(cands, roles, text)
    ctx = item_context(text, cands, gazetteer)
    towns = {c: town_features(t, cands, ctx, roles, text) for c, t in cands.towns.items()}
    villages = {
        c: {v: village_features(v, t, ctx, roles, gazetteer, text) for v in t.village_uses}
        for c, t in cands.towns.items()
    }
    return ItemFeatures(text, cands, roles, ctx, towns, villages)


def geocode_item(
    item: Item,
    gazetteer: Gazetteer | None,
    *,
    rules: CountyRules | None = None,
    model: Model | None = None,
) -> Place:
    """Decide where one item happens, how sure that is, and what else it could be.

    Parameters
    ----------
    item : Item
        Uses ``unit``, ``headline`` and ``body``.
    gazetteer : Gazetteer or None
        The bulletin's county. Without it the item is ``unknown`` with confidence 0.
    rules : CountyRules, optional
        The county's rules from reviewers' corrections (:mod:`geo.place_rules`); a rule that
        places the item is named in the evidence.
    model : Model, optional
        Defaults to ``data/geocode/model.json``.

    Returns
    -------
    Place
        ``scope`` is ``village``, ``township``, ``county`` (county-wide, or several townships
        with no clear winner) or ``unknown`` (nothing local, only places outside the county);
        ``confidence``, ``needs_review`` and ``alternatives`` say how sure the answer is.
    """
    if gazetteer is None:
        return Place(scope="unknown", confidence=0.0, needs_review=True)
    model = model or load_model()
    f = place_features_of(item, gazetteer, rules=rules)
    decision = decide(f.towns, f.villages, model)
    place = Place(county=gazetteer.county_name, county_code=gazetteer.county_code)
    _set_answer(place, decision, f.cands, gazetteer)
    decision.why = _why(decision, f.towns, f.villages, model, f.cands)
    place.evidence = _evidence(f, decision, place)
    place.alternatives = _alternatives(decision, gazetteer)
    return place


# --------------------------------------------------------------------------- the answer


def _set_answer(place: Place, d: Decision, cands: Candidates, gaz: Gazetteer) -> None:
    place.confidence = round(d.confidence, 3)
    place.needs_review = d.needs_review
    place.outside = list(cands.outside)
    if d.township_code:
        t = gaz.township_by_code(d.township_code)
        place.township, place.township_code, place.scope = t.name, t.code, "township"
        if d.village_code:
            v = gaz.village_by_code(d.village_code)
            place.village, place.village_code, place.scope = v.name, v.code, "village"
        return
    county_signal = bool(cands.county_named) or not cands.outside
    place.scope = "county" if county_signal else "unknown"


def _alternatives(d: Decision, gaz: Gazetteer) -> list[Alternative]:
    """The next answers; their probabilities share what the chosen answer leaves."""
    chosen = (d.township_code, d.village_code)
    rest = [o for o in d.options if (o.township_code, o.village_code) != chosen]
    left = max(0.0, 1.0 - d.confidence)
    mass = sum(o.probability for o in rest) or 1.0
    out = []
    for o in rest[:_MAX_ALTERNATIVES]:
        t = gaz.township_by_code(o.township_code) if o.township_code else None
        v = gaz.village_by_code(o.village_code) if o.village_code else None
        scope = "village" if v else "township" if t else "county"
        out.append(
            Alternative(
                scope=scope,
                township=t.name if t else None,
                township_code=t.code if t else None,
                village=v.name if v else None,
                village_code=v.code if v else None,
                score=round(left * o.probability / mass, 3),
            )
        )
    return out


def _why(
    d: Decision, town_feats: dict, village_feats: dict, model: Model, cands: Candidates
) -> str:
    """Why this answer: the features that made the winner (or held back the best rival)."""
    conf = f"置信度 {d.confidence:.2f}"
    if d.township_code:
        why = explain(town_feats[d.township_code], model.township)
        if d.village_code:
            vf = village_feats[d.township_code][d.village_code]
            why += "；村：" + explain(vf, model.village)
        return f"选定（{conf}）：{why}"
    if not town_feats:
        return f"未提及本县乡镇（{conf}）"
    best = max(town_feats, key=lambda c: model.township.z(town_feats[c]))
    name = cands.towns[best].name
    return f"判为全县（{conf}）；{name}未胜出：{explain(town_feats[best], model.township)}"


# --------------------------------------------------------------------------- evidence


def _reason(use: Use, roles: frozenset[str], cand: TownCandidate, text: ItemText) -> str:
    parts = [_FIELD_ZH[use.field], _FORM_ZH.get(use.form, use.form)]
    parts += [ROLE_NAMES_ZH[r] for r in sorted(roles) if r in ROLE_NAMES_ZH]
    if use.form in ("alias", "rule"):
        entry = text.mentions[use.field][use.index].entries[0]
        parts.append(entry.label)
    return "，".join(parts)


def _span_evidence(
    text: ItemText, fname: str, index: int, end: int | None, kind: str, reason: str, used: bool
) -> Evidence:
    m = text.mentions[fname][index]
    prepared = text.fields[fname]
    start, stop = prepared.span(m.start, end if end is not None else m.end)
    return Evidence(prepared.original[start:stop], fname, start, stop, kind, reason, used)


def _deciding(cand: TownCandidate, village: str | None, roles: dict) -> Use | None:
    """The mention that carries the decision: the village's, or the township's, best first."""
    order = {"unit": 0, "headline": 1, "body": 2}
    uses = cand.village_uses.get(village, []) if village else []
    uses = uses or cand.uses or cand.all_uses()
    plain = [u for u in uses if not roles[u].intersection(("listed", "example", "person"))]
    pool = plain or uses
    return min(pool, key=lambda u: (order[u.field], u.index)) if pool else None


def _evidence(f: ItemFeatures, d: Decision, place: Place) -> list[Evidence]:
    text, cands, roles = f.text, f.cands, f.roles
    out: list[Evidence] = []
    if f.ctx.county_unit:
        out.append(Evidence(text.unit, "unit", 0, len(text.unit), "county_body", "县直单位报送"))
    chosen = cands.towns.get(d.township_code) if d.township_code else None
    deciding = _deciding(chosen, d.village_code, roles) if chosen else None
    if chosen is not None and chosen.unit_rule is not None:
        rule = chosen.unit_rule
        out.append(
            Evidence(text.unit, "unit", 0, len(text.unit), "township", f"报送单位，{rule.label}")
        )
        out[-1].deciding, deciding = True, None
    for cand in cands.towns.values():
        village_uses = [u for vs in cand.village_uses.values() for u in vs]
        for kind, u in [("township", u) for u in cand.uses] + [
            ("village", u) for u in village_uses
        ]:
            used = cand is chosen and (kind == "township" or u.code == d.village_code)
            ev = _span_evidence(
                text, u.field, u.index, u.end, kind, _reason(u, roles[u], cand, text), used
            )
            if u == deciding:
                ev.deciding = True
                ev.reason += f"；{d.why}"
            out.append(ev)
    for fname, index, kind, reason in cands.rejected:
        out.append(_span_evidence(text, fname, index, None, kind, reason, False))
    out += _context_evidence(text, cands, d, place)
    return _trim(out)


def _context_evidence(text: ItemText, cands: Candidates, d: Decision, place: Place) -> list:
    out = []
    county_wide = place.scope == "county"
    why = d.why if county_wide else ""
    for fname, index in cands.county_named:
        reason = "本县县名" + (f"；{why}" if why else "")
        out.append(_span_evidence(text, fname, index, None, "county", reason, county_wide))
        if why:
            out[-1].deciding, why = True, ""
    for fname in ("unit", "headline", "body"):
        for i, m in enumerate(text.mentions[fname]):
            if m.entry("outside"):
                out.append(_span_evidence(text, fname, i, None, "outside", "县外地名", False))
    return out


def _trim(evidence: list[Evidence]) -> list[Evidence]:
    """At most :data:`_MAX_EVIDENCE` entries, in text order; what decided is always kept."""
    order = {"unit": 0, "headline": 1, "body": 2}
    evidence.sort(key=lambda e: (order.get(e.field, 3), e.start))
    if len(evidence) <= _MAX_EVIDENCE:
        return evidence
    keep = {id(e) for e in evidence if e.used or e.deciding}
    rest = _MAX_EVIDENCE - len(keep)
    for e in evidence:
        if id(e) not in keep and rest > 0:
            keep.add(id(e))
            rest -= 1
    return [e for e in evidence if id(e) in keep]
