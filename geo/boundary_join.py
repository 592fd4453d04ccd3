"""Join a boundary layer's polygons to the gazetteer's townships, cross-checking code and name.

A township file carries a code column, a name column, or both. Codes come in two vintages: the
NBS 2023 统计用区划代码 (``Township.nbs_code``) and the current 民政 2025 codes (``Township.code``);
thousands of units were renumbered in between, so a 2023 code may be another unit's 2025 code.
The join therefore works in named steps:

1. :func:`choose_fields` — the code and the name column (both when the file has both);
2. :func:`decide_vintage` — one code vintage for the whole file, from the codes whose reading
   differs between vintages and the file's own names;
3. :func:`match_rows` — for every polygon what its code says and what its name says (exact,
   suffix variant, alias, variant characters 砲/炮), and a decision with the evidence;
   a code and a name that disagree are never resolved silently: the row is left unjoined
   unless the file's evidence decides it, and every disagreement is listed;
4. :func:`apply_overrides` — the planner's decisions for single rows;
5. :func:`one_to_one_conflicts` — one township on polygons of different file identities, or two
   townships on one polygon: the join is refused (:class:`BoundaryJoinError`) with the report;
6. :func:`joined_layer` — one row per township.

:func:`join_to_gazetteer` runs them all. Values from the file reach reports only as bounded
samples (:func:`geo.io.boundary_files.sample_value`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from geo.errors import BoundaryReadError
from geo.gazetteer import township_key, variant_key
from geo.io.boundary_files import sample_value
from geo.outlines import county_outline

__all__ = [
    "JOIN_METHODS_ZH",
    "VINTAGES_ZH",
    "BoundaryJoinError",
    "FeatureMatch",
    "JoinReport",
    "apply_overrides",
    "choose_fields",
    "decide_vintage",
    "join_to_gazetteer",
    "joined_layer",
    "match_rows",
    "one_to_one_conflicts",
]

#: How a polygon was joined, for tables and reports.
JOIN_METHODS_ZH = {
    "code+name": "代码与名称一致",
    "code": "代码",
    "name": "名称",
    "alias": "别名/曾用名",
    "variant": "异体字",
    "override": "人工指定",
    "none": "未匹配",
}
#: Code vintages.
VINTAGES_ZH = {
    "mca2025": "民政 2025 代码",
    "nbs2023": "统计 2023 代码（NBS）",
    "same": "两版代码相同",
    "unknown": "无法判定",
    "none": "无代码",
}
QUALITIES = ("official", "approximate", "user")
_WGS84 = "EPSG:4326"
_NAME_HINTS = ("name", "名", "township", "乡镇", "xzqmc", "mc")
_CODE_RE = re.compile(r"^(?:156)?(\d{9}|\d{12})$")
_CHINA_BOX = (73.0, 18.0, 135.0, 54.0)
_NEAR_DEG = 0.5
#: Two polygons overlapping by more than this share of the smaller are "one polygon".
_SAME_POLYGON = 0.5


class BoundaryJoinError(BoundaryReadError):
    """The join was refused; ``err.report`` holds the :class:`JoinReport` to show."""

    code = "boundary.join_conflict"

    def __init__(self, message: str = "", *, code: str | None = None, report: Any = None):
        super().__init__(message, code=code)
        self.report = report


@dataclass
class FeatureMatch:
    """What one polygon of the file joined to, and why.

    ``row`` counts from 1. ``file_code``/``file_name`` are bounded samples of the file's values;
    ``by_code``/``by_name`` what each alone says (township names); ``status`` is ``ok``,
    ``disagree`` (code and name disagree, left unjoined), ``unmatched``, ``ambiguous``,
    ``outside`` (far from the county) or ``excluded`` (by the planner).
    """

    row: int
    file_code: str = ""
    file_name: str = ""
    township_code: str | None = None
    township: str | None = None
    method: str = "none"
    status: str = "unmatched"
    by_code: str = ""
    by_name: str = ""
    problems: list[str] = field(default_factory=list)


@dataclass
class JoinReport:
    """The whole join: every row, the vintage decision, gaps and conflicts (structured data).

    ``to_dict``/``from_dict`` keep it in the store; ``to_text`` renders it in Chinese.
    """

    source: str = ""
    code_field: str | None = None
    name_field: str | None = None
    vintage: str = "none"
    vintage_evidence: str = ""
    rows: list[FeatureMatch] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    outside_of: str = ""

    # -- summaries (also what older callers read) ------------------------------------------
    @property
    def method(self) -> str:
        """``"code"`` when a code column was used, else ``"name"``."""
        return "code" if self.code_field is not None else "name"

    @property
    def field(self) -> str:
        """The main column (the code column when there is one)."""
        return str(self.code_field if self.code_field is not None else self.name_field)

    @property
    def matched(self) -> list[str]:
        """Township names that received a polygon, in code order, once each."""
        pairs = {r.township_code: r.township for r in self.rows if r.township_code}
        return [pairs[c] for c in sorted(pairs)]

    def _values(self, status: str) -> list[str]:
        out = []
        for r in self.rows:
            if r.status == status:
                value = r.file_code or r.file_name
                if value and value not in out:
                    out.append(value)
        return out

    @property
    def unmatched(self) -> list[str]:
        """File values (code, else name) that found no township."""
        return self._values("unmatched")

    @property
    def ambiguous(self) -> list[str]:
        """``"value → A / B"`` for values matching several townships."""
        return [p for r in self.rows if r.status == "ambiguous" for p in r.problems[:1]]

    @property
    def disagreements(self) -> list[FeatureMatch]:
        """Rows whose code and name point to different townships (resolved or not)."""
        return [r for r in self.rows if r.by_code and r.by_name and r.by_code != r.by_name]

    @property
    def outside(self) -> list[str]:
        """``"#row value"`` of features outside the county."""
        return [
            f"#{r.row} {r.file_name or r.file_code}".rstrip()
            for r in self.rows
            if r.status == "outside"
        ]

    @property
    def outside_warning(self) -> str:
        """One line (Chinese) on features outside the county; ``""`` when there are none."""
        if not self.outside:
            return ""
        return (
            f"{len(self.outside)} 个要素不在{self.outside_of}范围内——请检查坐标系/基准面"
            f"（未匹配）：{_short_list(self.outside)}"
        )

    @property
    def complete(self) -> bool:
        """Every township got a polygon and every polygon found its township, no problem."""
        return not (self.missing or self.conflicts) and all(
            r.status in ("ok", "excluded") and not r.problems for r in self.rows
        )

    @property
    def refused(self) -> bool:
        """The join breaks one-to-one (see :func:`one_to_one_conflicts`)."""
        return bool(self.conflicts)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JoinReport:
        """Rebuild from :meth:`to_dict` output."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["rows"] = [FeatureMatch(**r) for r in known.get("rows", [])]
        return cls(**known)

    def to_text(self) -> str:
        """The report in Chinese: summary, vintage, then one line per kind of problem."""
        cols = "、".join(
            f"{what}字段“{sample_value(col)}”"
            for what, col in (("代码", self.code_field), ("名称", self.name_field))
            if col is not None
        )
        lines = [f"按{cols}匹配到 {len(self.matched)} 个乡镇。"]
        if self.vintage_evidence:
            lines.append(f"代码版本：{self.vintage_evidence}")
        for label, items in _problem_groups(self):
            if items:
                lines.append(f"{label}（{len(items)}）：{_short_list(items)}")
        if self.outside:
            lines.append(self.outside_warning)
        if self.missing:
            lines.append(f"没有面的乡镇（{len(self.missing)}）：{_short_list(self.missing)}")
        if self.conflicts:
            lines.append(
                f"拒绝导入——违反一对一（{len(self.conflicts)}）：" + "；".join(self.conflicts)
            )
        return "\n".join(lines)


