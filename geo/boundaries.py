"""Township boundaries: read any CRS/datum into WGS84, repair, join to the gazetteer, defaults.

Everything returned is in EPSG:4326 (WGS84 longitude/latitude); :func:`metric_crs` gives the
CGCS2000 Gauss-Kruger zone to measure areas and distances in. Chinese web maps (高德, 腾讯) use the
GCJ-02 datum, offset by about 500 m from WGS84: :func:`gcj02_to_wgs84` converts their exports and
:func:`wgs84_to_gcj02` shifts WGS84 overlays onto GCJ-02 tiles.

:func:`read_boundaries` reports what it repaired or dropped in ``gdf.attrs["report"]`` (a
:class:`BoundaryReport`); the join to the gazetteer lives in :mod:`geo.boundary_join`
(:func:`join_to_gazetteer` is re-exported here). Default layers per county are listed in
``data/counties.json``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import eviltransform
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from geo.boundary_join import QUALITIES, JoinReport, join_to_gazetteer
from geo.county_settings import load_county_settings
from geo.errors import BoundaryReadError
from geo.io.boundary_files import _first_line, read_vector, sample_value

__all__ = [
    "DATUMS",
    "QUALITIES",
    "BoundaryReport",
    "CountyLayers",
    "JoinReport",
    "boundary_report",
    "county_layers",
    "gcj02_to_wgs84",
    "join_to_gazetteer",
    "metric_crs",
    "read_boundaries",
    "wgs84_to_gcj02",
]

#: Datums of the coordinates in a file: true WGS84/CGCS2000, 高德/腾讯 GCJ-02, 百度 BD-09.
DATUMS = ("wgs84", "gcj02", "bd09")

_WGS84 = "EPSG:4326"
# Fixed-point iterations for the GCJ-02 inverse: the offset changes by < 1e-6 deg per 100 m,
# so each pass gains about five digits; three reach far below a millimetre.
_INVERSE_ITERATIONS = 3
_NAME_HINTS = ("name", "名", "township", "乡镇", "xzqmc", "mc")


# --------------------------------------------------------------------------- reports


@dataclass
class BoundaryReport:
    """What :func:`read_boundaries` did to a file's features.

    Feature labels are ``"#<row> <name>"`` (row numbers from 1, the name when a name-like column
    exists). ``encoding``/``encoding_how`` say how a shapefile's text was decoded (``cpg``,
    ``given``, ``detected``, ``ascii``; empty for other formats).
    """

    source: str
    source_crs: str | None = None
    crs_assigned: bool = False
    datum: str = "wgs84"
    n_read: int = 0
    n_kept: int = 0
    repaired: list[str] = field(default_factory=list)
    dropped_empty: list[str] = field(default_factory=list)
    dropped_non_polygon: list[str] = field(default_factory=list)
    trimmed_mixed: list[str] = field(default_factory=list)
    encoding: str = ""
    encoding_how: str = ""

    @property
    def messages(self) -> list[str]:
        """One line (Chinese) per kind of change, empty when the file was clean."""
        out = []
        for what, labels in (
            ("个无效几何已修复", self.repaired),
            ("个空几何已删除", self.dropped_empty),
            ("个非面要素已删除", self.dropped_non_polygon),
            ("个混合几何只保留了面", self.trimmed_mixed),
        ):
            if labels:
                out.append(f"{len(labels)} {what}：{_short_list(labels)}")
        return out

    @property
    def encoding_note(self) -> str:
        """How the attribute text was decoded, in Chinese; ``""`` when it does not matter."""
        how = {
            "cpg": "按 .cpg 文件声明",
            "given": "按用户指定",
            "detected": "未找到 .cpg，自动识别（可用 --encoding 指定）",
        }.get(self.encoding_how)
        return f"属性表编码：{self.encoding}（{how}）" if how else ""

    def to_text(self) -> str:
        """A short paragraph (Chinese) for the UI and the CLI."""
        crs = self.source_crs or "无"
        head = (
            f"{self.source}：保留 {self.n_kept}/{self.n_read} 个要素（坐标系 {crs}"
            f"{'，用户指定' if self.crs_assigned else ''}；基准 {self.datum}）。"
        )
        return "\n".join(filter(None, [head, self.encoding_note, *self.messages]))

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        return asdict(self)


@dataclass
class CountyLayers:
    """A county's default layers (``None`` where the county has none).

    ``seat`` is the county town as (lon, lat) in WGS84. ``approximate`` is True when the
    township polygons are an estimate (示意范围，非官方边界); ``note`` says so in words for the
    map legend.
    """

    outline: gpd.GeoDataFrame | None = None
    townships: gpd.GeoDataFrame | None = None
    seat: tuple[float, float] | None = None
    approximate: bool = False
    note: str = ""
    county_code: str = ""
    name: str | None = None


def _short_list(labels: list[str], limit: int = 12) -> str:
    # values come from the uploaded file: a bounded sample of each, never the whole content
    shown = "、".join(sample_value(label) for label in labels[:limit])
    return shown + (f" … (+{len(labels) - limit})" if len(labels) > limit else "")


def boundary_report(gdf: gpd.GeoDataFrame) -> BoundaryReport | None:
    """The :class:`BoundaryReport` attached by :func:`read_boundaries`, if it survived."""
    report = gdf.attrs.get("report")
    return report if isinstance(report, BoundaryReport) else None


# --------------------------------------------------------------------------- datum shifts


_delta = np.vectorize(eviltransform.delta, otypes=[float, float])


def _in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    # Same box as eviltransform.outOfChina: GCJ-02 leaves coordinates outside it unshifted.
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _wgs_to_gcj_xy(xy: np.ndarray) -> np.ndarray:
    lon, lat = xy[:, 0], xy[:, 1]
    if len(xy) == 0:
        return xy
    dlat, dlon = _delta(lat, lon)
    inside = _in_china(lon, lat)
    return np.column_stack([np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)])


def _gcj_to_wgs_xy(xy: np.ndarray) -> np.ndarray:
    lon, lat = xy[:, 0], xy[:, 1]
    if len(xy) == 0:
        return xy
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(_INVERSE_ITERATIONS):  # solve wgs + delta(wgs) = gcj
        dlat, dlon = _delta(wlat, wlon)
        wlon, wlat = lon - dlon, lat - dlat
    inside = _in_china(lon, lat)
    return np.column_stack([np.where(inside, wlon, lon), np.where(inside, wlat, lat)])


def _bd_to_gcj_xy(xy: np.ndarray) -> np.ndarray:
    if len(xy) == 0:
        return xy
    lat, lon = np.vectorize(eviltransform.bd2gcj, otypes=[float, float])(xy[:, 1], xy[:, 0])
    return np.column_stack([lon, lat])


def _shift(gdf: gpd.GeoDataFrame, func) -> gpd.GeoDataFrame:
    out = gdf.to_crs(_WGS84) if gdf.crs is not None else gdf.set_crs(_WGS84)
    out = out.copy()
    out[out.geometry.name] = shapely.transform(out.geometry.values, func)
    return out


def gcj02_to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Move geometries drawn on GCJ-02 (高德/腾讯) maps to true WGS84 positions.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Longitude/latitude in GCJ-02 (CRS ``None`` is taken as EPSG:4326).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy in EPSG:4326; points outside China are unchanged, as GCJ-02 defines.
    """
    return _shift(gdf, _gcj_to_wgs_xy)


