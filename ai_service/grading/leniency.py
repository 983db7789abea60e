"""A team's leniency: a monotone map from the grader's score to the team's, fitted on reviewed answers.

Every team grades to its own standard. Across the answers a team has reviewed, pairs of (the
grader's zero-shot score, the reviewer's score) show how its scale relates to the grader's. The
fit is isotonic regression (pool adjacent violators, numpy only): the best non-decreasing map in
least squares, so a better answer in the grader's eyes never gets a lower team score. Not
scipy.optimize.isotonic_regression, though a test holds ours to it: scipy's agrees to 1e-15, not
to the last bit, and a knot's rounded value is part of a leniency's version and of the grading
bench's figures, which must not move with a library's summation order. It is
centred (Oron and Flournoy 2017): one knot per pooled block at the mean grader score of its pairs,
linear in between, so the map does not tie all the answers of a block the way the raw step
function does. With few pairs an isotonic fit is jumpy, so it is blended with the identity:

    L(x) = w * iso(x) + (1 - w) * x,     w = n / (n + prior_pairs)

(outside the first and last knot iso is flat). The result is piecewise linear through a few
knots, strictly increasing while w < 1, serialisable to JSON and versioned by a hash of its knots
(`ai_service.types.Leniency`). It is specific to one grader: `grader_version` records which, and
the embedded provider applies it only to that grader's scores.

    leniency = fit_leniency([(zero_shot, reviewer), ...])
    leniency.apply(6.2), leniency.version, Leniency.from_json(leniency.to_json())
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..types import Leniency
from . import semantic

__all__ = ["Leniency", "apply_many", "fit_leniency", "identity", "isotonic"]

# Pairs' worth of trust in the identity map (see the module docstring). bench/fit_grader.py
# --fewshot chooses it on the train splits and stores it in fewshot_params.json, which wins.
DEFAULT_PRIOR_PAIRS = 20.0


def isotonic(x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Weighted isotonic (non-decreasing) least-squares fit by pool adjacent violators.

    Returns (unique x ascending, fitted value at each). Ties in x are pooled first.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(y) if weight is None else np.asarray(weight, dtype=np.float64)
    if x.shape != y.shape or x.shape != w.shape or x.ndim != 1:
        raise ValueError("x, y and weight must be 1-d arrays of one length")
    if x.size == 0:
        return x, y
    ux, inverse = np.unique(x, return_inverse=True)
    sum_w = np.bincount(inverse, weights=w)
    mean = np.bincount(inverse, weights=w * y) / np.maximum(sum_w, 1e-12)
    values: list[float] = []
    weights: list[float] = []
    counts: list[int] = []
    for v, wt in zip(mean.tolist(), sum_w.tolist(), strict=True):
        values.append(v)
        weights.append(wt)
        counts.append(1)
        while len(values) > 1 and values[-2] > values[-1]:
            v2, w2, c2 = values.pop(), weights.pop(), counts.pop()
            total = weights[-1] + w2
            values[-1] = (values[-1] * weights[-1] + v2 * w2) / total
            weights[-1] = total
            counts[-1] += c2
    return ux, np.repeat(np.array(values), counts)


def identity(grader_version: str = semantic.VERSION) -> Leniency:
    """The map that changes nothing (no reviews yet)."""
    return Leniency(knots=((0.0, 0.0), (10.0, 10.0)), grader_version=grader_version, pairs=0)


def default_prior_pairs() -> float:
    from . import fewshot  # the fitted value, when fewshot_params.json has one

    try:
        return fewshot.load_params().leniency_prior_pairs
    except (OSError, ValueError, KeyError):
        return DEFAULT_PRIOR_PAIRS


def fit_leniency(
    pairs: Iterable[tuple[float | None, float]],
    grader_version: str = semantic.VERSION,
    prior_pairs: float | None = None,
) -> Leniency:
    """Fit a team's leniency on (grader zero-shot score, reviewer score) pairs, both on 0..10.

    Pairs whose zero-shot score is None (insufficient evidence) or not finite are skipped; scores
    are clamped to 0..10. No usable pair gives the identity.
    """
    prior = default_prior_pairs() if prior_pairs is None else float(prior_pairs)
    if prior < 0:
        raise ValueError("prior_pairs must be >= 0")
    xs: list[float] = []
    ys: list[float] = []
    for zero_shot, reviewer in pairs:
        if zero_shot is None or not (math.isfinite(zero_shot) and math.isfinite(reviewer)):
            continue
        xs.append(round(min(10.0, max(0.0, float(zero_shot))), 3))
        ys.append(min(10.0, max(0.0, float(reviewer))))
    n = len(xs)
    if n == 0:
        return identity(grader_version)
    x = np.array(xs)
    ux, fitted = isotonic(x, np.array(ys))
    # Centred isotonic regression: one knot per pooled block, at the mean score of the block's
    # pairs, linear in between. The plain step function ties every answer of a block (a flat map
    # loses the grader's ranking); through the centroids the map rises wherever the data do.
    counts = np.bincount(np.unique(x, return_inverse=True)[1]).astype(np.float64)
    starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
    ends = np.r_[starts[1:], len(fitted)]
    points: dict[float, float] = {}
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        centre = float((ux[start:end] * counts[start:end]).sum() / counts[start:end].sum())
        points[round(centre, 4)] = float(fitted[start])
    # Beyond the first and last centroid the fit stays flat (then blended with the identity).
    points.setdefault(0.0, float(fitted[0]))
    points.setdefault(10.0, float(fitted[-1]))
    share = n / (n + prior) if n + prior > 0 else 1.0
    knots: list[tuple[float, float]] = []
    for centre in sorted(points):
        y = round(min(10.0, max(0.0, share * points[centre] + (1.0 - share) * centre)), 4)
        if knots and y < knots[-1][1]:  # rounding guard; the blend is already non-decreasing
            y = knots[-1][1]
        knots.append((centre, y))
    return Leniency(knots=tuple(knots), grader_version=grader_version, pairs=n)


def apply_many(leniency: Leniency | None, scores: np.ndarray) -> np.ndarray:
    """`leniency.apply` over an array (the identity for None); same clamping and interpolation."""
    values = np.clip(np.asarray(scores, dtype=np.float64), 0.0, 10.0)
    if leniency is None:
        return values
    xs = np.array([x for x, _y in leniency.knots])
    ys = np.array([y for _x, y in leniency.knots])
    return np.interp(values, xs, ys)
