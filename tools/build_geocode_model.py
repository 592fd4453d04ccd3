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
2. Scorers are compared by cross-validation grouped by source site (no site in both the
   training and the scored folds, as in the blind split), repeated with the sites shuffled
   three times: the hand-set weights of ``data/geocode/hand_weights.json``; scikit-learn
   logistic regressions (L2, several strengths; features the corpus exercises fewer than
   ``--min-support`` times keep their hand weight); and logistic regressions whose weights are
   pulled towards the hand weights instead of towards zero (a Gaussian prior, fitted with
   SciPy; several strengths). The one with the best mean township accuracy + village accuracy
   + coverage at the targets (the largest share of most-probable items whose township accuracy
   is ≥ 0.95 and village accuracy ≥ 0.90) is kept.
3. The kept scorer's cross-validated probabilities are calibrated against whether the
   township (or county-wide) was right: Platt scaling (a scikit-learn logistic regression on
   the log-odds) or isotonic regression (scikit-learn), whichever has the lower calibration
   error when itself cross-validated. Items that name no place of the county are not part of
   that fit: their confidence is how often such items were right (add-one smoothed).
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
from scipy.optimize import minimize
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.evaluate import calibration_error, same_township, same_village  # noqa: E402
from geo.gazetteer import load_gazetteer  # noqa: E402
from geo.geocode import ItemFeatures, place_features_of  # noqa: E402
from geo.items import single_item  # noqa: E402
from geo.models import Item  # noqa: E402
from geo.normalise import normalise_text  # noqa: E402
from geo.place_features import TOWN_FEATURES, VILLAGE_FEATURES  # noqa: E402
from geo.place_scoring import LinearScorer, Model, decide  # noqa: E402

DEFAULT_CORPUS = (
    ROOT / "eval" / "tuning.jsonl",
    ROOT.parent / "shared" / "data" / "dev_bulletins.jsonl",
)
HAND = ROOT / "data" / "geocode" / "hand_weights.json"
BEHAVIOURS = ROOT / "data" / "geocode" / "behaviours.jsonl"
OUT = ROOT / "data" / "geocode" / "model.json"
C_GRID = (0.1, 0.3, 1.0, 3.0)
STRENGTHS = (0.3, 1.0, 3.0)
SEEDS = (0, 1, 2)
FOLDS = 5
TARGET_TOWNSHIP, TARGET_VILLAGE = 0.95, 0.90
METHODS = ("platt", "isotonic")


@dataclass
class Labelled:
    """One labelled item with its geocoder features.

    ``spec`` items come from ``data/geocode/behaviours.jsonl``: they are always trained on and
    never scored. A label ``"*"`` is not checked (no rows are made from it).
    """

    id: str
    group: str
    gaz: object
    township: str | None
    village: str | None
    features: ItemFeatures
    spec: bool = False
    train: bool = True


def load_behaviours(path: Path = BEHAVIOURS, *, train: bool = False) -> list[Labelled]:
    """The project's specification sentences (fictional texts about real places).

    With ``train`` they are learned from; otherwise they are only checked (their labels become
    ``"*"`` for the fit, so they make no rows).
    """
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        gaz = load_gazetteer(d["county"])
        item = Item(index=0, headline=d["headline"], body=d["body"], unit=d.get("unit"))
        features = place_features_of(item, gaz)
        out.append(
            Labelled(d["id"], "behaviours", gaz, d["township"], d["village"], features, True, train)
        )
    return out


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
                    d["id"],
                    site,
                    gaz,
                    d.get("township"),
                    d.get("village"),
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
        if it.township == "*" or not it.train:
            continue
        for code, feats in it.features.towns.items():
            x.append([feats[k] for k in TOWN_FEATURES])
            y.append(int(bool(it.township) and same_township(it.gaz, it.township, code)))
    return np.array(x, dtype=float).reshape(-1, len(TOWN_FEATURES)), np.array(y)


