"""Pure helpers behind the Streamlit app: uploads, map clicks, tables and township panels.

``streamlit_app.py`` keeps only widgets and session state; everything it computes lives here so
it can be tested without a browser. Nothing here imports Streamlit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from geo import config
from geo.errors import GeoInputError
from geo.models import Bulletin, BulletinHeader

__all__ = [
    "DEFAULT_COUNTY_CODE",
    "SAMPLE_PATH",
    "TABLE_COLUMNS",
    "UPLOAD_TYPES",
    "ExportSpec",
    "UploadFile",
    "UploadReport",
    "content_hash",
    "county_choices",
    "default_county_code",
    "export_specs",
    "format_number",
    "ingest_uploads",
    "item_metric_totals",
    "items_table",
    "md_escape",
    "metric_bounds",
    "read_upload",
    "sample_text",
    "township_at",
    "township_from_map",
    "township_summary",
]

SAMPLE_PATH = config.data_dir() / "xixian-bulletin-sample.txt"
#: 息县, used when data/counties.json is missing or names no default.
DEFAULT_COUNTY_CODE = "411528"
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
    "简报": "bulletin_name",
    "编号": "item_id",
}

_SCOPE_ZH = {"village": "村", "township": "乡镇", "county": "全县", "unknown": "未定位"}


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


def _counties_file() -> Path:
    return config.data_dir() / "counties.json"


def _county_records(doc: Any) -> list[dict]:
    """County entries of data/counties.json, whichever of its plausible shapes it has."""
    if isinstance(doc, dict):
        for key in ("counties", "items"):
            if isinstance(doc.get(key), list):
                return [c for c in doc[key] if isinstance(c, dict)]
            if isinstance(doc.get(key), dict):
                return [{"code": k, **v} for k, v in doc[key].items() if isinstance(v, dict)]
        return [{"code": k, **v} for k, v in doc.items() if isinstance(v, dict) and k.isdigit()]
    if isinstance(doc, list):
        return [c for c in doc if isinstance(c, dict)]
    return []


def _read_counties(path: Path | None = None) -> tuple[list[dict], str | None]:
    path = path or _counties_file()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [], None
    default = doc.get("default") if isinstance(doc, dict) else None
    if isinstance(default, dict):
        default = default.get("code") or default.get("county_code")
    return _county_records(doc), (str(default) if default else None)


def county_choices(path: Path | None = None) -> dict[str, str]:
    """Counties the app offers: code -> display name, the default county first.

    Parameters
    ----------
    path : pathlib.Path, optional
        A counties.json; default ``data/counties.json``.

    Returns
    -------
    dict
        ``{"411528": "息县", ...}``; just 息县 when the file is missing.
    """
    records, default = _read_counties(path)
    out: dict[str, str] = {}
    for rec in records:
        code = str(rec.get("code") or rec.get("county_code") or "").strip()
        name = str(rec.get("name") or rec.get("county") or rec.get("county_name") or code)
        if code:
            out[code] = name
    if not out:
        out = {DEFAULT_COUNTY_CODE: "息县"}
    first = default if default in out else next(iter(out))
    return {first: out[first], **{k: v for k, v in out.items() if k != first}}


def default_county_code(path: Path | None = None) -> str:
    """The county the app opens on (``default`` of counties.json, else 息县).

    Returns
    -------
    str
        Six-digit county code.
    """
    return next(iter(county_choices(path)))


# ---------------------------------------------------------------------------------------------
# uploads


@dataclass
class UploadFile:
    """One uploaded bulletin after reading: its text and header, or why it was refused."""

    name: str
    text: str | None = None
    header: BulletinHeader = field(default_factory=BulletinHeader)
    error: str | None = None

    @property
    def needs_date(self) -> bool:
        """True when the header gave no date, so the user is asked for one."""
        return self.error is None and not self.header.date


@dataclass
class UploadReport:
    """What an upload batch did: ``(name, IngestResult)`` pairs and ``(name, message)`` errors."""

    ingested: list[tuple[str, Any]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    bulletins: list[Bulletin] = field(default_factory=list)


def read_upload(name: str, data: bytes) -> UploadFile:
    """Read one uploaded file and its masthead; a bad file gives ``error``, never raises.

    Parameters
    ----------
    name : str
        File name as uploaded (the extension is a hint; magic bytes decide).
    data : bytes
        File content.

    Returns
    -------
    UploadFile
    """
    from geo.ingest import normalise_text, parse_header
    from geo.io.bulletin_files import read_bulletin

    try:
        raw = read_bulletin(data, name)
        header = parse_header(normalise_text(raw))
    except GeoInputError as err:
        return UploadFile(name=name, error=_one_line(err))
    return UploadFile(name=name, text=raw, header=header or BulletinHeader())


def _one_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


def ingest_uploads(
    uploads: Iterable[UploadFile],
    store: Any,
    *,
    county: str | None,
    headers: Mapping[str, BulletinHeader] | None = None,
    progress: Callable[[int, str], None] | None = None,
) -> UploadReport:
    """Parse and store uploaded bulletins one by one; a bad file never stops the others.

    Parameters
    ----------
    uploads : iterable of UploadFile
        As returned by :func:`read_upload`; files with ``error`` are reported, not parsed.
    store : geo.store.Store
        Where parsed bulletins go (``store.ingest``).
    county : str, optional
        County code or name the bulletins belong to; detected from the text when None.
    headers : mapping, optional
        ``name -> BulletinHeader`` typed in by the user; fills date/issue/title the masthead
        did not give (the masthead wins where it has a value).
    progress : callable, optional
        ``progress(done, name)`` after each file.

    Returns
    -------
    UploadReport
    """
    from geo.pipeline import parse_text

    report = UploadReport()
    headers = headers or {}
    for done, up in enumerate(uploads, start=1):
        try:
            if up.error is not None:
                raise GeoInputError(up.error)
            bulletin = parse_text(up.text or "", county=county, source_name=up.name)
            given = headers.get(up.name)
            if given is not None:
                h = bulletin.header
                bulletin.header = BulletinHeader(
                    title=h.title or given.title or None,
                    issue=h.issue or given.issue or None,
                    date=h.date or given.date or None,
                )
            if not bulletin.items:
                raise GeoInputError(f"{up.name}: no items found in the text")
            result = store.ingest(bulletin)
        except GeoInputError as err:
            msg = _one_line(err)
            report.errors.append((up.name, msg if up.name in msg else f"{up.name}: {msg}"))
        else:
            report.ingested.append((up.name, result))
            report.bulletins.append(bulletin)
        if progress is not None:
            progress(done, up.name)
    return report


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
    """Per item, the total of one metric family (``metrics_df`` must have ``metric_key``).

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
    if not metric_key or metric_key == "items" or "metric_key" not in metrics_df:
        return pd.Series(dtype=float, name="value")
    sel = metrics_df[metrics_df["metric_key"] == metric_key]
    return sel.groupby("item_id")["value"].sum()


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


