"""Plain dataclasses that carry a bulletin through the pipeline.

Every stage is a pure function over these objects:
``ingest`` -> text, ``items`` -> :class:`Item`, ``metrics`` -> :class:`Metric`,
``sectors`` -> sector fields, ``geocode`` -> :class:`Place`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = [
    "QUALIFIERS",
    "SCOPES",
    "UNITS",
    "Alternative",
    "Bulletin",
    "BulletinHeader",
    "Evidence",
    "Item",
    "Metric",
    "Place",
]

#: Where an item happens: one village, one township, the whole county, or not known.
SCOPES = ("village", "township", "county", "unknown")
#: How a reported value bounds the true one (约/余 = approx, 超过 = at_least, 不足 = at_most).
QUALIFIERS = ("exact", "approx", "at_least", "at_most")
#: Base units of normalised metric values.
UNITS = (
    "yuan",
    "person",
    "person_time",
    "mu",
    "tonne",
    "enterprise",
    "project",
    "item",
    "time",
    "household",
    "other",
)


@dataclass
class Metric:
    """One reported quantity, its value normalised to the base ``unit``.

    ``span`` holds character offsets into the item's text (headline + "\\n" + body).
    """

    value: float
    unit: str
    qualifier: str = "exact"
    label: str = ""
    text: str = ""
    span: tuple[int, int] = (0, 0)

    def to_dict(self) -> dict:
        """JSON-ready record; a whole-number value is written as an int."""
        d = asdict(self)
        d["span"] = list(self.span)
        if float(self.value).is_integer():
            d["value"] = int(self.value)
        return d


@dataclass
class Evidence:
    """A string that decided (or was rejected for) an item's place."""

    text: str
    field: str  # "unit", "headline" or "body"
    start: int
    end: int
    kind: str  # "township", "village", "county_body", "county", "outside"
    reason: str = ""
    used: bool = True
    deciding: bool = False  # the mention that decided the place (highlighted for reviewers)

    def to_dict(self) -> dict:
        """JSON-ready record."""
        return asdict(self)


@dataclass
class Alternative:
    """Another answer the geocoder considered, with its estimated probability."""

    scope: str
    township: str | None = None
    township_code: str | None = None
    village: str | None = None
    village_code: str | None = None
    score: float = 0.0

    def to_dict(self) -> dict:
        """JSON-ready record."""
        return asdict(self)


@dataclass
class Place:
    """The geocoder's answer for one item.

    ``confidence`` is the estimated probability (0–1) that the township — or county-wide — is
    right (calibrated on labelled items); ``needs_review`` is true below the documented
    threshold (``docs/geocoding.md``); ``alternatives`` are the next answers with their
    probabilities. ``confidence`` is None for a place that was never scored (stored before
    scoring existed).
    """

    scope: str = "unknown"
    county: str | None = None
    county_code: str | None = None
    township: str | None = None
    township_code: str | None = None
    village: str | None = None
    village_code: str | None = None
    outside: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    confidence: float | None = None
    needs_review: bool = False
    alternatives: list[Alternative] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready record, evidence included (``asdict`` recurses into it)."""
        return asdict(self)


@dataclass
class Item:
    """One news item of a bulletin.

    ``start``/``end`` are offsets of the whole item in the bulletin's normalised text.
    """

    index: int
    headline: str
    body: str
    unit: str | None = None
    authors: list[str] = field(default_factory=list)
    start: int = 0
    end: int = 0
    metrics: list[Metric] = field(default_factory=list)
    sector: str | None = None
    sectors: list[str] = field(default_factory=list)
    sector_cues: list[str] = field(default_factory=list)
    place: Place = field(default_factory=Place)

    @property
    def text(self) -> str:
        """Headline and body as one string; metric spans index into it."""
        return f"{self.headline}\n{self.body}" if self.headline else self.body

    def to_dict(self) -> dict:
        """The flat JSON record of ``python -m geo parse``."""
        return {
            "index": self.index,
            "headline": self.headline,
            "body": self.body,
            "unit": self.unit,
            "authors": list(self.authors),
            "start": self.start,
            "end": self.end,
            "sector": self.sector,
            "sectors": list(self.sectors),
            "sector_cues": list(self.sector_cues),
            "scope": self.place.scope,
            "county": self.place.county,
            "county_code": self.place.county_code,
            "township": self.place.township,
            "township_code": self.place.township_code,
            "village": self.place.village,
            "village_code": self.place.village_code,
            "outside": list(self.place.outside),
            "confidence": self.place.confidence,
            "needs_review": self.place.needs_review,
            "alternatives": [a.to_dict() for a in self.place.alternatives],
            "evidence": [e.to_dict() for e in self.place.evidence],
            "metrics": [m.to_dict() for m in self.metrics],
        }


@dataclass
class BulletinHeader:
    """Title, issue and date read from a bulletin's masthead, when present."""

    title: str | None = None
    issue: str | None = None
    date: str | None = None  # ISO yyyy-mm-dd


@dataclass
class Bulletin:
    """A parsed bulletin: normalised text, header and items."""

    source_name: str
    text: str
    sha256: str
    header: BulletinHeader = field(default_factory=BulletinHeader)
    county: str | None = None
    county_code: str | None = None
    items: list[Item] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The JSON record of ``python -m geo parse``: header fields flat, items nested."""
        return {
            "source_name": self.source_name,
            "sha256": self.sha256,
            "title": self.header.title,
            "issue": self.header.issue,
            "date": self.header.date,
            "county": self.county,
            "county_code": self.county_code,
            "items": [it.to_dict() for it in self.items],
        }