def village_rows(corpus: list[Labelled], idx: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Village rows of the labelled township of the items ``idx``."""
    x, y = [], []
    for i in idx:
        it = corpus[i]
        if not it.township or "*" in (it.township, it.village) or not it.train:
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


def fit(
    x: np.ndarray, y: np.ndarray, names: tuple[str, ...], hand: dict, *, c: float, min_support: int
) -> dict:
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


def fit_with_prior(
    x: np.ndarray, y: np.ndarray, names: tuple[str, ...], hand: dict, *, strength: float
) -> dict:
    """Logistic regression whose weights are pulled towards the hand weights, not to zero.

    Minimises the log loss plus ``strength / 2 * |w - w_hand|^2`` (a Gaussian prior centred on
    the hand weights). Where the corpus says little (a role seen a few times, a reporting unit
    never), a weight stays near its hand value; where it says much, it moves.
    """
    w0 = np.array([float(hand["weights"].get(k, 0.0)) for k in names])
    b0 = float(hand["intercept"])

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        z = x @ w + b
        p = 1 / (1 + np.exp(-z))
        value = float(np.sum(np.logaddexp(0, z) - y * z) + strength / 2 * np.sum((w - w0) ** 2))
        grad = np.append(x.T @ (p - y) + strength * (w - w0), np.sum(p - y))
        return value, grad

    res = minimize(loss, np.append(w0, b0), jac=True, method="L-BFGS-B")
    w, b = res.x[:-1], res.x[-1]
    return {
        "intercept": round(float(b), 4),
        "weights": {k: round(float(v), 4) for k, v in zip(names, w, strict=True)},
        "learned": list(names),
    }


def prior_maker(corpus: list[Labelled], hand: tuple[dict, dict], strength: float):
    def make(idx: list[int]) -> Model:
        xt, yt = town_rows(corpus, idx)
        xv, yv = village_rows(corpus, idx)
        town = fit_with_prior(xt, yt, TOWN_FEATURES, hand[0], strength=strength)
        village = fit_with_prior(xv, yv, VILLAGE_FEATURES, hand[1], strength=strength)
        return as_model(town, village)

    return make


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
        out.append((d.raw, t_ok, v_ok, d.village_raw, bool(it.features.towns)))
    return out


def folds(groups: list[str], seed: int) -> list[tuple[list[int], list[int]]]:
    """``FOLDS`` train/test splits with whole groups (sites) on one side; ``seed`` 0 is
    scikit-learn's GroupKFold, other seeds shuffle the sites first."""
    idx = np.zeros(len(groups))
    if seed == 0:
        return [(list(a), list(b)) for a, b in GroupKFold(n_splits=FOLDS).split(idx, groups=groups)]
    rng = np.random.default_rng(seed)
    sites = sorted(set(groups))
    fold_of = dict(zip(sites, rng.permutation(len(sites)) % FOLDS, strict=True))
    out = []
    for k in range(FOLDS):
        test = [i for i, g in enumerate(groups) if fold_of[g] == k]
        train = [i for i, g in enumerate(groups) if fold_of[g] != k]
        out.append((train, test))
    return out


def cross_validated(corpus: list[Labelled], make, seed: int = 0) -> list[tuple]:
    """Out-of-fold outcomes of the real items (specification items are always trained on):
    ``make(train_idx)`` returns a model for the held-out fold."""
    real = [i for i, it in enumerate(corpus) if not it.spec]
    spec = [i for i, it in enumerate(corpus) if it.spec]
    result: dict[int, tuple] = {}
    for train, test in folds([corpus[i].group for i in real], seed):
        train = [real[k] for k in train] + spec
        test = [real[k] for k in test]
        model = make(train)
        for i, o in zip(test, outcomes(corpus, test, model), strict=True):
            result[i] = o
    return [result[i] for i in real]


def behaviours_met(corpus: list[Labelled], model: Model) -> tuple[int, int]:
    """How many specification items the model places as specified (``*`` = any)."""
    spec = [it for it in corpus if it.spec]
    met = 0
    for it in spec:
        d = decide(it.features.towns, it.features.villages, model)
        t_ok = it.township == "*" or same_township(it.gaz, it.township, d.township_code)
        v_ok = it.village == "*" or same_village(it.gaz, it.village, it.township, d.village_code)
        met += t_ok and v_ok
    return met, len(spec)


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


def coverage_at_targets(oof: list[tuple]) -> float:
    """The largest share of items, most probable first, that still meets both targets."""
    ranked = sorted(oof, key=lambda o: -o[0])
    best, t_ok, v_ok = 0.0, 0, 0
    for n, o in enumerate(ranked, 1):
        t_ok, v_ok = t_ok + o[1], v_ok + o[2]
        if t_ok / n >= TARGET_TOWNSHIP and v_ok / n >= TARGET_VILLAGE:
            best = n / len(ranked)
    return best


#: What a scorer is chosen by (their sum, averaged over repeated cross-validations).
_FIGURES = (
    lambda oof: accuracy(oof)[0],
    lambda oof: accuracy(oof)[1],
    coverage_at_targets,
)


# --------------------------------------------------------------------------- calibration


def _logit(raw: np.ndarray) -> np.ndarray:
    p = np.clip(raw, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def fit_calibration(method: str, raw: np.ndarray, ok: np.ndarray) -> dict:
    """A calibration of raw probabilities against right answers, as stored in the model."""
    if method == "platt":
        lr = LogisticRegression(C=10.0, max_iter=1000)
        lr.fit(_logit(raw)[:, None], ok.astype(int))
        return {
            "method": "platt",
            "platt": [round(float(lr.coef_[0][0]), 4), round(float(lr.intercept_[0]), 4)],
        }
    iso = IsotonicRegression(y_min=0.02, y_max=0.99, out_of_bounds="clip", increasing=True)
    iso.fit(raw, ok.astype(float))
    xs = [round(float(v), 4) for v in iso.X_thresholds_]
    ys = [round(float(v), 4) for v in iso.y_thresholds_]
    return {"method": "isotonic", "x": xs, "y": ys}


def apply_calibration(cal: dict, raw: np.ndarray) -> np.ndarray:
    if cal["method"] == "platt":
        a, b = cal["platt"]
        return 1 / (1 + np.exp(-(a * _logit(raw) + b)))
    return np.interp(raw, cal["x"], cal["y"])


def no_candidate_rate(ok: np.ndarray) -> float:
    """How often an item that names no place of the county is right to be county-wide
    (add-one smoothed: never 1.0 from a few items)."""
    return float((ok.sum() + 1) / (len(ok) + 2))


def calibrated_oof(method: str, raw, ok, groups: list[str], found) -> np.ndarray:
    """Calibrated confidences, each from a calibration fitted without its own fold; items
    with no candidate get the rate of right answers of such items in the other folds."""
    out = np.zeros(len(raw))
    for train, test in GroupKFold(n_splits=FOLDS).split(raw, groups=groups):
        tr = train[found[train]]
        cal = fit_calibration(method, raw[tr], ok[tr])
        rate = no_candidate_rate(ok[train[~found[train]]])
        out[test] = np.where(found[test], apply_calibration(cal, raw[test]), rate)
    return out


def review_threshold(conf: np.ndarray, t_ok: np.ndarray, v_ok: np.ndarray) -> float:
    """The lowest threshold (step 0.05) whose unflagged items meet both accuracy targets."""
    for tau in np.arange(0.05, 1.0, 0.05):
        keep = conf >= tau
        if (
            keep.sum()
            and t_ok[keep].mean() >= TARGET_TOWNSHIP
            and (v_ok[keep].mean() >= TARGET_VILLAGE)
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


def _relative(path: Path) -> str:
    path = path.resolve()
    if path.is_relative_to(ROOT):
        return str(path.relative_to(ROOT))
    return (
        "../" + str(path.relative_to(ROOT.parent))
        if path.is_relative_to(ROOT.parent)
        else path.name
    )


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return ""


def compare_scorers(corpus: list[Labelled], hand: tuple[dict, dict], min_support: int):
    """Cross-validated figures of every scorer, and their out-of-fold outcomes."""
    scorers = {"hand": lambda idx: as_model(*hand)}
    scorers.update({f"prior strength={k}": prior_maker(corpus, hand, k) for k in STRENGTHS})
    scorers.update({f"sklearn C={c}": learned_maker(corpus, hand, c, min_support) for c in C_GRID})
    report, runs = {}, {}
    for name, make in scorers.items():
        runs[name] = [cross_validated(corpus, make, seed) for seed in SEEDS]
        report[name] = [float(np.mean([f(r) for r in runs[name]])) for f in _FIGURES]
    return report, runs


def fit_chosen(corpus: list[Labelled], chosen: str, hand: tuple[dict, dict], min_support: int):
    """The chosen scorer fitted on every item (real and specification)."""
    everything = list(range(len(corpus)))
    xt, yt = town_rows(corpus, everything)
    xv, yv = village_rows(corpus, everything)
    if chosen.startswith("prior"):
        k = float(chosen.split("=")[1])
        town = fit_with_prior(xt, yt, TOWN_FEATURES, hand[0], strength=k)
        village = fit_with_prior(xv, yv, VILLAGE_FEATURES, hand[1], strength=k)
    elif chosen.startswith("sklearn"):
        c = float(chosen.split("=")[1])
        town = fit(xt, yt, TOWN_FEATURES, hand[0], c=c, min_support=min_support)
        village = fit(xv, yv, VILLAGE_FEATURES, hand[1], c=c, min_support=min_support)
    else:
        town, village = ({**h, "learned": []} for h in hand)
    return town, village


def calibrate(oof: list[tuple], groups: list[str]) -> tuple[dict, float, dict]:
    """The calibration with the lower cross-validated error, the review threshold and the
    figures behind them."""
    raw = np.array([o[0] for o in oof])
    t_ok = np.array([o[1] for o in oof], dtype=bool)
    v_ok = np.array([o[2] for o in oof], dtype=bool)
    found = np.array([o[4] for o in oof], dtype=bool)
    ece = {m: calibration_error(calibrated_oof(m, raw, t_ok, groups, found), t_ok) for m in METHODS}
    method = min(ece, key=ece.get)
    conf = calibrated_oof(method, raw, t_ok, groups, found)
    tau = review_threshold(conf, t_ok, v_ok)
    figures = {
        "ece_raw": round(calibration_error(raw, t_ok), 3),
        "ece_cross_validated": {m: round(e, 3) for m, e in ece.items()},
        "at_threshold": at_threshold(conf, t_ok, v_ok, tau),
    }
    calibration = fit_calibration(method, raw[found], t_ok[found])
    calibration["no_candidates"] = round(no_candidate_rate(t_ok[~found]), 4)
    return calibration, tau, figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", type=Path)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--min-support", type=int, default=5)
    ap.add_argument(
        "--train-on-behaviours",
        action="store_true",
        help="also learn from the specification sentences (default: only check them)",
    )
    args = ap.parse_args(argv)
    paths = args.paths or [p for p in DEFAULT_CORPUS if p.exists()]
    corpus = load_corpus(paths) + load_behaviours(train=args.train_on_behaviours)
    groups = [it.group for it in corpus if not it.spec]
    hand = hand_scorers()
    report, runs = compare_scorers(corpus, hand, args.min_support)
    chosen = max(report, key=lambda name: sum(report[name]))
    town, village = fit_chosen(corpus, chosen, hand, args.min_support)
    calibration, tau, figures = calibrate(runs[chosen][0], groups)
    met = behaviours_met(corpus, as_model(town, village))
    doc = {
        "_comment": (
            "Geocoder scorer and calibration, built by tools/build_geocode_model.py; do not "
            "edit by hand (edit data/geocode/hand_weights.json or the corpus and rebuild)."
        ),
        "scorer": chosen,
        "township": town,
        "village": village,
        "calibration": calibration,
        "review_threshold": tau,
        "provenance": {
            "built": date.today().isoformat(),
            "commit": _commit(),
            "corpus": [_relative(p) for p in paths],
            "items": len(groups),
            "sites": len(set(groups)),
            "specification_items": f"{_relative(BEHAVIOURS)} ({met[1]}, always trained on)",
            "specification_met": f"{met[0]}/{met[1]}",
            "scikit_learn": sklearn.__version__,
            "cross_validation": f"GroupKFold({FOLDS}) by source site, {len(SEEDS)} repeats",
            "min_support": args.min_support,
            "township_village_coverage_at_targets": {
                k: [round(a, 3) for a in v] for k, v in report.items()
            },
            **figures,
        },
    }
    args.out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(doc["provenance"], ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
