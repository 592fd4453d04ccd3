"""County gazetteers: townships and villages with their official codes and aliases.

Data live in ``data/gazetteer/`` (built by ``tools/build_gazetteer.py`` from the NBS 2023
统计用区划代码 and the 民政 2025 township list; see ``data/gazetteer/SOURCES.md``).
Every name is matched in simplified characters; :func:`township_key` is the
suffix-insensitive key used to join boundary files and bulletin text to townships.
"""

from __future__ import annotations

import csv
import functools
import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from geo.chars import mask_pinyin_glosses, simplify_chars, to_simplified
from geo.errors import CountyNotFoundError
from geo.paths import data_dir

__all__ = [
    "DATA_DIR",
    "Gazetteer",
    "Township",
    "Village",
    "detect_gazetteer",
    "list_counties",
    "load_gazetteer",
    "mask_pinyin_glosses",
    "simplify_chars",
    "to_simplified",
    "township_key",
    "variant_key",
    "village_short_name",
]

DATA_DIR = data_dir() / "gazetteer"

# Placeholder names of county- and city-level units (城区, 市辖区, 省直辖县级行政区划): each is
# shared by many units, so it names no one place.
_GENERIC_NAMES = frozenset(
    {"城区", "郊区", "矿区", "市辖区", "新区", "县", "市辖县", "省直辖县级行政区划"}
)
# Region suffixes that may be dropped in text (河南省 → 河南, 信阳市 → 信阳), compound ones first.
_REGION_SUFFIXES = (
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "自治区",
    "自治州",
    "省",
    "市",
    "地区",
    "盟",
)

# Organisation forms that follow a township name in bulletins (longest first).
_ORG_SUFFIXES = (
    "街道办事处",
    "街道党工委",
    "人民政府",
    "党工委",
    "办事处",
    "街道办",
    "管委会",
    "政府",
    "党委",
)
# Unit types; an ethnic 乡 (常营回族乡, 彝族苗族乡) reduces to its place name.
_TYPE_SUFFIX_RE = re.compile(r"(?:乡|镇|街道|管理区|苏木|地区)$")
_ETHNIC_RE = re.compile(
    r"(?:(?:回|满|蒙古|土家|苗|瑶|壮|侗|彝|藏|畲|布依|白|哈尼|傣|黎|傈僳|佤|拉祜|水|纳西|羌|土"
    r"|仫佬|锡伯|仡佬|达斡尔|鄂温克|鄂伦春|朝鲜|哈萨克|柯尔克孜|维吾尔|蒙|回族|俄罗斯|裕固"
    r"|保安|东乡|撒拉|京|毛南|普米|景颇|布朗|怒|独龙|门巴|珞巴|基诺|阿昌|德昂)族)+$"
)
_VILLAGE_SUFFIXES = (
    ("社区居民委员会", "社区"),
    ("社区居委会", "社区"),
    ("社区村民委员会", "社区"),
    ("村村民委员会", "村"),
    ("村民委员会", "村"),
    # 大梁村村委会 is 大梁村 (29k NBS names are written so), not 大梁村村
    ("村村委员会", "村"),
    ("村村委会", "村"),
    ("村委员会", "村"),
    ("村委会", "村"),
    ("村委", "村"),  # 红泥井村委 (38 NBS names)
    ("居民委员会", "社区"),
    ("居委会", "社区"),
)


@dataclass(frozen=True)
class Township:
    """A township-level unit (乡, 镇, 街道 or other, e.g. 管理区).

    ``aliases`` are other names it goes by in text: the short name without suffix,
    办事处 forms of a 街道, former names (乡→镇 upgrades, renames).
    ``sources`` says which lists hold it (``"nbs2023"``, ``"mca2025"``). ``code`` is the
    current (2025) code; ``nbs_code`` the NBS 2023 code, which differs for recoded units
    (and is the prefix of the NBS village codes). ``alias_kinds`` says where curated and
    build-time aliases come from, as ``(alias, kind)`` pairs (``former``, ``variant``,
    ``spelling``, ``uncut``, ``replaced``; the sources are in ``data/gazetteer/*aliases.csv``).
    """

    code: str
    name: str
    type: str
    aliases: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    nbs_code: str = ""
    alias_kinds: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Village:
    """A 村 or 社区 (NBS 2023 村/居委会), ``name`` short (新庄村), ``full_name`` official.

    ``township_code`` is the current (9-digit) township code, which may differ from the
    first 9 digits of ``code`` when a township was recoded after 2023.
    ``aliases`` are other short forms (和平街社区 → 和平社区).
    """

    code: str
    name: str
    full_name: str
    township_code: str
    aliases: tuple[str, ...] = ()


