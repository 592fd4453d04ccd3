"""Is an uploaded township layer where its county is? Datum and offset detection.

A layer drawn on 高德/腾讯 maps (GCJ-02) and read as WGS84 sits about 0.5 km off; one from 百度
(BD-09) about 1.2 km; a wrong CRS or false easting anywhere. Each polygon may still lie "near" the
county, so the check looks at the layer's **union** against the county outline
(:mod:`geo.outlines`): how much of it lies inside, and by how much it must be moved to fit best
(a translation search that maximises the overlap). The offsets a GCJ-02 or BD-09 conversion would
remove at that place are computed with the same formulas as :mod:`geo.boundaries`; when the
layer's own offset matches one of them, the check names that datum.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely import affinity

from geo.boundaries import _bd_to_gcj_xy, _wgs_to_gcj_xy, metric_crs
from geo.outlines import county_outline

__all__ = [
    "DATUM_LABELS",
    "MIN_COVERAGE",
    "OFFSET_REFUSE_M",
    "OFFSET_WARN_M",
    "PositionCheck",
    "check_position",
]

#: Datum names as planners know them.
DATUM_LABELS = {
    "wgs84": "WGS84/CGCS2000",
    "gcj02": "GCJ-02（高德/腾讯）",
    "bd09": "BD-09（百度）",
}
#: A layer offset by less than this fits (outline and layer both carry ~100 m of error).
OFFSET_WARN_M = 250.0
#: An unexplained offset above this is "clearly offset": the layer is not made active.
OFFSET_REFUSE_M = 1000.0
#: Below this coverage of the county the layer's edges say little about a shift (a few
#: townships near the border are pulled inwards by any overlap search): no shift is estimated.
MIN_COVERAGE = 0.5
_CHINA_BOX = (73.0, 18.0, 135.0, 54.0)
# Translation search: (half-width, step) in metres, coarse to fine.
_SEARCH = ((20_000.0, 2_000.0), (2_000.0, 250.0), (250.0, 50.0))


@dataclass
class PositionCheck:
    """Where a layer lies against its county outline.

    Attributes
    ----------
    against : {"outline", "china", "none"}
        What the layer was compared with.
    county : str
        County name, for messages.
    datum_given : str
        The datum the layer was read with.
    inside_share : float
        Share of the layer's area inside the county outline (1.0 without an outline).
    coverage : float
        Share of the outline the layer covers.
    shift_m : (float, float)
        Estimated offset of the layer (east, north, metres): moving it by minus this fits best.
    expected_m : dict
        Offset each other datum would cause at this place, e.g. ``{"gcj02": (520.0, -230.0)}``.
    suggested_datum : str or None
        The datum whose offset the layer shows, when it is not ``datum_given``.
    offset : bool
        Clearly offset: not to be made active without ``force``.
    """

    against: str
    county: str
    datum_given: str
    inside_share: float = 1.0
    coverage: float = 0.0
    shift_m: tuple[float, float] = (0.0, 0.0)
    expected_m: dict[str, tuple[float, float]] = field(default_factory=dict)
    suggested_datum: str | None = None
    offset: bool = False

    @property
    def shift_distance_m(self) -> float:
        """Length of :attr:`shift_m`."""
        return float(np.hypot(*self.shift_m))

    @property
    def messages(self) -> list[str]:
        """What the check found, in Chinese, one line each."""
        if self.against == "none":
            return ["位置检查：图层为空，未检查"]
        if self.against == "china":
            where = "在中国范围内" if not self.offset else "不在中国范围内——请检查坐标系"
            return [f"位置检查：没有{self.county}的县界，只检查了图层是否在中国范围内：{where}"]
        dx, dy = self.shift_m
        head = (
            f"位置检查：图层 {self.inside_share:.0%} 的面积在{self.county}县界内，"
            f"覆盖县域 {self.coverage:.0%}；估计整体偏移约 {self.shift_distance_m:.0f} 米"
            f"（东 {dx:+.0f} 米、北 {dy:+.0f} 米）"
        )
        lines = [head]
        if self.coverage < MIN_COVERAGE:
            lines[0] = (
                f"位置检查：图层 {self.inside_share:.0%} 的面积在{self.county}县界内，只覆盖县域 "
                f"{self.coverage:.0%}，无法可靠估计整体偏移（基准面请自行核对）"
            )
            if self.offset:
                lines.append("图层大部分不在县界内——请检查坐标系、基准面或是否选错了县")
            return lines
        if self.suggested_datum:
            label = DATUM_LABELS[self.suggested_datum]
            lines.append(
                f"这看起来是 {label} 坐标——请使用 --datum {self.suggested_datum}"
                f"（应用中“基准面”选 {label}）？该偏移与 {label} 转换会消除的偏移一致"
            )
        elif self.offset:
            lines.append(
                "图层明显偏离县界，且不是 GCJ-02/BD-09 的偏移——请检查坐标系、投影或是否选错了县"
            )
        elif self.shift_distance_m > OFFSET_WARN_M:
            lines.append("偏移不大，可能是县界或图层本身的误差；请留意边界是否对齐")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the store (JSON)."""
        out = asdict(self)
        out["shift_m"] = [round(v, 1) for v in self.shift_m]
        out["expected_m"] = {k: [round(v, 1) for v in xy] for k, xy in self.expected_m.items()}
        return out