def _problem_groups(report: JoinReport) -> list[tuple[str, list[str]]]:
    disagree = report.disagreements
    noted = [
        f"#{r.row} {'；'.join(r.problems)}"
        for r in report.rows
        if r.problems and r not in disagree and r.status in ("ok", "excluded")
    ]
    return [
        ("代码与名称不一致", [f"#{r.row} {'；'.join(r.problems)}" for r in disagree]),
        ("有歧义（未匹配）", report.ambiguous),
        ("不在名录（未匹配）", report.unmatched),
        ("已匹配但需留意", noted),
    ]


def _short_list(labels: list[str], limit: int = 12) -> str:
    # values come from the uploaded file: bounded samples, never the whole content
    shown = "、".join(sample_value(label, 120) for label in labels[:limit])
    return shown + (f" …（另 {len(labels) - limit} 项）" if len(labels) > limit else "")


# --------------------------------------------------------------------------- gazetteer index


class _Index:
    """Lookups a join needs, for a Gazetteer or a duck-typed object with ``townships``."""

    def __init__(self, gazetteer: Any):
        self.gaz = gazetteer
        self.county_code = str(gazetteer.county_code)
        self.towns = list(gazetteer.townships)
        self.by_code = {str(t.code): t for t in self.towns}
        self.by_nbs = {str(t.nbs_code): t for t in self.towns if getattr(t, "nbs_code", "")}
        self.retired = dict(getattr(gazetteer, "retired", {}) or {})
        self.by_key: dict[str, dict[str, Any]] = {}
        self.by_variant: dict[str, dict[str, Any]] = {}
        for t in self.towns:
            for n in (t.name, *(getattr(t, "aliases", None) or ())):
                self.by_key.setdefault(township_key(n), {})[t.code] = t
                self.by_variant.setdefault(variant_key(n), {})[t.code] = t

    def names(self, value: Any) -> tuple[list, str]:
        """Townships a name value means, and how: ``name``, ``alias`` or ``variant``."""
        if not isinstance(value, str) or not value.strip():
            return [], "none"
        if hasattr(self.gaz, "match_township_name"):
            hits = list(self.gaz.match_township_name(value) or [])
        else:
            hits = list(self.by_key.get(township_key(value), {}).values())
        if hits:
            key = township_key(value)
            exact = all(township_key(t.name) == key for t in hits)
            return hits, "name" if exact else "alias"
        if hasattr(self.gaz, "match_township_variant"):
            hits = list(self.gaz.match_township_variant(value) or [])
        else:
            hits = list(self.by_variant.get(variant_key(value), {}).values())
        return hits, "variant" if hits else "none"


