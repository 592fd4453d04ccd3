"""``python -m geo``: parse bulletins, keep them in the store, review places, export maps.

Everything the CLI prints for a planner is Chinese (help, usage, messages); JSON and the
``--columns keys`` CSV keep English keys for programs. Subcommands::

    parse PATH|-        parse one bulletin and print it (json, table or csv); stores nothing
    ingest FILE...      parse files into the store (one line per file)
    bulletins           list the store's bulletins;  delete ID  removes one
    corrections         list reviewers' corrections;  correct ITEM_ID  adds one (--rule keeps
                        it as a county rule)
    review              the items whose place needs review, lowest confidence first
    rules               county rules from corrections: list, export FILE, import FILE, delete ID
    recut               fix where items are cut: merge ITEM_ID ITEM_ID, split ITEM_ID --at N |
                        --before 文字, list, undo CUT_ID (kept like corrections)
    regeocode           recompute stored places with the current gazetteer, geocoder and rules
    counties            list the counties the gazetteer knows
    boundaries          import FILE --county X: keep official township boundaries in the store;
                        list: the kept sets;  delete --county X: back to the default layer
    export              write the map or tables (html, png, pdf, csv, geojson, gpkg); township
                        polygons from --boundaries, else the store, else the county's default;
                        without any, csv/geojson/gpkg still work (townships without geometry)
    trend               a metric per month (quarter, year), facts counted once (table, json, csv)
    report              the monthly report of a county and period (docx, pdf)

Bad input of any kind ends with one line ``错误（CODE）：…`` on stderr and exit code 2; CODE is the
stable code of the error (:func:`geo.errors.error_line`), ``usage`` for a wrong command line.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from geo import __version__
from geo.display import QUALITY_ZH, SCOPE_ZH, UNIT_NAMES_ZH, left_out_note, metric_value_text
from geo.errors import GeoInputError, error_line

__all__ = ["build_parser", "display_width", "format_table", "main"]

EXPORT_FORMATS = ("html", "png", "pdf", "csv", "geojson", "gpkg")
#: ``export --preset`` (data/config/png_presets.json; geo.picture reads it).
PNG_PRESETS = ("wechat", "a4", "a4-landscape", "slide")
_CLEAR = {"", "-", "无", "none"}


class _UsageError(GeoInputError):
    """A command-line value that argparse cannot check by itself."""

    code = "usage"


#: argparse's own messages in Chinese (pattern -> replacement), tried in order.
_ARGPARSE_ZH = [
    (r"^the following arguments are required: (.*)$", r"缺少必需的参数：\1"),
    (r"^unrecognized arguments: (.*)$", r"无法识别的参数：\1"),
    (r"^one of the arguments (.*) is required$", r"须给出以下参数之一：\1"),
    (
        r"^argument (\S+): invalid choice: (.*) \(choose from (.*)\)$",
        r"参数 \1：无效的选项 \2（可选：\3）",
    ),
    (r"^argument (\S+): invalid (\w+) value: (.*)$", r"参数 \1：\3 不是有效的 \2 值"),
    (r"^argument (\S+): expected one argument$", r"参数 \1：需要一个值"),
    (r"^argument (\S+): expected at least one argument$", r"参数 \1：至少需要一个值"),
    (r"^argument (\S+): not allowed with argument (\S+)$", r"参数 \1 不能与 \2 同时使用"),
    (r"^ambiguous option: (\S+) could match (.*)$", r"选项 \1 有歧义，可能是：\2"),
    (r"^argument (\S+): (.*)$", r"参数 \1：\2"),
]


def _argparse_zh(message: str) -> str:
    """argparse's English error message in Chinese (unchanged when no pattern fits)."""
    for pattern, repl in _ARGPARSE_ZH:
        if re.match(pattern, message):
            return re.sub(pattern, repl, message)
    return message


class _Formatter(argparse.HelpFormatter):
    """Help with a Chinese ``用法：`` line."""

    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that speaks Chinese: section titles, ``-h`` and its errors, which end
    in one line ``错误（usage）：…`` and exit code 2 like every other bad input."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = "位置参数"
        self._optionals.title = "选项"
        self.add_argument("-h", "--help", action="help", help="显示本帮助并退出")

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"错误（usage）：{_argparse_zh(message)}\n")


# --------------------------------------------------------------------------- text tables


def display_width(text: str) -> int:
    """Terminal columns taken by ``text``: wide and full-width (CJK) characters count twice.

    Parameters
    ----------
    text : str

    Returns
    -------
    int
    """
    return sum(
        0
        if unicodedata.combining(ch)
        else 2
        if unicodedata.east_asian_width(ch) in ("W", "F")
        else 1
        for ch in text
    )


