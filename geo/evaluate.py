"""Score the pipeline on labelled items: ``python -m geo.evaluate labelled.jsonl``.

Each line of the input is one item: ``text``, ``county`` and the labels ``township``,
``village``, ``sector`` and ``metrics`` (see ``shared/data/SOURCES.md`` for the conventions).
Every item is parsed on its own by the product pipeline (``normalise_text``, ``single_item``,
``annotate_items`` with the item's county).

Townships and villages are compared as units, not spellings: a label 金刚台乡 matches
the current 金刚台镇 (same code), 紫水街道办事处 matches 紫水街道. Metrics are matched one
to one on value (within 0.5 %) and unit, on the core units; other quantities are scored
separately on value alone, since labels file them under ``other``.

Every item's place comes with a ``confidence`` (the estimated probability that its township,
or county-wide, is right) and ``needs_review`` (below the model's review threshold). The summary
gives the share of items *not* flagged (coverage), the township and village accuracy of those
items, and the expected calibration error of the confidences (10 equal-width bins).

``--baseline-jionlp`` scores jionlp's ``parse_location(text, town_village=True)`` on the
same items (township/village only; jionlp is a development dependency).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from geo.errors import CountyNotFoundError, GeoInputError, error_line
from geo.gazetteer import Gazetteer, load_gazetteer, township_key
from geo.geocode import geocode_item
from geo.items import single_item
from geo.models import Item, Metric
from geo.normalise import normalise_text
from geo.pipeline import annotate_items
from geo.place_scoring import load_model

__all__ = [
    "CORE_UNITS",
    "ItemResult",
    "calibration_error",
    "evaluate",
    "load_labelled",
    "main",
    "match_metrics",
    "review_summary",
    "same_township",
    "same_village",
]

#: Units scored on value and unit; everything else is scored on value only.
CORE_UNITS = ("yuan", "person", "person_time", "mu", "tonne", "enterprise", "project")
_TOLERANCE = 0.005


@dataclass
class ItemResult:
    """Labels, predictions and per-field correctness of one item."""

    id: str
    county: str
    township: str | None
    village: str | None
    sector: str | None
    pred_township: str | None = None
    pred_village: str | None = None
    pred_sector: str | None = None
    scope: str = "unknown"
    confidence: float = 0.0
    needs_review: bool = True
    township_ok: bool = False
    village_ok: bool = False
    sector_ok: bool = False
    core: tuple[int, int, int] = (0, 0, 0)  # matched, predicted, labelled
    rest: tuple[int, int, int] = (0, 0, 0)
    missed: list[str] = field(default_factory=list)
    spurious: list[str] = field(default_factory=list)
    error: str = ""


def load_labelled(path: str | Path) -> list[dict]:
    """Labelled items from a JSON-lines file.

    Raises
    ------
    GeoInputError
        Missing or unreadable file, a file that is not UTF-8 text, or a line that is not a
        JSON object with string ``text`` and ``county`` and a list of ``metrics`` with
        numeric ``value``.
    """
    p = Path(path)
    if not p.is_file():
        raise GeoInputError(f"找不到标注文件 {p}：请检查路径", code="eval.missing")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise GeoInputError(
            f"无法读取 {p.name}（{exc.strerror or exc}）：请检查文件权限", code="eval.unreadable"
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise GeoInputError(
            f"{p.name} 第 {line} 行不是 UTF-8 文本（二进制文件？）：应为 JSON Lines 文件",
            code="eval.format",
        ) from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GeoInputError(
                f"{p.name} 第 {n} 行不是 JSON（{exc.msg}）：请修正该行", code="eval.format"
            ) from None
        if not isinstance(d, dict) or "text" not in d or "county" not in d:
            raise GeoInputError(
                f"{p.name} 第 {n} 行缺少 text 或 county：请补上", code="eval.format"
            )
        if not isinstance(d["text"], str) or not isinstance(d["county"], str):
            raise GeoInputError(
                f"{p.name} 第 {n} 行的 text 和 county 须为字符串：请修正该行", code="eval.format"
            )
        if not _metrics_ok(d.get("metrics")):
            raise GeoInputError(
                f"{p.name} 第 {n} 行的 metrics 须为列表，每项含数值 value 和单位 unit：请修正该行",
                code="eval.format",
            )
        out.append(d)
    return out


def _metrics_ok(metrics) -> bool:
    if metrics is None:
        return True
    return isinstance(metrics, list) and all(
        isinstance(m, dict)
        and isinstance(m.get("value"), int | float)
        and not isinstance(m.get("value"), bool)
        and isinstance(m.get("unit", ""), str)
        for m in metrics
    )


def same_township(gaz: Gazetteer, label: str | None, pred_code: str | None) -> bool:
    """True if the predicted township code is the labelled township (or both are None)."""
    if not label or not pred_code:
        return not label and not pred_code
    hits = gaz.match_township_name(label)
    if hits:
        return pred_code in {t.code for t in hits}
    pred = gaz.township_by_code(pred_code)
    return pred is not None and township_key(pred.name) == township_key(label)


def same_village(
    gaz: Gazetteer, label: str | None, label_town: str | None, pred_code: str | None
) -> bool:
    """True if the predicted village code is the labelled village (or both are None)."""
    if not label or not pred_code:
        return not label and not pred_code
    towns = gaz.match_township_name(label_town) if label_town else []
    hits = [v for t in towns for v in gaz.match_village_name(label, t.code)]
    hits = hits or gaz.match_village_name(label)
    if hits:
        return pred_code in {v.code for v in hits}
    pred = gaz.village_by_code(pred_code)
    return pred is not None and pred.name == label


def calibration_error(confidences, correct, *, bins: int = 10) -> float:
    """Expected calibration error: the item-weighted gap between confidence and accuracy.

    Items are put in ``bins`` equal-width confidence bins; each bin adds
    ``n_bin / n * |accuracy_bin - mean confidence_bin|``.

    Parameters
    ----------
    confidences : sequence of float
        Each item's confidence in [0, 1].
    correct : sequence of bool
        Whether each item's answer was right.
    bins : int

    Returns
    -------
    float
        0 for perfectly calibrated confidences; 0 for no items.
    """
    pairs = list(zip(confidences, correct, strict=True))
    if not pairs:
        return 0.0
    sums: dict[int, list[float]] = {}
    for conf, ok in pairs:
        k = min(bins - 1, max(0, int(float(conf) * bins)))
        acc = sums.setdefault(k, [0.0, 0.0, 0.0])
        acc[0] += 1
        acc[1] += float(conf)
        acc[2] += 1.0 if ok else 0.0
    return sum(abs(n_ok - conf_sum) for _n, conf_sum, n_ok in sums.values()) / len(pairs)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _TOLERANCE * max(abs(a), abs(b)) if (a or b) else True


def match_metrics(
    predicted: list[Metric], labelled: list[dict], *, core: bool
) -> tuple[int, int, int, list[str], list[str]]:
    """One-to-one match of metrics on value (±0.5 %) and, for core units, unit.

    Returns
    -------
    (matched, n_predicted, n_labelled, missed labels, spurious predictions)
    """

    def keep(unit: str) -> bool:
        return (unit in CORE_UNITS) == core

    preds = [m for m in predicted if keep(m.unit)]
    labels = [m for m in labelled if keep(m.get("unit", ""))]
    free = list(range(len(preds)))
    missed = []
    for lab in labels:
        lv = float(lab["value"])
        cands = [
            i
            for i in free
            if _close(float(preds[i].value), lv) and (not core or preds[i].unit == lab["unit"])
        ]
        if cands:
            best = min(cands, key=lambda i: abs(float(preds[i].value) - lv))
            free.remove(best)
        else:
            missed.append(f"{lab['value']:g} {lab['unit']} {lab.get('label', '')}".strip())
    spurious = [f"{preds[i].value:g} {preds[i].unit} «{preds[i].text}»" for i in free]
    matched = len(labels) - len(missed)
    return matched, len(preds), len(labels), missed, spurious


def _annotate(text: str, gaz: Gazetteer) -> Item | None:
    """Run the product pipeline (normalise, one item, annotate) on one labelled text."""
    items = single_item(normalise_text(text))
    if not items:
        return None
    annotate_items(items, gaz)
    return items[0]


def _item_gazetteer(d: dict) -> Gazetteer:
    """The gazetteer of a labelled item's county; a name several counties share (海州区) is
    qualified by the item's ``province`` when the label gives one."""
    try:
        return load_gazetteer(str(d["county"]))
    except CountyNotFoundError:
        province = d.get("province")
        if not isinstance(province, str) or not province.strip():
            raise
        return load_gazetteer(province.strip() + str(d["county"]))