def _index(gazetteer: Any) -> _Index:
    return gazetteer if isinstance(gazetteer, _Index) else _Index(gazetteer)


def _code_value(value: Any) -> str | None:
    """A code cell as a digit string (dbf numbers come back as floats)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _code_key(text: str) -> str:
    """A file's code reduced to its township part (``156``/village digits dropped)."""
    m = _CODE_RE.match(text or "")
    return m.group(1)[:9] if m else (text or "")


def _township_code(value: Any, county_code: str) -> str | None:
    """The 9-digit township code in a 9/12-digit (optionally 156-prefixed) code of the county."""
    text = _code_value(value)
    m = _CODE_RE.match(text) if text else None
    if not m:
        return None
    digits = m.group(1)
    return digits[:9] if digits.startswith(county_code) else None


# --------------------------------------------------------------------------- 1. fields


def _text_columns(gdf: gpd.GeoDataFrame) -> list[str]:
    return [c for c in gdf.columns if c != gdf.geometry.name]


def _detect_code_field(gdf: gpd.GeoDataFrame, county_code: str) -> str | None:
    best, best_hits = None, 0
    for col in _text_columns(gdf):
        values = gdf[col].dropna()
        if values.empty:
            continue
        hits = sum(_township_code(v, county_code) is not None for v in values)
        if hits > best_hits and hits >= len(values) / 2:
            best, best_hits = col, hits
    return best


def _detect_name_field(gdf: gpd.GeoDataFrame, index: _Index, skip: str | None) -> str | None:
    best, best_hits = None, 0
    for col in _text_columns(gdf):
        if col == skip:
            continue
        values = [v for v in gdf[col].dropna() if isinstance(v, str) and v.strip()]
        hits = sum(bool(index.names(v)[0]) for v in values)
        if hits > best_hits:
            best, best_hits = col, hits
    if best is None:  # no name matches: still cross-check against a column named like names
        best = next(
            (
                c
                for c in _text_columns(gdf)
                if c != skip
                and any(h in str(c).lower() for h in _NAME_HINTS)
                and gdf[c].map(lambda v: isinstance(v, str)).any()
            ),
            None,
        )
    return best