def _clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns, ending in "…" when cut."""
    text = " ".join(str(text).split())
    if display_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def _cell(value: Any) -> str:
    # pandas turns missing strings into NaN; show both as empty
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def format_table(
    rows: Sequence[Sequence[Any]], headers: Sequence[str], max_widths: Sequence[int] | None = None
) -> str:
    """Rows as aligned text columns, measuring CJK characters as two columns.

    Parameters
    ----------
    rows : sequence of sequences
        Cell values; ``None`` shows as empty.
    headers : sequence of str
    max_widths : sequence of int, optional
        Per-column limit; longer cells are cut with "…".

    Returns
    -------
    str
        Header, a rule and one line per row, without trailing newline.
    """
    limits = list(max_widths or [10_000] * len(headers))
    cells = [[_clip(_cell(v), limits[j]) for j, v in enumerate(row)] for row in rows]
    heads = [str(h) for h in headers]
    widths = [
        max([display_width(h)] + [display_width(r[j]) for r in cells]) for j, h in enumerate(heads)
    ]
    lines = ["  ".join(_pad(h, w) for h, w in zip(heads, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        lines.append("  ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _metric_zh(m: dict) -> str:
    """``约300亩``, ``45座``: as the app and the exports show it."""
    return metric_value_text(
        float(m["value"]),
        m.get("unit"),
        m.get("text"),
        UNIT_NAMES_ZH.get(m.get("unit", ""), ""),
        m.get("qualifier"),
    )


def _write_csv(df, out) -> None:
    """CSV of ``df`` on ``out``; bulletin text cannot become a spreadsheet formula."""
    from geo.export import csv_safe

    csv_safe(df).to_csv(out, index=False, lineterminator="\n")


def _write_listing(df, args: argparse.Namespace, table: str, out=None) -> None:
    """A listing's CSV on ``out`` (standard output): the 报表版 (Chinese headers and values,
    codes as text, a BOM so Excel and WPS read the Chinese) unless ``--columns keys``.
    ``table`` is ``items`` or one of :data:`geo.report_csv.LISTING_TABLES`."""
    from geo import report_csv
    from geo.export import csv_safe
    from geo.review import alternatives_text

    out = out or sys.stdout
    if args.columns == "report" and "alternatives" in df:
        # one readable cell (白土店乡 0.27；全县 0.05), as the export writes it
        df = df.assign(alternatives=df["alternatives"].map(alternatives_text))
    df = csv_safe(df)
    if args.columns == "report":
        if table == "items":
            df = report_csv.report_items(df)
        else:
            df = report_csv.report_listing(df, table=table)
        out.write("\ufeff")
    df.to_csv(out, index=False, lineterminator="\n")


def _columns_arg(
    sp: argparse.ArgumentParser,
    report: str = "中文表头，代码为文本",
    keys: str = "英文键（供程序读取）",
) -> None:
    """``--columns report|keys``: the 报表版 (default) or the machine version of a CSV."""
    sp.add_argument(
        "--columns",
        choices=("report", "keys"),
        default="report",
        help=f"CSV 列名：report = 报表版（{report}；默认），keys = {keys}",
    )


def _sector_names() -> dict[str, str]:
    try:
        from geo.sectors import sector_names

        return sector_names()
    except (ImportError, GeoInputError, OSError):
        return {}


# --------------------------------------------------------------------------- reading input


def _parse_file(
    path: str,
    county: str | None,
    single: bool,
    rules: list | None = None,
    date: str | None = None,
):
    """Read and parse a bulletin file, or stdin for ``-``; with a prefecture for ``county``,
    each item is geocoded with its own county (:mod:`geo.prefecture`)."""
    from geo.prefecture import parse_area_file

    kw = {"county": county, "single": single, "rules": rules, "date": date}
    if path == "-":
        # the stream itself: read_bulletin reads at most its size cap, never all of stdin
        return parse_area_file(sys.stdin.buffer, "<stdin>", **kw)
    return parse_area_file(Path(path), **kw)


def _rule_file(path: str | None) -> list | None:
    if not path:
        return None
    from geo.place_rules import read_rules

    return read_rules(Path(path))


def _open_store(path: str | None):
    from geo.store import Store

    return Store(path)


# --------------------------------------------------------------------------- parse


def _cmd_parse(args: argparse.Namespace) -> int:
    from geo.aggregate import item_id

    bulletin = _parse_file(args.path, args.county, args.single_item, _rule_file(args.rules))
    out = sys.stdout
    if args.format == "json":
        data = bulletin.to_dict()
        for it, d in zip(bulletin.items, data["items"], strict=True):
            d["item_id"] = item_id(bulletin.sha256, it.index)
        json.dump(data, out, ensure_ascii=False, indent=2)
        out.write("\n")
    elif args.format == "csv":
        from geo.aggregate import items_frame

        items_df, _ = items_frame([bulletin])
        _write_listing(items_df, args, "items", out)
    else:
        out.write(_bulletin_table(bulletin) + "\n")
    return 0


def _bulletin_table(bulletin) -> str:
    h = bulletin.header
    head = (
        " ".join(x for x in (bulletin.county, h.title, h.issue, h.date) if x)
        or bulletin.source_name
    )
    sectors = _sector_names()
    rows = []
    for it in bulletin.items:
        p = it.place
        where = "/".join(x for x in (p.township, p.village) if x)
        if p.outside and not where:
            where = "县外:" + "、".join(p.outside)
        rows.append(
            [
                it.index,
                it.headline or it.body,
                it.unit,
                sectors.get(it.sector, it.sector) if it.sector else "",
                SCOPE_ZH.get(p.scope, p.scope),
                where,
                _confidence_zh(p.confidence, p.needs_review),
                "；".join(_metric_zh(m.to_dict()) for m in it.metrics[:3]),
            ]
        )
    table = format_table(
        rows,
        ["#", "标题", "单位", "行业", "范围", "乡镇/村", "置信度", "主要指标"],
        [4, 30, 14, 10, 6, 18, 10, 40],
    )
    from geo.recut import review_notes

    notes = "\n".join(review_notes(bulletin))
    return f"{head} — {len(bulletin.items)} 条 ({bulletin.source_name})\n{table}\n\n{notes}"


def _confidence_zh(confidence: float | None, needs_review: bool) -> str:
    if confidence is None or confidence != confidence:
        return "未评分"
    return f"{confidence:.2f}" + (" 待核" if needs_review else "")


# --------------------------------------------------------------------------- store commands


def _cmd_ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from geo.bulk_ingest import bulletin_files, default_jobs, ingest_files
    from geo.pipeline import check_date

    date = check_date(args.date)  # a bad date is one error before any file is read
    files, missing = bulletin_files(args.files)
    for outcome in missing:
        tqdm.write(_outcome_error(outcome), file=sys.stderr)
    if not files and not missing:
        raise _UsageError("文件夹中没有简报文件（.txt / .pdf / .docx）")
    # the bar goes to stderr and only on a terminal; per-file lines stay on stdout
    bar = tqdm(
        total=len(files), file=sys.stderr, unit="份", disable=True if len(files) < 2 else None
    )

    def report(outcome) -> None:
        bar.update(1)
        if outcome.status == "failed":
            tqdm.write(_outcome_error(outcome), file=sys.stderr)
            return
        status = _INGEST_STATUS.get(outcome.status, outcome.status)
        when = f"{outcome.date}  " if outcome.date else ""
        repeats = f"{outcome.n_repeats} 条重复  " if outcome.n_repeats else ""
        tqdm.write(
            f"{status}  {(outcome.bulletin_id or '')[:12]}  "
            f"{outcome.n_items:3d} 条  {when}{repeats}{outcome.path}",
            file=sys.stdout,
        )
        for warning in outcome.warnings:
            tqdm.write(f"           提示：{warning}", file=sys.stdout)

    try:
        summary = ingest_files(
            files,
            store_location=args.store,
            county=args.county,
            single=args.single_item,
            reassign_county=args.reassign_county,
            jobs=args.jobs or default_jobs(),
            on_outcome=report,
            date=date,
        )
    finally:
        bar.close()
    summary.failed += len(missing)
    print(summary.to_text())
    return 2 if summary.failed else 0


#: How each file's outcome reads in the ingest log (four columns wide).
_INGEST_STATUS = {"created": "新增  ", "unchanged": "已存在", "failed": "失败  "}


def _outcome_error(outcome) -> str:
    return f"错误（{outcome.code or 'bulletin'}）：{outcome.error}"


def _cmd_bulletins(args: argparse.Namespace) -> int:
    with _open_store(args.store) as store:
        df = store.bulletins()
    if args.format == "csv":
        _write_listing(df, args, "bulletins")
        return 0
    rows = [
        [r.id[:12], r.source_name, r.title, r.issue, r.date, r.county, r.n_items, r.n_corrections]
        for r in df.itertuples()
    ]
    print(
        format_table(
            rows,
            ["编号", "文件", "标题", "期号", "日期", "县", "条数", "更正"],
            [12, 30, 20, 10, 10, 8, 5, 5],
        )
    )
    return 0


def _cmd_delete(args: argparse.Namespace) -> int:
    with _open_store(args.store) as store:
        if not store.delete_bulletin(args.bulletin_id):
            raise _UsageError(
                f"数据库中没有简报 {args.bulletin_id}：请用 bulletins 命令查看编号",
                code="store.unknown_bulletin",
            )
    print(f"已删除简报 {args.bulletin_id}（其更正保留，重新导入后生效）")
    return 0


def _cmd_corrections(args: argparse.Namespace) -> int:
    with _open_store(args.store) as store:
        df = store.corrections()
    if args.format == "csv":
        _write_listing(df, args, "corrections")
    elif args.format == "json":
        json.dump(df.to_dict(orient="records"), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        rows = [
            [r.item_id, r.field, r.value, r.name, r.note, r.created_at, r.headline]
            for r in df.itertuples()
        ]
        print(
            format_table(
                rows,
                ["事项编号", "字段", "值", "名称", "说明", "时间", "标题"],
                [16, 13, 12, 12, 20, 25, 30],
            )
        )
    return 0


def _resolve_township(gaz, value: str) -> str:
    if value.strip().lower() in _CLEAR:
        return ""
    if re.fullmatch(r"\d{9}", value):
        return value
    if re.fullmatch(r"\d{12}", value):
        return value[:9]
    found = gaz.match_township_name(value)
    if not found:
        raise _UsageError(
            f"{gaz.county_name}没有乡镇“{value}”：请检查名称或给出 9 位乡镇代码",
            code="place.unknown_township",
        )
    if len(found) > 1:
        options = "、".join(f"{t.name} {t.code}" for t in found)
        raise _UsageError(
            f"{gaz.county_name}有多个“{value}”：{options}；请给出乡镇代码",
            code="place.ambiguous_township",
        )
    return found[0].code


def _resolve_village(gaz, value: str, township_code: str | None) -> str:
    if value.strip().lower() in _CLEAR:
        return ""
    if re.fullmatch(r"\d{12}", value):
        return value
    key = value.strip()
    found = [
        v
        for v in gaz.villages
        if key in (v.name, v.full_name) and (not township_code or v.township_code == township_code)
    ]
    if not found:
        where = f"乡镇 {township_code}" if township_code else gaz.county_name
        raise _UsageError(
            f"{where}没有村“{value}”：请检查名称或给出 12 位村代码", code="place.unknown_village"
        )
    if len(found) > 1:
        options = "、".join(f"{v.name} {v.code}" for v in found)
        raise _UsageError(
            f"有多个村叫“{value}”：{options}；请给出村代码", code="place.ambiguous_village"
        )
    return found[0].code


def _cmd_correct(args: argparse.Namespace) -> int:
    with _open_store(args.store) as store:
        items_df, _ = store.frames()
        rows = items_df[items_df["item_id"] == args.item_id]
        if rows.empty:
            raise _UsageError(
                f"数据库中没有事项 {args.item_id}：请检查事项编号", code="store.unknown_item"
            )
        row = rows.iloc[0]
        township_code = village_code = gaz = None
        if args.township is not None or args.village is not None:
            from geo.gazetteer import load_gazetteer

            county_code = _cell(row["county_code"])
            if not county_code:
                raise _UsageError(
                    f"事项 {args.item_id} 没有所属县，无法定位："
                    "请重新导入其简报并用 --county 指定县",
                    code="store.no_county",
                )
            gaz = load_gazetteer(county_code)
            if args.township is not None:
                township_code = _resolve_township(gaz, args.township)
            if args.village is not None:
                in_town = _cell(row["township_code"]) if township_code is None else township_code
                village_code = _resolve_village(gaz, args.village, in_town or None)
        counting = {"repeat_of": _repeat_choice(args.repeat_of)}
        counting["cumulative"] = _yes_no(args.cumulative)
        counting = {k: v for k, v in counting.items() if v is not None}
        given = (args.township, args.village, args.sector)
        if any(v is not None for v in given) or counting:
            store.correct(
                args.item_id,
                township_code=township_code,
                village_code=village_code,
                sector=args.sector,
                **counting,
                note=args.note,
                gazetteer=gaz,
            )
        elif not args.rule:
            raise _UsageError(
                "没有要更正的内容：请给出 --township、--village、--sector、--repeat-of、"
                "--cumulative 或 --rule"
            )
        rule = None
        if args.rule:
            rule = store.rule_from_correction(
                args.item_id,
                kind=args.rule,
                text=args.rule_text,
                author=args.author,
                note=args.note,
            )
        items_df, _ = store.frames()
        r = items_df[items_df["item_id"] == args.item_id].iloc[0]
    where = "/".join(str(x) for x in (r["township"], r["village"]) if isinstance(x, str) and x)
    scope = SCOPE_ZH.get(r["scope"], r["scope"])
    sector = _sector_names().get(r["sector"], r["sector"])
    counting = f"重复（首次报道 {r['repeat_of']}）" if _cell(r["repeat_of"]) else "新事项"
    counting += "；累计数" if bool(r["cumulative"]) else ""
    print(f"已更正 {r['item_id']}：{scope} {where or '-'}；领域 {sector}；{counting}")
    if rule is not None:
        print(f"已保存{rule.label}；新导入的事项将按此规则定位，已导入的请运行 regeocode")
    return 0


def _repeat_choice(value: str | None) -> str | None:
    """``--repeat-of``: an item id, or ``-`` (a new fact, not a repeat)."""
    if value is None:
        return None
    return "" if value.strip().lower() in _CLEAR else value.strip()


def _yes_no(value: str | None) -> bool | None:
    if value is None:
        return None
    v = value.strip().lower()
    if v in ("yes", "y", "1", "true", "是"):
        return True
    if v in ("no", "n", "0", "false", "否"):
        return False
    raise _UsageError(f"--cumulative {value!r}：应为 yes 或 no")


def _cmd_recut_merge(args: argparse.Namespace) -> int:
    with _open_store(args.store) as store:
        merged = store.merge_items(args.first, args.second, note=args.note)
        _, item = store.item(merged)
    print(f"已合并 {args.first} 和 {args.second}，现为一条 {merged}：{_preview(item)}")
    return 0


def _cmd_recut_split(args: argparse.Namespace) -> int:
    from geo.recut import split_offset

    if (args.at is None) == (args.before is None):
        raise _UsageError("请给出拆分位置：--at 偏移量 或 --before 文字（二选一）")
    with _open_store(args.store) as store:
        bulletin_id, item = store.item(args.item_id)
        at = args.at
        if args.before is not None:
            at = split_offset(store.bulletin_text(bulletin_id), item, args.before)
        first, second = store.split_item(args.item_id, at, note=args.note)
        _, a = store.item(first)
        _, b = store.item(second)
    print(f"已拆分 {args.item_id}：{first}「{_preview(a)}」和 {second}「{_preview(b)}」")
    return 0


def _cmd_recut_list(args: argparse.Namespace) -> int:
    from geo.recut import CUT_KINDS, Cut, describe_cut

    with _open_store(args.store) as store:
        df = store.cuts(args.bulletin)
        texts = {b: store.bulletin_text(b) for b in set(df["bulletin_id"]) if _stored(store, b)}
    described = [
        describe_cut(Cut(r.kind, r.at_offset), texts[r.bulletin_id])
        if r.bulletin_id in texts
        else "（简报已删除，重新导入后生效）"
        for r in df.itertuples()
    ]
    df = df.assign(description=described)
    if args.format == "csv":
        _write_listing(df, args, "cuts")
    elif args.format == "json":
        json.dump(df.to_dict(orient="records"), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif df.empty:
        print("还没有切分更正")
    else:
        rows = [
            [
                r.id,
                r.bulletin_id[:12],
                r.bulletin_name,
                CUT_KINDS.get(r.kind, r.kind),
                r.at_offset,
                r.description,
                r.note,
                r.created_at,
            ]
            for r in df.itertuples()
        ]
        heads = ["编号", "简报", "文件", "类型", "位置", "内容", "说明", "时间"]
        print(format_table(rows, heads, [6, 12, 24, 4, 6, 36, 20, 25]))
    return 0


def _stored(store, bulletin_id: str) -> bool:
    return bool(store.bulletins()["id"].eq(bulletin_id).any())


def _cmd_recut_undo(args: argparse.Namespace) -> int:
    with _open_store(args.store) as store:
        store.undo_cut(args.cut_id)
    print(f"已撤销切分更正 {args.cut_id}")
    return 0


def _recut_usage(args: argparse.Namespace) -> int:
    raise _UsageError("请选择操作：recut merge|split|list|undo")


def _preview(item, width: int = 24) -> str:
    text = " ".join((item.headline or item.body).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _cmd_regeocode(args: argparse.Namespace) -> int:
    county_code = None
    if args.county:
        from geo.gazetteer import load_gazetteer

        county_code = load_gazetteer(args.county).county_code
    with _open_store(args.store) as store:
        changed = store.regeocode(county_code=county_code)
    print(f"{changed} 条事项的位置已更新")
    return 0


def _cmd_review(args: argparse.Namespace) -> int:
    from geo.review import alternatives_text, review_queue

    with _open_store(args.store) as store:
        items_df, _ = store.frames()
    queue = review_queue(items_df, include_reviewed=args.all)
    if args.limit:
        queue = queue.head(args.limit)
    if args.format == "csv":
        _write_listing(queue, args, "items")
        return 0
    rows = [
        [
            r.item_id,
            _confidence_zh(r.confidence, bool(r.needs_review) and not r.corrected),
            SCOPE_ZH.get(r.scope, r.scope),
            "/".join(x for x in (r.township, r.village) if isinstance(x, str) and x),
            alternatives_text(r.alternatives),
            r.headline or r.body,
        ]
        for r in queue.itertuples()
    ]
    print(
        format_table(
            rows,
            ["item_id", "置信度", "范围", "乡镇/村", "其他可能", "标题"],
            [16, 10, 6, 16, 36, 30],
        )
    )
    n = int(review_queue(items_df)["item_id"].count())
    print(f"待核 {n} 条（共 {len(items_df)} 条）")
    return 0


def _rules_county(args: argparse.Namespace) -> str | None:
    if not getattr(args, "county", None):
        return None
    from geo.gazetteer import load_gazetteer

    return load_gazetteer(args.county).county_code


#: ``--columns`` of the rule commands -> :func:`geo.place_rules.rules_to_csv`'s headers.
_RULE_HEADERS = {"report": "zh", "keys": "keys"}


def _cmd_rules_list(args: argparse.Namespace) -> int:
    from geo.place_rules import RULE_KINDS_ZH, rules_to_csv, rules_to_json

    with _open_store(args.store) as store:
        rules = store.rules(_rules_county(args))
    if args.format == "csv":
        sys.stdout.write(rules_to_csv(rules, headers=_RULE_HEADERS[args.columns]))
        return 0
    if args.format == "json":
        sys.stdout.write(rules_to_json(rules))
        return 0
    if not rules:
        print("数据库中还没有规则")
        return 0
    rows = [
        [
            r.id,
            r.county_code,
            RULE_KINDS_ZH.get(r.kind, r.kind),
            r.text,
            "/".join(x for x in (r.township, r.village) if x),
            r.author,
            r.created_at,
            r.note,
        ]
        for r in rules
    ]
    heads = ["id", "县代码", "类型", "原文", "乡镇/村", "创建人", "创建时间", "说明"]
    print(format_table(rows, heads, [6, 6, 10, 16, 20, 10, 25, 30]))
    return 0


def _cmd_rules_export(args: argparse.Namespace) -> int:
    from geo.place_rules import rules_to_csv, rules_to_json

    out = Path(args.out)
    fmt = args.format or ("json" if out.suffix.lower() == ".json" else "csv")
    with _open_store(args.store) as store:
        rules = store.rules(_rules_county(args))
    if fmt == "json":
        text = rules_to_json(rules)
    else:
        text = rules_to_csv(rules, headers=_RULE_HEADERS[args.columns])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"已导出 {len(rules)} 条规则到 {out}")
    return 0


def _cmd_rules_import(args: argparse.Namespace) -> int:
    from geo.place_rules import read_rules

    rules = read_rules(Path(args.file))
    with _open_store(args.store) as store:
        counts = store.import_rules(rules, replace=args.replace)
    print(
        f"已导入 {counts['added']} 条规则，替换 {counts['replaced']} 条，"
        f"保留原有 {counts['kept']} 条；已导入的事项请运行 regeocode 以应用新规则"
    )
    return 0


def _cmd_rules_delete(args: argparse.Namespace) -> int:
    with _open_store(args.store) as store:
        if not store.delete_rule(args.rule_id):
            raise _UsageError(f"数据库中没有编号为 {args.rule_id} 的规则")
    print(f"已删除规则 {args.rule_id}")
    return 0


def _rules_usage(args: argparse.Namespace) -> int:
    raise _UsageError("请选择操作：rules list|export|import|delete")


def _cmd_counties(args: argparse.Namespace) -> int:
    from geo.gazetteer import list_counties

    df = list_counties(args.province)
    if df.empty:
        raise _UsageError(
            f"没有代码以 {args.province} 开头的县：请给出 2 位省级代码，如 41",
            code="county.not_found",
        )
    if args.format == "csv":
        _write_listing(df, args, "counties")
        return 0
    cols = [c for c in ("code", "name", "city", "province") if c in df.columns]
    print(format_table(df[cols].itertuples(index=False), ["代码", "名称", "市", "省"][: len(cols)]))
    return 0


# --------------------------------------------------------------------------- boundaries


def _overrides(values: Sequence[str] | None) -> dict[int, str | None]:
    """``--override ROW=CODE`` (``ROW=-`` excludes the row) as a dict."""
    out: dict[int, str | None] = {}
    for value in values or ():
        m = re.fullmatch(r"\s*(\d+)\s*=\s*(\S*)\s*", value)
        if not m:
            raise _UsageError(f"--override {value!r}：应为 行号=乡镇代码（或 行号=- 排除该行）")
        out[int(m.group(1))] = None if m.group(2) in ("", "-") else m.group(2)
    return out


def _cmd_boundaries_import(args: argparse.Namespace) -> int:
    from geo.boundary_import import import_boundaries, save_result
    from geo.gazetteer import load_gazetteer

    gaz = load_gazetteer(args.county)
    options = dict(
        county=gaz,
        crs=args.crs,
        datum=args.datum,
        code_field=args.code_field,
        name_field=args.name_field,
        overrides=_overrides(args.override),
        force=args.force,
        declared_quality=args.quality,
        quality_source=args.quality_source or "",
        uploader=args.uploader or "",
        encoding=args.encoding,
    )
    # read, check and join first: a refused file never creates a store file
    result = import_boundaries(Path(args.file), store=None, **options)
    where = None
    if not result.refused and not args.check:
        with _open_store(args.store) as store:
            save_result(result, store=store)
            where = store.location
    print(result.to_text())
    if args.table:
        rows = result.table.itertuples(index=False)
        print(
            format_table(rows, list(result.table.columns), [4, 14, 14, 12, 12, 12, 11, 14, 16, 60])
        )
    if result.refused:
        raise GeoInputError("未保存乡镇边界：" + result.refused[0], code=result.refusal_codes[0])
    if where is not None:
        print(f"数据库：{where}")
    elif args.check:
        print("仅检查（--check），未保存")
    return 0


def _cmd_boundaries_list(args: argparse.Namespace) -> int:
    county_code = None
    if args.county:
        from geo.gazetteer import load_gazetteer

        county_code = load_gazetteer(args.county).county_code
    with _open_store(args.store) as store:
        df = store.boundary_sets(county_code)
    if args.format == "csv":
        _write_listing(df.drop(columns=["join_report", "report_json"]), args, "boundary_sets")
        return 0
    if df.empty:
        print("数据库中还没有导入的乡镇边界；各县使用默认图层")
        return 0
    rows = [
        [
            r.id,
            r.county_code,
            r.name,
            r.source_name,
            r.n_townships,
            QUALITY_ZH.get(r.quality, r.quality),
            r.datum,
            r.crs_note,
            r.uploader,
            r.created_at,
            "*" if r.active else "",
        ]
        for r in df.itertuples()
    ]
    headers = [
        "编号",
        "代码",
        "县",
        "文件",
        "乡镇数",
        "质量",
        "基准",
        "坐标系",
        "上传人",
        "导入时间",
    ]
    print(format_table(rows, [*headers, "使用中"], [6, 6, 8, 30, 6, 8, 6, 24, 10, 25, 4]))
    return 0


def _cmd_boundaries_delete(args: argparse.Namespace) -> int:
    from geo.gazetteer import load_gazetteer

    gaz = load_gazetteer(args.county)
    with _open_store(args.store) as store:
        n = store.delete_boundaries(gaz.county_code)
    if not n:
        raise _UsageError(
            f"数据库中没有{gaz.county_name}（{gaz.county_code}）的乡镇边界，无需删除",
            code="store.no_boundaries",
        )
    print(f"已删除{gaz.county_name}的 {n} 套乡镇边界；重新使用默认图层")
    return 0


def _boundaries_usage(args: argparse.Namespace) -> int:
    raise _UsageError("请选择操作：boundaries import|list|delete")


# --------------------------------------------------------------------------- export


def _count(text: str) -> int:
    """A count given on the command line: a whole number, 0 or more."""
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text!r} 应为 0 或正整数")
    return n


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{2,5})\s*[xX×*]\s*(\d{2,5})\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"尺寸 {text!r} 应为 宽x高（WIDTHxHEIGHT），如 1600x1200")
    w, h = int(m.group(1)), int(m.group(2))
    if not (100 <= w <= 8000 and 100 <= h <= 8000):
        raise argparse.ArgumentTypeError(f"尺寸 {text} 超出 100x100 … 8000x8000 的范围")
    return w, h


def _export_frames(args: argparse.Namespace):
    """Items and metrics: the given bulletins parsed in memory, else the store."""
    from geo.aggregate import items_frame

    if args.bulletins:
        bulletins = [_parse_file(p, args.county, args.single_item) for p in args.bulletins]
        return items_frame(bulletins)
    with _open_store(args.store) as store:
        return store.frames()


def _export_county(args: argparse.Namespace, items_df):
    """The county's gazetteer, or the prefecture, of the export."""
    from geo.gazetteer import load_gazetteer
    from geo.prefecture import find_area

    if args.county:
        return find_area(args.county)
    codes = sorted({c for c in items_df["county_code"].dropna() if c})
    if len(codes) > 1:
        raise _UsageError(
            f"事项来自多个县（{'、'.join(codes)}）：请用 --county 选一个",
            code="usage.several_counties",
        )
    if codes:
        return load_gazetteer(codes[0])
    from geo.boundaries import county_layers

    return load_gazetteer(county_layers(None).county_code)