def _score_item(d: dict) -> tuple[ItemResult, tuple[Item, Gazetteer] | None]:
    r = ItemResult(
        id=str(d.get("id", "")),
        county=str(d["county"]),
        township=d.get("township"),
        village=d.get("village"),
        sector=d.get("sector"),
    )
    try:
        gaz = _item_gazetteer(d)
    except GeoInputError as exc:
        r.error = str(exc)
        return r, None
    item = _annotate(d["text"], gaz)
    if item is None:
        r.error = "no item found in text"
        return r, None
    p = item.place
    r.pred_township, r.pred_village, r.pred_sector, r.scope = (
        p.township,
        p.village,
        item.sector,
        p.scope,
    )
    r.confidence, r.needs_review = float(p.confidence or 0.0), bool(p.needs_review)
    r.township_ok = same_township(gaz, r.township, p.township_code)
    r.village_ok = same_village(gaz, r.village, r.township, p.village_code)
    r.sector_ok = item.sector == r.sector
    labels = d.get("metrics") or []
    m, np_, nl, missed, spurious = match_metrics(item.metrics, labels, core=True)
    r.core = (m, np_, nl)
    r.missed, r.spurious = missed, spurious
    m2, np2, nl2, missed2, spurious2 = match_metrics(item.metrics, labels, core=False)
    r.rest = (m2, np2, nl2)
    r.missed += [f"[other] {x}" for x in missed2]
    r.spurious += [f"[other] {x}" for x in spurious2]
    return r, (item, gaz)


