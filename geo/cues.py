"""Cue words of bulletin layouts, read from ``data/config/bulletin_layout.json``.

Which labels give a reporting unit (``供稿：``), which start a distribution footer (``报：``),
which name an editor's note or a table of contents, which short lines are column names
(``乡镇动态``): the splitter's vocabulary lives in that file, not in code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from geo import paths
from geo.errors import GeoInputError

__all__ = ["LayoutCues", "label_pattern", "layout_cues"]

_FILE = "bulletin_layout.json"


@dataclass(frozen=True)
class LayoutCues:
    """The cue words of :file:`data/config/bulletin_layout.json` (see its ``comment``)."""

    unit_labels: tuple[str, ...]
    author_labels: tuple[str, ...]
    reviewer_labels: tuple[str, ...]
    tail_labels: tuple[str, ...]
    tail_people_labels: tuple[str, ...]
    editor_note_labels: tuple[str, ...]
    toc_labels: tuple[str, ...]
    column_words: tuple[str, ...]
    column_max_chars: int
    in_item_brackets: tuple[str, ...]
    colon_lead_stopwords: tuple[str, ...]
    colon_lead_bad_endings: tuple[str, ...]
    intro_endings: tuple[str, ...]

    @property
    def credit_labels(self) -> tuple[str, ...]:
        """Labels of an item's closing credit lines: unit, author and reviewer labels."""
        return self.unit_labels + self.author_labels + self.reviewer_labels


def label_pattern(labels: tuple[str, ...]) -> str:
    """A regex alternation of ``labels``, longest first (so ``供稿单位`` wins over ``供稿``).

    Returns
    -------
    str
    """
    return "|".join(re.escape(w) for w in sorted(labels, key=len, reverse=True))


@lru_cache(maxsize=4)
def layout_cues(path: str | Path | None = None) -> LayoutCues:
    """The layout cue words (cached).

    Parameters
    ----------
    path : str or path-like, optional
        Another file of the same shape; default ``data/config/bulletin_layout.json``.

    Returns
    -------
    LayoutCues

    Raises
    ------
    geo.errors.GeoInputError
        The file is missing or is not the expected JSON.
    """
    file = Path(path) if path else paths.config_dir() / _FILE
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
        values = {
            name: (int(doc[name]) if name == "column_max_chars" else tuple(map(str, doc[name])))
            for name in LayoutCues.__dataclass_fields__
        }
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise GeoInputError(
            f"无法读取版式配置 {file}（{err}）：请检查该 JSON 文件", code="config.layout_cues"
        ) from None
    return LayoutCues(**values)
