"""Agreement with human grades: Pearson, Spearman, RMSE, quadratic weighted kappa, accuracy, macro-F1."""

from __future__ import annotations

import numpy as np
from scipy.stats import pearsonr, spearmanr


def macro_f1(y: np.ndarray, p: np.ndarray) -> float:
    scores = []
    for c in (0, 1):
        tp = int(((p == c) & (y == c)).sum())
        fp = int(((p == c) & (y != c)).sum())
        fn = int(((p != c) & (y == c)).sum())
        scores.append(2 * tp / max(1, 2 * tp + fp + fn))
    return float(np.mean(scores))


def best_threshold(s: np.ndarray, y: np.ndarray) -> float:
    candidates = np.unique(np.quantile(s, np.linspace(0.01, 0.99, 197)))
    return float(max(candidates, key=lambda t: macro_f1(y, (s >= t).astype(int))))


def qwk(a: np.ndarray, b: np.ndarray, levels: int) -> float:
    """Quadratic weighted kappa of two integer ratings in 0..levels-1."""
    observed = np.zeros((levels, levels))
    for i, j in zip(a, b, strict=True):
        observed[int(i), int(j)] += 1
    weights = np.array([[(i - j) ** 2 for j in range(levels)] for i in range(levels)]) / (levels - 1) ** 2
    expected = np.outer(observed.sum(1), observed.sum(0)) / max(1, observed.sum())
    denominator = (weights * expected).sum()
    return float(1 - (weights * observed).sum() / denominator) if denominator else 0.0


def correlation(fn: object, a: np.ndarray, b: np.ndarray) -> float:
    if np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(fn(a, b)[0])  # type: ignore[operator]


def metrics(pred: np.ndarray, label: np.ndarray | None, target: np.ndarray, score_max: np.ndarray) -> dict[str, float]:
    """pred: predicted score/score_max in 0..1; label: predicted 0/1 (2-way sets) or None."""
    out = {
        "pearson": correlation(pearsonr, pred, target),
        "spearman": correlation(spearmanr, pred, target),
        "rmse": float(np.sqrt(np.mean(((pred - target) * score_max) ** 2))),
    }
    if label is not None:
        y = (target >= 0.5).astype(int)
        out["qwk"] = qwk(label, y, 2)
        out["accuracy"] = float((label == y).mean())
        out["macro_f1"] = macro_f1(y, label)
    else:
        out["qwk"] = qwk(np.rint(pred * 4).astype(int), np.rint(target * 4).astype(int), 5)
    return out
