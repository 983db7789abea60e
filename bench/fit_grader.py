"""Refit the semantic grader's calibration on the `train` splits of the human-graded sets.

    .venv/bin/python bench/fit_grader.py [--data-dir ../shared/data] [--max-per-set N] [--l2 5]
    .venv/bin/python bench/fit_grader.py --fewshot [--data-dir ../shared/data] [--max-per-set N]

Reads semeval2013_2way.csv (sciEntsBank and beetle as two sets) and saf_cn_english.csv, runs the
grader's checks and features (ai_service.grading.semantic.analyze_many) on the train rows only,
fits the logistic calibration (ai_service.grading.calibration.fit) and writes
ai_service/grading/semantic_calibration.json. Answers the checks mark as insufficient evidence
are left out of the fit (they get no score). Test splits are never read for fitting.

--fewshot instead chooses the constants of few-shot grading (ai_service/grading/fewshot.py) and
writes ai_service/grading/fewshot_params.json: on the train splits only, reviews are simulated
(per question, k = 3, 5, 10 answers drawn as reviewed examples, the question's other answers
scored; the leniency fitted on the drawn examples of all questions; 3 draws) and a small grid of
(sharpness, prior, leniency prior) is scored by the mean over sets and k of
RMSE_k / RMSE_0 - (Pearson_k - Pearson_0), lower is better.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from ai_service.grading import calibration, fewshot, leniency, semantic  # noqa: E402
from ai_service.grading.features import FEATURE_NAMES  # noqa: E402
from ai_service.grading.types import GradeInput  # noqa: E402

DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"
SETS = ("sciEntsBank", "beetle", "saf")
DEFAULT_L2 = 5.0


@dataclass(frozen=True)
class Row:
    set: str
    split: str
    question_id: str
    item: GradeInput
    score: float
    score_max: float

    @property
    def target(self) -> float:
        return min(1.0, max(0.0, self.score / self.score_max)) if self.score_max > 0 else 0.0


def load_rows(data_dir: Path) -> list[Row]:
    """All rows of both files; SemEval's corpora become the sets `sciEntsBank` and `beetle`."""
    rows: list[Row] = []
    files = {"semeval2013_2way.csv": None, "saf_cn_english.csv": "saf"}
    for name, fixed_set in files.items():
        path = data_dir / name
        if not path.is_file():
            raise SystemExit(f"missing {path}; pass --data-dir (the shared data directory)")
        with path.open(encoding="utf-8", newline="") as handle:
            for raw in csv.DictReader(handle):
                alternatives: tuple[str, ...] = ()
                if raw.get("all_reference_answers"):
                    refs = [r.strip() for r in raw["all_reference_answers"].split(" || ") if r.strip()]
                    alternatives = tuple(r for r in refs if r != raw["reference_answer"])
                rows.append(
                    Row(
                        set=fixed_set or raw["corpus"],
                        split=raw["split"],
                        question_id=raw["question_id"],
                        item=GradeInput(
                            question=raw["question"],
                            reference_answer=raw["reference_answer"],
                            answer=raw["answer"],
                            alternative_references=alternatives,
                        ),
                        score=float(raw["score"]),
                        score_max=float(raw["score_max"]),
                    )
                )
    return rows


def subsample(rows: Sequence[Row], max_per_set: int | None, seed: int = 13) -> list[Row]:
    if not max_per_set:
        return list(rows)
    rng = random.Random(seed)
    out: list[Row] = []
    for name in SETS:
        members = [r for r in rows if r.set == name]
        out.extend(members if len(members) <= max_per_set else rng.sample(members, max_per_set))
    return out


def analyze(rows: Sequence[Row], desc: str, batch: int = 256) -> list[semantic.Analysis]:
    results: list[semantic.Analysis] = []
    with tqdm(total=len(rows), desc=desc, unit="ans", file=sys.stderr) as bar:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            results.extend(semantic.analyze_many([r.item for r in chunk]))
            bar.update(len(chunk))
    return results


def feature_matrix(analyses: Iterable[semantic.Analysis]) -> np.ndarray:
    width = len(FEATURE_NAMES)
    return np.array(
        [[a.features.values[n] for n in FEATURE_NAMES] if a.features else [np.nan] * width for a in analyses]
    )