def choose_fields(
    gdf: gpd.GeoDataFrame,
    gazetteer: Any,
    *,
    code_field: str | None = None,
    name_field: str | None = None,
    source: str = "",
) -> tuple[str | None, str | None]:
    """The code column and the name column (both when the file has both).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
    gazetteer : geo.gazetteer.Gazetteer
    code_field, name_field : str, optional
        Given by the planner; the other one is still detected.
    source : str
        File name for messages.

    Returns
    -------
    (str or None, str or None)

    Raises
    ------
    geo.errors.BoundaryReadError
        A given column is absent, or neither a code nor a name column is found.
    """
    columns = _text_columns(gdf)
    for given in (code_field, name_field):
        if given is not None and given not in columns:
            shown = ", ".join(sample_value(c) for c in columns)
            raise BoundaryReadError(
                f"{source} 没有字段“{sample_value(given)}”（字段：{shown}）",
                code="boundary.field",
            )
    index = _index(gazetteer)
    if code_field is None:
        code_field = _detect_code_field(gdf, index.county_code)
    if name_field is None:
        name_field = _detect_name_field(gdf, index, code_field)
    if code_field is None and name_field is None:
        shown = ", ".join(sample_value(c) for c in columns) or "无"
        raise BoundaryReadError(
            f"{source}：找不到{index.county_code}的乡镇代码或名称字段（columns: {shown}）——"
            "请指定代码或名称字段：命令行 --name-field/--code-field，应用中“字段选择”",
            code="boundary.field",
        )
    return code_field, name_field


# --------------------------------------------------------------------------- 2. vintage


def decide_vintage(codes: list[str | None], names: list[list], gazetteer: Any) -> tuple[str, str]:
    """One code vintage for the whole file, with the evidence in words.

    Only codes that mean different townships in the two vintages say anything. They are read
    both ways; the vintage whose readings agree with more of the file's own names wins; without
    names (or on a tie) the vintage in which more of those codes exist at all.

    Parameters
    ----------
    codes : list of str or None
        Each row's 9-digit township code (None where the row has none).
    names : list of list
        Each row's townships by name (:class:`geo.gazetteer.Township`).
    gazetteer : geo.gazetteer.Gazetteer

    Returns
    -------
    (vintage, evidence)
        ``vintage`` in :data:`VINTAGES_ZH`.
    """
    index = _index(gazetteer)
    present = [c for c in codes if c]
    if not present:
        return "none", ""
    informative = [
        (c, n)
        for c, n in zip(codes, names, strict=True)
        if c and index.by_code.get(c) is not index.by_nbs.get(c)
    ]
    if not informative:
        return "same", f"{len(present)} 个代码在两个版本中指向同一乡镇，无需区分"
    agree = {"mca2025": 0, "nbs2023": 0}
    exists = {"mca2025": 0, "nbs2023": 0}
    for c, hits in informative:
        exists["nbs2023"] += c in index.retired  # a 2023 code of a unit gone since
        for vintage, lookup in (("mca2025", index.by_code), ("nbs2023", index.by_nbs)):
            t = lookup.get(c)
            exists[vintage] += t is not None
            agree[vintage] += t is not None and any(h.code == t.code for h in hits)
    if agree["mca2025"] != agree["nbs2023"]:
        vintage = max(agree, key=agree.get)
        why = "名称一致的更多"
    elif exists["mca2025"] != exists["nbs2023"]:
        vintage = max(exists, key=exists.get)
        why = "存在的代码更多"
    else:
        vintage, why = "unknown", "证据相当：这些代码逐行按名称判断，没有名称的不匹配"
    evidence = (
        f"{VINTAGES_ZH[vintage]}（{len(informative)} 个代码在两版中指向不同乡镇：按 2025 解读"
        f"与名称一致 {agree['mca2025']} 个、存在 {exists['mca2025']} 个；按 2023 解读与名称一致 "
        f"{agree['nbs2023']} 个、存在 {exists['nbs2023']} 个；{why}）"
    )
    return vintage, evidence


# --------------------------------------------------------------------------- 3. rows


def _row_values(gdf, code_field, name_field, county_code):
    """(raw code, township-level code, raw name) of every row."""
    n = len(gdf)
    raw_codes = list(gdf[code_field]) if code_field is not None else [None] * n
    raw_names = list(gdf[name_field]) if name_field is not None else [None] * n
    out = []
    for code, name in zip(raw_codes, raw_names, strict=True):
        text = _code_value(code) or ""
        name = name.strip() if isinstance(name, str) else ""
        out.append((text, _township_code(code, county_code), name))
    return out


