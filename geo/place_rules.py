"""County rules that a reviewer's correction leaves behind, and their plain CSV/JSON files.

A rule says, for one county, that

* ``alias``: a short form or nickname (谯楼, 颍回镇) means a township;
* ``unit``: a reporting unit (谯楼办) is a township;
* ``landmark``: a landmark or natural village (田铺大塆, 绝壁长廊) lies in a village (or
  township).

The geocoder (:mod:`geo.geocode`) applies the rules of the item's county to new and re-geocoded
items and names the rule in the evidence. Rules move between installations as plain files
(``python -m geo rules export|import``): CSV (UTF-8, header row) or JSON, each rule with who
made it and when. Messages are in Chinese; they reach the CLI and the app.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from geo.errors import GeoInputError
from geo.gazetteer import Gazetteer, mask_pinyin_glosses, simplify_chars

__all__ = [
    "RULE_COLUMNS",
    "RULE_HEADERS_ZH",
    "RULE_KINDS",
    "RULE_KINDS_ZH",
    "CountyRules",
    "PlaceRule",
    "RuleFileError",
    "check_rule",
    "make_rule",
    "normalise_rule_text",
    "read_rules",
    "rules_to_csv",
    "rules_to_json",
]

#: Kinds of rule and how the app and the CLI call them.
RULE_KINDS = ("alias", "unit", "landmark")
RULE_KINDS_ZH = {"alias": "简称/别名", "unit": "报送单位", "landmark": "地标/自然村"}
#: Columns of a rule file, in order (``id`` is the store's and is not carried over).
RULE_COLUMNS = (
    "county_code",
    "kind",
    "text",
    "township_code",
    "township",
    "village_code",
    "village",
    "author",
    "created_at",
    "note",
)
#: Headers of the planners' CSV (the default of :func:`rules_to_csv`); a rule file may use
#: either these or :data:`RULE_COLUMNS` (``headers="keys"``, for programs).
RULE_HEADERS_ZH = {
    "county_code": "县代码",
    "kind": "类型",
    "text": "文中写法",
    "township_code": "乡镇代码",
    "township": "乡镇",
    "village_code": "村代码",
    "village": "村",
    "author": "提出人",
    "created_at": "创建时间（UTC）",
    "note": "说明",
}
_CODE_COLUMNS = ("county_code", "township_code", "village_code")
_KINDS_BY_NAME = {zh: kind for kind, zh in RULE_KINDS_ZH.items()}
_FORMAT = "township-activity-map place rules"
_MAX_TEXT = 40
_MAX_RULES_IN_FILE = 100_000
_SPACES = re.compile(r"\s+")


class RuleFileError(GeoInputError):
    """A rule file or a rule that cannot be used (message in Chinese)."""

    code = "rules"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def normalise_rule_text(text: str) -> str:
    """The form a rule's text is matched in: simplified characters, no spaces."""
    return _SPACES.sub("", simplify_chars(mask_pinyin_glosses(str(text or ""))))


@dataclass(frozen=True)
class PlaceRule:
    """One county rule. ``id`` is the store's id (0 before it is stored)."""

    county_code: str
    kind: str
    text: str
    township_code: str
    village_code: str = ""
    township: str = ""
    village: str = ""
    author: str = ""
    created_at: str = ""
    note: str = ""
    id: int = 0
    source_item: str = field(default="", compare=False)

    @property
    def match_text(self) -> str:
        """The rule's text as matched against prepared item text."""
        return normalise_rule_text(self.text)

    @property
    def entry_kind(self) -> str:
        """``village`` for a landmark in a village, else ``township``."""
        return "village" if self.village_code else "township"

    @property
    def target_code(self) -> str:
        """The village code where one is given, else the township code."""
        return self.village_code or self.township_code

    @property
    def label(self) -> str:
        """How the evidence names the rule.

        For example ``规则#3（简称/别名「谯楼」→谯楼街道，张三 2026-12-05）``.
        """
        target = "".join(x for x in (self.township, self.village) if x) or self.target_code
        who = " ".join(x for x in (self.author, self.created_at[:10]) if x)
        number = f"#{self.id}" if self.id else ""
        return (
            f"规则{number}（{RULE_KINDS_ZH.get(self.kind, self.kind)}「{self.text}」→{target}"
            + (f"，{who}" if who else "")
            + "）"
        )

    def to_dict(self) -> dict:
        """The rule as a file row (:data:`RULE_COLUMNS`) plus ``id``."""
        d = asdict(self)
        d.pop("source_item", None)
        return d


