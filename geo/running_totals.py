"""Running totals: figures a bulletin reports "so far" (累计, 截至目前, 今年以来).

A running total is a level, not a flow: the next bulletin reports it again, grown. Summing two
reports of it would count the same people, yuan or mu twice, so such figures are marked
``cumulative`` and aggregate as their latest value (:mod:`geo.facts`). A figure is a running
total when a cue word of ``data/config/facts.json`` stands before it in the same sentence:
``截至目前，已上报签约项目 5 个，总投资 13.5 亿元`` marks both figures,
``已累计服务返乡人员 3600 余人次，办件 2800 余件`` all three.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from geo.models import Item
from geo.paths import config_dir

__all__ = [
    "FACTS_CONFIG_PATH",
    "RunningTotalRules",
    "is_running_total",
    "load_running_total_rules",
    "mark_running_totals",
]

#: Cue words of running totals and the near-duplicate settings (:mod:`geo.near_duplicates`).
FACTS_CONFIG_PATH = config_dir() / "facts.json"


@dataclass(frozen=True)
class RunningTotalRules:
    """Cue words (longest first) and the characters that end a sentence."""

    cues: tuple[str, ...]
    stops: frozenset[str]


@lru_cache(maxsize=4)
def _rules(path: str) -> RunningTotalRules:
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    cues = sorted({str(c) for c in doc["running_total_cues"] if c}, key=len, reverse=True)
    return RunningTotalRules(tuple(cues), frozenset(doc.get("sentence_stops", "。！？；\n")))


def load_running_total_rules(path: str | Path | None = None) -> RunningTotalRules:
    """The rules of ``data/config/facts.json`` (or another file of the same form).

    Parameters
    ----------
    path : str or Path, optional

    Returns
    -------
    RunningTotalRules
    """
    return _rules(str(path or FACTS_CONFIG_PATH))


def _sentence_start(text: str, at: int, stops: frozenset[str]) -> int:
    i = min(max(at, 0), len(text))
    while i > 0 and text[i - 1] not in stops:
        i -= 1
    return i


def is_running_total(text: str, start: int, *, rules: RunningTotalRules | None = None) -> bool:
    """True when the figure at offset ``start`` of ``text`` is a running total.

    Parameters
    ----------
    text : str
        The item's text (headline, newline, body), as :attr:`geo.models.Item.text`.
    start : int
        Where the figure starts (``Metric.span[0]``).
    rules : RunningTotalRules, optional
        Default :func:`load_running_total_rules`.

    Returns
    -------
    bool
        A cue word stands between the start of the figure's sentence and the figure.
    """
    r = rules or load_running_total_rules()
    before = text[_sentence_start(text, start, r.stops) : max(start, 0)]
    return any(cue in before for cue in r.cues)


def mark_running_totals(items: Iterable[Item], *, rules: RunningTotalRules | None = None) -> None:
    """Set ``cumulative`` on every metric of ``items`` that is a running total (in place).

    Parameters
    ----------
    items : iterable of geo.models.Item
        Items whose ``metrics`` were extracted from their ``text``.
    rules : RunningTotalRules, optional
    """
    r = rules or load_running_total_rules()
    for item in items:
        text = item.text
        for metric in item.metrics:
            metric.cumulative = is_running_total(text, metric.span[0], rules=r)