def _undecided_code(match: FeatureMatch, code9, hits, index: _Index) -> bool:
    """A code read differently by the two vintages in a file whose vintage is unknown: the
    name picks one reading, else the row stays unjoined. True when the row was handled."""
    readings = [t for t in (index.by_code.get(code9), index.by_nbs.get(code9)) if t is not None]
    if len(readings) < 2 or readings[0] is readings[1]:
        return False
    match.by_code = " / ".join(t.name for t in readings)
    match.by_name = hits[0].name if len(hits) == 1 else ""
    picked = [t for t in readings if any(h.code == t.code for h in hits)]
    if len(picked) == 1:
        _join(match, picked[0], "code+name")
        match.problems.append(
            f"代码 {code9} 在 2025 年是{readings[0].name}、2023 年是{readings[1].name}，"
            f"按名称取{picked[0].name}"
        )
        return True
    match.status = "ambiguous"
    match.problems.insert(
        0,
        f"代码 {code9} 在 2025 年是{readings[0].name}、2023 年是{readings[1].name}，"
        "文件无法判定代码版本——请在表中指定",
    )
    return True


def _retired_name(match: FeatureMatch, code9, index: _Index) -> bool:
    """A name of a unit gone from the 2025 list (its 2023 code now names another unit): the
    polygon is that old unit's area, so it is named after no current township."""
    key = township_key(match.file_name) if match.file_name else ""
    gone = {township_key(n): (c, n) for c, n in index.retired.items()}
    if not key or key not in gone or index.by_key.get(key):
        return False
    old_code, old_name = gone[key]
    holder = index.by_code.get(old_code)
    now = f"，该代码现属{holder.name}" if holder else ""
    match.by_code = index.by_code[code9].name if code9 in index.by_code else ""
    match.status = "disagree" if match.by_code else "unmatched"
    match.problems.append(
        f"{old_name}（2023 年代码 {old_code}）已不在 2025 年民政名录{now}——未匹配，请在表中指定"
    )
    return True


def _decide_row(match: FeatureMatch, code9, hits, how, vintage, index: _Index) -> None:
    """Fill ``match`` from what the code (read in the file's vintage) and the name say."""
    if not hits and _retired_name(match, code9, index):
        return
    if vintage == "unknown" and code9 and _undecided_code(match, code9, hits, index):
        return
    primary, other = (
        (index.by_nbs, index.by_code) if vintage == "nbs2023" else (index.by_code, index.by_nbs)
    )
    by_code = primary.get(code9) if code9 else None
    if code9 and by_code is None and other.get(code9) is not None:
        by_code = other.get(code9)
        match.problems.append(
            f"代码 {code9} 不属于本文件的代码版本，按另一版本解读为{by_code.name}"
        )
    match.by_code = by_code.name if by_code else ""
    match.by_name = hits[0].name if len(hits) == 1 else ""
    if len(hits) > 1:
        match.status = "ambiguous"
        match.problems.insert(0, f"{match.file_name} → {' / '.join(t.name for t in hits)}")
        if by_code is None:
            return
    if by_code is not None and (not hits or any(t.code == by_code.code for t in hits)):
        _join(match, by_code, "code+name" if hits else "code")
        if match.file_name and not hits:
            match.problems.append(
                f"名称“{match.file_name}”不是本县乡镇，按代码匹配为{by_code.name}"
            )
        return
    if by_code is not None:  # the code and the name disagree
        second = other.get(code9)
        if len(hits) == 1 and second is not None and second.code == hits[0].code:
            _join(match, hits[0], "code+name")
            match.problems.append(
                f"代码 {code9} 按文件的代码版本是{by_code.name}，按另一版本才是名称所写的"
                f"{hits[0].name}——按名称与另一版本代码匹配，请核对"
            )
            return
        match.status = "disagree"
        match.problems.append(
            f"代码 {code9}（{by_code.name}）与名称“{match.file_name}”"
            f"（{match.by_name or '多个乡镇'}）不一致，未匹配——请核对后在表中指定"
        )
        return
    if len(hits) == 1:
        _join(match, hits[0], how)
        if match.file_code:
            retired = index.retired.get(code9 or "")
            why = f"（2023 年属已撤销的{retired}）" if retired else ""
            match.problems.append(f"代码 {match.file_code}{why}不在本县名录，按名称匹配")
        return
    if match.status != "ambiguous":
        match.status = "unmatched"