def _datum_offsets(lon: float, lat: float) -> dict[str, np.ndarray]:
    """Offset (east, north, metres) that reading each datum as WGS84 causes at (lon, lat)."""
    p = np.array([[lon, lat]])
    gcj = _wgs_to_gcj_xy(p)
    bd = _gcj_to_bd_xy(gcj)
    scale = np.array([111_320.0 * np.cos(np.radians(lat)), 110_540.0])
    return {
        "wgs84": np.zeros(2),
        "gcj02": ((gcj - p) * scale)[0],
        "bd09": ((bd - p) * scale)[0],
    }


def _gcj_to_bd_xy(xy: np.ndarray) -> np.ndarray:
    # inverse of _bd_to_gcj_xy by fixed-point iteration (the BD shift varies slowly)
    out = xy.copy()
    for _ in range(4):
        out = out + (xy - _bd_to_gcj_xy(out))
    return out


def _best_translation(layer: shapely.Geometry, outline: shapely.Geometry) -> tuple[float, float]:
    """The translation (metres) that maximises the overlap of ``layer`` with ``outline``; on a
    plateau (a small layer well inside) the shortest one, so no offset is invented."""
    best = (0.0, 0.0)
    for half, step in _SEARCH:
        n = round(half / step)
        offsets = [
            (best[0] + i * step, best[1] + j * step)
            for i in range(-n, n + 1)
            for j in range(-n, n + 1)
        ]
        offsets.sort(key=lambda o: np.hypot(o[0], o[1]))
        moved = [affinity.translate(layer, xoff=x, yoff=y) for x, y in offsets]
        areas = shapely.area(shapely.intersection(moved, outline))
        # overlaps within 0.2 % of the layer's area are a tie: keep the shortest translation
        tied = np.flatnonzero(areas >= areas.max() - 0.001 * layer.area)
        best = offsets[int(tied[0])]
    return best


def check_position(
    gdf: gpd.GeoDataFrame, *, county_code: str, county_name: str = "", datum: str = "wgs84"
) -> PositionCheck:
    """Compare a layer's union with its county outline.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Township polygons as read (EPSG:4326 after :func:`geo.boundaries.read_boundaries`).
    county_code : str
        6-digit code of the county the layer claims to be.
    county_name : str
        For messages.
    datum : {"wgs84", "gcj02", "bd09"}
        The datum the layer was read with.

    Returns
    -------
    PositionCheck
    """
    name = county_name or str(county_code)
    layer = gdf.to_crs(4326) if gdf.crs is not None else gdf.set_crs(4326)
    geoms = layer.geometry[layer.geometry.notna() & ~layer.geometry.is_empty]
    if geoms.empty:
        return PositionCheck(against="none", county=name, datum_given=datum)
    outline = county_outline(county_code)
    if outline is None:
        x0, y0, x1, y1 = _CHINA_BOX
        pt = shapely.point_on_surface(shapely.union_all(geoms.values))
        inside = x0 <= pt.x <= x1 and y0 <= pt.y <= y1
        return PositionCheck(against="china", county=name, datum_given=datum, offset=not inside)
    return _against_outline(geoms, outline, name, datum)


def _against_outline(geoms, outline, name: str, datum: str) -> PositionCheck:
    crs = metric_crs(outline)
    county = outline.to_crs(crs).union_all()
    projected = gpd.GeoSeries(geoms.values, crs=4326).to_crs(crs).values
    union = shapely.union_all(shapely.make_valid(projected)).simplify(20.0)
    check = PositionCheck(against="outline", county=name, datum_given=datum)
    if union.is_empty or union.area == 0:
        return check
    overlap = union.intersection(county).area
    check.inside_share = float(overlap / union.area)
    check.coverage = float(overlap / county.area)
    if union.distance(county) > 50_000:  # far away: no search, plainly offset
        check.offset = True
        centre_l, centre_c = union.centroid, county.centroid
        check.shift_m = (centre_l.x - centre_c.x, centre_l.y - centre_c.y)
        return check
    if check.coverage < MIN_COVERAGE:
        check.offset = check.inside_share < 0.5
        return check
    tx, ty = _best_translation(union, county)
    shift = np.array([-tx, -ty])
    check.shift_m = (float(shift[0]), float(shift[1]))
    centre = outline.union_all().representative_point()
    offsets = _datum_offsets(centre.x, centre.y)
    given = offsets[datum]
    for other, off in offsets.items():
        if other == datum:
            continue
        expected = off - given
        check.expected_m[other] = (float(expected[0]), float(expected[1]))
        tolerance = max(150.0, 0.3 * float(np.hypot(*expected)))
        near = float(np.hypot(*(shift - expected))) < tolerance
        if near and check.shift_distance_m > OFFSET_WARN_M and check.suggested_datum is None:
            check.suggested_datum = other
    unexplained = check.shift_distance_m > OFFSET_REFUSE_M or check.inside_share < 0.5
    check.offset = bool(check.suggested_datum) or unexplained
    return check