@dataclass(frozen=True)
class CountyRules:
    """The rules of one county, hashable so that matching can be cached on them."""

    county_code: str
    rules: tuple[PlaceRule, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rules)

    def text_rules(self) -> tuple[PlaceRule, ...]:
        """Alias and landmark rules (found in the text), longest text first."""
        found = [r for r in self.rules if r.kind in ("alias", "landmark") and r.match_text]
        return tuple(sorted(found, key=lambda r: -len(r.match_text)))

    def unit_rule(self, unit: str | None) -> PlaceRule | None:
        """The latest rule for this reporting unit, or None."""
        key = normalise_rule_text(unit or "")
        hits = [r for r in self.rules if r.kind == "unit" and r.match_text == key and key]
        return max(hits, key=lambda r: r.id) if hits else None


def make_rule(
    *,
    county_code: str,
    kind: str,
    text: str,
    township_code: str,
    village_code: str = "",
    author: str = "",
    note: str = "",
    created_at: str = "",
    gazetteer: Gazetteer | None = None,
    source_item: str = "",
) -> PlaceRule:
    """A checked rule; names are filled from the gazetteer when one is given.

    Raises
    ------
    RuleFileError
        Unknown kind, empty or overlong text, or codes outside the county.
    """
    rule = PlaceRule(
        county_code=str(county_code or "").strip(),
        kind=str(kind or "").strip(),
        text=_SPACES.sub("", str(text or "")),
        township_code=str(township_code or "").strip(),
        village_code=str(village_code or "").strip(),
        author=str(author or "").strip(),
        created_at=str(created_at or "").strip() or _now(),
        note=str(note or "").strip(),
        source_item=source_item,
    )
    return check_rule(rule, gazetteer)


def check_rule(rule: PlaceRule, gazetteer: Gazetteer | None = None) -> PlaceRule:
    """``rule`` validated (and named from ``gazetteer``), or :class:`RuleFileError`."""
    if rule.kind not in RULE_KINDS:
        known = "、".join(f"{k}（{v}）" for k, v in RULE_KINDS_ZH.items())
        raise RuleFileError(f"未知的规则类型「{rule.kind}」，可用：{known}")
    if not (len(rule.county_code) == 6 and rule.county_code.isdigit()):
        raise RuleFileError(f"县代码「{rule.county_code}」应为 6 位数字")
    if not rule.match_text or len(rule.text) > _MAX_TEXT:
        raise RuleFileError(f"规则文字应为 1–{_MAX_TEXT} 个字符：「{rule.text[:50]}」")
    if rule.kind == "alias" and len(rule.match_text) < 2:
        raise RuleFileError(f"简称「{rule.text}」太短：至少 2 个字")
    if not re.fullmatch(r"\d{9}", rule.township_code):
        raise RuleFileError(f"乡镇代码「{rule.township_code}」应为 9 位数字")
    if rule.village_code and not re.fullmatch(r"\d{12}", rule.village_code):
        raise RuleFileError(f"村代码「{rule.village_code}」应为 12 位数字")
    if rule.village_code and rule.kind != "landmark":
        raise RuleFileError("只有地标/自然村规则可以指向村")
    if not rule.township_code.startswith(rule.county_code):
        raise RuleFileError(f"乡镇代码 {rule.township_code} 不属于县 {rule.county_code}")
    if gazetteer is None:
        return rule
    return _named(rule, gazetteer)


def _named(rule: PlaceRule, gaz: Gazetteer) -> PlaceRule:
    if gaz.county_code != rule.county_code:
        raise RuleFileError(f"规则属于县 {rule.county_code}，不是 {gaz.county_name}")
    town = gaz.township_by_code(rule.township_code)
    if town is None:
        raise RuleFileError(f"{gaz.county_name}没有代码为 {rule.township_code} 的乡镇")
    village_name = ""
    if rule.village_code:
        village = gaz.village_by_code(rule.village_code)
        if village is None or village.township_code != town.code:
            raise RuleFileError(f"{town.name}没有代码为 {rule.village_code} 的村")
        village_name = village.name
    return replace(rule, township=town.name, village=village_name)


# --------------------------------------------------------------------------- files