def _join(match: FeatureMatch, town, method: str) -> None:
    match.township_code, match.township = str(town.code), town.name
    match.method, match.status = method, "ok"


def match_rows(
    gdf: gpd.GeoDataFrame,
    gazetteer: Any,
    *,
    code_field: str | None,
    name_field: str | None,
    outside: np.ndarray | None = None,
) -> tuple[list[FeatureMatch], str, str]:
    """Decide every polygon: what its code and its name say, and which township it gets.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
    gazetteer : geo.gazetteer.Gazetteer
    code_field, name_field : str or None
    outside : numpy.ndarray of bool, optional
        Rows lying outside the county: never joined.

    Returns
    -------
    (rows, vintage, evidence)
    """
    index = _index(gazetteer)
    values = _row_values(gdf, code_field, name_field, index.county_code)
    named = [index.names(name) if name else ([], "none") for _, _, name in values]
    vintage, evidence = decide_vintage(
        [code9 for _, code9, _ in values], [hits for hits, _ in named], index
    )
    rows = []
    for i, ((raw, code9, name), (hits, how)) in enumerate(zip(values, named, strict=True)):
        match = FeatureMatch(row=i + 1, file_code=sample_value(raw), file_name=sample_value(name))
        if raw and code9 is None:
            match.problems.append(f"代码 {match.file_code} 不是本县的乡镇代码")
        if outside is not None and outside[i]:
            match.status = "outside"
        else:
            _decide_row(match, code9, hits, how, vintage, index)
        rows.append(match)
    return rows, vintage, evidence


# --------------------------------------------------------------------------- 4. overrides


def apply_overrides(
    rows: list[FeatureMatch], overrides: dict[int, str | None] | None, gazetteer: Any
) -> None:
    """Apply the planner's decisions: ``{row: township code}`` joins a row (any status),
    ``{row: None}`` excludes it. Unknown rows or codes are an error.

    Raises
    ------
    geo.errors.BoundaryReadError
        A row number or township code that does not exist.
    """
    if not overrides:
        return
    index = _index(gazetteer)
    by_row = {r.row: r for r in rows}
    for row, code in overrides.items():
        match = by_row.get(int(row))
        if match is None:
            raise BoundaryReadError(
                f"没有第 {row} 行（共 {len(rows)} 行）", code="boundary.override"
            )
        if code is None or str(code).strip() in ("", "-"):
            match.township_code = match.township = None
            match.method, match.status = "override", "excluded"
            match.problems.append("人工排除")
            continue
        town = index.by_code.get(str(code).strip()[:9])
        if town is None:
            raise BoundaryReadError(
                f"第 {row} 行：{sample_value(code)} 不是本县乡镇代码", code="boundary.override"
            )
        _join(match, town, "override")
        match.problems.append(f"人工指定为{town.name}")


# --------------------------------------------------------------------------- 5. one to one


def one_to_one_conflicts(rows: list[FeatureMatch], gdf: gpd.GeoDataFrame) -> list[str]:
    """Joins that would put one name on two polygons, or two names on one.

    Several features of one township are fine when the file gives them the same identity (the
    same code and name: parts of one township, or villages of it); features with different
    identities on one township are a conflict. So are two joined features of different
    townships whose polygons are (mostly) the same.

    Returns
    -------
    list of str
        One line (Chinese) per conflict; empty when the join is one-to-one.
    """
    out = []
    groups: dict[str, list[FeatureMatch]] = {}
    for r in rows:
        if r.township_code:
            groups.setdefault(r.township_code, []).append(r)
    for members in groups.values():
        identities = {(_code_key(r.file_code), township_key(r.file_name)) for r in members}
        if len(identities) > 1:
            shown = "、".join(
                f"#{r.row}（{r.file_code or '-'} {r.file_name or '-'}）".strip() for r in members
            )
            out.append(f"一个名称对应多个面：{members[0].township} ← {shown}")
    joined = [r for r in rows if r.township_code]
    if len(joined) < 2:
        return out
    geoms = gdf.geometry.values[[r.row - 1 for r in joined]]
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        a, b = joined[i], joined[j]
        if i >= j or a.township_code == b.township_code:
            continue
        shared = shapely.area(shapely.intersection(geoms[i], geoms[j]))
        smaller = min(shapely.area(geoms[i]), shapely.area(geoms[j]))
        if smaller > 0 and shared / smaller > _SAME_POLYGON:
            out.append(
                f"两个名称落在同一个面上：#{a.row} {a.township} 与 #{b.row} {b.township}"
                f"（重叠 {shared / smaller:.0%}）"
            )
    return out