def _geocode_ms(done: list[tuple[Item, Gazetteer] | None], repeat: int = 5) -> float:
    """Warm geocoding time per item: county by county, each county's automaton built by one
    untimed call first (as in a running app, which serves one county)."""
    by_county: dict[str, list[tuple[Item, Gazetteer]]] = {}
    for pair in done:
        if pair is not None:
            by_county.setdefault(pair[1].county_code, []).append(pair)
    elapsed, n = 0.0, 0
    for pairs in by_county.values():
        geocode_item(*pairs[0])
        t0 = time.perf_counter()
        for _ in range(repeat):
            for item, gaz in pairs:
                geocode_item(item, gaz)
        elapsed += time.perf_counter() - t0
        n += repeat * len(pairs)
    return 1000 * elapsed / n if n else 0.0


def _baseline_jionlp(d: dict) -> tuple[str | None, str | None]:
    import jionlp  # development dependency, imported only for the baseline

    res = jionlp.parse_location(d["text"], town_village=True)
    return res.get("town"), res.get("village")


def _prf(matched: int, predicted: int, labelled: int) -> dict:
    p = matched / predicted if predicted else 0.0
    r = matched / labelled if labelled else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "matched": matched}


def review_summary(results: list[ItemResult]) -> dict:
    """Coverage at the review threshold, accuracy of the items not flagged, calibration error.

    Parameters
    ----------
    results : list of ItemResult

    Returns
    -------
    dict
        ``threshold``, ``coverage`` (share of items not flagged), ``township_accuracy`` and
        ``village_accuracy`` of those items, ``flagged`` (how many need review) and ``ece``
        (expected calibration error of the confidences against township correctness).
    """
    scored = [r for r in results if not r.error]
    kept = [r for r in scored if not r.needs_review]
    n, k = len(scored) or 1, len(kept) or 1
    return {
        "threshold": load_model().review_threshold,
        "coverage": len(kept) / n,
        "township_accuracy": sum(r.township_ok for r in kept) / k,
        "village_accuracy": sum(r.village_ok for r in kept) / k,
        "flagged": len(scored) - len(kept),
        "ece": calibration_error([r.confidence for r in scored], [r.township_ok for r in scored]),
    }


def _score_all(items: list[dict]) -> list[tuple[ItemResult, tuple[Item, Gazetteer] | None]]:
    """Score items grouped by province (each province's gazetteer file is read once), then
    put them back in input order."""
    order = sorted(range(len(items)), key=lambda i: str(items[i].get("province", "")))
    done: dict[int, tuple] = {i: _score_item(items[i]) for i in order}
    return [done[i] for i in range(len(items))]


def evaluate(items: list[dict], *, baseline_jionlp: bool = False) -> dict:
    """Score every labelled item; returns a JSON-ready summary with per-item results."""
    t0 = time.perf_counter()
    scored = _score_all(items)
    elapsed = time.perf_counter() - t0
    results = [r for r, _ in scored]
    geocode_ms = _geocode_ms([it for _, it in scored])
    n = len(results) or 1
    core = [sum(r.core[i] for r in results) for i in range(3)]
    rest = [sum(r.rest[i] for r in results) for i in range(3)]
    summary = {
        "items": len(results),
        "mode": "pipeline",
        "township_accuracy": sum(r.township_ok for r in results) / n,
        "village_accuracy": sum(r.village_ok for r in results) / n,
        "sector_accuracy": sum(r.sector_ok for r in results) / n,
        "metrics_core": {**_prf(*core), "predicted": core[1], "labelled": core[2]},
        "metrics_other": {**_prf(*rest), "predicted": rest[1], "labelled": rest[2]},
        "review": review_summary(results),
        "ms_per_item": 1000 * elapsed / n,
        "geocode_ms_per_item": geocode_ms,
        "results": [r.__dict__ for r in results],
    }
    if baseline_jionlp:
        ok_t = ok_v = 0
        base = []
        _baseline_jionlp({"text": "息县白土店乡新庄村"})  # load its dictionaries before timing
        t0 = time.perf_counter()
        for d, r in zip(items, results, strict=True):
            town, village = _baseline_jionlp(d)
            try:
                gaz = _item_gazetteer(d)
            except GeoInputError:
                continue
            hits = gaz.match_township_name(town) if town else []
            t_code = hits[0].code if len(hits) == 1 else None
            t_ok = same_township(gaz, r.township, t_code) if (town is None or t_code) else False
            vh = gaz.match_village_name(village, t_code) if village and t_code else []
            v_code = vh[0].code if len(vh) == 1 else None
            v_ok = (
                same_village(gaz, r.village, r.township, v_code)
                if (not village or v_code)
                else False
            )
            ok_t += t_ok
            ok_v += v_ok
            base.append({"id": r.id, "township": town, "village": village})
        summary["jionlp"] = {
            "township_accuracy": ok_t / n,
            "village_accuracy": ok_v / n,
            "ms_per_item": 1000 * (time.perf_counter() - t0) / n,
            "results": base,
        }
    return summary


