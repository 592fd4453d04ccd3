"""Plain dataclasses that carry a bulletin through the pipeline.

Every stage is a pure function over these objects:
``ingest`` -> text, ``items`` -> :class:`Item`, ``metrics`` -> :class:`Metric`,
``sectors`` -> sector fields, ``geocode`` -> :class:`Place`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = [
    "DATE_SOURCES_ZH",
    "HEAD_KINDS_ZH",
    "QUALIFIERS",
    "SCOPES",
    "UNITS",
    "UNIT_STYLES_ZH",
    "Alternative",
    "Bulletin",
    "BulletinHeader",
    "Evidence",
    "Furniture",
    "Item",
    "Layout",
    "Metric",
    "ParseWarning",
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

    ``span`` holds character offsets into the item's text (headline + "\\n" + body);
    ``cumulative`` marks a running total (累计, 截至目前, 今年以来: :mod:`geo.running_totals`),
    which aggregates as its latest value, never as a sum.
    """

    value: float
    unit: str
    qualifier: str = "exact"
    label: str = ""
    text: str = ""
    span: tuple[int, int] = (0, 0)
    cumulative: bool = False

    def to_dict(self) -> dict:
        """JSON-ready record; a whole-number value is written as an int."""
        d = asdict(self)
        d["span"] = list(self.span)
        if float(self.value).is_integer():
            d["value"] = int(self.value)
        return d


def _flat_dict(record: Any) -> dict:
    # a record of plain values only: a shallow copy is its asdict, without asdict's deep walk
    # (every stored item's evidence is written through here: re-placing 10,000 stored items
    # took 7.0 s with asdict, 6.2 s without)
    return {f.name: getattr(record, f.name) for f in fields(record)}


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
        return _flat_dict(self)


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
        return _flat_dict(self)


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
    """The masthead fields of a bulletin, when present.

    ``title`` 刊名 (``"息县工作简报"``), ``issue`` 期号 (``"2024年第3期"``), ``date`` ISO
    ``yyyy-mm-dd``, ``issue_total`` 总期号 (``"总第212期"``), ``publisher`` 主办/编印单位.
    ``date_source`` says where the date comes from: a key of :data:`DATE_SOURCES_ZH`
    (``masthead``, ``file`` — the PDF/DOCX properties, ``user`` — given at upload or with
    ``--date``), None without a date.
    """

    title: str | None = None
    issue: str | None = None
    date: str | None = None  # ISO yyyy-mm-dd
    issue_total: str | None = None
    publisher: str | None = None
    date_source: str | None = None


#: Where a bulletin's date comes from, with the words planners read.
DATE_SOURCES_ZH = {"masthead": "报头", "file": "文件属性", "user": "上传时填写"}


#: Kinds of item heads a layout may use, with their Chinese names.
HEAD_KINDS_ZH = {
    "lines": "标题行",
    "numbered": "编号标题",
    "bracket": "【】标题",
    "heading": "Word标题样式",
    "bold": "加粗标题",
    "bold_lead": "段首加粗",
    "colon": "段首冒号标题",
    "toc": "按目录",
    "single": "整篇一条",
}
#: How a layout gives reporting units, with their Chinese names.
UNIT_STYLES_ZH = {
    "paren": "文末（单位 作者）",
    "supplied": "文末（单位供稿）",
    "line": "供稿/报送/来源行",
    "dateline": "导语“××讯”",
    "photo": "图片署名",
    "mixed": "多种",
    "none": "无署名",
}


@dataclass
class Layout:
    """How a bulletin marks its items, decided from the whole text.

    Attributes
    ----------
    heads : str
        A key of ``HEAD_KINDS_ZH``: ``lines`` (headlines as in the sample), ``numbered``,
        ``bracket``, ``heading`` (Word heading styles), ``bold``, ``bold_lead``, ``colon``,
        ``toc`` (heads found from the table of contents), ``single``.
    numbering : str or None
        The numbering style of numbered heads (``"一、"``, ``"（一）"``, ``"1."``, ``"1、"``,
        ``"（1）"``, ``"第一"``, ``"①"``).
    units : str
        A key of ``UNIT_STYLES_ZH``: how most items give their reporting unit.
    decided : bool
        False when the layout could not be told for sure (a warning says why).
    """

    heads: str = "lines"
    numbering: str | None = None
    units: str = "none"
    decided: bool = True

    def to_dict(self) -> dict:
        """JSON-ready record."""
        return asdict(self)

    def describe_zh(self) -> str:
        """One Chinese line for people, e.g. ``"编号标题（一、）；单位：供稿/报送/来源行"``."""
        heads = HEAD_KINDS_ZH.get(self.heads, self.heads)
        if self.numbering:
            heads += f"（{self.numbering}）"
        text = f"{heads}；单位：{UNIT_STYLES_ZH.get(self.units, self.units)}"
        return text if self.decided else text + "（未能确定）"


@dataclass
class ParseWarning:
    """Something the splitter was unsure of, for a reviewer.

    Attributes
    ----------
    code : str
        ``layout_undecided``, ``numbering_skipped``, ``numbering_repeated``,
        ``numbering_restarted``, ``toc_count``, ``unit_missing``, ``cut_uncertain``,
        ``text_before_first_head``.
    message : str
        What happened, in Chinese.
    item : int or None
        Index of the item concerned.
    offset : int or None
        Where in the normalised text.
    """

    code: str
    message: str
    item: int | None = None
    offset: int | None = None

    def to_dict(self) -> dict:
        """JSON-ready record."""
        return asdict(self)


@dataclass
class Furniture:
    """Parts of a bulletin that are not items: masthead, 编者按, 目录, columns, footer.

    Attributes
    ----------
    spans : list of (int, int, str)
        ``(start, end, kind)`` in the normalised text; kind is ``masthead``, ``editor_note``,
        ``toc``, ``section``, ``intro`` or ``tail``.
    editor_notes : list of str
        Texts of 编者按/编后 paragraphs.
    toc : list of str
        Entries of the table of contents, numbers and page numbers removed.
    sections : list of str
        Column names (``乡镇动态``) in order.
    distribution : list of str
        Footer lines ``报：…``, ``送：…``, ``发：…`` as written.
    copies : int or None
        ``共印 60 份``.
    people : dict of str to str
        Footer credits by label (``责任编辑``, ``签发`` …).
    """

    spans: list[tuple[int, int, str]] = field(default_factory=list)
    editor_notes: list[str] = field(default_factory=list)
    toc: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    distribution: list[str] = field(default_factory=list)
    copies: int | None = None
    people: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready record (spans as lists)."""
        d = asdict(self)
        d["spans"] = [list(s) for s in self.spans]
        return d


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
    layout: Layout = field(default_factory=Layout)
    warnings: list[ParseWarning] = field(default_factory=list)
    furniture: Furniture = field(default_factory=Furniture)

    def to_dict(self) -> dict:
        """The JSON record of ``python -m geo parse``: header fields flat, items nested."""
        return {
            "source_name": self.source_name,
            "sha256": self.sha256,
            "title": self.header.title,
            "issue": self.header.issue,
            "issue_total": self.header.issue_total,
            "publisher": self.header.publisher,
            "date": self.header.date,
            "date_source": self.header.date_source,
            "county": self.county,
            "county_code": self.county_code,
            "layout": self.layout.to_dict(),
            "warnings": [w.to_dict() for w in self.warnings],
            "furniture": self.furniture.to_dict(),
            "items": [it.to_dict() for it in self.items],
        }
