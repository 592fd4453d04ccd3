"""The pipeline from a bulletin's text to fully annotated items.

ingest (normalise) -> items (split) -> metrics -> sectors -> geocode.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

from geo import gazetteer as _gaz
from geo.geocode import geocode_item
from geo.io.bulletin_files import read_bulletin
from geo.items import Split, single_item, split_bulletin
from geo.masthead import parse_header
from geo.metrics import extract_metrics
from geo.models import Bulletin, Item, Layout
from geo.normalise import normalise_text
from geo.place_rules import CountyRules
from geo.sectors import Taxonomy, classify_sector, load_taxonomy

__all__ = ["annotate_items", "parse_file", "parse_text"]


def annotate_items(
    items: list[Item],
    gazetteer: _gaz.Gazetteer | None,
    taxonomy: Taxonomy | None = None,
    *,
    rules: CountyRules | None = None,
) -> list[Item]:
    """Fill metrics, sectors and places of ``items`` in place and return them.

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


def parse_file(
    source: str | Path | bytes | BinaryIO,
    name: str | None = None,
    *,
    county: str | None = None,
    single: bool = False,
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

    Raises
    ------
    geo.errors.BulletinReadError
        The file cannot be read (see :func:`geo.io.bulletin_files.read_bulletin`).
    geo.errors.CountyNotFoundError
        ``county`` is not in the gazetteer.
    """
    raw = read_bulletin(source, name)
    label = name or (Path(source).name if isinstance(source, str | Path) else "<upload>")
    return parse_text(raw, county=county, single=single, source_name=label, rules=rules)
