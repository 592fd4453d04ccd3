"""One workflow for importing township boundaries, shared by the app and the CLI.

read → position (datum/offset) check → join (code vintage, code/name cross-check, one-to-one)
→ report → save. :func:`import_boundaries` runs it and returns an :class:`ImportResult`
whatever happened (errors in the file itself raise :class:`~geo.errors.BoundaryReadError`).
A set is saved only when the join is one-to-one and the layer is not clearly offset (unless
``force``); the planner fixes single rows with ``overrides`` — :func:`join_table` turns the
report into a table with Chinese column names and :func:`overrides_from_table` reads the edited
table back.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.boundaries import BoundaryReport, boundary_report, read_boundaries
from geo.boundary_join import (
    JOIN_METHODS_ZH,
    BoundaryJoinError,
    JoinReport,
    apply_overrides,
    join_to_gazetteer,
)
from geo.errors import BoundaryReadError
from geo.gazetteer import Gazetteer, load_gazetteer
from geo.io.boundary_files import sample_value
from geo.position_check import PositionCheck, check_position

__all__ = [
    "DECLARED_QUALITIES",
    "JOIN_TABLE_COLUMNS",
    "STATUS_ZH",
    "ImportResult",
    "import_boundaries",
    "join_table",
    "overrides_from_table",
    "save_result",
]

#: Qualities an uploader may declare: ``user`` (the default) or ``official`` with its source.
DECLARED_QUALITIES = ("user", "official")
#: Row status in Chinese.
STATUS_ZH = {
    "ok": "已匹配",
    "disagree": "代码与名称不一致",
    "unmatched": "未匹配",
    "ambiguous": "有歧义",
    "outside": "不在县域内",
    "excluded": "已排除",
}
#: Columns of :func:`join_table`; the planner edits ``乡镇代码`` (empty or "-" excludes a row).
JOIN_TABLE_COLUMNS = [
    "行",
    "文件代码",
    "文件名称",
    "代码指向",
    "名称指向",
    "匹配乡镇",
    "乡镇代码",
    "匹配方式",
    "状态",
    "问题",
]


@dataclass
class ImportResult:
    """What :func:`import_boundaries` found and did.

    Attributes
    ----------
    county_code, county_name, source_name : str
    read : BoundaryReport or None
        How the file was read (CRS, datum, encoding, repairs).
    position : PositionCheck or None
        Where the layer lies against the county outline.
    join : JoinReport or None
        Every polygon and what it joined to.
    layer : geopandas.GeoDataFrame or None
        The joined layer (None when the join was refused).
    saved : bool
        The set was stored and is now the county's active layer.
    set_id : int or None
    refused : list of str
        Why it was not saved (Chinese), one line each; ``refusal_codes`` the error codes.
    forced : bool
        Saved although the position check said the layer is offset.
    """

    county_code: str
    county_name: str
    source_name: str
    read: BoundaryReport | None = None
    position: PositionCheck | None = None
    join: JoinReport | None = None
    layer: gpd.GeoDataFrame | None = None
    saved: bool = False
    set_id: int | None = None
    refused: list[str] = field(default_factory=list)
    refusal_codes: list[str] = field(default_factory=list)
    forced: bool = False
    quality: str = "user"
    quality_source: str = ""
    uploader: str = ""

    @property
    def table(self) -> pd.DataFrame:
        """The join report as a table (:func:`join_table`)."""
        return join_table(self.join)

    def to_dict(self) -> dict[str, Any]:
        """The reports as plain data, as the store keeps them."""
        return {
            "read": self.read.to_dict() if self.read else None,
            "position": self.position.to_dict() if self.position else None,
            "join": self.join.to_dict() if self.join else None,
            "forced": self.forced,
            "declared_quality": self.quality,
            "quality_source": self.quality_source,
            "uploader": self.uploader,
            "refused": list(self.refused),
        }

    def to_text(self) -> str:
        """Everything in Chinese: read, position, join, outcome."""
        parts = [self.read.to_text() if self.read else ""]
        parts += self.position.messages if self.position else []
        parts.append(self.join.to_text() if self.join else "")
        if self.saved:
            forced = "（已用 --force 强制）" if self.forced else ""
            parts.append(
                f"已保存乡镇边界集 {self.set_id}{forced}：{self.county_name}（{self.county_code}）"
                f" {len(self.layer)} 个乡镇，现为当前图层"
            )
        elif self.refused:
            parts.append("未保存：" + "；".join(self.refused))
        return "\n".join(p for p in parts if p)


def _gazetteer(county: Any) -> Gazetteer:
    return county if isinstance(county, Gazetteer) else load_gazetteer(str(county))


def _label(source: Any, name: str | None) -> str:
    if name:
        return name
    if isinstance(source, bytes | bytearray | memoryview):
        return "upload"
    return Path(os.fspath(source)).name


def _check_declared(quality: str, quality_source: str) -> None:
    if quality not in DECLARED_QUALITIES:
        raise BoundaryReadError(
            f"未知的边界质量“{sample_value(quality)}”（可选：{'、'.join(DECLARED_QUALITIES)}）",
            code="boundary.quality",
        )
    if quality == "official" and not quality_source.strip():
        raise BoundaryReadError(
            "声明为官方边界时必须注明来源"
            "（命令行 --quality-source，例如“某县自然资源局 2024 年乡镇界”）",
            code="boundary.quality_source",
        )


def _join(gdf, gaz, result: ImportResult, **kwargs) -> None:
    """Run the join into ``result`` (its quality and source as declared); a refused join
    keeps its report and why."""
    official = result.quality == "official"
    label = result.source_name
    kwargs["quality"] = "official" if official else "user"
    kwargs["source"] = f"{result.quality_source}（{label}）" if official else label
    try:
        result.layer, result.join = join_to_gazetteer(gdf, gaz, **kwargs)
    except BoundaryJoinError as err:
        if err.report is None:
            raise
        result.join = err.report
        result.refused.append(str(err))
        result.refusal_codes.append(err.code)


def _encoding_note(read: BoundaryReport | None) -> str:
    if read is None or not read.encoding_how or read.encoding_how == "ascii":
        return ""
    how = {"cpg": ".cpg", "given": "指定", "detected": "自动识别"}[read.encoding_how]
    return f"{read.encoding}（{how}）"


def save_result(result: ImportResult, *, store: Any) -> ImportResult:
    """Store a checked import (the county's active layer from now on).

    Parameters
    ----------
    result : ImportResult
        From :func:`import_boundaries` (with ``store=None``, e.g. to show the report first).
    store : geo.store.Store

    Returns
    -------
    ImportResult
        The same object, ``saved`` and ``set_id`` set.

    Raises
    ------
    geo.errors.BoundaryReadError
        The import was refused (``result.refused``): nothing is saved.
    """
    if result.refused or result.layer is None:
        reason = result.refused[0] if result.refused else "没有可保存的乡镇边界"
        code = result.refusal_codes[0] if result.refusal_codes else "boundary.refused"
        raise BoundaryReadError(f"未保存乡镇边界：{reason}", code=code)
    read = result.read
    crs_note = ""
    if read is not None and read.source_crs:
        crs_note = read.source_crs + ("（指定）" if read.crs_assigned else "")
    result.set_id = store.save_boundaries(
        result.county_code,
        result.layer,
        source_name=result.source_name,
        report=[read, result.join],
        crs_note=crs_note,
        datum=read.datum if read is not None else "wgs84",
        name=result.county_name,
        uploader=result.uploader,
        quality_source=result.quality_source,
        encoding=_encoding_note(read),
        report_data=result.to_dict(),
    )
    result.saved = True
    return result


def import_boundaries(
    source: str | os.PathLike | bytes,
    *,
    county: Any,
    store: Any = None,
    crs: Any = None,
    datum: str = "wgs84",
    code_field: str | None = None,
    name_field: str | None = None,
    overrides: dict[int, str | None] | None = None,
    force: bool = False,
    declared_quality: str = "user",
    quality_source: str = "",
    uploader: str = "",
    encoding: str | None = None,
    name: str | None = None,
    layer: str | None = None,
) -> ImportResult:
    """Read, check, join, report and (when all is well) save a township boundary file.

    Parameters
    ----------
    source : str, path-like or bytes
        The file (any format :func:`geo.boundaries.read_boundaries` reads) or its bytes.
    county : str or geo.gazetteer.Gazetteer
        The county the file is for (name or code).
    store : geo.store.Store, optional
        Where to save; without one nothing is saved (a check only).
    crs, datum, encoding, layer
        As :func:`geo.boundaries.read_boundaries`.
    code_field, name_field : str, optional
        Columns to join on (detected when not given).
    overrides : dict, optional
        ``{row: township code}`` or ``{row: None}`` (exclude), the planner's fixes.
    force : bool
        Save even when the position check says the layer is clearly offset.
    declared_quality : {"user", "official"}
        ``official`` needs ``quality_source``.
    quality_source : str
        Where official boundaries come from (e.g. 某县自然资源局 2024 年乡镇界).
    uploader : str
        Who uploads, when known.
    name : str, optional
        File name for messages (required for bytes to tell their type).

    Returns
    -------
    ImportResult

    Raises
    ------
    geo.errors.BoundaryReadError
        Unreadable file, bad CRS/datum/encoding, no usable column, every feature outside the
        county, an unknown override, ``official`` without a source.
    """
    _check_declared(declared_quality, quality_source)
    gaz = _gazetteer(county)
    label = _label(source, name)
    gdf = read_boundaries(source, crs=crs, datum=datum, name=label, layer=layer, encoding=encoding)
    result = ImportResult(
        county_code=gaz.county_code,
        county_name=gaz.county_name,
        source_name=label,
        read=boundary_report(gdf),
        quality=declared_quality,
        quality_source=quality_source.strip(),
        uploader=uploader.strip(),
    )
    result.position = check_position(
        gdf, county_code=gaz.county_code, county_name=gaz.county_name, datum=datum
    )
    _join(gdf, gaz, result, code_field=code_field, name_field=name_field, overrides=overrides)
    _refuse_offset(result, force=force)
    if store is not None and not result.refused:
        save_result(result, store=store)
    return result


def _refuse_offset(result: ImportResult, *, force: bool) -> None:
    """A layer clearly off the county is refused, unless the planner forces it."""
    if not result.position.offset:
        return
    if force:
        result.forced = True
        return
    result.refused.append(
        "图层明显偏离县界，未设为当前图层——"
        + (result.position.messages[-1] if result.position.messages else "")
        + "；确认无误可加 --force"
    )
    result.refusal_codes.append("boundary.offset")


# --------------------------------------------------------------------------- the table


def join_table(
    report: JoinReport | None,
    *,
    overrides: dict[int, str | None] | None = None,
    gazetteer: Any = None,
) -> pd.DataFrame:
    """The join report as a table the planner reads and edits, one row per polygon.

    Parameters
    ----------
    report : JoinReport or None
    overrides : dict, optional
        Row fixes to preview (``{row: township code or None}``); needs ``gazetteer``.
    gazetteer : geo.gazetteer.Gazetteer, optional

    Returns
    -------
    pandas.DataFrame
        Columns :data:`JOIN_TABLE_COLUMNS` (Chinese). File values are bounded samples.
    """
    if report is None:
        return pd.DataFrame(columns=JOIN_TABLE_COLUMNS)
    rows = report.rows
    if overrides:
        if gazetteer is None:
            raise BoundaryReadError(
                "预览人工指定需要行政区划（gazetteer）", code="boundary.override"
            )
        rows = copy.deepcopy(rows)
        apply_overrides(rows, overrides, gazetteer)
    data = [
        [
            r.row,
            r.file_code,
            r.file_name,
            r.by_code,
            r.by_name,
            r.township or "",
            r.township_code or "",
            JOIN_METHODS_ZH.get(r.method, r.method),
            STATUS_ZH.get(r.status, r.status),
            "；".join(r.problems),
        ]
        for r in rows
    ]
    return pd.DataFrame(data, columns=JOIN_TABLE_COLUMNS)


def overrides_from_table(edited: pd.DataFrame, original: pd.DataFrame) -> dict[int, str | None]:
    """The planner's fixes: rows whose ``乡镇代码`` differs from the original table.

    An emptied cell or ``-`` excludes the row (``None``); a code joins the row to that township.

    Returns
    -------
    dict
        ``{row: township code or None}`` for :func:`import_boundaries` (``overrides=``).
    """
    before = dict(zip(original["行"].astype(int), original["乡镇代码"].fillna(""), strict=True))
    out: dict[int, str | None] = {}
    for row, code in zip(edited["行"].astype(int), edited["乡镇代码"], strict=True):
        text = "" if code is None or (isinstance(code, float) and code != code) else str(code)
        text = text.strip()
        if text == str(before.get(row, "")).strip():
            continue
        out[row] = None if text in ("", "-") else text
    return out
