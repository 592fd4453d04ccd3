"""Scoring and deciding: which candidate wins, how sure that is, and why.

The last stages of the geocoder (:mod:`geo.geocode`). A linear scorer turns each candidate's
features (:mod:`geo.place_features`) into a log-odds ``z`` that it is the item's place; the
weights live in ``data/geocode/model.json``, rebuilt by ``tools/build_geocode_model.py`` from
the labelled tuning corpus (see ``data/geocode/SOURCES.md``). The options of an item — each
candidate township and *county-wide* (utility 0) — share one softmax, the most probable one is
the decision, and its probability, calibrated on the tuning corpus (isotonic, fitted on
cross-validated predictions), is the item's ``confidence``: the estimated probability that its
township, or county-wide, is right. Items below ``review_threshold`` need review. Within the
chosen township its villages and *no single village* compete the same way.

Every decision is explained: the features that pushed the winner (or, for a county-wide item,
held back the strongest township) with their weighted contributions, in Chinese.
"""

from __future__ import annotations

import bisect
import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from geo.errors import GeoInputError
from geo.paths import data_dir
from geo.place_features import FEATURE_NAMES_ZH, TOWN_FEATURES, VILLAGE_FEATURES

__all__ = [
    "MODEL_PATH",
    "Decision",
    "LinearScorer",
    "Model",
    "Option",
    "decide",
    "explain",
    "load_model",
]

MODEL_PATH = data_dir() / "geocode" / "model.json"
_EXPLAIN_TOP = 3


