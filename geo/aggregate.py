"""Tables of items and metrics, filters, and per-township aggregates for the map.

``items_frame`` is the one tabular form of parsed items: the store returns the same columns,
the app filters it and the exports write it.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from geo.models import Bulletin

__all__ = ["ITEM_COLUMNS", "METRIC_COLUMNS", "item_id", "items_frame"]

ITEM_COLUMNS = [
    "item_id",
    "bulletin_id",
    "bulletin_name",
    "bulletin_title",
    "bulletin_issue",
    "bulletin_date",
    "index",
    "headline",
    "body",
    "unit",
    "authors",
    "sector",
    "sectors",
    "scope",
    "county",
    "county_code",
    "township",
    "township_code",
    "village",
    "village_code",
    "outside",
    "corrected",
]
METRIC_COLUMNS = ["item_id", "value", "unit", "qualifier", "label", "text"]


def item_id(bulletin_sha256: str, index: int) -> str:
    """Stable id of an item: the bulletin's content hash prefix and the item's position."""
    return f"{bulletin_sha256[:12]}-{index:03d}"


def items_frame(bulletins: Iterable[Bulletin]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per item and one row per metric, with the columns above.

    ``authors``, ``sectors`` and ``outside`` are joined into strings ("、" and ",") so the frames
    export to CSV and GeoPackage as they are.
    """
    item_rows, metric_rows = [], []
    for b in bulletins:
        for it in b.items:
            iid = item_id(b.sha256, it.index)
            item_rows.append(
                {
                    "item_id": iid,
                    "bulletin_id": b.sha256,
                    "bulletin_name": b.source_name,
                    "bulletin_title": b.header.title,
                    "bulletin_issue": b.header.issue,
                    "bulletin_date": b.header.date,
                    "index": it.index,
                    "headline": it.headline,
                    "body": it.body,
                    "unit": it.unit,
                    "authors": "、".join(it.authors),
                    "sector": it.sector,
                    "sectors": ",".join(it.sectors),
                    "scope": it.place.scope,
                    "county": it.place.county or b.county,
                    "county_code": it.place.county_code or b.county_code,
                    "township": it.place.township,
                    "township_code": it.place.township_code,
                    "village": it.place.village,
                    "village_code": it.place.village_code,
                    "outside": ",".join(it.place.outside),
                    "corrected": False,
                }
            )
            for m in it.metrics:
                metric_rows.append(
                    {
                        "item_id": iid,
                        "value": float(m.value),
                        "unit": m.unit,
                        "qualifier": m.qualifier,
                        "label": m.label,
                        "text": m.text,
                    }
                )
    return (
        pd.DataFrame(item_rows, columns=ITEM_COLUMNS),
        pd.DataFrame(metric_rows, columns=METRIC_COLUMNS),
    )