@dataclass
class Gazetteer:
    """Townships and villages of one county.

    ``short_name`` is the name without suffix (光山县 → 光山); ``former_names`` are names
    the county had before a rename (淮阳县 for 淮阳区). ``retired`` maps NBS 2023 codes of units
    gone from the 民政 2025 list whose code now names another unit to their old names
    (``data/gazetteer/retired_townships.csv``).
    """

    county_name: str
    county_code: str
    city: str
    province: str
    townships: list[Township] = field(default_factory=list)
    villages: list[Village] = field(default_factory=list)
    short_name: str = ""
    former_names: tuple[str, ...] = ()
    retired: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_code = {t.code: t for t in self.townships}
        self._by_nbs_code = {t.nbs_code: t for t in self.townships if t.nbs_code}
        self._by_key: dict[str, list[Township]] = {}
        self._by_variant: dict[str, list[Township]] = {}
        for t in self.townships:
            for name in (t.name, *t.aliases):
                for index, key in ((self._by_key, township_key), (self._by_variant, variant_key)):
                    lst = index.setdefault(key(name), [])
                    if t not in lst:
                        lst.append(t)
        self._villages_of: dict[str, list[Village]] = {}
        self._village_by_code = {v.code: v for v in self.villages}
        self._villages_by_name: dict[str, list[Village]] = {}
        for v in self.villages:
            self._villages_of.setdefault(v.township_code, []).append(v)
            for n in {v.name, v.full_name, *v.aliases}:
                self._villages_by_name.setdefault(n, []).append(v)

    def __hash__(self) -> int:  # cached per county; lets geocode cache automata by gazetteer
        return hash(self.county_code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Gazetteer) and other.county_code == self.county_code

    def own_names(self) -> tuple[str, ...]:
        """The names the county goes by in text: its name, its short name (two characters or
        more), its former names and, for an autonomous county, its place name without the
        peoples (南涧彝族自治县 → 南涧, 南涧县), as bulletins write it."""
        names = [self.county_name, self.short_name if len(self.short_name) >= 2 else ""]
        if self.county_name.endswith(("自治县", "自治旗")):
            plain = _ETHNIC_RE.sub("", self.short_name)
            if len(plain) >= 2 and plain != self.short_name:
                names += [plain, plain + self.county_name[-1]]
        return tuple(dict.fromkeys(n for n in (*names, *self.former_names) if n))

    def township_by_code(self, code: str) -> Township | None:
        """The township with this current 9-digit (or 12-digit) code, or None."""
        return self._by_code.get(str(code).strip()[:9])

    def township_by_nbs_code(self, code: str) -> Township | None:
        """The township whose NBS 2023 code is ``code`` (9 or 12 digits), or None."""
        return self._by_nbs_code.get(str(code).strip()[:9])

    def match_township_name(self, name: str) -> list[Township]:
        """Townships called ``name`` (any alias, suffix- and 政府/办事处-insensitive).

        A leading county name (息县白土店乡) is ignored. Several results mean the
        name is ambiguous in this county (a 乡 and a 镇 with the same stem).
        """
        text = re.sub(r"\s+", "", to_simplified(str(name)))
        forms = [text]
        for prefix in (self.province, self.city, self.county_name, self.short_name):
            # 河南省信阳市息县白土店乡 → 白土店乡 (tried after the name as given)
            if prefix and text.startswith(prefix) and len(text) > len(prefix) + 1:
                text = text[len(prefix) :]
                forms.append(text)
        for form in forms:
            hits = self._by_key.get(township_key(form), [])
            if len(hits) > 1:
                # An exact name beats a shared stem (白土店乡 vs a 白土店镇).
                exact = [t for t in hits if t.name == form or form in t.aliases]
                hits = exact or hits
            if hits:
                return list(hits)
        return []

    def match_township_variant(self, name: str) -> list[Township]:
        """Townships whose name equals ``name`` once variant characters are standardised
        (:func:`variant_key`: 砲台 = 炮台, 闫楼 = 阎楼, 固阳 = 堌阳); for names no exact or
        suffix match finds."""
        text = re.sub(r"\s+", "", to_simplified(str(name)))
        for prefix in (self.province, self.city, self.county_name, self.short_name):
            if prefix and text.startswith(prefix) and len(text) > len(prefix) + 1:
                text = text[len(prefix) :]
        return list(self._by_variant.get(variant_key(text), []))

    def match_village_name(self, name: str, township_code: str | None = None) -> list[Village]:
        """Villages called ``name`` (short or full name, or alias), optionally in one township."""
        text = village_short_name(to_simplified(str(name)).strip())
        hits = list(self._villages_by_name.get(text, []))
        if township_code:
            hits = [v for v in hits if v.township_code == str(township_code)[:9]]
        return hits

    def village_by_code(self, code: str) -> Village | None:
        """The village with this 12-digit code, or None."""
        return self._village_by_code.get(str(code).strip())

    def villages_of(self, township_code: str) -> list[Village]:
        """Villages (村/社区) of one township, in code order."""
        return list(self._villages_of.get(str(township_code)[:9], []))

    def __repr__(self) -> str:
        return (
            f"Gazetteer({self.province}{self.city}{self.county_name} {self.county_code}, "
            f"{len(self.townships)} townships, {len(self.villages)} villages)"
        )


