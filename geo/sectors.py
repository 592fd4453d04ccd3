"""Sector of a bulletin item by weighted cue words, read from ``data/config/sectors.json``.

All cue words of all sectors go into one Aho-Corasick automaton; a text is scanned once,
leftmost-longest, so ``土地流转`` does not also count ``流转``. Headline cues weigh more than body
cues, the reporting unit (县人社局, 县供电公司...) has its own cue list, and a cue inside a purpose
clause (``用于…``) counts extra because the item is classified by its main purpose.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import ahocorasick

from geo.chars import mask_pinyin_glosses, simplify_chars
from geo.errors import GeoInputError
from geo.paths import config_dir

__all__ = [
    "SECTOR_SLUGS",
    "SectorResult",
    "Taxonomy",
    "classify_sector",
    "load_taxonomy",
    "sector_names",
]

#: The sector slugs every taxonomy file must define, in display order.
SECTOR_SLUGS = (
    "employment",
    "investment",
    "government_services",
    "utilities",
    "agriculture",
    "industry",
    "infrastructure",
    "education_health",
    "culture_tourism",
    "environment",
    "social_welfare",
    "other",
)


@dataclass(frozen=True)
class SectorResult:
    """Classification of one item.

    ``sectors`` lists the primary first, then secondary sectors with enough support;
    ``cues`` are the cue words that decided the primary, strongest first.
    """

    primary: str
    sectors: list[str]
    cues: list[str]
    scores: dict[str, float] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Taxonomy:
    """Sector names, weighted cues and the automata built from them."""

    names: dict[str, str]
    cues: dict[str, dict[str, float]]
    unit_cues: dict[str, dict[str, float]]
    weights: dict[str, float]
    purpose_markers: tuple[str, ...]
    purpose_window: int
    headline_cuts: tuple[re.Pattern, ...]
    headline_bylines: tuple[re.Pattern, ...]
    min_density: float
    profile_patterns: tuple[re.Pattern, ...]
    profile_min: int
    min_ratio: float
    min_score: float
    default: str
    text_automaton: ahocorasick.Automaton = field(repr=False, compare=False)
    unit_automaton: ahocorasick.Automaton = field(repr=False, compare=False)


def _automaton(table: dict[str, dict[str, float]]) -> ahocorasick.Automaton:
    """One automaton over every cue: word -> (word, [(slug, weight), ...])."""
    by_word: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for slug, cues in table.items():
        for word, weight in cues.items():
            by_word[word].append((slug, float(weight)))
    auto = ahocorasick.Automaton()
    for word, hits in by_word.items():
        auto.add_word(word, (word, tuple(hits)))
    if by_word:
        auto.make_automaton()
    return auto


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read a sector taxonomy.

    Parameters
    ----------
    path : str or Path, optional
        A ``sectors.json``; defaults to ``data/config/sectors.json``.

    Returns
    -------
    Taxonomy

    Raises
    ------
    GeoInputError
        If the file is missing, malformed or lacks one of :data:`SECTOR_SLUGS`.
    """
    if path is None:
        return _default_taxonomy()
    return _read_taxonomy(Path(path))


@lru_cache(maxsize=1)
def _default_taxonomy() -> Taxonomy:
    return _read_taxonomy(config_dir() / "sectors.json")


def _read_taxonomy(path: Path) -> Taxonomy:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        sectors = raw["sectors"]
        missing = [s for s in SECTOR_SLUGS if s not in sectors]
        if missing:
            raise ValueError(f"缺少领域 {'、'.join(missing)}")
        cues = {s: {w: float(v) for w, v in d.get("cues", {}).items()} for s, d in sectors.items()}
        unit_cues = {
            s: {w: float(v) for w, v in d.get("unit_cues", {}).items()} for s, d in sectors.items()
        }
        weights = {"headline": 3.0, "body": 1.0, "unit": 1.0, "purpose": 2.0}
        weights.update({k: float(v) for k, v in raw.get("weights", {}).items()})
        secondary = raw.get("secondary", {})
        furniture = raw.get("headline_furniture", {})
        profile = raw.get("place_profile", {})
        default = raw.get("default", "other")
        if default not in sectors:
            raise ValueError(f"默认领域 {default!r} 未定义")
        return Taxonomy(
            names={s: str(d["name"]) for s, d in sectors.items()},
            cues=cues,
            unit_cues=unit_cues,
            weights=weights,
            purpose_markers=tuple(raw.get("purpose_markers", ())),
            purpose_window=int(raw.get("purpose_window", 20)),
            headline_cuts=tuple(re.compile(x) for x in furniture.get("cut_at", ())),
            headline_bylines=tuple(re.compile(x) for x in furniture.get("byline", ())),
            min_density=float(raw.get("min_density", 0.0)),
            profile_patterns=tuple(re.compile(x) for x in profile.get("patterns", ())),
            profile_min=int(profile.get("min_hits", 0)),
            min_ratio=float(secondary.get("min_ratio", 0.5)),
            min_score=float(secondary.get("min_score", 4.0)),
            default=default,
            text_automaton=_automaton(cues),
            unit_automaton=_automaton(unit_cues),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError, re.error) as err:
        raise GeoInputError(
            f"无法读取领域配置 {path.name}（{err}）：请检查该 JSON 文件", code="config.sectors"
        ) from None


