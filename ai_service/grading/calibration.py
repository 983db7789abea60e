"""The calibration model of the semantic grader: logistic regression on standardised features.

    p = sigmoid(intercept + sum_i w_i * (x_i - mean_i) / scale_i),   score = 10 * p

Fitted (numpy, Newton's method, L2 penalty on the weights only) on the `train` splits of the
human-graded sets with soft targets y = score / score_max in [0, 1]. The weights are shared by all
sets; each set gets its own intercept while fitting, because the sets grade with different
strictness (a "correct" in one corpus is a lenient partial credit in another). Without that the
shared weights bend to explain the sets' base rates. Each set carries equal total weight in the fit.

The `default` profile is what a new team gets before any review. Its intercept is the one whose
scores are closest to the human ones for a typical set: it minimises the mean over the sets of
each set's RMSE (each set standing for a team with its own strictness), on the train splits.
(semantic-1 shipped the mean of the set intercepts; through the sigmoid that sat on the harsh
side: good answers scored 5-6 of 10.) A benchmark may use a set's own intercept, which was also
fitted on that set's train split only.

The fitted parameters live in `semantic_calibration.json` beside this file; `bench/fit_grader.py`
rewrites it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

PARAMS_PATH = Path(__file__).resolve().parent / "semantic_calibration.json"
DEFAULT_PROFILE = "default"


@dataclass(frozen=True)
class Calibration:
    grader_version: str
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    intercepts: Mapping[str, float]
    l2: float = 1.0
    fitted_on: Mapping[str, object] = field(default_factory=dict)

    def intercept(self, profile: str | None = None) -> float:
        return float(self.intercepts.get(profile or DEFAULT_PROFILE, self.intercepts[DEFAULT_PROFILE]))

    def logit(self, values: Mapping[str, float], profile: str | None = None) -> float:
        x = np.array([values[name] for name in self.features], dtype=np.float64)
        z = (x - np.array(self.mean)) / np.array(self.scale)
        return float(self.intercept(profile) + z @ np.array(self.weights))

    def probability(self, values: Mapping[str, float], profile: str | None = None) -> float:
        return sigmoid(self.logit(values, profile))

    def contributions(self, values: Mapping[str, float]) -> dict[str, float]:
        """Each feature's share of the logit (weight times standardised value), for provenance."""
        return {
            name: round(w * (values[name] - m) / s, 4)
            for name, w, m, s in zip(self.features, self.weights, self.mean, self.scale, strict=True)
        }

    def to_json(self) -> dict[str, object]:
        return {
            "grader_version": self.grader_version,
            "model": "logistic regression on standardised features; score = 10 * sigmoid(logit)",
            "features": list(self.features),
            "mean": [round(v, 6) for v in self.mean],
            "scale": [round(v, 6) for v in self.scale],
            "weights": [round(v, 6) for v in self.weights],
            "intercepts": {k: round(v, 6) for k, v in self.intercepts.items()},
            "l2": self.l2,
            "fitted_on": dict(self.fitted_on),
        }


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def from_json(data: Mapping[str, object]) -> Calibration:
    def floats(key: str) -> tuple[float, ...]:
        raw = data[key]
        assert isinstance(raw, list)
        return tuple(float(v) for v in raw)

    features = data["features"]
    intercepts = data["intercepts"]
    fitted_on = data.get("fitted_on", {})
    assert isinstance(features, list) and isinstance(intercepts, dict) and isinstance(fitted_on, dict)
    return Calibration(
        grader_version=str(data["grader_version"]),
        features=tuple(str(f) for f in features),
        mean=floats("mean"),
        scale=floats("scale"),
        weights=floats("weights"),
        intercepts={str(k): float(v) for k, v in intercepts.items()},
        l2=float(data.get("l2", 1.0)),  # type: ignore[arg-type]
        fitted_on=fitted_on,
    )


@lru_cache(maxsize=4)
def load(path: Path = PARAMS_PATH) -> Calibration:
    return from_json(json.loads(path.read_text(encoding="utf-8")))


def save(calibration: Calibration, path: Path = PARAMS_PATH) -> None:
    path.write_text(json.dumps(calibration.to_json(), indent=2) + "\n", encoding="utf-8")
    load.cache_clear()


def _typical_intercept(
    shared: np.ndarray, y: np.ndarray, group_index: np.ndarray, n_groups: int, intercepts: Iterable[float]
) -> float:
    """The intercept minimising the mean over groups of each group's RMSE (a 0.01 grid between the
    groups' own intercepts; the curve is smooth and flat near its minimum)."""
    values = list(intercepts)
    grid = np.arange(min(values), max(values) + 0.005, 0.01)
    best, best_loss = float(np.mean(values)), math.inf
    for b in grid:
        p = 1.0 / (1.0 + np.exp(-(shared + b)))
        loss = np.mean([np.sqrt(np.mean((p[group_index == g] - y[group_index == g]) ** 2)) for g in range(n_groups)])
        if loss < best_loss:
            best, best_loss = float(b), float(loss)
    return best


def fit(
    x: np.ndarray,
    y: np.ndarray,
    groups: Sequence[str],
    features: Sequence[str],
    grader_version: str,
    l2: float = 1.0,
    iterations: int = 50,
    fitted_on: Mapping[str, object] | None = None,
) -> Calibration:
    """Fit shared weights and one intercept per group (data set); soft targets y in [0, 1]."""
    x = np.asarray(x, dtype=np.float64)
    y = np.clip(np.asarray(y, dtype=np.float64), 0.0, 1.0)
    names = sorted(set(groups))
    group_index = np.array([names.index(g) for g in groups])
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    dummies = np.eye(len(names))[group_index]
    design = np.hstack([z, dummies])
    # Every group weighs the same in total, whatever its size.
    counts = np.bincount(group_index, minlength=len(names)).astype(np.float64)
    sample_weight = (len(y) / len(names)) / counts[group_index]
    d = z.shape[1]
    penalty = np.zeros(design.shape[1])
    penalty[:d] = l2
    beta = np.zeros(design.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        gradient = design.T @ (sample_weight * (p - y)) + penalty * beta
        hessian = (design * (sample_weight * p * (1 - p))[:, None]).T @ design + np.diag(penalty + 1e-8)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    intercepts = {name: float(beta[d + i]) for i, name in enumerate(names)}
    intercepts[DEFAULT_PROFILE] = _typical_intercept(z @ beta[:d], y, group_index, len(names), intercepts.values())
    return Calibration(
        grader_version=grader_version,
        features=tuple(features),
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        weights=tuple(float(v) for v in beta[:d]),
        intercepts=intercepts,
        l2=l2,
        fitted_on=dict(fitted_on or {}),
    )