def _export_store(store_arg: str | None):
    """The store, or None when its file does not exist (it is not created just to look)."""
    from geo import paths

    where = paths.store_location(store_arg)
    return _open_store(store_arg) if isinstance(where, str) or where.exists() else None


def _export_townships(args: argparse.Namespace, gaz):
    """The township layer of the export: ``--boundaries FILE``, else the store's, else the
    county's default layer (see :func:`geo.workflows.active_townships`)."""
    from geo.workflows import ActiveTownships, active_townships

    if args.boundaries:
        from geo.boundaries import county_layers, join_to_gazetteer, read_boundaries

        gdf = read_boundaries(args.boundaries, crs=args.crs, datum=args.datum)
        townships, _ = join_to_gazetteer(gdf, gaz)
        meta = {"id": None, "quality": "user", "source_name": Path(args.boundaries).name}
        return ActiveTownships(
            gaz.county_code, townships, False, meta, county_layers(gaz.county_code)
        )
    store = _export_store(args.store)
    try:
        return active_townships(gaz.county_code, store=store)
    finally:
        if store is not None:
            store.close()


def _export_filters(args: argparse.Namespace, area, resolve_township) -> tuple:
    """``(Filters, metric key)`` of the export, checked against the taxonomy and metric keys."""
    from geo import aggregate as agg

    sectors = tuple(args.sector or ())
    known = _sector_names()
    unknown = [s for s in sectors if known and s not in known]
    if unknown:
        raise _UsageError(
            f"未知的领域 {'、'.join(unknown)}：可选 {'、'.join(sorted(known))}",
            code="usage.unknown_sector",
        )
    town_codes = tuple(resolve_township(area, t) for t in (args.township or ()))
    metric = args.metric or "items"
    keys = {k.key for k in agg.load_metric_keys()} | {"items"}
    if metric not in keys:
        raise _UsageError(
            f"未知的指标 {metric!r}：可选 {'、'.join(sorted(keys))}", code="usage.unknown_metric"
        )
    return agg.Filters(sectors=sectors, townships=tuple(c for c in town_codes if c)), metric