def sector_names(taxonomy: Taxonomy | None = None) -> dict[str, str]:
    """Chinese display name of every sector slug.

    Parameters
    ----------
    taxonomy : Taxonomy, optional
        Defaults to the bundled taxonomy.

    Returns
    -------
    dict
        ``{slug: 中文名}`` in taxonomy order.
    """
    return dict((taxonomy or load_taxonomy()).names)


def _purpose_ranges(text: str, taxonomy: Taxonomy) -> list[tuple[int, int]]:
    ranges = []
    for marker in taxonomy.purpose_markers:
        start = text.find(marker)
        while start >= 0:
            end = start + len(marker)
            stop = end
            while stop < len(text) and stop - end < taxonomy.purpose_window:
                if text[stop] in "。；;！？!?\n":
                    break
                stop += 1
            ranges.append((end, stop))
            start = text.find(marker, end)
    return ranges


def _score_text(
    text: str,
    auto: ahocorasick.Automaton,
    weight: float,
    scores: dict[str, float],
    contrib: dict[str, dict[str, float]],
    purpose: list[tuple[int, int]] | None = None,
    purpose_weight: float = 1.0,
) -> None:
    if not text or len(auto) == 0:
        return
    for end, (word, hits) in auto.iter_long(text):
        start = end - len(word) + 1
        w = weight
        if purpose and any(a <= start < b for a, b in purpose):
            w *= purpose_weight
        for slug, cue_weight in hits:
            scores[slug] += w * cue_weight
            contrib[slug][word] += w * cue_weight


def _clean(text: str) -> str:
    """Cue words are simplified and contiguous; sector cues index nothing back."""
    return simplify_chars(mask_pinyin_glosses(text)).replace(" ", "")


def _headline_words(headline: str, taxonomy: Taxonomy) -> str:
    """The headline without the page furniture a web copy glues to it.

    A copied page's title line often carries its date, source, author or editor
    (``…丰收 2020-07-08 来源:中国农网 编辑:…``), or is only a byline (``□记者 某某 文/图``);
    those words say nothing of the item's purpose yet would count at headline weight.
    """
    headline = simplify_chars(headline)
    for pattern in taxonomy.headline_bylines:
        if pattern.search(headline):
            return ""
    for pattern in taxonomy.headline_cuts:
        found = pattern.search(headline)
        if found:
            headline = headline[: found.start()]
    return headline


def _weak_evidence(top: float, texts: list[str], taxonomy: Taxonomy) -> bool:
    """True when the best sector's cues are too sparse for the text's length (per 1000
    characters) to name a main purpose: such an item is left to the default sector."""
    length = sum(len(t) for t in texts)
    return bool(taxonomy.min_density and length and 1000 * top / length < taxonomy.min_density)


def _place_profile(texts: list[str], taxonomy: Taxonomy) -> bool:
    """True for a description of a place rather than a report of an activity: the text
    gives at least ``min_hits`` of the facts a gazetteer entry gives (where it lies, its
    area, people, subdivisions, neighbours, history). Labels file such pages under the
    default sector, however many farming words the description holds."""
    if not taxonomy.profile_min:
        return False
    text = " ".join(texts)
    hits = sum(1 for pattern in taxonomy.profile_patterns if pattern.search(text))
    return hits >= taxonomy.profile_min


def classify_sector(
    headline: str | None,
    body: str | None,
    unit: str | None = None,
    taxonomy: Taxonomy | None = None,
) -> SectorResult:
    """Main sector of an item, with secondary sectors and the cues that decided.

    Parameters
    ----------
    headline, body : str or None
        The item's headline and body text.
    unit : str, optional
        The reporting unit (``县人社局``); matched against the taxonomy's unit cues.
    taxonomy : Taxonomy, optional
        Defaults to ``load_taxonomy()``.

    Returns
    -------
    SectorResult
        ``primary`` is the taxonomy's default (``other``) when no cue matches.

    Examples
    --------
    >>> classify_sector("县供电公司保障复工用电", "", None).primary
    'utilities'
    """
    tax = taxonomy or load_taxonomy()
    scores: dict[str, float] = defaultdict(float)
    contrib: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    wts = tax.weights
    texts = [_clean(_headline_words(headline or "", tax)), _clean(body or "")]
    for text, weight in zip(texts, (wts["headline"], wts["body"]), strict=True):
        _score_text(
            text,
            tax.text_automaton,
            weight,
            scores,
            contrib,
            _purpose_ranges(text, tax),
            wts["purpose"],
        )
    _score_text(simplify_chars(unit or ""), tax.unit_automaton, wts["unit"], scores, contrib)

    ranked = sorted(
        (s for s in scores if scores[s] > 0),
        key=lambda s: (-scores[s], list(tax.names).index(s)),
    )
    if not ranked or _weak_evidence(scores[ranked[0]], texts, tax) or _place_profile(texts, tax):
        return SectorResult(
            tax.default, [tax.default], [], {s: round(scores[s], 3) for s in ranked}
        )
    primary = ranked[0]
    top = scores[primary]
    secondary = [
        s
        for s in ranked[1:]
        if s != tax.default and scores[s] >= tax.min_score and scores[s] >= tax.min_ratio * top
    ]
    cues = sorted(contrib[primary], key=lambda w: (-contrib[primary][w], w))
    return SectorResult(
        primary=primary,
        sectors=[primary, *secondary],
        cues=cues,
        scores={s: round(scores[s], 3) for s in ranked},
    )
