"""The pipeline from a bulletin's text to fully annotated items.

ingest (normalise) -> items (split) -> metrics -> sectors -> geocode.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from geo import gazetteer as _gaz
from geo.errors import GeoInputError
from geo.geocode import geocode_item
from geo.io.bulletin_files import FileDate, read_bulletin_file
from geo.items import Split, single_item, split_bulletin
from geo.masthead import parse_header
from geo.metrics import extract_metrics
from geo.models import Bulletin, Item, Layout, ParseWarning
from geo.normalise import normalise_text
from geo.place_rules import CountyRules
from geo.running_totals import mark_running_totals
from geo.sectors import Taxonomy, classify_sector, load_taxonomy

__all__ = ["annotate_items", "check_date", "date_bulletin", "parse_file", "parse_text"]


def annotate_items(
    items: list[Item],
    gazetteer: _gaz.Gazetteer | None,
    taxonomy: Taxonomy | None = None,
    *,
    rules: CountyRules | None = None,
) -> list[Item]:
    """Fill metrics (running totals marked), sectors and places of ``items`` in place.

    Parameters
    ----------
    items : list of geo.models.Item
        Items from :func:`geo.items.split_items` or :func:`geo.items.single_item`.
    gazetteer : geo.gazetteer.Gazetteer or None
        The bulletin's county; without one every place is ``unknown``.
    taxonomy : geo.sectors.Taxonomy, optional
        Defaults to the bundled ``data/config/sectors.json``.
    rules : geo.place_rules.CountyRules, optional
        The county's rules from reviewers' corrections.

    Returns
    -------
    list of geo.models.Item
        The same list, annotated.
    """
    taxonomy = taxonomy or load_taxonomy()
    for item in items:
        item.metrics = extract_metrics(item.text)
        mark_running_totals([item])
        result = classify_sector(item.headline, item.body, item.unit, taxonomy)
        item.sector, item.sectors, item.sector_cues = result.primary, result.sectors, result.cues
        item.place = geocode_item(item, gazetteer, rules=rules)
    return items


def parse_text(
    raw: str,
    *,
    county: str | None = None,
    single: bool = False,
    source_name: str = "<text>",
    rules: list | CountyRules | None = None,
) -> Bulletin:
    """Parse a bulletin's raw text into a :class:`~geo.models.Bulletin`.

    Parameters
    ----------
    raw : str
        Decoded text, as read by :mod:`geo.io.bulletin_files`.
    county : str, optional
        County name or 6-digit code; detected from the text when omitted.
    single : bool
        Treat the whole text as one item.
    source_name : str
        File name shown to users and stored with the bulletin.
    rules : list of geo.place_rules.PlaceRule or CountyRules, optional
        Reviewers' county rules; those of the bulletin's county are applied.

    Returns
    -------
    geo.models.Bulletin
        Normalised text, its SHA-256, the masthead, the annotated items, the layout they were
        found by, the splitter's warnings and the furniture (目录, 编者按, footer).

    Raises
    ------
    geo.errors.CountyNotFoundError
        ``county`` is not in the gazetteer.
    """
    text = normalise_text(raw)
    gazetteer = _gaz.load_gazetteer(county) if county else _gaz.detect_gazetteer(text)
    split = Split() if single else split_bulletin(text)
    if not split.items:
        # A text with no recognisable item structure (one pasted news story) is one item.
        split = Split(single_item(text), Layout("single"), [], split.furniture)
    annotate_items(split.items, gazetteer, rules=_rules_of(rules, gazetteer))
    return Bulletin(
        source_name=source_name,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        header=parse_header(text),
        county=gazetteer.county_name if gazetteer else None,
        county_code=gazetteer.county_code if gazetteer else None,
        items=split.items,
        layout=split.layout,
        warnings=split.warnings,
        furniture=split.furniture,
    )


def _rules_of(
    rules: list | CountyRules | None, gazetteer: _gaz.Gazetteer | None
) -> CountyRules | None:
    if not rules or gazetteer is None:
        return None
    if isinstance(rules, CountyRules):
        return rules if rules.county_code == gazetteer.county_code else None
    own = tuple(r for r in rules if r.county_code == gazetteer.county_code)
    return CountyRules(gazetteer.county_code, own)


def check_date(text: str | dt.date | None) -> str | None:
    """A bulletin date given by a person (``--date``, the upload form) as ISO ``yyyy-mm-dd``.

    Parameters
    ----------
    text : str, datetime.date or None
        ``2024-02-01``, ``2024/2/1`` or ``20240201``; None or empty gives None.

    Returns
    -------
    str or None

    Raises
    ------
    geo.errors.GeoInputError
        Not a date, or a date before 1990 or in the future (``code="date.invalid"``).
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, dt.date):
        day = text
    else:
        raw = text.strip().replace("/", "-").replace(".", "-")
        try:
            day = (
                dt.datetime.strptime(raw, "%Y%m%d").date()
                if raw.isdigit()
                else dt.date(*(int(p) for p in raw.split("-")))
            )
        except (ValueError, TypeError):
            raise GeoInputError(
                f"日期“{text}”无法识别，请写成 2024-02-01", code="date.invalid"
            ) from None
    if not dt.date(1990, 1, 1) <= day <= dt.date.today() + dt.timedelta(days=1):
        raise GeoInputError(f"日期 {day.isoformat()} 不在合理范围内", code="date.invalid")
    return day.isoformat()


