"""County outlines of China for location checks and overview maps.

The outlines (``data/outlines/county_outlines.csv.gz``, see its ``SOURCES.md``) are geoBoundaries
CHN ADM3 polygons from OpenStreetMap (ODbL 1.0, about 2017, WGS84), coded with this gazetteer's
6-digit county codes. They are approximate (median IoU 0.95 with an independent layer): good for
"is this layer where the county is?", not an authoritative boundary. 2,562 of the 2,847 current
counties have one; :func:`county_outline` returns ``None`` for the others.
"""

from __future__ import annotations

import csv
import functools
import gzip

import geopandas as gpd
import shapely

from geo.paths import data_dir

__all__ = [
    "OUTLINES_PATH",
    "OUTLINE_ATTRIBUTION",
    "OUTLINE_COLUMNS",
    "county_outline",
    "county_outlines",
]

#: The shipped outlines.
OUTLINES_PATH = data_dir() / "outlines" / "county_outlines.csv.gz"
#: Columns of :func:`county_outlines` (besides ``geometry``).
OUTLINE_COLUMNS = ["code", "name", "source_name", "match", "source", "quality"]
#: Attribution the ODbL asks for wherever the outlines are shown or exported.
OUTLINE_ATTRIBUTION = (
    "县界：© OpenStreetMap contributors，geoBoundaries（ODbL 1.0），约 2017 年，示意"
)
_SOURCE = "geoBoundaries CHN ADM3 (OpenStreetMap, ODbL 1.0)"


@functools.lru_cache(maxsize=1)
def _all_outlines() -> gpd.GeoDataFrame:
    with gzip.open(OUTLINES_PATH, "rt", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    geoms = shapely.from_wkt([r["wkt"] for r in rows])
    gdf = gpd.GeoDataFrame(
        {
            "code": [r["code"] for r in rows],
            "name": [r["name"] for r in rows],
            "source_name": [r["source_name"] for r in rows],
            "match": [r["match"] for r in rows],
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
    gdf["source"] = _SOURCE
    gdf["quality"] = "approximate"
    return gdf


def county_outlines(prefix: str = "") -> gpd.GeoDataFrame:
    """Outlines of every county whose code starts with ``prefix``.

    Parameters
    ----------
    prefix : str
        Code prefix: ``""`` all, ``"41"`` a province, ``"4115"`` a prefecture (信阳).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`OUTLINE_COLUMNS` and ``geometry`` (EPSG:4326), sorted by code; a fresh
        copy (callers may modify it). Counties without an outline are simply absent.
    """
    gdf = _all_outlines()
    prefix = str(prefix or "").strip()
    picked = gdf[gdf["code"].str.startswith(prefix)] if prefix else gdf
    return picked.reset_index(drop=True).copy()


def county_outline(code: str) -> gpd.GeoDataFrame | None:
    """The outline of one county, or ``None`` when none is shipped for it.

    Parameters
    ----------
    code : str
        6-digit county code (a longer township or village code is cut to its county).

    Returns
    -------
    geopandas.GeoDataFrame or None
        One row, columns as :func:`county_outlines`.
    """
    code = str(code or "").strip()[:6]
    if len(code) != 6 or not code.isdigit():
        return None
    gdf = _all_outlines()
    row = gdf[gdf["code"] == code]
    return row.reset_index(drop=True).copy() if len(row) else None
