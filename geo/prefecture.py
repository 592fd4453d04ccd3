"""Prefectures (地级市、地区、自治州、盟): the counties they hold, and bulletins about several
counties at once.

Wherever a county can be chosen a prefecture can be too (``--county 信阳市`` or ``--county
4115``). :func:`find_area` tells the two apart; :func:`parse_prefecture_text` parses a bulletin
whose items are about different counties of a prefecture, each item geocoded with the gazetteer
of its own county: the county it names, else the one county of the prefecture in which it names a
township or village, else none (the item stays unplaced rather than placed in a wrong county).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from geo import gazetteer as _gaz
from geo.chars import to_simplified
from geo.errors import CountyNotFoundError
from geo.geocode import geocode_item
from geo.io.bulletin_files import read_bulletin_file
from geo.models import Bulletin, Item
from geo.pipeline import annotate_items, check_date, date_bulletin, parse_file, parse_text
from geo.place_rules import CountyRules, PlaceRule

__all__ = [
    "Prefecture",
    "find_area",
    "is_prefecture_code",
    "load_prefecture",
    "parse_area_file",
    "parse_prefecture_text",
]

_SUFFIXES = ("市", "地区", "自治州", "盟")


@dataclass(frozen=True)
class Prefecture:
    """A prefecture-level unit and its county-level units.

    Attributes
    ----------
    code : str
        4 digits (``"4115"``): the first four of its counties' codes.
    name, province : str
    counties : tuple of (code, name)
        Current county-level units (in the 2025 list where known), in code order.
    """

    code: str
    name: str
    province: str
    counties: tuple[tuple[str, str], ...]

    @property
    def county_codes(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.counties)

    def county_name(self, code: str) -> str:
        return dict(self.counties).get(str(code), str(code))


def is_prefecture_code(code: str | None) -> bool:
    """True for a 4-digit prefecture code (``"4115"``)."""
    return bool(code) and len(str(code)) == 4 and str(code).isdigit()


@functools.lru_cache(maxsize=1)
def _cities() -> dict[str, tuple[str, str]]:
    """``{code: (name, province)}`` of ``cities.csv`` (without 市辖区/县 placeholders)."""
    with open(_gaz.DATA_DIR / "cities.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {
        r["code"]: (r["name"], r["province"])
        for r in rows
        if len(r["code"]) == 4 and r["name"] not in ("市辖区", "县", "省直辖县级行政区划")
    }


def _short(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


@functools.lru_cache(maxsize=64)
def _prefecture_of(code: str) -> Prefecture:
    name, province = _cities()[code]
    counties = _gaz.list_counties(code)
    current = counties[counties["in_mca_2025"] == "yes"]
    counties = current if len(current) else counties
    pairs = tuple(zip(counties["code"], counties["name"], strict=True))
    return Prefecture(code, name, province, pairs)


def _match_name(query: str) -> list[str]:
    """Codes of the prefectures ``query`` names: ``信阳市``, ``河南省信阳市``, ``河南信阳市``."""
    hits = []
    for code, (name, province) in _cities().items():
        for prefix in ("", province, _short(province.removesuffix("省"))):
            if query in (prefix + name,):
                hits.append(code)
                break
    return hits


def load_prefecture(query: str) -> Prefecture:
    """The prefecture named or coded by ``query``.

    Parameters
    ----------
    query : str
        4-digit code (``"4115"``) or name with its suffix, optionally after the province
        (``"信阳市"``, ``"河南省信阳市"``); the short name (``"信阳"``) when it names no county.

    Raises
    ------
    CountyNotFoundError
        Not a prefecture, or a name shared by several (the message lists them).
    """
    q = re.sub(r"\s+", "", to_simplified(str(query or "")))
    if q.isdigit():
        if q in _cities():
            return _prefecture_of(q)
        raise CountyNotFoundError(f"没有代码为 {q} 的地级市（州、盟）", code="county.not_found")
    hits = _match_name(q) or [c for c, (n, _) in _cities().items() if q and _short(n) == q]
    if len(hits) == 1:
        return _prefecture_of(hits[0])
    if len(hits) > 1:
        listed = "、".join(f"{_cities()[c][1]}{_cities()[c][0]}({c})" for c in hits)
        raise CountyNotFoundError(
            f"地级市名称“{query}”有多个：{listed}；请加省名或用代码", code="county.ambiguous"
        )
    raise CountyNotFoundError(f"没有名为“{query}”的地级市（州、盟）")


def find_area(query: str) -> _gaz.Gazetteer | Prefecture:
    """A county's gazetteer or a prefecture, whichever ``query`` names.

    A 4-digit code or a full prefecture name (``信阳市``) is a prefecture; anything else is
    looked up as a county first (``息县``, ``411528``), then as a prefecture's short name.

    Raises
    ------
    CountyNotFoundError
        Neither a county nor a prefecture (the county lookup's message).
    """
    q = re.sub(r"\s+", "", to_simplified(str(query or "")))
    if is_prefecture_code(q) or _match_name(q):
        return load_prefecture(q)
    try:
        return _gaz.load_gazetteer(q)
    except CountyNotFoundError as county_error:
        try:
            return load_prefecture(q)
        except CountyNotFoundError:
            raise county_error from None


def _item_county(item: Item, prefecture: Prefecture) -> _gaz.Gazetteer | None:
    """The county an item of a prefecture bulletin is about (see the module notes)."""
    named = _gaz.detect_gazetteer(item.text)
    if named is not None and named.county_code in prefecture.county_codes:
        return named
    found = []
    for code in prefecture.county_codes:
        gaz = _gaz.load_gazetteer(code)
        if geocode_item(item, gaz).scope in ("township", "village"):
            found.append(gaz)
    return found[0] if len(found) == 1 else None


def parse_prefecture_text(
    raw: str, prefecture: Prefecture, *, single: bool = False, source_name: str = "<text>"
) -> Bulletin:
    """Parse a bulletin about several counties of ``prefecture``; each item is geocoded with
    its own county's gazetteer (``item.place.county_code``), the bulletin has no single county.

    Parameters
    ----------
    raw : str
        Decoded text.
    prefecture : Prefecture
    single : bool
        Treat the whole text as one item.
    source_name : str

    Returns
    -------
    geo.models.Bulletin
        ``county`` is the prefecture's name and ``county_code`` None; items whose county could
        not be told have an ``unknown`` place.
    """
    # split, masthead, layout and warnings as for any bulletin; then each item's own county
    bulletin = parse_text(raw, single=single, source_name=source_name)
    for item in bulletin.items:
        annotate_items([item], _item_county(item, prefecture))
    return dataclasses.replace(bulletin, county=prefecture.name, county_code=None)


def parse_area_file(
    source: str | Path | bytes | BinaryIO,
    name: str | None = None,
    *,
    county: str | None = None,
    single: bool = False,
    rules: list[PlaceRule] | None = None,
    date: str | None = None,
) -> Bulletin:
    """:func:`geo.pipeline.parse_file` where ``county`` may also name a prefecture (then each
    item is placed in its own county, :func:`parse_prefecture_text`; ``rules`` of a county
    apply to that county's items only). ``date`` as for :func:`geo.pipeline.parse_file`.

    Raises
    ------
    geo.errors.BulletinReadError, geo.errors.CountyNotFoundError
        As :func:`geo.pipeline.parse_file`.
    """
    area = find_area(county) if county else None
    if not isinstance(area, Prefecture):
        return parse_file(source, name, county=county, single=single, rules=rules, date=date)
    raw, file_date = read_bulletin_file(source, name)
    label = name or (Path(source).name if isinstance(source, str | Path) else "<upload>")
    bulletin = parse_prefecture_text(raw, area, single=single, source_name=label)
    for item in bulletin.items if rules else ():  # each item with its own county's rules
        code = item.place.county_code if item.place else None
        own = [r for r in rules if r.county_code == code] if code else []
        if own:
            annotate_items([item], _gaz.load_gazetteer(code), rules=CountyRules(code, tuple(own)))
    return date_bulletin(bulletin, given=check_date(date), file_date=file_date)