def township_key(name: str) -> str:
    """Suffix-insensitive key of a township name.

    ``白土店乡`` = ``白土店`` = ``白土店乡人民政府`` → ``白土店``;
    ``澺河街道办事处`` = ``澺河街道`` = ``澺河办事处`` → ``澺河``.
    Traditional characters and spaces are normalised first.

    Parameters
    ----------
    name : str
        A township name as written in a boundary file or a bulletin.

    Returns
    -------
    str
    """
    s = re.sub(r"\s+", "", to_simplified(str(name or "")))
    s = s.replace("（", "(").replace("）", ")")
    s = re.sub(r"\(.*?\)$", "", s)
    changed = True
    while changed:
        changed = False
        for suffix in _ORG_SUFFIXES:
            if s.endswith(suffix) and len(s) > len(suffix):
                s = s[: -len(suffix)]
                changed = True
                break
    stem = _TYPE_SUFFIX_RE.sub("", s)
    if stem != s:
        stem = _ETHNIC_RE.sub("", stem) or stem
    return stem if stem else s


@functools.lru_cache(maxsize=1)
def _variant_table() -> dict[int, str]:
    """``variant_chars.csv`` as a ``str.translate`` table (variant → standard)."""
    with open(DATA_DIR / "variant_chars.csv", encoding="utf-8") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        return {ord(r["variant"]): r["standard"] for r in rows}


def variant_key(name: str) -> str:
    """:func:`township_key` with variant characters standardised (``variant_chars.csv``).

    ``砲台镇``, ``炮台镇`` → ``炮台``; ``闫楼乡`` = ``阎楼乡``; ``固阳镇`` = ``堌阳镇``.

    Parameters
    ----------
    name : str

    Returns
    -------
    str
    """
    return township_key(str(name or "").translate(_variant_table()))


def village_short_name(full_name: str) -> str:
    """Short village name: 新庄村民委员会 → 新庄村, 北街社区居民委员会 → 北街社区."""
    s = to_simplified(full_name).strip()
    if s.endswith("委员会会"):  # 花园村村民委员会会: a doubled 会 in the NBS list
        s = s[:-1]
    for suffix, repl in _VILLAGE_SUFFIXES:
        if s.endswith(suffix) and len(s) > len(suffix):
            return s[: -len(suffix)] + repl
    return s


def _without_prefixes(short: str, prefixes: tuple[str, ...]) -> str:
    """``short`` without a leading county and/or township name: 1,319 NBS village names are
    written 韶山市清溪镇清溪村村民委员会 or 栾川县庙子镇庄子村…; the village is 清溪村."""
    ordered = sorted({p for p in prefixes if p and len(p) >= 2}, key=lambda p: (-len(p), p))
    stripped = True
    while stripped:  # county, then township, whichever order they come in
        stripped = False
        for prefix in ordered:
            if short.startswith(prefix) and len(short) - len(prefix) >= 2:
                short, stripped = short[len(prefix) :], True
                break
    return short