def _prefecture_township(prefecture, value: str) -> str:
    """A township of any county of the prefecture: its code, or a name unique in the
    prefecture (``槐店乡``, or ``光山县槐店乡`` where two counties have one)."""
    from geo.gazetteer import load_gazetteer

    if value.strip().lower() in _CLEAR or re.fullmatch(r"\d{9}|\d{12}", value):
        return "" if value.strip().lower() in _CLEAR else value[:9]
    named = [(c, n) for c, n in prefecture.counties if value.startswith(n)]
    found = []
    for code, name in named or prefecture.counties:
        short = value[len(name) :] if named else value
        found += [(name, t) for t in load_gazetteer(code).match_township_name(short)]
    if len(found) != 1:
        options = "、".join(f"{c}{t.name} {t.code}" for c, t in found)
        why = f"在{prefecture.name}有多个：{options}；请加县名或给出代码" if found else "找不到"
        raise _UsageError(f"乡镇“{value}”{why}", code="place.unknown_township")
    return found[0][1].code


def _export_view(args: argparse.Namespace, items_df, metrics_df):
    """The MapView of the export: a county's (its layer in use) or a prefecture's."""
    from geo import aggregate as agg
    from geo.prefecture import Prefecture
    from geo.workflows import county_frames, county_view, prefecture_townships, prefecture_view

    area = _export_county(args, items_df)
    code = area.code if isinstance(area, Prefecture) else area.county_code
    items_df, metrics_df = county_frames(items_df, metrics_df, code, keep_unknown=True)
    metrics_df = agg.assign_metric_keys(metrics_df)
    if isinstance(area, Prefecture):
        if args.boundaries:
            raise _UsageError("--boundaries 只用于单个县（区）：请用 boundaries import 逐县导入")
        filters, metric = _export_filters(args, area, _prefecture_township)
        store = _export_store(args.store)
        try:
            townships = prefecture_townships(area, store=store)
        finally:
            if store is not None:
                store.close()
        return prefecture_view(
            items_df,
            metrics_df,
            townships,
            filters=filters,
            metric_key=metric,
            count_needs_review=not args.without_review,
        )
    filters, metric = _export_filters(args, area, _resolve_township)
    # without polygons the data exports still work; the map exports draw the outline or fail
    # with ExportError (one line)
    return county_view(
        items_df,
        metrics_df,
        _export_townships(args, area),
        county=area.county_name,
        gazetteer=area,
        filters=filters,
        metric_key=metric,
        count_needs_review=not args.without_review,
    )