def _table(s: dict, verbose: bool) -> str:
    lines = []
    base = s.get("jionlp")
    head = f"{'':28}{'pipeline':>10}" + (f"{'jionlp':>10}" if base else "")
    lines.append(f"{s['items']} labelled items, mode: {s['mode']}")
    lines.append(head)

    def row(label: str, ours: float, theirs: float | None = None) -> None:
        line = f"{label:28}{ours:>10.3f}"
        if base:
            line += f"{theirs:>10.3f}" if theirs is not None else f"{'-':>10}"
        lines.append(line)

    row("township accuracy", s["township_accuracy"], base and base["township_accuracy"])
    row("village accuracy", s["village_accuracy"], base and base["village_accuracy"])
    rv = s["review"]
    row(f"coverage at threshold {rv['threshold']:.2f}", rv["coverage"])
    row("  township acc., not flagged", rv["township_accuracy"])
    row("  village acc., not flagged", rv["village_accuracy"])
    row("calibration error (ECE)", rv["ece"])
    row("sector accuracy", s["sector_accuracy"])
    for key, name in (("metrics_core", "core units"), ("metrics_other", "other units")):
        m = s[key]
        for k in ("precision", "recall", "f1"):
            row(f"metrics {name} {k}", m[k])
        lines.append(
            f"{'':28}({m['matched']} matched, {m['predicted']} found, {m['labelled']} labelled)"
        )
    lines.append(f"{'ms per item, whole pipeline':28}{s['ms_per_item']:>10.1f}")
    lines.append(
        f"{'ms per item, geocode (warm)':28}{s['geocode_ms_per_item']:>10.2f}"
        + (f"{base['ms_per_item']:>10.2f}" if base else "")
    )
    if verbose:
        lines.append("")
        for r in s["results"]:
            bad = []
            if r["error"]:
                bad.append(f"error: {r['error']}")
            if not r["township_ok"]:
                bad.append(f"township {r['pred_township']} ≠ {r['township']}")
            if not r["village_ok"]:
                bad.append(f"village {r['pred_village']} ≠ {r['village']}")
            if not r["sector_ok"]:
                bad.append(f"sector {r['pred_sector']} ≠ {r['sector']}")
            bad += [f"missed {x}" for x in r["missed"]]
            bad += [f"spurious {x}" for x in r["spurious"]]
            if bad:
                flag = ", needs review" if r["needs_review"] else ""
                lines.append(
                    f"{r['id']} ({r['county']}, scope {r['scope']}, "
                    f"confidence {r['confidence']:.2f}{flag})"
                )
                lines += [f"    {b}" for b in bad]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: print the score table (or JSON); exit 2 on bad input."""
    ap = argparse.ArgumentParser(prog="python -m geo.evaluate", description=__doc__.splitlines()[0])
    ap.add_argument(
        "path", help="labelled JSON-lines file (e.g. ../shared/data/dev_bulletins.jsonl)"
    )
    ap.add_argument("--baseline-jionlp", action="store_true", help="also score jionlp")
    ap.add_argument("--verbose", "-v", action="store_true", help="list every mismatch")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args(argv)
    try:
        items = load_labelled(args.path)
        summary = evaluate(items, baseline_jionlp=args.baseline_jionlp)
    except GeoInputError as exc:
        print(error_line(exc), file=sys.stderr)
        return 2
    except ImportError as exc:
        print(
            f"错误（eval.dependency）：{exc}（jionlp 在 requirements-dev.txt 中）", file=sys.stderr
        )
        return 2
    out = (
        json.dumps(summary, ensure_ascii=False, indent=2)
        if args.json
        else _table(summary, args.verbose)
    )
    try:
        print(out)
    except BrokenPipeError:  # `| head` closed the pipe: not an error of ours
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