def format_number(value: float) -> str:
    """A compact Chinese reading of a number: 6660000 -> "666万", 1.35e9 -> "13.5亿".

    Parameters
    ----------
    value : float

    Returns
    -------
    str
    """
    if abs(value) >= 1e8:
        return f"{value / 1e8:.4g}亿"
    if abs(value) >= 1e4:
        return f"{value / 1e4:.4g}万"
    return f"{value:.4g}"


def _metric_summaries(metrics_df: pd.DataFrame, unit_zh: Mapping[str, str]) -> pd.Series:
    """One short string per item listing its metrics ("300亩；666万元")."""
    if metrics_df.empty:
        return pd.Series(dtype=object)
    # A plain dict beats groupby(...).agg(join) by ~20x on 10,000 items.
    parts: dict[str, list[str]] = {}
    for iid, value, unit in zip(
        metrics_df["item_id"].tolist(),
        metrics_df["value"].tolist(),
        metrics_df["unit"].tolist(),
        strict=True,
    ):
        parts.setdefault(iid, []).append(format_number(value) + unit_zh.get(unit, ""))
    return pd.Series({k: "；".join(v) for k, v in parts.items()}, dtype=object)


_UNIT_ZH = {
    "yuan": "元",
    "person": "人",
    "person_time": "人次",
    "mu": "亩",
    "tonne": "吨",
    "enterprise": "家",
    "project": "个项目",
    "item": "件",
    "time": "次",
    "household": "户",
    "other": "",
}


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
    summary = _metric_summaries(metrics_df, _UNIT_ZH)
    out = pd.DataFrame(index=items_df.index)
    for label, col in TABLE_COLUMNS.items():
        if col == "metrics":
            mapped = items_df["item_id"].map(summary).astype(object)
            out[label] = mapped.where(mapped.notna(), "")
        elif col == "sector":
            out[label] = items_df["sector"].map(lambda s: names.get(s, s) if s else "")
        elif col == "corrected":
            out[label] = items_df["corrected"].fillna(False).astype(bool)
        else:
            out[label] = items_df[col].astype(object).where(items_df[col].notna(), "")
    no_town = out["乡镇"].isna() | (out["乡镇"] == "")
    out.loc[no_town, "乡镇"] = items_df.loc[no_town, "scope"].map(_SCOPE_ZH).fillna("")
    return out.reset_index(drop=True)