def _cmd_export(args: argparse.Namespace) -> int:
    from geo import export, picture

    fmt = args.format or Path(args.out).suffix.lstrip(".").lower()
    if fmt not in EXPORT_FORMATS:
        raise _UsageError(
            f"看不出 {args.out} 要导出的格式：请用 --format 指定（{'|'.join(EXPORT_FORMATS)}）",
            code="usage.format",
        )
    items_df, metrics_df = _export_frames(args)
    view = _export_view(args, items_df, metrics_df)
    out = Path(args.out)
    if out.is_dir():
        raise _UsageError(f"--out {out} 是文件夹：请给出文件名", code="usage.out")
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "png":
        written = export.export_png(view, out, size=args.size, preset=args.preset)
        written = [written, picture.sources_path(written)]
    elif fmt == "csv":
        written = export.export_csv(view, out, columns=args.columns)
    else:
        written = getattr(export, f"export_{fmt}")(view, out)
    for path in written if isinstance(written, list) else [written]:
        print(path)
    return 0


# --------------------------------------------------------------------------- trend


def _county_store_frames(args: argparse.Namespace):
    """The store's items of one county (``--county``, else the only one), metric keys on."""
    from geo import aggregate as agg
    from geo.prefecture import Prefecture
    from geo.workflows import county_frames

    with _open_store(args.store) as store:
        items_df, metrics_df = store.frames()
    gaz = _export_county(args, items_df)
    if isinstance(gaz, Prefecture):  # its townships are many counties' layers
        example = gaz.counties[0][1] if gaz.counties else "息县"
        raise _UsageError(
            f"{gaz.name}是地级市：趋势与月报按县生成，请用 --county 选其中一个县（如 {example}）",
            code="usage.prefecture",
        )
    items_df, metrics_df = county_frames(items_df, metrics_df, gaz.county_code, keep_unknown=False)
    return gaz, items_df, agg.assign_metric_keys(metrics_df)