@dataclass(frozen=True)
class LinearScorer:
    """``z = intercept + sum(weights[k] * features[k])``."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    intercept: float

    def z(self, feats: dict[str, float]) -> float:
        """The log-odds of one candidate."""
        return self.intercept + sum(
            w * feats[k] for k, w in zip(self.features, self.weights, strict=True)
        )

    def contributions(self, feats: dict[str, float]) -> list[tuple[str, float]]:
        """Non-zero ``(feature, weight * value)``, largest magnitude first."""
        out = [
            (k, w * feats[k])
            for k, w in zip(self.features, self.weights, strict=True)
            if w * feats[k]
        ]
        return sorted(out, key=lambda kv: -abs(kv[1]))


@dataclass(frozen=True)
class Model:
    """Both scorers, the calibration and the review threshold.

    Calibration is ``platt`` (``sigmoid(a * logit(raw) + b)``, ``platt = (a, b)``),
    ``isotonic`` (piecewise linear through the knots ``calibration_x``/``calibration_y``) or
    none (the raw probability). An item that names no place of the county gets
    ``no_candidates`` (how often such items were right), when the model has it.
    """

    township: LinearScorer
    village: LinearScorer
    calibration_x: tuple[float, ...]
    calibration_y: tuple[float, ...]
    review_threshold: float
    scorer: str = "learned"
    platt: tuple[float, float] | None = None
    no_candidates: float | None = None

    def calibrate(self, raw: float) -> float:
        """The calibrated probability of a raw softmax probability."""
        if self.platt is not None:
            p = min(max(raw, 1e-6), 1 - 1e-6)
            a, b = self.platt
            return 1.0 / (1.0 + math.exp(-(a * math.log(p / (1 - p)) + b)))
        xs, ys = self.calibration_x, self.calibration_y
        if not xs:
            return raw
        if raw <= xs[0]:
            return ys[0]
        if raw >= xs[-1]:
            return ys[-1]
        k = bisect.bisect_right(xs, raw)
        x0, x1, y0, y1 = xs[k - 1], xs[k], ys[k - 1], ys[k]
        return y0 + (y1 - y0) * (raw - x0) / (x1 - x0) if x1 > x0 else y1


def _scorer(d: dict, names: tuple[str, ...], what: str) -> LinearScorer:
    weights = d.get("weights", {})
    unknown = set(weights) - set(names)
    if unknown:
        raise GeoInputError(
            f"定位模型文件有未知的{what}特征 {sorted(unknown)}："
            "请用 tools/build_geocode_model.py 重新生成",
            code="geocode.model",
        )
    return LinearScorer(
        names, tuple(float(weights.get(k, 0.0)) for k in names), float(d.get("intercept", 0.0))
    )


def model_from_dict(doc: dict) -> Model:
    """A :class:`Model` from the JSON document of ``model.json``."""
    cal = doc.get("calibration", {})
    xs, ys = tuple(map(float, cal.get("x", ()))), tuple(map(float, cal.get("y", ())))
    if len(xs) != len(ys) or list(xs) != sorted(xs):
        raise GeoInputError(
            "定位模型文件的校准表有误（x 须递增且与 y 等长）：请重新生成模型",
            code="geocode.model",
        )
    platt = cal.get("platt")
    none_found = cal.get("no_candidates")
    return Model(
        platt=(float(platt[0]), float(platt[1])) if platt else None,
        no_candidates=float(none_found) if none_found is not None else None,
        township=_scorer(doc["township"], TOWN_FEATURES, "乡镇"),
        village=_scorer(doc["village"], VILLAGE_FEATURES, "村"),
        calibration_x=xs,
        calibration_y=ys,
        review_threshold=float(doc["review_threshold"]),
        scorer=str(doc.get("scorer", "learned")),
    )


@functools.lru_cache(maxsize=4)
def load_model(path: str | Path | None = None) -> Model:
    """The geocoder's model (default ``data/geocode/model.json``), cached.

    Raises
    ------
    GeoInputError
        The file is missing or not a model.
    """
    p = Path(path) if path else MODEL_PATH
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
        return model_from_dict(doc)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GeoInputError(f"无法读取定位模型文件 {p}：{exc}", code="geocode.model") from None


# --------------------------------------------------------------------------- deciding


@dataclass(frozen=True)
class Option:
    """One answer an item may get: a township (with or without a village) or county-wide."""

    township_code: str | None
    village_code: str | None
    probability: float


@dataclass
class Decision:
    """The chosen answer, its raw and calibrated probability, the others, and why."""

    township_code: str | None
    village_code: str | None
    raw: float
    confidence: float
    needs_review: bool
    options: list[Option] = field(default_factory=list)
    why: str = ""
    village_raw: float = 1.0


def _softmax_with_null(zs: dict[str, float]) -> tuple[dict[str, float], float]:
    """Probabilities of each key and of the null option (utility 0)."""
    top = max([0.0, *zs.values()])
    exps = {k: math.exp(z - top) for k, z in zs.items()}
    null = math.exp(-top)
    total = null + sum(exps.values())
    return {k: v / total for k, v in exps.items()}, null / total


def decide(
    town_feats: dict[str, dict[str, float]],
    village_feats: dict[str, dict[str, dict[str, float]]],
    model: Model,
) -> Decision:
    """Choose the township (or county-wide) and, inside it, the village (or none).

    Parameters
    ----------
    town_feats : dict
        ``{township code: features}``.
    village_feats : dict
        ``{township code: {village code: features}}``.
    model : Model

    Returns
    -------
    Decision
    """
    z = {c: model.township.z(f) for c, f in town_feats.items()}
    p_town, p_county = _softmax_with_null(z)
    best = max(p_town, key=p_town.get) if p_town else None
    chosen = best if best is not None and p_town[best] > p_county else None
    raw = p_town[chosen] if chosen else p_county
    options = [Option(None, None, p_county)]
    village, village_raw = None, 1.0
    for code, p in p_town.items():
        vz = {v: model.village.z(f) for v, f in village_feats.get(code, {}).items()}
        p_vil, p_none = _softmax_with_null(vz)
        top_v = max(p_vil, key=p_vil.get) if p_vil else None
        if top_v is not None and p_vil[top_v] > p_none:
            options.append(Option(code, top_v, p * p_vil[top_v]))
            options.append(Option(code, None, p * p_none))
        else:
            options.append(Option(code, None, p * p_none))
            if top_v is not None:
                options.append(Option(code, top_v, p * p_vil[top_v]))
        if code == chosen:
            village_raw = max([p_none, *p_vil.values()])
            if top_v is not None and p_vil[top_v] > p_none:
                village = top_v
    confidence = model.calibrate(raw)
    if not town_feats and model.no_candidates is not None:
        confidence = model.no_candidates  # nothing of the county named: how often that is right
    ranked = sorted(options, key=lambda o: -o.probability)
    return Decision(
        township_code=chosen,
        village_code=village,
        raw=raw,
        confidence=confidence,
        needs_review=confidence < model.review_threshold,
        options=ranked,
        village_raw=village_raw,
    )


def explain(feats: dict[str, float], scorer: LinearScorer, *, top: int = _EXPLAIN_TOP) -> str:
    """The strongest weighted features, e.g. ``标题提及 +2.1、列举之一 −0.8``."""
    parts = []
    for k, c in scorer.contributions(feats)[:top]:
        parts.append(f"{FEATURE_NAMES_ZH.get(k, k)} {c:+.1f}".replace("-", "−"))
    return "、".join(parts)