def _village_aliases(short: str, full: str = "") -> tuple[str, ...]:
    out = []
    m = re.match(r"^(.{2,})街(社区)$", short)
    if m:
        out.append(m.group(1) + m.group(2))  # 和平街社区 is written 和平社区
    if short.endswith("村") and full.endswith(("村村委会", "村村民委员会", "村村委员会")):
        out.append(short + "村")  # 王村村委会 (王村) is also written 王村村
    if short.endswith("嘎查村") and len(short) >= 5:
        out.append(short[:-1])  # 海流斯太嘎查村民委员会 is the 嘎查 (village) 海流斯太嘎查
    return tuple(out)


def _read_gz_csv(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[1:]


@functools.lru_cache(maxsize=1)
def _counties() -> pd.DataFrame:
    return pd.read_csv(DATA_DIR / "counties.csv", dtype=str, keep_default_na=False)


@functools.lru_cache(maxsize=1)
def _curated_aliases() -> dict[str, list[tuple[str, str]]]:
    """``{township code: [(alias, kind), ...]}`` from ``aliases.csv`` (hand-curated),
    ``inferred_aliases.csv`` (城关镇 → its successor 街道, inferred by the build script) and
    ``variant_aliases.csv`` (NBS 2023 spellings the build paired with MCA 2025 names)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for name in ("aliases.csv", "inferred_aliases.csv", "variant_aliases.csv"):
        path = DATA_DIR / name
        if not path.exists():
            continue
        with open(path, encoding="utf-8") as fh:
            for row in csv.DictReader(line for line in fh if not line.startswith("#")):
                out.setdefault(row["township_code"], []).append((row["alias"], row["kind"]))
    return out


@functools.lru_cache(maxsize=1)
def _retired() -> dict[str, dict[str, str]]:
    """``{county code: {NBS 2023 code: name}}`` of ``retired_townships.csv``."""
    out: dict[str, dict[str, str]] = {}
    path = DATA_DIR / "retired_townships.csv"
    if path.exists():
        with open(path, encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                out.setdefault(row["county_code"], {})[row["nbs_code"]] = row["name"]
    return out


def _township_aliases(name: str, former: str, kind: str, taken: set[str]) -> list[str]:
    out: list[str] = []
    stem = township_key(name)
    if len(stem) >= 2:
        out.append(stem)
    if kind == "街道":
        out += [stem + "办事处", stem + "街道办事处", stem + "街道办"]
    elif kind == "镇":
        out.append(stem + "乡")  # upgraded 乡 still written the old way
    if former:
        out.append(former)
        if len(township_key(former)) >= 2:
            out.append(township_key(former))
    return [a for a in dict.fromkeys(out) if a != name and a not in taken]


@functools.lru_cache(maxsize=2)
def _province_rows(prov: str) -> tuple[dict[str, list[list[str]]], dict[str, list[list[str]]]]:
    """A province's township rows by county code and village rows by 9-digit NBS prefix.

    Read once per province (a small cache): loading many counties of one province, as an
    evaluation run does, then reads each compressed file once, not once per county.
    """
    towns: dict[str, list[list[str]]] = {}
    for r in _read_gz_csv(DATA_DIR / "townships" / f"{prov}.csv.gz"):
        towns.setdefault(r[3], []).append(r)
    villages: dict[str, list[list[str]]] = {}
    for r in _read_gz_csv(DATA_DIR / "villages" / f"{prov}.csv.gz"):
        villages.setdefault(r[0][:9], []).append(r)
    return towns, villages


@functools.lru_cache(maxsize=1024)  # one object per county (callers cache on it); each is small
def _load_by_code(code: str) -> Gazetteer:
    row = _counties().set_index("code").loc[code]
    prov = code[:2]
    province_towns, province_villages = _province_rows(prov)
    rows = list(province_towns.get(code, []))
    curated = _curated_aliases()
    # A unit "replaced" by another (城关镇 → 父城街道) is dropped; its villages move over.
    replaced = {
        alias: r[0] for r in rows for alias, kind in curated.get(r[0], []) if kind == "replaced"
    }
    successor = {r[7]: replaced[r[1]] for r in rows if r[1] in replaced and r[5] == "no"}
    rows = [r for r in rows if r[7] not in successor or r[5] == "yes"]
    # Villages carry NBS 2023 township codes; the build script links them to current codes.
    remap = {r[7]: r[0] for r in rows if r[7]} | successor
    names = {r[1] for r in rows}
    townships = []
    for code9, name, kind, _, nbs, mca, former, nbs_code in rows:
        aliases = _township_aliases(name, former, kind, names)
        aliases += [a for a, _ in curated.get(code9, []) if a not in aliases and a != name]
        sources = tuple(s for s, flag in (("nbs2023", nbs), ("mca2025", mca)) if flag == "yes")
        kinds = tuple(dict.fromkeys((a, k) for a, k in curated.get(code9, []) if a != name))
        townships.append(Township(code9, name, kind, tuple(aliases), sources, nbs_code, kinds))
    villages = []
    town_names = {r[0]: (r[1], r[6]) for r in rows}
    county_names = (row["name"], row["short_name"])
    for vcode, vname in sorted(v for nbs in remap for v in province_villages.get(nbs, [])):
        tcode = remap.get(vcode[:9])
        if tcode:
            prefixes = (*county_names, *town_names.get(tcode, ()))
            short = _without_prefixes(village_short_name(vname), prefixes)
            villages.append(Village(vcode, short, vname, tcode, _village_aliases(short, vname)))
    return Gazetteer(
        county_name=row["name"],
        county_code=code,
        city=row["city"],
        province=row["province"],
        townships=townships,
        villages=villages,
        short_name=row["short_name"],
        former_names=tuple(n for n in row.get("former_names", "").split("|") if n),
        retired=_retired().get(code, {}),
    )


def _strip_prefix(prefix: str, parts: list[str]) -> bool:
    """True if ``prefix`` is made of the given place names (each optional, in order)."""
    if not prefix:
        return True
    for i, p in enumerate(parts):
        if p and prefix.startswith(p) and _strip_prefix(prefix[len(p) :], parts[i + 1 :]):
            return True
    return False


def _candidates(query: str) -> pd.DataFrame:
    df = _counties()
    exact = []
    short = []
    for row in df.itertuples(index=False):
        for cand, bucket in ((row.name, exact), (row.short_name, short)):
            if not cand or not query.endswith(cand):
                continue
            prefix = query[: -len(cand)]
            parts = [row.province, _short_region(row.province), row.city, _short_region(row.city)]
            if _strip_prefix(prefix, parts):
                bucket.append(row.code)
                break
    former = []
    if not exact and not short:
        # Renamed counties (淮阳县 → 淮阳区, 郫县 → 郫都区), for older bulletins.
        for row in df.itertuples(index=False):
            names = [n for n in row.former_names.split("|") if n]
            if any(query.endswith(n) for n in names):
                former.append(row.code)
    codes = exact or short or former
    hits = df[df["code"].isin(codes)]
    if len(hits) > 1 and (hits["in_mca_2025"] == "yes").sum() == 1:
        hits = hits[hits["in_mca_2025"] == "yes"]
    return hits


def _short_region(name: str) -> str:
    """A province or city name without its suffix (河南省 → 河南), if two characters remain."""
    for suffix in _REGION_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _refuse_prefecture(county: object, q: str, df: pd.DataFrame, *, by_name: bool = False) -> None:
    """Raise ``county.prefecture`` when ``q`` names a prefecture where a county is wanted: its
    4-digit code, or (``by_name``, once no county has the name) its name — ``信阳市``, ``信阳``,
    ``兴安盟``, ``延边朝鲜族自治州``, ``延边``."""
    if by_name:
        city = df["city"].astype(str)
        short = city.map(lambda c: _ETHNIC_RE.sub("", _short_region(c)))  # 延边朝鲜族自治州 → 延边
        in_city = df[(city == q) | (short == q)]
    else:
        is_code = len(q) == 4 and q.isdigit()
        in_city = df[df["city_code"].astype(str) == q] if is_code else df.iloc[:0]
    if len(in_city):
        city, example = in_city.iloc[0]["city"], in_city.iloc[0]["name"]
        named = "" if city == q else city
        raise CountyNotFoundError(
            f"“{county}”是地级市（州、盟）{named}，此处需要一个县：请给出其中的县名或代码"
            f"（如 {example}）",
            code="county.prefecture",
        )


@functools.lru_cache(maxsize=256)
def load_gazetteer(county: str) -> Gazetteer:
    """Load the gazetteer of one county.

    Parameters
    ----------
    county : str
        6-digit code (``"411528"``) or name with or without suffix (``"息县"``, ``"息"``,
        ``"光山"``), optionally qualified by city and/or province (``"信阳市息县"``,
        ``"河南省信阳市息县"``, ``"北京朝阳区"``); a former name (``"淮阳县"``) is
        accepted when no current name matches.

    Returns
    -------
    Gazetteer

    Raises
    ------
    CountyNotFoundError
        Unknown name or code, or a name shared by several counties (the message lists them).
    """
    q = re.sub(r"\s+", "", to_simplified(str(county or "")))
    if not q:
        raise CountyNotFoundError(
            "未指定县：请给出县名或 6 位县级行政区划代码", code="county.missing"
        )
    df = _counties()
    _refuse_prefecture(county, q, df)
    if q.isdigit():
        code = q[:6] if len(q) in (6, 9, 12) else q
        if code not in set(df["code"]):
            raise CountyNotFoundError(
                f"行政区划中没有代码为 {q} 的县：请检查代码（可用 counties 命令查询）"
            )
        return _load_by_code(code)
    hits = _candidates(q)
    if hits.empty:
        _refuse_prefecture(county, q, df, by_name=True)
        raise CountyNotFoundError(
            f"行政区划中找不到“{county}”：请检查县名，或改用 6 位代码（可用 counties 命令查询）"
        )
    if len(hits) > 1:
        listed = "、".join(f"{r.province}{r.city}{r.name}({r.code})" for r in hits.itertuples())
        raise CountyNotFoundError(
            f"县名“{county}”有多个：{listed}；请加上市或省名，或改用代码",
            code="county.ambiguous",
        )
    return _load_by_code(hits.iloc[0]["code"])


@functools.lru_cache(maxsize=1)
def _county_name_index() -> dict[str, list[str]]:
    # Full county names only (息县, 光山县); generic names like 城区/郊区 are too common in text.
    out: dict[str, list[str]] = {}
    current = set(_counties()["name"])
    for row in _counties().itertuples(index=False):
        if len(row.name) >= 2 and row.name not in _GENERIC_NAMES:
            out.setdefault(row.name, []).append(row.code)
        for name in row.former_names.split("|"):
            if len(name) >= 2 and name not in current:
                out.setdefault(name, []).append(row.code)
    return out


def detect_gazetteer(text: str) -> Gazetteer | None:
    """The gazetteer of the county a bulletin is about, or None if it names none.

    The county named most often wins ("我县" alone says nothing); a name shared by
    several counties counts only when the text also names the city or province.
    """
    s = to_simplified(text or "")
    if not s:
        return None
    index = _county_name_index()
    df = _counties().set_index("code")
    counts: dict[str, int] = {}
    first: dict[str, int] = {}
    # Scan 2..8-character windows ending in a county suffix; faster than one search per name.
    for m in re.finditer(r"(?:县|市|区|旗)", s):
        end = m.end()
        for length in range(2, 9):
            name = s[end - length : end]
            codes = index.get(name)
            if not codes:
                continue
            if len(codes) > 1:
                codes = [
                    c
                    for c in codes
                    if _short_region(df.at[c, "city"] or "@") in s
                    or _short_region(df.at[c, "province"]) in s
                ]
            if len(codes) == 1:
                counts[codes[0]] = counts.get(codes[0], 0) + 1
                first.setdefault(codes[0], end)
    if not counts:
        return None
    # The county named most often; on a tie the one named first.
    best = max(counts, key=lambda c: (counts[c], -first[c]))
    return _load_by_code(best)


def list_counties(province_code: str | None = None) -> pd.DataFrame:
    """All county-level units (code, name, short_name, city, province, flags, former_names).

    Parameters
    ----------
    province_code : str, optional
        2-digit province code (``"41"`` = 河南) or a longer code prefix.
    """
    df = _counties()
    if province_code:
        df = df[df["code"].str.startswith(str(province_code))]
    return df.reset_index(drop=True).copy()