def _check_metric(metric: str) -> str:
    from geo import aggregate as agg

    keys = {k.key for k in agg.load_metric_keys()} | {"items"}
    if metric not in keys:
        raise _UsageError(f"未知的指标 {metric!r}：可选 {'、'.join(sorted(keys))}")
    return metric


def _repeat_rows(items_df) -> list[dict]:
    """The repeats among ``items_df``, with the first report each repeats."""
    from geo.display import item_title

    first = items_df.set_index("item_id")
    rows = []
    for r in items_df[items_df["repeat_of"].notna()].itertuples():
        head = first.loc[r.repeat_of] if r.repeat_of in first.index else None
        rows.append(
            {
                "item_id": r.item_id,
                "bulletin_date": _cell(r.bulletin_date),
                "headline": item_title(r.headline, r.body, 30),
                "repeat_of": r.repeat_of,
                "first_date": _cell(head["bulletin_date"]) if head is not None else "",
                "similarity": None if r.repeat_score != r.repeat_score else r.repeat_score,
            }
        )
    return rows


def _cmd_trend(args: argparse.Namespace) -> int:
    from geo.review import counted_frames
    from geo.trends import counting_frames, trend_series

    metric = _check_metric(args.metric)
    gaz, items_df, metrics_df = _county_store_frames(args)
    items_df, metrics_df = counting_frames(items_df, metrics_df)
    # as the app's map counts: every item by default, with --without-review those placed surely
    items_df, metrics_df, left_out = counted_frames(
        items_df, metrics_df, include_needs_review=not args.without_review
    )
    code = _resolve_township(gaz, args.township) if args.township else None
    series = trend_series(items_df, metrics_df, metric, by=args.by, township_code=code or None)
    if code:
        series["township"] = next((t.name for t in gaz.townships if t.code == code), code)
        items_df = items_df[items_df["township_code"].astype(str) == code]
    repeats = _repeat_rows(items_df)
    series["value"] = [int(v) if float(v).is_integer() else v for v in series["value"]]
    if args.format == "csv":
        buf = io.StringIO()
        _write_csv(series, buf)
        text = buf.getvalue()
    elif args.format == "json":
        doc = {
            "metric": metric,
            "by": args.by,
            "county": gaz.county_name,
            "series": _json_records(series),
            "repeats": repeats,
            "needs_review_left_out": left_out,
        }
        text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    else:
        text = _trend_table(series, repeats, metric) + "\n"
        if left_out:
            text += f"\n{left_out_note(left_out)}的事项（--without-review）。\n"
    _emit(text, args.out)
    return 0


def _emit(text: str, out: str | None) -> None:
    """``text`` to the file ``out`` (UTF-8; its path printed), else to stdout."""
    if not out:
        sys.stdout.write(text)
        return
    path = Path(out)
    if path.is_dir():
        raise _UsageError(f"--out {path} 是文件夹：请给出文件名")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="")
    print(path)


def _cmd_report(args: argparse.Namespace) -> int:
    from geo.report import monthly_report, write_report
    from geo.trends import period_bounds
    from geo.workflows import active_townships, county_view

    fmt = args.format or Path(args.out).suffix.lstrip(".").lower()
    if fmt not in ("docx", "pdf"):
        raise _UsageError(f"无法从 {args.out} 判断格式：请用 --format 指定 docx 或 pdf")
    period_bounds(args.period)  # a bad period is one line before any work
    metric = _check_metric(args.metric or "items")
    gaz, items_df, metrics_df = _county_store_frames(args)
    store = _export_store(args.store)
    try:
        active = active_townships(gaz.county_code, store=store)
    finally:
        if store is not None:
            store.close()
    code = _resolve_township(gaz, args.township) if args.township else None
    view = county_view(
        items_df,
        metrics_df,
        active,
        county=gaz.county_name,
        gazetteer=gaz,
        metric_key=metric,
        count_needs_review=not args.without_review,
    )
    report = monthly_report(view, period=args.period, township_code=code or None)
    out = Path(args.out)
    if out.is_dir():
        raise _UsageError(f"--out {out} 是文件夹：请给出文件名")
    print(write_report(report, out, fmt))
    return 0


def _json_records(df) -> list[dict]:
    """Rows as JSON-ready dicts: whole numbers as int, NaN as null."""
    out = []
    for rec in df.to_dict(orient="records"):
        for k, v in rec.items():
            if isinstance(v, float):
                rec[k] = None if v != v else (int(v) if v.is_integer() else v)
            elif hasattr(v, "item"):
                rec[k] = v.item()
        out.append(rec)
    return out


def _trend_table(series, repeats: list[dict], metric: str) -> str:
    from geo import aggregate as agg
    from geo.display import format_value

    unit = agg.metric_unit_zh(metric)
    rows = [
        [r.period, r.township or "全县", format_value(r.value, unit), r.new_items, r.repeated_items]
        for r in series.itertuples()
    ]
    text = format_table(rows, ["时间", "范围", agg.metric_label(metric), "新事项", "重复"])
    if repeats:
        lines = [
            f"重复  {r['bulletin_date']}  {r['headline']}  "
            f"→ 首次报道 {r['first_date']} {r['repeat_of']}"
            for r in repeats
        ]
        text += "\n\n" + "\n".join(lines)
    return text


# --------------------------------------------------------------------------- entry point


def _add_recut_parser(sub, store_arg) -> None:
    """``recut merge|split|list|undo``: reviewers' fixes of where items are cut."""
    sp = sub.add_parser("recut", help="更正事项的切分（合并、拆分；保存在数据库中）")
    sp.set_defaults(func=_recut_usage)
    rsub = sp.add_subparsers(dest="recut_command", metavar="操作", title="可用操作")
    rp = rsub.add_parser("merge", help="合并同一简报中相邻的两条事项")
    rp.add_argument("first", metavar="ITEM_ID")
    rp.add_argument("second", metavar="ITEM_ID")
    rp.add_argument("--note", default="", help="原因（与更正一起保存）")
    store_arg(rp)
    rp.set_defaults(func=_cmd_recut_merge)
    rp = rsub.add_parser("split", help="拆分事项：从某一位置起另成一条")
    rp.add_argument("item_id", metavar="ITEM_ID")
    rp.add_argument("--at", type=int, metavar="OFFSET", help="在简报全文中的偏移量（同 start/end）")
    rp.add_argument("--before", metavar="TEXT", help="在事项中这段文字之前拆分")
    rp.add_argument("--note", default="", help="原因（与更正一起保存）")
    store_arg(rp)
    rp.set_defaults(func=_cmd_recut_split)
    rp = rsub.add_parser("list", help="列出切分更正")
    rp.add_argument("--bulletin", metavar="BULLETIN_ID", help="只列这份简报的更正")
    rp.add_argument("--format", choices=("table", "csv", "json"), default="table", help="输出格式")
    _columns_arg(rp)
    store_arg(rp)
    rp.set_defaults(func=_cmd_recut_list)
    rp = rsub.add_parser("undo", help="撤销一条切分更正")
    rp.add_argument("cut_id", type=int, metavar="CUT_ID")
    store_arg(rp)
    rp.set_defaults(func=_cmd_recut_undo)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m geo`` argument parser with all subcommands.

    Returns
    -------
    argparse.ArgumentParser
    """
    p = _Parser(
        prog="python -m geo",
        description="乡镇工作动态地图：把县级工作简报、政务信息变成乡镇地图。",
        epilog="出错时 stderr 上只有一行“错误（代码）：说明”，退出码 2。",
    )
    p.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}", help="显示版本并退出"
    )
    sub = p.add_subparsers(dest="command", metavar="命令", title="可用命令")
    commands = (
        _add_text_commands,
        _add_store_commands,
        _add_review_commands,
        _add_boundary_commands,
        _add_export,
        _add_time_commands,
    )
    for add in commands:
        add(sub)
    return p


def _review_arg(sp: argparse.ArgumentParser, what: str) -> None:
    """``--without-review``: the app's toggle 分级统计计入待核对的定位 switched off."""
    sp.add_argument(
        "--without-review",
        action="store_true",
        help=f"{what}不计定位待核对的事项（同应用侧栏“分级统计计入待核对的定位”关闭）；"
        "默认计入，与应用默认一致",
    )