def fit_from(
    rows: Sequence[Row], analyses: Sequence[semantic.Analysis], l2: float, note: str = ""
) -> calibration.Calibration:
    keep = [i for i, a in enumerate(analyses) if not a.reason and a.features is not None]
    x = feature_matrix(analyses[i] for i in keep)
    y = np.array([rows[i].target for i in keep])
    groups = [rows[i].set for i in keep]
    fitted_on = {
        "splits": "train",
        "rows": {name: sum(1 for g in groups if g == name) for name in SETS},
        "left_out_insufficient": len(rows) - len(keep),
        "targets": "score / score_max (soft labels)",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    if note:
        fitted_on["note"] = note
    return calibration.fit(x, y, groups, FEATURE_NAMES, semantic.VERSION, l2=l2, fitted_on=fitted_on)


# ---------------------------------------------------------------- few-shot simulation (shared with grading.py)

# k reviewed answers per question; the simulated examples come from a pool of POOL answers per
# question (so the scored answers are the same for every k of one draw).
FIT_KS = (3, 5, 10)
POOL = 10
FIT_DRAWS = 3
GRID_SHARPNESS = (2.0, 3.0, 5.0, 8.0)
GRID_PRIOR = (0.1, 0.25, 0.5, 1.0, 2.0)
GRID_LENIENCY_PRIOR = (5.0, 10.0, 20.0, 40.0)


@dataclass(frozen=True)
class Episode:
    """One simulated team: per question, the reviewed examples and the answers it scores (row indices)."""

    questions: tuple[tuple[np.ndarray, np.ndarray], ...]  # (example rows, scored rows)

    def example_rows(self) -> np.ndarray:
        parts = [ex for ex, _sc in self.questions]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=int)

    def scored_rows(self) -> np.ndarray:
        parts = [sc for _ex, sc in self.questions]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=int)


def zero_shot_scores(analyses: Sequence[semantic.Analysis], profile: str | None = None) -> np.ndarray:
    """The grader's unrounded 0..10 score per row; NaN where the checks found insufficient evidence."""
    params = calibration.load()
    return np.array(
        [
            10.0 * params.probability(a.features.values, profile) if a.features is not None and not a.reason else np.nan
            for a in analyses
        ]
    )


def answer_vectors(analyses: Sequence[semantic.Analysis]) -> np.ndarray:
    width = next((a.vector.shape[0] for a in analyses if a.vector is not None), 384)
    return np.stack([a.vector if a.vector is not None else np.zeros(width, np.float32) for a in analyses])


def by_question(rows: Sequence[Row], indices: Iterable[int]) -> dict[str, np.ndarray]:
    groups: dict[str, list[int]] = {}
    for i in indices:
        groups.setdefault(f"{rows[i].set}/{rows[i].question_id}", []).append(i)
    return {q: np.array(v) for q, v in groups.items()}


def episode_in_split(groups: dict[str, np.ndarray], k: int, draw: int, pool: int = POOL) -> Episode:
    """Unseen questions: per question POOL answers are set aside for review, k of them reviewed, the rest scored."""
    out = []
    for n, q in enumerate(sorted(groups)):
        order = np.random.RandomState([draw, n, 17]).permutation(groups[q])
        out.append((order[:k], order[pool:]))
    return Episode(tuple(out))


def episode_from_pool(pools: dict[str, np.ndarray], scored: dict[str, np.ndarray], k: int, draw: int) -> Episode:
    """Unseen answers: per question k examples drawn from other (train) answers of the question."""
    out = []
    for n, q in enumerate(sorted(scored)):
        pool = pools.get(q, np.zeros(0, dtype=int))
        order = np.random.RandomState([draw, n, 29]).permutation(pool)
        out.append((order[:k], scored[q]))
    return Episode(tuple(out))


def episode_leniency(
    episode: Episode, z: np.ndarray, target10: np.ndarray, prior_pairs: float
) -> leniency.Leniency | None:
    examples = episode.example_rows()
    if examples.size == 0:
        return None
    pairs = [(None if np.isnan(z[i]) else float(z[i]), float(target10[i])) for i in examples]
    return leniency.fit_leniency(pairs, prior_pairs=prior_pairs)


