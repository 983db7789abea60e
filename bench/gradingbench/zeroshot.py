"""The zero-shot part: every row scored by the grader, its previous version and the cosine baseline;
the metrics per set and test split; SAF's grouped cross-validation by question."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import fit_grader
import numpy as np
from scipy.stats import pearsonr

from ai_service.grading import calibration, encoder, semantic

from .config import PREVIOUS, TWO_WAY
from .metrics import best_threshold, correlation, metrics


@dataclass
class Scored:
    rows: list[fit_grader.Row]
    probability: np.ndarray  # grader, 0..1 (0 for insufficient evidence)
    previous: np.ndarray  # the previous grader version, same convention
    default: np.ndarray  # the grader with the default profile (what a new team sees), 0..1
    previous_default: np.ndarray
    insufficient: np.ndarray  # bool
    cosine: np.ndarray  # baseline input
    target: np.ndarray  # human score / score_max
    score_max: np.ndarray


def score_rows(rows: Sequence[fit_grader.Row], analyses: Sequence[semantic.Analysis]) -> Scored:
    params = calibration.load()
    old = calibration.load(PREVIOUS)
    enc = encoder.load_encoder()
    probability = np.zeros(len(rows))
    previous = np.zeros(len(rows))
    default = np.zeros(len(rows))
    previous_default = np.zeros(len(rows))
    insufficient = np.zeros(len(rows), dtype=bool)
    cosine = np.full(len(rows), np.nan)
    for i, (row, analysis) in enumerate(zip(rows, analyses, strict=True)):
        if analysis.reason or analysis.features is None:
            insufficient[i] = True
        else:
            values = analysis.features.values
            probability[i] = params.probability(values, row.set)
            previous[i] = old.probability(values, row.set)
            default[i] = params.probability(values)
            previous_default[i] = old.probability(values)
        if "baseline_cosine" in analysis.extra:
            cosine[i] = analysis.extra["baseline_cosine"]
    # The baseline needs a cosine for the answers the grader skipped before encoding them.
    missing = [i for i in range(len(rows)) if np.isnan(cosine[i])]
    if missing:
        answers = enc.encode([rows[i].item.answer for i in missing])
        references = enc.encode_cached([rows[i].item.reference_answer for i in missing])
        for i, a, r in zip(missing, answers, references, strict=True):
            cosine[i] = float(a.vec @ r.vec)
    return Scored(
        rows=list(rows),
        probability=probability,
        previous=previous,
        default=default,
        previous_default=previous_default,
        insufficient=insufficient,
        cosine=cosine,
        target=np.array([r.target for r in rows]),
        score_max=np.array([r.score_max for r in rows]),
    )


def select(scored: Scored, mask: np.ndarray) -> Scored:
    idx = np.flatnonzero(mask)
    return Scored(
        rows=[scored.rows[i] for i in idx],
        probability=scored.probability[idx],
        previous=scored.previous[idx],
        default=scored.default[idx],
        previous_default=scored.previous_default[idx],
        insufficient=scored.insufficient[idx],
        cosine=scored.cosine[idx],
        target=scored.target[idx],
        score_max=scored.score_max[idx],
    )


def evaluate_set(name: str, train: Scored, tests: dict[str, Scored]) -> list[dict[str, object]]:
    a, b = np.polyfit(train.cosine, train.target, 1)
    two_way = name in TWO_WAY
    y_train = (train.target >= 0.5).astype(int)
    t_grader = best_threshold(train.probability, y_train) if two_way else 0.5
    t_previous = best_threshold(train.previous, y_train) if two_way else 0.5
    t_base = best_threshold(train.cosine, y_train) if two_way else 0.0
    lines: list[dict[str, object]] = []
    for split, test in tests.items():
        base_pred = np.clip(a * test.cosine + b, 0, 1)
        grader = metrics(
            test.probability,
            (test.probability >= t_grader).astype(int) if two_way else None,
            test.target,
            test.score_max,
        )
        previous = metrics(
            test.previous,
            (test.previous >= t_previous).astype(int) if two_way else None,
            test.target,
            test.score_max,
        )
        base = metrics(base_pred, (test.cosine >= t_base).astype(int) if two_way else None, test.target, test.score_max)
        # A new team's view: the default profile, no reviews; RMSE and bias on a 0..5 scale.
        zero_shot = {
            "pearson": correlation(pearsonr, test.default, test.target),
            "rmse5": float(np.sqrt(np.mean((5 * (test.default - test.target)) ** 2))),
            "bias5": float(np.mean(5 * (test.default - test.target))),
            "previous_pearson": correlation(pearsonr, test.previous_default, test.target),
            "previous_rmse5": float(np.sqrt(np.mean((5 * (test.previous_default - test.target)) ** 2))),
            "previous_bias5": float(np.mean(5 * (test.previous_default - test.target))),
        }
        lines.append(
            {
                "set": name,
                "split": split,
                "n": len(test.rows),
                "insufficient": int(test.insufficient.sum()),
                "grader": grader,
                "previous": previous,
                "baseline": base,
                "zero_shot": zero_shot,
            }
        )
    return lines


def saf_cv(train_rows: list[fit_grader.Row], analyses: list[semantic.Analysis], seeds: int = 4) -> dict[str, float]:
    """Grouped 5-fold CV by question on the train splits; Pearson on the SAF fold (about 5 questions)."""
    keep = [i for i, a in enumerate(analyses) if not a.reason and a.features is not None]
    rows = [train_rows[i] for i in keep]
    kept = [analyses[i] for i in keep]
    x = fit_grader.feature_matrix(kept)
    y = np.array([r.target for r in rows])
    sets = np.array([r.set for r in rows])
    questions = np.array([f"{r.set}/{r.question_id}" for r in rows])
    cosine = np.array([a.extra["baseline_cosine"] for a in kept])
    previous_names = calibration.load(PREVIOUS).features
    previous_cols = [semantic.FEATURE_NAMES.index(n) for n in previous_names]
    variants = {
        "grader": (list(range(x.shape[1])), semantic.FEATURE_NAMES),
        "previous": (previous_cols, previous_names),
    }
    found: dict[str, list[float]] = {"grader": [], "previous": [], "baseline": []}
    for seed in range(seeds):
        order = np.random.RandomState(seed).permutation(np.unique(questions))
        fold_of = {q: i % 5 for i, q in enumerate(order)}
        fold = np.array([fold_of[q] for q in questions])
        for k in range(5):
            fit_mask = fold != k
            test = (fold == k) & (sets == "saf")
            for name, (cols, names) in variants.items():
                params = calibration.fit(
                    x[fit_mask][:, cols],
                    y[fit_mask],
                    list(sets[fit_mask]),
                    names,
                    semantic.VERSION,
                    l2=calibration.load().l2,
                )
                z = (x[test][:, cols] - np.array(params.mean)) / np.array(params.scale)
                logit = z @ np.array(params.weights) + params.intercept("saf")
                found[name].append(correlation(pearsonr, logit, y[test]))
            found["baseline"].append(correlation(pearsonr, cosine[test], y[test]))
    out = {"folds": float(len(found["grader"]))}
    for name, values in found.items():
        out[f"{name}_mean"] = float(np.nanmean(values))
        out[f"{name}_sd"] = float(np.nanstd(values))
    return out