def _store_arg(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--store",
        metavar="PATH_OR_URL",
        help="数据库：SQLite 文件或 postgresql://user@host/db（默认：$GEO_STORE 或用户数据目录）",
    )


def _county_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--county",
        metavar="NAME_OR_CODE",
        help="县（息县、411528）或地级市（信阳市、4115：每条事项定位到其所在县）；默认：从正文识别",
    )
    sp.add_argument("--single-item", action="store_true", help="每个文件作为一条事项")


def _crs_args(sp: argparse.ArgumentParser, what: str) -> None:
    sp.add_argument(
        "--crs",
        metavar="CRS",
        help=f"{what} 未写明或写错坐标系时指定，如 EPSG:4547、EPSG:3857",
    )
    sp.add_argument(
        "--datum",
        choices=("wgs84", "gcj02", "bd09"),
        default="wgs84",
        help=f"{what} 的坐标基准：高德/腾讯为 gcj02，百度为 bd09（默认 wgs84/CGCS2000）",
    )


def _add_text_commands(sub) -> None:
    """parse, ingest, counties."""
    sp = sub.add_parser("parse", help="解析一份简报并输出（不写入数据库）")
    sp.add_argument("path", metavar="PATH", help="简报文件（.txt/.pdf/.docx），- 为标准输入")
    _county_args(sp)
    sp.add_argument("--format", choices=("json", "table", "csv"), default="json", help="输出格式")
    _columns_arg(sp)
    sp.add_argument("--rules", metavar="FILE", help="要应用的本县规则文件（rules export 导出的）")
    sp.set_defaults(func=_cmd_parse)

    sp = sub.add_parser("ingest", help="解析简报文件（或文件夹中的全部简报）并写入数据库")
    sp.add_argument("files", nargs="+", metavar="FILE_OR_DIR", help=".txt/.pdf/.docx 文件或文件夹")
    _county_args(sp)
    sp.add_argument(
        "--date",
        metavar="YYYY-MM-DD",
        help="报头没有日期时简报的日期（报头日期优先）；完全没有日期的简报不予导入",
    )
    sp.add_argument(
        "--jobs",
        type=_count,
        default=1,
        metavar="N",
        help="用 N 个进程解析（0 = 每个 CPU 核一个）；中断后再次运行即可续做，已入库的文件会跳过",
    )
    sp.add_argument(
        "--reassign-county",
        action="store_true",
        help="已按其他县入库的简报改按本县重新解析",
    )
    _store_arg(sp)
    sp.set_defaults(func=_cmd_ingest)

    sp = sub.add_parser("counties", help="列出行政区划中的县")
    sp.add_argument("--province", metavar="CODE", help="2 位省级代码或代码前缀，如 41")
    sp.add_argument("--format", choices=("table", "csv"), default="table", help="输出格式")
    _columns_arg(sp)
    sp.set_defaults(func=_cmd_counties)


def _add_store_commands(sub) -> None:
    """bulletins, delete, corrections, correct, recut, regeocode."""
    sp = sub.add_parser("bulletins", help="列出已入库的简报")
    sp.add_argument("--format", choices=("table", "csv"), default="table", help="输出格式")
    _columns_arg(sp)
    _store_arg(sp)
    sp.set_defaults(func=_cmd_bulletins)

    sp = sub.add_parser("delete", help="删除一份已入库的简报（其更正保留）")
    sp.add_argument("bulletin_id", metavar="BULLETIN_ID", help="简报编号或其前 6 位以上")
    _store_arg(sp)
    sp.set_defaults(func=_cmd_delete)

    sp = sub.add_parser("corrections", help="列出审核人员的更正")
    sp.add_argument("--format", choices=("table", "csv", "json"), default="table", help="输出格式")
    _columns_arg(sp)
    _store_arg(sp)
    sp.set_defaults(func=_cmd_corrections)

    sp = sub.add_parser("correct", help="更正事项的乡镇、村、领域、重复或累计")
    sp.add_argument("item_id", metavar="ITEM_ID")
    sp.add_argument("--township", metavar="NAME_OR_CODE", help="乡镇；- 表示不属于单个乡镇")
    sp.add_argument("--village", metavar="NAME_OR_CODE", help="村；- 表示不属于单个村")
    sp.add_argument("--sector", metavar="SLUG", help="领域代号，如 agriculture")
    sp.add_argument(
        "--repeat-of",
        metavar="ITEM_ID",
        help="本事项重复的首次报道（不再计入）；- 表示是新事项",
    )
    sp.add_argument(
        "--cumulative",
        metavar="yes|no",
        help="其数字是否为累计数（累计数按最新值计，不相加）",
    )
    sp.add_argument("--note", default="", help="原因（与更正一起保存）")
    sp.add_argument(
        "--rule",
        choices=("alias", "unit", "landmark"),
        help="同时把定位保存为本县规则：alias（事项中的简称指该乡镇）、unit（报送单位即该乡镇）、"
        "landmark（事项中的地标或自然村位于该村）",
    )
    sp.add_argument("--rule-text", metavar="TEXT", help="简称或地标的原文")
    sp.add_argument("--author", default="", help="保存规则的人")
    _store_arg(sp)
    sp.set_defaults(func=_cmd_correct)

    _add_recut_parser(sub, _store_arg)

    sp = sub.add_parser("regeocode", help="按现有行政区划重新定位已入库事项（人工更正优先）")
    sp.add_argument("--county", metavar="NAME_OR_CODE", help="只处理此县的简报")
    _store_arg(sp)
    sp.set_defaults(func=_cmd_regeocode)


def _add_review_commands(sub) -> None:
    """review, rules list|export|import|delete."""
    sp = sub.add_parser("review", help="列出定位待核对的事项（置信度低的在前）")
    sp.add_argument("--all", action="store_true", help="也列出无需核对的事项")
    sp.add_argument(
        "--limit", type=_count, default=0, metavar="N", help="最多列出 N 条（0 = 全部）"
    )
    sp.add_argument("--format", choices=("table", "csv"), default="table", help="输出格式")
    _columns_arg(sp)
    _store_arg(sp)
    sp.set_defaults(func=_cmd_review)

    sp = sub.add_parser("rules", help="由审核更正保存的本县定位规则")
    sp.set_defaults(func=_rules_usage)
    rsub = sp.add_subparsers(dest="rules_command", metavar="操作", title="可用操作")
    rp = rsub.add_parser("list", help="列出已保存的规则")
    rp.add_argument("--county", metavar="NAME_OR_CODE", help="只看此县")
    rp.add_argument("--format", choices=("table", "csv", "json"), default="table")
    _columns_arg(rp)
    _store_arg(rp)
    rp.set_defaults(func=_cmd_rules_list)
    rp = rsub.add_parser("export", help="把规则写入 CSV 或 JSON 文件")
    rp.add_argument("out", metavar="FILE", help=".csv 或 .json")
    rp.add_argument("--county", metavar="NAME_OR_CODE", help="只看此县")
    rp.add_argument("--format", choices=("csv", "json"), help="默认按文件扩展名")
    _columns_arg(rp)
    _store_arg(rp)
    rp.set_defaults(func=_cmd_rules_export)
    rp = rsub.add_parser("import", help="导入 CSV 或 JSON 规则文件中的规则")
    rp.add_argument("file", metavar="FILE", help="规则文件（.csv 或 .json）")
    rp.add_argument("--replace", action="store_true", help="同一原文的规则替换已保存的规则")
    _store_arg(rp)
    rp.set_defaults(func=_cmd_rules_import)
    rp = rsub.add_parser("delete", help="删除一条规则")
    rp.add_argument("rule_id", type=int, metavar="ID", help="规则编号（rules list 中的 id）")
    _store_arg(rp)
    rp.set_defaults(func=_cmd_rules_delete)


