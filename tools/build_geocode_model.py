"""Rebuild the geocoder's scorer and calibration (``data/geocode/model.json``) from labelled items.

Usage::

    python tools/build_geocode_model.py [LABELLED.jsonl ...] [--out data/geocode/model.json]

Default corpus: ``eval/tuning.jsonl`` and, when present, ``../shared/data/dev_bulletins.jsonl``.
The blind part (``eval/blind.jsonl``) is refused: it is scored, never learned from.

Steps (all reported in the file's ``provenance``):

1. Every item goes through the product's own path (``normalise_text``, ``single_item``) and the
   geocoder's first stages (:func:`geo.geocode.place_features_of`). Each township candidate is a
   row labelled 1 when it is the item's labelled township; each village of the labelled
   township is a row labelled 1 when it is the labelled village.
2. Two scorers are compared by cross-validation grouped by source site (no site in both the
   training and the scored folds, as the blind split): the hand-set weights of
   ``data/geocode/hand_weights.json`` and scikit-learn logistic regressions (L2; the strength
   chosen by the same cross-validation). Features the corpus exercises fewer than
   ``--min-support`` times (reporting units, county rules) keep their hand weight. The scorer
   with the better cross-validated township + village accuracy is kept.
3. The kept scorer's cross-validated probabilities are calibrated by isotonic regression
   (scikit-learn) against whether the township (or county-wide) was right; the map is stored as
   knots and applied by linear interpolation.
4. The review threshold is the lowest confidence at which the items above it reached township
   accuracy ≥ 0.95 and village accuracy ≥ 0.90 in the cross-validation (rounded up to 0.05).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import sklearn
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.evaluate import calibration_error, same_township, same_village  # noqa: E402
from geo.gazetteer import load_gazetteer  # noqa: E402
from geo.geocode import ItemFeatures, place_features_of  # noqa: E402
from geo.ingest import normalise_text  # noqa: E402
from geo.items import single_item  # noqa: E402
from geo.place_features import TOWN_FEATURES, VILLAGE_FEATURES  # noqa: E402
from geo.place_scoring import LinearScorer, Model, decide  # noqa: E402

DEFAULT_CORPUS = (ROOT / "eval" / "tuning.jsonl", ROOT.parent / "shared" / "data" / "dev_bulletins.jsonl")
HAND = ROOT / "data" / "geocode" / "hand_weights.json"
OUT = ROOT / "data" / "geocode" / "model.json"
C_GRID = (0.1, 0.3, 1.0, 3.0)
FOLDS = 5
TARGET_TOWNSHIP, TARGET_VILLAGE = 0.95, 0.90


@dataclass
class Labelled:
    """One labelled item with its geocoder features."""

    id: str
    group: str
    gaz: object
    township: str | None
    village: str | None
    features: ItemFeatures


def load_corpus(paths: list[Path]) -> list[Labelled]:
    """Labelled items with features, grouped by source site."""
    out = []
    for path in paths:
        if "blind" in path.name:
            raise SystemExit(f"refusing {path}: the blind part is scored, never learned from")
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            d = json.loads(line)
            gaz = load_gazetteer(d["county"])
            items = single_item(normalise_text(d["text"]))
            if not items:
                continue
            site = d.get("site") or urlparse(d.get("source_url", "")).hostname or d["id"]
            out.append(
                Labelled(
                    d["id"], site, gaz, d.get("township"), d.get("village"),
                    place_features_of(items[0], gaz),
                )
            )
    return out


# --------------------------------------------------------------------------- rows


def town_rows(corpus: list[Labelled], idx: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Township candidate rows of the items ``idx``: features and 0/1 labels."""
    x, y = [], []
    for i in idx:
        it = corpus[i]
        for code, feats in it.features.towns.items():
            x.append([feats[k] for k in TOWN_FEATURES])
            y.append(int(bool(it.township) and same_township(it.gaz, it.township, code)))
    return np.array(x, dtype=float).reshape(-1, len(TOWN_FEATURES)), np.array(y)


