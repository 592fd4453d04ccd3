"""Pure helpers behind the Streamlit app: uploads, map clicks, tables and township panels.

``streamlit_app.py`` keeps only widgets and session state; everything it computes lives here so
it can be tested without a browser. Nothing here imports Streamlit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from geo import aggregate as agg
from geo import paths
from geo.boundaries import read_boundaries
from geo.boundary_import import import_boundaries
from geo.display import (
    CUMULATIVE_LABEL,
    REPEAT_LABEL,
    SCOPE_ZH,
    format_value,
    item_title,
    metric_texts,
)
from geo.errors import GeoInputError, one_line
from geo.models import Bulletin, BulletinHeader
from geo.picture import png_presets, sources_text
from geo.prefecture import Prefecture, find_area, is_prefecture_code, parse_area_file
from geo.review import count_for_map
from geo.trends import period_bounds, period_label_zh, period_of, periods_between
from geo.view import available_exports
from geo.worker import run_bounded

__all__ = [
    "CSV_COLUMN_CHOICES",
    "DATUM_CHOICES",
    "GK_ZONES",
    "KEEP_COLUMNS",
    "OTHER_CRS",
    "SAMPLE_COUNTY_CODE",
    "SAMPLE_PATH",
    "TABLE_COLUMNS",
    "UPLOAD_TIMEOUT_S",
    "UPLOAD_TYPES",
    "BoundaryCheck",
    "ExportSpec",
    "MetricSlider",
    "ParsedUpload",
    "UploadReport",
    "boundary_crs_choices",
    "bulletin_labels",
    "check_boundary_upload",
    "clicked_a_marker",
    "content_hash",
    "drop_empty_columns",
    "export_specs",
    "fine_scale",
    "ingest_parsed",
    "is_online_basemap",
    "item_location",
    "item_metric_totals",
    "items_table",
    "map_click",
    "md_escape",
    "metric_bounds",
    "metric_column",
    "metric_slider",
    "month_options",
    "parse_crs",
    "parse_upload",
    "period_filter",
    "period_slider_value",
    "planner_table",
    "readable_scale",
    "report_specs",
    "review_labels",
    "sample_text",
    "township_at",
    "township_from_map",
    "township_summary",
]

SAMPLE_PATH = paths.data_dir() / "xixian-bulletin-sample.txt"
#: The county of the bundled sample bulletin (息县): the app shows the sample there until the
#: store holds bulletins of that county.
SAMPLE_COUNTY_CODE = "411528"
UPLOAD_TYPES = ("txt", "pdf", "docx")

#: Display column -> items_df column for the app's table (Chinese headers for planners).
TABLE_COLUMNS = {
    "日期": "bulletin_date",
    "期号": "bulletin_issue",
    "标题": "headline",
    "乡镇": "township",
    "村（社区）": "village",
    "行业": "sector",
    "主要数据": "metrics",
    "单位": "unit",
    "已更正": "corrected",
    REPEAT_LABEL: "repeat_of",
    CUMULATIVE_LABEL: "cumulative",
    "简报": "bulletin_name",
    "编号": "item_id",
}


def sample_text() -> str:
    """The bundled 息县 sample bulletin (the app's first view).

    Returns
    -------
    str
    """
    return SAMPLE_PATH.read_text(encoding="utf-8")


# "." only makes a list after a leading number; file names read better without "\."
_MD_SPECIAL = set("\\`*_{}[]()#+-!|~>$:")
_HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}


def md_escape(text: str | None) -> str:
    """Make untrusted text (bulletin content) inert in ``st.markdown`` and widget labels.

    HTML characters become entities and Markdown syntax is backslash-escaped, so a bulletin can
    neither inject tags nor links or images (which would load remote URLs).

    Parameters
    ----------
    text : str or None

    Returns
    -------
    str
    """
    out = []
    for ch in str(text or ""):
        if ch in _HTML_ENTITIES:
            out.append(_HTML_ENTITIES[ch])
        elif ch in _MD_SPECIAL:
            out.append("\\" + ch)
        elif ch in "\r\n":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def content_hash(data: str | bytes) -> str:
    """SHA-256 hex digest of text (UTF-8) or bytes; the cache key of parsed content.

    Parameters
    ----------
    data : str or bytes

    Returns
    -------
    str
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return hashlib.sha256(raw).hexdigest()


# ---------------------------------------------------------------------------------------------
# uploads


#: Seconds one upload may take to read and parse (in a bounded worker, :mod:`geo.worker`).
UPLOAD_TIMEOUT_S = 120.0


@dataclass
class ParsedUpload:
    """One uploaded bulletin after reading and parsing: the bulletin, or why it was refused."""

    name: str
    bulletin: Bulletin | None = None
    error: str | None = None
    error_code: str | None = None

    @property
    def needs_date(self) -> bool:
        """True when neither the masthead nor the file gave a date: the user must give one."""
        return self.bulletin is not None and not self.bulletin.header.date

    @property
    def date_note(self) -> str | None:
        """The note to show when the date comes from the file's properties (check it)."""
        if self.bulletin is None or self.bulletin.header.date_source != "file":
            return None
        return next((w.message for w in self.bulletin.warnings if w.code == "date_from_file"), None)


@dataclass
class UploadReport:
    """What an upload batch did: ``(name, IngestResult)`` pairs and ``(name, message)`` errors."""

    ingested: list[tuple[str, Any]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    bulletins: list[Bulletin] = field(default_factory=list)


def parse_upload(
    name: str, data: bytes, *, county: str | None, bounded: bool = True
) -> ParsedUpload:
    """Read and parse one uploaded file; a bad file gives ``error``, never raises.

    Parameters
    ----------
    name : str
        File name as uploaded (the extension is a hint; magic bytes decide).
    data : bytes
        File content.
    county : str, optional
        County (or prefecture) code or name; detected from the text when None.
    bounded : bool
        Run in a child process stopped after :data:`UPLOAD_TIMEOUT_S` or when it needs too
        much memory (the app always does: uploads are untrusted).

    Returns
    -------
    ParsedUpload
    """
    try:
        if bounded:
            bulletin = run_bounded(
                parse_area_file, data, name, county=county, timeout=UPLOAD_TIMEOUT_S
            )
        else:
            bulletin = parse_area_file(data, name, county=county)
        if not bulletin.items:
            raise GeoInputError(f"{name}：文中没有找到事项", code="bulletin.no_items")
    except GeoInputError as err:
        msg = one_line(err)
        msg = msg if name in msg else f"{name}：{msg}"
        return ParsedUpload(name=name, error=msg, error_code=err.code)
    return ParsedUpload(name=name, bulletin=bulletin)


def ingest_parsed(
    uploads: Iterable[ParsedUpload],
    store: Any,
    *,
    headers: Mapping[str, BulletinHeader] | None = None,
    reassign_county: bool = False,
    progress: Callable[[int, str], None] | None = None,
) -> UploadReport:
    """Store parsed uploads one by one; a bad file never stops the others.

    Parameters
    ----------
    uploads : iterable of ParsedUpload
        As returned by :func:`parse_upload`; files with ``error`` are reported, not stored.
    store : geo.store.Store
        Where the bulletins go (``store.ingest``).
    headers : mapping, optional
        ``name -> BulletinHeader`` typed in by the user; fills date/issue/title the masthead
        did not give (the masthead wins where it has a value).
    reassign_county : bool
        Passed to ``store.ingest``: a bulletin stored under another county is re-read.
    progress : callable, optional
        ``progress(done, name)`` after each file.

    Returns
    -------
    UploadReport
    """
    report = UploadReport()
    headers = headers or {}
    for done, up in enumerate(uploads, start=1):
        try:
            if up.bulletin is None:
                raise GeoInputError(up.error or f"{up.name}：未能读取", code=up.error_code)
            bulletin = _with_header(up.bulletin, headers.get(up.name))
            result = store.ingest(bulletin, reassign_county=reassign_county)
        except GeoInputError as err:
            msg = one_line(err)
            report.errors.append((up.name, msg if up.name in msg else f"{up.name}：{msg}"))
        else:
            report.ingested.append((up.name, result))
            report.bulletins.append(bulletin)
        if progress is not None:
            progress(done, up.name)
    return report


def _with_header(bulletin: Bulletin, given: BulletinHeader | None) -> Bulletin:
    """The bulletin with the user's date/issue/title where its masthead had none."""
    if given is None:
        return bulletin
    h = bulletin.header
    # the masthead's date wins; a date typed in wins over the file's properties
    typed = given.date if given.date and h.date_source != "masthead" else None
    header = replace(  # keeps the masthead's other fields (总期号, 主办单位)
        h,
        title=h.title or given.title or None,
        issue=h.issue or given.issue or None,
        date=typed or h.date or None,
        date_source="user" if typed else h.date_source,
    )
    return replace(bulletin, header=header)


@dataclass
class BoundaryCheck:
    """An uploaded boundary file read, checked and joined (nothing saved yet).

    Attributes
    ----------
    columns : list of str
        The file's attribute columns (for the field selects); empty when it could not be read.
    result : geo.boundary_import.ImportResult or None
        Position check, join report and joined layer; None when the import raised.
    error, error_code : str or None
        Why it could not be read or joined (one line, Chinese) and the error's code.
    """

    columns: list[str] = field(default_factory=list)
    result: Any = None
    error: str | None = None
    error_code: str | None = None


def check_boundary_upload(name: str, data: bytes, *, county: str, **options: Any) -> BoundaryCheck:
    """Read, check and join an uploaded boundary file without saving (the app's preview).

    Parameters
    ----------
    name : str
        The uploaded file's name.
    data : bytes
    county : str
        County code.
    **options
        As :func:`geo.boundary_import.import_boundaries` (``crs``, ``datum``, ``code_field``,
        ``name_field``, ``overrides``, ``force``, ``declared_quality``, ``quality_source``).
        Run it in a bounded worker (:func:`geo.worker.run_bounded`): uploads are untrusted.
    """
    try:
        gdf = read_boundaries(
            data, crs=options.get("crs"), datum=options.get("datum", "wgs84"), name=name
        )
    except GeoInputError as err:
        return BoundaryCheck(error=one_line(err), error_code=err.code)
    columns = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    try:
        result = import_boundaries(data, county=county, store=None, name=name, **options)
    except GeoInputError as err:
        return BoundaryCheck(columns=columns, error=one_line(err), error_code=err.code)
    return BoundaryCheck(columns=columns, result=result)


# ---------------------------------------------------------------------------------------------
# map clicks


def township_at(townships: Any, lat: float, lon: float) -> str | None:
    """Code of the township polygon containing a point (EPSG:4326), or None.

    Parameters
    ----------
    townships : geopandas.GeoDataFrame
        Columns ``township_code`` and ``geometry`` in EPSG:4326.
    lat, lon : float

    Returns
    -------
    str or None
    """
    if townships is None or len(townships) == 0:
        return None
    from shapely.geometry import Point

    pt = Point(float(lon), float(lat))
    hits = townships[townships.geometry.intersects(pt)]
    if hits.empty:
        return None
    return str(hits.iloc[0]["township_code"])


def township_from_map(state: Mapping | None, townships: Any = None) -> str | None:
    """The township a map click selected, from what ``st_folium`` returned.

    A click on a township polygon gives its feature in ``last_active_drawing`` (properties carry
    ``township_code``); a click elsewhere (a marker, a label) gives only coordinates in
    ``last_object_clicked``, looked up in ``townships``.

    Parameters
    ----------
    state : mapping or None
        The dict returned by ``streamlit_folium.st_folium``.
    townships : geopandas.GeoDataFrame, optional
        Township polygons for the coordinate lookup.

    Returns
    -------
    str or None
    """
    if not state:
        return None
    drawing = state.get("last_active_drawing") or {}
    props = drawing.get("properties") if isinstance(drawing, Mapping) else None
    if isinstance(props, Mapping):
        code = props.get("township_code")
        if code:
            return str(code)
    clicked = state.get("last_object_clicked") or state.get("last_clicked")
    if isinstance(clicked, Mapping) and clicked.get("lat") is not None:
        try:
            return township_at(townships, float(clicked["lat"]), float(clicked["lng"]))
        except (KeyError, TypeError, ValueError):
            return None
    return None


# ---------------------------------------------------------------------------------------------
# tables


def item_metric_totals(metrics_df: pd.DataFrame, metric_key: str | None) -> pd.Series:
    """Per item, its value of one metric family: the largest of its figures of that family.

    Parameters
    ----------
    metrics_df : pandas.DataFrame
        Output of ``geo.aggregate.assign_metric_keys``.
    metric_key : str or None
        A family key; None or ``"items"`` gives an empty series.

    Returns
    -------
    pandas.Series
        Indexed by ``item_id``.
    """
    # One value per item (its largest figure of the key): an item's figures restate or nest.
    return agg.item_metric_values(metrics_df, metric_key)


def metric_bounds(metrics_df: pd.DataFrame, metric_key: str | None) -> tuple[float, float] | None:
    """Smallest and largest item total of a metric family, for the range slider.

    Returns
    -------
    tuple of float or None
        None when no item has the metric (or for ``"items"``).
    """
    totals = item_metric_totals(metrics_df, metric_key)
    if totals.empty:
        return None
    return float(totals.min()), float(totals.max())


def _metric_summaries(metrics_df: pd.DataFrame) -> pd.Series:
    """One short string per item listing its metrics ("约300亩；666万元；45座")."""
    if metrics_df.empty:
        return pd.Series(dtype=object)
    # A plain dict beats groupby(...).agg(join) by ~20x on 10,000 items.
    parts: dict[str, list[str]] = {}
    for iid, text in zip(metrics_df["item_id"].tolist(), metric_texts(metrics_df), strict=True):
        parts.setdefault(iid, []).append(text)
    return pd.Series({k: "；".join(v) for k, v in parts.items()}, dtype=object)


def items_table(
    items_df: pd.DataFrame,
    metrics_df: pd.DataFrame,
    sector_names: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The app's item table: Chinese headers, sector names, one metrics summary column.

    Parameters
    ----------
    items_df, metrics_df : pandas.DataFrame
        Filtered frames (``ITEM_COLUMNS`` / ``METRIC_COLUMNS``).
    sector_names : mapping, optional
        slug -> Chinese name; slugs are shown where missing.

    Returns
    -------
    pandas.DataFrame
        Columns ``TABLE_COLUMNS`` keys, index reset. Text stays plain (st.dataframe does not
        render HTML), so bulletin text needs no escaping here.
    """
    names = dict(sector_names or {})
    summary = _metric_summaries(metrics_df)
    out = pd.DataFrame(index=items_df.index)
    for label, col in TABLE_COLUMNS.items():
        if col == "metrics":
            mapped = items_df["item_id"].map(summary).astype(object)
            out[label] = mapped.where(mapped.notna(), "")
        elif col == "sector":
            out[label] = items_df["sector"].map(lambda s: names.get(s, s) if s else "")
        elif col in ("corrected", "cumulative"):
            out[label] = items_df[col].fillna(False).astype(bool)
        elif col == "repeat_of":  # 重复: the date of the first report it repeats
            out[label] = _repeat_labels(items_df)
        else:
            out[label] = items_df[col].astype(object).where(items_df[col].notna(), "")
    if "body" in items_df:
        out["标题"] = [
            item_title(h, b)
            for h, b in zip(items_df["headline"].tolist(), items_df["body"].tolist(), strict=True)
        ]
    no_town = out["乡镇"].isna() | (out["乡镇"] == "")
    out.loc[no_town, "乡镇"] = items_df.loc[no_town, "scope"].map(SCOPE_ZH).fillna("")
    return out.reset_index(drop=True)


def _repeat_labels(items_df: pd.DataFrame) -> pd.Series:
    """``重复（首次 2024-02-01）`` for repeats, "" for first reports."""
    repeat_of = (
        items_df["repeat_of"] if "repeat_of" in items_df else pd.Series(index=items_df.index)
    )
    dates = dict(zip(items_df["item_id"], items_df["bulletin_date"], strict=True))
    out = []
    for first in repeat_of.tolist():
        if not isinstance(first, str) or not first:
            out.append("")
            continue
        when = dates.get(first)
        out.append(f"{REPEAT_LABEL}（首次 {when}）" if isinstance(when, str) else REPEAT_LABEL)
    return pd.Series(out, index=items_df.index, dtype=object)


#: Columns the planner's table keeps even when they are empty.
KEEP_COLUMNS = ("标题", "乡镇", "编号")


def drop_empty_columns(table: pd.DataFrame, keep: Iterable[str] = KEEP_COLUMNS) -> pd.DataFrame:
    """The table without the columns no row fills (e.g. 日期/期号 when no bulletin has them).

    Parameters
    ----------
    table : DataFrame
        From :func:`items_table`.
    keep : iterable of str
        Columns kept anyway. Yes/no columns (已更正) always stay: "no" is an answer.

    Returns
    -------
    DataFrame
    """
    keep = set(keep)
    empty = []
    for col in table.columns:
        if col in keep or table[col].dtype == bool:
            continue
        values = table[col]
        if not (values.notna() & (values.astype(str).str.strip() != "")).any():
            empty.append(col)
    return table.drop(columns=empty)


def metric_column(
    items_df: pd.DataFrame, metrics_df: pd.DataFrame, metric_key: str | None
) -> tuple[str, pd.Series] | None:
    """The chosen metric as a sortable number column, in a readable unit (万元, 亿元, 人...).

    Parameters
    ----------
    items_df, metrics_df : DataFrame
        Filtered frames; ``metrics_df`` with ``metric_key``.
    metric_key : str or None
        None or ``"items"`` gives no column.

    Returns
    -------
    (str, Series) or None
        Header (``"投资额（万元）"``) and one float per row of ``items_df`` (NaN where an
        item has no figure of the metric), in the same order.
    """
    if not metric_key or metric_key == "items":
        return None
    per_item = item_metric_totals(metrics_df, metric_key)
    values = items_df["item_id"].map(per_item).astype(float).reset_index(drop=True)
    largest = float(values.abs().max()) if values.notna().any() else 0.0
    scale, unit = readable_scale(metric_key, largest)
    return f"{agg.metric_name(metric_key)}（{unit}）", values / scale


def planner_table(
    items_df: pd.DataFrame,
    metrics_df: pd.DataFrame,
    sector_names: Mapping[str, str] | None = None,
    metric_key: str | None = None,
) -> pd.DataFrame:
    """The app's item table: :func:`items_table` with the chosen metric as a number column
    after 标题 (largest first), without columns that are empty for the current data.

    Returns
    -------
    DataFrame
        Index reset; ``编号`` (item id) is kept so a row can be found on the map.
    """
    table = items_table(items_df, metrics_df, sector_names)
    column = metric_column(items_df, metrics_df, metric_key)
    if column is not None:
        header, values = column
        table.insert(table.columns.get_loc("标题") + 1, header, values.to_numpy())
        table = table.sort_values(header, ascending=False, na_position="last", kind="stable")
    return drop_empty_columns(table).reset_index(drop=True)


def item_location(view: Any, item_id: str) -> tuple[float, float] | None:
    """Where an item is drawn on the map, as ``(lat, lon)`` in WGS84; None when it is not.

    Parameters
    ----------
    view : geo.view.MapView
    item_id : str
    """
    points = view.points
    if points is None or not len(points):
        return None
    hit = points[points["item_id"].astype(str) == str(item_id)]
    if hit.empty or hit.geometry.iloc[0] is None:
        return None
    pt = hit.geometry.iloc[0]
    return float(pt.y), float(pt.x)


def clicked_a_marker(state: Mapping | None) -> bool:
    """Whether the last click ``st_folium`` reports was on a point (an item marker, a cluster,
    a village dot) rather than a township polygon: its popup speaks for it.

    ``st_folium`` hands back the clicked layer as GeoJSON in ``last_active_drawing``; a
    point's geometry is a ``Point``.
    """
    drawing = (state or {}).get("last_active_drawing")
    if not isinstance(drawing, Mapping):
        return False
    geometry = drawing.get("geometry")
    return isinstance(geometry, Mapping) and geometry.get("type") == "Point"


def map_click(state: Mapping | None) -> tuple | None:
    """What identifies the last click ``st_folium`` reports, so that the same click read on the
    next rerun is not taken for a new one (a closed panel stays closed until the next click).

    Returns
    -------
    tuple or None
        The clicked coordinates (and township code when a polygon was clicked).
    """
    if not state:
        return None
    clicked = state.get("last_object_clicked") or state.get("last_clicked")
    drawing = state.get("last_active_drawing") or {}
    props = drawing.get("properties") if isinstance(drawing, Mapping) else None
    code = props.get("township_code") if isinstance(props, Mapping) else None
    if not isinstance(clicked, Mapping) or clicked.get("lat") is None:
        return ("drawing", str(code)) if code else None
    return (clicked.get("lat"), clicked.get("lng"), str(code) if code else None)


def township_summary(
    items_df: pd.DataFrame,
    metrics_df: pd.DataFrame,
    township_code: str,
    metric_labels: Mapping[str, str] | None = None,
    *,
    include_needs_review: bool = True,
) -> dict:
    """Items and totals of one township (the panel shown when it is clicked on the map).

    Parameters
    ----------
    items_df, metrics_df : pandas.DataFrame
        Filtered frames; ``metrics_df`` may carry ``metric_key``.
    township_code : str
    metric_labels : mapping, optional
        metric_key -> Chinese label (``geo.aggregate.metric_label``).
    include_needs_review : bool
        The review toggle (``MapView.count_needs_review``): False leaves the items whose place
        needs review out of ``n_items``, ``items``, ``sectors`` and the totals, as the
        choropleth and the rank do; they are in ``left_out``.

    Returns
    -------
    dict
        ``township`` (name or the code), ``n_items``, ``items`` (sub-frame of items_df),
        ``sectors`` (slug -> count), ``totals`` (list of ``(label, value)``, largest first),
        ``total_texts`` (list of ``(name, readable total)``: ``("投资额", "1.66亿元")``), the
        totals counting facts once as the map does, and ``left_out`` (the township's items the
        counts leave out; empty with ``include_needs_review``).
    """
    every = items_df[items_df["township_code"].astype(str) == str(township_code)]
    names = every["township"].dropna()
    keep = count_for_map(every, include_needs_review=include_needs_review).to_numpy()
    sel, left_out = every[keep], every[~keep]
    sums = pd.Series(dtype=float)
    if metrics_df["item_id"].isin(sel["item_id"]).any():
        sums = agg.metric_totals(sel, metrics_df)
    labels = dict(metric_labels or {})
    return {
        "township_code": str(township_code),
        "township": str(names.iloc[0]) if len(names) else str(township_code),
        "n_items": len(sel),
        "items": sel,
        "sectors": sel["sector"].fillna("other").value_counts().to_dict(),
        "totals": [(labels.get(k, str(k)), float(v)) for k, v in sums.items()],
        "total_texts": [
            (agg.metric_name(k), format_value(float(v), agg.metric_unit_zh(k)))
            for k, v in sums.items()
        ],
        "left_out": left_out,
    }


# ---------------------------------------------------------------------------------------------
# exports


@dataclass(frozen=True)
class ExportSpec:
    """One download button: what it says, the file it gives and how to make it."""

    fmt: str
    label: str
    file_name: str
    mime: str
    build: Callable[[], bytes]


#: fmt -> (button label, suffix, MIME type), in button order.
_EXPORTS = {
    "html": ("网页地图 HTML", ".html", "text/html"),
    "png": ("图片 PNG（{preset}）", ".png", "image/png"),
    "png_sources": ("图片的数据来源 TXT", "_数据来源.txt", "text/plain"),
    "pdf": ("报告 PDF", ".pdf", "application/pdf"),
    "csv": ("事项表 CSV", ".csv", "text/csv"),
    "csv_townships": ("乡镇汇总 CSV", "_乡镇.csv", "text/csv"),
    "geojson": ("GeoJSON", ".geojson", "application/geo+json"),
    "gpkg": ("GeoPackage", ".gpkg", "application/geopackage+sqlite3"),
}


#: The CSV column styles of the export menu, label -> ``geo.export.export_csv(columns=...)``.
CSV_COLUMN_CHOICES = {"报表版（中文表头）": "report", "英文键（供程序读取）": "keys"}


def export_specs(
    view: Any, stem: str, *, csv_columns: str = "report", png_preset: str = "wechat"
) -> list[ExportSpec]:
    """Download specs for exactly the current view (filters, metric, base map).

    Parameters
    ----------
    view : geo.view.MapView
        From ``geo.view.make_view``, the same object the app's map is drawn from.
    stem : str
        File name without suffix.
    csv_columns : {"report", "keys"}
        The CSVs' columns: the 报表版 (Chinese headers, codes as text) or English keys.
    png_preset : str
        Size of the PNG (a key of :func:`geo.picture.png_presets`); its name joins the file
        name, and the picture's full sources are one more download (``png_sources``).

    Returns
    -------
    list of ExportSpec
        Only the formats :func:`geo.view.available_exports` allows for ``view`` (no map
        formats without township polygons or a county outline). ``build()`` writes the file
        with :mod:`geo.export` into a temporary folder and returns its bytes; it runs only when
        called (Streamlit calls it on click).
    """
    import tempfile

    from geo import export

    preset = png_presets()[png_preset]

    def png(v, path):
        return export.export_png(v, path, preset=png_preset, sources_file=False)

    def png_sources(v, path):
        path.write_text(sources_text(v), encoding="utf-8")
        return path

    funcs = {
        "html": export.export_html,
        "png": png,
        "png_sources": png_sources,
        "pdf": export.export_pdf,
        "csv": partial(export.export_csv, columns=csv_columns),
        "csv_townships": partial(export.export_csv, columns=csv_columns),
        "geojson": export.export_geojson,
        "gpkg": export.export_gpkg,
    }

    def builder(fmt: str, suffix: str) -> Callable[[], bytes]:
        def build() -> bytes:
            with tempfile.TemporaryDirectory() as tmp:
                out = funcs[fmt](view, Path(tmp) / f"{stem}{suffix}")
                # export_csv writes <stem>.csv (items) beside <stem>_townships.csv and others
                if isinstance(out, list | tuple):
                    want = "_townships.csv" if fmt == "csv_townships" else None
                    out = next((p for p in out if want and str(p).endswith(want)), out[0])
                path = out
                return Path(path).read_bytes()

        return build

    # csv_townships is one of the files export_csv writes: available whenever csv is
    available = set(available_exports(view))
    specs = []
    for fmt, (label, suffix, mime) in _EXPORTS.items():
        if fmt.split("_")[0] not in available:
            continue
        if fmt.startswith("png"):
            suffix = f"-{preset.file_zh}{suffix}"
            label = label.format(preset=preset.label_zh)
        specs.append(ExportSpec(fmt, label, f"{stem}{suffix}", mime, builder(fmt, suffix)))
    return specs


# ---------------------------------------------------------------------------------------------
# boundary uploads: CRS and datum are separate questions


#: CGCS2000 3-degree Gauss-Kruger zones offered for uploads (central meridians 111/114/117°E,
#: the zones of 河南 and its neighbours; :func:`geo.boundaries.metric_crs` picks from the same
#: series EPSG:4534-4554). Any other code can be typed in.
GK_ZONES = (4546, 4547, 4548)
#: Menu entry that asks for an EPSG code.
OTHER_CRS = "其他 EPSG 代码…"
#: Datum of the coordinates, label -> ``geo.boundaries.read_boundaries(datum=...)``.
DATUM_CHOICES = {
    "WGS84 / CGCS2000（标准）": "wgs84",
    "GCJ-02（高德/腾讯导出）": "gcj02",
    "BD-09（百度导出）": "bd09",
}


def boundary_crs_choices() -> dict[str, str | None]:
    """The CRS menu of the boundary upload: label -> CRS to assign (None = as the file says).

    Returns
    -------
    dict
        Geographic CRSs, the CGCS2000 Gauss-Kruger zones :data:`GK_ZONES`, Web Mercator, and
        :data:`OTHER_CRS` (value ``""``: the user types a code, see :func:`parse_crs`).
    """
    import pyproj

    out: dict[str, str | None] = {
        "从文件读取": None,
        "WGS84 经纬度 (EPSG:4326)": "EPSG:4326",
        "CGCS2000 经纬度 (EPSG:4490)": "EPSG:4490",
    }
    for code in GK_ZONES:
        # pyproj's own name ("CGCS2000 / 3-degree Gauss-Kruger CM 114E"), so labels cannot drift
        out[f"{pyproj.CRS.from_epsg(code).name} (EPSG:{code})"] = f"EPSG:{code}"
    out["Web 墨卡托 (EPSG:3857)"] = "EPSG:3857"
    out[OTHER_CRS] = ""
    return out


def parse_crs(text: str) -> str:
    """A typed CRS ("4547", "EPSG:4547", "epsg 4547") as ``"EPSG:<code>"``.

    Raises
    ------
    geo.errors.GeoInputError
        Not an EPSG code pyproj knows.
    """
    import re

    import pyproj

    m = re.fullmatch(r"\s*(?:epsg)?\s*[:：]?\s*(\d{4,6})\s*", text or "", flags=re.IGNORECASE)
    if not m:
        raise GeoInputError(f"“{text.strip()}”不是 EPSG 代码（例如 EPSG:4547）", code="input.epsg")
    code = f"EPSG:{m.group(1)}"
    try:
        pyproj.CRS.from_user_input(code)
    except pyproj.exceptions.CRSError:
        raise GeoInputError(f"未知的坐标系 {code}", code="input.crs") from None
    return code


def bulletin_labels(items_df: pd.DataFrame) -> dict[str, str]:
    """Menu label of every bulletin of ``items_df``: title, issue and date, else its file name.

    Parameters
    ----------
    items_df : pandas.DataFrame
        ``ITEM_COLUMNS`` frame.

    Returns
    -------
    dict
        ``bulletin_id -> label``; labels that would repeat get the file name in brackets.
    """
    b = items_df.drop_duplicates("bulletin_id")
    out: dict[str, str] = {}
    for row in b.itertuples():
        parts = [_text(getattr(row, c, None)) for c in ("bulletin_title", "bulletin_issue")]
        parts.append(_text(row.bulletin_date))
        label = " ".join(p for p in parts if p)
        out[row.bulletin_id] = label or _text(row.bulletin_name) or str(row.bulletin_id)
    seen = pd.Series(list(out.values())).value_counts()
    for row in b.itertuples():
        name = _text(row.bulletin_name)
        if seen.get(out[row.bulletin_id], 0) > 1 and name and name != out[row.bulletin_id]:
            out[row.bulletin_id] += f"（{name}）"
    return out


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def review_labels(items_df: pd.DataFrame, width: int = 40) -> dict[str, str]:
    """Labels of the correction menu: the item's title and the bulletin's date and name.

    Parameters
    ----------
    items_df : pandas.DataFrame
    width : int
        Characters of the title kept.

    Returns
    -------
    dict
        ``item_id -> "标题（2024-02-01 简报.txt）"``; items without a headline show the start
        of their body.
    """

    out = {}
    for row in items_df.itertuples():
        title = item_title(row.headline, row.body)[:width]
        where = " ".join(p for p in (_text(row.bulletin_date), _text(row.bulletin_name)) if p)
        out[row.item_id] = f"{title}（{where}）" if where else title
    return out


def is_online_basemap(basemap: str) -> bool:
    """True when a base map loads tiles from the internet (anything but 无底图)."""
    from geo.webmap import load_basemaps

    bm = load_basemaps().get(basemap)
    return bool(bm is not None and bm.layers)


# ---------------------------------------------------------------------------------------------
# metric range slider


@dataclass(frozen=True)
class MetricSlider:
    """A metric range slider in readable whole units (万元, 亿元, 人, 亩...).

    Attributes
    ----------
    scale : float
        Base units (元, 人...) per slider unit.
    unit : str
        Unit shown on the slider ("万元").
    lo, hi : int
        Slider bounds in slider units; they contain every value.
    """

    scale: float
    unit: str
    lo: int
    hi: int

    def to_slider(self, value: float, upper: bool = False) -> int:
        """A base-unit value as a slider position (rounded outwards, within the bounds)."""
        import math

        x = value / self.scale
        pos = math.ceil(x - 1e-9) if upper else math.floor(x + 1e-9)
        return int(min(max(pos, self.lo), self.hi))

    def to_range(
        self,
        low: int,
        high: int,
        exact_min: float | None = None,
        exact_max: float | None = None,
    ) -> tuple[float | None, float | None]:
        """Filter bounds in base units from the slider; None where the slider is at its end.

        ``exact_min`` / ``exact_max`` (from a shared link) are returned unchanged while the
        slider still shows them, so a link keeps its exact bounds.
        """
        lo_val = None
        if low > self.lo:
            keep = exact_min is not None and self.to_slider(exact_min) == low
            lo_val = float(exact_min) if keep else low * self.scale
        hi_val = None
        if high < self.hi:
            keep = exact_max is not None and self.to_slider(exact_max, upper=True) == high
            hi_val = float(exact_max) if keep else high * self.scale
        return lo_val, hi_val


#: Money shown in 亿元 from this total on, else in 万元 from _WAN_FROM on (yuan).
_YI_FROM = 1e9
_WAN_FROM = 1e5


def readable_scale(metric_key: str, largest: float) -> tuple[float, str]:
    """Base units per shown unit, and the shown unit, for values up to ``largest``.

    Money reads in 亿元 from 10 亿 on, in 万元 from 10 万 on; other units as they are.

    Parameters
    ----------
    metric_key : str
    largest : float
        The largest absolute value to show.

    Returns
    -------
    (float, str)
        E.g. ``(1e4, "万元")`` or ``(1.0, "人")``.
    """
    unit = agg.metric_unit_zh(metric_key)
    if unit == "元" and largest >= _YI_FROM:
        return 1e8, "亿元"
    if unit == "元" and largest >= _WAN_FROM:
        return 1e4, "万元"
    return 1.0, unit


def fine_scale(slider: MetricSlider) -> tuple[float, str]:
    """Base units per unit of the number boxes beside a range slider, and that unit.

    A slider moving in whole 亿元 gets boxes in 万元 (so 666万元 can be chosen); otherwise
    the boxes use the slider's unit and take decimals.

    Returns
    -------
    (float, str)
    """
    if slider.unit == "亿元":
        return 1e4, "万元"
    return slider.scale, slider.unit


def metric_slider(metric_key: str, lo: float, hi: float) -> MetricSlider | None:
    """The range slider of a metric family with totals between ``lo`` and ``hi``.

    Money (元) moves in whole 万元, or 亿元 when totals reach 10 亿; everything else in whole
    units (人, 亩, 吨...).

    Parameters
    ----------
    metric_key : str
    lo, hi : float
        Smallest and largest item total (:func:`metric_bounds`).

    Returns
    -------
    MetricSlider or None
        None when the slider would have a single position.
    """
    import math

    scale, unit = readable_scale(metric_key, max(abs(lo), abs(hi)))
    s_lo, s_hi = math.floor(lo / scale + 1e-9), math.ceil(hi / scale - 1e-9)
    if s_lo >= s_hi:
        return None
    return MetricSlider(scale=scale, unit=unit, lo=int(s_lo), hi=int(s_hi))


# ---------------------------------------------------------------------------------------------
# time: the period slider and the monthly report


def month_options(items_df: pd.DataFrame) -> list[str]:
    """Every month from the first to the last dated item (``2024-01``…), for the slider."""
    months = period_of(items_df["bulletin_date"], "month").dropna()
    return periods_between(months.min(), months.max()) if len(months) else []


def period_slider_value(
    months: list[str], date_from: str | None, date_to: str | None
) -> tuple[str, str]:
    """The slider's months for a date range (from a shared link): the months holding its ends,
    within the slider."""
    start = date_from[:7] if date_from else months[0]
    end = date_to[:7] if date_to else months[-1]
    start = min(max(start, months[0]), months[-1])
    end = max(min(end, months[-1]), start)
    return start, end


def period_filter(
    months: list[str],
    start: str,
    end: str,
    exact: tuple[str | None, str | None] = (None, None),
) -> tuple[str | None, str | None]:
    """Date bounds of the slider's months; None where the slider is at its end. A shared
    link's exact days (``exact``) are kept while the slider still shows their months."""
    date_from = None if start <= months[0] else period_bounds(start)[0]
    date_to = None if end >= months[-1] else period_bounds(end)[1]
    if exact[0] and exact[0][:7] == start:
        date_from = exact[0]
    if exact[1] and exact[1][:7] == end:
        date_to = exact[1]
    return date_from, date_to


def report_specs(view: Any, period: str, stem: str, township_code: str | None = None) -> list:
    """Download specs of the monthly report of ``period`` (DOCX and PDF) for ``view`` (the
    county's view with every period, or a function making it, called only on click).
    ``build()`` runs only on click."""
    import tempfile

    from geo.report import monthly_report, write_report

    def builder(fmt: str) -> Callable[[], bytes]:
        def build() -> bytes:
            whole = view() if callable(view) else view
            report = monthly_report(whole, period=period, township_code=township_code)
            with tempfile.TemporaryDirectory() as tmp:
                return write_report(report, Path(tmp) / f"{stem}.{fmt}", fmt).read_bytes()

        return build

    label = period_label_zh(period)
    mimes = {
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "pdf": "application/pdf",
    }
    return [
        ExportSpec(
            f"report_{fmt}", f"{label}月报 {fmt.upper()}", f"{stem}.{fmt}", mime, builder(fmt)
        )
        for fmt, mime in mimes.items()
    ]


# --------------------------------------------------------------------------- prefectures


def area_choices(counties: Mapping[str, str]) -> dict[str, str]:
    """The app's area menu: the counties, then the prefecture of each (``信阳市（全市）``).

    Parameters
    ----------
    counties : mapping
        ``code -> name`` of the counties on offer (6-digit codes; 4-digit ones pass through).

    Returns
    -------
    dict
        ``code -> label``; a prefecture's code has 4 digits.
    """
    out = dict(counties)
    for code in list(counties):
        if is_prefecture_code(code) or code[:4] in out:
            continue
        try:
            out[code[:4]] = area_label(find_area(code[:4]))
        except GeoInputError:
            continue  # a county directly under its province: no prefecture to offer
    return out


def area_label(area: Any) -> str:
    """Menu label of a county (its name) or a prefecture (``信阳市（全市）``)."""
    if isinstance(area, Prefecture):
        return f"{area.name}（全市）"
    return str(area.county_name)


def prefecture_towns(prefecture: Prefecture, gazetteer_of: Callable[[str], Any]) -> dict:
    """``township code -> 县·乡镇`` of every county of a prefecture (the 乡镇 filter)."""
    out: dict[str, str] = {}
    for code, name in prefecture.counties:
        try:
            gaz = gazetteer_of(code)
        except GeoInputError:
            continue
        out.update({t.code: f"{name}·{t.name}" for t in gaz.townships})
    return out