def wgs84_to_gcj02(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Shift WGS84 geometries so they sit right on GCJ-02 (高德/腾讯) tiles.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Any CRS (reprojected to EPSG:4326 first; ``None`` is taken as EPSG:4326).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy whose coordinates are GCJ-02 longitude/latitude (CRS still labelled EPSG:4326,
        as web maps expect).
    """
    return _shift(gdf, _wgs_to_gcj_xy)


# --------------------------------------------------------------------------- reading


def read_boundaries(
    source: str | os.PathLike | bytes,
    *,
    crs: Any = None,
    datum: str = "wgs84",
    name: str | None = None,
    layer: str | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a boundary file into clean WGS84 polygons.

    Parameters
    ----------
    source : str, path-like or bytes
        Any file :func:`geo.io.boundary_files.read_vector` reads (.shp, .zip, .geojson, .gpkg).
    crs : str, int or pyproj.CRS, optional
        The file's CRS when it states none (a shapefile without ``.prj``) or states a wrong one;
        when given it replaces whatever the file says (assigned, not transformed).
    datum : {"wgs84", "gcj02", "bd09"}
        The datum of the coordinates: ``"gcj02"`` for 高德/腾讯 exports, ``"bd09"`` for 百度.
        CGCS2000 (EPSG:4490 and its projections) counts as ``"wgs84"``.
    name : str, optional
        File name for messages (and the type hint for bytes).
    layer : str, optional
        GeoPackage layer or shapefile (stem) inside a zip.
    encoding : str, optional
        Text encoding of a shapefile's ``.dbf`` (default: its ``.cpg``, else detected).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, 2-D valid (Multi)Polygons only, original attributes kept, index reset.
        ``gdf.attrs["report"]`` holds a :class:`BoundaryReport`: invalid geometries repaired
        (``shapely.make_valid``), empty and non-polygon features dropped, mixed collections
        reduced to their polygon parts.

    Raises
    ------
    geo.errors.BoundaryReadError
        Unreadable file, no CRS (and ``crs`` not given), unknown CRS or datum, coordinates that
        are not longitude/latitude after reprojection, or no polygon left.
    """
    if datum not in DATUMS:
        raise BoundaryReadError(
            f"未知的基准面“{sample_value(datum)}”（可选：{'、'.join(DATUMS)}）",
            code="boundary.datum",
        )
    is_bytes = isinstance(source, bytes | bytearray | memoryview)
    label = name or ("upload" if is_bytes else Path(source).name)
    gdf = read_vector(source, name=name, layer=layer, encoding=encoding)
    report = BoundaryReport(source=label, datum=datum, n_read=len(gdf))
    text_encoding = gdf.attrs.get("encoding") or {}
    report.encoding = text_encoding.get("encoding", "")
    report.encoding_how = text_encoding.get("how", "")
    gdf = _with_crs(gdf, crs, label=label, report=report)
    gdf = _clean_geometries(gdf.reset_index(drop=True), report)
    gdf = _to_wgs84_datum(gdf, datum, label=label)
    report.n_kept = len(gdf)
    gdf.attrs["report"] = report
    return gdf


def _with_crs(
    gdf: gpd.GeoDataFrame, crs: Any, *, label: str, report: BoundaryReport
) -> gpd.GeoDataFrame:
    """``gdf`` with the planner's CRS assigned when one is given (not transformed), else its
    own; noted in ``report``. A file without a CRS and none given is refused."""
    report.source_crs = gdf.crs.to_string() if gdf.crs is not None else None
    if crs is not None:
        try:
            user_crs = pyproj.CRS.from_user_input(crs)
        except pyproj.exceptions.CRSError:
            raise BoundaryReadError(
                f"未知的坐标系“{sample_value(crs)}”", code="boundary.crs"
            ) from None
        report.source_crs, report.crs_assigned = user_crs.to_string(), True
        return gdf.set_crs(user_crs, allow_override=True)
    if gdf.crs is None:
        raise BoundaryReadError(
            f"{label} 没有坐标系（缺少 .prj）——请选择它的坐标系（命令行 --crs）",
            code="boundary.no_crs",
        )
    return gdf


def _to_wgs84_datum(gdf: gpd.GeoDataFrame, datum: str, *, label: str) -> gpd.GeoDataFrame:
    """``gdf`` in WGS84 longitude/latitude, GCJ-02 and BD-09 coordinates shifted back."""
    try:
        gdf = gdf.to_crs(_WGS84)
    except Exception as err:  # pyproj raises several types for impossible transforms
        raise BoundaryReadError(
            f"{label}：无法转换到 WGS84（{_first_line(err)}）", code="boundary.crs"
        ) from None
    _check_lonlat(gdf, label)
    if datum == "gcj02":
        gdf = gcj02_to_wgs84(gdf)
    elif datum == "bd09":
        gdf = gcj02_to_wgs84(_shift(gdf, _bd_to_gcj_xy))
    # Reprojection and datum shifts can, rarely, fold a sliver; repair quietly.
    bad = ~gdf.is_valid
    if bad.any():
        gdf.loc[bad, gdf.geometry.name] = [
            shapely.union_all(_polygon_parts(shapely.make_valid(g))) for g in gdf.geometry[bad]
        ]
    return gdf


def _feature_labels(gdf: gpd.GeoDataFrame) -> list[str]:
    """``#row name`` for each feature, to tell users which ones were touched."""
    name_col = next(
        (
            c
            for c in gdf.columns
            if c != gdf.geometry.name
            and (pd.api.types.is_string_dtype(gdf[c]) or gdf[c].dtype == object)
            and any(h in str(c).lower() for h in _NAME_HINTS)
        ),
        None,
    )
    labels = []
    for i in range(len(gdf)):
        value = gdf[name_col].iloc[i] if name_col is not None else None
        labels.append(f"#{i + 1} {value}" if isinstance(value, str) and value else f"#{i + 1}")
    return labels


def _polygon_parts(geom: BaseGeometry) -> list[BaseGeometry]:
    if isinstance(geom, shapely.Polygon | shapely.MultiPolygon):
        return [geom]
    if isinstance(geom, shapely.GeometryCollection):
        return [p for g in geom.geoms for p in _polygon_parts(g)]
    return []


def _clean_geometries(gdf: gpd.GeoDataFrame, report: BoundaryReport) -> gpd.GeoDataFrame:
    """Drop empty and non-polygon features, repair invalid ones, keep polygon parts of mixes."""
    labels = _feature_labels(gdf)
    keep, geoms = [], []
    for i, geom in enumerate(gdf.geometry.values):
        if geom is None or geom.is_empty:
            report.dropped_empty.append(labels[i])
            continue
        geom = shapely.force_2d(geom)
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
            report.repaired.append(labels[i])
        parts = _polygon_parts(geom)
        if not parts:
            report.dropped_non_polygon.append(f"{labels[i]} ({geom.geom_type})")
            continue
        if len(parts) > 1 or not isinstance(geom, shapely.Polygon | shapely.MultiPolygon):
            # make_valid of a bow-tie gives a MultiPolygon: not a "mix", nothing was lost.
            if isinstance(geom, shapely.GeometryCollection) and any(
                not isinstance(g, shapely.Polygon | shapely.MultiPolygon) for g in geom.geoms
            ):
                report.trimmed_mixed.append(labels[i])
            geom = shapely.union_all(parts)
        if geom.is_empty or geom.area == 0:
            report.dropped_empty.append(labels[i])
            continue
        keep.append(i)
        geoms.append(geom)
    if not keep:
        raise BoundaryReadError(f"{report.source} 没有面要素", code="boundary.no_polygons")
    out = gdf.iloc[keep].copy()
    out[out.geometry.name] = gpd.GeoSeries(geoms, index=out.index, crs=gdf.crs)
    return out.reset_index(drop=True)


def _check_lonlat(gdf: gpd.GeoDataFrame, label: str) -> None:
    minx, miny, maxx, maxy = gdf.total_bounds
    if not np.all(np.isfinite([minx, miny, maxx, maxy])) or (
        minx < -180 or maxx > 180 or miny < -90 or maxy > 90
    ):
        raise BoundaryReadError(
            f"{label}：按文件声明的坐标系，坐标不是经纬度——请选择正确的坐标系（命令行 --crs）",
            code="boundary.crs",
        )


# --------------------------------------------------------------------------- metric CRS


def metric_crs(gdf: gpd.GeoDataFrame) -> pyproj.CRS:
    """The CGCS2000 3-degree Gauss-Kruger CRS for measuring ``gdf`` in metres.

    The zone is chosen by the central meridian nearest the layer's centre longitude:
    EPSG:4534 (75°E) … EPSG:4554 (135°E), e.g. 114°E → EPSG:4547. Outside China's longitudes
    the layer's UTM zone is used instead.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Any CRS (``None`` is taken as EPSG:4326).

    Returns
    -------
    pyproj.CRS
    """
    geo = gdf if gdf.crs is None else gdf.to_crs(_WGS84)
    minx, _, maxx, _ = geo.total_bounds
    lon = (minx + maxx) / 2
    if not np.isfinite(lon):
        raise BoundaryReadError(
            "图层为空，无法选择投影坐标系：请检查边界文件是否有要素", code="boundary.empty"
        )
    if not 73.5 <= lon <= 136.5:
        return (geo if geo.crs is not None else geo.set_crs(_WGS84)).estimate_utm_crs()
    return pyproj.CRS.from_epsg(4534 + round((lon - 75) / 3))


# --------------------------------------------------------------------------- defaults

_APPROX_NOTE = "示意范围，非官方边界"


@lru_cache(maxsize=8)
def _read_layer(path: str) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(path, engine="pyogrio")
    return gdf.to_crs(_WGS84) if gdf.crs is not None else gdf.set_crs(_WGS84)


def county_layers(county_code: str | None = None) -> CountyLayers:
    """The default outline, township layer and seat of a county, from ``data/counties.json``.

    Parameters
    ----------
    county_code : str, optional
        6-digit county code; default the file's ``"default"`` (411528, 息县).

    Returns
    -------
    CountyLayers
        Fresh copies of the layers (callers may modify them). For a county without defaults
        every layer is ``None`` and ``note`` says to upload boundaries.
    """
    settings = load_county_settings()
    code = str(county_code or settings.default)
    entry = settings.entries.get(code)
    if entry is None:
        return CountyLayers(
            county_code=code, note=f"县（区）{code} 没有默认乡镇边界——请上传乡镇边界文件"
        )
    base = settings.folder

    def layer(key: str) -> gpd.GeoDataFrame | None:
        rel = entry.get(key)
        return _read_layer(str(base / rel)).copy() if rel else None

    seat = entry.get("seat")
    approximate = entry.get("townships_quality") == "approximate"
    note = entry.get("note") or (_APPROX_NOTE if approximate else "")
    townships = layer("townships")
    if townships is not None:
        townships["township_code"] = townships["township_code"].astype(str)
    return CountyLayers(
        county_code=code,
        name=entry.get("name"),
        outline=layer("outline"),
        townships=townships,
        seat=(float(seat[0]), float(seat[1])) if seat else None,
        approximate=approximate,
        note=note,
    )