def date_bulletin(
    bulletin: Bulletin, *, given: str | None = None, file_date: FileDate | None = None
) -> Bulletin:
    """The bulletin with its date decided: the masthead's, else the one a person gave, else
    the file properties' (with a warning to check it).

    Parameters
    ----------
    bulletin : geo.models.Bulletin
    given : str, optional
        ISO date given with ``--date`` or in the upload form (:func:`check_date`).
    file_date : geo.io.bulletin_files.FileDate, optional
        From the PDF/DOCX properties.

    Returns
    -------
    geo.models.Bulletin
        A copy when anything changed; ``header.date_source`` says where the date comes from
        (None when there is still none). A given date unlike the masthead's is noted in
        ``warnings`` (``date_differs``), the masthead's is kept.
    """
    h = bulletin.header
    if h.date:
        if given and given != h.date:
            note = ParseWarning(
                "date_differs", f"报头日期为 {h.date}，与填写的 {given} 不同，按报头日期"
            )
            return replace(bulletin, warnings=[*bulletin.warnings, note])
        return bulletin
    if given:
        return replace(bulletin, header=replace(h, date=given, date_source="user"))
    if file_date is not None:
        note = ParseWarning("date_from_file", file_date.note_zh)
        header = replace(h, date=file_date.date, date_source="file")
        return replace(bulletin, header=header, warnings=[*bulletin.warnings, note])
    return bulletin


def parse_file(
    source: str | Path | bytes | BinaryIO,
    name: str | None = None,
    *,
    county: str | None = None,
    single: bool = False,
    date: str | None = None,
    rules: list | CountyRules | None = None,
) -> Bulletin:
    """Read a bulletin file (.txt/.pdf/.docx, path or bytes) and parse it.

    The one way from a file to a :class:`~geo.models.Bulletin`, used by the CLI and, inside a
    bounded worker (:func:`geo.worker.run_bounded`), by the app.

    Parameters
    ----------
    source : str, pathlib.Path, bytes or binary file object
        The file, or its content (an upload, stdin).
    name : str, optional
        File name for messages and the stored bulletin; defaults to the path's name.
    county, single, rules
        As for :func:`parse_text`.
    date : str, optional
        The bulletin's date when its masthead has none (ISO, see :func:`check_date`); without
        it a PDF/DOCX's document properties may give one (see :func:`date_bulletin`).

    Raises
    ------
    geo.errors.BulletinReadError
        The file cannot be read (see :func:`geo.io.bulletin_files.read_bulletin`).
    geo.errors.CountyNotFoundError
        ``county`` is not in the gazetteer.
    """
    raw, file_date = read_bulletin_file(source, name)
    label = name or (Path(source).name if isinstance(source, str | Path) else "<upload>")
    bulletin = parse_text(raw, county=county, single=single, source_name=label, rules=rules)
    return date_bulletin(bulletin, given=check_date(date), file_date=file_date)
