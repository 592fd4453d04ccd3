"""Reported quantities of bulletin items: numbers, multipliers, units, qualifiers and labels.

A small grammar reads ``[qualifier] number [余/多] [multiplier] [余/多] unit [qualifier]`` and
ranges ``A至B`` / ``A-B`` / ``三四千``. Units, multipliers, cue words and the words that rule a
number out (dates, durations, shares, grades...) live in ``data/config/metric_units.json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from geo.chars import mask_pinyin_glosses, simplify_chars
from geo.errors import GeoInputError
from geo.models import Metric
from geo.paths import config_dir

__all__ = [
    "MetricGrammar",
    "extract_metrics",
    "load_grammar",
    "measure_word",
    "parse_chinese_number",
]

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_SMALL = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
_APPROX_MARKS = "余多来"
# Same-length translation, so offsets found in the scan string index the original text.
_FULLWIDTH = str.maketrans("０１２３４５６７８９．％＋：", "0123456789.%+:")
_NUM_RE = re.compile(
    r"(?P<ar>\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:\.\d+)?)|(?P<cn>[零〇一二两三四五六七八九十百千万亿]+)"
)
_SPACES = " \t\u3000\xa0"
_DELIMS = frozenset("，,。；;：:！？!?、\n（）()“”\"'‘’《》【】|[]/")
_MASK = "|"
# Punctuation that may sit inside one noun phrase: lists (省、市) and quoted names.
_PHRASE_INNER = frozenset("、“”‘’《》")
_LABEL_MAX = 12
_HEADLINE_MAX = 80
_NOUN_WINDOW = 12


@dataclass(frozen=True)
class MetricGrammar:
    """Word tables of the metric grammar, read from ``metric_units.json``."""

    multipliers: dict[str, int]
    units: dict[str, tuple[str, float]]
    arabic_only: frozenset[str]
    needs_noun: dict[str, str]
    noun_cues: dict[str, str]
    skip_after: frozenset[str]
    skip_before: tuple[str, ...]
    skip_before_chinese: tuple[str, ...]
    distance_cues: tuple[str, ...]
    distance_units: frozenset[str]
    distance_after: tuple[str, ...]
    prefix_qualifiers: dict[str, str]
    prefix_blockers: tuple[str, ...]
    threshold_nouns: tuple[str, ...]
    suffix_qualifiers: dict[str, str]
    range_connectors: frozenset[str]
    money_cues: tuple[str, ...]
    label_strip_tail: tuple[str, ...]
    label_strip_head: tuple[str, ...]
    label_entity_suffixes: tuple[str, ...]
    noun_stop: tuple[str, ...]
    idioms: tuple[str, ...]
    label_place_suffixes: tuple[str, ...] = ()
    label_place_words: frozenset[str] = frozenset()
    label_cut_after: frozenset[str] = frozenset()
    people_cues: tuple[str, ...] = ()
    ranking_units: frozenset[str] = frozenset()
    not_ranking: tuple[str, ...] = ()
    bare_skip_units: frozenset[str] = frozenset()
    #: Words after a round sum that make it a grade of a place or firm (亿元村, 十亿元镇).
    grade_nouns: tuple[str, ...] = ()
    #: Length of the longest word that can follow a number.
    max_word: int = 1


def load_grammar(path: str | Path | None = None) -> MetricGrammar:
    """Read the metric grammar tables.

    Parameters
    ----------
    path : str or Path, optional
        A ``metric_units.json``; defaults to ``data/config/metric_units.json``.

    Returns
    -------
    MetricGrammar

    Raises
    ------
    GeoInputError
        If the file is missing or malformed.
    """
    if path is None:
        return _default_grammar()
    return _read_grammar(Path(path))


@lru_cache(maxsize=1)
def _default_grammar() -> MetricGrammar:
    return _read_grammar(config_dir() / "metric_units.json")


def _read_grammar(path: Path) -> MetricGrammar:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        by_length = lambda words: tuple(sorted(words, key=len, reverse=True))  # noqa: E731
        return MetricGrammar(
            multipliers={k: int(v) for k, v in raw["multipliers"].items()},
            units={k: (v[0], float(v[1])) for k, v in raw["units"].items()},
            arabic_only=frozenset(raw["arabic_only"]),
            needs_noun=dict(raw["needs_noun"]),
            noun_cues=dict(raw["noun_cues"]),
            skip_after=frozenset(raw["skip_after"]),
            skip_before=by_length(raw["skip_before"]),
            skip_before_chinese=by_length(raw.get("skip_before_chinese", ())),
            distance_cues=tuple(raw["distance_cues"]),
            distance_units=frozenset(raw["distance_units"]),
            distance_after=tuple(raw.get("distance_after", ())),
            prefix_qualifiers=dict(raw["prefix_qualifiers"]),
            prefix_blockers=tuple(raw.get("prefix_blockers", ())),
            threshold_nouns=tuple(raw.get("threshold_nouns", ())),
            suffix_qualifiers=dict(raw["suffix_qualifiers"]),
            range_connectors=frozenset(raw["range_connectors"]),
            money_cues=tuple(raw["money_cues"]),
            label_strip_tail=by_length(raw["label_strip_tail"]),
            label_strip_head=by_length(raw["label_strip_head"]),
            label_entity_suffixes=tuple(raw["label_entity_suffixes"]),
            noun_stop=tuple(raw["noun_stop"]),
            idioms=by_length(raw["idioms"]),
            label_place_suffixes=by_length(raw.get("label_place_suffixes", ())),
            label_place_words=frozenset(raw.get("label_place_words", ())),
            label_cut_after=frozenset(raw.get("label_cut_after", ())),
            people_cues=tuple(raw.get("people_cues", ())),
            ranking_units=frozenset(raw.get("ranking_units", ())),
            not_ranking=tuple(raw.get("not_ranking", ())),
            bare_skip_units=frozenset(raw.get("bare_skip_units", ())),
            grade_nouns=by_length(raw.get("grade_nouns", ())),
            max_word=max(len(w) for w in (*raw["units"], *raw["needs_noun"], *raw["skip_after"])),
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError) as err:
        raise GeoInputError(
            f"无法读取指标语法配置 {path.name}（{err}）：请检查该 JSON 文件",
            code="config.metric_units",
        ) from None


def parse_chinese_number(s: str) -> float | None:
    """Value of a Chinese numeral such as ``三千五百``, ``两万``, ``十`` or ``1.2亿``'s ``亿``.

    Parameters
    ----------
    s : str
        Chinese numeral characters only.

    Returns
    -------
    float or None
        ``None`` when ``s`` is not one well-formed number (``十四五``, ``一二三``).
    """
    if not s:
        return None
    total, section, digit, last_small = 0, 0, None, None
    for ch in s:
        if ch in "零〇" and (section or total) and digit is None:
            continue  # 一万零五: a place-holder zero
        if ch in _CN_DIGITS:
            if digit is not None:  # two digits in a row: not a number (一二三)
                return None
            digit = _CN_DIGITS[ch]
        elif ch in _CN_SMALL:
            unit = _CN_SMALL[ch]
            if last_small is not None and unit >= last_small:
                return None
            section += (1 if digit is None else digit) * unit
            digit, last_small = None, unit
        else:  # 万 / 亿
            big = _CN_BIG[ch]
            section += digit or 0
            if section == 0 and total == 0:
                section = 1
            if section == 0:  # 万亿: scale what came before
                total *= big
            else:
                total = (total + section) * big if big > total else total + section * big
            section, digit, last_small = 0, None, None
    if digit is not None:
        prev = s[-2] if len(s) > 1 else ""
        if prev in _CN_SMALL and _CN_SMALL[prev] >= 100:
            digit *= _CN_SMALL[prev] // 10  # 三千五 = 3500
        elif prev in _CN_BIG:
            digit *= _CN_BIG[prev] // 10  # 两万五 = 25000
        elif prev and prev not in "零〇" and last_small is None:
            return None
        section += digit
    return float(total + section)


@dataclass
class _Number:
    value: float
    start: int
    end: int
    chinese: bool
    bare: bool = False  # 万亩, 百亿: a round multiplier without digits
    has_mult: bool = False
    approx: bool = False
    cn_range: bool = False  # 三四千
    mult: int = 1  # the multiplier read after an Arabic number (2至10万: 10 x 10000)
    spoken: bool = False  # 15个亿: the spoken form of a multiplier


def _skip_spaces(s: str, i: int) -> int:
    while i < len(s) and s[i] in _SPACES:
        i += 1
    return i


def _word_at(s: str, i: int, g: MetricGrammar) -> tuple[str, str] | None:
    """Longest unit / counted-noun / skip word at ``i``: ``(word, kind)``."""
    for n in range(min(g.max_word, len(s) - i), 0, -1):
        w = s[i : i + n]
        if w in g.skip_after:
            return w, "skip"
        if w in g.units:
            return w, "unit"
        if w in g.needs_noun:
            return w, "noun"
    return None


def _read_number(s: str, m: re.Match, g: MetricGrammar) -> _Number | None:
    if m.group("ar"):
        value = Decimal(m.group("ar").replace(",", ""))
        num = _Number(value, m.start(), m.end(), chinese=False)
    else:
        run = m.group("cn")
        # Leave a trailing 千/百 that starts a unit (三千克 is 3 kg... rare, but 千米/千瓦 are not).
        while (
            len(run) > 1 and (hit := _word_at(s, m.start() + len(run) - 1, g)) and len(hit[0]) > 1
        ):
            run = run[:-1]
        num = _read_chinese(run, m.start())
        if num is None:
            return None
    i = num.end
    mult = 1
    while True:
        j = _skip_spaces(s, i)
        ch = s[j] if j < len(s) else ""
        if ch and ch in _APPROX_MARKS and not num.approx and j > num.start:
            # 余/多/来 before a multiplier (10多万) or before the unit (300余亩, 800来亩)
            num.approx, i = True, j + 1
            continue
        if ch == "个" and s[j + 1 : j + 2] in ("亿", "万") and not num.has_mult:
            num.spoken, i = True, j + 1  # 15个亿: spoken form of 15亿
            continue
        if ch in g.multipliers and (num.chinese or ch != "十"):  # no "3十"
            hit = _word_at(s, j, g)
            if hit and len(hit[0]) > 1:  # 千克, 千米: a unit, not a multiplier
                break
            mult *= g.multipliers[ch]
            num.has_mult, i = True, j + 1
            continue
        break
    num.value = (
        float(Decimal(num.value) * mult) if isinstance(num.value, Decimal) else num.value * mult
    )
    num.end = i
    num.mult *= mult
    return num


def _read_chinese(run: str, start: int) -> _Number | None:
    digits = [c for c in run if c in _CN_DIGITS]
    if not digits:  # 万 / 百亿 / 十: round numbers
        value = parse_chinese_number(run)
        if value is None:
            return None
        return _Number(
            value, start, start + len(run), chinese=True, bare=run != "十", has_mult=True
        )
    # 三四千 / 两三万 / 七八十: two adjacent digits then multipliers -> lower bound
    if len(run) >= 2 and run[0] in _CN_DIGITS and run[1] in _CN_DIGITS:
        d1, d2 = _CN_DIGITS[run[0]], _CN_DIGITS[run[1]]
        rest = run[2:]
        if d1 and d2 > d1 and all(c in _CN_SMALL or c in _CN_BIG for c in rest):
            scale = parse_chinese_number(rest) if rest else 1.0
            if scale is None:
                return None
            return _Number(
                d1 * scale,
                start,
                start + len(run),
                chinese=True,
                cn_range=True,
                has_mult=bool(rest),
            )
        return None
    value = parse_chinese_number(run)
    if value is None:
        return None
    has_mult = any(c in _CN_BIG for c in run)
    trailing = 1
    for c in reversed(run):  # 两至三万: the shared 万 scales the lower bound too
        if c not in _CN_BIG:
            break
        trailing *= _CN_BIG[c]
    return _Number(value, start, start + len(run), chinese=True, has_mult=has_mult, mult=trailing)


def _prepare(text: str, g: MetricGrammar) -> str:
    # Web copies of provincial media are often in traditional characters (億, 萬, 畝).
    scan = simplify_chars(mask_pinyin_glosses(text)).translate(_FULLWIDTH)
    for idiom in g.idioms:
        if idiom in scan:
            scan = scan.replace(idiom, _MASK * len(idiom))
    return scan


def _clause_start(s: str, i: int, floor: int) -> int:
    j = i
    while j > floor and s[j - 1] not in _DELIMS:
        j -= 1
    return j


def _ends_with_any(s: str, words: tuple[str, ...]) -> str | None:
    """The longest of ``words`` (sorted longest first) that ``s`` ends with."""
    if not s.endswith(words):
        return None
    return next(w for w in words if s.endswith(w))


def _prefix_qualifier(before: str, num: _Number, g: MetricGrammar) -> tuple[str, str] | None:
    stripped = before.rstrip(_SPACES)
    if _ends_with_any(stripped, g.prefix_blockers):
        return None  # 附近, 节约: the character is part of a word, not a qualifier
    best = None
    for word, qual in g.prefix_qualifiers.items():
        if stripped.endswith(word) and (best is None or len(word) > len(best[0])):
            best = (word, qual)
    if best and best[0] == "上" and not num.bare:  # 上千/上万 only
        return None
    return best


def _resolve_noun(s: str, after: int, before: str, g: MetricGrammar) -> str | None:
    """Counted noun's base unit: the head noun after the measure word, else a noun just before.

    The head of a Chinese noun phrase is its last noun (30个重点招商项目 counts 项目, not 点),
    and a list or quoted name may sit inside the phrase (103个省、市重点项目). A noun before the
    number counts only when nothing but a verb separates them (项目共有7个, not 企业生产的8个种类).
    """
    window = []
    for ch in s[after : after + _NOUN_WINDOW]:
        if (ch in _DELIMS and ch not in _PHRASE_INNER) or ch.isdigit():
            break
        window.append(ch)
    following = _cut_at_stop("".join(window), g.noun_stop)
    best = None
    for cue, unit in g.noun_cues.items():
        k = following.rfind(cue)
        # Latest-ending cue is the head; of two ending together the longer wins (经营主体).
        key = (k + len(cue), len(cue))
        if k >= 0 and (best is None or key > best[0]):
            best = (key, unit)
    if best:
        return best[1]
    # blanks out (a masked pinyin gloss splits a noun: 項(xiàng)目17個)
    tail = "".join(before.split())[-10:]
    best = None
    for cue, unit in g.noun_cues.items():
        k = tail.rfind(cue)
        if k >= 0 and (best is None or k + len(cue) > best[0]):
            best = (k + len(cue), unit)
    if best is None:
        return None
    gap = tail[best[0] :]
    if "的" in gap or len(gap) > 4:
        return None  # the noun before qualifies something else (企业生产的8个种类)
    return best[1]


def _cut_at_stop(phrase: str, stops: tuple[str, ...]) -> str:
    """``phrase`` cut where a stop word (的, 和, 参加…) first occurs, unless that is its start."""
    cut = len(phrase)
    for stop in stops:
        k = phrase.find(stop)
        if 0 < k < cut:
            cut = k
    return phrase[:cut]


def _noun_after(s: str, i: int, g: MetricGrammar) -> str:
    chars = []
    depth = 0
    for ch in s[i : i + 16]:
        if ch in "（(":
            depth += 1
            continue
        if ch in "）)":
            depth = max(0, depth - 1)
            continue
        if depth:
            continue
        if ch in _DELIMS or ch.isdigit() or ch in _SPACES or ch == _MASK:
            break
        chars.append(ch)
    noun = "".join(chars)
    if noun.startswith(g.noun_stop):
        return ""  # 的/和/在…: what follows is no noun of this number
    return _cut_at_stop(noun, g.noun_stop)[:6]


def _clean_label(before: str, g: MetricGrammar) -> str:
    label = "".join(ch for ch in before if ch not in _SPACES and ch != _MASK)
    label = _strip_fillers(label, g)
    # Drop a leading subject (各…单位送工 -> 送工) when a real phrase remains after it.
    for suffix in g.label_entity_suffixes:
        k = label.rfind(suffix)
        if k >= 2 and len(label) - (k + len(suffix)) >= 2:
            label = _strip_fillers(label[k + len(suffix) :], g)
    return _trim_label(label, g)


def _trim_label(label: str, g: MetricGrammar) -> str:
    """The end of a long label, cut where a word can start.

    A plain cut to the last ``_LABEL_MAX`` characters can land inside a word: 路口乡成功签约…
    would show as 口乡成功签约…. The label starts instead right after a place name (…乡, …镇,
    …村, …县, …街道) that straddles the cut (a slightly shorter label) or ends at most two
    characters before it (a slightly longer one); else after a function word (的, 和, 在…) in
    its first two characters; else at the plain cut.
    """
    cut = len(label) - _LABEL_MAX
    if cut <= 0:
        return label
    # cut+1, cut+2: a place name straddles the window's start (口乡|成功, 县|东和店镇); cut,
    # cut-1, cut-2: one ends just before it. A suffix ending at cut+3 may close a whole
    # two-character name inside the window (汝南县…), which is a fine start already.
    for start in (cut, cut + 1, cut + 2, cut - 1, cut - 2):
        if 0 < start < len(label) - 1 and _after_place(label, start, g):
            return label[start:]
    for k in (cut, cut + 1):
        if label[k] in g.label_cut_after:
            return label[k + 1 :]
    return label[cut:]


def _after_place(label: str, start: int, g: MetricGrammar) -> bool:
    """Whether ``label[:start]`` ends with a place name (乡村, 市场, 村民 are words, not places)."""
    suffix = _ends_with_any(label[:start], g.label_place_suffixes)
    if not suffix or start - len(suffix) < 1:
        return False
    before = label[start - len(suffix) - 1]
    # 乡村 ends in 村 but is no place; 发展乡|村振兴 and 农贸市|场 are cuts inside a word.
    return before + suffix[0] not in g.label_place_words and (
        suffix[-1] + label[start] not in g.label_place_words
    )


def _strip_fillers(label: str, g: MetricGrammar) -> str:
    changed = True
    while changed and label:
        changed = False
        if w := _ends_with_any(label, g.label_strip_tail):
            label, changed = label[: -len(w)], True
        for w in g.label_strip_head:
            if label.startswith(w) and len(label) > len(w):
                label, changed = label[len(w) :], True
                break
    return label


def _is_threshold(s: str, end: int, g: MetricGrammar) -> bool:
    """Whether a bounded quantity is attributive: followed (after 的) by a noun it qualifies."""
    k = end + 1 if s.startswith("的", end) else end
    window = s[k : k + 6]
    return any(0 <= window.find(noun) <= 2 for noun in g.threshold_nouns)


def _is_money(before: str, g: MetricGrammar) -> bool:
    return any(cue in before for cue in g.money_cues)


def _is_ranking(before: str, g: MetricGrammar) -> bool:
    """前 right before the number reads as a rank (前三名), unless it ends a time word (目前)."""
    return before.endswith("前") and not before.endswith(g.not_ranking)


def _is_population(before: str, g: MetricGrammar) -> bool:
    """The number is a head count after its label (人口近2万), with fillers between."""
    fillers = (*g.label_strip_tail, *g.prefix_qualifiers)
    rest = before.rstrip(_SPACES)
    changed = True
    while changed:
        changed = False
        for w in fillers:
            if w and rest.endswith(w):
                rest, changed = rest[: -len(w)], True
                break
    return rest.endswith(g.people_cues) if g.people_cues else False


def extract_metrics(text: str, grammar: MetricGrammar | None = None) -> list[Metric]:
    """Every reported quantity in an item's text, normalised to base units.

    Parameters
    ----------
    text : str
        The item's headline + "\\n" + body (``Item.text``); spans index into it.
    grammar : MetricGrammar, optional
        Word tables; defaults to ``data/config/metric_units.json``.

    Returns
    -------
    list of Metric
        In text order, one per fact (an exact restatement of the same value, unit and label is
        dropped).

    Examples
    --------
    >>> [(m.value, m.unit, m.qualifier) for m in extract_metrics("流转土地300余亩")]
    [(300.0, 'mu', 'approx')]
    """
    if not text:
        return []
    g = grammar or load_grammar()
    s = _prepare(text, g)
    metrics: list[Metric] = []
    seen: set[tuple[float, str, str]] = set()
    head_end = _headline_end(text)
    headline_keys: set[tuple[float, str]] = set()
    pos = last_end = 0
    while (m := _NUM_RE.search(s, pos)) is not None:
        found = _read_quantity(s, m, last_end, g)
        if found is None:
            pos = m.end()
            continue
        end, metric, fresh_clause = found
        pos = last_end = end
        if metric is None:
            continue
        key = (metric.value, metric.unit, metric.label)
        if key in seen or (fresh_clause and any(k[:2] == key[:2] for k in seen)):
            continue  # a restatement (7个项目 after 项目共有7个) is one fact
        if metric.span[0] > head_end and key[:2] in headline_keys:
            headline_keys.discard(key[:2])  # only the first restatement is the same fact
            continue  # the body fact the headline announced (标题: 65个项目…; 正文: 合计65个)
        if metric.span[1] <= head_end:
            headline_keys.add(key[:2])
        seen.add(key)
        metric.text = text[metric.span[0] : metric.span[1]]
        metrics.append(metric)
    return metrics


def _headline_end(text: str) -> int:
    """End of a headline-like first line (short, no full stop), else -1."""
    k = text.find("\n")
    first = text[:k] if k > 0 else ""
    if not first or len(first) > _HEADLINE_MAX or "。" in first:
        return -1
    return k


def _not_a_sum(
    s: str, end: int, num: _Number, unit_word: str, before: str, g: MetricGrammar
) -> bool:
    """True if a round sum of money read up to ``end`` is no amount at all.

    ``协调资金万元`` lost its digits (but ``超万元`` and ``亿元`` are round sums), and ``亿元村``,
    ``十亿元镇`` or ``4个亿元村`` name a grade of village, town or firm.
    """
    if unit_word not in g.bare_skip_units:
        return False
    if num.bare and num.value == 1e4 and _prefix_qualifier(before, num, g) is None:
        return True
    return (num.bare or num.spoken) and s.startswith(g.grade_nouns, end)


@dataclass
class _Reading:
    """What follows a number: its unit word (``(word, kind)`` of the grammar) and where the
    quantity ends; ``qualifier`` when the form itself says (a range, a money scale)."""

    word: tuple[str, str] | None
    end: int
    qualifier: str | None = None
    money_scale: bool = False

    @property
    def unit_word(self) -> str | None:
        return self.word[0] if self.word else None


def _read_quantity(
    s: str, m: re.Match, last_end: int, g: MetricGrammar
) -> tuple[int, Metric | None, bool] | None:
    """Parse the quantity at match ``m``: ``(end, metric or None, clause_is_empty)``.

    ``None`` when the number is no quantity at all; ``(end, None, False)`` when it is one but
    not an amount to report (a rank, a distance, an idiom, a threshold).
    """
    num = _read_number(s, m, g)
    if num is None or _not_a_quantity(s, num):
        return None
    clause_from = _clause_start(s, num.start, last_end)
    before = s[clause_from : num.start]
    stripped = before.rstrip(_SPACES)
    if _ends_with_any(stripped, g.skip_before) or (
        num.chinese and _ends_with_any(stripped, g.skip_before_chinese)
    ):
        return num.end, None, False
    prev = s[num.start - 1] if num.start else ""
    if num.chinese and prev in _CN_DIGITS:
        return None
    r = _read_unit(s, num, before, g)
    if isinstance(r, _Reading):
        r = _read_range(s, num, r, g)
    if not isinstance(r, _Reading):
        return r
    based = _base_unit(s, num, r, before, g)
    if not isinstance(based, tuple) or len(based) != 3 or based[1] is None:
        return based
    base, factor, end = based
    if _not_an_amount(s, num, r.unit_word, end, before, g):
        return end, None, False
    pre = _prefix_qualifier(before, num, g)
    qualifier, end = _qualifier(s, num, r.qualifier, pre, end, g)
    if qualifier in ("at_least", "at_most") and _is_threshold(s, end, g):
        return end, None, False  # 超亿元项目, 50亩以上的大户: a class of things, not an amount
    span_start = num.start
    if pre:
        span_start = len(before.rstrip(_SPACES)) - len(pre[0]) + clause_from
    metric = Metric(
        value=round(num.value * factor, 6),
        unit=base,
        qualifier=qualifier,
        label=_label(s, before, pre, end, g),
        span=(span_start, end),
    )
    return end, metric, not before.strip(_SPACES)


def _not_a_quantity(s: str, num) -> bool:
    """1+1+1, 3·15, 17:48, 2024/01, G312, dates like 01-03 after a digit."""
    start = num.start
    prev = s[start - 1] if start else ""
    prev2 = s[start - 2] if start > 1 else ""
    if prev and (prev in "+·・•/_" or (prev.isascii() and prev.isalpha())):
        return True
    if prev and prev in ".:" and prev2.isdigit():
        return True  # 3.15, 17:48 (平舆:15万农民 is a count after a place name)
    if num.chinese and prev.isdigit():
        return True  # the multiplier of a number already rejected
    return bool(prev and prev in "-－" and prev2.isdigit())


def _read_unit(s: str, num, before: str, g: MetricGrammar) -> _Reading | tuple | None:
    """The unit word right after the number (a :class:`_Reading`), or what to return."""
    i = _skip_spaces(s, num.end)
    word = _word_at(s, i, g)
    if word and word[0] in g.ranking_units and _is_ranking(before.rstrip(_SPACES), g):
        return i + len(word[0]), None, False  # 前三名, 全省前10位: a rank, not a head count
    nxt = s[i] if i < len(s) else ""
    if nxt.isascii() and nxt.isalpha() and not word:
        return None  # 5G, 3A级
    if word and word[0] == "级" and num.has_mult and num.value >= 1e8:
        return _Reading(None, i, "approx", money_scale=True)  # 百亿级产业集群: a money scale
    if word and word[1] == "skip":
        return i + len(word[0]), None, False
    return _Reading(word, i + len(word[0]) if word else i)


def _read_range(s: str, num, r: _Reading, g: MetricGrammar) -> _Reading | tuple:
    """``A[unit] 至 B [mult] unit`` and ``7、8只``: the lower bound, qualifier at_least."""
    j = _skip_spaces(s, r.end)
    if (
        r.unit_word is None
        and not num.chinese
        and s.startswith("、", j)
        and (m3 := re.match(r"\d+", s[j + 1 :]))
        and int(m3.group()) == num.value + 1
        and num.value < 10
    ):
        # 7、8只 is the written form of 七八只: the lower bound of a range
        k = _skip_spaces(s, j + 1 + m3.end())
        word3 = _word_at(s, k, g)
        if word3 and word3[1] != "skip":
            num.cn_range = True
            return _Reading(word3, k + len(word3[0]), r.qualifier, r.money_scale)
        return r
    if not (j < len(s) and s[j] in g.range_connectors):
        return r
    m2 = _NUM_RE.match(s, _skip_spaces(s, j + 1))
    if m2 is None or not (m2.group("ar") or not (s[j] == "-" and num.chinese)):
        return r
    num2 = _read_number(s, m2, g)
    if num2 is None:
        return r
    k = _skip_spaces(s, num2.end)
    word2 = _word_at(s, k, g)
    if word2 and word2[1] == "skip":
        return k + len(word2[0]), None, False
    if word2 and (r.unit_word is None or word2[0] == r.unit_word):
        if not num.has_mult and num2.has_mult and num.value * num2.mult <= num2.value:
            num.value *= num2.mult  # 3至5万: the multiplier is shared
        return _Reading(word2, k + len(word2[0]), "at_least", r.money_scale)
    if r.unit_word is None and s[j] in "-－":
        return num2.end, None, False
    return r


def _base_unit(s: str, num, r: _Reading, before: str, g: MetricGrammar):
    """``(base unit, factor, end)`` of the quantity, or what to return instead."""
    word, unit_word, end = r.word, r.unit_word, r.end
    i = _skip_spaces(s, num.end)
    if word and word[1] == "unit":
        if num.chinese and unit_word in g.arabic_only:
            return None
        base, factor = g.units[unit_word]
        if _not_a_sum(s, end, num, unit_word, before, g):
            return end, None, False
        return base, factor, end
    if word and word[1] == "noun":
        base = _resolve_noun(s, end, before, g)
        if base is None:
            if num.chinese:
                return None
            base = g.needs_noun[unit_word]
        return base, 1.0, end
    if r.money_scale:
        return "yuan", 1.0, i + 1
    if num.has_mult and not num.bare and num.value >= 1e4 and _is_money(before, g):
        return "yuan", 1.0, i  # money without 元: 资金50万, 产值5000万
    if num.has_mult and not num.bare and _is_population(before, g):
        return "person", 1.0, i  # 有人口32万, 农村人口近2万
    return None


def _not_an_amount(s: str, num, unit_word: str | None, end: int, before: str, g) -> bool:
    """A quantity that is no amount to report: nothing, an idiom, a slogan, a location."""
    if num.value <= 0:
        return True  # 0 of something is a statement, not an amount
    if num.chinese and not num.bare and num.value == 1 and not num.has_mult:
        return True  # 一家/一批/一次: idiom, not a count
    if num.chinese and end < len(s) and s[end] in _CN_DIGITS:
        return True  # 三个一批, 五位一体: slogans
    # 距县城7公里, 城南4公里处: a location, not an amount
    return unit_word in g.distance_units and (
        any(c in before[-8:] for c in g.distance_cues) or s.startswith(g.distance_after, end)
    )


def _qualifier(s: str, num, given: str | None, pre, end: int, g) -> tuple[str, int]:
    """The qualifier (a range's wins, then words before/after, then the number's own form),
    and the end of the quantity after any suffix word (余, 以上...)."""
    k = _skip_spaces(s, end)
    suffix = None
    for w, q in g.suffix_qualifiers.items():
        if w not in _APPROX_MARKS and s.startswith(w, k):
            suffix = (w, q)
            end = k + len(w)
            break
    if given is not None:
        return given, end
    if num.cn_range:
        return "at_least", end
    if pre and pre[1] != "approx":
        return pre[1], end
    if suffix and suffix[1] != "approx":
        return suffix[1], end
    if pre or suffix or num.approx or num.bare:
        return "approx", end
    return "exact", end


def _label(s: str, before: str, pre, end: int, g: MetricGrammar) -> str:
    """The words naming the quantity: before the number, else the noun after it."""
    label_src = before.rstrip(_SPACES)
    if pre:
        label_src = label_src[: -len(pre[0])]
    label = _clean_label(label_src, g)
    noun = _noun_after(s, end, g)
    if noun and (not label or label.endswith(("等", "和", "及")) or len(label) <= 2):
        label = noun if label.endswith(("等", "和", "及")) else label + noun
    return label


# A quantity's text around its measure word: qualifier words, the number and its multiplier in
# front, approximation marks and range words after.
_MEASURE_HEAD = re.compile(r"^[\s近约超逾达共计为]*[\d.,，．·〇零一二三四五六七八九十百两几]+\s*")
_MULTIPLIER = re.compile(r"^(?:千万|百万|万亿|万|亿|千|百)")
_MEASURE_TAIL = re.compile(r"(?:余|多|来|左右|上下|以上|以下|以内)+$")
# Measure words that begin like a multiplier: 3千瓦 is 3 kW, not 3000 瓦.
_MULTIPLIER_WORDS = ("千瓦时", "千瓦", "千米", "千克", "百米")


def measure_word(text: str | None) -> str:
    """The measure word a bulletin wrote with a quantity: ``"座"`` of ``"45 座"``, ``"千瓦时"``
    of ``"36万千瓦时"``, ``"条"`` of ``"2万余条"``; ``""`` when there is none.

    Parameters
    ----------
    text : str or None
        A metric's own text (``Metric.text``).
    """
    if not text:
        return ""
    rest = _MEASURE_HEAD.sub("", simplify_chars("".join(str(text).split())), count=1)
    if not rest.startswith(_MULTIPLIER_WORDS):
        rest = _MULTIPLIER.sub("", rest, count=1)
    rest = rest.lstrip("余多来")
    rest = _MEASURE_TAIL.sub("", rest)
    return rest if 0 < len(rest) <= 4 else ""