def township_summary(
    items_df: pd.DataFrame,
    metrics_df: pd.DataFrame,
    township_code: str,
    metric_labels: Mapping[str, str] | None = None,
) -> dict:
    """Items and totals of one township (the panel shown when it is clicked on the map).

    Parameters
    ----------
    items_df, metrics_df : pandas.DataFrame
        Filtered frames; ``metrics_df`` may carry ``metric_key``.
    township_code : str
    metric_labels : mapping, optional
        metric_key -> Chinese label (``geo.aggregate.metric_label``).

    Returns
    -------
    dict
        ``township`` (name or the code), ``n_items``, ``items`` (sub-frame of items_df),
        ``sectors`` (slug -> count) and ``totals`` (list of ``(label, value)``, largest first).
    """
    sel = items_df[items_df["township_code"].astype(str) == str(township_code)]
    names = sel["township"].dropna()
    totals: list[tuple[str, float]] = []
    mets = metrics_df[metrics_df["item_id"].isin(sel["item_id"])]
    if not mets.empty:
        key = "metric_key" if "metric_key" in mets else "unit"
        labels = dict(metric_labels or {})
        sums = mets.groupby(key)["value"].sum().sort_values(ascending=False)
        totals = [(labels.get(k, str(k)), float(v)) for k, v in sums.items()]
    return {
        "township_code": str(township_code),
        "township": str(names.iloc[0]) if len(names) else str(township_code),
        "n_items": len(sel),
        "items": sel,
        "sectors": sel["sector"].fillna("other").value_counts().to_dict(),
        "totals": totals,
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
    "png": ("图片 PNG", ".png", "image/png"),
    "pdf": ("报告 PDF", ".pdf", "application/pdf"),
    "csv": ("事项表 CSV", ".csv", "text/csv"),
    "csv_townships": ("乡镇汇总 CSV", "_乡镇.csv", "text/csv"),
    "geojson": ("GeoJSON", ".geojson", "application/geo+json"),
    "gpkg": ("GeoPackage", ".gpkg", "application/geopackage+sqlite3"),
}


def export_specs(view: Any, stem: str) -> list[ExportSpec]:
    """Download specs for exactly the current view (filters, metric, base map).

    Parameters
    ----------
    view : geo.export.MapView
        From ``geo.export.make_view``, the same object the app's map is drawn from.
    stem : str
        File name without suffix.

    Returns
    -------
    list of ExportSpec
        ``build()`` writes the file with :mod:`geo.export` into a temporary folder and returns
        its bytes; it runs only when called (Streamlit calls it on click).
    """
    import tempfile

    from geo import export

    funcs = {
        "html": export.export_html,
        "png": export.export_png,
        "pdf": export.export_pdf,
        "csv": export.export_csv,
        "csv_townships": export.export_csv,
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

    return [
        ExportSpec(fmt, label, f"{stem}{suffix}", mime, builder(fmt, suffix))
        for fmt, (label, suffix, mime) in _EXPORTS.items()
    ]
