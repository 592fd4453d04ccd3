"""``python -m geo``: parse bulletins, keep them in the store, review places, export maps.

Subcommands::

    parse PATH|-        parse one bulletin and print it (json, table or csv); stores nothing
    ingest FILE...      parse files into the store (one line per file)
    bulletins           list the store's bulletins;  delete ID  removes one
    corrections         list reviewers' corrections;  correct ITEM_ID  adds one
    recut               fix where items are cut: merge ITEM_ID ITEM_ID, split ITEM_ID --at N |
                        --before 文字, list, undo CUT_ID (kept like corrections)
    regeocode           recompute stored places with the current gazetteer and geocoder
    counties            list the counties the gazetteer knows
    boundaries          import FILE --county X: keep official township boundaries in the store;
                        list: the kept sets;  delete --county X: back to the default layer
    export              write the map or tables (html, png, pdf, csv, geojson, gpkg); township
                        polygons from --boundaries, else the store, else the county's default;
                        without any, csv/geojson/gpkg still work (townships without geometry)

Bad input of any kind ends with one line ``error: …`` on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from geo import __version__
from geo.display import QUALITY_ZH, SCOPE_ZH, UNIT_NAMES_ZH, metric_value_text
from geo.errors import GeoInputError, one_line

__all__ = ["build_parser", "display_width", "format_table", "main"]

EXPORT_FORMATS = ("html", "png", "pdf", "csv", "geojson", "gpkg")
#: ``export --preset`` (data/config/png_presets.json; geo.picture reads it).
PNG_PRESETS = ("wechat", "a4", "a4-landscape", "slide")
_CLEAR = {"", "-", "无", "none"}


class _UsageError(GeoInputError):
    """A command-line value that argparse cannot check by itself."""


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


def _sector_names() -> dict[str, str]:
    try:
        from geo.sectors import sector_names

        return sector_names()
    except (ImportError, GeoInputError, OSError):
        return {}


# --------------------------------------------------------------------------- reading input


def _parse_file(path: str, county: str | None, single: bool):
    """Read and parse a bulletin file, or stdin for ``-``; with a prefecture for ``county``,
    each item is geocoded with its own county (:mod:`geo.prefecture`)."""
    from geo.prefecture import parse_area_file

    if path == "-":
        # the stream itself: read_bulletin reads at most its size cap, never all of stdin
        return parse_area_file(sys.stdin.buffer, "<stdin>", county=county, single=single)
    return parse_area_file(Path(path), county=county, single=single)


def _open_store(path: str | None):
    from geo.store import Store

    return Store(path)


# --------------------------------------------------------------------------- parse


def _cmd_parse(args: argparse.Namespace) -> int:
    from geo.aggregate import item_id

    bulletin = _parse_file(args.path, args.county, args.single_item)
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
        _write_csv(items_df, out)
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
                "；".join(_metric_zh(m.to_dict()) for m in it.metrics[:3]),
            ]
        )
    table = format_table(
        rows,
        ["#", "标题", "单位", "行业", "范围", "乡镇/村", "主要指标"],
        [4, 30, 14, 10, 6, 18, 40],
    )
    from geo.recut import review_notes

    notes = "\n".join(review_notes(bulletin))
    return f"{head} — {len(bulletin.items)} 条 ({bulletin.source_name})\n{table}\n\n{notes}"


# --------------------------------------------------------------------------- store commands


def _cmd_ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from geo.bulk_ingest import bulletin_files, default_jobs, ingest_files

    files, missing = bulletin_files(args.files)
    for outcome in missing:
        tqdm.write(f"error: {outcome.error}", file=sys.stderr)
    if not files and not missing:
        raise _UsageError("文件夹中没有简报文件（.txt / .pdf / .docx）")
    # the bar goes to stderr and only on a terminal; per-file lines stay on stdout
    bar = tqdm(
        total=len(files), file=sys.stderr, unit="份", disable=True if len(files) < 2 else None
    )

    def report(outcome) -> None:
        bar.update(1)
        if outcome.status == "failed":
            tqdm.write(f"error: {outcome.error}", file=sys.stderr)
            return
        tqdm.write(
            f"{outcome.status:9}  {(outcome.bulletin_id or '')[:12]}  "
            f"{outcome.n_items:3d} items  {outcome.path}",
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
        )
    finally:
        bar.close()
    summary.failed += len(missing)
    print(summary.to_text())
    return 2 if summary.failed else 0


def _cmd_bulletins(args: argparse.Namespace) -> int:
    with _open_store(args.store) as store:
        df = store.bulletins()
    if args.format == "csv":
        _write_csv(df, sys.stdout)
        return 0
    rows = [
        [r.id[:12], r.source_name, r.title, r.issue, r.date, r.county, r.n_items, r.n_corrections]
        for r in df.itertuples()
    ]
    print(
        format_table(
            rows,
            ["id", "文件", "标题", "期号", "日期", "县", "条数", "更正"],
            [12, 30, 20, 10, 10, 8, 5, 5],
        )
    )
    return 0


def _cmd_delete(args: argparse.Namespace) -> int:
    with _open_store(args.store) as store:
        if not store.delete_bulletin(args.bulletin_id):
            raise _UsageError(f"no bulletin {args.bulletin_id} in the store")
    print(f"deleted {args.bulletin_id}")
    return 0


def _cmd_corrections(args: argparse.Namespace) -> int:
    with _open_store(args.store) as store:
        df = store.corrections()
    if args.format == "csv":
        _write_csv(df, sys.stdout)
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
                ["item_id", "字段", "值", "名称", "说明", "时间", "标题"],
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
        raise _UsageError(f"no township {value!r} in {gaz.county_name}")
    if len(found) > 1:
        options = "、".join(f"{t.name} {t.code}" for t in found)
        raise _UsageError(f"township {value!r} is ambiguous in {gaz.county_name}: {options}")
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
        where = f"township {township_code}" if township_code else gaz.county_name
        raise _UsageError(f"no village {value!r} in {where}")
    if len(found) > 1:
        options = "、".join(f"{v.name} {v.code}" for v in found)
        raise _UsageError(f"village {value!r} is ambiguous: {options}; give its code")
    return found[0].code


def _cmd_correct(args: argparse.Namespace) -> int:
    with _open_store(args.store) as store:
        items_df, _ = store.frames()
        rows = items_df[items_df["item_id"] == args.item_id]
        if rows.empty:
            raise _UsageError(f"no item {args.item_id} in the store")
        row = rows.iloc[0]
        township_code = village_code = gaz = None
        if args.township is not None or args.village is not None:
            from geo.gazetteer import load_gazetteer

            county_code = _cell(row["county_code"])
            if not county_code:
                raise _UsageError(f"item {args.item_id} has no county; cannot place it")
            gaz = load_gazetteer(county_code)
            if args.township is not None:
                township_code = _resolve_township(gaz, args.township)
            if args.village is not None:
                in_town = _cell(row["township_code"]) if township_code is None else township_code
                village_code = _resolve_village(gaz, args.village, in_town or None)
        store.correct(
            args.item_id,
            township_code=township_code,
            village_code=village_code,
            sector=args.sector,
            note=args.note,
            gazetteer=gaz,
        )
        items_df, _ = store.frames()
        r = items_df[items_df["item_id"] == args.item_id].iloc[0]
    where = "/".join(str(x) for x in (r["township"], r["village"]) if isinstance(x, str) and x)
    scope = SCOPE_ZH.get(r["scope"], r["scope"])
    print(f"corrected {r['item_id']}: {scope} {where or '-'}; sector {r['sector']}")
    return 0


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
        _write_csv(df, sys.stdout)
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
    with _open_store(args.store) as store:
        changed = store.regeocode()
    print(f"{changed} items got a new place")
    return 0


def _cmd_counties(args: argparse.Namespace) -> int:
    from geo.gazetteer import list_counties

    df = list_counties(args.province)
    if df.empty:
        raise _UsageError(f"no counties with code prefix {args.province}")
    if args.format == "csv":
        _write_csv(df, sys.stdout)
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
        _write_csv(df.drop(columns=["join_report", "report_json"]), sys.stdout)
        return 0
    if df.empty:
        print("no township boundaries in the store; counties use their default layers")
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
    headers = ["id", "代码", "县", "文件", "乡镇数", "质量", "datum", "CRS", "上传人", "导入时间"]
    print(format_table(rows, [*headers, "使用中"], [6, 6, 8, 30, 6, 8, 6, 24, 10, 25, 4]))
    return 0


def _cmd_boundaries_delete(args: argparse.Namespace) -> int:
    from geo.gazetteer import load_gazetteer

    gaz = load_gazetteer(args.county)
    with _open_store(args.store) as store:
        n = store.delete_boundaries(gaz.county_code)
    if not n:
        raise _UsageError(f"no stored boundaries for {gaz.county_name} ({gaz.county_code})")
    print(f"deleted {n} boundary set(s) of {gaz.county_name}; the default layer applies again")
    return 0


def _boundaries_usage(args: argparse.Namespace) -> int:
    raise _UsageError("choose an action: boundaries import|list|delete")


# --------------------------------------------------------------------------- export


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{2,5})\s*[xX×*]\s*(\d{2,5})\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"size {text!r} is not WIDTHxHEIGHT, e.g. 1600x1200")
    w, h = int(m.group(1)), int(m.group(2))
    if not (100 <= w <= 8000 and 100 <= h <= 8000):
        raise argparse.ArgumentTypeError(f"size {text} is outside 100x100 … 8000x8000")
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
            f"items from several counties ({', '.join(codes)}); choose one with --county"
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
        raise _UsageError(f"unknown sector {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    town_codes = tuple(resolve_township(area, t) for t in (args.township or ()))
    metric = args.metric or "items"
    keys = {k.key for k in agg.load_metric_keys()} | {"items"}
    if metric not in keys:
        raise _UsageError(f"unknown metric {metric!r}; known: {', '.join(sorted(keys))}")
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
        why = f"is ambiguous in {prefecture.name}: {options}" if found else "not found"
        raise _UsageError(f"township {value!r} {why}")
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
        return prefecture_view(items_df, metrics_df, townships, filters=filters, metric_key=metric)
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
    )


def _cmd_export(args: argparse.Namespace) -> int:
    from geo import export, picture

    fmt = args.format or Path(args.out).suffix.lstrip(".").lower()
    if fmt not in EXPORT_FORMATS:
        raise _UsageError(
            f"cannot tell the format of {args.out}; give --format ({'|'.join(EXPORT_FORMATS)})"
        )
    items_df, metrics_df = _export_frames(args)
    view = _export_view(args, items_df, metrics_df)
    out = Path(args.out)
    if out.is_dir():
        raise _UsageError(f"--out {out} is a folder; give a file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "png":
        written = export.export_png(view, out, size=args.size, preset=args.preset)
        written = [written, picture.sources_path(written)]
    else:
        written = getattr(export, f"export_{fmt}")(view, out)
    for path in written if isinstance(written, list) else [written]:
        print(path)
    return 0


# --------------------------------------------------------------------------- entry point


def _add_recut_parser(sub, store_arg) -> None:
    """``recut merge|split|list|undo``: reviewers' fixes of where items are cut."""
    sp = sub.add_parser("recut", help="fix where items are cut (merge, split; kept in the store)")
    sp.set_defaults(func=_recut_usage)
    rsub = sp.add_subparsers(dest="recut_command", metavar="ACTION")
    rp = rsub.add_parser("merge", help="merge two neighbouring items of one bulletin")
    rp.add_argument("first", metavar="ITEM_ID")
    rp.add_argument("second", metavar="ITEM_ID")
    rp.add_argument("--note", default="", help="why (kept with the fix)")
    store_arg(rp)
    rp.set_defaults(func=_cmd_recut_merge)
    rp = rsub.add_parser("split", help="split an item so that a new one starts at a position")
    rp.add_argument("item_id", metavar="ITEM_ID")
    rp.add_argument(
        "--at", type=int, metavar="OFFSET", help="offset in the bulletin text (as start/end)"
    )
    rp.add_argument("--before", metavar="TEXT", help="split before these words of the item")
    rp.add_argument("--note", default="", help="why (kept with the fix)")
    store_arg(rp)
    rp.set_defaults(func=_cmd_recut_split)
    rp = rsub.add_parser("list", help="list the cut fixes")
    rp.add_argument("--bulletin", metavar="BULLETIN_ID", help="only this bulletin's fixes")
    rp.add_argument("--format", choices=("table", "csv", "json"), default="table")
    store_arg(rp)
    rp.set_defaults(func=_cmd_recut_list)
    rp = rsub.add_parser("undo", help="take a cut fix back")
    rp.add_argument("cut_id", type=int, metavar="CUT_ID")
    store_arg(rp)
    rp.set_defaults(func=_cmd_recut_undo)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m geo`` argument parser with all subcommands.

    Returns
    -------
    argparse.ArgumentParser
    """
    p = argparse.ArgumentParser(
        prog="python -m geo",
        description="Township-activity map: county work bulletins (工作简报) to a township map.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_add_text_commands, _add_store_commands, _add_boundary_commands, _add_export):
        add(sub)
    return p


def _store_arg(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--store",
        metavar="PATH_OR_URL",
        help="store: a SQLite file or postgresql://user@host/db "
        "(default: $GEO_STORE or user data dir)",
    )


def _county_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--county",
        metavar="NAME_OR_CODE",
        help="county (息县, 411528) or prefecture (信阳市, 4115: each item placed in its own "
        "county); default: detected from the text",
    )
    sp.add_argument("--single-item", action="store_true", help="treat each file as one item")


def _crs_args(sp: argparse.ArgumentParser, what: str) -> None:
    sp.add_argument(
        "--crs",
        metavar="CRS",
        help=f"CRS of {what} when it states none or a wrong one, e.g. EPSG:4547 or EPSG:3857",
    )
    sp.add_argument(
        "--datum",
        choices=("wgs84", "gcj02", "bd09"),
        default="wgs84",
        help=f"datum of {what}: gcj02 for 高德/腾讯, bd09 for 百度 (default wgs84/CGCS2000)",
    )


def _add_text_commands(sub) -> None:
    """parse, ingest, counties."""
    sp = sub.add_parser("parse", help="parse one bulletin and print it; stores nothing")
    sp.add_argument("path", metavar="PATH", help="bulletin file (.txt/.pdf/.docx) or - for stdin")
    _county_args(sp)
    sp.add_argument("--format", choices=("json", "table", "csv"), default="json")
    sp.set_defaults(func=_cmd_parse)

    sp = sub.add_parser(
        "ingest", help="parse bulletin files (or every bulletin in folders) into the store"
    )
    sp.add_argument(
        "files", nargs="+", metavar="FILE_OR_DIR", help=".txt/.pdf/.docx files or folders"
    )
    _county_args(sp)
    sp.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="parse in N processes (0 = one per CPU core); a killed run is resumed by running "
        "it again: files already stored are skipped",
    )
    sp.add_argument(
        "--reassign-county",
        action="store_true",
        help="a bulletin already stored under another county is re-read under this one",
    )
    _store_arg(sp)
    sp.set_defaults(func=_cmd_ingest)

    sp = sub.add_parser("counties", help="list the counties the gazetteer knows")
    sp.add_argument(
        "--province", metavar="CODE", help="2-digit province code or code prefix, e.g. 41"
    )
    sp.add_argument("--format", choices=("table", "csv"), default="table")
    sp.set_defaults(func=_cmd_counties)


def _add_store_commands(sub) -> None:
    """bulletins, delete, corrections, correct, recut, regeocode."""
    sp = sub.add_parser("bulletins", help="list the stored bulletins")
    sp.add_argument("--format", choices=("table", "csv"), default="table")
    _store_arg(sp)
    sp.set_defaults(func=_cmd_bulletins)

    sp = sub.add_parser("delete", help="delete a stored bulletin (its corrections are kept)")
    sp.add_argument("bulletin_id", metavar="BULLETIN_ID", help="id or its first 6+ characters")
    _store_arg(sp)
    sp.set_defaults(func=_cmd_delete)

    sp = sub.add_parser("corrections", help="list reviewers' corrections")
    sp.add_argument("--format", choices=("table", "csv", "json"), default="table")
    _store_arg(sp)
    sp.set_defaults(func=_cmd_corrections)

    sp = sub.add_parser("correct", help="correct an item's township, village or sector")
    sp.add_argument("item_id", metavar="ITEM_ID")
    sp.add_argument("--township", metavar="NAME_OR_CODE", help='township; "-" = no single township')
    sp.add_argument("--village", metavar="NAME_OR_CODE", help='village; "-" = no single village')
    sp.add_argument("--sector", metavar="SLUG")
    sp.add_argument("--note", default="", help="why (kept with the correction)")
    _store_arg(sp)
    sp.set_defaults(func=_cmd_correct)

    _add_recut_parser(sub, _store_arg)

    sp = sub.add_parser("regeocode", help="recompute stored places (corrections still win)")
    _store_arg(sp)
    sp.set_defaults(func=_cmd_regeocode)


def _add_boundary_commands(sub) -> None:
    """boundaries import|list|delete."""
    sp = sub.add_parser("boundaries", help="township boundaries kept in the store")
    sp.set_defaults(func=_boundaries_usage)
    bsub = sp.add_subparsers(dest="boundaries_command", metavar="ACTION")
    bp = bsub.add_parser(
        "import", help="read, join and keep a boundary file; it becomes the county's layer"
    )
    bp.add_argument(
        "file",
        metavar="FILE",
        help=".zip (shapefile), .shp, .geojson, .json (GeoJSON or Esri JSON), .gpkg or .kml",
    )
    bp.add_argument("--county", required=True, metavar="NAME_OR_CODE")
    _crs_args(bp, "FILE")
    bp.add_argument("--code-field", metavar="COLUMN", help="column of township codes")
    bp.add_argument("--name-field", metavar="COLUMN", help="column of township names")
    bp.add_argument(
        "--encoding",
        metavar="ENC",
        help="text encoding of a shapefile .dbf without .cpg (UTF-8, GB18030, GBK…; "
        "default: detected)",
    )
    bp.add_argument(
        "--quality",
        choices=("user", "official"),
        default="user",
        help="what the uploader declares: user (default) or official (needs --quality-source)",
    )
    bp.add_argument(
        "--quality-source",
        metavar="TEXT",
        help="where official boundaries come from, e.g. 某县自然资源局 2024 年乡镇界",
    )
    bp.add_argument("--uploader", metavar="NAME", help="who uploads the file (kept with the set)")
    bp.add_argument(
        "--override",
        action="append",
        metavar="ROW=CODE",
        help="join row ROW of the file to township CODE (ROW=- leaves it out); repeatable",
    )
    bp.add_argument(
        "--force",
        action="store_true",
        help="make the set active although its position check says it is clearly offset",
    )
    bp.add_argument("--check", action="store_true", help="read, check and join only; save nothing")
    bp.add_argument("--table", action="store_true", help="print the join table (every polygon)")
    _store_arg(bp)
    bp.set_defaults(func=_cmd_boundaries_import)
    bp = bsub.add_parser("list", help="list the kept boundary sets (* = in use)")
    bp.add_argument("--county", metavar="NAME_OR_CODE", help="only this county")
    bp.add_argument("--format", choices=("table", "csv"), default="table")
    _store_arg(bp)
    bp.set_defaults(func=_cmd_boundaries_list)
    bp = bsub.add_parser("delete", help="forget a county's kept boundaries (default layer again)")
    bp.add_argument("--county", required=True, metavar="NAME_OR_CODE")
    _store_arg(bp)
    bp.set_defaults(func=_cmd_boundaries_delete)


def _add_export(sub) -> None:
    """export."""
    sp = sub.add_parser("export", help="export the map or tables")
    sp.add_argument("bulletins", nargs="*", metavar="BULLETIN", help="files; default: the store")
    _county_args(sp)
    sp.add_argument(
        "--boundaries",
        metavar="FILE",
        help="township boundaries (default: those imported into the store, else the county's)",
    )
    _crs_args(sp, "--boundaries")
    sp.add_argument(
        "--sector", nargs="+", action="extend", metavar="SLUG", help="keep these sectors"
    )
    sp.add_argument("--metric", metavar="KEY", help="map metric (default: number of items)")
    sp.add_argument(
        "--township", nargs="+", action="extend", metavar="NAME", help="keep these townships"
    )
    sp.add_argument("--format", choices=EXPORT_FORMATS, help="default: from --out")
    sp.add_argument("--out", required=True, metavar="FILE")
    sp.add_argument("--size", type=_size, metavar="WxH", help="PNG size in pixels, e.g. 750x1334")
    sp.add_argument(
        "--preset",
        choices=PNG_PRESETS,
        help="PNG 预设：wechat 1080×1440，a4 / a4-landscape 300 dpi，slide 1920×1080",
    )
    _store_arg(sp)
    sp.set_defaults(func=_cmd_export)


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
        print("error: choose a command", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except BrokenPipeError:
        # reader went away (| head): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (GeoInputError, OSError) as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2
    except RecursionError:
        print("error: 输入文件嵌套过深，无法处理", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug, not bad input: still one line unless debugging
        if os.environ.get("GEO_DEBUG"):
            raise
        print(
            f"error: internal error {type(err).__name__}: {one_line(err)} "
            "(run with GEO_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1