# --------------------------------------------------------------------------- 6. layer


def joined_layer(
    gdf: gpd.GeoDataFrame, rows: list[FeatureMatch], *, quality: str, source: str
) -> gpd.GeoDataFrame:
    """One row per joined township (features of one township dissolved), sorted by code.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``township_code, township, quality, source, geometry`` in EPSG:4326.
    """
    codes = [r.township_code for r in rows]
    names = {r.township_code: r.township for r in rows if r.township_code}
    joined = gpd.GeoDataFrame(
        {"township_code": codes}, geometry=gdf.geometry.values, crs=_WGS84
    ).dropna(subset=["township_code"])
    out = joined.dissolve(by="township_code", as_index=False, sort=True)
    out["township"] = [names[c] for c in out["township_code"]]
    out["quality"] = quality
    out["source"] = source
    return out[["township_code", "township", "quality", "source", "geometry"]].reset_index(
        drop=True
    )


# --------------------------------------------------------------------------- outside


def outside_features(
    gdf: gpd.GeoDataFrame, county_code: str, county_name: str, margin_km: float
) -> tuple[np.ndarray, str]:
    """Which features lie outside the county (beyond ``margin_km`` of its outline, measured
    in metres), and what was checked; China's lon/lat box for a county without an outline."""
    geoms = gdf.geometry.values
    outline = county_outline(county_code)
    if outline is None:
        x0, y0, x1, y1 = _CHINA_BOX
        pts = shapely.point_on_surface(geoms)
        xs, ys = shapely.get_x(pts), shapely.get_y(pts)
        inside = (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
        return ~inside, f"中国（{x0:g}–{x1:g}°E，{y0:g}–{y1:g}°N）"
    minx, miny, maxx, maxy = outline.total_bounds
    box = shapely.box(minx - _NEAR_DEG, miny - _NEAR_DEG, maxx + _NEAR_DEG, maxy + _NEAR_DEG)
    near = shapely.intersects(geoms, box)
    outside = ~near
    if near.any():
        lon = (minx + maxx) / 2
        crs = pyproj.CRS.from_epsg(4534 + round((lon - 75) / 3))  # CGCS2000 3° GK zone
        county = outline.to_crs(crs).union_all()
        close = gpd.GeoSeries(geoms[near], crs=_WGS84).to_crs(crs).values
        dist = shapely.distance(close, county)
        outside[near] = ~(np.isfinite(dist) & (dist <= margin_km * 1000))
    return outside, f"{county_name}（相距 >{margin_km:g} km）"


# --------------------------------------------------------------------------- the whole join


def _to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        return gdf.set_crs(_WGS84)
    if not gdf.crs.equals(pyproj.CRS.from_user_input(_WGS84)):
        return gdf.to_crs(_WGS84)
    return gdf


def _missing(index: _Index, rows: list[FeatureMatch]) -> list[str]:
    got = {r.township_code for r in rows if r.township_code}
    return [t.name for t in index.towns if str(t.code) not in got]


def join_to_gazetteer(
    gdf: gpd.GeoDataFrame,
    gazetteer: Any,
    *,
    code_field: str | None = None,
    name_field: str | None = None,
    quality: str = "user",
    source: str | None = None,
    margin_km: float = 5.0,
    overrides: dict[int, str | None] | None = None,
    refuse_conflicts: bool = True,
) -> tuple[gpd.GeoDataFrame, JoinReport]:
    """Attach boundary polygons to the gazetteer's townships, cross-checking code and name.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Polygons, e.g. from :func:`geo.boundaries.read_boundaries` (reprojected if needed).
    gazetteer : geo.gazetteer.Gazetteer
        Or any object with ``county_code`` and ``townships`` (``code``, ``name``, ``aliases``).
    code_field, name_field : str, optional
        Columns of township codes (9 or 12 digits, ``156``-prefixed allowed; NBS 2023 or
        民政 2025, decided for the whole file) and names; detected when not given.
    quality : {"official", "approximate", "user"}
        Written to every row.
    source : str, optional
        Written to every row; default the file name of the read report.
    margin_km : float
        Features farther than this from the county outline (:mod:`geo.outlines`) are left
        unjoined (``status == "outside"``).
    overrides : dict, optional
        The planner's decisions by row (:func:`apply_overrides`).
    refuse_conflicts : bool
        Raise :class:`BoundaryJoinError` when the join breaks one-to-one.

    Returns
    -------
    (geopandas.GeoDataFrame, JoinReport)
        One row per township (columns ``township_code, township, quality, source, geometry``,
        EPSG:4326), and the report.

    Raises
    ------
    BoundaryJoinError
        One name on two polygons or two names on one (``err.report`` has the report).
    geo.errors.BoundaryReadError
        Missing column, no code/name column, every feature outside the county, nothing matched.
    """
    if quality not in QUALITIES:
        raise BoundaryReadError(
            f"未知的边界质量“{quality}”（可选：{'、'.join(QUALITIES)}）", code="boundary.quality"
        )
    gdf = _to_wgs84(gdf)
    read = gdf.attrs.get("report")
    source = source or getattr(read, "source", None) or "upload"
    index = _index(gazetteer)
    code_field, name_field = choose_fields(
        gdf, gazetteer, code_field=code_field, name_field=name_field, source=source
    )
    county_name = str(getattr(gazetteer, "county_name", "") or index.county_code)
    outside, outside_of = _outside_or_refuse(gdf, index, county_name, margin_km, source)
    rows, vintage, evidence = match_rows(
        gdf, index, code_field=code_field, name_field=name_field, outside=outside
    )
    apply_overrides(rows, overrides, index)
    report = JoinReport(
        source=source,
        code_field=None if code_field is None else str(code_field),
        name_field=None if name_field is None else str(name_field),
        vintage=vintage,
        vintage_evidence=evidence,
        rows=rows,
        missing=_missing(index, rows),
        conflicts=one_to_one_conflicts(rows, gdf),
        outside_of=outside_of,
    )
    _refuse_unjoined(gdf, report, county_name=county_name, refuse_conflicts=refuse_conflicts)
    return joined_layer(gdf, rows, quality=quality, source=source), report


def _outside_or_refuse(
    gdf: gpd.GeoDataFrame, index: Any, county_name: str, margin_km: float, source: str
) -> tuple[np.ndarray, str]:
    """Which features lie outside the county (and what "the county" was checked against);
    refused when every one does: the file's coordinates are not what they claim."""
    outside, outside_of = outside_features(gdf, index.county_code, county_name, margin_km)
    if len(gdf) and outside.all():
        raise BoundaryReadError(
            f"{source}：全部 {len(gdf)} 个要素都不在{outside_of}范围内——坐标系或基准面错了？"
            "请检查文件的坐标系（选择坐标系/基准面）",
            code="boundary.outside",
        )
    return outside, outside_of


def _refuse_unjoined(
    gdf: gpd.GeoDataFrame, report: JoinReport, *, county_name: str, refuse_conflicts: bool
) -> None:
    """Raise :class:`BoundaryJoinError` when no feature matched a township, or (with
    ``refuse_conflicts``) when the join breaks one-to-one."""
    source = report.source
    if not any(r.township_code for r in report.rows):
        raise BoundaryJoinError(
            f"{source}：{len(gdf)} 个要素都没有匹配到{county_name}的乡镇"
            f"（columns: {', '.join(sample_value(c) for c in _text_columns(gdf))}）——"
            "是这个县的文件吗？也可指定代码或名称字段：命令行 --name-field/--code-field，"
            "应用中“字段选择”",
            code="boundary.no_match",
            report=report,
        )
    if report.refused and refuse_conflicts:
        raise BoundaryJoinError(
            f"{source}：拒绝导入——{report.conflicts[0]}"
            + (f" 等 {len(report.conflicts)} 处" if len(report.conflicts) > 1 else ""),
            report=report,
        )