def predict_episode(
    episode: Episode,
    z: np.ndarray,
    vectors: np.ndarray,
    target10: np.ndarray,
    params: fewshot.FewShotParams,
    team: leniency.Leniency | None,
) -> tuple[np.ndarray, np.ndarray]:
    """(scored rows, predicted 0..10 scores) as the service computes them; insufficient evidence -> 0."""
    rows_out: list[np.ndarray] = []
    preds: list[np.ndarray] = []
    for examples, scored in episode.questions:
        pred = np.zeros(len(scored))
        ok = ~np.isnan(z[scored])
        ex = examples[~np.isnan(z[examples])]
        if ok.any():
            base = leniency.apply_many(team, z[scored][ok])
            pred[ok], _shares, _sims = fewshot.combine(
                base, vectors[scored][ok], target10[ex], leniency.apply_many(team, z[ex]), vectors[ex], params
            )
        rows_out.append(scored)
        preds.append(pred)
    if not rows_out:
        return np.zeros(0, dtype=int), np.zeros(0)
    return np.concatenate(rows_out), np.concatenate(preds)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 2 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def fit_fewshot(rows: Sequence[Row], analyses: Sequence[semantic.Analysis]) -> fewshot.FewShotParams:
    """Grid search of the few-shot constants on simulated reviews of train answers (see the module doc)."""
    z = zero_shot_scores(analyses)
    vectors = answer_vectors(analyses)
    target10 = np.array([10.0 * r.target for r in rows])
    episodes: list[tuple[str, int, Episode, Episode]] = []  # set, k, with k examples, with none
    for name in SETS:
        groups = by_question(rows, (i for i, r in enumerate(rows) if r.set == name))
        groups = {q: g for q, g in groups.items() if len(g) > POOL + 2}
        for k in FIT_KS:
            for draw in range(FIT_DRAWS):
                episodes.append((name, k, episode_in_split(groups, k, draw), episode_in_split(groups, 0, draw)))
    grid = [(s, p, lp) for s in GRID_SHARPNESS for p in GRID_PRIOR for lp in GRID_LENIENCY_PRIOR]
    teams: dict[tuple[int, float], leniency.Leniency | None] = {}
    zero: dict[int, tuple[float, float]] = {}
    best: tuple[float, tuple[float, float, float]] | None = None
    table: list[dict[str, float]] = []
    with tqdm(total=len(grid), desc="few-shot grid", unit="setting", file=sys.stderr) as bar:
        for sharpness, prior, lp in grid:
            params = fewshot.FewShotParams(sharpness=sharpness, prior=prior, leniency_prior_pairs=lp)
            per: dict[tuple[str, int], list[float]] = {}
            for e, (name, k, episode, none) in enumerate(episodes):
                if e not in zero:
                    idx0, p0 = predict_episode(none, z, vectors, target10, params, None)
                    zero[e] = (pearson(p0, target10[idx0]), float(np.sqrt(np.mean((p0 - target10[idx0]) ** 2))))
                if (e, lp) not in teams:
                    teams[(e, lp)] = episode_leniency(episode, z, target10, lp)
                idx, p = predict_episode(episode, z, vectors, target10, params, teams[(e, lp)])
                r0, rmse0 = zero[e]
                value = float(np.sqrt(np.mean((p - target10[idx]) ** 2))) / rmse0 - (pearson(p, target10[idx]) - r0)
                per.setdefault((name, k), []).append(value)
            objective = float(np.mean([np.mean(v) for v in per.values()]))
            table.append({"sharpness": sharpness, "prior": prior, "leniency_prior_pairs": lp, "objective": objective})
            if best is None or objective < best[0]:
                best = (objective, (sharpness, prior, lp))
            bar.update(1)
    assert best is not None
    sharpness, prior, lp = best[1]
    fitted_on = {
        "splits": "train",
        "rows": {name: sum(1 for r in rows if r.set == name) for name in SETS},
        "simulation": f"per question {POOL} answers set aside, k in {list(FIT_KS)} reviewed, the rest scored; "
        f"{FIT_DRAWS} draws; leniency fitted on the reviewed answers of all questions",
        "objective": "mean over sets and k of RMSE_k / RMSE_0 - (Pearson_k - Pearson_0)",
        "best_objective": round(best[0], 4),
        "top": [
            {k: round(v, 4) for k, v in entry.items()} for entry in sorted(table, key=lambda e: e["objective"])[:5]
        ],
        "grid": {
            "sharpness": list(GRID_SHARPNESS),
            "prior": list(GRID_PRIOR),
            "leniency_prior_pairs": list(GRID_LENIENCY_PRIOR),
        },
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    return fewshot.FewShotParams(sharpness=sharpness, prior=prior, leniency_prior_pairs=lp, fitted_on=fitted_on)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--max-per-set", type=int, default=0, help="subsample each set's train split (0: all)")
    parser.add_argument("--l2", type=float, default=DEFAULT_L2)
    parser.add_argument("--output", type=Path, default=None, help="default: the grader's own parameter file")
    parser.add_argument("--fewshot", action="store_true", help="fit the few-shot constants instead")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    train = subsample([r for r in load_rows(args.data_dir) if r.split == "train"], args.max_per_set)
    semantic.encoder.load_encoder()
    analyses = analyze(train, "features (train)")
    if args.fewshot:
        few = fit_fewshot(train, analyses)
        target = args.output or fewshot.PARAMS_PATH
        fewshot.save_params(few, target)
        print(f"wrote {target} ({len(train)} train answers, {time.perf_counter() - started:.0f}s)")
        print(f"  {few.version}: sharpness {few.sharpness}, prior {few.prior}, lenient {few.leniency_prior_pairs}")
        return 0
    args.output = args.output or calibration.PARAMS_PATH
    params = fit_from(train, analyses, args.l2)
    calibration.save(params, args.output)
    print(f"wrote {args.output} ({len(train)} train answers, {time.perf_counter() - started:.0f}s)")
    for name, weight in zip(params.features, params.weights, strict=True):
        print(f"  {name:18s} {weight:+.3f}")
    print("  intercepts", {k: round(v, 3) for k, v in params.intercepts.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