def _add_boundary_commands(sub) -> None:
    """boundaries import|list|delete."""
    sp = sub.add_parser("boundaries", help="管理数据库中的乡镇边界")
    sp.set_defaults(func=_boundaries_usage)
    bsub = sp.add_subparsers(dest="boundaries_command", metavar="操作", title="可用操作")
    bp = bsub.add_parser("import", help="读取、对应并保存边界文件，作为该县的乡镇图层")
    bp.add_argument(
        "file",
        metavar="FILE",
        help=".zip（shapefile）、.shp、.geojson、.json（GeoJSON 或 Esri JSON）、.gpkg 或 .kml",
    )
    bp.add_argument("--county", required=True, metavar="NAME_OR_CODE", help="县名或代码")
    _crs_args(bp, "FILE")
    bp.add_argument("--code-field", metavar="COLUMN", help="乡镇代码所在的列")
    bp.add_argument("--name-field", metavar="COLUMN", help="乡镇名称所在的列")
    bp.add_argument(
        "--encoding",
        metavar="ENC",
        help="没有 .cpg 的 shapefile .dbf 的文字编码（UTF-8、GB18030、GBK…；默认自动识别）",
    )
    bp.add_argument(
        "--quality",
        choices=("user", "official"),
        default="user",
        help="上传人声明的来源：user（默认）或 official（需 --quality-source）",
    )
    bp.add_argument(
        "--quality-source",
        metavar="TEXT",
        help="官方边界的出处，如 某县自然资源局 2024 年乡镇界",
    )
    bp.add_argument("--uploader", metavar="NAME", help="上传人（与边界一起保存）")
    bp.add_argument(
        "--override",
        action="append",
        metavar="ROW=CODE",
        help="把文件第 ROW 行对应到乡镇代码 CODE（ROW=- 排除该行）；可重复",
    )
    bp.add_argument(
        "--force",
        action="store_true",
        help="位置检查显示明显偏移时仍启用这套边界",
    )
    bp.add_argument("--check", action="store_true", help="只读取、检查和对应，不保存")
    bp.add_argument("--table", action="store_true", help="输出对应表（每个多边形一行）")
    _store_arg(bp)
    bp.set_defaults(func=_cmd_boundaries_import)
    bp = bsub.add_parser("list", help="列出已保存的边界（* 为使用中）")
    bp.add_argument("--county", metavar="NAME_OR_CODE", help="只列这个县")
    bp.add_argument("--format", choices=("table", "csv"), default="table", help="输出格式")
    _columns_arg(bp)
    _store_arg(bp)
    bp.set_defaults(func=_cmd_boundaries_list)
    bp = bsub.add_parser("delete", help="删除某县已保存的边界（恢复默认图层）")
    bp.add_argument("--county", required=True, metavar="NAME_OR_CODE", help="县名或代码")
    _store_arg(bp)
    bp.set_defaults(func=_cmd_boundaries_delete)


def _add_export(sub) -> None:
    """export."""
    sp = sub.add_parser("export", help="导出地图或表格")
    sp.add_argument("bulletins", nargs="*", metavar="BULLETIN", help="简报文件；默认：数据库")
    _county_args(sp)
    sp.add_argument(
        "--boundaries",
        metavar="FILE",
        help="乡镇边界文件（默认：数据库中导入的，否则用该县默认图层）",
    )
    _crs_args(sp, "--boundaries")
    sp.add_argument("--sector", nargs="+", action="extend", metavar="SLUG", help="只保留这些领域")
    sp.add_argument("--metric", metavar="KEY", help="地图指标（默认：事项数）")
    sp.add_argument("--township", nargs="+", action="extend", metavar="NAME", help="只保留这些乡镇")
    sp.add_argument("--format", choices=EXPORT_FORMATS, help="导出格式（默认：按 --out 的扩展名）")
    sp.add_argument("--out", required=True, metavar="FILE", help="输出文件")
    sp.add_argument("--size", type=_size, metavar="WxH", help="PNG 尺寸（像素），如 750x1334")
    _columns_arg(sp, "中文表头、单位，代码为文本", "英文键")
    sp.add_argument(
        "--preset",
        choices=PNG_PRESETS,
        help="PNG 预设：wechat 1080×1440，a4 / a4-landscape 300 dpi，slide 1920×1080",
    )
    _review_arg(sp, "地图分级与乡镇合计")
    _store_arg(sp)
    sp.set_defaults(func=_cmd_export)


def _add_time_commands(sub) -> None:
    """trend, report."""
    sp = sub.add_parser("trend", help="指标按月（季、年）的变化，重复报道只计一次")
    sp.add_argument("--metric", default="items", metavar="KEY", help="指标键，或 items（事项数）")
    sp.add_argument(
        "--by", choices=("month", "quarter", "year"), default="month", help="按月、季或年"
    )
    sp.add_argument("--township", metavar="NAME_OR_CODE", help="某个乡镇（默认：全县）")
    sp.add_argument("--county", metavar="NAME_OR_CODE", help="县（默认：数据库中的县）")
    sp.add_argument("--format", choices=("table", "json", "csv"), default="table", help="输出格式")
    sp.add_argument("--out", metavar="FILE", help="写入此文件（默认输出到屏幕）")
    _review_arg(sp, "趋势")
    _store_arg(sp)
    sp.set_defaults(func=_cmd_trend)

    sp = sub.add_parser("report", help="生成一县的月报（Word/WPS 用 DOCX，或 PDF）")
    sp.add_argument("--county", metavar="NAME_OR_CODE", help="县（默认：数据库中的县）")
    sp.add_argument("--period", required=True, metavar="YYYY-MM", help="月份，如 2024-02")
    sp.add_argument("--metric", metavar="KEY", help="地图与排名所用指标（默认 items，事项数）")
    sp.add_argument("--township", metavar="NAME_OR_CODE", help="同时给出此乡镇的趋势")
    sp.add_argument("--format", choices=("docx", "pdf"), help="默认按 --out 的扩展名")
    sp.add_argument("--out", required=True, metavar="FILE", help="月报文件")
    _review_arg(sp, "地图、排名、两期对比与趋势")
    _store_arg(sp)
    sp.set_defaults(func=_cmd_report)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 2 bad input).

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_usage(sys.stderr)
        print("错误（usage）：请给出一个命令（python -m geo -h 列出全部命令）", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except BrokenPipeError:
        # reader went away (| head): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (GeoInputError, OSError) as err:
        print(error_line(err), file=sys.stderr)
        return 2
    except RecursionError:
        print("错误（input.too_deep）：输入文件嵌套过深，无法处理；请检查文件", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("错误（interrupted）：已中断", file=sys.stderr)
        return 130
    except Exception as err:  # a bug, not bad input: still one line unless debugging
        if os.environ.get("GEO_DEBUG"):
            raise
        print(
            f"{error_line(err)}（程序内部错误 {type(err).__name__}；"
            "设 GEO_DEBUG=1 重新运行可看到详细信息，请报告）",
            file=sys.stderr,
        )
        return 1