def rules_to_csv(rules: Iterable[PlaceRule], *, headers: str = "zh") -> str:
    """Rules as CSV text; cells cannot run as formulas.

    Parameters
    ----------
    rules : iterable of PlaceRule
    headers : {"zh", "keys"}
        ``"zh"`` (default), for planners who edit the file in Excel or WPS: a BOM, the Chinese
        headers of :data:`RULE_HEADERS_ZH`, kinds by their Chinese names and codes written as
        ``="411528206212"`` (a spreadsheet keeps every digit, also when it saves the file);
        ``"keys"``: :data:`RULE_COLUMNS` and plain values, for programs. :func:`read_rules`
        reads both.
    """
    if headers not in ("zh", "keys"):
        raise ValueError(f"未知的表头样式 {headers!r}：应为 zh 或 keys")
    zh = headers == "zh"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([RULE_HEADERS_ZH[c] for c in RULE_COLUMNS] if zh else RULE_COLUMNS)
    for r in rules:
        d = {c: str(v or "") for c, v in r.to_dict().items()}
        if zh:
            d["kind"] = RULE_KINDS_ZH.get(d["kind"], d["kind"])
            d |= {c: f'="{d[c]}"' for c in _CODE_COLUMNS if d[c].isdigit()}
        writer.writerow(
            [d[c] if zh and c in _CODE_COLUMNS else _safe_cell(d[c]) for c in RULE_COLUMNS]
        )
    return ("\ufeff" if zh else "") + out.getvalue()


def _safe_cell(value: str) -> str:
    return "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


def rules_to_json(rules: Iterable[PlaceRule]) -> str:
    """Rules as a JSON document ``{"format", "version", "rules": [...]}``."""
    rows = [{c: r.to_dict()[c] for c in RULE_COLUMNS} for r in rules]
    doc = {"format": _FORMAT, "version": 1, "rules": rows}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def read_rules(source: str | Path | bytes, *, name: str | None = None) -> list[PlaceRule]:
    """Rules from a CSV or JSON rule file (path or content), each checked.

    Parameters
    ----------
    source : str, pathlib.Path or bytes
        A file path, or the file's content as bytes.
    name : str, optional
        File name for messages (and to tell the format of bytes: ``.json`` or ``.csv``).

    Raises
    ------
    RuleFileError
        Unreadable file, not UTF-8, not CSV/JSON of rules, or a bad rule (with its line).
    """
    if isinstance(source, bytes):
        raw, label = source, name or "<规则文件>"
    else:
        path = Path(source)
        label = name or path.name
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise RuleFileError(f"无法读取规则文件 {label}：{exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RuleFileError(f"规则文件 {label} 不是 UTF-8 文本") from None
    rows = _json_rows(text, label) if text.lstrip().startswith(("{", "[")) else _csv_rows(text)
    if len(rows) > _MAX_RULES_IN_FILE:
        raise RuleFileError(f"规则文件 {label} 超过 {_MAX_RULES_IN_FILE} 条规则")
    out = []
    for n, row in rows:
        try:
            out.append(_rule_from_row(row))
        except RuleFileError as exc:
            raise RuleFileError(f"{label} 第 {n} 条：{exc}") from None
    return out


def _json_rows(text: str, label: str) -> list[tuple[int, dict]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleFileError(f"规则文件 {label} 不是有效的 JSON（{exc.msg}）") from None
    rows = doc.get("rules") if isinstance(doc, dict) else doc
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise RuleFileError(f'规则文件 {label} 应为规则列表（{{"rules": [...]}}）')
    return list(enumerate(rows, 1))


def _csv_rows(text: str) -> list[tuple[int, dict]]:
    """Rows keyed by :data:`RULE_COLUMNS`, whichever headers (keys or Chinese) the file has."""
    rows = csv.reader(io.StringIO(text))
    keys = {zh: key for key, zh in RULE_HEADERS_ZH.items()}
    names = [keys.get(h.strip(), h.strip()) for h in next(rows, [])]
    missing = [c for c in ("county_code", "kind", "text", "township_code") if c not in names]
    if missing:
        wanted = "、".join(f"{RULE_HEADERS_ZH[c]}（{c}）" for c in missing)
        raise RuleFileError(f"规则文件缺少列：{wanted}")
    rows = (row for row in rows if row)  # blank lines are no rules (nor counted)
    return [(n, dict(zip(names, row, strict=False))) for n, row in enumerate(rows, 2)]


def _rule_from_row(row: dict[str, Any]) -> PlaceRule:
    def cell(key: str) -> str:
        value = row.get(key)
        value = "" if value is None else str(value).strip()
        if key in _CODE_COLUMNS and value.startswith('="') and value.endswith('"'):
            return value[2:-1]  # a code kept as text for spreadsheets
        # undo the quote rules_to_csv puts before a formula-like cell
        return value[1:] if value[:2] in ("'=", "'+", "'-", "'@") else value

    if not cell("created_at"):
        raise RuleFileError("缺少创建时间（created_at）")
    return check_rule(
        PlaceRule(
            county_code=cell("county_code"),
            kind=_KINDS_BY_NAME.get(cell("kind"), cell("kind")),
            text=_SPACES.sub("", cell("text")),
            township_code=cell("township_code"),
            village_code=cell("village_code"),
            township=cell("township"),
            village=cell("village"),
            author=cell("author"),
            created_at=cell("created_at"),
            note=cell("note"),
        )
    )
