"""Render a 报表版 CSV as a spreadsheet shows it, to a PNG (docs/export-csv.png in the README).

    python tools/csv_preview.py data/xixian-bulletin-sample.txt docs/export-csv.png

Exports the sample with ``python -m geo export --format csv`` (the 报表版, default columns) into
a temporary folder, reads the items file back with pandas, shows each code as Excel and WPS do
(``="411528203001"`` displays as 411528203001, as text) and draws the grid with column letters and
row numbers in Debian's chromium (offline, no request leaves the machine).
"""

from __future__ import annotations

import argparse
import html
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from geo.browser import screenshot_html  # noqa: E402 - the repository just added
from geo.report_csv import strip_text_codes  # noqa: E402

#: The columns shown: the ones a planner pastes into a report (the CSV has all of them).
SHOWN = [
    "标题",
    "领域",
    "范围",
    "乡镇（街道）",
    "乡镇代码",
    "村（社区）",
    "村代码",
    "投资额（万元）",
    "就业人数（人）",
    "流转土地（亩）",
    "指标（原文）",
    "位置精度",
]
CODES = ("县代码", "乡镇代码", "村代码", "事项编号")
CSS = """
body { margin: 0; font: 13px 'Noto Sans CJK SC', sans-serif; background: #fff; }
table { border-collapse: collapse; }
th, td { border: 1px solid #d4d4d4; padding: 3px 6px; white-space: nowrap; max-width: 260px;
         overflow: hidden; text-overflow: ellipsis; }
thead th, td.row { background: #f3f3f3; color: #555; font-weight: normal; text-align: center; }
tr.head td { font-weight: bold; background: #fafafa; }
td.num { text-align: right; }
"""


def _cell(value: object, *, number: bool) -> str:
    if value is None or value != value:
        return ""
    if number:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return html.escape(str(value))


def table_html(df: pd.DataFrame) -> str:
    """The frame as a spreadsheet grid: letters above, row numbers left, headers in row 1."""
    letters = [chr(ord("A") + i) for i in range(len(df.columns))]
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    rows = ["<tr class='head'><td class='row'>1</td>"]
    rows[0] += "".join(f"<td>{html.escape(c)}</td>" for c in df.columns) + "</tr>"
    for i, rec in enumerate(df.itertuples(index=False), start=2):
        cells = "".join(
            f"<td class='{'num' if n else ''}'>{_cell(v, number=n)}</td>"
            for v, n in zip(rec, numeric, strict=True)
        )
        rows.append(f"<tr><td class='row'>{i}</td>{cells}</tr>")
    head = "<thead><tr><th></th>" + "".join(f"<th>{x}</th>" for x in letters) + "</tr></thead>"
    return (
        f"<!doctype html><meta charset='utf-8'><style>{CSS}</style>"
        f"<table>{head}<tbody>{''.join(rows)}</tbody></table>"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bulletin", help="简报文件")
    ap.add_argument("out", help="PNG 文件")
    ap.add_argument("--county", default="息县")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "items.csv"
        cmd = [sys.executable, "-m", "geo", "export", args.bulletin, "--county", args.county]
        env_store = {**os.environ, "GEO_STORE": str(Path(tmp) / "none.sqlite")}
        subprocess.run([*cmd, "--out", str(csv)], check=True, cwd=REPO, env=env_store)
        df = pd.read_csv(csv, encoding="utf-8-sig")
        for col in CODES:
            if col in df.columns:
                df[col] = strip_text_codes(df[col]).fillna("")
        df = df[[c for c in SHOWN if c in df.columns]]
        page = Path(tmp) / "table.html"
        page.write_text(table_html(df), encoding="utf-8")
        screenshot_html(page, args.out, (1424, 40 + 26 * (len(df) + 2)), wait_selector="table")
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
