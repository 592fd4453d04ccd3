"""Score geo.metrics and geo.sectors on labelled items (dev only).

Usage::

    python tools/eval_metrics_sectors.py [../shared/data/dev_bulletins.jsonl] [-v]

Metrics are compared as (value, unit) multisets per item on the core units of the labels'
convention; finer product units (``household``, ``item``, ``time``) are reported separately after
mapping them to the labels' units. Sectors are scored by accuracy of the primary sector.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo.metrics import extract_metrics, load_grammar
from geo.sectors import classify_sector, load_taxonomy

CORE = ("yuan", "person", "person_time", "mu", "tonne", "enterprise", "project")
# The labels file household quantities under "other".
_LABEL_UNIT = {"household": "other"}
_DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "dev_bulletins.jsonl"


def _split(text: str) -> tuple[str, str]:
    """Headline and body the way the labels see a single item."""
    first, _, rest = text.partition("\n")
    if rest and len(first.strip()) <= 40 and not first.rstrip().endswith(("。", "！", "？")):
        return first.strip(), rest
    return "", text


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?", default=str(_DEFAULT))
    ap.add_argument("-v", "--verbose", action="store_true", help="show every miss")
    args = ap.parse_args(argv)
    items = [
        json.loads(line)
        for line in Path(args.path).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    taxonomy = load_taxonomy()
    load_grammar()  # read the tables before timing
    counts: dict[str, Counter] = {u: Counter() for u in (*CORE, "non-core")}
    sector_ok = 0
    elapsed = 0.0
    for it in items:
        t0 = time.perf_counter()
        pred = extract_metrics(it["text"])
        elapsed += time.perf_counter() - t0
        gold = Counter((round(m["value"], 3), m["unit"]) for m in it["metrics"])
        got = Counter((round(m.value, 3), _LABEL_UNIT.get(m.unit, m.unit)) for m in pred)
        misses = []
        for key in gold | got:
            bucket = key[1] if key[1] in CORE else "non-core"
            tp = min(gold[key], got[key])
            counts[bucket]["tp"] += tp
            counts[bucket]["fp"] += got[key] - tp
            counts[bucket]["fn"] += gold[key] - tp
            if gold[key] != got[key] and bucket != "non-core":
                misses.append(f"{key}: gold {gold[key]} got {got[key]}")
        headline, body = _split(it["text"])
        result = classify_sector(headline, body, None, taxonomy)
        ok = result.primary == it["sector"]
        sector_ok += ok
        if args.verbose and (misses or not ok):
            print(f"{it['id']}:")
            for line in misses:
                print(f"  metric {line}")
            if not ok:
                print(f"  sector gold {it['sector']} got {result.primary} {result.scores}")
    print(f"{'unit':<12} {'P':>6} {'R':>6} {'F1':>6}  tp fp fn")
    total = Counter()
    for unit, c in counts.items():
        p, r, f = _prf(c["tp"], c["fp"], c["fn"])
        print(f"{unit:<12} {p:6.3f} {r:6.3f} {f:6.3f}  {c['tp']} {c['fp']} {c['fn']}")
        if unit in CORE:
            total.update(c)
    p, r, f = _prf(total["tp"], total["fp"], total["fn"])
    tally = f"{total['tp']} {total['fp']} {total['fn']}"
    print(f"{'core (micro)':<12} {p:6.3f} {r:6.3f} {f:6.3f}  {tally}")
    print(f"sector accuracy {sector_ok}/{len(items)} = {sector_ok / len(items):.3f}")
    print(f"extract_metrics {1000 * elapsed / len(items):.3f} ms per item")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