def village_rows(corpus: list[Labelled], idx: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Village rows of the labelled township of the items ``idx``."""
    x, y = [], []
    for i in idx:
        it = corpus[i]
        if not it.township:
            continue
        for code, villages in it.features.villages.items():
            if not same_township(it.gaz, it.township, code):
                continue
            for vcode, feats in villages.items():
                x.append([feats[k] for k in VILLAGE_FEATURES])
                ok = bool(it.village) and same_village(it.gaz, it.village, it.township, vcode)
                y.append(int(ok))
    return np.array(x, dtype=float).reshape(-1, len(VILLAGE_FEATURES)), np.array(y)


# --------------------------------------------------------------------------- scorers


def hand_scorers() -> tuple[dict, dict]:
    """The hand-set township and village weights."""
    doc = json.loads(HAND.read_text(encoding="utf-8"))
    return doc["township"], doc["village"]


def fit(x: np.ndarray, y: np.ndarray, names: tuple[str, ...], hand: dict, *, c: float,
        min_support: int) -> dict:
    """Logistic regression on the features the rows exercise; hand weights for the rest."""
    support = (x != 0).sum(axis=0)
    learn = [j for j, n in enumerate(support) if n >= min_support]
    weights = {k: float(hand["weights"].get(k, 0.0)) for k in names}
    if len(set(y)) < 2 or not learn:
        return {"intercept": hand["intercept"], "weights": weights, "learned": []}
    lr = LogisticRegression(C=c, max_iter=5000)
    lr.fit(x[:, learn], y)
    for j, w in zip(learn, lr.coef_[0], strict=True):
        weights[names[j]] = round(float(w), 4)
    return {
        "intercept": round(float(lr.intercept_[0]), 4),
        "weights": weights,
        "learned": [names[j] for j in learn],
    }


def as_model(town: dict, village: dict) -> Model:
    """An uncalibrated model (identity calibration, no threshold) for scoring."""

    def scorer(d: dict, names: tuple[str, ...]) -> LinearScorer:
        return LinearScorer(names, tuple(d["weights"].get(k, 0.0) for k in names), d["intercept"])

    return Model(scorer(town, TOWN_FEATURES), scorer(village, VILLAGE_FEATURES), (), (), 0.0)


def outcomes(corpus: list[Labelled], idx: list[int], model: Model) -> list[tuple]:
    """``(raw probability, township right, village right)`` per item of ``idx``."""
    out = []
    for i in idx:
        it = corpus[i]
        d = decide(it.features.towns, it.features.villages, model)
        t_ok = same_township(it.gaz, it.township, d.township_code)
        v_ok = same_village(it.gaz, it.village, it.township, d.village_code)
        out.append((d.raw, t_ok, v_ok))
    return out


def cross_validated(corpus: list[Labelled], make) -> list[tuple]:
    """Out-of-fold outcomes: ``make(train_idx)`` returns a model for the held-out fold."""
    groups = [it.group for it in corpus]
    result: list[tuple | None] = [None] * len(corpus)
    for train, test in GroupKFold(n_splits=FOLDS).split(np.zeros(len(corpus)), groups=groups):
        model = make(list(train))
        for i, o in zip(test, outcomes(corpus, list(test), model), strict=True):
            result[i] = o
    return result


def learned_maker(corpus: list[Labelled], hand: tuple[dict, dict], c: float, support: int):
    def make(idx: list[int]) -> Model:
        xt, yt = town_rows(corpus, idx)
        xv, yv = village_rows(corpus, idx)
        town = fit(xt, yt, TOWN_FEATURES, hand[0], c=c, min_support=support)
        village = fit(xv, yv, VILLAGE_FEATURES, hand[1], c=c, min_support=support)
        return as_model(town, village)

    return make


def accuracy(oof: list[tuple]) -> tuple[float, float]:
    n = len(oof)
    return sum(o[1] for o in oof) / n, sum(o[2] for o in oof) / n


# --------------------------------------------------------------------------- calibration


def isotonic(raw: np.ndarray, ok: np.ndarray) -> tuple[list[float], list[float]]:
    """Isotonic map from raw probability to the rate of right answers, as knots."""
    iso = IsotonicRegression(y_min=0.02, y_max=0.99, out_of_bounds="clip", increasing=True)
    iso.fit(raw, ok.astype(float))
    xs = [round(float(v), 4) for v in iso.X_thresholds_]
    ys = [round(float(v), 4) for v in iso.y_thresholds_]
    return xs, ys


def calibrated_oof(raw: np.ndarray, ok: np.ndarray, groups: list[str]) -> np.ndarray:
    """Calibrated confidences, each from a calibration fitted without its own fold."""
    out = np.zeros(len(raw))
    for train, test in GroupKFold(n_splits=FOLDS).split(raw, groups=groups):
        xs, ys = isotonic(raw[train], ok[train])
        out[test] = np.interp(raw[test], xs, ys)
    return out


def review_threshold(conf: np.ndarray, t_ok: np.ndarray, v_ok: np.ndarray) -> float:
    """The lowest threshold (step 0.05) whose unflagged items meet both accuracy targets."""
    for tau in np.arange(0.05, 1.0, 0.05):
        keep = conf >= tau
        if keep.sum() and t_ok[keep].mean() >= TARGET_TOWNSHIP and (
            v_ok[keep].mean() >= TARGET_VILLAGE
        ):
            return round(float(tau), 2)
    return 0.95


def at_threshold(conf, t_ok, v_ok, tau) -> dict:
    keep = conf >= tau
    n = max(1, int(keep.sum()))
    return {
        "coverage": round(float(keep.mean()), 3),
        "township_accuracy": round(float(t_ok[keep].sum() / n), 3),
        "village_accuracy": round(float(v_ok[keep].sum() / n), 3),
    }


# --------------------------------------------------------------------------- main


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", type=Path)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--min-support", type=int, default=5)
    args = ap.parse_args(argv)
    paths = args.paths or [p for p in DEFAULT_CORPUS if p.exists()]
    corpus = load_corpus(paths)
    groups = [it.group for it in corpus]
    hand = hand_scorers()
    report: dict = {"hand": accuracy(cross_validated(corpus, lambda idx: as_model(*hand)))}
    best_c, best = None, None
    for c in C_GRID:
        oof = cross_validated(corpus, learned_maker(corpus, hand, c, args.min_support))
        report[f"learned C={c}"] = accuracy(oof)
        if best is None or sum(accuracy(oof)) > sum(accuracy(best)):
            best_c, best = c, oof
    hand_oof = cross_validated(corpus, lambda idx: as_model(*hand))
    use_learned = sum(accuracy(best)) > sum(accuracy(hand_oof))
    chosen_oof = best if use_learned else hand_oof
    everything = list(range(len(corpus)))
    if use_learned:
        xt, yt = town_rows(corpus, everything)
        xv, yv = village_rows(corpus, everything)
        town = fit(xt, yt, TOWN_FEATURES, hand[0], c=best_c, min_support=args.min_support)
        village = fit(xv, yv, VILLAGE_FEATURES, hand[1], c=best_c, min_support=args.min_support)
    else:
        town, village = ({**h, "learned": []} for h in hand)
    raw = np.array([o[0] for o in chosen_oof])
    t_ok = np.array([o[1] for o in chosen_oof], dtype=bool)
    v_ok = np.array([o[2] for o in chosen_oof], dtype=bool)
    xs, ys = isotonic(raw, t_ok)
    conf = calibrated_oof(raw, t_ok, groups)
    tau = review_threshold(conf, t_ok, v_ok)
    doc = {
        "_comment": (
            "Geocoder scorer and calibration, built by tools/build_geocode_model.py; do not "
            "edit by hand (edit data/geocode/hand_weights.json or the corpus and rebuild)."
        ),
        "scorer": "learned" if use_learned else "hand",
        "township": town,
        "village": village,
        "calibration": {"method": "isotonic (scikit-learn), cross-validated raw", "x": xs, "y": ys},
        "review_threshold": tau,
        "provenance": {
            "built": date.today().isoformat(),
            "commit": _commit(),
            "corpus": [str(p.relative_to(ROOT.parent)) for p in paths],
            "items": len(corpus),
            "sites": len(set(groups)),
            "scikit_learn": sklearn.__version__,
            "cross_validation": f"GroupKFold({FOLDS}) by source site",
            "min_support": args.min_support,
            "C": best_c if use_learned else None,
            "accuracy_township_village": {k: [round(a, 3) for a in v] for k, v in report.items()},
            "ece_raw": round(calibration_error(raw, t_ok), 3),
            "ece_calibrated": round(calibration_error(conf, t_ok), 3),
            "at_threshold": at_threshold(conf, t_ok, v_ok, tau),
        },
    }
    args.out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(doc["provenance"], ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
